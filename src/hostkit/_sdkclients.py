"""The SDK clients of an adapter: one sync client, one async client per event loop.

Pooled connections belong to the event loop that opened them, so a second
``asyncio.run`` needs an async client of its own. Stainless-generated SDKs (groq,
cerebras-cloud-sdk, openai, ...) take an ``http_client``: :func:`stainless_http_client`
builds the SDK's own default client with TCP_NODELAY, a deadline for each whole call
(its ``timeout``, see ``hostkit._deadline``) and the SDK's connection limits, raised
to the caller's concurrency inside :func:`hostkit._http.connection_pool`. A client is
rebuilt when a caller needs a bigger pool than it was built with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from hostkit._http import NO_DELAY, _pool_floor
from hostkit._redact import protect_library_loggers

__all__ = ["SdkClients", "stainless_http_client"]

S = TypeVar("S")
A = TypeVar("A")


def _running_loop() -> object | None:
    import asyncio

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class SdkClients(Generic[S, A]):
    """A sync client built on first use and an async client per running event loop."""

    def __init__(self, make_sync: Callable[[], S], make_async: Callable[[], A]) -> None:
        self._make_sync = make_sync
        self._make_async = make_async
        self._sync: S | None = None
        self._async: A | None = None
        self._loop: object | None = None
        #: the pool floor (``connection_pool``) each client was built under
        self._sync_floor = 0
        self._async_floor = 0
        #: clients replaced by one with a bigger pool (closed with this object)
        self._retired: list[Any] = []
        self._aretired: list[Any] = []

    @property
    def sync(self) -> S:
        floor = _pool_floor.get()
        if self._sync is None or floor > self._sync_floor:
            if self._sync is not None:
                self._retired.append(self._sync)
            self._sync = self._make_sync()
            self._sync_floor = floor
            protect_library_loggers()
        return self._sync

    @property
    def async_(self) -> A:
        loop = _running_loop()
        floor = _pool_floor.get()
        if self._async is None or loop is not self._loop or floor > self._async_floor:
            if self._async is not None and loop is self._loop:
                self._aretired.append(self._async)
            self._async = self._make_async()  # an earlier loop's connections cannot move
            self._loop = loop
            self._async_floor = floor
            protect_library_loggers()
        return self._async

    @property
    def current_async(self) -> A | None:
        """The async client built last (None before the first async call)."""
        return self._async

    def close(self) -> None:
        for old in self._retired:
            old.close()
        self._retired.clear()
        if self._sync is not None:
            self._sync.close()  # type: ignore[attr-defined]
            self._sync = None

    async def aclose(self) -> None:
        self.close()
        for old in self._aretired:
            await old.close()
        self._aretired.clear()
        if self._async is not None:
            await self._async.close()  # type: ignore[attr-defined]
            self._async = None


def _limits(sdk: Any, max_connections: int | None) -> Any:
    """The SDK's connection limits, raised to ``max_connections`` and the caller's need."""
    import httpx

    default = sdk.DEFAULT_CONNECTION_LIMITS
    wanted = max(max_connections or 0, _pool_floor.get())
    if not wanted:
        return default
    return httpx.Limits(
        max_connections=max(default.max_connections or 0, wanted),
        max_keepalive_connections=max(default.max_keepalive_connections or 0, wanted),
        keepalive_expiry=default.keepalive_expiry,
    )


def stainless_http_client(
    sdk: Any,
    *,
    asynchronous: bool,
    timeout: Any,
    http2: bool = False,
    max_connections: int | None = None,
) -> Any:
    """``sdk.DefaultHttpxClient`` (or its async twin) over a TCP_NODELAY deadline transport.

    ``timeout`` (its read part) is the deadline of each whole call, not of each read.
    """
    from hostkit._deadline import async_deadline_transport, deadline_transport

    options = {
        "http2": http2,
        "limits": _limits(sdk, max_connections),
        "socket_options": NO_DELAY,
    }
    if asynchronous:
        transport: Any = async_deadline_transport(**options)
        return sdk.DefaultAsyncHttpxClient(transport=transport, timeout=timeout)
    transport = deadline_transport(**options)
    return sdk.DefaultHttpxClient(transport=transport, timeout=timeout)
