"""The ``paperspace`` provider: container deployments on Paperspace (DigitalOcean).

Plain httpx (:class:`hostkit.adapters.HttpClient`) against ``https://api.paperspace.com/v1``,
the API Paperspace's own CLI and deploy action use (``Paperspace/cli api/openapi.ts``,
``Paperspace/deploy-action src/api.ts`` and ``src/service.ts``):

* ``POST /deployments`` is an *upsert* keyed by the deployment's name in the project, so
  creating is safe to retry and the same call scales and updates;
* ``GET /projects/{project}/deployments?name=`` finds a deployment by name from any
  process; ``GET /deployments/{id}`` and ``GET /deployments/{id}/runs`` tell whether the
  latest configuration was applied and how many replicas of its run are ready;
* ``DELETE /deployments/{id}`` tears it down.

The container is vLLM's OpenAI-compatible server for a Hugging Face model id, or the
spec's ``image``; the deployment's endpoint (HTTPS) serves it, with a key the server
checks (see :mod:`hostkit_providers.paperspace.config`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, cast

from hostkit import (
    Capabilities,
    CostEstimate,
    CostLine,
    Deployment,
    DeploymentSpec,
    InvokeResult,
    Offering,
    Provider,
    Stream,
)
from hostkit._models import Status
from hostkit._redact import is_secret_key
from hostkit.adapters import (
    Hardware,
    HttpClient,
    Secret,
    ServerKeys,
    build_chat_body,
    chat_stream,
    error_from_response,
    get_logger,
    instance_offering,
    load_hardware,
    message_from_body,
    parse_accelerator,
    parse_retry_after,
    report_progress,
    request_id_from,
    result_from_server,
    translate_httpx_error,
    translate_transport_errors,
)
from hostkit.errors import (
    AuthenticationError,
    CapacityUnavailable,
    ConfigError,
    HostkitError,
    NotFound,
    ProviderError,
    QuotaExceeded,
    RateLimited,
    Timeout,
    Unsupported,
)

from .config import DEFAULT_METRICS, KEY_VARIABLES, build_config, env_of

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx

    from hostkit._logs import LogLine

__all__ = ["DEFAULT_BASE_URL", "PaperspaceProvider"]

log = get_logger("hostkit.paperspace")

DEFAULT_BASE_URL = "https://api.paperspace.com/v1"
#: spec ``options`` and what they mean
OPTIONS: dict[str, str] = {
    "port": "the port the server listens on in the container (default 8000)",
    "server_args": "extra arguments for vLLM (e.g. --max-model-len 8192), or your image's command",
    "health_path": "the route Paperspace probes for readiness (default /health)",
    "invoke_path": "where invoke POSTs a raw payload, for a custom image (default /invocations)",
    "autoscaling_metrics": "the autoscaler's targets, Paperspace's metrics list (default:"
    " average CPU 60%)",
    "container_registry": "the name of a Paperspace container registry for a private image",
}
#: run instance states that mean the replica will not come up
BAD_INSTANCE_STATES = ("errored", "failed")
CHAT_TASKS = (None, "chat", "text-generation", "conversational")
_QUOTA_WORDS = ("quota", "limit", "not in good standing", "insufficient funds", "billing")
_CAPACITY_WORDS = ("capacity", "out of stock", "no machines available", "unavailable")


def _str_list(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
    return list(value)


class PaperspaceProvider(Provider):
    """Paperspace deployments: a container (vLLM, or yours) on GPU machines, autoscaled."""

    name = "paperspace"
    description = "Paperspace (DigitalOcean) deployments: vLLM or your container on GPU machines"
    capabilities = Capabilities(
        dedicated=True,
        streaming=True,
        native_async=True,
        manual_scaling=True,
        autoscaling=True,
        scale_to_zero=True,
    )
    credential_env = "PAPERSPACE_API_KEY"
    requires = ("httpx",)
    install_extra = None
    settings_schema: ClassVar[Mapping[str, Any]] = {"project_id": str, "server_key_env": str}
    unsupported = {
        "scale_to_zero_after": "Paperspace's autoscaler keeps at least one replica and never"
        " scales to zero by itself; scale(dep, 0) disables the deployment (nothing runs or"
        " bills) and scale(dep, N) enables it again",
    }
    price_file = "prices.toml"
    hardware_file = "hardware.toml"
    default_timeout = 120.0
    #: pulling vLLM's image and loading weights takes minutes
    deploy_timeout = 3600.0
    poll_initial = 5.0
    poll_max = 30.0
    #: how long teardown waits for the deployment to leave the project's list
    teardown_timeout = 300.0

    def setup(self) -> None:
        self.base_url = str(self.setting("base_url") or DEFAULT_BASE_URL).rstrip("/")
        self.api = HttpClient(
            provider=self.name,
            base_url=self.base_url,
            retry=self.retry,
            timeout=self.timeout,
            max_connections=self.max_connections,
            headers=self._api_headers,
        )
        #: deployment endpoints (absolute URLs; the server key is sent per request)
        self.servers = HttpClient(
            provider=self.name,
            base_url="",
            retry=self.retry,
            timeout=self.timeout,
            max_connections=self.max_connections,
        )
        self.server_keys = ServerKeys(self)
        self._hardware: dict[str, Hardware] | None = None

    def _api_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.api_key()}", "accept": "application/json"}

    def project_id(self) -> str:
        project = self.setting("project_id")
        if not project:
            raise ConfigError(
                f"{self.name} needs the project to deploy in: set project_id under"
                f" [providers.{self.name}] in hostkit.toml (the id shown in the Paperspace"
                " console's project settings)",
                provider=self.name,
            )
        return str(project)

    # -- the wire -------------------------------------------------------------------
    def translate_error(self, error: Exception) -> HostkitError | None:
        """httpx failures and malformed bodies as hostkit errors (statuses: _status_error)."""
        return translate_httpx_error(
            error,
            provider=self.name,
            platform="Paperspace",
            on_status=lambda response: self._status_error(response, "api"),
        )

    def _status_error(
        self, response: httpx.Response, kind: str, context: Mapping[str, Any] | None = None
    ) -> HostkitError:
        """The hostkit error for a failure status, by the API's tRPC-style ``code``."""
        status = response.status_code
        common: dict[str, Any] = {
            "provider": self.name,
            "status_code": status,
            "request_id": request_id_from(response.headers),
        }
        try:
            body = response.json()
        except ValueError:
            body = None
        if kind == "server" or not isinstance(body, Mapping) or "code" not in body:
            text = message_from_body(response.content)
            if kind == "server":
                text = f"the deployment's server at {response.request.url.host}: {text}"
                if status in (401, 403):
                    text += (
                        " (hostkit's key was refused: it is derived from your Paperspace API"
                        " key, or read from the variable named when deploying; if either"
                        " changed since, redeploy with update=True)"
                    )
            return error_from_response(
                status, response.headers, b"", provider=self.name, message=text
            )
        code = str(body.get("code"))
        text = str(body.get("message") or code)
        issues = body.get("issues")
        if isinstance(issues, list) and issues:
            details = "; ".join(
                str(i.get("message")) for i in issues if isinstance(i, Mapping) and i.get("message")
            )
            if details:
                text = f"{text} ({details})"
        message = f"{text} [{code}]"
        lowered = text.lower()
        what = " ".join(
            part
            for part in (
                str((context or {}).get("machine_type") or ""),
                f"in {context['region']}" if context and context.get("region") else "",
            )
            if part
        )
        if code in ("BAD_REQUEST", "PRECONDITION_FAILED", "FORBIDDEN") and any(
            word in lowered for word in _QUOTA_WORDS
        ):
            return QuotaExceeded(
                f"Paperspace refused {what or 'the deployment'}: {message}", **common
            )
        if code in ("BAD_REQUEST", "PRECONDITION_FAILED") and any(
            word in lowered for word in _CAPACITY_WORDS
        ):
            return CapacityUnavailable(
                f"Paperspace has no capacity for {what or 'this machine type'}: {message}",
                **common,
            )
        if code in ("BAD_REQUEST", "PAYLOAD_TOO_LARGE", "METHOD_NOT_SUPPORTED", "PARSE_ERROR"):
            return ConfigError(f"Paperspace refused the request: {message}", **common)
        if code in ("UNAUTHORIZED", "FORBIDDEN"):
            return AuthenticationError(
                f"{message}; check {self.credential_variable()} (an API key of the team that"
                " owns the project)",
                **common,
            )
        if code == "NOT_FOUND":
            return NotFound(message, **common)
        if code == "TOO_MANY_REQUESTS":
            return RateLimited(message, retry_after=parse_retry_after(response.headers), **common)
        if code in ("TIMEOUT", "CLIENT_CLOSED_REQUEST"):
            return Timeout(message, **common)
        return error_from_response(
            status, response.headers, b"", provider=self.name, message=message
        )

    def _api_once(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        context: Mapping[str, Any] | None = None,
    ) -> Any:
        def send() -> Any:
            with translate_transport_errors(self.name):
                response = self.api.client.request(method, path, params=params, json=json)
            if response.status_code >= 400:
                raise self._status_error(response, "api", context)
            return response.json()

        return self._translated(send)

    def _api_call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        context: Mapping[str, Any] | None = None,
    ) -> Any:
        """One API call under the retry policy (every call here is safe to repeat:
        reads, DELETE, and the upsert, which is keyed by name)."""
        return self.retry.call(
            lambda: self._api_once(method, path, params=params, json=json, context=context),
            safe=True,
        )

    # -- spec -------------------------------------------------------------------------
    def _options(self, spec: DeploymentSpec) -> dict[str, Any]:
        options = dict(spec.options)
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise ConfigError(
                f"options: unknown option(s) {', '.join(unknown)} for {self.name};"
                f" allowed: {', '.join(sorted(OPTIONS))}",
                provider=self.name,
            )
        port = options.get("port", 8000)
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise ConfigError(f"options.port: expected a port number, got {port!r}")
        options["port"] = port
        options["server_args"] = _str_list(options.get("server_args", []), "options.server_args")
        for key, default in (("health_path", "/health"), ("invoke_path", "/invocations")):
            value = options.get(key, default)
            if not isinstance(value, str) or not value.startswith("/"):
                raise ConfigError(f"options.{key}: expected a path such as {default}")
            options[key] = value
        metrics = options.get("autoscaling_metrics", DEFAULT_METRICS)
        if not isinstance(metrics, list) or not all(
            isinstance(m, Mapping) and {"metric", "summary", "value"} <= set(m) for m in metrics
        ):
            raise ConfigError(
                "options.autoscaling_metrics: expected a list of {metric, summary, value},"
                " e.g. [{metric = 'requestDuration', summary = 'average', value = 0.5}]"
            )
        options["autoscaling_metrics"] = [dict(m) for m in metrics]
        registry = options.get("container_registry")
        if registry is not None and (not isinstance(registry, str) or not registry):
            raise ConfigError("options.container_registry: expected a registry name")
        return options

    def validate_spec(self, spec: DeploymentSpec) -> None:
        if not spec.instance:
            raise ConfigError(
                f"instance: required on {self.name}: a Paperspace machine type such as A4000,"
                " A6000 or H100 (the provider's offerings() lists the priced ones)",
                provider=self.name,
            )
        self._check_accelerator(spec)
        if spec.scale_to_zero_after is not None:
            raise Unsupported(
                "scale_to_zero_after: " + self.unsupported["scale_to_zero_after"],
                provider=self.name,
            )
        if spec.min_replicas == 0 or spec.replicas == 0:
            raise ConfigError(
                "replicas/min_replicas: a deployment starts with at least one replica;"
                " deploy, then scale(dep, 0) to disable it",
                provider=self.name,
            )
        if spec.image is None and spec.task not in CHAT_TASKS:
            raise ConfigError(
                f"task: vLLM serves chat and text generation, not {spec.task!r}; give your own"
                " server as image (invoke then POSTs the raw payload to options.invoke_path)",
                provider=self.name,
            )
        for key, value in spec.env.items():
            if key in KEY_VARIABLES or key.startswith("HOSTKIT_"):
                raise ConfigError(f"env: {key} is set by hostkit", provider=self.name)
            if "\n" in value:
                raise ConfigError(f"env: the value of {key} must be one line")
        self._options(spec)
        self.project_id()

    # -- the server key ----------------------------------------------------------------
    def _auth_reference(self) -> str:
        return self.server_keys.reference()

    def server_key(self, name: str, auth: str = "derived") -> str:
        """The key deployment ``name``'s server checks (never saved; re-derived or read)."""
        return self.server_keys.get(name, auth)

    # -- look-up ------------------------------------------------------------------------
    def _lookup(self, name: str) -> dict[str, Any] | None:
        """The platform's record of deployment ``name`` in the project (one request)."""
        data = self._api_call(
            "GET", f"/projects/{self.project_id()}/deployments", params={"name": name}
        )
        for item in (data or {}).get("items") or []:
            if isinstance(item, Mapping) and item.get("name") == name:
                return dict(item)
        return None

    def _deployment_from(
        self, item: Mapping[str, Any], run: Mapping[str, Any] | None = None, *, runs: int = 0
    ) -> Deployment:
        """A Deployment from ``GET /deployments`` data (and its latest run, when fetched)."""
        name = str(item.get("name"))
        spec = item.get("latestSpec") or None
        data = (spec or {}).get("data") or {}
        env = env_of(data)
        resources = data.get("resources") or {}
        autoscaling = resources.get("autoscaling") or {}
        scaling = bool(autoscaling.get("enabled", bool(autoscaling)))
        wanted = int(resources.get("replicas", 1) if resources.get("replicas") is not None else 1)
        ports = resources.get("ports") or [data.get("port") or 8000]
        reason: str | None = None
        ready = None
        if spec is None:
            status, reason = "failed", "Paperspace found the latest configuration invalid"
        elif spec.get("error"):
            status, reason = "failed", str(spec["error"])
        elif data.get("enabled") is False:
            status = "scaled_to_zero"
        elif not spec.get("externalApplied"):
            status = "updating" if runs else "deploying"
        elif run is None:  # from the project's list only: Paperspace's health mark
            status = "ready" if spec.get("dtHealthy") else "deploying"
        else:
            instances = run.get("instances") or []
            broken = [i for i in instances if str(i.get("state")).lower() in BAD_INSTANCE_STATES]
            ready = int(run.get("readyReplicas") or 0)
            target = int(run.get("replicas") or 0)
            if broken:
                status = "failed"
                reason = "; ".join(
                    f"replica {i.get('instanceId') or i.get('id')} {i.get('state')}:"
                    f" {i.get('stateMessage') or 'no message'}"
                    for i in broken
                )
            elif target > 0 and ready >= target and runs <= 1:
                status = "ready"
            else:
                status = "updating" if spec.get("dtHealthy") or runs > 1 else "deploying"
        endpoint = str(item.get("endpoint") or "") or None
        if endpoint and "://" not in endpoint:
            endpoint = f"https://{endpoint}"
        raw: dict[str, Any] = {
            "id": item.get("id"),
            "project_id": item.get("projectId"),
            "spec_id": (spec or {}).get("id"),
            "machine_type": resources.get("machineType") or resources.get("instanceType"),
            "image": data.get("image"),
            "port": int(ports[0]),
            "server": env.get("HOSTKIT_SERVER", "vllm"),
            "invoke_path": env.get("HOSTKIT_INVOKE_PATH", "/invocations"),
            "auth": env.get("HOSTKIT_AUTH", "derived"),
            "enabled": data.get("enabled", True),
            "applied": (spec or {}).get("externalApplied"),
            "healthy_since": (spec or {}).get("dtHealthy"),
        }
        if scaling:
            raw["autoscaling"] = {"max_replicas": autoscaling.get("maxReplicas")}
        if ready is not None:
            raw["ready_replicas"] = ready
        if reason:
            raw["failure_reason"] = reason
        return Deployment(
            name=name,
            provider=self.name,
            model=env.get("HOSTKIT_MODEL", ""),
            status=cast(Status, status),
            endpoint=endpoint,
            replicas=0 if status == "scaled_to_zero" else wanted,
            instance=raw["machine_type"],
            region=data.get("region"),
            min_replicas=wanted if scaling else None,
            max_replicas=autoscaling.get("maxReplicas") if scaling else None,
            fingerprint=env.get("HOSTKIT_FINGERPRINT"),
            raw=raw,
        )

    def find(self, name: str) -> Deployment | None:
        item = self._lookup(name)
        return self._deployment_from(item) if item is not None else None

    def status(self, deployment: Deployment) -> Deployment:
        ident = deployment.raw.get("id")
        try:
            item = (
                self._api_call("GET", f"/deployments/{ident}")
                if ident
                else self._lookup(deployment.name)
            )
        except NotFound:
            item = None
        if not item:
            return Deployment(
                name=deployment.name,
                provider=self.name,
                model=deployment.model,
                status="deleted",
                fingerprint=deployment.fingerprint,
                raw={"failure_reason": "the deployment no longer exists on Paperspace"},
            )
        spec = item.get("latestSpec") or {}
        runs: list[Any] = []
        if spec.get("externalApplied") and not spec.get("error"):
            runs = self._api_call("GET", f"/deployments/{item['id']}/runs") or []
        return self._deployment_from(item, runs[0] if runs else None, runs=len(runs))

    def failure_reason(self, deployment: Deployment) -> str | None:
        reason = deployment.raw.get("failure_reason")
        return str(reason) if reason else None

    # -- deploy -------------------------------------------------------------------------
    def _config(self, spec: DeploymentSpec) -> dict[str, Any]:
        options = self._options(spec)
        for variable, value in spec.env.items():
            if value and is_secret_key(variable):
                Secret(value)  # masked in logs and errors from now on
        assert spec.instance is not None
        scaling = spec.max_replicas is not None
        replicas = spec.min_replicas if scaling else spec.replicas
        try:
            return build_config(
                name=spec.name,
                model=spec.model,
                machine_type=spec.instance,
                key=self.server_key(spec.name, self._auth_reference()),
                fingerprint=spec.fingerprint(),
                auth=self._auth_reference(),
                image=spec.image,
                port=options["port"],
                replicas=replicas or 1,
                max_replicas=spec.max_replicas,
                metrics=options["autoscaling_metrics"],
                region=spec.region,
                env=dict(spec.env),
                server_args=options["server_args"],
                health_path=options["health_path"],
                invoke_path=options["invoke_path"],
                container_registry=options.get("container_registry"),
            )
        except ValueError as error:
            raise ConfigError(str(error), provider=self.name) from None

    def _upsert(
        self,
        config: Mapping[str, Any],
        deployment_id: str | None = None,
        region: str | None = None,
    ) -> str:
        body: dict[str, Any] = {"projectId": self.project_id(), "config": dict(config)}
        if deployment_id:
            body["deploymentId"] = deployment_id
        context = {
            "machine_type": (config.get("resources") or {}).get("machineType"),
            "region": region or config.get("region"),
        }
        data = self._api_call("POST", "/deployments", json=body, context=context)
        ident = (data or {}).get("deploymentId")
        if not ident:
            raise ProviderError(
                f"the upsert returned no deploymentId: {data!r}", provider=self.name
            )
        return str(ident)

    def _create(self, spec: DeploymentSpec) -> Deployment:
        ident = self._upsert(self._config(spec), region=spec.region)
        report_progress(f"{spec.name}: Paperspace deployment {ident} submitted")
        return self._submitted(spec, ident)

    def _update(self, existing: Deployment, spec: DeploymentSpec) -> Deployment:
        """Paperspace rolls the new configuration out in place (a new run)."""
        ident = self._upsert(
            self._config(spec), deployment_id=existing.raw.get("id"), region=spec.region
        )
        report_progress(f"{spec.name}: new configuration submitted; Paperspace rolls it out")
        updated = self._submitted(spec, ident)
        updated.status = "updating"
        return updated

    def _submitted(self, spec: DeploymentSpec, ident: str) -> Deployment:
        """The Deployment right after an upsert (the base class then waits on status)."""
        scaling = spec.max_replicas is not None
        return Deployment(
            name=spec.name,
            provider=self.name,
            model=spec.model,
            status="deploying",
            replicas=(spec.min_replicas if scaling else spec.replicas) or 1,
            instance=spec.instance,
            region=spec.region,
            min_replicas=spec.min_replicas if scaling else None,
            max_replicas=spec.max_replicas,
            fingerprint=spec.fingerprint(),
            raw={"id": ident, "project_id": self.project_id()},
        )

    # -- scale -------------------------------------------------------------------------
    def _current(self, deployment: Deployment) -> dict[str, Any]:
        ident = deployment.raw.get("id")
        item = (
            self._api_call("GET", f"/deployments/{ident}")
            if ident
            else self._lookup(deployment.name)
        )
        if not item:
            raise NotFound(f"no deployment named {deployment.name!r} on {self.name}")
        if not (item.get("latestSpec") or {}).get("data"):
            raise ProviderError(
                f"{deployment.name}: Paperspace holds no valid configuration to scale; deploy"
                " it again with update=True",
                provider=self.name,
            )
        return dict(item)

    def _scale(
        self,
        deployment: Deployment,
        replicas: int | None,
        min_replicas: int | None,
        max_replicas: int | None,
    ) -> Deployment:
        item = self._current(deployment)
        config = dict(item["latestSpec"]["data"])
        resources = dict(config.get("resources") or {})
        autoscaling = dict(resources.get("autoscaling") or {})
        if replicas == 0:
            config["enabled"] = False
            report_progress(f"{deployment.name}: disabling it (no replica runs or bills)")
        elif replicas is not None:
            config["enabled"] = True
            resources["replicas"] = replicas
            resources.pop("autoscaling", None)
        else:
            low = min_replicas if min_replicas is not None else int(resources.get("replicas") or 1)
            high = max_replicas if max_replicas is not None else autoscaling.get("maxReplicas")
            if low == 0:
                raise Unsupported(
                    "min_replicas=0: " + self.unsupported["scale_to_zero_after"],
                    provider=self.name,
                )
            if high is None:
                raise ConfigError(
                    "scale: the deployment has no autoscaler yet; give max_replicas too"
                )
            if low > int(high):
                raise ConfigError(f"scale: min_replicas ({low}) exceeds max_replicas ({high})")
            config["enabled"] = True
            resources["replicas"] = low
            resources["autoscaling"] = {
                "enabled": True,
                "maxReplicas": int(high),
                "metrics": autoscaling.get("metrics") or DEFAULT_METRICS,
            }
        config["resources"] = resources
        self._upsert(config, deployment_id=str(item["id"]))
        fresh = dict(item)
        fresh["latestSpec"] = {**item["latestSpec"], "data": config, "externalApplied": None}
        scaled = self._deployment_from(fresh)
        if scaled.status != "scaled_to_zero":
            scaled.status = "updating"
        return scaled

    # -- teardown ----------------------------------------------------------------------
    def _teardown(self, deployment: Deployment) -> None:
        """Delete the deployment (found by name when only the name is known), then check."""
        ident = deployment.raw.get("id")
        if not ident:
            item = self._lookup(deployment.name)
            if item is None:
                return
            ident = item["id"]
        try:
            self._api_call("DELETE", f"/deployments/{ident}")
            report_progress(f"{deployment.name}: Paperspace deployment {ident} deleted")
        except NotFound:
            pass  # already gone
        deadline = time.monotonic() + self.teardown_timeout
        while self._lookup(deployment.name) is not None:
            if time.monotonic() > deadline:
                raise ProviderError(
                    f"{deployment.name} is still listed after being deleted; check the"
                    " Paperspace console",
                    provider=self.name,
                )
            self.sleep(self.poll_initial)

    # -- logs (GET /deployments/{id}/logs; see logs.py) ---------------------------------
    def _logs(
        self, deployment: Deployment, *, since: float | None, follow: bool
    ) -> Iterator[LogLine]:
        from .logs import read_logs

        return read_logs(self, deployment, since=since, follow=follow)

    # -- invoke ------------------------------------------------------------------------
    def capabilities_for(self, deployment: Deployment) -> Capabilities:
        if deployment.raw.get("server") == "custom":
            return Capabilities(
                dedicated=True,
                native_async=True,
                manual_scaling=True,
                autoscaling=True,
                scale_to_zero=True,
                streaming=False,
            )
        return self.capabilities

    def _target(self, deployment: Deployment) -> str:
        if deployment.status == "scaled_to_zero":
            raise ProviderError(
                f"{deployment.name} is scaled to zero (disabled) and Paperspace does not wake"
                " it on a request; scale(dep, 1) first",
                provider=self.name,
                retryable=False,
            )
        if not deployment.endpoint:
            fresh = self.status(deployment)
            if not fresh.endpoint:
                raise ProviderError(
                    f"{deployment.name} has no endpoint yet (it is {fresh.status})",
                    provider=self.name,
                    retryable=False,
                )
            deployment.endpoint = fresh.endpoint
            deployment.raw.update(fresh.raw)
        return str(deployment.endpoint).rstrip("/")

    def _request_parts(
        self, deployment: Deployment, request: Any, params: Mapping[str, Any], stream: bool
    ) -> tuple[str, dict[str, str], Any]:
        key = self.server_key(deployment.name, str(deployment.raw.get("auth", "derived")))
        headers = {"authorization": f"Bearer {key}", "accept": "application/json"}
        base = self._target(deployment)
        if deployment.raw.get("server") == "custom":
            if stream:
                raise Unsupported(
                    f"{deployment.name} runs a custom image, whose streaming hostkit does not"
                    " know; use invoke",
                    provider=self.name,
                )
            payload = request if isinstance(request, Mapping | list) else {"inputs": request}
            return base + str(deployment.raw.get("invoke_path", "/invocations")), headers, payload
        body = build_chat_body(deployment.model, request, params, stream=stream)
        if stream:
            headers["accept"] = "text/event-stream"
        return base + "/v1/chat/completions", headers, body

    def _result(
        self, deployment: Deployment, response: httpx.Response, started: float
    ) -> InvokeResult:
        return result_from_server(
            self._translated(response.json),
            response.headers,
            custom=deployment.raw.get("server") == "custom",
            provider=self.name,
            model=deployment.model,
            latency_s=time.perf_counter() - started,
        )

    def invoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        deployment = self.resolve(deployment)
        url, headers, body = self._request_parts(deployment, request, params, stream=False)
        started = time.perf_counter()

        def send() -> httpx.Response:
            with translate_transport_errors(self.name):
                response = self.servers.client.post(url, headers=headers, json=body)
            if response.status_code >= 400:
                raise self._status_error(response, "server")
            return response

        response = self.retry.call(lambda: self._translated(send), safe=True)
        return self._result(deployment, response, started)

    async def ainvoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        deployment = self.resolve(deployment)
        url, headers, body = self._request_parts(deployment, request, params, stream=False)
        started = time.perf_counter()

        async def attempt() -> httpx.Response:
            with translate_transport_errors(self.name):
                response = await self.servers.aclient.post(url, headers=headers, json=body)
            if response.status_code >= 400:
                raise self._status_error(response, "server")
            return response

        response = await self.acall(attempt, safe=True)
        return self._result(deployment, response, started)

    def stream(self, deployment: Deployment, request: Any, **params: Any) -> Stream:
        deployment = self.resolve(deployment)
        url, headers, body = self._request_parts(deployment, request, params, stream=True)
        started = time.perf_counter()
        client = self.servers.client

        def send() -> httpx.Response:
            with translate_transport_errors(self.name):
                built = client.build_request("POST", url, headers=headers, json=body)
                response = client.send(built, stream=True)
            if response.status_code >= 400:
                response.read()
                response.close()
                raise self._status_error(response, "server")
            return response

        response = self.retry.call(lambda: self._translated(send), safe=True)
        return chat_stream(
            response.iter_lines(),
            provider=self.name,
            model=deployment.model,
            started=started,
            close=response.close,
            request_id=request_id_from(response.headers),
        )

    # -- money -------------------------------------------------------------------------
    def cost(
        self,
        target: Deployment | DeploymentSpec,
        *,
        hours: float | None = None,
        requests: int | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
    ) -> CostEstimate:
        """The machine type's hourly rate times replicas times hours (shipped, dated table).

        An autoscaled deployment is priced at its minimum; a warning gives the maximum.
        """
        if hours is None and (requests or input_tokens or output_tokens):
            return self.unknown_cost(
                "requests or tokens",
                "Paperspace bills deployment replicas by the hour whatever they serve;"
                " pass hours=...",
            )
        hours = 1.0 if hours is None else float(hours)
        if hours < 0:
            raise ConfigError(f"hours: must not be negative, got {hours}")
        machine = target.instance
        if not machine:
            raise ConfigError("cost: the spec names no machine type", provider=self.name)
        if isinstance(target, Deployment):
            count = target.replicas if target.replicas is not None else 1
            high = target.max_replicas
        else:
            scaling = target.max_replicas is not None
            count = (target.min_replicas if scaling else target.replicas) or 1
            high = target.max_replicas
        if count == 0:
            row = self.prices.find_for_region(machine, target.region)
            return CostEstimate(
                usd=0.0,
                breakdown=[CostLine(f"0 x {machine}", "instance-hour", 0.0, 0.0, 0.0)],
                source=row.source if row else None,
                as_of=row.as_of if row else None,
                warnings=["scaled to zero (disabled): no replica runs or bills"],
            )
        estimate = self.time_cost(machine, hours=hours, count=count, region=target.region)
        if high and high > count and estimate.usd is not None:
            most = estimate.usd / count * high
            estimate.warnings.append(
                f"autoscaled between {count} and {high} replicas: up to ${most:.2f} for"
                f" {hours:g} h at the maximum"
            )
        return estimate

    def _check_accelerator(self, spec: DeploymentSpec) -> None:
        """A portable accelerator ("A100-80GB:1") must fit the machine type in instance."""
        if not spec.accelerator:
            return
        wanted = parse_accelerator(spec.accelerator)
        hardware = self.hardware.get(str(spec.instance))
        if hardware is None or not wanted.accepts(
            hardware.gpu_type, hardware.gpu_memory_gb, hardware.gpu_count
        ):
            carries = f"{hardware.gpu_count}x {hardware.gpu_type}" if hardware else "unknown GPUs"
            raise ConfigError(
                f"accelerator: machine type {spec.instance} ({carries}) does not fit"
                f" {spec.accelerator!r}; a Paperspace machine type fixes its GPU: remove"
                " instance to let hostkit pick the cheapest type that fits, or remove accelerator",
                provider=self.name,
            )

    @property
    def hardware(self) -> dict[str, Hardware]:
        if self._hardware is None:
            from pathlib import Path

            self._hardware = load_hardware(Path(__file__).with_name(self.hardware_file))
        return self._hardware

    def offerings(self, region: str | None = None) -> list[Offering]:
        """The machine types of the shipped price and hardware tables (Paperspace has no
        catalog API); a type without a price is listed with None."""
        found = []
        rows = {row.key: row for row in self.prices.rows()}
        for key in sorted(set(rows) | set(self.hardware)):
            row, hardware = rows.get(key), self.hardware.get(key)
            found.append(instance_offering(self.name, key, hardware, row, region=region))
        return sorted(found, key=lambda o: o.name)

    def close(self) -> None:
        self.api.close()
        self.servers.close()

    async def aclose(self) -> None:
        await self.api.aclose()
        await self.servers.aclose()
