"""cerebras live prices: the public models API (no key), per-token prices per million.

Every exchange replays a cassette from cassettes/live_prices/ strictly.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import pytest
from hostkit_providers.cerebras.live_prices import MODELS_URL, rows_from

from hostkit import catalog, get_provider
from hostkit._config import Config
from hostkit._live_prices import cache_file
from hostkit.errors import ProviderError
from hostkit.testing import cassette

CASSETTES = Path(__file__).parent / "cassettes" / "live_prices"
NO_RETRIES = Config(providers={"cerebras": {"max_retries": 0}})
SOURCE = f"{MODELS_URL}?format=openrouter"


def refresh(name: str) -> catalog.RefreshResult:
    with cassette(CASSETTES / f"{name}.yaml", record_mode="none") as recorded:
        report = catalog.refresh("cerebras", NO_RETRIES)
    assert recorded.all_played
    return report["cerebras"]


def test_refresh_reads_every_priced_model_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CEREBRAS_API_KEY", raising=False)
    result = refresh("public_models")
    assert result.status == "ok" and result.rows == 2 and result.sources == (SOURCE,)
    today = _dt.date.today().isoformat()
    rows = {r.name: r for r in catalog.offerings("cerebras", config=Config())}
    oss = rows["gpt-oss-120b"]
    assert (oss.usd_per_million_input, oss.usd_per_million_output) == (0.35, 0.75)
    assert (oss.source, oss.as_of, oss.age_days, oss.stale) == (SOURCE, today, 0, False)
    example = rows["example-chat-model"]
    assert (example.usd_per_million_input, example.usd_per_million_output) == (0.1, 0.2)
    assert example.hub_model == "example-org/example-chat-model"
    assert "example-unpriced" not in rows  # no readable price: never guessed
    # the refreshed price is what cost() uses
    provider = get_provider("cerebras")
    assert provider.prices.find("example-chat-model") is not None


def test_an_answer_that_is_not_a_model_list_keeps_the_last_good_cache() -> None:
    refresh("public_models")
    before = cache_file("cerebras").read_bytes()
    result = refresh("public_models_malformed")
    assert result.status == "failed" and "no 'data' list" in (result.reason or "")
    assert cache_file("cerebras").read_bytes() == before


def test_a_network_failure_keeps_the_last_good_cache() -> None:
    refresh("public_models")
    before = cache_file("cerebras").read_bytes()
    result = refresh("public_models_5xx")
    assert result.status == "failed" and "kept the cached prices" in (result.reason or "")
    assert cache_file("cerebras").read_bytes() == before


def test_prices_are_read_per_token_and_unreadable_ones_are_skipped() -> None:
    document = {
        "data": [
            {"id": "cerebras/a", "pricing": {"prompt": "0.0000006", "completion": 1.2e-6}},
            {"id": "b", "pricing": {"prompt": "-1", "completion": "0.1"}},
            {"id": "c", "pricing": {"prompt": "nan", "completion": "0.1"}},
            {"id": "d"},
            "not a model",
        ]
    }
    rows = rows_from(document, today="2026-12-07")
    assert [(r.key, r.input_per_million, r.output_per_million) for r in rows] == [("a", 0.6, 1.2)]
    with pytest.raises(ProviderError, match="no 'data' list"):
        rows_from(["not", "a", "document"])
