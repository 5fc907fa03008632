"""Run a JSON Lines file of requests through one deployment, resumably.

>>> from hostkit.batch import batch
>>> summary = batch("scores", "input.jsonl", "output.jsonl", concurrency=32)
>>> print(summary.text())

Each input line is one request: ``{"id": "a", "request": "Hello", "params": {...}}``,
or a bare payload (``{"id": 7, "hours": 6}`` sends ``{"hours": 6}``), or any JSON
value (``"Hello"``). A line without ``id`` is known by its line number. Each request
gives exactly one output line, written as it completes with one ``write`` (and an
``fsync`` right behind it): ``{"id", "line", "ok": true, "result": {...}, "attempts"}`` or
``{"id", "line", "ok": false, "error": {...}, "attempts"}``.

Run it again after a Ctrl-C, a crash or a ``kill -9`` and it resumes: ids already in
the output are skipped, and a last line torn by a kill is cut off first, so the
output stays valid JSON Lines with every id once. Failed lines count as done; pass
``retry_failed=True`` to send them again (their old lines are removed first).

What keeps every result beside its own request: one batch writes an output at a
time (an exclusive ``flock`` on ``OUT.lock``; a second is refused at once); each line
carries ``request_sha256``, and a resume whose input asks something else under an id
already done is refused (``restart=True`` starts over), as is an output holding an id
twice (``dedupe=True`` keeps one per id); ``OUT.meta.json`` records how the input's
lines were known (line numbers or explicit ids). After ``max_consecutive_failures``
lines in a row find no deployment, the batch stops without writing them: rerun to resume.

Memory stays flat whatever the input size: the input is read line by line, at
most ``concurrency`` requests are held at a time, and results are not kept. What
grows with the input is one set of ids (the ids already in the output, and the
check that input ids are unique, in a first pass over the file): tens of bytes an
id. Not imported by ``import hostkit``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import fcntl
import hashlib
import json
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hostkit import _api
from hostkit._http import connection_pool
from hostkit._models import Deployment, InvokeResult
from hostkit._redact import get_logger
from hostkit._retry import RetryPolicy
from hostkit.compare import hourly_price, is_dedicated, resolve_target, run_sync
from hostkit.errors import ConfigError, HostkitError, NotFound, ProviderError, RateLimited, Timeout

__all__ = ["BatchItem", "BatchSummary", "abatch", "batch", "read_input", "scan_output"]

log = get_logger("hostkit.batch")
Progress = Callable[["BatchSummary"], None]
#: how many times one line is sent again after a 429 before it is written as failed
RATE_LIMIT_RETRIES = 20
#: a 429 asking to wait longer than this stops the batch (run it again later to resume)
MAX_WAIT_S = 600.0
#: lines in a row that found no deployment (not found, connection refused) before the
#: batch stops, resumably
MAX_CONSECUTIVE_FAILURES = 5
#: how many ids an error message names before "and N more"
_SHOWN = 5
_EXAMPLE = '{"id": "a", "request": "Hello"}'


# -- input -----------------------------------------------------------------------------
@dataclass
class BatchItem:
    """One input line: its id (or line number), the request and per-line params."""

    line: int
    id: str | int
    request: Any
    params: dict[str, Any] = field(default_factory=dict)
    #: the id is the line number (the line gave none)
    numbered: bool = False

    @property
    def key(self) -> str:
        return _key(self.id)

    @property
    def request_sha256(self) -> str:
        """A hash of what is sent (request and per-line params; not the id or line)."""
        canonical = json.dumps(
            [self.request, self.params], sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


def _key(ident: object) -> str:
    return json.dumps(ident)  # "1" and 1 stay different ids


def _parse_line(file: Path, number: int, raw: bytes) -> BatchItem | None:
    if not raw.strip():
        return None
    where = f"batch: {file} line {number}"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{where} is not UTF-8 text (byte 0x{raw[error.start]:02x} at column"
            f" {error.start + 1}); save the input as UTF-8"
        ) from None
    try:
        value = json.loads(raw)
    except ValueError as error:
        raise ConfigError(
            f"{where} is not JSON ({error}); write one JSON request a line, e.g. {_EXAMPLE}"
        ) from None
    if not isinstance(value, dict):
        return BatchItem(number, number, value, numbered=True)
    body = dict(value)
    numbered = "id" not in body
    ident = body.pop("id", number)
    if isinstance(ident, bool) or not isinstance(ident, str | int):
        raise ConfigError(f"{where}: id must be a string or a whole number, got {ident!r}")
    if "request" not in body:
        if not body:
            raise ConfigError(f"{where} has an id but no request; e.g. {_EXAMPLE}")
        return BatchItem(number, ident, body, numbered=numbered)
    request = body.pop("request")
    params = body.pop("params", {})
    if not isinstance(params, dict):
        raise ConfigError(f'{where}: params must be an object such as {{"max_tokens": 64}}')
    if body:
        raise ConfigError(
            f"{where}: unexpected field(s) {', '.join(sorted(body))} beside request;"
            " allowed: id, request, params"
        )
    return BatchItem(number, ident, request, params, numbered=numbered)


def read_input(path: str | Path) -> Iterator[BatchItem]:
    """The requests of a JSON Lines file, one at a time (blank lines skipped)."""
    return _read(Path(path))


def _read(file: Path, whole: Any = None) -> Iterator[BatchItem]:
    """:func:`read_input`, feeding every raw line to ``whole.update`` too when given."""
    try:
        handle = file.open("rb")
    except OSError as error:
        raise ConfigError(f"batch: cannot read input {file}: {error.strerror or error}") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if whole is not None:
                whole.update(raw)
            item = _parse_line(file, number, raw)
            if item is not None:
                yield item


@dataclass
class InputCheck:
    """The input, read once before anything is sent, against what the output holds."""

    total: int
    #: how lines are known: "line numbers", "explicit ids" or "mixed"
    ids: str
    sha256: str
    #: lines whose id has a result in the output for a different request
    changed: list[BatchItem] = field(default_factory=list)
    changed_count: int = 0
    #: lines whose result in the output carries no request hash (an older hostkit wrote it)
    unverified: int = 0


def _check_input(
    path: Path,
    prior: Mapping[str, str | None] | None = None,
    ignore: set[str] | frozenset[str] = frozenset(),
) -> InputCheck:
    """Every line parses, every id is unique, and each id in ``prior`` asks the same.

    ``ignore``: ids whose earlier result is about to be dropped (``retry_failed``).
    """
    seen: set[str] = set()
    whole = hashlib.sha256()
    numbered = 0
    check = InputCheck(0, "", "")
    for item in _read(path, whole):
        if item.key in seen:
            raise ConfigError(
                f"batch: {path} line {item.line}: id {item.id!r} appears on an earlier line too;"
                " ids must be unique (or leave them out to use line numbers)"
            )
        seen.add(item.key)
        numbered += item.numbered
        if prior is not None and item.key in prior and item.key not in ignore:
            earlier = prior[item.key]
            if earlier is None:
                check.unverified += 1
            elif earlier != item.request_sha256:
                check.changed_count += 1
                if len(check.changed) < _SHOWN:
                    check.changed.append(item)
    if not seen:
        raise ConfigError(f"batch: {path} holds no requests")
    check.total = len(seen)
    check.sha256 = whole.hexdigest()
    check.ids = (
        "line numbers" if numbered == check.total else "explicit ids" if numbered == 0 else "mixed"
    )
    return check


def _refuse_changed(source: Path, sink: Path, check: InputCheck) -> None:
    """A ConfigError naming the ids whose request is not the one their result answers."""
    named = ", ".join(f"id {item.id!r} (line {item.line})" for item in check.changed)
    more = check.changed_count - len(check.changed)
    if more:
        named += f" and {more} more"
    shifted = (
        "; with line-number ids, inserting or removing a line shifts every id after it"
        if check.ids != "explicit ids"
        else ""
    )
    raise ConfigError(
        f"batch: {source} changed since {sink} was written: the results in {sink} for"
        f" {named} answer other requests than these lines now hold, so resuming would pair"
        f" results with the wrong requests{shifted}. Nothing was sent. Put the old input back,"
        f" give a new --output, or pass --restart to discard the results in {sink} and start"
        ' over (give each line an "id" to make reordering and inserting lines safe; if only'
        " failed lines changed, --retry-failed sends them again as they are now)"
    )


# -- output ----------------------------------------------------------------------------
@dataclass
class OutputState:
    """What an earlier run left in the output file."""

    #: id key -> the ``request_sha256`` of its result (None: written by an older hostkit)
    done: dict[str, str | None]
    ok: int
    failed: int
    torn_bytes: int
    #: id key -> how many lines beyond the first hold it (exactly-once broken)
    duplicates: dict[str, int] = field(default_factory=dict)
    #: the ids whose result is a failure
    failed_keys: set[str] = field(default_factory=set)


def scan_output(path: str | Path, *, repair: bool = True) -> OutputState:
    """Ids already in ``path``; a torn last line (no newline: a kill mid-write) is cut off."""
    file = Path(path)
    state = OutputState({}, 0, 0, 0)
    if not file.exists():
        return state
    good_end = 0
    with _open_output(file, "r+b" if repair else "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.endswith(b"\n"):
                break  # only the last line can lack its newline
            record = _output_record(file, number, raw)
            good_end += len(raw)
            if record is None:
                continue
            key = _key(record["id"])
            if key in state.done:
                state.duplicates[key] = state.duplicates.get(key, 0) + 1
            digest = record.get("request_sha256")
            state.done[key] = digest if isinstance(digest, str) else None
            if record.get("ok"):
                state.ok += 1
            else:
                state.failed += 1
                state.failed_keys.add(key)
        size = handle.seek(0, os.SEEK_END)
        state.torn_bytes = size - good_end
        if state.torn_bytes and repair:
            log.warning("%s: cutting a torn last line (%d bytes)", file, state.torn_bytes)
            handle.truncate(good_end)
            handle.flush()
            os.fsync(handle.fileno())
    return state


def _open_output(file: Path, mode: str) -> Any:
    """``file.open(mode)``, or a ConfigError naming the output and what is wrong."""
    try:
        return file.open(mode)
    except OSError as error:
        raise ConfigError(f"batch: cannot open output {file}: {error.strerror or error}") from None


def _refuse_duplicates(file: Path, duplicates: Mapping[str, int]) -> None:
    """A ConfigError naming the ids ``file`` holds more than once."""
    shown = [repr(json.loads(key)) for key in list(duplicates)[:_SHOWN]]
    more = len(duplicates) - len(shown)
    named = ", ".join(shown) + (f" and {more} more" if more else "")
    extra = sum(duplicates.values())
    raise ConfigError(
        f"batch: output {file} holds id {named} more than once ({extra} extra line(s)): two"
        " runs wrote to it at once (a hostkit that took no lock on the output), or it was"
        " edited. Nothing was sent. Pass --dedupe (dedupe=True) to keep one result per id"
        " (the first successful one, else the first) and resume, or give another --output"
    )


def _dedupe(file: Path) -> int:
    """Rewrite ``file`` with one line per id (atomically); how many lines were dropped."""
    keep: dict[str, tuple[int, bool]] = {}  # id key -> (line number kept, ok)
    with _open_output(file, "rb") as source:
        for number, raw in enumerate(source, start=1):
            record = _output_record(file, number, raw)
            if record is None:
                continue
            key, ok = _key(record["id"]), bool(record.get("ok"))
            if key not in keep or (ok and not keep[key][1]):
                keep[key] = (number, ok)
    wanted = {number for number, _ in keep.values()}
    dropped = 0
    temp = file.with_name(file.name + ".dedupe.tmp")
    with file.open("rb") as source, temp.open("wb") as target:
        for number, raw in enumerate(source, start=1):
            if number in wanted:
                target.write(raw)
            elif raw.strip():
                dropped += 1
        target.flush()
        os.fsync(target.fileno())
    os.replace(temp, file)
    _fsync_dir(file.parent)
    return dropped


# -- the sidecars: a lock and what the output was written from -------------------------
def _lock_path(file: Path) -> Path:
    return file.with_name(file.name + ".lock")


def _meta_path(file: Path) -> Path:
    return file.with_name(file.name + ".meta.json")


@contextlib.contextmanager
def _exclusive(file: Path) -> Iterator[None]:
    """Hold ``OUT.lock`` (``flock``, not waiting): one batch writes an output at a time.

    The lock is on a sidecar, not the output itself, because ``--retry-failed`` and
    ``--dedupe`` replace the output file (a lock on the old file would not hold the new
    one). The kernel drops it when the process ends, however it ends.
    """
    lock = _lock_path(file)
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise ConfigError(
            f"batch: output {file}: cannot create its lock file {lock}: {error.strerror or error}"
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise ConfigError(
                f"batch: output {file} is being written by another batch (pid {holder}, which"
                f" holds {lock}); two batches on one output would send and write every id"
                " twice. Wait for it to finish (or stop it), or give another --output"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def _read_meta(file: Path) -> dict[str, Any] | None:
    """What ``OUT.meta.json`` says the output was written from (None: no sidecar)."""
    try:
        meta = json.loads(_meta_path(file).read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        log.warning("%s: ignoring an unreadable sidecar (%s)", _meta_path(file), error)
        return None
    return meta if isinstance(meta, dict) else None


def _write_meta(file: Path, meta: Mapping[str, Any]) -> None:
    """Write ``OUT.meta.json`` atomically (temp file 0600, fsync, rename)."""
    target = _meta_path(file)
    temp = target.with_name(target.name + ".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, (json.dumps(meta, indent=2) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, target)
    _fsync_dir(file.parent)


def _check_scheme(meta: Mapping[str, Any] | None, check: InputCheck, sink: Path) -> None:
    """Refuse a resume whose input names its lines another way than the output's did."""
    before = (meta or {}).get("ids")
    if before is None or before == check.ids:
        return
    raise ConfigError(
        f"batch: {sink} was written from an input known by {before}, and this input is known"
        f" by {check.ids}: its results cannot be matched to these lines. Nothing was sent."
        f" Give a new --output, or pass --restart to discard the results in {sink}"
    )


