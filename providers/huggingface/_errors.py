"""One translation seam from huggingface_hub and httpx2 failures to ``hostkit.errors``.

Shared by both halves of the provider (the Inference Providers router and
dedicated Inference Endpoints). huggingface_hub raises its own classes
(``HfHubHTTPError`` and subclasses from ``hf_raise_for_status``, text-generation
errors from streams, ``InferenceTimeoutError``, ``OfflineModeIsEnabled``) and lets
httpx2's transport errors through; every one of them maps here. An HTTP failure is
classified from the response itself (status, headers, body), so the platform's own
message and request id always reach the user:

* 401/403 → AuthenticationError; 404 and "model not supported" → NotFound;
* 402 (credits used up) and a 429 that names a daily/monthly quota → QuotaExceeded;
* 429 → RateLimited with ``retry_after`` from ``retry-after(-ms)`` or the Hub's
  ``RateLimit: "api";r=0;t=55`` header;
* 413 and context-window errors → ProviderError naming the limit;
* 5xx → retryable ProviderError; connection failures → retryable ProviderError;
  timeouts → Timeout.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hostkit._http import error_from_response, message_from_body, request_id_from
from hostkit.errors import (
    AuthenticationError,
    CapacityUnavailable,
    ConfigError,
    HostkitError,
    NotFound,
    ProviderError,
    QuotaExceeded,
    RateLimited,
    Timeout,
)

if TYPE_CHECKING:
    import httpx2

__all__ = [
    "context_limit_from",
    "error_from_status",
    "rate_limits_from",
    "translate",
]

PROVIDER = "huggingface"
TOKEN_HINT = (
    "check HF_TOKEN: a fine-grained token needs the 'Make calls to Inference Providers'"
    " permission (https://huggingface.co/settings/tokens)"
)
ENABLE_HINT = (
    "enable a provider that serves it at https://huggingface.co/settings/inference-providers,"
    " or pick a served model (hostkit lists close ones on deploy)"
)
_QUOTA = re.compile(
    r"(?i)(monthly included credits|pre-paid credits|per day|daily|per month|monthly"
    r"|quota|insufficient[_ ]credit|credits? (?:are )?(?:exhausted|depleted))"
)
_CONTEXT = re.compile(
    r"(?i)(context[_ ]length|context window|maximum context|too many tokens|prompt is too long"
    r"|input is too long|reduce the length of the messages|max_tokens.{0,40}exceed)"
)
_NUMBER = re.compile(r"(?<![\w.])(\d{3,9})(?![\w.])")
#: OpenAI-style rate-limit headers some upstream providers send through the router
_OPENAI_RATE_HEADERS = {
    "x-ratelimit-limit-requests": "limit_requests",
    "x-ratelimit-limit-tokens": "limit_tokens",
    "x-ratelimit-remaining-requests": "remaining_requests",
    "x-ratelimit-remaining-tokens": "remaining_tokens",
    "x-ratelimit-reset-requests": "reset_requests_s",
    "x-ratelimit-reset-tokens": "reset_tokens_s",
}


def _json(body: bytes | str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _error_code(headers: Mapping[str, str], data: Any) -> str | None:
    code = headers.get("x-error-code")
    if code:
        return code
    if isinstance(data, Mapping):
        error = data.get("error")
        if isinstance(error, Mapping):
            value = error.get("code") or error.get("type")
            return str(value) if value else None
        value = data.get("code") or data.get("error_type")
        return str(value) if value else None
    return None


def _message(headers: Mapping[str, str], body: bytes | str, fallback: str | None) -> str:
    """The platform's words: ``X-Error-Message`` if set, else the body's message."""
    if headers.get("x-error-message"):
        return headers["x-error-message"]
    if not body and fallback:
        return fallback
    return message_from_body(body)


def rate_limits_from(headers: Mapping[str, str]) -> dict[str, Any]:
    """Remaining requests/tokens and reset seconds from the response headers.

    Reads the Hub's IETF-draft ``RateLimit`` / ``RateLimit-Policy`` headers (with
    huggingface_hub's own parser) and the OpenAI-style ``x-ratelimit-*`` headers an
    upstream provider may send through.
    """
    from huggingface_hub.utils._http import parse_ratelimit_headers

    from hostkit._http import parse_go_duration

    limits: dict[str, Any] = {}
    info = parse_ratelimit_headers(headers)
    if info is not None:
        limits["remaining_requests"] = info.remaining
        limits["reset_requests_s"] = float(info.reset_in_seconds)
        if info.limit is not None:
            limits["limit_requests"] = info.limit
        if info.window_seconds is not None:
            limits["window_s"] = float(info.window_seconds)
    for header, key in _OPENAI_RATE_HEADERS.items():
        value = headers.get(header)
        if value is None or key in limits:
            continue
        if key.endswith("_s"):
            seconds = parse_go_duration(value)
            if seconds is not None:
                limits[key] = seconds
        elif value.strip().isdigit():
            limits[key] = int(value)
    return limits


def _retry_after(headers: Mapping[str, str]) -> float | None:
    from hostkit._http import parse_retry_after

    seconds = parse_retry_after(headers)
    if seconds is None:
        limits = rate_limits_from(headers)
        if limits.get("remaining_requests") == 0:
            seconds = limits.get("reset_requests_s")
    return seconds


def context_limit_from(message: str) -> int | None:
    """The largest token count a context-window message names (None if it names none)."""
    numbers = [int(n) for n in _NUMBER.findall(message.replace(",", ""))]
    return max(numbers) if numbers else None


def _request_model(response: httpx2.Response | None) -> str | None:
    if response is None:
        return None
    try:
        request = response.request
        content = request.content
    except Exception:  # no request attached, or a streamed upload
        return None
    data = _json(content) if content else None
    model = data.get("model") if isinstance(data, Mapping) else None
    return str(model) if model else None


def error_from_status(
    status: int,
    headers: Mapping[str, str],
    body: bytes | str,
    *,
    model: str | None = None,
    context_lengths: Mapping[str, int] | None = None,
    fallback_message: str | None = None,
) -> HostkitError:
    """The hostkit error for one failed router or Hub response (message and id kept).

    ``model`` is the model the request asked for; ``context_lengths`` maps
    ``org/model:provider`` to the context length the router's model list reports,
    so a context-window error can name the limit.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    data = _json(body)
    message = _message(lowered, body, fallback_message)
    code = _error_code(lowered, data)
    common: dict[str, Any] = {
        "provider": PROVIDER,
        "status_code": status,
        "request_id": request_id_from(lowered),
    }
    if status in (401, 403):
        return AuthenticationError(f"{message}; {TOKEN_HINT}", **common)
    if status == 402 or (status == 429 and _QUOTA.search(message)):
        return QuotaExceeded(
            f"{message} (a quota that waiting will not refill; see"
            " https://huggingface.co/settings/billing)",
            **common,
        )
    if status == 413:
        return ProviderError(
            f"the request is larger than the Hugging Face router accepts (HTTP 413, its"
            f" request-size limit): {message}; send fewer or smaller messages or images",
            retryable=False,
            **common,
        )
    if status in (400, 422) and (_CONTEXT.search(message) or code == "context_length_exceeded"):
        limit = context_limit_from(message)
        known = None
        if model and context_lengths:
            served = lowered.get("x-inference-provider")
            base = model.partition(":")[0]
            known = context_lengths.get(f"{base}:{served}") if served else None
            if known is None:
                known = context_lengths.get(model)
        if known is not None:
            limit_text = f"{known} tokens (context length the router lists for {model})"
        elif limit is not None:
            limit_text = f"{limit} tokens"
        else:
            limit_text = "its limit (the router did not say how many tokens)"
        subject = f"model {model!r}" if model else "the model"
        return ProviderError(
            f"the request exceeds the context window of {subject}: {limit_text}; shorten the"
            f" messages or lower max_tokens. Platform message: {message}",
            retryable=False,
            **common,
        )
    if code == "model_not_supported" or "not supported by any provider" in message.lower():
        return NotFound(f"{message}; {ENABLE_HINT}", **common)
    if code == "model_not_found":
        return NotFound(message, **common)
    if status == 429:
        return RateLimited(message, retry_after=_retry_after(lowered), **common)
    return error_from_response(status, lowered, body, provider=PROVIDER, message=message)


