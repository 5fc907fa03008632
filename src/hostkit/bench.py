"""Load-test one deployment and recommend a concurrency (and a replica count).

>>> from hostkit.bench import bench
>>> result = bench("scores", {"hours": 6}, concurrency=(1, 4, 16, 64), requests_per_step=200,
...                p95_target="250ms", target_rps=500)
>>> print(result.table()); print(result.recommendation.reason)

Closed loop (the default): at each step, ``concurrency`` workers send requests back
to back until the step's request count or duration is used up. Open loop
(``rate=50``): requests start at a fixed arrival rate whatever the answers do, and
latency counts from each request's scheduled start, so queueing in front of a slow
deployment shows up in the figures. Every loop is bounded by a request count or a
duration. Cost per 1,000 inferences is the hourly price ÷ the measured throughput
on dedicated deployments, and the calls' own ``cost_usd`` on per-use platforms.
Not imported by ``import hostkit``.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as _dt
import itertools
import json
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hostkit import _api
from hostkit._http import connection_pool
from hostkit._models import CostEstimate, Deployment, parse_duration
from hostkit.compare import (
    Caller,
    ObservedCost,
    Sample,
    error_counts,
    error_footer,
    error_messages,
    hourly_price,
    is_dedicated,
    load_prompts,
    mean_timings,
    observed_cost,
    percentile,
    resolve_target,
    run_sync,
)
from hostkit.errors import ConfigError

__all__ = ["BenchResult", "Recommendation", "Step", "abench", "bench", "parse_rate"]

DEFAULT_CONCURRENCY = (1, 4, 16, 64)
#: an open-loop step never holds more requests in flight than this (a safety bound)
MAX_IN_FLIGHT = 1024
Progress = Callable[[str], None]
_RATE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*(s|sec|second|m|min|minute))?\s*$")


@dataclass
class Step:
    """One load level: what was offered and what came back."""

    mode: str  # "closed" (fixed concurrency) or "open" (fixed arrival rate)
    concurrency: int | None
    offered_rps: float | None
    requests: int
    successes: int
    errors: dict[str, int]
    error_rate: float
    duration_s: float
    throughput_rps: float
    tokens_per_s: float | None
    latency_p50_s: float | None
    latency_p95_s: float | None
    latency_p99_s: float | None
    latency_mean_s: float | None
    ttft_p50_s: float | None
    platform_timings: dict[str, float]
    cost: ObservedCost
    #: why requests failed: each distinct ``Type: message`` with its count (the top five)
    error_messages: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        mode: str,
        concurrency: int | None,
        offered: float | None,
        deployment: Deployment,
        samples: Sequence[Sample],
        duration_s: float,
        hourly: CostEstimate | None,
    ) -> Step:
        good = [s for s in samples if s.ok]
        latencies = [s.latency_s for s in good]
        tokens = sum(s.output_tokens or 0 for s in good)
        any_tokens = any(s.output_tokens is not None for s in good)
        ttfts = [s.ttft_s for s in good if s.ttft_s is not None]
        return cls(
            mode=mode,
            concurrency=concurrency,
            offered_rps=offered,
            requests=len(samples),
            successes=len(good),
            errors=error_counts(samples),
            error_rate=(len(samples) - len(good)) / len(samples) if samples else 0.0,
            duration_s=duration_s,
            throughput_rps=len(good) / duration_s if duration_s > 0 else 0.0,
            tokens_per_s=tokens / duration_s if any_tokens and duration_s > 0 else None,
            latency_p50_s=percentile(latencies, 50),
            latency_p95_s=percentile(latencies, 95),
            latency_p99_s=percentile(latencies, 99),
            latency_mean_s=sum(latencies) / len(latencies) if latencies else None,
            ttft_p50_s=percentile(ttfts, 50),
            platform_timings=mean_timings(good),
            cost=observed_cost(deployment, samples, duration_s, hourly),
            error_messages=error_messages(samples),
        )

    @property
    def load(self) -> str:
        """The step's load as the table shows it: ``c=4`` or ``50/s``."""
        return f"c={self.concurrency}" if self.mode == "closed" else f"{self.offered_rps:g}/s"

    def row(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("errors", "error_messages", "platform_timings", "cost"):
            data.pop(key)
        data["errors"] = ";".join(f"{k}={v}" for k, v in self.errors.items())
        data["cost_per_1k_usd"] = self.cost.per_1k_requests
        data["cost_per_million_tokens_usd"] = self.cost.per_million_tokens
        data["cost_basis"] = self.cost.basis
        data["cost_source"] = self.cost.source
        data["cost_as_of"] = self.cost.as_of
        data["cost_note"] = self.cost.note
        for key, value in self.platform_timings.items():
            data[f"platform_{key}_s"] = value
        return data


@dataclass
class Recommendation:
    """The concurrency that maximises throughput within the latency target, and replicas."""

    concurrency: int | None
    throughput_rps: float | None
    latency_p95_s: float | None
    p95_target_s: float | None
    target_rps: float | None
    replicas: int | None
    current_replicas: int | None
    reason: str


@dataclass
class BenchResult:
    """Every step plus the recommendation, with table, JSON and CSV writers."""

    deployment: str
    provider: str
    model: str
    kind: str
    replicas: int | None
    started_at: str
    steps: list[Step]
    recommendation: Recommendation

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def write_json(self, path: str | Path) -> Path:
        target = Path(path)
        target.write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n")
        return target

    def write_csv(self, path: str | Path) -> Path:
        """One row per step."""
        rows = [step.row() for step in self.steps]
        columns: list[str] = []
        for row in rows:
            columns += [key for key in row if key not in columns]
        target = Path(path)
        with target.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        return target

    def table(self) -> str:
        """A plain-text table of the steps and the recommendation."""
        head = ("load", "ok", "err %", "req/s", "tok/s", "p50", "p95", "p99", "$/1k")
        lines = [head]
        for s in self.steps:
            lines.append(
                (
                    s.load,
                    f"{s.successes}/{s.requests}",
                    f"{s.error_rate * 100:.1f}",
                    f"{s.throughput_rps:.1f}",
                    "-" if s.tokens_per_s is None else f"{s.tokens_per_s:.1f}",
                    _ms(s.latency_p50_s),
                    _ms(s.latency_p95_s),
                    _ms(s.latency_p99_s),
                    _money(s.cost.per_1k_requests),
                )
            )
        widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
        text = "\n".join(
            "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip()
            for line in lines
        )
        footer = error_footer({s.load: s.error_messages for s in self.steps if s.error_messages})
        return "\n".join([text, *footer, self.recommendation.reason])


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}ms"


