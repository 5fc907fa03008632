"""lambdalabs live prices: GET /instance-types into the price cache, and what uses them.

Every exchange replays a cassette from cassettes/live_prices/ strictly.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostkit_providers.lambdalabs import LambdaLabsProvider

from hostkit import catalog, get_provider
from hostkit._config import Config
from hostkit._live_prices import cache_file
from hostkit.testing import cassette

CASSETTES = Path(__file__).parent / "cassettes" / "live_prices"
FAKE_KEY = "secret_hostkit-ci_0000fake0000fake0000fake0000fake.FakeFakeFakeFakeFake"
SOURCE = "https://cloud.lambda.ai/api/v1/instance-types"
NO_RETRIES = Config(providers={"lambdalabs": {"max_retries": 0}})


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_API_KEY", FAKE_KEY)


@pytest.fixture
def provider(keyed: None) -> Iterator[LambdaLabsProvider]:
    built = get_provider("lambdalabs", max_retries=0)
    assert isinstance(built, LambdaLabsProvider)
    yield built
    built.close()


def refresh(name: str) -> catalog.RefreshReport:
    with cassette(CASSETTES / f"{name}.yaml", record_mode="none") as recorded:
        report = catalog.refresh("lambdalabs", NO_RETRIES)
    assert recorded.all_played
    return report


def test_rows_are_the_apis_prices_with_source_and_date(provider: LambdaLabsProvider) -> None:
    with cassette(CASSETTES / "instance_types.yaml", record_mode="none"):
        rows = {row.key: row for row in provider.fetch_live_prices()}
    assert sorted(rows) == ["gpu_1x_a10", "gpu_1x_gh200", "gpu_1x_h100_pcie", "gpu_8x_h100_sxm5"]
    assert rows["gpu_8x_h100_sxm5"].usd_per_hour == 31.92  # price_cents_per_hour 3192
    assert rows["gpu_1x_a10"].usd_per_hour == 1.29
    assert {row.source for row in rows.values()} == {SOURCE}
    assert {row.as_of for row in rows.values()} == {_dt.date.today().isoformat()}
    assert all(row.region is None for row in rows.values())


def test_refresh_caches_and_the_cache_prices_cost_and_catalog(keyed: None) -> None:
    report = refresh("instance_types")
    result = report["lambdalabs"]
    assert (result.status, result.rows, result.sources) == ("ok", 4, (SOURCE,))
    assert Path(result.cache or "") == cache_file("lambdalabs")
    # shipped table: gpu_8x_h100_sxm5 from lambda.ai/instances; now the API's price wins
    fresh = get_provider("lambdalabs")
    row = fresh.prices.find("gpu_8x_h100_sxm5")
    assert row is not None and (row.usd_per_hour, row.source) == (31.92, SOURCE)
    estimate = fresh.time_cost("gpu_8x_h100_sxm5", hours=10)
    assert estimate.usd == pytest.approx(319.2) and estimate.source == SOURCE
    listed = catalog.offerings("lambdalabs", config=Config())
    h100 = next(r for r in listed if r.name == "gpu_8x_h100_sxm5")
    assert (h100.usd_per_hour, h100.source, h100.stale) == (31.92, SOURCE, False)
    # a type the API did not price keeps its shipped row
    rtx = next(r for r in listed if r.name == "gpu_1x_rtx6000")
    assert rtx.source == "https://lambda.ai/instances"


@pytest.mark.parametrize(
    ("cassette_name", "words"),
    [("instance_types_5xx", "Provider unavailable"), ("instance_types_401", "API key was")],
)
def test_failed_refresh_keeps_the_last_good_cache(
    keyed: None, cassette_name: str, words: str
) -> None:
    refresh("instance_types")
    before = cache_file("lambdalabs").read_bytes()
    result = refresh(cassette_name)["lambdalabs"]
    assert result.status == "failed" and words in (result.reason or "")
    assert "kept the cached prices of" in (result.reason or "")
    assert FAKE_KEY not in (result.reason or "")
    assert result.rows == 4
    assert cache_file("lambdalabs").read_bytes() == before
    row = get_provider("lambdalabs").prices.find("gpu_1x_a10")
    assert row is not None and row.source == SOURCE


def test_refresh_without_a_key_fails_without_a_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAMBDA_API_KEY", raising=False)
    with cassette(CASSETTES / "instance_types.yaml", record_mode="none") as recorded:
        result = catalog.refresh("lambdalabs", NO_RETRIES)["lambdalabs"]
    assert recorded.play_count == 0
    assert result.status == "failed" and "LAMBDA_API_KEY" in (result.reason or "")
    assert "no cached prices" in (result.reason or "")
    assert not cache_file("lambdalabs").exists()
