"""Price tables, config overrides, and the serverless base's costs and look-ups."""

from __future__ import annotations

import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hostkit
from hostkit import errors
from hostkit._models import Usage
from hostkit._pricing import PriceTable
from hostkit.adapters import closest_matches
from hostkit.testing.plugins import plugins_on_path, write_distribution

PRICES = """
[models."chat-small"]
input_per_million = 0.05
output_per_million = 0.08
source = "https://pricing.example.invalid/"
as_of = "2026-10-30"

[instances."gpu-l4"]
usd_per_hour = 0.8
source = "https://pricing.example.invalid/gpus"
as_of = "2026-10-30"
"""

PROVIDER_MODULE = """
from hostkit.adapters import ServerlessProvider
from hostkit import InvokeResult, Usage
from hostkit.errors import NotFound

SERVED = ["chat-small", "chat-large", "vision-small"]


class PricedProvider(ServerlessProvider):
    name = "priced"
    price_file = "priced_prices.toml"

    def lookup_model(self, model):
        if model not in SERVED:
            raise self.model_not_found(model)
        return {"id": model}

    def list_models(self):
        return SERVED

    def invoke(self, deployment, request, **params):
        usage = Usage(input_tokens=1000, output_tokens=500)
        return InvokeResult(
            text="ok", output="ok", usage=usage, latency_s=0.01, provider=self.name,
            model=deployment.model, cost_usd=self.invoke_cost(deployment.model, usage),
        )
"""


@pytest.fixture
def priced(tmp_path: Path) -> Iterator[None]:
    site = write_distribution(
        tmp_path / "site",
        "hostkit-priced",
        entry_points={"priced": "hostkit_priced:PricedProvider"},
        modules={"hostkit_priced.py": PROVIDER_MODULE, "priced_prices.toml": PRICES},
    )
    with plugins_on_path(site):
        yield


def test_price_rows_need_a_price_a_source_and_a_date(tmp_path: Path) -> None:
    file = tmp_path / "prices.toml"
    file.write_text(PRICES)
    table = PriceTable.load(file, "x")
    row = table.find("chat-small")
    assert row is not None and row.input_per_million == 0.05 and row.as_of == "2026-10-30"
    for broken, message in (
        (
            '[models.a]\ninput_per_million = 1\noutput_per_million = 1\nas_of = "2026-01-01"',
            "source",
        ),
        ('[models.a]\nusd_per_hour = -1\nsource = "s"\nas_of = "2026-01-01"', "negative"),
        ('[models.a]\nusd_per_hour = 1\nsource = "s"\nas_of = "last week"', "YYYY-MM-DD"),
        ('[models.a]\nsource = "s"\nas_of = "2026-01-01"', "no price"),
        ('[models.a]\nusd_per_hour = 1\nsource = "s"\nas_of = "2026-01-01"\ncolour = 1', "colour"),
    ):
        file.write_text(broken)
        with pytest.raises(errors.ConfigError, match=message) as caught:
            PriceTable.load(file, "x")
        assert str(file) in caught.value.message


def test_estimates_have_lines_source_and_date(tmp_path: Path) -> None:
    file = tmp_path / "prices.toml"
    file.write_text(PRICES)
    table = PriceTable.load(file, "x")
    tokens = PriceTable.token_estimate(table.find("chat-small"), 2_000_000, 1_000_000)  # type: ignore[arg-type]
    assert tokens.usd == pytest.approx(0.05 * 2 + 0.08)
    assert [line.quantity for line in tokens.breakdown] == [2_000_000, 1_000_000]
    hours = PriceTable.time_estimate(table.find("gpu-l4"), hours=10, count=2)  # type: ignore[arg-type]
    assert hours.usd == pytest.approx(16.0) and hours.source and hours.as_of == "2026-10-30"