def _output_record(file: Path, number: int, raw: bytes) -> dict[str, Any] | None:
    if not raw.strip():
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        record = None
    if not isinstance(record, dict) or "id" not in record or "ok" not in record:
        raise ConfigError(
            f"batch: output {file} line {number} is not a batch result line (JSON with id and"
            " ok); give another --output, or remove the file to start over"
        )
    return record


def _drop_failed(file: Path) -> None:
    """Rewrite ``file`` without its failed lines (atomically: temp file, fsync, rename)."""
    temp = file.with_name(file.name + ".retry-failed.tmp")
    with file.open("rb") as source, temp.open("wb") as target:
        for number, raw in enumerate(source, start=1):
            record = _output_record(file, number, raw)
            if record is not None and record.get("ok"):
                target.write(raw)
        target.flush()
        os.fsync(target.fileno())
    os.replace(temp, file)
    _fsync_dir(file.parent)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class _Writer:
    """Appends one JSON line per call with a single ``write``; a thread fsyncs behind it.

    The write goes straight to the file (no buffer to flush), so a crash or a
    ``kill -9`` of this process never loses a written line. The fsync that makes it
    survive a power cut runs in a thread, so the event loop never waits on the disk:
    every line is covered by an fsync issued after its write (one fsync covers all
    lines written while the previous one ran), and ``close`` fsyncs a last time.
    """

    def __init__(self, path: Path, sync: bool) -> None:
        try:
            self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as error:
            raise ConfigError(
                f"batch: cannot write output {path}: {error.strerror or error}"
            ) from None
        if path.stat().st_size == 0:
            _fsync_dir(path.parent)
        self._dirty = threading.Event()
        self._closing = False
        self._thread: threading.Thread | None = None
        if sync:
            self._thread = threading.Thread(target=self._sync_loop, name="batch-fsync", daemon=True)
            self._thread.start()

    def write(self, record: Mapping[str, Any]) -> None:
        view = memoryview((json.dumps(record, default=str) + "\n").encode())
        while view:
            view = view[os.write(self.fd, view) :]
        self._dirty.set()

    def _sync_loop(self) -> None:
        while True:
            self._dirty.wait()
            self._dirty.clear()
            if self._closing:
                return
            os.fsync(self.fd)

    def close(self) -> None:
        if self._thread is not None:
            self._closing = True
            self._dirty.set()
            self._thread.join()
            os.fsync(self.fd)
        os.close(self.fd)


