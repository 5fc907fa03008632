"""Shared HTTP plumbing for adapters that speak HTTP themselves (httpx).

:class:`HttpClient` is one pooled httpx client per provider instance with the one
error-translation seam (:func:`error_from_response`, :func:`translate_transport_errors`)
and the one retry policy. Adapters built on an official SDK reuse the same pieces:
``error_from_response`` for HTTP statuses and ``parse_retry_after`` for headers.
httpx itself is imported only when a client is first used.
"""

from __future__ import annotations

import contextvars
import email.utils
import json
import re
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any

from hostkit._redact import protect_library_loggers
from hostkit._retry import RetryPolicy
from hostkit.errors import (
    AuthenticationError,
    ConfigError,
    HostkitError,
    ModelError,
    NotFound,
    ProviderError,
    RateLimited,
    Timeout,
)

if TYPE_CHECKING:
    import httpx

    from hostkit._deadline import Limit

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "HttpClient",
    "connection_pool",
    "error_from_response",
    "message_from_body",
    "parse_go_duration",
    "parse_retry_after",
    "pool_size",
    "request_id_from",
    "translate_httpx_error",
    "translate_transport_errors",
]

REQUEST_ID_HEADERS = (
    "x-request-id",
    "request-id",
    "x-amzn-requestid",
    "x-amz-request-id",
    "x-ms-request-id",
    "x-goog-request-id",
    "cf-ray",
)
_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
#: send small request bodies at once instead of waiting on Nagle's algorithm (which,
#: with the server's delayed ACK, adds ~40 ms to every POST whose headers and body
#: go out in separate writes)
NO_DELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
#: connections per client (all kept alive) unless a provider's ``max_connections`` says
DEFAULT_MAX_CONNECTIONS = 100
#: error types a server uses to say the model itself failed (hostkit's local server does)
MODEL_ERROR_TYPES = frozenset({"model_error", "model_timeout"})
_pool_floor: contextvars.ContextVar[int] = contextvars.ContextVar("hostkit_pool_floor", default=0)


@contextmanager
def connection_pool(concurrency: int) -> Iterator[None]:
    """Clients used inside hold at least ``concurrency`` connections, all kept alive.

    ``bench``, ``compare`` and ``batch`` wrap their runs in this with their concurrency:
    a pool smaller than the number of requests in flight makes them queue for a
    connection (and reconnect, past the keep-alive count). Asyncio tasks and
    ``asyncio.to_thread`` started inside inherit it.
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigError(
            f"connection_pool: concurrency must be a whole number >= 1, got {concurrency!r}"
        )
    token = _pool_floor.set(max(_pool_floor.get(), concurrency))
    try:
        yield
    finally:
        _pool_floor.reset(token)


def pool_size(configured: int | None = None) -> int:
    """Connections a client built now should hold: its own setting or the caller's need."""
    return max(configured or DEFAULT_MAX_CONNECTIONS, _pool_floor.get())


def parse_go_duration(value: str) -> float | None:
    """Seconds from durations such as ``2m59.56s``, ``7.66s`` or ``120ms``."""
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    parts = _GO_DURATION.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return None
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or HTTP date)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if (ms := lowered.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def request_id_from(headers: Mapping[str, str]) -> str | None:
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in REQUEST_ID_HEADERS:
        if lowered.get(name):
            return lowered[name]
    return None


def message_from_body(body: bytes | str, *, limit: int = 500) -> str:
    """The human message in an error body, whatever shape the platform uses."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:limit] or "(empty response body)"
    found = _find_message(data)
    return (found or text.strip())[:limit]


def _find_message(data: Any) -> str | None:
    if isinstance(data, str):
        return data
    if isinstance(data, Mapping):
        for key in ("message", "detail", "error_description", "error", "title", "errors"):
            if key in data and (found := _find_message(data[key])):
                return found
    if isinstance(data, list) and data:
        return _find_message(data[0])
    return None


def error_type_from_body(body: bytes | str) -> str | None:
    """``error.type`` of a JSON error body (``{"error": {"type": ...}}``), else None."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, Mapping) else None
    kind = error.get("type") if isinstance(error, Mapping) else None
    return kind if isinstance(kind, str) else None


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes | str,
    *,
    provider: str | None,
    message: str | None = None,
) -> HostkitError:
    """The hostkit error for an HTTP failure status (the platform's message kept).

    424, or a 5xx whose body says ``"type": "model_error"``, is a :class:`ModelError`
    (the model itself failed; never retried). A ``model_timeout`` body is a
    :class:`Timeout` that is not retried either: the server already waited out the
    model's deadline, and another attempt would hold another worker as long.
    """
    text = message or message_from_body(body)
    request_id = request_id_from(headers)
    common: dict[str, Any] = {
        "provider": provider,
        "status_code": status,
        "request_id": request_id,
    }
    kind = error_type_from_body(body) if status >= 400 else None
    if status == 424 or (kind == "model_error" and status >= 500):
        return ModelError(text, **common)
    if kind == "model_timeout" and status >= 500:
        return Timeout(text, retryable=False, **common)
    if status in (401, 403):
        return AuthenticationError(text, **common)
    if status == 404:
        return NotFound(text, **common)
    if status == 429:
        return RateLimited(text, retry_after=parse_retry_after(headers), **common)
    if status in (408, 504):
        return Timeout(text, **common)
    return ProviderError(text, **common)