def _money(value: float | None) -> str:
    if value is None:
        return "unknown"
    return f"${value:.2f}" if value == 0 or value >= 0.01 else f"${value:.6f}"


# -- arguments -------------------------------------------------------------------------
def parse_rate(value: object, *, field_name: str = "rate") -> float:
    """Requests per second from ``50``, ``"50/s"`` or ``"600/m"``."""
    if isinstance(value, bool):
        raise ConfigError(f"{field_name}: expected a rate such as 50 or '50/s', got {value!r}")
    if isinstance(value, int | float):
        rate = float(value)
    elif isinstance(value, str) and (match := _RATE_RE.match(value)):
        unit = match.group(2) or "s"
        rate = float(match.group(1)) / (60.0 if unit.startswith("m") else 1.0)
    else:
        raise ConfigError(
            f"{field_name}: expected a rate such as 50, '50/s' or '600/m', got {value!r}"
        )
    if not rate > 0 or math.isinf(rate):
        raise ConfigError(f"{field_name}: must be above 0 requests per second, got {value!r}")
    return rate


def _levels(concurrency: int | Sequence[int]) -> list[int]:
    levels = [concurrency] if isinstance(concurrency, int) else list(concurrency)
    if not levels or any(isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in levels):
        raise ConfigError(
            f"concurrency: expected whole numbers >= 1 such as (1, 4, 16, 64), got {concurrency!r}"
        )
    return levels


def _budget(
    requests: int | None, duration: float | str | None, level: int
) -> tuple[int | None, float | None]:
    if requests is not None and duration is not None:
        raise ConfigError("bench: give requests (per step) or duration (per step), not both")
    if duration is not None:
        seconds = parse_duration(duration, field_name="duration")
        if seconds <= 0:
            raise ConfigError(f"duration: must be above zero, got {duration!r}")
        return None, seconds
    if requests is None:
        return max(20, 8 * level), None
    if isinstance(requests, bool) or not isinstance(requests, int) or requests < 1:
        raise ConfigError(f"requests: expected a whole number >= 1 per step, got {requests!r}")
    return requests, None


