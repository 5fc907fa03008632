"""Write cassettes/live_prices/*.yaml for test_azureml_live_prices.py (run: python providers/azureml/tests/make_live_price_cassettes.py)."""

import json
from pathlib import Path
from urllib.parse import urlencode

import yaml
from hostkit_providers.azureml.live_prices import PRICES_URL, retail_filter

from hostkit.adapters import load_hardware

HERE = Path(__file__).parent / "cassettes" / "live_prices"
sizes = set(load_hardware(Path(__file__).parents[1] / "hardware.toml"))
flt = retail_filter(sizes)
first = PRICES_URL + "?" + urlencode({"$filter": flt})
nxt = (
    "https://prices.azure.com:443/api/retail/prices?" + urlencode({"$filter": flt}) + "&%24skip=100"
)


def item(
    sku,
    region,
    location,
    price,
    *,
    product="NC A100 v4 Series",
    meter=None,
    start="2023-07-01T00:00:00Z",
    typ="Consumption",
    skuname=None,
):
    short = sku.removeprefix("Standard_").replace("_", " ")
    return {
        "currencyCode": "USD",
        "tierMinimumUnits": 0.0,
        "retailPrice": price,
        "unitPrice": price,
        "armRegionName": region,
        "location": location,
        "effectiveStartDate": start,
        "meterId": "00000000-0000-0000-0000-00000000%04d" % int(price * 1000 % 10000),
        "meterName": meter or short,
        "productId": "DZH318Z08M22",
        "skuId": "DZH318Z08M22/00" + region[:2].upper(),
        "productName": product,
        "skuName": skuname or short,
        "serviceName": "Virtual Machines",
        "serviceId": "DZH313Z7MMC8",
        "serviceFamily": "Compute",
        "unitOfMeasure": "1 Hour",
        "type": typ,
        "isPrimaryMeterRegion": True,
        "armSkuName": sku,
    }


page1 = [
    item("Standard_NC24ads_A100_v4", "eastus", "US East", 3.673),
    item(
        "Standard_NC24ads_A100_v4",
        "eastus",
        "US East",
        0.7346,
        meter="NC24ads A100 v4 Spot",
        skuname="NC24ads A100 v4 Spot",
    ),
    item(
        "Standard_NC24ads_A100_v4",
        "eastus",
        "US East",
        0.3673,
        meter="NC24ads A100 v4 Low Priority",
        skuname="NC24ads A100 v4 Low Priority",
    ),
    item(
        "Standard_NC24ads_A100_v4", "eastus", "US East", 3.857, product="NC A100 v4 Series Windows"
    ),
    item("Standard_NC24ads_A100_v4", "westeurope", "EU West", 4.039),
]
page2 = [
    item(
        "Standard_NC40ads_H100_v5",
        "eastus",
        "US East",
        6.98,
        product="NCadsH100v5 Series",
        start="2024-01-01T00:00:00Z",
    ),
    item(
        "Standard_NC40ads_H100_v5",
        "eastus",
        "US East",
        7.20,
        product="NCadsH100v5 Series",
        start="2023-10-01T00:00:00Z",
    ),
    item("Standard_NV36ads_A10_v5", "eastus", "US East", 3.20, product="NVadsA10 v5 Series"),
]


def body(items, link):
    return json.dumps(
        {
            "BillingCurrency": "USD",
            "CustomerEntityId": "Default",
            "CustomerEntityType": "Retail",
            "Items": items,
            "NextPageLink": link,
            "Count": len(items),
        }
    )


def exchange(uri, status, text):
    return {
        "request": {
            "method": "GET",
            "uri": uri,
            "body": "",
            "headers": {"accept": ["*/*"], "user-agent": ["hostkit"]},
        },
        "response": {
            "status": {"code": status, "message": {200: "OK", 503: "Service Unavailable"}[status]},
            "headers": {
                "Content-Type": ["application/json; charset=utf-8"],
                "Date": ["Wed, 02 Dec 2026 09:30:00 GMT"],
                "x-ms-request-id": ["5c0a8d9e-0000-4000-8000-00000000%04d" % status],
            },
            "body": {"string": text},
        },
    }


HDR = """# Wire format: the Azure Retail Prices REST API (https://learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices):
# GET https://prices.azure.com/api/retail/prices?$filter=<OData>, no authentication; the
# answer {"BillingCurrency", "CustomerEntityId", "CustomerEntityType", "Items": [{"currencyCode",
# "tierMinimumUnits", "retailPrice", "unitPrice", "armRegionName", "location",
# "effectiveStartDate", "meterId", "meterName", "productId", "skuId", "productName", "skuName",
# "serviceName", "serviceId", "serviceFamily", "unitOfMeasure", "type", "isPrimaryMeterRegion",
# "armSkuName"}], "NextPageLink", "Count"} with 100 items a page and NextPageLink carrying
# $skip, as the docs' sample responses show. Written by hand in the format vcrpy records;
# the request's $filter is the one live_prices.retail_filter builds from hardware.toml.
# Prices here are sample figures for the test, not quotes.
"""


def write(name, intro, interactions):
    text = (
        intro
        + "#\n"
        + HDR
        + yaml.safe_dump({"version": 1, "interactions": interactions}, sort_keys=False, width=4000)
    )
    (HERE / f"{name}.yaml").write_text(text)


write(
    "retail_prices",
    "# live_prices/retail_prices: two pages of VM prices (Linux, Windows, Spot, Low Priority).\n",
    [exchange(first, 200, body(page1, nxt)), exchange(nxt, 200, body(page2, None))],
)
write(
    "retail_prices_5xx",
    "# live_prices/retail_prices_5xx: the API is down (503, max_retries = 0): the refresh fails.\n",
    [
        exchange(
            first,
            503,
            json.dumps(
                {
                    "Error": {
                        "Code": "ServiceUnavailable",
                        "Message": "The service is temporarily unavailable.",
                    }
                }
            ),
        )
    ],
)
