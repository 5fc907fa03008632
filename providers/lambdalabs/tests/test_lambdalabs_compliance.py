"""The lambdalabs provider through the compliance kit, against recorded Lambda Cloud API
and vLLM-server exchanges (cassettes/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from hostkit import Deployment, Provider
from hostkit.testing.compliance import ProviderComplianceTests, ProviderFixtures

CASSETTES = Path(__file__).parent / "cassettes"
#: a fake key in Lambda's key format (secret_<name>_<hex>.<random>)
FAKE_KEY = "secret_hostkit-ci_5f1e0c2a9b7d4e3f8a6b1c0d2e4f6a8b.Fk3eFakeFakeFakeFakeFakeFakeFakeFake"


class LambdaLabsFixtures(ProviderFixtures):
    provider_name = "lambdalabs"
    credentials: ClassVar[dict[str, str]] = {"LAMBDA_API_KEY": FAKE_KEY}
    cassette_folder = CASSETTES
    #: the SSH key name goes in the spec's options: the kit treats any setting whose name
    #: holds "key" as a credential, and an SSH key *name* is not one
    spec_fields: ClassVar[dict[str, Any]] = {
        "model": "Qwen/Qwen2.5-0.5B-Instruct",
        "instance": "gpu_1x_a10",
        "region": "us-east-1",
        "options": {"ssh_key_name": "hostkit-ci"},
    }
    #: a 70B model cannot load on one 24 GB A10: vLLM exits and the deploy fails
    failing_spec_fields: ClassVar[dict[str, Any]] = {
        "model": "meta-llama/Llama-3.1-70B-Instruct",
        "instance": "gpu_1x_a10",
        "region": "us-east-1",
        "options": {"ssh_key_name": "hostkit-ci"},
    }

    def trigger(self, provider: Provider, deployment: Deployment, scenario: str) -> Any:
        """Rate limits and outages are the Lambda API's (one GET /instance-types each);
        401 and 404 come from the model server on invoke."""
        if scenario in ("error_429_then_ok", "error_429_exhausted", "error_5xx"):
            return provider.offerings()
        return super().trigger(provider, deployment, scenario)


class TestLambdaLabsCompliance(LambdaLabsFixtures, ProviderComplianceTests):
    pass
