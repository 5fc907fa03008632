"""The Ray Serve application hostkit deploys: one deployment, ``HostkitModel``.

This module runs inside the Ray cluster (it imports ``ray.serve``); the provider itself
never imports it. The provider's application config names it as an application
builder: ``import_path = "hostkit_providers.ray.serve_app:build"`` with ``args``:

* ``kind``: ``"python"`` or ``"llm"``;
* ``model``: what ``local`` takes (``"module:callable"``, ``"file.py:callable"``, a
  ``.joblib`` file), or the model id an LLM server answers for;
* ``command`` (llm): the OpenAI-compatible server each replica starts, with ``{host}``,
  ``{port}`` and ``{model}`` filled in; ``health_path``, ``startup_timeout``;
* ``max_batch_size`` / ``batch_wait_timeout_s`` (python): Serve's dynamic batching; the
  callable then gets a list of inputs and returns a list of outputs, one per input;
* ``request_timeout``: seconds a model call may take before the replica answers 504.

Routes under the application's ``route_prefix`` are those of ``local``'s server:
``GET /health``, ``POST /invoke`` (``{"input": ...}`` -> ``{"output": ...}``), and
``/v1/...`` proxied (streaming included) to the replica's LLM server. Errors have the
same JSON shape and statuses as ``local``'s (400, 404, 413, 424, 504), so hostkit's
invoke code and error mapping are shared.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import importlib.util
import json
import logging
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from hostkit_providers.local.app import BodyTooLarge, run_invoke
from hostkit_providers.local.models import (
    ESTIMATOR_SUFFIXES,
    Predictor,
    describe_model_error,
    load_predictor,
)
from ray import serve
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

DEPLOYMENT = "HostkitModel"
MAX_BODY_BYTES = 100 * 2**20
DEFAULT_REQUEST_TIMEOUT = 60.0
#: seconds past its deadline a model call may run before the replica reports unhealthy
STUCK_GRACE_S = 5.0
log = logging.getLogger("ray.serve")


def _error(message: str, kind: str, status: int) -> Response:
    body = json.dumps({"error": {"message": message, "type": kind}})
    return Response(body, status_code=status, media_type="application/json")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _command(args: dict[str, Any], port: int) -> list[str]:
    """The LLM server command with only {host}, {port} and {model} filled in."""
    command = args["command"]
    parts = shlex.split(command) if isinstance(command, str) else [str(p) for p in command]
    fill = {"{host}": "127.0.0.1", "{port}": str(port), "{model}": str(args["model"])}
    filled = []
    for part in parts:
        for key, value in fill.items():
            part = part.replace(key, value)
        filled.append(part)
    if filled and filled[0] in ("python", "python3"):
        filled[0] = sys.executable  # the replica's own interpreter (its runtime_env's)
    return filled


@serve.deployment(name=DEPLOYMENT)
class HostkitModel:
    """One replica: loads the model (or starts the LLM server) once, then serves."""

    def __init__(self, args: dict[str, Any]) -> None:
        self.args = args
        self.kind: str = args["kind"]
        self.request_timeout = float(args.get("request_timeout") or DEFAULT_REQUEST_TIMEOUT)
        self.predictor: Predictor | None = None
        self.upstream: subprocess.Popen[bytes] | None = None
        self._client: Any = None
        # one model call at a time per replica, off the event loop (as local's workers)
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="hostkit-model")
        self._running_since: float | None = None  # when the model call now running began
        if self.kind == "python":
            self.predictor = load_predictor(args["model"], args.get("workdir"))
            size = args.get("max_batch_size")
            if size:
                self._batched.set_max_batch_size(int(size))
                wait = args.get("batch_wait_timeout_s")
                self._batched.set_batch_wait_timeout_s(0.01 if wait is None else float(wait))
        else:
            self._start_upstream()

    # -- LLM server ---------------------------------------------------------
    def _start_upstream(self) -> None:
        port = _free_port()
        self.base = f"http://127.0.0.1:{port}"
        command = _command(self.args, port)
        log.info("starting the LLM server: %s", " ".join(command))
        self.upstream = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + float(self.args.get("startup_timeout") or 600)
        path = self.args.get("health_path") or "/v1/models"
        import httpx

        while time.monotonic() < deadline:
            if self.upstream.poll() is not None:
                raise RuntimeError(
                    f"the LLM server command exited with status {self.upstream.returncode}:"
                    f" {' '.join(command)}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base + path, timeout=2.0).status_code < 500:
                    return
            time.sleep(0.2)
        self._stop_upstream()
        raise RuntimeError(f"the LLM server did not answer {path} in time: {' '.join(command)}")

    def _stop_upstream(self) -> None:
        upstream = getattr(self, "upstream", None)  # None too when __init__ failed early
        if upstream is not None and upstream.poll() is None:
            upstream.terminate()
            try:
                upstream.wait(timeout=10)
            except subprocess.TimeoutExpired:
                upstream.kill()
                upstream.wait(timeout=5)

    def __del__(self) -> None:
        self._stop_upstream()

    @property
    def client(self) -> Any:
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(base_url=self.base, timeout=None)
        return self._client

    # -- routes ---------------------------------------------------------------
    async def __call__(self, request: Request) -> Response:
        root = request.scope.get("root_path", "")
        path = request.url.path
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        method = request.method
        try:
            if path == "/health" and method == "GET":
                return await self._health()
            if path == "/invoke" and method == "POST" and self.predictor is not None:
                return await self._invoke(await _body(request))
            if path.startswith("/v1/") and self.upstream is not None:
                return await self._proxy(request, path)
        except BodyTooLarge:
            message = f"request body is over the {MAX_BODY_BYTES // 2**20} MB limit"
            return _error(message, "too_large", 413)
        return _error(f"no route {method} {path}", "not_found", 404)

    async def _health(self) -> Response:
        info = {"status": "ok", "pid": os.getpid(), "kind": self.kind, "model": self.args["model"]}
        if self.upstream is not None and self.upstream.poll() is not None:
            info["status"] = "upstream exited"
            return Response(json.dumps(info), status_code=503, media_type="application/json")
        return Response(json.dumps(info), media_type="application/json")

    async def _invoke(self, body: bytes) -> Response:
        assert self.predictor is not None
        try:
            if self.args.get("max_batch_size"):
                status, payload = await asyncio.wait_for(self._batched(body), self.request_timeout)
            else:
                loop = asyncio.get_running_loop()
                future = loop.run_in_executor(self._pool, self._timed, run_invoke, body)
                status, payload = await asyncio.wait_for(future, self.request_timeout)
        except TimeoutError:
            message = f"the model call exceeded its {self.request_timeout:g} s deadline"
            return _error(message + " (request_timeout)", "model_timeout", 504)
        return Response(payload, status_code=status, media_type="application/json")

    @serve.batch(max_batch_size=1, batch_wait_timeout_s=0.0)
    async def _batched(self, bodies: list[bytes]) -> list[tuple[int, bytes]]:
        """Up to max_batch_size requests: the model gets their inputs as one list."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._timed, self._run_batch, bodies)

    def _timed(self, call: Any, payload: Any) -> Any:
        """Run one model call in the model thread, noting when it started."""
        self._running_since = time.monotonic()
        try:
            return call(self.predictor, payload) if call is run_invoke else call(payload)
        finally:
            self._running_since = None

    def check_health(self) -> None:
        """Serve's health check (every HEALTH_CHECK_PERIOD_S; three failures in a row and
        Serve replaces the replica): an LLM server that exited, or a model call stuck past
        its deadline plus a grace (its thread cannot be got back), fails it."""
        upstream = self.upstream
        if upstream is not None and upstream.poll() is not None:
            raise RuntimeError(f"the LLM server exited with status {upstream.returncode}")
        since = self._running_since
        if since is None:
            return
        running = time.monotonic() - since
        if running > self.request_timeout + STUCK_GRACE_S:
            raise RuntimeError(
                f"a model call has run {running:.0f}s, past its {self.request_timeout:g}s"
                " deadline (request_timeout); replacing this replica"
            )

    def _run_batch(self, bodies: list[bytes]) -> list[tuple[int, bytes]]:
        assert self.predictor is not None
        outcomes: list[tuple[int, bytes] | None] = [None] * len(bodies)
        inputs, where = [], []
        for index, body in enumerate(bodies):
            status, parsed = _parse(body)
            if status != 200:
                outcomes[index] = (status, parsed)
            else:
                inputs.append(json.loads(parsed)["input"])
                where.append(index)
        if inputs:
            for index, outcome in zip(where, self._predict_batch(inputs), strict=True):
                outcomes[index] = outcome
        return [outcome or (500, b"{}") for outcome in outcomes]

    def _predict_batch(self, inputs: list[Any]) -> list[tuple[int, bytes]]:
        assert self.predictor is not None
        try:
            outputs = self.predictor(inputs)
            if not isinstance(outputs, list | tuple) or len(outputs) != len(inputs):
                raise ValueError(
                    f"a batched model must return a list of {len(inputs)} outputs (one per"
                    f" input), got {type(outputs).__name__}"
                    + (f" of {len(outputs)}" if isinstance(outputs, list | tuple) else "")
                )
        except Exception as error:
            log.exception("batched model call failed")
            body = json.dumps(
                {"error": {"message": describe_model_error(error), "type": "model_error"}}
            ).encode()
            return [(424, body)] * len(inputs)
        results = []
        for output in outputs:
            try:
                results.append((200, json.dumps({"output": output}).encode()))
            except (TypeError, ValueError) as error:
                message = f"model output is not JSON: {error}"
                body = json.dumps({"error": {"message": message, "type": "model_error"}})
                results.append((424, body.encode()))
        return results

    async def _proxy(self, request: Request, path: str) -> Response:
        body = await _body(request)
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() in ("content-type", "accept", "authorization")
        }
        if request.url.query:
            path += f"?{request.url.query}"
        try:
            upstream_request = self.client.build_request(
                request.method, path, content=body, headers=headers
            )
            response = await self.client.send(upstream_request, stream=True)
        except Exception as error:
            return _error(f"upstream server unreachable: {error}", "upstream", 502)
        passed = {
            k: v
            for k, v in response.headers.items()
            if k.lower() in ("content-type", "x-request-id", "retry-after")
        }

        async def chunks() -> Any:
            try:
                async for chunk in response.aiter_raw():
                    yield chunk
            finally:
                await response.aclose()

        return StreamingResponse(chunks(), status_code=response.status_code, headers=passed)


