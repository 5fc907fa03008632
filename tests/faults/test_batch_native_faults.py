"""``hostkit batch --native`` survives a real ``kill -9``: the process waiting on the
platform job is killed, and the next run reattaches to that job (one job, not two) and
writes every result once.

The platform is fake_batch_platform.py (jobs and objects in a folder; a job runs when
the test says so), because moto's state lives in one process and cannot outlive a kill.
The SageMaker and Groq halves of the same guarantee are tested in their own folders.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).parent
SCRIPT = HERE / "fake_batch_platform.py"


def _platform() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fake_batch_platform", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("FAKE_BATCH_ROOT", str(tmp_path / "cloud"))
    module = _platform()
    module.install()
    return module


def _input(tmp_path: Path, count: int = 4) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_text(
        "".join(json.dumps({"id": f"w{i}", "request": f"word {i}"}) + "\n" for i in range(count))
    )
    return path


def _journal(state: Path) -> dict[str, object] | None:
    for path in (state / "batch-jobs").glob("*/job.json"):
        return json.loads(path.read_text())  # type: ignore[no-any-return]
    return None


def _wait_for_submitted(
    state: Path, child: subprocess.Popen[bytes], timeout: float = 60
) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        journal = _journal(state)
        if journal and journal.get("state") == "submitted":
            return journal
        assert child.poll() is None, child.communicate()
        time.sleep(0.05)
    raise AssertionError("the child never journalled a submitted job")


def test_kill_9_while_waiting_then_rerun_reattaches(
    platform: ModuleType, tmp_path: Path, no_leftovers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hostkit.batch_jobs import run_native

    state = no_leftovers
    source, sink = _input(tmp_path), tmp_path / "out.jsonl"
    child = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(source), str(sink)],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        journal = _wait_for_submitted(state, child)
    finally:
        os.killpg(child.pid, signal.SIGKILL)  # kill -9: no handler, no clean-up runs
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    key = journal["key"]
    assert list(platform.jobs()) == [key] and platform.jobs()[key]["status"] == "InProgress"
    assert not sink.exists() or sink.read_text() == ""

    assert platform.run_pending() == 1  # the platform finishes the job meanwhile
    polls = []

    def bounded(seconds: float) -> None:  # a job nobody runs must fail the test, not hang it
        polls.append(seconds)
        assert len(polls) < 100, "still waiting: a second job was started instead of reattaching"

    monkeypatch.setattr(
        platform.FakeBatchProvider, "setup", lambda self: setattr(self, "sleep", bounded)
    )
    summary = run_native("fakebatch:upper", source, sink, poll_s=0)
    assert summary.completed and (summary.ok, summary.failed) == (4, 0)
    assert list(platform.jobs()) == [key]  # reattached: no second job
    rows = [json.loads(line) for line in sink.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["w0", "w1", "w2", "w3"]
    assert rows[2]["result"]["output"] == {"upper": "WORD 2"}
    assert _journal(state) is None  # collected: the journal is gone
    assert (
        sorted(p.name for p in (tmp_path / "cloud" / "objects").iterdir()) == []
    )  # staged objects deleted

    again = run_native("fakebatch:upper", source, sink, poll_s=0)  # nothing left to do
    assert (again.skipped, again.ok) == (4, 0) and list(platform.jobs()) == [key]


def test_a_second_run_on_the_same_output_is_refused_while_the_first_waits(
    platform: ModuleType, tmp_path: Path, no_leftovers: Path
) -> None:
    from hostkit import errors
    from hostkit.batch_jobs import run_native

    source, sink = _input(tmp_path), tmp_path / "out.jsonl"
    child = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(source), str(sink)],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _wait_for_submitted(no_leftovers, child)
        with pytest.raises(errors.ConfigError, match="being written by another batch"):
            run_native("fakebatch:upper", source, sink, poll_s=0)
        platform.run_pending()
        assert child.wait(timeout=60) == 0
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
    assert len(platform.jobs()) == 1
    assert len(sink.read_text().splitlines()) == 4