def _record(item: BatchItem, ok: bool) -> dict[str, Any]:
    return {"id": item.id, "line": item.line, "request_sha256": item.request_sha256, "ok": ok}


def _ok_record(item: BatchItem, result: InvokeResult, attempts: int) -> dict[str, Any]:
    body: dict[str, Any] = {"text": result.text}
    if result.text is None or result.output != result.text:
        body["output"] = result.output
    body.update(
        usage={
            "input_tokens": result.usage.input_tokens,
            "output_tokens": result.usage.output_tokens,
        },
        cost_usd=result.cost_usd,
        latency_s=round(result.latency_s, 6),
        ttft_s=result.ttft_s,
        request_id=result.request_id,
        timings=result.timings,
    )
    return {**_record(item, True), "result": body, "attempts": attempts}


def _error_record(item: BatchItem, error: HostkitError, attempts: int) -> dict[str, Any]:
    detail = {
        "type": type(error).__name__,
        "message": str(error),
        "status_code": error.status_code,
        "request_id": error.request_id,
        "retryable": error.retryable,
    }
    return {**_record(item, False), "error": detail, "attempts": attempts}


# -- slowing down ----------------------------------------------------------------------
class AdaptiveLimit:
    """At most ``limit`` requests at once: halved on a 429, grown by one per full window.

    A 429 cuts the limit only when its request was sent after the last cut (so a
    burst of 429s from one window halves it once), and pauses new requests for the
    platform's ``Retry-After``. A success announcing no requests (or tokens) left
    pauses new requests until the announced reset.
    """

    def __init__(self, ceiling: int) -> None:
        self.ceiling = ceiling
        self.limit = ceiling
        self.lowest = ceiling
        self.active = 0
        self.cuts = 0
        self.paused_until = 0.0
        self._streak = 0
        self._free = asyncio.Event()

    async def acquire(self) -> int:
        """Wait for a slot; returns the cut generation the request is sent in."""
        while True:
            wait = self.paused_until - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            elif self.active < self.limit:
                self.active += 1
                return self.cuts
            else:
                self._free.clear()
                await self._free.wait()

    def release(self) -> None:
        self.active -= 1
        self._free.set()

    def succeeded(self, rate_limits: Mapping[str, Any]) -> None:
        self._streak += 1
        if self._streak >= self.limit and self.limit < self.ceiling:
            self.limit += 1
            self._streak = 0
            self._free.set()
        for left, reset in (
            ("remaining_requests", "reset_requests_s"),
            ("remaining_tokens", "reset_tokens_s"),
        ):
            seconds = rate_limits.get(reset)
            if rate_limits.get(left) == 0 and isinstance(seconds, int | float) and seconds > 0:
                self.pause(float(seconds))

    def rate_limited(self, generation: int, wait: float) -> None:
        if generation == self.cuts:
            self.cuts += 1
            self.limit = max(1, self.limit // 2)
            self.lowest = min(self.lowest, self.limit)
            self._streak = 0
        self.pause(wait)

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)


