"""A real single-node Ray head on loopback, started once for the tests that use it.

The head (see :mod:`hostkit_providers.ray.local_head`) runs in a session of its own;
the fixture ends every process of that session by pid at the end, whatever happens,
and fails if any is left. ``ray stop`` is never used: it kills every Ray process of
the user. This folder is on the cluster's PYTHONPATH (ray_test_apps.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hostkit_providers.ray.local_head import RayHead, start_head, stop_head

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def ray_head() -> Iterator[RayHead]:
    """One head for the module that uses it (test_ray.py), stopped when that module is done
    rather than at the end of the whole run, so its idle daemons do not slow later tests."""
    pytest.importorskip(
        "ray.serve", reason='the ray extra is not installed (pip install "hostkit-ml[ray]")'
    )
    head = start_head(cpus=2, pythonpath=(str(HERE),))
    try:
        yield head
    finally:
        left = stop_head(head)
        assert not left, f"Ray processes left after the test session: {left}"
