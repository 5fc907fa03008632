"""pytest plugin: hostkit's cassette settings for pytest-recording's ``@pytest.mark.vcr``.

Enable it in the top-level ``conftest.py``::

    pytest_plugins = ["hostkit.testing.pytest_plugin"]

(or pass ``-p hostkit.testing.pytest_plugin``). It provides two fixtures (defined
in :mod:`hostkit.testing._pytest_fixtures`, and replacing pytest-recording's):

* ``vcr_config``: :func:`hostkit.testing.vcr_config` (strict replay, matching on
  method, scheme, host, port, path, query and body; secrets scrubbed);
* ``vcr_cassette_dir``: the ``cassettes/`` folder next to the test file.

A test names its cassette by operation and scenario::

    @pytest.mark.vcr
    @pytest.mark.default_cassette("invoke.yaml")
    def test_invoke(): ...

Outside the marker, ``with hostkit.testing.cassette(path): ...`` does the same.

Replaying (the default, ``--record-mode=none``): a request that is not in the
cassette fails the test, and nothing reaches the network.

Recording, with real credentials in the environment (``GROQ_API_KEY`` ...):
``pytest --record-mode=once tests/test_x.py::test_invoke`` records cassettes that
do not exist yet (delete the old file first), and ``--record-mode=rewrite``
replaces existing ones. The flag also applies to ``cassette()``. Keys, bearer
tokens, signatures and AWS account ids are masked before a cassette is written,
and so is every credential hostkit looked up during the run; still read the diff
before committing, and restore hand-written comment headers, which re-recording
drops.
"""

from __future__ import annotations

import pytest

from hostkit.testing import _cassettes, _pytest_fixtures

FIXTURES_PLUGIN = "hostkit-cassette-fixtures"


def pytest_configure(config: pytest.Config) -> None:
    # the fixtures are registered now, after pytest-recording, so that they win
    if not config.pluginmanager.has_plugin(FIXTURES_PLUGIN):
        config.pluginmanager.register(_pytest_fixtures, FIXTURES_PLUGIN)
    # pytest-recording's ``--record-mode`` also drives ``hostkit.testing.cassette()``
    mode = config.getoption("--record-mode", default=None)
    _cassettes.set_default_record_mode(mode if isinstance(mode, str) else None)
    if mode not in (None, "none"):
        _cassettes.check_vcr_can_record()


def pytest_unconfigure(config: pytest.Config) -> None:
    _cassettes.set_default_record_mode(None)