ENDPOINTS_TOKEN_HINT = (
    "check HF_TOKEN: Inference Endpoints need a token with write access to the namespace"
    " (fine-grained: 'Manage Inference Endpoints'), and the namespace needs billing set up"
)
_CAPACITY = re.compile(
    r"(?i)(insufficient capacity|no capacity|not enough capacity|out of capacity|capacity"
    r" (?:is )?(?:not )?available|currently unavailable in)"
)


def endpoints_error(
    status: int, headers: Mapping[str, str], body: bytes | str, fallback: str | None
) -> HostkitError | None:
    """The Inference Endpoints API's own cases (token scope, quota, capacity); None: generic."""
    lowered = {k.lower(): v for k, v in headers.items()}
    message = _message(lowered, body, fallback)
    common: dict[str, Any] = {
        "provider": PROVIDER,
        "status_code": status,
        "request_id": request_id_from(lowered),
    }
    if status in (401, 403):
        return AuthenticationError(f"{message}; {ENDPOINTS_TOKEN_HINT}", **common)
    if status in (400, 402, 403, 409, 422, 429) and _QUOTA.search(message):
        return QuotaExceeded(
            f"{message} (request more at https://endpoints.huggingface.co/contact)", **common
        )
    if status in (400, 409, 422, 503) and _CAPACITY.search(message):
        return CapacityUnavailable(
            f"{message} (try another region or instance: region='vendor/region')", **common
        )
    return None


