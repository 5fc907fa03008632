"""The ``local`` provider: host a model on this machine, for real.

``deploy`` starts a supervisor process (``hostkit_providers.local.server``) in its
own session; it binds a free loopback port and runs one uvicorn worker process per
replica. ``invoke`` goes over HTTP; ``scale`` adds or removes workers (SIGTTIN /
SIGTTOU to the supervisor); ``teardown`` stops the whole process group and frees
the port. Process ids live in the run directory under hostkit's state dir, so a
later Python process can find (``get``) and tear down what an earlier one started.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hostkit_providers.local.app import RUN_DIR_ENV
from hostkit_providers.local.models import ESTIMATOR_SUFFIXES

from hostkit import Capabilities, CostEstimate, CostLine, Offering, Provider
from hostkit._http import HttpClient
from hostkit._logs import LogLine
from hostkit._models import Deployment, DeploymentSpec, InvokeResult, Stream, Usage
from hostkit._openai import build_chat_body, chat_stream, result_from_completion
from hostkit._redact import get_logger
from hostkit.errors import ConfigError, ProviderError, Unsupported

__all__ = ["LocalProvider"]

log = get_logger("hostkit.local")

OPTIONS = {
    "command": "the OpenAI-compatible server to start, with {port} and {model} placeholders",
    "health_path": "the path that answers once that server is up (default /v1/models)",
    "startup_timeout": "seconds to wait for that server (default 600)",
    "port": "a fixed loopback port for hostkit's server (default: a free one)",
    "workdir": "the folder model modules and files are found in (default: the working dir)",
}
IGNORED_FIELDS = ("instance", "accelerator", "region", "image", "scale_to_zero_after")


class LocalProvider(Provider):
    """Serves Python callables, scikit-learn models and local LLM servers on loopback."""

    name = "local"
    description = "Your own machine: uvicorn worker processes on a loopback port (no account)."
    capabilities = Capabilities(
        dedicated=True, streaming=True, native_async=True, manual_scaling=True
    )
    settings_schema = {"usd_per_hour": (int, float)}
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
        if spec.replicas == 0:
            raise ConfigError("replicas: the local provider needs at least 1 worker")
        ignored = [f for f in IGNORED_FIELDS if getattr(spec, f) is not None]
        if ignored:
            log.info("local runs on this machine; ignoring %s", ", ".join(ignored))

    @staticmethod
    def _workers(spec: DeploymentSpec) -> int:
        return max(1, spec.replicas or spec.min_replicas or 1)

    def _run_dir(self, name: str) -> Path:
        return self.records.folder / "runs" / name

    # -- processes -------------------------------------------------------
    def _alive(self, pid: int | None) -> bool:
        if not pid:
            return False
        child = self._children.get(pid)
        if child is not None:
            return child.poll() is None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return _not_zombie(pid)

    def _worker_pids(self, run_dir: Path) -> list[int]:
        folder = run_dir / "workers"
        if not folder.is_dir():
            return []
        pids = []
        for entry in folder.iterdir():
            if (
                entry.name.isdigit()
                and self._alive(int(entry.name))
                and _ours(int(entry.name), run_dir)
            ):
                pids.append(int(entry.name))
            else:
                entry.unlink(missing_ok=True)
        return sorted(pids)

    def _process_ids(self, run_dir: Path) -> list[int]:
        """Every live process of the deployment: supervisor, workers, upstream server."""
        pids = []
        for name in ("supervisor.pid", "upstream.pid"):
            pid = _read_int(run_dir / name)
            if pid and self._alive(pid) and _ours(pid, run_dir, name == "upstream.pid"):
                pids.append(pid)
        return pids + self._worker_pids(run_dir)

    # -- deploy ----------------------------------------------------------
    def _create(self, spec: DeploymentSpec) -> Deployment:
        run_dir = self._run_dir(spec.name)
        if run_dir.exists():
            self._stop(run_dir)
        (run_dir / "workers").mkdir(parents=True)
        workdir = str(Path(spec.options.get("workdir") or Path.cwd()).resolve())
        kind = "llm" if "command" in spec.options else "python"
        server_config: dict[str, Any] = {
            "kind": kind,
            "model": spec.model,
            "workers": self._workers(spec),
            "workdir": workdir,
            **{k: spec.options[k] for k in OPTIONS if k in spec.options and k != "workdir"},
        }
        import json

        (run_dir / "server.json").write_text(json.dumps(server_config), encoding="utf-8")
        env = {**os.environ, **spec.env, RUN_DIR_ENV: str(run_dir)}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (workdir, env.get("PYTHONPATH")) if p)
        with (run_dir / "server.log").open("ab") as server_log:
            process = subprocess.Popen(
                [sys.executable, "-m", "hostkit_providers.local.server", str(run_dir)],
                stdin=subprocess.DEVNULL,
                stdout=server_log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=workdir,
                start_new_session=True,
            )
        self._children[process.pid] = process
        (run_dir / "supervisor.pid").write_text(str(process.pid))
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
                "run_dir": str(run_dir),
                "kind": kind,
                "desired_replicas": server_config["workers"],
            },
        )

    def _update(self, existing: Deployment, spec: DeploymentSpec) -> Deployment:
        """Replace the running server with one for the new spec (same name)."""
        self._teardown(existing)
        return self._create(spec)

    def find(self, name: str) -> Deployment | None:
        record = self.records.load(name)
        if record is None:
            return None
        try:
            deployment = Deployment.from_dict(record)
        except ConfigError:
            return None
        return self.status(deployment)

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
        raw = dict(deployment.raw)
        run_dir = Path(raw.get("run_dir") or self._run_dir(deployment.name))
        supervisor = raw.get("pid") or _read_int(run_dir / "supervisor.pid")
        desired = int(raw.get("desired_replicas") or 1)
        workers = self._worker_pids(run_dir)
        port = _read_int(run_dir / "port")
        endpoint = f"http://127.0.0.1:{port}" if port else None
        raw["worker_pids"] = workers
        if not self._alive(supervisor) or not _ours(supervisor, run_dir):
            failure = _read_text(run_dir / "failure.txt") or _log_tail(run_dir / "server.log")
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
        client = self._client(self._endpoint(deployment))
        body = build_chat_body(deployment.model, request, params, stream=True)
        started = time.perf_counter()
        context = client.stream("POST", "/v1/chat/completions", json=body, safe=True)
        response = context.__enter__()
        return chat_stream(
            response.iter_lines(),
            provider=self.name,
            model=deployment.model,
            started=started,
            close=lambda: context.__exit__(None, None, None),
            request_id=response.headers.get("x-request-id"),
        )

    # -- logs ------------------------------------------------------------
    def _logs(
        self, deployment: Deployment, *, since: float | None, follow: bool
    ) -> Iterator[LogLine]:
        """server.log (the supervisor and its workers) and upstream.log (an LLM server)."""
        from hostkit_providers.local.logs import read_logs

        run_dir = Path(deployment.raw.get("run_dir") or self._run_dir(deployment.name))
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
        current = self.status(deployment)
        if current.status in ("failed", "deleted"):
            raise ProviderError(
                f"{deployment.name} is {current.status}; deploy it again before scaling",
                provider=self.name,
            )
        run_dir = Path(current.raw["run_dir"])
        supervisor = int(current.raw["pid"])
        count = len(self._worker_pids(run_dir))
        deadline = time.monotonic() + 60
        while count != replicas:
            os.kill(supervisor, signal.SIGTTIN if count < replicas else signal.SIGTTOU)
            target = count + (1 if count < replicas else -1)
            while len(self._worker_pids(run_dir)) != target:
                if time.monotonic() > deadline:
                    raise ProviderError(
                        f"{deployment.name}: workers did not reach {replicas} within 60s"
                        f" (now {count}); see {run_dir / 'server.log'}",
                        provider=self.name,
                    )
                time.sleep(0.05)
            count = target
        current.raw["desired_replicas"] = replicas
        self.remember(current)
        return self.wait(current, timeout=60)

    # -- teardown --------------------------------------------------------
    def _teardown(self, deployment: Deployment) -> None:
        run_dir = Path(deployment.raw.get("run_dir") or self._run_dir(deployment.name))
        self._stop(run_dir)
        endpoint = deployment.endpoint
        if endpoint and endpoint in self._clients:
            self._clients.pop(endpoint).close()

    def _stop(self, run_dir: Path, grace: float = 10.0) -> None:
        """Stop every process of the deployment (SIGTERM, then SIGKILL) and remove its files."""
        supervisor = _read_int(run_dir / "supervisor.pid")
        pids = self._process_ids(run_dir)
        if supervisor in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(supervisor, signal.SIGTERM)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while (alive := [p for p in pids if self._alive(p)]) and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in alive:
            log.warning("process %d did not stop in %.0fs; killing it", pid, grace)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        for pid in pids:
            child = self._children.pop(pid, None)
            if child is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=5)
        shutil.rmtree(run_dir, ignore_errors=True)

    # -- money -----------------------------------------------------------
    def _rate(self) -> tuple[float, str]:
        """This machine's hourly rate: the usd_per_hour setting, else prices.toml (0: free)."""
        rate = self.setting("usd_per_hour")
        if rate is not None:
            return float(rate), "usd_per_hour under [providers.local] in hostkit.toml"
        row = self.prices.find("local")
        rate = row.usd_per_hour if row is not None and row.usd_per_hour is not None else 0.0
        return rate, "your own machine: no platform bills it; set usd_per_hour to price it"

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
        rate, source = self._rate()
        if hours is None and rate > 0 and (requests or input_tokens or output_tokens):
            return self.unknown_cost(
                "requests or tokens",
                "local bills machine time, not requests: pass hours= (e.g. cost(dep, hours=1))",
            )
        hours = 1.0 if hours is None else float(hours)
        if hours < 0:
            raise ConfigError(f"hours: must not be negative, got {hours}")
        usd = rate * hours
        return CostEstimate(
            usd=usd,
            breakdown=[CostLine("local machine time", "hour", hours, rate, usd)],
            source=source,
            as_of=_dt.date.today().isoformat(),
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


def _not_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _ours(pid: int | None, run_dir: Path, upstream: bool = False) -> bool:
    """Whether ``pid`` still belongs to this deployment (guards against pid reuse)."""
    if not pid:
        return False
    environ = Path(f"/proc/{pid}/environ")
    if not environ.parent.exists():
        return True  # no /proc (macOS): trust the recorded pid
    try:
        data = environ.read_bytes()
    except OSError:
        return True
    if not data:
        return True  # a process still starting (or a zombie) shows an empty environ
    if upstream:
        return True  # the user's command may scrub its environment; its pid file is ours
    return f"{RUN_DIR_ENV}={run_dir}".encode() in data


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        return None
    return None
