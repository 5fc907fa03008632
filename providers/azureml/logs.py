"""Server logs of an Azure ML managed online deployment.

``MLClient.online_deployments.get_logs(name, endpoint_name, lines)`` is ARM's
``POST .../onlineEndpoints/{ep}/deployments/hostkit/getLogs`` with ``{"tail": lines}``;
it answers ``{"content": "..."}``: the latest lines of the inference server container's
output. There is no ``since`` or cursor: ``since`` filters by each line's leading
time (TGI starts every line with an ISO 8601 time), and ``follow`` asks again every few
seconds and yields the lines after the overlap with the previous answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from hostkit._logs import LogLine, follow_snapshots, lines_from_text
from hostkit._models import Deployment

from .resources import DEPLOYMENT, endpoint_name

if TYPE_CHECKING:
    from .provider import AzureMLProvider

__all__ = ["FOLLOW_INTERVAL", "TAIL", "read_logs"]

#: lines asked for each time (the portal's and the az CLI's default is the whole log)
TAIL = 1000
FOLLOW_INTERVAL = 5.0


def read_logs(
    provider: AzureMLProvider, deployment: Deployment, *, since: float | None, follow: bool
) -> Iterator[LogLine]:
    endpoint = str(deployment.raw.get("endpoint_name") or endpoint_name(deployment.name))

    def fetch() -> list[LogLine]:
        text = provider.call(
            lambda: provider.ml.online_deployments.get_logs(DEPLOYMENT, endpoint, TAIL)
        )
        return lines_from_text(str(text or ""), source="inference-server")

    return follow_snapshots(
        fetch, since=since, follow=follow, sleep=provider.sleep, interval=FOLLOW_INTERVAL
    )
