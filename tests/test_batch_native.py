"""``hostkit batch --native`` in the CLI and on providers without a batch-job API.

The platform side (SageMaker Batch Transform on moto, Groq's Batch API from fixtures)
is tested beside each adapter (providers/*/tests/test_*_batch.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hostkit import errors
from hostkit.batch import batch


def _input(tmp_path: Path) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"id": f"r{i}", "x": i}) + "\n" for i in range(3)))
    return path


def test_a_provider_without_batch_jobs_says_to_drop_native(tmp_path: Path) -> None:
    with pytest.raises(errors.Unsupported, match=r"local has no batch-job API.*without --native"):
        batch("local:echo", _input(tmp_path), tmp_path / "out.jsonl", native=True)
    assert list(tmp_path.glob("out.jsonl*")) == []  # refused before the output was touched


def test_cli_native_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hostkit.cli import main

    source, out = _input(tmp_path), tmp_path / "out.jsonl"
    assert main(["batch", "local:echo", str(source), "-o", str(out), "--native"]) == 1
    assert "without --native works there" in capsys.readouterr().err
    assert main(["batch", "local:echo", str(source), "-o", str(out), "--dry-run"]) == 2
    assert "add --native" in capsys.readouterr().err


def test_an_unreadable_journal_is_a_clear_error(tmp_path: Path) -> None:
    from hostkit.batch_jobs import BatchJob

    folder = tmp_path / "job"
    folder.mkdir()
    (folder / "job.json").write_text('{"key": "hostkit-x"}')  # cut short
    with pytest.raises(errors.ConfigError, match=r"journal .* is unreadable.*may still be running"):
        BatchJob.load(folder)
    assert BatchJob.load(tmp_path / "none") is None


class _Terminal:
    """A stdin that is a terminal and answers one line."""

    def __init__(self, answer: str, tty: bool = True) -> None:
        self.answer, self.tty = answer, tty

    def isatty(self) -> bool:
        return self.tty

    def readline(self) -> str:
        return self.answer


@pytest.mark.parametrize(
    ("stdin", "cancels"),
    [(_Terminal("y\n"), True), (_Terminal("\n"), False), (_Terminal("y\n", tty=False), False)],
)
def test_ctrl_c_asks_on_a_terminal_and_leaves_the_job_otherwise(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stdin: _Terminal,
    cancels: bool,
) -> None:
    from types import SimpleNamespace

    from hostkit.cli_batch import _ask_cancel

    monkeypatch.setattr("sys.stdin", stdin)
    job = SimpleNamespace(provider="sagemaker", job_id="hostkit-x-1", key="hostkit-x-1")
    assert _ask_cancel(job) is cancels
    asked = capsys.readouterr().err
    assert ("cancel the sagemaker batch job hostkit-x-1?" in asked) is stdin.tty


def test_every_provider_without_batch_jobs_refuses_native_batch_with_the_sentence() -> None:
    import hostkit
    from hostkit._provider import Provider
    from hostkit._registry import provider_class

    native = set()
    for info in hostkit.available_providers():
        if not info.installed:
            continue
        cls = provider_class(info.name)
        if cls.submit_batch_job is not Provider.submit_batch_job:
            native.add(info.name)
            continue
        message = str(Provider._no_native_batch(cls.__new__(cls)))
        assert "without --native works there" in message, info.name
    assert native == {"sagemaker", "groq", "vertex"}
