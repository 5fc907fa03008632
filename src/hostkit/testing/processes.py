"""Find processes a test left running: the leak check of hostkit's fault tests (Linux /proc).

A process counts when its environment or command line contains a marker, such as the
test's own ``HOSTKIT_STATE_DIR`` path, which every process hostkit starts inherits.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["processes_mentioning", "wait_until_gone"]


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
