"""Recent invocation figures of a Vertex AI endpoint, from Cloud Monitoring.

Vertex AI writes its online-prediction metrics to Cloud Monitoring on the monitored
resource ``aiplatform.googleapis.com/Endpoint`` (labels ``resource_container``,
``location``, ``endpoint_id``), all ``DELTA`` metrics sampled every 60 s:

* ``aiplatform.googleapis.com/prediction/online/prediction_count`` (INT64),
* ``aiplatform.googleapis.com/prediction/online/error_count`` (INT64),
* ``aiplatform.googleapis.com/prediction/online/prediction_latencies`` (DISTRIBUTION, ms).

:func:`read_metrics` asks ``GET https://monitoring.googleapis.com/v3/projects/{project}
/timeSeries`` (``projects.timeSeries.list``) once per metric, aligned over the whole
window (``ALIGN_SUM`` for the counts, ``ALIGN_DELTA`` for the latency distribution), through
the adapter's ``AuthorizedSession`` on the same Application Default Credentials. A metric
with no time series in the window is None, not 0: Google makes points visible minutes after
sampling, so an empty answer does not mean nothing happened. Reading needs the IAM
permission ``monitoring.timeSeries.list`` (role ``roles/monitoring.viewer``), which
``roles/aiplatform.user`` does not grant.
"""

from __future__ import annotations

import datetime as _dt
import math
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hostkit._logs import Metrics
from hostkit._models import Deployment
from hostkit.errors import ProviderError

from ._errors import google_error, status_from_body

if TYPE_CHECKING:
    from .provider import VertexProvider

__all__ = ["MONITORING_API", "read_metrics"]

MONITORING_API = "https://monitoring.googleapis.com/v3"
RESOURCE_TYPE = "aiplatform.googleapis.com/Endpoint"
PREFIX = "aiplatform.googleapis.com/prediction/online/"
PREDICTIONS = PREFIX + "prediction_count"
ERRORS = PREFIX + "error_count"
LATENCIES = PREFIX + "prediction_latencies"
#: the window ``metrics`` covers when no ``since`` is given: Cloud Monitoring shows a point
#: only a few minutes after it is sampled, so five minutes would often come back empty
DEFAULT_WINDOW = 600.0
SOURCE = "Cloud Monitoring"

#: the clock the window ends at (tests replace it so that the query matches a cassette)
_clock: Callable[[], float] = time.time


def _rfc3339(seconds: float) -> str:
    moment = _dt.datetime.fromtimestamp(int(seconds), tz=_dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _endpoint(provider: VertexProvider, deployment: Deployment) -> tuple[str, str]:
    """The project (as the endpoint's resource name gives it) and the endpoint id."""
    name = str(deployment.raw.get("endpoint") or "")
    if not name:
        name = str(provider.get(deployment.name).raw.get("endpoint") or "")
    parts = name.split("/")
    if len(parts) != 6 or parts[0] != "projects" or parts[4] != "endpoints":
        raise ProviderError(
            f"{deployment.name} has no Vertex AI endpoint yet, so it has no metrics",
            provider=provider.name,
        )
    return parts[1], parts[5]


def _series(
    provider: VertexProvider, project: str, query: Mapping[str, str]
) -> Iterator[Mapping[str, Any]]:
    """Every time series ``projects.timeSeries.list`` answers, page after page."""
    session = provider._sdk().session
    url = f"{MONITORING_API}/projects/{project}/timeSeries"
    params = dict(query)
    while True:

        def attempt(params: Mapping[str, str] = params) -> Any:
            response = session.get(url, params=params, timeout=provider.timeout)
            if response.status_code >= 400:
                status = status_from_body(response.status_code, response.content, response.headers)
                raise google_error(status, provider._context())
            return response.json()

        page = provider.call(attempt, safe=True)
        yield from page.get("timeSeries") or []
        token = page.get("nextPageToken")
        if not token:
            return
        params = {**params, "pageToken": str(token)}


def _query(
    metric: str, endpoint_id: str, location: str, start: float, end: float
) -> dict[str, str]:
    period = max(60, math.ceil((end - start) / 60) * 60)
    aligner = "ALIGN_DELTA" if metric == LATENCIES else "ALIGN_SUM"
    return {
        "filter": (
            f'metric.type = "{metric}" AND resource.type = "{RESOURCE_TYPE}"'
            f' AND resource.labels.endpoint_id = "{endpoint_id}"'
            f' AND resource.labels.location = "{location}"'
        ),
        "interval.startTime": _rfc3339(start),
        "interval.endTime": _rfc3339(end),
        "aggregation.alignmentPeriod": f"{period}s",
        "aggregation.perSeriesAligner": aligner,
    }


def _total(series: list[Mapping[str, Any]]) -> int | None:
    """The sum of every point's ``int64Value`` (a JSON string); None without points."""
    values = [
        int((point.get("value") or {}).get("int64Value") or 0)
        for one in series
        for point in one.get("points") or []
    ]
    return sum(values) if values else None


def _model_latency(series: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The series of the model's own latency where Vertex splits it by ``latency_type``."""
    kinds = {str(((s.get("metric") or {}).get("labels") or {}).get("latency_type")) for s in series}
    for wanted in ("model", "total"):
        if wanted in kinds:
            return [
                s
                for s in series
                if ((s.get("metric") or {}).get("labels") or {}).get("latency_type") == wanted
            ]
    return series


def _latency(series: list[Mapping[str, Any]]) -> tuple[float | None, float | None]:
    """The count-weighted mean of the distributions, and their largest ``range.max``."""
    count = weighted = 0.0
    maximum: float | None = None
    for one in _model_latency(series):
        for point in one.get("points") or []:
            dist = (point.get("value") or {}).get("distributionValue") or {}
            samples = float(dist.get("count") or 0)
            count += samples
            weighted += samples * float(dist.get("mean") or 0)
            top = (dist.get("range") or {}).get("max")
            if samples and top is not None:
                maximum = max(float(top), maximum if maximum is not None else float(top))
    return (weighted / count if count else None), maximum


def read_metrics(
    provider: VertexProvider, deployment: Deployment, *, since: float | None
) -> Metrics:
    """Predictions, errors and mean model latency of ``deployment`` from ``since`` to now."""
    end = _clock()
    start = end - DEFAULT_WINDOW if since is None else since
    project, endpoint_id = _endpoint(provider, deployment)

    def fetch(metric: str) -> list[Mapping[str, Any]]:
        query = _query(metric, endpoint_id, provider.location, start, end)
        return list(_series(provider, project, query))

    invocations = _total(fetch(PREDICTIONS))
    errors = _total(fetch(ERRORS))
    average, maximum = _latency(fetch(LATENCIES))
    return Metrics(
        window_s=end - start,
        end=end,
        invocations=invocations,
        errors=errors,
        latency_ms=average,
        max_latency_ms=maximum,
        source=SOURCE,
    )
