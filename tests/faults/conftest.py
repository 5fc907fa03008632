"""The fault suite: every probe of issue #13, reproduced with real processes and sockets.

Each test ends by proving it left nothing behind (``no_leftovers``, autouse): no process
whose environment names this test's state dir, no file of a local deployment's run
directory, and no loopback server the test started still listening.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from hostkit.testing.processes import wait_until_gone


@pytest.fixture(autouse=True)
def no_leftovers(isolated_hostkit: Path) -> Iterator[Path]:
    """Fail the test when a process or run-directory file of its state dir outlives it."""
    state = isolated_hostkit
    yield state
    left = wait_until_gone(str(state))
    for pid in left:  # clean up before failing, so one leak does not cascade
        try:
            os.killpg(pid, 9)
        except OSError:
            with contextlib.suppress(OSError):
                os.kill(pid, 9)
    assert not left, f"processes of this test still running: {left}"
    runs = state / "local" / "runs"
    leftover_files = sorted(p for p in runs.rglob("*")) if runs.exists() else []
    assert not leftover_files, f"run-directory files left behind: {leftover_files}"
