"""Offline Application Default Credentials for the vertex tests.

The adapter asks ``google.auth.default()`` for credentials. Here that function behaves
like the real one without a network: with ``GOOGLE_APPLICATION_CREDENTIALS`` set it
returns anonymous credentials (which send no ``Authorization`` header, so cassettes
replay), without it it raises google-auth's own ``DefaultCredentialsError``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def fake_adc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import google.auth
    from google.auth import exceptions
    from google.auth.credentials import AnonymousCredentials

    def default(scopes: Any = None, **kwargs: Any) -> tuple[Any, str | None]:
        if os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
            return AnonymousCredentials(), None
        raise exceptions.DefaultCredentialsError(
            "Your default credentials were not found. To set up Application Default"
            " Credentials, see https://cloud.google.com/docs/authentication/external/set-up-adc"
            " for more information."
        )

    monkeypatch.setattr(google.auth, "default", default)
    yield
