"""Which container serves a model on SageMaker: the Hugging Face LLM (TGI) image by region.

The mapping is data (``huggingface_llm.json`` beside this module), taken from the
``sagemaker`` Python SDK's ``image_uri_config/huggingface-llm.json``; the URI is built the
way the SDK's ``get_huggingface_llm_image_uri("huggingface", region=...)`` builds it::

    {registry account}.dkr.ecr.{region}.{partition DNS suffix}/{repository}:{tag}
    tag = {tag_prefix}-gpu-{py_version}-{container_version}

e.g. ``763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:
2.7.0-tgi3.3.6-gpu-py311-cu124-ubuntu22.04``. Nothing here imports boto3.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from hostkit.errors import ConfigError

__all__ = [
    "HF_MODEL_ID",
    "TgiImages",
    "is_artifact",
    "is_hub_model",
    "tgi_images",
]

DATA_FILE = Path(__file__).with_name("huggingface_llm.json")
#: a Hugging Face Hub repository id: ``org/name`` or a bare legacy ``name`` (``gpt2``)
HF_MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}(/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?\Z")
_OTHER_SCHEMES = re.compile(r"^[a-z][a-z0-9+.-]*:")


def is_artifact(model: str) -> bool:
    """``s3://bucket/key``: a model artifact SageMaker downloads into the container."""
    return model.startswith("s3://")


def is_hub_model(model: str) -> bool:
    """A Hugging Face Hub id, served by the TGI container (``meta-llama/Llama-3.1-8B``)."""
    return not _OTHER_SCHEMES.match(model) and bool(HF_MODEL_ID.match(model))


@dataclass(frozen=True)
class TgiImages:
    """The TGI image table: registries by region, tags by TGI version."""

    repository: str
    processor: str
    default_version: str
    versions: dict[str, dict[str, str]]
    registries: dict[str, str]
    dns_suffixes: dict[str, str]
    source: str
    as_of: str

    def dns_suffix(self, region: str) -> str:
        for prefix, suffix in sorted(self.dns_suffixes.items(), key=lambda kv: -len(kv[0])):
            if region.startswith(prefix):
                return suffix
        return "amazonaws.com"

    def tag(self, version: str | None = None) -> str:
        chosen = version or self.default_version
        entry = self.versions.get(chosen)
        if entry is None:
            raise ConfigError(
                f"options.tgi_version: {chosen!r} is not a Hugging Face LLM container version"
                f" hostkit knows; known: {', '.join(sorted(self.versions))} (or pass image=...)"
            )
        parts = (entry["tag_prefix"], self.processor, entry["py_version"])
        return "-".join((*parts, entry["container_version"]))

    def image_uri(self, region: str, version: str | None = None) -> str:
        """The TGI image for ``region`` (the SDK's choice), or ConfigError naming the regions."""
        registry = self.registries.get(region)
        if registry is None:
            raise ConfigError(
                f"region {region!r} has no Hugging Face LLM container in hostkit's table;"
                f" pass image=... or use one of: {', '.join(sorted(self.registries))}"
            )
        host = f"{registry}.dkr.ecr.{region}.{self.dns_suffix(region)}"
        return f"{host}/{self.repository}:{self.tag(version)}"


@cache
def tgi_images() -> TgiImages:
    data: dict[str, Any] = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    suffixes = {k: v for k, v in data["dns_suffixes"].items() if not k.startswith("_")}
    return TgiImages(
        repository=data["repository"],
        processor=data["processor"],
        default_version=data["default_version"],
        versions=data["versions"],
        registries=data["registries"],
        dns_suffixes=suffixes,
        source=data["source"],
        as_of=data["as_of"],
    )
