"""The ``ray`` provider: a Ray cluster, through Ray Serve's REST API on the dashboard.

The client speaks plain HTTP (no Ray needed where hostkit runs), the way ``serve
deploy`` does:

* ``GET /api/serve/applications/`` reads every application (``find``, ``status``);
* ``PUT /api/serve/applications/`` replaces the *whole* set of declarative applications,
  so deploy, scale and teardown read the current set, change only this deployment's
  application, write the set back, and read it again to see whether another client
  wrote at the same time (an application of theirs that our write is deleting is
  reported);
* the Serve HTTP proxy (``serve_url``) carries ``invoke``/``ainvoke``/``stream`` to the
  application's ``route_prefix`` (``/NAME``), with ``local``'s routes: ``/invoke``,
  ``/health`` and ``/v1/...`` (see :mod:`hostkit_providers.ray.serve_app`).

Each hostkit deployment is one Serve application named like the deployment, whose
single deployment ``HostkitModel`` is built by ``hostkit_providers.ray.serve_app:build``
from the application's ``args`` (the model, the kind, batching, the spec's fingerprint).
An application hostkit did not build is never changed or deleted.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as _dt
import math
import os
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from hostkit_providers.ray import serve_llm

from hostkit import Capabilities, CostEstimate, Offering, Provider
from hostkit._http import HttpClient
from hostkit._logs import LogLine, Metrics
from hostkit._models import Deployment, DeploymentSpec, InvokeResult, Stream, Usage
from hostkit._openai import build_chat_body, post_chat_stream, result_from_completion
from hostkit._redact import get_logger, scrub
from hostkit._selfhosted import self_hosted_rate, time_cost
from hostkit.errors import (
    AuthenticationError,
    ConfigError,
    NotFound,
    ProviderError,
    Timeout,
    Unsupported,
)

__all__ = ["RayProvider"]

log = get_logger("hostkit.ray")

APPS_PATH = "/api/serve/applications/"
BUILDER = "hostkit_providers.ray.serve_app:build"
DEPLOYMENT = "HostkitModel"
DEFAULT_ADDRESS = "http://127.0.0.1:8265"
ADDRESS_ENV = "RAY_DASHBOARD_ADDRESS"
SERVE_PORT = 8000
#: seconds between Serve's health checks of a replica (Serve's default: 10); three failed
#: checks (a stuck model call, an exited LLM server) and Serve replaces the replica
HEALTH_CHECK_PERIOD_S = 2.0
#: seconds an autoscaled application idles at its last replica before going to zero
DEFAULT_IDLE_S = 60.0
OPTIONS = {
    "command": "the OpenAI-compatible server each replica starts ({host}, {port}, {model})",
    "health_path": "the path that answers once that server is up (default /v1/models)",
    "startup_timeout": "seconds to wait for that server (default 600)",
    "request_timeout": "seconds a model call may take before the replica answers 504",
    "usd_per_hour": "this deployment's price per replica-hour (wins over the setting)",
    "workdir": "a local folder uploaded as the runtime_env working_dir (model code)",
    "working_dir": "a local folder to upload, or a URI the cluster fetches (runtime_env)",
    "pip": "packages the cluster installs for the replicas (runtime_env pip list)",
    "max_batch_size": "Serve dynamic batching: the most requests the model gets at once",
    "batch_wait_timeout_s": "seconds a batch waits to fill up (default 0.01)",
    "target_ongoing_requests": "requests in flight per replica the autoscaler aims at",
    "max_ongoing_requests": "requests a replica takes at once (Serve's default 5)",
    "num_cpus": "CPUs each replica reserves (default: the replica_cpus setting, else 1)",
    "port": "ignored on ray (the Serve proxy's port is the serve_url setting's)",
    **serve_llm.OPTIONS,  # options.engine = "serve-llm": Ray's own LLM app (serve_llm.py)
}
TERMINAL_FAILURES = ("DEPLOY_FAILED",)
#: one read-modify-write of the application set at a time in this process
_WRITE_LOCK = threading.RLock()


class RayProvider(Provider):
    """Ray Serve applications on a Ray cluster you run (see module docs)."""

    name = "ray"
    description = "A Ray cluster you run: Ray Serve applications through the dashboard API."
    capabilities = Capabilities(
        dedicated=True,
        streaming=True,
        native_async=True,
        manual_scaling=True,
        autoscaling=True,
        scale_to_zero=True,
    )
    credential_env = "RAY_AUTH_TOKEN"
    install_extra = "ray"
    settings_schema = {
        "address": str,
        "serve_url": str,
        "username": str,
        "password": str,
        "usd_per_hour": (int, float),
        "replica_cpus": (int, float),
    }
    deploy_timeout = 600.0
    poll_initial = 0.25
    poll_max = 1.0  # one cheap GET of the dashboard per poll

    def setup(self) -> None:
        self._dashboard: HttpClient | None = None
        self._proxies: dict[str, HttpClient] = {}
        self._samples: dict[str, Any] = {}  # the last metrics sample per deployment
        address = self.address
        if urlsplit(address).scheme not in ("http", "https"):
            raise ConfigError(
                f"{self._address_source()}: {address!r} is not the Ray dashboard's HTTP address;"
                " use http://HOST:8265 (the dashboard, not a ray:// or GCS address)",
                provider=self.name,
            )
        if bool(self.setting("username")) != bool(self.setting("password")):
            raise ConfigError(
                "settings: username and password of provider 'ray' go together (HTTP basic"
                " auth for a proxy in front of the dashboard); set both or neither",
                provider=self.name,
            )

    # -- settings ---------------------------------------------------------------
    @property
    def address(self) -> str:
        value = self.setting("address") or os.environ.get(ADDRESS_ENV) or DEFAULT_ADDRESS
        return str(value).rstrip("/")

    def _address_source(self) -> str:
        if self.setting("address"):
            return self.setting_source("address")
        if os.environ.get(ADDRESS_ENV):
            return f"the environment variable {ADDRESS_ENV}"
        return f"the default address {DEFAULT_ADDRESS}"

    @property
    def serve_url(self) -> str:
        """The Serve HTTP proxy: the serve_url setting, else port 8000 on the head's host."""
        value = self.setting("serve_url")
        if value:
            return str(value).rstrip("/")
        parts = urlsplit(self.address)
        return f"http://{parts.hostname or '127.0.0.1'}:{SERVE_PORT}"

    def _headers(self) -> dict[str, str]:
        """Authorization for a dashboard behind a proxy or Ray's token auth (looked up at
        first use, never logged)."""
        import base64

        token = self.api_key(required=False)
        if token:
            return {"authorization": f"Bearer {token}"}
        user, password = self.setting("username"), self.setting("password")
        if user and password:
            pair = base64.b64encode(f"{user}:{password}".encode()).decode()
            return {"authorization": f"Basic {pair}"}
        return {}

    @property
    def dashboard(self) -> HttpClient:
        if self._dashboard is None:
            self._dashboard = HttpClient(
                provider=self.name,
                base_url=self.address,
                retry=self.retry,
                timeout=self.timeout,
                headers=self._headers,
                max_connections=self.max_connections,
            )
        return self._dashboard

    def _proxy(self, endpoint: str) -> HttpClient:
        client = self._proxies.get(endpoint)
        if client is None:
            client = HttpClient(
                provider=self.name,
                base_url=endpoint,
                retry=self.retry,
                timeout=self.timeout,
                headers=self._headers,
                max_connections=self.max_connections,
            )
            self._proxies[endpoint] = client
        return client

    # -- the REST API -------------------------------------------------------------
    def _dashboard_call(self, method: str, **kwargs: Any) -> Any:
        """One call to the Serve REST API, its failures said in terms of the settings."""
        try:
            response = self.dashboard.request(method, APPS_PATH, **kwargs)
        except AuthenticationError as error:
            raise AuthenticationError(
                f"the Ray dashboard at {self.address} refused hostkit ({error.message}); set"
                f" a token (api_key, or {self.credential_env}) or username and password under"
                " [providers.ray] for the proxy in front of it",
                provider=self.name,
                status_code=error.status_code,
            ) from error
        except (ProviderError, Timeout) as error:
            if error.status_code is None:
                raise type(error)(
                    f"cannot reach the Ray dashboard at {self.address} ({self._address_source()}):"
                    f" {error.message}; start the cluster (`ray start --head`) or set address"
                    " under [providers.ray]",
                    provider=self.name,
                ) from error
            raise ProviderError(
                f"the Ray dashboard's Serve API ({method} {APPS_PATH}) answered"
                f" {error.status_code}: {error.message}",
                provider=self.name,
                status_code=error.status_code,
                request_id=error.request_id,
            ) from error
        if method == "GET":
            try:
                data = response.json()
            except ValueError as error:
                raise ProviderError(
                    f"the Ray dashboard at {self.address} answered GET {APPS_PATH} with"
                    f" something that is not JSON ({error}); is address the dashboard's port?",
                    provider=self.name,
                ) from None
            if not isinstance(data, dict):
                raise ProviderError(
                    f"unexpected answer from GET {APPS_PATH}: {type(data).__name__}",
                    provider=self.name,
                )
            return data
        return None

    def details(self) -> dict[str, Any]:
        """``GET /api/serve/applications/``: every application and its deployments."""
        return self._dashboard_call("GET")  # type: ignore[no-any-return]

    def _write(self, name: str, app: dict[str, Any] | None) -> dict[str, Any]:
        """Read the set, put ``app`` in place of ``name``'s (None: remove it), write the
        set back and read it again; returns the details read after the write."""
        with _WRITE_LOCK:
            before = self.details()
            config = _deploy_config(before, self.serve_url)
            apps = [a for a in config["applications"] if a.get("name") != name]
            if app is not None:
                apps.append(app)
            config["applications"] = apps
            self._dashboard_call("PUT", json=config)
            after = self.details()
        self._check_race(name, app, before, after)
        return after

    def _check_race(
        self,
        name: str,
        app: dict[str, Any] | None,
        before: dict[str, Any],
        after: dict[str, Any],
    ) -> None:
        """After a write: ours must be what we wrote, and no application we did not know
        of may be going away (another client wrote between our read and our write)."""
        known = set((before.get("applications") or {}).keys())
        for other, details in (after.get("applications") or {}).items():
            if other == name or other in known:
                continue
            if details.get("status") == "DELETING":
                log.warning(
                    "ray: application %r was written by another client while hostkit updated"
                    " %r, and hostkit's write is deleting it (PUT %s replaces the whole set);"
                    " deploy it again",
                    other,
                    name,
                    APPS_PATH,
                )
        if app is None:
            return
        ours = (after.get("applications") or {}).get(name) or {}
        written = ours.get("deployed_app_config")
        if written is not None and written.get("args") != app.get("args"):
            raise ProviderError(
                f"{name}: another client changed the Serve application {name!r} at the same"
                " time as hostkit (its config is not the one hostkit wrote); check who else"
                " deploys it and try again",
                provider=self.name,
            )

    # -- spec ---------------------------------------------------------------------
    def validate_spec(self, spec: DeploymentSpec) -> None:
        unknown = sorted(set(spec.options) - set(OPTIONS))
        if unknown:
            raise ConfigError(
                f"options: unknown option(s) {', '.join(unknown)} for the ray provider;"
                f" allowed: {', '.join(sorted(OPTIONS))}"
            )
        options = spec.options
        if serve_llm.requested(options):
            serve_llm.validate_spec(spec)
        elif "command" in options:
            if not isinstance(options["command"], str | list):
                raise ConfigError(
                    "options.command: expected a command string or a list of arguments"
                )
            if "max_batch_size" in options:
                raise ConfigError(
                    "options.max_batch_size: batching applies to Python models; an LLM server"
                    " (options.command) batches by itself"
                )
        elif ":" not in spec.model and not spec.model.endswith((".joblib", ".pkl", ".pickle")):
            raise ConfigError(
                f"model: {spec.model!r} is not something the ray provider can serve; use"
                " 'module:callable', 'file.py:callable', a .joblib/.pkl scikit-learn file,"
                " or set options.command to start an OpenAI-compatible server"
            )
        _check_number(options, "max_batch_size", whole=True, minimum=1)
        _check_number(options, "max_ongoing_requests", whole=True, minimum=1)
        for key in (
            "batch_wait_timeout_s",
            "request_timeout",
            "startup_timeout",
            "target_ongoing_requests",
            "num_cpus",
        ):
            _check_number(options, key, positive=key != "batch_wait_timeout_s")
        _check_number(options, "usd_per_hour", minimum=0)
        if "pip" in options and not (
            isinstance(options["pip"], list) and all(isinstance(p, str) for p in options["pip"])
        ):
            raise ConfigError('options.pip: expected a list of requirement strings, e.g. ["x>=1"]')
        for key in ("workdir", "working_dir"):
            if key in options and not isinstance(options[key], str):
                raise ConfigError(f"options.{key}: expected a folder path or URI string")
        if "workdir" in options and "working_dir" in options:
            raise ConfigError("options: give workdir or working_dir, not both (they are one)")
        if spec.replicas == 0 and spec.max_replicas is None:
            raise ConfigError(
                "replicas: 0 starts nothing; for scale to zero give min_replicas = 0 and"
                " max_replicas = N (the first request wakes it)"
            )
        if options.get("port") is not None:
            log.info("ray: options.port is ignored (the Serve proxy listens on serve_url)")

    # -- the application config ---------------------------------------------------------
    def _app_config(self, spec: DeploymentSpec) -> dict[str, Any]:
        """The Serve application (one entry of PUT's ``applications``) for ``spec``."""
        options = spec.options
        if serve_llm.requested(options):
            cpus = options.get("num_cpus", self.setting("replica_cpus"))
            return serve_llm.application(
                spec,
                replicas=self._replicas_config(spec),
                meta=_own_meta(spec),
                num_cpus=float(cpus) if cpus is not None else None,
            )
        kind = "llm" if "command" in options else "python"
        args: dict[str, Any] = {"kind": kind, "model": spec.model}
        for key in (
            "command",
            "health_path",
            "startup_timeout",
            "request_timeout",
            "max_batch_size",
            "batch_wait_timeout_s",
        ):
            if key in options:
                args[key] = options[key]
        args["hostkit"] = _own_meta(spec)
        deployment: dict[str, Any] = {
            "name": DEPLOYMENT,
            **self._replicas_config(spec),
            "health_check_period_s": HEALTH_CHECK_PERIOD_S,
        }
        actor: dict[str, Any] = {}
        cpus = options.get("num_cpus", self.setting("replica_cpus"))
        if cpus is not None:
            actor["num_cpus"] = float(cpus)
        gpus = _gpu_count(spec.accelerator)
        if gpus:
            actor["num_gpus"] = gpus
        if actor:
            deployment["ray_actor_options"] = actor
        if "max_ongoing_requests" in options:
            deployment["max_ongoing_requests"] = int(options["max_ongoing_requests"])
        app: dict[str, Any] = {
            "name": spec.name,
            "route_prefix": f"/{spec.name}",
            "import_path": BUILDER,
            "args": args,
            "deployments": [deployment],
        }
        runtime_env = self._runtime_env(spec)
        if runtime_env:
            app["runtime_env"] = runtime_env
        return app

    def _replicas_config(self, spec: DeploymentSpec) -> dict[str, Any]:
        """``num_replicas``, or ``autoscaling_config`` from min/max_replicas."""
        if spec.min_replicas is None and spec.max_replicas is None:
            return {"num_replicas": spec.replicas if spec.replicas is not None else 1}
        low = spec.min_replicas if spec.min_replicas is not None else 1
        high = spec.max_replicas if spec.max_replicas is not None else max(low, 1)
        return {
            "autoscaling_config": _autoscaling(
                low,
                high,
                initial=spec.replicas,
                target=spec.options.get("target_ongoing_requests"),
                idle=spec.scale_to_zero_after,
            )
        }

    def _runtime_env(self, spec: DeploymentSpec) -> dict[str, Any]:
        """The application's runtime_env: the working_dir (uploaded) and a pip list."""
        env: dict[str, Any] = {}
        folder = spec.options.get("working_dir") or spec.options.get("workdir")
        if folder:
            from hostkit_providers.ray.packaging import upload_working_dir

            env["working_dir"] = upload_working_dir(self, str(folder))
        if spec.options.get("pip"):
            env["pip"] = list(spec.options["pip"])
        if spec.env:
            env["env_vars"] = dict(spec.env)
        return env

    # -- deploy ---------------------------------------------------------------------
    def _create(self, spec: DeploymentSpec) -> Deployment:
        apps = self.details().get("applications") or {}
        theirs = apps.get(spec.name)
        if theirs is not None and not _is_ours(theirs):
            raise ConfigError(
                f"name: the Ray cluster at {self.address} already runs a Serve application"
                f" named {spec.name!r} that hostkit did not create; hostkit leaves it alone:"
                " pick another name",
                provider=self.name,
            )
        app = self._app_config(spec)
        after = self._write(spec.name, app)
        found = (after.get("applications") or {}).get(spec.name)
        if found is None:
            return self._placeholder(spec, "deploying")
        return self._from_details(spec.name, found)

    def _update(self, existing: Deployment, spec: DeploymentSpec) -> Deployment:
        """Write the new config over the application; Serve rolls its replicas."""
        return self._create(spec)

    def _placeholder(self, spec: DeploymentSpec, status: str) -> Deployment:
        return Deployment(
            name=spec.name,
            provider=self.name,
            model=spec.model,
            status=status,  # type: ignore[arg-type]
            endpoint=f"{self.serve_url}/{spec.name}",
            fingerprint=spec.fingerprint(),
            instance="ray",
            raw=(
                {
                    "kind": "llm",
                    "engine": serve_llm.ENGINE,
                    "served_model": serve_llm.served_model(spec),
                }
                if serve_llm.requested(spec.options)
                else {"kind": "llm" if "command" in spec.options else "python"}
            ),
        )

    # -- look-up --------------------------------------------------------------------
    def find(self, name: str) -> Deployment | None:
        app = (self.details().get("applications") or {}).get(name)
        if app is None or not _is_ours(app):
            return None
        return self._from_details(name, app)

    def status(self, deployment: Deployment) -> Deployment:
        found = self.find(deployment.name)
        if found is None:
            gone = copy.copy(deployment)
            gone.status = "deleted"
            gone.replicas = 0
            return gone
        found._provider = deployment._provider or self
        return found

    def list_deployments(self, *, all_accounts: bool = False) -> list[Deployment]:
        """Every application on the cluster that hostkit built (from any machine)."""
        found = []
        for name, app in (self.details().get("applications") or {}).items():
            if _is_ours(app):
                deployment = self._from_details(name, app)
                deployment._provider = self
                found.append(deployment)
        return found

    def credential_source(self) -> str | None:
        if self.settings.get("api_key") or os.environ.get(self.credential_env or ""):
            return super().credential_source()
        if self.setting("username"):
            return "settings username and password (HTTP basic auth)"
        return "none needed (the dashboard has no auth); set a token if yours does"

    def check_access(self) -> None:
        """One read of the Serve REST API."""
        self.details()

    def _from_details(self, name: str, app: Mapping[str, Any]) -> Deployment:
        """A Deployment from one application of ``GET /api/serve/applications/``."""
        config = app.get("deployed_app_config") or {}
        args = config.get("args") or {}
        llm = serve_llm.view(config)
        own = llm.meta if llm is not None else args.get("hostkit") or {}
        details = (app.get("deployments") or {}).get(_model_deployment(app)) or {}
        replicas = details.get("replicas") or []
        running = [r for r in replicas if r.get("state") == "RUNNING"]
        deployed = details.get("deployment_config") or {}
        autoscaling = deployed.get("autoscaling_config") or None
        target = details.get("target_num_replicas")
        state, reason = _state(app, details, running, target)
        if llm is not None and reason:
            reason = serve_llm.explain(reason)
        raw: dict[str, Any] = {
            "kind": args.get("kind", "python"),
            "app_status": app.get("status"),
            "deployment_status": details.get("status"),
            "target_replicas": target,
            "replica_states": [
                {"id": r.get("replica_id"), "state": r.get("state"), "pid": r.get("pid")}
                for r in replicas
            ],
            "route_prefix": app.get("route_prefix"),
            "deployed_at": app.get("last_deployed_time_s"),
        }
        if reason:
            raw["failure_reason"] = reason
        if app.get("message"):
            raw["message"] = scrub(app["message"])
        for key in ("usd_per_hour", "scale_to_zero_after"):
            if key in own:
                raw[key] = own[key]
        if autoscaling:
            raw["autoscaling"] = True
        if llm is not None:  # Ray Serve LLM: OpenAI routes, the model by its served name
            raw.update(kind="llm", engine=serve_llm.ENGINE, served_model=llm.model_id)
            args = {"model": llm.model_source}
        prefix = app.get("route_prefix") or f"/{name}"
        return Deployment(
            name=name,
            provider=self.name,
            model=str(args.get("model") or config.get("import_path") or "unknown"),
            status=state,  # type: ignore[arg-type]
            endpoint=f"{self.serve_url}{prefix}",
            replicas=len(running),
            instance="ray",
            min_replicas=autoscaling.get("min_replicas") if autoscaling else None,
            max_replicas=autoscaling.get("max_replicas") if autoscaling else None,
            fingerprint=own.get("fingerprint"),
            raw=raw,
        )

    def progress_detail(self, deployment: Deployment) -> str | None:
        raw = deployment.raw or {}
        states = [r.get("state") for r in raw.get("replica_states") or []]
        running = states.count("RUNNING")
        target = raw.get("target_replicas")
        shown = f"Serve app {raw.get('app_status')}, {running}/{target} replicas running"
        others = sorted({s for s in states if s and s != "RUNNING"})
        return shown + (f" ({', '.join(others)})" if others else "")

    def capabilities_for(self, deployment: Deployment) -> Capabilities:
        """Only an LLM (``options.command`` or Serve LLM) streams; a Python model answers
        in one piece (``stream`` raises ``Unsupported``)."""
        return _capabilities(streams=deployment.raw.get("kind") == "llm")

    def capabilities_for_spec(self, spec: DeploymentSpec) -> Capabilities:
        """What deploying ``spec`` gives: streaming only for an LLM server."""
        llm = "command" in spec.options or serve_llm.requested(spec.options)
        return _capabilities(streams=llm)

    # -- invoke ---------------------------------------------------------------------
    def _endpoint(self, deployment: Deployment) -> str:
        if not deployment.endpoint:
            raise Unsupported(
                f"{deployment.name} has no endpoint yet (status {deployment.status})",
                provider=self.name,
            )
        return deployment.endpoint

    def invoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        client = self._proxy(self._endpoint(deployment))
        if deployment.raw.get("kind") == "llm":
            body = build_chat_body(_served_model(deployment), request, params)
            response = client.request("POST", "/v1/chat/completions", json=body, safe=True)
            return result_from_completion(
                response.json(),
                provider=self.name,
                model=deployment.model,
                latency_s=response.elapsed.total_seconds(),
            )
        _no_params(params)
        response = client.request("POST", "/invoke", json={"input": request}, safe=True)
        return self._python_result(deployment, response)

    async def ainvoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        client = self._proxy(self._endpoint(deployment))
        if deployment.raw.get("kind") == "llm":
            body = build_chat_body(_served_model(deployment), request, params)
            response = await client.arequest("POST", "/v1/chat/completions", json=body, safe=True)
            return result_from_completion(
                response.json(),
                provider=self.name,
                model=deployment.model,
                latency_s=response.elapsed.total_seconds(),
            )
        _no_params(params)
        response = await client.arequest("POST", "/invoke", json={"input": request}, safe=True)
        return self._python_result(deployment, response)

    def _python_result(self, deployment: Deployment, response: Any) -> InvokeResult:
        data = response.json()
        output = data.get("output") if isinstance(data, dict) else None
        return InvokeResult(
            text=output if isinstance(output, str) else None,
            output=output,
            usage=Usage(),
            latency_s=response.elapsed.total_seconds(),
            provider=self.name,
            model=deployment.model,
            request_id=response.headers.get("x-request-id"),
            raw=data if isinstance(data, dict) else {"body": data},
        )

    def stream(self, deployment: Deployment, request: Any, **params: Any) -> Stream:
        if deployment.raw.get("kind") != "llm":
            raise Unsupported(
                f"{deployment.name} serves a Python model, which answers in one piece;"
                " use invoke (streaming needs an LLM server: options.command)",
                provider=self.name,
            )
        body = build_chat_body(_served_model(deployment), request, params, stream=True)
        return post_chat_stream(
            self._proxy(self._endpoint(deployment)),
            "/v1/chat/completions",
            body,
            provider=self.name,
            model=deployment.model,
        )

    # -- logs and metrics ---------------------------------------------------------------
    def _logs(
        self, deployment: Deployment, *, since: float | None, follow: bool
    ) -> Iterator[LogLine]:
        from hostkit_providers.ray.logs import replica_logs

        return replica_logs(self, deployment.name, since=since, follow=follow)

    def metrics(self, deployment: Deployment, *, since: float | None = None) -> Metrics | None:
        """Requests, errors and mean latency through Serve's proxy since this provider's
        previous sample (the first: since the deploy), and the requests in flight on each
        replica the REST API lists in ``deployment.raw``, from Ray's Prometheus metrics
        (see metrics.py); None when no node's metrics endpoint is reachable."""
        from hostkit_providers.ray.metrics import serve_metrics

        raw = deployment.raw or {}
        deployed_at = raw.get("deployed_at")
        listed = raw.get("replica_states")
        replicas = (
            {str(r.get("id")) for r in listed if isinstance(r, dict) and r.get("id")}
            if isinstance(listed, list)
            else None
        )
        metrics, sample = serve_metrics(
            self,
            deployment.name,
            self._samples.get(deployment.name),
            float(deployed_at) if isinstance(deployed_at, int | float) else None,
            replicas,
        )
        if sample is not None:
            self._samples[deployment.name] = sample
        return metrics

    # -- scale ----------------------------------------------------------------------
    def _scale(
        self,
        deployment: Deployment,
        replicas: int | None,
        min_replicas: int | None,
        max_replicas: int | None,
    ) -> Deployment:
        app = (self.details().get("applications") or {}).get(deployment.name)
        if app is None or not _is_ours(app) or not app.get("deployed_app_config"):
            raise NotFound(f"no deployment named {deployment.name!r} on ray", provider=self.name)
        config = copy.deepcopy(app["deployed_app_config"])
        llm = serve_llm.view(config)
        own = llm.meta if llm is not None else (config.get("args") or {}).get("hostkit") or {}
        idle = own.get("scale_to_zero_after")
        entry = _scalable_entry(config)
        current = _deployed_bounds(app)
        entry.pop("num_replicas", None)
        entry.pop("autoscaling_config", None)
        if replicas is not None and replicas > 0:
            entry["num_replicas"] = replicas
            expected: int | None = replicas
        else:
            if replicas == 0:
                low, high = 0, max(1, max_replicas or current[1] or deployment.replicas or 1)
            else:
                low = min_replicas if min_replicas is not None else (current[0] or 1)
                high = max_replicas if max_replicas is not None else max(low, current[1] or 1)
                if low > high:
                    raise ConfigError(
                        f"scale: min_replicas ({low}) exceeds max_replicas ({high})",
                        provider=self.name,
                    )
            target = _target_ongoing(app)
            entry["autoscaling_config"] = _autoscaling(
                low, high, initial=None, target=target, idle=idle
            )
            expected = 0 if replicas == 0 else None
        self._write(deployment.name, config)
        return self._await_replicas(deployment, expected, idle)

    def _await_replicas(
        self, deployment: Deployment, expected: int | None, idle: float | None
    ) -> Deployment:
        """Wait for ``expected`` running replicas (None: whatever the autoscaler settles on)."""
        budget = 120.0 + ((idle if idle is not None else DEFAULT_IDLE_S) if expected == 0 else 0)
        deadline = time.monotonic() + budget
        while True:
            current = self.status(deployment)
            raw = current.raw or {}
            settled = raw.get("deployment_status") == "HEALTHY" or current.status in (
                "scaled_to_zero",
            )
            if current.status == "failed":
                raise ProviderError(
                    f"{deployment.name}: scaling failed: {self.failure_reason(current)}",
                    provider=self.name,
                )
            if settled and (expected is None or current.replicas == expected):
                return current
            if time.monotonic() > deadline:
                raise Timeout(
                    f"{deployment.name}: {current.replicas} replica(s) running after"
                    f" {budget:.0f}s, not {expected}; the cluster may lack free CPUs"
                    " (see `ray status`)",
                    provider=self.name,
                )
            self.sleep(0.25)

    # -- teardown -------------------------------------------------------------------
    def _teardown(self, deployment: Deployment) -> None:
        apps = self.details().get("applications") or {}
        app = apps.get(deployment.name)
        if app is None:
            return
        if not _is_ours(app):
            log.warning(
                "ray: not deleting application %r: hostkit did not create it", deployment.name
            )
            return
        self._write(deployment.name, None)
        deadline = time.monotonic() + 120.0
        while deployment.name in (self.details().get("applications") or {}):
            if time.monotonic() > deadline:
                raise Timeout(
                    f"{deployment.name}: the Serve application was still being deleted after"
                    " 120s; check the Ray dashboard",
                    provider=self.name,
                )
            self.sleep(0.25)

    # -- money ----------------------------------------------------------------------
    def _rate(self, target: Deployment | DeploymentSpec | None = None) -> tuple[float, str]:
        """The price of one replica-hour: options.usd_per_hour, else the setting, else a
        [prices.ray] row of the config (0: a self-hosted cluster has no list price)."""
        return self_hosted_rate(
            self,
            target,
            unpriced="a self-hosted Ray cluster has no list price; set usd_per_hour to price it",
        )

    def cost(
        self,
        target: Deployment | DeploymentSpec,
        *,
        hours: float | None = None,
        requests: int | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
    ) -> CostEstimate:
        if isinstance(target, DeploymentSpec):
            count = target.replicas or target.min_replicas or 1
        else:
            count = target.replicas if target.replicas is not None else 1
        return time_cost(
            self,
            target,
            self._rate(target),
            hours=hours,
            usage_given=bool(requests or input_tokens or output_tokens),
            line="ray replica time",
            billed="replica time",
            unit="replica-hour",
            count=count,
        )

    def offerings(self, region: str | None = None) -> list[Offering]:
        rate, source = self._rate()
        return [
            Offering(
                provider=self.name,
                name="ray",
                kind="instance",
                usd_per_hour=rate,
                source=source,
                as_of=_dt.date.today().isoformat(),
            )
        ]

    def close(self) -> None:
        if self._dashboard is not None:
            self._dashboard.close()
        for client in self._proxies.values():
            client.close()
        self._proxies.clear()


