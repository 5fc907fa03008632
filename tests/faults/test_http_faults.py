"""HTTP faults of issue #13 against real sockets: a trickling server, echoed keys, model errors.

Each test starts a tiny loopback server (a thread on 127.0.0.1, port 0) and stops it
before it ends. No test sends anything off this machine.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import socketserver
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import hostkit
from hostkit._http import HttpClient, connection_pool, error_from_response
from hostkit._redact import Secret, scrub_exception
from hostkit._retry import RetryPolicy
from hostkit.errors import AuthenticationError, ConfigError, ModelError, ProviderError, Timeout

Handler = Callable[[socket.socket, bytes], None]


class Loopback:
    """A threaded TCP server on 127.0.0.1 answering every request with ``handler``."""

    def __init__(self, handler: Handler) -> None:
        outer = self

        class _Handle(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                sock: socket.socket = self.request
                while not outer.stopping.is_set():
                    head = _read_request(sock)
                    if head is None:
                        return
                    outer.requests.append(head)
                    try:
                        handler(sock, head)
                    except OSError:
                        return

        class _Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 1024

        self.stopping = threading.Event()
        self.requests: list[bytes] = []
        self.server = _Server(("127.0.0.1", 0), _Handle)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def _read_request(sock: socket.socket) -> bytes | None:
    """One request's head and body (by content-length), or None when the client left."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head + b"\r\n\r\n" + body


@pytest.fixture
def loopback() -> Iterator[Callable[[Handler], Loopback]]:
    """Start loopback servers; every one is stopped (and proven closed) at the end."""
    started: list[Loopback] = []

    def start(handler: Handler) -> Loopback:
        server = Loopback(handler)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


def trickle(sock: socket.socket, head: bytes, *, every: float = 0.5, total: int = 200) -> None:
    """Headers at once, then one byte of a JSON body every ``every`` seconds."""
    body = b'"' + b"x" * (total - 2) + b'"'
    sock.sendall(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        + f"content-length: {len(body)}\r\n\r\n".encode()
    )
    for byte in body:
        time.sleep(every)
        sock.sendall(bytes([byte]))


def trickle_headers(sock: socket.socket, head: bytes) -> None:
    """The status line and headers themselves, one byte every 0.5 s."""
    for byte in b"HTTP/1.1 200 OK\r\nx-slow: " + b"y" * 200 + b"\r\ncontent-length: 2\r\n\r\n{}":
        time.sleep(0.5)
        sock.sendall(bytes([byte]))


def client(
    server: Loopback, *, timeout: float = 1.0, max_retries: int = 0, **kw: Any
) -> HttpClient:
    retry = RetryPolicy(max_retries=max_retries, **kw)
    return HttpClient(provider="loop", base_url=server.url, retry=retry, timeout=timeout)


# -- item 5: timeout bounds the whole call ----------------------------------------------
@pytest.mark.parametrize("handler", [trickle, trickle_headers], ids=["body", "headers"])
def test_a_trickling_server_cannot_hold_a_sync_call_past_its_timeout(
    loopback: Callable[[Handler], Loopback], handler: Handler
) -> None:
    server = loopback(handler)
    http = client(server, timeout=1.0)
    started = time.monotonic()
    try:
        with pytest.raises(Timeout, match=r"1s deadline"):
            http.request("POST", "/invoke", json={"input": 1})
    finally:
        http.close()
    assert time.monotonic() - started < 3.0


@pytest.mark.parametrize("handler", [trickle, trickle_headers], ids=["body", "headers"])
def test_a_trickling_server_cannot_hold_an_async_call_past_its_timeout(
    loopback: Callable[[Handler], Loopback], handler: Handler
) -> None:
    server = loopback(handler)
    http = client(server, timeout=1.0)

    async def call() -> None:
        try:
            await http.arequest("POST", "/invoke", json={"input": 1})
        finally:
            await http.aclose()

    started = time.monotonic()
    with pytest.raises(Timeout, match=r"1s deadline"):
        asyncio.run(call())
    assert time.monotonic() - started < 3.0


def test_a_per_request_timeout_is_the_deadline_of_that_request(
    loopback: Callable[[Handler], Loopback],
) -> None:
    server = loopback(trickle)
    http = client(server, timeout=60.0)
    started = time.monotonic()
    try:
        with pytest.raises(Timeout, match=r"1s deadline"):
            http.request("GET", "/health", timeout=1.0)
    finally:
        http.close()
    assert time.monotonic() - started < 3.0


