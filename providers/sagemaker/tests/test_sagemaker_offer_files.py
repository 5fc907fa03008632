"""sagemaker live prices without AWS credentials: AWS's public offer files, streamed.

The exchanges replay cassettes/offer_files/ strictly (the region index, then a trimmed
regional offer file in AWS's format); the streaming reader is also fed in tiny chunks.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hostkit_providers.sagemaker import SageMakerProvider, live_prices, offer_files
from hostkit_providers.sagemaker.offer_files import (
    OFFERS_HOST,
    MemberReader,
    prices_from_offer_file,
)

from hostkit import DeploymentSpec, catalog, get_provider
from hostkit._config import Config
from hostkit._live_prices import cache_file
from hostkit.errors import ProviderError
from hostkit.testing import cassette

from .conftest import FAKE_ACCESS_KEY, FAKE_SECRET_KEY

CASSETTES = Path(__file__).parent / "cassettes" / "offer_files"
CONFIG = Config(providers={"sagemaker": {"region": "us-east-1", "max_retries": 0}})
FILE_URL = f"{OFFERS_HOST}/offers/v1.0/aws/AmazonSageMaker/20261101000000/us-east-1/index.json"
KNOWN = {"ml.g5.xlarge", "ml.p4d.24xlarge", "ml.g6.xlarge"}


def offer_text() -> str:
    """The regional offer file of the us_east_1 cassette."""
    recorded = yaml.safe_load((CASSETTES / "us_east_1.yaml").read_text())
    return str(recorded["interactions"][1]["response"]["body"]["string"])


def refresh(name: str) -> catalog.RefreshResult:
    with cassette(CASSETTES / f"{name}.yaml", record_mode="none") as recorded:
        report = catalog.refresh("sagemaker", CONFIG)
    assert recorded.all_played
    return report["sagemaker"]


def pieces(text: str, size: int) -> Iterator[str]:
    return (text[i : i + size] for i in range(0, len(text), size))


# -- the refresh, end to end ------------------------------------------------------------
def test_without_credentials_refresh_reads_the_public_offer_file() -> None:
    result = refresh("us_east_1")
    assert result.status == "ok" and result.rows == 2 and result.sources == (FILE_URL,)
    rows = {
        r.name: r
        for r in catalog.offerings("sagemaker", region="us-east-1", config=Config())
        if r.priced
    }
    g5 = rows["ml.g5.xlarge"]  # the Hosting SKU, not the Training one
    assert (g5.usd_per_hour, g5.source, g5.as_of) == (1.408, FILE_URL, _dt.date.today().isoformat())
    assert (g5.confidence, g5.stale, g5.age_days) == (None, False, 0)  # AWS's own figure
    assert rows["ml.p4d.24xlarge"].usd_per_hour == 37.688
    assert rows["ml.g5.2xlarge"].confidence == "secondary"  # not in the file: shipped row kept
    g5_spec = DeploymentSpec.from_dict(
        {"provider": "sagemaker", "name": "s", "model": "m/m", "instance": "ml.g5.xlarge"}
    )
    estimate = get_provider("sagemaker", config=CONFIG).cost(g5_spec, hours=2)
    assert estimate.usd == pytest.approx(2 * 1.408) and estimate.warnings == []


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("truncated", "malformed or truncated JSON"),
        ("not_sagemaker", "not an AmazonSageMaker offer file"),
        ("unavailable", "ServiceUnavailable"),
    ],
)
def test_a_bad_file_or_a_network_failure_keeps_the_last_good_data(name: str, words: str) -> None:
    refresh("us_east_1")
    before = cache_file("sagemaker").read_bytes()
    result = refresh(name)
    assert result.status == "failed" and "kept the cached prices" in (result.reason or "")
    assert words in (result.reason or ""), result.reason
    assert cache_file("sagemaker").read_bytes() == before


def test_a_connection_cut_mid_download_keeps_the_last_good_data(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refresh("us_east_1")
    before = cache_file("sagemaker").read_bytes()

    def cut(self: httpx.Response, *args: Any, **kwargs: Any) -> Iterator[str]:
        yield offer_text()[:500]
        raise httpx.ReadError("connection reset by peer")

    monkeypatch.setattr(httpx.Response, "iter_text", cut)
    result = refresh("us_east_1")
    assert result.status == "failed" and "the download failed (ReadError" in (result.reason or "")
    assert cache_file("sagemaker").read_bytes() == before


def test_with_credentials_the_price_list_api_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET_KEY)
    provider = get_provider("sagemaker", config=CONFIG)
    assert isinstance(provider, SageMakerProvider) and live_prices.has_credentials(provider)
    called: list[str] = []
    monkeypatch.setattr(
        offer_files, "fetch_offer_file_prices", lambda *a: called.append("offer") or []
    )
    monkeypatch.setattr(live_prices, "_products", lambda *a: iter(()))
    monkeypatch.setattr(live_prices, "pricing_client", lambda p: object())
    assert live_prices.fetch_live_prices(provider) == [] and called == []


# -- the streaming reader ---------------------------------------------------------------
@pytest.mark.parametrize("size", [1, 7, 64, 100_000])
def test_the_file_is_read_the_same_in_any_chunk_size(size: int) -> None:
    rows = prices_from_offer_file(pieces(offer_text(), size), KNOWN, source="s", today="2026-12-07")
    assert [(r.key, r.region, r.usd_per_hour) for r in rows] == [
        ("ml.g5.xlarge", "us-east-1", 1.408),
        ("ml.p4d.24xlarge", "us-east-1", 37.688),
    ]  # ml.g6.xlarge is $0 (a placeholder), ml.c5.xlarge is not a known type
    assert "publicationDate 2026-11-01T00:00:00Z" in (rows[0].notes or "")


def test_memory_is_bounded_by_one_member_not_the_file() -> None:
    big = {
        "formatVersion": "v1.0",
        "offerCode": "AmazonSageMaker",
        "products": {
            f"SKU{i:06d}": {"productFamily": "ML Storage", "attributes": {}} for i in range(20_000)
        },
        "terms": {"Reserved": {"x": ['{not \\"a\\" brace}'] * 50_000}, "OnDemand": {}},
    }
    text = json.dumps(big)
    largest = 0

    class Watched(MemberReader):
        def _fill(self) -> bool:
            nonlocal largest
            filled = super()._fill()
            largest = max(largest, len(self._buffer))
            return filled

    reader = Watched(pieces(text, 4096))
    seen = 0
    for key in reader.members():
        if key == "products":
            for _ in reader.members():
                reader.value()
                seen += 1
        else:
            reader.skip()
    reader.end()
    assert seen == 20_000 and len(text) > 1_500_000 and largest < 10_000


@pytest.mark.parametrize(
    "text",
    ['{"a" 1}', '{"a": 1,}', '{"a": [1, 2}', '{"a": 1} trailing', '{"a": "unterminated', ""],
)
def test_malformed_json_is_a_clear_error(text: str) -> None:
    reader = MemberReader(pieces(text, 3))
    with pytest.raises(ValueError, match="at character"):
        for _ in reader.members():
            reader.skip()
        reader.end()


def test_region_without_an_offer_file_is_a_provider_error() -> None:
    provider = get_provider(
        "sagemaker",
        config=Config(providers={"sagemaker": {"region": "xx-nowhere-1", "max_retries": 0}}),
    )
    assert isinstance(provider, SageMakerProvider)
    with (
        cassette(CASSETTES / "us_east_1.yaml", record_mode="none", allow_playback_repeats=True),
        pytest.raises(ProviderError, match="no currentVersionUrl for region 'xx-nowhere-1'"),
    ):
        offer_files.fetch_offer_file_prices(provider, ["xx-nowhere-1"])
