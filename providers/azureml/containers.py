"""What runs inside an Azure ML deployment for each kind of ``model`` (pure data, no SDK).

* A Hugging Face Hub id (``meta-llama/Llama-3.1-8B-Instruct``) runs in the Hugging Face
  Text Generation Inference (TGI) container, configured by environment variables
  (``MODEL_ID``, ``NUM_SHARD``; ``HF_TOKEN`` when the spec's ``env`` gives one). TGI
  serves the OpenAI chat-completions API, so invoke speaks chat to it. Azure ML runs it
  as a *custom container*: an environment asset whose ``inferenceConfig`` names the
  liveness, readiness and scoring routes; the scoring route is TGI's
  ``/v1/chat/completions``, so a POST to the endpoint's scoring URI is a chat call.
* An ``azureml:`` model (a model registered in the workspace, or a registry model such
  as ``azureml://registries/azureml/models/<name>/versions/<n>``) runs in the
  environment ``options.environment`` names, in a container built from ``image``, or in
  the model's own environment (MLflow and curated registry models bring one). Invoke
  sends the raw payload to the scoring URI.

Sources: TGI's Dockerfile (``ENV PORT=80``, entrypoint ``text-generation-launcher``,
whose flags are also read from upper-case environment variables) and its Messages API
docs; Azure ML "custom container" docs (``inference_config`` with ``liveness_route``,
``readiness_route``, ``scoring_route``) and the managed online deployment YAML schema
(``request_settings``, ``liveness_probe``, ``readiness_probe``).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "LLM_IMAGE",
    "RAW_ROUTES",
    "Container",
    "is_azureml_model",
    "is_hub_model",
]

#: the LLM serving container for Hugging Face Hub models (TGI, OpenAI-compatible)
LLM_IMAGE = "ghcr.io/huggingface/text-generation-inference:3.3.4"
#: TGI's port and routes (its image sets PORT=80)
LLM_ROUTES = {"port": 80, "health_path": "/health", "scoring_path": "/v1/chat/completions"}
#: the Azure ML inference HTTP server's port and routes: the default for custom images
RAW_ROUTES = {"port": 5001, "health_path": "/", "scoring_path": "/score"}
#: model loading can take many minutes: probes start failing only after this
LLM_STARTUP_SECONDS = 1800
RAW_STARTUP_SECONDS = 600
#: the environment asset hostkit registers for a container image (one version per image)
ENVIRONMENT_NAME = "hostkit-serving"

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?\Z")


def is_hub_model(model: str) -> bool:
    """Whether ``model`` looks like a Hugging Face Hub id (``org/name`` or ``name``)."""
    return bool(_HUB_ID.match(model)) and "--" not in model


def is_azureml_model(model: str) -> bool:
    return model.startswith("azureml:")


@dataclass(frozen=True)
class Container:
    """The serving container of one deployment: image, routes and probe timing."""

    image: str | None
    port: int
    health_path: str
    scoring_path: str
    startup_seconds: int
    env: dict[str, str] = field(default_factory=dict)

    def inference_config(self) -> dict[str, Any]:
        """``Environment(inference_config=...)``: the routes Azure ML probes and forwards to."""
        return {
            "liveness_route": {"port": self.port, "path": self.health_path},
            "readiness_route": {"port": self.port, "path": self.health_path},
            "scoring_route": {"port": self.port, "path": self.scoring_path},
        }

    def environment_version(self) -> str:
        """A version derived from the image and routes: the same container, the same asset."""
        identity = json.dumps([self.image, self.inference_config()], sort_keys=True)
        return hashlib.sha256(identity.encode()).hexdigest()[:12]


def llm_container(
    model: str, image: str | None, gpus: int | None, options: dict[str, Any]
) -> Container:
    """TGI (or the LLM server ``image`` names) configured for the Hub model ``model``."""
    env = {"MODEL_ID": model}
    if gpus and gpus > 1:
        env["NUM_SHARD"] = str(gpus)
    return Container(
        image=image or LLM_IMAGE,
        port=int(options.get("port", LLM_ROUTES["port"])),
        health_path=str(options.get("health_path", LLM_ROUTES["health_path"])),
        scoring_path=str(options.get("scoring_path", LLM_ROUTES["scoring_path"])),
        startup_seconds=int(options.get("startup_timeout", LLM_STARTUP_SECONDS)),
        env=env,
    )


def raw_container(image: str | None, options: dict[str, Any]) -> Container:
    """A custom image (routes from the options), or none: the model's own environment."""
    return Container(
        image=image,
        port=int(options.get("port", RAW_ROUTES["port"])),
        health_path=str(options.get("health_path", RAW_ROUTES["health_path"])),
        scoring_path=str(options.get("scoring_path", RAW_ROUTES["scoring_path"])),
        startup_seconds=int(options.get("startup_timeout", RAW_STARTUP_SECONDS)),
    )
