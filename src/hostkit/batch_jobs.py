"""Native batch jobs: a JSON Lines file run as the platform's own batch job.

>>> from hostkit.batch import batch
>>> summary = batch("scores", "input.jsonl", "output.jsonl", native=True)

Same input and output as :func:`hostkit.batch.batch` (one output line per input id, in
input order, ``request_sha256`` on each, ``--retry-failed``, the same summary), but
instead of calling a live deployment, the requests go to the platform's batch service
(SageMaker Batch Transform, Vertex AI batch prediction, Groq's Batch API): nothing keeps
billing once it ends.

What keeps it safe (this module is platform-neutral; the adapters implement the
``submit_batch_job`` / ``batch_job_status`` / ``fetch_batch_results`` /
``cancel_batch_job`` / ``finish_batch_job`` / ``batch_job_cost`` hooks of
:class:`hostkit.Provider`):

* one job per output at a time, under the output's ``OUT.lock``;
* a journal, ``<state dir>/batch-jobs/<hash of OUT>/job.json`` (0600, written atomically),
  holds the plan (the requests sent, frozen in ``requests.jsonl`` beside it), every
  uploaded object and created resource *before* it is created, and the job id. Running
  the same command again reattaches to that job instead of starting a second one;
* results are written exactly once: an id already in the output is never written again,
  so a kill between download and clean-up is harmless;
* after a successful download the job's resources and (unless ``keep_staging``) its
  uploaded objects are deleted and the journal removed.

Not imported by ``import hostkit``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import hashlib
import json
import os
import re
import shutil
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hostkit import _api
from hostkit._models import CostEstimate, DeploymentSpec, InvokeResult
from hostkit._progress import report
from hostkit._provider import Provider
from hostkit._redact import get_logger
from hostkit._state import default_state_dir
from hostkit.batch import (
    BatchItem,
    BatchSummary,
    Progress,
    _check_args,
    _error_record,
    _exclusive,
    _ok_record,
    _prepare,
    _usd,
    _Writer,
    read_input,
)
from hostkit.errors import (
    AuthenticationError,
    ConfigError,
    HostkitError,
    ProviderError,
    Unsupported,
)

__all__ = ["BatchJob", "JobStatus", "NativeEstimate", "estimate_native", "run_native"]

log = get_logger("hostkit.batch_jobs")
#: seconds between two status polls of a running job (the adapter's poll_max caps it)
POLL_S = 30.0
#: job states a platform reports, as hostkit names them
TERMINAL = ("completed", "failed", "cancelled")
Interrupt = Callable[["BatchJob"], bool]


# -- the journal -----------------------------------------------------------------------
def jobs_dir() -> Path:
    """``<state dir>/batch-jobs``: one folder per output with a job in flight."""
    return default_state_dir() / "batch-jobs"


def _folder_for(output: Path) -> Path:
    digest = hashlib.sha256(str(output.resolve()).encode()).hexdigest()[:20]
    return jobs_dir() / digest


def _write_private(path: Path, text: str) -> None:
    """Write ``path`` atomically with mode 0600 (temp file, fsync, rename)."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(text.encode())
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, path)