def _parse(body: bytes) -> tuple[int, bytes]:
    """(200, body) for a well-formed ``{"input": ...}``, else local's 400 answer."""
    try:
        payload = json.loads(body or b"null")
    except (ValueError, RecursionError) as error:
        message = f"request body is not JSON: {error}"
        return 400, json.dumps({"error": {"message": message, "type": "bad_request"}}).encode()
    if not isinstance(payload, dict) or "input" not in payload:
        message = 'expected {"input": ...}'
        return 400, json.dumps({"error": {"message": message, "type": "bad_request"}}).encode()
    return 200, body


async def _body(request: Request) -> bytes:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _die_with_parent() -> None:
    """Linux: the LLM server gets SIGTERM when its replica dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def check_model(args: dict[str, Any]) -> None:
    """Fail the build (so the application fails at once, with this message) when the
    cluster cannot find the model's module or file; loading it waits for the replica."""
    model = str(args.get("model", ""))
    if args.get("kind") != "python":
        return
    base = Path(args.get("workdir") or Path.cwd())
    if model.endswith(ESTIMATOR_SUFFIXES):
        path = Path(model).expanduser()
        target = path if path.is_absolute() else base / path
        if not target.is_file():
            raise ImportError(f"hostkit: model file {target} does not exist on the cluster")
        return
    target_name, _, _ = model.rpartition(":")
    if target_name.endswith(".py"):
        path = Path(target_name).expanduser()
        file = path if path.is_absolute() else base / path
        if not file.is_file():
            raise ImportError(f"hostkit: model file {file} does not exist on the cluster")
        return
    try:
        found = importlib.util.find_spec(target_name) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise ImportError(
            f"hostkit: the cluster cannot import {target_name!r} (model {model!r}); ship it"
            " with options.working_dir or options.pip, or install it on the cluster's nodes"
        )


def build(args: dict[str, Any]) -> Any:
    """The application builder Serve calls with the config's ``args``."""
    check_model(args)
    return HostkitModel.bind(args)
