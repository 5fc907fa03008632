"""The ASGI application each worker process of a local deployment runs.

Routes:

* ``GET /health`` - 200 ``{"status": "ok", "pid": ..., "kind": ...}`` when the model
  (or the upstream LLM server) answers, else 503;
* ``POST /invoke`` - ``{"input": ...}`` -> ``{"output": ...}`` for Python models;
* ``POST /v1/chat/completions`` - proxied as is (streaming included) to the
  OpenAI-compatible server started from ``options.command``.

Errors come back as ``{"error": {"message": ..., "type": ...}}`` with 400 for bad
input and 500 for a failure inside the model. The worker writes its process id
under ``<run dir>/workers/`` while it serves, so the provider can count replicas.
"""

from __future__ import annotations

import json
import os
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from hostkit_providers.local.models import describe_model_error, load_predictor

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

RUN_DIR_ENV = "HOSTKIT_LOCAL_RUN_DIR"
BAD_INPUT = (ValueError, TypeError, KeyError)


def read_server_config(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "server.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _send_json(send: Send, status: int, payload: Any) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"x-request-id", _request_id())],
        }
    )
    await send({"type": "http.response.body", "body": body})


_counter = 0


def _request_id() -> bytes:
    global _counter
    _counter += 1
    return f"local-{os.getpid()}-{_counter}".encode()


def _error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind}}


class LocalApp:
    """One worker: loads the model once, then serves requests."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.config = read_server_config(run_dir)
        self.kind: str = self.config["kind"]
        self.predictor: Callable[[Any], Any] | None = None
        self.upstream: str | None = None
        self._client: Any = None
        if self.kind == "python":
            self.predictor = load_predictor(self.config["model"], self.config.get("workdir"))
        else:
            self.upstream = f"http://127.0.0.1:{self.config['upstream_port']}"
        self.pid_file = run_dir / "workers" / str(os.getpid())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if path == "/health" and method == "GET":
            await self._health(send)
        elif path == "/invoke" and method == "POST" and self.predictor is not None:
            await self._invoke(receive, send)
        elif path.startswith("/v1/") and self.upstream is not None:
            await self._proxy(scope, receive, send)
        else:
            await _send_json(send, 404, _error(f"no route {method} {path}", "not_found"))

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

    async def _invoke(self, receive: Receive, send: Send) -> None:
        assert self.predictor is not None
        try:
            payload = json.loads(await _body(receive) or b"null")
        except ValueError as error:
            await _send_json(send, 400, _error(f"request body is not JSON: {error}", "bad_request"))
            return
        if not isinstance(payload, dict) or "input" not in payload:
            await _send_json(send, 400, _error('expected {"input": ...}', "bad_request"))
            return
        try:
            output = self.predictor(payload["input"])
        except BAD_INPUT as error:
            await _send_json(send, 400, _error(describe_model_error(error), "bad_input"))
            return
        except Exception as error:
            traceback.print_exc()
            await _send_json(send, 500, _error(describe_model_error(error), "model_error"))
            return
        try:
            await _send_json(send, 200, {"output": output})
        except TypeError as error:
            await _send_json(send, 500, _error(f"model output is not JSON: {error}", "model_error"))

    @property
    def client(self) -> Any:
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(base_url=self.upstream or "", timeout=None)
        return self._client

    async def _proxy(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _body(receive)
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


def create_app() -> LocalApp:
    """The uvicorn factory: configuration comes from the run directory."""
    return LocalApp(Path(os.environ[RUN_DIR_ENV]))
