"""Write the cassettes in ``cassettes/``.

Run: ``.venv/bin/python providers/azureml/tests/build_cassettes.py`` (then the tests).

No Azure account was used. Each scenario below lists, in order, the responses Azure
gives; they are written by hand from:

* the Azure ML REST API the SDK targets (azure-ai-ml 1.35.2's generated
  ``arm_ml_service`` client: ``OnlineEndpoint``, ``OnlineDeployment``,
  ``EndpointAuthKeys``, ``EnvironmentVersion`` and ``ErrorResponse`` models;
  api-versions 2022-02-01-preview for endpoints, 2023-04-01-preview for deployments
  and environments, 2024-10-01-preview for workspaces) and the specification's
  examples (Azure/azure-rest-api-specs ``machinelearningservices/.../OnlineEndpoint``,
  ``OnlineDeployment``);
* Azure ML's troubleshooting guide for online endpoints (operation-status errors
  ``OutOfQuota``, ``ResourceNotReady``; scoring status codes 401/404/408/424/429/500;
  the ``x-request-id`` header);
* ARM conventions: ``x-ms-request-id`` / ``x-ms-correlation-request-id`` headers,
  ``Azure-AsyncOperation`` on 201, ``Location`` on 202, ``Retry-After`` on 429, 204 for
  deleting something that is not there; Azure Monitor's autoscale settings REST API
  (2022-10-01);
* Text Generation Inference 3.3's OpenAI-compatible chat API (``chat.completion``,
  ``chat.completion.chunk`` server-sent events, ``usage`` on the last chunk).

The requests are the ones the adapter actually sends (azure-ai-ml builds and serialises
the ARM ones): this script serves the responses in place of the network (requests'
``HTTPAdapter.send`` and httpx's transports) and captures each request, so the cassettes
hold the SDK's exact wire format. Secrets are scrubbed with hostkit.testing's rules,
as a recording would be. tests/test_azureml.py checks that the SDK parses every body.
"""

from __future__ import annotations

import contextlib
import email.utils
import io
import json
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).parent
CASSETTES = HERE / "cassettes"

SUBSCRIPTION = "6f1c2b7e-3a4d-4e5f-9b8a-2c1d0e9f8a7b"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
GROUP = "hostkit-rg"
WORKSPACE = "hostkit-ws"
REGION = "eastus"
SETTINGS = {
    "subscription_id": SUBSCRIPTION,
    "resource_group": GROUP,
    "workspace": WORKSPACE,
    "region": REGION,
}
ARM = "https://management.azure.com"
WS = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}"
    f"/providers/Microsoft.MachineLearningServices/workspaces/{WORKSPACE}"
)
NAME = "hostkit-compliance"
MODEL = "meta-llama/Llama-3.1-8B-Instruct"
INSTANCE = "Standard_NC24ads_A100_v4"
PROMPT = "Say hello in five words."
ANSWER = "Hello there, nice to meet you!"
ENDPOINT_API = "2022-02-01-preview"
DEPLOYMENT_API = "2023-04-01-preview"
CREATED_BY = "ml-platform@contoso.com"

COMMON_HEADER = """\
# Written by hand in the format vcrpy records; no live Azure account was used.
# Responses: Azure ML's REST API as azure-ai-ml 1.35.2 models it (arm_ml_service
# OnlineEndpoint, OnlineDeployment, EndpointAuthKeys, EnvironmentVersion, ErrorResponse;
# endpoints api-version 2022-02-01-preview, deployments/environments 2023-04-01-preview)
# and Azure/azure-rest-api-specs' examples; ARM conventions (x-ms-request-id,
# Azure-AsyncOperation on 201, Location on 202, Retry-After on 429); Azure ML's online
# endpoint troubleshooting guide for operation errors and scoring status codes; TGI 3.3's
# OpenAI-compatible chat API for scoring bodies. Requests: what the adapter sends through
# azure-ai-ml, captured offline by providers/azureml/tests/build_cassettes.py.
# tests/test_azureml.py lets the SDK parse every ARM body here. Replayed strictly
# (record_mode "none"). Credentials and keys appear only as REDACTED.
"""


# -- the clock of the recording --------------------------------------------------
class Clock:
    """Server times that advance a few seconds per response (deterministic)."""

    def __init__(self) -> None:
        self.now = 1795169700.0  # Fri, 20 Nov 2026 10:15:00 GMT

    def tick(self, seconds: float = 3.0) -> float:
        self.now += seconds
        return self.now

    def http(self) -> str:
        return email.utils.formatdate(self.now, usegmt=True)

    def iso(self, offset: float = 0.0) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.now + offset))
        return f"{stamp}.{int((self.now * 1e7) % 1e7):07d}Z"


CLOCK = Clock()
_IDS: dict[str, int] = {}
_BUDGET = {"reads": 12000, "writes": 1200}


def ident(scope: str) -> str:
    """A made-up but stable GUID."""
    _IDS[scope] = _IDS.get(scope, 0) + 1
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"hostkit-azureml/{scope}/{_IDS[scope]}"))


# -- responses ----------------------------------------------------------------------
@dataclass
class Reply:
    """One response and the request it answers (method and path checked)."""

    method: str
    path: str
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    message: str = ""


REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    409: "Conflict",
    424: "Failed Dependency",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


def _stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(CLOCK.now))


