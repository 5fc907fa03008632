"""Measure candidate hardware and platforms for one model; recommend the cheapest that meets
the target (a cross-platform inference recommender).

>>> from hostkit.recommend import recommend
>>> report = recommend(candidates=["scores", "scores-big"], inputs="requests.jsonl",
...                    p95_target="250ms", target_rps=50)
>>> print(report.table()); print(report.sentence)

Three phases (see docs/recommend.md):

1. **Plan**: candidates from ``candidates`` (config deployment names, specs, or
   ``provider:instance``), else sizing x catalog (the model's memory need against every
   priced offering of the providers you can use, the cheapest few per provider that
   fit, plus the serverless platforms that serve the model). The plan carries the
   estimated spend of the test itself; above ``max_spend`` nothing starts
   (:class:`~hostkit.errors.ConfigError` saying so). ``dry_run`` stops after the plan.
2. **Measure**, one candidate after another, with :mod:`hostkit.bench`: a closed-loop
   ramp (the concurrency per replica with the most throughput within the p95 target),
   then an open-loop step at the target rate where the candidate can take it. A run
   journal (``<state dir>/recommend/<run_id>.json``, atomic writes, mode 0600) records
   each deployment before it is created; each is torn down when measured, on Ctrl-C and
   on an error; :func:`cleanup` tears down what a killed run left. ``parallel=N``
   overlaps candidates: up to N are deployed at once (in threads), and each is measured
   alone, in plan order, on the process's one event loop (bench's loop is process-wide).
3. **Report**: ranked candidates, the recommendation in one sentence, the winner as a
   ``[deployments.NAME]`` block. Not imported by ``import hostkit``.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import fcntl
import itertools
import json
import math
import os
import secrets
import sys
import threading
import time
import types
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hostkit import _api
from hostkit._config import Config, load_config
from hostkit._models import CostEstimate, Deployment, DeploymentSpec, parse_duration
from hostkit._state import atomic_write_text, default_state_dir
from hostkit.bench import DEFAULT_CONCURRENCY, BenchResult, Step, bench, parse_rate
from hostkit.compare import load_prompts
from hostkit.errors import ConfigError, HostkitError, NotFound

__all__ = [
    "Candidate",
    "CandidateResult",
    "CleanupResult",
    "Plan",
    "Report",
    "cleanup",
    "leftover_runs",
    "plan",
    "recommend",
]

Progress = Callable[[str], None]
#: the default spend guard: a test that would cost more does not start
DEFAULT_MAX_SPEND = 5.0
#: fewer successful requests than this in the chosen step: figures marked "few samples"
MIN_SAMPLES = 20
HOURS_PER_MONTH = 730.0
#: hostkit's assumptions for the spend estimate (docs/recommend.md): seconds from create
#: to ready, and the billing increment in seconds (3600 where unknown: the safe side)
DEPLOY_SECONDS = {
    "local": 10,
    "sagemaker": 600,
    "vertex": 1200,
    "azureml": 900,
    "huggingface": 600,
    "replicate": 300,
    "lambdalabs": 600,
    "paperspace": 600,
}
BILLING_INCREMENT_S = {
    "local": 1,
    "sagemaker": 1,
    "vertex": 30,
    "azureml": 60,
    "huggingface": 60,
    "replicate": 1,
    "lambdalabs": 60,
}
DEFAULT_DEPLOY_SECONDS = 900
DEFAULT_INCREMENT_S = 3600
#: output tokens assumed per serverless request when no max_tokens param is given
ASSUMED_OUTPUT_TOKENS = 256
#: warm-up requests per candidate before the ramp (not measured)
WARMUP = 2


# -- the plan ---------------------------------------------------------------------------
@dataclass
class Candidate:
    """One configuration to measure: a spec and why it is in the plan."""

    label: str
    spec: DeploymentSpec
    kind: str  # "dedicated" or "serverless"
    why: str
    usd_per_hour: float | None = None  # as deployed (its replica count)
    usd_per_million_input: float | None = None
    usd_per_million_output: float | None = None
    price_source: str | None = None
    price_as_of: str | None = None
    price_note: str | None = None  # "stale: ...", "secondary source", "unknown"
    spare_gb: float | None = None
    gpus_needed: int | None = None  # sizing x catalog: the tensor-parallel degree
    estimated_spend_usd: float | None = None
    spend_basis: str = ""
    #: a live deployment to measure as it is (given to recommend(); never torn down)
    deployment: Deployment | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "deployment"}
        data["spec"] = self.spec.to_dict()
        return data


@dataclass
class Plan:
    """Candidates, the measurement settings and the estimated spend of the test."""

    model: str | None
    p95_target_s: float | None
    target_rps: float | None
    candidates: list[Candidate]
    concurrency: list[int]
    step_seconds: float
    serverless_requests: int
    max_spend_usd: float
    notes: list[str] = field(default_factory=list)
    #: candidates deployed at the same time (``--parallel``); measured one at a time
    parallel: int = 1

    @property
    def overlap(self) -> int:
        """How many candidates can be deployed at the same time."""
        return max(1, min(self.parallel, len(self.candidates)))

    @property
    def estimated_spend_usd(self) -> float:
        """The known part of the estimate (unknown prices count 0 and are named in notes)."""
        return sum(c.estimated_spend_usd or 0.0 for c in self.candidates)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["candidates"] = [c.to_dict() for c in self.candidates]
        data["estimated_spend_usd"] = self.estimated_spend_usd
        data["overlap"] = self.overlap
        return data

    def text(self) -> str:
        target = _target_text(self.p95_target_s, self.target_rps)
        lines = [
            f"plan: {len(self.candidates)} candidate(s) for {self.model or 'the model'} ({target})"
        ]
        for c in self.candidates:
            spend = _money(c.estimated_spend_usd)
            lines.append(f"  {c.label:<28} {c.kind:<10} {_price_text(c):<34} test {spend}")
            lines.append(f"      why: {c.why}; spend: {c.spend_basis}")
        unknown = [c.label for c in self.candidates if c.estimated_spend_usd is None]
        tail = f" (not counted, price unknown: {', '.join(unknown)})" if unknown else ""
        lines.append(
            f"estimated spend of this test: {_money(self.estimated_spend_usd)}{tail};"
            f" limit {_money(self.max_spend_usd)} (--max-spend)"
        )
        if self.overlap > 1:
            lines.append(
                f"candidates overlap: up to {self.overlap} deployed at the same time"
                f" (--parallel {self.parallel}), measured one at a time; each is billed while"
                " it waits for the others, and that time is in the estimate"
            )
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _target_text(p95: float | None, rps: float | None) -> str:
    parts = []
    if p95 is not None:
        parts.append(f"p95 <= {p95 * 1000:.0f}ms")
    if rps is not None:
        parts.append(f"{rps:g} req/s")
    return " at ".join(parts) or "no target: the cheapest per request"


def _money(value: float | None) -> str:
    if value is None:
        return "unknown"
    if value == 0 or value >= 0.1:
        return f"${value:,.2f}"
    return f"${value:.4f}" if value >= 0.01 else f"${value:.6f}"


def _price_text(c: Candidate) -> str:
    if c.usd_per_hour is not None:
        text = f"{_money(c.usd_per_hour)}/h"
    elif c.usd_per_million_input is not None:
        text = f"${c.usd_per_million_input:g}/${c.usd_per_million_output or 0:g} per M tok"
    else:
        return "price unknown"
    return text + (f" as of {c.price_as_of}" if c.price_as_of else "")


def _quiet_cost(spec: DeploymentSpec, config: Config, **usage: Any) -> CostEstimate | None:
    """The provider's own estimate for ``spec`` (None when it cannot give one)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _api.cost(spec, config=config, **usage)
    except HostkitError:
        return None


