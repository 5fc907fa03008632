"""hostkit: deploy, invoke, scale, tear down and price a model on any platform.

>>> from hostkit import deploy
>>> dep = deploy(provider="local", model="hostkit_examples.study_score:predict")
>>> dep.invoke({"hours": 6}).output
>>> dep.teardown()

Importing hostkit loads no provider SDK: providers are found through the
``hostkit.providers`` entry-point group and imported when first used.
"""

from typing import TYPE_CHECKING, Any

from hostkit import errors
from hostkit._api import ainvoke, cost, deploy, invoke, logs, scale, stream, teardown
from hostkit._config import Config, load_config
from hostkit._events import OperationEvent, add_hook
from hostkit._logs import LogLine, Metrics
from hostkit._models import (
    Capabilities,
    CostEstimate,
    CostLine,
    Deployment,
    DeploymentSpec,
    InvokeResult,
    Offering,
    Price,
    Stream,
    Usage,
)
from hostkit._progress import listen as on_progress
from hostkit._provider import Provider
from hostkit._registry import ProviderInfo, available_providers, get_provider

if TYPE_CHECKING:
    from hostkit.costs import Workload, compare_costs
    from hostkit.inventory import list_deployments, teardown_all
    from hostkit.recommend import recommend

# imported on first use: cost comparison and the inventory are not on the path of an invoke
_LAZY = {
    "Workload": "hostkit.costs",
    "compare_costs": "hostkit.costs",
    "list_deployments": "hostkit.inventory",
    "teardown_all": "hostkit.inventory",
    "recommend": "hostkit.recommend",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hostkit' has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "Capabilities",
    "Config",
    "CostEstimate",
    "CostLine",
    "Deployment",
    "DeploymentSpec",
    "InvokeResult",
    "LogLine",
    "Metrics",
    "Offering",
    "OperationEvent",
    "Price",
    "Provider",
    "ProviderInfo",
    "Stream",
    "Usage",
    "Workload",
    "__version__",
    "add_hook",
    "ainvoke",
    "available_providers",
    "compare_costs",
    "cost",
    "deploy",
    "errors",
    "get_provider",
    "invoke",
    "list_deployments",
    "load_config",
    "logs",
    "on_progress",
    "recommend",
    "scale",
    "stream",
    "teardown",
    "teardown_all",
]
