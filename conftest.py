"""Shared test isolation: every test gets its own state dir and no stray config."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

#: vcr_config / vcr_cassette_dir fixtures for recorded-HTTP tests (pytest-recording)
pytest_plugins = ["hostkit.testing.pytest_plugin"]


@pytest.fixture(autouse=True)
def isolated_hostkit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point hostkit's state dir at a temp folder and run from an empty working dir."""
    state = tmp_path / "hostkit-state"
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("HOSTKIT_STATE_DIR", str(state))
    monkeypatch.delenv("HOSTKIT_CONFIG", raising=False)
    monkeypatch.chdir(work)
    from hostkit import _api

    _api._instances.clear()
    yield state
    _api._instances.clear()
