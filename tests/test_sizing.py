"""Model sizing: weights, KV cache, margin, RAM, disk, and the offerings that fit."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from hostkit import catalog, sizing
from hostkit._config import Config
from hostkit.errors import AuthenticationError, ConfigError
from hostkit.testing import cassette


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
    # 8 x L4 (192 GB) at the page's node-hour price beats 4 x H100
    assert by_provider["vertex"].row.name == "g2-standard-96"
    assert by_provider["vertex"].gpus_needed == 8
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
    argv = ["size", "meta-llama/Llama-2-70b-hf", "--dtype", "bf16", "--batch", "8", "--offline"]
    assert cli._run(parser.parse_args(argv)) == 0
    out = capsys.readouterr().out
    assert "weights" in out and "138.0 GB" in out and "int4 34.5 GB" in out
    assert "g2-standard-96" in out and "TP 8" in out
    assert cli._run(parser.parse_args([*argv, "--json"])) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["sizing"]["weights_gb"] == pytest.approx(137.95, abs=0.01)
    assert {f["provider"] for f in data["fits"]} >= {"vertex", "lambdalabs"}


# -- the Hugging Face Hub (cassettes of the requests huggingface_hub makes) ----------------
CASSETTES = Path(__file__).parent / "sizing_cassettes"
QWEN = "Qwen/Qwen2.5-0.5B-Instruct"


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """huggingface_hub's HTTP (httpx2) sent through httpx, where the cassettes replay it.

    The bridge passes method, URL, headers and body through unchanged, so each cassette
    holds exactly the requests huggingface_hub makes; strict replay fails on any other.
    """
    import httpx
    import httpx2
    import huggingface_hub
    from huggingface_hub import constants
    from huggingface_hub.utils._http import default_client_factory

    class Bridge(httpx2.BaseTransport):
        def handle_request(self, request: httpx2.Request) -> httpx2.Response:
            sent = httpx.Request(
                request.method,
                str(request.url),
                headers=list(request.headers.raw),
                content=request.read(),
            )
            with httpx.HTTPTransport() as transport:
                answer = transport.handle_request(sent)
                body = answer.read()
            return httpx2.Response(
                answer.status_code, headers=list(answer.headers.raw), content=body
            )

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
    huggingface_hub.set_client_factory(
        lambda: httpx2.Client(transport=Bridge(), follow_redirects=True)
    )
    try:
        yield
    finally:
        huggingface_hub.set_client_factory(default_client_factory)


def test_parameters_and_architecture_from_the_hub(hub: None) -> None:
    with cassette(CASSETTES / "hub_qwen2_5_0_5b.yaml") as played:
        shape = sizing.from_hub(QWEN)
    assert played.all_played
    # the safetensors header's BF16 tensors: 494,032,768 parameters, as the Hub shows
    assert shape.params == 494_032_768 and dict(shape.params_by_dtype) == {"BF16": 494_032_768}
    # config.json: 24 layers, 2 KV heads, head dim 896 / 14 = 64, context 32768
    assert (shape.layers, shape.kv_heads, shape.head_dim) == (24, 2, 64)
    assert shape.max_context == 32768 and shape.origin == "hub"
    assert shape.source.startswith(f"https://huggingface.co/{QWEN}")
    result = sizing.estimate(QWEN, shape=shape, dtype="bf16", context=32768, batch=1)
    assert result.weights_gb == pytest.approx(0.988, abs=0.001)
    assert result.kv_cache_gb == pytest.approx(2 * 24 * 2 * 64 * 32768 * 2 / 1e9)
    assert result.origin == "hub" and result.max_context == 32768


def test_a_sharded_model_from_the_hub_agrees_with_the_shipped_table(hub: None) -> None:
    model = "Qwen/Qwen2.5-7B-Instruct"
    with cassette(CASSETTES / "hub_qwen2_5_7b_sharded.yaml") as played:
        shape = sizing.from_hub(model)
    assert played.all_played  # no model.safetensors: the index, then every shard's header
    table = sizing.KNOWN_MODELS[model]
    assert shape.params == table.params == 7_615_616_512
    assert (shape.layers, shape.kv_heads, shape.head_dim) == (
        table.layers,
        table.kv_heads,
        table.head_dim,
    )


def test_a_gated_model_says_to_set_hf_token_or_pass_params(hub: None) -> None:
    gated = CASSETTES / "hub_gated_llama_3_2_1b.yaml"
    wording = r"a gated model on the Hugging Face Hub \(HTTP 401\).* set HF_TOKEN"
    with cassette(gated), pytest.raises(AuthenticationError, match=wording):
        sizing.from_hub("meta-llama/Llama-3.2-1B")
    with cassette(gated), pytest.raises(AuthenticationError, match="or pass --params"):
        sizing.resolve_shape("meta-llama/Llama-3.2-1B")  # not in the table: no fallback


def test_a_gated_model_in_the_shipped_table_falls_back_to_it(hub: None) -> None:
    with cassette(CASSETTES / "hub_gated_llama_2_7b_hf.yaml") as played:
        shape, origin = sizing.resolve_shape("meta-llama/Llama-2-7b-hf")
    assert played.all_played
    assert shape == sizing.KNOWN_MODELS["meta-llama/Llama-2-7b-hf"]
    assert "gated" in origin and "used hostkit's shipped table instead" in origin


def test_offline_never_asks_the_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the Hub was asked")

    monkeypatch.setattr(sizing, "from_hub", refuse)
    shape, origin = sizing.resolve_shape("llama-2-13b", offline=True)
    assert shape is sizing.KNOWN_MODELS["meta-llama/Llama-2-13b-hf"]
    assert origin == "offline: parameters and architecture from hostkit's shipped table"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert sizing.resolve_shape("org/unknown")[0] is None


def test_an_unreachable_hub_falls_back_to_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(model: str, **kwargs: object) -> None:
        raise sizing.HubUnreachable(f"the Hugging Face Hub could not be asked about {model}")

    monkeypatch.setattr(sizing, "from_hub", unreachable)
    shape, origin = sizing.resolve_shape("meta-llama/Llama-2-70b-hf")
    assert shape is sizing.KNOWN_MODELS["meta-llama/Llama-2-70b-hf"]
    assert origin.endswith("used hostkit's shipped table instead")
    with pytest.raises(sizing.HubUnreachable):
        sizing.resolve_shape("org/unknown")


def test_shape_from_config_variants() -> None:
    gpt2 = {"n_layer": 12, "n_head": 12, "n_embd": 768, "n_positions": 1024}
    shape = sizing.shape_from_config(gpt2, params=124e6, model="gpt2")
    assert (shape.layers, shape.kv_heads, shape.head_dim, shape.max_context) == (12, 12, 64, 1024)
    nested = {
        "text_config": {
            "num_hidden_layers": 4,
            "num_attention_heads": 8,
            "num_key_value_heads": 2,
            "head_dim": 256,
        }
    }
    assert sizing.shape_from_config(nested, params=1, model="m").kv_heads == 2
    with pytest.raises(ConfigError, match=r"m config\.json: no usable num_hidden_layers"):
        sizing.shape_from_config({"hidden_size": 8}, params=1, model="m")


def test_cli_size_from_the_hub_says_where_its_numbers_come_from(
    hub: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from hostkit import cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HOSTKIT_CONFIG", raising=False)
    with cassette(CASSETTES / "hub_qwen2_5_0_5b.yaml"):
        assert cli.main(["--json", "size", QWEN, "--context", "8192"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["sizing"]["params"] == 494_032_768 and data["sizing"]["origin"] == "hub"
    assert data["parameters_from"].startswith("from the Hub: https://huggingface.co/Qwen")
    assert "from the Hub" in captured.err
    with cassette(CASSETTES / "hub_gated_llama_3_2_1b.yaml"):
        assert cli.main(["size", "meta-llama/Llama-3.2-1B"]) == 1
    assert "set HF_TOKEN" in capsys.readouterr().err
