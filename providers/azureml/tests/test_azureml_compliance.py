"""The azureml provider through the compliance kit, against its recorded cassettes."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from hostkit.testing.compliance import ProviderComplianceTests, ProviderFixtures

SETTINGS = {
    "subscription_id": "6f1c2b7e-3a4d-4e5f-9b8a-2c1d0e9f8a7b",
    "resource_group": "hostkit-rg",
    "workspace": "hostkit-ws",
    "region": "eastus",
}


class AzureMLFixtures(ProviderFixtures):
    provider_name = "azureml"
    #: the Azure AD token the stand-in credential hands out (conftest.py); the kit checks
    #: that it never shows up in reprs, errors, logs or saved records
    credentials: ClassVar[dict[str, str]] = {
        "HOSTKIT_TEST_AZURE_TOKEN": "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.hostkit-compliance-fake"
    }
    settings: ClassVar[dict[str, Any]] = SETTINGS
    cassette_folder = Path(__file__).parent / "cassettes"
    spec_fields: ClassVar[dict[str, Any]] = {
        "model": "meta-llama/Llama-3.1-8B-Instruct",
        "instance": "Standard_NC24ads_A100_v4",
    }
    #: a 70B model does not fit one A100 80GB: the container crashes while loading
    failing_spec_fields: ClassVar[dict[str, Any]] = {
        "model": "meta-llama/Llama-3.1-70B-Instruct",
        "instance": "Standard_NC24ads_A100_v4",
    }


class TestAzureMLCompliance(AzureMLFixtures, ProviderComplianceTests):
    pass
