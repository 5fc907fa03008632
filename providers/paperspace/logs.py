"""Server logs of a Paperspace deployment.

``GET /deployments/{id}/logs`` (the API's ``query.deploymentLogs.list``, "List app logs";
``Paperspace/cli api/openapi.ts``) pages through the container output of every replica:
query ``after`` (the cursor), ``limit``, ``orderBy=dtCreated``, ``order=asc|desc`` and
``instanceId``; answer ``{hasMore, nextPage, items[{id, jobId, line, message, uuid?,
dtCreated, instanceId?}]}``. There is no time filter, so hostkit reads newest first:
the latest :data:`TAIL` lines, or with ``since`` back to the first line before it, and
yields them oldest first. ``follow`` asks again every few seconds and yields the items
whose ids it has not seen, stopping each time at the first page that holds a seen one.

Before reading, the deployment's configuration is fetched once (``GET /deployments/{id}``,
which also turns a deleted deployment into NotFound): the values of its secret-looking
environment variables (the server key, ``HF_TOKEN``, ...) are registered, so a container
that prints them shows ``***`` instead.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hostkit._logs import LogLine, after, parse_timestamp
from hostkit._models import Deployment
from hostkit._redact import is_secret_key, register_secret
from hostkit.errors import NotFound

from .config import env_of

if TYPE_CHECKING:
    from .provider import PaperspaceProvider

__all__ = ["FOLLOW_INTERVAL", "MAX_LINES", "PAGE_SIZE", "TAIL", "read_logs"]

#: items asked for per page
PAGE_SIZE = 100
#: lines shown without ``since`` (the latest ones)
TAIL = 1000
#: at most this many lines are read back to ``since``
MAX_LINES = 20_000
FOLLOW_INTERVAL = 5.0
#: how many item ids ``follow`` remembers to skip repeats
_REMEMBER = 20_000


def _line(item: Mapping[str, Any]) -> LogLine:
    stamp = parse_timestamp(str(item.get("dtCreated") or ""))
    instance = item.get("instanceId")
    return LogLine(
        timestamp=stamp,
        message=str(item.get("message") or "").rstrip("\r\n"),
        replica=str(instance) if instance else None,
    )


def _configuration(provider: PaperspaceProvider, deployment: Deployment) -> dict[str, Any]:
    """The platform's record of the deployment (by id, else by name) or NotFound."""
    ident = deployment.raw.get("id")
    gone = NotFound(
        f"no deployment named {deployment.name!r} on {provider.name}: it was deleted or"
        " never deployed in this project",
        provider=provider.name,
    )
    if not ident:
        item = provider._lookup(deployment.name)
        if item is None:
            raise gone
        return item
    try:
        return dict(provider._api_call("GET", f"/deployments/{ident}"))
    except NotFound as error:
        raise gone from error


def _register_secrets(item: Mapping[str, Any]) -> None:
    """Mask the values of the container's secret-looking variables from now on."""
    data = (item.get("latestSpec") or {}).get("data") or {}
    for variable, value in env_of(data).items():
        if is_secret_key(variable):
            register_secret(value)


def _newest_first(
    provider: PaperspaceProvider, ident: str, stop: Any
) -> Iterator[Mapping[str, Any]]:
    """Log items newest first, page after page, until ``stop(item)`` or the end."""
    params = {"orderBy": "dtCreated", "order": "desc", "limit": str(PAGE_SIZE)}
    while True:
        page = provider._api_call("GET", f"/deployments/{ident}/logs", params=params) or {}
        for item in page.get("items") or []:
            if stop(item):
                return
            yield item
        cursor = page.get("nextPage")
        if not page.get("hasMore") or not cursor:
            return
        params = {**params, "after": str(cursor)}


def read_logs(
    provider: PaperspaceProvider,
    deployment: Deployment,
    *,
    since: float | None,
    follow: bool,
    interval: float = FOLLOW_INTERVAL,
) -> Iterator[LogLine]:
    item = _configuration(provider, deployment)
    _register_secrets(item)
    ident = str(item["id"])
    seen: deque[str] = deque(maxlen=_REMEMBER)
    known: set[str] = set()

    def remember(items: list[Mapping[str, Any]]) -> None:
        for entry in items:
            key = str(entry.get("id"))
            if len(seen) == seen.maxlen:
                known.discard(seen[0])
            seen.append(key)
            known.add(key)

    def too_old(entry: Mapping[str, Any]) -> bool:
        stamp = parse_timestamp(str(entry.get("dtCreated") or ""))
        return since is not None and stamp is not None and stamp < since

    limit = TAIL if since is None else MAX_LINES
    first: list[Mapping[str, Any]] = []
    for entry in _newest_first(provider, ident, too_old):
        first.append(entry)
        if len(first) >= limit:
            break
    first.reverse()
    remember(first)
    yield from after((_line(entry) for entry in first), since)
    while follow:
        provider.sleep(interval)
        fresh = list(
            _newest_first(provider, ident, lambda e: str(e.get("id")) in known or too_old(e))
        )
        fresh.reverse()
        remember(fresh)
        yield from (_line(entry) for entry in fresh)
