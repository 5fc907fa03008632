"""One table of every offering of every registered provider, with its price's source and date.

    >>> from hostkit import catalog
    >>> rows = catalog.offerings(gpu="A100-80GB", max_usd_per_hour=25)
    >>> catalog.resolve_accelerator("lambdalabs", "H100:2")
    'gpu_2x_h100_sxm5'

By default the table is built from each provider's shipped data files alone
(``prices.toml`` and ``hardware.toml`` beside its adapter, see
:mod:`hostkit._pricing`), read directly: no provider is constructed, no SDK is
needed, nothing is fetched, and a provider whose SDK is missing contributes its
rows like any other. ``live=True`` asks each *installed* provider's
``offerings()`` instead (which may call the platform with your credentials) and
keeps the shipped rows of a provider whose call fails, with a warning.

:func:`refresh` (``hostkit catalog --refresh``) fetches live list prices from the
platforms that publish them into a user cache; cached rows then take the place of the
shipped ones (``source`` = the API URL, ``as_of`` = the fetch day), rows from a cache
older than its TTL are marked ``stale`` (see :mod:`hostkit._live_prices`).

Where a cloud prices the machine and its GPUs apart (Vertex AI), a row shows the
host part, the per-GPU part and their all-in sum; the sum is given only when both
parts are known. An unknown price is None, never a default.
"""

from __future__ import annotations

import datetime as _dt
import sys
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from hostkit._gpus import Accelerator, identify, parse_accelerator
from hostkit._live_prices import overlay
from hostkit._pricing import (
    Hardware,
    PriceRow,
    PriceTable,
    age_days,
    includes_gpus,
    load_hardware,
    max_age_days,
)
from hostkit.errors import ConfigError, PriceUnknown

if TYPE_CHECKING:
    from hostkit._config import Config

__all__ = [
    "CatalogRow",
    "DataFiles",
    "RefreshReport",
    "RefreshResult",
    "data_files",
    "failure_reason",
    "fetch_live_prices",
    "filter_rows",
    "matching_instances",
    "offerings",
    "provider_names",
    "provider_names_from",
    "publishes_live_prices",
    "refresh",
    "resolve_accelerator",
    "shipped_offerings",
]


@dataclass(frozen=True)
class CatalogRow:
    """One offering: an instance type (priced per hour) or a served model (per token).

    ``usd_per_hour`` is all-in; where the platform bills the host and its GPUs apart,
    ``host_usd_per_hour`` and ``gpu_usd_per_hour`` (per GPU) are the parts. ``gpu_memory_gb``
    is per GPU. ``region`` None means the price holds in every region the platform serves.
    """

    provider: str
    name: str
    kind: Literal["instance", "model"]
    source: str | None
    as_of: str | None
    region: str | None = None
    gpu_type: str | None = None
    gpu_count: int | None = None
    gpu_memory_gb: float | None = None
    vcpus: int | None = None
    ram_gb: float | None = None
    usd_per_hour: float | None = None
    host_usd_per_hour: float | None = None
    gpu_usd_per_hour: float | None = None
    usd_per_million_input: float | None = None
    usd_per_million_output: float | None = None
    #: the price is stale: ``stale_reason`` says why (a cached live price older than the
    #: cache's TTL, see :func:`refresh`, or a price older than ``max_age_days``)
    stale: bool = False
    #: a served model's Hugging Face Hub id, where the platform names it otherwise
    hub_model: str | None = None
    #: "secondary": the price was copied from a source other than the platform's own
    #: price page or API (see docs/cost.md); None: the platform's own figure
    confidence: str | None = None
    #: whole days from ``as_of`` to today (priced rows; None without a price or date)
    age_days: int | None = None
    stale_reason: str | None = None

    @property
    def total_gpu_memory_gb(self) -> float | None:
        if self.gpu_memory_gb is None or not self.gpu_count:
            return None
        return self.gpu_memory_gb * self.gpu_count

    @property
    def priced(self) -> bool:
        return self.usd_per_hour is not None or self.usd_per_million_input is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- where each provider's data lives ------------------------------------------------
@dataclass(frozen=True)
class DataFiles:
    """A provider's shipped data files (either may be missing)."""

    provider: str
    prices: Path | None
    hardware: Path | None


def provider_names() -> list[str]:
    """Every provider registered in the ``hostkit.providers`` entry-point group."""
    from hostkit._registry import _entry_points

    return sorted(_entry_points())


