"""The price catalog, its shipped data, portable accelerators and the catalog CLI."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tomllib
import warnings
from pathlib import Path

import pytest

from hostkit import catalog
from hostkit._config import Config, parse_config
from hostkit._gpus import identify, memory_matches, parse_accelerator
from hostkit._pricing import PRICE_FIELDS, PriceTable, load_hardware
from hostkit._registry import get_provider, provider_class
from hostkit.errors import ConfigError, PriceUnknown

#: platforms that really are free (a zero price is allowed there and nowhere else)
FREE_PLATFORMS: set[str] = {"local"}
ROOT = Path(__file__).resolve().parents[1]

PROVIDERS = catalog.provider_names()
DATA = {name: catalog.data_files(name) for name in PROVIDERS}
SHIPPED = [(name, files) for name, files in DATA.items() if files.prices or files.hardware]


def _rows(path: Path) -> list[tuple[str, str, dict[str, object]]]:
    document = tomllib.loads(path.read_text(encoding="utf-8"))
    return [(section, key, row) for section, rows in document.items() for key, row in rows.items()]


# -- validation of every shipped data file ---------------------------------------------
def test_every_provider_with_prices_ships_data() -> None:
    assert {name for name, _ in SHIPPED} >= {
        "azureml", "cerebras", "groq", "huggingface", "lambdalabs", "paperspace",
        "replicate", "sagemaker", "vertex",
    }  # fmt: skip


@pytest.mark.parametrize(("name", "files"), SHIPPED, ids=[n for n, _ in SHIPPED])
def test_every_row_has_a_source_an_iso_date_and_a_real_price(name: str, files: object) -> None:
    assert isinstance(files, catalog.DataFiles)
    for path in (files.prices, files.hardware):
        if path is None:
            continue
        for section, key, row in _rows(path):
            where = f"{path.name} [{section}.{key}]"
            source = row.get("source")
            assert isinstance(source, str), where
            # a page that states the price, or (a free platform) the doc that says why it is free
            free_doc = name in FREE_PLATFORMS and (ROOT / source).is_file()
            assert source.startswith("http") or free_doc, where
            as_of = row.get("as_of")
            assert isinstance(as_of, str), where
            assert dt.date.fromisoformat(as_of) <= dt.date.today(), f"{where}: future date"
            for field in PRICE_FIELDS:
                value = row.get(field)
                if value is None:
                    continue
                assert isinstance(value, int | float) and value >= 0, where
                assert value > 0 or name in FREE_PLATFORMS, f"{where}: zero price"
    if files.prices:
        PriceTable.load(files.prices, name)  # the loader's own checks pass too


@pytest.mark.parametrize(
    ("name", "path"),
    [(n, f.hardware) for n, f in SHIPPED if f.hardware],
    ids=[n for n, f in SHIPPED if f.hardware],
)
def test_gpu_memory_matches_the_gpu_type(name: str, path: Path) -> None:
    for key, hw in load_hardware(path).items():
        if hw.gpu_type is None:
            assert hw.gpu_count == 0, f"{name} {key}: GPUs without a type"
            continue
        assert identify(hw.gpu_type) is not None, f"{name} {key}: unknown GPU {hw.gpu_type!r}"
        assert hw.gpu_count >= 1, f"{name} {key}"
        assert memory_matches(hw.gpu_type, hw.gpu_memory_gb), (
            f"{name} {key}: {hw.gpu_type} with {hw.gpu_memory_gb} GB"
        )


def test_shipped_catalog_agrees_with_each_installed_providers_offerings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    regions = {"sagemaker": "us-east-1", "vertex": "us-central1", "azureml": "eastus"}
    checked = 0
    for name, _ in SHIPPED:
        cls = provider_class(name)
        if cls.missing_modules() or name == "huggingface":  # its offerings() asks the router
            continue
        if cls.credential_env:
            monkeypatch.delenv(cls.credential_env, raising=False)  # lambdalabs: shipped table
        offers = get_provider(name, config=Config()).offerings(regions.get(name))
        rows = catalog.shipped_offerings(name, regions.get(name))
        expected = {(o.name, o.kind, o.usd_per_hour, o.gpu_count, o.gpu_memory_gb) for o in offers}
        got = {(r.name, r.kind, r.usd_per_hour, r.gpu_count, r.gpu_memory_gb) for r in rows}
        assert got == expected, name
        checked += 1
    assert checked >= 5


# -- GPU names ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "family", "memory"),
    [
        ("A100 80GB PCIe", "A100", 80),
        ("NVIDIA_A100_80GB", "A100", 80),
        ("NVIDIA_TESLA_A100", "A100", None),
        ("A100-80GB", "A100", 80),
        ("H100 NVL", "H100", 94),
        ("H100 SXM", "H100", None),
        ("RTX A6000", "A6000", None),
        ("Quadro RTX 6000", "RTX6000", None),
        ("gpu-t4", "T4", None),
    ],
)
def test_identify_reads_each_platforms_spelling(name: str, family: str, memory: float) -> None:
    gpu = identify(name)
    assert gpu is not None and (gpu.family, gpu.memory_gb) == (family, memory)


def test_identify_refuses_what_it_does_not_know() -> None:
    assert identify("gpu-a100-large") is None
    assert identify("TPU v5e") is None


def test_parse_accelerator_and_its_errors() -> None:
    acc = parse_accelerator("A100-80GB:2")
    assert (acc.gpu.family, acc.gpu.memory_gb, acc.count) == ("A100", 80, 2)
    assert parse_accelerator("L4").count == 1
    with pytest.raises(ConfigError, match=r"accelerator: unknown GPU 'Z9'.*known GPUs"):
        parse_accelerator("Z9:2")
    with pytest.raises(ConfigError, match=r"not sold with 50 GB.*40GB, 80GB"):
        parse_accelerator("A100-50GB")
    with pytest.raises(ConfigError, match="at least 1"):
        parse_accelerator("H100:0")


# -- the table ----------------------------------------------------------------------
def test_table_covers_every_provider_with_data_and_keeps_price_parts() -> None:
    rows = catalog.offerings(config=Config())
    assert {r.provider for r in rows} >= {name for name, _ in SHIPPED}
    assert all(r.source and r.as_of for r in rows)
    a3 = next(
        r
        for r in rows
        if r.provider == "vertex" and r.name == "a3-highgpu-2g" and r.region == "us-central1"
    )
    assert a3.host_usd_per_hour == pytest.approx(2.7197716)
    assert a3.gpu_usd_per_hour == pytest.approx(11.2660332)
    assert a3.usd_per_hour == pytest.approx(2.7197716 + 2 * 11.2660332)
    assert a3.region == "us-central1"
    # Vertex L4 machines: neither part priced -> unknown, never a guess
    g2 = next(r for r in rows if r.provider == "vertex" and r.name == "g2-standard-8")
    assert g2.usd_per_hour is None
    groq = next(r for r in rows if r.provider == "groq")
    assert groq.kind == "model" and groq.usd_per_million_input is not None
    replicate = {r.name: r for r in rows if r.provider == "replicate"}
    assert replicate["gpu-t4"].usd_per_hour == pytest.approx(0.81)


def test_filters() -> None:
    rows = catalog.offerings(config=Config())
    h100 = catalog.filter_rows(rows, gpu="H100:2")
    assert h100 and all(identify(r.gpu_type).family == "H100" for r in h100)  # type: ignore[union-attr]
    assert all((r.gpu_count or 0) >= 2 for r in h100)
    big = catalog.filter_rows(rows, min_gpu_memory_gb=90)
    assert {r.gpu_memory_gb for r in big} <= {94, 96, 141, 180}  # H100 NVL, GH200, H200, B200
    cheap = catalog.filter_rows(rows, max_usd_per_hour=1.0)
    assert cheap and all(r.usd_per_hour is not None and r.usd_per_hour <= 1.0 for r in cheap)
    east = catalog.offerings(region="eastus", config=Config())
    assert {r.region for r in east} <= {"eastus", None}
    assert any(r.provider == "azureml" for r in east)
    only = catalog.offerings(["paperspace", "groq"], config=Config())
    assert {r.provider for r in only} == {"paperspace", "groq"}
    with pytest.raises(ConfigError, match="provider: unknown provider 'nope'; registered:"):
        catalog.offerings("nope", config=Config())
    with pytest.raises(ConfigError, match="max_usd_per_hour"):
        catalog.filter_rows(rows, max_usd_per_hour=-1)


def test_a_region_without_prices_lists_its_instances_unpriced() -> None:
    rows = catalog.offerings("sagemaker", region="eu-west-1", config=Config())
    assert rows and all(r.region == "eu-west-1" and r.usd_per_hour is None for r in rows)


def test_config_price_overrides_win_as_all_in_prices(tmp_path: Path) -> None:
    path = tmp_path / "hostkit.toml"
    path.write_text("")
    config = parse_config(
        {"prices": {"vertex": {"g2-standard-8": {"usd_per_hour": 1.5, "source": "my quote"}}}},
        path,
    )
    row = next(r for r in catalog.offerings("vertex", config=config) if r.name == "g2-standard-8")
    assert row.usd_per_hour == 1.5 and row.source == "my quote"
    assert row.host_usd_per_hour is None and row.gpu_usd_per_hour is None


def test_live_mode_asks_installed_providers_and_falls_back_on_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    local = catalog.offerings("local", live=True, config=Config())
    assert [r.name for r in local] == ["local"]
    shipped = catalog.offerings("local", config=Config())  # this machine, free by default
    assert [(r.name, r.usd_per_hour, r.source) for r in shipped] == [
        ("local", 0.0, "docs/providers/local.md")
    ]
    cls = provider_class("paperspace")

    def broken(self: object, region: str | None = None) -> list[object]:
        raise RuntimeError("boom")

    monkeypatch.setattr(cls, "offerings", broken)
    with pytest.warns(RuntimeWarning, match="paperspace.offerings\\(\\) failed"):
        rows = catalog.offerings("paperspace", live=True, config=Config())
    assert rows == catalog.shipped_offerings("paperspace")


# -- portable accelerators -------------------------------------------------------------
@pytest.mark.parametrize(
    ("provider", "accelerator", "region", "expected"),
    [
        ("lambdalabs", "H100:2", None, "gpu_2x_h100_sxm5"),
        ("lambdalabs", "H100", None, "gpu_1x_h100_pcie"),
        ("lambdalabs", "A100-80GB:2", None, "gpu_8x_a100_80gb_sxm4"),
        ("paperspace", "H100", None, "H100"),
        ("paperspace", "A4000", None, "A4000"),
        ("azureml", "A100-80GB:2", "eastus", "Standard_NC48ads_A100_v4"),
        ("azureml", "H100", None, "Standard_NC40ads_H100_v5"),
        ("vertex", "H100:2", "us-central1", "a3-highgpu-2g"),
        ("sagemaker", "A10G", "us-east-1", "ml.g5.xlarge"),
        ("sagemaker", "A100:8", "us-east-1", "ml.p4d.24xlarge"),
    ],
)
def test_resolve_accelerator_picks_the_cheapest_fit(
    provider: str, accelerator: str, region: str | None, expected: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert catalog.resolve_accelerator(provider, accelerator, region) == expected


def test_resolve_without_any_price_takes_the_smallest_and_warns_once() -> None:
    with pytest.warns(PriceUnknown) as caught:
        assert catalog.resolve_accelerator("vertex", "L4:2", "asia-east1") == "g2-standard-24"
    assert len(caught) == 1 and "g2-standard-24" in str(caught[0].message)


def test_resolve_lists_the_nearest_matches_when_nothing_fits() -> None:
    with pytest.raises(ConfigError) as raised:
        catalog.resolve_accelerator("paperspace", "H100:8")
    message = str(raised.value)
    assert "no paperspace instance type has at least 8x H100" in message
    assert "nearest: H100 (1x H100 80GB, $3.09/h)" in message


def test_resolve_is_a_pure_function_of_given_rows() -> None:
    rows = [
        catalog.CatalogRow("x", "big", "instance", "s", "2026-01-01", gpu_type="L4",
                           gpu_count=4, gpu_memory_gb=24, usd_per_hour=3.0),
        catalog.CatalogRow("x", "small", "instance", "s", "2026-01-01", gpu_type="L4",
                           gpu_count=2, gpu_memory_gb=24, usd_per_hour=2.0),
    ]  # fmt: skip
    assert catalog.resolve_accelerator("x", "L4:2", rows=rows) == "small"
    assert catalog.resolve_accelerator("x", "L4:3", rows=rows) == "big"


# -- CLI ------------------------------------------------------------------------------
def _run(argv: list[str]) -> int:
    from hostkit import cli, cli_catalog

    common = cli._global_options()
    parser = argparse.ArgumentParser(parents=[common])
    cli_catalog.add_commands(parser.add_subparsers(dest="command", required=True), common)
    return cli._run(parser.parse_args(argv))


def test_cli_catalog_table_and_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HOSTKIT_CONFIG", raising=False)
    assert _run(["catalog", "--gpu", "H100", "--max-price", "30"]) == 0
    out = capsys.readouterr().out
    assert "a3-highgpu-1g" in out and "host $1.36 + 1 x GPU $11.27" in out
    assert "gpu_8x_h100_sxm5" not in out  # $31.92/h
    assert _run(["catalog", "--provider", "paperspace", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {row["provider"] for row in data} == {"paperspace"}
    assert all(row["source"] and row["as_of"] for row in data)


def test_cli_catalog_bad_gpu_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HOSTKIT_CONFIG", raising=False)
    assert _run(["catalog", "--gpu", "Z9"]) == 2
    assert "gpu: unknown GPU 'Z9'" in capsys.readouterr().err
