"""The ``replicate`` provider: Replicate's hosted models (see provider.py).

``predictions.py`` is the serverless part (a spec without ``instance``); Replicate
deployments (dedicated hardware, a spec with ``instance``) will sit beside it.
"""

from .provider import ReplicateProvider

__all__ = ["ReplicateProvider"]