def data_files(provider: str) -> DataFiles:
    """Where ``provider``'s ``prices.toml`` and ``hardware.toml`` are.

    Imports the adapter's class (adapters import their SDK lazily, so this works
    without the SDK) but constructs nothing.
    """
    from hostkit._registry import provider_class

    cls = provider_class(provider)
    module = sys.modules[cls.__module__]
    folder = Path(module.__file__ or ".").parent
    price_file = cls.price_file
    hardware_file = getattr(cls, "hardware_file", "hardware.toml")
    prices = folder / price_file if price_file else None
    hardware = folder / hardware_file if isinstance(hardware_file, str) else None
    return DataFiles(
        provider,
        prices if prices is not None and prices.is_file() else None,
        hardware if hardware is not None and hardware.is_file() else None,
    )


# -- shipped data -> rows ---------------------------------------------------------
def _is_gpu_part(row: PriceRow) -> bool:
    """A per-GPU price of a cloud that bills GPUs apart from the machine (unit "GPU-hour")."""
    return (row.unit or "").lower().startswith("gpu")


def _gpu_part(hardware: Hardware, gpu_parts: Iterable[PriceRow]) -> PriceRow | None:
    wanted = identify(hardware.gpu_type)
    if wanted is None:
        return None
    memory = hardware.gpu_memory_gb or wanted.variant_memory_gb
    for row in gpu_parts:
        found = identify(row.key)
        if found and found.family == wanted.family and found.variant_memory_gb == memory:
            return row
    return None


def _hourly(row: PriceRow | None) -> float | None:
    if row is None:
        return None
    if row.usd_per_hour is not None:
        return row.usd_per_hour
    if row.usd_per_second is not None:
        return round(row.usd_per_second * 3600, 6)
    return None


def _instance_row(
    provider: str,
    key: str,
    region: str | None,
    hardware: Hardware | None,
    price: PriceRow | None,
    gpu_price: PriceRow | None,
    gpus_apart: bool,
    all_in: bool = False,
) -> CatalogRow:
    has_gpu = hardware is not None and hardware.gpu_count > 0
    host = _hourly(price)
    per_gpu = _hourly(gpu_price) if has_gpu else None
    total: float | None
    split = gpus_apart and has_gpu and not all_in
    if split and hardware is not None:
        total = None if host is None or per_gpu is None else host + hardware.gpu_count * per_gpu
        parts = [p for p in (price, gpu_price) if p is not None] if total is not None else []
    else:
        total, parts = host, [price] if price is not None else []
        per_gpu = None
    source: str | None
    as_of: str | None
    if parts:
        source = " ; ".join(dict.fromkeys(p.source for p in parts))
        as_of = min(p.as_of for p in parts)
    elif price is not None:  # host part known, GPU part not
        source, as_of = price.source, price.as_of
    else:
        source = hardware.source if hardware else None
        as_of = hardware.as_of if hardware else None
    return CatalogRow(
        provider=provider,
        name=key,
        kind="instance",
        source=source,
        as_of=as_of,
        region=region,
        gpu_type=hardware.gpu_type if hardware else _gpu_name_from_key(key),
        gpu_count=hardware.gpu_count if hardware else None,
        gpu_memory_gb=hardware.gpu_memory_gb if hardware else None,
        vcpus=hardware.vcpus if hardware else None,
        ram_gb=hardware.ram_gb if hardware else None,
        usd_per_hour=round(total, 7) if total is not None else None,
        host_usd_per_hour=host if split else None,
        gpu_usd_per_hour=per_gpu if split else None,
        stale=any(p.stale for p in parts) or (price is not None and price.stale),
        confidence=_confidence(parts if parts else [price] if price is not None else []),
    )


def _confidence(rows: Iterable[PriceRow]) -> str | None:
    """ "secondary" when any price that makes up a row is secondary."""
    return "secondary" if any(row.confidence == "secondary" for row in rows) else None


def with_age(row: CatalogRow, today: _dt.date | None = None) -> CatalogRow:
    """``row`` with ``age_days`` set and, past :func:`hostkit._pricing.max_age_days` (365
    days, ``$HOSTKIT_PRICE_MAX_AGE_DAYS``), marked ``stale``. Unpriced rows are left as is."""
    if not row.priced:
        return row
    days = age_days(row.as_of, today)
    reasons = []
    if row.stale:
        reasons.append(row.stale_reason or "cached live price older than its TTL")
    limit = max_age_days()
    if days is not None and days > limit:
        reasons.append(f"older than {limit:g} days")
    return replace(
        row,
        age_days=days,
        stale=bool(reasons),
        stale_reason="; ".join(dict.fromkeys(reasons)) or None,
    )


