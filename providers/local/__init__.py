"""The ``local`` provider: serve a model on this machine (see provider.py)."""

from hostkit_providers.local.provider import LocalProvider

__all__ = ["LocalProvider"]
