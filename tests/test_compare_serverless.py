"""hostkit.compare through the serverless platforms, replaying their recorded cassettes.

groq, cerebras, huggingface (the Inference Providers router) and replicate (predictions
on an official model), deployed by ``tests/conftest.py``'s ``serverless`` fixture. The
expected figures are the platforms' own, as the recorded responses hold them (token
counts, queue/compute timings, texts), priced from each provider's ``prices.toml`` (or,
for the router, the live price its recorded model list carries).
"""

from __future__ import annotations

import csv
import json
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from hostkit import errors
from hostkit.compare import CompareResult, compare
from hostkit.testing import cassette

if TYPE_CHECKING:
    from conftest import ServerlessTarget  # tests/conftest.py: the serverless fixture

PROMPT = "Say hello in five words."


Serverless = Callable[[str], "ServerlessTarget"]


@contextmanager
def replay(*tapes: Path, directory: Path, repeats: bool = True) -> Iterator[Any]:
    """Replay several recorded cassettes at once (one per platform in a side-by-side run).

    vcrpy consults only the innermost of nested cassettes, so the recorded interactions
    are joined, unchanged, into one file for the run.
    """
    if len(tapes) == 1:
        with cassette(tapes[0], allow_playback_repeats=repeats) as one:
            yield one
        return
    interactions = [
        each for tape in tapes for each in yaml.safe_load(tape.read_text())["interactions"]
    ]
    joined = directory / "joined.yaml"
    names = ", ".join(f"{t.parents[2].name}/{t.name}" for t in tapes)
    header = f"# joined for one run, unchanged, from the recorded cassettes {names}\n"
    joined.write_text(header + yaml.safe_dump({"version": 1, "interactions": interactions}))
    with cassette(joined, allow_playback_repeats=repeats) as both:
        yield both


def run(
    target: ServerlessTarget, tape: str, tmp_path: Path, repeats: bool = True, **options: Any
) -> tuple[CompareResult, list[warnings.WarningMessage]]:
    """Compare ``target`` alone on PROMPT, replaying its cassette ``tape``."""
    with (
        replay(target.tape(tape), directory=tmp_path, repeats=repeats),
        warnings.catch_warnings(record=True) as seen,
    ):
        warnings.simplefilter("always")
        result = compare([target.deployment], [PROMPT], params=target.params, **options)
    return result, seen


def money(usd: float | None) -> str:
    """How the table prints a cost."""
    if usd is None:
        return "unknown"
    return f"${usd:.2f}" if usd >= 0.01 else f"${usd:.6f}"


PLATFORMS = ["cerebras", "groq", "huggingface", "replicate"]


@pytest.mark.parametrize("name", PLATFORMS)
def test_counts_tokens_timings_and_cost_from_the_recorded_answer(
    name: str, serverless: Serverless, tmp_path: Path
) -> None:
    target = serverless(name)
    expected = target.recorded
    result, seen = run(target, "ainvoke.yaml", tmp_path, repeat=3, concurrency=2)
    (report,) = result.reports
    assert report.kind == "serverless" and report.provider == name
    assert (report.requests, report.successes, report.errors) == (3, 3, {})
    assert report.outputs == [expected.text]
    assert report.latency_p50_s is not None and report.latency_p95_s is not None
    assert 0 < report.latency_p50_s <= report.latency_p95_s <= (report.latency_p99_s or 0)
    assert report.ttft_p50_s is None  # a whole answer has no first token time
    assert (report.input_tokens, report.output_tokens) == (
        3 * expected.usage[0],
        3 * expected.usage[1],
    )
    assert report.latency_mean_s is not None
    generating = report.latency_mean_s * report.successes
    assert report.output_tokens_per_s == pytest.approx(3 * expected.usage[1] / generating)
    assert report.platform_timings == pytest.approx(expected.timings)
    target.assert_cost(report.cost, calls=3)
    unpriced = [w for w in seen if issubclass(w.category, errors.PriceUnknown)]
    assert len(unpriced) == (1 if expected.per_call is None else 0)

    row = report.row()
    assert row["cost_per_1k_requests_usd"] == report.cost.per_1k_requests
    assert row["cost_note"] == report.cost.note
    for key, value in expected.timings.items():
        assert row[f"platform_{key}_s"] == pytest.approx(value)
    assert result.table().splitlines()[1].endswith(money(report.cost.per_1k_requests))


@pytest.mark.parametrize("name", PLATFORMS)
def test_streaming_measures_time_to_first_token(
    name: str, serverless: Serverless, tmp_path: Path
) -> None:
    target = serverless(name)
    expected = target.recorded
    result, _ = run(target, "stream.yaml", tmp_path, repeat=2, stream=True)
    (report,) = result.reports
    assert result.streamed and (report.successes, report.errors) == (2, {})
    assert report.outputs == [expected.text]
    # each request's first token comes before its last, so the medians are in order too
    assert report.ttft_p50_s is not None and report.latency_p50_s is not None
    assert 0 < report.ttft_p50_s <= report.latency_p50_s
    assert report.ttft_p95_s is not None and report.ttft_p95_s <= (report.latency_p95_s or 0)
    assert (report.input_tokens, report.output_tokens) == (
        2 * expected.usage[0],
        2 * expected.usage[1],
    )
    assert report.platform_timings["total_time"] == pytest.approx(expected.stream_total_time)
    target.assert_cost(report.cost, calls=2)


