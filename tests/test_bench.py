"""hostkit.bench for real against the local provider, and Groq through its cassette."""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest

import hostkit
from hostkit import errors
from hostkit.bench import bench, parse_rate
from hostkit.testing import cassette

ROOT = Path(__file__).resolve().parents[1]
FAKE_SERVER = ROOT / "examples" / "fake_openai_server.py"
GROQ_CASSETTES = ROOT / "providers" / "groq" / "tests" / "cassettes"


def test_closed_loop_steps_and_recommendation(scores: hostkit.Deployment) -> None:
    seen: list[str] = []
    result = bench(
        scores,
        {"hours": 5},
        concurrency=(1, 4),
        requests_per_step=12,
        p95_target="30s",
        target_rps=100_000,
        progress=seen.append,
    )
    assert [s.concurrency for s in result.steps] == [1, 4] and len(seen) == 2
    for step in result.steps:
        assert step.mode == "closed" and step.requests == step.successes == 12
        assert step.error_rate == 0 and step.throughput_rps > 0 and step.tokens_per_s is None
        assert step.latency_p50_s <= step.latency_p95_s <= step.latency_p99_s
        assert step.cost.per_1k_requests == 0.0 and step.cost.source  # local: $0/h by default
    rec = result.recommendation
    best = max(result.steps, key=lambda s: s.throughput_rps)
    assert rec.concurrency == best.concurrency and rec.throughput_rps == best.throughput_rps
    assert rec.current_replicas == 1 and result.kind == "dedicated"
    assert rec.replicas == math.ceil(100_000 / best.throughput_rps)
    assert f"{rec.replicas} replica" in rec.reason and rec.reason in result.table()


def test_a_p95_target_no_step_meets_gives_no_recommendation(scores: hostkit.Deployment) -> None:
    result = bench(scores, {"hours": 1}, concurrency=[2], requests_per_step=5, p95_target=0)
    assert result.recommendation.concurrency is None and result.recommendation.replicas is None
    assert "no concurrency met p95" in result.recommendation.reason


def test_open_loop_fixed_rate_and_duration_budget(scores: hostkit.Deployment) -> None:
    result = bench(scores, {"hours": 2}, rate=["200/s", 400], requests_per_step=10)
    assert [(s.mode, s.offered_rps, s.requests) for s in result.steps] == [
        ("open", 200.0, 10),
        ("open", 400.0, 10),
    ]
    assert all(s.successes == 10 and s.concurrency is None for s in result.steps)
    assert "open-loop" in result.recommendation.reason

    timed = bench(scores, {"hours": 2}, concurrency=[2], duration="0.2s", warmup=0)
    assert timed.steps[0].requests >= 1 and timed.steps[0].error_rate == 0


def test_errors_tokens_and_error_budget_against_a_local_llm(local: hostkit.Provider) -> None:
    command = [sys.executable, str(FAKE_SERVER), "--port", "{port}"]
    llm = hostkit.deploy(
        provider="local", model="fake-llm", name="llm", options={"command": command}
    )
    result = bench(
        llm, prompts=["hello there", "please [fail]"], concurrency=(2,), requests_per_step=8
    )
    step = result.steps[0]
    assert step.requests == 8 and step.errors == {"ProviderError": 4} and step.error_rate == 0.5
    assert step.tokens_per_s is not None and step.tokens_per_s > 0
    assert step.cost.per_million_tokens == 0.0
    assert result.recommendation.concurrency is None
    assert "errors" in result.recommendation.reason

    streamed = bench(llm, "hello there", concurrency=(2,), requests_per_step=4, stream=True)
    assert streamed.steps[0].ttft_p50_s is not None and streamed.steps[0].successes == 4


def test_serverless_cost_per_token_and_no_replicas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "gsk_testFakeKey000000")
    provider = hostkit.get_provider("groq")
    dep = provider.serverless_deployment("groq-chat", "openai/gpt-oss-120b", None, {})
    params: dict[str, Any] = {"max_tokens": 64, "temperature": 0}
    with cassette(GROQ_CASSETTES / "ainvoke.yaml", allow_playback_repeats=True):
        result = bench(
            dep,
            "Say hello in five words.",
            params=params,
            concurrency=(1, 2),
            requests_per_step=4,
            target_rps=50,
        )
    assert result.kind == "serverless" and all(s.successes == 4 for s in result.steps)
    per_call = (77 * 0.15 + 29 * 0.60) / 1e6
    assert result.steps[0].cost.per_1k_requests == pytest.approx(per_call * 1000)
    assert result.steps[0].cost.source == "https://groq.com/pricing/"
    assert result.steps[0].platform_timings["queue_time"] == pytest.approx(0.049621843)
    assert result.recommendation.replicas is None
    assert "serverless" in result.recommendation.reason


def test_bad_arguments_name_the_argument(scores: hostkit.Deployment) -> None:
    assert parse_rate("50/s") == 50 and parse_rate("600/m") == 10 and parse_rate(2.5) == 2.5
    for bad, match in [
        (dict(concurrency=[0]), "concurrency"),
        (dict(concurrency=[1], requests_per_step=3, duration="1s"), "not both"),
        (dict(rate="fast"), "rate"),
        (dict(rate=0), "rate"),
        (dict(duration="0s"), "duration"),
        (dict(p95_target="soon"), "p95_target"),
        (dict(max_error_rate=2), "max_error_rate"),
    ]:
        with pytest.raises(errors.ConfigError, match=match):
            bench(scores, {"hours": 1}, **bad)
    with pytest.raises(errors.ConfigError, match="prompts"):
        bench(scores, {"hours": 1}, prompts=[{"hours": 2}])


def _cli(argv: list[str]) -> int:
    from hostkit import cli, cli_compare

    common = cli._global_options()
    parser = argparse.ArgumentParser(prog="hostkit", parents=[common])
    commands = parser.add_subparsers(dest="command", required=True)
    cli_compare.add_commands(commands, common)
    return cli._run(parser.parse_args(argv))


def test_cli_bench(
    scores: hostkit.Deployment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _cli(
        ["bench", "scores", "--prompt", '{"hours": 3}', "--concurrency", "1,2", "--requests", "4",
         "--p95-target", "10s", "--target-rps", "20000/s", "--csv", str(tmp_path / "b.csv"),
         "--json-file", str(tmp_path / "b.json")]
    )  # fmt: skip
    out = capsys.readouterr()
    assert code == 0 and "c=1" in out.out and "c=2" in out.out and "replica" in out.out
    assert "concurrency 1" in out.err  # progress on stderr
    data = json.loads((tmp_path / "b.json").read_text())
    assert [s["concurrency"] for s in data["steps"]] == [1, 2]
    with (tmp_path / "b.csv").open() as handle:
        assert [row["concurrency"] for row in csv.DictReader(handle)] == ["1", "2"]

    assert _cli(["bench", "scores", "--prompt", '{"hours": 3}', "--rate", "nope"]) == 2
    assert "rate" in capsys.readouterr().err
