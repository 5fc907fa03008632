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
import ssl
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

__all__ = [
    "DEADLINE",
    "STREAMING",
    "AsyncDeadlineTransport",
    "DeadlineTransport",
    "Limit",
    "async_deadline_transport",
    "deadline_transport",
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
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        timeout, limit = _bounded(timeout, httpcore.ReadTimeout, "no complete response")
        try:
            return self._inner.read(max_bytes, timeout)
        except httpcore.ReadTimeout as error:
            raise _timed_out(limit, error, "no complete response") from None

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        timeout, limit = _bounded(timeout, httpcore.WriteTimeout, "request not sent")
        try:
            self._inner.write(buffer, timeout)
        except httpcore.WriteTimeout as error:
            raise _timed_out(limit, error, "request not sent") from None

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        timeout, _ = _bounded(timeout, httpcore.ConnectTimeout, "no connection")
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        timeout, _ = _bounded(timeout, httpcore.ConnectTimeout, "no connection")
        return _Stream(self._inner.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        timeout, _ = _bounded(timeout, httpcore.ConnectTimeout, "no connection")
        return _Stream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _AsyncStream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        timeout, limit = _bounded(timeout, httpcore.ReadTimeout, "no complete response")
        try:
            return await self._inner.read(max_bytes, timeout)
        except httpcore.ReadTimeout as error:
            raise _timed_out(limit, error, "no complete response") from None

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        timeout, limit = _bounded(timeout, httpcore.WriteTimeout, "request not sent")
        try:
            await self._inner.write(buffer, timeout)
        except httpcore.WriteTimeout as error:
            raise _timed_out(limit, error, "request not sent") from None

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        timeout, _ = _bounded(timeout, httpcore.ConnectTimeout, "no connection")
        return _AsyncStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _AsyncBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        timeout, _ = _bounded(timeout, httpcore.ConnectTimeout, "no connection")
        return _AsyncStream(
            await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        )

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        timeout, _ = _bounded(timeout, httpcore.ConnectTimeout, "no connection")
        return _AsyncStream(await self._inner.connect_unix_socket(path, timeout, socket_options))

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

    def __init__(self, inner: httpx.HTTPTransport) -> None:
        self._inner = inner
        #: whether every socket operation is bounded (False: a pool httpx no longer has)
        self.bounds_sockets = _wrap_backend(inner, _Backend)

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
            response.stream = _BoundedBody(response.stream, limit)  # type: ignore[arg-type]
        return response

    def close(self) -> None:
        self._inner.close()


class AsyncDeadlineTransport(httpx.AsyncBaseTransport):
    """Async twin of :class:`DeadlineTransport`."""

    def __init__(self, inner: httpx.AsyncHTTPTransport) -> None:
        self._inner = inner
        self.bounds_sockets = _wrap_backend(inner, _AsyncBackend)

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
            response.stream = _AsyncBoundedBody(response.stream, limit)  # type: ignore[arg-type]
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def deadline_transport(**options: Any) -> DeadlineTransport:
    """An ``httpx.HTTPTransport(**options)`` whose calls end by their deadline."""
    return DeadlineTransport(httpx.HTTPTransport(**options))


def async_deadline_transport(**options: Any) -> AsyncDeadlineTransport:
    """An ``httpx.AsyncHTTPTransport(**options)`` whose calls end by their deadline."""
    return AsyncDeadlineTransport(httpx.AsyncHTTPTransport(**options))
