"""Issue #13 items 3, 4, 17 and "Isolation": one bad request never takes down a local deployment.

Real server processes: a hung model is answered 504 at its server-side deadline while
``/health`` keeps answering, and the stuck worker is replaced; a raising model runs once
per invoke and answers 424 (``model_error``); a 200,000-deep body gets a JSON 400; braces
in ``options.command`` reach the command untouched.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import hostkit
from hostkit import errors

ROOT = Path(__file__).parents[2]
FAKE_SERVER = next(
    path
    for path in (
        ROOT / "examples" / "fake_openai_server.py",
        ROOT / "providers" / "local" / "tests" / "fake_openai_server.py",
    )
    if path.exists()
)

MODELS = """
import threading
import time
from pathlib import Path

CALLS = Path(__file__).with_name("calls.txt")


def hang(x):
    if x == "hang":
        threading.Event().wait()  # never returns
    return {"echo": x}


def boom(x):
    with CALLS.open("a") as calls:
        calls.write("call\\n")
    raise RuntimeError("the model broke")


def slow(x):
    time.sleep(0.3)
    return x
"""


def _deploy(
    tmp_path: Path, fn: str, name: str, replicas: int = 1, **options: Any
) -> hostkit.Deployment:
    (tmp_path / "models.py").write_text(textwrap.dedent(MODELS))
    return hostkit.deploy(
        provider="local",
        model=f"models.py:{fn}",
        name=name,
        replicas=replicas,
        options={"workdir": str(tmp_path), **options},
    )


def _health(endpoint: str) -> httpx.Response:
    return httpx.get(f"{endpoint}/health", timeout=3.0)


def _server_log(dep: hostkit.Deployment) -> str:
    return (Path(dep.raw["run_dir"]) / "server.log").read_text()


def _events(dep: hostkit.Deployment) -> list[dict[str, Any]]:
    path = Path(dep.raw["run_dir"]) / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _read_response(conn: socket.socket) -> tuple[str, str]:
    """The status line and headers, and the body (by its content-length), of one response."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536) or b"\r\n\r\n"
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.lower().split(b"\r\n")[1:]
            if line.startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length and (chunk := conn.recv(65536)):
        body += chunk
    return head.decode(), body.decode()


