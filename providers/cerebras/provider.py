"""The ``cerebras`` provider: Cerebras Inference, on the official ``cerebras-cloud-sdk``.

Cerebras serves open-weight chat models on its own wafer-scale hardware and bills
per token. Nothing is created or deleted here:

* ``deploy`` looks the model up (``GET /v1/models/{id}``); an unknown model raises
  NotFound naming the closest ids ``GET /v1/models`` lists. A local record is
  kept so that ``get(name)`` works from a later process.
* ``invoke`` / ``ainvoke`` / ``stream`` send ``POST /v1/chat/completions``
  through one pooled SDK client each (sync and async), built on first use. The
  SDK's own retries are off (``max_retries=0``): hostkit's retry policy is the
  only one. ``warm_tcp_connection=False`` keeps construction silent (the SDK
  would otherwise send ``GET /v1/tcp_warming``).
* Results carry the platform's ``time_info`` as ``timings`` and the
  ``x-ratelimit-*`` headers as ``rate_limits``; ``cost_usd`` comes from the
  shipped ``prices.toml`` (or the config's ``[prices.cerebras]``).
* Errors: every SDK exception is translated in :meth:`CerebrasProvider.translate_error`
  (flat ``{"message", "type", "param", "code"}`` bodies; a daily quota that is
  used up is QuotaExceeded, a context-length error names the limit).
"""

from __future__ import annotations

import inspect
import os
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from hostkit import Deployment, InvokeResult, Stream, Usage
from hostkit.adapters import (
    REQUEST_ID_HEADERS,
    SdkClients,
    ServerlessProvider,
    build_chat_body,
    error_from_response,
    message_from_body,
    stainless_http_client,
    usage_from,
)
from hostkit.errors import (
    ConfigError,
    HostkitError,
    NotFound,
    ProviderError,
    QuotaExceeded,
    RateLimited,
    Timeout,
)

if TYPE_CHECKING:
    import httpx
    from cerebras.cloud.sdk import AsyncCerebras, Cerebras

__all__ = ["DEFAULT_BASE_URL", "CerebrasProvider", "rate_limits_from", "timings_from"]

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.cerebras.ai"
SDK_MODULE = "cerebras.cloud.sdk"
#: ``time_info`` fields that are durations in seconds (``created`` is a timestamp)
TIMING_FIELDS = ("queue_time", "prompt_time", "completion_time", "total_time")
#: ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}[-{minute,hour,day}]``
_RATE_HEADER = re.compile(
    r"^x-ratelimit-(limit|remaining|reset)-(requests|tokens)(?:-(minute|hour|day))?$"
)
#: the windows Cerebras documents (requests per day, tokens per minute) also fill
#: the window-free keys every provider uses (``remaining_requests`` ...)
_PRIMARY_WINDOW = {"requests": "day", "tokens": "minute"}
_CONTEXT_LIMIT = re.compile(r"current length is (\d+) while limit is (\d+)", re.IGNORECASE)
_CONTEXT_WORDS = re.compile(
    r"reduce the length|context length|context window|maximum context|too many tokens in",
    re.IGNORECASE,
)
_DAILY_WORDS = re.compile(r"per day|daily", re.IGNORECASE)
#: response headers that carry a request id, in order of preference
_ID_HEADERS = ("cerebras-request-id", *REQUEST_ID_HEADERS)
_ID_HEADERS_BYTES = frozenset(name.encode() for name in _ID_HEADERS)


# -- pure helpers (no SDK needed) ---------------------------------------------
def _number(value: str) -> int | float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return int(number) if number.is_integer() and "." not in value else number


