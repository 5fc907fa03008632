"""Keeping secrets out of reprs, logs, errors and saved state.

Three tools, used everywhere a value could leak:

* :class:`Secret` wraps a credential; its ``repr``/``str`` never show the value.
* :func:`register_secret` remembers a live credential so that :func:`scrub`
  (called by every ``HostkitError`` and by the ``hostkit`` log filter) can mask
  it wherever it turns up in text.
* :func:`redact_mapping` masks values under secret-looking keys before a mapping
  is shown or saved.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "LIBRARY_LOGGERS",
    "MASK",
    "Secret",
    "protect_library_loggers",
    "redact_mapping",
    "register_secret",
    "scrub",
    "scrub_exception",
]

MASK = "***"
_SECRET_KEY = re.compile(
    r"(api[_-]?key|token$|secret|password|passwd|authorization|credential|signature|"
    r"private[_-]?key|access[_-]?key|session[_-]?key|^key$|x-api-key|cookie)",
    re.IGNORECASE,
)
_known: set[str] = set()


def is_secret_key(key: str) -> bool:
    """Whether a setting, header or env name usually holds a secret."""
    return bool(_SECRET_KEY.search(key))


def register_secret(value: str | None) -> None:
    """Remember a credential so that :func:`scrub` masks it in any text."""
    if value and len(value) >= 6:
        _known.add(value)


def scrub(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``.

    Longest first: a secret that contains a shorter one is masked whole, never left
    half-shown around the shorter one's mask.
    """
    for value in sorted(_known, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    return text


class ScrubbedException(Exception):
    """Stands in a chain for an exception whose text showed a secret it would not let go of.

    Most exceptions show their ``args``, which :func:`scrub_exception` masks in place;
    one that builds its text otherwise is replaced by this, named after it.
    """

    def __init__(self, original: BaseException) -> None:
        name = f"{type(original).__module__}.{type(original).__qualname__}"
        super().__init__(f"{name}: {scrub(str(original))}")
        self.__traceback__ = original.__traceback__


def _text(error: BaseException) -> str:
    try:
        return str(error) + "".join(map(str, getattr(error, "__notes__", None) or ()))
    except Exception:  # a broken __str__ shows nothing; the traceback module says so
        return ""


def _scrub_one(error: BaseException) -> bool:
    """Mask secrets in ``error``'s args and notes; False if its text still shows one."""
    try:
        error.args = tuple(scrub(a) if isinstance(a, str) else a for a in error.args)
        notes = getattr(error, "__notes__", None)
        if isinstance(notes, list):
            notes[:] = [scrub(n) if isinstance(n, str) else n for n in notes]
    except (AttributeError, TypeError):  # an exception type that keeps its args read-only
        pass
    text = _text(error)
    return scrub(text) == text


def scrub_exception(error: BaseException | None) -> None:
    """Mask registered secrets in ``error`` and every exception chained to it, in place.

    ``__cause__`` and ``__context__`` are followed (cycles included); a chained
    exception whose text still shows a secret is swapped for a :class:`ScrubbedException`.
    """
    if error is None or not _known:
        return
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        _scrub_one(current)
        for link in ("__cause__", "__context__"):
            chained = getattr(current, link)
            if chained is None:
                continue
            if not _scrub_one(chained):
                chained = ScrubbedException(chained)
                suppress = current.__suppress_context__
                setattr(current, link, chained)
                current.__suppress_context__ = suppress
            pending.append(chained)


def redact_mapping(data: Any) -> Any:
    """A deep copy of ``data`` with values under secret-looking keys masked."""
    if isinstance(data, Mapping):
        return {
            k: (MASK if isinstance(k, str) and is_secret_key(k) and v else redact_mapping(v))
            for k, v in data.items()
        }
    if isinstance(data, list | tuple):
        return [redact_mapping(v) for v in data]
    if isinstance(data, str):
        return scrub(data)
    return data


class Secret:
    """A credential that never shows itself; ``get()`` returns the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        register_secret(value)

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled or saved")


class RedactingFilter(logging.Filter):
    """Masks registered secrets in every record that reaches the ``hostkit`` logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _known:
            message = record.getMessage()
            cleaned = scrub(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
            if record.exc_info and not record.exc_text:
                record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        return True


_FILTER = RedactingFilter()
#: the loggers of the HTTP stacks and SDKs under the adapters: at DEBUG they show
#: response headers and bodies, where a server may echo a key back
LIBRARY_LOGGERS = (
    "httpx",
    "httpcore",
    "h2",
    "hpack",
    "groq",
    "cerebras",
    "openai",
    "replicate",
    "huggingface_hub",
    "botocore",
    "boto3",
    "urllib3",
    "azure",
    "google",
)


def get_logger(name: str = "hostkit") -> logging.Logger:
    """A logger under ``hostkit`` whose records have registered secrets masked."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger


_loggers_seen = -1


def protect_library_loggers(prefixes: tuple[str, ...] = LIBRARY_LOGGERS) -> None:
    """Put the redacting filter on every logger of these libraries that exists now.

    A logger's filters see only the records logged on it, not those its children
    pass up, so each existing logger under a prefix gets the filter. Clients call
    this after they are built, when their libraries have created their loggers, and the
    retry policy before every platform call (a length check when nothing is new).
    """
    global _loggers_seen
    loggers = logging.Logger.manager.loggerDict
    if prefixes is LIBRARY_LOGGERS:
        if len(loggers) == _loggers_seen:  # no logger created since the last look: cheap
            return
        _loggers_seen = len(loggers)
    for name, logger in list(loggers.items()):
        if not isinstance(logger, logging.Logger):
            continue
        if name.split(".", 1)[0] in prefixes and _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


get_logger("hostkit")  # records logged on the package logger itself are scrubbed too
