"""Ray Serve's own LLM application (``ray.serve.llm``, vLLM inside Serve) from a spec.

A spec with ``options.engine = "serve-llm"`` becomes one Serve application built by
Ray's ``ray.serve.llm:build_openai_app`` instead of hostkit's ``serve_app:build``::

    {"name": NAME, "route_prefix": "/NAME",
     "import_path": "ray.serve.llm:build_openai_app",
     "args": {"llm_configs": [{
         "model_loading_config": {"model_id": SERVED, "model_source": spec.model},
         "accelerator_type": RAY_NAME,           # from spec.accelerator ("A100:2" -> "A100")
         "deployment_config": {"num_replicas": N} | {"autoscaling_config": {...}},
         "engine_kwargs": {"tensor_parallel_size": GPUS / PP, "max_model_len": ..., ...},
         "runtime_env": {"env_vars": {**spec.env, "HOSTKIT_DEPLOYMENT": "{...}"}},
     }]}}

Where each field comes from (Ray 2.60.0, the version read when this was written;
``providers/ray/tests/test_ray_serve_llm.py`` checks the names against the installed
Ray's source, so a rename fails the tests):

* ``args.llm_configs``: ``LLMServingArgs`` in
  ``ray/llm/_internal/serve/core/ingress/builder.py`` (``build_openai_app`` validates
  ``args`` with it; ``extra="forbid"``, so hostkit may add no key of its own there);
* ``model_loading_config.model_id`` / ``model_source``: ``ModelLoadingConfig`` in
  ``ray/llm/_internal/serve/core/configs/llm_config.py``; ``model_id`` is the name clients
  send as ``"model"`` (``/v1/models`` lists it), ``model_source`` the Hugging Face id,
  local path or cloud mirror the weights come from;
* ``accelerator_type``, ``deployment_config``, ``engine_kwargs``, ``runtime_env``:
  ``LLMConfig`` in the same file. ``accelerator_type`` must be one of
  ``ray/util/accelerators/accelerators.py``'s values (``LLMConfig.validate_accelerator_type``;
  ``"A10"`` becomes ``"A10G"``). ``deployment_config`` takes Serve's deployment options;
  ``placement_group_bundles`` is not allowed there (``LLMServer.get_deployment_options``
  in ``core/server/llm_server.py``);
* GPUs: ``VLLMEngineConfig.num_devices`` (``engines/vllm/vllm_models.py``) is
  ``tensor_parallel_size * pipeline_parallel_size`` from ``engine_kwargs``; Ray reserves
  one bundle ``{"GPU": 1, "accelerator_type:<type>": 0.001}`` per device in a placement
  group (``PACK``) that the replica and vLLM's workers share. So hostkit sets no
  ``num_gpus``: the accelerator count is the tensor parallel size (divided by
  ``options.pipeline_parallel_size`` when given);
* the replica deployment is named ``LLMServer:<model_id>`` with ``/`` -> ``--`` and
  ``.`` -> ``_`` (``_get_deployment_name`` in ``core/server/builder.py``); the ingress,
  ``OpenAiIngress``, serves ``/v1/chat/completions``, ``/v1/completions`` and
  ``/v1/models`` (``core/ingress/ingress.py``) under the application's route prefix.

hostkit marks the application as its own with one environment variable of the LLM
replicas, ``HOSTKIT_DEPLOYMENT`` (JSON: the spec's fingerprint, ``usd_per_hour``,
``scale_to_zero_after``): ``runtime_env`` is the only free-form field Ray's strict
schema leaves. The spec's ``env`` (``HF_TOKEN`` for gated models) goes to the same
``runtime_env.env_vars``, as Ray's docs show; the dashboard keeps it in the
application's config (as it does for every Serve application), so hostkit registers
secret-looking values (``*_TOKEN``, ``*_KEY`` ...) to be masked in its logs, errors
and saved records.

This module imports no Ray: it only writes and reads the config.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping
from typing import Any

from hostkit._models import DeploymentSpec
from hostkit._redact import is_secret_key, register_secret, scrub
from hostkit.adapters import parse_accelerator
from hostkit.errors import ConfigError

__all__ = [
    "ENGINE",
    "IMPORT_PATH",
    "OPTIONS",
    "LlmApp",
    "application",
    "deployment_name",
    "explain",
    "ray_accelerator",
    "requested",
    "validate_spec",
    "view",
]

ENGINE = "serve-llm"
IMPORT_PATH = "ray.serve.llm:build_openai_app"
META_ENV = "HOSTKIT_DEPLOYMENT"
RAY_VERSION_READ = "2.60.0"
OPTIONS = {
    "engine": f'"{ENGINE}": Ray Serve LLM (ray.serve.llm with vLLM) serves spec.model',
    "model_id": "serve-llm: the model name clients send (default: the spec's model)",
    "max_model_len": "serve-llm: the context length vLLM allots (engine_kwargs.max_model_len)",
    "pipeline_parallel_size": "serve-llm: pipeline stages; GPUs / this = tensor parallel size",
    "engine_kwargs": "serve-llm: further vLLM engine arguments, passed as they are",
}
#: options of hostkit's own application that Ray Serve LLM has no use for
CONFLICTS = {
    "command": "Ray Serve LLM runs vLLM itself; give either engine or command",
    "health_path": "Ray Serve LLM checks vLLM's health itself",
    "startup_timeout": "hostkit's deploy timeout bounds the start",
    "request_timeout": "Ray Serve LLM has its own request timeout",
    "max_batch_size": "vLLM batches continuously by itself",
    "batch_wait_timeout_s": "vLLM batches continuously by itself",
    "workdir": "Ray Serve LLM runs no code of yours (model weights go in model_source)",
    "working_dir": "Ray Serve LLM runs no code of yours (model weights go in model_source)",
}
#: engine_kwargs hostkit derives from the spec, never taken from options.engine_kwargs
DERIVED_KWARGS = {
    "tensor_parallel_size": "the accelerator count (accelerator = 'A100:2')",
    "pipeline_parallel_size": "options.pipeline_parallel_size",
    "max_model_len": "options.max_model_len",
}
#: Ray's accelerator type names (ray/util/accelerators/accelerators.py, Ray 2.60.0)
RAY_ACCELERATORS = (
    "V100", "P100", "T4", "P4", "K80", "A10G", "L4", "L40S", "A100", "H100", "H200",
    "H20", "B200", "B300", "GB200", "GB300", "RTX-PRO-6000", "A100-40G", "A100-80G",
    "Intel-GPU-Max-1550", "Intel-GPU-Max-1100", "Intel-GAUDI",
    "AMD-Instinct-MI100", "AMD-Instinct-MI250X", "AMD-Instinct-MI250X-MI250",
    "AMD-Instinct-MI210", "AMD-Instinct-MI300A", "AMD-Instinct-MI300X-OAM",
    "AMD-Instinct-MI300X-HF", "AMD-Instinct-MI308X", "AMD-Instinct-MI325X-OAM",
    "AMD-Instinct-MI350X-OAM", "AMD-Instinct-MI355X-OAM",
    "TPU-V2", "TPU-V3", "TPU-V4", "TPU-V5P", "TPU-V5LITEPOD", "TPU-V6E", "TPU-V7X",
    "aws-neuron-core", "Ascend910B", "Ascend910B4",
)  # fmt: skip
#: hostkit's GPU family (hostkit._gpus) -> the type Ray labels such a node with. An
#: A100 of either size is "A100": Ray's A100-40G/A100-80G labels are not auto-added.
FAMILY_TO_RAY = {
    "T4": "T4",
    "P4": "P4",
    "P100": "P100",
    "V100": "V100",
    "A10": "A10G",
    "A10G": "A10G",
    "L4": "L4",
    "L40S": "L40S",
    "A100": "A100",
    "H100": "H100",
    "H200": "H200",
    "B200": "B200",
}
_RAY_BY_UPPER = {name.upper(): name for name in RAY_ACCELERATORS}


def requested(options: Mapping[str, Any]) -> bool:
    """Whether a spec's options ask for Ray Serve LLM."""
    return "engine" in options