# -- the summary -----------------------------------------------------------------------
@dataclass
class BatchSummary:
    """Counts, tokens, cost and time of one run (``skipped``: done by an earlier run)."""

    input: str
    output: str
    deployment: str
    provider: str
    model: str
    started_at: str
    total: int = 0
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    retries: int = 0
    rate_limited: int = 0
    concurrency: int = 0
    concurrency_lowest: int = 0
    concurrency_now: int = 0
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    cost_basis: str = ""
    cost_note: str | None = None
    cost_source: str | None = None
    cost_as_of: str | None = None
    duration_s: float = 0.0
    repaired_bytes: int = 0
    deduplicated: int = 0
    completed: bool = False

    @property
    def done(self) -> int:
        return self.ok + self.failed + self.skipped

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "done": self.done}

    def text(self) -> str:
        """A short human summary."""
        state = "done" if self.completed else "stopped (run again to resume)"
        errors = ", ".join(f"{k} {v}" for k, v in self.errors.items())
        if self.cost_usd is None:
            cost = f"unknown ({self.cost_note})"
        else:
            cost = f"{_usd(self.cost_usd)}: {self.cost_basis}"
        lines = [
            f"batch {self.deployment}: {state} in {self.duration_s:.1f}s",
            f"  ok {self.ok}, failed {self.failed}{f' ({errors})' if errors else ''},"
            f" skipped {self.skipped} (already in {self.output}); {self.done}/{self.total}",
            f"  retries {self.retries}, rate limited {self.rate_limited} times,"
            f" concurrency {self.concurrency} (lowest {self.concurrency_lowest})",
            f"  tokens in {_n(self.input_tokens)}, out {_n(self.output_tokens)}; cost {cost}",
        ]
        return "\n".join(lines)


