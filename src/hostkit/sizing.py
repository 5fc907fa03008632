"""How much GPU memory, host RAM and disk a model needs to serve, and what fits it.

The standard guidance (see docs/cost.md), in GB of 10^9 bytes:

* weights = parameters x bytes per parameter (fp32 4, bf16/fp16 2, int8 1, int4 0.5);
* KV cache = 2 (K and V) x layers x KV heads x head dim x context x batch x KV bytes;
* activations and runtime margin = ``margin`` (default 20%) x (weights + KV cache);
* GPU memory = weights + KV cache + margin;
* host RAM to plan = 2 to 3 x the weights; disk = the weights' files at that dtype.

Where the parameters and the architecture come from (``Sizing.origin``): the arguments
(``params_b``, ``layers``, ...), a :class:`ModelShape` read from the Hugging Face Hub by
:func:`from_hub` (safetensors metadata and config.json, through huggingface_hub), or the
shipped table :data:`KNOWN_MODELS`. Nothing is fetched unless :func:`from_hub` or
:func:`resolve_shape` is called.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hostkit.catalog import CatalogRow
from hostkit.errors import (
    AuthenticationError,
    ConfigError,
    DependencyMissing,
    NotFound,
    ProviderError,
)

__all__ = [
    "BYTES_PER_PARAM",
    "KNOWN_MODELS",
    "Fit",
    "HubUnreachable",
    "ModelShape",
    "Sizing",
    "estimate",
    "fits",
    "from_hub",
    "gpus_needed",
    "known_model",
    "resolve_shape",
    "shape_from_config",
]

BYTES_PER_PARAM: dict[str, float] = {
    "fp32": 4,
    "float32": 4,
    "bf16": 2,
    "bfloat16": 2,
    "fp16": 2,
    "float16": 2,
    "fp8": 1,
    "int8": 1,
    "int4": 0.5,
}
#: what a KV cache is kept in by default when the weights are quantised (vLLM, TGI)
_KV_DEFAULT = {"int8": "fp16", "int4": "fp16", "fp8": "fp16"}


@dataclass(frozen=True)
class ModelShape:
    """A transformer's size and attention shape (from its config.json on the Hub)."""

    params: float  # number of parameters
    layers: int
    kv_heads: int
    head_dim: int
    source: str = ""
    origin: str = "table"  # "table" (KNOWN_MODELS) or "hub"
    max_context: int | None = None  # max_position_embeddings
    params_by_dtype: Mapping[str, int] = field(default_factory=dict)  # as stored on the Hub


def _hub(model: str) -> str:
    return f"https://huggingface.co/{model}/blob/main/config.json"


def _shape(params: float, layers: int, kv_heads: int, head_dim: int, model: str) -> ModelShape:
    return ModelShape(params, layers, kv_heads, head_dim, _hub(model))


#: well-known models: exact parameter counts (the safetensors metadata total) and
#: num_hidden_layers, num_key_value_heads, head_dim (hidden_size / num_attention_heads)
KNOWN_MODELS: dict[str, ModelShape] = {
    m: _shape(*values, m)
    for m, values in {
        "meta-llama/Llama-2-7b-hf": (6_738_415_616, 32, 32, 128),
        "meta-llama/Llama-2-13b-hf": (13_015_864_320, 40, 40, 128),
        "meta-llama/Llama-2-70b-hf": (68_976_648_192, 80, 8, 128),
        "meta-llama/Meta-Llama-3-8B": (8_030_261_248, 32, 8, 128),
        "meta-llama/Meta-Llama-3-70B": (70_553_706_496, 80, 8, 128),
        "meta-llama/Llama-3.1-8B-Instruct": (8_030_261_248, 32, 8, 128),
        "meta-llama/Llama-3.1-70B-Instruct": (70_553_706_496, 80, 8, 128),
        "meta-llama/Llama-3.3-70B-Instruct": (70_553_706_496, 80, 8, 128),
        "mistralai/Mistral-7B-v0.1": (7_241_732_096, 32, 8, 128),
        "mistralai/Mixtral-8x7B-v0.1": (46_702_792_704, 32, 8, 128),
        "Qwen/Qwen2.5-7B-Instruct": (7_615_616_512, 28, 4, 128),
        "Qwen/Qwen2.5-72B-Instruct": (72_706_203_648, 80, 8, 128),
    }.items()
}
_ALIASES = {
    m.split("/", 1)[1].lower().removesuffix("-hf"): m for m in KNOWN_MODELS
}  # "llama-2-7b" -> "meta-llama/Llama-2-7b-hf"


@dataclass(frozen=True)
class Fit:
    """One offering that holds the model: how many of its GPUs it needs."""

    row: CatalogRow
    gpus_needed: int  # tensor-parallel degree (a power of two)
    usd_per_hour: float | None

    def to_dict(self) -> dict[str, Any]:
        return {**self.row.to_dict(), "gpus_needed": self.gpus_needed}


