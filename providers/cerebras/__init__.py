"""The ``cerebras`` provider: Cerebras Inference on the official SDK (see provider.py)."""

from .provider import CerebrasProvider

__all__ = ["CerebrasProvider"]