def _wait_for(condition: Any, timeout: float, what: str) -> float:
    """Seconds until ``condition()`` holds; fails the test after ``timeout``."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"timed out waiting for {what}"
        time.sleep(0.05)
    return time.monotonic() - started


def test_a_hung_model_gets_a_504_health_keeps_answering_and_the_worker_is_replaced(
    tmp_path: Path,
) -> None:
    dep = _deploy(tmp_path, "hang", "hung", request_timeout=2)
    try:
        endpoint = dep.endpoint
        assert endpoint is not None
        first_pid = _health(endpoint).json()["pid"]
        outcome: dict[str, Any] = {}

        def call_hung() -> None:
            try:
                outcome["result"] = httpx.post(
                    f"{endpoint}/invoke", json={"input": "hang"}, timeout=30.0
                )
            except Exception as error:
                outcome["error"] = error

        started = time.monotonic()
        caller = threading.Thread(target=call_hung)
        caller.start()
        time.sleep(0.5)
        # the model is stuck in its thread; the worker's event loop still answers
        assert _health(endpoint).status_code == 200
        caller.join(timeout=20)
        assert not caller.is_alive(), "the hung call was not answered at its deadline"
        response = outcome["result"]
        assert response.status_code == 504
        error = response.json()["error"]
        assert error["type"] == "model_timeout" and "2 s deadline" in error["message"]

        # the stuck worker is replaced by a fresh one, and the deployment serves again
        def serves_again() -> bool:
            try:
                return httpx.post(
                    f"{endpoint}/invoke", json={"input": "ok"}, timeout=3.0
                ).json() == {"output": {"echo": "ok"}}
            except httpx.HTTPError:
                return False

        _wait_for(serves_again, 30, "the deployment to serve again")
        recovered = time.monotonic() - started
        print(f"\nseconds from the hung call until the deployment serves again: {recovered:.2f}")
        new_pid = _health(endpoint).json()["pid"]
        assert new_pid != first_pid
        log = _server_log(dep)
        assert f"worker {first_pid}: model call stuck past its 2s deadline" in log
        assert f"replaced worker {first_pid} with {new_pid}" in log
        replaced = [e for e in _events(dep) if e["event"] == "worker_replaced"]
        assert [(e["old_pid"], e["new_pid"]) for e in replaced] == [(first_pid, new_pid)]
        # status reports it too
        fresh = dep.refresh()
        assert fresh.raw["workers_replaced"] == 1
        assert "1 worker(s) replaced" in fresh.raw["notice"]

        # through hostkit: a clear Timeout naming the deadline, in bounded time
        began = time.monotonic()
        with pytest.raises(errors.Timeout, match="deadline"):
            hostkit.invoke(dep, "hang")
        assert time.monotonic() - began < 60
        assert dep.refresh().status in ("ready", "updating")
        _wait_for(serves_again, 30, "the deployment to serve again after the second hang")
        # not retried: one more stuck call, so one more replaced worker, not one per attempt
        stuck = [e for e in _events(dep) if e["event"] == "worker_stuck"]
        assert len(stuck) == 2
    finally:
        hostkit.teardown(dep)


def test_a_slow_model_keeps_health_answering(tmp_path: Path) -> None:
    dep = _deploy(tmp_path, "slow", "slow")
    try:
        endpoint = dep.endpoint
        assert endpoint is not None
        with httpx.Client(timeout=30.0) as client:
            callers = [
                threading.Thread(
                    target=lambda: client.post(f"{endpoint}/invoke", json={"input": 1})
                )
                for _ in range(6)
            ]
            for caller in callers:
                caller.start()
            time.sleep(0.2)
            # six calls of 0.3 s queue on the one worker; health answers meanwhile
            assert client.get(f"{endpoint}/health", timeout=1.0).status_code == 200
            for caller in callers:
                caller.join()
        assert dep.refresh().status == "ready"
    finally:
        hostkit.teardown(dep)


def test_a_raising_model_runs_once_and_answers_424_model_error(tmp_path: Path) -> None:
    dep = _deploy(tmp_path, "boom", "boom")
    calls = tmp_path / "calls.txt"
    try:
        assert dep.endpoint is not None
        response = httpx.post(f"{dep.endpoint}/invoke", json={"input": 1}, timeout=10.0)
        assert response.status_code == 424
        error = response.json()["error"]
        assert error["type"] == "model_error"
        assert "RuntimeError: the model broke" in error["message"]
        assert calls.read_text().count("call") == 1

        with pytest.raises(errors.ModelError, match="the model broke") as caught:
            hostkit.invoke(dep, 1)
        assert caught.value.status_code == 424
        assert calls.read_text().count("call") == 2, "a failure inside the model was retried"
        log = _server_log(dep)
        assert log.count("Traceback (most recent call last)") == 2  # one per failed call
    finally:
        hostkit.teardown(dep)


def test_a_body_nested_200000_deep_gets_a_json_400(tmp_path: Path) -> None:
    dep = _deploy(tmp_path, "hang", "deep")
    try:
        assert dep.endpoint is not None
        body = b'{"input": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
        response = httpx.post(
            f"{dep.endpoint}/invoke",
            content=body,
            headers={"content-type": "application/json"},
            timeout=30.0,
        )
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["type"] == "bad_request" and "nested too deeply" in error["message"]
        assert hostkit.invoke(dep, "still fine").output == {"echo": "still fine"}
    finally:
        hostkit.teardown(dep)


def test_a_body_over_the_size_cap_gets_a_json_413(tmp_path: Path) -> None:
    dep = _deploy(tmp_path, "hang", "big")
    try:
        assert dep.endpoint is not None
        host, port = dep.endpoint.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as conn:
            conn.sendall(
                b"POST /invoke HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                + f"content-length: {200 * 2**20}\r\n\r\n".encode()
                + b"x" * 1024
            )
            head, body = _read_response(conn)
        assert head.startswith("HTTP/1.1 413")
        assert json.loads(body)["error"]["type"] == "too_large"
    finally:
        hostkit.teardown(dep)


def test_braces_in_the_command_reach_it_untouched(tmp_path: Path) -> None:
    # a JSON argument: only {host}, {port} and {model} are placeholders
    probe = tmp_path / "argv.json"
    wrapper = tmp_path / "wrapper.py"
    wrapper.write_text(
        textwrap.dedent(
            f"""
            import json, runpy, sys
            open({str(probe)!r}, "w").write(json.dumps(sys.argv[1:]))
            sys.argv = [{str(FAKE_SERVER)!r}, "--port", sys.argv[2]]
            runpy.run_path({str(FAKE_SERVER)!r}, run_name="__main__")
            """
        )
    )
    command = [sys.executable, str(wrapper), "--port", "{port}", '{"a": 1}', "{model}@{host}"]
    dep = hostkit.deploy(
        provider="local", model="fake-llm", name="braces", options={"command": command}
    )
    try:
        assert dep.invoke("hello").text == "echo: hello"
        argv = json.loads(probe.read_text())
        assert argv[2] == '{"a": 1}' and argv[3] == "fake-llm@127.0.0.1"
        assert argv[1].isdigit()
    finally:
        hostkit.teardown(dep)


def test_run_directory_files_are_private(tmp_path: Path) -> None:
    dep = _deploy(tmp_path, "hang", "private")
    try:
        run_dir = Path(dep.raw["run_dir"])
        for name in ("port",):
            assert (run_dir / name).stat().st_mode & 0o077 == 0, name
    finally:
        hostkit.teardown(dep)


def test_scale_events_and_requests_appear_in_the_server_log(tmp_path: Path) -> None:
    dep = _deploy(tmp_path, "hang", "logged")
    try:
        hostkit.invoke(dep, "a")
        scaled = hostkit.scale(dep, 3)
        assert scaled.replicas == 3
        smaller = hostkit.scale(scaled, 2)
        _wait_for(lambda: "removed worker" in _server_log(smaller), 10, "the removal's log line")
        log = _server_log(smaller)
        assert "POST /invoke 200" in log
        assert log.count("added worker") == 2 and "(now 3 worker(s))" in log
        assert log.count("removed worker") == 1 and "(now 2 worker(s))" in log
        kinds = [e["event"] for e in _events(smaller)]
        assert kinds.count("worker_added") == 2 and kinds.count("worker_removed") == 1
    finally:
        hostkit.teardown(dep)


def test_teardown_stops_a_worker_whose_call_is_stuck(tmp_path: Path) -> None:
    dep = _deploy(tmp_path, "hang", "stuck-teardown")  # the default 60 s deadline
    assert dep.endpoint is not None
    endpoint = dep.endpoint

    def call_hung() -> None:
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(f"{endpoint}/invoke", json={"input": "hang"}, timeout=60.0)

    caller = threading.Thread(target=call_hung)
    caller.start()
    time.sleep(0.5)
    began = time.monotonic()
    hostkit.teardown(dep)
    # the stuck thread does not hold the worker up past teardown's grace period
    assert time.monotonic() - began < 30
    caller.join(timeout=30)
    assert not caller.is_alive()


def test_calls_queued_behind_a_stuck_call_are_retried_and_served(tmp_path: Path) -> None:
    dep = _deploy(tmp_path, "hang", "queued", request_timeout=2)
    try:
        assert dep.endpoint is not None
        endpoint = dep.endpoint
        hung = threading.Thread(
            target=lambda: httpx.post(f"{endpoint}/invoke", json={"input": "hang"}, timeout=30)
        )
        hung.start()
        time.sleep(0.3)
        results: list[Any] = []

        def call(value: str) -> None:
            try:
                results.append(hostkit.invoke(dep, value).output)
            except errors.HostkitError as error:
                results.append(error)

        queued = [threading.Thread(target=call, args=(f"q{i}",)) for i in range(3)]
        for thread in queued:
            thread.start()
        for thread in [hung, *queued]:
            thread.join(timeout=60)
        # they never ran, so the 503 that the replaced worker answers them is retried
        assert sorted(results, key=str) == [{"echo": f"q{i}"} for i in range(3)]
    finally:
        hostkit.teardown(dep)


def _worker_pids(run_dir: Path) -> list[int]:
    return [int(entry.name) for entry in (run_dir / "workers").iterdir() if entry.name.isdigit()]


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_exit_on_their_own_when_the_supervisor_is_killed(tmp_path: Path) -> None:
    dep = _deploy(tmp_path, "hang", "orphans", replicas=2)
    try:
        workers = _worker_pids(Path(dep.raw["run_dir"]))
        assert len(workers) == 2
        os.kill(dep.raw["pid"], signal.SIGKILL)
        # before any teardown, the workers notice that their supervisor died
        _wait_for(lambda: not any(_running(pid) for pid in workers), 20, "the workers to exit")
    finally:
        hostkit.teardown(dep)
