"""The ``huggingface`` provider: Hugging Face Inference Providers and Inference Endpoints.

Hugging Face sells two things, and this one provider covers both, side by side:

* **serverless**: the Inference Providers router (``router.huggingface.co/v1``, see
  ``router.py``). A spec *without* ``instance`` uses it: ``deploy`` checks that the
  router serves the model, ``invoke`` / ``ainvoke`` / ``stream`` send OpenAI chat
  requests, ``cost`` is per token at the serving provider's price, ``scale`` is
  Unsupported, ``teardown`` releases the local record;
* **dedicated**: Inference Endpoints (``endpoints.py``). A spec *with* ``instance``
  deploys one: hardware you choose, billed per replica-hour, scaled by min/max
  replicas, to zero, paused and resumed. So does a spec with a portable ``accelerator``
  ("A100:1", "L4", "H100:8") and no ``instance``: it picks the cheapest compute that fits
  in the spec's vendor/region (``hardware.toml`` + ``prices.toml``); ``accelerator`` =
  "gpu" / "cpu" / "neuron" keeps meaning the compute's own field.

Every dispatch on the two halves happens here (``_dedicated``); errors from both go
through the one seam in ``_errors.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, TypeVar

from hostkit._logs import LogLine
from hostkit._models import (
    Capabilities,
    CostEstimate,
    Deployment,
    DeploymentSpec,
    InvokeResult,
    Offering,
    Stream,
)
from hostkit._pricing import PriceRow
from hostkit._serverless import ServerlessProvider
from hostkit.errors import ConfigError, HostkitError, Unsupported

from ._errors import translate
from .artifacts import is_local
from .endpoints import EndpointsClient, is_portable
from .router import RouterClient

__all__ = ["HuggingFaceProvider"]

T = TypeVar("T")

SERVERLESS = Capabilities(dedicated=False, streaming=True, native_async=True)
DEDICATED = Capabilities(
    dedicated=True,
    streaming=True,
    native_async=True,
    manual_scaling=True,
    autoscaling=True,
    scale_to_zero=True,
)


class HuggingFaceProvider(ServerlessProvider):
    """Hugging Face: the Inference Providers router (serverless) and Inference Endpoints."""

    name = "huggingface"
    description = (
        "Hugging Face: serverless chat models from many backends behind one HF token"
        " (Inference Providers router, per token), and dedicated Inference Endpoints (a spec"
        " with instance=..., per replica-hour)"
    )
    #: what the provider can do across both halves; ``capabilities_for`` says which half can what
    capabilities: ClassVar[Capabilities] = DEDICATED
    credential_env = "HF_TOKEN"
    requires = ("huggingface_hub",)
    install_extra = "huggingface"
    settings_schema = {"bill_to": str, "namespace": str, "vendor": str, "endpoints_url": str}
    unsupported = {
        "logs": "the Hugging Face Inference Providers router is serverless: no server of"
        " yours runs, so there are no server logs (hostkit's own 'hostkit' logger records each"
        " request); a dedicated Inference Endpoint (a spec with instance=...) has logs",
        "scale": "capacity on the Hugging Face Inference Providers router scales automatically;"
        " for dedicated capacity you size yourself, deploy a Hugging Face Inference Endpoint"
        " (a spec with instance=..., e.g. instance='nvidia-l4')",
    }
    tasks = (None, "chat", "conversational", "text-generation")
    price_file = "prices.toml"
    default_timeout = 120.0
    poll_max = 30.0

    def setup(self) -> None:
        """Nothing is sent and no SDK is imported here: clients are built on first use."""
        self.router = RouterClient(self)
        self.endpoints = EndpointsClient(self, self.router)

    # -- which half --------------------------------------------------------
    def _dedicated(self, target: Deployment | DeploymentSpec) -> bool:
        if isinstance(target, Deployment):
            return bool(target.raw.get("dedicated")) or target.instance is not None
        return target.instance is not None or is_portable(target.accelerator)

    def _half(self, target: Deployment | DeploymentSpec) -> RouterClient:
        return self.endpoints if self._dedicated(target) else self.router

    def capabilities_for(self, deployment: Deployment) -> Capabilities:
        """An Inference Endpoint scales (fixed, bounds, to zero); the router does not."""
        return DEDICATED if self._dedicated(deployment) else SERVERLESS

    def capabilities_for_spec(self, spec: DeploymentSpec) -> Capabilities:
        """A spec with ``instance`` (or a portable ``accelerator`` such as "A100:1", resolved
        to a compute) creates an Inference Endpoint; without either, it uses the router."""
        return DEDICATED if self._dedicated(spec) else SERVERLESS

    def instance_for_accelerator(self, spec: DeploymentSpec) -> str:
        """The cheapest compute in the spec's vendor/region fitting ``spec.accelerator``."""
        return self.endpoints.instance_for_accelerator(spec)

    def validate_spec(self, spec: DeploymentSpec) -> None:
        if spec.instance is not None:
            self.endpoints.plan(spec)  # raises ConfigError naming the field
            if spec.task not in self.tasks:
                allowed = ", ".join(t for t in self.tasks if t)
                raise ConfigError(
                    f"spec {spec.name!r}: task {spec.task!r} is not served by hostkit's"
                    f" Inference Endpoints (an OpenAI chat server); allowed: {allowed}",
                    provider=self.name,
                )
            return
        if is_local(spec.model):
            raise ConfigError(
                f"spec {spec.name!r}: model {spec.model!r} is a local path, and the serverless"
                " router serves only models already on the Hub; set instance=... (e.g."
                " 'nvidia-l4') for an Inference Endpoint, which uploads it to a private Hub"
                " repository first",
                provider=self.name,
            )
        if spec.options:
            raise ConfigError(
                f"spec {spec.name!r}: the Hugging Face router takes no options"
                f" ({', '.join(sorted(spec.options))}); pass request parameters such as"
                " max_tokens to invoke, and pick the backend in the model id"
                " ('org/model:groq', ':fastest', ':cheapest')",
                provider=self.name,
            )
        if spec.env:
            raise ConfigError(
                f"spec {spec.name!r}: env is not used by the serverless router: there is no"
                " container to pass it to (set instance=... for an Inference Endpoint)",
                provider=self.name,
            )
        super().validate_spec(spec)

    # -- errors and retries ------------------------------------------------
    def translate_error(self, error: Exception) -> HostkitError | None:
        return translate(error, context_lengths=self.router.context_lengths)

    # -- deploy / find / status --------------------------------------------
    def lookup_model(self, model: str) -> dict[str, Any]:
        return self.router.lookup(model)

    def list_models(self) -> list[str]:
        return self.router.model_ids()

    def endpoint_for(self, model: str) -> str | None:
        return self.router.chat_url

    def _create(self, spec: DeploymentSpec) -> Deployment:
        if self._dedicated(spec):
            return self.endpoints.create(spec)
        return super()._create(spec)

    def find(self, name: str) -> Deployment | None:
        """The local record; an Inference Endpoint (or, with ``namespace`` set, any name)
        is looked up on the platform (one GET), so a retried deploy never creates twice."""
        known = super().find(name)
        if known is not None and not self._dedicated(known):
            return known
        if known is None and not self.setting("namespace"):
            return None
        found = self.endpoints.get(name, known=known)
        if found is None and known is not None:
            self.records.delete(name)
        return found

    def list_deployments(self, *, all_accounts: bool = False) -> list[Deployment]:
        """Records, plus the hostkit-tagged Inference Endpoints of the ``namespace`` setting
        (inventory.py); ``all_accounts`` lists no other namespace: hostkit acts on one."""
        from .inventory import list_all

        return list_all(self)

    def status(self, deployment: Deployment) -> Deployment:
        if self._dedicated(deployment):
            return self.endpoints.status(deployment)
        return super().status(deployment)

    def _update(self, existing: Deployment, spec: DeploymentSpec) -> Deployment:
        """Serverless: check the new model and keep the record. Endpoints: not in place."""
        if self._dedicated(existing) or self._dedicated(spec):
            raise Unsupported(
                f"{spec.name}: hostkit does not change an Inference Endpoint's model or hardware"
                " in place; scale it with hostkit.scale, or tear it down and deploy again",
                provider=self.name,
            )
        return self._create(spec)

    # -- invoke ------------------------------------------------------------
    def invoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        return self._half(deployment).invoke(deployment, request, params)

    async def ainvoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        return await self._half(deployment).ainvoke(deployment, request, params)

    def stream(self, deployment: Deployment, request: Any, **params: Any) -> Stream:
        return self._half(deployment).stream(deployment, request, params)

    # -- logs (Inference Endpoints; see logs.py) -----------------------------
    def _logs(
        self, deployment: Deployment, *, since: float | None, follow: bool
    ) -> Iterator[LogLine]:
        if not self._dedicated(deployment):
            return super()._logs(deployment, since=since, follow=follow)  # Unsupported
        from .logs import read_logs

        return read_logs(self.endpoints, deployment, since=since, follow=follow)

    # -- scale, pause, resume, teardown (Inference Endpoints) ----------------
    def _scale(
        self,
        deployment: Deployment,
        replicas: int | None,
        min_replicas: int | None,
        max_replicas: int | None,
    ) -> Deployment:
        return self.endpoints.scale(deployment, replicas, min_replicas, max_replicas)

    def _endpoint_only(self, deployment: Deployment | str, operation: str) -> Deployment:
        found = self.resolve(deployment)
        if not self._dedicated(found):
            raise Unsupported(
                f"{operation} applies to Inference Endpoints; {found.name} runs on the serverless"
                " router, which has nothing to pause or resume",
                provider=self.name,
            )
        return found

    def pause(self, deployment: Deployment | str) -> Deployment:
        """Pause an Inference Endpoint: no replica, no bill, no wake-up until ``resume``."""
        paused = self.endpoints.pause(self._endpoint_only(deployment, "pause"))
        self.remember(paused)
        return paused

    def resume(self, deployment: Deployment | str, *, wait: bool = True) -> Deployment:
        """Resume a paused Inference Endpoint (a running one is fine) and wait until ready."""
        resumed = self.endpoints.resume(self._endpoint_only(deployment, "resume"))
        if wait and resumed.status not in ("ready", "scaled_to_zero"):
            resumed = self.wait(resumed)
        self.remember(resumed)
        return resumed

    def _teardown(self, deployment: Deployment) -> None:
        """Endpoints: DELETE (a failed deploy's placeholder too); the router: nothing."""
        if self._dedicated(deployment) or deployment.name in self.endpoints.created:
            self.endpoints.delete(deployment)

    # -- money -------------------------------------------------------------
    def configured_price(self, key: str) -> PriceRow | None:
        """The user's ``[prices.huggingface."<key>"]`` row, if the config sets one."""
        return self.prices.find(key) if key in self._price_overrides else None

    def cost(
        self,
        target: Deployment | DeploymentSpec,
        *,
        hours: float | None = None,
        requests: int | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
    ) -> CostEstimate:
        """Router: per token (router.py). Endpoint: price per replica-hour x replicas x hours."""
        for label, value in (
            ("hours", hours),
            ("requests", requests),
            ("input_tokens", input_tokens),
            ("output_tokens", output_tokens),
        ):
            if value is not None and (isinstance(value, bool) or value < 0):
                raise ConfigError(f"cost: {label} must be a number >= 0, got {value!r}")
        if isinstance(target, DeploymentSpec) and not target.instance and self._dedicated(target):
            target = self.coerce_spec(target)  # a portable accelerator: the compute it picks
        return self._half(target).estimate(
            target,
            hours=hours,
            requests=requests,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
        )

    def fetch_live_prices(self) -> list[PriceRow]:
        """Inference Endpoints' live prices for ``hostkit catalog --refresh`` (live_prices.py)."""
        from .live_prices import fetch_live_prices

        return fetch_live_prices(self)

    def offerings(self, region: str | None = None) -> list[Offering]:
        """No region: the router's priced models (one request). A region ('aws/us-east-1'):
        the Inference Endpoints instances there, priced from the public catalog."""
        if region is not None:
            return self.endpoints.instance_offerings(region)
        return self.router.offerings()

    # -- connections -------------------------------------------------------
    def close(self) -> None:
        self.router.close()

    async def aclose(self) -> None:
        await self.router.aclose()
