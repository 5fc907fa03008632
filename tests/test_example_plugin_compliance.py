"""The third-party example plugins pass the compliance kit, exactly like our adapters.

Two examples, so that every check of the kit runs green here at least once and a
plugin author has a model to copy for either kind of platform:

* ``hostkit-example-plugin`` (provider ``example``): a serverless API;
* ``hostkit-example-dedicated`` (provider ``example-dedicated``): dedicated GPU
  endpoints: deploy and its failure, scale, scale to zero, teardown, streaming.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from hostkit import Deployment, Provider
from hostkit.testing.compliance import ProviderComplianceTests, ProviderFixtures

PLUGINS = Path(__file__).parent / "plugins"
CASSETTES = PLUGINS / "hostkit-example-plugin" / "cassettes"
DEDICATED = PLUGINS / "hostkit-example-dedicated"


class ExampleFixtures(ProviderFixtures):
    provider_name = "example"
    credentials: ClassVar[dict[str, str]] = {"EXAMPLE_API_KEY": "ex-fake-compliance-key-000"}
    cassette_folder = CASSETTES
    spec_fields: ClassVar[dict[str, Any]] = {"model": "example-chat-8b"}
    invoke_params: ClassVar[dict[str, Any]] = {"max_tokens": 32}
    deployment_name = "example-chat-8b"
    unpriced_spec_fields: ClassVar[dict[str, Any]] = {"model": "example-chat-unpriced"}

    @pytest.fixture(autouse=True)
    def _plugin_installed(self, example_plugin: Path) -> None:
        """The plugin is pip-installed into a temp folder and put on the path."""

    def trigger(self, provider: Provider, deployment: Deployment, scenario: str) -> Any:
        if scenario == "error_404":  # the recorded 404 is an unknown model at deploy
            return provider.deploy({"model": "no-such-model", "name": "missing-model"})
        return super().trigger(provider, deployment, scenario)


class TestExamplePluginCompliance(ExampleFixtures, ProviderComplianceTests):
    pass


@pytest.fixture(scope="module")
def dedicated_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dedicated example plugin, built and installed by pip into a temp folder (once)."""
    from hostkit.testing.plugins import install_plugin

    return install_plugin(DEDICATED, tmp_path_factory.mktemp("dedicated") / "site")


class ExampleDedicatedFixtures(ProviderFixtures):
    provider_name = "example-dedicated"
    credentials: ClassVar[dict[str, str]] = {"EXAMPLE_GPU_API_KEY": "exg-fake-compliance-key-0000"}
    cassette_folder = DEDICATED / "cassettes"
    spec_fields: ClassVar[dict[str, Any]] = {
        "model": "example-org/chat-8b",
        "instance": "gpu-1x-l4",
    }
    failing_spec_fields: ClassVar[dict[str, Any]] = {
        "model": "example-org/chat-70b",
        "instance": "gpu-1x-l4",
    }
    invoke_params: ClassVar[dict[str, Any]] = {"max_tokens": 32}
    deployment_name = "example-dedicated-chat"

    @pytest.fixture(autouse=True)
    def _plugin_installed(self, dedicated_site: Path) -> Iterator[None]:
        from hostkit.testing.plugins import plugins_on_path

        with plugins_on_path(dedicated_site):
            yield


class TestExampleDedicatedCompliance(ExampleDedicatedFixtures, ProviderComplianceTests):
    pass
