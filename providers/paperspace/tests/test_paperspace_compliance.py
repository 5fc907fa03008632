"""The paperspace provider through the compliance kit, against recorded Paperspace API and
deployment-endpoint exchanges (cassettes/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from hostkit import Deployment, Provider
from hostkit.testing.compliance import ProviderComplianceTests, ProviderFixtures

CASSETTES = Path(__file__).parent / "cassettes"
FAKE_KEY = "2f8b6c1e9d4a7b3c5e0f1a2d8c6b4e97"


class PaperspaceFixtures(ProviderFixtures):
    provider_name = "paperspace"
    credentials: ClassVar[dict[str, str]] = {"PAPERSPACE_API_KEY": FAKE_KEY}
    settings: ClassVar[dict[str, Any]] = {"project_id": "pr7ylf3ez"}
    cassette_folder = CASSETTES
    spec_fields: ClassVar[dict[str, Any]] = {
        "model": "Qwen/Qwen2.5-0.5B-Instruct",
        "instance": "A4000",
    }
    #: a 70B model cannot load on a 16 GB A4000: its replica keeps crashing
    failing_spec_fields: ClassVar[dict[str, Any]] = {
        "model": "meta-llama/Llama-3.1-70B-Instruct",
        "instance": "A4000",
    }

    def trigger(self, provider: Provider, deployment: Deployment, scenario: str) -> Any:
        """Rate limits and outages are the Paperspace API's (one look-up by name each);
        401 and 404 come from the deployment's server on invoke."""
        if scenario in ("error_429_then_ok", "error_429_exhausted", "error_5xx"):
            return provider.get(deployment.name)
        return super().trigger(provider, deployment, scenario)


class TestPaperspaceCompliance(PaperspaceFixtures, ProviderComplianceTests):
    pass
