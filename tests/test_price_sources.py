"""Shipped price rows with their sources, confidence and age (#15).

Vertex AI node-hour prices (GPUs included, 2025-08-12), Azure ML (EU 2026-08-22, US
2023-12-08 and so stale), SageMaker (secondary sources only, marked so), and how the
marks (``stale``, ``confidence = "secondary"``) and each price's age reach ``catalog``
(``--json`` too), ``cost`` and ``compare_costs``.
"""

from __future__ import annotations

import datetime as _dt
import importlib.util
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

from hostkit import DeploymentSpec, catalog, cli, get_provider
from hostkit import _live_prices as live
from hostkit._config import Config
from hostkit._pricing import (
    MAX_AGE_ENV,
    PriceRow,
    PriceTable,
    age_days,
    as_of_text,
    includes_gpus,
    max_age_days,
)
from hostkit.costs import Workload, compare_costs
from hostkit.errors import ConfigError, StalePrices

ROOT = Path(__file__).parents[1]
MODEL = "meta-llama/Llama-3.1-8B-Instruct"
AZURE = {
    "subscription_id": "6f1c2b7e-3a4d-4e5f-9b8a-2c1d0e9f8a7b",
    "resource_group": "hostkit-rg",
    "workspace": "hostkit-ws",
}
WORKLOAD = Workload(requests_per_day=1000, input_tokens=500, output_tokens=200)


def spec(provider: str, instance: str, **fields: Any) -> DeploymentSpec:
    data = {"provider": provider, "name": "p", "model": MODEL, "instance": instance, **fields}
    return DeploymentSpec.from_dict(data)


def table(provider: str) -> PriceTable:
    files = catalog.data_files(provider)
    assert files.prices is not None, provider
    return PriceTable.load(files.prices, provider)


def flat(provider: str) -> dict[tuple[str, str], PriceRow]:
    """Every shipped row of ``provider`` by (section, key)."""
    sections = table(provider).sections.items()
    return {(name, key): row for name, rows in sections for key, row in rows.items()}