def _n(value: int | None) -> str:
    return "-" if value is None else str(value)


def _add(total: int | None, value: int | None) -> int | None:
    if value is None:
        return total
    return (total or 0) + value


@dataclass
class _Costs:
    known_usd: float = 0.0
    unpriced: int = 0


def _usd(amount: float) -> str:
    """Cents for a dollar or more; small sums to the first significant digits."""
    if amount == 0 or abs(amount) >= 0.01:
        return f"${amount:,.2f}"
    return f"${amount:.3g}"


def _settle_cost(summary: BatchSummary, deployment: Deployment, costs: _Costs) -> None:
    """Dedicated: hourly price x run time. Per-use: the sum of the calls' own cost_usd."""
    if is_dedicated(deployment):
        hourly = hourly_price(deployment)
        summary.cost_basis = "hourly price x run time (billed per hour, busy or not)"
        summary.cost_source, summary.cost_as_of = hourly.source, hourly.as_of
        if hourly.usd is None:
            summary.cost_note = "; ".join(hourly.warnings) or "no hourly price known"
        else:
            summary.cost_usd = hourly.usd * summary.duration_s / 3600
        return
    summary.cost_basis = "sum of each call's cost_usd (per-use billing)"
    if costs.unpriced:
        summary.cost_note = (
            f"{costs.unpriced} of {summary.ok} results came without a price: the"
            f" {deployment.provider} adapter knows no price for {deployment.model}"
            " (set one under [prices] in the config)"
        )
        return
    summary.cost_usd = costs.known_usd
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimate = _api.cost(deployment, input_tokens=0, output_tokens=0)
    summary.cost_source = estimate.source or f"cost_usd of the {deployment.provider} adapter"
    summary.cost_as_of = estimate.as_of


# -- running ---------------------------------------------------------------------------
class _Stop(Exception):
    def __init__(self, error: RateLimited) -> None:
        super().__init__(str(error))
        self.error = error


class _Gone(Exception):
    """Too many lines in a row found no deployment: stop, write nothing more."""

    def __init__(self, error: HostkitError) -> None:
        super().__init__(str(error))
        self.error = error