# -- helpers ----------------------------------------------------------------------------
def _own_meta(spec: DeploymentSpec) -> dict[str, Any]:
    """What hostkit reads back from its application: the fingerprint, price, idle time."""
    meta: dict[str, Any] = {"fingerprint": spec.fingerprint()}
    if "usd_per_hour" in spec.options:
        meta["usd_per_hour"] = float(spec.options["usd_per_hour"])
    if spec.scale_to_zero_after is not None:
        meta["scale_to_zero_after"] = spec.scale_to_zero_after
    return meta


def _capabilities(*, streams: bool) -> Capabilities:
    """The provider's capabilities, streaming only where the deployment streams."""
    return dataclasses.replace(RayProvider.capabilities, streaming=streams)


def _is_ours(app: Mapping[str, Any]) -> bool:
    """hostkit's own application, or a Ray Serve LLM one hostkit wrote (serve_llm.py)."""
    config = app.get("deployed_app_config") or {}
    return config.get("import_path") == BUILDER or serve_llm.view(config) is not None


def _model_deployment(app: Mapping[str, Any]) -> str:
    """The Serve deployment whose replicas serve the model: HostkitModel, or Ray Serve
    LLM's ``LLMServer:<model id>``."""
    llm = serve_llm.view(app.get("deployed_app_config"))
    return llm.deployment if llm is not None else DEPLOYMENT


