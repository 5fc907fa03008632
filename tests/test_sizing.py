"""Model sizing: weights, KV cache, margin, RAM, disk, and the offerings that fit."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from hostkit import catalog, sizing
from hostkit._config import Config
from hostkit.errors import ConfigError


@pytest.mark.parametrize(
    ("model", "quoted_gb"),
    [
        ("meta-llama/Llama-2-7b-hf", 14),
        ("meta-llama/Llama-2-13b-hf", 26),
        ("meta-llama/Llama-2-70b-hf", 140),
    ],
)
def test_fp16_weights_agree_with_the_quoted_figures(model: str, quoted_gb: float) -> None:
    result = sizing.estimate(model, dtype="fp16")
    assert result.weights_gb == pytest.approx(quoted_gb, rel=0.05)
    assert result.by_dtype["int8"] == pytest.approx(result.weights_gb / 2)
    assert result.by_dtype["int4"] == pytest.approx(result.weights_gb / 4)


def test_kv_cache_margin_ram_and_disk() -> None:
    result = sizing.estimate("meta-llama/Llama-2-70b-hf", dtype="bf16", context=4096, batch=8)
    # 2 x 80 layers x 8 KV heads x 128 x 4096 tokens x 8 sequences x 2 bytes
    assert result.kv_cache_gb == pytest.approx(2 * 80 * 8 * 128 * 4096 * 8 * 2 / 1e9)
    assert result.activations_gb == pytest.approx(0.2 * (result.weights_gb + result.kv_cache_gb))
    assert result.gpu_memory_gb == pytest.approx(1.2 * (result.weights_gb + result.kv_cache_gb))
    assert result.host_ram_gb == pytest.approx((2 * result.weights_gb, 3 * result.weights_gb))
    assert result.disk_gb == result.weights_gb
    assert result.source and "Llama-2-70b-hf" in result.source


def test_quantised_weights_keep_an_fp16_kv_cache() -> None:
    fp16 = sizing.estimate("llama-2-7b", dtype="fp16", context=2048)
    int4 = sizing.estimate("llama-2-7b", dtype="int4", context=2048)
    assert int4.weights_gb == pytest.approx(fp16.weights_gb / 4)
    assert int4.kv_dtype == "fp16" and int4.kv_cache_gb == fp16.kv_cache_gb


def test_a_model_given_by_its_shape() -> None:
    result = sizing.estimate(params_b=7, layers=32, kv_heads=8, head_dim=128, dtype="int8")
    assert result.weights_gb == pytest.approx(7.0)
    with pytest.raises(ConfigError, match="layers, kv_heads, head_dim: needed"):
        sizing.estimate(params_b=7)
    with pytest.raises(ConfigError, match="model: 'org/unknown' is not in the shipped table"):
        sizing.estimate("org/unknown")
    with pytest.raises(ConfigError, match="dtype: unknown dtype 'fp12'; allowed:"):
        sizing.estimate("llama-2-7b", dtype="fp12")
    with pytest.raises(ConfigError, match="batch: expected a whole number > 0"):
        sizing.estimate("llama-2-7b", batch=0)


def test_cheapest_fits_per_provider_with_tensor_parallelism() -> None:
    result = sizing.estimate("meta-llama/Llama-2-70b-hf", dtype="bf16", context=4096, batch=8)
    fits = sizing.fits(result, catalog.offerings(config=Config()))
    by_provider = {f.row.provider: f for f in fits}
    assert len(by_provider) == len(fits)  # one per provider
    assert "paperspace" not in by_provider  # one GPU of at most 80 GB: too small
    for fit in fits:
        row = fit.row
        assert fit.gpus_needed <= (row.gpu_count or 0)
        assert fit.gpus_needed * (row.gpu_memory_gb or 0) >= result.gpu_memory_gb
    assert by_provider["vertex"].row.name == "a3-highgpu-4g"
    assert by_provider["vertex"].gpus_needed == 4
    prices = [f.usd_per_hour for f in fits if f.usd_per_hour is not None]
    assert prices == sorted(prices)


def test_cli_size(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from hostkit import cli, cli_catalog

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HOSTKIT_CONFIG", raising=False)
    common = cli._global_options()
    parser = argparse.ArgumentParser(parents=[common])
    cli_catalog.add_commands(parser.add_subparsers(dest="command", required=True), common)
    argv = ["size", "meta-llama/Llama-2-70b-hf", "--dtype", "bf16", "--batch", "8"]
    assert cli._run(parser.parse_args(argv)) == 0
    out = capsys.readouterr().out
    assert "weights" in out and "138.0 GB" in out and "int4 34.5 GB" in out
    assert "a3-highgpu-4g" in out and "TP 4" in out
    assert cli._run(parser.parse_args([*argv, "--json"])) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["sizing"]["weights_gb"] == pytest.approx(137.95, abs=0.01)
    assert {f["provider"] for f in data["fits"]} >= {"vertex", "lambdalabs"}
