"""Price tables: every price with its source and the date it was read.

Each adapter ships one TOML file (``prices.toml`` beside its code)::

    # USD per million tokens
    [models."llama-3.1-8b-instant"]
    input_per_million = 0.05
    output_per_million = 0.08
    source = "https://groq.com/pricing/"
    as_of = "2026-10-30"

    [instances."nvidia-l4"]
    usd_per_hour = 0.80
    source = "..."
    as_of = "..."

Sections group rows (``models``, ``instances``, ``hardware``); a row may carry
``input_per_million``/``output_per_million``, ``usd_per_hour`` or ``usd_per_second``.
The user's ``[prices.<provider>."<key>"]`` in hostkit.toml overrides a row (its
source is the config file). Live prices cached by ``hostkit catalog --refresh``
(:mod:`hostkit._live_prices`) sit between the two. A price is never invented: a
missing row is None.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import tomllib
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hostkit._models import CostEstimate, CostLine, Offering
from hostkit.errors import ConfigError, StalePrices

__all__ = [
    "DEFAULT_MAX_AGE_DAYS",
    "MAX_AGE_ENV",
    "SECONDARY_TEXT",
    "Hardware",
    "PriceRow",
    "PriceTable",
    "age_days",
    "as_of_text",
    "includes_gpus",
    "is_old",
    "load_hardware",
    "mark_estimate",
    "max_age_days",
    "row_warnings",
    "secondary_text",
]

PRICE_FIELDS = ("input_per_million", "output_per_million", "usd_per_hour", "usd_per_second")
ROW_FIELDS = (*PRICE_FIELDS, "source", "as_of", "unit", "notes", "hub_model", "confidence")
#: ``confidence`` values a price row may carry (absent: read from the platform's own page/API)
CONFIDENCES = ("secondary",)
#: what a ``confidence = "secondary"`` row is, said wherever its price is shown
SECONDARY_TEXT = "secondary source, not read from the platform's own price list"
#: the platform's own price list, by provider, for that sentence
PRICE_LISTS = {
    "sagemaker": "the AWS Price List",
    "azureml": "the Azure Retail Prices API",
    "vertex": "Google's Vertex AI pricing page or Cloud Billing catalog",
    "cerebras": "Cerebras' own pricing page or models API",
}
MAX_AGE_ENV = "HOSTKIT_PRICE_MAX_AGE_DAYS"
DEFAULT_MAX_AGE_DAYS = 365


@dataclass(frozen=True)
class PriceRow:
    """One priced thing (a model, an instance type, a hardware SKU)."""

    key: str
    source: str
    as_of: str
    input_per_million: float | None = None
    output_per_million: float | None = None
    usd_per_hour: float | None = None
    usd_per_second: float | None = None
    unit: str | None = None
    notes: str | None = None
    #: the region the price holds in (live rows; shipped files use ``region.<r>`` sections)
    region: str | None = None
    #: for a served model under a platform's own id: the Hugging Face Hub id of its weights
    #: (``llama-3.3-70b-versatile`` serves ``meta-llama/Llama-3.3-70B-Instruct``)
    hub_model: str | None = None
    #: a cached live price older than the cache's TTL (see hostkit._live_prices)
    stale: bool = False
    #: "secondary": copied from a source other than the platform's own price page or API
    confidence: str | None = None

    @property
    def has_token_prices(self) -> bool:
        return self.input_per_million is not None and self.output_per_million is not None


def _row(key: str, data: Any, where: str) -> PriceRow:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a table of prices, got {data!r}")
    unknown = sorted(set(data) - set(ROW_FIELDS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(ROW_FIELDS)}"
        )
    for name in PRICE_FIELDS:
        value = data.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise ConfigError(f"{where}.{name}: expected a number of USD, got {value!r}")
        if value < 0:
            raise ConfigError(f"{where}.{name}: a price cannot be negative, got {value}")
    if not any(data.get(name) is not None for name in PRICE_FIELDS):
        raise ConfigError(f"{where}: no price given; set one of {', '.join(PRICE_FIELDS)}")
    confidence = data.get("confidence")
    if confidence is not None and confidence not in CONFIDENCES:
        raise ConfigError(
            f"{where}.confidence: expected one of {', '.join(CONFIDENCES)} (or no field),"
            f" got {confidence!r}"
        )
    hub = data.get("hub_model")
    if hub is not None and (not isinstance(hub, str) or hub.count("/") != 1):
        raise ConfigError(f"{where}.hub_model: expected a Hub id 'org/name', got {hub!r}")
    for name in ("source", "as_of"):
        if not isinstance(data.get(name), str) or not data[name].strip():
            raise ConfigError(f"{where}: every price needs '{name}' (where and when it was read)")
    try:
        _dt.date.fromisoformat(data["as_of"])
    except ValueError:
        raise ConfigError(
            f"{where}.as_of: expected a date YYYY-MM-DD, got {data['as_of']!r}"
        ) from None
    values: dict[str, Any] = {k: (float(v) if k in PRICE_FIELDS else v) for k, v in data.items()}
    return PriceRow(key=key, **values)


@dataclass
class PriceTable:
    """A provider's shipped prices, with the user's overrides applied."""

    provider: str
    sections: dict[str, dict[str, PriceRow]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, provider: str) -> PriceTable:
        """Read and validate a price file (every row has a price, a source and a date)."""
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(provider)
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{path}: not valid TOML: {error}") from None
        sections: dict[str, dict[str, PriceRow]] = {}
        for section, rows in document.items():
            if not isinstance(rows, Mapping):
                raise ConfigError(f"{path}: [{section}] must be a table of rows")
            sections[section] = {
                key: _row(key, data, f"{path} [{section}.{key!r}]") for key, data in rows.items()
            }
        return cls(provider, sections)

    def with_overrides(self, overrides: Mapping[str, Any], *, where: str, as_of: str) -> PriceTable:
        """A copy where ``[prices.<provider>."<key>"]`` rows from the config win."""
        if not overrides:
            return self
        sections = {name: dict(rows) for name, rows in self.sections.items()}
        for key, data in overrides.items():
            if not isinstance(data, Mapping):
                raise ConfigError(f"{where}: [prices.{self.provider}.{key!r}] must be a table")
            filled = {"source": where, "as_of": as_of, **data}
            row = _row(key, filled, f"{where} [prices.{self.provider}.{key!r}]")
            sections.setdefault("overrides", {})[key] = row  # a config price applies everywhere
        return PriceTable(self.provider, sections)

    def find(self, key: str, section: str | None = None) -> PriceRow | None:
        """The row for ``key`` (in ``section``, or in any section; overrides first)."""
        if section is None:
            override = self.sections.get("overrides", {}).get(key)
            if override is not None:
                return override
            for rows in self.sections.values():
                if key in rows:
                    return rows[key]
            return None
        return self.sections.get(section, {}).get(key) or self.sections.get("overrides", {}).get(
            key
        )

    def find_for_region(self, key: str, region: str | None) -> PriceRow | None:
        """A config override, else ``key``'s row in ``region.<region>``, else a region-less row.

        Another region's price is never used.
        """
        override = self.sections.get("overrides", {}).get(key)
        if override is not None:
            return override
        if region:
            row = self.sections.get(f"region.{region}", {}).get(key)
            if row is not None:
                return row
        for name, rows in self.sections.items():
            if not name.startswith("region.") and key in rows:
                return rows[key]
        return None

    def rows(self) -> list[PriceRow]:
        return [row for rows in self.sections.values() for row in rows.values()]

    # -- estimates -------------------------------------------------------
    @staticmethod
    def token_estimate(
        row: PriceRow, input_tokens: int | None, output_tokens: int | None
    ) -> CostEstimate:
        """Cost of tokens at ``row``'s per-million prices."""
        assert row.input_per_million is not None and row.output_per_million is not None
        lines = [
            CostLine(
                f"{row.key} input tokens",
                "token",
                float(input_tokens or 0),
                row.input_per_million / 1e6,
                (input_tokens or 0) * row.input_per_million / 1e6,
            ),
            CostLine(
                f"{row.key} output tokens",
                "token",
                float(output_tokens or 0),
                row.output_per_million / 1e6,
                (output_tokens or 0) * row.output_per_million / 1e6,
            ),
        ]
        return mark_estimate(
            CostEstimate(
                usd=sum(line.usd for line in lines),
                breakdown=lines,
                source=row.source,
                as_of=row.as_of,
            ),
            [row],
        )

    @staticmethod
    def time_estimate(row: PriceRow, *, hours: float, count: int = 1) -> CostEstimate:
        """Cost of ``count`` instances for ``hours`` at ``row``'s hourly or per-second price."""
        if row.usd_per_hour is not None:
            unit, unit_price, quantity = "instance-hour", row.usd_per_hour, hours * count
        elif row.usd_per_second is not None:
            unit, unit_price, quantity = "instance-second", row.usd_per_second, hours * 3600 * count
        else:
            raise ConfigError(f"{row.key}: priced per token, not per unit of time")
        line = CostLine(f"{count} x {row.key}", unit, quantity, unit_price, quantity * unit_price)
        estimate = CostEstimate(usd=line.usd, breakdown=[line], source=row.source, as_of=row.as_of)
        return mark_estimate(estimate, [row])


