"""The SDK clients of an adapter: one sync client, one async client per event loop.

Pooled connections belong to the event loop that opened them, so a second
``asyncio.run`` needs an async client of its own. Stainless-generated SDKs (groq,
cerebras-cloud-sdk, openai, ...) take an ``http_client``: :func:`stainless_http_client`
builds the SDK's own default client with TCP_NODELAY and the SDK's connection limits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from hostkit._http import NO_DELAY

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

    @property
    def sync(self) -> S:
        if self._sync is None:
            self._sync = self._make_sync()
        return self._sync

    @property
    def async_(self) -> A:
        loop = _running_loop()
        if self._async is None or loop is not self._loop:
            self._async = self._make_async()  # an earlier loop's connections cannot move
            self._loop = loop
        return self._async

    @property
    def current_async(self) -> A | None:
        """The async client built last (None before the first async call)."""
        return self._async

    def close(self) -> None:
        if self._sync is not None:
            self._sync.close()  # type: ignore[attr-defined]
            self._sync = None

    async def aclose(self) -> None:
        self.close()
        if self._async is not None:
            await self._async.close()  # type: ignore[attr-defined]
            self._async = None


def stainless_http_client(
    sdk: Any, *, asynchronous: bool, timeout: Any, http2: bool = False
) -> Any:
    """``sdk.DefaultHttpxClient`` (or its async twin) over a TCP_NODELAY transport."""
    import httpx

    limits = sdk.DEFAULT_CONNECTION_LIMITS
    if asynchronous:
        transport: Any = httpx.AsyncHTTPTransport(
            http2=http2, limits=limits, socket_options=NO_DELAY
        )
        return sdk.DefaultAsyncHttpxClient(transport=transport, timeout=timeout)
    transport = httpx.HTTPTransport(http2=http2, limits=limits, socket_options=NO_DELAY)
    return sdk.DefaultHttpxClient(transport=transport, timeout=timeout)
