"""Issue #13, the ``local`` provider's own processes and files (items 2, 6-9, 16, 19).

Real supervisors and workers throughout: a record that points elsewhere, two deployers
of one name, concurrent scaling, corrupt or deleted state, stale pids, runaway replica
counts, bad ports and file modes. ``no_leftovers`` (autouse) proves each test leaves no
process or run file behind.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hostkit
from hostkit import errors
from hostkit.testing.processes import processes_mentioning, wait_until_gone

EXAMPLE = "hostkit_examples.study_score:predict"
RUN_DIR_ENV = "HOSTKIT_LOCAL_RUN_DIR"


def _run_dir(provider: Any, name: str) -> Path:
    return provider.records.folder / "runs" / name


def _record_path(provider: Any, name: str) -> Path:
    return provider.records.folder / f"{name}.json"


def _server_processes(run_dir: Path) -> list[int]:
    """Live processes of the deployment whose run dir is ``run_dir`` (by environment)."""
    return processes_mentioning(f"{RUN_DIR_ENV}={run_dir}\0")


def _supervisors(run_dir: Path) -> list[int]:
    found = []
    for pid in _server_processes(run_dir):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"hostkit_providers.local.server" in cmdline:
            found.append(pid)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def bystander() -> Iterator[subprocess.Popen[bytes]]:
    """An unrelated process (``sleep``) in its own group with an empty environment."""
    process = subprocess.Popen(
        ["env", "-i", "sleep", "300"], start_new_session=True, stdin=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # env execs sleep: wait for the empty environment
        try:
            if Path(f"/proc/{process.pid}/environ").read_bytes() == b"":
                break
        except OSError:
            pass
        time.sleep(0.02)
    yield process
    process.kill()
    process.wait(timeout=10)


# -- item 2: teardown never deletes a folder the record merely names -----------------------
def test_teardown_leaves_alone_a_folder_an_edited_record_names(local: Any, tmp_path: Path) -> None:
    decoy = tmp_path / "decoy"
    decoy.mkdir()
    (decoy / "precious.txt").write_text("keep me")
    dep = local.deploy({"model": EXAMPLE, "name": "decoyed"})
    run_dir = Path(dep.raw["run_dir"])
    record = json.loads(_record_path(local, "decoyed").read_text())
    record["raw"]["run_dir"] = str(decoy)
    _record_path(local, "decoyed").write_text(json.dumps(record))

    hostkit.teardown("decoyed")

    assert (decoy / "precious.txt").read_text() == "keep me"
    assert not wait_until_gone(f"{RUN_DIR_ENV}={run_dir}\0"), "the real server kept running"
    assert not run_dir.exists()


def test_teardown_does_not_follow_a_symlinked_run_dir(local: Any, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    runs = local.records.folder / "runs"
    runs.mkdir(parents=True)
    (runs / "linked").symlink_to(outside, target_is_directory=True)
    local.records.save(
        "linked",
        {
            "name": "linked",
            "provider": "local",
            "model": EXAMPLE,
            "status": "ready",
            "raw": {"run_dir": str(runs / "linked"), "pid": 1, "desired_replicas": 1},
        },
    )

    local.teardown("linked")

    assert (outside / "precious.txt").read_text() == "keep me"
    assert not (runs / "linked").exists(), "the symlink itself is ours to remove"


# -- item 6: two deployers, two scalers ----------------------------------------------------
def _python(script: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_deployers_of_one_name_make_one_server(local: Any) -> None:
    start = time.time() + 4  # both past their imports, then deploy at the same moment
    script = f"""
        import time, hostkit
        time.sleep(max(0.0, {start} - time.time()))
        dep = hostkit.deploy(provider="local", model={EXAMPLE!r}, name="race")
        print(dep.status, dep.raw["pid"])
        """
    runs = [_python(script) for _ in range(2)]
    outputs = [run.communicate(timeout=180) for run in runs]
    for run, (_out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err
    answers = {out.strip().splitlines()[-1] for out, _ in outputs}
    assert len(answers) == 1, f"two different servers: {answers}"
    assert answers.pop().startswith("ready ")
    run_dir = _run_dir(local, "race")
    assert len(_supervisors(run_dir)) == 1

    hostkit.teardown("race")
    assert not wait_until_gone(f"{RUN_DIR_ENV}={run_dir}\0")


def test_a_lock_held_too_long_is_a_clear_timeout(
    local: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hostkit_providers.local import provider as local_module

    lock = local.records.folder / "locks" / "held.lock"
    lock.parent.mkdir(parents=True)
    holder = _python(
        f"""
        import fcntl, os, sys, time
        fd = os.open({str(lock)!r}, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        print("held", flush=True)
        time.sleep(60)
        """
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        monkeypatch.setattr(local_module, "LOCK_TIMEOUT", 1.0)
        with pytest.raises(errors.Timeout, match=r"held\.lock.*more than 1s"):
            local.deploy({"model": EXAMPLE, "name": "held"})
    finally:
        holder.kill()
        holder.communicate(timeout=10)
    assert local.find("held") is None


def test_concurrent_scale_calls_end_at_the_count_recorded(local: Any) -> None:
    dep = local.deploy({"model": EXAMPLE, "name": "scaled", "replicas": 3})
    script = f"""
        import sys, time, hostkit
        provider = hostkit.get_provider("local")
        time.sleep(max(0.0, {time.time() + 4} - time.time()))
        print(provider.scale("scaled", int(sys.argv[1])).replicas)
        """
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(script), str(count)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for count in (5, 1)  # one adds workers while the other removes them
    ]
    for run in runs:
        _out, err = run.communicate(timeout=180)
        assert run.returncode == 0, err

    final = local.get("scaled")
    desired = final.raw["desired_replicas"]
    assert desired in (5, 1)
    assert final.status == "ready" and final.replicas == desired
    local.teardown(dep)


def test_concurrent_scale_in_threads_of_one_process(local: Any) -> None:
    import threading

    dep = local.deploy({"model": EXAMPLE, "name": "threaded", "replicas": 2})
    failures: list[BaseException] = []
    barrier = threading.Barrier(2)

    def scale(count: int) -> None:
        barrier.wait()
        try:
            local.scale("threaded", count)
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=scale, args=(n,)) for n in (4, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not failures, failures
    final = local.get("threaded")
    assert final.status == "ready" and final.replicas == final.raw["desired_replicas"]
    local.teardown(dep)


# -- item 7: corrupt or deleted state ------------------------------------------------------
@pytest.mark.parametrize(
    "record",
    [
        "{not json",
        '{"name": "garbage"}',
        '{"name": "garbage", "provider": "local",'
        ' "model": "m", "status": "ready", "raw": {"pid": "abc", "desired_replicas": "x"}}',
    ],
    ids=["not-json", "not-a-record", "bad-raw"],
)
def test_a_damaged_record_does_not_hide_the_running_server(local: Any, record: str) -> None:
    dep = local.deploy({"model": EXAMPLE, "name": "garbage"})
    run_dir = Path(dep.raw["run_dir"])
    _record_path(local, "garbage").write_text(record)

    found = local.find("garbage")  # no traceback; the server is still found
    assert found is not None and found.status == "failed"
    assert "record" in (found.raw.get("failure_reason") or "")
    hostkit.teardown("garbage")

    assert not wait_until_gone(f"{RUN_DIR_ENV}={run_dir}\0"), "teardown left the server running"
    assert not _record_path(local, "garbage").exists()


def test_a_deleted_record_does_not_hide_the_running_server(local: Any) -> None:
    dep = local.deploy({"model": EXAMPLE, "name": "lost"})
    run_dir = Path(dep.raw["run_dir"])
    _record_path(local, "lost").unlink()

    hostkit.teardown("lost")

    assert not wait_until_gone(f"{RUN_DIR_ENV}={run_dir}\0"), "teardown left the server running"
    assert not run_dir.exists()


def test_a_damaged_record_does_not_block_a_new_deploy(local: Any) -> None:
    local.deploy({"model": EXAMPLE, "name": "redo"})
    _record_path(local, "redo").write_text('{"name": "redo"}')
    dep = local.deploy({"model": EXAMPLE, "name": "redo"})
    assert dep.status == "ready"
    assert len(_supervisors(_run_dir(local, "redo"))) == 1
    local.teardown(dep)


@pytest.mark.parametrize("also_record", [False, True], ids=["run-dir", "run-dir-and-record"])
def test_a_deleted_run_dir_does_not_hide_the_running_server(local: Any, also_record: bool) -> None:
    dep = local.deploy({"model": EXAMPLE, "name": "orphan", "replicas": 2})
    run_dir = Path(dep.raw["run_dir"])
    assert len(_server_processes(run_dir)) >= 3
    shutil.rmtree(run_dir)
    if also_record:
        _record_path(local, "orphan").unlink()

    assert local.find("orphan") is not None
    local.teardown("orphan")  # hostkit.teardown needs a record or run dir to know the provider

    assert not wait_until_gone(f"{RUN_DIR_ENV}={run_dir}\0"), "teardown left the server running"


# -- item 8: stale pids are never taken for ours --------------------------------------------
def _stale_record(local: Any, name: str, pid: int) -> Path:
    run_dir = _run_dir(local, name)
    (run_dir / "workers").mkdir(parents=True)
    (run_dir / "supervisor.pid").write_text(str(pid))
    (run_dir / "workers" / str(pid)).write_text(str(pid))
    local.records.save(
        name,
        {
            "name": name,
            "provider": "local",
            "model": EXAMPLE,
            "status": "ready",
            "endpoint": "http://127.0.0.1:9",
            "fingerprint": "old",
            "raw": {"pid": pid, "run_dir": str(run_dir), "desired_replicas": 1, "kind": "python"},
        },
    )
    return run_dir


def test_a_stale_pid_of_an_unrelated_process_is_not_ours(
    local: Any, bystander: subprocess.Popen[bytes]
) -> None:
    _stale_record(local, "stale", bystander.pid)

    found = local.get("stale")
    assert found.status in ("failed", "deleted")
    assert found.replicas == 0
    local.teardown("stale")
    time.sleep(0.2)
    assert bystander.poll() is None and _alive(bystander.pid), "teardown signalled a stranger"


def test_redeploy_over_a_stale_pid_does_not_wait_out_a_timeout(
    local: Any, bystander: subprocess.Popen[bytes]
) -> None:
    _stale_record(local, "stale2", bystander.pid)
    started = time.monotonic()
    dep = local.deploy({"model": EXAMPLE, "name": "stale2"}, timeout=60)
    assert dep.status == "ready" and dep.raw["pid"] != bystander.pid
    assert time.monotonic() - started < 50
    assert bystander.poll() is None
    local.teardown(dep)


def test_a_killed_supervisor_shows_failed_and_teardown_stops_its_workers(local: Any) -> None:
    dep = local.deploy({"model": EXAMPLE, "name": "headless", "replicas": 2})
    run_dir = Path(dep.raw["run_dir"])
    os.kill(dep.raw["pid"], 9)
    deadline = time.monotonic() + 10
    while local.get("headless").status != "failed" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert local.get("headless").status == "failed"
    local.teardown("headless")
    assert not wait_until_gone(f"{RUN_DIR_ENV}={run_dir}\0"), "orphaned workers kept running"


def test_worker_pid_files_record_the_start_time(local: Any) -> None:
    dep = local.deploy({"model": EXAMPLE, "name": "stamped"})
    run_dir = Path(dep.raw["run_dir"])
    for entry in (run_dir / "workers").iterdir():
        data = json.loads(entry.read_text())
        assert data["pid"] == int(entry.name)
        started = Path(f"/proc/{data['pid']}/stat").read_text().rsplit(")", 1)[1].split()[19]
        assert str(data["start"]) == started
    supervisor = json.loads((run_dir / "supervisor.pid").read_text())
    assert supervisor["pid"] == dep.raw["pid"]
    local.teardown(dep)


# -- item 9: replicas the machine can hold; teardown kills workers still starting -----------
def test_replicas_beyond_the_machine_are_refused(local: Any) -> None:
    with pytest.raises(errors.ConfigError, match=r"replicas: .*max_replicas") as caught:
        local.deploy({"model": EXAMPLE, "name": "huge", "replicas": 10**12})
    assert str(4 * (os.cpu_count() or 1)) in caught.value.message
    assert local.find("huge") is None
    dep = local.deploy({"model": EXAMPLE, "name": "small"})
    with pytest.raises(errors.ConfigError, match="max_replicas"):
        local.scale(dep, 500)
    assert local.get("small").replicas == 1
    local.teardown(dep)


def test_the_replica_limit_is_a_setting() -> None:
    provider = hostkit.get_provider("local", max_replicas=2)
    with pytest.raises(errors.ConfigError, match="at most 2"):
        provider.validate_spec(hostkit.DeploymentSpec(provider="local", model=EXAMPLE, replicas=3))
    with pytest.raises(errors.ConfigError, match="max_replicas"):
        hostkit.get_provider("local", max_replicas=0)


def test_teardown_kills_workers_still_starting(local: Any) -> None:
    """A supervisor still spawning workers (a runaway count) leaves none behind."""
    runaway = hostkit.get_provider("local", max_replicas=10**6)
    runaway.deploy({"model": EXAMPLE, "name": "runaway", "replicas": 10**6}, wait=False)
    run_dir = _run_dir(runaway, "runaway")
    deadline = time.monotonic() + 30
    while len(_server_processes(run_dir)) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    runaway.teardown("runaway")
    assert not wait_until_gone(f"{RUN_DIR_ENV}={run_dir}\0", timeout=5)


# -- item 16: ports ---------------------------------------------------------------------------
@pytest.mark.parametrize("port", [-1, 0, 70000, "abc", True, 8.5])
def test_a_bad_port_names_the_option_and_the_range(local: Any, port: object) -> None:
    with pytest.raises(errors.ConfigError, match=r"options\.port: .*1-65535"):
        local.deploy({"model": EXAMPLE, "name": "porty", "options": {"port": port}})
    assert local.find("porty") is None


def test_a_port_in_use_says_so(local: Any) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(errors.DeploymentFailed, match=f"cannot bind 127.0.0.1:{port}"):
            local.deploy({"model": EXAMPLE, "name": "busy", "options": {"port": port}})
    assert local.find("busy") is None


@pytest.mark.parametrize("value", [0, -3, "soon", True])
def test_request_timeout_must_be_a_positive_number(local: Any, value: object) -> None:
    with pytest.raises(errors.ConfigError, match=r"options\.request_timeout"):
        local.validate_spec(
            hostkit.DeploymentSpec(
                provider="local", model=EXAMPLE, options={"request_timeout": value}
            )
        )


# -- item 19: modes ---------------------------------------------------------------------------
def test_run_dir_files_are_private(local: Any) -> None:
    dep = local.deploy({"model": EXAMPLE, "name": "private"})
    run_dir = Path(dep.raw["run_dir"])
    assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((run_dir / "workers").stat().st_mode) == 0o700
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"server.json", "supervisor.pid", "server.log", "port"} <= names
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    locks = list((local.records.folder / "locks").glob("*.lock"))
    assert locks
    for path in locks:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    local.teardown(dep)


# -- issue #14 item 4: a failed LLM deploy keeps what explains it ----------------------------
def test_a_failed_llm_deploy_carries_the_log_tail(local: Any) -> None:
    command = [
        sys.executable,
        "-c",
        "import sys; print('loading weights'); print('CUDA out of memory', flush=True);"
        " sys.exit(7)",
    ]
    with pytest.raises(errors.DeploymentFailed) as caught:
        local.deploy({"model": "m", "name": "oom", "options": {"command": command}})
    reason = caught.value.reason or ""
    assert "exited with code 7" in reason
    assert "CUDA out of memory" in reason
    assert "--keep-failed" in reason and "hostkit logs" in reason
    assert local.find("oom") is None


def test_signals_are_never_sent_to_a_group_we_cannot_vouch_for(
    local: Any, bystander: subprocess.Popen[bytes]
) -> None:
    """As in item 8, but via a record whose supervisor pid is the bystander's group."""
    dep = local.deploy({"model": EXAMPLE, "name": "vouch"})
    run_dir = Path(dep.raw["run_dir"])
    supervisor = dep.raw["pid"]
    record = json.loads(_record_path(local, "vouch").read_text())
    record["raw"]["pid"] = bystander.pid
    _record_path(local, "vouch").write_text(json.dumps(record))
    local.teardown("vouch")
    assert bystander.poll() is None
    assert not _alive(supervisor)
    assert not wait_until_gone(f"{RUN_DIR_ENV}={run_dir}\0")
