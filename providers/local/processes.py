"""Which processes belong to a local deployment.

A process is identified by its pid *and* its start time, recorded when it starts (the
provider writes the supervisor's right after starting it; each worker writes its own
pid file). A pid alone is not enough: once the process exits the number is reused, and
the reused process may have an empty environment or one the user cannot read.

On Linux the start time is field 22 of ``/proc/<pid>/stat`` (clock ticks since boot).
Without ``/proc`` (macOS) it is ``ps -o lstart``, to the second: a pid reused within
the same second is taken for the original there. :func:`processes_with_env` (finding a
deployment's processes when its files are gone) needs ``/proc`` and finds none elsewhere.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from pathlib import Path

__all__ = [
    "group_members",
    "is_running",
    "pid_record",
    "processes_with_env",
    "read_pid_file",
    "start_time",
    "write_pid_file",
]

HAVE_PROC = Path("/proc/self/stat").exists()


def _stat_fields(pid: int) -> list[str] | None:
    """``/proc/<pid>/stat`` from field 3 (state) on: the command name may hold spaces."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    return text.rpartition(")")[2].split()


def _ps(pid: int) -> tuple[str, str] | None:
    """(state, start) from ``ps`` where there is no ``/proc``."""
    try:
        out = subprocess.run(
            ["ps", "-o", "stat=,lstart=", "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    state, _, start = out.partition(" ")
    return (state, " ".join(start.split())) if start else None


def _identity(pid: int) -> tuple[str, str] | None:
    """(state, start time) of a live or zombie process, None when there is none."""
    if pid <= 0:
        return None
    if not HAVE_PROC:
        return _ps(pid)
    fields = _stat_fields(pid)
    if not fields or len(fields) < 20:
        return None
    return fields[0], fields[19]


def start_time(pid: int) -> str | None:
    """When process ``pid`` started (an opaque string to compare), None if it is gone."""
    found = _identity(pid)
    return found[1] if found else None


def is_running(pid: int | None, start: str | None) -> bool:
    """Whether ``pid`` is the very process that started at ``start`` and has not exited."""
    if not pid or not start:
        return False
    found = _identity(pid)
    return found is not None and found[1] == str(start) and not found[0].startswith("Z")


def pid_record(pid: int) -> dict[str, object]:
    """The JSON a pid file holds: ``{"pid": ..., "start": ...}``."""
    return {"pid": pid, "start": start_time(pid)}


def write_pid_file(path: Path, pid: int) -> None:
    """Write ``path`` (mode 0600) naming ``pid`` and its start time, atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(pid_record(pid)))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def read_pid_file(path: Path) -> tuple[int, str | None] | None:
    """(pid, start) from a pid file; start is None for a bare number (unverifiable)."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, ValueError):
        return None
    if text.isdigit():
        return int(text), None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    pid, start = data.get("pid"), data.get("start")
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return None
    return pid, (str(start) if start is not None else None)


def processes_with_env(key: str, value: str) -> dict[int, str]:
    """Live processes (pid -> start) whose environment holds exactly ``key=value``.

    Only a positive match counts: an empty or unreadable environment is never taken
    for ours. Needs ``/proc``; elsewhere the answer is empty.
    """
    if not HAVE_PROC:
        return {}
    needle = f"\0{key}={value}\0".encode()
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if needle not in b"\0" + (entry / "environ").read_bytes():
                continue
            identity = _identity(int(entry.name))
            if identity is not None and not identity[0].startswith("Z"):
                found[int(entry.name)] = identity[1]
    return found


def group_members(pgid: int) -> list[int]:
    """Live processes in process group ``pgid`` (needs ``/proc``; elsewhere empty)."""
    if not HAVE_PROC:
        return []
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields and len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
                members.append(int(entry.name))
    return members
