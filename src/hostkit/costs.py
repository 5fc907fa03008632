"""A workload's monthly cost on every option that can serve it, and where dedicated wins.

    >>> from hostkit.costs import Workload, compare_costs
    >>> w = Workload(requests_per_day=50_000, input_tokens=500, output_tokens=200,
    ...              model="meta-llama/Llama-3.3-70B-Instruct")
    >>> result = compare_costs(w)            # every priced option that can serve the model
    >>> result.options[0].label, result.options[0].monthly_usd
    >>> result.break_even.requests_per_day   # where the cheapest dedicated beats per-token

The cost model is linear (see docs/cost.md):

* serverless: ``requests/day x days/month x (input tokens x input price + output tokens x
  output price) / 10^6``; idle time is free;
* dedicated: ``hours online/month x replicas x USD per replica-hour``, whatever it serves;
  replicas are given, or ``ceil(rate / throughput)`` with the rate the peak (when given)
  or the average over the hours online.

Catalog options (the default, and ``"provider:model"`` / ``"provider:instance"``) are priced
from the catalog's shipped data with the config's ``[prices]`` overrides: no provider is
built and nothing is fetched. Deployment names and specs are priced by their adapter's own
``cost()``, exactly as ``hostkit cost NAME`` prices them. An unknown price is None with one
PriceUnknown warning saying how to set it; never a default.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from hostkit._models import CostEstimate, CostLine, DeploymentSpec
from hostkit._pricing import age_days, as_of_text, is_old, secondary_text
from hostkit.errors import ConfigError, DependencyMissing, PriceUnknown, StalePrices

if TYPE_CHECKING:
    from hostkit._config import Config
    from hostkit.catalog import CatalogRow
    from hostkit.sizing import Sizing

__all__ = [
    "DAYS_PER_MONTH",
    "HOURS_PER_MONTH",
    "BreakEven",
    "CostComparison",
    "OptionCost",
    "Workload",
    "break_even",
    "compare_costs",
]

HOURS_PER_MONTH = 730.0  # 8760 hours a year / 12
DAYS_PER_MONTH = 365 / 12  # 30.42

Kind = Literal["serverless", "dedicated", "unknown"]


def _number(value: Any, name: str, *, positive: bool = False, integer: bool = False) -> None:
    kind = int if integer else (int, float)
    bad = isinstance(value, bool) or not isinstance(value, kind) or value != value
    if bad or value < 0 or (positive and value == 0):
        wanted = "a whole number" if integer else "a number"
        bound = "> 0" if positive else ">= 0"
        raise ConfigError(f"workload.{name}: expected {wanted} {bound}, got {value!r}")


@dataclass(frozen=True)
class Workload:
    """What is served in a month.

    ``input_tokens``/``output_tokens`` are per request. ``hours_per_month`` is how long
    dedicated replicas are online (730 = always). Replicas: ``replicas`` when given, else
    ``ceil(rate / throughput)`` when ``throughput`` (requests/s one replica sustains) is
    given, where rate is ``peak_requests_per_second`` or the average rate over the hours
    online; else 1.
    """

    requests_per_day: float
    input_tokens: float = 0
    output_tokens: float = 0
    hours_per_month: float = HOURS_PER_MONTH
    days_per_month: float = DAYS_PER_MONTH
    replicas: int | None = None
    throughput: float | None = None
    peak_requests_per_second: float | None = None
    model: str | None = None

    def __post_init__(self) -> None:
        for name in ("requests_per_day", "input_tokens", "output_tokens"):
            _number(getattr(self, name), name)
        _number(self.hours_per_month, "hours_per_month", positive=True)
        _number(self.days_per_month, "days_per_month", positive=True)
        if self.days_per_month > 31:
            raise ConfigError(f"workload.days_per_month: at most 31, got {self.days_per_month}")
        if self.hours_per_month > 24 * self.days_per_month + 1e-9:
            raise ConfigError(
                f"workload.hours_per_month: {self.hours_per_month} is more than the"
                f" {24 * self.days_per_month:g} hours in {self.days_per_month:g} days"
            )
        if self.replicas is not None:
            _number(self.replicas, "replicas", positive=True, integer=True)
            if self.throughput is not None:
                raise ConfigError("workload: give replicas or throughput, not both")
        if self.throughput is not None:
            _number(self.throughput, "throughput", positive=True)
        if self.peak_requests_per_second is not None:
            _number(self.peak_requests_per_second, "peak_requests_per_second")
            if self.throughput is None:
                raise ConfigError(
                    "workload.peak_requests_per_second: needs throughput (requests/s one"
                    " replica sustains) to turn the peak into replicas"
                )
        if self.model is not None and (not isinstance(self.model, str) or not self.model):
            raise ConfigError(f"workload.model: expected a model id, got {self.model!r}")

    @property
    def online_hours_per_day(self) -> float:
        return self.hours_per_month / self.days_per_month

    @property
    def requests_per_month(self) -> float:
        return self.requests_per_day * self.days_per_month

    def average_requests_per_second(self, requests_per_day: float | None = None) -> float:
        """The average rate while online: requests per day / (online hours per day x 3600)."""
        per_day = self.requests_per_day if requests_per_day is None else requests_per_day
        return per_day / (self.online_hours_per_day * 3600)

    @property
    def scales_with_requests(self) -> bool:
        """Replicas follow the request rate (throughput given, no fixed peak)."""
        return self.throughput is not None and self.peak_requests_per_second is None

    def replicas_for(self, requests_per_day: float | None = None) -> int:
        """Dedicated replicas needed at ``requests_per_day`` (default: the workload's)."""
        if self.replicas is not None:
            return self.replicas
        if self.throughput is None:
            return 1
        rate = self.peak_requests_per_second
        if rate is None:
            rate = self.average_requests_per_second(requests_per_day)
        return max(1, math.ceil(round(rate / self.throughput, 9)))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "replicas_needed": self.replicas_for()}


