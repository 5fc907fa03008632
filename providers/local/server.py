"""The supervisor process of a local deployment (``python -m hostkit_providers.local.server DIR``).

It checks that the model loads (or starts the user's OpenAI-compatible server and
waits for it), binds a free loopback port, writes it to ``RUN_DIR/port``, then runs
uvicorn's multiprocess supervisor with one worker process per replica. SIGTTIN and
SIGTTOU add and remove a worker; SIGTERM stops everything. A failure before
serving is written to ``RUN_DIR/failure.txt`` for the provider to report. Output goes
to ``RUN_DIR/server.log`` and ``RUN_DIR/upstream.log``, each line behind its time.

:class:`Supervisor` is uvicorn's ``Multiprocess`` that also says what it does: a worker
added or removed by scaling, and a worker replaced after it died (a worker whose model
call got stuck past its deadline exits on purpose) each get a line in ``server.log`` and
an event in ``RUN_DIR/events.jsonl``. Files written here are private (mode 0600).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from hostkit_providers.local.app import (
    RUN_DIR_ENV,
    SUPERVISOR_ENV,
    read_server_config,
    record_event,
)
from hostkit_providers.local.logs import pump_lines, stamp_output
from hostkit_providers.local.models import describe_model_error, load_predictor

STARTUP_FAILURE = 3
#: the only placeholders of ``options.command``; any other brace is the command's own
PLACEHOLDER = re.compile(r"\{(host|port|model)\}")


def _say(message: str) -> None:
    print(f"hostkit local server: {message}", flush=True)


def _open_private(path: Path, flags: int = os.O_WRONLY | os.O_CREAT | os.O_TRUNC) -> int:
    """A file descriptor for ``path``, created with mode 0600 (made so if it existed)."""
    fd = os.open(path, flags, 0o600)
    os.fchmod(fd, 0o600)
    return fd


def _write_private(path: Path, text: str) -> None:
    with os.fdopen(_open_private(path), "w", encoding="utf-8") as handle:
        handle.write(text)


def _fail(run_dir: Path, reason: str) -> int:
    _write_private(run_dir / "failure.txt", reason)
    print(f"hostkit local server: {reason}", file=sys.stderr)
    return STARTUP_FAILURE


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    _write_private(tmp, text)
    os.replace(tmp, path)


def fill_placeholders(argument: str, values: dict[str, str]) -> str:
    """``argument`` with ``{host}``, ``{port}`` and ``{model}`` filled in; other braces
    (a JSON argument, say) are left as they are."""
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], argument)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_upstream(run_dir: Path, config: dict[str, Any]) -> subprocess.Popen[bytes]:
    command = config["command"]
    port = config["upstream_port"]
    values = {"port": str(port), "model": config["model"], "host": "127.0.0.1"}
    parts = shlex.split(command) if isinstance(command, str) else [str(p) for p in command]
    argv = [fill_placeholders(part, values) for part in parts]
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=config.get("workdir")
    )
    assert process.stdout is not None
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    pump_lines(process.stdout, os.fdopen(_open_private(run_dir / "upstream.log", flags), "ab"))
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


def _supervisor_class() -> type:
    """uvicorn's Multiprocess, saying in server.log and events.jsonl what it does."""
    from uvicorn.supervisors.multiprocess import Multiprocess, Process

    class Supervisor(Multiprocess):  # type: ignore[misc]
        run_dir: Path

        def _stopping(self) -> bool:
            stop = (signal.SIGTERM, signal.SIGINT)
            return self.should_exit.is_set() or any(s in self.signal_queue for s in stop)

        def init_processes(self) -> None:
            # a SIGTERM that arrives while the workers start stops the starting: every
            # worker started so far is then stopped by run() (none is left orphaned)
            for _ in range(self.processes_num):
                if self._stopping():
                    return
                process = Process(self.config, self.sockets)
                process.start()
                self.processes.append(process)

        def keep_subprocess_alive(self) -> None:
            before = list(self.processes)
            super().keep_subprocess_alive()
            for old, new in zip(before, self.processes, strict=False):
                if old is not new:
                    code = old.exitcode
                    _say(f"replaced worker {old.pid} with {new.pid} (it exited with {code})")
                    record_event(
                        self.run_dir,
                        "worker_replaced",
                        old_pid=old.pid,
                        new_pid=new.pid,
                        exit_code=old.exitcode,
                    )

        def handle_ttin(self) -> None:
            super().handle_ttin()
            added, count = self.processes[-1].pid, len(self.processes)
            _say(f"added worker {added} (now {count} worker(s))")
            record_event(self.run_dir, "worker_added", pid=added, workers=count)

        def handle_ttou(self) -> None:
            # uvicorn's own, saying which worker goes before waiting for it to stop
            if self.processes_num <= 1:
                _say("asked to remove a worker, but one is the least; keeping it")
                return
            self.processes_num -= 1
            process = self.processes.pop()
            count = len(self.processes)
            _say(f"removed worker {process.pid} (now {count} worker(s))")
            record_event(self.run_dir, "worker_removed", pid=process.pid, workers=count)
            process.terminate()
            process.join()

    return Supervisor


def serve(run_dir: Path) -> int:
    config = read_server_config(run_dir)
    os.environ[RUN_DIR_ENV] = str(run_dir)
    os.environ[SUPERVISOR_ENV] = str(os.getpid())
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
    supervisor = _supervisor_class()(uvicorn_config, sockets=[sock])
    supervisor.run_dir = run_dir
    try:
        supervisor.run()
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
