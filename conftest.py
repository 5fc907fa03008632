"""Shared test isolation: every test gets its own state dir and no stray config."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

#: vcr_config / vcr_cassette_dir fixtures for recorded-HTTP tests (pytest-recording)
pytest_plugins = ["hostkit.testing.pytest_plugin", "pytester"]


EXAMPLE_PLUGIN = Path(__file__).parent / "tests" / "plugins" / "hostkit-example-plugin"


@pytest.fixture(scope="session")
def example_plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The third-party example plugin, built and installed by pip into a temp folder (once)."""
    from hostkit.testing.plugins import install_plugin

    return install_plugin(EXAMPLE_PLUGIN, tmp_path_factory.mktemp("plugin") / "site")


@pytest.fixture
def example_plugin(example_plugin_site: Path) -> Iterator[Path]:
    """The example plugin visible to hostkit's registry for the test."""
    from hostkit.testing.plugins import plugins_on_path

    with plugins_on_path(example_plugin_site):
        yield example_plugin_site


@pytest.fixture(autouse=True)
def isolated_hostkit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point hostkit's state dir at a temp folder and run from an empty working dir."""
    state = tmp_path / "hostkit-state"
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("HOSTKIT_STATE_DIR", str(state))
    monkeypatch.setenv("HOSTKIT_CACHE_DIR", str(tmp_path / "hostkit-cache"))  # live prices
    monkeypatch.delenv("HOSTKIT_PRICES_TTL_HOURS", raising=False)
    monkeypatch.delenv("HOSTKIT_CONFIG", raising=False)
    monkeypatch.chdir(work)
    from hostkit import _api

    _api._instances.clear()
    yield state
    _api._instances.clear()


# -- real deployments on the local provider, shared by the tests that drive them ---------
FAKE_LLM_SERVER = Path(__file__).parent / "examples" / "fake_openai_server.py"
SCORES_MODEL = "hostkit_examples.study_score:predict"


@pytest.fixture
def local() -> Iterator[Any]:
    """The ``local`` provider; whatever a test deployed on it is torn down afterwards."""
    import hostkit

    provider = hostkit.get_provider("local")
    yield provider
    for name in provider.records.names():
        provider.teardown(name)


@pytest.fixture
def scores(local: Any) -> Any:
    """A scikit-style Python model served by ``local`` (the quickstart's example)."""
    import hostkit

    return hostkit.deploy(provider="local", model=SCORES_MODEL, name="scores")


@pytest.fixture
def llm(local: Any) -> Any:
    """An OpenAI-compatible chat server (fake_openai_server.py) deployed on ``local``."""
    import sys

    import hostkit

    command = [sys.executable, str(FAKE_LLM_SERVER), "--port", "{port}"]
    return hostkit.deploy(
        provider="local", model="fake-llm", name="llm", options={"command": command}
    )