@dataclass(frozen=True)
class OptionCost:
    """One option's monthly cost for a workload, with its parts, source and date.

    ``monthly_usd`` is None when a price is unknown (``warning`` says how to set it).
    """

    provider: str
    name: str  # model id (serverless) or instance type (dedicated)
    kind: Kind
    monthly_usd: float | None
    region: str | None = None
    via: str = "catalog"  # or "deployment <name>" / "spec"
    breakdown: list[CostLine] = field(default_factory=list)
    input_tokens_usd: float | None = None
    output_tokens_usd: float | None = None
    instance_usd: float | None = None
    usd_per_request: float | None = None  # monthly cost / monthly requests
    replicas: int | None = None
    gpus_needed: int | None = None
    usd_per_million_input: float | None = None
    usd_per_million_output: float | None = None
    usd_per_replica_hour: float | None = None
    source: str | None = None
    as_of: str | None = None
    warning: str | None = None
    note: str | None = None
    #: "secondary": the price is not the platform's own figure (see docs/cost.md)
    confidence: str | None = None
    #: whole days from ``as_of`` to today
    age_days: int | None = None
    #: the price is older than the threshold (365 days, $HOSTKIT_PRICE_MAX_AGE_DAYS) or a
    #: cached live price older than its TTL
    stale: bool = False

    @property
    def label(self) -> str:
        where = f"@{self.region}" if self.region else ""
        return f"{self.provider}:{self.name}{where}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "label": self.label}