def _is_dedicated(spec: DeploymentSpec, config: Config) -> bool:
    return bool(_api.provider_for(spec.provider, config).capabilities_for_spec(spec).dedicated)


def _priced(candidate: Candidate, config: Config) -> Candidate:
    if candidate.kind != "dedicated" or candidate.usd_per_hour is not None:
        return candidate
    estimate = _quiet_cost(candidate.spec, config, hours=1)
    if estimate is not None and estimate.usd is not None:
        candidate.usd_per_hour = estimate.usd
        candidate.price_source = estimate.source
        candidate.price_as_of = estimate.as_of
    else:
        candidate.price_note = "unknown"
    return candidate


def _from_name(text: str, index: int, model: str | None, run: str, config: Config) -> Candidate:
    """A config deployment name, or ``provider:instance`` (``provider:model`` serverless)."""
    if text in config.deployments:
        spec = config.deployment(text)
        kind = "dedicated" if _is_dedicated(spec, config) else "serverless"
        return Candidate(text, spec, kind, f"[deployments.{text}] in {config.where}")
    provider, sep, rest = text.partition(":")
    if not sep or not provider or not rest:
        known = ", ".join(sorted(config.deployments)) or "none"
        raise ConfigError(
            f"candidates: {text!r} is neither a deployment in {config.where} (known: {known})"
            " nor provider:instance"
        )
    name = f"rec-{run}-{index}"
    if model is not None:
        spec = DeploymentSpec(provider=provider, model=model, instance=rest, name=name)
        if _is_dedicated(spec, config):
            return Candidate(text, spec, "dedicated", "named in --candidates")
    spec = DeploymentSpec(provider=provider, model=rest, name=name)
    return Candidate(text, spec, "serverless", "named in --candidates (served per token)")


def _from_spec(item: Any, index: int, config: Config) -> Candidate:
    if isinstance(item, Deployment):
        provider = item._provider or _api.provider_for(item.provider, config)
        dedicated = provider.capabilities_for(item).dedicated
        spec = DeploymentSpec(
            provider=item.provider,
            model=item.model,
            name=item.name,
            instance=item.instance,
            replicas=item.replicas if dedicated else None,
        )
        kind = "dedicated" if dedicated else "serverless"
        label = f"{item.provider}:{item.instance or item.model}"
        return Candidate(
            label, spec, kind, "a running deployment, measured as it is", deployment=item
        )
    spec = item if isinstance(item, DeploymentSpec) else DeploymentSpec.from_dict(item)
    kind = "dedicated" if _is_dedicated(spec, config) else "serverless"
    return Candidate(spec.name, spec, kind, "a spec given to recommend()")


def usable_providers(config: Config) -> list[str]:
    """Providers you can use: configured in hostkit.toml or with credentials found."""
    from hostkit.catalog import provider_names
    from hostkit.inventory import credentials

    configured = set(config.providers)
    found = {c.provider for c in credentials(provider_names(), config) if c.found}
    return sorted((configured | found) - {"local"})


def catalog_candidates(
    model: str,
    providers: Sequence[str],
    *,
    config: Config | None = None,
    per_provider: int = 2,
    dtype: str = "bf16",
    context: int = 4096,
    batch: int = 8,
    run: str = "plan",
) -> tuple[list[Candidate], list[str]]:
    """Sizing x catalog: the cheapest ``per_provider`` fitting instances of each provider,
    plus each serverless model row serving ``model``; and notes on what was left out."""
    from hostkit import catalog, sizing

    config = config if config is not None else load_config()
    need = sizing.estimate(model, dtype=dtype, context=context, batch=batch)
    rows = catalog.offerings(list(providers), config=config) if providers else []
    chosen: list[Candidate] = []
    notes = [
        f"{model} at {need.dtype} needs {need.gpu_memory_gb:.1f} GB of GPU memory (weights"
        f" {need.weights_gb:.1f} + KV cache {need.kv_cache_gb:.1f} for {context} tokens x"
        f" {batch} sequences + {need.margin:.0%} margin)"
    ]
    cheapest: dict[tuple[str, str], Any] = {}  # one row per instance type: its cheapest region
    for row in rows:
        key = (row.provider, row.name)
        if row.usd_per_hour is not None and (
            key not in cheapest or row.usd_per_hour < cheapest[key].usd_per_hour
        ):
            cheapest[key] = row
    for fit in sizing.fits(need, list(cheapest.values()), per_provider=per_provider):
        row = fit.row
        spare = fit.gpus_needed * (row.gpu_memory_gb or 0) - need.gpu_memory_gb
        spec = DeploymentSpec(
            provider=row.provider,
            model=model,
            instance=row.name,
            region=row.region,
            replicas=1,
            name=f"rec-{run}-{len(chosen)}",
        )
        gpus = f"{fit.gpus_needed}x {row.gpu_type} {row.gpu_memory_gb:g} GB"
        chosen.append(
            Candidate(
                f"{row.provider}:{row.name}" + (f"@{row.region}" if row.region else ""),
                spec,
                "dedicated",
                f"fits on {gpus} with {spare:.1f} GB to spare",
                usd_per_hour=row.usd_per_hour,
                price_source=row.source,
                price_as_of=row.as_of,
                price_note=_row_note(row),
                spare_gb=round(spare, 1),
                gpus_needed=fit.gpus_needed,
            )
        )
    for row in rows:
        if row.kind == "model" and model in (row.name, row.hub_model) and row.priced:
            spec = DeploymentSpec(provider=row.provider, model=row.name)
            chosen.append(
                Candidate(
                    f"{row.provider}:{row.name}",
                    spec,
                    "serverless",
                    "served per token: nothing to deploy",
                    usd_per_million_input=row.usd_per_million_input,
                    usd_per_million_output=row.usd_per_million_output,
                    price_source=row.source,
                    price_as_of=row.as_of,
                    price_note=_row_note(row),
                )
            )
    if not providers:
        notes.append(
            "no usable provider (none configured in hostkit.toml, no credentials found):"
            " pass --providers or --candidates"
        )
    return chosen, notes