# -- the loops -------------------------------------------------------------------------
async def _closed_step(
    caller: Caller, requests: Sequence[Any], level: int, count: int | None, seconds: float | None
) -> tuple[list[Sample], float]:
    samples: list[Sample] = []
    order = itertools.cycle(range(len(requests)))
    issued = 0
    begin = time.perf_counter()
    deadline = begin + seconds if seconds is not None else math.inf

    async def worker() -> None:
        nonlocal issued
        while time.perf_counter() < deadline and (count is None or issued < count):
            issued += 1
            index = next(order)
            samples.append(await caller.call(requests[index], index))

    await asyncio.gather(*(worker() for _ in range(level)))
    return samples, time.perf_counter() - begin


async def _open_step(
    caller: Caller, requests: Sequence[Any], rate: float, count: int | None, seconds: float | None
) -> tuple[list[Sample], float]:
    total = count if count is not None else max(1, math.floor(rate * (seconds or 0)))
    in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
    begin = time.perf_counter()
    tasks = []

    async def one(i: int, scheduled: float) -> Sample:
        async with in_flight:
            index = i % len(requests)
            return await caller.call(requests[index], index, started=scheduled)

    for i in range(total):
        scheduled = begin + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, scheduled)))
    samples = list(await asyncio.gather(*tasks))
    return samples, time.perf_counter() - begin


def recommend(
    steps: Sequence[Step],
    *,
    p95_target_s: float | None,
    target_rps: float | None,
    replicas: int | None,
    dedicated: bool,
    max_error_rate: float,
) -> Recommendation:
    """Highest-throughput closed-loop step within the p95 target and the error budget."""
    closed = [s for s in steps if s.mode == "closed" and s.successes]
    fitting = [
        s
        for s in closed
        if s.error_rate <= max_error_rate
        and (p95_target_s is None or (s.latency_p95_s or 0) <= p95_target_s)
    ]

    def answer(best: Step | None, needed: int | None, reason: str) -> Recommendation:
        return Recommendation(
            concurrency=best.concurrency if best else None,
            throughput_rps=best.throughput_rps if best else None,
            latency_p95_s=best.latency_p95_s if best else None,
            p95_target_s=p95_target_s,
            target_rps=target_rps,
            replicas=needed,
            current_replicas=replicas,
            reason=reason,
        )

    if not fitting:
        if not closed:
            why = "no closed-loop step succeeded; nothing to recommend"
        elif p95_target_s is not None:
            best_p95 = min(s.latency_p95_s or math.inf for s in closed)
            why = (
                f"no concurrency met p95 <= {p95_target_s * 1000:.0f}ms with at most"
                f" {max_error_rate:.0%} errors (best p95: {best_p95 * 1000:.0f}ms);"
                " try fewer concurrent requests, a faster instance or more replicas"
            )
        else:
            why = f"every step had more than {max_error_rate:.0%} errors"
        return answer(None, None, why)
    best = max(fitting, key=lambda s: s.throughput_rps)
    target = "" if p95_target_s is None else f" within p95 <= {p95_target_s * 1000:.0f}ms"
    why = (
        f"concurrency {best.concurrency} gives the most throughput{target}:"
        f" {best.throughput_rps:.1f} req/s at p95 {_ms(best.latency_p95_s)}"
    )
    needed: int | None = None
    if target_rps is not None:
        if not dedicated:
            why += f"; replicas do not apply on a serverless platform (target {target_rps:g} req/s)"
        else:
            per_replica = best.throughput_rps / (replicas or 1)
            needed = max(1, math.ceil(target_rps / per_replica))
            why += (
                f"; {target_rps:g} req/s needs {needed} replica(s) at {per_replica:.1f} req/s each"
                f" (measured on {replicas or 1}; assumes throughput scales with replicas)"
            )
    return answer(best, needed, why)


def _pool_needed(steps_plan: Sequence[tuple[str, float]]) -> int:
    """Connections the run can have in flight at once: the top concurrency (open: the cap)."""
    return max(int(level) if mode == "closed" else MAX_IN_FLIGHT for mode, level in steps_plan)