def _scalable_entry(config: dict[str, Any]) -> dict[str, Any]:
    """The replica options of the model's deployment in an application config (in place)."""
    llm = serve_llm.view(config)
    return llm.deployment_config() if llm is not None else _deployment_entry(config)


def _deploy_config(details: Mapping[str, Any], serve_url: str) -> dict[str, Any]:
    """The PUT body that keeps every declarative application as deployed (those being
    deleted left out), with the running Serve's HTTP options (or ones for serve_url)."""
    apps = []
    for app in (details.get("applications") or {}).values():
        config = app.get("deployed_app_config")
        if config and app.get("status") != "DELETING" and app.get("source") != "imperative":
            apps.append(copy.deepcopy(config))
    body: dict[str, Any] = {"applications": apps}
    http = details.get("http_options")
    if http:
        body["http_options"] = {k: v for k, v in http.items() if v is not None}
    else:
        parts = urlsplit(serve_url)
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        body["http_options"] = {
            "host": "127.0.0.1" if loopback else "0.0.0.0",
            "port": parts.port or SERVE_PORT,
        }
    for key in ("proxy_location", "target_capacity"):
        if details.get(key) is not None:
            body[key] = details[key]
    return body


def _state(
    app: Mapping[str, Any],
    details: Mapping[str, Any],
    running: list[Any],
    target: Any,
) -> tuple[str, str | None]:
    """hostkit's status (and a failure reason) from Serve's application status."""
    status = app.get("status")
    if status in TERMINAL_FAILURES or (status == "UNHEALTHY" and not running):
        return "failed", _failure(app, details)
    if status == "DELETING":
        return "updating", None
    if status == "RUNNING" and details.get("status") == "HEALTHY":
        if target == 0 and not running:
            return "scaled_to_zero", None
        return ("ready", None) if running else ("updating", None)
    if status == "RUNNING":
        if target == 0 and not running:
            return "scaled_to_zero", None
        return ("updating" if running else "deploying"), None
    return "deploying", None