def _gpu_name_from_key(key: str) -> str | None:
    # per-second hardware SKUs named after their GPU ("gpu-t4"): the name is all we know
    return key if key.lower().startswith("gpu") else None


def shipped_offerings(
    provider: str,
    region: str | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    overrides_source: tuple[str, str] | None = None,
    files: DataFiles | None = None,
) -> list[CatalogRow]:
    """``provider``'s rows from its shipped data files alone (no SDK, no request).

    * ``[models."<id>"]`` rows are served models priced per token (or per hour/second);
    * ``hardware.toml`` instance types are joined with their price: a ``["region.<r>"]``
      row for that region, else a region-less row (``[instances]``, ``[hardware]``);
    * where price rows have ``unit = "GPU-hour"`` the platform bills GPUs apart: such
      an instance costs host + GPU count x the GPU's price, both parts shown.

    With region-priced data and no ``region``, there is one row per instance type and
    priced region; with a ``region``, one row per instance type for that region (price
    None where that region has none). ``overrides`` are the config's
    ``[prices.<provider>]`` rows: they win everywhere, as all-in prices.
    """
    files = files if files is not None else data_files(provider)
    table = PriceTable.load(files.prices, provider) if files.prices else PriceTable(provider)
    table = overlay(table)  # live prices cached by refresh(); stale rows are marked
    if overrides:
        where, as_of = overrides_source or ("hostkit.toml [prices]", _dt.date.today().isoformat())
        table = table.with_overrides(overrides, where=where, as_of=as_of)
    hardware = load_hardware(files.hardware) if files.hardware else {}
    override_rows = table.sections.get("overrides", {})
    regional = {
        name.removeprefix("region."): rows
        for name, rows in table.sections.items()
        if name.startswith("region.")
    }
    flat: dict[str, PriceRow] = {}
    models: dict[str, PriceRow] = {}
    for name, rows in table.sections.items():
        if name.startswith("region.") or name == "overrides":
            continue
        for key, row in rows.items():
            (models if name == "models" else flat)[key] = row
    for key, row in override_rows.items():
        if key in models or (key not in hardware and key not in flat and row.has_token_prices):
            models[key] = row
    gpus_apart = any(
        _is_gpu_part(row)
        for rows in [*regional.values(), flat, override_rows]
        for row in rows.values()
    )
    instance_keys = {
        key
        for rows in [*regional.values(), flat]
        for key, row in rows.items()
        if not _is_gpu_part(row)
    } | set(hardware)
    instance_keys |= {
        k for k, r in override_rows.items() if k not in models and not _is_gpu_part(r)
    }

    found: list[CatalogRow] = []
    if regional:
        regions: list[str | None] = [region] if region else list(sorted(regional))
    else:
        regions = [None]
    for place in regions:
        merged = {**flat, **(regional.get(place, {}) if place else {}), **override_rows}
        for key in sorted(instance_keys):
            hw = hardware.get(key)
            gpu_price = _gpu_part(hw, gpu_parts_in(merged)) if hw is not None else None
            price = merged.get(key)
            # a [prices] override is the user's all-in price; so is a node price with GPUs
            all_in = key in override_rows or includes_gpus(price)
            found.append(
                _instance_row(provider, key, place, hw, price, gpu_price, gpus_apart, all_in)
            )
    for key, row in sorted(models.items()):
        found.append(
            CatalogRow(
                provider=provider,
                name=key,
                kind="model",
                source=row.source,
                as_of=row.as_of,
                usd_per_hour=_hourly(row),
                usd_per_million_input=row.input_per_million,
                usd_per_million_output=row.output_per_million,
                stale=row.stale,
                hub_model=row.hub_model,
                confidence=_confidence([row]),
            )
        )
    return [with_age(row) for row in found]


def gpu_parts_in(rows: Mapping[str, PriceRow]) -> list[PriceRow]:
    """The per-GPU price rows among ``rows`` (``unit = "GPU-hour"``)."""
    return [row for row in rows.values() if _is_gpu_part(row)]