def test_a_plain_httpx_call_through_the_transport_is_bounded_too(
    loopback: Callable[[Handler], Loopback],
) -> None:
    """SDK adapters get the same transport (``stainless_http_client``): read timeout = deadline."""
    from hostkit._deadline import deadline_transport

    server = loopback(trickle)
    started = time.monotonic()
    with (
        httpx.Client(transport=deadline_transport(), timeout=1.0) as plain,
        pytest.raises(httpx.ReadTimeout, match=r"1s deadline"),
    ):
        plain.get(f"{server.url}/x")
    assert time.monotonic() - started < 3.0


def test_a_streamed_response_is_bounded_to_its_headers_then_per_gap(
    loopback: Callable[[Handler], Loopback],
) -> None:
    """A stream may run past the deadline while each gap stays under ``timeout``."""

    def sse(sock: socket.socket, head: bytes) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n")
        for i in range(6):
            time.sleep(0.3)
            sock.sendall(f"data: {i}\n\n".encode())
        sock.close()

    server = loopback(sse)
    http = client(server, timeout=1.0)
    try:
        with http.stream("GET", "/events") as response:
            body = b"".join(response.iter_bytes())
    finally:
        http.close()
    assert body.count(b"data:") == 6  # ~1.8 s in all, past the 1 s deadline


def test_the_groq_sdk_path_gets_the_same_deadline(
    loopback: Callable[[Handler], Loopback], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SDK adapters build their httpx client with ``stainless_http_client``: bounded too."""
    monkeypatch.setenv("GROQ_API_KEY", "gsk-deadline-test-key-000")
    server = loopback(trickle)
    provider = hostkit.get_provider("groq", base_url=server.url, timeout=1.0, max_retries=0)
    dep = provider.serverless_deployment("chat", "some/model", None, {"id": "some/model"})
    started = time.monotonic()
    try:
        with pytest.raises(Timeout) as caught:
            provider.invoke(dep, "hi")
    finally:
        provider.close()
    assert time.monotonic() - started < 3.0
    assert "the call's 1s deadline passed" in str(caught.value)


def test_retries_stop_within_the_budget_of_the_call(
    loopback: Callable[[Handler], Loopback],
) -> None:
    """timeout x (max_retries + 1) bounds the call with its retries and waits."""
    server = loopback(trickle)
    http = client(server, timeout=0.5, max_retries=2, initial_wait=0.4, jitter=0.0)
    started = time.monotonic()
    try:
        with pytest.raises(Timeout):
            http.request("GET", "/slow")
    finally:
        http.close()
    assert time.monotonic() - started < 1.5 + 1.0
    # 0.5 + 0.4 wait + 0.5 + (a 0.8 wait would pass the 1.5 s budget: not started)
    assert len(server.requests) == 2


# -- item 4: a failure inside the model is not retried ---------------------------------
def answer(status: int, body: dict[str, Any]) -> Handler:
    def handler(sock: socket.socket, head: bytes) -> None:
        data = json.dumps(body).encode()
        sock.sendall(
            f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
            f"content-length: {len(data)}\r\n\r\n".encode()
            + data
        )

    return handler


@pytest.mark.parametrize(
    ("status", "kind", "expected"),
    [
        (424, "model_error", ModelError),
        (500, "model_error", ModelError),
        (504, "model_timeout", Timeout),
    ],
)
def test_a_model_failure_is_raised_once_and_not_retried(
    loopback: Callable[[Handler], Loopback], status: int, kind: str, expected: type[Exception]
) -> None:
    message = "RuntimeError: the model broke"
    server = loopback(answer(status, {"error": {"message": message, "type": kind}}))
    http = client(server, timeout=5.0, max_retries=3, initial_wait=0.0, jitter=0.0)
    try:
        with pytest.raises(expected, match="the model broke") as caught:
            http.request("POST", "/invoke", json={"input": 1}, safe=True)
    finally:
        http.close()
    assert caught.value.status_code == status  # type: ignore[attr-defined]
    assert caught.value.retryable is False  # type: ignore[attr-defined]
    assert len(server.requests) == 1


def test_a_model_error_is_still_a_provider_error() -> None:
    error = error_from_response(424, {}, b'{"error": {"message": "boom"}}', provider="x")
    assert isinstance(error, ModelError) and isinstance(error, ProviderError)
    assert not error.retryable and str(error) == "[x] boom (HTTP 424)"
    # a plain 500 or 504 stays transient
    assert error_from_response(500, {}, b"oops", provider="x").retryable
    assert error_from_response(504, {}, b'{"error": {"type": "gateway"}}', provider="x").retryable


# -- item 18: a key the server echoes back stays masked everywhere ----------------------
KEY = "gsk-EchoedKeyInChain-0018-abcdef"


def echo_key(sock: socket.socket, head: bytes) -> None:
    """401 with the request's Authorization echoed in a header and in the body."""
    auth = next(
        (
            line.split(b":", 1)[1].strip().decode()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"authorization:")
        ),
        "",
    )
    data = json.dumps({"error": {"message": f"Invalid API Key: {auth}"}}).encode()
    sock.sendall(
        f"HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\nx-echo: {auth}\r\n"
        f"content-length: {len(data)}\r\n\r\n".encode()
        + data
    )


