"""The ``replicate`` provider: Replicate's hosted models (see provider.py).

``predictions.py`` is the serverless part (a spec without ``instance``);
``deployments.py`` is the dedicated part (Replicate deployments, a spec with ``instance``).
"""

from .provider import ReplicateProvider

__all__ = ["ReplicateProvider"]
