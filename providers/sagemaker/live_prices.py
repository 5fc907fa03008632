"""SageMaker's live list prices: the AWS Price List Query API (boto3 ``pricing``).

``pricing.get_products(ServiceCode="AmazonSageMaker", Filters=[...])`` with
``productFamily = "ML Instance"``, ``platoinstancetype = "Hosting"`` (real-time inference
endpoints) and ``instanceName`` any of the instance types in ``hardware.toml``; the
answer's ``PriceList`` holds one JSON document per product (``product.attributes`` with
``instanceName`` and ``regionCode``; ``terms.OnDemand.*.priceDimensions.*`` with
``unit = "Hrs"`` and ``pricePerUnit.USD``), paged with ``NextToken``. The Price List API
answers from us-east-1 whatever region the endpoints are in; it needs AWS credentials
(``pricing:GetProducts``). One row per instance type and region.

Without AWS credentials (or without boto3) the same prices are read from AWS's public
offer files instead, which need no signing (offer_files.py): the current SageMaker file of
the provider's region (``region`` setting, else us-east-1), streamed.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hostkit.adapters import PriceRow
from hostkit.errors import AuthenticationError, DependencyMissing, ProviderError

if TYPE_CHECKING:
    from .provider import SageMakerProvider

__all__ = [
    "PRICING_REGION",
    "SOURCE",
    "fetch_live_prices",
    "filters",
    "has_credentials",
    "pricing_client",
]

PRICING_REGION = "us-east-1"
#: the Price List Query API endpoint (GetProducts, ServiceCode AmazonSageMaker)
SOURCE = "https://api.pricing.us-east-1.amazonaws.com"
MAX_PAGES = 200


def filters(instance_types: list[str]) -> list[dict[str, str]]:
    """The GetProducts filters for on-demand real-time inference of ``instance_types``."""
    return [
        {"Type": "TERM_MATCH", "Field": "productFamily", "Value": "ML Instance"},
        {"Type": "TERM_MATCH", "Field": "platoinstancetype", "Value": "Hosting"},
        {"Type": "ANY_OF", "Field": "instanceName", "Value": ",".join(sorted(instance_types))},
    ]


def pricing_client(provider: SageMakerProvider) -> Any:
    """A ``pricing`` client in us-east-1 from the provider's session (built once)."""
    client = provider._clients.get("pricing")
    if client is not None:
        return client
    session = provider._boto_session()
    if provider.call(session.get_credentials) is None:
        raise AuthenticationError(
            "no AWS credentials found for the AWS Price List API (pricing:GetProducts)",
            provider=provider.name,
        )
    config = provider.import_sdk("botocore.config").Config(
        retries={"total_max_attempts": 1, "mode": "standard"}, user_agent_extra="hostkit"
    )
    client = provider.call(
        lambda: session.client("pricing", region_name=PRICING_REGION, config=config)
    )
    provider._clients["pricing"] = client
    return client


def _products(provider: SageMakerProvider, client: Any) -> Iterator[Mapping[str, Any]]:
    request: dict[str, Any] = {
        "ServiceCode": "AmazonSageMaker",
        "Filters": filters(list(provider.hardware)),
        "FormatVersion": "aws_v1",
        "MaxResults": 100,
    }
    for _ in range(MAX_PAGES):
        page = provider.call(lambda asked=request: client.get_products(**asked))
        for text in page.get("PriceList") or []:
            try:
                yield json.loads(text)
            except (TypeError, ValueError) as error:
                raise ProviderError(
                    f"malformed PriceList entry from the AWS Price List API: {error}",
                    provider=provider.name,
                ) from None
        token = page.get("NextToken")
        if not token:
            return
        request = {**request, "NextToken": token}
    raise ProviderError(f"AWS Price List API: more than {MAX_PAGES} pages", provider=provider.name)


def _hourly_usd(document: Mapping[str, Any]) -> float | None:
    for term in (document.get("terms", {}).get("OnDemand") or {}).values():
        for dimension in (term.get("priceDimensions") or {}).values():
            usd = (dimension.get("pricePerUnit") or {}).get("USD")
            if dimension.get("unit") == "Hrs" and usd is not None:
                try:
                    return float(usd)
                except ValueError:
                    return None
    return None


def has_credentials(provider: SageMakerProvider) -> bool:
    """Whether the provider's AWS credential chain yields credentials (False without boto3)."""
    try:
        session = provider._boto_session()
    except DependencyMissing:
        return False
    return provider.call(session.get_credentials) is not None


def fetch_live_prices(provider: SageMakerProvider) -> list[PriceRow]:
    """On-demand USD per instance-hour of every known instance type, per AWS region: the
    Price List API with AWS credentials, else the public offer file of the provider's region."""
    if not has_credentials(provider):
        from .offer_files import fetch_offer_file_prices

        return fetch_offer_file_prices(provider, [provider._known_region() or PRICING_REGION])
    known = set(provider.hardware)
    today = _dt.date.today().isoformat()
    found: dict[tuple[str, str], PriceRow] = {}
    for document in _products(provider, pricing_client(provider)):
        attributes = (document.get("product") or {}).get("attributes") or {}
        name, region = attributes.get("instanceName"), attributes.get("regionCode")
        if name not in known or not region or attributes.get("platoinstancetype") != "Hosting":
            continue
        usd = _hourly_usd(document)
        if usd is None or usd <= 0:  # $0 rows are free-tier placeholders, not prices
            continue
        found[(name, region)] = PriceRow(
            key=name,
            region=region,
            source=SOURCE,
            as_of=today,
            usd_per_hour=usd,
            notes=f"GetProducts AmazonSageMaker, real-time inference (Hosting),"
            f" {attributes.get('location')}, on demand",
        )
    return [found[place] for place in sorted(found)]
