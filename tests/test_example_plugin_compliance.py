"""The third-party example plugin passes the compliance kit, exactly like our adapters."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from hostkit import Deployment, Provider
from hostkit.testing.compliance import ProviderComplianceTests, ProviderFixtures

CASSETTES = Path(__file__).parent / "plugins" / "hostkit-example-plugin" / "cassettes"


class ExampleFixtures(ProviderFixtures):
    provider_name = "example"
    credentials: ClassVar[dict[str, str]] = {"EXAMPLE_API_KEY": "ex-fake-compliance-key-000"}
    cassette_folder = CASSETTES
    spec_fields: ClassVar[dict[str, Any]] = {"model": "example-chat-8b"}
    invoke_params: ClassVar[dict[str, Any]] = {"max_tokens": 32}
    deployment_name = "example-chat-8b"

    @pytest.fixture(autouse=True)
    def _plugin_installed(self, example_plugin: Path) -> None:
        """The plugin is pip-installed into a temp folder and put on the path."""

    def trigger(self, provider: Provider, deployment: Deployment, scenario: str) -> Any:
        if scenario == "error_404":  # the recorded 404 is an unknown model at deploy
            return provider.deploy({"model": "no-such-model", "name": "missing-model"})
        return super().trigger(provider, deployment, scenario)


class TestExamplePluginCompliance(ExampleFixtures, ProviderComplianceTests):
    pass