def test_serverless_cost_and_invoke_cost(priced: None) -> None:
    dep = hostkit.deploy(provider="priced", model="chat-small")
    assert dep.status == "ready"
    result = hostkit.invoke(dep, "hi")
    assert result.cost_usd == pytest.approx((1000 * 0.05 + 500 * 0.08) / 1e6)
    estimate = hostkit.cost(dep, input_tokens=1000, output_tokens=500)
    assert estimate.usd == pytest.approx(result.cost_usd)
    assert estimate.source == "https://pricing.example.invalid/"
    idle = hostkit.cost(dep, hours=24)
    assert idle.usd == 0.0 and idle.source


def test_unpriced_model_warns_once_and_costs_none(priced: None) -> None:
    dep = hostkit.deploy(provider="priced", model="chat-large")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first, second = hostkit.invoke(dep, "a"), hostkit.invoke(dep, "b")
    assert first.cost_usd is None and second.cost_usd is None
    assert [w.category for w in caught] == [errors.PriceUnknown]
    assert '[prices.priced."chat-large"]' in str(caught[0].message)
    with pytest.warns(errors.PriceUnknown):
        assert hostkit.cost(dep, input_tokens=10, output_tokens=10).usd is None


def test_config_overrides_a_price_with_its_own_source(priced: None, tmp_path: Path) -> None:
    config = tmp_path / "cfg" / "hostkit.toml"
    config.parent.mkdir()
    config.write_text(
        textwrap.dedent(
            """
            [prices.priced."chat-large"]
            input_per_million = 1.0
            output_per_million = 2.0
            """
        )
    )
    estimate = hostkit.cost(
        {"provider": "priced", "model": "chat-large"},
        input_tokens=1_000_000,
        output_tokens=1_000_000,
        config=config,
    )
    assert estimate.usd == pytest.approx(3.0)
    assert str(config) in (estimate.source or "") and estimate.as_of


def test_unknown_model_names_the_closest_served_ones(priced: None) -> None:
    with pytest.raises(errors.NotFound, match="chat-small") as caught:
        hostkit.deploy(provider="priced", model="chat-smal")
    assert "does not serve" in caught.value.message


def test_serverless_rejects_hardware_fields_and_cannot_scale(priced: None) -> None:
    with pytest.raises(errors.ConfigError, match="instance"):
        hostkit.deploy(provider="priced", model="chat-small", instance="gpu-l4")
    dep = hostkit.deploy(provider="priced", model="chat-small")
    with pytest.raises(errors.Unsupported, match="scales by itself"):
        hostkit.scale(dep, 2)
    hostkit.teardown(dep)
    hostkit.teardown(dep)


def test_closest_matches() -> None:
    served: list[Any] = ["llama-3.1-8b-instant", "llama-3.3-70b-versatile", "gemma2-9b-it"]
    assert closest_matches("llama-3.1-8b", served)[0] == "llama-3.1-8b-instant"
    assert closest_matches("zzz", served) == []


def test_usage_total() -> None:
    assert Usage(3, 4).total_tokens == 7 and Usage().total_tokens is None


def test_regional_prices_never_borrow_another_region(tmp_path: Path) -> None:
    file = tmp_path / "prices.toml"
    file.write_text(
        '["region.eastus"."nc24"]\nusd_per_hour = 3.67\nsource = "s"\nas_of = "2026-11-09"\n'
        '[instances."cpu"]\nusd_per_hour = 0.1\nsource = "s"\nas_of = "2026-11-09"\n'
    )
    table = PriceTable.load(file, "x")
    assert table.find_for_region("nc24", "eastus").usd_per_hour == 3.67  # type: ignore[union-attr]
    assert table.find_for_region("nc24", "westeurope") is None
    assert table.find_for_region("cpu", "westeurope").usd_per_hour == 0.1  # type: ignore[union-attr]
    mine = table.with_overrides(
        {"nc24": {"usd_per_hour": 3.0}}, where="hostkit.toml", as_of="2026-11-22"
    )
    assert mine.find_for_region("nc24", "westeurope").usd_per_hour == 3.0  # type: ignore[union-attr]
