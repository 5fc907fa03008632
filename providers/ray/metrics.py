"""Request counts and latency of a hostkit application, from Ray's Prometheus metrics.

The dashboard lists every node's metrics endpoint (``GET /api/prometheus/sd``, the
service discovery file Prometheus reads); each serves the Prometheus text format at
``http://NODE:PORT/metrics``. Serve's proxy counts requests per application there:
``ray_serve_num_http_requests_total``, ``ray_serve_num_http_error_requests_total`` and
``ray_serve_http_request_latency_ms`` (a histogram: ``_sum`` and ``_count``), labelled
``application="NAME"``. The counters run from the node's start: the first sample covers
the time since the application was deployed, each later one the time since the previous
sample of the same provider. Ray exports them every few seconds, so they lag that much.
Nodes hostkit cannot reach (their metrics port is not open to it) are skipped; with none
reachable ``metrics`` returns None.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hostkit._logs import Metrics
from hostkit._redact import get_logger

if TYPE_CHECKING:
    from hostkit_providers.ray.provider import RayProvider

__all__ = ["Sample", "parse_sample", "serve_metrics"]

log = get_logger("hostkit.ray")
SD_PATH = "/api/prometheus/sd"
REQUESTS = "ray_serve_num_http_requests_total"
ERRORS = "ray_serve_num_http_error_requests_total"
LATENCY = "ray_serve_http_request_latency_ms"
_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}\s+(\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Sample:
    """Counter totals of one application at one moment."""

    at: float
    requests: float = 0.0
    errors: float = 0.0
    latency_sum_ms: float = 0.0
    latency_count: float = 0.0

    def __add__(self, other: Sample) -> Sample:
        return Sample(
            at=max(self.at, other.at),
            requests=self.requests + other.requests,
            errors=self.errors + other.errors,
            latency_sum_ms=self.latency_sum_ms + other.latency_sum_ms,
            latency_count=self.latency_count + other.latency_count,
        )


def parse_sample(text: str, application: str, at: float) -> Sample:
    """The totals for ``application`` in one node's Prometheus text."""
    totals = {"requests": 0.0, "errors": 0.0, "latency_sum_ms": 0.0, "latency_count": 0.0}
    fields = {
        REQUESTS: "requests",
        ERRORS: "errors",
        f"{LATENCY}_sum": "latency_sum_ms",
        f"{LATENCY}_count": "latency_count",
    }
    for line in text.splitlines():
        if not line.startswith("ray_serve_"):
            continue
        match = _LINE.match(line)
        if not match or match.group(1) not in fields:
            continue
        labels = dict(_LABEL.findall(match.group(2)))
        if labels.get("application") != application:
            continue
        try:
            totals[fields[match.group(1)]] += float(match.group(3))
        except ValueError:
            continue
    return Sample(at=at, **totals)


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


def serve_metrics(
    provider: RayProvider, name: str, previous: Sample | None, deployed_at: float | None
) -> tuple[Metrics | None, Sample | None]:
    """(Metrics since ``previous`` or since the deployment, the new sample)."""
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
    )
    return metrics, current