def _everything_shown(error: BaseException, caplog: pytest.LogCaptureFixture) -> str:
    logged = "\n".join(logging.Formatter().format(record) for record in caplog.records)
    return "\n".join([str(error), repr(error), "".join(traceback.format_exception(error)), logged])


def _debug_logging(caplog: pytest.LogCaptureFixture) -> None:
    for name in ("httpcore", "httpx", "groq", "hostkit"):
        caplog.set_level(logging.DEBUG, logger=name)


def test_an_echoed_key_is_masked_in_http_client_errors_and_debug_logs(
    loopback: Callable[[Handler], Loopback], caplog: pytest.LogCaptureFixture
) -> None:
    _debug_logging(caplog)
    Secret(KEY)
    server = loopback(echo_key)
    http = HttpClient(
        provider="keyed",
        base_url=server.url,
        retry=RetryPolicy(max_retries=0),
        headers=lambda: {"authorization": f"Bearer {KEY}"},
    )
    try:
        with pytest.raises(AuthenticationError) as caught:
            http.request("GET", "/models")
    finally:
        http.close()
    shown = _everything_shown(caught.value, caplog)
    assert "Invalid API Key: Bearer ***" in shown
    assert any("x-echo" in r.getMessage() for r in caplog.records), "httpcore logged headers"
    assert KEY not in shown


def test_an_echoed_key_is_masked_in_the_chained_sdk_exception(
    loopback: Callable[[Handler], Loopback],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _debug_logging(caplog)
    monkeypatch.setenv("GROQ_API_KEY", KEY)
    server = loopback(echo_key)
    provider = hostkit.get_provider("groq", base_url=server.url, max_retries=0)
    dep = provider.serverless_deployment("chat", "some/model", None, {"id": "some/model"})
    try:
        with pytest.raises(AuthenticationError) as caught:
            provider.invoke(dep, "hi")
    finally:
        provider.close()
    error = caught.value
    assert error.__cause__ is not None, "the SDK's exception is chained"
    shown = _everything_shown(error, caplog)
    assert "groq.AuthenticationError" in shown or "AuthenticationError" in shown
    assert KEY not in shown
    assert KEY not in str(error.__cause__) and KEY not in repr(error.__cause__)


def test_a_chained_exception_with_its_own_text_is_replaced_when_it_shows_a_key() -> None:
    key = "sk-OwnStrKeyInChain-0018-zz"
    Secret(key)

    class Stubborn(Exception):
        def __str__(self) -> str:
            return f"server said {key}"

    try:
        try:
            raise Stubborn()
        except Stubborn as sdk_error:
            raise ProviderError("the platform failed", provider="x") from sdk_error
    except ProviderError as error:
        caught = error
    scrub_exception(caught)
    formatted = "".join(traceback.format_exception(caught))
    assert key not in formatted
    assert "Stubborn: server said ***" in formatted


def test_sagemakers_model_error_is_a_model_error() -> None:
    """The runtime's ModelError (424: the container failed) maps to the same type."""
    pytest.importorskip("botocore")
    from botocore.exceptions import ClientError
    from hostkit_providers.sagemaker._errors import translate

    response = {
        "Error": {"Code": "ModelError", "Message": "Received server error (500)"},
        "ResponseMetadata": {"RequestId": "req-1", "HTTPStatusCode": 424, "HTTPHeaders": {}},
        "OriginalStatusCode": 500,
        "OriginalMessage": "ZeroDivisionError",
    }
    error = translate(ClientError(response, "InvokeEndpoint"), provider="sagemaker", region=None)
    assert isinstance(error, ModelError) and not error.retryable
    assert "container said: ZeroDivisionError" in error.message and error.status_code == 424


def test_a_failed_replicate_prediction_is_a_model_error() -> None:
    from hostkit_providers.replicate.predictions import prediction_failure

    failed = {"id": "p1", "model": "a/b", "status": "failed", "error": "CUDA error"}
    error = prediction_failure(failed, "replicate")
    assert isinstance(error, ModelError) and not error.retryable
    assert "prediction p1 on a/b failed: CUDA error" in str(error)


# -- item 20: the connection pool follows the caller's concurrency -----------------------
class Connections:
    """A loopback handler that holds each answer briefly and counts open connections."""

    def __init__(self, hold: float = 0.4) -> None:
        self.hold = hold
        self.lock = threading.Lock()
        self.seen: set[int] = set()

    @property
    def most(self) -> int:
        """Connections opened (kept alive, so: the most open at once)."""
        return len(self.seen)

    def __call__(self, sock: socket.socket, head: bytes) -> None:
        with self.lock:
            self.seen.add(id(sock))
        time.sleep(self.hold)
        sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")


def _fan_out(http: HttpClient, count: int) -> None:
    async def run() -> None:
        try:
            await asyncio.gather(*(http.arequest("GET", f"/{i}") for i in range(count)))
        finally:
            await http.aclose()

    asyncio.run(run())


def test_the_pool_holds_max_connections(loopback: Callable[[Handler], Loopback]) -> None:
    counter = Connections()
    server = loopback(counter)
    retry = RetryPolicy(max_retries=0)
    _fan_out(HttpClient(provider="p", base_url=server.url, retry=retry, max_connections=3), 9)
    assert counter.most == 3 and len(server.requests) == 9


def test_connection_pool_raises_the_pool_to_the_callers_concurrency(
    loopback: Callable[[Handler], Loopback],
) -> None:
    """Past httpx's default of 100, 150 requests in flight get 150 connections."""
    counter = Connections()
    server = loopback(counter)
    http = HttpClient(provider="p", base_url=server.url, retry=RetryPolicy(max_retries=0))
    with connection_pool(150):
        _fan_out(http, 150)
    assert counter.most == 150


def test_max_connections_is_a_provider_setting(isolated_hostkit: Path) -> None:
    local = hostkit.get_provider("local", max_connections=7)
    assert local.max_connections == 7  # type: ignore[attr-defined]
    assert local._client("http://127.0.0.1:9").max_connections == 7  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="max_connections' must be >= 1"):
        hostkit.get_provider("local", max_connections=0)
    with (
        pytest.raises(ConfigError, match="concurrency must be a whole number >= 1"),
        connection_pool(0),
    ):
        pass


