"""The supervisor process of a local deployment (``python -m hostkit_providers.local.server DIR``).

It checks that the model loads (or starts the user's OpenAI-compatible server and
waits for it), binds a free loopback port, writes it to ``RUN_DIR/port``, then runs
uvicorn's multiprocess supervisor with one worker process per replica. SIGTTIN and
SIGTTOU add and remove a worker; SIGTERM stops everything. A failure before
serving is written to ``RUN_DIR/failure.txt`` for the provider to report. Output goes
to ``RUN_DIR/server.log`` and ``RUN_DIR/upstream.log``, each line behind its time.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from hostkit_providers.local.app import RUN_DIR_ENV, read_server_config
from hostkit_providers.local.logs import pump_lines, stamp_output
from hostkit_providers.local.models import describe_model_error, load_predictor

STARTUP_FAILURE = 3


def _fail(run_dir: Path, reason: str) -> int:
    (run_dir / "failure.txt").write_text(reason, encoding="utf-8")
    print(f"hostkit local server: {reason}", file=sys.stderr)
    return STARTUP_FAILURE


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_upstream(run_dir: Path, config: dict[str, Any]) -> subprocess.Popen[bytes]:
    command = config["command"]
    port = config["upstream_port"]
    values = {"port": str(port), "model": config["model"], "host": "127.0.0.1"}
    if isinstance(command, str):
        argv = [part.format(**values) for part in shlex.split(command)]
    else:
        argv = [str(part).format(**values) for part in command]
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=config.get("workdir")
    )
    assert process.stdout is not None
    pump_lines(process.stdout, (run_dir / "upstream.log").open("ab"))
    return process


def _wait_for_upstream(
    process: subprocess.Popen[bytes], config: dict[str, Any], timeout: float
) -> str | None:
    """None when the upstream server answers its health path, else the reason."""
    url = f"http://127.0.0.1:{config['upstream_port']}{config.get('health_path', '/v1/models')}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"the server command exited with code {process.returncode} before it answered"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return None
        except OSError:
            pass
        time.sleep(0.2)
    return f"the server command did not answer {url} within {timeout:.0f}s"


def serve(run_dir: Path) -> int:
    config = read_server_config(run_dir)
    os.environ[RUN_DIR_ENV] = str(run_dir)
    upstream: subprocess.Popen[bytes] | None = None
    if config["kind"] == "python":
        try:
            load_predictor(config["model"], config.get("workdir"))
        except Exception as error:
            return _fail(
                run_dir, f"cannot load model {config['model']!r}: {describe_model_error(error)}"
            )
    else:
        if not config.get("upstream_port"):
            config["upstream_port"] = _free_port()
            _write_atomic(run_dir / "server.json", json.dumps(config))
        try:
            upstream = _start_upstream(run_dir, config)
        except (OSError, ValueError, KeyError) as error:
            return _fail(run_dir, f"cannot start the server command: {error}")
        _write_atomic(run_dir / "upstream.pid", str(upstream.pid))
        reason = _wait_for_upstream(upstream, config, float(config.get("startup_timeout", 600)))
        if reason is not None:
            upstream.terminate()
            return _fail(run_dir, reason)

    import uvicorn
    from uvicorn.supervisors.multiprocess import Multiprocess

    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP,
    # and without it every keep-alive response waits ~40 ms on a delayed ACK
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", int(config.get("port") or 0)))
    except OSError as error:
        if upstream is not None:
            upstream.terminate()
        return _fail(run_dir, f"cannot bind 127.0.0.1:{config.get('port')}: {error}")
    sock.listen(2048)
    sock.set_inheritable(True)
    uvicorn_config = uvicorn.Config(
        "hostkit_providers.local.app:create_app",
        factory=True,
        workers=int(config["workers"]),
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    _write_atomic(run_dir / "port", str(sock.getsockname()[1]))
    print(
        f"hostkit local server: serving {config['model']} on 127.0.0.1:{sock.getsockname()[1]}"
        f" with {config['workers']} worker(s)",
        flush=True,
    )
    try:
        Multiprocess(uvicorn_config, sockets=[sock]).run()
    finally:
        if upstream is not None and upstream.poll() is None:
            upstream.send_signal(signal.SIGTERM)
            try:
                upstream.wait(timeout=10)
            except subprocess.TimeoutExpired:
                upstream.kill()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m hostkit_providers.local.server RUN_DIR", file=sys.stderr)
        return 2
    stop = stamp_output()  # every line of server.log gets its time
    try:
        return serve(Path(args[0]))
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())
