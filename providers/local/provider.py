"""The ``local`` provider: host a model on this machine, for real.

``deploy`` starts a supervisor process (``hostkit_providers.local.server``) in its
own session; it binds a free loopback port and runs one uvicorn worker process per
replica. ``invoke`` goes over HTTP; ``scale`` adds or removes workers (SIGTTIN /
SIGTTOU to the supervisor); ``teardown`` stops the whole process group and frees
the port. Process ids live in the run directory under hostkit's state dir, so a
later Python process can find (``get``) and tear down what an earlier one started.

What is whose: a process counts as the deployment's only by pid *and* start time
(see :mod:`hostkit_providers.local.processes`), or, when its files are gone, by an
environment that names the run directory. The run directory is always
``<state dir>/local/runs/<name>``, whatever a record says. Deploy, scale and teardown
of one name hold an exclusive lock (``<state dir>/local/locks/<name>.lock``), so two
processes never change one deployment at once.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hostkit_providers.local.app import RUN_DIR_ENV, replacement_count
from hostkit_providers.local.models import ESTIMATOR_SUFFIXES
from hostkit_providers.local.processes import (
    is_running,
    processes_with_env,
    read_pid_file,
    start_time,
    write_pid_file,
)

from hostkit import Capabilities, CostEstimate, Offering, Provider
from hostkit._http import HttpClient
from hostkit._logs import LogLine
from hostkit._models import Deployment, DeploymentSpec, InvokeResult, Stream, Usage
from hostkit._openai import build_chat_body, post_chat_stream, result_from_completion
from hostkit._redact import get_logger
from hostkit._selfhosted import self_hosted_rate, time_cost
from hostkit.errors import ConfigError, ProviderError, Timeout, Unsupported

__all__ = ["LocalProvider"]

log = get_logger("hostkit.local")

OPTIONS = {
    "command": "the OpenAI-compatible server to start, with {port} and {model} placeholders",
    "health_path": "the path that answers once that server is up (default /v1/models)",
    "startup_timeout": "seconds to wait for that server (default 600)",
    "port": "a fixed loopback port for hostkit's server, 1-65535 (default: a free one)",
    "workdir": "the folder model modules and files are found in (default: the working dir)",
    "request_timeout": "seconds a model call may take before the server answers 504 (default 60)",
    "usd_per_hour": "this deployment's price per hour (wins over the usd_per_hour setting)",
}
IGNORED_FIELDS = ("instance", "accelerator", "region", "image", "scale_to_zero_after")
#: worker processes per CPU when the max_replicas setting is not given
REPLICAS_PER_CPU = 4
#: how long deploy, scale or teardown waits for another process's lock on the same name
LOCK_TIMEOUT = 300.0
#: seconds between SIGTERM and SIGKILL on teardown
STOP_GRACE = 10.0
KEEP_FAILED_HINT = (
    "the run directory is deleted with a failed deploy: deploy with keep_failed=True"
    " (CLI: --keep-failed) to keep it, then read it all with `hostkit logs {name}`"
)


class LocalProvider(Provider):
    """Serves Python callables, scikit-learn models and local LLM servers on loopback."""

    name = "local"
    description = "Your own machine: uvicorn worker processes on a loopback port (no account)."
    capabilities = Capabilities(
        dedicated=True, streaming=True, native_async=True, manual_scaling=True
    )
    settings_schema = {"usd_per_hour": (int, float), "max_replicas": int}
    price_file = "prices.toml"
    unsupported = {
        "autoscale": "the local provider has no autoscaler; set a fixed count: scale(dep, N)",
        "scale_to_zero": "the local provider keeps at least one worker; use teardown to stop it",
    }
    deploy_timeout = 120.0
    poll_initial = 0.05
    poll_max = 0.5
    progress_from_logs = True  # a wait shows server.log's / upstream.log's last line

    def setup(self) -> None:
        self._clients: dict[str, HttpClient] = {}
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        limit = self.settings.get("max_replicas")
        if limit is not None and limit < 1:
            raise ConfigError(
                f"settings: max_replicas of provider 'local' must be at least 1, got {limit}",
                provider=self.name,
            )

    # -- spec ------------------------------------------------------------
    def validate_spec(self, spec: DeploymentSpec) -> None:
        unknown = sorted(set(spec.options) - set(OPTIONS))
        if unknown:
            raise ConfigError(
                f"options: unknown option(s) {', '.join(unknown)} for the local provider;"
                f" allowed: {', '.join(sorted(OPTIONS))}"
            )
        if "command" not in spec.options:
            model = spec.model
            if not model.endswith(ESTIMATOR_SUFFIXES) and ":" not in model:
                raise ConfigError(
                    f"model: {model!r} is not something the local provider can serve; use"
                    " 'module:callable', 'file.py:callable', a .joblib/.pkl scikit-learn file,"
                    " or set options.command to start an OpenAI-compatible server"
                )
        elif not isinstance(spec.options["command"], str | list):
            raise ConfigError("options.command: expected a command string or a list of arguments")
        _check_options(spec.options)
        if spec.replicas == 0:
            raise ConfigError("replicas: the local provider needs at least 1 worker")
        self._check_replicas(self._workers(spec), "replicas")
        ignored = [f for f in IGNORED_FIELDS if getattr(spec, f) is not None]
        if ignored:
            log.info("local runs on this machine; ignoring %s", ", ".join(ignored))

    def max_replicas(self) -> tuple[int, str]:
        """The most worker processes one deployment may have here, and where that comes from."""
        limit = self.settings.get("max_replicas")
        if limit is not None:
            return int(limit), "the max_replicas setting under [providers.local]"
        cpus = os.cpu_count() or 1
        return REPLICAS_PER_CPU * cpus, f"{REPLICAS_PER_CPU} per CPU, {cpus} CPU(s)"

    def _check_replicas(self, count: int, field: str) -> None:
        limit, source = self.max_replicas()
        if count > limit:
            raise ConfigError(
                f"{field}: {count} worker processes is more than this machine can hold: at most"
                f" {limit} ({source}); ask for fewer, or set max_replicas under"
                " [providers.local] in hostkit.toml to change the limit",
                provider=self.name,
            )

    @staticmethod
    def _workers(spec: DeploymentSpec) -> int:
        return max(1, spec.replicas or spec.min_replicas or 1)

    @property
    def _runs(self) -> Path:
        return self.records.folder.absolute() / "runs"

    def _run_dir(self, name: str) -> Path:
        """This provider's own run directory for ``name``: always directly in ``runs/``."""
        runs = self._runs
        if not name or name in (".", "..") or "/" in name or os.sep in name or "\0" in name:
            raise ConfigError(f"name: {name!r} cannot name a local run directory")
        return runs / name

    def _checked_run_dir(self, deployment: Deployment) -> Path:
        """The run directory of ``deployment``; a record naming another folder is ignored."""
        own = self._run_dir(deployment.name)
        named = deployment.raw.get("run_dir") if isinstance(deployment.raw, dict) else None
        if named and str(named) != str(own):
            with contextlib.suppress(OSError, ValueError):
                if Path(str(named)).resolve() == own.resolve():
                    return own
            log.warning(
                "%s: its record names run_dir %s, not %s; ignoring that (hostkit only ever"
                " touches its own run directory)",
                deployment.name,
                named,
                own,
            )
        return own

    # -- locks -----------------------------------------------------------
    def exclusive(self, name: str) -> contextlib.AbstractContextManager[None]:
        """Hold ``<state>/local/locks/<name>.lock`` (flock) while changing ``name``."""
        folder = self.records.folder.absolute() / "locks"
        self._run_dir(name)  # the same rules for the lock file's name
        return _name_lock(folder / f"{name}.lock", name, LOCK_TIMEOUT)

    # -- processes -------------------------------------------------------
    def _supervisor(self, run_dir: Path, raw: dict[str, Any]) -> int | None:
        """The supervisor's pid when it is running and is the one this deployment started."""
        found = read_pid_file(run_dir / "supervisor.pid")
        if found is None:
            pid, start = _as_int(raw.get("pid")), raw.get("pid_start")
            found = (pid, str(start) if start else None) if pid else None
        if found is None:
            return None
        pid, start = found
        child = self._children.get(pid)
        if child is not None and child.poll() is not None:
            return None
        return pid if is_running(pid, start) else None

    def _worker_pids(self, run_dir: Path) -> list[int]:
        """Workers serving now: those whose pid file's pid still has its start time."""
        folder = run_dir / "workers"
        if not folder.is_dir() or folder.is_symlink():
            return []
        pids = []
        for entry in folder.iterdir():
            found = read_pid_file(entry) if entry.is_file() else None
            if found is not None and is_running(*found):
                pids.append(found[0])
            elif found is not None and found[1] is not None and not entry.name.startswith("."):
                entry.unlink(missing_ok=True)  # a worker that is gone
        return sorted(pids)

    def _members(self, name: str, raw: dict[str, Any]) -> dict[int, str]:
        """Every live process of the deployment (pid -> start): from its pid files, its
        record, and any process whose environment names its run directory."""
        run_dir = self._run_dir(name)
        members = processes_with_env(RUN_DIR_ENV, str(run_dir))
        supervisor = self._supervisor(run_dir, raw)
        candidates = [supervisor, *self._worker_pids(run_dir)]
        upstream = read_pid_file(run_dir / "upstream.pid")
        if upstream is not None and supervisor and _session(upstream[0]) == supervisor:
            candidates.append(upstream[0])
        for pid in candidates:
            if pid and (start := start_time(pid)):
                members.setdefault(pid, start)
        return members

    # -- deploy ----------------------------------------------------------
    def _create(self, spec: DeploymentSpec) -> Deployment:
        run_dir = self._run_dir(spec.name)
        self._stop(spec.name, {})  # whatever an earlier deployment of the name left
        _private_dir(run_dir / "workers")
        workdir = str(Path(spec.options.get("workdir") or Path.cwd()).resolve())
        kind = "llm" if "command" in spec.options else "python"
        server_config: dict[str, Any] = {
            "kind": kind,
            "model": spec.model,
            "workers": self._workers(spec),
            "workdir": workdir,
            **{
                k: spec.options[k]
                for k in OPTIONS
                if k in spec.options and k not in ("workdir", "usd_per_hour")
            },
        }
        _write_private(run_dir / "server.json", json.dumps(server_config))
        env = {**os.environ, **spec.env, RUN_DIR_ENV: str(run_dir)}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (workdir, env.get("PYTHONPATH")) if p)
        log_fd = os.open(run_dir / "server.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "hostkit_providers.local.server", str(run_dir)],
                stdin=subprocess.DEVNULL,
                stdout=log_fd,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=workdir,
                start_new_session=True,
                umask=0o077,  # whatever the server writes in the run directory is private
            )
        finally:
            os.close(log_fd)
        self._children[process.pid] = process
        write_pid_file(run_dir / "supervisor.pid", process.pid)
        return Deployment(
            name=spec.name,
            provider=self.name,
            model=spec.model,
            status="deploying",
            replicas=0,
            instance="local",
            fingerprint=spec.fingerprint(),
            raw={
                "pid": process.pid,
                "pid_start": start_time(process.pid),
                "run_dir": str(run_dir),
                "kind": kind,
                "desired_replicas": server_config["workers"],
                **_own_rate(spec),
            },
        )

    def _update(self, existing: Deployment, spec: DeploymentSpec) -> Deployment:
        """Replace the running server with one for the new spec (same name)."""
        self._teardown(existing)
        return self._create(spec)

    def find(self, name: str) -> Deployment | None:
        self._run_dir(name)
        try:
            record = self.records.load(name)
        except (ConfigError, OSError, ValueError):
            record = None
        deployment = self._from_record(name, record)
        if deployment is not None:
            return self.status(deployment)
        damaged = record is not None or self.records.path(name).exists()
        return self._recover(name, damaged)

    def _from_record(self, name: str, record: dict[str, Any] | None) -> Deployment | None:
        """The record as a Deployment; None (with a warning) when it is not a valid one."""
        if record is None:
            return None
        try:
            deployment = Deployment.from_dict(record)
            raw = deployment.raw
            valid = (
                isinstance(raw, dict)
                and deployment.name == name
                and deployment.provider == self.name
                and all(
                    raw.get(key) is None or _as_int(raw.get(key)) is not None
                    for key in ("pid", "desired_replicas")
                )
                and isinstance(raw.get("run_dir") or "", str)
            )
        except (ConfigError, TypeError, ValueError, AttributeError):
            valid = False
        if not valid:
            log.warning(
                "%s: the record %s is not a valid local deployment record; ignoring it",
                name,
                self.records.path(name),
            )
            return None
        return deployment

    def _recover(self, name: str, damaged: bool) -> Deployment | None:
        """A deployment without a (valid) record: found from its run directory or processes.

        It is reported ``failed`` (hostkit no longer knows its spec): teardown stops it,
        and deploy replaces it.
        """
        run_dir = self._run_dir(name)
        members = self._members(name, {})
        if not members and not (run_dir.exists() or run_dir.is_symlink()):
            return None
        config = _read_json(run_dir / "server.json")
        record = self.records.path(name)
        state = "damaged" if damaged else "missing"
        port = _read_int(run_dir / "port")
        return Deployment(
            name=name,
            provider=self.name,
            model=str(config.get("model") or "unknown"),
            status="failed",
            endpoint=f"http://127.0.0.1:{port}" if port else None,
            replicas=len(self._worker_pids(run_dir)),
            instance="local",
            raw={
                "run_dir": str(run_dir),
                "kind": config.get("kind"),
                "recovered": True,
                "failure_reason": (
                    f"its record {record} is {state}, but {len(members)} process(es) of it"
                    f" are running from {run_dir}; teardown stops them, deploy replaces them"
                ),
            },
        )

    # -- inventory (hostkit ls / teardown --all / providers --check) ---------------
    def list_deployments(self, *, all_accounts: bool = False) -> list[Deployment]:
        """The records plus run dirs whose processes outlived their record (inventory.py)."""
        from hostkit_providers.local.inventory import list_local

        return list_local(self)

    def credential_source(self) -> str | None:
        return "none needed: your own machine"

    def check_access(self) -> None:
        """Nothing to authenticate: this machine is always reachable."""

    def status(self, deployment: Deployment) -> Deployment:
        raw = dict(deployment.raw) if isinstance(deployment.raw, dict) else {}
        run_dir = self._checked_run_dir(deployment)
        if raw.get("recovered"):
            return _copy(deployment, status="failed", raw=raw)
        desired = _as_int(raw.get("desired_replicas")) or 1
        workers = self._worker_pids(run_dir)
        port = _read_int(run_dir / "port")
        endpoint = f"http://127.0.0.1:{port}" if port else None
        raw["worker_pids"] = workers
        replaced = replacement_count(run_dir)
        raw["workers_replaced"] = replaced
        if replaced:
            raw["notice"] = (
                f"{replaced} worker(s) replaced (stuck past request_timeout, or crashed);"
                f" see hostkit logs {deployment.name}"
            )
        if self._supervisor(run_dir, raw) is None:
            failure = self._failure(deployment.name, run_dir, raw)
            state = "failed" if (failure or workers or run_dir.exists()) else "deleted"
            raw["failure_reason"] = failure or "the local server process is not running"
            return _copy(
                deployment, status=state, replicas=len(workers), endpoint=endpoint, raw=raw
            )
        healthy = endpoint is not None and self._healthy(endpoint)
        if healthy and len(workers) == desired:
            state = "ready"
            raw["ready_once"] = True
        else:
            state = "updating" if raw.get("ready_once") else "deploying"
        return _copy(deployment, status=state, replicas=len(workers), endpoint=endpoint, raw=raw)

    def _failure(self, name: str, run_dir: Path, raw: dict[str, Any]) -> str | None:
        """Why the server is not running: failure.txt, plus the log lines that explain it."""
        failure = _read_text(run_dir / "failure.txt")
        if failure and "cannot bind" in failure:
            failure += (
                "; another process holds that port: pick another options.port, or leave it"
                " out for a free one"
            )
        llm = raw.get("kind") == "llm" or (run_dir / "upstream.log").exists()
        tail = _log_tail(run_dir / "upstream.log") if llm else None
        if not failure:
            tail = tail or _log_tail(run_dir / "server.log")
        if not tail:
            return failure
        shown = f"{failure}\n" if failure else ""
        source = "upstream.log" if llm else "server.log"
        hint = KEEP_FAILED_HINT.format(name=name)
        return f"{shown}last lines of {source}:\n{tail}\n({hint})"

    def _healthy(self, endpoint: str) -> bool:
        import httpx

        try:
            return self._client(endpoint).client.get("/health", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    # -- invoke ----------------------------------------------------------
    def _client(self, endpoint: str) -> HttpClient:
        client = self._clients.get(endpoint)
        if client is None:
            client = HttpClient(
                provider=self.name,
                base_url=endpoint,
                retry=self.retry,
                timeout=self.timeout,
                max_connections=self.max_connections,
            )
            self._clients[endpoint] = client
        return client

    def _endpoint(self, deployment: Deployment) -> str:
        if not deployment.endpoint:
            raise Unsupported(
                f"{deployment.name} has no endpoint yet (status {deployment.status});"
                " wait for it with refresh() or deploy(..., wait=True)",
                provider=self.name,
            )
        return deployment.endpoint

    def invoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        client = self._client(self._endpoint(deployment))
        if deployment.raw.get("kind") == "llm":
            body = build_chat_body(deployment.model, request, params)
            response = client.request("POST", "/v1/chat/completions", json=body, safe=True)
            return result_from_completion(
                response.json(),
                provider=self.name,
                model=deployment.model,
                latency_s=response.elapsed.total_seconds(),
            )
        if params:
            raise ConfigError(
                f"invoke: Python models on local take no parameters; got {', '.join(params)}"
            )
        response = client.request("POST", "/invoke", json={"input": request}, safe=True)
        return self._python_result(deployment, response)

    async def ainvoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        client = self._client(self._endpoint(deployment))
        if deployment.raw.get("kind") == "llm":
            body = build_chat_body(deployment.model, request, params)
            response = await client.arequest("POST", "/v1/chat/completions", json=body, safe=True)
            return result_from_completion(
                response.json(),
                provider=self.name,
                model=deployment.model,
                latency_s=response.elapsed.total_seconds(),
            )
        if params:
            raise ConfigError(
                f"invoke: Python models on local take no parameters; got {', '.join(params)}"
            )
        response = await client.arequest("POST", "/invoke", json={"input": request}, safe=True)
        return self._python_result(deployment, response)

    def _python_result(self, deployment: Deployment, response: Any) -> InvokeResult:
        data = response.json()
        output = data.get("output")
        return InvokeResult(
            text=output if isinstance(output, str) else None,
            output=output,
            usage=Usage(),
            latency_s=response.elapsed.total_seconds(),
            provider=self.name,
            model=deployment.model,
            request_id=response.headers.get("x-request-id"),
            raw=data,
        )

    def stream(self, deployment: Deployment, request: Any, **params: Any) -> Stream:
        if deployment.raw.get("kind") != "llm":
            raise Unsupported(
                f"{deployment.name} serves a Python model, which answers in one piece;"
                " use invoke (streaming needs an LLM server: options.command)",
                provider=self.name,
            )
        body = build_chat_body(deployment.model, request, params, stream=True)
        return post_chat_stream(
            self._client(self._endpoint(deployment)),
            "/v1/chat/completions",
            body,
            provider=self.name,
            model=deployment.model,
        )

    # -- logs ------------------------------------------------------------
    def _logs(
        self, deployment: Deployment, *, since: float | None, follow: bool
    ) -> Iterator[LogLine]:
        """server.log (the supervisor and its workers) and upstream.log (an LLM server)."""
        from hostkit_providers.local.logs import read_logs

        run_dir = self._checked_run_dir(deployment)
        return read_logs(run_dir, since=since, follow=follow, sleep=self.sleep)

    # -- scale -----------------------------------------------------------
    def _scale(
        self,
        deployment: Deployment,
        replicas: int | None,
        min_replicas: int | None,
        max_replicas: int | None,
    ) -> Deployment:
        assert replicas is not None
        self._check_replicas(replicas, "scale: replicas")
        current = self.status(deployment)
        run_dir = self._checked_run_dir(current)
        supervisor = self._supervisor(run_dir, current.raw)
        if current.status in ("failed", "deleted") or supervisor is None:
            raise ProviderError(
                f"{deployment.name} is {current.status}; deploy it again before scaling",
                provider=self.name,
            )
        count = len(self._worker_pids(run_dir))
        budget = max(60.0, 5.0 * abs(replicas - count))
        deadline = time.monotonic() + budget
        while count != replicas:
            os.kill(supervisor, signal.SIGTTIN if count < replicas else signal.SIGTTOU)
            target = count + (1 if count < replicas else -1)
            if not self._await_workers(run_dir, supervisor, target, deadline):
                reached = len(self._worker_pids(run_dir))
                current.raw["desired_replicas"] = max(1, reached)
                self.remember(_copy(current, replicas=reached))
                raise ProviderError(
                    f"{deployment.name}: workers did not reach {replicas} within"
                    f" {budget:.0f}s; it now runs {reached} (recorded as the count to keep);"
                    f" see {run_dir / 'server.log'} or scale again",
                    provider=self.name,
                )
            count = target
        current.raw["desired_replicas"] = replicas
        self.remember(current)
        return self.wait(current, timeout=60)

    def _await_workers(self, run_dir: Path, supervisor: int, target: int, deadline: float) -> bool:
        """Whether ``target`` workers serve before ``deadline`` (False: time is up or the
        supervisor is gone)."""
        while len(self._worker_pids(run_dir)) != target:
            if time.monotonic() > deadline or self._supervisor(run_dir, {}) != supervisor:
                return False
            time.sleep(0.05)
        return True

    # -- teardown --------------------------------------------------------
    def _teardown(self, deployment: Deployment) -> None:
        self._checked_run_dir(deployment)  # warns about a record naming another folder
        raw = deployment.raw if isinstance(deployment.raw, dict) else {}
        self._stop(deployment.name, raw)
        endpoint = deployment.endpoint
        if endpoint and endpoint in self._clients:
            self._clients.pop(endpoint).close()

    def _stop(self, name: str, raw: dict[str, Any], grace: float = STOP_GRACE) -> None:
        """Stop every process of the deployment (SIGTERM, then SIGKILL) and remove its files.

        The supervisor's process group is signalled only while its leader is the
        supervisor this deployment started (pid and start time), so a reused pid's group
        is never touched. Each process that turns up while waiting (a worker the
        supervisor was still starting) gets its own SIGTERM, and SIGKILL ends whatever
        remains: the whole group while its leader lives, and every straggler.
        """
        run_dir = self._run_dir(name)
        supervisor = self._supervisor(run_dir, raw)
        leader = (supervisor, start_time(supervisor)) if supervisor else None
        members = self._members(name, raw)
        _signal_group(leader, signal.SIGTERM)
        signalled: set[int] = set()
        deadline = time.monotonic() + grace
        while True:
            _signal_each({p: s for p, s in members.items() if p not in signalled}, signal.SIGTERM)
            signalled.update(members)
            time.sleep(0.1)
            members = {p: s for p, s in members.items() if is_running(p, s)}
            members.update(self._members(name, raw))
            if not members or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if members:
            count = len(members)
            log.warning("%s: %d process(es) did not stop in %.0fs; killing", name, count, grace)
        _signal_group(leader, signal.SIGKILL)
        _signal_each(members, signal.SIGKILL)
        for pid in list(self._children):
            child = self._children[pid]
            if pid == supervisor or child.poll() is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=5)
                self._children.pop(pid, None)
        _remove_run_dir(run_dir, self._runs)

    # -- money -----------------------------------------------------------
    def _rate(self, target: Deployment | DeploymentSpec | None = None) -> tuple[float, str]:
        """The hourly rate: the deployment's options.usd_per_hour, else the usd_per_hour
        setting, else prices (0: free)."""
        return self_hosted_rate(
            self,
            target,
            unpriced="your own machine: no platform bills it; set usd_per_hour to price it",
        )

    def instance_for_accelerator(self, spec: DeploymentSpec) -> str:
        """This machine, whatever GPU the spec names (a portable spec deploys here as is)."""
        return "local"

    def cost(
        self,
        target: Deployment | DeploymentSpec,
        *,
        hours: float | None = None,
        requests: int | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
    ) -> CostEstimate:
        return time_cost(
            self,
            target,
            self._rate(target),
            hours=hours,
            usage_given=bool(requests or input_tokens or output_tokens),
            line="local machine time",
            billed="machine time",
        )

    def offerings(self, region: str | None = None) -> list[Offering]:
        rate, source = self._rate()
        return [
            Offering(
                provider=self.name,
                name="local",
                kind="instance",
                vcpus=os.cpu_count(),
                ram_gb=_memory_gb(),
                usd_per_hour=rate,
                source=source,
                as_of=_dt.date.today().isoformat(),
            )
        ]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()


