"""Write cassettes/live_prices/*.yaml for test_vertex_live_prices.py (run: python providers/vertex/tests/make_live_price_cassettes.py)."""

import json
from pathlib import Path
from urllib.parse import urlencode

import yaml

HERE = Path(__file__).parent / "cassettes" / "live_prices"
URL = "https://cloudbilling.googleapis.com/v1/services/C7E2-9256-1C43/skus"


def sku(
    sku_id, description, group, regions, units, nanos, unit="h", usage="OnDemand", unit_desc="hour"
):
    return {
        "name": f"services/C7E2-9256-1C43/skus/{sku_id}",
        "skuId": sku_id,
        "description": description,
        "category": {
            "serviceDisplayName": "Vertex AI",
            "resourceFamily": "Compute",
            "resourceGroup": group,
            "usageType": usage,
        },
        "serviceRegions": regions,
        "pricingInfo": [
            {
                "summary": "",
                "pricingExpression": {
                    "usageUnit": unit,
                    "displayQuantity": 1,
                    "tieredRates": [
                        {
                            "startUsageAmount": 0,
                            "unitPrice": {
                                "currencyCode": "USD",
                                "units": str(units),
                                "nanos": nanos,
                            },
                        }
                    ],
                    "usageUnitDescription": unit_desc,
                    "baseUnit": "s" if unit == "h" else "By.s",
                    "baseUnitDescription": "second" if unit == "h" else "byte second",
                    "baseUnitConversionFactor": 3600 if unit == "h" else 3865470566400,
                },
                "currencyConversionRate": 1,
                "effectiveTime": "2026-11-30T08:00:00.000Z",
            }
        ],
        "serviceProviderName": "Google",
        "geoTaxonomy": {"type": "REGIONAL", "regions": regions},
    }


page1 = {
    "skus": [
        sku(
            "AE9C-DB60-DF46",
            "Vertex AI: Online/Batch Prediction Nvidia H100 80gb GPU running in Iowa",
            "GPU",
            ["us-central1"],
            11,
            266033200,
        ),
        sku(
            "A002-4323-D900",
            "Vertex AI: Online/Batch Prediction A3 Predefined Instance Core running in Iowa",
            "CPU",
            ["us-central1"],
            0,
            29322700,
        ),
        sku(
            "2424-9F04-82A8",
            "Vertex AI: Online/Batch Prediction A3 Predefined Instance Ram running in Iowa",
            "RAM",
            ["us-central1"],
            0,
            2553400,
            unit="GiBy.h",
            unit_desc="gibibyte hour",
        ),
        sku(
            "5B1E-7C2D-3A40",
            "Vertex AI: Online/Batch Prediction Nvidia H100 80gb GPU running in Iowa (Spot)",
            "GPU",
            ["us-central1"],
            3,
            379000000,
            usage="Preemptible",
        ),
        sku(
            "6C2F-8D3E-4B51",
            "Vertex AI: Custom model training Nvidia H100 80gb GPU running in Iowa",
            "GPU",
            ["us-central1"],
            9,
            796576000,
        ),
    ],
    "nextPageToken": "CgwI2q6RvgYQ8N2PpwMSH",
}
page2 = {
    "skus": [
        sku(
            "7D30-9E4F-5C62",
            "Vertex AI: Online/Batch Prediction Nvidia L4 GPU running in Netherlands",
            "GPU",
            ["europe-west4"],
            0,
            644000000,
        ),
        sku(
            "8E41-AF50-6D73",
            "Vertex AI: Online/Batch Prediction G2 Instance Core running in Netherlands",
            "CPU",
            ["europe-west4"],
            0,
            28000000,
        ),
        sku(
            "9F52-B061-7E84",
            "Vertex AI: Online/Batch Prediction G2 Instance Ram running in Netherlands",
            "RAM",
            ["europe-west4"],
            0,
            3300000,
            unit="GiBy.h",
            unit_desc="gibibyte hour",
        ),
    ],
    "nextPageToken": "",
}
first = URL + "?" + urlencode({"currencyCode": "USD", "pageSize": 5000})
second = (
    URL
    + "?"
    + urlencode({"currencyCode": "USD", "pageSize": 5000, "pageToken": page1["nextPageToken"]})
)


def exchange(uri, status, body, message="OK"):
    return {
        "request": {
            "method": "GET",
            "uri": uri,
            "body": "",
            "headers": {"accept": ["application/json"], "x-goog-api-key": ["REDACTED"]},
        },
        "response": {
            "status": {"code": status, "message": message},
            "headers": {
                "Content-Type": ["application/json; charset=UTF-8"],
                "Date": ["Wed, 02 Dec 2026 09:40:00 GMT"],
                "Vary": ["Origin, X-Origin, Referer"],
                "Server": ["ESF"],
            },
            "body": {"string": json.dumps(body)},
        },
    }


HDR = """# Wire format: the Cloud Billing Catalog API v1 (discovery document cloudbilling v1,
# https://cloud.google.com/billing/docs/reference/rest/v1/services.skus/list):
# GET /v1/services/{serviceId}/skus?currencyCode&pageSize&pageToken answers {"skus": [Sku],
# "nextPageToken"}; Sku = {name, skuId, description, category {serviceDisplayName,
# resourceFamily, resourceGroup, usageType}, serviceRegions, pricingInfo [{summary,
# pricingExpression {usageUnit, displayQuantity, tieredRates [{startUsageAmount, unitPrice
# {currencyCode, units, nanos}}], usageUnitDescription, baseUnit, baseUnitDescription,
# baseUnitConversionFactor}, currencyConversionRate, effectiveTime}], serviceProviderName,
# geoTaxonomy}; errors are Google's {"error": {code, message, status, details}}. Vertex AI is
# service C7E2-9256-1C43. The Iowa SKU ids, descriptions and prices are those quoted in
# prices.toml (AE9C-DB60-DF46, A002-4323-D900, 2424-9F04-82A8); the other SKUs and all
# europe-west4 figures are test samples. Written by hand in the format vcrpy records; the
# API key travels in the x-goog-api-key header and appears only as REDACTED.
"""


def write(name, intro, interactions):
    (HERE / f"{name}.yaml").write_text(
        intro
        + "#\n"
        + HDR
        + yaml.safe_dump(
            {"version": 1, "interactions": interactions}, sort_keys=False, width=100000
        )
    )


write(
    "skus",
    "# live_prices/skus: two pages of Vertex AI SKUs (prediction, Spot and training ones).\n",
    [exchange(first, 200, page1), exchange(second, 200, page2)],
)
write(
    "skus_403",
    "# live_prices/skus_403: the key's project has the Cloud Billing API disabled.\n",
    [
        exchange(
            first,
            403,
            {
                "error": {
                    "code": 403,
                    "message": "Cloud Billing API has not been used in project 000000000000 before or it is disabled.",
                    "status": "PERMISSION_DENIED",
                    "details": [
                        {
                            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": "SERVICE_DISABLED",
                            "domain": "googleapis.com",
                            "metadata": {"service": "cloudbilling.googleapis.com"},
                        }
                    ],
                }
            },
            "Forbidden",
        )
    ],
)
write(
    "skus_5xx",
    "# live_prices/skus_5xx: the API is unavailable (503, max_retries = 0).\n",
    [
        exchange(
            first,
            503,
            {
                "error": {
                    "code": 503,
                    "message": "The service is currently unavailable.",
                    "status": "UNAVAILABLE",
                }
            },
            "Service Unavailable",
        )
    ],
)