@dataclass(frozen=True)
class Sizing:
    """Memory, RAM and disk to plan for serving a model (GB = 10^9 bytes)."""

    model: str | None
    params: float
    dtype: str
    kv_dtype: str
    context: int
    batch: int
    weights_gb: float
    kv_cache_gb: float
    margin: float
    activations_gb: float
    gpu_memory_gb: float
    host_ram_gb: tuple[float, float]
    disk_gb: float
    source: str | None = None
    by_dtype: dict[str, float] = field(default_factory=dict)  # weights GB at other dtypes
    origin: str = "arguments"  # where the parameters came from: "hub", "table", "arguments"
    max_context: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _positive(value: Any, name: str, *, integer: bool = False) -> Any:
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
        wanted = "a whole number" if integer else "a number"
        raise ConfigError(f"{name}: expected {wanted} > 0, got {value!r}")
    return value


def _dtype(value: str, name: str) -> str:
    key = str(value).lower()
    if key not in BYTES_PER_PARAM:
        raise ConfigError(f"{name}: unknown dtype {value!r}; allowed: {', '.join(BYTES_PER_PARAM)}")
    return key


def known_model(model: str) -> ModelShape | None:
    """The shipped shape of ``model`` (a Hub id, or its name without the org)."""
    if model in KNOWN_MODELS:
        return KNOWN_MODELS[model]
    full = _ALIASES.get(model.lower().removesuffix("-hf"))
    if full is None:
        lowered = {m.lower(): m for m in KNOWN_MODELS}
        full = lowered.get(model.lower())
    return KNOWN_MODELS[full] if full else None


def estimate(
    model: str | None = None,
    *,
    params_b: float | None = None,
    layers: int | None = None,
    kv_heads: int | None = None,
    head_dim: int | None = None,
    dtype: str = "bf16",
    kv_dtype: str | None = None,
    context: int = 4096,
    batch: int = 1,
    margin: float = 0.2,
    shape: ModelShape | None = None,
) -> Sizing:
    """Size ``model`` (a well-known Hub id) or a model given by ``params_b`` (billions).

    ``shape`` (from :func:`from_hub` or :func:`resolve_shape`) replaces the shipped table.
    Explicit ``params_b``/``layers``/``kv_heads``/``head_dim`` win over either. Without
    the attention shape the KV cache cannot be computed: ConfigError. Never fetches.
    """
    if shape is None and model:
        shape = known_model(model)
    if model and shape is None and params_b is None:
        known = ", ".join(sorted(KNOWN_MODELS))
        raise ConfigError(
            f"model: {model!r} is not in the shipped table; give params_b, layers, kv_heads"
            f" and head_dim (--params/--layers/--kv-heads/--head-dim), or one of: {known}"
        )
    if model is None and params_b is None:
        raise ConfigError("estimate: give a model id or params_b (billions of parameters)")
    params = _positive(params_b, "params_b") * 1e9 if params_b is not None else shape.params  # type: ignore[union-attr]
    layers = layers if layers is not None else (shape.layers if shape else None)
    kv_heads = kv_heads if kv_heads is not None else (shape.kv_heads if shape else None)
    head_dim = head_dim if head_dim is not None else (shape.head_dim if shape else None)
    missing = [
        n
        for n, v in (("layers", layers), ("kv_heads", kv_heads), ("head_dim", head_dim))
        if v is None
    ]
    if missing:
        raise ConfigError(
            f"{', '.join(missing)}: needed for the KV cache of a model not in the shipped table"
        )
    for name, value in (("layers", layers), ("kv_heads", kv_heads), ("head_dim", head_dim)):
        _positive(value, name, integer=True)
    _positive(context, "context", integer=True)
    _positive(batch, "batch", integer=True)
    if isinstance(margin, bool) or not isinstance(margin, int | float) or margin < 0:
        raise ConfigError(f"margin: expected a fraction >= 0 such as 0.2, got {margin!r}")
    dtype = _dtype(dtype, "dtype")
    kv_dtype = _dtype(kv_dtype, "kv_dtype") if kv_dtype else _KV_DEFAULT.get(dtype, dtype)
    weights = params * BYTES_PER_PARAM[dtype] / 1e9
    kv = 2 * layers * kv_heads * head_dim * context * batch * BYTES_PER_PARAM[kv_dtype] / 1e9  # type: ignore[operator]
    activations = margin * (weights + kv)
    return Sizing(
        model=model,
        params=params,
        dtype=dtype,
        kv_dtype=kv_dtype,
        context=context,
        batch=batch,
        weights_gb=weights,
        kv_cache_gb=kv,
        margin=float(margin),
        activations_gb=activations,
        gpu_memory_gb=weights + kv + activations,
        host_ram_gb=(2 * weights, 3 * weights),
        disk_gb=weights,
        source=shape.source if shape and params_b is None else None,
        by_dtype={d: params * BYTES_PER_PARAM[d] / 1e9 for d in ("fp32", "bf16", "int8", "int4")},
        origin=shape.origin if shape and params_b is None else "arguments",
        max_context=shape.max_context if shape else None,
    )