def _header_pairs(headers: Mapping[str, str]) -> Iterator[tuple[str, str]]:
    """The rate-limit and request-id headers as ``(lower-case name, value)`` pairs.

    From httpx's undecoded list when there is one: only the wanted headers are decoded.
    """
    raw = getattr(headers, "raw", None)
    if isinstance(raw, list):
        for name, value in raw:
            lowered = name.lower()
            if lowered.startswith(b"x-ratelimit-") or lowered in _ID_HEADERS_BYTES:
                yield lowered.decode("latin-1"), value.decode("latin-1")
    else:
        for name, value in headers.items():
            yield name.lower(), value


@lru_cache(maxsize=256)
def _rate_keys(name: str) -> tuple[tuple[str, ...], bool] | None:
    """The result keys one ``x-ratelimit-*`` header fills, and whether it is a reset time."""
    match = _RATE_HEADER.match(name)
    if match is None:
        return None
    kind, what, window = match.groups()
    suffix = "_s" if kind == "reset" else ""
    keys = []
    if window:
        keys.append(f"{kind}_{what}_{window}{suffix}")
    if window in (None, _PRIMARY_WINDOW[what]):
        keys.append(f"{kind}_{what}{suffix}")
    return tuple(keys), kind == "reset"


def _scan_headers(headers: Mapping[str, str]) -> tuple[str | None, dict[str, Any]]:
    """The request id and the rate limits of a response, in one pass over its headers."""
    limits: dict[str, Any] = {}
    ids: dict[str, str] = {}
    for name, value in _header_pairs(headers):
        if name.startswith("x-ratelimit-"):
            found = _rate_keys(name)
            number = _number(value.strip()) if found else None
            if found is None or number is None:
                continue
            keys, is_reset = found
            for key in keys:
                limits[key] = float(number) if is_reset else number
        elif name in _ID_HEADERS and value:
            ids[name] = value
    request_id = next((ids[name] for name in _ID_HEADERS if name in ids), None)
    return request_id, limits


def rate_limits_from(headers: Mapping[str, str]) -> dict[str, Any]:
    """The ``x-ratelimit-*`` headers as numbers: remaining requests/tokens and resets.

    Every window is kept (``remaining_requests_day``, ``reset_tokens_minute_s`` ...,
    resets in seconds); the documented pair (requests per day, tokens per minute)
    also fills ``limit_requests``, ``remaining_requests``, ``reset_requests_s``,
    ``limit_tokens``, ``remaining_tokens`` and ``reset_tokens_s``.
    """
    return _scan_headers(headers)[1]


def timings_from(time_info: Mapping[str, Any] | None) -> dict[str, float]:
    """The platform's own timings in seconds (queue, prompt, completion, total)."""
    if not time_info:
        return {}
    return {
        key: float(time_info[key])
        for key in TIMING_FIELDS
        if isinstance(time_info.get(key), int | float)
    }


def _request_id(headers: Mapping[str, str]) -> str | None:
    return _scan_headers(headers)[0]


