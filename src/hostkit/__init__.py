"""hostkit: deploy, invoke, scale, tear down and price a model on any platform.

>>> from hostkit import deploy
>>> dep = deploy(provider="local", model="hostkit_examples.study_score:predict")
>>> dep.invoke({"hours": 6}).output
>>> dep.teardown()

Importing hostkit loads no provider SDK: providers are found through the
``hostkit.providers`` entry-point group and imported when first used.
"""

from hostkit import errors
from hostkit._api import ainvoke, cost, deploy, invoke, scale, stream, teardown
from hostkit._config import Config, load_config
from hostkit._events import OperationEvent, add_hook
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

__version__ = "0.1.0"

__all__ = [
    "Capabilities",
    "Config",
    "CostEstimate",
    "CostLine",
    "Deployment",
    "DeploymentSpec",
    "InvokeResult",
    "Offering",
    "OperationEvent",
    "Price",
    "Provider",
    "ProviderInfo",
    "Stream",
    "Usage",
    "__version__",
    "add_hook",
    "ainvoke",
    "available_providers",
    "cost",
    "deploy",
    "errors",
    "get_provider",
    "invoke",
    "load_config",
    "on_progress",
    "scale",
    "stream",
    "teardown",
]
