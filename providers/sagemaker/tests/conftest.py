"""Every sagemaker test runs with fake AWS credentials and no AWS files of the machine's user."""

from __future__ import annotations

import os

import pytest

#: fake credentials the tests sign with (AWS never sees them: cassettes or moto answer)
FAKE_ACCESS_KEY = "AKIAFAKEHOSTKIT01"
FAKE_SECRET_KEY = "hostkit-fake-secret-access-key-0000000000"


@pytest.fixture(autouse=True)
def isolated_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ~/.aws files, no instance metadata, no inherited profile, region or keys."""
    for variable in list(os.environ):
        if variable.startswith("AWS_"):
            monkeypatch.delenv(variable)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
