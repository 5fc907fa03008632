"""Write cassettes/*.yaml: the compliance kit's scenarios against a fake Example GPU Cloud.

The Example GPU Cloud is fictional, so its fixtures cannot be recorded from a real
service. This script runs the provider against an in-process fake of the API (the
rules below: an endpoint goes pending -> provisioning -> ready over two polls, a
model too big for its instance fails with a CUDA out-of-memory reason) and writes
each scenario's requests and responses in the format vcrpy records. Run it again
after changing the provider or the fake:

    python tests/plugins/hostkit-example-dedicated/make_cassettes.py
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml

HERE = Path(__file__).resolve().parent
CASSETTES = HERE / "cassettes"
KEY = "exg-fake-compliance-key-0000"
NAME = "example-dedicated-chat"
SPEC = {"model": "example-org/chat-8b", "instance": "gpu-1x-l4"}
FAILING = {"model": "example-org/chat-70b", "instance": "gpu-1x-l4"}
PROMPT = "Say hello in five words."
PARAMS = {"max_tokens": 32}
ANSWER = ["Hello", " there,", " nice", " to", " meet", " you!"]
OOM = (
    "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 22.05 GiB total capacity;"
    " 21.30 GiB already allocated): example-org/chat-70b does not fit on gpu-1x-l4"
)
HEADER = """\
# {name}: {what}
# Wire format: the Example GPU Cloud API (fictional): endpoints at
# https://api.example-gpu.invalid/v1/endpoints, each serving the OpenAI chat-completions
# format at its own URL; errors are {{"error": {{"message", "type"}}}}. Written by
# make_cassettes.py (a fake of the API) in the format vcrpy records; hostkit replays it
# strictly. Credentials appear only as REDACTED.
"""
WHAT = {
    "deploy": "create an endpoint and poll it until ready",
    "deploy_existing": "the same spec again: found by name, same fingerprint, nothing created",
    "get": "look the endpoint up by name",
    "invoke": "one chat completion on the endpoint",
    "ainvoke": "the same, from the async client",
    "stream": "the same, streamed as server-sent events with usage in the last chunk",
    "scale": "two fixed replicas",
    "autoscale": "replica bounds 1..2",
    "scale_to_zero": "no replica until a request comes",
    "teardown": "delete, look up (gone), delete again (already gone)",
    "teardown_missing": "delete something that never existed",
    "deploy_failed": "a model too big for its GPU: CUDA out of memory, endpoint deleted",
    "error_401": "a rejected key on invoke (never retried)",
    "error_404": "invoke on an endpoint the platform no longer has (never retried)",
    "error_429_then_ok": "rate limited once (retry-after: 1), then the answer",
    "error_429_then_ok_stream": "rate limited once (retry-after: 1), then the streamed answer",
    "error_429_exhausted": "rate limited on every attempt: RateLimited after the retries",
    "error_5xx": "the model server fails (a POST, not repeated)",
}


class FakeCloud:
    """The Example GPU Cloud's rules, just enough for the kit's scenarios."""

    def __init__(self) -> None:
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.chat: list[int] = []  # scripted statuses of the next chat answers
        self.ids = 0

    def ready(self, name: str, spec: dict[str, Any], fingerprint: str) -> None:
        self.endpoints[name] = self._endpoint(name, spec, fingerprint, "ready")

    def _endpoint(
        self, name: str, spec: dict[str, Any], fingerprint: str, status: str
    ) -> dict[str, Any]:
        ready = status == "ready"
        return {
            "id": f"ep-{name}",
            "name": name,
            "model": spec["model"],
            "instance": spec["instance"],
            "status": status,
            "url": f"https://{name}.endpoints.example-gpu.invalid",
            "replicas": 1 if ready else 0,
            "min_replicas": spec.get("min_replicas", 1),
            "max_replicas": spec.get("max_replicas", 1),
            "labels": {"hostkit-fingerprint": fingerprint},
            "failure_reason": None,
            "created_at": "2025-06-01T12:00:00Z",
        }

    def answer(self, request: httpx.Request) -> httpx.Response:
        self.ids += 1
        headers = {"content-type": "application/json", "x-request-id": f"req_gpu_{self.ids:04d}"}
        status, body = self._route(request, headers)
        content = body if isinstance(body, str) else json.dumps(body)
        return httpx.Response(status, headers=headers, content=content.encode())

    def _route(self, request: httpx.Request, headers: dict[str, str]) -> tuple[int, Any]:
        path, method = request.url.path, request.method
        if request.url.host != "api.example-gpu.invalid":
            return self._chat(request, headers)
        if path == "/v1/endpoints" and method == "POST":
            data = json.loads(request.content)
            spec = {k: data[k] for k in ("model", "instance", "min_replicas", "max_replicas")}
            fingerprint = data["labels"]["hostkit-fingerprint"]
            created = self._endpoint(data["name"], spec, fingerprint, "pending")
            self.endpoints[data["name"]] = created
            return 201, created
        name = path.rsplit("/", 1)[-1]
        found = self.endpoints.get(name)
        if found is None:
            message = f"endpoint {name!r} not found in this project"
            return 404, {"error": {"message": message, "type": "not_found"}}
        if method == "GET":
            self._advance(found)
            return 200, found
        if method == "PATCH":
            bounds = json.loads(request.content)
            found.update(bounds)
            low, high = bounds["min_replicas"], bounds["max_replicas"]
            found["replicas"] = low if low == high else max(low, 1)
            found["status"] = "scaled_to_zero" if high and low == 0 else "ready"
            return 200, found
        del self.endpoints[name]
        return 202, {"name": name, "status": "deleting"}

    @staticmethod
    def _advance(endpoint: dict[str, Any]) -> None:
        if endpoint["status"] == "pending":
            endpoint["status"] = "provisioning"
        elif endpoint["status"] == "provisioning":
            if endpoint["model"] == FAILING["model"]:
                endpoint["status"], endpoint["failure_reason"] = "failed", OOM
            else:
                endpoint["status"], endpoint["replicas"] = "ready", 1

    def _chat(self, request: httpx.Request, headers: dict[str, str]) -> tuple[int, Any]:
        status = self.chat.pop(0) if self.chat else 200
        messages = {
            401: ("Invalid API key: this key was revoked on 2025-05-30", "authentication_error"),
            404: ("The endpoint serving this URL was deleted or never existed", "not_found"),
            429: ("Rate limit reached for requests per minute (limit 60)", "rate_limit"),
            500: ("The model server crashed while generating: worker exited", "server_error"),
        }
        if status != 200:
            if status == 429:
                headers["retry-after"] = "1"
            message, kind_name = messages[status]
            return status, {"error": {"message": message, "type": kind_name}}
        streaming = json.loads(request.content).get("stream")
        if not streaming:
            return 200, {
                "id": "chatcmpl-gpu-0001",
                "object": "chat.completion",
                "model": SPEC["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "".join(ANSWER)},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 14, "completion_tokens": 6, "total_tokens": 20},
            }
        headers["content-type"] = "text/event-stream"
        events = [
            {
                "id": "chatcmpl-gpu-0002",
                "object": "chat.completion.chunk",
                "model": SPEC["model"],
                "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
            }
            for piece in ANSWER
        ]
        events.append(
            {
                "id": "chatcmpl-gpu-0002",
                "object": "chat.completion.chunk",
                "model": SPEC["model"],
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 14, "completion_tokens": 6, "total_tokens": 20},
            }
        )
        lines = [f"data: {json.dumps(event)}\n\n" for event in events] + ["data: [DONE]\n\n"]
        return 200, "".join(lines)


class Recorder:
    """Routes httpx to the fake and keeps each scenario's interactions."""

    def __init__(self, cloud: FakeCloud) -> None:
        self.cloud = cloud
        self.interactions: list[dict[str, Any]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = self.cloud.answer(request)
        self.interactions.append(
            {
                "request": {
                    "method": request.method,
                    "uri": str(request.url),
                    "body": request.content.decode() if request.content else "",
                    "headers": {
                        "accept": ["application/json"],
                        "authorization": ["REDACTED"],
                        **({"content-type": ["application/json"]} if request.content else {}),
                    },
                },
                "response": {
                    "status": {"code": response.status_code, "message": response.reason_phrase},
                    "headers": {k: [v] for k, v in response.headers.items()},
                    "body": {"string": response.content.decode()},
                },
            }
        )
        return response

    @contextlib.contextmanager
    def scenario(self, name: str) -> Iterator[None]:
        self.interactions = []
        try:
            yield
        finally:
            if self.interactions:
                text = yaml.safe_dump(
                    {"version": 1, "interactions": self.interactions},
                    sort_keys=False,
                    width=100,
                    allow_unicode=True,
                )
                header = HEADER.format(name=name, what=WHAT[name])
                (CASSETTES / f"{name}.yaml").write_text(header + text, encoding="utf-8")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="hostkit-example-dedicated-") as state:
        os.environ["EXAMPLE_GPU_API_KEY"] = KEY
        os.environ["HOSTKIT_STATE_DIR"] = state
        record()


