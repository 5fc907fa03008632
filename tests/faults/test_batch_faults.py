"""Batch integrity faults of issue #13 (items 10, 11, 12, 14): real `local` deployments.

* 10: two batches on one output: the second is refused at once, every id is written once;
  an output that already holds an id twice is refused on resume, naming the ids.
* 11: an input changed between runs: a line inserted at the top (line-number ids shift)
  is refused before anything is sent; explicit ids reordered resume fine.
* 12: a deployment torn down mid-batch: the batch stops after N consecutive unreachable
  lines, says why and that rerunning resumes, and writes no line it did not finish.
* 14: ``-o DIR``, an input directory and a non-UTF-8 input are ConfigErrors naming them.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import hostkit
from hostkit import errors
from hostkit._retry import RetryPolicy
from hostkit.batch import batch

ROOT = Path(__file__).resolve().parents[2]
#: the OpenAI-style fake server (moved to examples/; the old place while that lands)
FAKE_SERVER = next(
    path
    for path in (
        ROOT / "examples" / "fake_openai_server.py",
        ROOT / "providers" / "local" / "tests" / "fake_openai_server.py",
    )
    if path.exists()
)
FAST = RetryPolicy(initial_wait=0.01, max_wait=0.05)


def write_lines(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def output_rows(path: Path) -> list[dict[str, Any]]:
    text = path.read_text()
    assert text == "" or text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def _start(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hostkit", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_for_lines(path: Path, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if path.exists() and path.read_bytes().count(b"\n") >= count:
            return
        time.sleep(0.01)
    raise AssertionError(f"the batch wrote fewer than {count} lines: {process.communicate()}")


def _deploy_llm() -> hostkit.Deployment:
    command = [sys.executable, str(FAKE_SERVER), "--port", "{port}"]
    return hostkit.deploy(
        provider="local", model="fake-llm", name="llm", options={"command": command}
    )


# -- item 10: one writer per output, and exactly once on resume -------------------------
def test_a_second_batch_on_the_same_output_is_refused_and_every_id_is_written_once(
    local: hostkit.Provider, tmp_path: Path
) -> None:
    _deploy_llm()
    total = 300
    source = write_lines(
        tmp_path / "in.jsonl", [{"id": f"q{i}", "request": f"question {i}"} for i in range(total)]
    )
    out = tmp_path / "out.jsonl"
    first = _start(["batch", "llm", str(source), "-o", str(out), "--concurrency", "2"])
    try:
        _wait_for_lines(out, 5, first)
        with pytest.raises(errors.ConfigError, match="another batch") as caught:
            batch("llm", source, out, concurrency=2)
        assert str(out) in str(caught.value) and str(first.pid) in str(caught.value)
        _, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode == 0, err
    ids = [row["id"] for row in output_rows(out)]
    assert len(ids) == len(set(ids)) == total  # every id exactly once
    again = batch("llm", source, out)  # the lock went with the first process
    assert (again.skipped, again.ok) == (total, 0)


def test_resume_refuses_an_output_holding_an_id_twice(
    scores: hostkit.Deployment, tmp_path: Path
) -> None:
    source = write_lines(tmp_path / "in.jsonl", [{"id": f"r{i}", "hours": i} for i in range(6)])
    out = tmp_path / "out.jsonl"
    batch("scores", source, out)
    lines = out.read_text().splitlines(keepends=True)
    doubled = "".join(lines + lines[1:3])  # what two unlocked writers used to leave
    out.write_text(doubled)
    with pytest.raises(errors.ConfigError, match="more than once") as caught:
        batch("scores", source, out)
    message = str(caught.value)
    for row in map(json.loads, lines[1:3]):
        assert repr(row["id"]) in message
    assert str(out) in message and "--dedupe" in message
    assert out.read_text() == doubled  # nothing changed, nothing sent

    summary = batch("scores", source, out, dedupe=True)  # the documented repair
    assert (summary.skipped, summary.ok, summary.deduplicated) == (6, 0, 2)
    ids = [row["id"] for row in output_rows(out)]
    assert sorted(ids) == sorted(f"r{i}" for i in range(6))


# -- item 11: the input changed between runs -----------------------------------------------
def test_a_line_inserted_at_the_top_is_refused_not_paired_wrongly(
    scores: hostkit.Deployment, tmp_path: Path
) -> None:
    from hostkit_examples import study_score

    hours = list(range(1, 21))  # 0 to 24 are valid
    source = write_lines(tmp_path / "in.jsonl", [{"hours": h} for h in hours])  # line-number ids
    out = tmp_path / "out.jsonl"
    batch("scores", source, out)
    before = out.read_bytes()
    hours = [0, *hours]
    write_lines(source, [{"hours": h} for h in hours])  # every line-number id shifts by one
    with pytest.raises(errors.ConfigError, match="changed") as caught:
        batch("scores", source, out)
    message = str(caught.value)
    assert str(source) in message and "--restart" in message and "id 1 " in message
    assert out.read_bytes() == before  # nothing was sent or written

    summary = batch("scores", source, out, restart=True)  # start over, on purpose
    assert (summary.ok, summary.skipped) == (21, 0)
    for row in output_rows(out):  # every result answers the request on its line
        assert row["result"]["output"] == study_score.predict({"hours": hours[row["id"] - 1]})


def test_explicit_ids_reordered_or_grown_resume_fine(
    scores: hostkit.Deployment, tmp_path: Path
) -> None:
    from hostkit_examples import study_score

    rows = [{"id": f"r{i}", "hours": i} for i in range(12)]
    source = write_lines(tmp_path / "in.jsonl", rows[:6])
    out = tmp_path / "out.jsonl"
    batch("scores", source, out)
    write_lines(source, list(reversed(rows)))  # reordered, and six more lines
    summary = batch("scores", source, out)
    assert (summary.skipped, summary.ok) == (6, 6)
    done = {row["id"]: row for row in output_rows(out)}
    assert sorted(done) == sorted(f"r{i}" for i in range(12))
    for i in range(12):
        assert done[f"r{i}"]["result"]["output"] == study_score.predict({"hours": i})

    write_lines(source, [{"id": "r3", "hours": 30}, *rows[4:]])  # r3 now asks something else
    with pytest.raises(errors.ConfigError, match=r"id 'r3' \(line 1\)"):
        batch("scores", source, out)


# -- item 12: the deployment went away mid-batch ----------------------------------------
def test_a_torn_down_deployment_stops_the_batch_resumably(
    local: hostkit.Provider, tmp_path: Path
) -> None:
    _deploy_llm()
    total = 300
    source = write_lines(
        tmp_path / "in.jsonl", [{"id": f"q{i}", "request": f"question {i}"} for i in range(total)]
    )
    out = tmp_path / "out.jsonl"
    config = tmp_path / "hostkit.toml"  # no provider retries: each refused line fails fast
    config.write_text("[providers.local]\nmax_retries = 0\n")
    args = ["batch", "llm", str(source), "-o", str(out), "--concurrency", "4"]
    first = _start([*args, "--config", str(config), "--retries", "1"])
    try:
        _wait_for_lines(out, 20, first)
        hostkit.teardown("llm")
        _, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode != 0
    assert "not answering" in err and "nothing was lost" in err and "resume" in err
    assert "after 5 " in err  # the default max_consecutive_failures
    rows = output_rows(out)
    assert 20 <= len(rows) < total
    assert all(row["ok"] for row in rows), [r["error"] for r in rows if not r["ok"]]

    _deploy_llm()  # back up: the same command finishes the job
    second = _start([*args, "--json"])
    stdout, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert json.loads(stdout)["skipped"] == len(rows)
    ids = [row["id"] for row in output_rows(out)]
    assert len(ids) == len(set(ids)) == total
    assert all(row["ok"] for row in output_rows(out))


def test_unreachable_lines_are_failed_only_when_the_deployment_answers_again(
    scores: hostkit.Deployment, tmp_path: Path
) -> None:
    """A gone deployment from the library: max_consecutive_failures=0 never stops."""
    config = tmp_path / "hostkit.toml"  # no provider retries: each refused line fails fast
    config.write_text("[providers.local]\nmax_retries = 0\n")
    dep = hostkit.get_provider("local", config=hostkit.load_config(config)).get("scores")
    hostkit.teardown("scores")
    source = write_lines(tmp_path / "in.jsonl", [{"hours": i} for i in range(8)])
    out = tmp_path / "out.jsonl"
    with pytest.raises(errors.HostkitError, match=r"not answering.*after 3 ") as caught:
        batch(dep, source, out, retries=0, policy=FAST, max_consecutive_failures=3)
    assert "Rerun" in str(caught.value) and out.read_text() == ""
    summary = batch(dep, source, out, retries=0, policy=FAST, max_consecutive_failures=0)
    assert (summary.failed, summary.completed) == (8, True)  # asked for: every line recorded
    with pytest.raises(errors.ConfigError, match="max_consecutive_failures"):
        batch(dep, source, tmp_path / "o2.jsonl", max_consecutive_failures=-1)


# -- item 14: paths that are not what they should be ------------------------------------
def test_output_directory_input_directory_and_non_utf8_input_are_clear_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hostkit.cli import main

    good = write_lines(tmp_path / "in.jsonl", [{"hours": 1}])
    folder = tmp_path / "results"
    folder.mkdir()
    with pytest.raises(errors.ConfigError, match=r"output .*results is a directory"):
        batch("local:whatever", good, folder)
    with pytest.raises(errors.ConfigError, match=r"input .*results is a directory"):
        batch("local:whatever", folder, tmp_path / "out.jsonl")
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"hours": 1}\n{"name": "caf\xe9"}\n')
    with pytest.raises(errors.ConfigError, match=r"latin.jsonl line 2 is not UTF-8"):
        batch("local:whatever", latin, tmp_path / "out.jsonl")

    foreign = tmp_path / "notes.txt"  # --restart never deletes what is not batch results
    foreign.write_text("my notes\n")
    with pytest.raises(errors.ConfigError, match=r"notes.txt line 1 is not a batch result"):
        batch("local:whatever", good, foreign, restart=True)
    assert foreign.read_text() == "my notes\n"

    assert main(["batch", "scores", str(good), "-o", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "results is a directory" in err and "Traceback" not in err


# -- item 20: the HTTP pool is as big as the batch's concurrency ------------------------
def test_the_connection_pool_is_sized_from_the_batch_concurrency(
    scores: hostkit.Deployment, tmp_path: Path
) -> None:
    from hostkit._http import DEFAULT_MAX_CONNECTIONS, pool_size

    source = write_lines(tmp_path / "in.jsonl", [{"hours": i} for i in range(3)])
    sizes: list[int] = []
    wide = DEFAULT_MAX_CONNECTIONS + 156
    batch(
        "scores",
        source,
        tmp_path / "out.jsonl",
        concurrency=wide,
        progress=lambda _: sizes.append(pool_size()),
    )
    assert sizes == [wide] * 3  # clients built during the run pool `wide` connections
    assert pool_size() == DEFAULT_MAX_CONNECTIONS  # and only during it
