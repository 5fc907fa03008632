"""A total deadline per HTTP call: httpx transports that bound the whole exchange.

httpx's ``timeout`` bounds each socket operation, so a server that sends one byte
just inside the read timeout can hold a call forever. These transports turn the
read timeout into a deadline for the whole call:

* the deadline is ``read timeout`` seconds after the request is handed to the
  transport, or the ``hostkit.deadline`` request extension (a :class:`Limit`) if
  that is earlier (``HttpClient`` uses it to bound a call and all its retries);
* every connect, write and read on the socket is given at most the time left, so
  a server that trickles headers or body bytes is cut off at the deadline with a
  ``ReadTimeout`` naming it;
* a streamed response (``hostkit.stream`` extension, or a ``text/event-stream``
  body) is bounded up to its headers; after that each gap between chunks is
  bounded by the read timeout, as a token stream may rightly run for minutes.

The sockets are reached through httpcore's network backend, which
:func:`deadline_transport` wraps; the pool's wait for a free connection is
bounded through the ``pool`` timeout. Imported only when a client is built.
"""

from __future__ import annotations

import contextvars
import functools
import ssl
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpcore
import httpx

from hostkit.errors import Timeout

T = TypeVar("T")

__all__ = [
    "DEADLINE",
    "STREAMING",
    "AsyncDeadlineTransport",
    "DeadlineTransport",
    "Limit",
    "async_deadline_transport",
    "call_within",
    "deadline_transport",
    "httpx2_deadline_transport",
]

#: request extension: a :class:`Limit` the whole call must end by
DEADLINE = "hostkit.deadline"
#: request extension: True when the body is streamed (the deadline ends at the headers)
STREAMING = "hostkit.stream"


@dataclass(frozen=True)
class Limit:
    """An absolute ``time.monotonic()`` deadline and the words that name it in errors."""

    at: float
    what: str

    @classmethod
    def after(cls, seconds: float, what: str | None = None) -> Limit:
        return cls(time.monotonic() + seconds, what or f"the call's {seconds:g}s deadline")

    def left(self) -> float:
        return self.at - time.monotonic()


#: the deadline of the call running in this context (read by the socket wrappers)
_current: contextvars.ContextVar[Limit | None] = contextvars.ContextVar(
    "hostkit_http_deadline", default=None
)


def _bounded(
    timeout: float | None, error: type[Exception], doing: str
) -> tuple[float | None, Limit | None]:
    """``timeout`` lowered to the time left (and the limit, when it is the binding one)."""
    limit = _current.get()
    if limit is None:
        return timeout, None
    left = limit.left()
    if left <= 0:
        raise error(f"{doing}: {limit.what} passed")
    if timeout is None or left < timeout:
        return left, limit
    return timeout, None


def _timed_out(limit: Limit | None, error: Exception, doing: str) -> Exception:
    return type(error)(f"{doing}: {limit.what} passed") if limit else error


