"""huggingface live prices: Inference Endpoints' public catalog (GET /v2/provider) cached.

Every exchange replays a cassette from cassettes/live_prices/ strictly.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import pytest

from hostkit import catalog, get_provider
from hostkit._config import Config
from hostkit._live_prices import cache_file
from hostkit.testing import cassette

CASSETTES = Path(__file__).parent / "cassettes" / "live_prices"
SOURCE = "https://api.endpoints.huggingface.cloud/v2/provider"
NO_RETRIES = Config(providers={"huggingface": {"max_retries": 0}})


def refresh(name: str) -> catalog.RefreshResult:
    with cassette(CASSETTES / f"{name}.yaml", record_mode="none") as recorded:
        report = catalog.refresh(["huggingface"], NO_RETRIES)
    assert recorded.all_played
    return report["huggingface"]


def test_rows_are_the_catalogs_compute_prices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)  # the public catalog needs no token
    provider = get_provider("huggingface", max_retries=0)
    with cassette(CASSETTES / "provider.yaml", record_mode="none"):
        rows = {row.key: row for row in provider.fetch_live_prices() or []}
    assert rows.keys() == {
        "aws-us-east-1-nvidia-l4-x1",
        "aws-us-east-1-nvidia-a100-x1",
        "aws-us-east-1-intel-spr-x2",
        "gcp-us-east4-nvidia-a100-x1",
    }
    assert rows["gcp-us-east4-nvidia-a100-x1"].usd_per_hour == 3.6
    assert rows["aws-us-east-1-nvidia-l4-x1"].notes == "1x L4 (24 GB) in aws/us-east-1"
    assert {(r.source, r.as_of) for r in rows.values()} == {(SOURCE, _dt.date.today().isoformat())}


def test_cached_catalog_prices_an_endpoint_spec_offline() -> None:
    assert refresh("provider").status == "ok"
    provider = get_provider("huggingface")
    # the shipped table has only the CPU rows; the GPU price now comes from the cache
    row = provider.prices.find("aws-us-east-1-nvidia-l4-x1", "instances")
    assert row is not None and (row.usd_per_hour, row.source) == (0.8, SOURCE)
    # a cached price that agrees with the shipped one still says where it was read
    cpu = provider.prices.find("aws-us-east-1-intel-spr-x2", "instances")
    assert cpu is not None and cpu.source == SOURCE
    listed = catalog.offerings("huggingface", config=Config())
    a100 = next(r for r in listed if r.name == "gcp-us-east4-nvidia-a100-x1")
    assert (a100.usd_per_hour, a100.source) == (3.6, SOURCE)


def test_failed_refresh_keeps_the_last_good_cache() -> None:
    refresh("provider")
    before = cache_file("huggingface").read_bytes()
    result = refresh("provider_5xx")
    assert result.status == "failed" and "Service Unavailable" in (result.reason or "")
    assert "kept the cached prices" in (result.reason or "")
    assert cache_file("huggingface").read_bytes() == before