def test_sdk_clients_are_rebuilt_with_the_callers_pool() -> None:
    import groq

    from hostkit._sdkclients import SdkClients, stainless_http_client

    def build() -> Any:
        return stainless_http_client(groq, asynchronous=False, timeout=5.0)

    clients: SdkClients[Any, Any] = SdkClients(build, build)
    try:
        small = clients.sync
        with connection_pool(256):
            big = clients.sync
        assert big is not small
        pool = big._transport._inner._pool  # the httpcore pool behind the deadline transport
        assert pool._max_connections == 256 and pool._max_keepalive_connections == 256
        assert clients.sync is big  # a smaller need later keeps the bigger pool
    finally:
        clients.close()


def test_replicates_transport_is_bounded_too(loopback: Callable[[Handler], Loopback]) -> None:
    from hostkit_providers.replicate.provider import _direct_transport

    server = loopback(trickle)
    started = time.monotonic()
    with (
        httpx.Client(transport=_direct_transport(), timeout=1.0) as plain,
        pytest.raises(httpx.ReadTimeout, match=r"1s deadline"),
    ):
        plain.get(f"{server.url}/v1/predictions/p1")
    assert time.monotonic() - started < 3.0


def test_a_library_logger_created_later_is_masked_from_the_next_call(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An SDK imported after the clients were built (google, azure, ...) is covered too."""
    key = "sk-LateLoggerKey-0018-qq"
    Secret(key)
    late = logging.getLogger("google.auth.hostkit_fault_test")
    caplog.set_level(logging.DEBUG, logger="google")
    RetryPolicy(max_retries=0).call(lambda: late.debug("sent authorization: Bearer %s", key))
    assert "sent authorization: Bearer ***" in caplog.text and key not in caplog.text


# -- item 5 for the adapters with their own HTTP stacks ----------------------------------
def _hf_chat(server: Loopback, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    pytest.importorskip("huggingface_hub")
    from hostkit._models import Deployment

    monkeypatch.setenv("HF_TOKEN", "fake-hf-token-for-deadline-test")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    provider = hostkit.get_provider(
        "huggingface", base_url=f"{server.url}/v1", timeout=1.0, max_retries=0
    )
    dep = Deployment(name="chat", provider="huggingface", model="org/model", status="ready")
    return provider, dep


def test_the_huggingface_router_call_gets_the_same_deadline(
    loopback: Callable[[Handler], Loopback], monkeypatch: pytest.MonkeyPatch
) -> None:
    """huggingface_hub's httpx2 client goes through the httpx2 twin of the transport."""
    server = loopback(trickle)
    provider, dep = _hf_chat(server, monkeypatch)
    started = time.monotonic()
    try:
        with pytest.raises(Timeout, match=r"the call's 1s deadline passed"):
            provider.invoke(dep, "hi")
    finally:
        provider.close()
    assert time.monotonic() - started < 3.0


def test_the_async_huggingface_router_call_gets_the_same_deadline(
    loopback: Callable[[Handler], Loopback], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = loopback(trickle_headers)
    provider, dep = _hf_chat(server, monkeypatch)

    async def call() -> None:
        try:
            await provider.ainvoke(dep, "hi")
        finally:
            await provider.aclose()

    started = time.monotonic()
    with pytest.raises(Timeout, match=r"the call's 1s deadline passed"):
        asyncio.run(call())
    assert time.monotonic() - started < 3.0


def test_the_sagemaker_invoke_gets_the_same_deadline(
    loopback: Callable[[Handler], Loopback], monkeypatch: pytest.MonkeyPatch
) -> None:
    """botocore's urllib3 takes no transport: the call is waited for at most ``timeout``."""
    pytest.importorskip("boto3")
    from hostkit._models import Deployment

    server = loopback(trickle)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "fake-access-key-id",
        "AWS_SECRET_ACCESS_KEY": "fake-secret-access-key",
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": server.url,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    provider = hostkit.get_provider("sagemaker", region="us-east-1", timeout=1.0, max_retries=0)
    dep = Deployment(name="raw", provider="sagemaker", model="m", status="ready", raw={})
    started = time.monotonic()
    try:
        with pytest.raises(Timeout, match=r"the call's 1s deadline passed"):
            provider.invoke(dep, {"x": 1})
    finally:
        provider.close()
    assert time.monotonic() - started < 3.0
    assert len(server.requests) == 1 and b"/endpoints/" in server.requests[0]


def test_the_vertex_predict_call_gets_the_same_deadline(
    loopback: Callable[[Handler], Loopback],
) -> None:
    """google-auth's requests session takes no transport: waited for at most ``timeout``."""
    pytest.importorskip("google.cloud.aiplatform_v1")
    import requests
    from hostkit_providers.vertex.provider import _Sdk

    from hostkit._models import Deployment

    server = loopback(trickle)
    provider = hostkit.get_provider(
        "vertex", project="p", location="us-central1", timeout=1.0, max_retries=0
    )
    session = requests.Session()  # stands in for the AuthorizedSession (no credentials here)
    provider._sdk_objects = _Sdk(v1=None, endpoints=None, models=None, session=session)  # type: ignore[attr-defined]
    endpoint = f"{server.url}/v1/projects/p/locations/us-central1/endpoints/1"
    dep = Deployment(name="raw", provider="vertex", model="m", status="ready", endpoint=endpoint)
    started = time.monotonic()
    try:
        with pytest.raises(Timeout, match=r"the call's 1s deadline passed"):
            provider.invoke(dep, {"instances": [1]})
    finally:
        session.close()
        provider._sdk_objects = None  # type: ignore[attr-defined]
        provider.close()
    assert time.monotonic() - started < 3.0
    assert len(server.requests) == 1 and b":predict" in server.requests[0]


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_the_azureml_scoring_call_gets_the_same_deadline(
    loopback: Callable[[Handler], Loopback], asynchronous: bool
) -> None:
    """Azure ML scores through HttpClient, so its deadline transport bounds the call."""
    from hostkit_providers.azureml.provider import endpoint_name

    from hostkit._models import Deployment

    server = loopback(trickle)
    provider = hostkit.get_provider("azureml", timeout=1.0, max_retries=0)
    dep = Deployment(
        name="raw", provider="azureml", model="m", status="ready", endpoint=f"{server.url}/score"
    )
    key = Secret("azureml-deadline-test-key-0000")
    provider._keys[endpoint_name(dep.name)] = key  # type: ignore[attr-defined]

    async def acall() -> None:
        try:
            await provider.ainvoke(dep, "hi")
        finally:
            for _, http in provider._async_clients.values():  # type: ignore[attr-defined]
                await http.aclose()

    started = time.monotonic()
    try:
        with pytest.raises(Timeout, match=r"the call's 1s deadline passed"):
            asyncio.run(acall()) if asynchronous else provider.invoke(dep, "hi")
    finally:
        provider.close()
    assert time.monotonic() - started < 3.0
    assert len(server.requests) == 1 and b"/score" in server.requests[0]
