"""The ``azureml`` provider: Azure Machine Learning managed online endpoints.

hostkit drives the Azure ML control plane through azure-ai-ml's ``MLClient`` (one per
provider instance, built at first use, with its own retries off: ``retry_total=0``) and
azure-identity's ``DefaultAzureCredential`` (or any azure-core ``TokenCredential``
assigned to ``provider.credential``). It invokes the endpoint's scoring URI over HTTP
with the endpoint key, which it fetches through the API, keeps in memory only and never
logs or saves.

A hostkit deployment named ``NAME`` is one managed online endpoint
(``resources.endpoint_name(NAME)``, key auth, tagged with the hostkit name and the spec
fingerprint) holding one deployment named ``hostkit`` that takes 100 % of the traffic,
plus, once autoscaling is asked for, the Azure Monitor autoscale setting
``hostkit-<endpoint>``. Every name derives from ``NAME``, so any process can find,
scale or delete them all.

Long-running operations: MLClient's ``begin_*`` methods return pollers that poll in a
thread of their own (and print a dot per poll). hostkit instead starts each operation
with ``polling=False`` on the same MLClient's generated operations
(``ml.online_endpoints._online_operation``, ``ml.online_deployments._online_deployment``:
the very clients ``MLClient`` uses, with the same api-versions), keeps the operation's
``Azure-AsyncOperation`` URL, and polls the resources itself, so that hostkit's one wait
loop, timeout, progress messages and rollback apply. Other ARM requests (operation
status, autoscale settings) go through the same clients' pipeline (``send_request``):
one credential, one transport, no SDK retries.

Platform API calls, per operation (ARM: ``https://management.azure.com``):

* deploy: ``GET onlineEndpoints/{ep}`` (look-up) → [a local ``model``: register it as a
  model asset, uploading it to the workspace's default datastore unless a version with
  its content hash exists (artifacts.py)] → [``GET workspaces/{ws}`` when the
  ``region`` setting is not given] → ``PUT onlineEndpoints/{ep}`` → ``GET`` it until
  Succeeded → [LLM or ``image``: ``GET environments/hostkit-serving/versions/{v}``, and
  ``PUT`` it when missing] → ``PUT onlineEndpoints/{ep}/deployments/hostkit`` → ``GET``
  the endpoint and the deployment until Succeeded (on failure, ``GET`` the operation
  status for Azure's reason) → ``PUT onlineEndpoints/{ep}`` with traffic ``hostkit: 100``
  → [spec min/max: ``PUT microsoft.insights/autoscalesettings/hostkit-{ep}``] →
  ``POST onlineEndpoints/{ep}/listKeys``. A failed or timed-out deploy is torn down.
* get / status: ``GET onlineEndpoints/{ep}``, ``GET onlineEndpoints/{ep}/deployments/hostkit``
  (and, for a failed one, ``GET`` its operation status).
* invoke / ainvoke / stream: ``POST https://{ep}.{region}.inference.ml.azure.com/score``
  (``Authorization: Bearer <key>``, ``azureml-model-deployment: hostkit``); chat bodies
  for Hub models (TGI's OpenAI API, SSE when streaming), the raw payload otherwise.
* scale(N): ``DELETE autoscalesettings/hostkit-{ep}`` (a manual count does not stick
  under autoscale), ``PATCH onlineEndpoints/{ep}/deployments/hostkit`` ``{"sku":
  {"capacity": N}}``.
* scale(min, max): ``PUT autoscalesettings/hostkit-{ep}`` (CPU-based rules, hostkit's bounds).
* teardown: ``GET onlineEndpoints/{ep}`` → ``DELETE autoscalesettings/hostkit-{ep}`` →
  ``DELETE onlineEndpoints/{ep}`` (its deployment goes with it; again after a 409 while
  Azure finishes another operation) → ``GET`` until 404. Never an endpoint without the
  matching ``hostkit-name`` tag.
* metrics: Azure Monitor ``GET onlineEndpoints/{ep}/providers/Microsoft.Insights/metrics``
  (``RequestsPerMinute`` split by ``statusCodeClass``, then ``RequestLatency``; metrics.py).
* cost / offerings: no call (shipped price and hardware tables).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, NoReturn

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
    Usage,
)
from hostkit._logs import LogLine, Metrics
from hostkit.adapters import (
    Hardware,
    HttpClient,
    PriceRow,
    PriceTable,
    Secret,
    build_chat_body,
    get_logger,
    load_hardware,
    parse_accelerator,
    post_chat_stream,
    report_progress,
    result_from_completion,
)
from hostkit.errors import (
    AuthenticationError,
    CapacityUnavailable,
    ConfigError,
    DeploymentFailed,
    HostkitError,
    NotFound,
    PriceUnknown,
    ProviderError,
    QuotaExceeded,
    Timeout,
    Unsupported,
)

from . import _errors
from .artifacts import TAG_TREE, check_local, is_local
from .artifacts import register as register_local_model
from .containers import (
    ENVIRONMENT_NAME,
    Container,
    is_azureml_model,
    is_hub_model,
    llm_container,
    raw_container,
)
from .resources import (
    AUTOSCALE_API_VERSION,
    DEPLOYMENT,
    TAG_FINGERPRINT,
    TAG_KIND,
    TAG_MODEL,
    TAG_NAME,
    ArmIds,
    autoscale_body,
    autoscale_name,
    endpoint_name,
    summarise,
)

__all__ = ["OPTIONS", "AzureMLProvider"]

log = get_logger("hostkit.azureml")

#: spec ``options`` and what they mean
OPTIONS: dict[str, str] = {
    "environment": "an Azure ML environment for an azureml: model (azureml:NAME:VERSION,"
    " an azureml://registries/... id or an ARM id); default: the model's own",
    "port": "the port the container listens on (default 80 for TGI, 5001 for custom images)",
    "health_path": "the container's liveness and readiness path (default /health, or /)",
    "scoring_path": "the container path the scoring URI forwards to"
    " (default /v1/chat/completions for LLMs, /score otherwise)",
    "model_mount_path": "where an azureml: model is mounted in a custom container",
    "startup_timeout": "seconds the container may take to load before its probes fail"
    " (default 1800 for LLMs, 600 otherwise)",
    "request_timeout_ms": "the endpoint's per-request timeout, 1000-180000"
    " (default 180000 for LLMs; Azure's own default otherwise)",
    "max_concurrent_requests_per_instance": "requests one instance takes at once"
    " (default 16 for LLMs; Azure's own default, 1, otherwise)",
    "app_insights": "send request logs to the workspace's Application Insights (default false)",
}
_INT_OPTIONS = (
    "port",
    "startup_timeout",
    "request_timeout_ms",
    "max_concurrent_requests_per_instance",
)
_STR_OPTIONS = ("environment", "health_path", "scoring_path", "model_mount_path")
_PRICE_SOURCE_NOTE = "on-demand list price, Linux, pay as you go"
_CHAT_PATH = "v1/chat/completions"


@dataclass
class _Creating:
    """What this process knows of a deploy it started (in memory only: env may hold secrets)."""

    spec: DeploymentSpec
    traffic_set: bool = False
    autoscale_set: bool = False


@dataclass(frozen=True)
class _Plan:
    """How a spec becomes an Azure deployment."""

    kind: str  # "chat" (a Hub model in an OpenAI-compatible server) or "raw"
    container: Container
    model_id: str | None
    environment_id: str | None


def _capture(pipeline_response: Any, deserialized: Any, headers: Any) -> tuple[dict[str, str], Any]:
    """``cls=`` for generated operations: the response headers and the parsed body."""
    raw = pipeline_response.http_response.headers
    return {str(k).lower(): str(v) for k, v in raw.items()}, deserialized


def _as_dict(model: Any) -> dict[str, Any]:
    """An SDK model as its REST JSON (wire names, e.g. ``properties.provisioningState``)."""
    data = model.as_dict() if hasattr(model, "as_dict") else dict(model)
    return data if isinstance(data, dict) else {}


class AzureMLProvider(Provider):
    """Azure Machine Learning managed online endpoints, through azure-ai-ml's MLClient."""

    name = "azureml"
    description = (
        "Azure Machine Learning managed online endpoints in your subscription (azure-ai-ml);"
        " billed per instance-hour"
    )
    capabilities = Capabilities(
        dedicated=True,
        streaming=True,
        native_async=True,
        manual_scaling=True,
        autoscaling=True,
        scale_to_zero=False,
    )
    #: azure-identity's DefaultAzureCredential is a chain, not one variable
    credential_env = None
    requires = ("azure.ai.ml", "azure.identity")
    install_extra = "azureml"
    settings_schema: ClassVar[Mapping[str, type | tuple[type, ...]]] = {
        "subscription_id": str,
        "resource_group": str,
        "workspace": str,
    }
    price_file = "prices.toml"
    hardware_file: ClassVar[str] = "hardware.toml"
    unsupported: ClassVar[Mapping[str, str]] = {
        "scale_to_zero": (
            "Azure ML managed online deployments keep at least one instance running (the"
            " minimum instance count is 1); tear the deployment down to stop paying, and"
            " deploy it again when needed"
        ),
        "update": (
            "hostkit does not change an Azure ML deployment in place (the instance type of"
            " a managed deployment is fixed); tear it down and deploy again, or deploy the"
            " new spec under another name"
        ),
    }
    #: a long generation may take the endpoint's whole request timeout (180 s for LLMs)
    default_timeout = 180.0
    #: TGI pulls the image and the weights before it answers: allow an hour
    deploy_timeout = 3600.0
    poll_initial = 5.0
    poll_max = 30.0
    #: how long teardown waits for Azure to finish deleting the endpoint
    teardown_timeout: ClassVar[float] = 1200.0

    def setup(self) -> None:
        #: any azure-core TokenCredential; None: DefaultAzureCredential at first use
        self.credential: Any = None
        self._ml: Any = None
        region = self.setting("region")
        self._location: str | None = _region(region) if region else None
        self._creating: dict[str, _Creating] = {}
        self._failures: dict[str, str] = {}
        self._keys: dict[str, Secret] = {}
        self._clients: dict[str, HttpClient] = {}
        self._async_clients: dict[str, tuple[object, HttpClient]] = {}
        self._context: tuple[str | None, str | None] = (None, None)
        self._hardware: dict[str, Hardware] | None = None

    # -- SDK plumbing --------------------------------------------------------
    def new_credential(self) -> Any:
        """The credential used when none is assigned: azure-identity's DefaultAzureCredential."""
        identity = self.import_sdk("azure.identity")
        return identity.DefaultAzureCredential()

    def _required(self, key: str) -> str:
        value = self.setting(key)
        if not value:
            raise ConfigError(
                f"the azureml provider needs the setting {key!r}: set subscription_id,"
                " resource_group and workspace under [providers.azureml] in hostkit.toml"
                " (or pass them to get_provider)",
                provider=self.name,
            )
        return str(value)

    @property
    def ids(self) -> ArmIds:
        return ArmIds(
            self._required("subscription_id"),
            self._required("resource_group"),
            self._required("workspace"),
        )

    @property
    def ml(self) -> Any:
        """The MLClient (built at first use; construction sends nothing)."""
        if self._ml is None:
            ids = self.ids
            azure_ml = self.import_sdk("azure.ai.ml")
            if self.credential is None:
                self.credential = self.new_credential()
            self._ml = azure_ml.MLClient(
                self.credential,
                ids.subscription,
                ids.resource_group,
                ids.workspace,
                retry_total=0,  # hostkit's RetryPolicy is the only retry loop
                enable_telemetry=False,
                show_progress=False,
                connection_timeout=min(10.0, self.timeout),
                read_timeout=self.timeout,
            )
        return self._ml

    @property
    def _endpoint_ops(self) -> Any:
        # the generated client MLClient's own OnlineEndpointOperations uses
        return self.ml.online_endpoints._online_operation

    @property
    def _deployment_ops(self) -> Any:
        # the generated client MLClient's own OnlineDeploymentOperations uses
        return self.ml.online_deployments._online_deployment

    def _scope(self) -> dict[str, str]:
        return {
            "resource_group_name": self._required("resource_group"),
            "workspace_name": self._required("workspace"),
        }

    def _arm(
        self, method: str, url: str, *, body: Any = None, api_version: str | None = None
    ) -> dict[str, Any] | None:
        """One ARM request through MLClient's own pipeline (its credential, transport, retries)."""
        rest = self.import_sdk("azure.core.rest")
        params = {"api-version": api_version} if api_version else None
        request = rest.HttpRequest(method, url, json=body, params=params)
        response = self._deployment_ops._client.send_request(request)
        if response.status_code >= 400:
            core = self.import_sdk("azure.core.exceptions")
            arm_format = self.import_sdk("azure.mgmt.core.exceptions").ARMErrorFormat
            error_map = {
                401: core.ClientAuthenticationError,
                404: core.ResourceNotFoundError,
                409: core.ResourceExistsError,
            }
            core.map_error(status_code=response.status_code, response=response, error_map=error_map)
            raise core.HttpResponseError(response=response, error_format=arm_format)
        text = response.text()
        return json.loads(text) if text.strip() else None

    def translate_error(self, error: Exception) -> HostkitError | None:
        instance, region = self._context
        return _errors.translate(error, provider=self.name, instance=instance, region=region)

    @contextlib.contextmanager
    def _about(self, instance: str | None, region: str | None) -> Iterator[None]:
        """Name the instance type and region in quota and capacity errors raised inside."""
        previous = self._context
        self._context = (instance, region)
        try:
            yield
        finally:
            self._context = previous

    def fetch_live_prices(self) -> list[PriceRow]:
        """Retail Prices API list prices for ``hostkit catalog --refresh`` (live_prices.py)."""
        from .live_prices import fetch_live_prices

        return fetch_live_prices(self)

    # -- spec ----------------------------------------------------------------
    @property
    def hardware(self) -> dict[str, Hardware]:
        if self._hardware is None:
            self._hardware = load_hardware(Path(__file__).with_name(self.hardware_file))
        return self._hardware

    def validate_spec(self, spec: DeploymentSpec) -> None:
        unknown = sorted(set(spec.options) - set(OPTIONS))
        if unknown:
            raise ConfigError(
                f"options: unknown option(s) {', '.join(unknown)} for azureml;"
                f" allowed: {', '.join(sorted(OPTIONS))}",
                provider=self.name,
            )
        for key in _INT_OPTIONS:
            value = spec.options.get(key)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ConfigError(f"options.{key}: expected a whole number >= 1, got {value!r}")
        for key in _STR_OPTIONS:
            value = spec.options.get(key)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ConfigError(f"options.{key}: expected a non-empty string, got {value!r}")
        if not isinstance(spec.options.get("app_insights", False), bool):
            raise ConfigError("options.app_insights: expected true or false")
        timeout_ms = spec.options.get("request_timeout_ms")
        if timeout_ms is not None and not 1000 <= timeout_ms <= 180000:
            raise ConfigError(
                "options.request_timeout_ms: Azure ML managed endpoints allow 1000 to 180000"
                f" milliseconds, got {timeout_ms}"
            )
        self._check_model(spec)
        if not spec.instance:
            raise ConfigError(
                "instance: Azure ML needs a VM size for the deployment, e.g."
                ' Standard_NC24ads_A100_v4 (get_provider("azureml").offerings() lists GPU sizes)',
                provider=self.name,
            )
        self._check_accelerator(spec)
        for field_name in ("replicas", "min_replicas"):
            if getattr(spec, field_name) == 0:
                raise ConfigError(
                    f"{field_name}: {self.unsupported['scale_to_zero']}", provider=self.name
                )
        if spec.scale_to_zero_after is not None:
            raise ConfigError(
                f"scale_to_zero_after: {self.unsupported['scale_to_zero']}", provider=self.name
            )
        if spec.region and self._location and _region(spec.region) != self._location:
            raise ConfigError(
                f"region: {spec.region!r} differs from the workspace region {self._location!r};"
                " an Azure ML endpoint lives in its workspace's region",
                provider=self.name,
            )

    def _check_model(self, spec: DeploymentSpec) -> None:
        model = spec.model
        if is_local(model):
            check_local(spec)  # a local directory or file, registered at deploy (artifacts.py)
            return
        if is_azureml_model(model):
            if model.startswith("azureml:") and not model.startswith("azureml://"):
                parts = model.removeprefix("azureml:").split(":")
                if len(parts) != 2 or not all(parts) or "@" in model:
                    raise ConfigError(
                        f"model: {model!r}: name a registered model with its version,"
                        " azureml:NAME:VERSION (or an azureml://registries/... id)",
                        provider=self.name,
                    )
            return
        if "environment" in spec.options:
            raise ConfigError(
                "options.environment: only for azureml: models; a Hugging Face model runs in"
                " the LLM server container (set image to use another one)",
                provider=self.name,
            )
        if not is_hub_model(model):
            raise ConfigError(
                f"model: {model!r} is neither a Hugging Face Hub id (org/name), served with"
                " the TGI LLM container, nor an Azure ML model (azureml:NAME:VERSION or"
                " azureml://registries/...), nor a local path such as ./model (registered"
                " as an Azure ML model from this machine)",
                provider=self.name,
            )

    def _check_accelerator(self, spec: DeploymentSpec) -> None:
        if not spec.accelerator:
            return
        wanted = parse_accelerator(spec.accelerator)  # portable: "A100-80GB:1", at least 1
        hardware = self.hardware.get(spec.instance or "")
        matches = hardware is not None and wanted.accepts(
            hardware.gpu_type, hardware.gpu_memory_gb, hardware.gpu_count
        )
        if not matches:
            raise ConfigError(
                f"accelerator: {spec.accelerator!r} does not match instance {spec.instance!r};"
                " on Azure ML the instance (VM size) decides the GPUs, so set instance alone"
                ' (get_provider("azureml").offerings() lists each size\'s GPUs)',
                provider=self.name,
            )

    def _plan(self, spec: DeploymentSpec) -> _Plan:
        options = dict(spec.options)
        if is_azureml_model(spec.model):
            container = raw_container(spec.image, options)
            environment = options.get("environment")
            return _Plan(
                kind="raw",
                container=container,
                model_id=self.ids.asset(spec.model, "models"),
                environment_id=self.ids.asset(environment, "environments") if environment else None,
            )
        hardware = self.hardware.get(spec.instance or "")
        gpus = hardware.gpu_count if hardware else None
        return _Plan(
            kind="chat",
            container=llm_container(spec.model, spec.image, gpus, options),
            model_id=None,
            environment_id=None,
        )

    def capabilities_for(self, deployment: Deployment) -> Capabilities:
        if deployment.raw.get("kind") == "raw":
            return dataclasses.replace(self.capabilities, streaming=False)
        return self.capabilities

    # -- look-up ---------------------------------------------------------------
    def _get_endpoint(self, endpoint: str) -> dict[str, Any] | None:
        scope = self._scope()
        try:
            found = self.call(lambda: self._endpoint_ops.get(endpoint_name=endpoint, **scope))
        except NotFound:
            return None
        return _as_dict(found)

    def _get_deployment(self, endpoint: str) -> dict[str, Any] | None:
        scope = self._scope()
        try:
            found = self.call(
                lambda: self._deployment_ops.get(
                    endpoint_name=endpoint, deployment_name=DEPLOYMENT, **scope
                )
            )
        except NotFound:
            return None
        return _as_dict(found)

    def find(self, name: str) -> Deployment | None:
        endpoint = self._get_endpoint(endpoint_name(name))
        if endpoint is None:
            return None
        deployment = self._get_deployment(endpoint_name(name))
        previous = None
        if (record := self.records.load(name)) is not None:
            with contextlib.suppress(ConfigError, TypeError):
                previous = Deployment.from_dict(record)
        return self._describe(name, endpoint, deployment, previous)

    def status(self, deployment: Deployment) -> Deployment:
        ep = endpoint_name(deployment.name)
        endpoint = self._get_endpoint(ep)
        found = self._get_deployment(ep) if endpoint is not None else None
        current = self._describe(deployment.name, endpoint, found, deployment)
        creating = self._creating.get(deployment.name)
        if creating is not None and endpoint is not None:
            current = self._finish_creating(current, creating, endpoint)
        return current

    def _describe(
        self,
        name: str,
        endpoint: dict[str, Any] | None,
        deployment: dict[str, Any] | None,
        previous: Deployment | None,
    ) -> Deployment:
        """hostkit's view of the endpoint and its deployment (``previous`` fills the gaps)."""
        status, reason = summarise(endpoint, deployment)
        endpoint = endpoint or {}
        tags = endpoint.get("tags") or {}
        props = endpoint.get("properties") or {}
        dep_props = (deployment or {}).get("properties") or {}
        model = tags.get(TAG_MODEL) or (previous.model if previous else "") or ""
        raw = {k: v for k, v in (previous.raw if previous else {}).items() if k != "failure_reason"}
        raw.update(
            {
                "endpoint_name": endpoint_name(name),
                "deployment_name": DEPLOYMENT,
                "kind": tags.get(TAG_KIND)
                or raw.get("kind")
                or ("chat" if is_hub_model(model) else "raw"),
                "endpoint_state": props.get("provisioningState"),
                "deployment_state": dep_props.get("provisioningState"),
                "traffic": dict(props.get("traffic") or {}),
            }
        )
        if tags.get(TAG_NAME):
            raw["owner"] = tags[TAG_NAME]
        if tags.get(TAG_TREE):  # a local model: the content hash it was registered from
            raw["model_sha256"] = tags[TAG_TREE]
        instance = dep_props.get("instanceType") or (previous.instance if previous else None)
        region = endpoint.get("location") or (previous.region if previous else None)
        if status == "failed":
            url = None
            if dep_props.get("provisioningState") in ("Failed", "Canceled"):
                url = raw.get("deployment_operation") or _operation_of(dep_props)
            elif props.get("provisioningState") in ("Failed", "Canceled"):
                url = raw.get("endpoint_operation") or _operation_of(props)
            raw["failure_reason"] = (
                self._failure_reason(name, url, reason, instance, region) if url else reason
            )
        capacity = ((deployment or {}).get("sku") or {}).get("capacity")
        previous_replicas = previous.replicas if previous else None
        return Deployment(
            name=name,
            provider=self.name,
            model=model,
            status=status,  # type: ignore[arg-type]
            endpoint=props.get("scoringUri") or (previous.endpoint if previous else None),
            replicas=capacity if capacity is not None else previous_replicas,
            instance=instance,
            region=_region(region) if region else None,
            min_replicas=previous.min_replicas if previous else None,
            max_replicas=previous.max_replicas if previous else None,
            fingerprint=tags.get(TAG_FINGERPRINT) or (previous.fingerprint if previous else None),
            raw=raw,
        )

    def _failure_reason(
        self,
        name: str,
        url: str | None,
        fallback: str | None,
        instance: str | None,
        region: str | None,
    ) -> str:
        """Azure's own words for a failure: the error of the failed operation, when known."""
        error: dict[str, Any] = {}
        if url:
            with contextlib.suppress(HostkitError):
                error = (self.call(lambda: self._arm("GET", url)) or {}).get("error") or {}
        code, message = error.get("code"), error.get("message")
        if not message:
            hint = (
                f"; see the container logs: az ml online-deployment get-logs"
                f" -e {endpoint_name(name)} -n {DEPLOYMENT}"
            )
            return (fallback or "Azure reported a failure") + hint
        text = _errors.explain(code, message)
        kind = _errors.classify(code, message)
        if kind:
            self._failures[name] = kind
            if instance and instance not in text:
                text += f" (instance type {instance}" + (f" in {region})" if region else ")")
            elif region and region not in text:
                text += f" (region {region})"
        return text

    def failure_reason(self, deployment: Deployment) -> str | None:
        reason = deployment.raw.get("failure_reason")
        return str(reason) if reason else None

    # -- deploy ----------------------------------------------------------------
    def _workspace_location(self) -> str:
        if self._location is None:
            workspace = self._required("workspace")
            found = self.call(lambda: self.ml.workspaces.get(workspace))
            self._location = _region(str(found.location))
        return self._location

    def _create(self, spec: DeploymentSpec) -> Deployment:
        asset = digest = None
        if is_local(spec.model):  # register (and upload) it first; content-addressed
            asset, digest = register_local_model(self, spec.model)
        plan = self._plan(spec if asset is None else spec.replace(model=asset))
        location = self._workspace_location()
        if spec.region and _region(spec.region) != location:
            raise ConfigError(
                f"region: {spec.region!r} differs from the workspace region {location!r};"
                " an Azure ML endpoint lives in its workspace's region",
                provider=self.name,
            )
        ep = endpoint_name(spec.name)
        tags = {
            TAG_NAME: spec.name,
            TAG_FINGERPRINT: spec.fingerprint(),
            TAG_MODEL: spec.model[:256],
            TAG_KIND: plan.kind,
            **({TAG_TREE: digest} if digest else {}),
        }
        count = spec.replicas or spec.min_replicas or 1
        with self._about(spec.instance, location):
            report_progress(f"{spec.name}: creating online endpoint {ep} in {location}")
            endpoint_operation = self._put_endpoint(ep, location, tags, traffic=None)
            self._creating[spec.name] = _Creating(spec=spec)
            self._wait_for_endpoint(spec.name, ep, endpoint_operation)
            environment_id = plan.environment_id
            if plan.container.image:
                environment_id = self._ensure_environment(plan.container)
            report_progress(
                f"{spec.name}: creating deployment {DEPLOYMENT} ({count} x {spec.instance})"
            )
            deployment_operation = self._put_deployment(
                ep, location, spec, plan, environment_id, count, tags
            )
        return Deployment(
            name=spec.name,
            provider=self.name,
            model=spec.model,
            status="deploying",
            replicas=count,
            instance=spec.instance,
            region=location,
            min_replicas=spec.min_replicas if spec.max_replicas else None,
            max_replicas=spec.max_replicas,
            fingerprint=spec.fingerprint(),
            raw={
                "endpoint_name": ep,
                "deployment_name": DEPLOYMENT,
                "kind": plan.kind,
                "endpoint_operation": endpoint_operation,
                "deployment_operation": deployment_operation,
                **({"model_asset": asset, "model_sha256": digest} if asset else {}),
            },
        )

    def _put_endpoint(
        self, ep: str, location: str, tags: dict[str, str], traffic: dict[str, int] | None
    ) -> str | None:
        entities = self.import_sdk("azure.ai.ml.entities")
        endpoint = entities.ManagedOnlineEndpoint(
            name=ep, auth_mode="key", tags=tags, traffic=traffic or {}
        )
        body = endpoint._to_rest_online_endpoint(location=location)
        scope = self._scope()
        poller = self.call(
            lambda: self._endpoint_ops.begin_create_or_update(
                endpoint_name=ep, body=body, polling=False, cls=_capture, **scope
            ),
            safe=False,
        )
        headers: dict[str, str] = poller.result()[0]
        return headers.get("azure-asyncoperation")

    def _wait_for_endpoint(self, name: str, ep: str, operation: str | None) -> None:
        deadline = time.monotonic() + self.deploy_timeout
        delay = self.poll_initial
        while True:
            endpoint = self._get_endpoint(ep)
            state = ((endpoint or {}).get("properties") or {}).get("provisioningState")
            if state == "Succeeded":
                return
            if endpoint is None or state in ("Failed", "Canceled", "Deleting"):
                reason = self._failure_reason(
                    name,
                    operation or _operation_of((endpoint or {}).get("properties") or {}),
                    f"the endpoint's provisioning state is {state or 'gone'}",
                    None,
                    self._location,
                )
                raise DeploymentFailed(
                    f"{name}: the online endpoint {ep} could not be created: {reason}",
                    reason=reason,
                    provider=self.name,
                )
            if time.monotonic() + delay > deadline:
                raise Timeout(
                    f"{name}: the online endpoint {ep} was still {state} after"
                    f" {self.deploy_timeout:.0f}s",
                    provider=self.name,
                )
            self.sleep(delay)
            delay = min(delay * 2, self.poll_max)

    def _ensure_environment(self, container: Container) -> str:
        """The environment asset for the container image (registered once, then reused)."""
        version = container.environment_version()
        # the generated operation MLClient's environments.get calls, without its telemetry
        # wrapper (which logs an ERROR for the 404 that is the normal answer here)
        versions = self.ml.environments._version_operations
        scope = self._scope()
        try:
            found = self.call(lambda: versions.get(name=ENVIRONMENT_NAME, version=version, **scope))
            return str(_as_dict(found).get("id") or self.ids.environment(ENVIRONMENT_NAME, version))
        except NotFound:
            pass
        entities = self.import_sdk("azure.ai.ml.entities")
        environment = entities.Environment(
            name=ENVIRONMENT_NAME,
            version=version,
            image=container.image,
            inference_config=container.inference_config(),
            description="Serving container registered by hostkit",
        )
        created = self.call(lambda: self.ml.environments.create_or_update(environment), safe=False)
        return str(created.id)

    def _put_deployment(
        self,
        ep: str,
        location: str,
        spec: DeploymentSpec,
        plan: _Plan,
        environment_id: str | None,
        count: int,
        tags: dict[str, str],
    ) -> str | None:
        entities = self.import_sdk("azure.ai.ml.entities")
        options = spec.options
        llm = plan.kind == "chat"
        timeout_ms = options.get("request_timeout_ms", 180000 if llm else None)
        concurrency = options.get("max_concurrent_requests_per_instance", 16 if llm else None)
        request_settings = None
        if timeout_ms is not None or concurrency is not None:
            request_settings = entities.OnlineRequestSettings(
                request_timeout_ms=timeout_ms,
                max_concurrent_requests_per_instance=concurrency,
            )
        startup = plan.container.startup_seconds
        first = min(startup, 600)
        deployment = entities.ManagedOnlineDeployment(
            name=DEPLOYMENT,
            endpoint_name=ep,
            model=plan.model_id,
            environment=environment_id,
            instance_type=spec.instance,
            instance_count=count,
            environment_variables={**plan.container.env, **spec.env} or None,
            request_settings=request_settings,
            liveness_probe=entities.ProbeSettings(
                initial_delay=first,
                period=10,
                timeout=10,
                failure_threshold=max(3, (startup - first) // 10 + 3),
            ),
            readiness_probe=entities.ProbeSettings(
                initial_delay=10, period=10, timeout=10, failure_threshold=max(30, startup // 10)
            ),
            model_mount_path=options.get("model_mount_path"),
            app_insights_enabled=bool(options.get("app_insights", False)),
            tags={TAG_NAME: tags[TAG_NAME], TAG_FINGERPRINT: tags[TAG_FINGERPRINT]},
        )
        body = deployment._to_rest_object(location=location)
        scope = self._scope()
        poller = self.call(
            lambda: self._deployment_ops.begin_create_or_update(
                endpoint_name=ep,
                deployment_name=DEPLOYMENT,
                body=body,
                polling=False,
                cls=_capture,
                **scope,
            ),
            safe=False,
        )
        headers: dict[str, str] = poller.result()[0]
        return headers.get("azure-asyncoperation")

    def _finish_creating(
        self, current: Deployment, creating: _Creating, endpoint: dict[str, Any]
    ) -> Deployment:
        """The last steps of this process's own deploy: all traffic, then autoscale bounds."""
        if current.status == "updating":
            current.status = "deploying"
        if current.status != "ready":
            return current
        spec = creating.spec
        if current.raw.get("traffic", {}).get(DEPLOYMENT) != 100:
            if not creating.traffic_set:
                try:
                    report_progress(f"{spec.name}: sending all traffic to {DEPLOYMENT}")
                    tags = dict(endpoint.get("tags") or {})
                    location = str(endpoint.get("location") or self._workspace_location())
                    ep = endpoint_name(spec.name)
                    self._put_endpoint(ep, location, tags, traffic={DEPLOYMENT: 100})
                    creating.traffic_set = True
                except HostkitError as error:
                    if error.status_code != 409:  # 409: the endpoint is busy; next poll
                        return self._failed(current, f"could not route traffic: {error.message}")
            current.status = "deploying"
            return current
        if spec.max_replicas is not None and not creating.autoscale_set:
            low = spec.min_replicas or 1
            try:
                self._put_autoscale(current, low, spec.max_replicas)
            except HostkitError as error:
                return self._failed(
                    current, f"could not set autoscaling {low}-{spec.max_replicas}: {error}"
                )
            creating.autoscale_set = True
        if spec.max_replicas is not None:
            current.min_replicas = spec.min_replicas or 1
            current.max_replicas = spec.max_replicas
        return current

    def _failed(self, current: Deployment, reason: str) -> Deployment:
        current.status = "failed"
        current.raw["failure_reason"] = reason
        return current

    def wait(self, deployment: Deployment, *, timeout: float | None = None) -> Deployment:
        """Wait for ready (see Provider.wait); then fetch the endpoint key for invoke.

        A quota or capacity failure is raised as DeploymentFailed (so that deploy deletes
        what it made) caused by QuotaExceeded or CapacityUnavailable.
        """
        self._failures.pop(deployment.name, None)
        try:
            ready = super().wait(deployment, timeout=timeout)
        except DeploymentFailed as error:
            kind = self._failures.pop(deployment.name, None)
            if kind is None:
                raise
            cause_class = CapacityUnavailable if kind == "capacity" else QuotaExceeded
            cause = cause_class(error.reason or error.message, provider=self.name)
            raise DeploymentFailed(
                error.message, reason=error.reason, provider=self.name
            ) from cause
        self._creating.pop(ready.name, None)
        try:
            self._key(ready)
        except HostkitError as error:  # the endpoint works; invoke will ask again
            log.warning("%s: could not fetch the endpoint key yet: %s", ready.name, error)
        return ready

    # -- invoke ----------------------------------------------------------------
    def _key(self, deployment: Deployment) -> str:
        """The endpoint's primary key (through the API; in memory only, never logged)."""
        ep = endpoint_name(deployment.name)
        secret = self._keys.get(ep)
        if secret is None:
            scope = self._scope()
            keys = _as_dict(
                self.call(lambda: self._endpoint_ops.list_keys(endpoint_name=ep, **scope))
            )
            primary = keys.get("primaryKey")
            if not primary:
                raise AuthenticationError(
                    f"Azure returned no key for endpoint {ep}; hostkit creates key-auth"
                    " endpoints, so this one was made or changed elsewhere",
                    provider=self.name,
                )
            secret = Secret(str(primary))
            self._keys[ep] = secret
        return secret.get()

    def _scoring(self, deployment: Deployment) -> tuple[str, str]:
        """``(origin, path)`` of the deployment's scoring URI."""
        uri = deployment.endpoint
        if not uri:
            raise Unsupported(
                f"{deployment.name} has no scoring URI yet (status {deployment.status});"
                " wait for it with refresh() or deploy(..., wait=True)",
                provider=self.name,
            )
        scheme, _, rest = uri.partition("://")
        host, _, path = rest.partition("/")
        return f"{scheme}://{host}", "/" + path

    def _client(self, origin: str) -> HttpClient:
        client = self._clients.get(origin)
        if client is None:
            client = HttpClient(
                provider=self.name,
                base_url=origin,
                retry=self.retry,
                timeout=self.timeout,
                max_connections=self.max_connections,
            )
            self._clients[origin] = client
        return client

    def _async_client(self, origin: str) -> HttpClient:
        """An HTTP client of the running event loop (pooled connections belong to a loop)."""
        loop = asyncio.get_running_loop()
        held = self._async_clients.get(origin)
        if held is None or held[0] is not loop:
            held = (
                loop,
                HttpClient(
                    provider=self.name,
                    base_url=origin,
                    retry=self.retry,
                    timeout=self.timeout,
                    max_connections=self.max_connections,
                ),
            )
            self._async_clients[origin] = held
        return held[1]

    @staticmethod
    def _headers(key: str) -> dict[str, str]:
        return {"authorization": f"Bearer {key}", "azureml-model-deployment": DEPLOYMENT}

    def _request(self, deployment: Deployment, request: Any, params: Mapping[str, Any]) -> Any:
        """The JSON body of one scoring call (chat for LLMs, the payload as it is otherwise)."""
        if deployment.raw.get("kind") != "raw":
            return build_chat_body(deployment.model, request, params)
        if params:
            raise ConfigError(
                f"invoke: {deployment.name} takes its payload as it is (a raw Azure ML"
                f" model); parameters {', '.join(sorted(params))} belong inside the payload",
                provider=self.name,
            )
        return request

    def _rejected_key(self, deployment: Deployment, error: AuthenticationError) -> NoReturn:
        self._keys.pop(endpoint_name(deployment.name), None)
        raise AuthenticationError(
            f"{error.message} (the endpoint rejected its key; if the keys were regenerated,"
            " call again and hostkit fetches the new one)",
            provider=self.name,
            status_code=error.status_code,
            request_id=error.request_id,
        ) from error

    def invoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        origin, path = self._scoring(deployment)
        body = self._request(deployment, request, params)
        key = self._key(deployment)
        started = time.perf_counter()
        try:
            response = self._client(origin).request(
                "POST", path, json=body, headers=self._headers(key), safe=True
            )
        except AuthenticationError as error:
            self._rejected_key(deployment, error)
        return self._result(deployment, response, time.perf_counter() - started)

    async def ainvoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        origin, path = self._scoring(deployment)
        body = self._request(deployment, request, params)
        if endpoint_name(deployment.name) in self._keys:
            key = self._key(deployment)
        else:
            key = await asyncio.to_thread(self._key, deployment)
        started = time.perf_counter()
        try:
            response = await self._async_client(origin).arequest(
                "POST", path, json=body, headers=self._headers(key), safe=True
            )
        except AuthenticationError as error:
            self._rejected_key(deployment, error)
        return self._result(deployment, response, time.perf_counter() - started)

    def _result(self, deployment: Deployment, response: Any, latency: float) -> InvokeResult:
        request_id = response.headers.get("x-request-id")
        if deployment.raw.get("kind") != "raw":
            result = result_from_completion(
                response.json(), provider=self.name, model=deployment.model, latency_s=latency
            )
            result.request_id = request_id or result.request_id
            return result
        try:
            output: Any = response.json()
        except ValueError:
            output = response.text
        return InvokeResult(
            text=output if isinstance(output, str) else None,
            output=output,
            usage=Usage(),
            latency_s=latency,
            provider=self.name,
            model=deployment.model,
            request_id=request_id,
            raw=output,
        )

    def stream(self, deployment: Deployment, request: Any, **params: Any) -> Stream:
        if deployment.raw.get("kind") == "raw":
            raise Unsupported(
                f"{deployment.name} serves an Azure ML model that answers in one piece;"
                " use invoke (streaming is for Hugging Face LLMs in the TGI container)",
                provider=self.name,
            )
        origin, path = self._scoring(deployment)
        body = build_chat_body(deployment.model, request, params, stream=True)
        key = self._key(deployment)
        try:
            return post_chat_stream(
                self._client(origin),
                path,
                body,
                provider=self.name,
                model=deployment.model,
                headers=self._headers(key),
            )
        except AuthenticationError as error:
            self._rejected_key(deployment, error)

    # -- logs (online_deployments.get_logs; see logs.py) -------------------------
    def _logs(
        self, deployment: Deployment, *, since: float | None, follow: bool
    ) -> Iterator[LogLine]:
        from hostkit_providers.azureml.logs import read_logs

        return read_logs(self, deployment, since=since, follow=follow)

    def metrics(self, deployment: Deployment, *, since: float | None = None) -> Metrics | None:
        """Requests, 4xx/5xx errors and average latency from Azure Monitor (see metrics.py)."""
        from hostkit_providers.azureml.metrics import read_metrics

        return read_metrics(self, deployment, since=since)

    # -- scale -----------------------------------------------------------------
    def _scale(
        self,
        deployment: Deployment,
        replicas: int | None,
        min_replicas: int | None,
        max_replicas: int | None,
    ) -> Deployment:
        ep = endpoint_name(deployment.name)
        if replicas is not None:
            self._delete_autoscale(ep)
            scope = self._scope()
            self.call(
                lambda: self._deployment_ops.begin_update(
                    endpoint_name=ep,
                    deployment_name=DEPLOYMENT,
                    body={"sku": {"capacity": replicas}},
                    polling=False,
                    **scope,
                )
            )
            report_progress(f"{deployment.name}: scaling to {replicas} instance(s)")
            return dataclasses.replace(
                deployment,
                status="updating",
                replicas=replicas,
                min_replicas=None,
                max_replicas=None,
            )
        low = min_replicas if min_replicas is not None else (deployment.min_replicas or 1)
        high = max_replicas if max_replicas is not None else (deployment.max_replicas or low)
        high = max(high, low, deployment.replicas or 1) if max_replicas is None else high
        if low > high:
            raise ConfigError(
                f"scale: min_replicas ({low}) exceeds max_replicas ({high})", provider=self.name
            )
        self._put_autoscale(deployment, low, high)
        report_progress(f"{deployment.name}: autoscaling between {low} and {high} instances")
        return dataclasses.replace(deployment, min_replicas=low, max_replicas=high)

    def _put_autoscale(self, deployment: Deployment, low: int, high: int) -> None:
        ep = endpoint_name(deployment.name)
        location = deployment.region or self._workspace_location()
        current = deployment.replicas or low
        body = autoscale_body(
            name=autoscale_name(ep),
            location=location,
            target=self.ids.deployment(ep),
            minimum=low,
            maximum=high,
            default=min(max(current, low), high),
            hostkit_name=deployment.name,
        )
        url = "https://management.azure.com" + self.ids.autoscale(ep)
        self.call(lambda: self._arm("PUT", url, body=body, api_version=AUTOSCALE_API_VERSION))

    def _delete_autoscale(self, ep: str) -> None:
        url = "https://management.azure.com" + self.ids.autoscale(ep)
        with contextlib.suppress(NotFound):
            self.call(lambda: self._arm("DELETE", url, api_version=AUTOSCALE_API_VERSION))

    # -- teardown --------------------------------------------------------------
    def _teardown(self, deployment: Deployment) -> None:
        ep = endpoint_name(deployment.name)
        self._creating.pop(deployment.name, None)
        self._keys.pop(ep, None)
        endpoint = self._get_endpoint(ep)
        if endpoint is not None:
            owner = (endpoint.get("tags") or {}).get(TAG_NAME)
            if owner != deployment.name:
                whose = (
                    f"belongs to the hostkit deployment {owner!r}"
                    if owner
                    else "was not created by hostkit (it has no hostkit-name tag)"
                )
                raise ConfigError(
                    f"online endpoint {ep} {whose}; hostkit leaves it alone (delete it with"
                    f" `az ml online-endpoint delete -n {ep}` if you mean to)",
                    provider=self.name,
                )
        self._delete_autoscale(ep)
        if endpoint is None:
            return
        state = (endpoint.get("properties") or {}).get("provisioningState")
        if state != "Deleting":
            report_progress(f"{deployment.name}: deleting online endpoint {ep} and its deployment")
            if not self._delete_endpoint(deployment.name, ep):
                return
        self._wait_until_gone(deployment.name, ep)

    def _delete_endpoint(self, name: str, ep: str) -> bool:
        """DELETE the endpoint (False: already gone), again while Azure answers 409.

        Azure refuses a delete while another operation on the endpoint runs (409), which
        is what a rollback meets while the deployment is still being created.
        """
        scope = self._scope()
        deadline = time.monotonic() + self.teardown_timeout
        delay = self.poll_initial
        while True:
            try:
                self.call(
                    lambda: self._endpoint_ops.begin_delete(
                        endpoint_name=ep, polling=False, **scope
                    )
                )
                return True
            except NotFound:
                return False
            except ProviderError as error:
                if error.status_code != 409 or time.monotonic() + delay > deadline:
                    raise
                report_progress(f"{name}: Azure is busy with {ep}; deleting again in {delay:.0f}s")
            self.sleep(delay)
            delay = min(delay * 2, self.poll_max)

    def _wait_until_gone(self, name: str, ep: str) -> None:
        deadline = time.monotonic() + self.teardown_timeout
        delay = self.poll_initial
        while self._get_endpoint(ep) is not None:
            if time.monotonic() + delay > deadline:
                log.warning(
                    "%s: Azure was still deleting endpoint %s after %.0fs; it finishes on its own",
                    name,
                    ep,
                    self.teardown_timeout,
                )
                return
            self.sleep(delay)
            delay = min(delay * 2, self.poll_max)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        self._async_clients.clear()

    # -- money -----------------------------------------------------------------
    def _price(self, instance: str, region: str | None) -> PriceRow | None:
        """The hourly price of ``instance`` in ``region`` (a config override wins everywhere).

        Never another region's price: Azure's prices differ by region.
        """
        if instance in self._price_overrides:
            return self.prices.find(instance)
        if not region:
            return None
        return self.prices.sections.get(f"region.{region}", {}).get(instance)

    def cost(
        self,
        target: Deployment | DeploymentSpec,
        *,
        hours: float | None = None,
        requests: int | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
    ) -> CostEstimate:
        """On-demand list price per instance-hour x instances x hours (hours default to 1)."""
        if isinstance(target, DeploymentSpec):
            instance, region = target.instance, target.region or self._location
            count = target.replicas or target.min_replicas or 1
        else:
            instance, region = target.instance, target.region or self._location
            count = target.replicas or 1
        region = _region(region) if region else None
        if hours is None and any(v is not None for v in (requests, input_tokens, output_tokens)):
            message = (
                f"{self.name}: a dedicated endpoint is billed per instance-hour whatever it"
                " serves; pass hours=... for an estimate"
            )
            warnings.warn(message, PriceUnknown, stacklevel=2)
            return CostEstimate(usd=None, warnings=[message])
        hours = 1.0 if hours is None else hours
        if not instance:
            return self.unknown_cost("a deployment without an instance type", "set instance")
        row = self._price(instance, region)
        if row is None or row.usd_per_hour is None:
            where = f" in {region}" if region else " (no region: set the region setting)"
            return self.unknown_cost(
                f"{instance!r}{where}", self._price_hint(instance, "usd_per_hour = ...")
            )
        estimate = PriceTable.time_estimate(row, hours=hours, count=count)
        estimate.breakdown = [
            CostLine(
                f"{count} x {instance} ({region or 'any region'}, {_PRICE_SOURCE_NOTE})",
                "instance-hour",
                hours * count,
                row.usd_per_hour,
                hours * count * row.usd_per_hour,
            )
        ]
        return estimate

    def offerings(self, region: str | None = None) -> list[Offering]:
        region = _region(region) if region else self._location
        found = []
        for key, hardware in sorted(self.hardware.items()):
            row = self._price(key, region)
            found.append(
                Offering(
                    provider=self.name,
                    name=key,
                    kind="instance",
                    region=region,
                    gpu_type=hardware.gpu_type,
                    gpu_count=hardware.gpu_count,
                    gpu_memory_gb=hardware.gpu_memory_gb,
                    vcpus=hardware.vcpus,
                    ram_gb=hardware.ram_gb,
                    usd_per_hour=row.usd_per_hour if row else None,
                    source=row.source if row else hardware.source,
                    as_of=row.as_of if row else hardware.as_of,
                )
            )
        return found


def _operation_of(properties: Mapping[str, Any]) -> str | None:
    """The operation-status URL Azure ML keeps in a resource's ``properties.properties``."""
    url = (properties.get("properties") or {}).get("AzureAsyncOperationUri")
    return str(url) if url else None


def _region(value: str) -> str:
    """Azure's region id (``eastus``) from a display name (``East US``) or an id."""
    return value.replace(" ", "").lower()
