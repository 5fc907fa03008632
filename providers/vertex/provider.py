"""The ``vertex`` provider: dedicated Vertex AI endpoints, through ``google.cloud.aiplatform_v1``.

What a spec becomes on Vertex AI (one Model, one Endpoint, one DeployedModel, all found
again by the labels hostkit puts on them):

* ``model`` a Hugging Face id (``meta-llama/Llama-3.1-8B-Instruct``): a Model running the
  Model Garden vLLM serving container with its documented arguments
  (:mod:`hostkit_providers.vertex.containers`), on a *dedicated* endpoint (its own DNS
  name: the only kind where ``:streamRawPredict`` serves custom models); ``invoke`` posts
  the chat-completions body to ``:rawPredict``, ``stream`` to ``:streamRawPredict``.
* ``model`` a ``gs://`` folder of artifacts (or any name, with ``image``): a Model running
  ``image`` on a shared endpoint by default; ``invoke`` sends ``{"instances": [...]}`` to
  ``:predict`` and any other payload to ``:rawPredict`` unchanged.

Control-plane calls go through the SDK's ``EndpointServiceClient`` and
``ModelServiceClient`` with ``transport="rest"`` (one of each per provider instance, built
at first use), with ``retry=None`` so that hostkit's policy is the only one. Long-running
operations are polled with ``get_operation`` (``GET /ui/{operation}``) until done.
Prediction calls are posted through a ``google.auth`` ``AuthorizedSession`` on the same
credentials, as the SDK's own ``Endpoint.raw_predict`` does: the REST transport's
``raw_predict`` does not return a JSON answer and its ``stream_raw_predict`` expects a
JSON array, not the server-sent events the container streams, and a dedicated endpoint
is served on its own host.

Names: the Model, the Endpoint and the DeployedModel all carry the deployment name as
display name, and the labels ``hostkit_name`` (the name in label form),
``hostkit_fingerprint`` (the spec's fingerprint), ``hostkit_serving`` and
``managed_by=hostkit``; the resource ids are Vertex's own. ``find`` lists endpoints (then
models) with ``labels.hostkit_name="..."`` and keeps exact display-name matches, so a
later process, rollback and teardown all find everything by name alone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from hostkit import (
    Capabilities,
    CostEstimate,
    CostLine,
    Deployment,
    DeploymentSpec,
    InvokeResult,
    Metrics,
    Offering,
    Provider,
    Stream,
    Usage,
)
from hostkit._deadline import call_within
from hostkit._pricing import includes_gpus, mark_estimate
from hostkit.adapters import (
    Hardware,
    PriceRow,
    build_chat_body,
    get_logger,
    is_local_model,
    iter_sse_data,
    load_hardware,
    parse_accelerator,
    report_progress,
    result_from_completion,
    usage_from,
)
from hostkit.errors import (
    AuthenticationError,
    ConfigError,
    DeploymentFailed,
    HostkitError,
    NotFound,
    ProviderError,
    Timeout,
    Unsupported,
)

from ._errors import (
    GoogleStatus,
    Where,
    classify,
    describe_failure,
    google_error,
    status_from_body,
    status_from_rpc,
)
from .containers import accelerator_enum, vllm_container

__all__ = ["OPTIONS", "VertexProvider", "label_value", "served_model"]

log = get_logger("hostkit.vertex")

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
DEFAULT_LOCATION = "us-central1"
LABEL_NAME = "hostkit_name"
LABEL_FINGERPRINT = "hostkit_fingerprint"
LABEL_SERVING = "hostkit_serving"
LABEL_INSTANCE = "hostkit_instance"
MANAGED_BY = ("managed_by", "hostkit")
SERVING_VLLM = "vllm"
SERVING_CUSTOM = "custom"
_LOCATION = re.compile(r"^[a-z]+-[a-z]+\d+\Z")
_HF_ID = re.compile(r"^(?:hf://)?([A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*)\Z")
_ACCELERATOR = re.compile(r"^\s*([A-Za-z0-9_-]+?)\s*(?::\s*(\d+))?\s*$")


def _fits(accelerator: str, hardware: Hardware) -> bool:
    """Whether a portable accelerator ("A100:1": at least one A100) fits a machine's GPUs."""
    try:
        wanted = parse_accelerator(accelerator)
    except ConfigError:
        return False
    return wanted.accepts(hardware.gpu_type, hardware.gpu_memory_gb, hardware.gpu_count)


_CHAT_TASKS = (None, "chat", "text-generation", "chat-completion")

#: spec ``options`` this provider accepts: name -> (types, what it does)
OPTIONS: Mapping[str, tuple[type | tuple[type, ...], str]] = {
    "dedicated_endpoint": (
        bool,
        "give the endpoint its own DNS name (needed to stream); default true for Hugging"
        " Face models, false for your own container",
    ),
    "service_account": (str, "the service account the deployed model runs as"),
    "args": (list, "extra container arguments (vLLM flags, for Hugging Face models)"),
    "command": (list, "the container's entrypoint (your own image only)"),
    "port": (int, "the port your container listens on (your own image only)"),
    "predict_route": (str, "the container's prediction path"),
    "health_route": (str, "the container's health path"),
    "max_model_len": (int, "vLLM --max-model-len"),
    "gpu_memory_utilization": ((int, float), "vLLM --gpu-memory-utilization, 0 to 1"),
    "shared_memory_size_mb": (int, "shared memory for the container (vLLM default 16384)"),
    "startup_timeout": (int, "seconds Vertex waits for the container to become healthy"),
    "batch_seconds_per_request": (
        (int, float),
        "seconds one request takes on one replica, for batch --native --dry-run estimates",
    ),
}
_VLLM_ONLY = ("max_model_len", "gpu_memory_utilization")
#: operations teardown cancels (a deploy or a scaling still running); others it awaits
_CANCELLABLE = ("DeployModelOperationMetadata", "MutateDeployedModelOperationMetadata")
_CUSTOM_ONLY = ("command", "port")


def served_model(model: str) -> str:
    """The name vLLM serves a model under: a Hugging Face id (``hf://`` dropped), or a
    local model's directory name (``--served-model-name``, see artifacts.py)."""
    if is_local_model(model):
        from .artifacts import served_name

        return served_name(model)
    found = _HF_ID.match(model)
    return found.group(1) if found else model


def label_value(text: str) -> str:
    """``text`` as a Google label value (lowercase letters, digits, ``_`` and ``-``, <= 63)."""
    return re.sub(r"[^a-z0-9_-]", "_", text.lower())[:63]


@dataclass(frozen=True)
class Plan:
    """What one spec becomes on Vertex AI (worked out without sending anything)."""

    serving: str
    model_id: str
    machine_type: str
    accelerator: str | None
    accelerator_count: int
    min_replicas: int
    max_replicas: int
    dedicated_endpoint: bool
    container: dict[str, Any]
    artifact_uri: str | None = None
    service_account: str | None = None

    @property
    def hardware(self) -> str | None:
        if not self.accelerator:
            return None
        return f"{self.accelerator_count} x {self.accelerator}"


@dataclass
class _Sdk:
    """The SDK objects of one provider instance."""

    v1: Any
    endpoints: Any
    models: Any
    session: Any


@dataclass
class _StreamState:
    parts: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    completion_id: str | None = None
    model: str | None = None
    ttft_s: float | None = None
    finish_reason: str | None = None