def _failure(app: Mapping[str, Any], details: Mapping[str, Any]) -> str:
    """Ray's words for a failed application: its message, then its deployment's (a crash
    loop's application message only says the deployment failed; the deployment's says why)."""
    reasons = [_reason(m) for m in (app.get("message"), details.get("message")) if m]
    return "; ".join(reasons) or str(app.get("status"))


def _reason(message: str) -> str:
    """Ray's message, shortened to what explains it: its first line and the exception."""
    lines = [line for line in str(message).strip().splitlines() if line.strip()]
    if len(lines) <= 3:
        return " ".join(line.strip() for line in lines)
    last = next(
        (line.strip() for line in reversed(lines) if not line.startswith((" ", "\t"))),
        lines[-1].strip(),
    )
    return f"{lines[0].strip()} {last}"


def _autoscaling(
    low: int, high: int, *, initial: int | None, target: Any, idle: float | None
) -> dict[str, Any]:
    config: dict[str, Any] = {"min_replicas": low, "max_replicas": high}
    if initial is not None:
        config["initial_replicas"] = initial
    if target is not None:
        config["target_ongoing_requests"] = float(target)
    if low == 0:
        config["downscale_to_zero_delay_s"] = float(idle if idle is not None else DEFAULT_IDLE_S)
    return config


