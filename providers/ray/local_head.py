"""Start and stop a single-node Ray head on loopback (tests, benchmarks, trying it out).

``ray start --head --block`` runs in a session of its own, so every process of the
cluster (GCS, raylet, dashboard, Serve's controller, proxy and replicas) carries that
session id; :func:`stop_head` ends exactly those processes by pid. ``ray stop`` is never
used: it kills every Ray process of the user, other clusters included. Linux only
(it reads /proc). Needs ``ray[serve]`` (``pip install "hostkit-ml[ray]"``).

    with local_head() as head:
        ray = hostkit.get_provider("ray", **head.settings())
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["RayHead", "free_ports", "local_head", "start_head", "stop_head"]

STARTUP_TIMEOUT = 120.0


@dataclass
class RayHead:
    """Where the test cluster answers."""

    address: str  # the dashboard (Serve REST API)
    serve_url: str  # the Serve HTTP proxy
    gcs: str
    session: int  # the session id every process of the cluster carries
    temp_dir: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def settings(self, **extra: object) -> dict[str, object]:
        """Provider settings for this head (small replicas: the head has 2 CPUs)."""
        return {
            "address": self.address,
            "serve_url": self.serve_url,
            "replica_cpus": 0.1,  # a laptop head has few CPUs
            **extra,
        }


def free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def session_members(session: int) -> list[int]:
    """Pids of every live process in ``session`` (from /proc; zombies excluded)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if len(fields) > 3 and int(fields[3]) == session and fields[0] != "Z":  # not reaped
            members.append(int(entry.name))
    return members


def stop_session(session: int, grace: float = 5.0) -> list[int]:
    """SIGTERM every process of ``session``, then SIGKILL what remains; returns the pids
    still there afterwards (none, normally)."""
    if session <= 1 or session == os.getsid(0):
        raise RuntimeError(f"refusing to stop session {session}: it is not the Ray head's")
    for pid in session_members(session):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while session_members(session) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in session_members(session):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while session_members(session) and time.monotonic() < deadline:
        time.sleep(0.2)
    return session_members(session)


def _wait_for_dashboard(
    address: str, process: subprocess.Popen[bytes], log: Path, timeout: float
) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ray start exited ({process.returncode}):\n{log.read_text()}")
        with contextlib.suppress(httpx.HTTPError):
            answer = httpx.get(f"{address}/api/serve/applications/", timeout=2)
            if answer.status_code in (200, 401):  # 401: up, with token auth on
                return
        time.sleep(0.5)
    raise RuntimeError(f"the Ray dashboard did not answer in {timeout:.0f}s:\n{log.read_text()}")


def start_head(
    *,
    cpus: int = 2,
    pythonpath: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    timeout: float = STARTUP_TIMEOUT,
) -> RayHead:
    """Start a Ray head on loopback with free ports and a private temp dir; wait for its
    dashboard. ``pythonpath`` folders are importable by the cluster's workers; ``env``
    is added to the head's environment (e.g. ``RAY_AUTH_MODE=token``)."""
    # a short folder: Ray's unix socket paths must stay under 108 characters
    temp_dir = Path(tempfile.mkdtemp(prefix="hkray-", dir="/tmp"))
    gcs, dashboard, serve, client, agent, agent_grpc, metrics, env_agent, node, objects = (
        free_ports(10)
    )
    ray = Path(sys.executable).parent / "ray"
    command = [
        str(ray) if ray.exists() else "ray",
        "start",
        "--head",
        "--block",
        f"--port={gcs}",
        "--node-ip-address=127.0.0.1",
        "--dashboard-host=127.0.0.1",
        f"--dashboard-port={dashboard}",
        "--include-dashboard=true",
        f"--ray-client-server-port={client}",
        f"--dashboard-agent-listen-port={agent}",
        f"--dashboard-agent-grpc-port={agent_grpc}",
        f"--metrics-export-port={metrics}",
        f"--runtime-env-agent-port={env_agent}",
        f"--node-manager-port={node}",
        f"--object-manager-port={objects}",
        f"--num-cpus={cpus}",
        "--object-store-memory=100000000",
        f"--temp-dir={temp_dir}",
        "--disable-usage-stats",
    ]
    environ = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "PYTHONUNBUFFERED": "1", **(env or {})}
    environ.pop("RAY_ADDRESS", None)
    paths = (*pythonpath, environ.get("PYTHONPATH"))
    environ["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    log = temp_dir / "ray-start.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=environ,
            start_new_session=True,
        )
    head = RayHead(
        address=f"http://127.0.0.1:{dashboard}",
        serve_url=f"http://127.0.0.1:{serve}",
        gcs=f"127.0.0.1:{gcs}",
        session=process.pid,
        temp_dir=temp_dir,
        process=process,
    )
    try:
        _wait_for_dashboard(head.address, process, log, timeout)
    except BaseException:
        stop_head(head)
        raise
    return head


def stop_head(head: RayHead) -> list[int]:
    """End every process of the head's session and delete its temp dir; returns the pids
    still alive afterwards (none, normally)."""
    left = stop_session(head.session)
    if head.process is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            head.process.wait(timeout=5)
    shutil.rmtree(head.temp_dir, ignore_errors=True)
    return left


@contextlib.contextmanager
def local_head(**kwargs: object) -> Iterator[RayHead]:
    """A head for the ``with`` block, stopped at its end whatever happens."""
    head = start_head(**kwargs)  # type: ignore[arg-type]
    try:
        yield head
    finally:
        stop_head(head)
