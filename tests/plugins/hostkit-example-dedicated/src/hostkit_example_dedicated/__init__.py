"""hostkit provider for the Example GPU Cloud: a fictional platform of dedicated endpoints.

The dedicated twin of ``hostkit-example-plugin``: where that one calls a serverless
API, this one rents a GPU instance by the hour and runs the model on it, so every
check of hostkit's compliance kit applies (deploy and its failure, scale, teardown).

The API lives at ``https://api.example-gpu.invalid/v1`` and takes a bearer key from
``EXAMPLE_GPU_API_KEY``:

* ``deploy`` creates an endpoint (``POST /endpoints``) and the base class polls
  ``GET /endpoints/{name}`` until it is ready, or failed (``failure_reason`` then
  becomes ``DeploymentFailed.reason`` and the endpoint is deleted);
* ``invoke``/``ainvoke``/``stream`` send OpenAI chat-completions requests to the
  endpoint's own URL (``stream`` reads server-sent events);
* ``scale`` sets the endpoint's replica bounds (``PATCH /endpoints/{name}``);
* ``teardown`` deletes it (``DELETE /endpoints/{name}``; already gone is fine);
* ``cost`` and ``offerings`` read the hourly price table shipped with the plugin.

HTTP, errors and retries come from hostkit's shared :class:`hostkit.adapters.HttpClient`.
"""

from __future__ import annotations

import json
import time
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
    Provider,
    Stream,
)
from hostkit.adapters import (
    HttpClient,
    build_chat_body,
    chat_stream,
    request_id_from,
    result_from_completion,
)
from hostkit.errors import ConfigError, NotFound, ProviderError

if TYPE_CHECKING:
    import httpx

__all__ = ["DEFAULT_BASE_URL", "ExampleDedicatedProvider", "InstancePrice", "price_table"]
__version__ = "0.1.0"

DEFAULT_BASE_URL = "https://api.example-gpu.invalid/v1"
#: the platform's endpoint states, as hostkit statuses
STATUSES = {
    "pending": "pending",
    "provisioning": "deploying",
    "ready": "ready",
    "updating": "updating",
    "scaled_to_zero": "scaled_to_zero",
    "failed": "failed",
    "deleting": "deleted",
}
FINGERPRINT_LABEL = "hostkit-fingerprint"


@dataclass(frozen=True)
class InstancePrice:
    """What one instance type costs per hour, and where that price was read."""

    usd_per_hour: float
    source: str
    as_of: str


@cache
def price_table() -> dict[str, InstancePrice]:
    """The shipped hourly price table (``prices.json``): instance type to price."""
    data = json.loads(resources.files(__name__).joinpath("prices.json").read_text("utf-8"))
    return {
        instance: InstancePrice(float(usd), data["source"], data["as_of"])
        for instance, usd in data["instances"].items()
    }


