"""Platform server logs and recent metrics of a deployment: the shared pieces.

A provider that can read its platform's server logs implements ``Provider._logs``
and yields :class:`LogLine` values; ``Provider.logs`` scrubs every registered secret
out of each line before the caller sees it. A provider whose platform reports
invocation counts or latency implements ``Provider.metrics`` and returns
:class:`Metrics`. The helpers here (timestamp parsing, ``since`` handling, a
follow loop for APIs that only return the latest lines) are for adapters.
"""

from __future__ import annotations

import datetime as _dt
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from hostkit._models import parse_duration
from hostkit._redact import scrub
from hostkit.errors import ConfigError

__all__ = [
    "LogLine",
    "Metrics",
    "after",
    "follow_snapshots",
    "lines_from_text",
    "parse_since",
    "parse_timestamp",
    "scrubbed",
]

#: how often ``follow=True`` asks the platform for new lines by default (seconds)
FOLLOW_INTERVAL = 2.0

_LEADING_TIME = re.compile(
    r"^\s*\[?(?P<ts>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?"
    r"(?:Z|[+-]\d{2}:?\d{2}| ?UTC)?)\]?\s*"
)


@dataclass(frozen=True)
class LogLine:
    """One line of a deployment's server log.

    ``timestamp`` is seconds since the epoch (None when the platform gives none),
    ``source`` the stream or container it came from, ``replica`` the replica/instance.
    """

    timestamp: float | None
    message: str
    source: str | None = None
    replica: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["time"] = self.iso_time
        return data

    @property
    def iso_time(self) -> str | None:
        """The timestamp as ISO 8601 UTC (None when unknown)."""
        if self.timestamp is None:
            return None
        moment = _dt.datetime.fromtimestamp(self.timestamp, tz=_dt.UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def __str__(self) -> str:
        where = "/".join(part for part in (self.source, self.replica) if part)
        parts = [self.iso_time or "-"] + ([f"[{where}]"] if where else []) + [self.message]
        return " ".join(parts)


@dataclass(frozen=True)
class Metrics:
    """Recent invocation figures the platform reports for a deployment.

    Covers the ``window_s`` seconds before ``end``; a field the platform does not
    report is None. ``latency_ms`` is the average model latency, ``source`` says where
    the figures come from. ``in_flight`` is not a window figure but the latest reading
    of requests being processed, per replica: replica id -> requests in flight (None
    when the platform does not report it per replica).
    """

    window_s: float
    end: float
    invocations: int | None = None
    errors: int | None = None
    latency_ms: float | None = None
    max_latency_ms: float | None = None
    source: str = ""
    in_flight: dict[str, int] | None = field(default=None, hash=False)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def scrubbed(lines: Iterable[LogLine]) -> Iterator[LogLine]:
    """``lines`` with every registered secret masked in each message."""
    for line in lines:
        cleaned = scrub(line.message)
        yield line if cleaned == line.message else replace(line, message=cleaned)


def parse_timestamp(text: str) -> float | None:
    """Epoch seconds of an ISO 8601 time (``Z``, an offset, or none meaning UTC)."""
    value = text.strip().replace(",", ".").replace(" UTC", "Z")
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        moment = _dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.UTC)
    return moment.timestamp()


def split_timestamp(text: str) -> tuple[float | None, str]:
    """A line's leading ISO 8601 time (if any) and the rest of the line."""
    match = _LEADING_TIME.match(text)
    if match:
        stamp = parse_timestamp(match.group("ts"))
        if stamp is not None:
            return stamp, text[match.end() :]
    return None, text


def lines_from_text(
    text: str, *, source: str | None = None, replica: str | None = None
) -> list[LogLine]:
    """Log lines from a plain-text log; a line without a time of its own takes the
    time of the line before it (a traceback continues its first line)."""
    lines: list[LogLine] = []
    last: float | None = None
    for raw in text.splitlines():
        if not raw.strip():
            continue
        stamp, message = split_timestamp(raw)
        if stamp is None:
            stamp, message = last, raw
        last = stamp
        lines.append(LogLine(stamp, message, source, replica))
    return lines


def parse_since(value: object, *, now: float | None = None) -> float | None:
    """Epoch seconds from ``since``: None, epoch seconds, a ``datetime``, an ISO time,
    or a duration ago such as ``"10m"``/``"2h"``."""
    if value is None:
        return None
    current = time.time() if now is None else now
    if isinstance(value, _dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=_dt.UTC)
        return moment.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 0:
            raise ConfigError(f"since: expected epoch seconds >= 0, got {value!r}")
        return float(value)
    if isinstance(value, str):
        stamp = parse_timestamp(value)
        if stamp is not None:
            return stamp
        try:
            return current - parse_duration(value, field_name="since")
        except ConfigError:
            pass
    raise ConfigError(
        "since: expected a duration ago such as '10m' or '2h', an ISO 8601 time such as"
        f" '2026-01-31T12:00:00Z', or epoch seconds; got {value!r}"
    )


def after(lines: Iterable[LogLine], since: float | None) -> Iterator[LogLine]:
    """The lines at or after ``since`` (lines without a time are kept)."""
    for line in lines:
        if since is None or line.timestamp is None or line.timestamp >= since:
            yield line


def follow_snapshots(
    fetch: Callable[[], list[LogLine]],
    *,
    since: float | None,
    follow: bool,
    sleep: Callable[[float], None],
    interval: float = FOLLOW_INTERVAL,
) -> Iterator[LogLine]:
    """Lines from an API that answers with the latest N lines each time.

    Yields the first answer (from ``since``); with ``follow`` asks again every
    ``interval`` seconds and yields only what is new: the lines after the longest
    overlap between the end of the previous answer and the start of the new one.
    """
    previous = fetch()
    yield from after(previous, since)
    while follow:
        sleep(interval)
        current = fetch()
        yield from current[_overlap(previous, current) :]
        previous = current


def _overlap(previous: list[LogLine], current: list[LogLine]) -> int:
    """How many leading lines of ``current`` the end of ``previous`` already held."""
    for size in range(min(len(previous), len(current)), 0, -1):
        if previous[-size:] == current[:size]:
            return size
    return 0
