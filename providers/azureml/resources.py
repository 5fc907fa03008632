"""Names, resource ids, request bodies and states of the Azure resources hostkit manages.

Everything here is derived from the hostkit deployment name alone, so that ``get``,
``teardown`` and the rollback of a half-made deploy find every resource again from any
process, with nothing but the name:

* the online endpoint ``endpoint_name(name)`` (Azure: 3-32 characters, a letter first,
  letters, digits and ``-``; unique in the region, since it is the scoring host name);
* its one deployment, always named ``hostkit``;
* the Azure Monitor autoscale setting ``hostkit-<endpoint>`` in the resource group.

The environment asset for a container image is shared and free (see containers.py).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

__all__ = [
    "AUTOSCALE_API_VERSION",
    "DEPLOYMENT",
    "TAG_FINGERPRINT",
    "TAG_KIND",
    "TAG_MODEL",
    "TAG_NAME",
    "ArmIds",
    "autoscale_body",
    "autoscale_name",
    "endpoint_name",
    "summarise",
]

#: the one deployment inside each endpoint hostkit creates
DEPLOYMENT = "hostkit"
AUTOSCALE_API_VERSION = "2022-10-01"
#: tags on the endpoint: who made it and from which spec
TAG_NAME = "hostkit-name"
TAG_FINGERPRINT = "hostkit-fingerprint"
TAG_MODEL = "hostkit-model"
TAG_KIND = "hostkit-kind"

_AZURE_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?\Z")
_MAX = 32


def endpoint_name(name: str) -> str:
    """The Azure endpoint name of a hostkit deployment (deterministic).

    A name Azure accepts is used as it is (lower-cased); any other is made into one
    and given a short hash of the original, so two hostkit names never share it.
    """
    lowered = name.lower()
    if 3 <= len(lowered) <= _MAX and _AZURE_NAME.match(lowered):
        return lowered
    slug = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]+", "-", lowered)).strip("-")
    if not slug or not slug[0].isalpha():
        slug = f"hk-{slug}".rstrip("-")
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    return f"{slug[: _MAX - 7].rstrip('-')}-{digest}"


def autoscale_name(endpoint: str) -> str:
    return f"hostkit-{endpoint}"


class ArmIds:
    """Azure Resource Manager ids in one workspace."""

    def __init__(self, subscription: str, resource_group: str, workspace: str) -> None:
        self.subscription = subscription
        self.resource_group = resource_group
        self.workspace = workspace

    @property
    def group(self) -> str:
        return f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"

    @property
    def workspace_id(self) -> str:
        provider = "providers/Microsoft.MachineLearningServices"
        return f"{self.group}/{provider}/workspaces/{self.workspace}"

    def deployment(self, endpoint: str) -> str:
        return f"{self.workspace_id}/onlineEndpoints/{endpoint}/deployments/{DEPLOYMENT}"

    def autoscale(self, endpoint: str) -> str:
        name = autoscale_name(endpoint)
        return f"{self.group}/providers/microsoft.insights/autoscalesettings/{name}"

    def environment(self, name: str, version: str) -> str:
        return f"{self.workspace_id}/environments/{name}/versions/{version}"

    def asset(self, reference: str, kind: str) -> str:
        """An ARM id (or registry asset id) for ``azureml:name:version`` style references.

        ``azureml://registries/...`` ids and full ARM ids pass through unchanged.
        """
        if reference.startswith(("azureml://", "/subscriptions/")):
            return reference
        name, _, version = reference.removeprefix("azureml:").partition(":")
        return f"{self.workspace_id}/{kind}/{name}/versions/{version}"


def summarise(
    endpoint: dict[str, Any] | None, deployment: dict[str, Any] | None
) -> tuple[str, str | None]:
    """hostkit's status (and a reason when failed) from the endpoint and its deployment.

    ``endpoint``/``deployment`` are the ARM resources as JSON (None: not found). The
    endpoint's ``provisioningState`` is Creating, Updating, Succeeded, Failed, Deleting
    or Canceled; the deployment's also Scaling.
    """
    if endpoint is None:
        return "deleted", None
    state = (endpoint.get("properties") or {}).get("provisioningState") or "Creating"
    if state == "Deleting":
        return "deleted", None
    if state in ("Failed", "Canceled"):
        return "failed", f"the endpoint's provisioning state is {state}"
    if deployment is None:
        if state == "Succeeded":
            return "failed", (
                f"the endpoint has no deployment named {DEPLOYMENT!r} (an earlier deploy"
                " stopped before creating it); deploy again to replace the endpoint"
            )
        return "deploying", None
    dep_state = (deployment.get("properties") or {}).get("provisioningState") or "Creating"
    if dep_state in ("Failed", "Canceled"):
        return "failed", f"the deployment's provisioning state is {dep_state}"
    if dep_state == "Deleting":
        return "deleted", None
    if dep_state == "Creating":
        return "deploying", None
    if dep_state in ("Updating", "Scaling") or state != "Succeeded":
        return "updating", None
    return "ready", None


def autoscale_body(
    *,
    name: str,
    location: str,
    target: str,
    minimum: int,
    maximum: int,
    default: int,
    hostkit_name: str,
) -> dict[str, Any]:
    """An Azure Monitor autoscale setting for a managed online deployment.

    The rules are Azure ML's documented example (azureml-examples cli/deploy-moe-autoscale.sh):
    one more instance when average CPU use over 5 minutes is above 70 %, one fewer below
    25 %, 5 minutes apart; hostkit owns the bounds, edit the rules in the portal if you like.
    """

    def rule(operator: str, threshold: int, direction: str) -> dict[str, Any]:
        return {
            "metricTrigger": {
                "metricName": "CpuUtilizationPercentage",
                "metricNamespace": (
                    "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments"
                ),
                "metricResourceUri": target,
                "timeGrain": "PT1M",
                "statistic": "Average",
                "timeWindow": "PT5M",
                "timeAggregation": "Average",
                "operator": operator,
                "threshold": threshold,
            },
            "scaleAction": {
                "direction": direction,
                "type": "ChangeCount",
                "value": "1",
                "cooldown": "PT5M",
            },
        }

    return {
        "location": location,
        "tags": {TAG_NAME: hostkit_name},
        "properties": {
            "name": name,
            "enabled": True,
            "targetResourceUri": target,
            "targetResourceLocation": location,
            "profiles": [
                {
                    "name": "hostkit",
                    "capacity": {
                        "minimum": str(minimum),
                        "maximum": str(maximum),
                        "default": str(default),
                    },
                    "rules": [
                        rule("GreaterThan", 70, "Increase"),
                        rule("LessThan", 25, "Decrease"),
                    ],
                }
            ],
            "notifications": [],
        },
    }