# -- price age and confidence -----------------------------------------------------------
def max_age_days(value: float | None = None) -> float:
    """Days after which a price is stale: ``value``, else ``$HOSTKIT_PRICE_MAX_AGE_DAYS``,
    else 365."""
    where = "max_age_days"
    if value is None:
        raw = os.environ.get(MAX_AGE_ENV)
        if raw is None or not raw.strip():
            return float(DEFAULT_MAX_AGE_DAYS)
        where = MAX_AGE_ENV
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{MAX_AGE_ENV}: expected a number of days, got {raw!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ConfigError(f"{where}: expected a number of days, got {value!r}")
    if value <= 0:
        raise ConfigError(f"{where}: expected a number of days > 0, got {value!r}")
    return float(value)


def age_days(as_of: str | None, today: _dt.date | None = None) -> int | None:
    """Whole days from ``as_of`` (YYYY-MM-DD) to ``today`` (None: no or unreadable date)."""
    if not as_of:
        return None
    try:
        day = _dt.date.fromisoformat(as_of[:10])
    except ValueError:
        return None
    return ((today or _dt.date.today()) - day).days


def is_old(as_of: str | None, today: _dt.date | None = None) -> bool:
    """Whether a price dated ``as_of`` is older than :func:`max_age_days`."""
    days = age_days(as_of, today)
    return days is not None and days > max_age_days()


def as_of_text(as_of: str | None, today: _dt.date | None = None) -> str:
    """``"price as of 2025-08-12 (482 days old)"``, with ``"; stale: older than 365 days"``
    past the threshold; ``"price date unknown"`` without a date."""
    days = age_days(as_of, today)
    if days is None:
        return "price date unknown"
    text = f"price as of {as_of} ({days} day{'' if days == 1 else 's'} old"
    if is_old(as_of, today):
        text += f"; stale: older than {max_age_days():g} days"
    return text + ")"


def includes_gpus(row: PriceRow | None) -> bool:
    """A node price that already includes the machine's GPUs (``unit`` says "GPUs included")."""
    return row is not None and "gpus included" in (row.unit or "").lower()


def secondary_text(provider: str | None = None, row: PriceRow | None = None) -> str:
    """``"secondary source, not read from the AWS Price List"``: the row's own words when its
    notes start so, else said for ``provider``'s price list."""
    notes = (row.notes or "") if row is not None else ""
    if notes.startswith("secondary source"):
        return notes.split(":", 1)[0]
    if provider in PRICE_LISTS:
        return f"secondary source, not read from {PRICE_LISTS[provider]}"
    return SECONDARY_TEXT


def row_warnings(rows: Iterable[PriceRow], today: _dt.date | None = None) -> list[str]:
    """One message per price in ``rows`` that is stale by age or from a secondary source."""
    found: list[str] = []
    for row in rows:
        if row.confidence == "secondary":
            found.append(
                f"{row.key}: {secondary_text(row=row)} ({row.source}); verify before relying on it"
            )
        if is_old(row.as_of, today):
            found.append(
                f"{row.key}: stale price, {as_of_text(row.as_of, today)}; check {row.source}"
                " or run `hostkit catalog --refresh` (threshold: $"
                f"{MAX_AGE_ENV})"
            )
    return list(dict.fromkeys(found))


def mark_estimate(estimate: CostEstimate, rows: Iterable[PriceRow]) -> CostEstimate:
    """``estimate`` with a warning for each stale or secondary price it used; a stale one
    also raises one :class:`~hostkit.errors.StalePrices` warning."""
    rows = list(rows)
    messages = row_warnings(rows)
    for message in messages:
        if message not in estimate.warnings:
            estimate.warnings.append(message)
        if "stale price" in message:
            warnings.warn(message, StalePrices, stacklevel=3)
    return estimate


@dataclass(frozen=True)
class Hardware:
    """What an instance type carries (``hardware.toml`` beside an adapter)."""

    key: str
    source: str
    as_of: str
    gpu_type: str | None = None
    gpu_count: int = 0
    gpu_memory_gb: float | None = None
    vcpus: int | None = None
    ram_gb: float | None = None
    notes: str | None = None


HARDWARE_FIELDS = ("gpu_type", "gpu_count", "gpu_memory_gb", "vcpus", "ram_gb", "notes")


def instance_offering(
    provider: str,
    key: str,
    hardware: Hardware | None,
    price: PriceRow | None,
    *,
    region: str | None = None,
    usd_per_hour: float | None = None,
) -> Offering:
    """An instance type as an :class:`Offering`, from its hardware row and its price row.

    ``usd_per_hour`` defaults to the price row's; the source and date are the price's,
    else the hardware row's (an unpriced type is listed with ``usd_per_hour=None``).
    """
    if usd_per_hour is None and price is not None:
        usd_per_hour = price.usd_per_hour
    dated = price if price is not None else hardware
    return Offering(
        provider=provider,
        name=key,
        kind="instance",
        region=region,
        gpu_type=hardware.gpu_type if hardware else None,
        gpu_count=hardware.gpu_count if hardware else None,
        gpu_memory_gb=hardware.gpu_memory_gb if hardware else None,
        vcpus=hardware.vcpus if hardware else None,
        ram_gb=hardware.ram_gb if hardware else None,
        usd_per_hour=usd_per_hour,
        source=dated.source if dated else None,
        as_of=dated.as_of if dated else None,
    )


def load_hardware(path: Path) -> dict[str, Hardware]:
    """Instance types and their GPUs from an adapter's ``hardware.toml``::

    [instances."ml.g5.2xlarge"]
    gpu_type = "A10G"
    gpu_count = 1
    gpu_memory_gb = 24   # per GPU
    vcpus = 8
    ram_gb = 32
    source = "https://aws.amazon.com/sagemaker/pricing/"
    as_of = "2026-10-30"
    """
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    found: dict[str, Hardware] = {}
    for key, data in document.get("instances", {}).items():
        where = f"{path} [instances.{key!r}]"
        unknown = sorted(set(data) - {*HARDWARE_FIELDS, "source", "as_of"})
        if unknown:
            raise ConfigError(f"{where}: unknown field(s) {', '.join(unknown)}")
        if not data.get("source") or not data.get("as_of"):
            raise ConfigError(f"{where}: needs 'source' and 'as_of'")
        found[key] = Hardware(key=key, **data)
    return found
