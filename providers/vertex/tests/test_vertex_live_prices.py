"""vertex live prices: the Cloud Billing Catalog API (Vertex AI service SKUs) cached as
machine parts and per-GPU prices per region.

Every exchange replays a cassette from cassettes/live_prices/ strictly.
"""

from __future__ import annotations

import datetime as _dt
import logging
from pathlib import Path

import pytest
from hostkit_providers.vertex.live_prices import KEY_ENV, SKUS_URL, accelerator_name

from hostkit import DeploymentSpec, catalog, get_provider
from hostkit._config import Config
from hostkit._live_prices import cache_file
from hostkit.errors import AuthenticationError
from hostkit.testing import cassette, cassette_requests

CASSETTES = Path(__file__).parent / "cassettes" / "live_prices"
FAKE_KEY = "AIzaFakeHostkitBillingKey000000000000000"
CONFIG = Config(providers={"vertex": {"max_retries": 0, "billing_api_key": FAKE_KEY}})


def refresh(name: str, config: Config = CONFIG) -> catalog.RefreshResult:
    with cassette(CASSETTES / f"{name}.yaml", record_mode="none") as recorded:
        report = catalog.refresh("vertex", config)
    assert recorded.all_played
    return report["vertex"]


def test_accelerator_names_are_vertex_accelerator_types() -> None:
    assert accelerator_name("Nvidia H100 80gb") == "NVIDIA_H100_80GB"
    assert accelerator_name("Nvidia Tesla T4") == "NVIDIA_TESLA_T4"
    assert accelerator_name("Nvidia L4") == "NVIDIA_L4"


def test_rows_are_machine_parts_and_gpus_per_region() -> None:
    provider = get_provider("vertex", config=CONFIG)
    with cassette(CASSETTES / "skus.yaml", record_mode="none") as recorded:
        rows = {(r.key, r.region): r for r in provider.fetch_live_prices() or []}
    assert recorded.all_played
    h100 = rows[("NVIDIA_H100_80GB", "us-central1")]
    assert (h100.usd_per_hour, h100.unit) == (11.2660332, "GPU-hour")  # Spot SKU ignored
    host = rows[("a3-highgpu-1g", "us-central1")]
    assert host.usd_per_hour == 1.3598858  # 26 x 0.0293227 + 234 x 0.0025534
    assert "A002-4323-D900" in (host.notes or "") and "2424-9F04-82A8" in (host.notes or "")
    assert rows[("g2-standard-4", "europe-west4")].usd_per_hour == pytest.approx(0.1648)
    assert rows[("NVIDIA_L4", "europe-west4")].usd_per_hour == 0.644
    assert ("a2-highgpu-1g", "us-central1") not in rows  # no A2 SKUs in the answer
    assert {(r.source, r.as_of) for r in rows.values()} == {
        (SKUS_URL, _dt.date.today().isoformat())
    }
    # the key travels in a header, never in the URL
    assert all("key=" not in r.uri for r in cassette_requests(CASSETTES / "skus.yaml"))


def test_cached_parts_price_the_catalog_all_in() -> None:
    assert refresh("skus").status == "ok"
    listed = catalog.offerings("vertex", region="europe-west4", config=Config())
    g2 = next(r for r in listed if r.name == "g2-standard-4")
    assert (g2.host_usd_per_hour, g2.gpu_usd_per_hour) == (pytest.approx(0.1648), 0.644)
    assert g2.usd_per_hour == pytest.approx(0.8088) and g2.source == SKUS_URL


def test_key_comes_from_the_environment_and_is_never_shown(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(KEY_ENV, FAKE_KEY)
    caplog.set_level(logging.DEBUG)
    result = refresh("skus_403", Config(providers={"vertex": {"max_retries": 0}}))
    assert result.status == "failed" and (result.reason or "").startswith("AuthenticationError")
    assert "Cloud Billing API has not been used" in (result.reason or "")
    assert FAKE_KEY not in (result.reason or "") and FAKE_KEY not in caplog.text


def test_missing_key_is_a_clear_failure_without_a_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    provider = get_provider("vertex", max_retries=0)
    with pytest.raises(AuthenticationError, match=KEY_ENV):
        provider.fetch_live_prices()


def test_failed_refresh_keeps_the_last_good_cache() -> None:
    refresh("skus")
    before = cache_file("vertex").read_bytes()
    result = refresh("skus_5xx")
    assert result.status == "failed" and "currently unavailable" in (result.reason or "")
    assert cache_file("vertex").read_bytes() == before


def test_cost_of_a_spec_adds_the_cached_machine_and_gpu_parts() -> None:
    refresh("skus")
    provider = get_provider("vertex", location="europe-west4")
    spec = DeploymentSpec(name="x", provider="vertex", model="org/tiny", instance="g2-standard-4")
    estimate = provider.cost(spec, hours=10)
    assert estimate.usd == pytest.approx(10 * (0.1648 + 0.644))
    assert SKUS_URL in (estimate.source or "")