# -- the whole table ------------------------------------------------------------------
def provider_names_from(provider: str | Sequence[str] | None) -> list[str]:
    """The installed providers named (all when None); ``ConfigError`` for an unknown one."""
    known = provider_names()
    if provider is None:
        return known
    wanted = [provider] if isinstance(provider, str) else list(provider)
    for name in wanted:
        if name not in known:
            raise ConfigError(
                f"provider: unknown provider {name!r}; registered: {', '.join(known) or 'none'}"
            )
    return wanted


def _config_overrides(config: Config | None, name: str) -> tuple[Any, tuple[str, str] | None]:
    if config is None or not isinstance(config.prices, dict):
        return None, None
    prices = config.prices.get(name)
    if not prices or config.path is None:
        return prices, None
    as_of = _dt.date.fromtimestamp(config.path.stat().st_mtime).isoformat()
    return prices, (f"{config.path} [prices.{name}]", as_of)


def _from_offering(offer: Any) -> CatalogRow:
    return with_age(_offering_row(offer))


def _offering_row(offer: Any) -> CatalogRow:
    return CatalogRow(
        provider=offer.provider,
        name=offer.name,
        kind=offer.kind,
        source=offer.source,
        as_of=offer.as_of,
        region=offer.region,
        gpu_type=offer.gpu_type,
        gpu_count=offer.gpu_count,
        gpu_memory_gb=offer.gpu_memory_gb,
        vcpus=offer.vcpus,
        ram_gb=offer.ram_gb,
        usd_per_hour=offer.usd_per_hour,
        usd_per_million_input=offer.usd_per_million_input,
        usd_per_million_output=offer.usd_per_million_output,
    )


def _live_rows(name: str, region: str | None, config: Config | None) -> list[CatalogRow] | None:
    from hostkit._registry import get_provider, provider_class

    if provider_class(name).missing_modules():
        return None
    try:
        provider = get_provider(name, config=config)
        return [_from_offering(offer) for offer in provider.offerings(region)]
    except Exception as error:  # a live listing that fails falls back to the shipped data
        warnings.warn(
            f"catalog: {name}.offerings() failed ({type(error).__name__}: {error});"
            " showing its shipped price data instead",
            RuntimeWarning,
            stacklevel=3,
        )
        return None


def filter_rows(
    rows: Iterable[CatalogRow],
    *,
    provider: str | Sequence[str] | None = None,
    gpu: str | None = None,
    min_gpu_memory_gb: float | None = None,
    region: str | None = None,
    max_usd_per_hour: float | None = None,
) -> list[CatalogRow]:
    """Rows matching every filter given.

    ``gpu`` is an accelerator string ("A100", "A100-80GB", "H100:8": at least that many);
    ``min_gpu_memory_gb`` is per GPU; ``region`` keeps that region's rows and region-less
    ones (sold at one price everywhere); ``max_usd_per_hour`` drops rows without an hourly
    price. Rows whose value is unknown never pass a filter on that value.
    """
    for field_name, value in (
        ("min_gpu_memory_gb", min_gpu_memory_gb),
        ("max_usd_per_hour", max_usd_per_hour),
    ):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or value < 0
        ):
            raise ConfigError(f"{field_name}: expected a number >= 0, got {value!r}")
    wanted = None
    if provider is not None:
        wanted = {provider} if isinstance(provider, str) else set(provider)
    accelerator = parse_accelerator(gpu, field_name="gpu") if gpu is not None else None
    kept = []
    for row in rows:
        if wanted is not None and row.provider not in wanted:
            continue
        if accelerator is not None and not accelerator.accepts(
            row.gpu_type, row.gpu_memory_gb, row.gpu_count
        ):
            continue
        if min_gpu_memory_gb is not None and (
            row.gpu_memory_gb is None or row.gpu_memory_gb < min_gpu_memory_gb
        ):
            continue
        if region is not None and row.region not in (None, region):
            continue
        if max_usd_per_hour is not None and (
            row.usd_per_hour is None or row.usd_per_hour > max_usd_per_hour
        ):
            continue
        kept.append(row)
    return kept


