"""Write cassettes/live_prices/*.yaml for test_sagemaker_live_prices.py (run: python providers/sagemaker/tests/make_live_price_cassettes.py)."""

import json
from pathlib import Path

import yaml

HERE = Path(__file__).parent / "cassettes" / "live_prices"


def product(
    sku,
    name,
    region,
    location,
    usd,
    *,
    plato="Hosting",
    usagetype_prefix="USE1",
    unit="Hrs",
    gpu="1",
    vcpu="4",
    mem="16 GiB",
):
    code = "JRTCKXETXF"
    rate = "6YS6EN2CT7"
    return json.dumps(
        {
            "product": {
                "productFamily": "ML Instance",
                "attributes": {
                    "regionCode": region,
                    "servicecode": "AmazonSageMaker",
                    "location": location,
                    "locationType": "AWS Region",
                    "instanceName": name,
                    "instanceType": f"{name}-{plato}",
                    "platoinstancetype": plato,
                    "platoinstancename": name.split(".", 1)[1].replace(".", "-"),
                    "usagetype": f"{usagetype_prefix}-{'Host' if plato == 'Hosting' else plato}:{name}",
                    "operation": "RunInstance",
                    "vCpu": vcpu,
                    "memory": mem,
                    "gpu": gpu,
                    "computeType": "GPU",
                    "servicename": "Amazon SageMaker",
                    "currentGeneration": "Yes",
                },
                "sku": sku,
            },
            "serviceCode": "AmazonSageMaker",
            "terms": {
                "OnDemand": {
                    f"{sku}.{code}": {
                        "priceDimensions": {
                            f"{sku}.{code}.{rate}": {
                                "unit": unit,
                                "endRange": "Inf",
                                "description": f"${usd} per {plato} {name} in {location}",
                                "appliesTo": [],
                                "rateCode": f"{sku}.{code}.{rate}",
                                "beginRange": "0",
                                "pricePerUnit": {"USD": f"{usd:.10f}"},
                            }
                        },
                        "sku": sku,
                        "effectiveDate": "2026-11-01T00:00:00Z",
                        "offerTermCode": code,
                        "termAttributes": {},
                    }
                }
            },
            "version": "20261101000000",
            "publicationDate": "2026-11-01T00:00:00Z",
        },
        separators=(",", ":"),
    )


page1 = {
    "FormatVersion": "aws_v1",
    "NextToken": "eyJsYXN0IjoiMTAwIn0=",
    "PriceList": [
        product("2ZN2QMRD7TNRXDWH", "ml.g5.xlarge", "us-east-1", "US East (N. Virginia)", 1.408),
        product("8GZ4KQ3W5TQ9B3XR", "ml.g5.xlarge", "eu-west-1", "EU (Ireland)", 1.57),
        product(
            "C7T9HZ6QJ8X2MV4N",
            "ml.p4d.24xlarge",
            "us-east-1",
            "US East (N. Virginia)",
            37.688,
            gpu="8",
            vcpu="96",
            mem="1152 GiB",
        ),
    ],
}
page2 = {
    "FormatVersion": "aws_v1",
    "PriceList": [
        product(
            "K4N8WQ2R7XTB6Z1M",
            "ml.g6.xlarge",
            "us-west-2",
            "US West (Oregon)",
            0.0,
            usagetype_prefix="USW2",
        ),
        product(
            "R9D3MV6H2QK8T5XA",
            "ml.g6e.2xlarge",
            "us-west-2",
            "US West (Oregon)",
            2.8,
            usagetype_prefix="USW2",
        ),
    ],
}
header = """# live_prices/get_products: two pages of pricing.get_products(ServiceCode="AmazonSageMaker")
# answers, replayed through botocore's Stubber (which checks each against the service model).
#
# Shape: botocore's pricing service model (data/pricing/2017-10-15/service-2.json,
# GetProductsResponse: FormatVersion, PriceList (a list of JSON strings, the "aws_v1"
# product document), NextToken) and the AWS Price List product format documented at
# https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/price-list-query-api.html:
# {"product": {"productFamily", "attributes", "sku"}, "serviceCode", "terms": {"OnDemand":
# {<sku.offerTermCode>: {"priceDimensions": {<rateCode>: {"unit", "pricePerUnit": {"USD"}}}}}},
# "version", "publicationDate"}; SageMaker attributes instanceName, regionCode, location,
# platoinstancetype ("Hosting" = real-time inference) as the public SageMaker offer file
# carries them. Written by hand (no public recordings); the figures are test samples, and the
# $0 ml.g6.xlarge row stands for the Price List's free-tier placeholders.
"""
(HERE / "get_products.yaml").write_text(
    header + yaml.safe_dump({"pages": [page1, page2]}, sort_keys=False, width=100000)
)
