"""The serverless half of the ``huggingface`` provider: the Inference Providers router.

``https://router.huggingface.co/v1`` is an OpenAI-compatible front for many serverless
backends (Groq, Cerebras, Together, Novita, ...). One Hugging Face token pays for
all of them; the model id picks the backend:

* ``org/model``: the router chooses (your account's policy, "fastest" by default);
* ``org/model:groq``: pinned to one provider;
* ``org/model:fastest`` / ``:cheapest`` / ``:preferred``: a selection policy.

Everything goes through huggingface_hub's own HTTP stack: an ``httpx2`` client (one
sync and one async per provider instance, built on first use) with the hub's
request hook (offline mode, trace id) and ``hf_raise_for_status`` for failures, so
errors arrive as huggingface_hub's classes and are mapped in ``_errors``. The
client has no retries of its own (httpx2 transports retry nothing by default and
hostkit does not use the hub's ``http_backoff``): hostkit's policy is the only one.

Why not ``InferenceClient.chat_completion``: it returns the parsed body only (no
response headers, so no rate limits, request id or serving provider) and builds
its headers with ``build_hf_headers``, whose user-agent triggers a
``GET huggingface.co/api/agent-harnesses`` on first use. Here the request body is
hostkit's OpenAI chat body, the same one ``InferenceClient`` would send to the
router, and the headers are built locally, so nothing but the call itself goes out.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sys
import time
import weakref
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from hostkit._models import (
    CostEstimate,
    CostLine,
    Deployment,
    DeploymentSpec,
    InvokeResult,
    Offering,
    Stream,
    Usage,
)
from hostkit._openai import build_chat_body, usage_from
from hostkit._pricing import PriceRow, PriceTable
from hostkit._redact import get_logger
from hostkit.errors import ConfigError, HostkitError, NotFound, ProviderError

from ._errors import rate_limits_from

if TYPE_CHECKING:
    import asyncio

    import httpx2

    from hostkit._provider import T

__all__ = [
    "POLICIES",
    "PRICING_DOCS",
    "ROUTER_URL",
    "RouterClient",
    "split_model",
]

log = get_logger("hostkit.huggingface")

ROUTER_URL = "https://router.huggingface.co/v1"
#: where the router's live prices come from (also the ``source`` of those prices)
MODELS_PATH = "/models"
PRICING_DOCS = "https://huggingface.co/docs/inference-providers/pricing"
#: model-id suffixes that choose a provider by policy instead of by name
POLICIES = frozenset({"fastest", "cheapest", "preferred"})
#: the platform's own timings (seconds) that upstream providers put in ``usage`` or ``time_info``
TIMING_KEYS = ("queue_time", "prompt_time", "completion_time", "total_time")
_PROXY_VARIABLES = (
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "ALL_PROXY",
    "https_proxy",
    "http_proxy",
    "all_proxy",
)


class _Host(Protocol):
    """What the router half needs from its provider (HuggingFaceProvider)."""

    timeout: float

    @property
    def name(self) -> str: ...
    @property
    def prices(self) -> PriceTable: ...

    def setting(self, key: str, default: Any = None) -> Any: ...
    def api_key(self, *, required: bool = True) -> str | None: ...
    def import_sdk(self, module: str) -> Any: ...
    def call(self, fn: Callable[[], T], *, safe: bool = True) -> T: ...
    async def acall(self, fn: Callable[[], Awaitable[T]], *, safe: bool = True) -> T: ...
    def model_not_found(self, model: str, error: NotFound | None = None) -> NotFound: ...
    def translate_error(self, error: Exception) -> HostkitError | None: ...
    def configured_price(self, key: str) -> PriceRow | None: ...
    def invoke_cost(self, model: str, usage: Usage) -> float | None: ...
    def unknown_cost(self, what: str, how_to_set: str) -> CostEstimate: ...
    def _price_hint(self, key: str, fields: str) -> str: ...


def split_model(model: str) -> tuple[str, str | None]:
    """``("org/model", "groq")`` from ``"org/model:groq"``; the suffix is None when absent."""
    base, _, suffix = model.partition(":")
    return base, (suffix or None)


def pinned_provider(model: str) -> str | None:
    """The provider a model id names (``org/model:groq`` → ``groq``); None for policies."""
    suffix = split_model(model)[1]
    return suffix if suffix and suffix not in POLICIES else None


def _today() -> str:
    return _dt.datetime.now(_dt.UTC).date().isoformat()


def _user_agent() -> str:
    """hostkit's user-agent, built locally: the hub's ``build_hf_headers`` would run its
    agent detection, which fetches ``/api/agent-harnesses`` from the Hub."""
    import huggingface_hub

    import hostkit

    python = ".".join(str(v) for v in sys.version_info[:3])
    return f"hostkit/{hostkit.__version__}; hf_hub/{huggingface_hub.__version__}; python/{python}"


@dataclass
class _StreamState:
    """What a stream has delivered so far."""

    started: float
    parts: list[str] = field(default_factory=list)
    usage: Mapping[str, Any] | None = None
    time_info: Mapping[str, Any] | None = None
    model: str | None = None
    completion_id: str | None = None
    ttft: float | None = None
    ended: float | None = None
    finished: bool = False
    finish_reason: str | None = None
    done: bool = False


class RouterClient:
    """Deploy (model look-up), invoke, stream and price through the router.

    ``transport`` / ``async_transport`` let tests and benchmarks answer requests
    in-process (an ``httpx2.MockTransport``); set them before the first call.
    """

    def __init__(self, provider: _Host) -> None:
        self.provider = provider
        self.base_url = str(provider.setting("base_url") or ROUTER_URL).rstrip("/")
        self.chat_url = f"{self.base_url}/chat/completions"
        self.models_url = f"{self.base_url}{MODELS_PATH}"
        self.transport: httpx2.BaseTransport | None = None
        self.async_transport: httpx2.AsyncBaseTransport | None = None
        self._client: httpx2.Client | None = None
        self._aclient: httpx2.AsyncClient | None = None
        self._aloop: weakref.ref[asyncio.AbstractEventLoop] | None = None
        self._bearer: str | None = None
        #: prices and context lengths the router reported in this process, by ``org/model:provider``
        self.live_prices: dict[str, PriceRow] = {}
        self.context_lengths: dict[str, int] = {}
        #: the provider that served the latest call to each model id (for estimates)
        self.last_served: dict[str, str] = {}

    # -- clients (built on first use; construction sends nothing) ----------
    def _client_options(self) -> dict[str, Any]:
        httpx2 = self.provider.import_sdk("httpx2")
        headers = {"user-agent": _user_agent(), "accept": "application/json"}
        bill_to = self.provider.setting("bill_to")
        if bill_to:
            headers["x-hf-bill-to"] = str(bill_to)
        timeout = self.provider.timeout
        return {
            "headers": headers,
            "timeout": httpx2.Timeout(timeout, connect=min(10.0, timeout)),
            "follow_redirects": False,
        }

    @staticmethod
    def _uses_proxy() -> bool:
        return any(os.environ.get(name) for name in _PROXY_VARIABLES)

    @property
    def client(self) -> httpx2.Client:
        """The one sync client of this provider instance (connection pool reused)."""
        if self._client is None:
            httpx2 = self.provider.import_sdk("httpx2")
            hub_http = self.provider.import_sdk("huggingface_hub.utils._http")
            from hostkit._deadline import httpx2_deadline_transport
            from hostkit._http import NO_DELAY

            transport = self.transport
            if transport is None and not self._uses_proxy():
                # no retries here: hostkit's RetryPolicy is the only one; `timeout` is a
                # deadline for the whole call (hostkit._deadline), not per socket read
                transport = httpx2_deadline_transport(retries=0, socket_options=NO_DELAY)
            self._client = httpx2.Client(
                transport=transport,
                event_hooks={"request": [hub_http.hf_request_event_hook]},
                **self._client_options(),
            )
        return self._client

    def aclient(self) -> httpx2.AsyncClient:
        """The async client of this provider instance for the running event loop."""
        import asyncio

        loop = asyncio.get_running_loop()
        if self._aclient is None or self._aloop is None or self._aloop() is not loop:
            httpx2 = self.provider.import_sdk("httpx2")
            hub_http = self.provider.import_sdk("huggingface_hub.utils._http")
            from hostkit._deadline import httpx2_deadline_transport
            from hostkit._http import NO_DELAY

            transport = self.async_transport
            if transport is None and not self._uses_proxy():
                transport = httpx2_deadline_transport(
                    asynchronous=True, retries=0, socket_options=NO_DELAY
                )
            self._aclient = httpx2.AsyncClient(
                transport=transport,
                event_hooks={
                    "request": [hub_http.async_hf_request_event_hook],
                    "response": [hub_http.async_hf_response_event_hook],
                },
                **self._client_options(),
            )
            self._aloop = weakref.ref(loop)
        return self._aclient

    def auth(self, *, required: bool = True) -> dict[str, str]:
        """The Authorization header (the key is looked up once, at first use)."""
        if self._bearer is None:
            key = self.provider.api_key(required=required)
            if key is None:
                return {}
            self._bearer = f"Bearer {key}"
        return {"authorization": self._bearer}

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def aclose(self) -> None:
        self.close()
        if self._aclient is not None:
            client, self._aclient = self._aclient, None
            await client.aclose()

    # -- model look-up -----------------------------------------------------
    def _get_json(self, url: str, *, key_required: bool = True) -> Any:
        from huggingface_hub.utils._http import hf_raise_for_status

        def attempt() -> Any:
            response = self.client.get(url, headers=self.auth(required=key_required))
            hf_raise_for_status(response)
            return response.json()

        return self.provider.call(attempt, safe=True)

    def _remember(
        self, info: Mapping[str, Any], source: str, as_of: str, *, overwrite: bool = True
    ) -> None:
        """Keep the prices and context lengths one model object reports."""
        model_id = info.get("id")
        if not isinstance(model_id, str):
            return
        for entry in info.get("providers") or []:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("provider"), str):
                continue
            key = f"{model_id}:{entry['provider']}"
            if not overwrite and key in self.live_prices:
                continue
            context = entry.get("context_length")
            if isinstance(context, int) and not isinstance(context, bool):
                self.context_lengths[key] = context
            pricing = entry.get("pricing")
            if isinstance(pricing, Mapping):
                price_in, price_out = _price(pricing.get("input")), _price(pricing.get("output"))
                if price_in is not None and price_out is not None:
                    self.live_prices[key] = PriceRow(
                        key=key,
                        source=source,
                        as_of=as_of,
                        input_per_million=price_in,
                        output_per_million=price_out,
                        unit="USD per million tokens",
                        notes="reported by the router's model list (the provider's own rate;"
                        f" no Hugging Face markup: {PRICING_DOCS})",
                    )

    def lookup(self, model: str) -> dict[str, Any]:
        """The router's description of ``model``; NotFound naming close served ids."""
        base, suffix = split_model(model)
        if not base or base.count("/") != 1:
            raise ConfigError(
                f"model {model!r}: the router expects a Hub model id such as"
                " 'meta-llama/Llama-3.3-70B-Instruct', optionally with ':provider' or"
                " ':fastest' / ':cheapest' / ':preferred'",
                provider=self.provider.name,
            )
        url = f"{self.models_url}/{quote(base, safe='/')}"
        try:
            info = self._get_json(url)
        except NotFound as error:
            found = self.provider.model_not_found(base, error)
            found.message = f"{found.message} (the router said: {error.message})"
            found.args = (found.message,)
            raise found from error
        if not isinstance(info, dict):
            raise ProviderError(
                f"unexpected answer from {url}: {str(info)[:200]}", provider=self.provider.name
            )
        as_of = _today()
        self._remember(info, self.models_url, as_of)
        served = [
            str(p.get("provider"))
            for p in info.get("providers") or []
            if isinstance(p, Mapping) and p.get("provider")
        ]
        if suffix and suffix not in POLICIES and suffix not in served:
            raise NotFound(
                f"the router does not serve {base} through provider {suffix!r}; providers"
                f" serving it: {', '.join(served) or 'none'} (use one of them, or a policy:"
                " ':fastest', ':cheapest', ':preferred')",
                provider=self.provider.name,
            )
        if not served:
            log.warning("%s: the router lists no provider serving it right now", base)
        return {"model_info": _compact(info), "read_on": as_of, "price_source": self.models_url}

    def list_models(self) -> list[dict[str, Any]]:
        """The router's model list (every chat model it serves, with its providers).

        The list is public: it is read without a token when none is set.
        """
        data = self._get_json(self.models_url, key_required=False)
        models = data.get("data") if isinstance(data, Mapping) else None
        if not isinstance(models, list):
            raise ProviderError(
                f"unexpected answer from {self.models_url}: {str(data)[:200]}",
                provider=self.provider.name,
            )
        as_of = _today()
        entries = [m for m in models if isinstance(m, dict)]
        for entry in entries:
            self._remember(entry, self.models_url, as_of)
        return entries

    def model_ids(self) -> list[str]:
        return [str(m["id"]) for m in self.list_models() if isinstance(m.get("id"), str)]

    # -- invoke ------------------------------------------------------------
    def chat_url_for(self, deployment: Deployment) -> str:
        """Where chat calls for ``deployment`` go (the router; an endpoint's own URL there)."""
        return self.chat_url

    def _body(
        self, deployment: Deployment, request: Any, params: Mapping[str, Any], *, stream: bool
    ) -> dict[str, Any]:
        if "stream" in params:
            raise ConfigError("pass stream through hostkit.stream(...), not as a parameter")
        return build_chat_body(deployment.model, request, params, stream=stream)

    def invoke(
        self, deployment: Deployment, request: Any, params: Mapping[str, Any]
    ) -> InvokeResult:
        from huggingface_hub.utils._http import hf_raise_for_status

        body = self._body(deployment, request, params, stream=False)
        url = self.chat_url_for(deployment)
        auth = self.auth()
        client = self.client

        def attempt() -> tuple[httpx2.Response, float]:
            started = time.perf_counter()
            response = client.post(url, json=body, headers=auth)
            hf_raise_for_status(response)
            return response, time.perf_counter() - started

        response, latency = self.provider.call(attempt, safe=True)
        return self.result(deployment, response, latency)

    async def ainvoke(
        self, deployment: Deployment, request: Any, params: Mapping[str, Any]
    ) -> InvokeResult:
        from huggingface_hub.utils._http import hf_raise_for_status

        body = self._body(deployment, request, params, stream=False)
        url = self.chat_url_for(deployment)
        auth = self.auth()

        async def attempt() -> tuple[httpx2.Response, float]:
            client = self.aclient()
            started = time.perf_counter()
            response = await client.post(url, json=body, headers=auth)
            hf_raise_for_status(response)
            return response, time.perf_counter() - started

        response, latency = await self.provider.acall(attempt, safe=True)
        return self.result(deployment, response, latency)

    def result(
        self, deployment: Deployment, response: httpx2.Response, latency: float
    ) -> InvokeResult:
        """An InvokeResult from one chat.completion answer and its headers."""
        headers = dict(response.headers.items())  # one pass; httpx2.Headers look-ups are slow
        request_id = headers.get("x-request-id")
        try:
            data = json.loads(response.content)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ProviderError(
                f"expected a chat.completion object from the router, got {response.text[:200]!r}",
                provider=self.provider.name,
                status_code=response.status_code,
                request_id=request_id,
            )
        choices = data.get("choices") or []
        message = choices[0].get("message") or {} if choices else {}
        text = message.get("content")
        usage = usage_from(data.get("usage"))
        served = headers.get("x-inference-provider")
        return InvokeResult(
            text=text if isinstance(text, str) else None,
            output=message,
            usage=usage,
            latency_s=latency,
            provider=self.provider.name,
            model=self._answered_by(deployment, data.get("model"), served),
            cost_usd=self.usage_cost(deployment, served, usage),
            request_id=request_id or data.get("id"),
            timings=_timings(data.get("usage"), data.get("time_info")),
            rate_limits=rate_limits_from(headers),
            raw=data,
        )

    @staticmethod
    def _answered_by(deployment: Deployment, model: Any, served: str | None) -> str:
        """The model that answered, in router notation (``org/model:provider``) when known."""
        name = model if isinstance(model, str) and model else split_model(deployment.model)[0]
        provider = served or pinned_provider(deployment.model)
        if provider and ":" not in name:
            return f"{name}:{provider}"
        return name

    # -- stream ------------------------------------------------------------
    def stream(self, deployment: Deployment, request: Any, params: Mapping[str, Any]) -> Stream:
        from huggingface_hub.utils._http import hf_raise_for_status

        from hostkit._deadline import STREAMING

        body = self._body(deployment, request, params, stream=True)
        url = self.chat_url_for(deployment)
        auth = self.auth()
        client = self.client

        def attempt() -> tuple[httpx2.Response, float]:
            started = time.perf_counter()
            outgoing = client.build_request(
                "POST", url, json=body, headers=auth, extensions={STREAMING: True}
            )  # a token stream: the deadline ends at its headers (hostkit._deadline)
            response = client.send(outgoing, stream=True)
            try:
                hf_raise_for_status(response)  # reads an error body before raising
            except BaseException:
                response.close()
                raise
            return response, started

        response, started = self.provider.call(attempt, safe=True)
        state = _StreamState(started=started)
        headers = dict(response.headers.items())
        request_id = headers.get("x-request-id")

        def chunks() -> Iterator[str]:
            try:
                yield from self._events(response, state, request_id)
            except HostkitError:
                raise
            except Exception as error:
                mapped = self.provider.translate_error(error) or ProviderError(
                    f"{type(error).__name__}: {error}", provider=self.provider.name
                )
                if mapped.request_id is None:
                    mapped.request_id = request_id
                raise mapped from error
            finally:
                response.close()

        def finish() -> InvokeResult:
            usage = usage_from(state.usage)
            served = headers.get("x-inference-provider")
            end = state.ended if state.ended is not None else time.perf_counter()
            return InvokeResult(
                text="".join(state.parts),
                output={"role": "assistant", "content": "".join(state.parts)},
                usage=usage,
                latency_s=end - state.started,
                provider=self.provider.name,
                model=self._answered_by(deployment, state.model, served),
                ttft_s=state.ttft,
                cost_usd=self.usage_cost(deployment, served, usage),
                request_id=request_id or state.completion_id,
                timings=_timings(state.usage, state.time_info),
                rate_limits=rate_limits_from(headers),
                raw={
                    "id": state.completion_id,
                    "model": state.model,
                    "usage": state.usage,
                    "finish_reason": state.finish_reason,
                },
            )

        return Stream(chunks(), finish, close=response.close)

    def _events(
        self, response: httpx2.Response, state: _StreamState, request_id: str | None
    ) -> Iterator[str]:
        """Text deltas of an SSE chat stream; an error event or a cut stream raises."""
        name = self.provider.name
        for line in response.iter_lines():
            if not line.startswith("data:"):
                continue
            payload = line[5:].strip()
            if payload == "[DONE]":
                state.done = True
                break
            try:
                event = json.loads(payload)
            except ValueError:
                raise ProviderError(
                    f"malformed stream event from the router: {payload[:200]}",
                    provider=name,
                    request_id=request_id,
                ) from None
            if not isinstance(event, dict):
                continue
            if event.get("error") is not None:
                raise _stream_error(event, name, request_id)
            state.model = event.get("model") or state.model
            state.completion_id = event.get("id") or state.completion_id
            usage = event.get("usage") or (event.get("x_groq") or {}).get("usage")
            if usage:
                state.usage = usage
            if event.get("time_info"):
                state.time_info = event["time_info"]
            for choice in event.get("choices") or []:
                reason = choice.get("finish_reason")
                if reason:
                    state.finished = True
                if isinstance(reason, str) and reason:
                    state.finish_reason = reason
                content = (choice.get("delta") or {}).get("content")
                if content:
                    if state.ttft is None:
                        state.ttft = time.perf_counter() - state.started
                    state.parts.append(content)
                    yield content
        state.ended = time.perf_counter()
        if not state.done and not state.finished:
            raise ProviderError(
                "the stream from the Hugging Face router ended before the model finished (no"
                " finish_reason and no [DONE]): the connection was cut mid-way; the text so far"
                f" is {len(''.join(state.parts))} characters",
                provider=name,
                request_id=request_id,
                retryable=False,
            )

    # -- prices ------------------------------------------------------------
    def _load(self, deployment: Deployment | None) -> None:
        """Learn the prices the deployment's look-up saw (also in a later process)."""
        info = (
            deployment.raw.get("model_info") if deployment is not None and deployment.raw else None
        )
        if isinstance(info, Mapping) and deployment is not None:
            as_of = str(deployment.raw.get("read_on") or _today())
            source = str(deployment.raw.get("price_source") or self.models_url)
            self._remember(info, source, as_of, overwrite=False)

    def _live_row(self, key: str, deployment: Deployment | None) -> PriceRow | None:
        row = self.live_prices.get(key)
        if row is None and deployment is not None:
            self._load(deployment)
            row = self.live_prices.get(key)
        return row

    def resolve_row(self, keys: list[str], deployment: Deployment | None) -> PriceRow | None:
        """The price for the first of ``keys`` known: config, then the router, then the table."""
        for key in keys:
            row = self.provider.configured_price(key)
            if row is not None and row.has_token_prices:
                return row
        for key in keys:
            row = self._live_row(key, deployment)
            if row is not None:
                return row
        for key in keys:
            row = self.provider.prices.find(key)
            if row is not None and row.has_token_prices:
                return row
        return None

    @staticmethod
    def _price_keys(model: str, served: str | None) -> list[str]:
        base = split_model(model)[0]
        provider = served or pinned_provider(model)
        keys = [f"{base}:{provider}"] if provider else []
        if model not in keys:
            keys.append(model)
        return keys

    def usage_cost(self, deployment: Deployment, served: str | None, usage: Usage) -> float | None:
        """``cost_usd`` at the price of the provider that served the call (None if unknown)."""
        if served:
            self.last_served[deployment.model] = served
        keys = self._price_keys(deployment.model, served)
        row = self.resolve_row(keys, deployment)
        if row is None:
            return self.provider.invoke_cost(keys[0], usage)  # None, and one warning per key
        if usage.input_tokens is None and usage.output_tokens is None:
            return None
        return PriceTable.token_estimate(row, usage.input_tokens, usage.output_tokens).usd

    def known_prices(self, base: str, deployment: Deployment | None) -> dict[str, PriceRow]:
        """Every per-provider price known for ``base`` (``provider -> row``)."""
        self._load(deployment)
        rows: dict[str, PriceRow] = {}
        prefix = f"{base}:"
        for row in self.provider.prices.rows():
            if row.key.startswith(prefix) and row.has_token_prices:
                rows[row.key[len(prefix) :]] = row
        for key, row in self.live_prices.items():
            if key.startswith(prefix):
                rows[key[len(prefix) :]] = row
        for provider in list(rows):
            configured = self.provider.configured_price(f"{prefix}{provider}")
            if configured is not None and configured.has_token_prices:
                rows[provider] = configured
        return rows

    def estimate(
        self,
        target: Deployment | DeploymentSpec,
        *,
        hours: float | None,
        requests: int | None,
        input_tokens: int | None,
        output_tokens: int | None,
    ) -> CostEstimate:
        """Per-token cost at the price of the provider the model id pins.

        For an id the router routes itself (no ``:provider``), the provider that served
        the latest call to it in this process stands in (the breakdown names it); before
        any call, the estimate is unknown and the warning lists the known prices. Idle
        time costs nothing (billed per token only).
        """
        deployment = target if isinstance(target, Deployment) else None
        model = target.model
        keys = self._price_keys(model, self.last_served.get(model))
        row = self.resolve_row(keys, deployment)
        if input_tokens is None and output_tokens is None:
            if requests:
                return self.provider.unknown_cost(
                    f"{requests} requests without token counts",
                    "the router bills per token: pass input_tokens and output_tokens",
                )
            idle = CostLine(
                "idle time (serverless: billed per token only)", "hour", hours or 0, 0, 0
            )
            if row is None:
                return CostEstimate(usd=0.0, breakdown=[idle], source=PRICING_DOCS)
            return CostEstimate(usd=0.0, breakdown=[idle], source=row.source, as_of=row.as_of)
        if row is not None:
            return PriceTable.token_estimate(row, input_tokens, output_tokens)
        fields = "input_per_million = ..., output_per_million = ..."
        base = split_model(model)[0]
        known = self.known_prices(base, deployment) if pinned_provider(model) is None else {}
        if not known:
            return self.provider.unknown_cost(
                f"model {model!r}", self.provider._price_hint(keys[0], fields)
            )
        listed = ", ".join(
            f"{p} ${r.input_per_million:g}/${r.output_per_million:g}"
            for p, r in sorted(known.items())
        )
        cheapest = min(
            known,
            key=lambda p: (known[p].input_per_million or 0) + (known[p].output_per_million or 0),
        )
        return self.provider.unknown_cost(
            f"model {model!r} (the router picks the provider per request, and prices"
            f" differ: {listed} per million input/output tokens)",
            f"pin a provider in the model id, e.g. '{base}:{cheapest}', or "
            + self.provider._price_hint(model, fields),
        )

    def offerings(self) -> list[Offering]:
        """Every (model, provider) the router serves with a known price."""
        name = self.provider.name
        rows: dict[str, PriceRow] = {}
        self.list_models()
        rows.update(self.live_prices)
        for row in self.provider.prices.rows():
            if row.has_token_prices:
                rows.setdefault(row.key, row)
        for key in list(rows):
            configured = self.provider.configured_price(key)
            if configured is not None and configured.has_token_prices:
                rows[key] = configured
        return [
            Offering(
                provider=name,
                name=key,
                kind="model",
                usd_per_million_input=row.input_per_million,
                usd_per_million_output=row.output_per_million,
                source=row.source,
                as_of=row.as_of,
            )
            for key, row in sorted(rows.items())
        ]


