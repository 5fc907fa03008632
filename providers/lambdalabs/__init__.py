"""The ``lambdalabs`` provider: GPU instances on Lambda Cloud running a model server."""

from .provider import LambdaLabsProvider

__all__ = ["LambdaLabsProvider"]
