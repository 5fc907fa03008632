"""The ``groq`` provider: GroqCloud's serverless chat models through the official ``groq`` SDK.

GroqCloud runs the models already; the user pays per token. So:

* ``deploy`` looks the model up (``GET /openai/v1/models/{id}``) and keeps a local
  record; an unknown model raises NotFound naming the closest served ids (from
  ``GET /openai/v1/models``). Nothing billable is created.
* ``invoke`` / ``ainvoke`` / ``stream`` call ``POST /openai/v1/chat/completions``
  and fill text, usage, latency, time to first token, the request id, Groq's own
  timings (``usage.queue_time/prompt_time/completion_time/total_time``, in
  ``x_groq.usage`` on a stream's final chunk), the rate-limit headers and the cost.
* ``scale`` is Unsupported, ``teardown`` releases the local record, ``cost`` and
  ``offerings`` read ``prices.toml`` (overridable in hostkit.toml).

One sync and one async SDK client per provider instance, built on first use with
the SDK's own retries off (``max_retries=0``): hostkit's retry policy is the only
one. Every SDK failure goes through :meth:`GroqProvider.translate_error`.
"""

from __future__ import annotations

import functools
import inspect
import os
import re
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from hostkit import CostEstimate, Deployment, DeploymentSpec, InvokeResult, Stream, Usage
from hostkit.adapters import (
    SdkClients,
    ServerlessProvider,
    build_chat_body,
    error_from_response,
    parse_go_duration,
    request_id_from,
    stainless_http_client,
    usage_from,
)
from hostkit.errors import (
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
    import groq
    import httpx

__all__ = ["DEFAULT_BASE_URL", "GroqProvider", "rate_limits_from", "timings_from"]


DEFAULT_BASE_URL = "https://api.groq.com"
#: Groq's rate-limit headers and the ``InvokeResult.rate_limits`` keys they fill
RATE_LIMIT_HEADERS = {
    "x-ratelimit-limit-requests": "limit_requests",
    "x-ratelimit-limit-tokens": "limit_tokens",
    "x-ratelimit-remaining-requests": "remaining_requests",
    "x-ratelimit-remaining-tokens": "remaining_tokens",
    "x-ratelimit-reset-requests": "reset_requests_s",
    "x-ratelimit-reset-tokens": "reset_tokens_s",
}
#: Groq's own timings in ``usage`` (seconds), kept under the same names in ``timings``
TIMING_FIELDS = ("queue_time", "prompt_time", "completion_time", "total_time")
# "... on tokens per day (TPD): Limit 100000, Used 99552, Requested 1533. ..."
_DAILY_LIMIT = re.compile(r"per day|\((?:TPD|RPD|ASD)\)", re.IGNORECASE)
# "... on tokens per minute (TPM): Limit 6000, Requested 12089, please reduce ..."
_LIMIT_PHRASE = re.compile(
    r"on (?P<what>[a-z ]+?) \((?P<abbr>[A-Z]+)\): Limit (?P<limit>[\d,]+)"
    r"(?:, Used (?P<used>[\d,]+))?, Requested (?P<requested>[\d,]+)"
)
_TRY_AGAIN = re.compile(r"try again in ((?:\d+(?:\.\d+)?(?:ms|h|m|s))+)")
_CONTEXT_LENGTH = re.compile(r"context.length|reduce the length of the messages", re.IGNORECASE)
_MODEL_GONE_CODES = ("model_not_found", "model_decommissioned")


# -- pure helpers ---------------------------------------------------------------
def rate_limits_from(headers: Mapping[str, str]) -> dict[str, Any]:
    """Remaining requests/tokens and reset seconds from Groq's ``x-ratelimit-*`` headers."""
    limits: dict[str, Any] = {}
    for header, key in RATE_LIMIT_HEADERS.items():
        value = headers.get(header)
        if value is None:
            continue
        if key.endswith("_s"):
            seconds = parse_go_duration(value)
            if seconds is not None:
                limits[key] = seconds
        else:
            limits[key] = int(value) if value.isdigit() else value
    return limits


def timings_from(usage: Any) -> dict[str, float]:
    """Groq's ``queue_time/prompt_time/completion_time/total_time`` (seconds) from a usage."""
    if usage is None:
        return {}
    get = usage.get if isinstance(usage, Mapping) else functools.partial(getattr, usage)
    timings: dict[str, float] = {}
    for name in TIMING_FIELDS:
        value = get(name, None)
        if isinstance(value, int | float) and not isinstance(value, bool):
            timings[name] = float(value)
    return timings


def _usage(usage: Any) -> Usage:
    if usage is None:
        return Usage()
    if isinstance(usage, Mapping):
        return usage_from(usage)
    return Usage(
        input_tokens=getattr(usage, "prompt_tokens", None),
        output_tokens=getattr(usage, "completion_tokens", None),
    )


def _error_info(body: object) -> dict[str, Any]:
    """The ``{"message", "type", "code", ...}`` object of a Groq error body."""
    if isinstance(body, Mapping):
        inner = body.get("error")
        if isinstance(inner, Mapping):
            return dict(inner)
        if isinstance(inner, str):
            return {"message": inner}
        return dict(body)
    if isinstance(body, str) and body.strip():
        return {"message": body.strip()}
    return {}


def _count(text: str | None) -> int | None:
    return int(text.replace(",", "")) if text else None


def _limit_sentence(message: str) -> str | None:
    """``tokens per minute (TPM) limit is 6000, this request needs 12089`` from Groq's text."""
    match = _LIMIT_PHRASE.search(message)
    if match is None:
        return None
    sentence = f"the {match['what']} ({match['abbr']}) limit is {_count(match['limit'])}"
    if match["used"]:
        sentence += f", {_count(match['used'])} already used"
    return sentence + f", this request needs {_count(match['requested'])}"


_CREATE_PARAMETERS: dict[type, frozenset[str]] = {}


def _create_parameters(resource: type) -> frozenset[str]:
    """Keyword arguments ``chat.completions.create`` takes (the others go in the JSON body)."""
    known = _CREATE_PARAMETERS.get(resource)
    if known is None:
        parameters = inspect.signature(getattr(resource, "create")).parameters  # noqa: B009
        known = frozenset(parameters) - {"self", "messages", "model", "stream"}
        _CREATE_PARAMETERS[resource] = known
    return known


@dataclass
class _StreamState:
    """What a stream has seen so far (filled while it is read)."""

    started: float
    request_id: str | None
    rate_limits: dict[str, Any]
    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    first_token: float | None = None
    finish_reason: str | None = None
    usage: Any = None
    last: Any = None
    ended: float | None = None


class GroqProvider(ServerlessProvider):
    """GroqCloud: serverless chat models on Groq LPUs, billed per token."""

    name = "groq"
    description = "Groq: serverless chat models on Groq LPUs, priced per token (official groq SDK)"
    credential_env = "GROQ_API_KEY"
    requires = ("groq",)
    install_extra = "groq"
    price_file = "prices.toml"
    unsupported: ClassVar[Mapping[str, str]] = {
        "logs": "Groq is serverless: no server of yours runs, so there are no server logs;"
        " hostkit's own log (the 'hostkit' logger: INFO per call, DEBUG for request details"
        " and request ids) records every request",
        "scale": "capacity on Groq scales automatically: there is nothing to scale; for"
        " dedicated capacity use GroqCloud Enterprise (dedicated instances, arranged with"
        " Groq sales), or pick a service tier per request (service_tier='flex')",
    }

    def setup(self) -> None:
        self._clients: SdkClients[groq.Groq, groq.AsyncGroq] = SdkClients(
            lambda: self._build_client(asynchronous=False),
            lambda: self._build_client(asynchronous=True),
        )

    # -- clients (one of each per instance, built on first use) ----------------
    @property
    def base_url(self) -> str:
        url = str(self.setting("base_url") or os.environ.get("GROQ_BASE_URL") or DEFAULT_BASE_URL)
        # accept the OpenAI-style base too: the SDK's paths already start with /openai/v1
        return url.rstrip("/").removesuffix("/openai/v1")

    def endpoint_for(self, model: str) -> str | None:
        return f"{self.base_url}/openai/v1/chat/completions"

    def _client_options(self) -> dict[str, Any]:
        import httpx

        return {
            "api_key": self.api_key(),
            "base_url": self.base_url,
            "max_retries": 0,  # hostkit's RetryPolicy is the only retry loop
            "timeout": httpx.Timeout(self.timeout, connect=min(10.0, self.timeout)),
        }

    def _build_client(self, *, asynchronous: bool) -> Any:
        sdk = self.import_sdk("groq")
        options = self._client_options()
        http = stainless_http_client(
            sdk,
            asynchronous=asynchronous,
            timeout=options["timeout"],
            max_connections=self.max_connections,
        )
        return (sdk.AsyncGroq if asynchronous else sdk.Groq)(http_client=http, **options)

    @property
    def client(self) -> groq.Groq:
        return self._clients.sync

    @property
    def aclient(self) -> groq.AsyncGroq:
        """The async client of the running event loop (pooled connections belong to a loop)."""
        return self._clients.async_

    def close(self) -> None:
        self._clients.close()

    async def aclose(self) -> None:
        await self._clients.aclose()

    # -- native batch jobs (batch.py: the Batch API) -----------------------------
    @property
    def _batches(self) -> Any:
        from .batch import GroqBatches

        return GroqBatches(self)

    def submit_batch_job(self, spec: DeploymentSpec, job: Any) -> None:
        """Upload a purpose=batch file and create a batch (see batch.py)."""
        self._batches.submit(spec, job)

    def batch_job_status(self, job: Any) -> Any:
        return self._batches.status(job)

    def fetch_batch_results(self, job: Any) -> Iterator[tuple[int, InvokeResult | HostkitError]]:
        return self._batches.results(job)

    def cancel_batch_job(self, job: Any) -> None:
        self._batches.cancel(job)

    def finish_batch_job(self, job: Any, *, keep_staging: bool = False) -> None:
        self._batches.finish(job, keep_staging=keep_staging)

    def batch_job_cost(
        self, spec: DeploymentSpec, job: Any, status: Any | None = None
    ) -> CostEstimate:
        return self._batches.cost(spec, job, status)

    # -- errors ----------------------------------------------------------------
    def translate_error(self, error: Exception) -> HostkitError | None:
        """Map every ``groq`` SDK exception (and httpx failures mid-stream) to hostkit's tree."""
        import httpx

        sdk = sys.modules.get("groq")
        if sdk is not None:
            if isinstance(error, sdk.APITimeoutError):  # the cause names the deadline
                why = f" ({error.__cause__})" if error.__cause__ else ""
                return Timeout(
                    f"Groq did not answer in time: {error.message}{why}", provider=self.name
                )
            if isinstance(error, sdk.APIConnectionError):
                cause = error.__cause__
                failure = ProviderError(
                    f"could not reach Groq: {error.message}"
                    + (f" ({type(cause).__name__}: {cause})" if cause else ""),
                    provider=self.name,
                    retryable=True,
                )
                if isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout):
                    failure.request_not_sent = True  # type: ignore[attr-defined]
                return failure
            if isinstance(error, sdk.APIStatusError):
                return self._status_error(error.response, error.body)
            if isinstance(error, sdk.APIResponseValidationError):
                return ProviderError(
                    f"Groq's answer did not match the expected schema: {error.message}",
                    provider=self.name,
                    status_code=error.status_code,
                    request_id=request_id_from(error.response.headers),
                )
            if isinstance(error, sdk.APIError):  # an error event inside a 200 stream
                return self._stream_error(error.body, error.message)
            if isinstance(error, sdk.GroqError):
                return ProviderError(f"groq SDK: {error}", provider=self.name)
        if isinstance(error, httpx.TimeoutException):
            return Timeout(f"Groq did not answer in time: {error}", provider=self.name)
        if isinstance(error, httpx.TransportError):
            return ProviderError(
                f"connection to Groq failed: {type(error).__name__}: {error}",
                provider=self.name,
                retryable=True,
            )
        return None

    def _status_error(self, response: httpx.Response, body: object) -> HostkitError:
        status = response.status_code
        headers = response.headers
        info = _error_info(body)
        message = str(info.get("message") or f"HTTP {status} {response.reason_phrase}".strip())
        code = str(info.get("code") or "")
        kind = str(info.get("type") or "")
        shown = f"{message} [{code}]" if code and code not in message else message
        request_id = request_id_from(headers)
        common: dict[str, Any] = {
            "provider": self.name,
            "status_code": status,
            "request_id": request_id,
        }
        if status == 429 and _DAILY_LIMIT.search(message):
            wait = _TRY_AGAIN.search(message)
            return QuotaExceeded(
                f"daily quota used up (waiting will not help before it resets"
                f"{' in ' + wait.group(1) if wait else ''}; a paid Groq plan raises it): {shown}",
                **common,
            )
        if status == 413:
            limit = _limit_sentence(message)
            failure = ProviderError(
                f"request too large{': ' + limit if limit else ''}; shorten the prompt or"
                f" lower max_tokens. Groq: {shown}",
                retryable=False,
                **common,
            )
            failure.limit_kind = "request_size"  # type: ignore[attr-defined]
            return failure
        if status == 400 and (code == "context_length_exceeded" or _CONTEXT_LENGTH.search(message)):
            failure = ProviderError(f"context length exceeded: {shown}", retryable=False, **common)
            failure.limit_kind = "context_length"  # type: ignore[attr-defined]
            return failure
        if status == 400 and code in _MODEL_GONE_CODES:
            return NotFound(shown, **common)
        if status == 498:  # flex tier: no capacity right now
            return CapacityUnavailable(shown, retryable=True, **common)
        if status in (401, 403):
            where = self.credential_variable() or "api_key"
            shown += f"; check {where} (or api_key / api_key_env under [providers.groq])"
        mapped = error_from_response(
            status, headers, response.text, provider=self.name, message=shown
        )
        if isinstance(mapped, RateLimited) and mapped.retry_after is None:
            mapped.retry_after = _reset_seconds(headers, kind) or _try_again(message)
        return mapped

    def _stream_error(self, body: object, fallback: str) -> HostkitError:
        info = _error_info(body)
        message = str(info.get("message") or fallback)
        code = info.get("code")
        status = info.get("status_code") or (code if isinstance(code, int) else None)
        shown = f"{message} [{code}]" if code and str(code) not in message else message
        text = f"error in stream: {shown}"
        if isinstance(status, int):
            if status == 429 and _DAILY_LIMIT.search(message):
                return QuotaExceeded(text, provider=self.name, status_code=status)
            return error_from_response(status, {}, "", provider=self.name, message=text)
        # a stream cannot be resumed, so hostkit never retries it; ``retryable`` tells the
        # caller whether sending the request again may work (server-side trouble)
        transient = info.get("type") in ("internal_server_error", "service_unavailable")
        failure = ProviderError(text, provider=self.name, retryable=transient)
        if code == "context_length_exceeded" or _CONTEXT_LENGTH.search(message):
            failure.limit_kind = "context_length"  # type: ignore[attr-defined]
        return failure

    def _raise_with_limit(self, error: HostkitError, deployment: Deployment) -> NoReturn:
        """Re-raise ``error``, naming the model's context window on a context-length error."""
        named = self._with_limit(error, deployment)
        if named is error:
            raise error
        raise named from error

    def _with_limit(self, error: HostkitError, deployment: Deployment) -> HostkitError:
        """Name the model's context window on a context-length error."""
        if getattr(error, "limit_kind", None) != "context_length":
            return error
        window = deployment.raw.get("context_window")
        most = deployment.raw.get("max_completion_tokens")
        if window:
            limit = f"{deployment.model} reads at most {window} tokens"
            limit += f" (of which at most {most} generated)" if most else ""
        else:
            limit = f"see context_window of GET /openai/v1/models/{deployment.model} for the limit"
        named = ProviderError(
            f"{error.message} ({limit}; shorten the messages or lower max_tokens)",
            provider=self.name,
            status_code=error.status_code,
            request_id=error.request_id,
            retryable=False,
        )
        named.limit_kind = "context_length"  # type: ignore[attr-defined]
        return named

    # -- models ----------------------------------------------------------------
    def lookup_model(self, model: str) -> dict[str, Any]:
        """``GET /openai/v1/models/{model}``; NotFound names the closest served models."""
        try:
            info = self.call(lambda: self.client.models.retrieve(model))
        except NotFound as error:
            raise self.model_not_found(model, error) from error
        data: dict[str, Any] = info.to_dict()
        if data.get("active") is False:
            raise NotFound(f"groq lists model {model!r} but it is not active", provider=self.name)
        return data

    def list_models(self) -> list[str]:
        """Ids of the active models (``GET /openai/v1/models``)."""
        listed = self.call(lambda: self.client.models.list())
        return [m.id for m in listed.data if getattr(m, "active", True) is not False]

    # -- invoke ----------------------------------------------------------------
    def _request(
        self, deployment: Deployment, request: Any, params: Mapping[str, Any], completions: Any
    ) -> dict[str, Any]:
        """The SDK's ``create`` keyword arguments; unknown parameters ride in ``extra_body``."""
        if "model" in params and params["model"] != deployment.model:
            raise ConfigError(
                f"model {params['model']!r}: the model is fixed by the deployment"
                f" ({deployment.model!r}); deploy that model instead"
            )
        body = build_chat_body(deployment.model, request, {**params, "model": deployment.model})
        if "stream" in body:
            raise ConfigError("stream: call hostkit.stream(...) instead of passing stream=True")
        if "max_tokens" in body and "max_completion_tokens" not in body:
            # Groq deprecated max_tokens in favour of max_completion_tokens (same meaning)
            body["max_completion_tokens"] = body.pop("max_tokens")
        known = _create_parameters(type(completions))
        kwargs: dict[str, Any] = {"model": body.pop("model"), "messages": body.pop("messages")}
        extra = dict(body.pop("extra_body", None) or {})
        for key, value in body.items():
            if key in known:
                kwargs[key] = value
            else:
                extra[key] = value
        if extra:
            kwargs["extra_body"] = extra
        return kwargs

    def _result(
        self,
        deployment: Deployment,
        response: httpx.Response,
        latency: float,
    ) -> InvokeResult:
        try:
            data = response.json()
        except ValueError:
            data = None
        headers = response.headers
        if not isinstance(data, dict):
            raise ProviderError(
                f"Groq answered {response.status_code} without a JSON chat completion:"
                f" {response.text[:200]!r}",
                provider=self.name,
                status_code=response.status_code,
                request_id=request_id_from(headers),
            )
        choices = data.get("choices") or []
        message = (choices[0].get("message") or {}) if choices else {}
        text = message.get("content")
        usage_data = data.get("usage")
        usage = usage_from(usage_data)
        x_groq = data.get("x_groq") or {}
        return InvokeResult(
            text=text if isinstance(text, str) else None,
            output=message,
            usage=usage,
            latency_s=latency,
            provider=self.name,
            model=str(data.get("model") or deployment.model),
            cost_usd=self.invoke_cost(deployment.model, usage),
            request_id=request_id_from(headers) or x_groq.get("id") or data.get("id"),
            timings=timings_from(usage_data),
            rate_limits=rate_limits_from(headers),
            raw=data,
        )

    def invoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        """One chat completion (a prompt string or OpenAI messages; extra params passed on)."""
        completions = self.client.chat.completions
        raw_create = completions.with_raw_response.create
        kwargs = self._request(deployment, request, params, completions)

        def attempt() -> tuple[Any, float]:
            started = time.perf_counter()
            return raw_create(**kwargs), started

        try:
            raw, started = self.call(attempt)
        except HostkitError as error:
            self._raise_with_limit(error, deployment)
        response = raw.http_response
        return self._result(deployment, response, time.perf_counter() - started)

    async def ainvoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        """:meth:`invoke` on the SDK's native async client."""
        completions = self.aclient.chat.completions
        kwargs = self._request(deployment, request, params, completions)

        async def attempt() -> tuple[Any, float]:
            started = time.perf_counter()
            return await completions.with_raw_response.create(**kwargs), started

        try:
            raw, started = await self.acall(attempt)
        except HostkitError as error:
            self._raise_with_limit(error, deployment)
        response = raw.http_response
        return self._result(deployment, response, time.perf_counter() - started)

    def stream(self, deployment: Deployment, request: Any, **params: Any) -> Stream:
        """Text chunks as Groq sends them; ``.result`` has usage from ``x_groq.usage``."""
        completions = self.client.chat.completions
        kwargs = self._request(deployment, request, params, completions)
        kwargs["stream"] = True

        def attempt() -> tuple[Any, float]:
            started = time.perf_counter()
            return completions.with_raw_response.create(**kwargs), started

        try:
            raw, started = self.call(attempt)
        except HostkitError as error:
            self._raise_with_limit(error, deployment)
        sdk_stream = raw.parse()
        headers = raw.headers
        state = _StreamState(
            started=started,
            request_id=request_id_from(headers),
            rate_limits=rate_limits_from(headers),
        )
        return Stream(
            self._chunks(deployment, sdk_stream, state),
            lambda: self._stream_result(deployment, state),
            close=sdk_stream.close,
        )

    def _chunks(
        self, deployment: Deployment, sdk_stream: Any, state: _StreamState
    ) -> Iterator[str]:
        try:
            for chunk in sdk_stream:
                state.last = chunk
                x_groq = chunk.x_groq
                if x_groq is not None:
                    state.request_id = state.request_id or x_groq.id
                    if x_groq.usage is not None:
                        state.usage = x_groq.usage
                    if x_groq.error:
                        raise ProviderError(
                            f"error in stream: {x_groq.error}",
                            provider=self.name,
                            request_id=state.request_id,
                            retryable=False,
                        )
                if chunk.usage is not None:
                    state.usage = chunk.usage
                for choice in chunk.choices:
                    if choice.index != 0:
                        continue
                    if choice.finish_reason:
                        state.finish_reason = choice.finish_reason
                    delta = choice.delta
                    reasoning = getattr(delta, "reasoning", None)
                    if reasoning:
                        state.reasoning.append(reasoning)
                    if (delta.content or reasoning) and state.first_token is None:
                        state.first_token = time.perf_counter()
                    if delta.content:
                        state.text.append(delta.content)
                        yield delta.content
        except HostkitError as error:
            if error.request_id is None:
                error.request_id = state.request_id
            self._raise_with_limit(error, deployment)
        except Exception as error:
            mapped = self.map_error(error)
            if mapped.request_id is None:
                mapped.request_id = state.request_id
            raise self._with_limit(mapped, deployment) from error
        state.ended = time.perf_counter()
        if state.finish_reason is None:
            raise ProviderError(
                f"the stream from Groq ended before the model finished (no finish_reason,"
                f" no [DONE]) after {sum(len(t) for t in state.text)} characters: the"
                " connection was cut; the text so far is incomplete",
                provider=self.name,
                request_id=state.request_id,
                retryable=True,
            )

    def _stream_result(self, deployment: Deployment, state: _StreamState) -> InvokeResult:
        ended = state.ended or time.perf_counter()
        usage = _usage(state.usage)
        text = "".join(state.text)
        output: dict[str, Any] = {"role": "assistant", "content": text}
        if state.reasoning:
            output["reasoning"] = "".join(state.reasoning)
        last = state.last
        return InvokeResult(
            text=text,
            output=output,
            usage=usage,
            latency_s=ended - state.started,
            provider=self.name,
            model=str(getattr(last, "model", None) or deployment.model),
            ttft_s=(state.first_token - state.started) if state.first_token else None,
            cost_usd=self.invoke_cost(deployment.model, usage),
            request_id=state.request_id,
            timings=timings_from(state.usage),
            rate_limits=state.rate_limits,
            raw={
                "id": getattr(last, "id", None),
                "finish_reason": state.finish_reason,
                "usage": state.usage.to_dict() if state.usage is not None else None,
            },
        )


def _reset_seconds(headers: Mapping[str, str], kind: str) -> float | None:
    """Seconds until the exhausted limit resets (``x-ratelimit-reset-*``, e.g. ``2m59.56s``)."""
    order = ("requests", "tokens") if kind == "requests" else ("tokens", "requests")
    for which in order:
        value = headers.get(f"x-ratelimit-reset-{which}")
        if value and (seconds := parse_go_duration(value)) is not None:
            return seconds
    return None


def _try_again(message: str) -> float | None:
    """Seconds from "Please try again in 15m37.44s" in Groq's message."""
    match = _TRY_AGAIN.search(message)
    return parse_go_duration(match.group(1)) if match else None