def _deployment_entry(config: dict[str, Any]) -> dict[str, Any]:
    entries = config.setdefault("deployments", [])
    for entry in entries:
        if entry.get("name") == DEPLOYMENT:
            return entry  # type: ignore[no-any-return]
    entry = {"name": DEPLOYMENT}
    entries.append(entry)
    return entry


def _deployed_bounds(app: Mapping[str, Any]) -> tuple[int | None, int | None]:
    details = (app.get("deployments") or {}).get(_model_deployment(app)) or {}
    deployed = details.get("deployment_config") or {}
    autoscaling = deployed.get("autoscaling_config")
    if autoscaling:
        return autoscaling.get("min_replicas"), autoscaling.get("max_replicas")
    count = deployed.get("num_replicas")
    return count, count


def _target_ongoing(app: Mapping[str, Any]) -> Any:
    config = app.get("deployed_app_config") or {}
    llm = serve_llm.view(config)
    if llm is not None:
        return (
            (llm.llm_config.get("deployment_config") or {})
            .get("autoscaling_config", {})
            .get("target_ongoing_requests")
        )
    for entry in config.get("deployments") or []:
        if entry.get("name") == DEPLOYMENT:
            return (entry.get("autoscaling_config") or {}).get("target_ongoing_requests")
    return None