@dataclass
class BatchJob:
    """One platform batch job as journalled: its plan, uploads, resources and id.

    Adapters record what they are about to upload in ``staging`` (URIs) and what they
    are about to create in ``created`` (kind -> name), call :meth:`save`, and only then
    create it; ``data`` holds their own notes (bucket, file ids). ``key`` is hostkit's
    name for the job (letters, digits and '-', at most 63), usable as a platform name.
    """

    key: str
    provider: str
    deployment: str
    model: str
    folder: Path
    output: str
    input: str
    input_sha256: str
    count: int
    state: str = "planned"  # planned -> submitted
    job_id: str | None = None
    staging: list[str] = field(default_factory=list)
    created: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""

    @property
    def journal(self) -> Path:
        return self.folder / "job.json"

    @property
    def plan(self) -> Path:
        """``requests.jsonl``: one line per request of the job, its index = its line."""
        return self.folder / "requests.jsonl"

    def to_dict(self) -> dict[str, Any]:
        keys = ("key", "provider", "deployment", "model", "output", "input", "input_sha256")
        record: dict[str, Any] = {k: getattr(self, k) for k in keys}
        record.update(
            format=1,
            count=self.count,
            state=self.state,
            job_id=self.job_id,
            staging=self.staging,
            created=self.created,
            data=self.data,
            created_at=self.created_at,
            pid=os.getpid(),
        )
        return record

    def save(self) -> None:
        """Journal the job now (atomic, 0600)."""
        _write_private(self.journal, json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> BatchJob | None:
        """The job journalled in ``folder`` (None: none); an unreadable one is a ConfigError."""
        journal = folder / "job.json"
        try:
            data = json.loads(journal.read_bytes())
            return cls(
                key=data["key"],
                provider=data["provider"],
                deployment=data["deployment"],
                model=data["model"],
                folder=folder,
                output=data["output"],
                input=data["input"],
                input_sha256=data["input_sha256"],
                count=int(data["count"]),
                state=data.get("state", "planned"),
                job_id=data.get("job_id"),
                staging=list(data.get("staging") or []),
                created=dict(data.get("created") or {}),
                data=dict(data.get("data") or {}),
                created_at=data.get("created_at", ""),
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ConfigError(
                f"batch --native: the job journal {journal} is unreadable ({error!r}); it"
                " names a platform job that may still be running: check the platform's"
                " console, then delete the folder to start over"
            ) from None

    def requests(self) -> Iterator[tuple[int, BatchItem]]:
        """(index, item) of every request in the plan, in plan order."""
        with self.plan.open("rb") as handle:
            for index, raw in enumerate(handle):
                entry = json.loads(raw)
                item = BatchItem(
                    line=entry["line"],
                    id=entry["id"],
                    request=entry["request"],
                    params=entry.get("params") or {},
                    numbered=bool(entry.get("numbered")),
                )
                yield index, item

    def forget(self) -> None:
        """Remove the journal and the plan (the job is collected, cancelled or never ran)."""
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class JobStatus:
    """A platform job's state: one of pending, running, completed, failed, cancelling,
    cancelled; ``done``/``failed`` requests where the platform counts them."""

    state: str
    platform_state: str = ""
    message: str | None = None
    done: int | None = None
    failed: int | None = None
    total: int | None = None
    started_at: float | None = None
    ended_at: float | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def _job_key(spec: DeploymentSpec, output: Path, sha: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", spec.name).strip("-")[:30].rstrip("-") or "job"
    seed = f"{output.resolve()}|{sha}|{time.time_ns()}|{os.getpid()}"
    return f"hostkit-{slug}-{hashlib.sha256(seed.encode()).hexdigest()[:12]}"


def _spec_of(target: _api.Target, config: _api.ConfigArg) -> DeploymentSpec:
    """The spec a native job runs (no live deployment is needed or used)."""
    if isinstance(target, str) and ":" in target:
        provider, _, model = target.partition(":")
        if not provider or not model:
            raise ConfigError(f"batch --native: {target!r} is not 'provider:model'")
        return DeploymentSpec(provider=provider, model=model)
    if isinstance(target, str | DeploymentSpec | Mapping):
        return _api.resolve_spec(target, config)
    raise ConfigError(
        "batch --native: give a deployment name from the config, a DeploymentSpec or"
        " 'provider:model' (a native job runs the spec, not a live deployment)"
    )


def _supporting(spec: DeploymentSpec, config: _api.ConfigArg) -> Provider:
    """The spec's provider if it runs batch jobs; else its Unsupported, before any file."""
    provider = _api.provider_for(spec.provider, config)
    if type(provider).submit_batch_job is Provider.submit_batch_job:
        raise provider._no_native_batch()
    return provider


# -- running ---------------------------------------------------------------------------
@dataclass
class _Native:
    spec: DeploymentSpec
    provider: Provider
    source: Path
    sink: Path
    summary: BatchSummary
    params: dict[str, Any]
    keep_staging: bool
    on_interrupt: Interrupt | None
    poll_s: float
    progress: Progress | None
    fsync: bool

    def plan(self, done: set[str], sha: str) -> BatchJob | None:
        """Journal a new job for the lines the output lacks (None: nothing to send)."""
        folder = _folder_for(self.sink)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        job = BatchJob(
            key=_job_key(self.spec, self.sink, sha),
            provider=self.spec.provider,
            deployment=self.spec.name,
            model=self.spec.model,
            folder=folder,
            output=str(self.sink.resolve()),
            input=str(self.source.resolve()),
            input_sha256=sha,
            count=0,
            created_at=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        )
        lines = []
        for item in read_input(self.source):
            if item.key in done:
                continue
            entry = {"line": item.line, "id": item.id, "request": item.request}
            merged = {**self.params, **item.params}
            if merged:
                entry["params"] = merged
            if item.numbered:
                entry["numbered"] = True
            lines.append(json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n")
        if not lines:
            job.forget()
            return None
        job.count = len(lines)
        _write_private(job.plan, "".join(lines))
        job.save()
        return job

    def submit(self, job: BatchJob) -> None:
        report(f"batch {self.spec.name}: submitting {job.count} request(s) as job {job.key}")
        try:
            self.provider.submit_batch_job(self.spec, job)
        except (ConfigError, AuthenticationError, Unsupported):
            # refused outright (bad spec or request, permissions): no job exists, so delete
            # what was uploaded and forget the plan; any other error may hide a created job,
            # so the journal stays and a rerun reattaches (creates are idempotent by name)
            if job.job_id is None:
                with contextlib.suppress(HostkitError):
                    self.provider.finish_batch_job(job, keep_staging=False)
                job.forget()
            raise
        job.state = "submitted"
        job.save()
        report(f"batch {self.spec.name}: job {job.job_id or job.key} submitted")

    def wait(self, job: BatchJob) -> JobStatus:
        """Poll until the job ends; Ctrl-C asks ``on_interrupt`` whether to cancel it."""
        began = time.monotonic()
        last = ""
        try:
            while True:
                status: JobStatus = self.provider.batch_job_status(job)
                line = _progress_text(job, status, time.monotonic() - began)
                if line != last:
                    report(line)
                    last = line
                if status.state in TERMINAL:
                    return status
                self.provider.sleep(self.poll_s)
        except KeyboardInterrupt:
            if self.on_interrupt is not None and self.on_interrupt(job):
                self.cancel(job)
            else:
                log.warning(
                    "batch --native: job %s keeps running on %s; run the same command to"
                    " reattach and collect its results",
                    job.job_id or job.key,
                    job.provider,
                )
            raise

    def cancel(self, job: BatchJob) -> None:
        """Cancel the platform job, delete what it created and uploaded, forget it."""
        if job.state == "submitted" or job.job_id:
            self.provider.cancel_batch_job(job)
        self.provider.finish_batch_job(job, keep_staging=self.keep_staging)
        job.forget()
        report(f"batch {self.spec.name}: job {job.job_id or job.key} cancelled")

    def collect(self, job: BatchJob, status: JobStatus, done: set[str]) -> None:
        """Write every planned line the output lacks, in input order, exactly once."""
        results: dict[int, InvokeResult | HostkitError] = {}
        if status.state == "completed":
            for index, outcome in self.provider.fetch_batch_results(job):
                if 0 <= index < job.count:
                    results[index] = outcome
        order = {item.key: (index, item) for index, item in job.requests()}
        writer = _Writer(self.sink, self.fsync)
        summary = self.summary
        try:
            for current in read_input(self.source):
                entry = order.get(current.key)
                if entry is None or current.key in done:
                    continue
                index = entry[0]
                outcome = results.get(index) or _missing(job, status)
                # the record names the input's line as the endpoint path does (its hash is
                # of the line's own request and params, not of the --param sent with it)
                if isinstance(outcome, InvokeResult):
                    writer.write(_ok_record(current, outcome, 1))
                    summary.ok += 1
                    summary.input_tokens = _plus(summary.input_tokens, outcome.usage.input_tokens)
                    summary.output_tokens = _plus(
                        summary.output_tokens, outcome.usage.output_tokens
                    )
                else:
                    writer.write(_error_record(current, outcome, 1))
                    summary.failed += 1
                    name = type(outcome).__name__
                    summary.errors[name] = summary.errors.get(name, 0) + 1
                done.add(current.key)
                if self.progress is not None:
                    self.progress(summary)
        finally:
            writer.close()

    def settle(self, job: BatchJob, status: JobStatus) -> None:
        """The job's actual cost (a PriceUnknown warning, once, if it has no price)."""
        estimate = self.provider.batch_job_cost(self.spec, job, status)
        summary = self.summary
        summary.cost_basis = _basis(estimate)
        summary.cost_source, summary.cost_as_of = estimate.source, estimate.as_of
        if estimate.usd is None:
            summary.cost_note = "; ".join(estimate.warnings[:1]) or "no price known for this job"
            return
        summary.cost_usd = (summary.cost_usd or 0.0) + estimate.usd


def _plus(total: int | None, value: int | None) -> int | None:
    return total if value is None else (total or 0) + value


def _basis(estimate: CostEstimate) -> str:
    if estimate.breakdown:
        return "; ".join(line.description for line in estimate.breakdown)
    return "the platform's batch billing"


def _missing(job: BatchJob, status: JobStatus) -> HostkitError:
    """The error written for a request the job's output does not answer."""
    name = job.job_id or job.key
    if status.state == "failed":
        reason = status.message or "no reason given"
        return ProviderError(
            f"the {job.provider} batch job {name} failed ({status.platform_state}): {reason}",
            provider=job.provider,
        )
    return ProviderError(
        f"the {job.provider} batch job {name} finished without a result for this request"
        " (not in its output or error file); --retry-failed sends it again",
        provider=job.provider,
    )


def _progress_text(job: BatchJob, status: JobStatus, elapsed: float) -> str:
    counts = ""
    if status.done is not None:
        counts = f" {status.done}/{status.total or job.count}"
        if status.failed:
            counts += f" ({status.failed} failed)"
    state = status.platform_state or status.state
    return f"batch job {job.job_id or job.key}: {state}{counts} after {elapsed:.0f}s"


def _journalled(
    native: _Native, sha: str, restart: bool, config: _api.ConfigArg
) -> BatchJob | None:
    """The job already journalled for this output (None: none); refuse a foreign one."""
    job = BatchJob.load(_folder_for(native.sink))
    if job is None:
        return None
    if restart:
        report(f"batch --native: --restart cancels job {job.job_id or job.key} first")
        owner = native.provider
        if job.provider != native.spec.provider:
            owner = _api.provider_for(job.provider, config)
        dataclasses.replace(native, provider=owner).cancel(job)
        return None
    if job.provider != native.spec.provider or job.input_sha256 != sha:
        what = "another provider" if job.provider != native.spec.provider else "another input"
        raise ConfigError(
            f"batch --native: {native.sink} has a {job.provider} job in flight"
            f" ({job.job_id or job.key}, from {job.input}) started for {what}; its results"
            " belong to that input. Run the command that started it to collect them, or pass"
            " --restart to cancel that job and start over"
        )
    if not job.plan.exists():
        raise ConfigError(
            f"batch --native: the plan {job.plan} of job {job.job_id or job.key} is missing;"
            " pass --restart to cancel that job and start over"
        )
    report(f"batch --native: reattaching to job {job.job_id or job.key} (journal {job.journal})")
    return job


def run_native(
    target: _api.Target,
    input: str | Path,
    output: str | Path,
    *,
    params: Mapping[str, Any] | None = None,
    retry_failed: bool = False,
    restart: bool = False,
    dedupe: bool = False,
    keep_staging: bool = False,
    cancel_on_interrupt: bool | Interrupt = False,
    poll_s: float | None = None,
    fsync: bool = True,
    config: _api.ConfigArg = None,
    progress: Progress | None = None,
) -> BatchSummary:
    """Run ``input`` as the platform's batch job; write ``output`` as :func:`batch` does.

    ``cancel_on_interrupt``: on Ctrl-C, True cancels the platform job (and deletes what
    it uploaded), False leaves it running (rerun to reattach), a callable is asked.
    ``keep_staging`` keeps the uploaded input and output objects. ``poll_s``: seconds
    between status polls (default 30, the adapter's ``poll_max`` if lower).
    """
    source, sink = Path(input), Path(output)
    _check_args(1, 0, 0, source, sink)
    spec = _spec_of(target, config)
    provider = _supporting(spec, config)
    on_interrupt: Interrupt | None
    if callable(cancel_on_interrupt):
        on_interrupt = cancel_on_interrupt
    else:
        on_interrupt = (lambda job: True) if cancel_on_interrupt else None
    summary = BatchSummary(
        input=str(source),
        output=str(sink),
        deployment=spec.name,
        provider=spec.provider,
        model=spec.model,
        started_at=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    )
    native = _Native(
        spec=spec,
        provider=provider,
        source=source,
        sink=sink,
        summary=summary,
        params=dict(params or {}),
        keep_staging=keep_staging,
        on_interrupt=on_interrupt,
        poll_s=POLL_S if poll_s is None else poll_s,
        progress=progress,
        fsync=fsync,
    )
    began = time.perf_counter()
    with _exclusive(sink):
        prepared = _prepare(source, sink, restart=restart, retry_failed=retry_failed, dedupe=dedupe)
        summary.total, summary.repaired_bytes = prepared.check.total, prepared.state.torn_bytes
        summary.deduplicated = prepared.deduplicated
        done = set(prepared.state.done)
        summary.skipped = len(done)
        job = _journalled(native, prepared.check.sha256, restart, config)
        for _ in range(2):  # a reattached job, then one for lines it did not cover
            if job is None:
                job = native.plan(done, prepared.check.sha256)
                if job is None:
                    break
            if job.state != "submitted":
                native.submit(job)
            status = native.wait(job)
            if status.state == "cancelled":  # stopped on the platform, not by us
                provider.finish_batch_job(job, keep_staging=keep_staging)
                job.forget()
                summary.duration_s = time.perf_counter() - began
                summary.cost_note = f"job {job.job_id or job.key} was cancelled on the platform"
                return summary
            native.collect(job, status, done)
            native.settle(job, status)
            provider.finish_batch_job(job, keep_staging=keep_staging)
            job.forget()
            job = None
        summary.completed = True
    summary.duration_s = time.perf_counter() - began
    return summary


# -- before: what it would cost --------------------------------------------------------
@dataclass
class NativeEstimate:
    """A native job's estimated cost beside the endpoint path's, for ``--dry-run``."""

    deployment: str
    provider: str
    requests: int
    native: CostEstimate
    endpoint: CostEstimate
    endpoint_basis: str

    def text(self) -> str:
        lines = [f"batch {self.deployment} --native on {self.provider}: {self.requests} request(s)"]
        for label, estimate, basis in (
            ("native job", self.native, _basis(self.native)),
            ("through an endpoint", self.endpoint, self.endpoint_basis),
        ):
            shown = "unknown" if estimate.usd is None else _usd(estimate.usd)
            where = f" (source {estimate.source}, {estimate.as_of})" if estimate.source else ""
            lines.append(f"  {label}: {shown}: {basis}{where}")
            lines.extend(f"    note: {text}" for text in estimate.warnings)
        if self.native.usd is not None and self.endpoint.usd is not None:
            cheaper = "native job" if self.native.usd <= self.endpoint.usd else "endpoint"
            lines.append(f"  cheaper: {cheaper}")
        lines.append("  nothing was uploaded or started (dry run)")
        return "\n".join(lines)


def estimate_native(
    target: _api.Target,
    input: str | Path,
    *,
    params: Mapping[str, Any] | None = None,
    config: _api.ConfigArg = None,
) -> NativeEstimate:
    """What ``input`` would cost as a native job and through an endpoint (sends nothing)."""
    source = Path(input)
    _check_args(1, 0, 0, source, source.with_name(source.name + ".dry-run"))
    spec = _spec_of(target, config)
    provider = _supporting(spec, config)
    job = BatchJob(
        key="dry-run",
        provider=spec.provider,
        deployment=spec.name,
        model=spec.model,
        folder=Path(),
        output="",
        input=str(source),
        input_sha256="",
        count=0,
    )
    chars = 0
    for item in read_input(source):
        job.count += 1
        chars += len(json.dumps([item.request, {**(params or {}), **item.params}]))
    job.data["request_chars"] = chars
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        native = provider.batch_job_cost(spec, job, None)
        endpoint, basis = _endpoint_estimate(provider, spec, job)
    notes = [str(w.message) for w in caught]
    for estimate in (native, endpoint):
        if estimate.usd is None and not estimate.warnings:
            estimate.warnings = notes[:1]
    return NativeEstimate(spec.name, spec.provider, job.count, native, endpoint, basis)


def _endpoint_estimate(
    provider: Provider, spec: DeploymentSpec, job: BatchJob
) -> tuple[CostEstimate, str]:
    """The endpoint path's cost: the adapter's own figure in ``job.data``, else an hour."""
    hours = job.data.get("endpoint_hours")
    tokens = job.data.get("estimated_tokens")
    if provider.capabilities_for_spec(spec).dedicated:
        if hours is None:
            hours = 1.0
        estimate = provider.cost(spec, hours=float(hours))
        return estimate, f"{hours:g} hour(s) of the endpoint's instances (billed while it is up)"
    if isinstance(tokens, list | tuple) and len(tokens) == 2:
        estimate = provider.cost(spec, input_tokens=int(tokens[0]), output_tokens=int(tokens[1]))
        return estimate, f"~{tokens[0]} input and ~{tokens[1]} output tokens at the on-demand rate"
    return CostEstimate(usd=None), "per-request billing (no token estimate)"