def _compact(info: Mapping[str, Any]) -> dict[str, Any]:
    """What a deployment keeps of the router's model object: ids, status, context, prices."""
    keep = ("provider", "status", "context_length", "pricing")
    return {
        "id": info.get("id"),
        "owned_by": info.get("owned_by"),
        "providers": [
            {k: entry[k] for k in keep if k in entry}
            for entry in info.get("providers") or []
            if isinstance(entry, Mapping)
        ],
    }


def _price(value: Any) -> float | None:
    """A USD amount from the router's pricing object (None if absent or not a number)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return float(value)


def _timings(usage: Any, time_info: Any) -> dict[str, float]:
    """The platform's own timings in seconds (Groq's ``usage``, Cerebras' ``time_info``)."""
    timings: dict[str, float] = {}
    for source in (usage, time_info):
        if isinstance(source, Mapping):
            for key in TIMING_KEYS:
                value = source.get(key)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    timings[key] = float(value)
    return timings


def _stream_error(event: Mapping[str, Any], provider: str, request_id: str | None) -> ProviderError:
    """An error event inside a stream (``{"error": ..., "error_type": ...}``) as a hostkit error."""
    error = event.get("error")
    if isinstance(error, Mapping):
        message = str(error.get("message") or error)
        kind = error.get("type") or error.get("code")
    else:
        message = str(error)
        kind = event.get("error_type")
    label = f" ({kind})" if kind else ""
    return ProviderError(
        f"error in stream{label}: {message}",
        provider=provider,
        request_id=request_id,
        status_code=event.get("status_code") if isinstance(event.get("status_code"), int) else None,
        retryable=False,
    )
