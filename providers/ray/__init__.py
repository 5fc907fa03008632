"""The ``ray`` provider: Ray Serve applications on a Ray cluster (see provider.py).

Importing this package never imports Ray: the client speaks plain HTTP to the
dashboard's Serve REST API; only :mod:`hostkit_providers.ray.serve_app`, which runs
inside the cluster, needs ``ray[serve]``.
"""

from hostkit_providers.ray.provider import RayProvider

__all__ = ["RayProvider"]