def _seconds(value: float) -> str:
    hours, rest = divmod(int(value), 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{seconds:02d}s" if minutes else f"{value:.1f}s"


@cache
def _create_parameters(completions_class: Any) -> frozenset[str]:
    """The body fields ``chat.completions.create`` takes as keyword arguments."""
    names = set(inspect.signature(completions_class.create).parameters)
    return frozenset(names - {"self", "extra_headers", "extra_query", "extra_body", "timeout"})


class _Attempt:
    """Times the last attempt of a retried call: ``latency_s`` is that request's own time."""

    __slots__ = ("started",)

    def __init__(self) -> None:
        self.started = 0.0

    def run(self, fn: Callable[[], T]) -> T:
        self.started = time.perf_counter()
        return fn()

    async def arun(self, fn: Callable[[], Awaitable[T]]) -> T:
        self.started = time.perf_counter()
        return await fn()

    def elapsed(self) -> float:
        return time.perf_counter() - self.started


class CerebrasProvider(ServerlessProvider):
    """Cerebras Inference (serverless chat models, priced per token)."""

    name = "cerebras"
    description = "Cerebras Inference: open-weight chat models on wafer-scale chips, per token"
    credential_env = "CEREBRAS_API_KEY"
    requires = (SDK_MODULE,)
    install_extra = "cerebras"
    price_file = "prices.toml"
    unsupported: ClassVar[Mapping[str, str]] = {
        "logs": "Cerebras is serverless: no server of yours runs, so there are no server"
        " logs; hostkit's own log (the 'hostkit' logger: INFO per call, DEBUG for request"
        " details and request ids) records every request",
        "scale": "capacity on Cerebras scales automatically (shared inference, limited per"
        " account by rate limits); for dedicated capacity use Cerebras Dedicated Inference,"
        " an enterprise plan arranged with Cerebras sales",
    }

    def setup(self) -> None:
        self._clients: SdkClients[Cerebras, AsyncCerebras] = SdkClients(
            lambda: self._build_client(asynchronous=False),
            lambda: self._build_client(asynchronous=True),
        )
        # the setting, else the variable the SDK itself reads, else Cerebras' public API
        configured = self.setting("base_url") or os.environ.get("CEREBRAS_BASE_URL")
        base = str(configured or DEFAULT_BASE_URL).rstrip("/")
        # the SDK's paths start with /v1: accept the OpenAI-style ".../v1" too
        self.base_url = base[:-3] if base.endswith("/v1") else base

    # -- the SDK clients (one each, built on first use) ------------------------
    def _client_options(self) -> dict[str, Any]:
        import httpx

        return {
            "api_key": self.api_key(),
            "base_url": self.base_url,
            "max_retries": 0,  # hostkit's retry policy is the only one
            "timeout": httpx.Timeout(self.timeout, connect=min(10.0, self.timeout)),
            "warm_tcp_connection": False,  # else construction sends GET /v1/tcp_warming
        }

    def _build_client(self, *, asynchronous: bool) -> Any:
        sdk = self.import_sdk(SDK_MODULE)
        options = self._client_options()
        http = stainless_http_client(
            sdk,
            asynchronous=asynchronous,
            timeout=options["timeout"],
            http2=True,
            max_connections=self.max_connections,
        )
        return (sdk.AsyncCerebras if asynchronous else sdk.Cerebras)(http_client=http, **options)

    @property
    def client(self) -> Cerebras:
        """The pooled synchronous SDK client (built on first use; sends nothing)."""
        return self._clients.sync

    @property
    def aclient(self) -> AsyncCerebras:
        """The async SDK client of the running event loop (a second ``asyncio.run`` gets its
        own: pooled connections belong to a loop)."""
        return self._clients.async_

    def close(self) -> None:
        self._clients.close()

    async def aclose(self) -> None:
        await self._clients.aclose()

    # -- errors ------------------------------------------------------------------
    def translate_error(self, error: Exception) -> HostkitError | None:
        """Map every cerebras-cloud-sdk exception to the hostkit error tree."""
        sdk = self.import_sdk(SDK_MODULE)
        if isinstance(error, sdk.APIStatusError):
            return self._status_error(error)
        if isinstance(error, sdk.APITimeoutError):  # the cause names the deadline
            why = f" ({error.__cause__})" if error.__cause__ else ""
            return Timeout(
                f"request to Cerebras timed out: {error.message}{why}", provider=self.name
            )
        if isinstance(error, sdk.APIConnectionError):
            cause = error.__cause__
            detail = f" ({type(cause).__name__}: {cause})" if cause else ""
            return ProviderError(
                f"could not reach Cerebras at {self.base_url}: {error.message}{detail}",
                provider=self.name,
                retryable=True,
            )
        if isinstance(error, sdk.APIResponseValidationError):
            return ProviderError(
                f"Cerebras answered in an unexpected shape: {error.message}",
                provider=self.name,
                status_code=error.status_code,
                request_id=_request_id(error.response.headers),
            )
        if isinstance(error, sdk.CerebrasError):  # APIError and the SDK's own checks
            return ProviderError(f"{type(error).__name__}: {error}", provider=self.name)
        if _is_transport_error(error):  # a stream cut while its body was being read
            return ProviderError(
                f"the connection to Cerebras broke mid-response: {type(error).__name__}: {error}",
                provider=self.name,
                retryable=False,
            )
        return None

    def _status_error(self, error: Any) -> HostkitError:
        response: httpx.Response = error.response
        status = int(error.status_code)
        headers = response.headers
        body = error.body  # the SDK unwraps an ``error`` object; Cerebras sends a flat one
        details = body if isinstance(body, Mapping) else {}
        message = str(details.get("message") or "") or (
            message_from_body(body) if isinstance(body, str | bytes) and body else error.message
        )
        code = str(details.get("code") or "")
        request_id = _request_id(headers) or (str(details["id"]) if details.get("id") else None)
        common: dict[str, Any] = {
            "provider": self.name,
            "status_code": status,
            "request_id": request_id,
        }
        if response.status_code < 400:  # an error event inside a 200 stream
            return ProviderError(f"error in stream: {message}", retryable=False, **common)
        if status == 402:
            return QuotaExceeded(
                f"{message} (HTTP 402: the Cerebras account is out of credit; add a payment"
                " method or credits in the Cerebras Cloud console)",
                **common,
            )
        if status == 429:
            return self._rate_limit_error(message, headers, common)
        if status in (400, 413, 422) and (
            code == "context_length_exceeded" or _CONTEXT_WORDS.search(message)
        ):
            return ProviderError(_context_message(message), **common)
        if status == 413:
            return ProviderError(
                f"request too large for Cerebras (HTTP 413, the request size limit): {message}",
                **common,
            )
        mapped = error_from_response(status, headers, b"", provider=self.name, message=message)
        mapped.request_id = request_id
        return mapped

    def _rate_limit_error(
        self, message: str, headers: Mapping[str, str], common: dict[str, Any]
    ) -> HostkitError:
        limits = rate_limits_from(headers)
        for what in ("requests", "tokens"):
            if limits.get(f"remaining_{what}_day") == 0:
                reset = limits.get(f"reset_{what}_day_s")
                when = f"; it resets in {_seconds(reset)}" if reset is not None else ""
                return QuotaExceeded(
                    f"{message} (the daily {what} quota of this Cerebras account is used up{when})",
                    **common,
                )
        if _DAILY_WORDS.search(message):
            return QuotaExceeded(f"{message} (a daily Cerebras quota is used up)", **common)
        mapped = error_from_response(429, headers, b"", provider=self.name, message=message)
        assert isinstance(mapped, RateLimited)
        if mapped.retry_after is None:
            # no retry-after: wait until every emptied minute/hour window has refilled
            waits = [
                float(limits[f"reset_{what}_{window}_s"])
                for what in ("requests", "tokens")
                for window in ("minute", "hour")
                if limits.get(f"remaining_{what}_{window}") == 0
                and f"reset_{what}_{window}_s" in limits
            ]
            mapped.retry_after = max(waits) if waits else None
        mapped.request_id = common["request_id"]
        return mapped

    # -- models --------------------------------------------------------------------
    def endpoint_for(self, model: str) -> str | None:
        return f"{self.base_url}/v1/chat/completions"

    def lookup_model(self, model: str) -> dict[str, Any]:
        """``GET /v1/models/{id}``; NotFound names the closest served ids."""
        try:
            raw = self.call(lambda: self.client.models.with_raw_response.retrieve(model))
        except NotFound as error:
            suggested = self.model_not_found(model, error)
            # keep the platform's own words next to the suggestions
            raise NotFound(
                f"{suggested.message} (Cerebras: {error.message})",
                provider=self.name,
                status_code=error.status_code,
                request_id=error.request_id,
            ) from error
        data = raw.http_response.json()
        return dict(data) if isinstance(data, Mapping) else {"id": model}

    def list_models(self) -> list[str]:
        """Ids from ``GET /v1/models``."""
        raw = self.call(lambda: self.client.models.with_raw_response.list())
        data = raw.http_response.json()
        items = data.get("data") if isinstance(data, Mapping) else None
        return [str(item["id"]) for item in items or [] if isinstance(item, Mapping)]

    def fetch_live_prices(self) -> list[Any]:
        """Per-token prices from Cerebras' public models API, no key (live_prices.py)."""
        from .live_prices import fetch_live_prices

        return list(fetch_live_prices(self))

    # -- invoke ----------------------------------------------------------------------
    def _create_kwargs(
        self, deployment: Deployment, request: Any, params: Mapping[str, Any], *, stream: bool
    ) -> dict[str, Any]:
        body = build_chat_body(deployment.model, request, params, stream=stream)
        if not stream and "stream" in body:
            raise ConfigError(
                "stream=...: use hostkit.stream(...) (or Deployment.stream) to stream,"
                " and invoke/ainvoke for one answer"
            )
        resources = self.import_sdk(f"{SDK_MODULE}.resources.chat.completions")
        known = _create_parameters(resources.CompletionsResource)
        kwargs = {key: value for key, value in body.items() if key in known}
        extra = {key: value for key, value in body.items() if key not in known}
        if extra:  # passed through untouched (fields newer than the installed SDK)
            kwargs["extra_body"] = extra
        return kwargs

    def _result(
        self,
        deployment: Deployment,
        data: Mapping[str, Any],
        headers: Mapping[str, str],
        latency_s: float,
    ) -> InvokeResult:
        choices = data.get("choices") or []
        message = (choices[0].get("message") or {}) if choices else {}
        text = message.get("content")
        usage = usage_from(data.get("usage"))
        request_id, limits = _scan_headers(headers)
        return InvokeResult(
            text=text if isinstance(text, str) else None,
            output=message,
            usage=usage,
            latency_s=latency_s,
            provider=self.name,
            model=str(data.get("model") or deployment.model),
            cost_usd=self.invoke_cost(deployment.model, usage),
            request_id=request_id or data.get("id"),
            timings=timings_from(data.get("time_info")),
            rate_limits=limits,
            raw=data,
        )

    def invoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        kwargs = self._create_kwargs(deployment, request, params, stream=False)
        attempt = _Attempt()
        create = self.client.chat.completions.with_raw_response.create
        raw = self.call(lambda: attempt.run(lambda: create(**kwargs)))
        latency = attempt.elapsed()
        response = raw.http_response
        return self._result(deployment, self._json(response), response.headers, latency)

    async def ainvoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        kwargs = self._create_kwargs(deployment, request, params, stream=False)
        attempt = _Attempt()
        create = self.aclient.chat.completions.with_raw_response.create
        raw = await self.acall(lambda: attempt.arun(lambda: create(**kwargs)))
        latency = attempt.elapsed()
        response = raw.http_response
        return self._result(deployment, self._json(response), response.headers, latency)

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ProviderError(
                f"Cerebras answered {response.request.url.path} with something other than a"
                f" JSON object: {response.text[:200]!r}",
                provider=self.name,
                status_code=response.status_code,
                request_id=_request_id(response.headers),
            )
        if data.get("error"):  # an error object inside a 200 answer
            error = data["error"]
            message = error.get("message") if isinstance(error, Mapping) else str(error)
            raise ProviderError(
                f"Cerebras returned an error: {message}",
                provider=self.name,
                status_code=data.get("status_code") or response.status_code,
                request_id=_request_id(response.headers),
            )
        return data

    def stream(self, deployment: Deployment, request: Any, **params: Any) -> Stream:
        """Text chunks as they arrive; usage and ``time_info`` come on the last chunk.

        Opening the stream is retried like any call; once text has arrived nothing
        is retried: an error event or a broken connection raises a hostkit error
        with the platform's message.
        """
        kwargs = self._create_kwargs(deployment, request, params, stream=True)
        attempt = _Attempt()
        create = self.client.chat.completions.with_raw_response.create
        raw = self.call(lambda: attempt.run(lambda: create(**kwargs)))
        request_id, limits = _scan_headers(raw.http_response.headers)
        events: Any = raw.parse()  # the SDK's Stream of chat.completion.chunk objects
        state = _StreamState()

        def chunks() -> Iterator[str]:
            try:
                for event in events:
                    piece = state.take(event)
                    if piece:
                        if state.ttft is None:
                            state.ttft = attempt.elapsed()
                        yield piece
            except HostkitError:
                raise
            except Exception as error:
                raise self.map_error(error) from error
            if not state.finished:
                raise ProviderError(
                    "the Cerebras stream ended before the model finished (no finish_reason"
                    f" after {len(state.parts)} chunks): the connection was cut",
                    provider=self.name,
                    request_id=request_id or state.id,
                )

        def finish() -> InvokeResult:
            text = "".join(state.parts)
            output: dict[str, Any] = {"role": "assistant", "content": text}
            if state.reasoning:
                output["reasoning"] = "".join(state.reasoning)
            usage = state.usage
            return InvokeResult(
                text=text,
                output=output,
                usage=usage,
                latency_s=attempt.elapsed(),
                ttft_s=state.ttft,
                provider=self.name,
                model=state.model or deployment.model,
                cost_usd=self.invoke_cost(deployment.model, usage),
                request_id=request_id or state.id,
                timings=state.timings,
                rate_limits=limits,
                raw={"id": state.id, "finish_reason": state.finish_reason},
            )

        return Stream(chunks(), finish, close=events.close)


class _StreamState:
    """What a stream has delivered so far (read from the SDK's chunk objects)."""

    __slots__ = (
        "finish_reason",
        "finished",
        "id",
        "model",
        "parts",
        "reasoning",
        "timings",
        "ttft",
        "usage",
    )

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.reasoning: list[str] = []
        self.usage = Usage()
        self.timings: dict[str, float] = {}
        self.ttft: float | None = None
        self.id: str | None = None
        self.model: str | None = None
        self.finish_reason: str | None = None
        self.finished = False

    def take(self, event: Any) -> str | None:
        """Record one ``chat.completion.chunk``; return its new text, if any."""
        self.id = self.id or getattr(event, "id", None)
        self.model = self.model or getattr(event, "model", None)
        usage = getattr(event, "usage", None)
        if usage is not None:
            self.usage = Usage(
                input_tokens=usage.prompt_tokens, output_tokens=usage.completion_tokens
            )
        time_info = getattr(event, "time_info", None)
        if time_info is not None:
            self.timings = timings_from({k: getattr(time_info, k, None) for k in TIMING_FIELDS})
        text = []
        for choice in getattr(event, "choices", None) or []:
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason
                self.finished = True
            delta = choice.delta
            if delta is None:
                continue
            if delta.reasoning:
                self.reasoning.append(delta.reasoning)
            if delta.content:
                text.append(delta.content)
        if not text:
            return None
        piece = "".join(text)
        self.parts.append(piece)
        return piece


def _context_message(message: str) -> str:
    found = _CONTEXT_LIMIT.search(message)
    if found:
        length, limit = found.groups()
        return (
            f"the request is longer than the model's context limit of {int(limit):,} tokens"
            f" (it has {int(length):,} with the completion): {message}"
        )
    return f"the request exceeds the model's context length limit: {message}"


def _is_transport_error(error: Exception) -> bool:
    try:
        import httpx
    except ImportError:  # pragma: no cover - httpx comes with the SDK
        return False
    return isinstance(error, httpx.TransportError)
