"""azureml live prices: the public Azure Retail Prices API, paged, filtered to the VM sizes
hostkit knows, cached per region.

Every exchange replays a cassette from cassettes/live_prices/ strictly.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from hostkit_providers.azureml.live_prices import PRICES_URL, retail_filter

from hostkit import catalog, get_provider
from hostkit._config import Config
from hostkit._live_prices import cache_file
from hostkit.testing import cassette, cassette_requests

CASSETTES = Path(__file__).parent / "cassettes" / "live_prices"
NO_RETRIES = Config(providers={"azureml": {"max_retries": 0}})


def refresh(name: str) -> catalog.RefreshResult:
    with cassette(CASSETTES / f"{name}.yaml", record_mode="none") as recorded:
        report = catalog.refresh("azureml", NO_RETRIES)
    assert recorded.all_played
    return report["azureml"]


def test_filter_asks_for_on_demand_vm_prices_of_the_known_sizes() -> None:
    text = retail_filter(["Standard_NC24ads_A100_v4", "Standard_NC40ads_H100_v5"])
    assert text == (
        "serviceName eq 'Virtual Machines' and priceType eq 'Consumption' and"
        " (armSkuName eq 'Standard_NC24ads_A100_v4' or armSkuName eq 'Standard_NC40ads_H100_v5')"
    )
    sent = cassette_requests(CASSETTES / "retail_prices.yaml")
    assert len(sent) == 2 and "%24skip=100" in sent[1].uri  # the NextPageLink was followed


def test_rows_keep_linux_pay_as_you_go_per_region() -> None:
    provider = get_provider("azureml", max_retries=0)
    with cassette(CASSETTES / "retail_prices.yaml", record_mode="none") as recorded:
        rows = provider.fetch_live_prices() or []
    assert recorded.all_played
    found = {(row.key, row.region): row.usd_per_hour for row in rows}
    # Spot, Low Priority and Windows meters are dropped; of two meters, the newest wins
    assert found == {
        ("Standard_NC24ads_A100_v4", "eastus"): 3.673,
        ("Standard_NC24ads_A100_v4", "westeurope"): 4.039,
        ("Standard_NC40ads_H100_v5", "eastus"): 6.98,
        ("Standard_NV36ads_A10_v5", "eastus"): 3.2,
    }
    assert {(row.source, row.as_of) for row in rows} == {(PRICES_URL, _dt.date.today().isoformat())}


def test_cache_prices_a_region_the_shipped_table_lacks() -> None:
    assert refresh("retail_prices").status == "ok"
    provider = get_provider("azureml")
    estimate = provider.time_cost("Standard_NC24ads_A100_v4", hours=2, region="westeurope")
    assert estimate.usd == 2 * 4.039 and estimate.source == PRICES_URL
    listed = catalog.offerings("azureml", region="eastus", config=Config())
    a10 = next(r for r in listed if r.name == "Standard_NV36ads_A10_v5")
    assert (a10.usd_per_hour, a10.source) == (3.2, PRICES_URL)  # shipped: no price


def test_config_override_still_wins_over_the_cache() -> None:
    refresh("retail_prices")
    config = Config(
        prices={
            "azureml": {"Standard_NC24ads_A100_v4": {"usd_per_hour": 2.5, "source": "my contract"}}
        }
    )
    listed = catalog.offerings("azureml", region="westeurope", config=config)
    row = next(r for r in listed if r.name == "Standard_NC24ads_A100_v4")
    assert (row.usd_per_hour, row.source) == (2.5, "my contract")


def test_failed_refresh_keeps_the_last_good_cache() -> None:
    refresh("retail_prices")
    before = cache_file("azureml").read_bytes()
    result = refresh("retail_prices_5xx")
    assert result.status == "failed" and "temporarily unavailable" in (result.reason or "")
    assert cache_file("azureml").read_bytes() == before