@pytest.mark.parametrize("name", PLATFORMS)
def test_errors_are_counted_by_error_class(
    name: str, serverless: Serverless, tmp_path: Path
) -> None:
    target = serverless(name)
    unauthorized, _ = run(target, "error_401.yaml", tmp_path, repeat=2)
    (report,) = unauthorized.reports
    assert (report.requests, report.successes) == (2, 0)
    assert report.errors == {"AuthenticationError": 2}
    assert report.outputs == ["<AuthenticationError>"]
    assert report.error_messages and all(name in m.lower() for m in report.error_messages)
    assert report.latency_p50_s is None and report.output_tokens is None
    assert report.cost.per_1k_requests is None
    assert report.cost.note == "no successful request to price"
    assert target.waits == []  # a 401 is not retried
    assert "AuthenticationError:2" in unauthorized.table()

    # played once each, in order: the first try and 3 retries, all answered 429
    limited, _ = run(target, "error_429_exhausted.yaml", tmp_path, repeats=False)
    (report,) = limited.reports
    assert (report.successes, report.errors) == (0, {"RateLimited": 1})
    assert target.waits == list(target.recorded.waits)  # each retry-after the platform sent


def test_two_serverless_platforms_side_by_side_in_one_run(
    serverless: Serverless, tmp_path: Path
) -> None:
    groq, cerebras = serverless("groq"), serverless("cerebras")
    tapes = (groq.tape("ainvoke.yaml"), cerebras.tape("ainvoke.yaml"))
    with replay(*tapes, directory=tmp_path) as recorded:
        result = compare(
            {"groq": groq.deployment, "cerebras": cerebras.deployment},
            [PROMPT],
            repeat=2,
            params_by_target={"groq": groq.params, "cerebras": cerebras.params},
        )
    assert recorded.play_count == 4
    assert [r.label for r in result.reports] == ["groq", "cerebras"]
    assert result.side_by_side() == [
        {"prompt": PROMPT, "groq": groq.recorded.text, "cerebras": cerebras.recorded.text}
    ]
    for report, target in zip(result.reports, (groq, cerebras), strict=True):
        assert (report.provider, report.successes, report.errors) == (target.name, 2, {})
        assert report.platform_timings == pytest.approx(target.recorded.timings)
        target.assert_cost(report.cost, calls=2)

    with result.write_outputs_csv(tmp_path / "outputs.csv").open() as handle:
        assert list(csv.reader(handle)) == [
            ["prompt", "groq", "cerebras"],
            [PROMPT, groq.recorded.text, cerebras.recorded.text],
        ]
    with result.write_csv(tmp_path / "compare.csv").open() as handle:
        rows = {row["label"]: row for row in csv.DictReader(handle)}
    assert float(rows["cerebras"]["cost_per_1k_requests_usd"]) == pytest.approx(
        (76 * 0.35 + 29 * 0.75) / 1e3
    )
    assert rows["groq"]["cost_source"] == "https://groq.com/pricing/"
    assert float(rows["cerebras"]["platform_queue_time_s"]) == pytest.approx(0.000412)
    data = json.loads(result.write_json(tmp_path / "compare.json").read_text())
    assert [r["cost"]["as_of"] for r in data["reports"]] == ["2026-06-04", "2026-11-22"]
    lines = result.table().splitlines()
    assert lines[1].startswith("groq ") and lines[2].startswith("cerebras ")


def test_a_failing_platform_beside_a_working_one(serverless: Serverless, tmp_path: Path) -> None:
    router, predictions = serverless("huggingface"), serverless("replicate")
    tapes = (router.tape("ainvoke.yaml"), predictions.tape("error_401.yaml"))
    with replay(*tapes, directory=tmp_path):
        result = compare(
            {"router": router.deployment, "predictions": predictions.deployment},
            [PROMPT, PROMPT],
            params_by_target={"router": router.params, "predictions": predictions.params},
        )
    ok, failed = result.reports
    assert (ok.successes, ok.errors) == (2, {})
    assert (failed.successes, failed.errors) == (0, {"AuthenticationError": 2})
    assert result.side_by_side()[1] == {
        "prompt": PROMPT,
        "router": router.recorded.text,
        "predictions": "<AuthenticationError>",
    }
    router.assert_cost(ok.cost, calls=2)
    assert failed.cost.per_1k_requests is None and failed.cost.note
    table = result.table()
    assert "AuthenticationError:2" in table and "0/2" in table and "2/2" in table