# -- the socket wrappers ----------------------------------------------------------------
class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, core: Any = httpcore) -> None:
        self._inner = inner
        self._core = core  # httpcore, or httpcore2 (same API, its own exceptions)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        timeout, limit = _bounded(timeout, self._core.ReadTimeout, "no complete response")
        try:
            return self._inner.read(max_bytes, timeout)
        except self._core.ReadTimeout as error:
            raise _timed_out(limit, error, "no complete response") from None

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        timeout, limit = _bounded(timeout, self._core.WriteTimeout, "request not sent")
        try:
            self._inner.write(buffer, timeout)
        except self._core.WriteTimeout as error:
            raise _timed_out(limit, error, "request not sent") from None

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        timeout, _ = _bounded(timeout, self._core.ConnectTimeout, "no connection")
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, timeout), self._core)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend, core: Any = httpcore) -> None:
        self._inner = inner
        self._core = core

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        timeout, _ = _bounded(timeout, self._core.ConnectTimeout, "no connection")
        return _Stream(
            self._inner.connect_tcp(host, port, timeout, local_address, socket_options), self._core
        )

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        timeout, _ = _bounded(timeout, self._core.ConnectTimeout, "no connection")
        return _Stream(self._inner.connect_unix_socket(path, timeout, socket_options), self._core)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _AsyncStream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream, core: Any = httpcore) -> None:
        self._inner = inner
        self._core = core  # httpcore, or httpcore2 (same API, its own exceptions)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        timeout, limit = _bounded(timeout, self._core.ReadTimeout, "no complete response")
        try:
            return await self._inner.read(max_bytes, timeout)
        except self._core.ReadTimeout as error:
            raise _timed_out(limit, error, "no complete response") from None

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        timeout, limit = _bounded(timeout, self._core.WriteTimeout, "request not sent")
        try:
            await self._inner.write(buffer, timeout)
        except self._core.WriteTimeout as error:
            raise _timed_out(limit, error, "request not sent") from None

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        timeout, _ = _bounded(timeout, self._core.ConnectTimeout, "no connection")
        return _AsyncStream(
            await self._inner.start_tls(ssl_context, server_hostname, timeout), self._core
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _AsyncBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, inner: httpcore.AsyncNetworkBackend, core: Any = httpcore) -> None:
        self._inner = inner
        self._core = core

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        timeout, _ = _bounded(timeout, self._core.ConnectTimeout, "no connection")
        return _AsyncStream(
            await self._inner.connect_tcp(host, port, timeout, local_address, socket_options),
            self._core,
        )

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        timeout, _ = _bounded(timeout, self._core.ConnectTimeout, "no connection")
        return _AsyncStream(
            await self._inner.connect_unix_socket(path, timeout, socket_options), self._core
        )

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


# -- the transports ---------------------------------------------------------------------
def _limit_for(request: httpx.Request) -> Limit | None:
    """The earlier of the read timeout from now and the call's own deadline, if any."""
    timeouts = request.extensions.get("timeout") or {}
    read = timeouts.get("read")
    given = request.extensions.get(DEADLINE)
    own = Limit.after(read) if read is not None else None
    if given is None or (own is not None and own.at < given.at):
        return own
    return given if isinstance(given, Limit) else own


def _start(request: httpx.Request, limit: Limit) -> contextvars.Token[Limit | None]:
    """Bound the wait for a pooled connection too; the sockets read the limit from context."""
    timeouts = dict(request.extensions.get("timeout") or {})
    left = max(0.001, limit.left())
    for phase in ("pool", "connect"):
        value = timeouts.get(phase)
        timeouts[phase] = left if value is None else min(value, left)
    request.extensions = {**request.extensions, "timeout": timeouts}
    return _current.set(limit)


def _streamed(request: httpx.Request, response: httpx.Response) -> bool:
    if request.extensions.get(STREAMING):
        return True
    content_type: str = response.headers.get("content-type", "")
    return content_type.startswith("text/event-stream")


def _wrap_backend(transport: Any, wrapper: Any) -> bool:
    """Put the deadline between httpcore's pool and its sockets (False if the pool differs)."""
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if backend is None:
        return False
    pool._network_backend = wrapper(backend)  # type: ignore[union-attr]
    return True


class _BoundedBody(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, limit: Limit) -> None:
        self._inner = inner
        self._limit = limit

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self._inner)
        while True:
            token = _current.set(self._limit)
            try:
                chunk = next(chunks, None)
            finally:
                _current.reset(token)
            if chunk is None:
                return
            yield chunk

    def close(self) -> None:
        self._inner.close()


class _AsyncBoundedBody(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, limit: Limit) -> None:
        self._inner = inner
        self._limit = limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = self._inner.__aiter__()
        while True:
            token = _current.set(self._limit)
            try:
                chunk = await chunks.__anext__()
            except StopAsyncIteration:
                return
            finally:
                _current.reset(token)
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class DeadlineTransport(httpx.BaseTransport):
    """An httpx transport whose calls end by their deadline (see the module docs)."""

    def __init__(
        self, inner: httpx.HTTPTransport, core: Any = httpcore, body: type[Any] | None = None
    ) -> None:
        self._inner = inner
        self._body: type[Any] = body or _BoundedBody
        #: whether every socket operation is bounded (False: a pool httpx no longer has)
        self.bounds_sockets = _wrap_backend(inner, lambda backend: _Backend(backend, core))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        limit = _limit_for(request)
        if limit is None:
            return self._inner.handle_request(request)
        token = _start(request, limit)
        try:
            response = self._inner.handle_request(request)
        finally:
            _current.reset(token)
        if not _streamed(request, response):
            response.stream = self._body(response.stream, limit)
        return response

    def close(self) -> None:
        self._inner.close()


