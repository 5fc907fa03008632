"""Request counts and latency of a hostkit application, from Ray's Prometheus metrics.

The dashboard lists every node's metrics endpoint (``GET /api/prometheus/sd``, the
service discovery file Prometheus reads); each serves the Prometheus text format at
``http://NODE:PORT/metrics``. Serve's proxy counts requests per application there:
``ray_serve_num_http_requests_total``, ``ray_serve_num_http_error_requests_total`` and
``ray_serve_http_request_latency_ms`` (a histogram: ``_sum`` and ``_count``), labelled
``application="NAME"``. The counters run from the node's start: the first sample covers
the time since the application was deployed, each later one the time since the previous
sample of the same provider. Ray exports them every few seconds, so they lag that much.

Requests in flight per replica come from the gauge each replica exports,
``ray_serve_replica_processing_queries`` ("the current number of queries being processed",
set by Serve's replica as requests start and end), labelled ``application``, ``deployment``
and ``replica`` (the replica id the Serve REST API lists). It is the latest reading, not a
window figure; a replica that is gone can leave its last reading behind for a while, so
only the replicas the REST API lists for the application are kept.
Nodes hostkit cannot reach (their metrics port is not open to it) are skipped; with none
reachable ``metrics`` returns None.
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hostkit._logs import Metrics
from hostkit._redact import get_logger

if TYPE_CHECKING:
    from hostkit_providers.ray.provider import RayProvider

__all__ = ["Sample", "in_flight_of", "parse_in_flight", "parse_sample", "serve_metrics"]

log = get_logger("hostkit.ray")
SD_PATH = "/api/prometheus/sd"
REQUESTS = "ray_serve_num_http_requests_total"
ERRORS = "ray_serve_num_http_error_requests_total"
LATENCY = "ray_serve_http_request_latency_ms"
IN_FLIGHT = "ray_serve_replica_processing_queries"
_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}\s+(\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Sample:
    """Counter totals of one application at one moment, and its replicas' in-flight gauge
    (replica id -> requests being processed; empty when no replica reported it)."""

    at: float
    requests: float = 0.0
    errors: float = 0.0
    latency_sum_ms: float = 0.0
    latency_count: float = 0.0
    in_flight: Mapping[str, float] = field(default_factory=dict)

    def __add__(self, other: Sample) -> Sample:
        in_flight = dict(self.in_flight)
        for replica, count in other.in_flight.items():
            in_flight[replica] = in_flight.get(replica, 0.0) + count
        return Sample(
            at=max(self.at, other.at),
            requests=self.requests + other.requests,
            errors=self.errors + other.errors,
            latency_sum_ms=self.latency_sum_ms + other.latency_sum_ms,
            latency_count=self.latency_count + other.latency_count,
            in_flight=in_flight,
        )


def _series(
    text: str, names: Collection[str], application: str
) -> Iterator[tuple[str, dict[str, str], float]]:
    """(metric name, labels, value) of each sample of ``names`` labelled ``application``."""
    for line in text.splitlines():
        if not line.startswith("ray_serve_"):
            continue
        match = _LINE.match(line)
        if not match or match.group(1) not in names:
            continue
        labels = dict(_LABEL.findall(match.group(2)))
        if labels.get("application") != application:
            continue
        try:
            value = float(match.group(3))
        except ValueError:
            continue
        yield match.group(1), labels, value


def parse_in_flight(text: str, application: str) -> dict[str, float]:
    """Replica id -> requests being processed, for ``application``'s replicas in one
    node's Prometheus text (Serve's ``ray_serve_replica_processing_queries`` gauge)."""
    found: dict[str, float] = {}
    for _, labels, value in _series(text, (IN_FLIGHT,), application):
        replica = labels.get("replica")
        if replica:
            found[replica] = found.get(replica, 0.0) + value
    return found


def parse_sample(text: str, application: str, at: float) -> Sample:
    """The totals (and in-flight gauge) for ``application`` in one node's Prometheus text."""
    totals = {"requests": 0.0, "errors": 0.0, "latency_sum_ms": 0.0, "latency_count": 0.0}
    fields = {
        REQUESTS: "requests",
        ERRORS: "errors",
        f"{LATENCY}_sum": "latency_sum_ms",
        f"{LATENCY}_count": "latency_count",
    }
    for name, _, value in _series(text, fields, application):
        totals[fields[name]] += value
    return Sample(at=at, **totals, in_flight=parse_in_flight(text, application))


def _targets(provider: RayProvider) -> list[str]:
    response = provider.dashboard.request("GET", SD_PATH)
    data = response.json()
    groups = data if isinstance(data, list) else []
    return [str(t) for group in groups if isinstance(group, dict) for t in group.get("targets", [])]


def _scrape(targets: list[str], application: str) -> Sample | None:
    import httpx

    total: Sample | None = None
    for target in targets:
        try:
            text = httpx.get(f"http://{target}/metrics", timeout=5.0).text
        except httpx.HTTPError as error:
            log.debug("ray: metrics of node %s unreachable: %s", target, error)
            continue
        sample = parse_sample(text, application, time.time())
        total = sample if total is None else total + sample
    return total


def in_flight_of(sample: Sample, replicas: Collection[str] | None) -> dict[str, int] | None:
    """The sample's in-flight readings of the ``replicas`` the REST API lists (None: keep
    every reading); None when no listed replica reported one."""
    kept = {
        replica: int(count)
        for replica, count in sample.in_flight.items()
        if replicas is None or replica in replicas
    }
    return kept or None


def serve_metrics(
    provider: RayProvider,
    name: str,
    previous: Sample | None,
    deployed_at: float | None,
    replicas: Collection[str] | None = None,
) -> tuple[Metrics | None, Sample | None]:
    """(Metrics since ``previous`` or since the deployment, the new sample); the in-flight
    readings are kept for ``replicas`` only (the ids the REST API lists; None: all)."""
    current = _scrape(_targets(provider), name)
    if current is None:
        return None, previous
    base = previous or Sample(at=deployed_at or current.at)
    count = current.latency_count - base.latency_count
    latency = (current.latency_sum_ms - base.latency_sum_ms) / count if count > 0 else None
    metrics = Metrics(
        window_s=max(0.0, current.at - base.at),
        end=current.at,
        invocations=int(current.requests - base.requests),
        errors=int(current.errors - base.errors),
        latency_ms=latency,
        source=f"Ray's Prometheus metrics (nodes listed at {provider.address}{SD_PATH})",
        in_flight=in_flight_of(current, replicas),
    )
    return metrics, current