def deployment_name(model_id: str) -> str:
    """The name Ray gives the model's replicas (``core/server/builder.py``)."""
    return "LLMServer:" + model_id.replace("/", "--").replace(".", "_")


def served_model(spec: DeploymentSpec) -> str:
    """The model name clients send: ``options.model_id``, else the spec's model."""
    return str(spec.options.get("model_id") or spec.model)


# -- the accelerator ----------------------------------------------------------------------
def _allowed_accelerators() -> str:
    return (
        "a GPU with a count, e.g. 'L4', 'A10G:1', 'A100:2' or 'H100:8'; GPUs hostkit maps to"
        f" Ray's names: {', '.join(sorted(FAMILY_TO_RAY))}; or any Ray accelerator type:"
        f" {', '.join(RAY_ACCELERATORS)}"
    )


def ray_accelerator(text: str | None) -> tuple[str, int]:
    """``(Ray's accelerator type, device count)`` from the spec's ``accelerator``.

    ``"A100-80GB:2"`` -> ``("A100", 2)``; ``"A10"`` -> ``("A10G", 1)``; a Ray name is
    taken as it is (``"AMD-Instinct-MI300X-OAM:8"``). ConfigError names what is allowed.
    """
    if not text:
        raise ConfigError(
            f"accelerator: options.engine = {ENGINE!r} needs the GPUs each replica uses:"
            " their count is vLLM's tensor parallel size; give " + _allowed_accelerators()
        )
    name, sep, count_text = str(text).partition(":")
    count = 1
    if sep:
        if not count_text.strip().isdigit() or int(count_text) < 1:
            raise ConfigError(
                f"accelerator: the count in {text!r} must be a whole number >= 1 (the"
                " tensor parallel size)"
            )
        count = int(count_text)
    exact = _RAY_BY_UPPER.get(name.strip().upper())
    if exact is not None:
        return exact, count
    try:
        parsed = parse_accelerator(str(text))
    except ConfigError:
        parsed = None
    if parsed is not None and parsed.gpu.family in FAMILY_TO_RAY:
        return FAMILY_TO_RAY[parsed.gpu.family], parsed.count
    raise ConfigError(
        f"accelerator: {text!r} is not an accelerator type Ray Serve LLM can ask for; give "
        + _allowed_accelerators()
    )