def _copy(deployment: Deployment, **changes: Any) -> Deployment:
    data = deployment.to_dict()
    data.update(changes)
    fresh = Deployment.from_dict(data)
    fresh._provider = deployment._provider
    return fresh


def _read_int(path: Path) -> int | None:
    text = _read_text(path)
    return int(text) if text and text.strip().isdigit() else None


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except (FileNotFoundError, NotADirectoryError):
        return None


def _log_tail(path: Path, lines: int = 15) -> str | None:
    text = _read_text(path)
    return "\n".join(text.splitlines()[-lines:]) if text else None


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        return None
    return None


_LOCKS: dict[str, _NameLock] = {}
_LOCKS_GUARD = threading.Lock()


class _NameLock:
    """One lock file, held by at most one thread of this process and one process.

    Re-entrant within a thread (deploy tears down a failed deployment of the same name
    under its own lock); other threads wait on the RLock, other processes on flock.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rlock = threading.RLock()
        self.depth = 0
        self.fd: int | None = None

    def acquire(self, name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        if not self.rlock.acquire(timeout=timeout):
            raise _lock_timeout(name, self.path, timeout)
        try:
            if self.depth == 0:
                self.fd = _flock(self.path, name, deadline, timeout)
            self.depth += 1
        except BaseException:
            self.rlock.release()
            raise

    def release(self) -> None:
        self.depth -= 1
        if self.depth == 0 and self.fd is not None:
            import fcntl

            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
        self.rlock.release()


@contextlib.contextmanager
def _name_lock(path: Path, name: str, timeout: float) -> Iterator[None]:
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(str(path), _NameLock(path))
    lock.acquire(name, timeout)
    try:
        yield
    finally:
        lock.release()


def _flock(path: Path, name: str, deadline: float, timeout: float) -> int:
    """An open, exclusively flock'ed descriptor of ``path`` (mode 0600), waiting up to
    ``deadline`` for another process to let go."""
    import fcntl

    _private_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.fchmod(fd, 0o600)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() > deadline:
                os.close(fd)
                raise _lock_timeout(name, path, timeout) from None
            time.sleep(0.05)


def _lock_timeout(name: str, path: Path, timeout: float) -> Timeout:
    return Timeout(
        f"{name}: another deploy, scale or teardown of this local deployment held its lock"
        f" ({path}) for more than {timeout:.0f}s; wait for it to finish and try again",
        provider="local",
    )


def _check_options(options: dict[str, Any]) -> None:
    """options.port is a TCP port; the timeouts are positive numbers of seconds."""
    if "port" in options:
        port = options["port"]
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise ConfigError(
                f"options.port: {port!r} is not a TCP port; use a whole number 1-65535,"
                " or leave it out for a free one"
            )
    if "usd_per_hour" in options:
        rate = options["usd_per_hour"]
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not rate >= 0:
            raise ConfigError(
                f"options.usd_per_hour: {rate!r} is not a price; use a number >= 0 (USD per hour)"
            )
    for key in ("request_timeout", "startup_timeout"):
        if key in options:
            value = options[key]
            number = not isinstance(value, bool) and isinstance(value, int | float)
            if not number or not math.isfinite(value) or value <= 0:
                raise ConfigError(
                    f"options.{key}: {value!r} is not a positive number of seconds ({OPTIONS[key]})"
                )


def _own_rate(spec: DeploymentSpec) -> dict[str, float]:
    """The raw-record entry for a deployment priced by its own options.usd_per_hour."""
    rate = spec.options.get("usd_per_hour")
    return {} if rate is None else {"usd_per_hour": float(rate)}


def _signal_group(leader: tuple[int, str | None] | None, sig: int) -> None:
    """Send ``sig`` to the supervisor's process group, only while ``leader`` (pid, start)
    is still that very process: a group id is never taken from a reused pid."""
    if leader is not None and is_running(*leader):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(leader[0], sig)


def _signal_each(members: dict[int, str], sig: int) -> None:
    """Send ``sig`` to each pid that still has its recorded start time."""
    for pid, start in members.items():
        if is_running(pid, start):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)


def _session(pid: int) -> int | None:
    """The session id of ``pid`` (None without /proc or when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return int(fields[3])
    except (OSError, ValueError, IndexError):
        return None


def _private_dir(path: Path) -> None:
    """Create ``path`` and its missing parents, each with mode 0700."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _remove_run_dir(run_dir: Path, runs: Path) -> None:
    """Delete ``run_dir`` only when it is a real folder directly inside ``runs``; a symlink
    there is removed itself, never followed."""
    if run_dir.is_symlink():
        run_dir.unlink(missing_ok=True)
        return
    if not run_dir.exists():
        return
    try:
        inside = run_dir.resolve().parent == runs.resolve()
    except OSError:
        inside = False
    if not inside:
        log.warning("not deleting %s: it is not inside %s", run_dir, runs)
        return
    shutil.rmtree(run_dir, ignore_errors=True)


def _as_int(value: Any) -> int | None:
    """A positive whole number from a record field, None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.isdigit():
        return int(value) or None
    return None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