def _unreachable(error: HostkitError) -> bool:
    """The deployment is not there: not found, or no connection (no HTTP answer at all).

    Counted: NotFound; a request that never reached a server (``request_not_sent``:
    connection refused, no route, connect timeout); and a connection that broke with
    no HTTP status (a retryable ProviderError without ``status_code``: the server went
    away mid-request). Not counted: timeouts of a server that accepted the request.
    """
    if isinstance(error, NotFound) or getattr(error, "request_not_sent", False):
        return True
    return isinstance(error, ProviderError) and error.status_code is None and error.retryable


@dataclass
class _Run:
    deployment: Deployment
    params: dict[str, Any]
    writer: _Writer
    limit: AdaptiveLimit
    policy: RetryPolicy
    retries: int
    summary: BatchSummary
    costs: _Costs
    progress: Progress | None
    max_consecutive_failures: int = MAX_CONSECUTIVE_FAILURES
    #: unreachable failures in a row, held back: written only once the deployment answers
    held: list[tuple[BatchItem, HostkitError, int]] = field(default_factory=list)

    async def one(self, item: BatchItem) -> None:
        """Send one line until it succeeds, fails for good, or the batch must stop."""
        attempts = transient = limited = 0
        while True:
            generation = await self.limit.acquire()
            attempts += 1
            try:
                result = await _api.ainvoke(
                    self.deployment, item.request, **{**self.params, **item.params}
                )
            except RateLimited as error:
                self.limit.release()
                self.summary.rate_limited += 1
                limited += 1
                wait = self.policy.wait_for(error, limited)
                if wait > self.policy.max_retry_after:
                    raise _Stop(error) from error
                if limited <= RATE_LIMIT_RETRIES:
                    self.limit.rate_limited(generation, wait)
                    self.summary.retries += 1
                    continue
                return self._failed(item, error, attempts)
            except HostkitError as error:
                self.limit.release()
                if transient < self.retries and self.policy.should_retry(error, safe=True):
                    transient += 1
                    self.summary.retries += 1
                    await asyncio.sleep(self.policy.wait_for(error, transient))
                    continue
                return self._failed(item, error, attempts)
            self.limit.release()
            self.limit.succeeded(result.rate_limits)
            return self._succeeded(item, result, attempts)

    def _succeeded(self, item: BatchItem, result: InvokeResult, attempts: int) -> None:
        self._answered()
        self.writer.write(_ok_record(item, result, attempts))
        summary = self.summary
        summary.ok += 1
        summary.input_tokens = _add(summary.input_tokens, result.usage.input_tokens)
        summary.output_tokens = _add(summary.output_tokens, result.usage.output_tokens)
        if result.cost_usd is None:
            self.costs.unpriced += 1
        else:
            self.costs.known_usd += result.cost_usd
        self.tick()

    def _failed(self, item: BatchItem, error: HostkitError, attempts: int) -> None:
        if self.max_consecutive_failures and _unreachable(error):
            self.held.append((item, error, attempts))
            if len(self.held) >= self.max_consecutive_failures:
                raise _Gone(error)
            return
        self._answered()
        self._write_failed(item, error, attempts)

    def _answered(self) -> None:
        """The deployment answered: the unreachable lines held back were failures after all."""
        held, self.held = self.held, []
        for item, error, attempts in held:
            self._write_failed(item, error, attempts)

    def _write_failed(self, item: BatchItem, error: HostkitError, attempts: int) -> None:
        self.writer.write(_error_record(item, error, attempts))
        self.summary.failed += 1
        name = type(error).__name__
        self.summary.errors[name] = self.summary.errors.get(name, 0) + 1
        self.tick()

    def tick(self) -> None:
        self.summary.concurrency_now = self.limit.limit
        self.summary.concurrency_lowest = self.limit.lowest
        if self.progress is not None:
            self.progress(self.summary)


async def _drain(pending: set[asyncio.Task[None]], until: int) -> set[asyncio.Task[None]]:
    """Wait until at most ``until`` tasks are left; re-raise what a finished one raised."""
    while len(pending) > until:
        finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for task in finished:
            task.result()
    return pending