# -- validation ---------------------------------------------------------------------------
def validate_spec(spec: DeploymentSpec) -> None:
    """ConfigError for a serve-llm spec Ray would refuse or hostkit cannot honour."""
    options = spec.options
    if options.get("engine") != ENGINE:
        raise ConfigError(
            f"options.engine: {options.get('engine')!r} is not an engine the ray provider"
            f" knows; allowed: {ENGINE!r} (Ray Serve LLM), or leave it out for hostkit's"
            " own application"
        )
    clashing = sorted(k for k in CONFLICTS if k in options)
    if clashing:
        reasons = "; ".join(f"{k}: {CONFLICTS[k]}" for k in clashing)
        raise ConfigError(
            f"options: {', '.join(clashing)} cannot go with options.engine = {ENGINE!r} ({reasons})"
        )
    _, gpus = ray_accelerator(spec.accelerator)
    stages = _whole(options, "pipeline_parallel_size")
    if stages is not None and gpus % stages:
        raise ConfigError(
            f"options.pipeline_parallel_size: {stages} does not divide the {gpus} GPU(s) of"
            f" accelerator {spec.accelerator!r} (GPUs = tensor parallel size x pipeline"
            " stages)"
        )
    _whole(options, "max_model_len")
    if "model_id" in options and not (
        isinstance(options["model_id"], str) and options["model_id"].strip()
    ):
        raise ConfigError("options.model_id: expected the model name clients send, a string")
    extra = options.get("engine_kwargs", {})
    if not isinstance(extra, Mapping) or not all(isinstance(k, str) for k in extra):
        raise ConfigError(
            "options.engine_kwargs: expected a table of vLLM engine arguments,"
            " e.g. {gpu_memory_utilization = 0.9}"
        )
    derived = sorted(k for k in DERIVED_KWARGS if k in extra)
    if derived:
        raise ConfigError(
            f"options.engine_kwargs: {', '.join(derived)} come(s) from the spec, not from"
            " engine_kwargs: " + "; ".join(f"{k} from {DERIVED_KWARGS[k]}" for k in derived)
        )
    _register_env_secrets(spec)


def _whole(options: Mapping[str, Any], key: str) -> int | None:
    if key not in options:
        return None
    value = options[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"options.{key}: {value!r} is not a whole number >= 1 ({OPTIONS[key]})")
    return value


def _register_env_secrets(spec: DeploymentSpec) -> None:
    """Secret-looking env values (HF_TOKEN ...) are masked wherever hostkit shows text."""
    for key, value in spec.env.items():
        if is_secret_key(key):
            register_secret(value)