class AsyncDeadlineTransport(httpx.AsyncBaseTransport):
    """Async twin of :class:`DeadlineTransport`."""

    def __init__(
        self, inner: httpx.AsyncHTTPTransport, core: Any = httpcore, body: type[Any] | None = None
    ) -> None:
        self._inner = inner
        self._body: type[Any] = body or _AsyncBoundedBody
        self.bounds_sockets = _wrap_backend(inner, lambda backend: _AsyncBackend(backend, core))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        limit = _limit_for(request)
        if limit is None:
            return await self._inner.handle_async_request(request)
        token = _start(request, limit)
        try:
            response = await self._inner.handle_async_request(request)
        finally:
            _current.reset(token)
        if not _streamed(request, response):
            response.stream = self._body(response.stream, limit)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def deadline_transport(**options: Any) -> DeadlineTransport:
    """An ``httpx.HTTPTransport(**options)`` whose calls end by their deadline."""
    return DeadlineTransport(httpx.HTTPTransport(**options))


def async_deadline_transport(**options: Any) -> AsyncDeadlineTransport:
    """An ``httpx.AsyncHTTPTransport(**options)`` whose calls end by their deadline."""
    return AsyncDeadlineTransport(httpx.AsyncHTTPTransport(**options))


# -- httpx2 (huggingface_hub 2.x): the same transports over httpcore2 ------------------
@functools.cache
def _httpx2_bodies() -> tuple[type[Any], type[Any]]:
    """The body wrappers as httpx2 byte streams (httpx2 checks its own base classes)."""
    import httpx2

    sync = type("_Httpx2BoundedBody", (_BoundedBody, httpx2.SyncByteStream), {})
    asynchronous = type("_Httpx2AsyncBoundedBody", (_AsyncBoundedBody, httpx2.AsyncByteStream), {})
    return sync, asynchronous


def httpx2_deadline_transport(*, asynchronous: bool = False, **options: Any) -> Any:
    """An ``httpx2`` (Async)HTTPTransport(**options) whose calls end by their deadline.

    httpx2/httpcore2 are httpx/httpcore's API under new names, so the same wrappers
    apply; only the exception and byte-stream classes are httpcore2's/httpx2's.
    """
    import httpcore2
    import httpx2

    sync_body, async_body = _httpx2_bodies()
    inner: Any  # an httpx2 transport: the same shape as httpx's, another class
    if asynchronous:
        inner = httpx2.AsyncHTTPTransport(**options)
        return AsyncDeadlineTransport(inner, core=httpcore2, body=async_body)
    inner = httpx2.HTTPTransport(**options)
    return DeadlineTransport(inner, core=httpcore2, body=sync_body)


# -- SDKs whose sockets hostkit cannot reach (botocore's urllib3, google-auth's requests) --
def call_within(seconds: float, call: Callable[[], T], *, provider: str) -> T:
    """``call()``, waited for at most ``seconds``; past that a ``Timeout`` naming the deadline.

    For blocking SDK calls whose HTTP stack takes no httpx transport. ``call`` runs on a
    daemon thread (in a copy of this context) and its result or exception is handed back
    unchanged. Past the deadline the caller gets ``Timeout`` at once and the thread is
    abandoned: the SDK's own socket timeouts end it (``read_timeout`` = ``timeout``, so a
    silent server frees it ``timeout`` later; a server that keeps trickling bytes holds
    that thread and its connection until it stops sending). The thread costs ~0.1 ms.
    """
    done = threading.Event()
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append((True, call()))
        except BaseException as error:  # handed to the caller below
            outcome.append((False, error))
        finally:
            done.set()

    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(run,), daemon=True, name="hostkit-call").start()
    if not done.wait(seconds):
        passed = f"no complete response: the call's {seconds:g}s deadline passed"
        raise Timeout(passed, provider=provider)
    ok, value = outcome[0]
    if ok:
        return value  # type: ignore[no-any-return]
    raise value