def _power_of_two_at_least(value: float) -> int:
    return 1 << max(0, math.ceil(math.log2(max(value, 1))))


def gpus_needed(sizing: Sizing, row: CatalogRow) -> int | None:
    """The tensor-parallel degree ``row`` needs to hold the model; None if it cannot.

    The smallest power of two ``n`` with ``n x memory per GPU >= sizing.gpu_memory_gb``,
    no more than the row's GPU count, on a machine whose RAM (where known) is at least
    2 x the weights.
    """
    if row.kind != "instance" or not row.gpu_count or not row.gpu_memory_gb:
        return None
    needed = _power_of_two_at_least(sizing.gpu_memory_gb / row.gpu_memory_gb)
    if needed > row.gpu_count:
        return None
    if row.ram_gb is not None and row.ram_gb < sizing.host_ram_gb[0]:
        return None
    return needed


def fits(sizing: Sizing, rows: Sequence[CatalogRow], *, per_provider: int = 1) -> list[Fit]:
    """The cheapest offerings per provider that hold the model, cheapest first.

    An instance fits when a power-of-two number of its GPUs (the tensor-parallel
    degree) holds ``sizing.gpu_memory_gb`` and its RAM (where known) is at least
    2 x the weights. Priced rows come first; a provider with no priced fit shows its
    smallest unpriced one (usd None).
    """
    by_provider: dict[str, list[Fit]] = {}
    for row in rows:
        needed = gpus_needed(sizing, row)
        if needed is not None:
            by_provider.setdefault(row.provider, []).append(Fit(row, needed, row.usd_per_hour))
    chosen: list[Fit] = []
    for found in by_provider.values():
        found.sort(
            key=lambda f: (
                f.usd_per_hour is None,
                f.usd_per_hour or 0.0,
                f.row.gpu_count or 0,
                f.row.vcpus or 0,
                f.row.name,
            )
        )
        chosen.extend(found[:per_provider])
    return sorted(
        chosen, key=lambda f: (f.usd_per_hour is None, f.usd_per_hour or 0.0, f.row.provider)
    )


# -- the Hugging Face Hub ---------------------------------------------------------------
class HubUnreachable(ProviderError):
    """The Hub could not be asked (offline, network error, 5xx); the shipped table may serve."""


_CONFIG_KEYS = {
    "layers": ("num_hidden_layers", "n_layer", "num_layers"),
    "heads": ("num_attention_heads", "n_head"),
    "kv_heads": ("num_key_value_heads", "num_kv_heads", "n_head_kv"),
    "hidden": ("hidden_size", "n_embd", "d_model"),
    "context": ("max_position_embeddings", "n_positions", "max_sequence_length"),
}


def _config_value(config: Mapping[str, Any], what: str) -> Any:
    for key in _CONFIG_KEYS[what]:
        if config.get(key) is not None:
            return config[key]
    return None


def shape_from_config(
    config: Mapping[str, Any],
    *,
    params: float,
    model: str,
    source: str = "",
    params_by_dtype: Mapping[str, int] | None = None,
) -> ModelShape:
    """A :class:`ModelShape` from a model's config.json and its parameter count.

    layers = num_hidden_layers; KV heads = num_key_value_heads, else num_attention_heads
    (multi-head attention); head dim = head_dim, else hidden_size / num_attention_heads;
    max context = max_position_embeddings. A multimodal config's ``text_config`` is used
    when the top level has no layers.
    """
    text = config.get("text_config")
    if _config_value(config, "layers") is None and isinstance(text, Mapping):
        config = text
    layers = _config_value(config, "layers")
    heads = _config_value(config, "heads")
    kv_heads = _config_value(config, "kv_heads")
    if kv_heads is None and config.get("multi_query") is True:
        kv_heads = 1
    kv_heads = kv_heads if kv_heads is not None else heads
    head_dim: Any = config.get("head_dim")
    hidden = _config_value(config, "hidden")
    if head_dim is None and hidden is not None and heads:
        head_dim = hidden // heads
    missing = [
        name
        for name, value in (
            ("num_hidden_layers", layers),
            ("num_key_value_heads / num_attention_heads", kv_heads),
            ("head_dim / hidden_size", head_dim),
        )
        if not isinstance(value, int) or value <= 0
    ]
    if missing:
        raise ConfigError(
            f"{model} config.json: no usable {', '.join(missing)}; pass"
            " --layers/--kv-heads/--head-dim (layers=, kv_heads=, head_dim=)"
        )
    context = _config_value(config, "context")
    return ModelShape(
        params=float(params),
        layers=layers,
        kv_heads=kv_heads,
        head_dim=head_dim,
        source=source,
        origin="hub",
        max_context=context if isinstance(context, int) else None,
        params_by_dtype=dict(params_by_dtype or {}),
    )


