"""Azure's live list prices: the public Azure Retail Prices API (no credential).

``GET https://prices.azure.com/api/retail/prices?$filter=...`` answers
``{"Items": [...], "NextPageLink": ..., "Count": ...}`` 100 items a page; hostkit asks for
the VM sizes of ``hardware.toml`` (a managed online deployment is billed as its VMs):
``serviceName eq 'Virtual Machines' and priceType eq 'Consumption'``, and keeps the
Linux (``productName`` without "Windows"), pay-as-you-go meters (not "Spot" or
"Low Priority") priced per ``1 Hour`` in USD. One row per VM size and ``armRegionName``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from hostkit.adapters import HttpClient, PriceRow
from hostkit.errors import ProviderError

if TYPE_CHECKING:
    from .provider import AzureMLProvider

__all__ = ["PRICES_URL", "fetch_live_prices", "retail_filter"]

PRICES_URL = "https://prices.azure.com/api/retail/prices"
#: a guard against a NextPageLink loop (the VM sizes hostkit knows fit in a few pages)
MAX_PAGES = 50


def retail_filter(sizes: Iterable[str]) -> str:
    """The OData ``$filter`` for the on-demand prices of ``sizes``."""
    names = " or ".join(f"armSkuName eq '{size}'" for size in sorted(sizes))
    return f"serviceName eq 'Virtual Machines' and priceType eq 'Consumption' and ({names})"


def _wanted(item: Mapping[str, Any], sizes: set[str]) -> bool:
    meter = f"{item.get('meterName', '')} {item.get('skuName', '')}"
    return (
        item.get("armSkuName") in sizes
        and item.get("type") == "Consumption"
        and item.get("currencyCode", "USD") == "USD"
        and item.get("unitOfMeasure") == "1 Hour"
        and "windows" not in str(item.get("productName", "")).lower()
        and "spot" not in meter.lower()
        and "low priority" not in meter.lower()
        and isinstance(item.get("retailPrice"), int | float)
        and bool(item.get("armRegionName"))
    )


def _items(client: HttpClient, sizes: set[str]) -> Iterable[Mapping[str, Any]]:
    response = client.request("GET", PRICES_URL, params={"$filter": retail_filter(sizes)})
    for _ in range(MAX_PAGES):
        page = response.json()
        if not isinstance(page, Mapping) or not isinstance(page.get("Items"), list):
            raise ProviderError(
                f"unexpected answer from {PRICES_URL}: {response.text[:200]}", provider="azureml"
            )
        yield from (item for item in page["Items"] if isinstance(item, Mapping))
        link = page.get("NextPageLink")
        if not link:
            return
        response = client.request("GET", str(link))
    raise ProviderError(f"{PRICES_URL}: more than {MAX_PAGES} pages", provider="azureml")


def fetch_live_prices(provider: AzureMLProvider) -> list[PriceRow]:
    """Linux pay-as-you-go USD per hour of every known VM size, per Azure region."""
    sizes = set(provider.hardware)
    client = HttpClient(
        provider=provider.name, base_url=PRICES_URL, retry=provider.retry, timeout=provider.timeout
    )
    today = _dt.date.today().isoformat()
    best: dict[tuple[str, str], Mapping[str, Any]] = {}
    try:
        for item in _items(client, sizes):
            if not _wanted(item, sizes):
                continue
            place = (str(item["armSkuName"]), str(item["armRegionName"]))
            kept = best.get(place)
            if kept is None or str(item.get("effectiveStartDate", "")) > str(
                kept.get("effectiveStartDate", "")
            ):
                best[place] = item
    finally:
        client.close()
    return [
        PriceRow(
            key=size,
            region=region,
            source=PRICES_URL,
            as_of=today,
            usd_per_hour=float(item["retailPrice"]),
            notes=f"{item.get('productName')}, meter {item.get('meterName')!r},"
            f" {item.get('location')}, Linux pay as you go",
        )
        for (size, region), item in sorted(best.items())
    ]
