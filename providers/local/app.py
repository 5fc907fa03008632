"""The ASGI application each worker process of a local deployment runs.

Routes:

* ``GET /health`` - 200 ``{"status": "ok", "pid": ..., "kind": ...}`` when the model
  (or the upstream LLM server) answers, else 503;
* ``POST /invoke`` - ``{"input": ...}`` -> ``{"output": ...}`` for Python models;
* ``POST /v1/chat/completions`` - proxied as is (streaming included) to the
  OpenAI-compatible server started from ``options.command``.

Errors come back as ``{"error": {"message": ..., "type": ...}}``: 400 for bad input
(``bad_request``, ``bad_input``), 413 for a body over :data:`MAX_BODY_BYTES`, 424 for a
failure inside the model (``model_error``; not transient, so clients do not retry it),
504 for a call past its deadline (``model_timeout``) and 503 while a worker is being
replaced (``worker_restarting``).

Isolation: the Python model runs in one daemon thread per worker (:class:`ModelRunner`,
one call at a time, in arrival order), never on the event loop, so ``/health`` answers
while a call runs. Each call has a server-side deadline (``request_timeout`` in
``server.json``, default :data:`DEFAULT_REQUEST_TIMEOUT`). A worker whose call is still
running past its deadline logs why, answers what it holds, and exits; the supervisor
starts a fresh worker in its place (see ``server.py``). Worker and supervisor events go
to ``RUN_DIR/events.jsonl`` (:func:`record_event`, :func:`read_events`).

The worker writes its process id under ``<run dir>/workers/`` while it serves, so the
provider can count replicas.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import datetime as _dt
import json
import os
import queue
import signal
import sys
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from hostkit_providers.local.models import describe_model_error, load_predictor

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Outcome = tuple[int, bytes]

RUN_DIR_ENV = "HOSTKIT_LOCAL_RUN_DIR"
SUPERVISOR_ENV = "HOSTKIT_LOCAL_SUPERVISOR_PID"
BAD_INPUT = (ValueError, TypeError, KeyError)
DEFAULT_REQUEST_TIMEOUT = 60.0
MAX_BODY_BYTES = 100 * 2**20
EVENTS_FILE = "events.jsonl"
#: seconds a replaced worker gets to finish its responses before it exits regardless
REPLACE_GRACE = 10.0
#: exit status of a worker that had to force its exit (not uvicorn's 3, which would
#: make the supervisor give up instead of starting a replacement)
EXIT_REPLACED = 75


def read_server_config(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "server.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def record_event(run_dir: Path, event: str, **fields: Any) -> None:
    """Append one event (a JSON object per line, mode 0600) to ``RUN_DIR/events.jsonl``.

    Lines look like ``{"time": "2026-...Z", "event": "worker_replaced", "old_pid": 1,
    "new_pid": 2}``; ``event`` is one of ``worker_stuck`` (pid, deadline_s),
    ``worker_replaced`` (old_pid, new_pid, exit_code), ``worker_added`` and
    ``worker_removed`` (pid, workers).
    """
    moment = _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    line = json.dumps({"time": moment, "event": event, **fields}) + "\n"
    with contextlib.suppress(OSError):
        fd = os.open(run_dir / EVENTS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)


def read_events(run_dir: Path) -> list[dict[str, Any]]:
    """The events recorded so far (oldest first); unreadable lines are skipped."""
    try:
        text = (run_dir / EVENTS_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    events = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            event = json.loads(line)
            if isinstance(event, dict):
                events.append(event)
    return events


def replacement_count(run_dir: Path) -> int:
    """How many workers the supervisor has replaced (stuck, crashed or killed)."""
    return sum(1 for event in read_events(run_dir) if event.get("event") == "worker_replaced")


def _log(message: str) -> None:
    """One line to the worker's stdout, which the supervisor stamps into server.log."""
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.write(f"worker {os.getpid()}: {message}\n")
        sys.stdout.flush()


def _error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind}}


def _error_body(message: str, kind: str) -> bytes:
    return json.dumps(_error(message, kind)).encode()


_counter = 0


def _request_id() -> bytes:
    global _counter
    _counter += 1
    return f"local-{os.getpid()}-{_counter}".encode()


