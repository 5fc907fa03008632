"""Run one prompt set against several deployments and compare latency, speed and cost.

>>> from hostkit.compare import compare, plot
>>> result = compare(["scores", "groq:llama-3.1-8b-instant"], ["Hi", "Write a haiku"])
>>> print(result.table())
>>> result.write_json("compare.json"); result.write_csv("compare.csv"); plot(result, "out.png")

Every deployment gets every prompt (``repeat`` times); requests run concurrently,
at most ``concurrency`` at a time per provider. Latency is measured here, around
the call (what your code waits), so every platform is timed the same way. Cost is
observed, never assumed: per-token platforms add up ``InvokeResult.cost_usd``;
dedicated ones divide the hourly price (``provider.cost(dep, hours=1)``) by the
throughput measured in the run. Not imported by ``import hostkit``.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as _dt
import json
import math
import time
import warnings
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from hostkit import _api
from hostkit._http import connection_pool
from hostkit._models import CostEstimate, Deployment, DeploymentSpec, InvokeResult
from hostkit._pricing import age_days, as_of_text, is_old
from hostkit.errors import ConfigError, DependencyMissing, HostkitError, Unsupported

__all__ = [
    "CompareResult",
    "DeploymentReport",
    "ObservedCost",
    "Sample",
    "acompare",
    "compare",
    "load_prompts",
    "percentile",
    "plot",
    "run_sync",
]

Progress = Callable[[int, int], None]
T = TypeVar("T")


# -- one measured request ------------------------------------------------------------
@dataclass
class Sample:
    """One request as measured: wall-clock latency, tokens, cost, or the error."""

    ok: bool
    latency_s: float
    prompt_index: int = 0
    ttft_s: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    output: Any = None
    error_type: str | None = None
    error: str | None = None

    @classmethod
    def from_result(cls, result: InvokeResult, latency_s: float, index: int) -> Sample:
        return cls(
            ok=True,
            latency_s=latency_s,
            prompt_index=index,
            ttft_s=result.ttft_s,
            input_tokens=result.usage.input_tokens,
            output_tokens=result.usage.output_tokens,
            cost_usd=result.cost_usd,
            timings=dict(result.timings),
            output=result.text if result.text is not None else result.output,
        )


def _consume(deployment: Deployment, request: Any, params: Mapping[str, Any]) -> InvokeResult:
    with _api.stream(deployment, request, **params) as chunks:
        for _ in chunks:
            pass
        assert chunks.result is not None
        return chunks.result


class Caller:
    """Sends requests to one deployment and measures them (shared by compare and bench).

    With ``stream=True`` it streams (to measure time to first token) and falls back
    to ``ainvoke`` for good when the deployment cannot stream.
    """

    def __init__(
        self, deployment: Deployment, params: Mapping[str, Any] | None = None, stream: bool = False
    ) -> None:
        self.deployment = deployment
        self.params = dict(params or {})
        self.stream = stream

    async def call(self, request: Any, index: int = 0, started: float | None = None) -> Sample:
        """Send ``request``; latency counts from ``started`` (default: now)."""
        start = time.perf_counter() if started is None else started
        try:
            if self.stream:
                try:
                    result = await asyncio.to_thread(
                        _consume, self.deployment, request, self.params
                    )
                except Unsupported:
                    self.stream = False
                    start = time.perf_counter() if started is None else started
                    result = await _api.ainvoke(self.deployment, request, **self.params)
            else:
                result = await _api.ainvoke(self.deployment, request, **self.params)
        except HostkitError as error:
            return Sample(
                ok=False,
                latency_s=time.perf_counter() - start,
                prompt_index=index,
                error_type=type(error).__name__,
                error=str(error),
            )
        return Sample.from_result(result, time.perf_counter() - start, index)


# -- statistics ------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) with linear interpolation; None when empty."""
    if not 0 <= q <= 100:
        raise ConfigError(f"percentile: q must be between 0 and 100, got {q}")
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def error_counts(samples: Sequence[Sample]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for sample in samples:
        if not sample.ok:
            key = sample.error_type or "Error"
            counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def error_messages(samples: Sequence[Sample], limit: int = 5) -> dict[str, int]:
    """The distinct error messages (``Type: message``) with their counts, most frequent first."""
    counts: dict[str, int] = {}
    for sample in samples:
        if not sample.ok:
            text = f"{sample.error_type or 'Error'}: {sample.error or 'no message'}"
            text = text if len(text) <= 300 else text[:299] + "…"
            counts[text] = counts.get(text, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return dict(ranked[:limit])


def error_footer(messages: Mapping[str, Mapping[str, int] | Sequence[str]]) -> list[str]:
    """Lines under a table saying why requests failed: ``label: N x Type: message``
    (without the count when only the distinct messages are known)."""
    lines = []
    for label, found in messages.items():
        if isinstance(found, Mapping):
            lines += [f"  {label}: {count} x {text}" for text, count in found.items()]
        else:
            lines += [f"  {label}: {text}" for text in found]
    return ["errors:", *lines] if lines else []


def _sum(values: Sequence[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def mean_timings(samples: Sequence[Sample]) -> dict[str, float]:
    """The mean of each platform timing (queue, compute...) over the samples that report it."""
    totals: dict[str, list[float]] = {}
    for sample in samples:
        for key, value in sample.timings.items():
            totals.setdefault(key, []).append(value)
    return {key: sum(vals) / len(vals) for key, vals in sorted(totals.items())}


# -- cost ------------------------------------------------------------------------------
@dataclass
class ObservedCost:
    """Cost per 1,000 requests and per million tokens as observed in a run.

    ``note`` says why a figure is None (no price known, nothing succeeded).
    """

    per_1k_requests: float | None
    per_million_tokens: float | None
    basis: str
    source: str | None = None
    as_of: str | None = None
    note: str | None = None


def hourly_price(deployment: Deployment) -> CostEstimate:
    """What one hour of a dedicated deployment costs (None plus one warning if unknown)."""
    return _api.cost(deployment, hours=1)


def is_dedicated(deployment: Deployment) -> bool:
    provider = deployment._provider or _api.provider_for(deployment.provider)
    return provider.capabilities_for(deployment).dedicated


def observed_cost(
    deployment: Deployment,
    samples: Sequence[Sample],
    duration_s: float,
    hourly: CostEstimate | None,
) -> ObservedCost:
    """Dedicated: hourly price ÷ measured throughput. Serverless: the calls' own cost_usd."""
    good = [s for s in samples if s.ok]
    tokens = sum((s.input_tokens or 0) + (s.output_tokens or 0) for s in good)
    if hourly is not None:
        basis = "hourly price / measured throughput"
        if hourly.usd is None:
            why = "; ".join(hourly.warnings) or "no hourly price known"
            return ObservedCost(None, None, basis, hourly.source, hourly.as_of, why)
        if not good or duration_s <= 0:
            why = "no successful request: no throughput to divide the hourly price by"
            return ObservedCost(None, None, basis, hourly.source, hourly.as_of, why)
        usd_per_s = hourly.usd / 3600
        per_request = usd_per_s * duration_s / len(good)
        per_token = usd_per_s * duration_s / tokens if tokens else None
        return ObservedCost(
            per_request * 1000,
            per_token * 1e6 if per_token is not None else None,
            basis,
            hourly.source,
            hourly.as_of,
        )
    basis = "sum of InvokeResult.cost_usd (per-use billing)"
    costs = [s.cost_usd for s in good]
    if not good:
        return ObservedCost(None, None, basis, note="no successful request to price")
    unpriced = sum(1 for c in costs if c is None)
    if unpriced:  # the adapter already warned once (PriceUnknown)
        why = (
            f"{unpriced} of {len(good)} results came without a price: the"
            f" {deployment.provider} adapter knows no price for {deployment.model}"
            " (set one under [prices] in the config)"
        )
        return ObservedCost(None, None, basis, note=why)
    total = sum(c for c in costs if c is not None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimate = _api.cost(
            deployment,
            input_tokens=_sum([s.input_tokens for s in good]) or 0,
            output_tokens=_sum([s.output_tokens for s in good]) or 0,
        )
    source = estimate.source or f"cost_usd reported by the {deployment.provider} adapter"
    as_of = estimate.as_of or _dt.date.today().isoformat()
    return ObservedCost(
        total / len(good) * 1000, total / tokens * 1e6 if tokens else None, basis, source, as_of
    )


# -- the report ------------------------------------------------------------------------
@dataclass
class DeploymentReport:
    """What one deployment did with the prompt set."""

    label: str
    provider: str
    model: str
    kind: str
    requests: int
    successes: int
    errors: dict[str, int]
    duration_s: float
    throughput_rps: float
    latency_p50_s: float | None
    latency_p95_s: float | None
    latency_p99_s: float | None
    latency_mean_s: float | None
    ttft_p50_s: float | None
    ttft_p95_s: float | None
    output_tokens_per_s: float | None
    input_tokens: int | None
    output_tokens: int | None
    platform_timings: dict[str, float]
    cost: ObservedCost
    outputs: list[Any]
    error_messages: list[str]

    @classmethod
    def build(
        cls,
        label: str,
        deployment: Deployment,
        samples: Sequence[Sample],
        duration_s: float,
        prompts: int,
        hourly: CostEstimate | None,
    ) -> DeploymentReport:
        good = [s for s in samples if s.ok]
        latencies = [s.latency_s for s in good]
        ttfts = [s.ttft_s for s in good if s.ttft_s is not None]
        out_tokens = _sum([s.output_tokens for s in good])
        generation = sum(s.latency_s for s in good if s.output_tokens is not None)
        outputs: list[Any] = [None] * prompts
        for sample in sorted(samples, key=lambda s: s.prompt_index):
            if outputs[sample.prompt_index] is None:
                outputs[sample.prompt_index] = (
                    sample.output if sample.ok else f"<{sample.error_type}>"
                )
        messages = sorted({s.error for s in samples if s.error})
        return cls(
            label=label,
            provider=deployment.provider,
            model=deployment.model,
            kind="dedicated" if hourly is not None else "serverless",
            requests=len(samples),
            successes=len(good),
            errors=error_counts(samples),
            duration_s=duration_s,
            throughput_rps=len(good) / duration_s if duration_s > 0 else 0.0,
            latency_p50_s=percentile(latencies, 50),
            latency_p95_s=percentile(latencies, 95),
            latency_p99_s=percentile(latencies, 99),
            latency_mean_s=sum(latencies) / len(latencies) if latencies else None,
            ttft_p50_s=percentile(ttfts, 50),
            ttft_p95_s=percentile(ttfts, 95),
            output_tokens_per_s=out_tokens / generation if out_tokens and generation else None,
            input_tokens=_sum([s.input_tokens for s in good]),
            output_tokens=out_tokens,
            platform_timings=mean_timings(good),
            cost=observed_cost(deployment, samples, duration_s, hourly),
            outputs=outputs,
            error_messages=messages[:5],
        )

    def row(self) -> dict[str, Any]:
        """One flat CSV row."""
        data = asdict(self)
        for key in ("outputs", "error_messages", "errors", "platform_timings", "cost"):
            data.pop(key)
        data["errors"] = ";".join(f"{k}={v}" for k, v in self.errors.items())
        data["cost_per_1k_requests_usd"] = self.cost.per_1k_requests
        data["cost_per_million_tokens_usd"] = self.cost.per_million_tokens
        data["cost_basis"] = self.cost.basis
        data["cost_source"] = self.cost.source
        data["cost_as_of"] = self.cost.as_of
        data["cost_age_days"] = age_days(self.cost.as_of) if self.cost.source else None
        data["cost_stale"] = is_old(self.cost.as_of) if self.cost.source else None
        data["cost_note"] = self.cost.note
        for key, value in self.platform_timings.items():
            data[f"platform_{key}_s"] = value
        return data


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}ms"


def _money(value: float | None) -> str:
    if value is None:
        return "unknown"
    return f"${value:.2f}" if value == 0 or value >= 0.01 else f"${value:.6f}"


@dataclass
class CompareResult:
    """Every deployment's report plus the prompts, with table, JSON and CSV writers."""

    prompts: list[Any]
    reports: list[DeploymentReport]
    concurrency: int
    repeat: int
    streamed: bool
    started_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def side_by_side(self) -> list[dict[str, Any]]:
        """One row per prompt: the prompt, then each deployment's first output."""
        return [
            {"prompt": prompt, **{r.label: r.outputs[i] for r in self.reports}}
            for i, prompt in enumerate(self.prompts)
        ]

    def write_json(self, path: str | Path) -> Path:
        """The whole result (reports, outputs, cost sources) as one JSON document."""
        target = Path(path)
        target.write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n")
        return target

    def write_csv(self, path: str | Path) -> Path:
        """One row per deployment (timings and cost flattened into columns)."""
        rows = [r.row() for r in self.reports]
        columns: list[str] = []
        for row in rows:
            columns += [key for key in row if key not in columns]
        target = Path(path)
        with target.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        return target

    def write_outputs_csv(self, path: str | Path) -> Path:
        """The outputs side by side: one row per prompt, one column per deployment."""
        target = Path(path)
        with target.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["prompt", *(r.label for r in self.reports)])
            for row in self.side_by_side():
                writer.writerow([_cell(value) for value in row.values()])
        return target

    def table(self) -> str:
        """A plain-text table for a terminal."""
        head = ("deployment", "ok", "errors", "p50", "p95", "p99", "ttft p50", "tok/s", "$/1k req")
        lines = [head]
        for r in self.reports:
            errors = ",".join(f"{k}:{v}" for k, v in r.errors.items()) or "-"
            speed = "-" if r.output_tokens_per_s is None else f"{r.output_tokens_per_s:.1f}"
            lines.append(
                (
                    r.label,
                    f"{r.successes}/{r.requests}",
                    errors,
                    _ms(r.latency_p50_s),
                    _ms(r.latency_p95_s),
                    _ms(r.latency_p99_s),
                    _ms(r.ttft_p50_s),
                    speed,
                    _money(r.cost.per_1k_requests),
                )
            )
        widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
        footer = error_footer({r.label: r.error_messages for r in self.reports if r.errors})
        footer += price_footer(self.reports)
        return "\n".join(
            [
                "  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(line)).rstrip()
                for line in lines
            ]
            + footer
        )


def price_footer(reports: Sequence[DeploymentReport]) -> list[str]:
    """One line per priced report: where its price comes from and how old it is."""
    return [
        f"price  {r.label}: {r.cost.source}; {as_of_text(r.cost.as_of)}"
        for r in reports
        if r.cost.source
    ]


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


# -- inputs ----------------------------------------------------------------------------
def load_prompts(path: str | Path) -> list[Any]:
    """Requests from a JSON Lines file: one JSON request (text, messages, a payload) a line."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"prompts: cannot read {file}: {error.strerror or error}") from None
    prompts: list[Any] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            prompts.append(json.loads(line))
        except ValueError as error:
            raise ConfigError(
                f"prompts: {file} line {number} is not JSON ({error}); write one JSON request"
                ' a line, e.g. "Hello" or {"hours": 6}'
            ) from None
    if not prompts:
        raise ConfigError(f"prompts: {file} holds no requests")
    return prompts


def _label_of(target: _api.Target) -> str:
    if isinstance(target, Deployment | DeploymentSpec):
        return target.name
    if isinstance(target, str):
        return target
    if isinstance(target, Mapping):
        return str(target.get("name") or DeploymentSpec.from_dict(target).name)
    raise ConfigError(
        "targets: expected deployments, specs, mappings, config names or 'provider:model';"
        f" got {type(target).__name__}"
    )


def resolve_target(target: _api.Target, config: _api.ConfigArg = None) -> Deployment:
    """A live deployment for a Deployment, spec, mapping, config name or ``provider:model``."""
    if isinstance(target, str) and ":" in target:
        provider, _, model = target.partition(":")
        if not provider or not model:
            raise ConfigError(f"targets: {target!r} is not 'provider:model'")
        return _api.resolve_deployment(DeploymentSpec(provider=provider, model=model), config)
    return _api.resolve_deployment(target, config)


def _targets(
    targets: Sequence[_api.Target] | Mapping[str, _api.Target],
) -> list[tuple[str, _api.Target]]:
    if isinstance(targets, str | Deployment | DeploymentSpec):
        raise ConfigError("targets: expected a list of targets (or a mapping label -> target)")
    pairs = (
        [(str(k), v) for k, v in targets.items()]
        if isinstance(targets, Mapping)
        else [(_label_of(t), t) for t in targets]
    )
    if not pairs:
        raise ConfigError("targets: give at least one deployment")
    labels = [label for label, _ in pairs]
    duplicated = sorted({label for label in labels if labels.count(label) > 1})
    if duplicated:
        raise ConfigError(
            f"targets: {', '.join(duplicated)} appear(s) twice; pass a mapping label -> target"
        )
    return pairs


def _check_positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name}: expected a whole number >= 1, got {value!r}")
    return value


# -- running ---------------------------------------------------------------------------
_loop: asyncio.AbstractEventLoop | None = None


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on one event loop kept for the whole process.

    Providers pool their async HTTP clients, and a client belongs to the loop that
    made it: a fresh ``asyncio.run`` per call would leave the second call with a
    client bound to a closed loop. Inside a running loop, await the ``a*`` twin.
    """
    global _loop
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        coro.close()
        raise ConfigError(
            "compare/bench: called inside a running event loop; await acompare/abench instead"
        )
    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
    task = _loop.create_task(coro)
    try:
        return _loop.run_until_complete(task)
    except BaseException:  # Ctrl-C: stop what is in flight before handing back
        task.cancel()
        with contextlib.suppress(BaseException):
            _loop.run_until_complete(task)
        raise


async def acompare(
    targets: Sequence[_api.Target] | Mapping[str, _api.Target],
    prompts: Sequence[Any] | str | Path,
    *,
    concurrency: int = 4,
    repeat: int = 1,
    stream: bool = False,
    params: Mapping[str, Any] | None = None,
    params_by_target: Mapping[str, Mapping[str, Any]] | None = None,
    config: _api.ConfigArg = None,
    progress: Progress | None = None,
) -> CompareResult:
    """Async :func:`compare` (for code that already runs an event loop)."""
    concurrency = _check_positive("concurrency", concurrency)
    repeat = _check_positive("repeat", repeat)
    pairs = _targets(targets)
    if isinstance(prompts, str | Path):
        prompt_list = load_prompts(prompts)
    else:
        prompt_list = list(prompts)
        if not prompt_list:
            raise ConfigError("prompts: give at least one request")
    unknown = sorted(set(params_by_target or {}) - {label for label, _ in pairs})
    if unknown:
        raise ConfigError(f"params_by_target: no target labelled {', '.join(unknown)}")
    started_at = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    deployments = [
        (label, await asyncio.to_thread(resolve_target, target, config)) for label, target in pairs
    ]
    limits: dict[str, asyncio.Semaphore] = {}
    total = len(deployments) * len(prompt_list) * repeat
    done = 0

    async def run_one(label: str, deployment: Deployment) -> DeploymentReport:
        nonlocal done
        hourly = hourly_price(deployment) if is_dedicated(deployment) else None
        caller = Caller(
            deployment, {**(params or {}), **(params_by_target or {}).get(label, {})}, stream
        )
        limit = limits.setdefault(deployment.provider, asyncio.Semaphore(concurrency))

        async def one(index: int) -> Sample:
            nonlocal done
            async with limit:
                sample = await caller.call(prompt_list[index], index)
            done += 1
            if progress is not None:
                progress(done, total)
            return sample

        begin = time.perf_counter()
        jobs = [one(i) for _ in range(repeat) for i in range(len(prompt_list))]
        samples = list(await asyncio.gather(*jobs))
        duration = time.perf_counter() - begin
        return DeploymentReport.build(
            label, deployment, samples, duration, len(prompt_list), hourly
        )

    # each provider has up to ``concurrency`` requests in flight: give its clients that many
    # connections, or the requests queue for one (httpx keeps only 20 alive by default)
    with connection_pool(concurrency):
        reports = await asyncio.gather(*(run_one(label, dep) for label, dep in deployments))
    return CompareResult(
        prompts=prompt_list,
        reports=list(reports),
        concurrency=concurrency,
        repeat=repeat,
        streamed=stream,
        started_at=started_at,
    )


def compare(
    targets: Sequence[_api.Target] | Mapping[str, _api.Target],
    prompts: Sequence[Any] | str | Path,
    *,
    concurrency: int = 4,
    repeat: int = 1,
    stream: bool = False,
    params: Mapping[str, Any] | None = None,
    params_by_target: Mapping[str, Mapping[str, Any]] | None = None,
    config: _api.ConfigArg = None,
    progress: Progress | None = None,
) -> CompareResult:
    """Send every prompt to every target and report latency, speed, errors and cost.

    ``targets``: deployments, specs, config names or ``"provider:model"`` strings
    (or a mapping label -> target). ``prompts``: a list of requests or a JSON Lines
    file. At most ``concurrency`` requests run at once per provider; ``stream=True``
    streams where possible to measure time to first token. ``params`` go to every
    call, ``params_by_target[label]`` to one target's calls.
    """
    return run_sync(
        acompare(
            targets,
            prompts,
            concurrency=concurrency,
            repeat=repeat,
            stream=stream,
            params=params,
            params_by_target=params_by_target,
            config=config,
            progress=progress,
        )
    )


# -- the picture -----------------------------------------------------------------------
def plot(result: CompareResult, path: str | Path) -> Path:
    """Latency (p50, bar to p95) against observed cost per 1,000 requests, one point each.

    Deployments whose cost is unknown are listed under the chart instead of plotted.
    Needs matplotlib: ``pip install "hostkit-ml[plot]"``.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise DependencyMissing('plot needs matplotlib: pip install "hostkit-ml[plot]"') from None
    figure = Figure(figsize=(7, 4.5))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    unplotted, costs = [], []
    for report in result.reports:
        cost = report.cost.per_1k_requests
        if cost is None or report.latency_p50_s is None:
            unplotted.append(report.label)
            continue
        costs.append(cost)
        p50 = report.latency_p50_s * 1000
        p95 = (report.latency_p95_s or report.latency_p50_s) * 1000
        axes.errorbar([cost], [p50], yerr=[[0.0], [p95 - p50]], fmt="o", capsize=4)
        axes.annotate(report.label, (cost, p50), textcoords="offset points", xytext=(6, 6))
    if costs:  # costs are never negative: start at $0 (and give all-$0 points some room)
        highest = max(costs)
        axes.set_xlim(0.0, highest * 1.15 if highest > 0 else 1.0)
    axes.set_xlabel("observed cost per 1,000 requests (USD)")
    axes.set_ylabel("latency p50, bar to p95 (ms)")
    axes.set_title("hostkit compare: latency against cost")
    axes.grid(True, alpha=0.3)
    if unplotted:
        figure.text(0.01, 0.01, "cost unknown: " + ", ".join(unplotted), fontsize=8)
    target = Path(path)
    figure.savefig(target, dpi=120, bbox_inches="tight")
    return target