def offerings(
    provider: str | Sequence[str] | None = None,
    *,
    gpu: str | None = None,
    min_gpu_memory_gb: float | None = None,
    region: str | None = None,
    max_usd_per_hour: float | None = None,
    live: bool = False,
    config: Config | None = None,
) -> list[CatalogRow]:
    """Every offering of every registered provider (or of ``provider``), filtered.

    Built from the shipped data files (see the module docs) with the config's
    ``[prices]`` overrides applied (``config`` defaults to the loaded hostkit.toml);
    ``live=True`` asks installed providers' ``offerings()`` instead (may send requests).
    """
    if config is None:
        from hostkit._config import load_config

        config = load_config()
    rows: list[CatalogRow] = []
    for name in provider_names_from(provider):
        live_rows = _live_rows(name, region, config) if live else None
        if live_rows is not None:
            rows.extend(live_rows)
            continue
        overrides, source = _config_overrides(config, name)
        rows.extend(shipped_offerings(name, region, overrides=overrides, overrides_source=source))
    return filter_rows(
        rows,
        gpu=gpu,
        min_gpu_memory_gb=min_gpu_memory_gb,
        region=region,
        max_usd_per_hour=max_usd_per_hour,
    )


# -- portable accelerators ------------------------------------------------------------
def _size_key(row: CatalogRow) -> tuple[float, float, float]:
    return (float(row.gpu_count or 0), float(row.vcpus or 0), float(row.ram_gb or 0))


def matching_instances(rows: Iterable[CatalogRow], accelerator: Accelerator) -> list[CatalogRow]:
    """Instance rows with at least the requested GPUs: priced ones cheapest first, then
    unpriced ones smallest first."""
    fits = [
        row
        for row in rows
        if row.kind == "instance"
        and accelerator.accepts(row.gpu_type, row.gpu_memory_gb, row.gpu_count)
    ]
    priced = sorted(
        (r for r in fits if r.usd_per_hour is not None),
        key=lambda r: (r.usd_per_hour, *_size_key(r), r.name),
    )
    unpriced = sorted(
        (r for r in fits if r.usd_per_hour is None), key=lambda r: (*_size_key(r), r.name)
    )
    return [*priced, *unpriced]


def _nearest(rows: Sequence[CatalogRow], accelerator: Accelerator, limit: int = 5) -> list[str]:
    def distance(row: CatalogRow) -> tuple[int, float, float]:
        found = identify(row.gpu_type)
        same_family = 0 if found is not None and found.family == accelerator.gpu.family else 1
        memory = row.gpu_memory_gb or 0
        wanted = accelerator.gpu.variant_memory_gb  # "L4": 24 GB, so 24 GB parts come first
        return (same_family, abs(memory - wanted), abs((row.gpu_count or 0) - accelerator.count))

    candidates = sorted((r for r in rows if r.kind == "instance" and r.gpu_count), key=distance)
    shown = []
    for row in candidates[:limit]:
        price = f"${row.usd_per_hour:g}/h" if row.usd_per_hour is not None else "price unknown"
        memory = f" {row.gpu_memory_gb:g}GB" if row.gpu_memory_gb else ""
        where = f" in {row.region}" if row.region else ""
        shown.append(f"{row.name} ({row.gpu_count}x {row.gpu_type}{memory}{where}, {price})")
    return shown


def resolve_accelerator(
    provider: str,
    accelerator: str,
    region: str | None = None,
    *,
    rows: Sequence[CatalogRow] | None = None,
) -> str:
    """The cheapest instance type of ``provider`` with at least the GPUs ``accelerator`` asks.

    ``accelerator`` is ``"L4"``, ``"A100-80GB:2"``, ``"H100:8"``, ... Instance types with a
    known price (in ``region`` when given) win, cheapest first; when none of the fitting
    types has a known price, the smallest one is chosen and one PriceUnknown warning says
    so. ConfigError, listing the nearest matches, when no instance type fits. A pure
    function of the data (``rows`` defaults to the provider's shipped catalog).
    """
    wanted = parse_accelerator(accelerator)
    if rows is None:
        rows = offerings(provider, region=region)
    else:
        rows = filter_rows(rows, provider=provider, region=region)
    fits = matching_instances(rows, wanted)
    if not fits:
        nearest = _nearest(rows, wanted)
        where = f" in region {region!r}" if region else ""
        hint = "; nearest: " + "; ".join(nearest) if nearest else "; it lists no GPU instances"
        raise ConfigError(
            f"accelerator: no {provider} instance type{where} has at least {wanted.count}x"
            f" {wanted.gpu}{hint}"
        )
    best = fits[0]
    if best.usd_per_hour is None:
        warnings.warn(
            f"{provider}: no known price for any instance type with {wanted}; chose the smallest"
            f" ({best.name}); set prices in hostkit.toml:"
            f' [prices.{provider}."{best.name}"] usd_per_hour = ..., source = "..."',
            PriceUnknown,
            stacklevel=2,
        )
    return best.name


