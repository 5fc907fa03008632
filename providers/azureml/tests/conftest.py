"""Test fixtures of the azureml provider: a stand-in Azure credential.

Azure AD is never reached in tests: every provider built in this folder gets
:class:`FakeTokenCredential` instead of azure-identity's DefaultAzureCredential. Its
token comes from ``HOSTKIT_TEST_AZURE_TOKEN`` (the compliance kit sets that variable,
and checks the value never leaks), so a test can also see what happens without one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

TOKEN_VARIABLE = "HOSTKIT_TEST_AZURE_TOKEN"


class FakeTokenCredential:
    """An azure-core TokenCredential that hands out a fixed bearer token."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken
        from azure.core.exceptions import ClientAuthenticationError

        self.scopes.append(scopes)
        token = os.environ.get(TOKEN_VARIABLE)
        if not token:
            raise ClientAuthenticationError(
                "DefaultAzureCredential failed to retrieve a token from the included credentials."
            )
        return AccessToken(token, int(time.time()) + 3600)


@pytest.fixture(autouse=True)
def fake_azure_credential(monkeypatch: pytest.MonkeyPatch) -> None:
    """Providers built in these tests use FakeTokenCredential, never a real sign-in."""
    from hostkit_providers.azureml import AzureMLProvider

    monkeypatch.setattr(AzureMLProvider, "new_credential", lambda self: FakeTokenCredential())
    monkeypatch.setenv(TOKEN_VARIABLE, os.environ.get(TOKEN_VARIABLE) or "eyJ0eXAi.fake.token")


#: the workspace the logs and metrics cassettes of this folder were recorded against
WORKSPACE = {
    "subscription_id": "6f1c2b7e-3a4d-4e5f-9b8a-2c1d0e9f8a7b",
    "resource_group": "hostkit-rg",
    "workspace": "hostkit-ws",
    "region": "eastus",
}


@pytest.fixture
def workspace_provider() -> Iterator[Any]:
    """An AzureMLProvider on that workspace that never sleeps between polls or retries."""
    from hostkit_providers.azureml import AzureMLProvider

    made = AzureMLProvider(**WORKSPACE)
    made.sleep = lambda seconds: None
    made.retry.sleep = lambda seconds: None
    yield made
    made.close()