def _row_note(row: Any) -> str | None:
    marks = []
    if row.stale:
        marks.append(f"stale: {row.stale_reason}")
    if row.confidence == "secondary":
        marks.append("secondary source")
    return "; ".join(marks) or None


def _pool_stats(pool: Sequence[Any]) -> int:
    """Input tokens per request, roughly (characters / 4)."""
    sizes = [len(json.dumps(item)) for item in pool] or [0]
    return max(1, sum(sizes) // (4 * len(sizes)))


def _estimate_spend(c: Candidate, p: Plan, pool: Sequence[Any], config: Config) -> None:
    steps = len(p.concurrency) + (1 if p.target_rps else 0)
    if c.kind == "dedicated":
        deploy = DEPLOY_SECONDS.get(c.spec.provider, DEFAULT_DEPLOY_SECONDS)
        increment = BILLING_INCREMENT_S.get(c.spec.provider, DEFAULT_INCREMENT_S)
        measure = steps * p.step_seconds + 30  # warm-up and teardown
        # overlapped (--parallel): live while up to overlap-1 others are measured first
        wait = (p.overlap - 1) * measure
        billed = math.ceil((deploy + measure + wait) / increment) * increment
        waiting = f" + up to {wait:g}s waiting (candidates overlap)" if wait else ""
        c.spend_basis = (
            f"{deploy}s deploy + {steps} steps x {p.step_seconds:g}s + 30s{waiting}, billed in"
            f" {increment}s increments = {billed / 3600:.3f} h"
        )
        c.estimated_spend_usd = None if c.usd_per_hour is None else c.usd_per_hour * billed / 3600
        return
    opened = math.ceil((p.target_rps or 0) * p.step_seconds)
    requests = len(p.concurrency) * p.serverless_requests + 2 + opened
    tokens_in, tokens_out = requests * _pool_stats(pool), requests * ASSUMED_OUTPUT_TOKENS
    c.spend_basis = (
        f"{requests} requests x ~{_pool_stats(pool)} in / {ASSUMED_OUTPUT_TOKENS} out tokens"
    )
    if c.usd_per_million_input is not None:
        c.estimated_spend_usd = (
            tokens_in * c.usd_per_million_input + tokens_out * (c.usd_per_million_output or 0)
        ) / 1e6
        return
    estimate = _quiet_cost(c.spec, config, input_tokens=tokens_in, output_tokens=tokens_out)
    c.estimated_spend_usd = estimate.usd if estimate is not None else None


def plan(
    model: str | None = None,
    *,
    inputs: Sequence[Any] | str | Path,
    p95_target: float | str | None = None,
    target_rps: float | str | None = None,
    candidates: Sequence[str | DeploymentSpec | Deployment | Mapping[str, Any]] | None = None,
    providers: Sequence[str] | None = None,
    per_provider: int = 2,
    dtype: str = "bf16",
    context: int = 4096,
    concurrency: Sequence[int] = DEFAULT_CONCURRENCY,
    step_duration: float | str = "10s",
    serverless_requests: int = 20,
    max_spend: float = DEFAULT_MAX_SPEND,
    parallel: int = 1,
    config: _api.ConfigArg = None,
    run: str | None = None,
) -> Plan:
    """The candidates, why each is in, and the estimated spend of measuring them."""
    resolved = config if isinstance(config, Config) else load_config(config)
    pool = _load_inputs(inputs)
    step_s = parse_duration(step_duration, field_name="step_duration")
    if step_s <= 0:
        raise ConfigError(f"step_duration: must be above zero, got {step_duration!r}")
    if isinstance(max_spend, bool) or not isinstance(max_spend, int | float) or max_spend < 0:
        raise ConfigError(f"max_spend: expected a number of dollars >= 0, got {max_spend!r}")
    if isinstance(parallel, bool) or not isinstance(parallel, int) or parallel < 1:
        raise ConfigError(
            f"--parallel: expected a whole number of candidates at a time >= 1 (1: one after"
            f" another), got {parallel!r}"
        )
    levels = list(concurrency)
    if not levels or any(isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in levels):
        raise ConfigError(f"concurrency: expected whole numbers >= 1, got {concurrency!r}")
    run = run or secrets.token_hex(3)
    notes: list[str] = []
    if candidates:
        chosen = [
            _from_name(item, i, model, run, resolved)
            if isinstance(item, str)
            else _from_spec(item, i, resolved)
            for i, item in enumerate(candidates)
        ]
    elif model is None:
        raise ConfigError("recommend: give a model (for sizing x catalog) or candidates")
    else:
        names = list(providers) if providers else usable_providers(resolved)
        chosen, notes = catalog_candidates(
            model,
            names,
            config=resolved,
            per_provider=per_provider,
            dtype=dtype,
            context=context,
            run=run,
        )
    result = Plan(
        model=model or (chosen[0].spec.model if chosen else None),
        p95_target_s=None
        if p95_target is None
        else parse_duration(p95_target, field_name="p95_target"),
        target_rps=None if target_rps is None else parse_rate(target_rps, field_name="target_rps"),
        candidates=[_priced(c, resolved) for c in chosen],
        concurrency=levels,
        step_seconds=step_s,
        serverless_requests=serverless_requests,
        max_spend_usd=float(max_spend),
        notes=notes,
        parallel=parallel,
    )
    for c in result.candidates:
        _estimate_spend(c, result, pool, resolved)
    return result


def _load_inputs(inputs: Sequence[Any] | str | Path) -> list[Any]:
    pool = load_prompts(inputs) if isinstance(inputs, str | Path) else list(inputs)
    if not pool:
        raise ConfigError("inputs: give at least one request (a list or a JSON Lines file)")
    return pool


def check_spend(p: Plan) -> None:
    """ConfigError when the plan's estimated spend exceeds its limit."""
    if p.estimated_spend_usd > p.max_spend_usd:
        raise ConfigError(
            f"max_spend: the test would cost about {_money(p.estimated_spend_usd)}, more than the"
            f" limit of {_money(p.max_spend_usd)} (default {_money(DEFAULT_MAX_SPEND)}); nothing"
            " was created. Raise --max-spend, or measure fewer candidates (--candidates) or"
            " shorter steps (--step-duration)"
        )


# -- the run journal --------------------------------------------------------------------
def journal_dir() -> Path:
    """``<state dir>/recommend``: one journal per run."""
    return default_state_dir() / "recommend"


class Journal:
    """What a run created, on disk before each create; held under an flock while alive."""

    def __init__(self, run_id: str, data: dict[str, Any]) -> None:
        self.run_id = run_id
        self.data = data
        self.path = journal_dir() / f"{run_id}.json"
        self._lock: int | None = None
        #: candidates deploy in threads (--parallel): one change and write at a time
        self._guard = threading.RLock()

    @classmethod
    def start(cls, run_id: str, model: str | None) -> Journal:
        journal = cls(
            run_id,
            {
                "run_id": run_id,
                "pid": os.getpid(),
                "model": model,
                "started_at": _now(),
                "status": "running",
                "created": [],
            },
        )
        journal_dir().mkdir(parents=True, exist_ok=True, mode=0o700)
        journal._lock = _take_lock(journal.path.with_suffix(".lock"))
        if journal._lock is None:
            raise ConfigError(f"recommend: run {run_id} is already running")
        journal.save()
        return journal

    def save(self) -> None:
        with self._guard:
            atomic_write_text(self.path, json.dumps(self.data, indent=2, default=str) + "\n")

    def entry(self, name: str) -> dict[str, Any]:
        with self._guard:
            return next(e for e in self.data["created"] if e["name"] == name)

    def creating(self, spec: DeploymentSpec) -> None:
        with self._guard:
            self._append(spec)

    def _append(self, spec: DeploymentSpec) -> None:
        self.data["created"].append(
            {
                "name": spec.name,
                "provider": spec.provider,
                "spec": spec.to_dict(),
                "state": "creating",
                "at": _now(),
            }
        )
        self.save()

    def mark(self, name: str, state: str, **extra: Any) -> None:
        with self._guard:
            self.entry(name).update(state=state, at=_now(), **extra)
            self.save()

    def finish(self) -> None:
        with self._guard:
            self._finish()

    def _finish(self) -> None:
        pending = [
            e
            for e in self.data["created"]
            if e["state"] in ("creating", "deployed", "teardown failed")
        ]
        self.data["status"] = "leftovers" if pending else "done"
        self.save()
        if not pending:
            self.path.unlink(missing_ok=True)
        self.release()

    def release(self) -> None:
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None
            with contextlib.suppress(OSError):
                if not self.path.exists():
                    self.path.with_suffix(".lock").unlink()


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _take_lock(path: Path) -> int | None:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


@dataclass
class CleanupResult:
    """One deployment a dead run left, and whether it is gone now."""

    run_id: str
    name: str
    provider: str
    ok: bool
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def leftover_runs() -> list[dict[str, Any]]:
    """Journals of runs that are not running (their lock is free) and left deployments."""
    folder = journal_dir()
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        lock = _take_lock(path.with_suffix(".lock"))
        if lock is None:
            continue  # that run is alive
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            os.close(lock)
            continue
        pending = [
            e for e in data.get("created", []) if e.get("state") not in ("torn down", "kept")
        ]
        if pending:
            found.append(data)
        else:  # killed after its last teardown: the journal holds nothing left to do
            path.unlink(missing_ok=True)
            path.with_suffix(".lock").unlink(missing_ok=True)
        os.close(lock)
    return found


def cleanup(run_id: str | None = None, *, config: _api.ConfigArg = None) -> list[CleanupResult]:
    """Tear down what dead runs (or run ``run_id``) created and did not tear down."""
    resolved = config if isinstance(config, Config) else load_config(config)
    runs = leftover_runs()
    if run_id is not None:
        if not (journal_dir() / f"{run_id}.json").exists():
            raise NotFound(f"recommend --cleanup: no run journal {run_id} under {journal_dir()}")
        runs = [r for r in runs if r.get("run_id") == run_id]
        if not runs:
            raise ConfigError(f"recommend --cleanup: run {run_id} is still running or left nothing")
    results: list[CleanupResult] = []
    for data in runs:
        journal = Journal(str(data["run_id"]), data)
        journal._lock = _take_lock(journal.path.with_suffix(".lock"))
        if journal._lock is None:
            continue
        for entry in data["created"]:
            if entry["state"] in ("torn down", "kept"):
                continue
            results.append(_cleanup_one(journal, entry, resolved))
        journal.finish()
    return results


def _cleanup_one(journal: Journal, entry: dict[str, Any], config: Config) -> CleanupResult:
    try:
        _api.provider_for(entry["provider"], config).teardown(entry["name"])
    except HostkitError as error:
        journal.mark(entry["name"], "teardown failed", error=str(error))
        return CleanupResult(journal.run_id, entry["name"], entry["provider"], False, str(error))
    journal.mark(entry["name"], "torn down")
    return CleanupResult(journal.run_id, entry["name"], entry["provider"], True)


# -- measuring --------------------------------------------------------------------------
@dataclass
class CandidateResult:
    """One candidate as measured (or why it was not), with every figure of the report."""

    candidate: Candidate
    status: str = "measured"  # "measured", "failed" (deploy or bench), "skipped"
    reason: str | None = None
    meets: bool = False
    why: str = ""
    deployed_replicas: int | None = None
    concurrency: int | None = None
    throughput_rps: float | None = None
    rps_per_replica: float | None = None
    replicas_needed: int | None = None
    latency_p50_s: float | None = None
    latency_p95_s: float | None = None
    latency_p99_s: float | None = None
    ttft_p50_s: float | None = None
    tokens_per_s: float | None = None
    error_rate: float | None = None
    successes: int = 0
    few_samples: bool = False
    open_loop: dict[str, Any] | None = None
    usd_per_hour: float | None = None
    usd_per_1k: float | None = None
    usd_per_month: float | None = None
    price_known: bool = False
    spent_usd: float | None = None
    seconds: float = 0.0
    reused: bool = False
    bench: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["candidate"] = self.candidate.to_dict()
        return data

    def row(self) -> dict[str, Any]:
        """A flat row for the CSV."""
        data = {
            k: v for k, v in self.to_dict().items() if k not in ("candidate", "bench", "open_loop")
        }
        c = self.candidate
        data = {
            "candidate": c.label,
            "provider": c.spec.provider,
            "kind": c.kind,
            "instance": c.spec.instance,
            **data,
            "price_source": c.price_source,
            "price_as_of": c.price_as_of,
            "price_note": c.price_note,
        }
        if self.open_loop:
            data["open_loop_p95_s"] = self.open_loop.get("latency_p95_s")
        return data


def _best_step(result: BenchResult) -> Step | None:
    rec = result.recommendation
    closed = [s for s in result.steps if s.mode == "closed" and s.successes]
    chosen = [s for s in closed if s.concurrency == rec.concurrency] if rec.concurrency else []
    if chosen:
        return chosen[0]
    return min(closed, key=lambda s: s.latency_p95_s or math.inf) if closed else None


def _max_replicas(spec: DeploymentSpec, config: Config) -> tuple[int, str] | None:
    limit = getattr(_api.provider_for(spec.provider, config), "max_replicas", None)
    if callable(limit) and spec.provider == "local":
        found = limit()
        return (int(found[0]), str(found[1])) if isinstance(found, tuple) else None
    return None


class _Runner:
    """Measures the plan's candidates one at a time (deploying up to ``plan.parallel`` at
    once in threads); tears down what it creates."""

    def __init__(
        self,
        p: Plan,
        pool: list[Any],
        config: Config,
        journal: Journal,
        progress: Progress | None,
        keep_winner: bool,
        stream: bool | None,
    ) -> None:
        self.plan, self.pool, self.config, self.journal = p, pool, config, journal
        self.progress = progress or (lambda text: None)
        self.keep_winner = keep_winner
        self.stream = stream
        self.params: dict[str, Any] | None = None
        self.live: dict[str, Deployment] = {}  # created by this run, not torn down yet
        self._live_guard = threading.Lock()  # deploys finish in worker threads
        self.kept: CandidateResult | None = None

    def say(self, text: str) -> None:
        self.progress(text)

    def run(self, c: Candidate) -> CandidateResult:
        """Deploy, measure, settle one candidate."""
        return self.finish(self.prepare(c))

    def prepare(self, c: Candidate) -> _Prepared:
        """Deploy (or find) ``c``; thread-safe, so candidates can deploy at the same time."""
        result, began = CandidateResult(c), time.monotonic()
        try:
            deployment = self._deployment(c, result)
        except BaseException:
            result.seconds = time.monotonic() - began
            raise
        return _Prepared(result, deployment, began)

    def finish(self, prepared: _Prepared) -> CandidateResult:
        """Measure a prepared candidate (on this thread's event loop), then settle it."""
        result = prepared.result
        try:
            if prepared.deployment is not None:
                self._measure(prepared.deployment, result)
        finally:
            result.seconds = time.monotonic() - prepared.began
        self._settle(result)
        return result

    def _deployment(self, c: Candidate, result: CandidateResult) -> Deployment | None:
        if c.deployment is not None:
            result.reused = True
            return c.deployment
        if c.kind == "serverless":
            try:
                return _api.resolve_deployment(c.spec, self.config)
            except HostkitError as error:
                result.status, result.reason = "failed", f"not available: {error}"
                return None
        provider = _api.provider_for(c.spec.provider, self.config)
        existing = provider.find(c.spec.name)
        if existing is not None and existing.status == "ready":
            if existing.fingerprint == c.spec.fingerprint():
                result.reused = True
                self.say(f"recommend: {c.label}: reusing the running deployment {c.spec.name}")
                return existing
            result.status, result.reason = (
                "skipped",
                (
                    f"a deployment named {c.spec.name} runs with another spec; tear it down or"
                    " deploy it from this spec first"
                ),
            )
            return None
        self.journal.creating(c.spec)
        self.say(f"recommend: {c.label}: deploying {c.spec.name} on {c.spec.provider}")
        try:
            deployment = provider.deploy(c.spec)
        except HostkitError as error:
            result.status, result.reason = "failed", f"deploy failed: {error}"
            self._teardown_name(c)
            return None
        with self._live_guard:
            self.live[c.spec.name] = deployment
        self.journal.mark(c.spec.name, "deployed")
        return deployment

    def _measure(self, deployment: Deployment, result: CandidateResult) -> None:
        p, c = self.plan, result.candidate
        dedicated = c.kind == "dedicated"
        stream = self.stream if self.stream is not None else _looks_like_text(self.pool[0])
        shared: dict[str, Any] = {
            "prompts": self.pool,
            "stream": stream,
            "config": self.config,
            "params": self.params,
        }
        budget: dict[str, Any] = (
            {"duration": p.step_seconds}
            if dedicated
            else {"requests_per_step": p.serverless_requests}
        )
        try:
            ramp = bench(
                deployment,
                concurrency=p.concurrency,
                p95_target=p.p95_target_s,
                target_rps=p.target_rps,
                warmup=WARMUP,
                progress=self.say,
                **shared,
                **budget,
            )
        except HostkitError as error:
            result.status, result.reason = "failed", f"bench failed: {error}"
            return
        result.bench = ramp.to_dict()
        result.deployed_replicas = deployment.replicas if dedicated else None
        self._figures(ramp, result)
        if (
            p.target_rps
            and (not dedicated or (result.replicas_needed or 99) <= (deployment.replicas or 1))
            and result.concurrency
        ):
            self._open_step(deployment, result, shared)
        self._verdict(result)

    def _open_step(
        self, deployment: Deployment, result: CandidateResult, shared: dict[str, Any]
    ) -> None:
        p = self.plan
        assert p.target_rps is not None
        count = max(1, math.ceil(p.target_rps * p.step_seconds))
        try:
            step = bench(
                deployment,
                rate=p.target_rps,
                requests_per_step=count,
                warmup=0,
                progress=self.say,
                **shared,
            ).steps[0]
        except HostkitError as error:
            result.open_loop = {"error": str(error)}
            return
        result.open_loop = step.row()

    def _figures(self, ramp: BenchResult, result: CandidateResult) -> None:
        p, c = self.plan, result.candidate
        best = _best_step(ramp)
        if best is None:
            return
        result.concurrency = ramp.recommendation.concurrency
        result.throughput_rps = best.throughput_rps
        result.latency_p50_s, result.latency_p95_s = best.latency_p50_s, best.latency_p95_s
        result.latency_p99_s, result.ttft_p50_s = best.latency_p99_s, best.ttft_p50_s
        result.tokens_per_s, result.error_rate = best.tokens_per_s, best.error_rate
        result.successes = best.successes
        result.few_samples = best.successes < MIN_SAMPLES
        if c.kind == "dedicated":
            replicas = result.deployed_replicas or 1
            result.rps_per_replica = best.throughput_rps / replicas
            wanted = p.target_rps
            if wanted is not None and result.rps_per_replica > 0:
                result.replicas_needed = max(1, math.ceil(wanted / result.rps_per_replica))
            else:
                result.replicas_needed = replicas
            self._dedicated_cost(result, best)
        else:
            per_1k = best.cost.per_1k_requests
            result.usd_per_1k = per_1k
            result.price_known = per_1k is not None
            if per_1k is not None and p.target_rps:
                result.usd_per_hour = per_1k * p.target_rps * 3.6
                result.usd_per_month = result.usd_per_hour * HOURS_PER_MONTH

    def _dedicated_cost(self, result: CandidateResult, best: Step) -> None:
        p, c = self.plan, result.candidate
        n = result.replicas_needed or 1
        estimate = _quiet_cost(c.spec.replace(replicas=n), self.config, hours=1)
        if estimate is None or estimate.usd is None:
            return
        result.price_known = True
        result.usd_per_hour = estimate.usd
        c.price_source = c.price_source or estimate.source
        c.price_as_of = c.price_as_of or estimate.as_of
        rate = p.target_rps or best.throughput_rps
        result.usd_per_1k = estimate.usd / (rate * 3600) * 1000 if rate > 0 else None
        result.usd_per_month = estimate.usd * HOURS_PER_MONTH

    def _verdict(self, result: CandidateResult) -> None:
        p, c = self.plan, result.candidate
        reasons = []
        if result.concurrency is None:
            best = (
                "no step succeeded"
                if result.latency_p95_s is None
                else (
                    f"best p95 {_ms(result.latency_p95_s)} > {_ms(p.p95_target_s)}"
                    if p.p95_target_s
                    else "too many errors"
                )
            )
            reasons.append(best)
        limit = _max_replicas(c.spec, self.config) if c.kind == "dedicated" else None
        if limit and (result.replicas_needed or 0) > limit[0]:
            reasons.append(
                f"needs {result.replicas_needed} replicas; {c.spec.provider} allows"
                f" {limit[0]} ({limit[1]})"
            )
        loop = result.open_loop or {}
        if loop.get("error"):
            reasons.append(f"open loop at {p.target_rps:g} req/s failed: {loop['error']}")
        elif loop:
            p95, errors = loop.get("latency_p95_s"), loop.get("error_rate") or 0
            if errors > 0.01:
                reasons.append(f"{errors:.0%} errors at {p.target_rps:g} req/s (open loop)")
            elif p.p95_target_s and p95 is not None and p95 > p.p95_target_s:
                reasons.append(f"p95 {_ms(p95)} at {p.target_rps:g} req/s (open loop)")
        result.meets = not reasons
        if reasons:
            result.why = "; ".join(reasons)
        else:
            result.why = f"p95 {_ms(result.latency_p95_s)} at concurrency {result.concurrency}"
            if loop:
                result.why += (
                    f"; {_ms(loop.get('latency_p95_s'))} at {p.target_rps:g} req/s open loop"
                )
        if result.few_samples:
            result.why += f" (few samples: {result.successes} < {MIN_SAMPLES})"

    def _settle(self, result: CandidateResult) -> None:
        """Tear down now, or keep the best priced candidate that meets the target so far."""
        c = result.candidate
        self._spent(result)
        with self._live_guard:
            if c.spec.name not in self.live:
                return
        better = self.kept is None or _rank_key(result) < _rank_key(self.kept)
        if self.keep_winner and result.meets and result.price_known and better:
            previous, self.kept = self.kept, result
            if previous is not None:
                self._teardown_name(previous.candidate)
            return
        self._teardown_name(c)

    def _spent(self, result: CandidateResult) -> None:
        c = result.candidate
        if c.kind == "dedicated":
            hourly = c.usd_per_hour
            result.spent_usd = None if hourly is None else hourly * result.seconds / 3600
            return
        steps = [
            (s["cost"]["per_1k_requests"], s["successes"])
            for s in (result.bench or {}).get("steps", [])
        ]
        if result.open_loop and "cost_per_1k_usd" in result.open_loop:
            steps.append((result.open_loop["cost_per_1k_usd"], result.open_loop["successes"]))
        if not steps or any(per_1k is None for per_1k, _ in steps):
            result.spent_usd = None
            return
        total = sum(per_1k * ok / 1000 for per_1k, ok in steps)
        calls = sum(ok for _, ok in steps)
        # the warm-up calls are not measured: priced at the mean cost of a measured call
        result.spent_usd = total + (WARMUP * total / calls if calls else 0.0)

    def _teardown_name(self, c: Candidate) -> None:
        name = c.spec.name
        self.say(f"recommend: tearing down {name}")
        with self._live_guard:
            deployment = self.live.pop(name, None)
        try:
            if deployment is not None:
                _api.teardown(deployment, config=self.config)
            else:
                _api.provider_for(c.spec.provider, self.config).teardown(name)
        except HostkitError as error:
            self.journal.mark(name, "teardown failed", error=str(error))
            return
        self.journal.mark(name, "torn down")

    def abort(self) -> None:
        """Tear down everything this run still holds (Ctrl-C, an error)."""
        with self._live_guard:
            names = list(self.live)
        for name in names:
            entry = self.journal.entry(name)
            self._teardown_name(
                Candidate(name, DeploymentSpec.from_dict(entry["spec"]), "dedicated", "")
            )
        self.kept = None


@dataclass
class _Prepared:
    """A candidate after its deploy: its result so far, what to measure, and when it began."""

    result: CandidateResult
    deployment: Deployment | None
    began: float


def _overlapped(
    runner: _Runner, candidates: Sequence[Candidate], parallel: int
) -> Iterator[CandidateResult]:
    """Deploy up to ``parallel`` candidates at once; measure them one at a time, in order.

    Bench keeps one event loop per process (:func:`hostkit.compare.run_sync`), and
    candidates measured together would share the machine and skew each other's figures,
    so only the deploys overlap. On Ctrl-C or an error, deploys in flight are waited for
    (the rest are cancelled) so that the caller's abort tears every one of them down.
    """
    queue = iter(candidates)
    pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="hostkit-recommend")
    pending: deque[Future[_Prepared]] = deque()
    try:
        for c in itertools.islice(queue, parallel):
            pending.append(pool.submit(runner.prepare, c))
        while pending:
            result = runner.finish(pending.popleft().result())
            following = next(queue, None)  # only now: at most ``parallel`` deployed at once
            if following is not None:
                pending.append(pool.submit(runner.prepare, following))
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _looks_like_text(request: Any) -> bool:
    return isinstance(request, str) or (isinstance(request, Mapping) and "messages" in request)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}ms"


