"""Live prices: the platforms' own price APIs, fetched on request into a user cache.

``hostkit catalog --refresh`` (or :func:`hostkit.catalog.refresh`) asks every provider
whose adapter implements :meth:`hostkit.Provider.fetch_live_prices` for its current list
prices and writes them, one JSON file per provider, to the cache folder::

    $HOSTKIT_CACHE_DIR/prices/<provider>.json      (default: platformdirs' user cache)

Nothing here sends a request: this module only reads and writes that cache. A cached
row carries ``source`` = the API URL and ``as_of`` = the day it was fetched. When a
provider's table is loaded (``Provider.prices``, ``hostkit cost``, the catalog) its
cached rows replace shipped rows with the same key and region:

* fresh (younger than the TTL, 24 h by default, ``HOSTKIT_PRICES_TTL_HOURS``): used;
* stale: still used (a list price read from the platform's API on a known day beats an
  older hand-copied one), but reported: each row's notes say so, the catalog marks the
  row ``stale``, and ``Provider.prices`` warns once with :class:`StalePrices`.

The config's ``[prices]`` overrides still win over both (they are applied afterwards).
A write goes to a temp file in the same folder, then ``os.replace``: a crash mid-write
leaves the previous file whole.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import tempfile
import warnings
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from hostkit._pricing import PRICE_FIELDS, PriceRow, PriceTable
from hostkit.errors import ConfigError, StalePrices

__all__ = [
    "CACHE_ENV",
    "DEFAULT_TTL_HOURS",
    "TTL_ENV",
    "CachedPrices",
    "StalePrices",
    "cache_dir",
    "cache_file",
    "overlay",
    "read_cache",
    "ttl_hours",
    "write_cache",
]

CACHE_ENV = "HOSTKIT_CACHE_DIR"
TTL_ENV = "HOSTKIT_PRICES_TTL_HOURS"
DEFAULT_TTL_HOURS = 24.0
FORMAT = 1
_ROW_FIELDS = {f.name for f in fields(PriceRow)}


def cache_dir() -> Path:
    """``$HOSTKIT_CACHE_DIR``, else platformdirs' user cache folder for hostkit."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("hostkit"))


def cache_file(provider: str) -> Path:
    """Where ``provider``'s cached live prices are kept."""
    return cache_dir() / "prices" / f"{provider}.json"


def ttl_hours(value: float | None = None) -> float:
    """The TTL in hours: ``value``, else ``$HOSTKIT_PRICES_TTL_HOURS``, else 24."""
    where = "ttl_hours"
    if value is None:
        raw = os.environ.get(TTL_ENV)
        if raw is None or not raw.strip():
            return DEFAULT_TTL_HOURS
        where = TTL_ENV
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{TTL_ENV}: expected a number of hours, got {raw!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ConfigError(f"{where}: expected a number of hours, got {value!r}")
    if value <= 0:
        raise ConfigError(f"{where}: expected a number of hours > 0, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class CachedPrices:
    """One provider's cached live prices."""

    provider: str
    fetched_at: _dt.datetime
    rows: list[PriceRow]
    path: Path

    def age_hours(self, now: _dt.datetime | None = None) -> float:
        now = now or _dt.datetime.now(_dt.UTC)
        return (now - self.fetched_at).total_seconds() / 3600

    def is_fresh(self, ttl: float | None = None, now: _dt.datetime | None = None) -> bool:
        return self.age_hours(now) < ttl_hours(ttl)


def _row_from_json(data: Any, where: str) -> PriceRow:
    if not isinstance(data, dict) or not set(data) <= _ROW_FIELDS:
        raise ValueError(f"{where}: not a price row")
    row = PriceRow(**data)
    if not row.source or not row.as_of:
        raise ValueError(f"{where}: a row without source or as_of")
    prices = [getattr(row, name) for name in PRICE_FIELDS]
    if not any(isinstance(p, int | float) and p >= 0 for p in prices if p is not None):
        raise ValueError(f"{where}: a row without a price")
    return row


def read_cache(provider: str) -> CachedPrices | None:
    """``provider``'s cached prices, or None (no file; an unreadable one is ignored with a
    warning, never half-used)."""
    path = cache_file(provider)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        document = json.loads(text)
        if document.get("format") != FORMAT or document.get("provider") != provider:
            raise ValueError("not a hostkit price cache of this provider")
        fetched = _dt.datetime.fromisoformat(document["fetched_at"])
        rows = [
            _row_from_json(item, f"rows[{i}]") for i, item in enumerate(document.get("rows", []))
        ]
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        warnings.warn(
            f"{path}: ignoring an unreadable price cache ({error}); run"
            f" `hostkit catalog --refresh --provider {provider}` to rebuild it",
            RuntimeWarning,
            stacklevel=2,
        )
        return None
    return CachedPrices(provider, fetched, rows, path)


def write_cache(
    provider: str, rows: list[PriceRow], fetched_at: _dt.datetime | None = None
) -> CachedPrices:
    """Write ``rows`` atomically (temp file in the same folder, then ``os.replace``)."""
    fetched_at = fetched_at or _dt.datetime.now(_dt.UTC)
    path = cache_file(provider)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "format": FORMAT,
        "provider": provider,
        "fetched_at": fetched_at.isoformat(),
        "rows": [{k: v for k, v in asdict(row).items() if v is not None} for row in rows],
    }
    handle, temp = tempfile.mkstemp(prefix=f".{provider}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(document, out, indent=1, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return CachedPrices(provider, fetched_at, list(rows), path)


def _stale_note(cached: CachedPrices, ttl: float) -> str:
    return (
        f"live price fetched {cached.fetched_at:%Y-%m-%d %H:%M} UTC, older than the {ttl:g} h"
        " TTL; run `hostkit catalog --refresh`"
    )


def overlay(
    table: PriceTable,
    *,
    ttl: float | None = None,
    warn: bool = False,
    now: _dt.datetime | None = None,
) -> PriceTable:
    """``table`` with ``table.provider``'s cached live rows in place of shipped ones.

    Regional rows go to ``region.<region>``; others replace the row with the same key in
    its shipped section (``instances`` when there is none). A cached row older than the
    shipped one is not used. Stale rows are used, marked (``stale``) and, with ``warn``,
    reported by one :class:`StalePrices` warning.
    """
    cached = read_cache(table.provider)
    if cached is None or not cached.rows:
        return table
    limit = ttl_hours(ttl)
    stale = not cached.is_fresh(limit, now)
    sections = {name: dict(rows) for name, rows in table.sections.items()}
    used = 0
    for row in cached.rows:
        if row.region:
            section = f"region.{row.region}"
        else:
            section = next(
                (
                    name
                    for name, rows in sections.items()
                    if row.key in rows and not name.startswith("region.") and name != "overrides"
                ),
                "models" if row.has_token_prices else "instances",
            )
        shipped = sections.get(section, {}).get(row.key)
        if shipped is not None and shipped.as_of > row.as_of:
            continue
        if stale:
            row = replace(row, stale=True, notes=_stale_note(cached, limit))
        sections.setdefault(section, {})[row.key] = row
        used += 1
    if stale and used and warn:
        warnings.warn(
            f"{table.provider}: using {used} cached live price(s) from {cached.path}, "
            + _stale_note(cached, limit),
            StalePrices,
            stacklevel=3,
        )
    return PriceTable(table.provider, sections)