@dataclass(frozen=True)
class BreakEven:
    """Requests per day at which a dedicated option costs what a serverless one does.

    Above ``requests_per_day`` the dedicated option is cheaper. When replicas follow the
    request rate (throughput given), each added replica can make serverless cheaper again
    for a while; ``stays_cheaper_from`` is where dedicated is cheaper for good. None,
    with ``reason``, when there is no such point.
    """

    serverless: str | None
    dedicated: str | None
    requests_per_day: float | None
    stays_cheaper_from: float | None = None
    reason: str | None = None
    serverless_usd_per_daily_request: float | None = None  # monthly USD per request/day
    dedicated_usd_per_replica_month: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CostComparison:
    """Every option's monthly cost, cheapest first (unknown last), and the break-even."""

    workload: Workload
    options: list[OptionCost]
    break_even: BreakEven
    pairs: list[BreakEven] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def cheapest(self) -> OptionCost | None:
        return self.options[0] if self.options and self.options[0].monthly_usd is not None else None

    @property
    def warnings(self) -> list[str]:
        return [o.warning for o in self.options if o.warning]

    def table(self) -> str:
        """A plain-text table for a terminal: the workload, every option (cheapest first)
        with its monthly cost, cost per 1,000 requests, breakdown and price date, then the
        break-even. Notes and warnings are in :attr:`notes` and :attr:`warnings`."""
        w = self.workload
        lines = [
            f"workload: {w.requests_per_day:,.0f} requests/day x {w.days_per_month:g} days,"
            f" {w.input_tokens:g} in / {w.output_tokens:g} out tokens per request,"
            f" {w.hours_per_month:g} h online, {w.replicas_for()} replica(s)"
        ]
        if not self.options:
            lines.append("no option matches")
        else:
            rows = [["option", "kind", "USD/month", "per 1k req", "breakdown", "price as of"]]
            for o in self.options:
                per_1k = None if o.usd_per_request is None else o.usd_per_request * 1000
                money = [_usd(o.monthly_usd), _usd(per_1k)]
                rows.append([o.label, o.kind, *money, _parts(o), _as_of_cell(o)])
            widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
            lines += [
                "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                for row in rows
            ]
        lines.append(_break_even_line(self.break_even))
        lines += ["  " + _break_even_line(pair) for pair in self.pairs]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "workload": self.workload.to_dict(),
            "options": [o.to_dict() for o in self.options],
            "break_even": self.break_even.to_dict(),
            "pairs": [p.to_dict() for p in self.pairs],
            "notes": list(self.notes),
            "warnings": self.warnings,
        }


def _usd(amount: float | None) -> str:
    if amount is None:
        return "unknown"
    if amount == 0 or abs(amount) >= 0.01:
        return f"${amount:,.2f}"
    return "$" + f"{amount:.8f}".rstrip("0").rstrip(".")


def _as_of_cell(option: OptionCost) -> str:
    """``"2025-08-12 (482 days old, stale, secondary)"``."""
    if not option.as_of:
        return "-"
    marks = [f"{option.age_days} days old"] if option.age_days is not None else []
    marks += ["stale"] if option.stale else []
    marks += ["secondary"] if option.confidence == "secondary" else []
    return option.as_of + (f" ({', '.join(marks)})" if marks else "")


def _parts(option: OptionCost) -> str:
    """How an option's monthly cost is made up, in a few words."""
    if option.monthly_usd is None:
        return option.note or "price unknown"
    if option.kind == "dedicated" and option.replicas and option.breakdown:
        tp = f", TP {option.gpus_needed}" if option.gpus_needed else ""
        return (
            f"{option.replicas} x {_usd(option.usd_per_replica_hour)}/h x"
            f" {option.breakdown[0].quantity / option.replicas:g} h{tp}"
        )
    return (
        f"in {_usd(option.input_tokens_usd)} + out {_usd(option.output_tokens_usd)}"
        f" ({_usd(option.usd_per_million_input)}/{_usd(option.usd_per_million_output)} per M)"
    )


def _break_even_line(found: BreakEven) -> str:
    if found.requests_per_day is None:
        return f"break-even: none ({found.reason})"
    text = (
        f"break-even: {found.dedicated} is cheaper than {found.serverless} above"
        f" {found.requests_per_day:,.0f} requests/day"
    )
    if found.stays_cheaper_from and found.stays_cheaper_from > found.requests_per_day:
        text += f" (for good above {found.stays_cheaper_from:,.0f}: replicas follow the rate)"
    return text


# -- rates: what an option charges, before the workload ---------------------------------
@dataclass(frozen=True)
class _Rates:
    provider: str
    name: str
    kind: Kind
    region: str | None = None
    via: str = "catalog"
    per_million_input: float | None = None
    per_million_output: float | None = None
    per_replica_hour: float | None = None
    source: str | None = None
    as_of: str | None = None
    warning: str | None = None
    gpus_needed: int | None = None
    note: str | None = None
    confidence: str | None = None
    stale: bool = False


