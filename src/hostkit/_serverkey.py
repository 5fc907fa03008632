"""Keys for model servers hostkit starts itself (vLLM on a rented machine, a container).

The key is derived from the platform's API key and the deployment name, so any process
with the same credentials can re-derive it and nothing secret is saved; or it is read
from an environment variable the user names (``server_key_env``), and only the
variable's name is recorded. Keys are shaped like OpenAI keys (``sk-...``) so the
recording scrubbers mask them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import TYPE_CHECKING

from hostkit._redact import Secret
from hostkit.errors import AuthenticationError

if TYPE_CHECKING:
    from hostkit._provider import Provider

__all__ = ["ServerKeys", "derive_server_key"]


def derive_server_key(platform_key: str, provider: str, deployment: str) -> str:
    """The server key of ``deployment`` on ``provider``, re-derivable from the platform key."""
    message = f"hostkit/{provider}/server-key/{deployment}".encode()
    digest = hmac.new(platform_key.encode(), message, hashlib.sha256).hexdigest()
    return f"sk-hk-{digest[:48]}"


class ServerKeys:
    """The server keys of one provider instance (cached as Secrets, never saved)."""

    def __init__(self, provider: Provider) -> None:
        self._provider = provider
        self._keys: dict[tuple[str, str], Secret] = {}

    def reference(self) -> str:
        """What a deployment records about its key: ``env:VAR`` or ``derived``."""
        variable = self._provider.setting("server_key_env")
        return f"env:{variable}" if variable else "derived"

    def get(self, name: str, auth: str = "derived") -> str:
        """The key deployment ``name``'s server checks, from its recorded reference."""
        cache = (name, auth)
        if cache not in self._keys:
            if auth.startswith("env:"):
                variable = auth[4:]
                value = os.environ.get(variable)
                if not value:
                    raise AuthenticationError(
                        f"{name}: its server key is read from ${variable}, which is not set",
                        provider=self._provider.name,
                    )
            else:
                platform_key = str(self._provider.api_key())
                value = derive_server_key(platform_key, self._provider.name, name)
            self._keys[cache] = Secret(value)
        return self._keys[cache].get()
