"""The cerebras adapter through hostkit's compliance kit, on its recorded cassettes."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from hostkit_providers.cerebras import CerebrasProvider

from hostkit import Deployment, Provider
from hostkit.testing.compliance import ProviderComplianceTests, ProviderFixtures

CASSETTES = Path(__file__).parent / "cassettes"


class CerebrasFixtures(ProviderFixtures):
    provider_name = "cerebras"
    credentials: ClassVar[dict[str, str]] = {"CEREBRAS_API_KEY": "csk-fake-compliance-key-0000"}
    cassette_folder = CASSETTES
    spec_fields: ClassVar[dict[str, Any]] = {"model": "gpt-oss-120b"}
    invoke_params: ClassVar[dict[str, Any]] = {"max_tokens": 256}

    def trigger(self, provider: Provider, deployment: Deployment, scenario: str) -> Any:
        if scenario == "error_404":  # the recorded 404 is a chat call to a model not served
            assert isinstance(provider, CerebrasProvider)
            missing = provider.serverless_deployment("gone", "gpt-oss-20b", None, {})
            return provider.invoke(missing, self.invoke_request, **self.invoke_params)
        return super().trigger(provider, deployment, scenario)


class TestCerebrasCompliance(CerebrasFixtures, ProviderComplianceTests):
    pass
