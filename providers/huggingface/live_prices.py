"""Inference Endpoints' live list prices: the public catalog ``GET /v2/provider``.

The catalog (no token needed) lists ``vendors[].regions[].computes[]``; each compute has
an ``id`` ("<vendor>-<region>-<instanceType>-<instanceSize>", the key hostkit prices an
endpoint by) and ``pricePerHour`` in USD per replica-hour. The router half's per-token
prices are not part of it (they come from the router's model list at call time).
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING

from hostkit.adapters import PriceRow

from .endpoints import _computes

if TYPE_CHECKING:
    from .provider import HuggingFaceProvider

__all__ = ["fetch_live_prices"]


def _describe(compute: dict[str, object]) -> str:
    gpus = compute.get("numAccelerators")
    kind = compute.get("architecture") or compute.get("instanceType")
    where = f"{compute.get('vendor')}/{compute.get('region')}"
    if compute.get("accelerator") == "gpu" and gpus:
        return f"{gpus}x {kind} ({compute.get('gpuMemoryGb')} GB) in {where}"
    return f"{compute.get('numCpus')} vCPU {kind} in {where}"


def fetch_live_prices(provider: HuggingFaceProvider) -> list[PriceRow]:
    """One row per compute of the public catalog that has a price."""
    endpoints = provider.endpoints
    url = f"{endpoints.api_url}/provider"
    computes = _computes(endpoints._send("GET", url, authenticated=False), url)
    today = _dt.date.today().isoformat()
    rows = []
    for compute in computes:
        price = compute.get("pricePerHour")
        key = compute.get("id")
        if not key or isinstance(price, bool) or not isinstance(price, int | float) or price < 0:
            continue
        rows.append(
            PriceRow(
                key=str(key),
                source=url,
                as_of=today,
                usd_per_hour=float(price),
                unit="USD per replica-hour",
                notes=_describe(compute),
            )
        )
    return rows
