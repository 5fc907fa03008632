"""The README smoke test: the tour and the CLI section run as written, offline, in order.

Every block between "## A short tour" and the next "## " heading is run after the quickstart
in a fresh working directory, with the venv's ``hostkit`` and ``python`` first on PATH:

* a ``toml`` block whose first line is ``# hostkit.toml`` is written to ``hostkit.toml``
  (the README tells the reader to save it); other toml blocks are fragments and only read;
* a ``bash`` block runs one command at a time (``\\`` continuations joined) with ``bash -c``;
* a ``python`` block runs as one script (``python -``).

Only an explicit marker changes that: a command or Python block with ``# needs VAR`` or
``# needs network`` is skipped (the test warns which), and a command whose comment says
``until Ctrl-C`` is interrupted with SIGINT after a few seconds, which counts as success when
it had not failed by then. At the end nothing the README started may still be running.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from hostkit.testing.processes import processes_mentioning

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
VENV_BIN = Path(sys.executable).parent
NEEDS = re.compile(r"#\s*needs (network|[A-Z][A-Z0-9_]+)\b")
UNTIL_CTRL_C = "until Ctrl-C"
INTERRUPT_AFTER_S = 4.0
STEP_TIMEOUT_S = 180.0
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.M | re.S)


@dataclass(frozen=True)
class Step:
    """One thing to run: a shell command, a Python script, or a file to write."""

    kind: str  # "shell" | "python" | "write"
    text: str
    block: str  # the whole README block it came from, for failure messages


def tour_section(readme: str) -> str:
    """The README from "## A short tour" up to the next level-2 heading."""
    start = readme.index("\n## A short tour\n")
    end = readme.find("\n## ", start + 1)
    return readme[start : end if end != -1 else len(readme)]


def shell_commands(block: str) -> list[str]:
    """The commands of a bash block: continuations joined, blank and comment lines dropped."""
    joined = re.sub(r"\\\n\s*", " ", block)
    lines = [line.strip() for line in joined.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def steps_of(section: str) -> list[Step]:
    """Every runnable step of ``section``, in order."""
    steps: list[Step] = []
    for match in FENCE.finditer(section):
        lang, body = match.group(1), match.group(2)
        if lang == "toml" and body.startswith("# hostkit.toml\n"):
            steps.append(Step("write", body, body))
        elif lang == "bash":
            steps += [Step("shell", cmd, body) for cmd in shell_commands(body)]
        elif lang == "python":
            steps.append(Step("python", body, body))
    return steps


def readme_steps() -> list[Step]:
    """The quickstart's ``hostkit quickstart``, then every step of the tour and CLI section."""
    quickstart = Step("shell", "hostkit quickstart", "hostkit quickstart")
    return [quickstart, *steps_of(tour_section(README.read_text(encoding="utf-8")))]


def skip_reason(step: Step) -> str | None:
    """What a marked step needs (credentials or network), or None when it runs offline."""
    found = NEEDS.search(step.text)
    return found.group(1) if found else None


def describe(step: Step) -> str:
    """A step in one line: the command, or a Python block's marked line."""
    if step.kind == "shell":
        return step.text.strip()
    marked = next(line for line in step.text.splitlines() if NEEDS.search(line))
    return f"python block ({marked.strip()})"


def readme_env(state: Path, work: Path) -> dict[str, str]:
    """The reader's shell: the venv first on PATH, hostkit state in the test's temp dir."""
    env = {k: v for k, v in os.environ.items() if k != "HOSTKIT_CONFIG"}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["HOSTKIT_STATE_DIR"] = str(state)
    env["HOSTKIT_CACHE_DIR"] = str(work.parent / "hostkit-cache")
    env.pop("VIRTUAL_ENV", None)
    return env


def failure(step: Step, why: str, out: str, err: str) -> str:
    return (
        f"README step failed ({why}):\n  {step.text}\n--- its block ---\n{step.block}"
        f"\n--- stdout ---\n{out[-4000:]}\n--- stderr ---\n{err[-4000:]}"
    )


def run_until_interrupted(step: Step, env: dict[str, str], cwd: Path) -> None:
    """A never-ending command: it must still be running (or have succeeded) after a while."""
    process = subprocess.Popen(
        ["bash", "-c", step.text], cwd=cwd, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        out, err = process.communicate(timeout=INTERRUPT_AFTER_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGINT)  # the reader's Ctrl-C
        try:
            out, err = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, err = process.communicate()
            pytest.fail(failure(step, "Ctrl-C did not stop it within 15 s", out, err))
        assert out.strip() or err.strip(), failure(step, "no output before Ctrl-C", out, err)
        return
    assert process.returncode == 0, failure(step, f"exit {process.returncode}", out, err)


def run_step(step: Step, env: dict[str, str], cwd: Path) -> None:
    """Run one step as the reader would; fail with the block and its output."""
    if step.kind == "write":
        (cwd / "hostkit.toml").write_text(step.text, encoding="utf-8")
        return
    if step.kind == "shell" and UNTIL_CTRL_C in step.text:
        run_until_interrupted(step, env, cwd)
        return
    argv, stdin = (["python", "-"], step.text) if step.kind == "python" else (
        ["bash", "-c", step.text], None)  # fmt: skip
    try:
        done = subprocess.run(
            argv, input=stdin, cwd=cwd, env=env, text=True, capture_output=True,
            timeout=STEP_TIMEOUT_S,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        why = f"still running after {STEP_TIMEOUT_S:.0f} s"
        pytest.fail(failure(step, why, str(exc.stdout), str(exc.stderr)))
    assert done.returncode == 0, failure(step, f"exit {done.returncode}", done.stdout, done.stderr)


def leftovers(state: Path, env: dict[str, str], cwd: Path) -> list[str]:
    """Deployments the README left running; each is torn down here before the test fails."""
    left = sorted(p.stem for p in state.glob("*/*.json"))
    for name in left:
        teardown = ["hostkit", "teardown", name]
        subprocess.run(teardown, cwd=cwd, env=env, capture_output=True, timeout=60)
    deadline = time.monotonic() + 15
    while (pids := processes_mentioning(str(state))) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return left + [f"process {pid}" for pid in pids]


def test_the_tour_has_what_the_smoke_test_runs() -> None:
    steps = readme_steps()
    kinds = [s.kind for s in steps]
    assert kinds.count("write") == 1, "the tour's hostkit.toml block (first line '# hostkit.toml')"
    assert kinds.count("python") >= 2 and kinds.count("shell") >= 20
    commands = [s.text for s in steps if s.kind == "shell"]
    for needed in ("hostkit deploy scores", "hostkit compare", "hostkit teardown scores"):
        assert any(c.startswith(needed) for c in commands), needed
    # a never-ending line is runnable only with its marker
    for command in commands:
        if {"--follow", "--watch"} & set(command.split(" #")[0].split()):
            assert UNTIL_CTRL_C in command, f"{command!r} never ends: show it without, or mark it"


def test_the_readme_tour_and_cli_run_as_written(isolated_hostkit: Path) -> None:
    state, work = isolated_hostkit, Path.cwd()
    env = readme_env(state, work)
    skipped: list[str] = []
    try:
        for step in readme_steps():
            if (need := skip_reason(step)) is not None:
                skipped.append(f"{describe(step)} [needs {need}]")
                continue
            run_step(step, env, work)
    finally:
        left = leftovers(state, env, work)
    assert not left, f"the README leaves these running: {left}"
    if skipped:
        warnings.warn(
            f"README smoke test skipped {len(skipped)} marked step(s): " + "; ".join(skipped),
            stacklevel=1,
        )
