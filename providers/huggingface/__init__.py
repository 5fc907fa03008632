"""The ``huggingface`` provider: Hugging Face Inference Providers (see provider.py)."""

from .provider import HuggingFaceProvider

__all__ = ["HuggingFaceProvider"]