def quiet_cost(provider: Any, target: DeploymentSpec, **usage: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return provider.cost(target, **usage)


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """No shipped price is old enough to be stale (the threshold far in the future)."""
    monkeypatch.setenv(MAX_AGE_ENV, "100000")


# -- the shipped rows ---------------------------------------------------------------------
def test_every_shipped_row_has_a_source_and_a_date() -> None:
    for name in catalog.provider_names():
        if catalog.data_files(name).prices is None:
            continue
        for row in table(name).rows():
            assert row.source.strip() and row.as_of, (name, row.key)
            assert age_days(row.as_of) is not None, (name, row.key)


def test_vertex_rows_are_vertex_prediction_prices_never_compute_engine() -> None:
    rows = flat("vertex")
    for row in rows.values():
        assert "cloud.google.com/vertex-ai/pricing" in row.source or (
            "cloud.google.com/skus" in row.source
        ), row.key
        assert "google-cloud-pricing-cost-calculator" not in row.source  # the GCE table
    nodes = [row for row in rows.values() if includes_gpus(row)]
    assert len(nodes) == 113 and {row.as_of for row in nodes} == {"2025-08-12"}
    for region, key, usd in [
        ("us-central1", "g2-standard-12", 1.1507),
        ("me-central2", "g2-standard-96", 14.7288),
        ("europe-west4", "a3-highgpu-8g", 128.588),
        ("us-west4", "a3-megagpu-8g", 120.1252),
        ("asia-southeast1", "a2-ultragpu-1g", 7.1328),
    ]:
        assert rows[(f"region.{region}", key)].usd_per_hour == usd
    assert rows[("region.europe-west3", "NVIDIA_L4")].unit == "GPU-hour"
    assert rows[("region.europe-west3", "NVIDIA_L4")].usd_per_hour == 0.75998


def test_azure_rows_eu_2026_and_us_2023_and_no_undated_h100_in_the_us() -> None:
    rows = flat("azureml")
    eu = [r for (s, _), r in rows.items() if s.split(".")[1] in EU_REGIONS]
    assert len(eu) == 30 and {r.as_of for r in eu} == {"2026-08-22"}
    us = [r for (s, _), r in rows.items() if s.split(".")[1] not in EU_REGIONS]
    assert {r.as_of for r in us} == {"2023-12-08", "2026-11-09"}
    h100_us = {s for (s, k) in rows if "H100" in k and s.split(".")[1] not in EU_REGIONS}
    assert h100_us == {"region.eastus"}  # the undated SkyPilot rows stay out
    assert rows[("region.swedencentral", "Standard_NC40ads_H100_v5")].usd_per_hour == 9.074
    assert rows[("region.westus3", "Standard_NV36ads_A10_v5")].usd_per_hour == 3.2


EU_REGIONS = {"westeurope", "northeurope", "francecentral", "swedencentral"}


# -- Vertex: the node-hour price is what one hour costs -----------------------------------
def test_one_hour_of_g2_standard_12_costs_the_pages_node_hour_figure(fresh: None) -> None:
    vertex = get_provider("vertex", project="hostkit-demo", location="us-central1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # fresh: no stale warning, no unknown price
        estimate = vertex.cost(spec("vertex", "g2-standard-12"), hours=1)
    assert estimate.usd == pytest.approx(1.1507) and estimate.as_of == "2025-08-12"
    assert "vertex-ai/pricing" in (estimate.source or "") and estimate.warnings == []
    two = quiet_cost(vertex, spec("vertex", "g2-standard-12", replicas=2), hours=5)
    assert two.usd == pytest.approx(10 * 1.1507)


# -- portable accelerators resolve to priced instances ------------------------------------
@pytest.mark.parametrize(
    ("provider", "region", "accelerator", "instance", "usd", "as_of"),
    [
        ("vertex", "us-central1", "L4:1", "g2-standard-4", 0.8129, "2025-08-12"),
        ("vertex", "us-central1", "A100-80GB:1", "a2-ultragpu-1g", 5.7818, "2025-08-12"),
        ("vertex", "us-central1", "H100:1", "a3-highgpu-1g", 1.3598858 + 11.2660332, "2025-08-15"),
        ("vertex", "europe-west4", "L4:1", "g2-standard-4", 0.8951, "2025-08-12"),
        ("azureml", "eastus", "A100-80GB:1", "Standard_NC24ads_A100_v4", 3.673, "2026-11-09"),
        ("azureml", "eastus", "H100:1", "Standard_NC40ads_H100_v5", 6.98, "2026-11-09"),
        ("azureml", "westeurope", "A100-80GB:1", "Standard_NC24ads_A100_v4", 4.775, "2026-08-22"),
        ("azureml", "westeurope", "H100:1", "Standard_NC40ads_H100_v5", 9.08, "2026-08-22"),
    ],
)
def test_portable_accelerators_resolve_to_a_priced_instance(
    provider: str, region: str, accelerator: str, instance: str, usd: float, as_of: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a priced choice: no PriceUnknown
        chosen = catalog.resolve_accelerator(provider, accelerator, region)
    assert chosen == instance
    if provider == "vertex":
        built = get_provider("vertex", project="hostkit-demo", location=region)
    else:
        built = get_provider("azureml", **AZURE, region=region)
    estimate = quiet_cost(built, spec(provider, chosen, region=region), hours=1)
    assert estimate.usd == pytest.approx(usd) and estimate.as_of == as_of


def test_azure_ml_has_no_l4_size_and_says_so() -> None:
    with pytest.raises(ConfigError, match="no azureml instance type in region 'eastus'"):
        catalog.resolve_accelerator("azureml", "L4:1", "eastus")


# -- age and staleness --------------------------------------------------------------------
def test_the_2023_azure_rows_are_stale_in_catalog_cost_and_compare(
    capsys: pytest.CaptureFixture[str],
) -> None:
    row = next(
        r
        for r in catalog.offerings("azureml", region="westus", config=Config())
        if r.name == "Standard_NC24ads_A100_v4"
    )
    assert (row.usd_per_hour, row.as_of, row.stale) == (4.775, "2023-12-08", True)
    assert row.age_days == age_days("2023-12-08") and row.age_days > 365
    assert row.stale_reason == "older than 365 days"

    azure = get_provider("azureml", **AZURE, region="westus")
    with pytest.warns(StalePrices, match="Standard_NC24ads_A100_v4: stale price"):
        estimate = azure.cost(spec("azureml", "Standard_NC24ads_A100_v4"), hours=1)
    assert estimate.usd == 4.775 and any("2023-12-08" in w for w in estimate.warnings)

    with pytest.warns(StalePrices):
        compared = compare_costs(
            WORKLOAD, ["azureml:Standard_NC24ads_A100_v4"], region="westus", config=Config()
        )
    option = compared.options[0]
    assert option.stale and option.age_days == row.age_days
    assert f"2023-12-08 ({row.age_days} days old, stale)" in compared.table()
    assert compared.to_dict()["options"][0]["stale"] is True

    assert cli.main(["catalog", "--provider", "azureml", "--region", "westus", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    listed = next(r for r in shown if r["name"] == "Standard_NC24ads_A100_v4")
    assert listed["stale"] is True and listed["age_days"] == row.age_days
    assert listed["stale_reason"] == "older than 365 days"


def test_catalog_shows_an_age_column(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["catalog", "--provider", "azureml", "--region", "westus"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0].split()[-4:] == ["price", "age", "as", "of"]
    line = next(x for x in out.splitlines() if "Standard_NC24ads_A100_v4" in x)
    assert f"{age_days('2023-12-08')} d stale" in line and line.endswith("2023-12-08 *")
    assert "older than 365 days (stale, marked *" in err


def test_the_threshold_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_AGE_ENV, "100000")
    rows = catalog.offerings("azureml", region="westus", config=Config())
    assert not any(r.stale for r in rows if r.priced)
    assert "stale" not in as_of_text("2023-12-08")
    monkeypatch.setenv(MAX_AGE_ENV, "30")
    assert max_age_days() == 30
    assert "stale: older than 30 days" in as_of_text("2026-08-22", _dt.date(2026, 12, 1))
    for bad in ("a year", "0", "-5"):
        monkeypatch.setenv(MAX_AGE_ENV, bad)
        with pytest.raises(ConfigError, match=MAX_AGE_ENV):
            max_age_days()


def test_as_of_text_says_the_date_and_the_age() -> None:
    today = _dt.date(2026, 1, 2)
    assert as_of_text("2026-01-01", today) == "price as of 2026-01-01 (1 day old)"
    assert as_of_text("2025-08-12", today).startswith("price as of 2025-08-12 (143 days old")
    assert as_of_text(None) == "price date unknown"


def test_refreshed_rows_supersede_shipped_ones_and_are_fresh() -> None:
    today = _dt.date.today().isoformat()
    api = "https://prices.azure.com/api/retail/prices"
    live.write_cache(
        "azureml",
        [PriceRow("Standard_NC24ads_A100_v4", api, today, usd_per_hour=3.5, region="westus")],
    )
    row = next(
        r
        for r in catalog.offerings("azureml", region="westus", config=Config())
        if r.name == "Standard_NC24ads_A100_v4"
    )
    assert (row.usd_per_hour, row.source, row.age_days, row.stale) == (3.5, api, 0, False)


# -- secondary rows -----------------------------------------------------------------------
def test_every_sagemaker_row_is_marked_secondary() -> None:
    rows = table("sagemaker").rows()
    assert len(rows) == 15 and {row.confidence for row in rows} == {"secondary"}


def test_secondary_marks_reach_catalog_cost_and_compare(
    capsys: pytest.CaptureFixture[str], fresh: None
) -> None:
    rows = catalog.offerings("sagemaker", region="us-east-1", config=Config())
    g5 = next(r for r in rows if r.name == "ml.g5.2xlarge")
    assert (g5.usd_per_hour, g5.confidence) == (1.52, "secondary")
    assert next(r for r in rows if r.name == "ml.g6e.xlarge").confidence is None  # unpriced

    assert cli.main(["catalog", "--provider", "sagemaker", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert next(r for r in shown if r["name"] == "ml.g5.2xlarge")["confidence"] == "secondary"
    assert cli.main(["catalog", "--provider", "sagemaker"]) == 0
    out, err = capsys.readouterr()
    assert "$1.52/h [secondary]" in out
    assert "secondary source, not read from the AWS Price List" in err

    sagemaker = get_provider("sagemaker", region="us-east-1", role_arn="arn:aws:iam::1:role/x")
    estimate = quiet_cost(sagemaker, spec("sagemaker", "ml.g5.2xlarge"), hours=1)
    assert estimate.usd == pytest.approx(1.52)
    assert any("secondary source, not read from the AWS Price List" in w for w in estimate.warnings)

    compared = compare_costs(WORKLOAD, ["sagemaker:ml.g5.2xlarge"], config=Config())
    option = compared.options[0]
    assert option.confidence == "secondary" and "secondary" in compared.table()
    assert any("not read from the AWS Price List" in note for note in compared.notes)
    assert compared.to_dict()["options"][0]["confidence"] == "secondary"
    by_spec = compare_costs(
        WORKLOAD,
        [{"provider": "sagemaker", "name": "s", "model": MODEL, "instance": "ml.g5.2xlarge"}],
        config=Config(providers={"sagemaker": {"region": "us-east-1", "role_arn": "arn:x"}}),
    )
    assert by_spec.options[0].confidence == "secondary"  # the adapter's own cost() path


def test_a_confidence_outside_the_allowed_values_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "prices.toml"
    bad.write_text(
        '[instances.x]\nusd_per_hour = 1.0\nsource = "s"\nas_of = "2026-01-01"\n'
        'confidence = "guess"\n'
    )
    with pytest.raises(ConfigError, match=r"confidence: expected one of secondary.*'guess'"):
        PriceTable.load(bad, "p")


# -- the coverage figure ------------------------------------------------------------------
def test_the_coverage_script_prints_every_provider(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = importlib.util.spec_from_file_location(
        "price_coverage", ROOT / "scripts" / "price_coverage.py"
    )
    assert loaded is not None and loaded.loader is not None
    module = importlib.util.module_from_spec(loaded)
    monkeypatch.setitem(sys.modules, "price_coverage", module)  # for its dataclass
    loaded.loader.exec_module(module)
    assert module.main(["--json"]) == 0
    figures = {f["provider"]: f for f in json.loads(capsys.readouterr().out)}
    assert set(figures) == set(catalog.provider_names())
    assert figures["vertex"]["priced"] > 100 and figures["vertex"]["oldest"] == "2025-08-12"
    assert figures["sagemaker"]["secondary"] == figures["sagemaker"]["priced"] == 15


def test_hostkit_cost_prints_the_price_date_and_age(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "hostkit.toml"
    config.write_text(
        "[providers.azureml]\n"
        f'subscription_id = "{AZURE["subscription_id"]}"\n'
        'resource_group = "rg"\nworkspace = "ws"\nregion = "westus"\n\n'
        '[deployments.a100]\nprovider = "azureml"\nmodel = "m/m"\n'
        'instance = "Standard_NC24ads_A100_v4"\n'
    )
    assert cli.main(["cost", "a100", "--hours", "1", "--config", str(config)]) == 0
    out, err = capsys.readouterr()
    days = age_days("2023-12-08")
    assert "total   $4.78" in out
    assert f"age     price as of 2023-12-08 ({days} days old; stale: older than 365 days)" in out
    assert "warning: Standard_NC24ads_A100_v4: stale price" in err