async def _send_bytes(
    send: Send, status: int, body: bytes, extra: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", _request_id()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_json(send: Send, status: int, payload: Any) -> None:
    await _send_bytes(send, status, json.dumps(payload).encode())


class BodyTooLarge(Exception):
    """The request body is over :data:`MAX_BODY_BYTES`."""


async def _body(scope: Scope, receive: Receive, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole request body; :class:`BodyTooLarge` past ``limit`` bytes."""
    for key, value in scope.get("headers", ()):
        if key.lower() == b"content-length" and value.isdigit() and int(value) > limit:
            raise BodyTooLarge
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def run_invoke(predictor: Callable[[Any], Any], body: bytes) -> Outcome:
    """Parse ``{"input": ...}``, call the model, serialise its output: (status, JSON body).

    Runs in the model thread, so a huge body or output never holds up the event loop.
    """
    try:
        payload = json.loads(body or b"null")
    except RecursionError:
        message = "request body is nested too deeply to parse as JSON; send a flatter structure"
        return 400, _error_body(message, "bad_request")
    except ValueError as error:  # includes UnicodeDecodeError
        return 400, _error_body(f"request body is not JSON: {error}", "bad_request")
    if not isinstance(payload, dict) or "input" not in payload:
        return 400, _error_body('expected {"input": ...}', "bad_request")
    try:
        output = predictor(payload["input"])
    except BAD_INPUT as error:
        return 400, _error_body(describe_model_error(error), "bad_input")
    except BaseException as error:
        traceback.print_exc()
        return 424, _error_body(describe_model_error(error), "model_error")
    try:
        return 200, json.dumps({"output": output}).encode()
    except (TypeError, ValueError, RecursionError) as error:
        return 424, _error_body(f"model output is not JSON: {error}", "model_error")


class Call:
    """One model call waiting for, or running in, the model thread."""

    __slots__ = ("abandoned", "body", "future", "loop", "started")

    def __init__(self, body: bytes, loop: asyncio.AbstractEventLoop) -> None:
        self.body = body
        self.loop = loop
        self.future: asyncio.Future[Outcome] = loop.create_future()
        self.started: float | None = None
        self.abandoned = False

    def resolve(self, outcome: Outcome) -> None:
        """Hand ``outcome`` to the waiting request (safe from any thread)."""

        def settle() -> None:
            if not self.future.done():
                self.future.set_result(outcome)

        with contextlib.suppress(RuntimeError):  # the loop is already closed
            self.loop.call_soon_threadsafe(settle)


class ModelRunner:
    """Runs the predictor in one daemon thread, one call at a time, in arrival order.

    A daemon thread, not an executor: a call that never returns must not keep the
    worker from exiting (executor threads are joined at interpreter exit).
    """

    def __init__(self, predictor: Callable[[Any], Any]) -> None:
        self.predictor = predictor
        self.current: Call | None = None
        self._queue: queue.SimpleQueue[Call] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="hostkit-model", daemon=True)
        self._thread.start()

    def submit(self, body: bytes, loop: asyncio.AbstractEventLoop) -> Call:
        call = Call(body, loop)
        self._queue.put(call)
        return call

    def drain(self) -> list[Call]:
        """Take every call still waiting (none of them has started)."""
        waiting = []
        with contextlib.suppress(queue.Empty):
            while True:
                waiting.append(self._queue.get_nowait())
        return waiting

    def _serve(self) -> None:
        while True:
            call = self._queue.get()
            if call.abandoned:
                continue
            call.started = time.monotonic()
            self.current = call
            try:
                outcome = run_invoke(self.predictor, call.body)
            except BaseException as error:
                outcome = 424, _error_body(describe_model_error(error), "model_error")
            self.current = None
            call.resolve(outcome)


def _request_timeout(config: dict[str, Any]) -> float:
    value = config.get("request_timeout")
    if value is None:
        return DEFAULT_REQUEST_TIMEOUT
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = 0.0
    if not seconds > 0:
        default = DEFAULT_REQUEST_TIMEOUT
        _log(f"request_timeout {value!r} is not a positive number; using {default:g}")
        return DEFAULT_REQUEST_TIMEOUT
    return seconds


class LocalApp:
    """One worker: loads the model once, then serves requests."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.config = read_server_config(run_dir)
        self.kind: str = self.config["kind"]
        self.request_timeout = _request_timeout(self.config)
        self.predictor: Callable[[Any], Any] | None = None
        self.runner: ModelRunner | None = None
        self.upstream: str | None = None
        self.replacing = False
        self._client: Any = None
        if self.kind == "python":
            self.predictor = load_predictor(self.config["model"], self.config.get("workdir"))
            self.runner = ModelRunner(self.predictor)
        else:
            self.upstream = f"http://127.0.0.1:{self.config['upstream_port']}"
        self.pid_file = run_dir / "workers" / str(os.getpid())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        status = 0

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._route(scope, receive, send_noting_status)
        finally:
            method, path = scope["method"], scope["path"]
            if not (path == "/health" and status == 200):  # status polls would drown the log
                _log(f"{method} {path} {status} {(time.perf_counter() - started) * 1000:.1f} ms")

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        try:
            if path == "/health" and method == "GET":
                await self._health(send)
            elif path == "/invoke" and method == "POST" and self.runner is not None:
                await self._invoke(scope, receive, send)
            elif path.startswith("/v1/") and self.upstream is not None:
                await self._proxy(scope, receive, send)
            else:
                await _send_json(send, 404, _error(f"no route {method} {path}", "not_found"))
        except BodyTooLarge:
            message = f"request body is over the {MAX_BODY_BYTES // 2**20} MB limit"
            await _send_json(send, 413, _error(message, "too_large"))

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # {"pid", "start"} (0600): the provider counts this worker as the deployment's
                # only while that pid still has that start time, never by pid alone
                from hostkit_providers.local.processes import write_pid_file

                self.pid_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                write_pid_file(self.pid_file, os.getpid())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.pid_file.unlink(missing_ok=True)
                if self._client is not None:
                    await self._client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _health(self, send: Send) -> None:
        info = {
            "status": "ok",
            "pid": os.getpid(),
            "kind": self.kind,
            "model": self.config["model"],
        }
        if self.replacing:
            info["status"] = "replacing"
            await _send_json(send, 503, info)
            return
        if self.upstream is not None:
            try:
                response = await self.client.get(
                    self.config.get("health_path", "/v1/models"), timeout=2.0
                )
                ok = response.status_code < 500
            except Exception:
                ok = False
            if not ok:
                info["status"] = "starting"
                await _send_json(send, 503, info)
                return
        await _send_json(send, 200, info)

    async def _invoke(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.runner is not None
        if self.replacing:
            await self._send_restarting(send)
            return
        body = await _body(scope, receive)
        call = self.runner.submit(body, asyncio.get_running_loop())
        try:
            status, payload = await asyncio.wait_for(
                asyncio.shield(call.future), self.request_timeout
            )
        except TimeoutError:
            call.abandoned = True
            if call.started is None and self._stuck_call() is not None:
                # it never ran: it waited behind a stuck call, so it is safe to retry
                self._replace_if_stuck(self._stuck_call())
                await self._send_restarting(send)
                return
            await self._send_timeout(send, call)
            return
        if status == 503:
            await self._send_restarting(send)
            return
        await _send_bytes(send, status, payload)

    async def _send_timeout(self, send: Send, call: Call) -> None:
        """504 for a call past its deadline; a worker whose call is stuck gets replaced."""
        limit = f"{self.request_timeout:g} s"
        if call.started is None:
            message = f"the model call waited its whole {limit} deadline behind earlier calls"
        else:
            message = f"the model call exceeded its {limit} deadline (request_timeout)"
            # replace the worker once this call has itself run for a whole deadline
            delay = max(0.0, call.started + self.request_timeout - time.monotonic())
            asyncio.get_running_loop().call_later(delay, self._replace_if_stuck, call)
        await _send_json(send, 504, _error(message, "model_timeout"))

    async def _send_restarting(self, send: Send) -> None:
        message = "this worker is being replaced after a stuck model call; retry the request"
        await _send_bytes(
            send, 503, _error_body(message, "worker_restarting"), ((b"retry-after", b"0"),)
        )

    def _stuck_call(self) -> Call | None:
        """The running call, if it has run for a whole deadline already."""
        assert self.runner is not None
        current = self.runner.current
        if current is None or current.started is None:
            return None
        return current if time.monotonic() - current.started >= self.request_timeout else None

    def _replace_if_stuck(self, call: Call | None) -> None:
        """Exit this worker if ``call`` is still running; the supervisor starts another."""
        assert self.runner is not None
        if call is None or self.replacing or self.runner.current is not call:
            return
        self.replacing = True
        _log(f"model call stuck past its {self.request_timeout:g}s deadline; replacing this worker")
        record_event(self.run_dir, "worker_stuck", pid=os.getpid(), deadline_s=self.request_timeout)
        restarting = 503, b""
        for waiting in self.runner.drain():
            waiting.abandoned = True
            waiting.resolve(restarting)
        # uvicorn's graceful shutdown: stop accepting, finish open responses, run the
        # lifespan shutdown; the stuck daemon thread does not hold up the exit
        os.kill(os.getpid(), signal.SIGTERM)
        threading.Timer(REPLACE_GRACE, os._exit, (EXIT_REPLACED,)).start()

    @property
    def client(self) -> Any:
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(base_url=self.upstream or "", timeout=None)
        return self._client

    async def _proxy(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _body(scope, receive)
        headers = {
            k.decode(): v.decode()
            for k, v in scope["headers"]
            if k.lower() in (b"content-type", b"accept", b"authorization")
        }
        path = scope["path"] + (
            f"?{scope['query_string'].decode()}" if scope["query_string"] else ""
        )
        try:
            request = self.client.build_request(
                scope["method"], path, content=body, headers=headers
            )
            response = await self.client.send(request, stream=True)
        except Exception as error:
            await _send_json(send, 502, _error(f"upstream server unreachable: {error}", "upstream"))
            return
        try:
            passed = [
                (k.encode(), v.encode())
                for k, v in response.headers.items()
                if k.lower() in ("content-type", "x-request-id", "retry-after")
            ]
            await send(
                {"type": "http.response.start", "status": response.status_code, "headers": passed}
            )
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()


def _die_with_supervisor() -> None:
    """Linux: this worker gets SIGTERM when the supervisor dies, even by SIGKILL, so a
    teardown never leaves a worker behind (one still starting included)."""
    supervisor = os.environ.get(SUPERVISOR_ENV, "")
    if not sys.platform.startswith("linux") or not supervisor.isdigit():
        return
    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != int(supervisor):  # the supervisor died before prctl took hold
        os._exit(EXIT_REPLACED)


def create_app() -> LocalApp:
    """The uvicorn factory: configuration comes from the run directory."""
    _die_with_supervisor()
    return LocalApp(Path(os.environ[RUN_DIR_ENV]))