@contextmanager
def translate_transport_errors(provider: str | None) -> Iterator[None]:
    """Map httpx transport failures to hostkit errors (the original is chained)."""
    import httpx

    try:
        yield
    except (httpx.ConnectTimeout, httpx.PoolTimeout) as error:
        timeout = Timeout(f"could not connect in time: {error}", provider=provider)
        timeout.request_not_sent = True  # type: ignore[attr-defined]
        raise timeout from error
    except httpx.TimeoutException as error:
        raise Timeout(f"request timed out: {error}", provider=provider) from error
    except httpx.ConnectError as error:
        failure = ProviderError(f"could not connect: {error}", provider=provider, retryable=True)
        failure.request_not_sent = True  # type: ignore[attr-defined]
        raise failure from error
    except httpx.TransportError as error:
        raise ProviderError(
            f"connection failed: {type(error).__name__}: {error}", provider=provider, retryable=True
        ) from error


def translate_httpx_error(
    error: Exception,
    *,
    provider: str,
    platform: str,
    on_status: Callable[[httpx.Response], HostkitError],
) -> HostkitError | None:
    """An httpx failure (or a body that is not the JSON it should be) as a hostkit error.

    For adapters that call httpx themselves: ``on_status`` maps a failure status
    (the adapter reads its platform's error codes there); transport failures map as
    :func:`translate_transport_errors` does. None for anything else.
    """
    import httpx

    if isinstance(error, httpx.HTTPStatusError):
        return on_status(error.response)
    if isinstance(error, httpx.TransportError):
        try:
            with translate_transport_errors(provider):
                raise error
        except HostkitError as mapped:
            return mapped
    if isinstance(error, httpx.HTTPError | httpx.InvalidURL | httpx.StreamError):
        return ProviderError(f"{type(error).__name__}: {error}", provider=provider, retryable=False)
    if isinstance(error, ValueError):
        return ProviderError(
            f"malformed response from {platform}: {error}", provider=provider, retryable=False
        )
    return None


def _attempt_seconds(timeout: Any) -> float | None:
    """The deadline of one attempt: a number, or an ``httpx.Timeout``'s read timeout."""
    if timeout is None or isinstance(timeout, int | float):
        return None if timeout is None else float(timeout)
    read = getattr(timeout, "read", None)
    return float(read) if isinstance(read, int | float) else None


