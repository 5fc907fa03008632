"""Progress messages from long waits, shown by whoever listens (the CLI does).

Library code calls :func:`report`; it costs nothing when no one listens. The CLI
(or a user) installs a listener with :func:`listen`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from hostkit._redact import get_logger

__all__ = ["listen", "report"]

Listener = Callable[[str], None]
_listener: ContextVar[Listener | None] = ContextVar("hostkit_progress", default=None)
log = get_logger("hostkit.progress")


def report(message: str) -> None:
    """Tell the current listener (if any) and the debug log about progress."""
    log.debug("%s", message)
    listener = _listener.get()
    if listener is not None:
        listener(message)


@contextmanager
def listen(listener: Listener) -> Iterator[None]:
    """Send progress messages to ``listener`` inside the block."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)