def record() -> None:
    """Run the kit's scenarios against the fake and write one cassette per scenario."""
    sys.path.insert(0, str(HERE / "src"))
    from hostkit_example_dedicated import ExampleDedicatedProvider

    from hostkit import DeploymentSpec, errors

    cloud = FakeCloud()
    recorder = Recorder(cloud)

    async def ahandle(transport: Any, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return recorder.handle(request)

    httpx.HTTPTransport.handle_request = lambda transport, request: recorder.handle(request)  # type: ignore[method-assign]
    httpx.AsyncHTTPTransport.handle_async_request = ahandle  # type: ignore[method-assign]
    CASSETTES.mkdir(exist_ok=True)

    def provider() -> ExampleDedicatedProvider:
        made = ExampleDedicatedProvider()
        made.sleep = made.retry.sleep = lambda seconds: None

        async def no_wait(seconds: float) -> None:
            return None

        made.retry.asleep = no_wait
        return made

    spec = DeploymentSpec.from_dict({"provider": "example-dedicated", "name": NAME, **SPEC})
    p = provider()
    with recorder.scenario("deploy"):
        dep = p.deploy(spec)
    with recorder.scenario("get"):
        provider().get(NAME)
    with recorder.scenario("deploy_existing"):
        p.deploy(spec)
    with recorder.scenario("invoke"):
        p.invoke(dep, PROMPT, **PARAMS)
    with recorder.scenario("ainvoke"):
        asyncio.run(p.ainvoke(dep, PROMPT, **PARAMS))
    with recorder.scenario("stream"):
        p.stream(dep, PROMPT, **PARAMS).text()
    for name, call in (
        ("scale", lambda: p.scale(dep, 2)),
        ("autoscale", lambda: p.scale(dep, min_replicas=1, max_replicas=2)),
        ("scale_to_zero", lambda: p.scale(dep, 0)),
    ):
        cloud.ready(NAME, SPEC, spec.fingerprint())
        with recorder.scenario(name):
            call()
    cloud.ready(NAME, SPEC, spec.fingerprint())
    with recorder.scenario("teardown"):
        p.teardown(dep)
        p.find(NAME)
        p.teardown(dep)
    with recorder.scenario("teardown_missing"):
        p.teardown("hostkit-compliance-missing")
    failing = DeploymentSpec.from_dict(
        {"provider": "example-dedicated", "name": f"{NAME}-failed", **FAILING}
    )
    with recorder.scenario("deploy_failed"):
        try:
            p.deploy(failing)
        except errors.DeploymentFailed:
            p.find(failing.name)
    cloud.ready(NAME, SPEC, spec.fingerprint())
    scripted = {
        "error_401": [401],
        "error_404": [404],
        "error_429_then_ok": [429, 200],
        "error_429_exhausted": [429] * (p.retry.max_retries + 1),
        "error_5xx": [500],
    }
    for name, answers in scripted.items():
        cloud.chat = list(answers)
        with recorder.scenario(name), contextlib.suppress(errors.HostkitError):
            p.invoke(dep, PROMPT, **PARAMS)
    cloud.chat = [429, 200]
    with recorder.scenario("error_429_then_ok_stream"):
        p.stream(dep, PROMPT, **PARAMS).text()
    print(f"wrote {len(list(CASSETTES.glob('*.yaml')))} cassettes to {CASSETTES}")


if __name__ == "__main__":
    main()