def _hint(provider: str, key: str, kind: Kind) -> str:
    fields = {
        "serverless": "input_per_million = ..., output_per_million = ...",
        "dedicated": "usd_per_hour = ...",
        "unknown": "usd_per_hour = ... (or input_per_million = ..., output_per_million = ...)",
    }[kind]
    return f'set it in hostkit.toml: [prices.{provider}."{key}"] {fields}, source = "..."'


def _unknown(provider: str, name: str, kind: Kind, what: str, **extra: Any) -> _Rates:
    message = f"{provider}: no known price for {what}; {_hint(provider, name, kind)}"
    return _Rates(provider, name, kind, warning=message, **extra)


def _from_row(row: CatalogRow, sizing: Sizing | None) -> _Rates:
    from hostkit.sizing import gpus_needed

    if row.kind == "model":
        if row.usd_per_million_input is None or row.usd_per_million_output is None:
            return _unknown(row.provider, row.name, "serverless", f"model {row.name!r}")
        return _Rates(
            row.provider,
            row.name,
            "serverless",
            per_million_input=row.usd_per_million_input,
            per_million_output=row.usd_per_million_output,
            source=row.source,
            as_of=row.as_of,
            confidence=row.confidence,
            stale=row.stale,
        )
    needed = gpus_needed(sizing, row) if sizing is not None else None
    note = None
    if sizing is not None and needed is None:
        note = f"does not hold the model ({sizing.gpu_memory_gb:.0f} GB of GPU memory needed)"
    if row.usd_per_hour is None:
        where = f" in {row.region}" if row.region else ""
        return _unknown(
            row.provider,
            row.name,
            "dedicated",
            f"{row.name!r}{where}",
            region=row.region,
            gpus_needed=needed,
            note=note,
        )
    return _Rates(
        row.provider,
        row.name,
        "dedicated",
        region=row.region,
        per_replica_hour=row.usd_per_hour,
        source=row.source,
        as_of=row.as_of,
        gpus_needed=needed,
        note=note,
        confidence=row.confidence,
        stale=row.stale,
    )


def _one_replica(spec: DeploymentSpec) -> DeploymentSpec:
    try:
        return spec.replace(replicas=1, min_replicas=None, max_replicas=None)
    except ConfigError:
        return spec


def _from_spec(spec: DeploymentSpec, config: Config, via: str) -> _Rates | None:
    """Rates from the adapter's own ``cost()``; None when the adapter cannot be loaded."""
    from hostkit import _api

    try:
        provider = _api.provider_for(spec.provider, config)
    except DependencyMissing:
        return None
    dedicated = provider.capabilities_for_spec(spec).dedicated
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PriceUnknown)  # the estimate carries the message
        if dedicated:
            hourly = provider.cost(_one_replica(spec), hours=1)
            estimates = [hourly]
        else:
            per_input = provider.cost(spec, input_tokens=1_000_000, output_tokens=0)
            estimates = [per_input]
            if per_input.usd is not None:
                estimates.append(provider.cost(spec, input_tokens=0, output_tokens=1_000_000))
    kind: Kind = "dedicated" if dedicated else "serverless"
    name = (spec.instance or spec.model) if dedicated else spec.model
    unknown = next((e for e in estimates if e.usd is None), None)
    if unknown is not None:
        message = unknown.warnings[0] if unknown.warnings else f"{spec.provider}: no known price"
        return _Rates(spec.provider, name, kind, region=spec.region, via=via, warning=message)
    first: CostEstimate = estimates[0]
    said = [message for estimate in estimates for message in estimate.warnings]
    marks: dict[str, Any] = {
        "confidence": "secondary" if any("secondary source" in m for m in said) else None,
        "stale": any("stale price" in m for m in said) or is_old(first.as_of),
    }
    if dedicated:
        return _Rates(
            spec.provider,
            name,
            kind,
            region=spec.region,
            via=via,
            per_replica_hour=first.usd,
            source=first.source,
            as_of=first.as_of,
            **marks,
        )
    return _Rates(
        spec.provider,
        name,
        kind,
        region=spec.region,
        via=via,
        per_million_input=first.usd,
        per_million_output=estimates[1].usd,
        source=first.source,
        as_of=first.as_of,
        **marks,
    )


