"""The ``paperspace`` provider: container deployments on Paperspace (DigitalOcean)."""

from .provider import PaperspaceProvider

__all__ = ["PaperspaceProvider"]