def arm_headers(method: str, status: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    request_id = ident("arm-request")
    headers = {
        "cache-control": "no-cache",
        "pragma": "no-cache",
        "content-type": "application/json; charset=utf-8",
        "expires": "-1",
        "vary": "Accept-Encoding",
        "x-ms-request-id": request_id,
        "x-ms-correlation-request-id": request_id,
        "x-ms-routing-request-id": f"EASTUS:{_stamp()}:{request_id}",
        "strict-transport-security": "max-age=31536000; includeSubDomains",
        "x-content-type-options": "nosniff",
        "x-aml-cluster": "vienna-eastus-02",
        "azureml-served-by-cluster": "vienna-eastus-02",
        "x-request-time": f"0.{int(CLOCK.now * 7) % 90 + 10:03d}",
        "x-cache": "CONFIG_NOCACHE",
        "date": CLOCK.http(),
    }
    bucket = "reads" if method == "GET" else "writes"
    _BUDGET[bucket] -= 1
    headers[f"x-ms-ratelimit-remaining-subscription-{bucket}"] = str(_BUDGET[bucket])
    headers[f"x-ms-ratelimit-remaining-subscription-global-{bucket}"] = str(_BUDGET[bucket] + 4500)
    if status == 204:
        headers.pop("content-type")
    headers.update(extra or {})
    return headers


def arm(
    method: str,
    path: str,
    status: int,
    body: Any = None,
    extra: dict[str, str] | None = None,
) -> Reply:
    CLOCK.tick()
    return Reply(method, path, status, body, arm_headers(method, status, extra))


def arm_error(method: str, path: str, status: int, code: str, message: str, **extra: str) -> Reply:
    body = {
        "error": {
            "code": code,
            "message": message,
            "details": [],
            "additionalInfo": [],
        }
    }
    return arm(method, path, status, body, extra)


def ep_path(endpoint: str) -> str:
    return f"{WS}/onlineEndpoints/{endpoint}"


def dep_path(endpoint: str) -> str:
    return f"{ep_path(endpoint)}/deployments/hostkit"


def operation_url(kind: str, endpoint: str) -> str:
    op = f"{kind}:{ident('operation')}:{ident('operation-hash')[:8]}"
    api = ENDPOINT_API if kind == "oe" else DEPLOYMENT_API
    return (
        f"{ARM}/subscriptions/{SUBSCRIPTION}/providers/Microsoft.MachineLearningServices"
        f"/locations/{REGION}/mfeOperationsStatus/{op}?api-version={api}"
    )


def system_data(created: float) -> dict[str, str]:
    return {
        "createdAt": CLOCK.iso(created - CLOCK.now),
        "createdBy": CREATED_BY,
        "createdByType": "User",
        "lastModifiedAt": CLOCK.iso(),
        "lastModifiedBy": CREATED_BY,
        "lastModifiedByType": "User",
    }


class World:
    """What Azure holds, as far as the recording goes: the bodies last PUT, by path."""

    def __init__(self) -> None:
        self.put: dict[str, dict[str, Any]] = {}
        self.exchanges: list[Exchange] = []

    def remember(self, exchange: Exchange) -> None:
        if exchange.method == "PUT" and exchange.request_body:
            self.put[urlsplit(exchange.uri).path] = json.loads(exchange.request_body)


WORLD = World()


def endpoint_tags(spec: Any, kind: str = "chat") -> dict[str, str]:
    return {
        "hostkit-name": spec.name,
        "hostkit-fingerprint": spec.fingerprint(),
        "hostkit-model": spec.model,
        "hostkit-kind": kind,
    }


def endpoint(
    name: str,
    state: str,
    *,
    tags: dict[str, str],
    operation: str,
    traffic: dict[str, int] | None = None,
    created: float,
) -> Reply:
    host = f"https://{name}.{REGION}.inference.ml.azure.com"
    body = {
        "id": ep_path(name),
        "name": name,
        "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
        "location": REGION,
        "tags": tags,
        "kind": "Managed",
        "identity": {
            "type": "SystemAssigned",
            "principalId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"principal/{name}")),
            "tenantId": TENANT,
        },
        "properties": {
            "description": None,
            "authMode": "Key",
            "scoringUri": f"{host}/score",
            "swaggerUri": f"{host}/swagger.json",
            "traffic": traffic or {},
            "mirrorTraffic": {},
            "publicNetworkAccess": "Enabled",
            "provisioningState": state,
            "properties": {
                "azureml.onlineendpointid": ep_path(name),
                "AzureAsyncOperationUri": operation,
            },
        },
        "systemData": system_data(created),
    }
    return arm("GET", ep_path(name), 200, body)


def put_endpoint_reply(name: str, status: int, operation: str, *, created: float) -> Reply:
    """The answer to PUT onlineEndpoints/{name}: the resource as sent, read-only fields added."""

    def body(script: Script) -> dict[str, Any]:
        sent = json.loads(script.pending_body or "{}")
        properties = sent.get("properties", {})
        host = f"https://{name}.{REGION}.inference.ml.azure.com"
        return {
            "id": ep_path(name),
            "name": name,
            "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
            "location": sent.get("location"),
            "tags": sent.get("tags", {}),
            "kind": "Managed",
            "identity": {
                "type": "SystemAssigned",
                "principalId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"principal/{name}")),
                "tenantId": TENANT,
            },
            "properties": {
                "description": None,
                "authMode": properties.get("authMode"),
                "scoringUri": f"{host}/score",
                "swaggerUri": f"{host}/swagger.json",
                "traffic": properties.get("traffic", {}),
                "mirrorTraffic": {},
                "publicNetworkAccess": "Enabled",
                "provisioningState": "Creating" if status == 201 else "Updating",
                "properties": {
                    "azureml.onlineendpointid": ep_path(name),
                    "AzureAsyncOperationUri": operation,
                },
            },
            "systemData": system_data(created),
        }

    extra = {"azure-asyncoperation": operation, "x-ms-async-operation-timeout": "PT2H"}
    return arm("PUT", ep_path(name), status, body, extra)


def _deployment_body(
    name: str,
    sent: dict[str, Any],
    state: str,
    operation: str,
    created: float,
    capacity: int | None,
) -> dict[str, Any]:
    properties = dict(sent.get("properties", {}))
    settings = {"maxQueueWait": "PT0.5S", **properties.pop("requestSettings", {})}
    liveness = {"successThreshold": 1, **properties.pop("livenessProbe", {})}
    readiness = {"successThreshold": 1, **properties.pop("readinessProbe", {})}
    properties.pop("properties", None)
    sku = dict(sent.get("sku", {}))
    sku["tier"] = "Standard"
    if capacity is not None:
        sku["capacity"] = capacity
    return {
        "id": dep_path(name),
        "name": "hostkit",
        "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments",
        "location": sent.get("location", REGION),
        "tags": sent.get("tags", {}),
        "kind": "Managed",
        "sku": sku,
        "properties": {
            "model": None,
            "environmentId": None,
            **properties,
            "requestSettings": settings,
            "livenessProbe": liveness,
            "readinessProbe": readiness,
            "scaleSettings": {"scaleType": "Default"},
            "egressPublicNetworkAccess": "Enabled",
            "provisioningState": state,
            "properties": {"AzureAsyncOperationUri": operation},
        },
        "systemData": system_data(created),
    }


def deployment(
    name: str, state: str, *, operation: str, created: float, capacity: int | None = None
) -> Reply:
    """GET onlineEndpoints/{name}/deployments/hostkit: what was PUT, with its state."""

    def body(script: Script) -> dict[str, Any]:
        return _deployment_body(
            name, WORLD.put[dep_path(name)], state, operation, created, capacity
        )

    return arm("GET", dep_path(name), 200, body)


def put_deployment_reply(name: str, operation: str, *, created: float) -> Reply:
    def body(script: Script) -> dict[str, Any]:
        sent = json.loads(script.pending_body or "{}")
        return _deployment_body(name, sent, "Creating", operation, created, None)

    extra = {"azure-asyncoperation": operation, "x-ms-async-operation-timeout": "PT2H"}
    return arm("PUT", dep_path(name), 201, body, extra)


def environment_reply(version: str, status: int, image: str, routes: dict[str, Any]) -> Reply:
    path = f"{WS}/environments/hostkit-serving/versions/{version}"
    body = {
        "id": path,
        "name": version,
        "type": "Microsoft.MachineLearningServices/workspaces/environments/versions",
        "properties": {
            "description": "Serving container registered by hostkit",
            "tags": {},
            "properties": {},
            "isArchived": False,
            "isAnonymous": False,
            "environmentType": "UserCreated",
            "image": image,
            "inferenceConfig": routes,
            "osType": "Linux",
            "provisioningState": "Succeeded",
            "autoRebuild": "Disabled",
        },
        "systemData": system_data(CLOCK.now),
    }
    return arm("PUT" if status == 201 else "GET", path, status, body)


def keys_reply(name: str) -> Reply:
    body = {"primaryKey": "REDACTED", "secondaryKey": "REDACTED"}
    return arm("POST", f"{ep_path(name)}/listKeys", 200, body)


def operation_status(url: str, status: str, started: float, error: dict[str, Any] | None) -> Reply:
    body: dict[str, Any] = {
        "id": url.split("?")[0].removeprefix(ARM),
        "name": url.split("/mfeOperationsStatus/")[1].split("?")[0],
        "status": status,
        "startTime": CLOCK.iso(started - CLOCK.now),
        "endTime": CLOCK.iso(),
    }
    if error:
        body["error"] = error
    return arm("GET", urlsplit(url).path, 200, body)


# -- scoring responses ----------------------------------------------------------
def score_headers(status: int, content_type: str = "application/json") -> dict[str, str]:
    CLOCK.tick(1)
    headers = {
        "date": CLOCK.http(),
        "content-type": content_type,
        "x-request-id": ident("score-request"),
        "azureml-model-deployment": "hostkit",
    }
    if status >= 400:
        headers.pop("azureml-model-deployment")
    return headers


def score(status: int, body: Any, *, endpoint: str = NAME, **extra: str) -> Reply:
    headers = score_headers(status, extra.pop("content_type", "application/json"))
    headers.update(extra)
    return Reply(
        "POST", f"https://{endpoint}.{REGION}.inference.ml.azure.com/score", status, body, headers
    )


def chat_completion() -> dict[str, Any]:
    return {
        "object": "chat.completion",
        "id": "",
        "created": int(CLOCK.now),
        "model": MODEL,
        "system_fingerprint": "3.3.4-sha-9a7b5c1",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": ANSWER},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 42, "completion_tokens": 9, "total_tokens": 51},
    }


def chat_stream() -> str:
    pieces = ["Hello", " there", ",", " nice", " to", " meet", " you", "!"]
    assert "".join(pieces) == ANSWER
    created = int(CLOCK.now)
    events = []
    for index, piece in enumerate(pieces):
        delta: dict[str, Any] = {"role": "assistant", "content": piece}
        events.append(
            {
                "object": "chat.completion.chunk",
                "id": "",
                "created": created,
                "model": MODEL,
                "system_fingerprint": "3.3.4-sha-9a7b5c1",
                "choices": [
                    {
                        "index": 0,
                        "delta": delta,
                        "logprobs": None,
                        "finish_reason": "stop" if index == len(pieces) - 1 else None,
                    }
                ],
                "usage": None,
            }
        )
    events.append(
        {
            "object": "chat.completion.chunk",
            "id": "",
            "created": created,
            "model": MODEL,
            "system_fingerprint": "3.3.4-sha-9a7b5c1",
            "choices": [],
            "usage": {"prompt_tokens": 42, "completion_tokens": 9, "total_tokens": 51},
        }
    )
    lines = [f"data: {json.dumps(event, separators=(',', ':'))}\n\n" for event in events]
    return "".join(lines) + "data: [DONE]\n\n"


# -- serving and capturing ----------------------------------------------------------
@dataclass
class Exchange:
    method: str
    uri: str
    request_headers: dict[str, str]
    request_body: str | None
    reply: Reply


class Script:
    """Serves replies in order and records each exchange."""

    def __init__(self, replies: list[Reply]) -> None:
        self.replies = list(replies)
        self.exchanges: list[Exchange] = []
        self.pending_body: str | None = None
        self.mismatches: list[str] = []

    def next(self, method: str, url: str, headers: dict[str, str], body: str | None) -> Reply:
        if not self.replies:
            self.mismatches.append(f"unexpected request {method} {url}")
            raise AssertionError(self.mismatches[-1])
        reply = self.replies.pop(0)
        parts = urlsplit(url)
        where = (
            parts.path
            if reply.path.startswith("/")
            else f"{parts.scheme}://{parts.netloc}{parts.path}"
        )
        if (method, where) != (reply.method, reply.path):
            self.mismatches.append(f"expected {reply.method} {reply.path}, got {method} {where}")
            raise AssertionError(self.mismatches[-1])
        self.pending_body = body
        if callable(reply.body):
            reply.body = reply.body(self)
        exchange = Exchange(method, url, headers, body, reply)
        self.exchanges.append(exchange)
        WORLD.remember(exchange)
        return reply


def _payload(reply: Reply) -> bytes:
    if reply.body is None:
        return b""
    if isinstance(reply.body, str):
        return reply.body.encode()
    return json.dumps(reply.body).encode()


@contextlib.contextmanager
def serving(script: Script) -> Iterator[None]:
    import httpx
    import requests
    from requests.adapters import HTTPAdapter

    real_send = HTTPAdapter.send
    real_handle = httpx.HTTPTransport.handle_request
    real_ahandle = httpx.AsyncHTTPTransport.handle_async_request

    def send(self: Any, request: Any, **kwargs: Any) -> Any:
        body = request.body
        if isinstance(body, bytes):
            body = body.decode()
        reply = script.next(request.method, request.url, dict(request.headers), body)
        response = requests.Response()
        response.status_code = reply.status
        response.reason = REASONS.get(reply.status, "")
        response.headers.update(reply.headers)
        response.raw = io.BytesIO(_payload(reply))
        response.url = request.url
        response.request = request
        response.connection = self
        return response

    def handle(self: Any, request: Any) -> Any:
        body = request.read().decode()
        reply = script.next(request.method, str(request.url), dict(request.headers), body)
        return httpx.Response(reply.status, headers=reply.headers, content=_payload(reply))

    async def ahandle(self: Any, request: Any) -> Any:
        return handle(self, request)

    HTTPAdapter.send = send  # type: ignore[method-assign]
    httpx.HTTPTransport.handle_request = handle  # type: ignore[method-assign]
    httpx.AsyncHTTPTransport.handle_async_request = ahandle  # type: ignore[method-assign]
    try:
        yield
    finally:
        HTTPAdapter.send = real_send  # type: ignore[method-assign]
        httpx.HTTPTransport.handle_request = real_handle  # type: ignore[method-assign]
        httpx.AsyncHTTPTransport.handle_async_request = real_ahandle  # type: ignore[method-assign]
    if script.mismatches:
        raise AssertionError(f"the adapter did not make the scripted requests: {script.mismatches}")
    if script.replies:
        raise AssertionError(
            f"{len(script.replies)} replies were not asked for: {script.replies[0]}"
        )


KEEP_REQUEST_HEADERS = ("accept", "content-type", "authorization", "azureml-model-deployment")


def write(name: str, comment: str, script: Script) -> None:
    import yaml

    from hostkit.testing import REDACTED, scrub_text

    interactions = []
    for index, exchange in enumerate(script.exchanges):
        headers = {k.lower(): v for k, v in exchange.request_headers.items()}
        kept: dict[str, list[str]] = {}
        for key in KEEP_REQUEST_HEADERS:
            if key in headers:
                kept[key] = [REDACTED if key == "authorization" else headers[key]]
        if "x-ms-client-request-id" in headers:
            kept["x-ms-client-request-id"] = [
                str(uuid.uuid5(uuid.NAMESPACE_URL, f"hostkit-azureml/{name}/{index}"))
            ]
        body = exchange.request_body
        if body is not None:
            body = scrub_text(body)
        reply = exchange.reply
        response_body = _payload(reply).decode()
        interactions.append(
            {
                "request": {
                    "method": exchange.method,
                    "uri": scrub_text(exchange.uri),
                    "body": body,
                    "headers": kept,
                },
                "response": {
                    "status": {"code": reply.status, "message": REASONS.get(reply.status, "")},
                    "headers": {k: [v] for k, v in reply.headers.items()},
                    "body": {"string": scrub_text(response_body)},
                },
            }
        )

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: Any, value: str) -> Any:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    document = yaml.dump(
        {"version": 1, "interactions": interactions},
        Dumper=Dumper,
        sort_keys=False,
        default_flow_style=None,
        width=4096,
        allow_unicode=True,
    )
    lines = [f"# {line}".rstrip() for line in comment.strip().splitlines()]
    (CASSETTES / f"{name}.yaml").write_text(
        "\n".join(lines) + "\n" + COMMON_HEADER + document, encoding="utf-8"
    )


