"""Container logs of a Hugging Face Inference Endpoint.

``GET https://api.endpoints.huggingface.cloud/v2/endpoint/{namespace}/{name}/logs``
(the Endpoints API's ``getEndpointLogs`` operation) answers ``200 text/plain`` with
the endpoint's latest container log lines, or ``404`` with ``{"error": ...}`` for an
endpoint that does not exist. huggingface_hub has no method for it, so the request goes
through the same pooled client, token and ``hf_raise_for_status`` as the rest of the
Endpoints half. The route has no ``since`` or cursor: ``since`` filters by each line's
leading time (TGI and vLLM start every line with an ISO 8601 time), and ``follow`` asks
again every few seconds and yields the lines after the overlap with the previous answer.
Container logs exist only while the endpoint runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from hostkit._logs import LogLine, follow_snapshots, lines_from_text
from hostkit._models import Deployment

if TYPE_CHECKING:
    from .endpoints import EndpointsClient

__all__ = ["FOLLOW_INTERVAL", "read_logs"]

FOLLOW_INTERVAL = 5.0


def read_logs(
    endpoints: EndpointsClient, deployment: Deployment, *, since: float | None, follow: bool
) -> Iterator[LogLine]:
    url = endpoints._url(endpoints.namespace(), deployment.name, "logs")

    def fetch() -> list[LogLine]:
        from huggingface_hub.utils._http import hf_raise_for_status

        headers = {**endpoints.auth(), "accept": "text/plain"}

        def attempt() -> str:
            response = endpoints.client.request("GET", url, headers=headers)
            hf_raise_for_status(response)
            return str(response.text)

        return lines_from_text(endpoints.host.call(attempt), source="container")

    return follow_snapshots(
        fetch,
        since=since,
        follow=follow,
        sleep=endpoints.host.sleep,
        interval=FOLLOW_INTERVAL,
    )
