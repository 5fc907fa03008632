"""The vertex provider through the compliance kit, against its recorded cassettes.

Credentials come from ``google.auth.default()``, faked offline by the ``fake_adc`` fixture
(conftest.py): anonymous credentials while GOOGLE_APPLICATION_CREDENTIALS is set,
google-auth's DefaultCredentialsError once the kit removes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from hostkit.testing.compliance import ProviderComplianceTests, ProviderFixtures

FAKE_KEY_FILE = "/var/run/hostkit-tests/vertex-service-account-FAKE.json"


class VertexFixtures(ProviderFixtures):
    provider_name = "vertex"
    credentials: ClassVar[dict[str, str]] = {"GOOGLE_APPLICATION_CREDENTIALS": FAKE_KEY_FILE}
    settings: ClassVar[dict[str, Any]] = {"project": "hostkit-demo", "location": "us-central1"}
    cassette_folder = Path(__file__).parent / "cassettes"
    spec_fields: ClassVar[dict[str, Any]] = {
        "model": "meta-llama/Llama-3.1-8B-Instruct",
        "instance": "a3-highgpu-1g",
        "env": {"HF_TOKEN": "hf_hostkitComplianceFake00"},
    }
    # Llama 3.3 70B does not fit one 24 GB L4: the model server never becomes ready
    failing_spec_fields: ClassVar[dict[str, Any]] = {
        "model": "meta-llama/Llama-3.3-70B-Instruct",
        "instance": "g2-standard-12",
        "env": {"HF_TOKEN": "hf_hostkitComplianceFake00"},
    }
    invoke_params: ClassVar[dict[str, Any]] = {"max_tokens": 32}

    @pytest.fixture(autouse=True)
    def _adc(self, fake_adc: None) -> None:
        """Application Default Credentials, faked offline (see the module docstring)."""


class TestVertexCompliance(VertexFixtures, ProviderComplianceTests):
    pass
