"""The ``sagemaker`` provider: Amazon SageMaker AI real-time endpoints (see provider.py)."""

from .provider import SageMakerProvider

__all__ = ["SageMakerProvider"]