# -- the provider under the recording -----------------------------------------------
class StaticToken:
    """A stand-in TokenCredential (the recording never reaches Azure AD)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken("recording-placeholder-token", int(time.time()) + 3600)


def provider(**overrides: Any) -> Any:
    from hostkit_providers.azureml import AzureMLProvider

    made = AzureMLProvider(**{**SETTINGS, **overrides})
    made.credential = StaticToken()
    made.sleep = lambda seconds: None
    made.retry.sleep = lambda seconds: None
    return made


def record(name: str, comment: str, replies: list[Reply], action: Callable[[], Any]) -> Any:
    script = Script(replies)
    with serving(script):
        result = action()
    write(name, comment, script)
    return result


@contextlib.contextmanager
def fake_clock() -> Iterator[None]:
    """Monotonic time that moves only when the provider sleeps (for timeouts)."""
    import hostkit_providers.azureml.provider as adapter

    import hostkit._provider as core

    now = [1000.0]

    class FakeTime:
        @staticmethod
        def monotonic() -> float:
            return now[0]

        @staticmethod
        def perf_counter() -> float:
            return time.perf_counter()

        @staticmethod
        def sleep(seconds: float) -> None:
            now[0] += seconds

    real_core, real_adapter = core.time, adapter.time
    core.time = FakeTime  # type: ignore[assignment]
    adapter.time = FakeTime  # type: ignore[assignment]
    try:
        yield
    finally:
        core.time, adapter.time = real_core, real_adapter


# -- scenarios ----------------------------------------------------------------------
def not_found(name: str) -> Reply:
    return arm_error(
        "GET",
        ep_path(name),
        404,
        "UserError",
        f"Not found: online endpoint {name} does not exist in workspace {WORKSPACE}.",
    )


def spec(**fields: Any) -> Any:
    from hostkit import DeploymentSpec

    return DeploymentSpec.from_dict({"provider": "azureml", **fields})


COMPLIANCE = {"model": MODEL, "instance": INSTANCE}
FAILING = {"model": "meta-llama/Llama-3.1-70B-Instruct", "instance": INSTANCE}


def tgi_environment() -> tuple[str, str, dict[str, Any]]:
    from hostkit_providers.azureml.containers import llm_container

    container = llm_container(MODEL, None, 1, {})
    routes = {
        "livenessRoute": {"port": container.port, "path": container.health_path},
        "readinessRoute": {"port": container.port, "path": container.health_path},
        "scoringRoute": {"port": container.port, "path": container.scoring_path},
    }
    return container.environment_version(), str(container.image), routes


def creating(
    target: Any, *, env_exists: bool, kind: str = "chat", found: bool = False
) -> tuple[list[Reply], str, str, float]:
    """Look-up, endpoint creation, environment, deployment PUT: the first half of a deploy."""
    name = target.name
    t0 = CLOCK.tick()
    ep_op = operation_url("oe", name)
    dep_op = operation_url("od", name)
    tags = endpoint_tags(target, kind)
    replies = [] if found else [not_found(name)]
    replies += [
        put_endpoint_reply(name, 201, ep_op, created=t0),
        endpoint(name, "Creating", tags=tags, operation=ep_op, created=t0),
        endpoint(name, "Succeeded", tags=tags, operation=ep_op, created=t0),
    ]
    if kind == "chat":
        version, image, routes = tgi_environment()
        if env_exists:
            replies.append(environment_reply(version, 200, image, routes))
        else:
            path = f"{WS}/environments/hostkit-serving/versions/{version}"
            replies.append(
                arm_error(
                    "GET",
                    path,
                    404,
                    "UserError",
                    f"Could not find asset with ID: azureml://locations/{REGION}/workspaces/"
                    f"{ident('workspace-guid')}/environments/hostkit-serving/versions/{version}",
                )
            )
            replies.append(environment_reply(version, 201, image, routes))
    replies.append(put_deployment_reply(name, dep_op, created=CLOCK.now))
    return replies, ep_op, dep_op, t0


def ready_pair(target: Any, ep_op: str, dep_op: str, t0: float, kind: str = "chat") -> list[Reply]:
    tags = endpoint_tags(target, kind)
    return [
        endpoint(
            target.name,
            "Succeeded",
            tags=tags,
            operation=ep_op,
            traffic={"hostkit": 100},
            created=t0,
        ),
        deployment(target.name, "Succeeded", operation=dep_op, created=t0),
    ]


def deploy_replies(target: Any, *, env_exists: bool = False) -> list[Reply]:
    replies, ep_op, dep_op, t0 = creating(target, env_exists=env_exists)
    tags = endpoint_tags(target)
    name = target.name
    replies += [
        endpoint(name, "Succeeded", tags=tags, operation=ep_op, created=t0),
        deployment(name, "Creating", operation=dep_op, created=t0),
        endpoint(name, "Succeeded", tags=tags, operation=ep_op, created=t0),
        deployment(name, "Succeeded", operation=dep_op, created=t0),
        put_endpoint_reply(name, 200, ep_op, created=t0),
        endpoint(
            name, "Updating", tags=tags, operation=ep_op, traffic={"hostkit": 100}, created=t0
        ),
        deployment(name, "Succeeded", operation=dep_op, created=t0),
        *ready_pair(target, ep_op, dep_op, t0),
        keys_reply(name),
    ]
    return replies


def teardown_tail(target: Any, ep_op: str, t0: float, state: str = "Succeeded") -> list[Reply]:
    name = target.name
    tags = endpoint_tags(target)
    autoscale = (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/microsoft.insights"
        f"/autoscalesettings/hostkit-{name}"
    )
    return [
        endpoint(name, state, tags=tags, operation=ep_op, traffic={"hostkit": 100}, created=t0),
        arm("DELETE", autoscale, 204),
        arm(
            "DELETE",
            ep_path(name),
            202,
            None,
            {
                "location": operation_url("oe", name).replace(
                    "mfeOperationsStatus", "mfeOperationResults"
                ),
                "azure-asyncoperation": operation_url("oe", name),
                "retry-after": "15",
                "x-ms-async-operation-timeout": "PT2H",
            },
        ),
        endpoint(
            name, "Deleting", tags=tags, operation=ep_op, traffic={"hostkit": 100}, created=t0
        ),
        not_found(name),
    ]


def main() -> None:
    sys.path.insert(0, str(HERE.parents[2] / "src"))
    from hostkit import Deployment
    from hostkit.errors import DeploymentFailed, HostkitError

    CASSETTES.mkdir(exist_ok=True)
    target = spec(name=NAME, **COMPLIANCE)

    # deploy: the compliance spec from nothing to ready
    first = provider()
    replies = deploy_replies(target)
    ep_op = replies[1].headers["azure-asyncoperation"]
    dep_op = replies[6].headers["azure-asyncoperation"]
    t0 = CLOCK.now - 60
    dep: Deployment = record(
        "deploy",
        "deploy: GET the endpoint (404: new), PUT it (key auth, hostkit tags), GET it until\n"
        "Succeeded, GET the TGI environment version (404) and PUT it, PUT the deployment\n"
        "hostkit, GET endpoint and deployment until Succeeded, PUT the endpoint with all\n"
        "traffic on hostkit, GET until ready, POST listKeys (the key stays in memory).",
        replies,
        lambda: first.deploy(target),
    )
    assert dep.status == "ready", dep

    pair = ready_pair(target, ep_op, dep_op, t0)
    record(
        "deploy_existing",
        "deploy of the same spec again: GET endpoint and deployment; the fingerprint tag\n"
        "matches, so nothing is created.",
        pair,
        lambda: first.deploy(target),
    )
    later = provider()
    record(
        "get",
        "get(name) from a fresh provider (another process): GET endpoint and deployment.",
        ready_pair(target, ep_op, dep_op, t0),
        lambda: later.get(NAME),
    )
    record(
        "invoke",
        "invoke: POST the chat body to the scoring URI with the endpoint key; TGI answers\n"
        "with a chat.completion.",
        [score(200, chat_completion())],
        lambda: first.invoke(dep, PROMPT),
    )
    import asyncio

    record(
        "ainvoke",
        "ainvoke: the same call through httpx's async client.",
        [score(200, chat_completion())],
        lambda: asyncio.run(first.ainvoke(dep, PROMPT)),
    )
    record(
        "stream",
        "stream: the chat body with stream true; TGI answers with server-sent\n"
        "chat.completion.chunk events, usage on the last one, then data: [DONE].",
        [score(200, chat_stream(), content_type="text/event-stream")],
        lambda: list(first.stream(dep, PROMPT)),
    )
    autoscale_path = (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/microsoft.insights"
        f"/autoscalesettings/hostkit-{NAME}"
    )
    record(
        "scale",
        "scale(dep, 2): DELETE the autoscale setting (204: there is none) so that a manual\n"
        "count sticks, then PATCH the deployment's sku.capacity (202 Accepted).",
        [
            arm("DELETE", autoscale_path, 204),
            arm(
                "PATCH",
                dep_path(NAME),
                202,
                None,
                {
                    "location": operation_url("od", NAME).replace(
                        "mfeOperationsStatus", "mfeOperationResults"
                    ),
                    "azure-asyncoperation": operation_url("od", NAME),
                    "retry-after": "10",
                    "x-ms-async-operation-timeout": "PT2H",
                },
            ),
        ],
        lambda: first.scale(dep, 2),
    )

    def autoscale_reply(low: int, high: int, default: int) -> Reply:
        def body(script: Script) -> dict[str, Any]:
            sent = json.loads(script.pending_body or "{}")
            return {
                "id": autoscale_path,
                "name": f"hostkit-{NAME}",
                "type": "Microsoft.Insights/autoscaleSettings",
                "location": sent["location"],
                "tags": sent.get("tags", {}),
                "properties": {
                    **sent["properties"],
                    "predictiveAutoscalePolicy": {"scaleMode": "Disabled"},
                },
                "systemData": system_data(CLOCK.now),
            }

        return arm("PUT", autoscale_path, 201, body)

    record(
        "autoscale",
        "scale(dep, min_replicas=1, max_replicas=2): PUT the Azure Monitor autoscale setting\n"
        "hostkit-<endpoint> (api-version 2022-10-01) on the deployment, CPU-based rules.",
        [autoscale_reply(1, 2, 1)],
        lambda: first.scale(dep, min_replicas=1, max_replicas=2),
    )

    def teardown_twice() -> None:
        first.teardown(dep)
        assert first.find(NAME) is None
        first.teardown(dep)

    record(
        "teardown",
        "teardown, find, teardown again: GET the endpoint, DELETE the autoscale setting (204),\n"
        "DELETE the endpoint (202; its deployment goes with it), GET until 404; find: 404;\n"
        "the second teardown: GET 404, DELETE autoscale 204 again.",
        [
            *teardown_tail(target, ep_op, t0),
            not_found(NAME),
            not_found(NAME),
            arm("DELETE", autoscale_path, 204),
        ],
        teardown_twice,
    )
    missing = "hostkit-compliance-missing"
    record(
        "teardown_missing",
        "teardown of a name that was never deployed: GET the endpoint, 404, nothing to do.",
        [not_found(missing)],
        lambda: provider().teardown(missing),
    )

    # deploy_failed: the container crashes loading a 70B model on one A100
    failing = spec(name=f"{NAME}-failed", **FAILING)
    replies, f_ep_op, f_dep_op, f_t0 = creating(failing, env_exists=True)
    tags = endpoint_tags(failing)
    fname = failing.name
    crash = {
        "code": "ResourceNotReady",
        "message": (
            "User container has crashed or terminated: Liveness probe failed: HTTP probe"
            " failed with statuscode: 502. Please see troubleshooting guide, available here:"
            " https://aka.ms/oe-tsg#error-resourcenotready"
        ),
        "details": [],
        "additionalInfo": [],
    }
    replies += [
        endpoint(fname, "Succeeded", tags=tags, operation=f_ep_op, created=f_t0),
        deployment(fname, "Creating", operation=f_dep_op, created=f_t0),
        endpoint(fname, "Succeeded", tags=tags, operation=f_ep_op, created=f_t0),
        deployment(fname, "Failed", operation=f_dep_op, created=f_t0),
        operation_status(f_dep_op, "Failed", f_t0, crash),
        *teardown_tail(failing, f_ep_op, f_t0)[:],
        not_found(fname),
    ]
    # the rollback's GET shows no traffic yet
    replies[-6] = endpoint(fname, "Succeeded", tags=tags, operation=f_ep_op, created=f_t0)
    failed_provider = provider()

    def failed_deploy() -> None:
        try:
            failed_provider.deploy(failing)
        except DeploymentFailed as error:
            assert "ResourceNotReady" in (error.reason or ""), error
        else:
            raise AssertionError("deploy should fail")
        assert failed_provider.find(fname) is None

    record(
        "deploy_failed",
        "deploy that fails: the deployment's provisioning state becomes Failed; GET its\n"
        "operation status for Azure's reason (ResourceNotReady: the container crashed),\n"
        "then the clean-up: GET the endpoint, DELETE autoscale (204), DELETE the endpoint,\n"
        "GET until 404; the final GET is the test's look-up (404: nothing left).",
        replies,
        failed_deploy,
    )

    # error scenarios on invoke (the key was fetched by deploy)
    record(
        "error_401",
        "invoke with a key the endpoint rejects: 401 from the scoring front end.",
        [score(401, {"message": "Invalid authentication: the key or token is not valid."})],
        lambda: _expect(HostkitError, lambda: first_again().invoke(dep, PROMPT)),
    )
    record(
        "error_404",
        "invoke while the endpoint has no deployment to route to: 404 (Azure ML's\n"
        "documented meaning: no valid deployment with positive weight).",
        [
            score(
                404,
                {
                    "message": "No valid deployments to route to. Please check that the endpoint"
                    " has at least one deployment with positive weight values or use a"
                    " deployment specific header to route."
                },
            )
        ],
        lambda: _expect(HostkitError, lambda: first_again().invoke(dep, PROMPT)),
    )
    too_many = {
        "message": "Too many pending requests: the deployment takes 2 *"
        " max_concurrent_requests_per_instance * instance_count requests at a time."
    }
    record(
        "error_429_then_ok",
        "invoke while the deployment is saturated: 429 (azureml-fe sends no Retry-After),\n"
        "then the retry succeeds.",
        [score(429, too_many), score(200, chat_completion())],
        lambda: first_again().invoke(dep, PROMPT),
    )
    record(
        "error_429_exhausted",
        "invoke while saturated: 429 four times (the first try and hostkit's three retries).",
        [score(429, too_many) for _ in range(4)],
        lambda: _expect(HostkitError, lambda: first_again().invoke(dep, PROMPT)),
    )
    broken = {"message": "An unexpected error occurred in scoring infrastructure."}
    record(
        "error_5xx",
        "invoke while Azure ML's scoring infrastructure fails: 500 four times (scoring an\n"
        "LLM changes nothing, so hostkit retries it).",
        [score(500, broken) for _ in range(4)],
        lambda: _expect(HostkitError, lambda: first_again().invoke(dep, PROMPT)),
    )
    extra_scenarios(first, dep, target, ep_op, dep_op, t0)


def first_again() -> Any:
    """A fresh provider that already holds the key (as after the deploy scenario)."""
    from hostkit.adapters import Secret

    made = provider()
    made._keys[NAME] = Secret("recording-placeholder-endpoint-key")
    return made


def _expect(error: type[BaseException], action: Callable[[], Any]) -> None:
    try:
        action()
    except error:
        return
    raise AssertionError(f"expected {error.__name__}")


def _failed_deploy_replies(target: Any, error: dict[str, Any]) -> list[Reply]:
    """A deploy whose deployment fails with ``error``, and its clean-up."""
    replies, ep_op, dep_op, t0 = creating(target, env_exists=True)
    tags = endpoint_tags(target)
    name = target.name
    replies += [
        endpoint(name, "Succeeded", tags=tags, operation=ep_op, created=t0),
        deployment(name, "Failed", operation=dep_op, created=t0),
        operation_status(dep_op, "Failed", t0, error),
        endpoint(name, "Succeeded", tags=tags, operation=ep_op, created=t0),
        arm("DELETE", autoscale_of(name), 204),
        arm("DELETE", ep_path(name), 202, None, delete_headers(name)),
        not_found(name),
    ]
    return replies


def autoscale_of(name: str) -> str:
    return (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/microsoft.insights"
        f"/autoscalesettings/hostkit-{name}"
    )


def delete_headers(name: str) -> dict[str, str]:
    status = operation_url("oe", name)
    return {
        "location": status.replace("mfeOperationsStatus", "mfeOperationResults"),
        "azure-asyncoperation": status,
        "retry-after": "15",
        "x-ms-async-operation-timeout": "PT2H",
    }


def workspace_reply() -> Reply:
    workspace_guid = str(uuid.uuid5(uuid.NAMESPACE_URL, "workspace/hostkit-ws"))
    group = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers"
    body = {
        "id": WS,
        "name": WORKSPACE,
        "type": "Microsoft.MachineLearningServices/workspaces",
        "location": REGION,
        "tags": {},
        "kind": "Default",
        "identity": {
            "type": "SystemAssigned",
            "principalId": str(uuid.uuid5(uuid.NAMESPACE_URL, "principal/workspace")),
            "tenantId": TENANT,
        },
        "sku": {"name": "Basic", "tier": "Basic"},
        "properties": {
            "friendlyName": WORKSPACE,
            "workspaceId": workspace_guid,
            "storageAccount": f"{group}/Microsoft.Storage/storageAccounts/hostkitws7431",
            "keyVault": f"{group}/Microsoft.Keyvault/vaults/hostkitws2610",
            "applicationInsights": f"{group}/Microsoft.insights/components/hostkitws5519",
            "containerRegistry": f"{group}/Microsoft.ContainerRegistry/registries/hostkitws8f2c",
            "discoveryUrl": f"https://{REGION}.api.azureml.ms/discovery",
            "mlFlowTrackingUri": f"azureml://{REGION}.api.azureml.ms/mlflow/v1.0{WS}",
            "provisioningState": "Succeeded",
            "publicNetworkAccess": "Enabled",
            "hbiWorkspace": False,
            "v1LegacyMode": False,
            "enableDataIsolation": False,
            "systemDatastoresAuthMode": "accesskey",
        },
        "systemData": system_data(CLOCK.now - 86400 * 30),
    }
    return arm("GET", WS, 200, body)


def extra_scenarios(first: Any, dep: Any, target: Any, ep_op: str, dep_op: str, t0: float) -> None:
    """Platform-specific cassettes for tests/test_azureml.py."""
    from hostkit import Deployment
    from hostkit.errors import DeploymentFailed, HostkitError

    def failing(action: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            try:
                action()
            except (DeploymentFailed, HostkitError):
                return
            raise AssertionError("expected a failure")

        return run

    quota_spec = spec(name="llama-quota", **COMPLIANCE)
    record(
        "quota",
        "deploy without GPU quota: the deployment's operation fails with OutOfQuota (Azure\n"
        "reports it in the operation status, per its troubleshooting guide); the clean-up\n"
        "deletes the endpoint.",
        _failed_deploy_replies(
            quota_spec,
            {
                "code": "OutOfQuota",
                "message": (
                    f"Not enough quota available for {INSTANCE} in SubscriptionId"
                    f" {SUBSCRIPTION}. Current usage/limit: 0/0. Additional needed: 24 Please"
                    " see troubleshooting guide, available here:"
                    " https://aka.ms/oe-tsg#error-outofquota"
                ),
                "details": [],
                "additionalInfo": [],
            },
        ),
        failing(lambda: provider().deploy(quota_spec)),
    )
    capacity_spec = spec(name="llama-capacity", **COMPLIANCE)
    record(
        "capacity",
        "deploy when the region has no capacity for the VM size: the operation fails with\n"
        "OutOfQuota and Azure's region-wide capacity message; the clean-up deletes the\n"
        "endpoint.",
        _failed_deploy_replies(
            capacity_spec,
            {
                "code": "OutOfQuota",
                "message": (
                    "Due to a lack of Azure Machine Learning capacity in the region, the service"
                    f" has failed to provision the specified VM size {INSTANCE}. Retry later or"
                    " try deploying to a different region. Please see troubleshooting guide,"
                    " available here: https://aka.ms/oe-tsg#error-outofquota"
                ),
                "details": [],
                "additionalInfo": [],
            },
        ),
        failing(lambda: provider().deploy(capacity_spec)),
    )

    # timeout: a gated model (HF_TOKEN in env) that never finishes loading in time
    gated = spec(
        name="llama-gated",
        model="meta-llama/Llama-3.1-8B-Instruct",
        instance=INSTANCE,
        env={"HF_TOKEN": "hf_fakePlaceholderToken000"},
    )
    replies, g_ep, g_dep, g_t0 = creating(gated, env_exists=True)
    tags = endpoint_tags(gated)
    for _ in range(4):
        replies += [
            endpoint(gated.name, "Succeeded", tags=tags, operation=g_ep, created=g_t0),
            deployment(gated.name, "Creating", operation=g_dep, created=g_t0),
        ]
    replies += [
        endpoint(gated.name, "Succeeded", tags=tags, operation=g_ep, created=g_t0),
        arm("DELETE", autoscale_of(gated.name), 204),
        arm("DELETE", ep_path(gated.name), 202, None, delete_headers(gated.name)),
        not_found(gated.name),
    ]
    slow = provider()

    def timed_out() -> None:
        with fake_clock():
            import hostkit_providers.azureml.provider as adapter

            slow.sleep = adapter.time.sleep
            try:
                slow.deploy(gated, timeout=60)
            except DeploymentFailed:
                return
        raise AssertionError("expected a timeout")

    record(
        "timeout",
        "deploy(timeout=60) of a gated model (HF_TOKEN passed in env, REDACTED here) whose\n"
        "deployment is still Creating at the deadline (polls at 0, 5, 15, 35 s); the\n"
        "clean-up deletes the endpoint.",
        replies,
        timed_out,
    )

    # ARM throttling and a passing 503 on a read: hostkit's retry policy, Retry-After honoured
    record(
        "arm_throttled",
        "get(name) while ARM throttles reads: 429 with Retry-After: 17, then 503, then the\n"
        "endpoint and deployment.",
        [
            arm_error(
                "GET",
                ep_path(NAME),
                429,
                "TooManyRequests",
                "The request is being throttled as the limit has been reached for operation"
                " type - Read_ObservationWindow_00:05:00. For more information, see"
                " - https://aka.ms/srpthrottlinglimits",
                **{"retry-after": "17"},
            ),
            arm_error(
                "GET",
                ep_path(NAME),
                503,
                "ServiceUnavailable",
                "The service is temporarily unavailable. Please retry the request.",
            ),
            *ready_pair(target, ep_op, dep_op, t0),
        ],
        lambda: provider().get(NAME),
    )
    record(
        "arm_forbidden",
        "scale(dep, 3) by an identity without Azure Monitor rights: 403 AuthorizationFailed\n"
        "on the autoscale setting, naming the missing action.",
        [
            arm_error(
                "DELETE",
                autoscale_of(NAME),
                403,
                "AuthorizationFailed",
                "The client 'ml-platform@contoso.com' with object id"
                " '4b0f3a1e-9c2d-4e7f-8a6b-5d4c3b2a1f0e' does not have authorization to"
                " perform action 'microsoft.insights/autoscalesettings/delete' over scope"
                f" '{autoscale_of(NAME)}' or the scope is invalid. If access was recently"
                " granted, please refresh your credentials.",
            )
        ],
        failing(lambda: first_again().scale(dep, 3)),
    )
    record(
        "error_424",
        "invoke when the model container answers an error: 424 from azureml-fe with the\n"
        "container's status and reason in ms-azureml-model-error-* headers.",
        [
            score(
                424,
                {
                    "message": "An unexpected error occurred in scoring script."
                    " Check the logs for more info."
                },
                **{
                    "ms-azureml-model-error-statuscode": "422",
                    "ms-azureml-model-error-reason": "model_error",
                },
            )
        ],
        failing(lambda: first_again().invoke(dep, PROMPT)),
    )
    stream_error = (
        "data: "
        + json.dumps(
            {
                "object": "chat.completion.chunk",
                "id": "",
                "created": int(CLOCK.now),
                "model": MODEL,
                "system_fingerprint": "3.3.4-sha-9a7b5c1",
                "choices": [
                    {
                        "index": 0,
                        "delta": {"role": "assistant", "content": "Hello"},
                        "logprobs": None,
                        "finish_reason": None,
                    }
                ],
                "usage": None,
            },
            separators=(",", ":"),
        )
        + "\n\n"
        + "data: "
        + json.dumps(
            {
                "error": "Request failed during generation: Server error: CUDA out of memory."
                " Tried to allocate 2.00 GiB",
                "error_type": "generation",
            },
            separators=(",", ":"),
        )
        + "\n\n"
    )
    record(
        "stream_error",
        "stream that breaks: TGI sends one chunk, then an error event (its shape:\n"
        "{error, error_type}) and closes.",
        [score(200, stream_error, content_type="text/event-stream")],
        failing(lambda: list(first_again().stream(dep, PROMPT))),
    )

    # another process finds a failed deployment: Azure's reason from the operation status
    broken_spec = spec(name="llama-broken", **COMPLIANCE)
    b_ep, b_dep = operation_url("oe", broken_spec.name), operation_url("od", broken_spec.name)
    b_t0 = CLOCK.tick()
    WORLD.put[dep_path(broken_spec.name)] = json.loads(
        json.dumps(WORLD.put[dep_path(NAME)]).replace(NAME, broken_spec.name)
    )
    record(
        "get_failed",
        "get(name) of a deployment that failed (from another process): GET endpoint and\n"
        "deployment (Failed), then its operation status (from the resource's\n"
        "AzureAsyncOperationUri) for Azure's reason.",
        [
            endpoint(
                broken_spec.name,
                "Succeeded",
                tags=endpoint_tags(broken_spec),
                operation=b_ep,
                created=b_t0,
            ),
            deployment(broken_spec.name, "Failed", operation=b_dep, created=b_t0),
            operation_status(
                b_dep,
                "Failed",
                b_t0,
                {
                    "code": "BadArgument",
                    "message": (
                        "Unable to download user container image. Please see troubleshooting"
                        " guide, available here: https://aka.ms/oe-tsg#error-badargument"
                    ),
                    "details": [],
                    "additionalInfo": [],
                },
            ),
        ],
        lambda: provider().get(broken_spec.name),
    )
    busy = spec(name="llama-busy", **COMPLIANCE)
    busy_op = operation_url("oe", busy.name)
    busy_t0 = CLOCK.tick()
    record(
        "teardown_busy",
        "teardown while Azure still runs another operation on the endpoint: DELETE answers\n"
        "409 Conflict, hostkit waits and deletes again (202), then GET until 404.",
        [
            endpoint(
                busy.name,
                "Updating",
                tags=endpoint_tags(busy),
                operation=busy_op,
                traffic={"hostkit": 100},
                created=busy_t0,
            ),
            arm("DELETE", autoscale_of(busy.name), 204),
            arm_error(
                "DELETE",
                ep_path(busy.name),
                409,
                "UserError",
                "Conflict: an update operation is in progress for this online endpoint."
                " Wait for it to finish and try again.",
            ),
            arm("DELETE", ep_path(busy.name), 202, None, delete_headers(busy.name)),
            not_found(busy.name),
        ],
        lambda: provider().teardown(
            Deployment(name=busy.name, provider="azureml", model=MODEL, status="failed")
        ),
    )
    foreign = "scoring-prod"
    record(
        "teardown_foreign",
        "teardown of a name whose endpoint hostkit did not create (no hostkit-name tag):\n"
        "the look-up GETs it (and finds no deployment hostkit), teardown GETs it again and\n"
        "refuses; nothing is deleted.",
        [
            endpoint(
                foreign,
                "Succeeded",
                tags={"team": "fraud"},
                operation=operation_url("oe", foreign),
                traffic={"blue": 100},
                created=CLOCK.now - 86400,
            ),
            arm_error(
                "GET",
                dep_path(foreign),
                404,
                "UserError",
                f"Not found: deployment hostkit does not exist in online endpoint {foreign}.",
            ),
            endpoint(
                foreign,
                "Succeeded",
                tags={"team": "fraud"},
                operation=operation_url("oe", foreign),
                traffic={"blue": 100},
                created=CLOCK.now - 86400,
            ),
        ],
        failing(lambda: provider().teardown(foreign)),
    )

    # an Azure ML model in a custom container, autoscaled 1-3, region from the workspace
    raw_spec = spec(
        name="fraud-scorer",
        model="azureml:fraud-model:3",
        image="hostkitws8f2c.azurecr.io/fraud-scorer:2.1",
        instance="Standard_DS3_v2",
        min_replicas=1,
        max_replicas=3,
    )
    from hostkit_providers.azureml.containers import raw_container

    container = raw_container(raw_spec.image, {})
    r_routes = {
        "livenessRoute": {"port": container.port, "path": container.health_path},
        "readinessRoute": {"port": container.port, "path": container.health_path},
        "scoringRoute": {"port": container.port, "path": container.scoring_path},
    }
    r_name = raw_spec.name
    r_t0 = CLOCK.tick()
    r_ep, r_dep = operation_url("oe", r_name), operation_url("od", r_name)
    r_tags = endpoint_tags(raw_spec, "raw")
    version = container.environment_version()
    env_path = f"{WS}/environments/hostkit-serving/versions/{version}"
    raw_replies = [
        not_found(r_name),
        workspace_reply(),
        put_endpoint_reply(r_name, 201, r_ep, created=r_t0),
        endpoint(r_name, "Succeeded", tags=r_tags, operation=r_ep, created=r_t0),
        arm_error("GET", env_path, 404, "UserError", f"Could not find asset with ID: {env_path}"),
        environment_reply(version, 201, str(raw_spec.image), r_routes),
        put_deployment_reply(r_name, r_dep, created=CLOCK.now),
        endpoint(r_name, "Succeeded", tags=r_tags, operation=r_ep, created=r_t0),
        deployment(r_name, "Succeeded", operation=r_dep, created=r_t0),
        put_endpoint_reply(r_name, 200, r_ep, created=r_t0),
        endpoint(
            r_name, "Succeeded", tags=r_tags, operation=r_ep, traffic={"hostkit": 100}, created=r_t0
        ),
        deployment(r_name, "Succeeded", operation=r_dep, created=r_t0),
        arm("PUT", autoscale_of(r_name), 201, _autoscale_echo(r_name)),
        keys_reply(r_name),
    ]
    regionless = provider(region=None)
    raw_dep = record(
        "deploy_raw",
        "deploy of an Azure ML model (azureml:fraud-model:3) in a custom container image,\n"
        "autoscaled 1-3, with no region setting: GET the workspace for its region, create\n"
        "the endpoint, register the image as an environment (Azure ML inference server\n"
        "routes), PUT the deployment with the model's ARM id, route traffic, PUT the\n"
        "autoscale setting, POST listKeys.",
        raw_replies,
        lambda: regionless.deploy(raw_spec),
    )
    record(
        "invoke_raw",
        "invoke of the Azure ML model: the payload as it is to /score; JSON predictions back.",
        [score(200, [0.0312, 0.9127], endpoint=r_name)],
        lambda: regionless.invoke(
            raw_dep,
            {"input_data": {"columns": ["amount", "age_days"], "data": [[12.5, 3], [980.0, 1]]}},
        ),
    )


def _autoscale_echo(name: str) -> Callable[[Any], dict[str, Any]]:
    def body(script: Any) -> dict[str, Any]:
        sent = json.loads(script.pending_body or "{}")
        return {
            "id": autoscale_of(name),
            "name": f"hostkit-{name}",
            "type": "Microsoft.Insights/autoscaleSettings",
            "location": sent["location"],
            "tags": sent.get("tags", {}),
            "properties": {
                **sent["properties"],
                "predictiveAutoscalePolicy": {"scaleMode": "Disabled"},
            },
            "systemData": system_data(CLOCK.now),
        }

    return body


if __name__ == "__main__":
    main()
