"""Progress messages from long waits, shown by whoever listens (the CLI does).

Library code calls :func:`report`; it costs nothing when no one listens. The CLI
(or a user) installs a listener with :func:`listen`.

A wait (``Provider.wait``) calls :func:`waiting` on every poll. When the phase changes,
every listener gets the message (an :class:`Update`, which is a ``str``:
``"name: deploying (0s)"``); in between, only listeners with a true ``ticks`` attribute
get the ticking updates (elapsed time and the last log line), and :func:`done` ends the
wait. :class:`ProgressLine` is such a listener: on a terminal it redraws one line in
place, elsewhere (a file, a pipe) it writes a plain line when the phase changes and
every ``every`` seconds, never a ``\\r``. :class:`Bar` does the same for a count.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TextIO

from hostkit._redact import get_logger

__all__ = [
    "Bar",
    "ProgressLine",
    "Update",
    "done",
    "is_terminal",
    "listen",
    "report",
    "show_on",
    "waiting",
    "wants_ticks",
]

Listener = Callable[[str], None]
_listener: ContextVar[Listener | None] = ContextVar("hostkit_progress", default=None)
log = get_logger("hostkit.progress")

#: plain-line progress (not a terminal) is written at most this often while nothing changes
EVERY_S = 10.0


class Update(str):
    """The state of a wait that is still going, as text: ``name: phase (12s) · detail``.

    ``key`` names the wait (the deployment), ``changed`` is true when ``phase`` is new,
    ``final`` marks the end of the wait (:func:`done`).
    """

    key: str
    phase: str
    elapsed: float
    detail: str | None
    changed: bool
    final: bool

    def __new__(
        cls,
        key: str,
        phase: str,
        elapsed: float,
        detail: str | None = None,
        *,
        changed: bool = False,
        final: bool = False,
    ) -> Update:
        text = f"{key}: {phase} ({elapsed:.0f}s)"
        self = super().__new__(cls, text + (f" · {detail}" if detail else ""))
        self.key, self.phase, self.elapsed, self.detail = key, phase, elapsed, detail
        self.changed, self.final = changed, final
        return self


def report(message: str) -> None:
    """Tell the current listener (if any) and the debug log about progress."""
    log.debug("%s", message)
    listener = _listener.get()
    if listener is not None:
        listener(message)


def waiting(
    key: str, phase: str, elapsed: float, detail: str | None = None, *, changed: bool
) -> None:
    """One poll of a wait: everyone hears a new phase; ticking listeners hear every poll."""
    if changed:
        report(Update(key, phase, elapsed, None, changed=True))
    listener = _listener.get()
    if listener is not None and getattr(listener, "ticks", False):
        listener(Update(key, phase, elapsed, detail))


def wants_ticks() -> bool:
    """True when the current listener shows a wait's every poll (worth a detail)."""
    return bool(getattr(_listener.get(), "ticks", False))


def done(key: str, phase: str, elapsed: float) -> None:
    """The wait called ``key`` is over (ready, failed or given up): ticking listeners only."""
    listener = _listener.get()
    if listener is not None and getattr(listener, "ticks", False):
        listener(Update(key, phase, elapsed, final=True))


@contextmanager
def listen(listener: Listener) -> Iterator[None]:
    """Send progress messages to ``listener`` inside the block."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


def is_terminal(stream: TextIO) -> bool:
    """True when ``stream`` is an interactive terminal (where ``\\r`` redraws a line)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real file
        return False


def _width(stream: TextIO) -> int:
    return max(20, shutil.get_terminal_size().columns - 1) if is_terminal(stream) else 200


def _fit(text: str, width: int) -> str:
    text = " ".join(text.split())  # one line: no newlines or tabs from a log line
    return text if len(text) <= width else text[: width - 1] + "…"


class ProgressLine:
    """A progress listener writing to ``stream`` (default: stderr) as ``  … message``.

    Plain messages are written as lines. A wait's :class:`Update` is redrawn in place
    on a terminal; elsewhere a line is written when the phase changes and every
    ``every`` seconds (a file never gets a ``\\r``).
    """

    ticks = True

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        terminal: bool | None = None,
        every: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.terminal = is_terminal(self.stream) if terminal is None else terminal
        self.every = EVERY_S if every is None else every
        self.clock = clock
        self._live = 0  # length of the line drawn in place, 0: none
        self._written: dict[str, float] = {}

    def __call__(self, message: str) -> None:
        if isinstance(message, Update):
            self._update(message)
        else:
            self._end_live()
            self._write(f"  … {message}\n")

    def _update(self, update: Update) -> None:
        if update.final:
            self._end_live()
            self._written.pop(update.key, None)
        elif self.terminal:
            if update.changed:
                return  # the tick that follows redraws the line
            text = "  … " + _fit(update, _width(self.stream) - 4)
            self._write("\r" + text.ljust(self._live))
            self._live = len(text)
        else:
            now = self.clock()
            last = self._written.get(update.key)
            if update.changed or last is None or now - last >= self.every:
                self._written[update.key] = now
                self._write("  … " + _fit(update, _width(self.stream) - 4) + "\n")

    def _end_live(self) -> None:
        if self._live:
            self._write("\n")
            self._live = 0

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def close(self) -> None:
        """End a line left drawn in place."""
        self._end_live()


@contextmanager
def show_on(stream: TextIO | None = None) -> Iterator[ProgressLine]:
    """Show progress on ``stream`` (default stderr) with a :class:`ProgressLine` in the block."""
    line = ProgressLine(stream)
    try:
        with listen(line):
            yield line
    finally:
        line.close()


class Bar:
    """``label [####....] done/total extra`` on ``stream`` (default stderr).

    On a terminal it is redrawn in place (at most ten times a second); elsewhere a plain
    line is written every ``every`` seconds and at the end, never a ``\\r``.
    """

    def __init__(
        self,
        label: str,
        stream: TextIO | None = None,
        *,
        terminal: bool | None = None,
        every: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.terminal = is_terminal(self.stream) if terminal is None else terminal
        self.every = EVERY_S if every is None else every
        self.clock = clock
        self._drawn: float | None = None

    def __call__(self, done: int, total: int, extra: str = "") -> None:
        now = self.clock()
        finished = done >= total
        pause = 0.1 if self.terminal else self.every
        if not finished and self._drawn is not None and now - self._drawn < pause:
            return
        self._drawn = now
        width = 30
        filled = width * min(done, total) // max(total, 1)
        text = f"  {self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
        text += f"  {extra}" if extra else ""
        if self.terminal:
            self.stream.write("\r" + text + (" \n" if finished else " "))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
