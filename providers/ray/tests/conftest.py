"""A real single-node Ray head on loopback, shared by every test of this folder that uses it.

The head (see :mod:`hostkit_providers.ray.local_head`) runs in a session of its own;
it is started by the first test that asks for ``ray_head`` and stopped right after the
last test of this folder (test_ray.py, test_ray_compliance.py, test_ray_metrics.py share
it: starting a head costs 20-40 s), so its idle daemons do not slow the tests of other
folders. Stopping ends every process of that session by pid, whatever happens (a
session-scoped finalizer is the backstop for a run that ends early), and fails the test
it follows if any is left. ``ray stop`` is never used: it kills every Ray process of the
user. This folder is on the cluster's PYTHONPATH (ray_test_apps.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hostkit_providers.ray.local_head import RayHead, start_head, stop_head

HERE = Path(__file__).parent
#: the running head, if one was started (at most one)
_HEADS: list[RayHead] = []


def _shared_head() -> RayHead:
    if not _HEADS:
        _HEADS.append(start_head(cpus=2, pythonpath=(str(HERE),)))
    return _HEADS[0]


def _stop_shared_head() -> None:
    """Stop the head if it runs; fail if any of its processes is left."""
    if not _HEADS:
        return
    left = stop_head(_HEADS.pop())
    assert not left, f"Ray processes left after the Ray tests: {left}"


@pytest.fixture(scope="session")
def _ray_head_backstop() -> Iterator[None]:
    """Stops the head at the end of the run if the per-folder stop did not (an early end)."""
    try:
        yield
    finally:
        _stop_shared_head()


@pytest.fixture
def ray_head(_ray_head_backstop: None) -> RayHead:
    """The shared head (started by the first test that asks for it)."""
    pytest.importorskip(
        "ray.serve", reason='the ray extra is not installed (pip install "hostkit-ml[ray]")'
    )
    return _shared_head()


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """After the last test of this folder (once its own fixtures are torn down, so live
    deployments are gone), stop the head."""
    if nextitem is None or HERE not in Path(nextitem.path).parents:
        _stop_shared_head()