class ExampleDedicatedProvider(Provider):
    """The Example GPU Cloud (dedicated endpoints; billed per instance-hour)."""

    name = "example-dedicated"
    description = "Example GPU Cloud: fictional dedicated GPU endpoints (plugin template)"
    capabilities = Capabilities(
        dedicated=True,
        streaming=True,
        native_async=True,
        manual_scaling=True,
        autoscaling=True,
        scale_to_zero=True,
    )
    credential_env = "EXAMPLE_GPU_API_KEY"

    @classmethod
    def install_command(cls) -> str:
        return "pip install hostkit-example-dedicated"

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

    def _path(self, name: str) -> str:
        return "/endpoints/" + quote(name, safe="")

    def _deployment(self, data: dict[str, Any]) -> Deployment:
        """A Deployment from the platform's endpoint object."""
        url = data.get("url")
        return Deployment(
            name=str(data["name"]),
            provider=self.name,
            model=str(data["model"]),
            status=STATUSES.get(str(data.get("status")), "pending"),  # type: ignore[arg-type]
            endpoint=f"{url}/v1/chat/completions" if url else None,
            replicas=data.get("replicas"),
            instance=data.get("instance"),
            min_replicas=data.get("min_replicas"),
            max_replicas=data.get("max_replicas"),
            fingerprint=(data.get("labels") or {}).get(FINGERPRINT_LABEL),
            raw=data,
        )

    # -- deploy, find, status, scale, teardown --------------------------------
    def validate_spec(self, spec: DeploymentSpec) -> None:
        if not spec.instance:
            raise ConfigError(
                f"spec {spec.name!r}: instance is required on {self.name} (the GPU type to"
                f" rent); priced types: {', '.join(sorted(price_table()))}",
                provider=self.name,
            )
        if spec.options:
            raise ConfigError(
                f"spec {spec.name!r}: {self.name} takes no options"
                f" ({', '.join(sorted(spec.options))})",
                provider=self.name,
            )

    def _create(self, spec: DeploymentSpec) -> Deployment:
        """Start creating the endpoint; the base class waits for it."""
        body = {
            "name": spec.name,
            "model": spec.model,
            "instance": spec.instance,
            "min_replicas": spec.min_replicas if spec.min_replicas is not None else 1,
            "max_replicas": spec.max_replicas or spec.replicas or 1,
            "labels": {FINGERPRINT_LABEL: spec.fingerprint()},
        }
        return self._deployment(self._json(self.http.request("POST", "/endpoints", json=body)))

    def find(self, name: str) -> Deployment | None:
        try:
            return self._deployment(self._json(self.http.request("GET", self._path(name))))
        except NotFound:
            return None

    def status(self, deployment: Deployment) -> Deployment:
        found = self.find(deployment.name)
        if found is None:
            return Deployment(
                name=deployment.name,
                provider=self.name,
                model=deployment.model,
                status="deleted",
                instance=deployment.instance,
            )
        return found

    def _scale(
        self,
        deployment: Deployment,
        replicas: int | None,
        min_replicas: int | None,
        max_replicas: int | None,
    ) -> Deployment:
        if replicas is not None:
            bounds = {"min_replicas": replicas, "max_replicas": max(replicas, 1)}
        else:
            bounds = {
                "min_replicas": min_replicas if min_replicas is not None else 0,
                "max_replicas": max_replicas or deployment.max_replicas or 1,
            }
        response = self.http.request("PATCH", self._path(deployment.name), json=bounds)
        return self._deployment(self._json(response))

    def _teardown(self, deployment: Deployment) -> None:
        """Delete the endpoint (the base class treats NotFound as already gone)."""
        self.http.request("DELETE", self._path(deployment.name))

    # -- invoke --------------------------------------------------------------
    def _url(self, deployment: Deployment) -> str:
        if not deployment.endpoint:
            raise ConfigError(
                f"{deployment.name} has no endpoint URL yet (status {deployment.status});"
                " wait for it to be ready",
                provider=self.name,
            )
        return deployment.endpoint

    def _result(self, deployment: Deployment, response: httpx.Response, started: float) -> Any:
        result = result_from_completion(
            self._json(response),
            provider=self.name,
            model=deployment.model,
            latency_s=time.perf_counter() - started,
        )
        result.request_id = request_id_from(response.headers) or result.request_id
        return result  # cost_usd stays None: the instance is billed by the hour

    def invoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        body = build_chat_body(deployment.model, request, params)
        started = time.perf_counter()
        response = self.http.request("POST", self._url(deployment), json=body)
        return self._result(deployment, response, started)  # type: ignore[no-any-return]

    async def ainvoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        body = build_chat_body(deployment.model, request, params)
        started = time.perf_counter()
        response = await self.http.arequest("POST", self._url(deployment), json=body)
        return self._result(deployment, response, started)  # type: ignore[no-any-return]

    def stream(self, deployment: Deployment, request: Any, **params: Any) -> Stream:
        body = build_chat_body(deployment.model, request, params, stream=True)
        started = time.perf_counter()
        opened = self.http.stream("POST", self._url(deployment), json=body)
        response = opened.__enter__()
        closed: list[bool] = []

        def close() -> None:
            if not closed:
                closed.append(True)
                opened.__exit__(None, None, None)

        return chat_stream(
            response.iter_lines(),
            provider=self.name,
            model=deployment.model,
            started=started,
            close=close,
            request_id=request_id_from(response.headers),
        )

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
        if hours is not None and (isinstance(hours, bool) or hours < 0):
            raise ConfigError(f"cost: hours must be a number >= 0, got {hours!r}")
        table = price_table()
        price = table.get(target.instance or "")
        if price is None:
            return self.unknown_cost(
                f"instance {target.instance!r}",
                f"the plugin's price table lists {', '.join(sorted(table))}",
            )
        replicas = target.replicas or target.min_replicas or 1
        quantity = (hours if hours is not None else 1.0) * max(replicas, 1)
        line = CostLine(
            f"{target.instance} instance-hours", "hour", quantity, price.usd_per_hour,
            quantity * price.usd_per_hour,
        )  # fmt: skip
        return CostEstimate(usd=line.usd, breakdown=[line], source=price.source, as_of=price.as_of)

    def offerings(self, region: str | None = None) -> list[Offering]:
        """Every priced instance type; the platform has one region."""
        return [
            Offering(
                provider=self.name,
                name=instance,
                kind="instance",
                usd_per_hour=price.usd_per_hour,
                source=price.source,
                as_of=price.as_of,
            )
            for instance, price in sorted(price_table().items())
        ]