async def abench(
    target: _api.Target,
    request: Any = None,
    *,
    prompts: Sequence[Any] | str | Path | None = None,
    concurrency: int | Sequence[int] = DEFAULT_CONCURRENCY,
    requests_per_step: int | None = None,
    duration: float | str | None = None,
    rate: float | str | Sequence[float | str] | None = None,
    p95_target: float | str | None = None,
    target_rps: float | str | None = None,
    max_error_rate: float = 0.01,
    stream: bool = False,
    params: dict[str, Any] | None = None,
    warmup: int = 1,
    config: _api.ConfigArg = None,
    progress: Progress | None = None,
) -> BenchResult:
    """Async :func:`bench`."""
    if (request is None) == (prompts is None):
        raise ConfigError("bench: give one request, or prompts (a list or a JSON Lines file)")
    if prompts is None:
        pool = [request]
    else:
        pool = load_prompts(prompts) if isinstance(prompts, str | Path) else list(prompts)
        if not pool:
            raise ConfigError("prompts: give at least one request")
    if rate is None:
        steps_plan: list[tuple[str, float]] = [("closed", float(c)) for c in _levels(concurrency)]
    else:
        rates = rate if isinstance(rate, list | tuple) else [rate]
        steps_plan = [("open", parse_rate(r)) for r in rates]
    target_s = None if p95_target is None else parse_duration(p95_target, field_name="p95_target")
    wanted_rps = None if target_rps is None else parse_rate(target_rps, field_name="target_rps")
    if not 0 <= max_error_rate <= 1:
        raise ConfigError(f"max_error_rate: expected 0 to 1, got {max_error_rate!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ConfigError(f"warmup: expected a whole number >= 0, got {warmup!r}")
    for _, level in steps_plan:  # validate every step's budget before sending anything
        _budget(requests_per_step, duration, int(level))

    # a pool smaller than the requests in flight makes them queue for a connection
    with connection_pool(_pool_needed(steps_plan)):
        deployment = await asyncio.to_thread(resolve_target, target, config)
        dedicated = is_dedicated(deployment)
        hourly = hourly_price(deployment) if dedicated else None
        caller = Caller(deployment, params, stream)
        started_at = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        for i in range(warmup):  # open connections and load the model before measuring
            await caller.call(pool[i % len(pool)])
        steps: list[Step] = []
        for mode, level in steps_plan:
            count, seconds = _budget(requests_per_step, duration, int(level))
            if mode == "closed":
                if progress:
                    progress(f"bench {deployment.name}: concurrency {int(level)}")
                samples, took = await _closed_step(caller, pool, int(level), count, seconds)
                step = Step.build("closed", int(level), None, deployment, samples, took, hourly)
            else:
                if progress:
                    progress(f"bench {deployment.name}: {level:g} requests/s")
                samples, took = await _open_step(caller, pool, level, count, seconds)
                step = Step.build("open", None, level, deployment, samples, took, hourly)
            steps.append(step)
    recommendation = recommend(
        steps,
        p95_target_s=target_s,
        target_rps=wanted_rps,
        replicas=deployment.replicas,
        dedicated=dedicated,
        max_error_rate=max_error_rate,
    )
    if rate is not None:
        recommendation.reason = (
            "open-loop run (fixed arrival rate): no concurrency to recommend; read latency"
            " against the offered rate"
        )
    return BenchResult(
        deployment=deployment.name,
        provider=deployment.provider,
        model=deployment.model,
        kind="dedicated" if dedicated else "serverless",
        replicas=deployment.replicas,
        started_at=started_at,
        steps=steps,
        recommendation=recommendation,
    )


def bench(
    target: _api.Target,
    request: Any = None,
    *,
    prompts: Sequence[Any] | str | Path | None = None,
    concurrency: int | Sequence[int] = DEFAULT_CONCURRENCY,
    requests_per_step: int | None = None,
    duration: float | str | None = None,
    rate: float | str | Sequence[float | str] | None = None,
    p95_target: float | str | None = None,
    target_rps: float | str | None = None,
    max_error_rate: float = 0.01,
    stream: bool = False,
    params: dict[str, Any] | None = None,
    warmup: int = 1,
    config: _api.ConfigArg = None,
    progress: Progress | None = None,
) -> BenchResult:
    """Load-test ``target`` step by step and recommend a configuration.

    ``request``: the one request sent every time, or ``prompts``: a list (or a JSON
    Lines file) of requests sent in turn. Closed loop steps through
    ``concurrency``; ``rate`` (``50`` or ``"50/s"``, or a list) switches to open loop.
    Each step runs ``requests_per_step`` requests (default ``max(20, 8 x concurrency)``)
    or for ``duration`` (``"30s"``). The recommendation is the concurrency with the
    most throughput whose p95 is within ``p95_target`` and whose error rate is within
    ``max_error_rate``; with ``target_rps`` on a dedicated deployment, also the replica
    count that rate needs.
    """
    return run_sync(
        abench(
            target,
            request,
            prompts=prompts,
            concurrency=concurrency,
            requests_per_step=requests_per_step,
            duration=duration,
            rate=rate,
            p95_target=p95_target,
            target_rps=target_rps,
            max_error_rate=max_error_rate,
            stream=stream,
            params=params,
            warmup=warmup,
            config=config,
            progress=progress,
        )
    )
