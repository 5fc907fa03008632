"""The local provider through the compliance kit, live: its fixtures are its real processes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import ClassVar

from hostkit.testing.compliance import ProviderComplianceTests, ProviderFixtures

FAKE_SERVER = Path(__file__).parents[3] / "examples" / "fake_openai_server.py"
NO_HTTP_ERRORS = "the local server has no accounts, rate limits or upstream platform"


class LocalFixtures(ProviderFixtures):
    provider_name = "local"
    cassette_folder = None  # live
    spec_fields: ClassVar[dict[str, object]] = {
        "model": "fake-llm",
        "options": {"command": [sys.executable, str(FAKE_SERVER), "--port", "{port}"]},
    }
    failing_spec_fields: ClassVar[dict[str, object]] = {"model": "no_such_module_xyz:predict"}
    invoke_request = "hello compliance kit"
    not_applicable: ClassVar[dict[str, str]] = {
        "error_401": NO_HTTP_ERRORS,
        "error_404": NO_HTTP_ERRORS,
        "error_429_then_ok": NO_HTTP_ERRORS,
        "error_429_exhausted": NO_HTTP_ERRORS,
        "error_5xx": NO_HTTP_ERRORS,
    }


class TestLocalCompliance(LocalFixtures, ProviderComplianceTests):
    pass