def _rank_key(r: CandidateResult) -> tuple[int, int, float, float]:
    status = 0 if r.status == "measured" else 1
    cost = r.usd_per_1k if r.usd_per_1k is not None else math.inf
    return (
        status,
        0 if r.meets and r.price_known else 1 if r.meets else 2,
        cost,
        r.latency_p95_s if r.latency_p95_s is not None else math.inf,
    )


# -- the report -------------------------------------------------------------------------
@dataclass
class Report:
    """Ranked results, the recommendation and the winner's config block."""

    run_id: str
    plan: Plan
    results: list[CandidateResult]
    winner: CandidateResult | None
    sentence: str
    kept: str | None
    started_at: str
    seconds: float

    @property
    def spent_usd(self) -> float:
        """What the test itself cost, at the candidates' prices (unknown prices count 0)."""
        return sum(r.spent_usd or 0.0 for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "plan": self.plan.to_dict(),
            "results": [r.to_dict() for r in self.results],
            "winner": self.winner.candidate.label if self.winner else None,
            "recommendation": self.sentence,
            "winner_toml": self.toml(),
            "kept": self.kept,
            "started_at": self.started_at,
            "seconds": self.seconds,
            "spent_usd": self.spent_usd,
        }

    def table(self) -> str:
        head = (
            "#",
            "candidate",
            "meets",
            "replicas",
            "conc",
            "p50",
            "p95",
            "p99",
            "ttft",
            "tok/s",
            "$/hour",
            "$/1k",
            "$/month",
            "price as of",
        )
        lines = [head]
        for i, r in enumerate(self.results, start=1):
            lines.append(
                (
                    str(i),
                    r.candidate.label,
                    "yes" if r.meets else ("failed" if r.status != "measured" else "no"),
                    _int(r.replicas_needed),
                    _int(r.concurrency),
                    _ms(r.latency_p50_s),
                    _ms(r.latency_p95_s) + ("*" if r.few_samples else ""),
                    _ms(r.latency_p99_s),
                    _ms(r.ttft_p50_s),
                    "-" if r.tokens_per_s is None else f"{r.tokens_per_s:.0f}",
                    _money(r.usd_per_hour),
                    _money(r.usd_per_1k),
                    _money(r.usd_per_month),
                    r.candidate.price_as_of or "-",
                )
            )
        widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
        text = [
            "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip()
            for line in lines
        ]
        for i, r in enumerate(self.results, start=1):
            why = r.reason if r.status != "measured" else r.why
            rate = (
                "" if r.rps_per_replica is None else f"; {r.rps_per_replica:.1f} req/s per replica"
            )
            text.append(f"{i}. {r.candidate.label}: {why}{rate}")
            source = r.candidate.price_source or "no price"
            note = f" ({r.candidate.price_note})" if r.candidate.price_note else ""
            text.append(f"   price: {source}{note}")
        if any(r.few_samples for r in self.results):
            text.append(f"* fewer than {MIN_SAMPLES} successful requests: read with care")
        return "\n".join(text)

    def text(self) -> str:
        parts = [self.table(), "", self.sentence]
        block = self.toml()
        if block:
            parts += ["", "# hostkit.toml", block]
        parts.append(
            f"\nthis test took {self.seconds:.0f}s and cost about {_money(self.spent_usd)}"
            f" (run {self.run_id})"
        )
        if self.kept:
            parts.append(
                f"kept running: {self.kept} (tear it down with: hostkit teardown {self.kept})"
            )
        return "\n".join(parts)

    def toml(self) -> str | None:
        """The winner as a ``[deployments.NAME]`` block, at the replica count it needs."""
        if self.winner is None:
            return None
        spec = self.winner.candidate.spec
        lines = [
            f"[deployments.{spec.name}]",
            f"provider = {_toml(spec.provider)}",
            f"model = {_toml(spec.model)}",
        ]
        for key in ("instance", "region", "accelerator", "image", "task"):
            if getattr(spec, key):
                lines.append(f"{key} = {_toml(getattr(spec, key))}")
        if self.winner.candidate.kind == "dedicated":
            lines.append(f"replicas = {self.winner.replicas_needed or spec.replicas or 1}")
        for table in ("options", "env"):
            values = spec.to_dict()[table]
            for key, value in values.items():
                lines.append(f"{table}.{key} = {_toml(value)}")
        return "\n".join(lines)

    def write_json(self, path: str | Path) -> Path:
        target = Path(path)
        target.write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n")
        return target

    def write_csv(self, path: str | Path) -> Path:
        rows = [r.row() for r in self.results]
        columns: list[str] = []
        for row in rows:
            columns += [k for k in row if k not in columns]
        target = Path(path)
        with target.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        return target

    def plot(self, path: str | Path) -> str:
        """Cost per 1,000 against p95 with the Pareto front; a note when it cannot."""
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            return 'plot skipped: matplotlib is not installed (pip install "hostkit-ml[plot]")'
        points = [
            (r.latency_p95_s * 1000, r.usd_per_1k, r.candidate.label)
            for r in self.results
            if r.latency_p95_s is not None and r.usd_per_1k is not None
        ]
        if not points:
            return "plot skipped: no candidate has both a p95 and a cost per 1,000"
        front = pareto_front([(x, y) for x, y, _ in points])
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for x, y, label in points:
            ax.scatter(x, y, color="tab:blue" if (x, y) in front else "tab:gray")
            ax.annotate(label, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
        if len(front) > 1:
            ax.plot(*zip(*sorted(front), strict=True), color="tab:blue", label="Pareto front")
            ax.legend()
        if self.plan.p95_target_s:
            ax.axvline(self.plan.p95_target_s * 1000, color="tab:red", linestyle="--")
        ax.set_xlabel("p95 latency (ms)")
        ax.set_ylabel("$ per 1,000 inferences")
        ax.set_title(f"recommend {self.plan.model or ''}")
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
        return f"plot written to {path}"


def pareto_front(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points no other point beats on both axes (lower is better on both)."""
    return [p for p in points if not any(q[0] <= p[0] and q[1] <= p[1] and q != p for q in points)]


def _int(value: int | None) -> str:
    return "-" if value is None else str(value)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value))


def _sentence(results: Sequence[CandidateResult], p: Plan) -> tuple[CandidateResult | None, str]:
    target = _target_text(p.p95_target_s, p.target_rps)
    winner = next((r for r in results if r.meets and r.price_known), None)
    if winner is None:
        unpriced = next((r for r in results if r.meets), None)
        if unpriced is not None:
            return None, (
                f"No recommendation on cost: {unpriced.candidate.label} meets {target} but its"
                " price is unknown; set a price for it ([prices] in hostkit.toml) and run again."
            )
        measured = [r for r in results if r.status == "measured"]
        closest = min(measured, key=lambda r: r.latency_p95_s or math.inf, default=None)
        tail = f"; closest: {closest.candidate.label} ({closest.why})" if closest else ""
        return None, f"No candidate meets {target}{tail}."
    shape = (
        f"{winner.replicas_needed} replica(s) at concurrency {winner.concurrency} each"
        if winner.candidate.kind == "dedicated"
        else f"served per token at concurrency {winner.concurrency}"
    )
    cheaper = [
        r
        for r in results
        if r is not winner
        and r.price_known
        and r.usd_per_1k is not None
        and winner.usd_per_1k is not None
        and r.usd_per_1k < winner.usd_per_1k
    ]
    why_not = "".join(f"; {r.candidate.label} is cheaper but {r.why}" for r in cheaper[:2])
    return winner, (
        f"Run {winner.candidate.label}: the cheapest candidate that meets {target} — {shape},"
        f" {_money(winner.usd_per_hour)}/hour, {_money(winner.usd_per_1k)} per 1,000 inferences,"
        f" {_money(winner.usd_per_month)}/month{why_not}."
    )


def recommend(
    model: str | None = None,
    *,
    inputs: Sequence[Any] | str | Path,
    p95_target: float | str | None = None,
    target_rps: float | str | None = None,
    candidates: Sequence[str | DeploymentSpec | Deployment | Mapping[str, Any]] | None = None,
    providers: Sequence[str] | None = None,
    per_provider: int = 2,
    dtype: str = "bf16",
    context: int = 4096,
    concurrency: Sequence[int] = DEFAULT_CONCURRENCY,
    step_duration: float | str = "10s",
    serverless_requests: int = 20,
    max_spend: float = DEFAULT_MAX_SPEND,
    parallel: int = 1,
    keep_winner: bool = False,
    stream: bool | None = None,
    params: Mapping[str, Any] | None = None,
    config: _api.ConfigArg = None,
    progress: Progress | None = None,
    on_plan: Callable[[Plan], None] | None = None,
) -> Report:
    """Plan, check the spend, measure every candidate one after another, and report.

    ``parallel=N`` deploys up to N candidates at the same time (each is still measured
    alone); the spend estimate counts the time each waits, deployed, for the others.

    See the module docs and :func:`plan` for the arguments. Every deployment this run
    creates is torn down when measured, on an error and on Ctrl-C (``keep_winner`` keeps
    the winner running); a killed run's leftovers go with :func:`cleanup`.
    """
    resolved = config if isinstance(config, Config) else load_config(config)
    run_id = _dt.datetime.now(_dt.UTC).strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)
    the_plan = plan(
        model,
        inputs=inputs,
        p95_target=p95_target,
        target_rps=target_rps,
        candidates=candidates,
        providers=providers,
        per_provider=per_provider,
        dtype=dtype,
        context=context,
        concurrency=concurrency,
        step_duration=step_duration,
        serverless_requests=serverless_requests,
        max_spend=max_spend,
        parallel=parallel,
        config=resolved,
        run=run_id.rsplit("-", 1)[1],
    )
    if on_plan is not None:
        on_plan(the_plan)
    check_spend(the_plan)
    if not the_plan.candidates:
        raise ConfigError("recommend: no candidate to measure; " + "; ".join(the_plan.notes))
    pool = _load_inputs(inputs)
    return _execute(the_plan, pool, resolved, run_id, keep_winner, stream, progress, params)


def _execute(
    p: Plan,
    pool: list[Any],
    config: Config,
    run_id: str,
    keep_winner: bool,
    stream: bool | None,
    progress: Progress | None,
    params: Mapping[str, Any] | None = None,
) -> Report:
    journal = Journal.start(run_id, p.model)
    runner = _Runner(p, pool, config, journal, progress, keep_winner, stream)
    runner.params = dict(params) if params else None
    started, began = _now(), time.monotonic()
    results: list[CandidateResult] = []
    try:
        if p.overlap > 1:
            results.extend(_overlapped(runner, p.candidates, p.overlap))
        else:
            results.extend(runner.run(c) for c in p.candidates)
    except BaseException:
        runner.abort()
        journal.finish()
        raise
    results.sort(key=_rank_key)
    winner, sentence = _sentence(results, p)
    kept = None
    if runner.kept is not None:
        kept = runner.kept.candidate.spec.name
        journal.mark(kept, "kept")
    journal.finish()
    return Report(run_id, p, results, winner, sentence, kept, started, time.monotonic() - began)


class _CallableModule(types.ModuleType):
    """``hostkit.recommend(...)`` calls :func:`recommend` even after ``import
    hostkit.recommend`` made the package attribute this module."""

    def __call__(self, *args: Any, **kwargs: Any) -> Report:
        return recommend(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