class VertexProvider(Provider):
    """Google Vertex AI: a dedicated endpoint per deployment, on your Google Cloud project."""

    name = "vertex"
    description = (
        "Google Vertex AI: dedicated endpoints on your project (Model Garden vLLM for Hugging"
        " Face models, your container for the rest), billed per node-hour"
    )
    capabilities = Capabilities(
        dedicated=True,
        streaming=True,
        native_async=False,
        manual_scaling=True,
        autoscaling=True,
        scale_to_zero=False,
    )
    credential_env = "GOOGLE_APPLICATION_CREDENTIALS"
    requires = ("google.cloud.aiplatform_v1", "google.auth")
    install_extra = "vertex"
    settings_schema: ClassVar[Mapping[str, Any]] = {
        "project": str,
        "location": str,
        "credentials_file": str,
        #: an API key for the Cloud Billing Catalog (``hostkit catalog --refresh`` only)
        "billing_api_key": str,
        #: the Cloud Storage bucket for local models and batch files (gcs.py; default
        #: ``{project}-vertex-staging-{location}``, created if missing)
        "staging_bucket": str,
    }
    unsupported = {
        "logs": "Vertex AI sends an endpoint's container logs to Cloud Logging, which hostkit"
        " does not read: open Logs Explorer with the filter"
        ' resource.type="aiplatform.googleapis.com/Endpoint"'
        ' resource.labels.endpoint_id="<endpoint id>", or run gcloud logging read with it',
        "scale_to_zero": "Vertex AI's v1 API keeps at least one replica of a deployed model"
        " running (minReplicaCount >= 1; scale-to-zero is only a v1beta1 preview); use"
        " teardown to stop paying, and deploy again later",
        "update": "Vertex AI cannot swap a deployed model's container, model or machine type"
        " in place; use scale() to change replicas, or teardown and deploy again",
    }
    price_file = "prices.toml"
    hardware_file = "hardware.toml"
    #: one prediction may generate for a while
    default_timeout = 120.0
    #: Model Garden gives the vLLM container up to 7200 s to start; most deploys take 15-30 min
    deploy_timeout = 3600.0
    poll_initial = 2.0
    poll_max = 30.0

    # -- construction (sends nothing) ---------------------------------------------------
    def setup(self) -> None:
        location = self.setting("location")
        region = self.setting("region")
        if location and region and location != region:
            raise ConfigError(
                f"provider {self.name!r}: settings 'location' ({location}) and 'region'"
                f" ({region}) disagree; set one of them",
                provider=self.name,
            )
        chosen = location or region or os.environ.get("CLOUD_ML_REGION") or DEFAULT_LOCATION
        if not _LOCATION.match(chosen):
            raise ConfigError(
                f"provider {self.name!r}: location {chosen!r} is not a Google Cloud region"
                " such as us-central1 or europe-west4",
                provider=self.name,
            )
        self.location: str = chosen
        base = str(self.setting("base_url") or "").strip().rstrip("/")
        self.api_host: str = (
            re.sub(r"^https?://", "", base) or f"{chosen}-aiplatform.googleapis.com"
        )
        self._project: str | None = self.setting("project")
        self._sdk_objects: _Sdk | None = None
        self._lock = threading.Lock()
        self._where = threading.local()
        self._hardware: dict[str, Hardware] | None = None

    @property
    def hardware(self) -> dict[str, Hardware]:
        """Machine types and their GPUs (``hardware.toml``)."""
        if self._hardware is None:
            self._hardware = load_hardware(Path(__file__).with_name(self.hardware_file))
        return self._hardware

    # -- credentials and clients -----------------------------------------------------------
    def credential_source(self) -> str | None:
        """Where Application Default Credentials come from (``hostkit providers``); no values.

        None when no key file and no gcloud login is found (on Google Cloud compute the
        attached service account may still answer: ``hostkit providers --check`` tells).
        """
        if path := self.setting("credentials_file"):
            return f"setting credentials_file ({path})"
        if path := os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
            return f"environment variable GOOGLE_APPLICATION_CREDENTIALS ({path})"
        config = os.environ.get("CLOUDSDK_CONFIG") or os.path.expanduser("~/.config/gcloud")
        adc = os.path.join(config, "application_default_credentials.json")
        if os.path.isfile(adc):
            return f"gcloud auth application-default login ({adc})"
        return None

    def _credentials(self) -> tuple[Any, str | None]:
        """Application Default Credentials, or the ``credentials_file`` setting's key file."""
        auth = self.import_sdk("google.auth")
        auth_exceptions = self.import_sdk("google.auth.exceptions")
        path = self.setting("credentials_file")
        if path:
            return self._credentials_from_file(os.path.expanduser(str(path)))
        try:
            found: tuple[Any, str | None] = auth.default(scopes=list(SCOPES))
        except auth_exceptions.DefaultCredentialsError as error:
            raise AuthenticationError(
                f"no Google Cloud credentials for {self.name}: set"
                " GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, run `gcloud"
                " auth application-default login`, or set credentials_file under"
                f" [providers.{self.name}] in hostkit.toml (google-auth said: {error})",
                provider=self.name,
            ) from None
        return found

    def _credentials_from_file(self, path: str) -> tuple[Any, str | None]:
        """A service-account key or an authorized-user file, loaded by its own loader."""
        try:
            info = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise AuthenticationError(
                f"the credentials_file setting of {self.name} ({path}) cannot be read as a"
                f" Google credentials JSON file: {error}",
                provider=self.name,
            ) from None
        kind = info.get("type") if isinstance(info, dict) else None
        if kind == "service_account":
            module = self.import_sdk("google.oauth2.service_account")
            credentials = module.Credentials.from_service_account_info(info, scopes=list(SCOPES))
            return credentials, info.get("project_id")
        if kind == "authorized_user":
            module = self.import_sdk("google.oauth2.credentials")
            credentials = module.Credentials.from_authorized_user_info(info, scopes=list(SCOPES))
            return credentials, info.get("quota_project_id")
        raise AuthenticationError(
            f"the credentials_file setting of {self.name} ({path}) holds {kind!r} credentials;"
            " hostkit loads service_account and authorized_user files itself. For other kinds"
            " (workload identity federation), point GOOGLE_APPLICATION_CREDENTIALS at the file"
            " and leave credentials_file unset",
            provider=self.name,
        )

    def _sdk(self) -> _Sdk:
        """The clients, built once at first use (credentials are looked up then)."""
        if self._sdk_objects is None:
            with self._lock:
                if self._sdk_objects is None:
                    credentials, adc_project = self._credentials()
                    project = (
                        self._project
                        or adc_project
                        or os.environ.get("GOOGLE_CLOUD_PROJECT")
                        or os.environ.get("CLOUDSDK_CORE_PROJECT")
                    )
                    if not project:
                        raise ConfigError(
                            f"no Google Cloud project for {self.name}: set project under"
                            f" [providers.{self.name}] in hostkit.toml, or"
                            " GOOGLE_CLOUD_PROJECT",
                            provider=self.name,
                        )
                    self._project = project
                    v1 = self.import_sdk("google.cloud.aiplatform_v1")
                    client_options = self.import_sdk("google.api_core.client_options")
                    transport = self.import_sdk("google.auth.transport.requests")
                    options = client_options.ClientOptions(api_endpoint=self.api_host)
                    self._sdk_objects = _Sdk(
                        v1=v1,
                        endpoints=v1.EndpointServiceClient(
                            credentials=credentials, transport="rest", client_options=options
                        ),
                        models=v1.ModelServiceClient(
                            credentials=credentials, transport="rest", client_options=options
                        ),
                        # no refresh-and-resend on a 401: google-auth refreshes an expiring
                        # token before each request, so a 401 is the platform's verdict and
                        # its message must reach the user (not a failed refresh's)
                        session=transport.AuthorizedSession(credentials, refresh_status_codes=()),
                    )
        return self._sdk_objects

    @property
    def project(self) -> str:
        self._sdk()
        assert self._project is not None
        return self._project

    @property
    def parent(self) -> str:
        return f"projects/{self.project}/locations/{self.location}"

    def close(self) -> None:
        jobs = self.__dict__.pop("_hostkit_batch", None)
        if jobs is not None:
            jobs.close()
        gcs = self.__dict__.pop("_hostkit_gcs", None)
        if gcs is not None:
            gcs.close()
        if self._sdk_objects is not None:
            self._sdk_objects.session.close()
            self._sdk_objects.endpoints.transport.close()
            self._sdk_objects.models.transport.close()
            self._sdk_objects = None

    # -- errors ----------------------------------------------------------------------------
    def _context(self) -> Where:
        where = getattr(self._where, "value", None)
        return where if isinstance(where, Where) else Where(self.name, region=self.location)

    @contextlib.contextmanager
    def _about(self, instance: str | None, accelerator: str | None) -> Iterator[Where]:
        """Name the machine type and GPUs in quota and capacity errors inside the block."""
        where = Where(self.name, instance=instance, accelerator=accelerator, region=self.location)
        previous = getattr(self._where, "value", None)
        self._where.value = where
        try:
            yield where
        finally:
            self._where.value = previous

    def translate_error(self, error: Exception) -> HostkitError | None:
        """Map google-api-core, google-auth and requests exceptions to hostkit's errors."""
        where = self._context()
        api = sys.modules.get("google.api_core.exceptions")
        if api is not None and isinstance(error, api.GoogleAPICallError):
            response = error.response
            if response is not None and hasattr(response, "status_code"):
                status = status_from_body(
                    int(response.status_code),
                    getattr(response, "content", b"") or b"",
                    getattr(response, "headers", None),
                )
                if not status.message or status.message == "(empty response body)":
                    status = dataclasses.replace(status, message=str(error.message))
            else:
                code = int(error.code or 500)
                status = status_from_body(code, json.dumps({"error": {"message": error.message}}))
                if error.grpc_status_code is not None:
                    status = dataclasses.replace(status, status=error.grpc_status_code.name)
            return google_error(status, where)
        if api is not None and isinstance(error, api.RetryError):
            return Timeout(f"Vertex AI call timed out: {error}", provider=self.name)
        auth = sys.modules.get("google.auth.exceptions")
        if auth is not None and isinstance(error, auth.GoogleAuthError):
            if isinstance(error, auth.TransportError):
                return ProviderError(
                    f"could not reach Google's token service: {error}",
                    provider=self.name,
                    retryable=True,
                )
            if isinstance(error, auth.RefreshError):
                return AuthenticationError(
                    f"Google Cloud credentials could not be refreshed: {error}; run `gcloud auth"
                    " application-default login` or check GOOGLE_APPLICATION_CREDENTIALS",
                    provider=self.name,
                )
            return AuthenticationError(f"Google Cloud credentials: {error}", provider=self.name)
        requests_exceptions = sys.modules.get("requests.exceptions")
        if requests_exceptions is not None and isinstance(
            error, requests_exceptions.RequestException
        ):
            if isinstance(error, requests_exceptions.ConnectTimeout):
                timeout = Timeout(
                    f"could not connect to Vertex AI in time: {error}", provider=self.name
                )
                timeout.request_not_sent = True  # type: ignore[attr-defined]
                return timeout
            if isinstance(error, requests_exceptions.Timeout):
                return Timeout(f"Vertex AI did not answer in time: {error}", provider=self.name)
            if isinstance(error, requests_exceptions.ConnectionError):
                return ProviderError(
                    f"connection to Vertex AI failed: {error}", provider=self.name, retryable=True
                )
            return ProviderError(f"request to Vertex AI failed: {error}", provider=self.name)
        protobuf = sys.modules.get("google.protobuf.json_format")
        if protobuf is not None and isinstance(error, protobuf.ParseError):
            return ProviderError(
                f"Vertex AI sent an answer the SDK could not read: {error}", provider=self.name
            )
        return None

    # -- the spec --------------------------------------------------------------------------
    def _options(self, spec: DeploymentSpec) -> dict[str, Any]:
        options = dict(spec.options)
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise ConfigError(
                f"spec {spec.name!r}: unknown option(s) {', '.join(unknown)} for {self.name};"
                f" allowed: {', '.join(sorted(OPTIONS))}",
                provider=self.name,
            )
        for key, value in options.items():
            expected, _ = OPTIONS[key]
            valid = isinstance(value, expected) and not (
                isinstance(value, bool) and expected is not bool
            )
            if valid and isinstance(value, list):
                valid = all(isinstance(item, str) for item in value)
            if not valid:
                raise ConfigError(
                    f"spec {spec.name!r}: option {key!r} has the wrong type ({value!r});"
                    f" it is {OPTIONS[key][1]}",
                    provider=self.name,
                )
        utilization = options.get("gpu_memory_utilization")
        if utilization is not None and not 0 < utilization <= 1:
            raise ConfigError(
                f"spec {spec.name!r}: option gpu_memory_utilization must be above 0 and at"
                f" most 1, got {utilization}",
                provider=self.name,
            )
        for key in ("max_model_len", "port", "shared_memory_size_mb", "startup_timeout"):
            if key in options and options[key] < 1:
                raise ConfigError(
                    f"spec {spec.name!r}: option {key} must be positive", provider=self.name
                )
        return options

    def _accelerator(
        self, spec: DeploymentSpec, hardware: Hardware | None
    ) -> tuple[str | None, int]:
        fixed = accelerator_enum(hardware.gpu_type) if hardware and hardware.gpu_type else None
        fixed_count = hardware.gpu_count if hardware and fixed else 0
        if not spec.accelerator:
            return fixed, fixed_count
        match = _ACCELERATOR.match(spec.accelerator)
        wanted = accelerator_enum(match.group(1)) if match else None
        if match is None or wanted is None:
            known = ", ".join(sorted({"L4", "T4", "V100", "A100", "A100-80GB", "H100", "H200"}))
            raise ConfigError(
                f"spec {spec.name!r}: accelerator {spec.accelerator!r} is not a GPU Vertex AI"
                f" offers; use NAME:COUNT with NAME one of {known} (or Vertex's own names such"
                " as NVIDIA_L4)",
                provider=self.name,
            )
        count = int(match.group(2)) if match.group(2) else (fixed_count or 1)
        if count < 1:
            raise ConfigError(
                f"spec {spec.name!r}: accelerator count must be at least 1", provider=self.name
            )
        if fixed and (wanted, count) != (fixed, fixed_count):
            if hardware is not None and _fits(spec.accelerator, hardware):
                return fixed, fixed_count  # portable: at least these GPUs, as the type has
            raise ConfigError(
                f"spec {spec.name!r}: machine type {spec.instance} comes with {fixed_count} x"
                f" {fixed}; accelerator {spec.accelerator!r} does not fit it (remove"
                " accelerator, or pick the machine type that carries those GPUs)",
                provider=self.name,
            )
        return wanted, count

    def plan(self, spec: DeploymentSpec, *, folder: str | None = None) -> Plan:
        """What ``spec`` becomes on Vertex AI; ConfigError for what cannot be honoured.

        A local ``model`` is checked here and uploaded by ``_create`` (artifacts.py), which
        plans again with ``folder``, the ``gs://`` folder it went to.
        """
        options = self._options(spec)
        if spec.region and spec.region != self.location:
            raise ConfigError(
                f"spec {spec.name!r}: region {spec.region!r} differs from this provider's"
                f" location {self.location!r}. A Vertex AI deployment lives in one location and"
                " hostkit finds it again by name there; set location under"
                f" [providers.{self.name}] (or drop region from the spec)",
                provider=self.name,
            )
        if spec.scale_to_zero_after is not None:
            raise ConfigError(
                f"spec {spec.name!r}: scale_to_zero_after cannot be honoured: "
                + self.unsupported["scale_to_zero"],
                provider=self.name,
            )
        if not spec.instance:
            raise ConfigError(
                f"spec {spec.name!r}: {self.name} needs instance = a Vertex AI machine type, e.g."
                " g2-standard-12 (1 x L4, fits a 7-8B model), a2-ultragpu-1g (1 x A100 80GB) or"
                " a3-highgpu-1g (1 x H100); known: " + ", ".join(sorted(self.hardware)),
                provider=self.name,
            )
        if 0 in (spec.replicas, spec.min_replicas):
            raise ConfigError(
                f"spec {spec.name!r}: replicas must be at least 1 on {self.name}: "
                + self.unsupported["scale_to_zero"],
                provider=self.name,
            )
        hardware = self.hardware.get(spec.instance)
        accelerator, count = self._accelerator(spec, hardware)
        low = spec.min_replicas or spec.replicas or 1
        high = spec.max_replicas or max(low, spec.replicas or low)
        hf = _HF_ID.match(spec.model)
        artifact_uri: str | None = None
        local = is_local_model(spec.model)
        if local:
            from .artifacts import local_path, model_argument, served_name

            path = local_path(spec.model)  # missing or empty: a ConfigError before anything
            artifact_uri = folder.rstrip("/") if folder else None
        if (hf and not spec.model.startswith("gs://")) or (local and not spec.image):
            if local:  # a Hugging Face-format LLM directory, loaded by vLLM from gs://
                serving = SERVING_VLLM
                model_id = model_argument(folder or "gs://(uploaded at deploy)/", path)
                served = f"--served-model-name={served_name(spec.model)}"
                options = {**options, "args": [served, *(options.get("args") or [])]}
            else:
                serving, model_id = SERVING_VLLM, hf.group(1) if hf else spec.model
            for key in _CUSTOM_ONLY:
                if key in options:
                    raise ConfigError(
                        f"spec {spec.name!r}: option {key} is for your own container; a"
                        " Hugging Face model runs the Model Garden vLLM container",
                        provider=self.name,
                    )
            if spec.task not in _CHAT_TASKS:
                raise ConfigError(
                    f"spec {spec.name!r}: task {spec.task!r} is not served by the vLLM"
                    " container hostkit deploys for Hugging Face models; allowed: chat,"
                    " text-generation",
                    provider=self.name,
                )
            container = vllm_container(
                model_id, image=spec.image, gpu_count=count, env=spec.env, options=options
            )
        else:
            if not spec.image:
                raise ConfigError(
                    f"spec {spec.name!r}: model {spec.model!r} is not a Hugging Face id"
                    " (org/name), so Vertex AI needs image = the serving container (e.g."
                    " us-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-5:latest for a"
                    " scikit-learn model in gs://)",
                    provider=self.name,
                )
            for key in _VLLM_ONLY:
                if key in options:
                    raise ConfigError(
                        f"spec {spec.name!r}: option {key} is a vLLM flag; it applies to"
                        " Hugging Face models only",
                        provider=self.name,
                    )
            serving, model_id = SERVING_CUSTOM, spec.model
            if spec.model.startswith("gs://"):
                artifact_uri = spec.model
            elif local:
                model_id = artifact_uri or spec.model
            container = {
                "image_uri": spec.image,
                "command": list(options.get("command") or []),
                "args": list(options.get("args") or []),
                "env": [{"name": k, "value": v} for k, v in spec.env.items()],
                "ports": [{"container_port": options["port"]}] if "port" in options else [],
                "predict_route": options.get("predict_route", ""),
                "health_route": options.get("health_route", ""),
            }
            if "shared_memory_size_mb" in options:
                container["shared_memory_size_mb"] = options["shared_memory_size_mb"]
            if "startup_timeout" in options:
                container["deployment_timeout"] = {"seconds": options["startup_timeout"]}
        return Plan(
            serving=serving,
            model_id=model_id,
            machine_type=spec.instance,
            accelerator=accelerator,
            accelerator_count=count if accelerator else 0,
            min_replicas=low,
            max_replicas=high,
            dedicated_endpoint=bool(options.get("dedicated_endpoint", serving == SERVING_VLLM)),
            container=container,
            artifact_uri=artifact_uri,
            service_account=options.get("service_account"),
        )

    def validate_spec(self, spec: DeploymentSpec) -> None:
        self.plan(spec)

    def _labels(self, spec: DeploymentSpec, plan: Plan) -> dict[str, str]:
        return {
            MANAGED_BY[0]: MANAGED_BY[1],
            LABEL_NAME: label_value(spec.name),
            LABEL_FINGERPRINT: spec.fingerprint(),
            LABEL_SERVING: plan.serving,
            LABEL_INSTANCE: label_value(plan.machine_type),
        }

    # -- long-running operations -----------------------------------------------------------
    def _rpc(self, method: Callable[..., Any], request: Any, *, safe: bool = True) -> Any:
        """One SDK call, SDK retries off, under hostkit's retry policy and error mapping."""
        return self.call(
            lambda: method(request=request, retry=None, timeout=self.timeout), safe=safe
        )

    def _get_operation(self, name: str) -> Any:
        return self._rpc(self._sdk().endpoints.get_operation, {"name": name})

    def _rpc_status(self, operation: Any) -> GoogleStatus:
        details: list[Mapping[str, Any]] = []
        json_format = self.import_sdk("google.protobuf.json_format")
        self.import_sdk("google.rpc.error_details_pb2")  # registers ErrorInfo, QuotaFailure ...
        for detail in operation.error.details:
            try:
                details.append(json_format.MessageToDict(detail))
            except Exception:  # a detail type this process does not know: keep the rest
                details.append({"@type": detail.type_url})
        return status_from_rpc(int(operation.error.code), str(operation.error.message), details)

    def _wait_operation(
        self,
        name: str,
        what: str,
        *,
        deploying: bool,
        missing_ok: bool = False,
    ) -> Any:
        """Poll ``name`` until done (capped backoff); a failure raises with Google's words."""
        deadline = time.monotonic() + self.deploy_timeout
        delay = self.poll_initial
        while True:
            operation = self._get_operation(name)
            if operation.done:
                if operation.error.code:
                    status = self._rpc_status(operation)
                    if missing_ok and status.status == "NOT_FOUND":
                        return operation
                    raise self._operation_error(status, what, deploying=deploying)
                return operation
            if time.monotonic() + delay > deadline:
                raise Timeout(
                    f"{what} was still running after {self.deploy_timeout:.0f}s (operation {name})",
                    provider=self.name,
                )
            self.sleep(delay)
            delay = min(delay * 2, self.poll_max)

    def _operation_error(self, status: GoogleStatus, what: str, *, deploying: bool) -> HostkitError:
        where = self._context()
        kind = classify(status)
        if not deploying or kind in ("quota", "capacity", "permission", "auth"):
            error = google_error(status, where)
            error.message = f"{what} failed: {error.message}"
            error.args = (error.message,)
            return error
        reason = describe_failure(status, where)
        return DeploymentFailed(
            f"{what} failed: {reason}",
            reason=reason,
            provider=self.name,
            status_code=status.http_status,
        )

    # -- deploy ----------------------------------------------------------------------------
    def _create(self, spec: DeploymentSpec) -> Deployment:
        plan = self.plan(spec)
        if is_local_model(spec.model):  # content-addressed upload first (artifacts.py)
            from .artifacts import upload

            folder, _ = upload(self, spec.model)
            plan = self.plan(spec, folder=folder)
        with self._about(plan.machine_type, plan.hardware):
            return self._create_planned(spec, plan)

    def _create_planned(self, spec: DeploymentSpec, plan: Plan) -> Deployment:
        sdk = self._sdk()
        v1 = sdk.v1
        labels = self._labels(spec, plan)
        model = v1.Model(
            display_name=spec.name,
            description=spec.model,
            labels=labels,
            artifact_uri=plan.artifact_uri or "",
            container_spec=v1.ModelContainerSpec(**plan.container),
        )
        upload_request = v1.UploadModelRequest(parent=self.parent, model=model)
        endpoint_request = v1.CreateEndpointRequest(
            parent=self.parent,
            endpoint=v1.Endpoint(
                display_name=spec.name,
                description=spec.model,
                labels=labels,
                dedicated_endpoint_enabled=plan.dedicated_endpoint,
            ),
        )
        # The upload and the endpoint are independent: start both, then wait for both, so
        # that whatever fails, everything that exists by then is visible to the rollback.
        report_progress(f"{spec.name}: registering the model in Vertex AI's Model Registry")
        upload = self._rpc(sdk.models.upload_model, upload_request, safe=False)
        report_progress(f"{spec.name}: creating the endpoint")
        try:
            creating = self._rpc(sdk.endpoints.create_endpoint, endpoint_request, safe=False)
        except HostkitError:
            with contextlib.suppress(HostkitError):
                self._wait_operation(upload.operation.name, "model upload", deploying=False)
            raise
        failures: list[HostkitError] = []
        results = []
        for operation, what in ((upload, "model upload"), (creating, "endpoint creation")):
            try:
                results.append(self._wait_operation(operation.operation.name, what, deploying=True))
            except HostkitError as error:
                failures.append(error)
        if failures:
            raise failures[0]
        uploaded, created = results
        model_name = v1.UploadModelResponse.deserialize(uploaded.response.value).model
        endpoint = v1.Endpoint.deserialize(created.response.value)
        machine = v1.MachineSpec(machine_type=plan.machine_type)
        if plan.accelerator:
            machine.accelerator_type = v1.AcceleratorType[plan.accelerator]
            machine.accelerator_count = plan.accelerator_count
        deployed = v1.DeployedModel(
            model=model_name,
            display_name=spec.name,
            dedicated_resources=v1.DedicatedResources(
                machine_spec=machine,
                min_replica_count=plan.min_replicas,
                max_replica_count=plan.max_replicas,
            ),
            service_account=plan.service_account or "",
        )
        deploy_request = v1.DeployModelRequest(
            endpoint=endpoint.name, deployed_model=deployed, traffic_split={"0": 100}
        )
        report_progress(
            f"{spec.name}: deploying on {plan.min_replicas} x {plan.machine_type}"
            + (f" ({plan.hardware})" if plan.hardware else "")
        )
        deploying = self._rpc(sdk.endpoints.deploy_model, deploy_request, safe=False)
        return Deployment(
            name=spec.name,
            provider=self.name,
            model=spec.model,
            status="deploying",
            instance=plan.machine_type,
            region=self.location,
            min_replicas=plan.min_replicas,
            max_replicas=plan.max_replicas,
            fingerprint=spec.fingerprint(),
            raw=self._raw(
                endpoint=endpoint.name,
                serving=plan.serving,
                operation=deploying.operation.name,
                model_resource=model_name,
                accelerator_type=plan.accelerator,
                accelerator_count=plan.accelerator_count or None,
            ),
            _provider=self,
        )

    @staticmethod
    def _raw(**values: Any) -> dict[str, Any]:
        return {k: v for k, v in values.items() if v is not None}

    # -- look-up ---------------------------------------------------------------------------
    def _endpoints_named(self, name: str) -> list[Any]:
        sdk = self._sdk()
        request = sdk.v1.ListEndpointsRequest(
            parent=self.parent, filter=f'labels.{LABEL_NAME}="{label_value(name)}"'
        )
        found = self.call(
            lambda: list(
                sdk.endpoints.list_endpoints(request=request, retry=None, timeout=self.timeout)
            )
        )
        return [endpoint for endpoint in found if endpoint.display_name == name]

    def _models_named(self, name: str) -> list[Any]:
        sdk = self._sdk()
        request = sdk.v1.ListModelsRequest(
            parent=self.parent, filter=f'labels.{LABEL_NAME}="{label_value(name)}"'
        )
        found = self.call(
            lambda: list(sdk.models.list_models(request=request, retry=None, timeout=self.timeout))
        )
        return [model for model in found if model.display_name == name]

    def find(self, name: str) -> Deployment | None:
        """The deployment called ``name``: its endpoint by label, else a model left behind."""
        endpoints = self._endpoints_named(name)
        if endpoints:
            endpoints.sort(key=lambda e: len(e.deployed_models), reverse=True)
            return self._from_endpoint(endpoints[0], name)
        models = self._models_named(name)
        if not models:
            return None
        leftover = models[0]
        return Deployment(
            name=name,
            provider=self.name,
            model=leftover.description or name,
            status="failed",
            instance=leftover.labels.get(LABEL_INSTANCE) or None,
            region=self.location,
            fingerprint=leftover.labels.get(LABEL_FINGERPRINT) or None,
            raw={
                "model_resource": leftover.name,
                "serving": leftover.labels.get(LABEL_SERVING, SERVING_CUSTOM),
                "failure_reason": f"an earlier deploy registered model {leftover.name} but"
                " created no endpoint; deploying again or teardown deletes it",
            },
            _provider=self,
        )

    def _deployed_model(self, endpoint: Any, name: str) -> Any | None:
        models = list(endpoint.deployed_models)
        for deployed in models:
            if deployed.display_name == name:
                return deployed
        return models[0] if models else None

    def _predict_base(self, endpoint: Any) -> str:
        host = endpoint.dedicated_endpoint_dns or self.api_host
        return f"https://{host}/v1/{endpoint.name}"

    def _from_endpoint(self, endpoint: Any, name: str) -> Deployment:
        labels = dict(endpoint.labels)
        raw = self._raw(
            endpoint=endpoint.name,
            serving=labels.get(LABEL_SERVING, SERVING_CUSTOM),
            dedicated_dns=endpoint.dedicated_endpoint_dns or None,
        )
        deployment = Deployment(
            name=name,
            provider=self.name,
            model=endpoint.description or name,
            status="failed",
            instance=labels.get(LABEL_INSTANCE) or None,
            region=self.location,
            fingerprint=labels.get(LABEL_FINGERPRINT) or None,
            raw=raw,
            _provider=self,
        )
        deployed = self._deployed_model(endpoint, name)
        if deployed is None:
            return self._pending(deployment)
        resources = deployed.dedicated_resources
        machine = resources.machine_spec
        raw["deployed_model_id"] = deployed.id
        raw["model_resource"] = deployed.model
        if machine.accelerator_type:
            raw["accelerator_type"] = self._sdk().v1.AcceleratorType(machine.accelerator_type).name
            raw["accelerator_count"] = int(machine.accelerator_count)
        available = int(deployed.status.available_replica_count) if "status" in deployed else None
        deployment.instance = machine.machine_type or deployment.instance
        deployment.min_replicas = int(resources.min_replica_count) or None
        deployment.max_replicas = int(resources.max_replica_count) or None
        deployment.replicas = available if available is not None else deployment.min_replicas
        deployment.status = "ready" if available is None or available > 0 else "updating"
        deployment.endpoint = self._predict_base(endpoint)
        return deployment

    def _pending(self, deployment: Deployment) -> Deployment:
        """An endpoint with nothing deployed: a deploy in flight, failed, or interrupted."""
        sdk = self._sdk()
        endpoint_name = deployment.raw["endpoint"]
        listed = self._rpc(sdk.endpoints.list_operations, {"name": endpoint_name})
        deploys = [
            op
            for op in listed.operations
            if op.metadata.type_url.endswith("DeployModelOperationMetadata")
        ]
        running = [op for op in deploys if not op.done]
        failed = [op for op in deploys if op.done and op.error.code]
        if running:
            deployment.status = "deploying"
            deployment.raw["operation"] = running[0].name
        elif failed:
            deployment.raw["failure_reason"] = describe_failure(
                self._rpc_status(failed[-1]), self._where_of(deployment)
            )
        else:
            deployment.raw["failure_reason"] = (
                f"endpoint {endpoint_name} has no model deployed and no deploy in progress (an"
                " earlier deploy was interrupted); deploying again replaces it, teardown"
                " deletes it"
            )
        return deployment

    def _where_of(self, deployment: Deployment) -> Where:
        accelerator = deployment.raw.get("accelerator_type")
        count = deployment.raw.get("accelerator_count")
        hardware = f"{count} x {accelerator}" if accelerator else None
        if hardware is None and deployment.instance in self.hardware:
            found = self.hardware[deployment.instance]
            enum = accelerator_enum(found.gpu_type) if found.gpu_type else None
            hardware = f"{found.gpu_count} x {enum}" if enum else None
        return Where(
            self.name, instance=deployment.instance, accelerator=hardware, region=self.location
        )

    def status(self, deployment: Deployment) -> Deployment:
        """Fresh state: the deploy operation while it runs, then the endpoint."""
        operation_name = deployment.raw.get("operation")
        if operation_name and deployment.status in ("pending", "deploying"):
            operation = self._get_operation(operation_name)
            if not operation.done:
                return dataclasses.replace(deployment, status="deploying", _provider=self)
            if operation.error.code:
                reason = describe_failure(self._rpc_status(operation), self._where_of(deployment))
                raw = {**deployment.raw, "failure_reason": reason}
                return dataclasses.replace(deployment, status="failed", raw=raw, _provider=self)
        found = self.find(deployment.name)
        if found is None:
            return dataclasses.replace(deployment, status="deleted", endpoint=None, _provider=self)
        return found

    def capabilities_for(self, deployment: Deployment) -> Capabilities:
        if "serving" not in deployment.raw:
            return self.capabilities
        streams = deployment.raw.get("serving") == SERVING_VLLM and bool(
            deployment.raw.get("dedicated_dns")
        )
        return dataclasses.replace(self.capabilities, streaming=streams)

    # -- invoke ----------------------------------------------------------------------------
    def _ready(self, deployment: Deployment) -> Deployment:
        deployment = self.resolve(deployment)
        if deployment.endpoint:
            return deployment
        fresh = self.status(deployment)
        if not fresh.endpoint:
            raise ProviderError(
                f"{deployment.name} has no model serving yet (status {fresh.status});"
                " wait for it to become ready",
                provider=self.name,
            )
        return fresh

    def _post(
        self,
        deployment: Deployment,
        verb: str,
        body: bytes,
        *,
        content_type: str = "application/json",
        stream: bool = False,
    ) -> Any:
        """POST ``{endpoint}:{verb}``; an error status raises the matching hostkit error."""
        sdk = self._sdk()
        url = f"{deployment.endpoint}:{verb}"
        where = self._where_of(deployment)

        def attempt() -> Any:
            response = sdk.session.post(
                url,
                data=body,
                headers={"Content-Type": content_type},
                timeout=self.timeout,
                stream=stream,
            )
            if response.status_code >= 400:
                try:
                    content = response.content
                finally:
                    response.close()
                raise google_error(
                    status_from_body(response.status_code, content, response.headers), where
                )
            return response

        # requests bounds each socket read only; `timeout` bounds the whole call (a stream's
        # up to its headers)
        return self.call(lambda: call_within(self.timeout, attempt, provider=self.name), safe=True)

    @staticmethod
    def _completion(data: Any) -> Mapping[str, Any]:
        """The chat.completion object, bare or in a ``predictions`` envelope."""
        if isinstance(data, Mapping) and "predictions" in data and "choices" not in data:
            data = data["predictions"]
            if isinstance(data, list) and data:
                data = data[0]
        if not isinstance(data, Mapping) or "choices" not in data:
            raise ProviderError(
                f"the serving container answered without a chat completion: {str(data)[:200]}",
                provider="vertex",
            )
        return data

    def invoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        """Chat on the vLLM container (``:rawPredict``), or a payload to your container."""
        deployment = self._ready(deployment)
        started = time.perf_counter()
        if deployment.raw.get("serving") == SERVING_VLLM:
            body = build_chat_body(served_model(deployment.model), request, params)
            response = self._post(deployment, "rawPredict", json.dumps(body).encode())
            data = self._json(response)
            completion = self._completion(data)
            result = result_from_completion(
                completion,
                provider=self.name,
                model=deployment.model,
                latency_s=time.perf_counter() - started,
            )
            result.raw = {
                **dict(completion),
                "deployed_model_id": response.headers.get("X-Vertex-AI-Deployed-Model-Id"),
            }
            return result
        if isinstance(request, Mapping) and "instances" in request:
            payload = dict(request)
            if params:
                payload["parameters"] = {**dict(payload.get("parameters") or {}), **params}
            response = self._post(deployment, "predict", json.dumps(payload).encode())
            data = self._json(response)
            return InvokeResult(
                text=None,
                output=data.get("predictions") if isinstance(data, Mapping) else data,
                usage=Usage(),
                latency_s=time.perf_counter() - started,
                provider=self.name,
                model=deployment.model,
                raw=data,
            )
        if isinstance(request, bytes | bytearray):
            content, kind = (
                bytes(request),
                str(params.get("content_type", "application/octet-stream")),
            )
        elif isinstance(request, str):
            content, kind = request.encode(), str(params.get("content_type", "text/plain"))
        else:
            content, kind = json.dumps(request).encode(), "application/json"
        response = self._post(deployment, "rawPredict", content, content_type=kind)
        try:
            output: Any = response.json()
        except ValueError:
            output = response.content
        return InvokeResult(
            text=output if isinstance(output, str) else None,
            output=output,
            usage=Usage(),
            latency_s=time.perf_counter() - started,
            provider=self.name,
            model=deployment.model,
            raw={"deployed_model_id": response.headers.get("X-Vertex-AI-Deployed-Model-Id")},
        )

    def _json(self, response: Any) -> Any:
        try:
            return response.json()
        except ValueError:
            raise ProviderError(
                f"Vertex AI answered with something that is not JSON: {response.text[:200]}",
                provider=self.name,
                status_code=response.status_code,
            ) from None

    def stream(self, deployment: Deployment, request: Any, **params: Any) -> Stream:
        """Chat chunks from the vLLM container, through ``:streamRawPredict`` (SSE)."""
        deployment = self._ready(deployment)
        if deployment.raw.get("serving") != SERVING_VLLM:
            raise Unsupported(
                f"{deployment.name} runs your own container, which hostkit cannot assume"
                " streams; use invoke (or stream_raw_predict from the SDK)",
                provider=self.name,
            )
        if not deployment.raw.get("dedicated_dns"):
            raise Unsupported(
                f"{deployment.name} is on a shared endpoint, and Vertex AI streams custom models"
                " only from dedicated endpoints; deploy with options.dedicated_endpoint = true"
                " (the default for Hugging Face models), or use invoke",
                provider=self.name,
            )
        body = build_chat_body(served_model(deployment.model), request, params, stream=True)
        started = time.perf_counter()
        response = self._post(
            deployment, "streamRawPredict", json.dumps(body).encode(), stream=True
        )
        state = _StreamState()

        def lines() -> Iterator[str]:
            for line in response.iter_lines():
                yield line.decode("utf-8", "replace") if isinstance(line, bytes) else str(line)

        def chunks() -> Iterator[str]:
            try:
                for event in iter_sse_data(lines(), provider=self.name):
                    state.completion_id = state.completion_id or event.get("id")
                    state.model = state.model or event.get("model")
                    if event.get("usage"):
                        state.usage = usage_from(event["usage"])
                    for choice in event.get("choices") or []:
                        state.finish_reason = choice.get("finish_reason") or state.finish_reason
                        delta = (choice.get("delta") or {}).get("content")
                        if delta:
                            if state.ttft_s is None:
                                state.ttft_s = time.perf_counter() - started
                            state.parts.append(delta)
                            yield delta
            except HostkitError:
                raise
            except Exception as error:
                raise self.map_error(error) from error
            finally:
                response.close()

        def finish() -> InvokeResult:
            text = "".join(state.parts)
            return InvokeResult(
                text=text,
                output={"role": "assistant", "content": text},
                usage=state.usage,
                latency_s=time.perf_counter() - started,
                provider=self.name,
                model=str(state.model or deployment.model),
                ttft_s=state.ttft_s,
                request_id=state.completion_id,
                raw={"finish_reason": state.finish_reason},
            )

        return Stream(chunks(), finish, close=response.close)

    # -- metrics (Cloud Monitoring; see metrics.py) ------------------------------------------
    def metrics(self, deployment: Deployment, *, since: float | None = None) -> Metrics | None:
        """Predictions, errors and mean model latency from Cloud Monitoring (``since`` to now)."""
        from .metrics import read_metrics

        return read_metrics(self, deployment, since=since)

    # -- scale -----------------------------------------------------------------------------
    def _scale(
        self,
        deployment: Deployment,
        replicas: int | None,
        min_replicas: int | None,
        max_replicas: int | None,
    ) -> Deployment:
        current = deployment
        if not current.raw.get("deployed_model_id") or not current.raw.get("endpoint"):
            current = self.get(deployment.name)
            if not current.raw.get("deployed_model_id"):
                raise ProviderError(
                    f"{deployment.name} has no deployed model to scale (status {current.status})",
                    provider=self.name,
                )
        if replicas is not None:
            low = high = replicas
        else:
            low = min_replicas if min_replicas is not None else (current.min_replicas or 1)
            high = (
                max_replicas if max_replicas is not None else max(current.max_replicas or low, low)
            )
        if low > high:
            raise ConfigError(
                f"scale: min_replicas ({low}) would exceed max_replicas ({high})",
                provider=self.name,
            )
        sdk = self._sdk()
        v1 = sdk.v1
        field_mask = self.import_sdk("google.protobuf.field_mask_pb2")
        where = self._where_of(current)
        request = v1.MutateDeployedModelRequest(
            endpoint=current.raw["endpoint"],
            deployed_model=v1.DeployedModel(
                id=current.raw["deployed_model_id"],
                dedicated_resources=v1.DedicatedResources(
                    min_replica_count=low, max_replica_count=high
                ),
            ),
            update_mask=field_mask.FieldMask(
                paths=[
                    "dedicated_resources.min_replica_count",
                    "dedicated_resources.max_replica_count",
                ]
            ),
        )
        report_progress(f"{deployment.name}: scaling to {low}..{high} replicas")
        with self._about(where.instance, where.accelerator):
            operation = self._rpc(sdk.endpoints.mutate_deployed_model, request)
            self._wait_operation(operation.operation.name, "scaling", deploying=False)
        fresh = self.find(deployment.name)
        if fresh is None:
            raise NotFound(f"{deployment.name} disappeared while scaling", provider=self.name)
        return fresh

    # -- teardown --------------------------------------------------------------------------
    def _settle(self, endpoint: Any) -> Any | None:
        """Stop operations still running on ``endpoint``; the endpoint as it is afterwards."""
        sdk = self._sdk()
        listed = self._rpc(sdk.endpoints.list_operations, {"name": endpoint.name})
        running = [op for op in listed.operations if not op.done]
        if not running:
            return endpoint
        for operation in running:
            kind = operation.metadata.type_url.rsplit(".", 1)[-1]
            if kind not in _CANCELLABLE:  # an undeploy or delete already under way: await it
                continue
            report_progress(f"{endpoint.display_name}: cancelling operation {operation.name}")
            try:
                self._rpc(sdk.endpoints.cancel_operation, {"name": operation.name})
            except HostkitError as error:  # not cancellable: wait for it instead
                log.info("could not cancel %s (%s); waiting for it", operation.name, error)
        for operation in running:
            # cancelled or failed: either way it is over
            with contextlib.suppress(DeploymentFailed, ProviderError, NotFound):
                self._wait_operation(operation.name, "a running operation", deploying=False)
        try:
            return self._rpc(sdk.endpoints.get_endpoint, {"name": endpoint.name})
        except NotFound:
            return None

    def _teardown(self, deployment: Deployment) -> None:
        """Undeploy, delete the endpoint, delete the model: everything labelled with the name."""
        name = deployment.name
        sdk = self._sdk()
        for listed in self._endpoints_named(name):
            endpoint = self._settle(listed)
            if endpoint is None:
                continue
            deployed = list(endpoint.deployed_models)
            for index, model in enumerate(deployed):
                remaining = deployed[index + 1 :]
                split = {remaining[0].id: 100} if remaining else {}
                report_progress(f"{name}: undeploying {model.id} from {endpoint.name}")
                request = {"endpoint": endpoint.name, "deployed_model_id": model.id}
                if split:
                    request["traffic_split"] = split
                try:
                    undeploying = self._rpc(sdk.endpoints.undeploy_model, request)
                except NotFound:
                    continue
                self._wait_operation(
                    undeploying.operation.name, "undeploy", deploying=False, missing_ok=True
                )
            report_progress(f"{name}: deleting endpoint {endpoint.name}")
            self._delete(sdk.endpoints.delete_endpoint, endpoint.name, "endpoint deletion")
        for model in self._models_named(name):
            report_progress(f"{name}: deleting model {model.name}")
            self._delete(sdk.models.delete_model, model.name, "model deletion")

    def _delete(self, method: Callable[..., Any], name: str, what: str) -> None:
        try:
            operation = self._rpc(method, {"name": name})
        except NotFound:
            return
        self._wait_operation(operation.operation.name, what, deploying=False, missing_ok=True)

    # -- money -----------------------------------------------------------------------------
    def _price(self, key: str, region: str) -> PriceRow | None:
        row = self.prices.find_for_region(key, region)
        if row is None or row.usd_per_hour is None:
            return None
        return row

    def _hardware_of(self, target: Deployment | DeploymentSpec) -> tuple[str | None, int]:
        if isinstance(target, Deployment):
            if target.raw.get("accelerator_type"):
                return str(target.raw["accelerator_type"]), int(
                    target.raw.get("accelerator_count") or 1
                )
            found = self.hardware.get(target.instance or "")
            enum = accelerator_enum(found.gpu_type) if found and found.gpu_type else None
            return enum, (found.gpu_count if found and enum else 0)
        return self._accelerator(target, self.hardware.get(target.instance or ""))

    def cost(
        self,
        target: Deployment | DeploymentSpec,
        *,
        hours: float | None = None,
        requests: int | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
    ) -> CostEstimate:
        """replicas x node price x hours at the region's on-demand list price.

        The node price is the node-hour row where it includes the GPUs (``unit`` "node-hour,
        GPUs included", or a hostkit.toml override of the machine type alone), else the
        machine part + gpu_count x the GPU's row (both overridden, or both shipped/live).
        """
        for label, value in (
            ("hours", hours),
            ("requests", requests),
            ("input_tokens", input_tokens),
            ("output_tokens", output_tokens),
        ):
            if value is not None and (isinstance(value, bool) or value < 0):
                raise ConfigError(f"cost: {label} must be a number >= 0, got {value!r}")
        if hours is None:
            if requests or input_tokens or output_tokens:
                return self.unknown_cost(
                    "requests or tokens on a dedicated endpoint",
                    "Vertex AI bills deployed models per node-hour whatever they serve; pass"
                    " hours=",
                )
            hours = 1.0
        machine = target.instance
        region = target.region or self.location
        if isinstance(target, Deployment):
            count = target.replicas or target.min_replicas or 1
        else:
            count = target.replicas or target.min_replicas or 1
        if not machine:
            return self.unknown_cost(
                f"{target.name} (no machine type)", "give the spec instance = a machine type"
            )
        accelerator, per_node = self._hardware_of(target)
        host = self._price(machine, region)
        overrides = self.prices.sections.get("overrides", {})
        own_node = machine in overrides and accelerator not in overrides  # the user's all-in
        if host is not None and (includes_gpus(host) or own_node):
            return self._node_cost(machine, region, host, count, hours)
        gpu = self._price(accelerator, region) if accelerator else None
        missing = [machine] if host is None else []
        if accelerator and gpu is None:
            missing.append(accelerator)
        if missing:
            return self.unknown_cost(
                f"{' and '.join(repr(m) for m in missing)} in {region} (Vertex AI bills the"
                " machine and its GPUs separately)",
                self._price_hint(missing[0], "usd_per_hour = ..."),
            )
        assert host is not None and host.usd_per_hour is not None
        lines = [
            CostLine(
                f"{count} x {machine} machine (vCPUs and RAM), on-demand list price, {region}",
                "node-hour",
                hours * count,
                host.usd_per_hour,
                hours * count * host.usd_per_hour,
            )
        ]
        rows = [host]
        if gpu is not None and gpu.usd_per_hour is not None and accelerator:
            gpus = count * per_node
            lines.append(
                CostLine(
                    f"{gpus} x {accelerator} GPU, on-demand list price, {region}",
                    "gpu-hour",
                    hours * gpus,
                    gpu.usd_per_hour,
                    hours * gpus * gpu.usd_per_hour,
                )
            )
            rows.append(gpu)
        sources = list(dict.fromkeys(row.source for row in rows))
        estimate = CostEstimate(
            usd=sum(line.usd for line in lines),
            breakdown=lines,
            source=" ; ".join(sources),
            as_of=min(row.as_of for row in rows),
        )
        return mark_estimate(estimate, rows)

    @staticmethod
    def _node_cost(
        machine: str, region: str, node: PriceRow, count: int, hours: float
    ) -> CostEstimate:
        """replicas x hours at a node-hour price that includes the machine's GPUs."""
        assert node.usd_per_hour is not None
        line = CostLine(
            f"{count} x {machine} node (vCPUs, RAM and GPUs), on-demand list price, {region}",
            "node-hour",
            hours * count,
            node.usd_per_hour,
            hours * count * node.usd_per_hour,
        )
        estimate = CostEstimate(
            usd=line.usd, breakdown=[line], source=node.source, as_of=node.as_of
        )
        return mark_estimate(estimate, [node])

    def fetch_live_prices(self) -> list[PriceRow]:
        """Cloud Billing Catalog prices for ``hostkit catalog --refresh`` (live_prices.py)."""
        from .live_prices import fetch_live_prices

        return fetch_live_prices(self)

    def offerings(self, region: str | None = None) -> list[Offering]:
        """Every machine type in hardware.toml, priced per node-hour where the region's
        machine and GPU prices are both known."""
        where = region or self.location
        found = []
        for key, hardware in sorted(self.hardware.items()):
            enum = accelerator_enum(hardware.gpu_type) if hardware.gpu_type else None
            host = self._price(key, where)
            gpu = self._price(enum, where) if enum else None
            price: float | None = None
            rows: Sequence[PriceRow] = ()
            if includes_gpus(host):
                assert host is not None
                price, rows = host.usd_per_hour, [host]
            elif host is not None and host.usd_per_hour is not None and (enum is None or gpu):
                price = host.usd_per_hour
                rows = [host]
                if gpu is not None and gpu.usd_per_hour is not None:
                    price += hardware.gpu_count * gpu.usd_per_hour
                    rows = [host, gpu]
            found.append(
                Offering(
                    provider=self.name,
                    name=key,
                    kind="instance",
                    region=where,
                    gpu_type=hardware.gpu_type,
                    gpu_count=hardware.gpu_count,
                    gpu_memory_gb=hardware.gpu_memory_gb,
                    vcpus=hardware.vcpus,
                    ram_gb=hardware.ram_gb,
                    usd_per_hour=round(price, 7) if price is not None else None,
                    source=" ; ".join(dict.fromkeys(r.source for r in rows)) or hardware.source,
                    as_of=min((r.as_of for r in rows), default=hardware.as_of),
                )
            )
        return found

    # -- native batch jobs (batch.py: batch prediction) ---------------------------------------
    @property
    def _batch(self) -> Any:
        found = self.__dict__.get("_hostkit_batch")
        if found is None:
            from .batch import BatchPredictionJobs

            found = self.__dict__.setdefault("_hostkit_batch", BatchPredictionJobs(self))
        return found

    def submit_batch_job(self, spec: DeploymentSpec, job: Any) -> None:
        """Upload the instances to Cloud Storage and start a batch prediction job."""
        self._batch.submit(self.coerce_spec(spec), job)

    def batch_job_status(self, job: Any) -> Any:
        return self._batch.status(job)

    def fetch_batch_results(self, job: Any) -> Iterator[tuple[int, InvokeResult | HostkitError]]:
        return self._batch.results(job)

    def cancel_batch_job(self, job: Any) -> None:
        self._batch.cancel(job)

    def finish_batch_job(self, job: Any, *, keep_staging: bool = False) -> None:
        self._batch.finish(job, keep_staging=keep_staging)

    def batch_job_cost(
        self, spec: DeploymentSpec, job: Any, status: Any | None = None
    ) -> CostEstimate:
        return self._batch.cost(self.coerce_spec(spec), job, status)
