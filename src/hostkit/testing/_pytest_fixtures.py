"""The fixtures of :mod:`hostkit.testing.pytest_plugin`.

They live in their own module because that plugin registers this one from its
``pytest_configure``: pytest uses the fixture registered last, and registering
here, after every plugin loaded at start-up, makes hostkit's fixtures replace
pytest-recording's defaults whether the plugin came through ``-p``,
``pytest_plugins`` or an entry point.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hostkit.testing import _cassettes


@pytest.fixture
def vcr_config() -> dict[str, Any]:
    """hostkit's vcrpy configuration; the record mode is left to ``--record-mode``."""
    return _cassettes.vcr_config(record_mode=None)


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    """Cassettes live in ``cassettes/`` next to the test module."""
    return str(Path(request.node.path).parent / "cassettes")
