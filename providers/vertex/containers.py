"""What hostkit deploys on Vertex AI for a spec, as data: the LLM serving container and GPUs.

For a Hugging Face model id hostkit runs the **Model Garden vLLM serving container**, the
image Google's own Model Garden deploys open LLMs with, started with the arguments Model
Garden documents:

* the container spec Model Garden publishes for its vLLM deployments (``imageUri``,
  ``args``, ``env`` ``MODEL_ID``, ``ports`` 8080, ``predictRoute`` ``/generate``,
  ``healthRoute`` ``/ping``): "Deploy and inference Gemma using Model Garden and Vertex AI
  GPU-backed endpoints", https://cloud.google.com/vertex-ai/generative-ai/docs/model-garden/deploy-and-inference-tutorial
  (page last updated 2025-10-20);
* shared memory 16 GiB and a 7200 s start-up allowance, as in Google's sample
  ``deploy_model_vllm`` (GoogleCloudPlatform/vertex-ai-samples,
  notebooks/community/model_garden/model_garden_gradio_streaming_chat_completions.ipynb).

The container answers the OpenAI chat-completions body on its predict route, which is what
``:rawPredict`` and ``:streamRawPredict`` forward to it unchanged (the same body Vertex's
OpenAI-compatible ``chat/completions`` surface sends in that notebook). ``image`` in the
spec replaces the tag; ``options`` add vLLM arguments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "ACCELERATORS",
    "VLLM_HEALTH_ROUTE",
    "VLLM_IMAGE",
    "VLLM_IMAGE_SOURCE",
    "VLLM_PORT",
    "VLLM_PREDICT_ROUTE",
    "VLLM_SHARED_MEMORY_MB",
    "VLLM_STARTUP_TIMEOUT_S",
    "accelerator_enum",
    "vllm_container",
]

#: the Model Garden vLLM serving image (a dated release tag; ``image`` overrides it)
VLLM_IMAGE = (
    "us-docker.pkg.dev/vertex-ai/vertex-vision-model-garden-dockers/"
    "pytorch-vllm-serve:20250312_0916_RC01"
)
VLLM_IMAGE_SOURCE = "https://cloud.google.com/vertex-ai/generative-ai/docs/model-garden/deploy-and-inference-tutorial"
VLLM_PORT = 8080
VLLM_PREDICT_ROUTE = "/generate"
VLLM_HEALTH_ROUTE = "/ping"
VLLM_SHARED_MEMORY_MB = 16 * 1024
VLLM_STARTUP_TIMEOUT_S = 7200
#: the documented server arguments, before the per-deployment ones
_VLLM_BASE_ARGS = (
    "python",
    "-m",
    "vllm.entrypoints.api_server",
    "--host=0.0.0.0",
    f"--port={VLLM_PORT}",
)
_VLLM_DEFAULT_GPU_MEMORY_UTILIZATION = 0.95

#: portable GPU names (hardware.toml ``gpu_type``, spec ``accelerator = "L4:1"``) to
#: Vertex's ``AcceleratorType`` names (google.cloud.aiplatform_v1.AcceleratorType)
ACCELERATORS: Mapping[str, str] = {
    "T4": "NVIDIA_TESLA_T4",
    "V100": "NVIDIA_TESLA_V100",
    "P100": "NVIDIA_TESLA_P100",
    "P4": "NVIDIA_TESLA_P4",
    "L4": "NVIDIA_L4",
    "A100": "NVIDIA_TESLA_A100",
    "A100-40GB": "NVIDIA_TESLA_A100",
    "A100-80GB": "NVIDIA_A100_80GB",
    "H100": "NVIDIA_H100_80GB",
    "H100-80GB": "NVIDIA_H100_80GB",
    "H100-MEGA": "NVIDIA_H100_MEGA_80GB",
    "H200": "NVIDIA_H200_141GB",
    "B200": "NVIDIA_B200",
}


def accelerator_enum(name: str) -> str | None:
    """Vertex's accelerator name for ``L4``, ``nvidia-l4``, ``NVIDIA_L4`` ... (None: unknown)."""
    cleaned = name.strip().upper().replace("_", "-")
    if cleaned.startswith("NVIDIA-"):
        enum_form = cleaned.replace("-", "_")
        if enum_form in ACCELERATORS.values():
            return enum_form
        cleaned = cleaned[len("NVIDIA-") :]
    if cleaned.startswith("TESLA-"):
        cleaned = cleaned[len("TESLA-") :]
    return ACCELERATORS.get(cleaned)


def vllm_container(
    model: str,
    *,
    image: str | None,
    gpu_count: int,
    env: Mapping[str, str],
    options: Mapping[str, Any],
) -> dict[str, Any]:
    """The ``containerSpec`` fields (snake_case, for ``ModelContainerSpec``) for ``model``."""
    args = [*_VLLM_BASE_ARGS, f"--model={model}"]
    args.append(f"--tensor-parallel-size={max(1, gpu_count)}")
    args.append("--swap-space=16")
    utilization = options.get("gpu_memory_utilization", _VLLM_DEFAULT_GPU_MEMORY_UTILIZATION)
    args.append(f"--gpu-memory-utilization={utilization}")
    if options.get("max_model_len") is not None:
        args.append(f"--max-model-len={options['max_model_len']}")
    args.append("--disable-log-stats")
    extra: Sequence[str] = options.get("args") or ()
    args.extend(extra)
    variables = {"MODEL_ID": model, **env}
    return {
        "image_uri": image or VLLM_IMAGE,
        "args": args,
        "env": [{"name": k, "value": v} for k, v in variables.items()],
        "ports": [{"container_port": VLLM_PORT}],
        "predict_route": options.get("predict_route") or VLLM_PREDICT_ROUTE,
        "health_route": options.get("health_route") or VLLM_HEALTH_ROUTE,
        "shared_memory_size_mb": options.get("shared_memory_size_mb", VLLM_SHARED_MEMORY_MB),
        "deployment_timeout": {
            "seconds": int(options.get("startup_timeout", VLLM_STARTUP_TIMEOUT_S))
        },
    }