# -- which options --------------------------------------------------------------------
def _model_key(model: str) -> str:
    """A model id compared across platforms: no ``:provider`` suffix, no org, no ``-hf``."""
    bare = model.split(":", 1)[0].rsplit("/", 1)[-1]
    return bare.lower().removesuffix("-hf")


def _cheapest_per_name(rows: Sequence[CatalogRow]) -> list[CatalogRow]:
    """One row per (provider, name): the cheapest priced region, else the first."""
    best: dict[tuple[str, str], CatalogRow] = {}
    for row in rows:
        key = (row.provider, row.name)
        held = best.get(key)
        if held is None or (
            row.usd_per_hour is not None
            and (held.usd_per_hour is None or row.usd_per_hour < held.usd_per_hour)
        ):
            best[key] = row
    return list(best.values())


def _default_rates(
    workload: Workload, rows: Sequence[CatalogRow], sizing: Sizing | None, notes: list[str]
) -> list[_Rates]:
    chosen: list[_Rates] = []
    wanted = _model_key(workload.model) if workload.model else None
    for row in rows:
        priced = row.usd_per_million_input is not None and row.usd_per_million_output is not None
        names = {_model_key(row.name)} | ({_model_key(row.hub_model)} if row.hub_model else set())
        if row.kind == "model" and priced and (wanted is None or wanted in names):
            chosen.append(_from_row(row, sizing))
    instances = [r for r in rows if r.kind == "instance" and r.gpu_count and r.usd_per_hour]
    if workload.model and sizing is None:
        notes.append(
            f"no dedicated options listed: the size of {workload.model!r} is unknown offline;"
            " pass sizing=hostkit.sizing.estimate(...) (CLI: --params/--layers/--kv-heads/"
            "--head-dim) or name candidates"
        )
        return chosen
    if sizing is None:
        notes.append("no model given: every priced GPU instance is listed, fit not checked")
    for row in _cheapest_per_name(instances):
        rates = _from_row(row, sizing)
        if sizing is None or rates.gpus_needed is not None:
            chosen.append(rates)
    return chosen


def _named_rates(
    text: str, rows: Sequence[CatalogRow], sizing: Sizing | None, region: str | None
) -> _Rates:
    provider, _, key = text.partition(":")
    found = [r for r in rows if r.provider == provider and r.name == key]
    if not found:
        where = f" in {region}" if region else ""
        return _unknown(
            provider, key, "unknown", f"{key!r}{where} (not in its catalog)", region=region
        )
    priced = [r for r in found if r.priced]
    return _from_row(_cheapest_per_name(priced or found)[0], sizing)


def _candidate_rates(
    candidate: str | DeploymentSpec | Mapping[str, Any],
    rows: Sequence[CatalogRow],
    providers: Sequence[str],
    sizing: Sizing | None,
    region: str | None,
    config: Config,
) -> _Rates:
    if isinstance(candidate, str):
        head = candidate.partition(":")[0]
        if candidate in config.deployments:
            spec, via = config.deployments[candidate], f"deployment {candidate}"
        elif ":" in candidate and head in providers:
            return _named_rates(candidate, rows, sizing, region)
        else:
            known = ", ".join(sorted(config.deployments)) or "none"
            raise ConfigError(
                f"candidate {candidate!r}: not a deployment in {config.where} (known: {known})"
                f" nor 'provider:model' / 'provider:instance' with a registered provider"
                f" ({', '.join(providers)})"
            )
    elif isinstance(candidate, DeploymentSpec | Mapping):
        from hostkit._api import resolve_spec

        spec, via = resolve_spec(candidate, config), "spec"
    else:
        raise ConfigError(
            f"candidate: expected a deployment name, 'provider:name', a DeploymentSpec or a"
            f" mapping; got {type(candidate).__name__}"
        )
    rates = _from_spec(spec, config, via)
    if rates is None:  # the adapter's SDK is missing: price it from the catalog
        key = spec.instance or spec.model
        rates = replace(_named_rates(f"{spec.provider}:{key}", rows, sizing, spec.region), via=via)
    return rates


