"""The shared half of every serverless adapter: the model is already running.

On a serverless platform ``deploy`` creates nothing: it checks that the platform
serves the model (:meth:`ServerlessProvider.lookup_model`) and keeps a local record
so that ``get(name)`` works from any later process. ``teardown`` releases that
record; ``scale`` is Unsupported (the base class says so); ``cost`` is per token
from the adapter's price table. Adapters implement ``lookup_model``, ``invoke``
(and ``stream``/``ainvoke``) and ``list_models``.
"""

from __future__ import annotations

import difflib
from abc import abstractmethod
from collections.abc import Iterable
from typing import Any, ClassVar

from hostkit._models import (
    Capabilities,
    CostEstimate,
    CostLine,
    Deployment,
    DeploymentSpec,
    Offering,
)
from hostkit._provider import Provider
from hostkit.errors import ConfigError, NotFound

__all__ = ["DEDICATED_FIELDS", "ServerlessProvider", "closest_matches"]

#: spec fields that only mean something where hardware is rented
DEDICATED_FIELDS = (
    "instance",
    "accelerator",
    "region",
    "replicas",
    "min_replicas",
    "max_replicas",
    "scale_to_zero_after",
    "image",
)


def closest_matches(name: str, candidates: Iterable[str], n: int = 5) -> list[str]:
    """The candidates most like ``name`` (case-insensitive), best first."""
    pool = sorted(set(candidates))
    lowered = {c.lower(): c for c in pool}
    found = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.3)
    if not found:
        tail = name.lower().rsplit("/", 1)[-1]
        found = [c for c in lowered if tail and tail.split("-")[0] in c][:n]
    return [lowered[c] for c in found]


class ServerlessProvider(Provider):
    """Base for platforms where the model already runs and calls are billed per use."""

    capabilities: ClassVar[Capabilities] = Capabilities(
        dedicated=False, streaming=True, native_async=True
    )
    #: tasks the platform serves through ``invoke``
    tasks: ClassVar[tuple[str | None, ...]] = (None, "chat", "text-generation")

    # -- what adapters implement -----------------------------------------
    @abstractmethod
    def lookup_model(self, model: str) -> dict[str, Any]:
        """The platform's description of ``model``; NotFound (with close ids) if not served."""

    def list_models(self) -> list[str]:
        """Ids of the models the platform serves (used to suggest close matches)."""
        return []

    def check_access(self) -> None:
        """``hostkit providers --check``: list the served models (one authenticated GET).

        A serverless "deployment" is only hostkit's record, so ``list_deployments``
        keeps the base class's record listing: nothing on the platform to find.
        """
        if type(self).list_models is ServerlessProvider.list_models:
            super().check_access()  # Unsupported: no model listing to try
        self.list_models()

    def endpoint_for(self, model: str) -> str | None:
        """The URL calls for ``model`` go to (shown on the Deployment)."""
        value = self.setting("base_url")
        return str(value) if value else None

    # -- shared behaviour ------------------------------------------------
    def model_not_found(self, model: str, error: NotFound | None = None) -> NotFound:
        """A NotFound naming the closest model ids the platform does serve."""
        try:
            suggestions = closest_matches(model, self.list_models())
        except Exception:  # suggestions are a courtesy; never hide the real answer
            suggestions = []
        hint = f"; closest served models: {', '.join(suggestions)}" if suggestions else ""
        said = f" ({self.name} said: {error.message})" if error and error.message else ""
        return NotFound(
            f"{self.name} does not serve model {model!r}{hint}{said}",
            provider=self.name,
            status_code=error.status_code if error else None,
            request_id=error.request_id if error else None,
        )

    def validate_spec(self, spec: DeploymentSpec) -> None:
        for field in self.dedicated_fields(spec):
            raise ConfigError(
                f"spec {spec.name!r}: {field} is not used by {self.name}, a serverless platform"
                " that chooses hardware and scale itself; remove it",
                provider=self.name,
            )
        if spec.task not in self.tasks:
            allowed = ", ".join(t for t in self.tasks if t)
            raise ConfigError(
                f"spec {spec.name!r}: task {spec.task!r} is not served by {self.name};"
                f" allowed: {allowed}",
                provider=self.name,
            )

    def dedicated_fields(self, spec: DeploymentSpec) -> list[str]:
        return [f for f in DEDICATED_FIELDS if getattr(spec, f) is not None]

    def serverless_deployment(
        self, name: str, model: str, fingerprint: str | None, raw: dict[str, Any]
    ) -> Deployment:
        return Deployment(
            name=name,
            provider=self.name,
            model=model,
            status="ready",
            endpoint=self.endpoint_for(model),
            fingerprint=fingerprint,
            raw={"serverless": True, **raw},
            _provider=self,
        )

    def _create(self, spec: DeploymentSpec) -> Deployment:
        """Check that the model is served; nothing billable is created."""
        info = self.lookup_model(spec.model)
        return self.serverless_deployment(spec.name, spec.model, spec.fingerprint(), info)

    def find(self, name: str) -> Deployment | None:
        record = self.records.load(name)
        if record is None:
            return None
        deployment = Deployment.from_dict(record)
        deployment._provider = self
        return deployment

    def status(self, deployment: Deployment) -> Deployment:
        try:
            info = self.lookup_model(deployment.model)
        except NotFound as error:
            failed = self.serverless_deployment(
                deployment.name, deployment.model, deployment.fingerprint, {}
            )
            failed.status = "failed"
            failed.raw["failure_reason"] = error.message
            return failed
        return self.serverless_deployment(
            deployment.name, deployment.model, deployment.fingerprint, info
        )

    def _teardown(self, deployment: Deployment) -> None:
        """Nothing exists on the platform: the base class releases the local record."""

    def cost(
        self,
        target: Deployment | DeploymentSpec,
        *,
        hours: float | None = None,
        requests: int | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
    ) -> CostEstimate:
        """Per-token cost; idle time costs nothing on a serverless platform."""
        for label, value in (
            ("hours", hours),
            ("requests", requests),
            ("input_tokens", input_tokens),
            ("output_tokens", output_tokens),
        ):
            if value is not None and (isinstance(value, bool) or value < 0):
                raise ConfigError(f"cost: {label} must be a number >= 0, got {value!r}")
        if input_tokens is None and output_tokens is None:
            if requests:
                return self.unknown_cost(
                    f"{requests} requests without token counts",
                    f"{self.name} bills per token: pass input_tokens and output_tokens",
                )
            row = self.prices.find(target.model)
            if row is None:
                return self.token_cost(target.model, 0, 0)
            idle = CostLine("idle time (serverless: billed per use only)", "hour", hours or 0, 0, 0)
            return CostEstimate(usd=0.0, breakdown=[idle], source=row.source, as_of=row.as_of)
        return self.token_cost(target.model, input_tokens, output_tokens)

    def offerings(self, region: str | None = None) -> list[Offering]:
        """Every model with a known price (the platform is global: ``region`` is ignored)."""
        return [
            Offering(
                provider=self.name,
                name=row.key,
                kind="model",
                usd_per_million_input=row.input_per_million,
                usd_per_million_output=row.output_per_million,
                usd_per_hour=row.usd_per_hour,
                source=row.source,
                as_of=row.as_of,
            )
            for row in sorted(self.prices.rows(), key=lambda r: r.key)
        ]
