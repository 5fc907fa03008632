"""What ``hostkit ls`` sees of ``huggingface``.

* The router half's "deployments" are hostkit's records (nothing runs on the platform).
* With the ``namespace`` setting, the Inference Endpoints of that namespace that carry
  hostkit's ``hostkit-fp-<fingerprint>`` tag (every endpoint hostkit creates has it) are
  listed from the Endpoints API (``GET /v2/endpoint/{namespace}``), so an endpoint made
  from another machine shows up; ``status.createdAt`` is its creation time.

Only the configured namespace is listed: hostkit addresses an endpoint through that
setting, so listing (and ``teardown --all`` deleting) another namespace's endpoints
would act on the wrong ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hostkit._models import Deployment
from hostkit._provider import Provider
from hostkit.errors import ProviderError

from .endpoints import FINGERPRINT_TAG

if TYPE_CHECKING:
    from .provider import HuggingFaceProvider


def _ours(raw: Any) -> bool:
    tags = raw.get("tags") if isinstance(raw, dict) else None
    return any(isinstance(t, str) and t.startswith(FINGERPRINT_TAG) for t in tags or [])


def list_endpoints(provider: HuggingFaceProvider) -> list[Deployment]:
    """The hostkit-tagged Inference Endpoints of the ``namespace`` setting."""
    endpoints = provider.endpoints
    url = endpoints._url(endpoints.namespace())
    answer = endpoints._send("GET", url)
    items = answer.get("items") if isinstance(answer, dict) else None
    if not isinstance(items, list):
        raise ProviderError(
            f"unexpected answer from {url}: {str(answer)[:200]}", provider="huggingface"
        )
    found = []
    for raw in items:
        if not _ours(raw):
            continue
        deployment = endpoints.deployment(endpoints._endpoint(raw, url))
        if created := (raw.get("status") or {}).get("createdAt"):
            deployment.raw["created_at"] = str(created)
        found.append(deployment)
    return found


def list_all(provider: HuggingFaceProvider) -> list[Deployment]:
    """The records (router models, and endpoints looked up by name), then the namespace's
    tagged endpoints, which replace a record of the same name."""
    found = {d.name: d for d in Provider.list_deployments(provider)}
    if provider.setting("namespace"):
        found.update((d.name, d) for d in list_endpoints(provider) if d.status != "deleted")
    return list(found.values())