def _whole(name: str, value: object, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigError(f"{name}: expected a whole number >= {least}, got {value!r}")


def _check_args(
    concurrency: int, retries: int, max_failures: int, source: Path, target: Path
) -> None:
    _whole("concurrency", concurrency, 1)
    _whole("retries", retries, 0)
    _whole("max_consecutive_failures", max_failures, 0)
    if source.is_dir():
        raise ConfigError(f"batch: input {source} is a directory; give a JSON Lines file")
    if not source.is_file():
        raise ConfigError(f"batch: input {source} does not exist (or is not a file)")
    if target.is_dir():
        raise ConfigError(
            f"batch: output {target} is a directory; give a file to write, such as"
            f" {target / 'results.jsonl'}"
        )
    if not target.parent.is_dir():
        raise ConfigError(f"batch: output {target}: folder {target.parent} does not exist")
    if target.exists() and target.resolve() == source.resolve():
        raise ConfigError(f"batch: output {target} is the input file; give another output")


@dataclass
class _Prepared:
    """The output made ready under the lock: what it holds and the input checked against it."""

    state: OutputState
    check: InputCheck
    deduplicated: int = 0


def _prepare(
    source: Path, sink: Path, *, restart: bool, retry_failed: bool, dedupe: bool
) -> _Prepared:
    """Scan (and repair) the output, check the input against it, record the sidecar.

    Runs with the output's lock held. Refuses, before anything is sent or changed
    beyond a torn last line, an output holding an id twice (unless ``dedupe``) and an
    input whose ids now ask something other than what their results answer.
    """
    if restart:
        scan_output(sink, repair=False)  # a file that is not batch results is refused, kept
        for path in (sink, _meta_path(sink)):
            path.unlink(missing_ok=True)
    state = scan_output(sink)
    deduplicated = 0
    if state.duplicates:
        if not dedupe:
            _refuse_duplicates(sink, state.duplicates)
        deduplicated = _dedupe(sink)
        state = scan_output(sink)
    check = _check_input(source, state.done, state.failed_keys if retry_failed else frozenset())
    if state.done:
        _check_scheme(_read_meta(sink), check, sink)
    if check.changed_count:
        _refuse_changed(source, sink, check)
    if check.unverified:
        log.warning(
            "%s: %d earlier result(s) carry no request hash (an older hostkit wrote them):"
            " their pairing with %s cannot be checked",
            sink,
            check.unverified,
            source,
        )
    if retry_failed and state.failed:
        _drop_failed(sink)
        state = scan_output(sink)
    _write_meta(
        sink,
        {
            "format": 1,
            "input": str(source.resolve()),
            "input_sha256": check.sha256,
            "ids": check.ids,
            "requests": check.total,
            "updated_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        },
    )
    return _Prepared(state, check, deduplicated)


def _gone_error(gone: _Gone, run: _Run, total: int, sink: Path) -> HostkitError:
    """The error a batch stops with when the deployment is not answering."""
    error = gone.error
    message = (
        f"batch stopped: the deployment {run.deployment.name} is not answering ({error})"
        f" after {run.max_consecutive_failures} lines in a row found no deployment (not"
        f" found, or no connection); nothing was lost: {run.summary.done} of {total} lines"
        f" are in {sink}, and lines not finished were not written. Rerun the same batch to"
        " resume once the deployment is back (--max-consecutive-failures 0 writes such lines"
        " as failed instead)"
    )
    kind: type[HostkitError] = (
        type(error) if isinstance(error, NotFound | ProviderError | Timeout) else ProviderError
    )
    return kind(message, provider=error.provider, status_code=error.status_code)


async def abatch(
    target: _api.Target,
    input: str | Path,
    output: str | Path,
    *,
    concurrency: int = 32,
    params: Mapping[str, Any] | None = None,
    retries: int = 3,
    retry_failed: bool = False,
    restart: bool = False,
    dedupe: bool = False,
    max_consecutive_failures: int = MAX_CONSECUTIVE_FAILURES,
    fsync: bool = True,
    policy: RetryPolicy | None = None,
    config: _api.ConfigArg = None,
    progress: Progress | None = None,
) -> BatchSummary:
    """Async :func:`batch`."""
    source, sink = Path(input), Path(output)
    _check_args(concurrency, retries, max_consecutive_failures, source, sink)
    with _exclusive(sink), connection_pool(concurrency):
        prepared = await asyncio.to_thread(
            _prepare, source, sink, restart=restart, retry_failed=retry_failed, dedupe=dedupe
        )
        deployment = await asyncio.to_thread(resolve_target, target, config)
        return await _execute(
            deployment,
            source,
            sink,
            prepared,
            concurrency=concurrency,
            params=params,
            retries=retries,
            max_consecutive_failures=max_consecutive_failures,
            fsync=fsync,
            policy=policy,
            progress=progress,
        )


async def _execute(
    deployment: Deployment,
    source: Path,
    sink: Path,
    prepared: _Prepared,
    *,
    concurrency: int,
    params: Mapping[str, Any] | None,
    retries: int,
    max_consecutive_failures: int,
    fsync: bool,
    policy: RetryPolicy | None,
    progress: Progress | None,
) -> BatchSummary:
    """Send what the output does not hold yet (the lock is held by the caller)."""
    state, total = prepared.state, prepared.check.total
    summary = BatchSummary(
        input=str(source),
        output=str(sink),
        deployment=deployment.name,
        provider=deployment.provider,
        model=deployment.model,
        started_at=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        total=total,
        concurrency=concurrency,
        concurrency_lowest=concurrency,
        concurrency_now=concurrency,
        repaired_bytes=state.torn_bytes,
        deduplicated=prepared.deduplicated,
    )
    run = _Run(
        deployment=deployment,
        params=dict(params or {}),
        writer=_Writer(sink, fsync),
        limit=AdaptiveLimit(concurrency),
        policy=policy or RetryPolicy(),
        retries=retries,
        summary=summary,
        costs=_Costs(),
        progress=progress,
        max_consecutive_failures=max_consecutive_failures,
    )
    done = state.done
    pending: set[asyncio.Task[None]] = set()
    began = time.perf_counter()
    try:
        for item in read_input(source):
            if done.pop(item.key, False) is not False:
                summary.skipped += 1
                run.tick()
                continue
            pending = await _drain(pending, concurrency - 1)
            pending.add(asyncio.create_task(run.one(item)))
        pending = await _drain(pending, 0)
        run._answered()  # the run finished: lines held back failed for good
        summary.completed = True
    except _Stop as stop:
        raise RateLimited(
            f"batch stopped: the platform asks to wait {stop.error.retry_after:g}s, more than"
            f" {run.policy.max_retry_after:g}s; run the same batch again later to resume"
            f" ({summary.done} of {total} lines are in {sink})",
            provider=stop.error.provider,
            retry_after=stop.error.retry_after,
            status_code=stop.error.status_code,
        ) from stop.error
    except _Gone as gone:
        raise _gone_error(gone, run, total, sink) from None
    finally:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        run.writer.close()
        summary.duration_s = time.perf_counter() - began
        _settle_cost(summary, deployment, run.costs)
    return summary


def batch(
    target: _api.Target,
    input: str | Path,
    output: str | Path,
    *,
    concurrency: int = 32,
    params: Mapping[str, Any] | None = None,
    retries: int = 3,
    retry_failed: bool = False,
    restart: bool = False,
    dedupe: bool = False,
    max_consecutive_failures: int = MAX_CONSECUTIVE_FAILURES,
    fsync: bool = True,
    policy: RetryPolicy | None = None,
    config: _api.ConfigArg = None,
    progress: Progress | None = None,
    native: bool = False,
    keep_staging: bool = False,
    cancel_on_interrupt: bool | Callable[[Any], bool] = False,
) -> BatchSummary:
    """Send every request of the JSON Lines file ``input`` to ``target``; one line each out.

    Resumable: ids already in ``output`` are skipped (failed ones too, unless
    ``retry_failed``). One batch writes an output at a time (a second one is refused
    with a ConfigError). Each result line carries ``request_sha256``, the hash of its
    request: a resume whose input asks something else under an id already done is
    refused (``restart=True`` discards the output and starts over), and so is an
    output holding an id twice (``dedupe=True`` keeps one result per id).

    At most ``concurrency`` requests run at once, fewer while the platform answers
    429 (halved per burst, paused for its ``Retry-After`` and its rate-limit headers,
    grown back one at a time). A transient error (5xx, timeout, connection) is sent
    again up to ``retries`` times on top of the provider's own retries; ``policy``
    sets the waits (default :class:`hostkit._retry.RetryPolicy`). After
    ``max_consecutive_failures`` lines in a row find no deployment (not found,
    connection refused) the batch stops, resumably, without writing those lines
    (0: never stop; write them as failed). ``params`` go to every call, a line's
    ``params`` to its own. ``fsync=False`` skips the fsync behind each line.
    ``progress`` is called with the live :class:`BatchSummary` after each line.

    ``native=True`` runs the file as the platform's own batch job instead (SageMaker
    Batch Transform, Groq's Batch API; no deployment is used or left running): same
    input and output, see :func:`hostkit.batch_jobs.run_native` for ``keep_staging``
    and ``cancel_on_interrupt``; concurrency, retries and policy do not apply.
    """
    if native:
        from hostkit.batch_jobs import run_native

        return run_native(
            target,
            input,
            output,
            params=params,
            retry_failed=retry_failed,
            restart=restart,
            dedupe=dedupe,
            keep_staging=keep_staging,
            cancel_on_interrupt=cancel_on_interrupt,
            fsync=fsync,
            config=config,
            progress=progress,
        )
    return run_sync(
        abatch(
            target,
            input,
            output,
            concurrency=concurrency,
            params=params,
            retries=retries,
            retry_failed=retry_failed,
            restart=restart,
            dedupe=dedupe,
            max_consecutive_failures=max_consecutive_failures,
            fsync=fsync,
            policy=policy,
            config=config,
            progress=progress,
        )
    )