def _hub_error(error: Exception, model: str) -> Exception:
    from huggingface_hub import errors as hub

    status = getattr(getattr(error, "response", None), "status_code", None)
    if isinstance(error, hub.GatedRepoError):
        return AuthenticationError(
            f"{model} is a gated model on the Hugging Face Hub (HTTP {status}): accept its terms"
            f" at https://huggingface.co/{model} and set HF_TOKEN to a token with access, or"
            " pass --params/--layers/--kv-heads/--head-dim (params_b=, layers=, ...)"
        )
    if isinstance(error, hub.RepositoryNotFoundError):
        return NotFound(
            f"{model}: no such model on the Hugging Face Hub (HTTP {status}); if it is private,"
            " set HF_TOKEN, or pass --params/--layers/--kv-heads/--head-dim"
        )
    if isinstance(error, hub.NotASafetensorsRepoError):
        return ConfigError(
            f"{model}: no safetensors weights on the Hub, so no parameter count; pass --params"
            " (params_b=) with --layers/--kv-heads/--head-dim"
        )
    if isinstance(error, hub.RemoteEntryNotFoundError):
        return ConfigError(
            f"{model}: no config.json on the Hub; pass --layers/--kv-heads/--head-dim"
        )
    return HubUnreachable(f"the Hugging Face Hub could not be asked about {model}: {error}")


def from_hub(
    model: str,
    *,
    revision: str | None = None,
    token: str | None = None,
    cache_dir: str | Path | None = None,
) -> ModelShape:
    """Read ``model``'s parameter count and architecture from the Hugging Face Hub.

    Parameters: ``HfApi.get_safetensors_metadata`` (the safetensors headers: parameter
    count per dtype, summed). Architecture: config.json (``hf_hub_download``, cached).
    ``token`` defaults to huggingface_hub's own (``HF_TOKEN`` or a saved login). Raises
    AuthenticationError for a gated model, NotFound, ConfigError, or HubUnreachable.
    """
    try:
        import httpx2
        from huggingface_hub import HfApi, hf_hub_download
        from huggingface_hub import errors as hub
    except ImportError:
        raise DependencyMissing(
            "reading a model from the Hub needs huggingface_hub: pip install"
            " 'hostkit-ml[huggingface]', or pass --params/--layers/--kv-heads/--head-dim"
        ) from None
    failures: tuple[type[Exception], ...] = (
        hub.HfHubHTTPError,
        hub.NotASafetensorsRepoError,
        hub.SafetensorsParsingError,
        hub.OfflineModeIsEnabled,
        hub.LocalEntryNotFoundError,
        httpx2.TransportError,
    )
    try:
        metadata = HfApi(token=token).get_safetensors_metadata(model, revision=revision)
        path = hf_hub_download(
            model, "config.json", revision=revision, token=token, cache_dir=cache_dir
        )
    except failures as error:
        raise _hub_error(error, model) from None
    try:
        config = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigError(f"{model} config.json: not readable JSON ({error})") from None
    counts = {str(k): int(v) for k, v in metadata.parameter_count.items()}
    where = f"https://huggingface.co/{model}"
    return shape_from_config(
        config,
        params=sum(counts.values()),
        model=model,
        source=f"{where} (safetensors metadata and config.json, revision {revision or 'main'})",
        params_by_dtype=counts,
    )


def resolve_shape(
    model: str, *, offline: bool = False, token: str | None = None
) -> tuple[ModelShape | None, str]:
    """``model``'s shape and a sentence saying where it came from.

    Online (the default, unless ``offline`` or ``HF_HUB_OFFLINE`` is set): the Hub. When the
    Hub cannot be reached, or the model is gated and no token gives access, the shipped
    table is used if it knows the model (the sentence says so); otherwise the error is
    raised. Offline: the shipped table (None if it does not know the model).
    """
    table = known_model(model)
    if offline or os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0"):
        where = "hostkit's shipped table" if table else "nowhere (not in the shipped table)"
        return table, f"offline: parameters and architecture from {where}"
    try:
        shape = from_hub(model, token=token)
    except (HubUnreachable, AuthenticationError, DependencyMissing) as error:
        if table is None:
            raise
        return table, f"{error.message}; used hostkit's shipped table instead"
    return shape, f"from the Hub: {shape.source}"
