"""The Paperspace deployment configuration hostkit submits, and the server's key.

A Paperspace deployment is a container spec (``POST /deployments``, an upsert; the
``v1`` shape of the API's ``mutation.deployments.upsert``: ``image``, ``command``,
``env[{name, value}]``, ``enabled``, ``region``, ``resources{machineType, replicas,
ports[], autoscaling{enabled, maxReplicas, metrics[]}}``, ``healthChecks``). For a
Hugging Face model id hostkit runs vLLM's OpenAI-compatible image; with ``image`` it
runs yours. hostkit's own bookkeeping rides in the container's environment, which the
platform keeps and returns: ``HOSTKIT_MODEL``, ``HOSTKIT_FINGERPRINT`` (the spec's
fingerprint), ``HOSTKIT_SERVER``, ``HOSTKIT_INVOKE_PATH`` and ``HOSTKIT_AUTH`` (where
the key lives). The key itself (``VLLM_API_KEY`` / ``HOSTKIT_API_KEY``) is derived from
the Paperspace API key and the deployment name, so hostkit never stores it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from hostkit.adapters import derive_server_key as _derive

__all__ = [
    "DEFAULT_METRICS",
    "KEY_VARIABLES",
    "VLLM_IMAGE",
    "build_config",
    "derive_server_key",
    "env_of",
    "is_vllm_image",
]

#: vLLM's OpenAI-compatible server image, pinned (vllm 0.33.0 is the release of 2026-11)
VLLM_IMAGE = "vllm/vllm-openai:v0.33.0"
#: the variables that hold the server key (never shown, never saved by hostkit)
KEY_VARIABLES = ("VLLM_API_KEY", "HOSTKIT_API_KEY")
#: the autoscaler's default target: average CPU use of the replicas, in percent
DEFAULT_METRICS: list[dict[str, Any]] = [{"metric": "cpu", "summary": "average", "value": 60}]
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")


def is_vllm_image(image: str | None) -> bool:
    """Whether ``image`` is vLLM's OpenAI server (None: hostkit's pinned one)."""
    return image is None or image.split(":", 1)[0].split("@", 1)[0] == "vllm/vllm-openai"


def derive_server_key(paperspace_api_key: str, deployment: str) -> str:
    """The key the server checks, re-derivable from the Paperspace key and the name.

    Shaped like an OpenAI key (``sk-…``) so hostkit's recording scrubbers mask it.
    """
    return _derive(paperspace_api_key, "paperspace", deployment)


def env_of(config: Mapping[str, Any]) -> dict[str, str]:
    """A config's ``env`` list as a mapping."""
    return {
        str(item.get("name")): str(item.get("value"))
        for item in config.get("env") or []
        if isinstance(item, Mapping)
    }


def build_config(
    *,
    name: str,
    model: str,
    machine_type: str,
    key: str,
    fingerprint: str,
    auth: str,
    image: str | None = None,
    port: int = 8000,
    replicas: int = 1,
    max_replicas: int | None = None,
    metrics: Sequence[Mapping[str, Any]] | None = None,
    region: str | None = None,
    env: Mapping[str, str] | None = None,
    server_args: Sequence[str] = (),
    health_path: str = "/health",
    invoke_path: str = "/invocations",
    container_registry: str | None = None,
) -> dict[str, Any]:
    """The ``config`` of ``POST /deployments`` for one hostkit deployment."""
    vllm = is_vllm_image(image)
    variables: list[tuple[str, str]] = [(variable, key) for variable in KEY_VARIABLES]
    variables += [
        ("HOSTKIT_MODEL", model),
        ("HOSTKIT_FINGERPRINT", fingerprint),
        ("HOSTKIT_SERVER", "vllm" if vllm else "custom"),
        ("HOSTKIT_AUTH", auth),
        ("PORT", str(port)),
    ]
    if not vllm:
        variables.append(("HOSTKIT_INVOKE_PATH", invoke_path))
    for variable, value in (env or {}).items():
        if not _ENV_NAME.match(variable):
            raise ValueError(f"env: {variable!r} is not a valid environment variable name")
        variables.append((variable, value))
    config: dict[str, Any] = {
        "apiVersion": "v1",
        "name": name,
        "image": image or VLLM_IMAGE,
        "enabled": True,
        "env": [{"name": variable, "value": value} for variable, value in variables],
    }
    if vllm:
        config["command"] = [
            "vllm",
            "serve",
            model,
            "--host",
            "0.0.0.0",
            "--port",
            str(port),
            "--enable-request-id-headers",
            *server_args,
        ]
    elif server_args:
        config["command"] = list(server_args)
    if region:
        config["region"] = region
    if container_registry:
        config["containerRegistry"] = container_registry
    resources: dict[str, Any] = {"machineType": machine_type, "replicas": replicas, "ports": [port]}
    if max_replicas is not None:
        resources["autoscaling"] = {
            "enabled": True,
            "maxReplicas": max_replicas,
            "metrics": [dict(m) for m in (metrics or DEFAULT_METRICS)],
        }
    config["resources"] = resources
    probe = {"path": health_path, "port": port, "periodSeconds": 10, "timeoutSeconds": 5}
    config["healthChecks"] = {
        # model weights take minutes to download and load: 30 min before giving up
        "startup": {**probe, "failureThreshold": 180},
        "readiness": {**probe, "failureThreshold": 3},
        "liveness": {**probe, "failureThreshold": 6},
    }
    return config
