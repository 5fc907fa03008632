"""The sagemaker provider through the compliance kit, against its recorded cassettes."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from hostkit.testing.compliance import ProviderComplianceTests, ProviderFixtures

FAKE_ACCESS_KEY = "AKIAFAKEHOSTKIT01"
FAKE_SECRET_KEY = "hostkit-fake-secret-access-key-0000000000"


class SageMakerFixtures(ProviderFixtures):
    provider_name = "sagemaker"
    # the AWS default chain reads these; nothing else of the machine's AWS set-up is used
    credentials: ClassVar[dict[str, str]] = {
        "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_KEY,
    }
    settings: ClassVar[dict[str, Any]] = {
        "region": "us-east-1",
        "role_arn": "arn:aws:iam::111122223333:role/hostkit-sagemaker-execution",
    }
    cassette_folder = Path(__file__).parent / "cassettes"
    spec_fields: ClassVar[dict[str, Any]] = {
        "model": "meta-llama/Llama-3.1-8B-Instruct",
        "instance": "ml.g5.2xlarge",
        "env": {"HF_TOKEN": "hf_hostkitFakeCompliance00"},
    }
    # Llama-3.1-70B does not fit one A10G: the container fails its health check
    failing_spec_fields: ClassVar[dict[str, Any] | None] = {
        "model": "meta-llama/Llama-3.1-70B-Instruct",
        "instance": "ml.g5.2xlarge",
    }


class TestSageMakerCompliance(SageMakerFixtures, ProviderComplianceTests):
    pass
