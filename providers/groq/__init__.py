"""The ``groq`` provider: GroqCloud's serverless chat models (see provider.py)."""

from hostkit_providers.groq.provider import GroqProvider

__all__ = ["GroqProvider"]
