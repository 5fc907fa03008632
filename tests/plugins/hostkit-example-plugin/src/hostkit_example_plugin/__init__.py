"""hostkit provider for the Example LLM API: a fictional, serverless, OpenAI-compatible API.

The API lives at ``https://api.example-llm.invalid/v1`` and takes a bearer key
from ``EXAMPLE_API_KEY``. Being serverless, it has nothing to create or delete:

* ``deploy`` checks that the model exists (``GET /models/{id}``) and saves a
  local record, so that ``find`` and ``get`` work from any later process;
* ``invoke`` sends an OpenAI chat-completions request (``POST /chat/completions``);
* ``cost`` and ``offerings`` read the price table shipped with the plugin;
* ``teardown`` releases the local record only; ``scale`` is unsupported.

HTTP, errors and retries come from hostkit's shared :class:`hostkit.adapters.HttpClient`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from hostkit import (
    Capabilities,
    CostEstimate,
    CostLine,
    Deployment,
    DeploymentSpec,
    InvokeResult,
    Offering,
    Price,
    Provider,
    Usage,
)
from hostkit.adapters import HttpClient, parse_go_duration, request_id_from
from hostkit.errors import ConfigError, NotFound, ProviderError

if TYPE_CHECKING:
    import httpx

__all__ = ["DEFAULT_BASE_URL", "ExampleProvider", "ModelPrice", "price_table"]
__version__ = "0.1.0"

DEFAULT_BASE_URL = "https://api.example-llm.invalid/v1"
#: spec fields that only mean something where hardware is rented
_DEDICATED_FIELDS = (
    "instance",
    "accelerator",
    "region",
    "replicas",
    "min_replicas",
    "max_replicas",
    "scale_to_zero_after",
    "image",
)
_TASKS = (None, "chat", "text-generation")
_RATE_LIMIT_HEADERS = {
    "x-ratelimit-remaining-requests": "remaining_requests",
    "x-ratelimit-remaining-tokens": "remaining_tokens",
    "x-ratelimit-reset-requests": "reset_requests_s",
    "x-ratelimit-reset-tokens": "reset_tokens_s",
}


@dataclass(frozen=True)
class ModelPrice:
    """What one model costs per million input and output tokens."""

    input: Price
    output: Price


@cache
def price_table() -> dict[str, ModelPrice]:
    """The shipped price table (``prices.json``), validated: model id to prices."""
    data = json.loads(resources.files(__name__).joinpath("prices.json").read_text("utf-8"))
    source, as_of = data["source"], data["as_of"]
    return {
        model: ModelPrice(
            input=Price(float(row["input"]), "million input tokens", source, as_of),
            output=Price(float(row["output"]), "million output tokens", source, as_of),
        )
        for model, row in data["models"].items()
    }


def _rate_limits(headers: Mapping[str, str]) -> dict[str, Any]:
    limits: dict[str, Any] = {}
    for header, key in _RATE_LIMIT_HEADERS.items():
        value = headers.get(header)
        if value is None:
            continue
        if key.endswith("_s"):
            limits[key] = parse_go_duration(value)
        else:
            limits[key] = int(value) if value.isdigit() else value
    return limits


class ExampleProvider(Provider):
    """The Example LLM API (serverless; priced per token)."""

    name = "example"
    description = (
        "Example LLM: a fictional serverless, OpenAI-compatible chat API (plugin template)"
    )
    capabilities = Capabilities(dedicated=False, native_async=True)
    credential_env = "EXAMPLE_API_KEY"
    unsupported = {
        "scale": "the Example LLM API manages capacity by itself; there is nothing to scale"
        " (rate limits are set per account)",
    }

    @classmethod
    def install_command(cls) -> str:
        return "pip install hostkit-example-plugin"

    def setup(self) -> None:
        self.base_url = str(self.setting("base_url") or DEFAULT_BASE_URL).rstrip("/")
        self.http = HttpClient(
            provider=self.name,
            base_url=self.base_url,
            retry=self.retry,
            timeout=self.timeout,
            headers=self._headers,
        )

    def _headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.api_key()}", "accept": "application/json"}

    def close(self) -> None:
        self.http.close()

    # -- helpers ---------------------------------------------------------
    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ProviderError(
                f"expected a JSON object from {response.request.url.path},"
                f" got {response.text[:200]!r}",
                provider=self.name,
                status_code=response.status_code,
                request_id=request_id_from(response.headers),
            )
        return data

    def _fetch_model(self, model: str) -> dict[str, Any]:
        return self._json(self.http.request("GET", "/models/" + quote(model, safe="")))

    def _deployment(
        self, name: str, model: str, status: Any, fingerprint: str | None, raw: dict[str, Any]
    ) -> Deployment:
        return Deployment(
            name=name,
            provider=self.name,
            model=model,
            status=status,
            endpoint=f"{self.base_url}/chat/completions",
            fingerprint=fingerprint,
            raw=raw,
        )

    # -- deploy, find, status, teardown ----------------------------------------
    def validate_spec(self, spec: DeploymentSpec) -> None:
        for field in _DEDICATED_FIELDS:
            if getattr(spec, field) is not None:
                raise ConfigError(
                    f"spec {spec.name!r}: {field} is not used by {self.name}, a serverless API"
                    " that chooses hardware and scale itself; remove it",
                    provider=self.name,
                )
        if spec.env:
            raise ConfigError(
                f"spec {spec.name!r}: env is not used by {self.name}: there is no container"
                " to pass environment variables to",
                provider=self.name,
            )
        if spec.options:
            raise ConfigError(
                f"spec {spec.name!r}: {self.name} takes no options"
                f" ({', '.join(sorted(spec.options))}); pass request parameters such as"
                " max_tokens to invoke",
                provider=self.name,
            )
        if spec.task not in _TASKS:
            raise ConfigError(
                f"spec {spec.name!r}: task {spec.task!r} is not served by {self.name};"
                " allowed: chat, text-generation",
                provider=self.name,
            )

    def _create(self, spec: DeploymentSpec) -> Deployment:
        """Serverless: check the model exists; nothing is created or billed."""
        try:
            raw = self._fetch_model(spec.model)
        except NotFound as error:
            raise NotFound(
                f"model {spec.model!r} is not offered by the Example LLM API ({error.message});"
                f" priced models: {', '.join(sorted(price_table()))}",
                provider=self.name,
                status_code=error.status_code,
                request_id=error.request_id,
            ) from error
        return self._deployment(spec.name, spec.model, "ready", spec.fingerprint(), raw)

    def find(self, name: str) -> Deployment | None:
        record = self.records.load(name)
        if record is None:
            return None
        return self.status(Deployment.from_dict(record))

    def status(self, deployment: Deployment) -> Deployment:
        try:
            raw = self._fetch_model(deployment.model)
        except NotFound as error:
            reason = f"model {deployment.model!r} is no longer offered: {error.message}"
            return self._deployment(
                deployment.name,
                deployment.model,
                "failed",
                deployment.fingerprint,
                {"failure_reason": reason},
            )
        return self._deployment(
            deployment.name, deployment.model, "ready", deployment.fingerprint, raw
        )

    def _teardown(self, deployment: Deployment) -> None:
        """Nothing exists on the platform; the base class releases the local record."""

    # -- invoke --------------------------------------------------------------
    def _body(self, deployment: Deployment, request: Any, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("stream"):
            raise ConfigError(f"stream=True: {self.name} does not stream; call invoke without it")
        if isinstance(request, str):
            body: dict[str, Any] = {"messages": [{"role": "user", "content": request}]}
        elif isinstance(request, list):
            body = {"messages": request}
        elif isinstance(request, Mapping) and "messages" in request:
            body = dict(request)
        else:
            raise ConfigError(
                f"invoke: {self.name} expects a prompt, a list of chat messages or a"
                f" chat-completions body with 'messages'; got {type(request).__name__}"
            )
        messages = body["messages"]
        if not isinstance(messages, list) or not all(
            isinstance(m, Mapping) and "role" in m and "content" in m for m in messages
        ):
            raise ConfigError(
                "invoke: messages must be a list of {'role': ..., 'content': ...} tables"
            )
        return {**body, **params, "model": deployment.model}

    def _result(
        self, deployment: Deployment, response: httpx.Response, latency: float
    ) -> InvokeResult:
        data = self._json(response)
        request_id = request_id_from(response.headers) or data.get("id")
        try:
            text = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise ProviderError(
                "the chat-completions response has no choices[0].message.content",
                provider=self.name,
                status_code=response.status_code,
                request_id=request_id,
            ) from None
        counted = data.get("usage") or {}
        usage = Usage(
            input_tokens=counted.get("prompt_tokens"),
            output_tokens=counted.get("completion_tokens"),
        )
        prices = price_table().get(deployment.model)
        cost = None
        if prices is None:  # None, never a guess: and one PriceUnknown warning says why
            self.unknown_cost(
                f"model {deployment.model!r}; cost_usd is None",
                f"the plugin's price table lists {', '.join(sorted(price_table()))}",
            )
        elif usage.total_tokens is not None:
            cost = (
                (usage.input_tokens or 0) * prices.input.usd
                + (usage.output_tokens or 0) * prices.output.usd
            ) / 1e6
        return InvokeResult(
            text=text,
            output=text,
            usage=usage,
            latency_s=latency,
            provider=self.name,
            model=str(data.get("model") or deployment.model),
            cost_usd=cost,
            request_id=request_id,
            rate_limits=_rate_limits(response.headers),
            raw=data,
        )

    def invoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        body = self._body(deployment, request, params)
        started = time.perf_counter()
        response = self.http.request("POST", "/chat/completions", json=body)
        return self._result(deployment, response, time.perf_counter() - started)

    async def ainvoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        body = self._body(deployment, request, params)
        started = time.perf_counter()
        response = await self.http.arequest("POST", "/chat/completions", json=body)
        return self._result(deployment, response, time.perf_counter() - started)

    # -- money -----------------------------------------------------------
    def cost(
        self,
        target: Deployment | DeploymentSpec,
        *,
        hours: float | None = None,
        requests: int | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
    ) -> CostEstimate:
        for label, value in (
            ("hours", hours),
            ("requests", requests),
            ("input_tokens", input_tokens),
            ("output_tokens", output_tokens),
        ):
            if value is not None and (isinstance(value, bool) or value < 0):
                raise ConfigError(f"cost: {label} must be a number >= 0, got {value!r}")
        table = price_table()
        prices = table.get(target.model)
        if prices is None:
            return self.unknown_cost(
                f"model {target.model!r}",
                f"the plugin's price table lists {', '.join(sorted(table))}",
            )
        source, as_of = prices.input.source, prices.input.as_of
        if input_tokens is None and output_tokens is None:
            if requests is not None:
                return self.unknown_cost(
                    f"{requests} requests without token counts",
                    "the Example LLM API bills per token: pass input_tokens and output_tokens",
                )
            idle = CostLine(
                "idle time (serverless: billed per token only)", "hour", hours or 0, 0, 0
            )
            return CostEstimate(usd=0.0, breakdown=[idle], source=source, as_of=as_of)
        lines = [
            CostLine(
                f"{kind} tokens",
                "million tokens",
                count / 1e6,
                price.usd,
                count / 1e6 * price.usd,
            )
            for kind, count, price in (
                ("input", input_tokens or 0, prices.input),
                ("output", output_tokens or 0, prices.output),
            )
        ]
        return CostEstimate(
            usd=sum(line.usd for line in lines), breakdown=lines, source=source, as_of=as_of
        )

    def offerings(self, region: str | None = None) -> list[Offering]:
        """Every priced model; the API is global, so ``region`` changes nothing."""
        return [
            Offering(
                provider=self.name,
                name=model,
                kind="model",
                usd_per_million_input=prices.input.usd,
                usd_per_million_output=prices.output.usd,
                source=prices.input.source,
                as_of=prices.input.as_of,
            )
            for model, prices in sorted(price_table().items())
        ]