# -- live prices ------------------------------------------------------------------------
RefreshStatus = Literal["ok", "failed", "not published"]


@dataclass(frozen=True)
class RefreshResult:
    """What refreshing one provider's live prices did.

    ``status``: ``"ok"`` (fetched and cached), ``"failed"`` (``reason`` says why; the last
    good cache, if any, is kept and still used) or ``"not published"`` (the platform has no
    price API: its shipped, dated table is used). ``fetched_at`` is when the prices now in
    the cache were fetched (None: no cache).
    """

    provider: str
    status: RefreshStatus
    rows: int = 0
    reason: str | None = None
    fetched_at: str | None = None
    sources: tuple[str, ...] = ()
    cache: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RefreshReport:
    """One :class:`RefreshResult` per provider asked."""

    results: tuple[RefreshResult, ...]

    def __iter__(self) -> Any:
        return iter(self.results)

    def __getitem__(self, provider: str) -> RefreshResult:
        for result in self.results:
            if result.provider == provider:
                return result
        raise KeyError(provider)

    @property
    def ok(self) -> bool:
        """No provider failed."""
        return all(r.status != "failed" for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {"results": [r.to_dict() for r in self.results]}


def publishes_live_prices(name: str) -> bool:
    """Whether provider ``name``'s adapter implements ``fetch_live_prices()``."""
    from hostkit._provider import Provider
    from hostkit._registry import provider_class

    cls = provider_class(name)
    return getattr(cls, "fetch_live_prices", None) is not Provider.fetch_live_prices


def failure_reason(error: BaseException) -> str:
    """``Class: message`` of a failed fetch, secrets masked."""
    from hostkit._redact import scrub

    message = getattr(error, "message", None) or str(error) or "no message"
    return scrub(f"{type(error).__name__}: {message}")


def fetch_live_prices(name: str, config: Config | None = None) -> list[PriceRow] | None:
    """Provider ``name``'s current list prices from its platform (None: not published).

    Sends requests; raises the adapter's error on failure, ``ValueError`` on an answer
    with no price. ``refresh()`` caches the rows; scripts/update_shipped_prices.py ships them.
    """
    from hostkit._registry import get_provider

    provider = get_provider(name, config=config)
    try:
        rows = provider.fetch_live_prices()
    finally:
        provider.close()
    if rows is not None and not rows:
        raise ValueError("the price API returned no price for any known instance type")
    return rows


def _refresh_one(name: str, config: Config | None) -> RefreshResult:
    from hostkit import _live_prices

    if not publishes_live_prices(name):
        return RefreshResult(name, "not published")
    previous = _live_prices.read_cache(name)
    try:
        rows = fetch_live_prices(name, config)
    except Exception as error:  # every failure keeps the last good cache
        kept = (
            f"; kept the cached prices of {previous.fetched_at:%Y-%m-%d %H:%M} UTC"
            if previous
            else "; no cached prices: the shipped price table stays in use"
        )
        return RefreshResult(
            name,
            "failed",
            reason=failure_reason(error) + kept,
            rows=len(previous.rows) if previous else 0,
            fetched_at=previous.fetched_at.isoformat() if previous else None,
            cache=str(previous.path) if previous else None,
        )
    if rows is None:
        return RefreshResult(name, "not published")
    written = _live_prices.write_cache(name, rows)
    return RefreshResult(
        name,
        "ok",
        rows=len(rows),
        fetched_at=written.fetched_at.isoformat(),
        sources=tuple(dict.fromkeys(row.source for row in rows)),
        cache=str(written.path),
    )


def refresh(
    providers: str | Sequence[str] | None = None, config: Config | None = None
) -> RefreshReport:
    """Fetch live list prices from every platform that publishes them (or ``providers``).

    Each provider's ``fetch_live_prices()`` is called (with its credentials from
    ``config``, default the loaded hostkit.toml) and its rows are written atomically to
    the user cache (``$HOSTKIT_CACHE_DIR`` or platformdirs' user cache, ``prices/<name>.json``).
    A failure never touches the previous cache. From then on the cached rows take the
    place of the shipped ones (see :mod:`hostkit._live_prices` for freshness and the TTL).
    The only function in hostkit that fetches prices; nothing else calls it.
    """
    if config is None:
        from hostkit._config import load_config

        config = load_config()
    return RefreshReport(
        tuple(_refresh_one(name, config) for name in provider_names_from(providers))
    )
