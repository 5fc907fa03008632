"""sagemaker live prices: the AWS Price List API (pricing.get_products) through botocore's
Stubber, which checks every request and answer against the pricing service model.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from botocore.stub import Stubber
from hostkit_providers.sagemaker import SageMakerProvider, live_prices

from hostkit import catalog, get_provider
from hostkit._config import Config
from hostkit._live_prices import cache_file

from .conftest import FAKE_ACCESS_KEY, FAKE_SECRET_KEY

PAGES = yaml.safe_load(
    (Path(__file__).parent / "cassettes" / "live_prices" / "get_products.yaml").read_text()
)["pages"]
CONFIG = Config(providers={"sagemaker": {"region": "us-east-1", "max_retries": 0}})


def expected(provider: SageMakerProvider, token: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {
        "ServiceCode": "AmazonSageMaker",
        "Filters": live_prices.filters(list(provider.hardware)),
        "FormatVersion": "aws_v1",
        "MaxResults": 100,
    }
    return {**params, "NextToken": token} if token else params


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    """Every provider refresh() builds gets a stubbed us-east-1 pricing client."""
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET_KEY)
    client = boto3.client("pricing", region_name=live_prices.PRICING_REGION)
    monkeypatch.setattr(live_prices, "pricing_client", lambda provider: client)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def add_pages(stubber: Stubber) -> None:
    provider = get_provider("sagemaker", config=CONFIG)
    assert isinstance(provider, SageMakerProvider)
    stubber.add_response("get_products", PAGES[0], expected(provider))
    stubber.add_response("get_products", PAGES[1], expected(provider, PAGES[0]["NextToken"]))


def test_filters_ask_for_real_time_inference_of_the_known_types() -> None:
    found = live_prices.filters(["ml.g5.xlarge", "ml.g4dn.xlarge"])
    assert found == [
        {"Type": "TERM_MATCH", "Field": "productFamily", "Value": "ML Instance"},
        {"Type": "TERM_MATCH", "Field": "platoinstancetype", "Value": "Hosting"},
        {"Type": "ANY_OF", "Field": "instanceName", "Value": "ml.g4dn.xlarge,ml.g5.xlarge"},
    ]


def test_rows_per_type_and_region_from_every_page(stubbed: Stubber) -> None:
    add_pages(stubbed)
    provider = get_provider("sagemaker", config=CONFIG)
    rows = {(r.key, r.region): r for r in provider.fetch_live_prices() or []}
    assert {key: row.usd_per_hour for key, row in rows.items()} == {
        ("ml.g5.xlarge", "us-east-1"): 1.408,
        ("ml.g5.xlarge", "eu-west-1"): 1.57,
        ("ml.p4d.24xlarge", "us-east-1"): 37.688,
        ("ml.g6e.2xlarge", "us-west-2"): 2.8,  # the $0 placeholder of ml.g6.xlarge is dropped
    }
    assert {(r.source, r.as_of) for r in rows.values()} == {
        (live_prices.SOURCE, _dt.date.today().isoformat())
    }


def test_refresh_then_cost_uses_the_api_price(stubbed: Stubber) -> None:
    add_pages(stubbed)
    assert catalog.refresh("sagemaker", CONFIG)["sagemaker"].status == "ok"
    provider = get_provider("sagemaker", config=CONFIG)
    estimate = provider.time_cost("ml.g5.xlarge", hours=1, region="eu-west-1")
    assert estimate.usd == 1.57 and estimate.source == live_prices.SOURCE
    # us-east-1 shipped 1.41 from a secondary page; the API's figure replaces it
    row = provider.prices.find_for_region("ml.g5.xlarge", "us-east-1")
    assert row is not None and row.usd_per_hour == 1.408


@pytest.mark.parametrize(
    ("code", "status", "words"),
    [("InternalErrorException", 500, "InternalError"), ("AccessDeniedException", 403, "denied")],
)
def test_failed_refresh_keeps_the_last_good_cache(
    stubbed: Stubber, code: str, status: int, words: str
) -> None:
    add_pages(stubbed)
    catalog.refresh("sagemaker", CONFIG)
    before = cache_file("sagemaker").read_bytes()
    stubbed.add_client_error(
        "get_products",
        service_error_code=code,
        service_message=f"{words}: pricing:GetProducts failed",
        http_status_code=status,
    )
    result = catalog.refresh("sagemaker", CONFIG)["sagemaker"]
    assert result.status == "failed" and words in (result.reason or "")
    assert "kept the cached prices" in (result.reason or "")
    assert cache_file("sagemaker").read_bytes() == before


def test_pricing_client_is_us_east_1_and_needs_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hostkit.errors import AuthenticationError

    provider = get_provider("sagemaker", region="eu-west-1")
    assert isinstance(provider, SageMakerProvider)
    with pytest.raises(AuthenticationError, match="pricing:GetProducts"):
        live_prices.pricing_client(provider)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET_KEY)
    fresh = get_provider("sagemaker", region="eu-west-1")
    assert isinstance(fresh, SageMakerProvider)
    client = live_prices.pricing_client(fresh)
    assert client.meta.region_name == "us-east-1"
    assert live_prices.pricing_client(fresh) is client
