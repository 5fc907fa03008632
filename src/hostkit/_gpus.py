"""GPU types: one portable name per GPU model, its memory, and accelerator strings.

Each platform spells a GPU its own way ("A100 80GB PCIe", "NVIDIA_A100_80GB",
"A100-80GB", "A100 SXM"); :func:`identify` reduces any of them to a family
("A100") and, where the name says it, a memory size. ``GPU_MEMORY_GB`` lists the
memory sizes each family is sold with (NVIDIA's datasheets, nominal GB per GPU).

An accelerator string is ``"<GPU>[-<memory>GB][:<count>]"``: ``"L4"``,
``"A100-80GB:2"``, ``"H100:8"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hostkit.errors import ConfigError

__all__ = [
    "GPU_MEMORY_GB",
    "Accelerator",
    "GpuId",
    "identify",
    "memory_matches",
    "parse_accelerator",
]

#: family -> the per-GPU memory sizes (GB, nominal) it is sold with; the first is the
#: size meant when a name gives none ("A100" is the 40 GB part, as on Vertex and AWS).
GPU_MEMORY_GB: dict[str, tuple[float, ...]] = {
    "T4": (16,),
    "L4": (24,),
    "A10": (24,),
    "A10G": (24,),
    "L40": (48,),
    "L40S": (48,),
    "A100": (40, 80),
    "H100": (80, 94),  # 94 GB: H100 NVL
    "H200": (141,),
    "GH200": (96, 144),
    "B200": (180, 192),  # 180 GB usable per GPU on HGX/DGX B200 systems
    "V100": (16, 32),
    "P100": (16, 12),
    "P4": (8,),
    "A6000": (48,),
    "A5000": (24,),
    "A4000": (16,),
    "RTX6000ADA": (48,),
    "RTX6000": (24,),  # Quadro RTX 6000
    "RTX5000": (16,),  # Quadro RTX 5000
    "RTX4000": (8,),  # Quadro RTX 4000
    "P6000": (24,),
    "P5000": (16,),
    "P4000": (8,),
    "M4000": (8,),
}

#: words that name a vendor, a product line or a form factor, not a GPU model
_NOISE = {"NVIDIA", "TESLA", "QUADRO", "GPU", "PCIE", "SXM", "SXM2", "SXM4", "SXM5", "SXM6"}
#: spellings (after noise is removed and words are joined) that mean another family
_ALIASES = {"RTXA6000": "A6000", "RTXA5000": "A5000", "RTXA4000": "A4000", "H100NVL": "H100"}
_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)G[B]?$")
_ACCELERATOR = re.compile(r"^\s*([A-Za-z0-9 _.\-]+?)\s*(?::\s*(\d+)\s*)?$")


@dataclass(frozen=True)
class GpuId:
    """A GPU named in any platform's spelling, reduced to a family and a memory size."""

    family: str
    memory_gb: float | None = None

    @property
    def variant_memory_gb(self) -> float:
        """The memory given, else the family's default size."""
        return self.memory_gb if self.memory_gb is not None else GPU_MEMORY_GB[self.family][0]

    def __str__(self) -> str:
        return self.family if self.memory_gb is None else f"{self.family}-{self.memory_gb:g}GB"


def identify(name: str | None) -> GpuId | None:
    """The GPU a platform's name means, or None when it is not a known GPU model.

    >>> identify("A100 80GB PCIe")
    GpuId(family='A100', memory_gb=80.0)
    >>> identify("NVIDIA_H100_80GB")
    GpuId(family='H100', memory_gb=80.0)
    """
    if not name:
        return None
    words = re.split(r"[\s_\-/]+", name.strip().upper())
    memory: float | None = None
    kept = []
    for word in words:
        match = _MEMORY.match(word)
        if match:
            memory = float(match.group(1))
        elif word == "NVL":
            memory = memory if memory is not None else 94.0
        elif word == "MEGA":  # Vertex's NVIDIA_H100_MEGA_80GB is an H100 80 GB
            continue
        elif word and word not in _NOISE:
            kept.append(word)
    joined = "".join(kept)
    family = _ALIASES.get(joined, joined)
    if family not in GPU_MEMORY_GB:
        return None
    return GpuId(family, memory)


def memory_matches(gpu_type: str | None, memory_gb: float | None) -> bool | None:
    """Whether ``memory_gb`` per GPU is a size ``gpu_type`` is sold with (None: unknown type)."""
    gpu = identify(gpu_type)
    if gpu is None or memory_gb is None:
        return None
    if gpu.memory_gb is not None:
        return gpu.memory_gb == memory_gb
    return memory_gb in GPU_MEMORY_GB[gpu.family]


@dataclass(frozen=True)
class Accelerator:
    """A portable accelerator request: at least ``count`` GPUs of ``gpu`` (``"A100-80GB:2"``)."""

    gpu: GpuId
    count: int = 1

    def accepts(self, gpu_type: str | None, memory_gb: float | None, count: int | None) -> bool:
        """Whether an instance with ``count`` GPUs of ``gpu_type`` satisfies the request."""
        found = identify(gpu_type)
        if found is None or found.family != self.gpu.family or not count or count < self.count:
            return False
        if self.gpu.memory_gb is None:
            return True
        have = memory_gb if memory_gb is not None else found.memory_gb
        return have is not None and have >= self.gpu.memory_gb

    def __str__(self) -> str:
        return f"{self.gpu}:{self.count}"


def parse_accelerator(text: str, *, field_name: str = "accelerator") -> Accelerator:
    """Parse ``"L4"``, ``"A100-80GB:2"`` or ``"H100:8"`` (ConfigError naming the field)."""
    allowed = (
        f"'<GPU>[-<memory>GB][:<count>]' such as 'L4', 'A100-80GB:2' or 'H100:8';"
        f" known GPUs: {', '.join(sorted(GPU_MEMORY_GB))}"
    )
    if not isinstance(text, str):
        raise ConfigError(f"{field_name}: expected a string {allowed}, got {text!r}")
    match = _ACCELERATOR.match(text)
    if not match:
        raise ConfigError(f"{field_name}: cannot read {text!r}; expected {allowed}")
    gpu = identify(match.group(1))
    if gpu is None:
        raise ConfigError(f"{field_name}: unknown GPU {match.group(1)!r} in {text!r}; {allowed}")
    if gpu.memory_gb is not None and gpu.memory_gb not in GPU_MEMORY_GB[gpu.family]:
        sizes = ", ".join(f"{size:g}GB" for size in GPU_MEMORY_GB[gpu.family])
        raise ConfigError(
            f"{field_name}: {gpu.family} is not sold with {gpu.memory_gb:g} GB in {text!r};"
            f" sizes: {sizes}"
        )
    count = int(match.group(2)) if match.group(2) is not None else 1
    if count < 1:
        raise ConfigError(f"{field_name}: the GPU count in {text!r} must be at least 1")
    return Accelerator(gpu, count)
