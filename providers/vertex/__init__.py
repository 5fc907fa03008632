"""The ``vertex`` provider: dedicated Google Vertex AI endpoints (see provider.py)."""

from .provider import VertexProvider

__all__ = ["VertexProvider"]
