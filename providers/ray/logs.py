"""Replica logs of a hostkit application, through the dashboard's log API.

For each replica that ``GET /api/serve/applications/`` lists, ``GET /api/v0/logs/file``
reads Serve's replica log (``node_id`` + ``filename`` = the replica's
``log_file_path``) and the replica actor's stdout and stderr (``actor_id`` +
``suffix=out|err``: what the model prints, an LLM server's output, tracebacks).
``follow`` reads them again every :data:`FOLLOW_INTERVAL` seconds and yields the lines
not seen yet (a replica that starts later is picked up).
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from hostkit._logs import LogLine
from hostkit.errors import HostkitError, NotFound

if TYPE_CHECKING:
    from hostkit_providers.ray.provider import RayProvider

__all__ = ["FOLLOW_INTERVAL", "parse_line", "replica_logs"]

FOLLOW_INTERVAL = 2.0
LOG_PATH = "/api/v0/logs/file"
MAX_LINES = 5000
#: lines Ray writes into worker out/err files to mark whose output follows
RAY_MARKERS = (":job_id:", ":actor_name:", ":task_name:", ":task_attempt_number:")
#: Serve's format: ``INFO 2026-12-07 12:17:48,123 app_Deployment replica -- message``
_SERVE_LINE = re.compile(r"^[A-Z]+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) ")


def parse_line(text: str) -> float | None:
    """Epoch seconds of a Serve log line (its time is the node's local time), else None."""
    match = _SERVE_LINE.match(text)
    if not match:
        return None
    moment = _dt.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S")
    return moment.timestamp() + int(match.group(2)) / 1000


def _sources(provider: RayProvider, name: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(replica id, source label, query) for every log of every replica of ``name``."""
    app = (provider.details().get("applications") or {}).get(name)
    if app is None:
        raise NotFound(f"no deployment named {name!r} on ray", provider=provider.name)
    from hostkit_providers.ray.provider import _model_deployment

    deployment = _model_deployment(app)  # HostkitModel, or Ray Serve LLM's LLMServer:<id>
    replicas = ((app.get("deployments") or {}).get(deployment) or {}).get("replicas") or []
    found = []
    for replica in replicas:
        rid = str(replica.get("replica_id") or replica.get("actor_id") or "?")
        path = str(replica.get("log_file_path") or "").lstrip("/")
        if path and replica.get("node_id"):
            query = {"node_id": replica["node_id"], "filename": path}
            found.append((rid, "serve", query))
        if replica.get("actor_id"):
            for suffix in ("out", "err"):
                found.append((rid, suffix, {"actor_id": replica["actor_id"], "suffix": suffix}))
    return found


def _read(provider: RayProvider, query: dict[str, Any]) -> list[str]:
    try:
        response = provider.dashboard.request(
            "GET", LOG_PATH, params={**query, "lines": MAX_LINES, "filter_ansi_code": "true"}
        )
    except HostkitError:
        return []  # a replica that is gone, or a file not written yet
    return response.text.splitlines()


def replica_logs(
    provider: RayProvider, name: str, *, since: float | None, follow: bool
) -> Iterator[LogLine]:
    """Every replica's log lines from ``since`` on (see module docs)."""
    seen: dict[tuple[str, str], int] = {}
    while True:
        for replica, source, query in _sources(provider, name):
            lines = _read(provider, query)
            start = seen.get((replica, source), 0)
            seen[(replica, source)] = len(lines)
            last: float | None = None
            for text in lines[start:]:
                if text.startswith(RAY_MARKERS):
                    continue
                stamp = parse_line(text)
                last = stamp if stamp is not None else last
                if since is not None and (last is None or last < since):
                    continue
                yield LogLine(timestamp=last, message=text, source=source, replica=replica)
        if not follow:
            return
        provider.sleep(FOLLOW_INTERVAL)
