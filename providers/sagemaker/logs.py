"""Server logs and invocation metrics of a SageMaker endpoint, from CloudWatch.

* Logs: the container's output goes to the CloudWatch Logs group
  ``/aws/sagemaker/Endpoints/<endpoint>``, one stream per instance named
  ``<variant>/<instance id>``. :func:`read_logs` pages through ``FilterLogEvents``
  (``startTime`` from ``since``, interleaved) and, when following, asks again from the
  newest time seen, skipping events already yielded.
* Metrics: ``GetMetricStatistics`` on namespace ``AWS/SageMaker`` with the dimensions
  ``EndpointName`` and ``VariantName``: ``Invocations`` (Sum), ``Invocation4XXErrors`` and
  ``Invocation5XXErrors`` (Sum) and ``ModelLatency`` (microseconds; SampleCount, Average,
  Maximum). SageMaker publishes them at one-minute granularity.
"""

from __future__ import annotations

import datetime as _dt
import math
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from hostkit._logs import LogLine, Metrics
from hostkit._models import Deployment
from hostkit.errors import NotFound

if TYPE_CHECKING:
    from .provider import SageMakerProvider

__all__ = ["log_group", "read_logs", "read_metrics"]

#: events per FilterLogEvents page (the API's maximum is 10,000)
PAGE_SIZE = 1000
FOLLOW_INTERVAL = 5.0
#: the window ``metrics`` covers when no ``since`` is given
DEFAULT_WINDOW = 300.0
NAMESPACE = "AWS/SageMaker"


def log_group(endpoint: str) -> str:
    return f"/aws/sagemaker/Endpoints/{endpoint}"


def _line(event: dict[str, Any]) -> LogLine:
    variant, _, instance = str(event.get("logStreamName") or "").partition("/")
    return LogLine(
        timestamp=int(event["timestamp"]) / 1000,
        message=str(event.get("message") or "").rstrip("\n"),
        source=variant or None,
        replica=instance or None,
    )


def _pages(
    provider: SageMakerProvider, group: str, start_ms: int | None
) -> Iterator[dict[str, Any]]:
    client = provider._client("logs")
    request: dict[str, Any] = {"logGroupName": group, "limit": PAGE_SIZE}
    if start_ms is not None:
        request["startTime"] = start_ms
    while True:
        page = provider.call(lambda: client.filter_log_events(**request))
        yield from page.get("events") or []
        token = page.get("nextToken")
        if not token:
            return
        request["nextToken"] = token


def read_logs(
    provider: SageMakerProvider,
    deployment: Deployment,
    *,
    since: float | None,
    follow: bool,
    interval: float = FOLLOW_INTERVAL,
) -> Iterator[LogLine]:
    endpoint = provider._endpoint_name(deployment)
    group = log_group(endpoint)
    start_ms = None if since is None else int(since * 1000)
    newest: set[str] = set()  # ids of the events at start_ms already yielded
    while True:
        try:
            for event in _pages(provider, group, start_ms):
                if event.get("eventId") in newest:
                    continue
                stamp = int(event["timestamp"])
                if start_ms is None or stamp > start_ms:
                    start_ms, newest = stamp, set()
                newest.add(str(event.get("eventId")))
                yield _line(event)
        except NotFound:
            if not follow:
                raise NotFound(
                    f"no CloudWatch log group {group} in {provider.region} yet: SageMaker"
                    f" creates it when the first instance of {endpoint} starts",
                    provider=provider.name,
                ) from None
        if not follow:
            return
        provider.sleep(interval)


def _statistics(
    provider: SageMakerProvider,
    dimensions: list[dict[str, str]],
    metric: str,
    stats: list[str],
    start: float,
    end: float,
) -> list[dict[str, Any]]:
    client = provider._client("cloudwatch")
    period = max(60, math.ceil((end - start) / 60) * 60)
    answer = provider.call(
        lambda: client.get_metric_statistics(
            Namespace=NAMESPACE,
            MetricName=metric,
            Dimensions=dimensions,
            StartTime=_dt.datetime.fromtimestamp(start, tz=_dt.UTC),
            EndTime=_dt.datetime.fromtimestamp(end, tz=_dt.UTC),
            Period=period,
            Statistics=stats,
        )
    )
    return list(answer.get("Datapoints") or [])


def read_metrics(
    provider: SageMakerProvider, deployment: Deployment, *, since: float | None
) -> Metrics:
    end = time.time()
    start = end - DEFAULT_WINDOW if since is None else since
    dimensions = [
        {"Name": "EndpointName", "Value": provider._endpoint_name(deployment)},
        {"Name": "VariantName", "Value": str(deployment.raw.get("variant") or "AllTraffic")},
    ]

    def total(metric: str) -> int:
        points = _statistics(provider, dimensions, metric, ["Sum"], start, end)
        return int(sum(float(p.get("Sum") or 0) for p in points))

    latency = _statistics(
        provider, dimensions, "ModelLatency", ["SampleCount", "Average", "Maximum"], start, end
    )
    samples = sum(float(p.get("SampleCount") or 0) for p in latency)
    average = (
        sum(float(p.get("Average") or 0) * float(p.get("SampleCount") or 0) for p in latency)
        / samples
        if samples
        else None
    )
    maximum = max((float(p["Maximum"]) for p in latency if "Maximum" in p), default=None)
    return Metrics(
        window_s=end - start,
        end=end,
        invocations=total("Invocations"),
        errors=total("Invocation4XXErrors") + total("Invocation5XXErrors"),
        latency_ms=None if average is None else average / 1000,  # ModelLatency is in µs
        max_latency_ms=None if maximum is None else maximum / 1000,
        source=f"CloudWatch {NAMESPACE} metrics",
    )
