"""``logs`` of the local provider against real server processes: what the model prints
comes back with its time, secrets masked, ``since`` filters, ``follow`` tails, and an
LLM server's own output comes back as source ``upstream``."""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

from hostkit_providers.local.logs import read_logs

import hostkit
from hostkit._logs import LogLine
from hostkit._redact import register_secret

FAKE_SERVER = Path(__file__).parents[3] / "examples" / "fake_openai_server.py"
SECRET = "sk-local-logs-test-secret-0000"


def _wait_for(path: Path, text: str) -> None:
    """Poll until the server's pump has written ``text`` (it runs in another process)."""
    deadline = time.monotonic() + 30
    while text not in (path.read_text() if path.exists() else ""):
        assert time.monotonic() < deadline, f"{text!r} never reached {path}"
        time.sleep(0.05)


def _talker(tmp_path: Path) -> dict[str, object]:
    (tmp_path / "talker.py").write_text(
        textwrap.dedent(
            f"""
            def run(payload):
                print("scoring", payload, flush=True)
                if payload == "leak":
                    print("token is {SECRET}", flush=True)
                return payload
            """
        )
    )
    return {"model": "talker.py:run", "name": "talker", "options": {"workdir": str(tmp_path)}}


def test_logs_return_what_the_model_printed_with_times(
    local: hostkit.Provider, tmp_path: Path
) -> None:
    before = time.time()
    dep = local.deploy(_talker(tmp_path))
    dep.invoke("first")
    dep.invoke("leak")
    log_file = Path(dep.raw["run_dir"]) / "server.log"
    _wait_for(log_file, "scoring leak")

    register_secret(SECRET)
    lines = list(local.logs(dep))
    messages = [line.message for line in lines]
    assert "scoring first" in messages and "scoring leak" in messages
    assert "token is ***" in messages
    assert messages[0].startswith("hostkit local server: serving talker.py:run on 127.0.0.1:")
    assert SECRET in log_file.read_text()  # the file holds it; what logs() returns does not
    assert not any(SECRET in str(line) for line in lines)
    scored = next(line for line in lines if line.message == "scoring first")
    assert scored.source == "server"
    assert scored.timestamp is not None and before - 1 <= scored.timestamp <= time.time()

    assert list(local.logs("talker", since=time.time() + 3600)) == []
    module_level = list(hostkit.logs(dep, since="1h"))
    assert "scoring first" in [line.message for line in module_level]


def test_follow_yields_new_lines_until_the_caller_stops(
    local: hostkit.Provider, tmp_path: Path
) -> None:
    dep = local.deploy(_talker(tmp_path))
    log_file = Path(dep.raw["run_dir"]) / "server.log"
    sent: list[str] = []

    def next_request(seconds: float) -> None:  # the follow loop's pause: send one more request
        payload = f"request-{len(sent)}"
        sent.append(payload)
        dep.invoke(payload)
        _wait_for(log_file, f"scoring {payload}")

    local.sleep = next_request
    followed = local.logs(dep, since=time.time() + 3600, follow=True)  # nothing old
    got: list[str] = []
    while len(got) < 2:  # the model's own lines, not the per-request access lines
        message = next(followed).message
        if message.startswith("scoring"):
            got.append(message)
    followed.close()
    assert got == ["scoring request-0", "scoring request-1"]


def test_an_llm_servers_output_is_source_upstream(local: hostkit.Provider, tmp_path: Path) -> None:
    wrapper = tmp_path / "loud_server.py"
    wrapper.write_text(
        "import runpy, sys\n"
        "print('upstream starting on', sys.argv[2], flush=True)\n"
        f"sys.argv = [{str(FAKE_SERVER)!r}, *sys.argv[1:]]\n"
        f"runpy.run_path({str(FAKE_SERVER)!r}, run_name='__main__')\n"
    )
    spec = {
        "model": "fake-llm",
        "name": "loud",
        "options": {"command": [sys.executable, str(wrapper), "--port", "{port}"]},
    }
    dep = local.deploy(spec)
    _wait_for(Path(dep.raw["run_dir"]) / "upstream.log", "upstream starting")
    upstream = [line for line in local.logs(dep) if line.source == "upstream"]
    assert upstream and upstream[0].message.startswith("upstream starting on ")
    assert upstream[0].timestamp is not None


def test_read_logs_merges_files_in_time_order_and_keeps_untimed_lines(tmp_path: Path) -> None:
    (tmp_path / "server.log").write_text(
        "2026-01-01T00:00:01.000Z worker up\n"
        "Traceback (most recent call last):\n"
        "2026-01-01T00:00:03.000Z request done\n"
        "2026-01-01T00:00:04.000Z half a line"  # no newline yet: not returned
    )
    (tmp_path / "upstream.log").write_text("2026-01-01T00:00:02.000Z model loaded\n")
    lines = list(read_logs(tmp_path))
    assert [(line.source, line.message) for line in lines] == [
        ("server", "worker up"),
        ("server", "Traceback (most recent call last):"),
        ("upstream", "model loaded"),
        ("server", "request done"),
    ]
    assert lines[1].timestamp == lines[0].timestamp  # a traceback keeps its first line's time
    assert lines[0] == LogLine(1767225601.0, "worker up", "server")
    later = list(read_logs(tmp_path, since=1767225602.5))
    assert [line.message for line in later] == ["request done"]


def test_follow_stops_when_the_run_directory_is_gone(tmp_path: Path) -> None:
    import shutil

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "server.log").write_text("2026-01-01T00:00:01.000Z up\n")
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 1:
            with (run_dir / "server.log").open("a") as handle:
                handle.write("2026-01-01T00:00:02.000Z going down\n")
        else:
            shutil.rmtree(run_dir)  # what teardown does

    lines = list(read_logs(run_dir, follow=True, sleep=pause))
    assert [line.message for line in lines] == ["up", "going down"]
    assert len(pauses) == 2
