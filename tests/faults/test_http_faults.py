"""HTTP faults of issue #13 against real sockets: a trickling server, echoed keys, model errors.

Each test starts a tiny loopback server (a thread on 127.0.0.1, port 0) and stops it
before it ends. No test sends anything off this machine.
"""

from __future__ import annotations

import asyncio
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from hostkit._http import HttpClient
from hostkit._retry import RetryPolicy
from hostkit.errors import Timeout

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
