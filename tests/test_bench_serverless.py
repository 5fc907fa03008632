"""hostkit.bench through the serverless platforms, replaying their recorded cassettes.

groq, cerebras, huggingface (the Inference Providers router) and replicate (predictions
on an official model), deployed by ``tests/conftest.py``'s ``serverless`` fixture, whose
``recorded`` figures are what the cassettes hold (usage, the platform's own timings,
retry-after) and what hostkit prices them at. Each step's cost per 1,000 inferences is
the calls' own ``cost_usd`` on these per-use platforms, whatever the load.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from hostkit import errors
from hostkit.bench import BenchResult, bench
from hostkit.testing import cassette

if TYPE_CHECKING:
    from conftest import ServerlessTarget  # tests/conftest.py: the serverless fixture

PROMPT = "Say hello in five words."
PLATFORMS = ["cerebras", "groq", "huggingface", "replicate"]
Serverless = Callable[[str], "ServerlessTarget"]


def run(
    target: ServerlessTarget, tape: str, repeats: bool = True, **options: Any
) -> tuple[BenchResult, int, list[warnings.WarningMessage]]:
    """Bench ``target`` on PROMPT replaying its cassette ``tape``; also the requests played."""
    with (
        cassette(target.tape(tape), allow_playback_repeats=repeats) as recorded,
        warnings.catch_warnings(record=True) as seen,
    ):
        warnings.simplefilter("always")
        result = bench(target.deployment, PROMPT, params=target.params, **options)
    return result, recorded.play_count, seen


@pytest.mark.parametrize("name", PLATFORMS)
def test_each_step_has_throughput_latency_timings_and_cost_per_1k(
    name: str, serverless: Serverless, tmp_path: Path
) -> None:
    target = serverless(name)
    recorded = target.recorded
    result, played, seen = run(
        target, "ainvoke.yaml", concurrency=(1, 2), requests_per_step=4, target_rps=50
    )
    assert played == 1 + 2 * 4  # the warm-up call, then four per step
    assert result.kind == "serverless" and result.provider == name
    assert [s.concurrency for s in result.steps] == [1, 2]
    for step in result.steps:
        assert (step.mode, step.requests, step.successes) == ("closed", 4, 4)
        assert step.errors == {} and step.error_rate == 0
        assert step.throughput_rps == pytest.approx(4 / step.duration_s)
        assert step.tokens_per_s == pytest.approx(4 * recorded.usage[1] / step.duration_s)
        assert step.latency_p50_s is not None and step.latency_p95_s is not None
        assert 0 < step.latency_p50_s <= step.latency_p95_s <= (step.latency_p99_s or 0)
        assert step.ttft_p50_s is None
        assert step.platform_timings == pytest.approx(recorded.timings)
        target.assert_cost(step.cost, calls=4)  # the same per request at every load
        row = step.row()
        assert row["cost_per_1k_usd"] == step.cost.per_1k_requests
        assert row["cost_note"] == step.cost.note
    unpriced = [w for w in seen if issubclass(w.category, errors.PriceUnknown)]
    assert len(unpriced) == (1 if recorded.per_call is None else 0)

    rec = result.recommendation
    best = max(result.steps, key=lambda s: s.throughput_rps)
    assert (rec.concurrency, rec.throughput_rps) == (best.concurrency, best.throughput_rps)
    assert rec.replicas is None and "replicas do not apply on a serverless platform" in rec.reason
    lines = result.table().splitlines()
    money = "unknown" if recorded.per_call is None else f"${recorded.per_call * 1000:.2f}"
    assert lines[1].startswith("c=1") and lines[1].endswith(money)
    assert lines[2].startswith("c=2") and lines[2].endswith(money)
    with result.write_csv(tmp_path / "bench.csv").open() as handle:
        assert handle.read().count("\n") == 3  # a header and one row per step


@pytest.mark.parametrize("name", PLATFORMS)
def test_streaming_steps_measure_time_to_first_token(name: str, serverless: Serverless) -> None:
    target = serverless(name)
    result, _, _ = run(target, "stream.yaml", concurrency=(2,), requests_per_step=4, stream=True)
    (step,) = result.steps
    assert (step.successes, step.errors) == (4, {})
    # each request's first token comes before its last, so the medians are in order too
    assert step.ttft_p50_s is not None and step.latency_p50_s is not None
    assert 0 < step.ttft_p50_s <= step.latency_p50_s
    assert step.platform_timings["total_time"] == pytest.approx(target.recorded.stream_total_time)
    assert step.tokens_per_s == pytest.approx(4 * target.recorded.usage[1] / step.duration_s)
    target.assert_cost(step.cost, calls=4)


@pytest.mark.parametrize("name", PLATFORMS)
def test_open_loop_step_at_a_fixed_rate(name: str, serverless: Serverless) -> None:
    target = serverless(name)
    result, played, _ = run(target, "ainvoke.yaml", rate="100/s", requests_per_step=5, warmup=0)
    assert played == 5
    (step,) = result.steps
    assert (step.mode, step.offered_rps, step.concurrency) == ("open", 100.0, None)
    assert (step.requests, step.successes) == (5, 5)
    target.assert_cost(step.cost, calls=5)
    assert "open-loop" in result.recommendation.reason


@pytest.mark.parametrize("name", PLATFORMS)
def test_failing_steps_count_errors_by_class_and_price_nothing(
    name: str, serverless: Serverless
) -> None:
    target = serverless(name)
    result, _, _ = run(target, "error_401.yaml", concurrency=(1,), requests_per_step=3, warmup=0)
    (step,) = result.steps
    assert (step.requests, step.successes, step.error_rate) == (3, 0, 1.0)
    assert step.errors == {"AuthenticationError": 3}
    assert step.latency_p50_s is None and step.tokens_per_s is None
    assert step.cost.per_1k_requests is None and step.cost.per_million_tokens is None
    assert step.cost.note == "no successful request to price"
    assert result.recommendation.concurrency is None
    assert result.recommendation.reason == "no closed-loop step succeeded; nothing to recommend"
    assert "0/3" in result.table() and "100.0" in result.table()
    assert target.waits == []  # a 401 is not retried

    # played once each, in order: the first try and 3 retries, all answered 429
    limited, played, _ = run(
        target, "error_429_exhausted.yaml", repeats=False, concurrency=(1,), requests_per_step=1,
        warmup=0,
    )  # fmt: skip
    assert played == 4 and limited.steps[0].errors == {"RateLimited": 1}
    assert target.waits == list(target.recorded.waits)  # each retry-after the platform sent
