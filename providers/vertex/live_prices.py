"""Vertex AI's live list prices: the Cloud Billing Catalog API (an API key).

``GET https://cloudbilling.googleapis.com/v1/services/C7E2-9256-1C43/skus`` lists the
Vertex AI service's SKUs (``{"skus": [...], "nextPageToken"}``). Vertex bills a deployed
model per node-hour as the machine's vCPUs and RAM plus its GPUs, one SKU each per region:

* ``Vertex AI: Online/Batch Prediction A3 Predefined Instance Core running in Iowa``
  (usageUnit ``h``, per vCPU) and ``... Instance Ram running in ...`` (``GiBy.h``, per GB);
* ``Vertex AI: Online/Batch Prediction Nvidia H100 80gb GPU running in Iowa`` (``h``).

Only ``OnDemand`` SKUs are read; the region is each SKU's ``serviceRegions``; a price is
``units + nanos / 1e9`` USD of the tier that starts at 0. hostkit writes the machine part
of every machine type in ``hardware.toml`` (vCPUs x core price + GB x RAM price, for the
family's SKUs: "a3-highgpu-1g" -> A3) and one row per GPU named as Vertex's
AcceleratorType ("NVIDIA_H100_80GB", unit "GPU-hour"), as the shipped table does.

The key comes from the ``billing_api_key`` setting or ``GOOGLE_CLOUD_BILLING_API_KEY``
(an API key with the Cloud Billing API enabled); it is sent in the ``x-goog-api-key``
header, never in the URL, and masked in errors and logs.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hostkit.adapters import HttpClient, PriceRow, Secret
from hostkit.errors import AuthenticationError, ProviderError

if TYPE_CHECKING:
    from .provider import VertexProvider

__all__ = ["KEY_ENV", "SERVICE", "SKUS_URL", "accelerator_name", "fetch_live_prices"]

BILLING_URL = "https://cloudbilling.googleapis.com"
#: Vertex AI's service in the Cloud Billing Catalog
SERVICE = "services/C7E2-9256-1C43"
SKUS_URL = f"{BILLING_URL}/v1/{SERVICE}/skus"
KEY_ENV = "GOOGLE_CLOUD_BILLING_API_KEY"
MAX_PAGES = 100
_PREFIX = r"^Vertex AI: Online/Batch Prediction "
_MACHINE = re.compile(
    _PREFIX + r"(?P<family>[A-Z][A-Z0-9]*) (?:Predefined )?Instance (?P<part>Core|Ram) running in "
)
_GPU = re.compile(_PREFIX + r"(?P<gpu>Nvidia .+?) GPU running in ")
_UNITS = {"Core": "h", "Ram": "GiBy.h", "GPU": "h"}
HOST_UNIT = "node-hour, machine part (vCPUs and RAM, GPUs priced separately)"


def accelerator_name(description: str) -> str:
    """Vertex's AcceleratorType for a SKU's GPU words: "Nvidia Tesla T4" -> NVIDIA_TESLA_T4."""
    return "_".join(description.upper().split())


def _api_key(provider: VertexProvider) -> str:
    key = provider.setting("billing_api_key") or os.environ.get(KEY_ENV)
    if not key:
        raise AuthenticationError(
            "the Cloud Billing Catalog API needs an API key: set billing_api_key under"
            f" [providers.vertex] in hostkit.toml or the {KEY_ENV} environment variable"
            " (an API key of a project with the Cloud Billing API enabled)",
            provider=provider.name,
        )
    Secret(str(key))  # masked in hostkit's errors and logs from now on
    return str(key)


def _skus(client: HttpClient) -> Iterator[Mapping[str, Any]]:
    params: dict[str, Any] = {"currencyCode": "USD", "pageSize": 5000}
    for _ in range(MAX_PAGES):
        page = client.request("GET", SKUS_URL, params=params).json()
        if not isinstance(page, Mapping) or not isinstance(page.get("skus", []), list):
            raise ProviderError(f"unexpected answer from {SKUS_URL}", provider="vertex")
        yield from (sku for sku in page.get("skus", []) if isinstance(sku, Mapping))
        token = page.get("nextPageToken")
        if not token:
            return
        params = {**params, "pageToken": token}
    raise ProviderError(f"{SKUS_URL}: more than {MAX_PAGES} pages", provider="vertex")


def _unit_price(sku: Mapping[str, Any], unit: str) -> float | None:
    """USD per ``unit`` of the SKU's first tier, or None when it is priced otherwise."""
    for info in sku.get("pricingInfo") or []:
        expression = info.get("pricingExpression") or {}
        if expression.get("usageUnit") != unit:
            return None
        for tier in expression.get("tieredRates") or []:
            price = tier.get("unitPrice") or {}
            if float(tier.get("startUsageAmount") or 0) == 0 and price.get("currencyCode") == "USD":
                return int(price.get("units") or 0) + int(price.get("nanos") or 0) / 1e9
    return None


def _read(skus: Iterator[Mapping[str, Any]]) -> dict[tuple[str, str, str], tuple[float, str]]:
    """(kind, name, region) -> (USD per unit, SKU id); kind is Core, Ram or GPU."""
    found: dict[tuple[str, str, str], tuple[float, str]] = {}
    for sku in skus:
        if (sku.get("category") or {}).get("usageType") != "OnDemand":
            continue
        description = str(sku.get("description", ""))
        if machine := _MACHINE.match(description):
            kind, name = machine["part"], machine["family"]
        elif gpu := _GPU.match(description):
            kind, name = "GPU", accelerator_name(gpu["gpu"])
        else:
            continue
        price = _unit_price(sku, _UNITS[kind])
        if price is None:
            continue
        for region in sku.get("serviceRegions") or []:
            found[(kind, name, str(region))] = (price, str(sku.get("skuId", "")))
    return found


def fetch_live_prices(provider: VertexProvider) -> list[PriceRow]:
    """Machine parts of the known machine types and per-GPU prices, per region."""
    key = _api_key(provider)
    client = HttpClient(
        provider=provider.name,
        base_url=BILLING_URL,
        retry=provider.retry,
        timeout=provider.timeout,
        headers=lambda: {"x-goog-api-key": key, "accept": "application/json"},
    )
    try:
        prices = _read(_skus(client))
    finally:
        client.close()
    today = _dt.date.today().isoformat()
    rows: list[PriceRow] = []
    regions = sorted({region for (_, _, region) in prices})
    for region in regions:
        for name, hardware in sorted(provider.hardware.items()):
            family = name.split("-", 1)[0].upper()
            core = prices.get(("Core", family, region))
            ram = prices.get(("Ram", family, region))
            if core is None or ram is None or not hardware.vcpus or not hardware.ram_gb:
                continue
            usd = hardware.vcpus * core[0] + hardware.ram_gb * ram[0]
            rows.append(
                PriceRow(
                    key=name,
                    region=region,
                    source=SKUS_URL,
                    as_of=today,
                    usd_per_hour=round(usd, 7),
                    unit=HOST_UNIT,
                    notes=f"{hardware.vcpus} vCPU x ${core[0]:g} (SKU {core[1]}) +"
                    f" {hardware.ram_gb:g} GB x ${ram[0]:g} (SKU {ram[1]}), on demand",
                )
            )
        for (kind, name, where), (usd, sku_id) in sorted(prices.items()):
            if kind == "GPU" and where == region:
                rows.append(
                    PriceRow(
                        key=name,
                        region=region,
                        source=SKUS_URL,
                        as_of=today,
                        usd_per_hour=usd,
                        unit="GPU-hour",
                        notes=f"SKU {sku_id}, on demand, per GPU",
                    )
                )
    return rows
