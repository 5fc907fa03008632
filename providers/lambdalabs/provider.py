"""The ``lambdalabs`` provider: GPU instances on Lambda Cloud, each running a model server.

Lambda has no model-serving product and no official Python SDK, so this adapter speaks
the Lambda Cloud API v1 over httpx (:class:`hostkit.adapters.HttpClient`), as its
published OpenAPI spec (1.10.0) describes it:

* a deployment is a set of on-demand instances, one per replica, all named after the
  deployment and tagged ``hostkit-deployment=<name>`` (plus the model, the spec's
  fingerprint, the replica number, the server port and where the server key lives);
  ``find`` lists ``GET /instances`` and keeps the ones carrying that name and tag, so any
  later process finds them again, and a failed deploy or a teardown terminates every
  one of them;
* each instance starts its server itself from cloud-init ``user_data`` (see
  :mod:`hostkit_providers.lambdalabs.server`): vLLM's OpenAI-compatible container for
  a Hugging Face model id, or the spec's ``image``; ``ready`` means Lambda says
  ``active`` *and* the server's health route answers;
* ``invoke`` goes straight to the instances (round robin across ready replicas, the
  next one on a connection failure), with a bearer key the server checks;
* ``scale`` launches or terminates instances (Lambda has no autoscaler), launches are
  paced to Lambda's documented limit (one launch every 12 s) and each launch looks the
  replica up by name first, so a retried launch never doubles an instance;
* ``cost`` is Lambda's own ``price_cents_per_hour`` times instances times hours.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import itertools
import os
import threading
import time
from collections.abc import Iterator, Mapping
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
    PriceRow,
    Secret,
    ServerKeys,
    build_chat_body,
    chat_stream,
    closest_matches,
    error_from_response,
    get_logger,
    instance_offering,
    load_hardware,
    message_from_body,
    parse_accelerator,
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
    Timeout,
    Unsupported,
)

from .server import ServerPlan, check_env, is_vllm_image, render_user_data

if TYPE_CHECKING:
    import httpx

__all__ = ["DEFAULT_BASE_URL", "LambdaLabsProvider"]

log = get_logger("hostkit.lambdalabs")

#: the production server of the Lambda Cloud API spec (cloud.lambdalabs.com is deprecated)
DEFAULT_BASE_URL = "https://cloud.lambda.ai/api/v1"
SPEC_SOURCE = "Lambda Cloud API spec 1.10.0 (https://cloud.lambda.ai/api/v1/openapi.json)"
#: spec ``options`` and what they mean
OPTIONS: dict[str, str] = {
    "ssh_key_name": "the SSH key (registered in your Lambda account) put on the instances;"
    " Lambda requires exactly one (default: the ssh_key_name setting)",
    "port": "the port the model server listens on (default 8000)",
    "server_args": "extra arguments for the server (vLLM flags such as --max-model-len 8192)",
    "health_path": "the route that answers 200 once the server is ready (default /health)",
    "invoke_path": "where invoke POSTs a raw payload, for a custom image (default /invocations)",
    "file_system_names": "Lambda filesystems to attach (same region); the first one caches"
    " the model weights across instances",
    "firewall_ruleset_ids": "Lambda firewall rulesets (same region) to apply to the instances",
}
#: instance tags hostkit writes (keys match ^[a-z][a-z0-9-:]+$, values <= 128 chars)
TAG_DEPLOYMENT = "hostkit-deployment"
TAG_MODEL = "hostkit-model"
TAG_FINGERPRINT = "hostkit-fingerprint"
TAG_REPLICA = "hostkit-replica"
TAG_PORT = "hostkit-port"
TAG_SERVER = "hostkit-server"
TAG_INVOKE_PATH = "hostkit-invoke-path"
TAG_HEALTH_PATH = "hostkit-health-path"
TAG_AUTH = "hostkit-auth"
#: instance states that no longer run (and are no longer billed)
GONE = ("terminating", "terminated")
BROKEN = ("unhealthy", "preempted")
CHAT_TASKS = (None, "chat", "text-generation", "conversational")


def _today() -> str:
    return _dt.date.today().isoformat()


def _tags(instance: Mapping[str, Any]) -> dict[str, str]:
    return {
        str(tag.get("key")): str(tag.get("value"))
        for tag in instance.get("tags") or []
        if isinstance(tag, Mapping)
    }


def _replica(instance: Mapping[str, Any]) -> int:
    try:
        return int(_tags(instance).get(TAG_REPLICA, "0"))
    except ValueError:
        return 0


def _str_list(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
    return list(value)


class LambdaLabsProvider(Provider):
    """Lambda Cloud: on-demand GPU instances running vLLM (or your image), one per replica."""

    name = "lambdalabs"
    description = "Lambda Cloud: on-demand GPU instances running vLLM or your container"
    capabilities = Capabilities(
        dedicated=True,
        streaming=True,
        native_async=True,
        manual_scaling=True,
        autoscaling=False,
        scale_to_zero=False,
    )
    credential_env = "LAMBDA_API_KEY"
    requires = ("httpx",)
    install_extra = None
    settings_schema: ClassVar[Mapping[str, Any]] = {"ssh_key_name": str, "server_key_env": str}
    unsupported = {
        "logs": "Lambda Cloud's API has no logs: the model server is a Docker container on"
        " your instance; ssh ubuntu@<instance ip> and run: docker logs -f hostkit-server",
        "autoscale": "Lambda Cloud has no autoscaler: an instance runs until it is terminated;"
        " pass a fixed count instead, scale(dep, replicas=N), which launches or terminates"
        " instances to match",
        "scale_to_zero": "Lambda Cloud cannot stop an instance and bills it for as long as it"
        " exists, so zero replicas means terminating them all: use teardown(dep)",
    }
    price_file = "prices.toml"
    hardware_file = "hardware.toml"
    default_timeout = 120.0
    #: booting an instance, pulling the server image and loading weights takes minutes
    deploy_timeout = 3600.0
    poll_initial = 10.0
    poll_max = 30.0
    #: Lambda allows one launch per 12 s (five a minute); launches are paced to that
    launch_interval = 12.0
    #: how long teardown waits for instances that cannot be terminated while booting
    teardown_timeout = 900.0
    #: the health check is one short request
    health_timeout = 5.0

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
        #: the model servers on the instances (absolute URLs; the key is sent per request)
        self.servers = HttpClient(
            provider=self.name,
            base_url="",
            retry=self.retry,
            timeout=self.timeout,
            max_connections=self.max_connections,
        )
        self._lock = threading.Lock()
        self._last_launch: float | None = None
        self._turns: dict[str, Iterator[int]] = {}
        self._specs: dict[str, DeploymentSpec] = {}
        self.server_keys = ServerKeys(self)
        self._hardware: dict[str, Hardware] | None = None

    def _api_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.api_key()}", "accept": "application/json"}

    # -- the wire: one attempt, errors mapped; retries are the caller's -------------
    def translate_error(self, error: Exception) -> HostkitError | None:
        """httpx failures and malformed bodies as hostkit errors (statuses: _status_error)."""
        return translate_httpx_error(
            error,
            provider=self.name,
            platform="Lambda",
            on_status=lambda response: self._status_error(response, "api"),
        )

    def _status_error(
        self, response: httpx.Response, kind: str, context: Mapping[str, Any] | None = None
    ) -> HostkitError:
        """The hostkit error for a failure status, by Lambda's error code where it gives one."""
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
        error = body.get("error") if isinstance(body, Mapping) else None
        if kind == "server" or not isinstance(error, Mapping):
            text = message_from_body(response.content)
            where = f"the model server at {response.request.url.host}" if kind == "server" else ""
            message = f"{where}: {text}" if where else text
            if status in (401, 403) and kind == "server":
                message += (
                    " (hostkit's key for this deployment was refused: it is derived from your"
                    " Lambda API key, or read from the variable named when deploying; if either"
                    " changed since, redeploy)"
                )
            return error_from_response(
                status, response.headers, b"", provider=self.name, message=message
            )
        code = str(error.get("code") or "")
        text = str(error.get("message") or code or f"HTTP {status}")
        if suggestion := error.get("suggestion"):
            text = f"{text} {suggestion}"
        field_errors = body.get("field_errors") if isinstance(body, Mapping) else None
        if isinstance(field_errors, Mapping) and field_errors:
            details = "; ".join(
                f"{name}: {(value or {}).get('message', value)}"
                if isinstance(value, Mapping)
                else f"{name}: {value}"
                for name, value in field_errors.items()
            )
            text = f"{text} ({details})"
        message = f"{text} [{code}]" if code else text
        context = context or {}
        what = " ".join(
            part
            for part in (
                str(context.get("instance") or ""),
                f"in {context['region']}" if context.get("region") else "",
            )
            if part
        )
        if code == "instance-operations/launch/insufficient-capacity":
            known = context.get("capacity")
            others = [r for r in known or [] if r != context.get("region")]
            where = (
                f"; regions with capacity for it a moment ago: {', '.join(others)}"
                if others
                else "; no other region had capacity for it a moment ago"
                if known is not None
                else "; the provider's offerings() lists the regions with capacity now"
            )
            return CapacityUnavailable(
                f"Lambda has no capacity for {what or 'this instance type'}: {message}{where}",
                **common,
            )
        if code == "global/quota-exceeded":
            return QuotaExceeded(f"Lambda quota exceeded launching {what}: {message}", **common)
        if code in (
            "global/invalid-parameters",
            "instance-operations/launch/file-system-in-wrong-region",
            "instance-operations/launch/file-systems-not-supported",
        ):
            return ConfigError(f"Lambda refused the request: {message}", **common)
        if code in (
            "global/invalid-api-key",
            "global/account-inactive",
            "global/invalid-address",
            "global/forbidden",
        ):
            return AuthenticationError(f"{message}; check {self.credential_variable()}", **common)
        if code in ("global/object-does-not-exist", "global/not-found"):
            return NotFound(message, **common)
        return error_from_response(
            status, response.headers, b"", provider=self.name, message=message
        )

    def _api_once(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        context: Mapping[str, Any] | None = None,
    ) -> Any:
        """One request to the Lambda API; its ``data``, or the mapped error."""

        def send() -> Any:
            with translate_transport_errors(self.name):
                response = self.api.client.request(method, path, json=json)
            if response.status_code >= 400:
                raise self._status_error(response, "api", context)
            payload = response.json()
            if not isinstance(payload, Mapping) or "data" not in payload:
                raise ProviderError(
                    f"unexpected response to {method} {path}: {response.text[:200]}",
                    provider=self.name,
                    status_code=response.status_code,
                )
            return payload["data"]

        return self._translated(send)

    def _api_call(self, method: str, path: str, *, json: Any = None, safe: bool = True) -> Any:
        """A Lambda API request under the retry policy."""
        return self.retry.call(lambda: self._api_once(method, path, json=json), safe=safe)

    # -- settings and spec --------------------------------------------------------
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
        if port == 22:
            raise ConfigError("options.port: 22 is the instance's SSH port; pick another")
        options["port"] = port
        for key in ("server_args", "file_system_names", "firewall_ruleset_ids"):
            options[key] = _str_list(options.get(key, []), f"options.{key}")
        for key, default in (("health_path", "/health"), ("invoke_path", "/invocations")):
            value = options.get(key, default)
            if not isinstance(value, str) or not value.startswith("/"):
                raise ConfigError(f"options.{key}: expected a path such as {default}")
            options[key] = value
        ssh = options.get("ssh_key_name", self.setting("ssh_key_name"))
        if not isinstance(ssh, str) or not ssh.strip():
            raise ConfigError(
                f"{self.name} needs the name of an SSH key registered in your Lambda account"
                " (Lambda requires exactly one at launch; it lets you log in to the instances):"
                f" set ssh_key_name under [providers.{self.name}] in hostkit.toml, or"
                " options.ssh_key_name in the spec",
                provider=self.name,
            )
        options["ssh_key_name"] = ssh
        return options

    def validate_spec(self, spec: DeploymentSpec) -> None:
        if not spec.instance:
            raise ConfigError(
                f"instance: required on {self.name}: a Lambda instance type such as gpu_1x_a10"
                " or gpu_1x_h100_pcie (the provider's offerings() lists them)",
                provider=self.name,
            )
        hardware = self.hardware.get(spec.instance)
        if spec.accelerator and (
            hardware is None
            or not parse_accelerator(spec.accelerator).accepts(
                hardware.gpu_type, hardware.gpu_memory_gb, hardware.gpu_count
            )
        ):
            raise ConfigError(
                f"accelerator: {spec.instance} does not carry {spec.accelerator!r}; a Lambda"
                " instance type fixes its GPUs: remove instance to let hostkit pick the"
                " cheapest type that fits, or remove accelerator",
                provider=self.name,
            )
        if spec.min_replicas is not None or spec.max_replicas is not None:
            raise Unsupported(
                "min_replicas/max_replicas: " + self.unsupported["autoscale"], provider=self.name
            )
        if spec.scale_to_zero_after is not None:
            raise Unsupported(
                "scale_to_zero_after: " + self.unsupported["scale_to_zero"], provider=self.name
            )
        if spec.replicas == 0:
            raise ConfigError(
                "replicas: 0 would launch nothing; deploy at least one, or use teardown",
                provider=self.name,
            )
        if spec.image is None and spec.task not in CHAT_TASKS:
            raise ConfigError(
                f"task: vLLM serves chat and text generation, not {spec.task!r}; give your own"
                " server as image (invoke then POSTs the raw payload to options.invoke_path)",
                provider=self.name,
            )
        if len(spec.model) > 128:
            raise ConfigError("model: at most 128 characters (it is kept in an instance tag)")
        try:
            check_env(spec.env)
        except ValueError as error:
            raise ConfigError(str(error), provider=self.name) from None
        self._options(spec)

    @staticmethod
    def shape_fingerprint(spec: DeploymentSpec) -> str:
        """The spec's fingerprint without ``replicas``: on Lambda the count is live state."""
        return spec.replace(replicas=None).fingerprint()

    def same_spec(self, existing: Deployment, spec: DeploymentSpec) -> bool:
        if existing.fingerprint != self.shape_fingerprint(spec):
            return False
        return spec.replicas is None or spec.replicas == existing.replicas

    # -- the server key -----------------------------------------------------------
    def _auth_reference(self) -> str:
        return self.server_keys.reference()

    def server_key(self, name: str, auth: str = "derived") -> str:
        """The key deployment ``name``'s server checks (never saved; re-derived or read)."""
        return self.server_keys.get(name, auth)

    # -- look-up ------------------------------------------------------------------
    def _instances(self, name: str, *, once: bool = False) -> list[dict[str, Any]]:
        """The still-running instances of deployment ``name``, by replica number."""
        data = self._api_once("GET", "/instances") if once else self._api_call("GET", "/instances")
        ours = []
        for instance in data or []:
            if not isinstance(instance, Mapping) or instance.get("name") != name:
                continue
            if "tags" in instance and _tags(instance).get(TAG_DEPLOYMENT) != name:
                continue  # someone's own instance that happens to share the name
            if instance.get("status") in GONE:
                continue
            ours.append(dict(instance))
        return sorted(ours, key=lambda i: (_replica(i), str(i.get("id"))))

    def _health(
        self, instance: Mapping[str, Any], port: int, path: str, key: str
    ) -> tuple[str, str | None]:
        """``ready``, ``starting`` or ``failed`` (with the reason) for one active instance."""
        url = f"http://{instance['ip']}:{port}{path}"
        try:
            with translate_transport_errors(self.name):
                response = self.servers.client.get(
                    url,
                    headers={"authorization": f"Bearer {key}"},
                    timeout=self.health_timeout,
                )
        except HostkitError as error:
            return "starting", error.message
        if response.status_code == 200:
            return "ready", None
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, Mapping) and body.get("hostkit_status") == "failed":
            reason = str(body.get("reason") or "the model server exited")
            return "failed", f"the model server on {instance['ip']} failed to start: {reason}"
        return "starting", f"HTTP {response.status_code}"

    def _deployment_from(self, name: str, instances: list[dict[str, Any]]) -> Deployment:
        first = instances[0]
        tags = _tags(first)
        port = int(tags.get(TAG_PORT, "8000"))
        server = tags.get(TAG_SERVER, "vllm")
        path = tags.get(TAG_INVOKE_PATH, "/invocations")
        health_path = tags.get(TAG_HEALTH_PATH, "/health")
        spec = self._specs.get(name)
        auth = tags.get(TAG_AUTH, "derived")
        key = self.server_key(name, auth)
        rows: list[dict[str, Any]] = []
        reasons: list[str] = []
        for instance in instances:
            status = str(instance.get("status"))
            state, note = "booting", None
            if status in BROKEN:
                state = "failed"
                note = (
                    f"Lambda reports instance {instance.get('id')} ({name} replica"
                    f" {_replica(instance)}) as {status}"
                )
            elif status == "active" and instance.get("ip"):
                state, note = self._health(instance, port, health_path, key)
            if state == "failed" and note:
                reasons.append(note)
            rows.append(
                {
                    "id": instance.get("id"),
                    "replica": _replica(instance),
                    "status": status,
                    "state": state,
                    "ip": instance.get("ip"),
                    "region": (instance.get("region") or {}).get("name"),
                }
            )
        ready = [row for row in rows if row["state"] == "ready"]
        if reasons:
            status_ = "failed"
        elif len(ready) == len(rows):
            status_ = "ready"
        else:
            status_ = "updating" if ready else "deploying"
        shown = ready[0] if ready else next((row for row in rows if row["ip"]), None)
        suffix = "/v1" if server == "vllm" else path
        instance_type = first.get("instance_type") or {}
        raw: dict[str, Any] = {
            "instances": rows,
            "ready_replicas": len(ready),
            "server": server,
            "port": port,
            "invoke_path": path,
            "auth": auth,
            "price_cents_per_hour": instance_type.get("price_cents_per_hour"),
            "price_as_of": _today(),
        }
        if reasons:
            raw["failure_reason"] = "; ".join(reasons)
        if spec is not None:
            raw["spec"] = spec.to_dict(redact=True)
        else:
            record = self.records.load(name) or {}
            saved = (record.get("raw") or {}).get("spec")
            if saved and record.get("fingerprint") == tags.get(TAG_FINGERPRINT):
                raw["spec"] = saved
        return Deployment(
            name=name,
            provider=self.name,
            model=tags.get(TAG_MODEL, ""),
            status=cast(Status, status_),
            endpoint=f"http://{shown['ip']}:{port}{suffix}" if shown else None,
            replicas=len(rows),
            instance=instance_type.get("name"),
            region=rows[0]["region"],
            fingerprint=tags.get(TAG_FINGERPRINT),
            raw=raw,
        )

    def find(self, name: str) -> Deployment | None:
        instances = self._instances(name)
        return self._deployment_from(name, instances) if instances else None

    def status(self, deployment: Deployment) -> Deployment:
        found = self.find(deployment.name)
        if found is None:
            return Deployment(
                name=deployment.name,
                provider=self.name,
                model=deployment.model,
                status="deleted",
                instance=deployment.instance,
                region=deployment.region,
                replicas=0,
                fingerprint=deployment.fingerprint,
                raw={"failure_reason": "no instance of it is running any more"},
            )
        return found

    # -- deploy -------------------------------------------------------------------
    def _catalog(self) -> dict[str, Any]:
        data = self._api_call("GET", "/instance-types")
        if not isinstance(data, Mapping):
            raise ProviderError("unexpected instance-types response", provider=self.name)
        return dict(data)

    def _placement(
        self, spec: DeploymentSpec, catalog: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any], list[str]]:
        """The region to launch in, the instance type's entry, and regions with capacity."""
        assert spec.instance is not None
        entry = catalog.get(spec.instance)
        if not isinstance(entry, Mapping):
            close = closest_matches(spec.instance, catalog)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ConfigError(
                f"instance: Lambda has no instance type {spec.instance!r}{hint}",
                provider=self.name,
            )
        capacity = [
            str(region.get("name"))
            for region in entry.get("regions_with_capacity_available") or []
            if isinstance(region, Mapping)
        ]
        region = spec.region or self.setting("region")
        if region and region not in capacity:
            where = ", ".join(capacity) if capacity else "none right now"
            raise CapacityUnavailable(
                f"Lambda has no capacity for {spec.instance} in {region}; regions with"
                f" capacity: {where}",
                provider=self.name,
            )
        if not region:
            if not capacity:
                raise CapacityUnavailable(
                    f"Lambda has no capacity for {spec.instance} in any region right now;"
                    " try another instance type or later",
                    provider=self.name,
                )
            region = capacity[0]
        return str(region), dict(entry), capacity

    def _launch_body(
        self, spec: DeploymentSpec, region: str, entry: Mapping[str, Any], replica: int
    ) -> dict[str, Any]:
        options = self._options(spec)
        for name, value in spec.env.items():
            if value and is_secret_key(name):
                Secret(value)  # scrubbed from logs and errors from now on
        files = options["file_system_names"]
        plan = ServerPlan(
            model=spec.model,
            key=self.server_key(spec.name, self._auth_reference()),
            port=options["port"],
            image=spec.image,
            server_args=options["server_args"],
            env=dict(spec.env),
            gpus=int(((entry.get("instance_type") or {}).get("specs") or {}).get("gpus") or 1),
            cache_dir=f"/lambda/nfs/{files[0]}/hostkit-hf-cache"
            if files
            else "/opt/hostkit/hf-cache",
        )
        try:
            user_data = render_user_data(plan)
        except ValueError as error:
            raise ConfigError(str(error), provider=self.name) from None
        server = "vllm" if is_vllm_image(spec.image) else "custom"
        tags = [
            (TAG_DEPLOYMENT, spec.name),
            (TAG_MODEL, spec.model),
            (TAG_FINGERPRINT, self.shape_fingerprint(spec)),
            (TAG_REPLICA, str(replica)),
            (TAG_PORT, str(options["port"])),
            (TAG_SERVER, server),
            (TAG_AUTH, self._auth_reference()),
        ]
        if server == "custom":
            tags.append((TAG_INVOKE_PATH, options["invoke_path"]))
        if options["health_path"] != "/health":
            tags.append((TAG_HEALTH_PATH, options["health_path"]))
        body: dict[str, Any] = {
            "region_name": region,
            "instance_type_name": spec.instance,
            "ssh_key_names": [options["ssh_key_name"]],
            "name": spec.name,
            "user_data": user_data,
            "tags": [{"key": key, "value": value} for key, value in tags],
        }
        if files:
            body["file_system_names"] = files
        if options["firewall_ruleset_ids"]:
            body["firewall_rulesets"] = [{"id": i} for i in options["firewall_ruleset_ids"]]
        return body

    def _pace(self) -> None:
        """Wait out Lambda's launch rate limit (one launch per ``launch_interval`` s)."""
        with self._lock:
            if self._last_launch is not None:
                wait = self.launch_interval - (time.monotonic() - self._last_launch)
                if wait > 0:
                    report_progress(f"waiting {wait:.0f}s: Lambda allows one launch per 12s")
                    self.sleep(wait)
            self._last_launch = time.monotonic()

    def _launch(
        self,
        spec: DeploymentSpec,
        replica: int,
        region: str,
        entry: Mapping[str, Any],
        capacity: list[str] | None,
    ) -> str:
        """Launch one replica; safe to retry: a retry looks the replica up by name first."""
        body = self._launch_body(spec, region, entry, replica)
        context = {"instance": spec.instance, "region": region, "capacity": capacity}
        attempts = 0

        def attempt() -> str:
            nonlocal attempts
            attempts += 1
            self._pace()
            if attempts > 1:
                for instance in self._instances(spec.name, once=True):
                    if _replica(instance) == replica:
                        return str(instance["id"])
            data = self._api_once("POST", "/instance-operations/launch", json=body, context=context)
            ids = data.get("instance_ids") if isinstance(data, Mapping) else None
            if not ids:
                raise ProviderError(f"launch returned no instance id: {data!r}", provider=self.name)
            return str(ids[0])

        report_progress(f"{spec.name}: launching replica {replica} ({spec.instance}, {region})")
        return self.retry.call(attempt, safe=True)

    def _create(self, spec: DeploymentSpec) -> Deployment:
        self._specs[spec.name] = spec
        catalog = self._catalog()
        region, entry, capacity = self._placement(spec, catalog)
        existing = {_replica(i) for i in self._instances(spec.name)}
        wanted = spec.replicas or 1
        ids = [
            self._launch(spec, replica, region, entry, capacity)
            for replica in range(wanted)
            if replica not in existing
        ]
        instance_type = entry.get("instance_type") or {}
        return Deployment(
            name=spec.name,
            provider=self.name,
            model=spec.model,
            status="deploying",
            replicas=wanted,
            instance=spec.instance,
            region=region,
            fingerprint=self.shape_fingerprint(spec),
            raw={
                "launched": ids,
                "spec": spec.to_dict(redact=True),
                "price_cents_per_hour": instance_type.get("price_cents_per_hour"),
                "price_as_of": _today(),
            },
        )

    def _update(self, existing: Deployment, spec: DeploymentSpec) -> Deployment:
        if existing.fingerprint == self.shape_fingerprint(spec):
            self._specs[spec.name] = spec
            return self._scale(existing, spec.replicas or 1, None, None)
        report_progress(
            f"{spec.name}: Lambda cannot change an instance in place; replacing its instances"
        )
        self._teardown(existing)
        return self._create(spec)

    # -- scale ----------------------------------------------------------------------
    def _spec_for(self, deployment: Deployment) -> DeploymentSpec:
        """The spec new replicas are launched from (secret env values from this process)."""
        if deployment.name in self._specs:
            return self._specs[deployment.name]
        saved = deployment.raw.get("spec")
        if not isinstance(saved, Mapping):
            raise ConfigError(
                f"{deployment.name}: scaling up needs the spec it was deployed from, which"
                " this machine does not have (hostkit keeps it in its state dir where it"
                " deployed); scale from there, or call deploy(spec, update=True) with"
                " replicas=N",
                provider=self.name,
            )
        data = dict(saved)
        env = dict(data.get("env") or {})
        for key, value in env.items():
            if value == "***":
                if key not in os.environ:
                    raise ConfigError(
                        f"{deployment.name}: scaling up needs the value of env {key}, which"
                        " hostkit never stores; set it in this process's environment",
                        provider=self.name,
                    )
                env[key] = os.environ[key]
        data["env"] = env
        return DeploymentSpec.from_dict(data)

    def _scale(
        self,
        deployment: Deployment,
        replicas: int | None,
        min_replicas: int | None,
        max_replicas: int | None,
    ) -> Deployment:
        assert replicas is not None  # the capabilities route min/max to Unsupported
        instances = self._instances(deployment.name)
        if not instances:
            raise NotFound(
                f"{deployment.name} has no running instance on {self.name}", provider=self.name
            )
        have = {_replica(i): i for i in instances}
        raw = dict(deployment.raw)
        if replicas > len(have):
            spec = self._spec_for(deployment)
            self._specs[deployment.name] = spec
            region = str((instances[0].get("region") or {}).get("name"))
            entry = {"instance_type": instances[0].get("instance_type") or {}}
            free = (n for n in itertools.count() if n not in have)
            launched = [
                self._launch(spec, next(free), region, entry, None)
                for _ in range(replicas - len(have))
            ]
            raw["launched"] = launched
            status = "updating"
        elif replicas < len(have):
            surplus = sorted(have)[replicas:]
            ids = [str(have[n]["id"]) for n in surplus]
            report_progress(f"{deployment.name}: terminating replica(s) {surplus}")
            self._terminate(ids)
            raw["terminated"] = ids
            kept = [have[n] for n in sorted(have)[:replicas]]
            status = "ready" if all(i.get("status") == "active" for i in kept) else "updating"
        else:
            status = deployment.status
        return Deployment(
            name=deployment.name,
            provider=self.name,
            model=deployment.model,
            status=cast(Status, status),
            endpoint=deployment.endpoint,
            replicas=replicas,
            instance=deployment.instance,
            region=deployment.region,
            fingerprint=deployment.fingerprint,
            raw=raw,
        )

    # -- teardown -------------------------------------------------------------------
    def _terminate(self, ids: list[str]) -> None:
        with contextlib.suppress(NotFound):  # already gone
            self._api_call("POST", "/instance-operations/terminate", json={"instance_ids": ids})

    def _teardown(self, deployment: Deployment) -> None:
        """Terminate every instance named after the deployment, then check none is left.

        Works from a placeholder (only the name): everything is found by name and tag.
        An instance Lambda cannot terminate yet (still booting) is waited for.
        """
        deadline = time.monotonic() + self.teardown_timeout
        terminated: set[str] = set()
        verify_until: float | None = None
        while True:
            instances = self._instances(deployment.name)
            if not instances:
                return
            pending = [i for i in instances if str(i.get("id")) not in terminated]
            if not pending:  # terminated, but still listed as running
                if verify_until is not None and time.monotonic() > verify_until:
                    raise ProviderError(
                        f"{deployment.name}: instance(s) {', '.join(sorted(terminated))} still"
                        " run after being terminated; check the Lambda console",
                        provider=self.name,
                    )
                self.sleep(self.poll_initial)
                continue
            now: list[dict[str, Any]] = []
            waiting: list[dict[str, Any]] = []
            for instance in pending:
                action = (instance.get("actions") or {}).get("terminate") or {}
                (now if action.get("available", True) else waiting).append(instance)
            if now:
                ids = [str(i["id"]) for i in now]
                report_progress(f"{deployment.name}: terminating {', '.join(ids)}")
                self._terminate(ids)
                terminated.update(ids)
                verify_until = time.monotonic() + 120.0
            if waiting:
                if time.monotonic() > deadline:
                    raise Timeout(
                        f"{deployment.name}: Lambda would not let hostkit terminate"
                        f" {', '.join(str(i['id']) for i in waiting)} within"
                        f" {self.teardown_timeout:.0f}s; terminate it in the Lambda console",
                        provider=self.name,
                    )
                action = (waiting[0].get("actions") or {}).get("terminate") or {}
                why = action.get("reason_description") or "it is still booting"
                report_progress(f"{deployment.name}: waiting to terminate: {why}")
                self.sleep(self.poll_initial)

    # -- invoke ---------------------------------------------------------------------
    def capabilities_for(self, deployment: Deployment) -> Capabilities:
        if deployment.raw.get("server") == "custom":
            return Capabilities(
                dedicated=True, native_async=True, manual_scaling=True, streaming=False
            )
        return self.capabilities

    def _targets(self, deployment: Deployment) -> list[str]:
        """Base URLs of the deployment's ready replicas (refreshed when none is known)."""
        rows = [r for r in deployment.raw.get("instances", []) if r.get("state") == "ready"]
        if not rows:
            fresh = self.status(deployment)
            rows = [r for r in fresh.raw.get("instances", []) if r.get("state") == "ready"]
            if not rows:
                raise ProviderError(
                    f"{deployment.name} has no ready replica (it is {fresh.status}); wait for"
                    " it: provider.wait(deployment)",
                    provider=self.name,
                    retryable=False,
                )
            deployment.raw.update(fresh.raw)
        port = int(deployment.raw.get("port", 8000))
        return [f"http://{row['ip']}:{port}" for row in rows]

    def _next(self, deployment: Deployment, targets: list[str]) -> str:
        with self._lock:
            turn = self._turns.setdefault(deployment.name, itertools.count())
            return targets[next(turn) % len(targets)]

    def _request_parts(
        self, deployment: Deployment, request: Any, params: Mapping[str, Any], stream: bool
    ) -> tuple[str, dict[str, str], Any]:
        key = self.server_key(deployment.name, str(deployment.raw.get("auth", "derived")))
        headers = {"authorization": f"Bearer {key}", "accept": "application/json"}
        if deployment.raw.get("server") == "custom":
            if stream:
                raise Unsupported(
                    f"{deployment.name} runs a custom image, whose streaming hostkit does not"
                    " know; use invoke",
                    provider=self.name,
                )
            payload = request if isinstance(request, Mapping | list) else {"inputs": request}
            return str(deployment.raw.get("invoke_path", "/invocations")), headers, payload
        body = build_chat_body(deployment.model, request, params, stream=stream)
        if stream:
            headers["accept"] = "text/event-stream"
        return "/v1/chat/completions", headers, body

    def _server_once(self, url: str, headers: Mapping[str, str], body: Any) -> httpx.Response:
        def send() -> httpx.Response:
            with translate_transport_errors(self.name):
                response = self.servers.client.post(url, headers=dict(headers), json=body)
            if response.status_code >= 400:
                raise self._status_error(response, "server")
            return response

        return self._translated(send)

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
        targets = self._targets(deployment)
        path, headers, body = self._request_parts(deployment, request, params, stream=False)
        started = time.perf_counter()

        def attempt() -> httpx.Response:  # each retry goes to the next replica
            return self._server_once(self._next(deployment, targets) + path, headers, body)

        response = self.retry.call(attempt, safe=True)
        return self._result(deployment, response, started)

    async def ainvoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        deployment = self.resolve(deployment)
        targets = self._targets(deployment)
        path, headers, body = self._request_parts(deployment, request, params, stream=False)
        started = time.perf_counter()

        async def attempt() -> httpx.Response:
            url = self._next(deployment, targets) + path
            with translate_transport_errors(self.name):
                response = await self.servers.aclient.post(url, headers=headers, json=body)
            if response.status_code >= 400:
                raise self._status_error(response, "server")
            return response

        response = await self.acall(attempt, safe=True)
        return self._result(deployment, response, started)

    def stream(self, deployment: Deployment, request: Any, **params: Any) -> Stream:
        deployment = self.resolve(deployment)
        targets = self._targets(deployment)
        path, headers, body = self._request_parts(deployment, request, params, stream=True)
        started = time.perf_counter()
        client = self.servers.client

        def attempt() -> httpx.Response:
            url = self._next(deployment, targets) + path

            def send() -> httpx.Response:
                with translate_transport_errors(self.name):
                    built = client.build_request("POST", url, headers=headers, json=body)
                    response = client.send(built, stream=True)
                if response.status_code >= 400:
                    response.read()
                    response.close()
                    raise self._status_error(response, "server")
                return response

            return self._translated(send)

        response = self.retry.call(attempt, safe=True)
        return chat_stream(
            response.iter_lines(),
            provider=self.name,
            model=deployment.model,
            started=started,
            close=response.close,
            request_id=request_id_from(response.headers),
        )

    # -- money ------------------------------------------------------------------------
    def _live_price(self, instance: str) -> tuple[float, str] | None:
        """Lambda's own hourly price for ``instance`` (and the date read), if reachable."""
        if not self.api_key(required=False):
            return None
        entry = self._catalog().get(instance)
        if not isinstance(entry, Mapping):
            return None
        cents = (entry.get("instance_type") or {}).get("price_cents_per_hour")
        return (float(cents) / 100, _today()) if cents is not None else None

    def cost(
        self,
        target: Deployment | DeploymentSpec,
        *,
        hours: float | None = None,
        requests: int | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
    ) -> CostEstimate:
        """Instances times hours times Lambda's hourly price (live from the API when it has one)."""
        if hours is None and (requests or input_tokens or output_tokens):
            return self.unknown_cost(
                "requests or tokens",
                "Lambda bills instances by the hour whatever they serve; pass hours=...",
            )
        hours = 1.0 if hours is None else float(hours)
        if hours < 0:
            raise ConfigError(f"hours: must not be negative, got {hours}")
        instance = target.instance
        if not instance:
            raise ConfigError("cost: the spec names no instance type", provider=self.name)
        count = target.replicas if target.replicas is not None else 1
        notes: list[str] = []
        live: tuple[float, str] | None = None
        source = f"Lambda Cloud API GET {self.base_url}/instances (price_cents_per_hour)"
        if isinstance(target, Deployment):
            cents = target.raw.get("price_cents_per_hour")
            if cents is not None:
                live = (float(cents) / 100, str(target.raw.get("price_as_of") or _today()))
        else:
            source = f"Lambda Cloud API GET {self.base_url}/instance-types (price_cents_per_hour)"
            try:
                live = self._live_price(instance)
            except HostkitError as error:
                notes.append(f"live price unavailable ({error.message}); used the shipped table")
        if live is None:
            estimate = self.time_cost(instance, hours=hours, count=count, region=target.region)
            estimate.warnings.extend(notes)
            return estimate
        usd_per_hour, as_of = live
        line = CostLine(
            f"{count} x {instance}",
            "instance-hour",
            hours * count,
            usd_per_hour,
            hours * count * usd_per_hour,
        )
        return CostEstimate(
            usd=line.usd, breakdown=[line], source=source, as_of=as_of, warnings=notes
        )

    @property
    def hardware(self) -> dict[str, Hardware]:
        if self._hardware is None:
            from pathlib import Path

            self._hardware = load_hardware(Path(__file__).with_name(self.hardware_file))
        return self._hardware

    def fetch_live_prices(self) -> list[PriceRow]:
        """Live list prices for ``hostkit catalog --refresh`` (live_prices.py)."""
        from .live_prices import fetch_live_prices

        return fetch_live_prices(self)

    def offerings(self, region: str | None = None) -> list[Offering]:
        """Lambda's instance types with live prices and regions with capacity now.

        Without an API key: the shipped, dated price table (no capacity information).
        """
        if not self.api_key(required=False):
            return self._shipped_offerings()
        found: list[Offering] = []
        for name, entry in sorted(self._catalog().items()):
            kind = entry.get("instance_type") or {}
            specs = kind.get("specs") or {}
            hardware = self.hardware.get(name)
            regions: list[str | None] = [
                str(r.get("name")) for r in entry.get("regions_with_capacity_available") or []
            ]
            if region is not None:
                regions = [r for r in regions if r == region]
                if not regions:
                    continue
            cents = kind.get("price_cents_per_hour")
            for where in regions or [None]:  # sold out now: listed without a region
                found.append(
                    Offering(
                        provider=self.name,
                        name=name,
                        kind="instance",
                        region=where,
                        gpu_type=hardware.gpu_type if hardware else kind.get("gpu_description"),
                        gpu_count=specs.get("gpus"),
                        gpu_memory_gb=hardware.gpu_memory_gb if hardware else None,
                        vcpus=specs.get("vcpus"),
                        ram_gb=specs.get("memory_gib"),
                        usd_per_hour=float(cents) / 100 if cents is not None else None,
                        source=f"Lambda Cloud API GET {self.base_url}/instance-types",
                        as_of=_today(),
                    )
                )
        return found

    def _shipped_offerings(self) -> list[Offering]:
        found = []
        for row in self.prices.rows():
            found.append(instance_offering(self.name, row.key, self.hardware.get(row.key), row))
        return sorted(found, key=lambda o: o.name)

    def close(self) -> None:
        self.api.close()
        self.servers.close()

    async def aclose(self) -> None:
        await self.api.aclose()
        await self.servers.aclose()
