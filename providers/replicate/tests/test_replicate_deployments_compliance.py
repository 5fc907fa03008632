"""The dedicated half of replicate (Replicate deployments) through the compliance kit.

Its cassettes are in ``cassettes/deployments/`` (written by make_deployment_cassettes.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from hostkit import Deployment, Provider
from hostkit.testing.compliance import ProviderComplianceTests, ProviderFixtures


class ReplicateDeploymentFixtures(ProviderFixtures):
    provider_name = "replicate"
    credentials: ClassVar[dict[str, str]] = {"REPLICATE_API_TOKEN": "r8_kitFakeToken00000"}
    cassette_folder = Path(__file__).parent / "cassettes" / "deployments"
    spec_fields: ClassVar[dict[str, Any]] = {
        "model": "meta/meta-llama-3-8b-instruct",
        "instance": "gpu-a100-large",
    }
    failing_spec_fields: ClassVar[dict[str, Any]] = {
        "model": "meta/meta-llama-3-8b-instruct",
        "instance": "gpu-none",
    }
    invoke_params: ClassVar[dict[str, Any]] = {"max_tokens": 32}

    def trigger(self, provider: Provider, deployment: Deployment, scenario: str) -> Any:
        if scenario == "error_5xx":
            # recorded on GET of the deployment, which the policy retries; creating a
            # prediction is not idempotent and is never retried on a 5xx
            return provider.status(deployment)
        return provider.invoke(deployment, self.invoke_request, **self.invoke_params)


class TestReplicateDeploymentCompliance(ReplicateDeploymentFixtures, ProviderComplianceTests):
    pass