def _gpu_count(accelerator: str | None) -> int:
    """GPUs per replica from the spec's accelerator (``"A100:2"`` -> 2, ``"T4"`` -> 1)."""
    if not accelerator:
        return 0
    _, _, count = accelerator.partition(":")
    return int(count) if count.strip().isdigit() else 1


def _served_model(deployment: Deployment) -> str:
    """The ``model`` an OpenAI request names: Ray Serve LLM's model_id, else the model."""
    return str((deployment.raw or {}).get("served_model") or deployment.model)


def _no_params(params: Mapping[str, Any]) -> None:
    if params:
        raise ConfigError(
            f"invoke: Python models on ray take no parameters; got {', '.join(params)}"
        )


def _check_number(
    options: Mapping[str, Any],
    key: str,
    *,
    whole: bool = False,
    minimum: float | None = None,
    positive: bool = False,
) -> None:
    if key not in options:
        return
    value = options[key]
    kinds = int if whole else (int, float)
    ok = isinstance(value, kinds) and not isinstance(value, bool) and math.isfinite(value)
    if ok and minimum is not None:
        ok = value >= minimum
    if ok and positive:
        ok = value > 0
    if not ok:
        what = "a whole number" if whole else "a number"
        bound = f" >= {minimum:g}" if minimum is not None else (" > 0" if positive else "")
        raise ConfigError(f"options.{key}: {value!r} is not {what}{bound} ({OPTIONS[key]})")
