"""The ``huggingface`` provider: Hugging Face Inference Providers (and, later, Endpoints).

Hugging Face sells two things, and this one provider covers both, side by side:

* **serverless** (this version): the Inference Providers router
  (``router.huggingface.co/v1``, see ``router.py``). A spec *without* ``instance``
  uses it: ``deploy`` checks that the router serves the model, ``invoke`` /
  ``ainvoke`` / ``stream`` send OpenAI chat requests, ``cost`` is per token at the
  serving provider's price, ``scale`` is Unsupported, ``teardown`` releases the
  local record;
* **dedicated** (a later version, ``endpoints.py``): Inference Endpoints. A spec
  *with* ``instance`` will deploy one; until then it raises Unsupported saying so.

Every dispatch on the two halves happens here (``_half``); errors from both go
through the one seam in ``_errors.py``.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

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
from hostkit.errors import ConfigError, HostkitError

from ._errors import translate
from .router import RouterClient, unsupported_dedicated

__all__ = ["HuggingFaceProvider"]

T = TypeVar("T")

SERVERLESS = Capabilities(dedicated=False, streaming=True, native_async=True)


class HuggingFaceProvider(ServerlessProvider):
    """Hugging Face: the Inference Providers router (serverless, per token)."""

    name = "huggingface"
    description = (
        "Hugging Face Inference Providers: serverless chat models from many backends behind"
        " one HF token (router.huggingface.co), billed per token"
    )
    capabilities: ClassVar[Capabilities] = SERVERLESS
    credential_env = "HF_TOKEN"
    requires = ("huggingface_hub",)
    install_extra = "huggingface"
    settings_schema = {"bill_to": str}
    unsupported = {
        "scale": "capacity on the Hugging Face Inference Providers router scales automatically;"
        " for dedicated capacity you size yourself, use a Hugging Face Inference Endpoint (a"
        " spec with instance=...; not available in this hostkit version yet)",
    }
    tasks = (None, "chat", "conversational", "text-generation")
    price_file = "prices.toml"
    default_timeout = 120.0

    def setup(self) -> None:
        """Nothing is sent and no SDK is imported here: clients are built on first use."""
        self.router = RouterClient(self)

    # -- which half --------------------------------------------------------
    def _dedicated(self, target: Deployment | DeploymentSpec) -> bool:
        return target.instance is not None

    def _router_for(self, target: Deployment | DeploymentSpec) -> RouterClient:
        if self._dedicated(target):
            raise unsupported_dedicated(self.name)
        return self.router

    def capabilities_for(self, deployment: Deployment) -> Capabilities:
        return SERVERLESS

    def validate_spec(self, spec: DeploymentSpec) -> None:
        if spec.instance is not None:
            raise unsupported_dedicated(self.name)
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
                " container to pass it to",
                provider=self.name,
            )
        super().validate_spec(spec)

    # -- errors and retries ------------------------------------------------
    def translate_error(self, error: Exception) -> HostkitError | None:
        return translate(error, context_lengths=self.router.context_lengths)

    # -- deploy / status (serverless: a model look-up) ---------------------
    def lookup_model(self, model: str) -> dict[str, Any]:
        return self.router.lookup(model)

    def list_models(self) -> list[str]:
        return self.router.model_ids()

    def endpoint_for(self, model: str) -> str | None:
        return self.router.chat_url

    def status(self, deployment: Deployment) -> Deployment:
        self._router_for(deployment)
        return super().status(deployment)

    def _update(self, existing: Deployment, spec: DeploymentSpec) -> Deployment:
        """Serverless: nothing to change remotely; check the new model and keep the record."""
        return self._create(spec)

    # -- invoke ------------------------------------------------------------
    def invoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        return self._router_for(deployment).invoke(deployment, request, params)

    async def ainvoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        return await self._router_for(deployment).ainvoke(deployment, request, params)

    def stream(self, deployment: Deployment, request: Any, **params: Any) -> Stream:
        return self._router_for(deployment).stream(deployment, request, params)

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
        """Per-token cost at the price of the provider the model id pins (see router.py)."""
        for label, value in (
            ("hours", hours),
            ("requests", requests),
            ("input_tokens", input_tokens),
            ("output_tokens", output_tokens),
        ):
            if value is not None and (isinstance(value, bool) or value < 0):
                raise ConfigError(f"cost: {label} must be a number >= 0, got {value!r}")
        return self._router_for(target).estimate(
            target,
            hours=hours,
            requests=requests,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
        )

    def offerings(self, region: str | None = None) -> list[Offering]:
        """Every model and provider the router serves with a known price (one request)."""
        return self.router.offerings()

    # -- connections -------------------------------------------------------
    def close(self) -> None:
        self.router.close()

    async def aclose(self) -> None:
        await self.router.aclose()
