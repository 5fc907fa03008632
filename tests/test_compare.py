"""hostkit.compare for real: local worker processes, a local LLM server, Groq's cassettes."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from hostkit_examples import study_score

import hostkit
from hostkit import errors
from hostkit.compare import compare, load_prompts, percentile, plot
from hostkit.testing import cassette

ROOT = Path(__file__).resolve().parents[1]
GROQ_CASSETTES = ROOT / "providers" / "groq" / "tests" / "cassettes"
GROQ_PROMPT = "Say hello in five words."
GROQ_PARAMS: dict[str, Any] = {"max_tokens": 64, "temperature": 0}


@pytest.fixture
def groq_dep(monkeypatch: pytest.MonkeyPatch) -> hostkit.Deployment:
    monkeypatch.setenv("GROQ_API_KEY", "gsk_testFakeKey000000")
    provider = hostkit.get_provider("groq")
    return provider.serverless_deployment("groq-chat", "openai/gpt-oss-120b", None, {})


def test_streaming_llm_and_python_model_side_by_side(
    scores: hostkit.Deployment, llm: hostkit.Deployment
) -> None:
    seen: list[tuple[int, int]] = []
    prompts = ["hello there", "please [fail]", "one two three"]
    result = compare(
        [scores, llm], prompts, stream=True, repeat=2, progress=lambda d, t: seen.append((d, t))
    )
    assert seen[-1] == (12, 12) and len(seen) == 12
    by_label = {r.label: r for r in result.reports}

    chat = by_label["llm"]
    assert (chat.requests, chat.successes) == (6, 4)
    assert chat.errors == {"ProviderError": 2}
    assert any("refused" in message for message in chat.error_messages)
    assert chat.outputs == ["echo: hello there", "<ProviderError>", "echo: one two three"]
    assert chat.ttft_p50_s is not None and 0 < chat.ttft_p50_s <= chat.latency_p95_s
    assert chat.output_tokens == 2 * (3 + 4) and chat.output_tokens_per_s
    assert chat.latency_p50_s <= chat.latency_p95_s <= chat.latency_p99_s

    # a Python model cannot stream: it is invoked instead; text is not what it expects
    python = by_label["scores"]
    assert python.successes == 0 and python.errors == {"ProviderError": 6}
    assert python.ttft_p50_s is None and python.latency_p50_s is None

    rows = result.side_by_side()
    assert rows[0] == {
        "prompt": "hello there",
        "scores": "<ProviderError>",
        "llm": "echo: hello there",
    }


def test_dedicated_cost_is_the_hourly_price_over_measured_throughput(
    scores: hostkit.Deployment, tmp_path: Path
) -> None:
    config = tmp_path / "priced.toml"
    config.write_text("[providers.local]\nusd_per_hour = 3.6\n")
    priced = hostkit.get_provider("local", config=hostkit.load_config(config))
    dep = priced.get("scores")
    result = compare({"priced": dep}, [{"hours": 2}, {"hours": 7}], repeat=3, concurrency=2)
    report = result.reports[0]
    assert report.kind == "dedicated" and report.successes == 6 and report.errors == {}
    assert report.outputs == [study_score.predict({"hours": 2}), study_score.predict({"hours": 7})]
    expected = 3.6 / 3600 / report.throughput_rps * 1000
    assert report.cost.per_1k_requests == pytest.approx(expected)
    assert report.cost.per_million_tokens is None  # a Python model counts no tokens
    assert "usd_per_hour" in (report.cost.source or "") and report.cost.as_of
    assert report.cost.basis == "hourly price / measured throughput"


def test_serverless_cost_tokens_and_platform_timings_from_groq_cassette(
    groq_dep: hostkit.Deployment,
) -> None:
    with cassette(GROQ_CASSETTES / "ainvoke.yaml", allow_playback_repeats=True) as recorded:
        result = compare([groq_dep], [GROQ_PROMPT], repeat=3, params=GROQ_PARAMS)
    assert recorded.play_count == 3
    report = result.reports[0]
    assert report.kind == "serverless" and report.successes == 3
    per_call = (77 * 0.15 + 29 * 0.60) / 1e6
    assert report.cost.per_1k_requests == pytest.approx(per_call * 1000)
    assert report.cost.per_million_tokens == pytest.approx(per_call / (77 + 29) * 1e6)
    assert report.cost.source == "https://groq.com/pricing/" and report.cost.as_of == "2026-06-04"
    assert report.platform_timings["total_time"] == pytest.approx(0.062629921)
    assert report.outputs == ["Hello there, nice meeting you!"]
    assert report.input_tokens == 3 * 77 and report.output_tokens == 3 * 29
    # the price's source and age are shown with the figures (table footer, CSV columns)
    days = (dt.date.today() - dt.date(2026, 6, 4)).days
    assert f"https://groq.com/pricing/; price as of 2026-06-04 ({days} days old" in result.table()
    assert report.row()["cost_age_days"] == days


def test_unknown_price_is_none_with_exactly_one_warning(
    groq_dep: hostkit.Deployment,
) -> None:
    provider = groq_dep._provider
    assert provider is not None
    cheap = provider.serverless_deployment("fast", "qwen/qwen3-32b", None, {})
    with (
        cassette(GROQ_CASSETTES / "invoke_unpriced.yaml", allow_playback_repeats=True),
        warnings.catch_warnings(record=True) as seen,
    ):
        warnings.simplefilter("always")
        result = compare([cheap], [GROQ_PROMPT], repeat=3, params=GROQ_PARAMS)
    report = result.reports[0]
    assert report.successes == 3
    assert report.cost.per_1k_requests is None and report.cost.per_million_tokens is None
    assert len([w for w in seen if issubclass(w.category, errors.PriceUnknown)]) == 1


def test_writers_and_plot(scores: hostkit.Deployment, tmp_path: Path) -> None:
    result = compare(["scores"], [{"hours": 1}, {"hours": 4}])
    data = json.loads(result.write_json(tmp_path / "out.json").read_text())
    assert data["reports"][0]["label"] == "scores" and data["reports"][0]["successes"] == 2
    assert data["prompts"] == [{"hours": 1}, {"hours": 4}]

    with result.write_csv(tmp_path / "out.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["label"] == "scores" and rows[0]["successes"] == "2"
    assert float(rows[0]["cost_per_1k_requests_usd"]) == 0.0 and rows[0]["cost_source"]

    with result.write_outputs_csv(tmp_path / "outputs.csv").open() as handle:
        side = list(csv.reader(handle))
    assert side[0] == ["prompt", "scores"] and json.loads(side[1][0]) == {"hours": 1}

    png = plot(result, tmp_path / "plot.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "scores" in result.table() and "p95" in result.table()


def test_prompts_file_and_bad_input(tmp_path: Path) -> None:
    good = tmp_path / "prompts.jsonl"
    good.write_text('"Hi"\n\n{"hours": 3}\n[{"role": "user", "content": "x"}]\n')
    assert load_prompts(good) == ["Hi", {"hours": 3}, [{"role": "user", "content": "x"}]]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('"ok"\nnot json\n')
    with pytest.raises(errors.ConfigError, match="line 2"):
        load_prompts(bad)
    with pytest.raises(errors.ConfigError, match="concurrency"):
        compare(["a"], ["Hi"], concurrency=0)
    with pytest.raises(errors.ConfigError, match="appear"):
        compare(["same", "same"], ["Hi"])
    with pytest.raises(errors.ConfigError, match="prompts"):
        compare(["a"], [])
    with pytest.raises(errors.ConfigError, match="params_by_target"):
        compare(["a"], ["Hi"], params_by_target={"b": {}})
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5 and percentile([], 95) is None


def _cli(argv: list[str]) -> int:
    from hostkit import cli, cli_compare

    common = cli._global_options()
    parser = argparse.ArgumentParser(prog="hostkit", parents=[common])
    commands = parser.add_subparsers(dest="command", required=True)
    cli_compare.add_commands(commands, common)
    return cli._run(parser.parse_args(argv))


def test_cli_compare_writes_json_csv_and_plot(
    scores: hostkit.Deployment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"hours": 2}\n{"hours": 3}\n')
    code = _cli(
        ["compare", "scores", "--prompts", str(prompts), "--json-file", str(tmp_path / "r.json"),
         "--csv", str(tmp_path / "r.csv"), "--plot", str(tmp_path / "r.png")]
    )  # fmt: skip
    out = capsys.readouterr()
    assert code == 0 and "scores" in out.out and "2/2" in out.out
    assert json.loads((tmp_path / "r.json").read_text())["reports"][0]["successes"] == 2
    assert (tmp_path / "r.csv").exists() and (tmp_path / "r.png").exists()

    assert _cli(["compare", "scores", "--prompt", '{"hours": 1}', "--json", "-q"]) == 0
    assert json.loads(capsys.readouterr().out)["reports"][0]["successes"] == 1
    assert _cli(["compare", "scores"]) == 2  # no prompts: a usage error naming the options
    assert "--prompts" in capsys.readouterr().err