# -- the linear model -----------------------------------------------------------------
def _price(rates: _Rates, workload: Workload) -> OptionCost:
    base: dict[str, Any] = {
        "provider": rates.provider,
        "name": rates.name,
        "kind": rates.kind,
        "region": rates.region,
        "via": rates.via,
        "source": rates.source,
        "as_of": rates.as_of,
        "warning": rates.warning,
        "note": rates.note,
        "gpus_needed": rates.gpus_needed,
        "confidence": rates.confidence,
        "age_days": age_days(rates.as_of),
        "stale": rates.stale or is_old(rates.as_of),
    }
    monthly = workload.requests_per_month
    if rates.per_replica_hour is not None:
        replicas = workload.replicas_for()
        quantity = workload.hours_per_month * replicas
        usd = quantity * rates.per_replica_hour
        line = CostLine(
            f"{replicas} x {rates.name} x {workload.hours_per_month:g} h",
            "instance-hour",
            quantity,
            rates.per_replica_hour,
            usd,
        )
        return OptionCost(
            **base,
            monthly_usd=usd,
            breakdown=[line],
            instance_usd=usd,
            usd_per_request=usd / monthly if monthly else None,
            replicas=replicas,
            usd_per_replica_hour=rates.per_replica_hour,
        )
    if rates.per_million_input is not None and rates.per_million_output is not None:
        lines = [
            CostLine(
                f"{label} tokens ({monthly:g} requests x {tokens:g})",
                "token",
                monthly * tokens,
                price / 1e6,
                monthly * tokens * price / 1e6,
            )
            for label, tokens, price in (
                ("input", workload.input_tokens, rates.per_million_input),
                ("output", workload.output_tokens, rates.per_million_output),
            )
        ]
        usd = lines[0].usd + lines[1].usd
        return OptionCost(
            **base,
            monthly_usd=usd,
            breakdown=lines,
            input_tokens_usd=lines[0].usd,
            output_tokens_usd=lines[1].usd,
            usd_per_request=usd / monthly if monthly else None,
            usd_per_million_input=rates.per_million_input,
            usd_per_million_output=rates.per_million_output,
        )
    return OptionCost(**base, monthly_usd=None)


def _per_daily_request(option: OptionCost, workload: Workload) -> float:
    """Serverless: monthly USD per request/day (days x tokens x price per token)."""
    assert option.usd_per_million_input is not None and option.usd_per_million_output is not None
    per_request = (
        workload.input_tokens * option.usd_per_million_input
        + workload.output_tokens * option.usd_per_million_output
    ) / 1e6
    return workload.days_per_month * per_request


def break_even(serverless: OptionCost, dedicated: OptionCost, workload: Workload) -> BreakEven:
    """Where ``dedicated`` becomes cheaper than ``serverless`` for ``workload``'s shape.

    With s = days x (input tokens x input price + output tokens x output price) / 10^6
    (monthly USD per request/day) and h = hours online x USD per replica-hour (monthly USD
    per replica): fixed replicas R give R x h / s. Replicas that follow the rate (a replica
    serves cap = throughput x 3600 x online hours/day requests a day) first cross at h / s
    when h / s < cap, and stay cheaper from k x h / s with k = ceil(cap / (cap - h/s)) - 1.
    """
    s = _per_daily_request(serverless, workload)
    assert dedicated.usd_per_replica_hour is not None
    h = workload.hours_per_month * dedicated.usd_per_replica_hour
    found: dict[str, Any] = {
        "serverless": serverless.label,
        "dedicated": dedicated.label,
        "serverless_usd_per_daily_request": s,
        "dedicated_usd_per_replica_month": h,
    }
    if s <= 0:
        return BreakEven(
            **found,
            requests_per_day=None,
            reason=f"{serverless.label} costs nothing per request for this workload"
            " (no tokens?): it is never more expensive",
        )
    if not workload.scales_with_requests:
        point = workload.replicas_for() * h / s
        return BreakEven(**found, requests_per_day=point, stays_cheaper_from=point)
    assert workload.throughput is not None
    cap = workload.throughput * 3600 * workload.online_hours_per_day
    first = h / s
    if first >= cap:
        return BreakEven(
            **found,
            requests_per_day=None,
            reason=f"one replica of {dedicated.label} (${h:,.2f}/month) costs more than"
            f" {serverless.label} charges for the {cap:,.0f} requests/day it can serve:"
            " serverless is cheaper at every volume",
        )
    last = math.ceil(cap / (cap - first)) - 1
    return BreakEven(**found, requests_per_day=first, stays_cheaper_from=max(1, last) * first)


