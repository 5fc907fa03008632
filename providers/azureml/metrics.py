"""Recent invocation metrics of an Azure ML managed online endpoint, from Azure Monitor.

Azure Monitor's metrics REST API ("Metrics - List", api-version 2023-10-01) on the
endpoint's ARM resource, sent through the provider's ARM pipeline (MLClient's
credential and transport, hostkit's retries):
``GET {endpoint id}/providers/Microsoft.Insights/metrics?metricnames=...&timespan=...``.
The endpoint metrics Azure documents for
``Microsoft.MachineLearningServices/workspaces/onlineEndpoints``, all at ``PT1M``:

* ``RequestsPerMinute`` (Count, aggregation Average; dimensions ``deployment``,
  ``statusCode``, ``statusCodeClass``, ``modelStatusCode``): asked per minute and split by
  ``statusCodeClass`` (``$filter=statusCodeClass eq '*'``). A one-minute average of a
  per-minute count is that minute's requests; the sum over the window is the invocations,
  the ``4xx`` and ``5xx`` series the errors.
* ``RequestLatency`` (Milliseconds, aggregation Average; dimension ``deployment``): the
  window's latency is the per-minute averages weighted by that minute's requests.

Azure publishes no per-request maximum (only the average and the P50-P99 percentiles), so
``max_latency_ms`` is None. A minute without traffic has no value at all: a window without
any is reported as None, not 0. Each hostkit endpoint holds the one deployment ``hostkit``,
so the endpoint's figures are the deployment's.
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from hostkit._logs import Metrics
from hostkit._models import Deployment

from .resources import endpoint_name

if TYPE_CHECKING:
    from .provider import AzureMLProvider

__all__ = ["API_VERSION", "DEFAULT_WINDOW", "NAMESPACE", "read_metrics"]

ARM = "https://management.azure.com"
API_VERSION = "2023-10-01"
NAMESPACE = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
#: the window ``metrics`` covers when no ``since`` is given
DEFAULT_WINDOW = 300.0
SOURCE = f"Azure Monitor {NAMESPACE} metrics"
#: the time source (tests replace it so the asked timespan is fixed)
clock: Callable[[], float] = time.time


def _iso(moment: float) -> str:
    stamp = _dt.datetime.fromtimestamp(int(moment), tz=_dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def _query(
    provider: AzureMLProvider,
    resource: str,
    metric: str,
    start: float,
    end: float,
    split: str | None = None,
) -> list[dict[str, Any]]:
    """The ``timeseries`` of one metric over ``start..end``, one point a minute."""
    params = {
        "metricnames": metric,
        "metricnamespace": NAMESPACE,
        "timespan": f"{_iso(start)}/{_iso(end)}",
        "interval": "PT1M",
        "aggregation": "average",
    }
    if split:
        params["$filter"] = f"{split} eq '*'"
    url = (
        f"{ARM}{resource}/providers/Microsoft.Insights/metrics?{urlencode(params, quote_via=quote)}"
    )
    answer = provider.call(lambda: provider._arm("GET", url, api_version=API_VERSION)) or {}
    series: list[dict[str, Any]] = []
    for value in answer.get("value") or []:
        series.extend(value.get("timeseries") or [])
    return series


def _dimension(series: dict[str, Any], name: str) -> str:
    """A timeseries' value of dimension ``name`` (Azure lower-cases the names it returns)."""
    for item in series.get("metadatavalues") or []:
        if str((item.get("name") or {}).get("value") or "").lower() == name.lower():
            return str(item.get("value") or "")
    return ""


def _points(series: list[dict[str, Any]]) -> Iterator[tuple[str, float]]:
    """(timeStamp, average) of every point that has a value."""
    for one in series:
        for point in one.get("data") or []:
            if point.get("average") is not None:
                yield str(point.get("timeStamp")), float(point["average"])


def read_metrics(
    provider: AzureMLProvider, deployment: Deployment, *, since: float | None
) -> Metrics:
    """Invocations, 4xx/5xx errors and average latency of the endpoint since ``since``."""
    end = clock()
    start = end - DEFAULT_WINDOW if since is None else since
    ep = str(deployment.raw.get("endpoint_name") or endpoint_name(deployment.name))
    resource = f"{provider.ids.workspace_id}/onlineEndpoints/{ep}"

    requests = _query(provider, resource, "RequestsPerMinute", start, end, "statusCodeClass")
    per_minute: dict[str, float] = {}
    errors: float | None = None
    for one in requests:
        failed = _dimension(one, "statusCodeClass")[:1] in ("4", "5")
        for stamp, count in _points([one]):
            per_minute[stamp] = per_minute.get(stamp, 0.0) + count
            errors = (errors or 0.0) + (count if failed else 0.0)
    invocations = round(sum(per_minute.values())) if per_minute else None

    latency = list(_points(_query(provider, resource, "RequestLatency", start, end)))
    return Metrics(
        window_s=end - start,
        end=end,
        invocations=invocations,
        errors=None if errors is None else round(errors),
        latency_ms=_weighted(latency, per_minute),
        max_latency_ms=None,  # Azure reports only the average and percentiles
        source=SOURCE,
    )


def _weighted(latency: list[tuple[str, float]], requests: dict[str, float]) -> float | None:
    """The minutes' average latencies weighted by their requests (a plain mean without them)."""
    weights = [requests.get(stamp, 0.0) for stamp, _ in latency]
    if sum(weights) > 0:
        return sum(w * v for w, (_, v) in zip(weights, latency, strict=True)) / sum(weights)
    return sum(v for _, v in latency) / len(latency) if latency else None
