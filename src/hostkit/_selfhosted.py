"""The price of serving on hardware the user runs (``local``, a Ray cluster).

No platform bills such hardware, so there is no list price to ship: the rate is what the
user says it costs, from the most specific place that says it, and 0 otherwise (with a
source sentence saying how to set it). Time is what costs; requests and tokens do not.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import TYPE_CHECKING

from hostkit._models import CostEstimate, CostLine, Deployment, DeploymentSpec
from hostkit.errors import ConfigError

if TYPE_CHECKING:
    from hostkit._provider import Provider

__all__ = ["deployment_rate", "self_hosted_rate", "time_cost"]


def deployment_rate(target: Deployment | DeploymentSpec) -> float | None:
    """A spec's ``options.usd_per_hour``, or the one its deployment was created with
    (a finite number ≥ 0; anything else is no rate)."""
    if isinstance(target, DeploymentSpec):
        rate = target.options.get("usd_per_hour")
    else:
        rate = target.raw.get("usd_per_hour") if isinstance(target.raw, dict) else None
    if not isinstance(rate, int | float) or isinstance(rate, bool):
        return None
    return float(rate) if math.isfinite(rate) and rate >= 0 else None


def self_hosted_rate(
    provider: Provider, target: Deployment | DeploymentSpec | None, *, unpriced: str
) -> tuple[float, str]:
    """``(usd per hour, source)``: the deployment's ``options.usd_per_hour``, else the
    provider's ``usd_per_hour`` setting, else a priced ``[prices.<provider>]`` row, else 0
    with ``unpriced`` as the source."""
    if target is not None and (own := deployment_rate(target)) is not None:
        return own, f"options.usd_per_hour of deployment {target.name!r}"
    rate = provider.setting("usd_per_hour")
    if rate is not None:
        return float(rate), provider.setting_source("usd_per_hour")
    row = provider.prices.find(provider.name)
    if row is not None and row.usd_per_hour:  # a $0 row is the shipped "free" default
        return row.usd_per_hour, f"{row.source} (as of {row.as_of})"
    return 0.0, unpriced


def time_cost(
    provider: Provider,
    target: Deployment | DeploymentSpec,
    rate: tuple[float, str],
    *,
    hours: float | None,
    usage_given: bool,
    line: str,
    billed: str,
    unit: str = "hour",
    count: int = 1,
) -> CostEstimate:
    """The cost of ``hours`` (default 1) of ``count`` units at ``rate``, as one ``line``.

    ``billed`` names what costs ("machine time"). With ``usage_given`` (requests or tokens
    passed without hours) a priced rate gives an unknown cost saying to pass hours.
    """
    usd_per_hour, source = rate
    if hours is None and usd_per_hour > 0 and usage_given:
        return provider.unknown_cost(
            "requests or tokens",
            f"{provider.name} bills {billed}, not requests: pass hours= (e.g. cost(dep, hours=1))",
        )
    hours = 1.0 if hours is None else float(hours)
    if hours < 0:
        raise ConfigError(f"hours: must not be negative, got {hours}")
    usd = usd_per_hour * hours * count
    return CostEstimate(
        usd=usd,
        breakdown=[CostLine(line, unit, hours * count, usd_per_hour, usd)],
        source=source,
        as_of=_dt.date.today().isoformat(),
    )
