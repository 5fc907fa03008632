"""The replicate provider through the compliance kit, against its recorded cassettes."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from hostkit import Deployment, Provider
from hostkit.testing.compliance import ProviderComplianceTests, ProviderFixtures


class ReplicateFixtures(ProviderFixtures):
    provider_name = "replicate"
    credentials: ClassVar[dict[str, str]] = {"REPLICATE_API_TOKEN": "r8_kitFakeToken00000"}
    cassette_folder = Path(__file__).parent / "cassettes"
    spec_fields: ClassVar[dict[str, Any]] = {"model": "meta/meta-llama-3-8b-instruct"}
    invoke_params: ClassVar[dict[str, Any]] = {"max_tokens": 32}

    def trigger(self, provider: Provider, deployment: Deployment, scenario: str) -> Any:
        if scenario == "error_5xx":
            # recorded on the model look-up, a GET the policy retries; creating a
            # prediction (invoke) is not idempotent and is never retried on a 5xx
            return provider.status(deployment)
        return provider.invoke(deployment, self.invoke_request, **self.invoke_params)


class TestReplicateCompliance(ReplicateFixtures, ProviderComplianceTests):
    pass
