"""The ``azureml`` provider: Azure Machine Learning managed online endpoints (see provider.py).

``containers.py`` says what runs in a deployment for each kind of model, ``resources.py``
names every Azure resource from the hostkit deployment name, ``_errors.py`` maps Azure's
errors to hostkit's. The SDKs (azure-ai-ml, azure-identity) are imported at first use.
"""

from .provider import AzureMLProvider

__all__ = ["AzureMLProvider"]
