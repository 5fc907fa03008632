"""Server logs of a local deployment: written with a time on every line, read and tailed.

The supervisor (``server.py``) sends its own output and its workers' (they inherit its
stdout/stderr) through a pipe, and the user's LLM server's output through another;
a thread per pipe writes each line to ``RUN_DIR/server.log`` or ``RUN_DIR/upstream.log``
behind a UTC ISO 8601 time. :func:`read_logs` reads both files back as
:class:`~hostkit._logs.LogLine` values (source ``server`` or ``upstream``) and, when
following, tails them until the deployment's run directory is gone.
"""

from __future__ import annotations

import datetime as _dt
import heapq
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from hostkit._logs import LogLine, after, lines_from_text, split_timestamp

__all__ = ["LOG_FILES", "pump_lines", "read_logs", "stamp_output"]

#: log file in the run directory -> the LogLine source it stands for
LOG_FILES = {"server.log": "server", "upstream.log": "upstream"}
FOLLOW_INTERVAL = 0.25


def _now() -> bytes:
    moment = _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")
    return moment.replace("+00:00", "Z").encode()


def pump_lines(source: BinaryIO, sink: BinaryIO) -> threading.Thread:
    """Copy ``source`` to ``sink`` line by line, each behind the time it arrived."""

    def pump() -> None:
        with source, sink:
            for line in iter(source.readline, b""):
                sink.write(_now() + b" " + line)
                sink.flush()

    thread = threading.Thread(target=pump, name="hostkit-log-pump", daemon=True)
    thread.start()
    return thread


def stamp_output() -> Callable[[], None]:
    """Route this process's stdout and stderr (and its children's) through
    :func:`pump_lines` into what stdout was; returns a function that flushes and stops."""
    sys.stdout.flush()
    sys.stderr.flush()
    target = os.fdopen(os.dup(1), "wb", buffering=0)
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 1)
    os.dup2(write_fd, 2)
    os.close(write_fd)
    thread = pump_lines(os.fdopen(read_fd, "rb"), target)

    def stop() -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)  # the pipe's last writer goes away: the pump sees the end
        os.dup2(devnull, 2)
        os.close(devnull)
        thread.join(timeout=2.0)

    return stop


def _read(path: Path, source: str) -> tuple[list[LogLine], int]:
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return [], 0
    end = data.rfind(b"\n") + 1  # a line still being written waits for its newline
    text = data[:end].decode("utf-8", errors="replace")
    return lines_from_text(text, source=source), end


def read_logs(
    run_dir: Path,
    *,
    since: float | None = None,
    follow: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    interval: float = FOLLOW_INTERVAL,
) -> Iterator[LogLine]:
    """The deployment's log lines in time order; with ``follow``, new ones as they come."""
    offsets: dict[str, int] = {}
    batches = []
    for name, source in LOG_FILES.items():
        lines, offsets[name] = _read(run_dir / name, source)
        batches.append(lines)
    yield from after(heapq.merge(*batches, key=lambda line: line.timestamp or 0.0), since)
    while follow and run_dir.is_dir():
        sleep(interval)
        for name, source in LOG_FILES.items():
            yield from _tail(run_dir / name, source, offsets, name)


def _tail(path: Path, source: str, offsets: dict[str, int], name: str) -> Iterator[LogLine]:
    try:
        with path.open("rb") as handle:
            handle.seek(offsets.get(name, 0))
            data = handle.read()
    except (FileNotFoundError, NotADirectoryError):
        return
    end = data.rfind(b"\n") + 1
    if not end:
        return
    offsets[name] = offsets.get(name, 0) + end
    last: float | None = None
    for raw in data[:end].decode("utf-8", errors="replace").splitlines():
        if raw.strip():
            stamp, message = split_timestamp(raw)
            stamp, message = (stamp, message) if stamp is not None else (last, raw)
            last = stamp
            yield LogLine(stamp, message, source)