# -- the application config ---------------------------------------------------------------
def application(
    spec: DeploymentSpec,
    *,
    replicas: Mapping[str, Any],
    meta: Mapping[str, Any],
    num_cpus: float | None = None,
) -> dict[str, Any]:
    """The Serve application (one entry of PUT's ``applications``) for a serve-llm spec.

    ``replicas`` is ``{"num_replicas": N}`` or ``{"autoscaling_config": {...}}`` (the
    provider's, as for its own applications); ``meta`` is what hostkit reads back (the
    fingerprint ...); ``num_cpus`` the CPUs of the replica actor (Ray's default: 1).
    """
    validate_spec(spec)
    options = spec.options
    accelerator, gpus = ray_accelerator(spec.accelerator)
    stages = int(options.get("pipeline_parallel_size", 1))
    engine_kwargs: dict[str, Any] = dict(options.get("engine_kwargs") or {})
    engine_kwargs["tensor_parallel_size"] = gpus // stages
    if stages > 1:
        engine_kwargs["pipeline_parallel_size"] = stages
    if "max_model_len" in options:
        engine_kwargs["max_model_len"] = int(options["max_model_len"])
    deployment_config: dict[str, Any] = copy.deepcopy(dict(replicas))
    if "max_ongoing_requests" in options:
        deployment_config["max_ongoing_requests"] = int(options["max_ongoing_requests"])
    if num_cpus is not None and math.isfinite(num_cpus):
        deployment_config["ray_actor_options"] = {"num_cpus": float(num_cpus)}
    runtime_env: dict[str, Any] = {
        "env_vars": {**spec.env, META_ENV: json.dumps(dict(meta), sort_keys=True)}
    }
    if options.get("pip"):
        runtime_env["pip"] = list(options["pip"])
    llm_config = {
        "model_loading_config": {"model_id": served_model(spec), "model_source": spec.model},
        "accelerator_type": accelerator,
        "deployment_config": deployment_config,
        "engine_kwargs": engine_kwargs,
        "runtime_env": runtime_env,
    }
    return {
        "name": spec.name,
        "route_prefix": f"/{spec.name}",
        "import_path": IMPORT_PATH,
        "args": {"llm_configs": [llm_config]},
    }


#: words of an import failure that mean the cluster lacks Ray Serve LLM's dependencies
_MISSING = ("pyarrow", "vllm", "sglang", "ray.serve.llm", "no module named")


def explain(reason: str) -> str:
    """Ray's failure reason (secrets masked), with what to install when it says an
    import failed."""
    reason = scrub(reason)
    if not any(word in reason.lower() for word in _MISSING):
        return reason
    return (
        f'{reason} (Ray Serve LLM needs `pip install "ray[llm]"` - which brings vLLM and'
        " pyarrow - on every node of the cluster, in the Python the cluster runs, and GPUs;"
        " or serve the model with options.command instead)"
    )


# -- reading an application back -------------------------------------------------------------
class LlmApp:
    """What hostkit reads back from a serve-llm application's ``deployed_app_config``."""

    def __init__(self, config: Mapping[str, Any], llm_config: dict[str, Any], meta: dict[str, Any]):
        self.config = config
        self.llm_config = llm_config
        self.meta = meta
        loading = llm_config.get("model_loading_config") or {}
        self.model_id = str(loading.get("model_id") or "")
        self.model_source = str(loading.get("model_source") or self.model_id)
        self.deployment = deployment_name(self.model_id)
        env = (llm_config.get("runtime_env") or {}).get("env_vars") or {}
        for key, value in env.items():  # read back from any process: mask them there too
            if isinstance(key, str) and is_secret_key(key) and isinstance(value, str):
                register_secret(value)

    def deployment_config(self) -> dict[str, Any]:
        """The model's Serve options in this config (changed in place by scale)."""
        return self.llm_config.setdefault("deployment_config", {})  # type: ignore[no-any-return]


def view(config: Mapping[str, Any] | None) -> LlmApp | None:
    """The serve-llm application hostkit wrote, or None (hostkit's own app, or one
    hostkit did not write: a ``build_openai_app`` app without hostkit's mark)."""
    if not config or config.get("import_path") != IMPORT_PATH:
        return None
    configs = (config.get("args") or {}).get("llm_configs")
    if not isinstance(configs, list) or len(configs) != 1 or not isinstance(configs[0], dict):
        return None
    env = (configs[0].get("runtime_env") or {}).get("env_vars") or {}
    try:
        meta = json.loads(env[META_ENV])
    except (KeyError, TypeError, ValueError):
        return None
    if not isinstance(meta, dict):
        return None
    return LlmApp(config, configs[0], meta)