def _break_evens(
    options: Sequence[OptionCost], workload: Workload, pairs: bool
) -> tuple[BreakEven, list[BreakEven]]:
    serverless = [o for o in options if o.kind == "serverless" and o.monthly_usd is not None]
    dedicated = [o for o in options if o.kind == "dedicated" and o.monthly_usd is not None]
    if not serverless or not dedicated:
        missing = "serverless (per-token)" if not serverless else "dedicated (per-hour)"
        reason = f"no priced {missing} option among the candidates"
        return BreakEven(None, None, None, reason=reason), []
    cheapest_s = min(serverless, key=lambda o: _per_daily_request(o, workload))
    cheapest_d = min(dedicated, key=lambda o: o.usd_per_replica_hour or 0.0)
    main = break_even(cheapest_s, cheapest_d, workload)
    every = [break_even(s, d, workload) for s in serverless for d in dedicated] if pairs else []
    return main, every


def compare_costs(
    workload: Workload,
    candidates: Sequence[str | DeploymentSpec | Mapping[str, Any]] | None = None,
    *,
    provider: str | Sequence[str] | None = None,
    region: str | None = None,
    sizing: Sizing | None = None,
    pairs: bool = False,
    config: Config | str | None = None,
) -> CostComparison:
    """``workload``'s monthly cost on each candidate, cheapest first, and the break-even.

    ``candidates``: deployment names from the config, specs, or ``"provider:model"`` /
    ``"provider:instance"``; default: every priced catalog option that can serve
    ``workload.model`` (serverless models of that id, and instances that hold it per
    ``sizing``, which defaults to the shipped table's figures). ``provider`` and ``region``
    filter the catalog. ``pairs=True`` adds the break-even of every serverless/dedicated
    pair. Unknown prices: ``monthly_usd`` None, one PriceUnknown warning each, listed last.
    """
    from hostkit import catalog
    from hostkit._api import _config

    if not isinstance(workload, Workload):
        raise ConfigError(f"workload: expected a hostkit.Workload, got {type(workload).__name__}")
    resolved = _config(config)
    if sizing is None and workload.model:
        from hostkit.sizing import estimate, known_model

        if known_model(workload.model) is not None:
            sizing = estimate(workload.model)
    rows = catalog.offerings(provider, region=region, config=resolved)
    notes: list[str] = []
    if candidates is None:
        rates = _default_rates(workload, rows, sizing, notes)
    else:
        if isinstance(candidates, str | DeploymentSpec):
            candidates = [candidates]
        names = catalog.provider_names()
        rates = [_candidate_rates(c, rows, names, sizing, region, resolved) for c in candidates]
    for found in rates:
        if found.warning:
            warnings.warn(found.warning, PriceUnknown, stacklevel=2)
    options = sorted(
        (_price(r, workload) for r in rates),
        key=lambda o: (o.monthly_usd is None, o.monthly_usd or 0.0, o.provider, o.name),
    )
    notes += _mark_notes(options)
    main, every = _break_evens(options, workload, pairs)
    return CostComparison(workload, options, main, every, notes)


def _mark_notes(options: Sequence[OptionCost]) -> list[str]:
    """One note per priced option whose price is secondary; one
    :class:`~hostkit.errors.StalePrices` warning per option whose price is stale."""
    found = []
    for option in options:
        if option.monthly_usd is None:
            continue
        if option.stale:
            message = f"{option.label}: stale, {as_of_text(option.as_of)}; check {option.source}"
            warnings.warn(message, StalePrices, stacklevel=3)
        if option.confidence == "secondary":
            found.append(f"{option.label}: {secondary_text(option.provider)} ({option.source})")
    return found