def _from_response(
    response: httpx2.Response,
    context_lengths: Mapping[str, int] | None,
    fallback_message: str | None = None,
) -> HostkitError:
    try:
        body: bytes | str = response.content
    except Exception:  # an unread stream (async): the hub's message is all we have
        body = b""
    try:
        host = response.request.url.host
    except Exception:  # no request attached
        host = ""
    if host.startswith("api.endpoints."):
        special = endpoints_error(response.status_code, response.headers, body, fallback_message)
        if special is not None:
            return special
    return error_from_status(
        response.status_code,
        response.headers,
        body,
        model=_request_model(response),
        context_lengths=context_lengths,
        fallback_message=fallback_message,
    )


def _host_of(error: Exception) -> str:
    """`` (host)`` of the request that failed, when the error still carries it."""
    try:
        return f" ({error.request.url.host})"  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):
        return ""


def translate(
    error: BaseException, *, context_lengths: Mapping[str, int] | None = None
) -> HostkitError | None:
    """Map one huggingface_hub or httpx2 exception to a hostkit error (None: not ours)."""
    import httpx2
    from huggingface_hub import errors as hf

    if isinstance(error, hf.HfHubHTTPError):
        response = getattr(error, "response", None)
        if response is not None:
            return _from_response(response, context_lengths, error.server_message)
        return ProviderError(str(error), provider=PROVIDER)
    if isinstance(error, httpx2.HTTPStatusError):
        return _from_response(error.response, context_lengths)
    if isinstance(error, hf.InferenceTimeoutError | httpx2.TimeoutException):
        timeout = Timeout(
            f"the Hugging Face router did not answer in time: {error}", provider=PROVIDER
        )
        if isinstance(error, httpx2.ConnectTimeout | httpx2.PoolTimeout):
            timeout.request_not_sent = True  # type: ignore[attr-defined]
        return timeout
    if isinstance(error, hf.OfflineModeIsEnabled):
        return ConfigError(
            f"{error} (hostkit sends requests through huggingface_hub, which refuses while"
            " HF_HUB_OFFLINE=1)",
            provider=PROVIDER,
        )
    if isinstance(error, hf.LocalTokenNotFoundError):
        return AuthenticationError(f"{error}; set HF_TOKEN", provider=PROVIDER)
    if isinstance(error, hf.TextGenerationError):
        # an error event inside a stream (TGI-style {"error": ..., "error_type": ...})
        retryable = isinstance(error, hf.OverloadedError)
        kind = type(error).__name__
        return ProviderError(
            f"error in stream ({kind}): {error}", provider=PROVIDER, retryable=retryable
        )
    if isinstance(error, httpx2.ConnectError):
        failure = ProviderError(
            f"could not connect to Hugging Face{_host_of(error)}: {error}",
            provider=PROVIDER,
            retryable=True,
        )
        failure.request_not_sent = True  # type: ignore[attr-defined]
        return failure
    if isinstance(error, httpx2.InvalidURL | httpx2.UnsupportedProtocol):
        return ConfigError(
            f"invalid router URL ({error}); check the base_url setting of [providers.huggingface]",
            provider=PROVIDER,
        )
    if isinstance(error, httpx2.TransportError):
        return ProviderError(
            f"connection to the Hugging Face router failed: {type(error).__name__}: {error}",
            provider=PROVIDER,
            retryable=True,
        )
    if isinstance(error, hf.HFValidationError | hf.HfUriError):
        return ConfigError(str(error), provider=PROVIDER)
    module = type(error).__module__ or ""
    if module.startswith(("huggingface_hub", "httpx2")):
        return ProviderError(f"{type(error).__name__}: {error}", provider=PROVIDER)
    return None
