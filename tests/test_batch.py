"""hostkit.batch for real: local servers (killed, interrupted, rate-limited) and cassettes.

Run as a script (``python test_batch.py --port N``) this file is the rate-limited
OpenAI-style server the tests deploy: it answers 429 beyond two requests in flight
and 503 once to any message holding ``[flaky]``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import hostkit
from hostkit import errors
from hostkit._retry import RetryPolicy
from hostkit.batch import AdaptiveLimit, batch, read_input, scan_output
from hostkit.testing import cassette

if TYPE_CHECKING:
    from conftest import ServerlessTarget  # tests/conftest.py: the serverless fixture

ROOT = Path(__file__).resolve().parents[1]
FAKE_SERVER = ROOT / "examples" / "fake_openai_server.py"
PROMPT = "Say hello in five words."
MAX_IN_FLIGHT = 2
FAST = RetryPolicy(initial_wait=0.01, max_wait=0.05)


# -- fixtures --------------------------------------------------------------------------
def write_lines(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def output_ids(path: Path) -> list[Any]:
    """Every id in the output, in order; fails unless every line is complete JSON."""
    text = path.read_text()
    assert text == "" or text.endswith("\n")
    return [json.loads(line)["id"] for line in text.splitlines()]


def records(path: Path) -> dict[Any, dict[str, Any]]:
    return {row["id"]: row for row in map(json.loads, path.read_text().splitlines())}


# -- the library against local deployments -----------------------------------------
def test_results_errors_and_resume_against_a_python_model(
    scores: hostkit.Deployment, tmp_path: Path
) -> None:
    rows: list[Any] = [{"id": f"r{i}", "hours": i} for i in range(20)]
    rows += [{"id": "wrapped", "request": {"hours": 3}}, {"hours": 5}, "not a payload"]
    source = write_lines(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    seen: list[int] = []
    summary = batch("scores", source, out, concurrency=4, progress=lambda s: seen.append(s.done))
    assert summary.completed and (summary.total, summary.ok, summary.failed) == (23, 22, 1)
    assert summary.errors == {"ProviderError": 1} and seen[-1] == 23 and len(seen) == 23
    assert summary.cost_usd == 0.0 and "hourly" in summary.cost_basis  # local: $0/h
    done = records(out)
    assert sorted(map(str, done)) == sorted([f"r{i}" for i in range(20)] + ["wrapped", "22", "23"])
    from hostkit_examples import study_score

    assert done["r7"]["result"]["output"] == study_score.predict({"hours": 7})
    assert done["wrapped"]["result"]["output"] == study_score.predict({"hours": 3})
    assert done[22]["line"] == 22 and done[22]["ok"]  # no id: known by its line number
    bad = done[23]
    assert not bad["ok"] and bad["error"]["type"] == "ProviderError"
    assert bad["error"]["status_code"] == 400 and "hours" in bad["error"]["message"]
    assert bad["attempts"] == 1  # a 400 is not retried

    again = batch("scores", source, out, concurrency=4)
    assert (again.ok, again.failed, again.skipped) == (0, 0, 23)
    assert len(output_ids(out)) == 23

    write_lines(tmp_path / "fixed.jsonl", [*rows[:-1], {"hours": 1}])
    retried = batch("scores", tmp_path / "fixed.jsonl", out, retry_failed=True)
    assert (retried.ok, retried.skipped) == (1, 22)
    ids = output_ids(out)
    assert len(ids) == len(set(ids)) == 23 and records(out)[23]["ok"]


def test_tokens_cost_and_per_line_params_against_a_local_llm(
    llm: hostkit.Deployment, tmp_path: Path
) -> None:
    source = write_lines(
        tmp_path / "in.jsonl",
        [
            {"id": "a", "request": "hello there", "params": {"max_tokens": 8}},
            {"id": "b", "request": [{"role": "user", "content": "one two three"}]},
            {"id": "c", "request": "please [fail]"},
        ],
    )
    out = tmp_path / "out.jsonl"
    summary = batch(llm, source, out, params={"temperature": 0})
    assert (summary.ok, summary.failed) == (2, 1)
    assert summary.output_tokens == 3 + 4 and summary.input_tokens == 2 + 3
    done = records(out)
    assert done["a"]["result"]["text"] == "echo: hello there"
    assert done["a"]["result"]["usage"] == {"input_tokens": 2, "output_tokens": 3}
    assert "refused" in done["c"]["error"]["message"]
    assert "ok 2, failed 1 (ProviderError 1)" in summary.text()


def _serve_limited(port: int) -> None:
    """A fake OpenAI server: 429 beyond MAX_IN_FLIGHT, 503 once to [flaky], 429 1h to [quota]."""
    from http.server import ThreadingHTTPServer

    from hostkit_examples import fake_openai_server as fake

    lock = threading.Lock()
    state: dict[str, Any] = {"in_flight": 0, "flaky_seen": set()}

    class Limited(fake.Handler):  # type: ignore[misc,name-defined]
        def refuse(self, status: int, message: str, headers: dict[str, str]) -> None:
            body = json.dumps({"error": {"message": message, "type": "rate_limit"}}).encode()
            self.send_response(status)
            for key, value in {"content-type": "application/json", **headers}.items():
                self.send_header(key, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length", 0)))
            self.rfile = io.BytesIO(raw)
            text = raw.decode()
            with lock:
                busy = state["in_flight"] >= MAX_IN_FLIGHT
                flaky = not busy and "[flaky]" in text and text not in state["flaky_seen"]
                if not busy:
                    state["in_flight"] += 1
                    state["flaky_seen"].add(text)
            if busy or "[quota]" in text:
                wait = {"retry-after": "3600"} if "[quota]" in text else {"retry-after-ms": "20"}
                limits = {**wait, "x-ratelimit-remaining-requests": "0"}
                self.refuse(429, "Too many requests", limits)
                if not busy:
                    with lock:
                        state["in_flight"] -= 1
                return
            try:
                time.sleep(0.01)
                if flaky:
                    self.refuse(503, "overloaded, try again", {})
                else:
                    super().do_POST()
            finally:
                with lock:
                    state["in_flight"] -= 1

    ThreadingHTTPServer(("127.0.0.1", port), Limited).serve_forever()


def test_rate_limited_slows_down_and_completes(local: hostkit.Provider, tmp_path: Path) -> None:
    command = [sys.executable, __file__, "--port", "{port}"]
    hostkit.deploy(provider="local", model="fake-llm", name="limited", options={"command": command})
    config = tmp_path / "no-retries.toml"  # the provider's own retries off: batch sees each 429
    config.write_text("[providers.local]\nmax_retries = 0\n")
    dep = hostkit.get_provider("local", config=hostkit.load_config(config)).get("limited")
    rows = [
        {"id": i, "request": f"line {i}" + (" [flaky]" if i % 10 == 0 else "")} for i in range(40)
    ]
    source = write_lines(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    summary = batch(dep, source, out, concurrency=8, policy=FAST)
    assert summary.completed and summary.ok == 40 and summary.failed == 0
    assert summary.rate_limited > 0  # the server did push back ...
    assert summary.concurrency_lowest <= MAX_IN_FLIGHT  # ... and batch slowed down to fit
    done = records(out)
    assert sorted(done) == list(range(40))
    assert all(done[i]["attempts"] >= 2 for i in range(0, 40, 10))  # 503 once, then sent again
    assert summary.retries >= summary.rate_limited + 4

    fresh = [{**row, "request": f"again: {row['request']}"} for row in rows]
    source = write_lines(tmp_path / "again.jsonl", fresh)
    strict = batch(dep, source, tmp_path / "strict.jsonl", concurrency=8, retries=0, policy=FAST)
    assert strict.ok + strict.failed == 40 and strict.rate_limited > 0
    assert strict.errors == {"ProviderError": 4}  # [flaky] lines with no transient retries


def test_a_429_asking_for_an_hour_stops_the_batch_resumably(
    local: hostkit.Provider, tmp_path: Path
) -> None:
    command = [sys.executable, __file__, "--port", "{port}"]
    hostkit.deploy(provider="local", model="fake-llm", name="quota", options={"command": command})
    config = tmp_path / "no-retries.toml"
    config.write_text("[providers.local]\nmax_retries = 0\n")
    dep = hostkit.get_provider("local", config=hostkit.load_config(config)).get("quota")
    rows = ["one", "two", "three [quota]", "four"]
    source = write_lines(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    with pytest.raises(errors.RateLimited, match=r"3600s.*run the same batch again later"):
        batch(dep, source, out, concurrency=1, policy=FAST)
    assert output_ids(out) == [1, 2]  # what was done stays; the rest is for the next run
    write_lines(source, ["one", "two", "three", "four"])
    summary = batch(dep, source, out, concurrency=1, policy=FAST)
    assert (summary.skipped, summary.ok) == (2, 2) and sorted(output_ids(out)) == [1, 2, 3, 4]


def test_rate_limit_headers_pause_new_requests() -> None:
    limit = AdaptiveLimit(8)
    before = time.monotonic()
    limit.succeeded({"remaining_requests": 3, "reset_requests_s": 30})
    assert limit.paused_until == 0.0
    limit.succeeded({"remaining_tokens": 0, "reset_tokens_s": 30})
    assert limit.paused_until >= before + 30
    limit.rate_limited(0, 0)
    limit.rate_limited(0, 0)  # a second 429 from the same window does not cut again
    assert (limit.limit, limit.lowest, limit.cuts) == (4, 4, 1)
    limit.rate_limited(1, 0)
    assert limit.limit == 2


def test_torn_last_line_is_cut_and_resumed(scores: hostkit.Deployment, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.jsonl", [{"id": i, "hours": i} for i in range(6)])
    out = tmp_path / "out.jsonl"
    batch("scores", source, out)
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:3]) + lines[3][:17])  # a kill in the middle of a write
    state = scan_output(out, repair=False)
    assert len(state.done) == 3 and state.torn_bytes == 17
    summary = batch("scores", source, out)
    assert (summary.skipped, summary.ok, summary.repaired_bytes) == (3, 3, 17)
    assert sorted(output_ids(out)) == list(range(6))


def test_bad_input_names_file_and_line(scores: hostkit.Deployment, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    cases = [
        ('{"id": "a", "hours": 1}\n{"id": "b", "hours": \n', "line 2 is not JSON"),
        ('{"id": "a", "hours": 1}\n{"id": "a", "hours": 2}\n', "line 2: id 'a' appears"),
        ('{"id": true, "hours": 1}\n', "line 1: id must be a string"),
        ('{"id": "x"}\n', "line 1 has an id but no request"),
        ('{"id": "x", "request": 1, "prompt": 2}\n', "unexpected field.*prompt"),
        ('{"request": 1, "params": 3}\n', "params must be an object"),
        ("\n\n", "holds no requests"),
    ]
    for text, match in cases:
        source = tmp_path / "bad.jsonl"
        source.write_text(text)
        with pytest.raises(errors.ConfigError, match=match) as caught:
            batch("scores", source, out)
        assert str(source) in str(caught.value)
        assert not out.exists()  # nothing is sent before the whole input checks out
    with pytest.raises(errors.ConfigError, match=r"missing\.jsonl does not exist"):
        batch("scores", tmp_path / "missing.jsonl", out)
    good = write_lines(tmp_path / "good.jsonl", [{"hours": 1}])
    with pytest.raises(errors.ConfigError, match="folder"):
        batch("scores", good, tmp_path / "nowhere" / "out.jsonl")
    with pytest.raises(errors.ConfigError, match="is the input"):
        batch("scores", good, good)
    with pytest.raises(errors.ConfigError, match="concurrency"):
        batch("scores", good, out, concurrency=0)
    foreign = tmp_path / "foreign.jsonl"
    foreign.write_text('{"something": "else"}\n')
    with pytest.raises(errors.ConfigError, match=r"foreign.jsonl line 1 is not a batch result"):
        batch("scores", good, foreign)
    assert [item.request for item in read_input(good)] == [{"hours": 1}]


# -- the CLI in a subprocess: killed, interrupted, resumed -----------------------------
def _start(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hostkit", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a shell's background job ignores SIGINT, and its children inherit that: undo it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_for_lines(path: Path, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if path.exists() and path.read_bytes().count(b"\n") >= count:
            return
        time.sleep(0.01)
    raise AssertionError(f"the batch wrote fewer than {count} lines: {process.communicate()}")


@pytest.fixture
def slow_llm(local: hostkit.Provider, tmp_path: Path) -> tuple[Path, int]:
    """A local LLM deployment ('llm') and 300 requests for it."""
    command = [sys.executable, str(FAKE_SERVER), "--port", "{port}"]
    hostkit.deploy(provider="local", model="fake-llm", name="llm", options={"command": command})
    rows = [{"id": f"q{i}", "request": f"question {i}"} for i in range(300)]
    return write_lines(tmp_path / "in.jsonl", rows), 300


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_cli_stopped_mid_run_then_resumed_writes_every_id_once(
    slow_llm: tuple[Path, int], tmp_path: Path, how: signal.Signals
) -> None:
    source, total = slow_llm
    out = tmp_path / "out.jsonl"
    args = ["batch", "llm", str(source), "-o", str(out), "--concurrency", "2"]
    first = _start(args)
    _wait_for_lines(out, 20, first)
    first.send_signal(how)
    _, err = first.communicate(timeout=60)
    if how == signal.SIGINT:
        assert first.returncode == 130 and "interrupted" in err and "resume" in err
    else:
        assert first.returncode == -signal.SIGKILL
    kept = len(output_ids(out)) if how == signal.SIGINT else out.read_bytes().count(b"\n")
    assert 20 <= kept < total
    if how == signal.SIGINT:
        assert f"holds {kept} of the results" in err

    second = _start([*args, "--json"])
    stdout, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    summary = json.loads(stdout)
    assert summary["skipped"] == kept and summary["ok"] == total - kept
    ids = output_ids(out)
    assert sorted(ids) == sorted(f"q{i}" for i in range(total)) and len(ids) == total
    assert all(row["ok"] for row in records(out).values())


def test_cli_summary_and_usage_errors(
    scores: hostkit.Deployment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hostkit.cli import main

    source = write_lines(tmp_path / "in.jsonl", [{"id": "a", "hours": 2}, {"id": "b", "x": 1}])
    out = tmp_path / "out.jsonl"
    assert main(["batch", "scores", str(source), "-o", str(out), "--concurrency", "3"]) == 0
    printed = capsys.readouterr()
    assert "ok 1, failed 1" in printed.out and "2/2" in printed.err
    assert main(["batch", "scores", str(tmp_path / "nope.jsonl"), "-o", str(out)]) == 2
    assert "nope.jsonl does not exist" in capsys.readouterr().err
    assert main(["batch", "scores", str(source)]) == 2  # -o is required
    assert "--output" in capsys.readouterr().err


# -- recorded serverless platforms (deployed by tests/conftest.py's serverless fixture) -
#: (text, USD per call from the recorded usage and the adapter's price, or None)
SERVERLESS: dict[str, tuple[str, float | None]] = {
    "groq": ("Hello there, nice meeting you!", (77 * 0.15 + 29 * 0.60) / 1e6),
    "cerebras": ("Hello there, nice to meet!", (76 * 0.35 + 29 * 0.75) / 1e6),
    "huggingface": ("Hello there, nice to meet you!", (43 * 0.59 + 9 * 0.79) / 1e6),
    "replicate": ("Hello! Nice to meet you!", None),  # no per-token price known
}


@pytest.mark.parametrize("name", sorted(SERVERLESS))
def test_serverless_platforms_from_their_cassettes(
    name: str, serverless: Callable[[str], ServerlessTarget], tmp_path: Path
) -> None:
    text, per_call = SERVERLESS[name]
    target = serverless(name)
    dep, params = target.deployment, target.params
    source = write_lines(tmp_path / "in.jsonl", [{"id": i, "request": PROMPT} for i in range(3)])
    out = tmp_path / "out.jsonl"
    tape = target.tape("ainvoke.yaml")
    with (
        cassette(tape, allow_playback_repeats=True) as recorded,
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", errors.PriceUnknown)
        summary = batch(dep, source, out, params=params, concurrency=2)
    assert recorded.play_count >= 3
    assert (summary.ok, summary.failed, summary.provider) == (3, 0, name)
    done = records(out)
    assert sorted(done) == [0, 1, 2] and {row["result"]["text"] for row in done.values()} == {text}
    assert all(row["result"]["request_id"] for row in done.values())
    if per_call is None:
        assert summary.cost_usd is None and "without a price" in (summary.cost_note or "")
    else:
        assert summary.cost_usd == pytest.approx(3 * per_call) and summary.cost_source
        assert done[0]["result"]["cost_usd"] == pytest.approx(per_call)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    _serve_limited(parser.parse_args().port)
    os._exit(0)
