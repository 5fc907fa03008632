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

__all__ = ["MASK", "Secret", "redact_mapping", "register_secret", "scrub"]

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


def get_logger(name: str = "hostkit") -> logging.Logger:
    """A logger under ``hostkit`` whose records have registered secrets masked."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger


get_logger("hostkit")  # records logged on the package logger itself are scrubbed too