class HttpClient:
    """One pooled httpx client per provider instance, with errors and retries handled.

    Nothing is sent and httpx is not imported until the first request. ``headers``
    is a callable so that credentials are looked up at first use, not construction.

    ``timeout`` is a deadline, not a socket timeout: each attempt ends within it
    however slowly the server sends (a streamed body: its headers do, then each gap
    between chunks is bounded by it), and a call with its retries ends within
    ``timeout x (max_retries + 1)``. ``max_connections`` sizes the pool (all kept
    alive); :func:`connection_pool` raises it for callers that run many at once.
    """

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        retry: RetryPolicy,
        timeout: float = 60.0,
        headers: Callable[[], Mapping[str, str]] | None = None,
        error_message: Callable[[httpx.Response], str | None] | None = None,
        max_connections: int | None = None,
    ) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.retry = retry
        self.timeout = timeout
        self.max_connections = max_connections or DEFAULT_MAX_CONNECTIONS
        self._headers = headers
        self._error_message = error_message
        self._client: httpx.Client | None = None
        self._client_size = 0
        self._aclient: httpx.AsyncClient | None = None
        self._aclient_loop: object = None
        self._aclient_size = 0
        #: clients replaced by a bigger pool, closed with this one (calls may still use them)
        self._retired: list[httpx.Client] = []
        self._aretired: list[httpx.AsyncClient] = []

    def _build_kwargs(self) -> dict[str, Any]:
        import httpx

        headers = dict(self._headers()) if self._headers else {}
        headers.setdefault("user-agent", "hostkit")
        return {
            "base_url": self.base_url,
            "headers": headers,
            "timeout": httpx.Timeout(self.timeout, connect=min(10.0, self.timeout)),
        }

    def _transport_options(self, size: int) -> dict[str, Any]:
        import httpx

        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        return {"socket_options": NO_DELAY, "limits": limits}

    @property
    def client(self) -> httpx.Client:
        size = pool_size(self.max_connections)
        if self._client is None or size > self._client_size:
            import httpx

            from hostkit._deadline import deadline_transport

            if self._client is not None:
                self._retired.append(self._client)
            transport = deadline_transport(**self._transport_options(size))
            self._client = httpx.Client(transport=transport, **self._build_kwargs())
            self._client_size = size
            protect_library_loggers()
        return self._client

    @property
    def aclient(self) -> httpx.AsyncClient:
        """The async client of the running event loop (pooled connections cannot change loops)."""
        import asyncio

        loop = asyncio.get_running_loop()
        size = pool_size(self.max_connections)
        if self._aclient is None or self._aclient_loop is not loop or size > self._aclient_size:
            import httpx

            from hostkit._deadline import async_deadline_transport

            if self._aclient is not None and self._aclient_loop is loop:
                self._aretired.append(self._aclient)
            self._aclient_loop = loop
            transport = async_deadline_transport(**self._transport_options(size))
            self._aclient = httpx.AsyncClient(transport=transport, **self._build_kwargs())
            self._aclient_size = size
            protect_library_loggers()
        return self._aclient

    def raise_for_status(self, response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        response.read()
        message = self._error_message(response) if self._error_message else None
        raise error_from_response(
            response.status_code,
            response.headers,
            response.content,
            provider=self.provider,
            message=message,
        )

    @staticmethod
    def _is_safe(method: str, safe: bool | None) -> bool:
        return method.upper() in IDEMPOTENT_METHODS if safe is None else safe

    def _call_limit(self, kwargs: dict[str, Any], *, streaming: bool = False) -> Limit | None:
        """The deadline of a call and all its retries, put on each attempt's request."""
        from hostkit._deadline import DEADLINE, STREAMING, Limit

        extensions = dict(kwargs.get("extensions") or {})
        if streaming:
            extensions[STREAMING] = True
        seconds = _attempt_seconds(kwargs.get("timeout", self.timeout))
        limit = None
        if seconds is not None and self.retry.max_retries > 0:
            retries = self.retry.max_retries
            budget = seconds * (retries + 1)
            what = f"the {budget:g}s budget of the call and its {retries} retries"
            limit = Limit.after(budget, what)
            extensions[DEADLINE] = limit
        if extensions:
            kwargs["extensions"] = extensions
        return limit

    def request(
        self, method: str, path: str, *, safe: bool | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send with retries; a failure status raises the matching hostkit error."""
        limit = self._call_limit(kwargs)

        def attempt() -> httpx.Response:
            with translate_transport_errors(self.provider):
                response = self.client.request(method, path, **kwargs)
            self.raise_for_status(response)
            return response

        deadline = limit.at if limit else None
        return self.retry.call(attempt, safe=self._is_safe(method, safe), deadline=deadline)

    async def arequest(
        self, method: str, path: str, *, safe: bool | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Async twin of :meth:`request`."""
        limit = self._call_limit(kwargs)

        async def attempt() -> httpx.Response:
            with translate_transport_errors(self.provider):
                response = await self.aclient.request(method, path, **kwargs)
            self.raise_for_status(response)
            return response

        deadline = limit.at if limit else None
        return await self.retry.acall(attempt, safe=self._is_safe(method, safe), deadline=deadline)

    @contextmanager
    def stream(
        self, method: str, path: str, *, safe: bool | None = None, **kwargs: Any
    ) -> Iterator[httpx.Response]:
        """A streamed response; the connection attempt is retried, the body is not.

        The deadline (``timeout``) runs until the response headers; after them each
        gap between chunks may last up to ``timeout``, however long the stream runs.
        """
        limit = self._call_limit(kwargs, streaming=True)

        def attempt() -> httpx.Response:
            with translate_transport_errors(self.provider):
                request = self.client.build_request(method, path, **kwargs)
                response = self.client.send(request, stream=True)
            try:
                self.raise_for_status(response)
            except BaseException:
                response.close()
                raise
            return response

        deadline = limit.at if limit else None
        response = self.retry.call(attempt, safe=self._is_safe(method, safe), deadline=deadline)
        try:
            yield response
        finally:
            response.close()

    @asynccontextmanager
    async def astream(
        self, method: str, path: str, *, safe: bool | None = None, **kwargs: Any
    ) -> AsyncIterator[httpx.Response]:
        """Async twin of :meth:`stream`."""
        limit = self._call_limit(kwargs, streaming=True)

        async def attempt() -> httpx.Response:
            with translate_transport_errors(self.provider):
                request = self.aclient.build_request(method, path, **kwargs)
                response = await self.aclient.send(request, stream=True)
            if response.status_code >= 400:
                await response.aread()
                await response.aclose()
            self.raise_for_status(response)
            return response

        deadline = limit.at if limit else None
        response = await self.retry.acall(
            attempt, safe=self._is_safe(method, safe), deadline=deadline
        )
        try:
            yield response
        finally:
            await response.aclose()

    def close(self) -> None:
        for old in self._retired:
            old.close()
        self._retired.clear()
        if self._client is not None:
            self._client.close()
            self._client = None

    async def aclose(self) -> None:
        self.close()
        for old in self._aretired:
            await old.aclose()
        self._aretired.clear()
        if self._aclient is not None:
            await self._aclient.aclose()
            self._aclient = None
