"""The ``sagemaker`` provider: Amazon SageMaker AI real-time endpoints, driven with boto3.

A deployment is one SageMaker real-time endpoint in the user's AWS account, with the
endpoint config and the model it needs, all named after the deployment (a name SageMaker
does not accept, such as ``Llama-3.1-8B``, becomes ``Llama-3-1-8B-<hash>``):

* ``deploy``: ``CreateModel`` -> ``CreateEndpointConfig`` -> ``CreateEndpoint`` (tagged with
  the spec's fingerprint), then the base class polls ``DescribeEndpoint`` until
  ``InService``. ``min_replicas``/``max_replicas`` are applied once it is in service (as
  ``scale`` does). A failure or timeout raises DeploymentFailed with SageMaker's
  ``FailureReason`` and deletes what was created.
* ``model``: a Hugging Face Hub id runs in the Hugging Face LLM (TGI) container of the
  region (``containers.py``; ``HF_MODEL_ID``, ``SM_NUM_GPUS`` from ``hardware.toml``,
  ``MESSAGES_API_ENABLED``, the spec's ``env`` such as ``HF_TOKEN``) and ``invoke`` speaks the
  chat-completions API to it; an ``s3://.../model.tar.gz`` artifact with ``image`` runs that
  container and ``invoke`` sends the payload as it is.
* ``invoke``: sagemaker-runtime ``InvokeEndpoint``; ``stream``:
  ``InvokeEndpointWithResponseStream`` (server-sent events inside AWS's event stream).
* ``scale(dep, N)``: ``DeregisterScalableTarget`` (fixed means no autoscaler) and
  ``UpdateEndpointWeightsAndCapacities``, then waits for ``InService``;
  ``scale(dep, min_replicas=, max_replicas=)``: Application Auto Scaling
  ``RegisterScalableTarget`` on ``endpoint/NAME/variant/AllTraffic`` and a target-tracking
  ``PutScalingPolicy`` on invocations per instance. Scale-to-zero is Unsupported: SageMaker
  offers it only for endpoints built from inference components.
* ``teardown``: deregister scaling, delete the endpoint, the endpoint config and the model;
  each one already gone is fine, and it works on the placeholder a failed deploy leaves.

Credentials are the AWS default chain (env, profile, SSO, instance role); boto3 is imported
at first use, construction sends nothing, and botocore's own retries are off
(``total_max_attempts=1``): hostkit's retry policy is the only one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from hostkit import Capabilities, CostEstimate, CostLine, Offering, Provider
from hostkit._deadline import call_within
from hostkit._logs import LogLine, Metrics
from hostkit._models import Deployment, DeploymentSpec, InvokeResult, Stream, Usage
from hostkit._redact import Secret, is_secret_key
from hostkit.adapters import (
    Hardware,
    PriceRow,
    build_chat_body,
    get_logger,
    instance_offering,
    iter_sse_data,
    load_hardware,
    parse_accelerator,
    report_progress,
    result_from_completion,
    usage_from,
)
from hostkit.errors import (
    AuthenticationError,
    CapacityUnavailable,
    ConfigError,
    DeploymentFailed,
    HostkitError,
    NotFound,
    ProviderError,
    Unsupported,
)

from ._errors import CREDENTIAL_HINT, already_exists, translate
from .artifacts import is_local, local_path
from .containers import is_artifact, is_hub_model, tgi_images

__all__ = ["CapacityFailure", "Names", "SageMakerProvider", "resource_name"]

T = TypeVar("T")
log = get_logger("hostkit.sagemaker")

#: the production variant hostkit creates (the sagemaker SDK's default name too)
VARIANT = "AllTraffic"
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
SCALING_METRIC = "SageMakerVariantInvocationsPerInstance"
#: the example target of AWS's "Define a scaling policy" page (invocations per instance per minute)
DEFAULT_TARGET_INVOCATIONS = 70.0
#: seconds SageMaker waits for the TGI container's /ping (download + load of the weights)
LLM_STARTUP_TIMEOUT = 900
TAG = "hostkit:"
#: spec tasks the LLM container serves (None: a Hub id is a chat model)
CHAT_TASKS = (None, "chat", "text-generation", "conversational")
STATUSES: dict[str, str] = {
    "Creating": "deploying",
    "InService": "ready",
    "Updating": "updating",
    "SystemUpdating": "updating",
    "RollingBack": "updating",
    "Deleting": "deleted",
    "Failed": "failed",
    "UpdateRollbackFailed": "failed",
    "OutOfService": "paused",
}
OPTIONS: dict[str, str] = {
    "tgi_version": "version of the Hugging Face LLM (TGI) container, e.g. '3.3.6'"
    " (default: the newest hostkit knows)",
    "num_gpus": "GPUs the TGI container shards the model over (default: all GPUs of the instance)",
    "startup_timeout": "seconds SageMaker waits for the container to answer /ping (60-3600;"
    f" default {LLM_STARTUP_TIMEOUT} for the LLM container, SageMaker's own otherwise)",
    "target_invocations_per_instance": "autoscaling target: invocations per instance per"
    f" minute (default {DEFAULT_TARGET_INVOCATIONS:g})",
    "tags": "extra AWS tags for the endpoint, config and model: {key = value}",
    "batch_strategy": "batch --native: SingleRecord (default, one request per invocation) or"
    " MultiRecord",
    "max_concurrent_transforms": "batch --native: parallel requests per instance (default:"
    " SageMaker's)",
    "max_payload_mb": "batch --native: largest request in MB (0-100, default 6)",
    "batch_seconds_per_request": "batch --native --dry-run: measured seconds per request, for"
    " the processing time in the estimate",
}
RAW_PARAMS: dict[str, str] = {
    "content_type": "ContentType",
    "accept": "Accept",
    "custom_attributes": "CustomAttributes",
    "target_variant": "TargetVariant",
    "inference_id": "InferenceId",
}
_CAPACITY = re.compile(r"insufficient\w*capacity|unable to provision requested ml compute", re.I)
_NAME_OK = re.compile(r"^[A-Za-z0-9](-*[A-Za-z0-9]){0,62}\Z")
_ENV_KEY = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{0,1023}\Z")
_TAG_VALUE = re.compile(r"^[\w.:/=+\-@ ]{0,256}\Z")
#: general-purpose, compute- and memory-optimised families: no GPU
_CPU_FAMILY = re.compile(r"^ml\.(m|c|r|t|x|z)\d")
_DELETING = re.compile(r"being deleted|in deleting|status deleting", re.I)


def resource_name(name: str) -> str:
    """The SageMaker name for a deployment name (letters, digits and '-', at most 63).

    A name SageMaker accepts is used as it is; any other gets its '.' and '_' replaced
    and a short hash of the original appended, so two names never collide.
    """
    if _NAME_OK.match(name):
        return name
    cleaned = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-") or "hostkit"
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    return f"{cleaned[: 63 - len(digest) - 1].rstrip('-')}-{digest}"


@dataclass(frozen=True)
class Names:
    """What a deployment is called on SageMaker (the same name for all three resources)."""

    endpoint: str
    config: str
    model: str

    @classmethod
    def of(cls, deployment_name: str) -> Names:
        name = resource_name(deployment_name)
        return cls(endpoint=name, config=name, model=name)


@dataclass(frozen=True)
class _Plan:
    """Everything a deploy sends, decided before the first request."""

    kind: str  # "chat" (TGI, OpenAI-style) or "raw"
    image: str
    environment: dict[str, str]
    model_data: str | None
    instance: str
    count: int
    startup_timeout: int | None
    tags: list[dict[str, str]] = field(default_factory=list)


class CapacityFailure(DeploymentFailed, CapacityUnavailable):
    """SageMaker could not provision the instance type: both a DeploymentFailed (what was
    created is deleted) and a CapacityUnavailable (try another instance type or region)."""


class SageMakerProvider(Provider):
    """Real-time endpoints on Amazon SageMaker AI in your AWS account."""

    name = "sagemaker"
    description = (
        "Amazon SageMaker AI real-time endpoints in your AWS account (TGI for Hugging Face"
        " models, any container for s3:// artifacts; billed per instance-hour)"
    )
    capabilities = Capabilities(
        dedicated=True,
        streaming=True,
        native_async=False,
        manual_scaling=True,
        autoscaling=True,
        scale_to_zero=False,
    )
    credential_env = None  # the AWS default credential chain
    requires = ("boto3",)
    install_extra = "sagemaker"
    settings_schema = {"role_arn": str, "profile": str, "batch_bucket": str, "batch_prefix": str}
    unsupported = {
        "scale_to_zero": (
            "a SageMaker real-time endpoint keeps at least one instance per variant; AWS scales"
            " to zero only endpoints built from inference components, which hostkit does not"
            " create; use teardown to stop paying (deploy again later)"
        ),
        "update": (
            "hostkit does not switch a SageMaker endpoint to a new config in place; tear the"
            " deployment down and deploy again, or deploy the new spec under another name"
        ),
    }
    default_timeout = 90.0  # an InvokeEndpoint may run 60 s on the server
    deploy_timeout = 3600.0  # an LLM endpoint takes 5-20 min; the SDK's waiter gives up at 60
    poll_initial = 10.0
    poll_max = 30.0  # the DescribeEndpoint interval of boto3's endpoint_in_service waiter
    price_file = "prices.toml"

    # -- construction ----------------------------------------------------
    def setup(self) -> None:
        for key in ("api_key", "api_key_env", "base_url"):
            if key in self.settings:
                raise ConfigError(
                    f"setting {key!r} does not apply to sagemaker: it uses the AWS credential"
                    f" chain and AWS's endpoints; {CREDENTIAL_HINT}",
                    provider=self.name,
                )
        self._session: Any = None
        self._region: str | None = None
        self._clients: dict[str, Any] = {}
        self._hardware: dict[str, Hardware] | None = None
        #: deployments this instance created in the current deploy call
        self._fresh: set[str] = set()
        #: resources found under our names that hostkit did not create: never deleted
        self._foreign: dict[str, set[str]] = {}
        #: endpoints find() saw being deleted (a new one of that name must wait)
        self._deleting: set[str] = set()

    def credential_variable(self) -> str | None:
        """The variable named when the AWS chain finds no credentials.

        ``credential_env`` stays None: boto3's default chain is used (environment, profile,
        SSO, container and instance roles); AWS_ACCESS_KEY_ID is its first link.
        """
        return "AWS_ACCESS_KEY_ID"

    def _boto_session(self) -> Any:
        if self._session is None:
            boto3 = self.import_sdk("boto3")
            profile = self.setting("profile")
            region = self.setting("region")
            self._session = self.call(
                lambda: boto3.session.Session(profile_name=profile, region_name=region)
            )
        return self._session

    @property
    def region(self) -> str:
        """The AWS region: the ``region`` setting, else the chain's (AWS_REGION, profile)."""
        if self._region is None:
            region = self._boto_session().region_name
            if not region:
                raise ConfigError(
                    "no AWS region for sagemaker: set region under [providers.sagemaker] in"
                    " hostkit.toml, or AWS_REGION / AWS_DEFAULT_REGION, or a region in the"
                    " AWS profile",
                    provider=self.name,
                )
            self._region = str(region)
        return self._region

    def _known_region(self) -> str | None:
        try:
            return self.region
        except ConfigError:
            return None

    def _client(self, service: str) -> Any:
        """One boto3 client per service, built at first use with botocore retries off."""
        client = self._clients.get(service)
        if client is not None:
            return client
        session = self._boto_session()
        credentials = self.call(session.get_credentials)
        if credentials is None:
            raise AuthenticationError(
                f"no AWS credentials found for {self.name}: {CREDENTIAL_HINT}", provider=self.name
            )
        frozen = self.call(credentials.get_frozen_credentials)  # SSO/role: fetched now
        for value in (frozen.access_key, frozen.secret_key, frozen.token):
            if value:
                Secret(value)  # masked in hostkit's errors and in the log records below
        config = self.import_sdk("botocore.config").Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=min(10.0, self.timeout),
            read_timeout=self.timeout,
            user_agent_extra="hostkit",
        )
        client = self.call(lambda: session.client(service, region_name=self.region, config=config))
        self._clients[service] = client
        _mask_botocore_logs()
        return client

    # -- names, hardware and the deploy plan -------------------------------
    @staticmethod
    def names(deployment_name: str) -> Names:
        return Names.of(deployment_name)

    @property
    def hardware(self) -> dict[str, Hardware]:
        if self._hardware is None:
            self._hardware = load_hardware(Path(__file__).with_name("hardware.toml"))
        return self._hardware

    def validate_spec(self, spec: DeploymentSpec) -> None:
        self._plan(spec)

    def _plan(self, spec: DeploymentSpec) -> _Plan:
        unknown = sorted(set(spec.options) - set(OPTIONS))
        if unknown:
            raise ConfigError(
                f"options: unknown option(s) {', '.join(unknown)} for sagemaker;"
                f" allowed: {', '.join(sorted(OPTIONS))}",
                provider=self.name,
            )
        if not self.setting("role_arn"):
            raise ConfigError(
                "role_arn: SageMaker needs an execution role to pull the image and the model;"
                ' set role_arn = "arn:aws:iam::<account>:role/<role>" under'
                " [providers.sagemaker] (a role trusted by sagemaker.amazonaws.com, see"
                " docs/providers/sagemaker.md)",
                provider=self.name,
            )
        if spec.scale_to_zero_after is not None:
            raise ConfigError(f"scale_to_zero_after: {self.unsupported['scale_to_zero']}")
        for label, value in (("replicas", spec.replicas), ("min_replicas", spec.min_replicas)):
            if value == 0:
                raise ConfigError(f"{label}: {self.unsupported['scale_to_zero']}")
        if spec.region and self._region is None and not self._boto_session().region_name:
            self._region = spec.region  # no region configured: the spec's is the provider's
        if spec.region and spec.region != self.region:
            raise ConfigError(
                f"region: this sagemaker provider works in {self.region}; to deploy in"
                f" {spec.region}, configure region = {spec.region!r} under"
                " [providers.sagemaker] (or AWS_REGION) instead",
                provider=self.name,
            )
        instance = self._instance(spec)
        hardware = self.hardware.get(instance)
        options = spec.options
        for key in ("num_gpus", "startup_timeout"):
            value = options.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ConfigError(f"options.{key}: expected a whole number, got {value!r}")
        target = options.get("target_invocations_per_instance")
        if target is not None and (
            isinstance(target, bool) or not isinstance(target, int | float) or target <= 0
        ):
            raise ConfigError(
                "options.target_invocations_per_instance: expected a positive number,"
                f" got {target!r}"
            )
        for key, text in spec.env.items():
            if not _ENV_KEY.match(key) or len(text) > 1024:
                raise ConfigError(
                    f"env: {key!r} is not a SageMaker container variable (a name of letters,"
                    " digits and '_' not starting with a digit, values up to 1024 characters)"
                )
            if is_secret_key(key):
                Secret(text)  # never shown in hostkit's errors or botocore's debug log
        environment: dict[str, str] = {}
        model_data = None
        if is_local(spec.model):
            local_path(spec.model)  # a missing path or empty directory: a ConfigError now
            if not spec.image:
                raise ConfigError(
                    f"image: {spec.model!r} is a local model, packed as model.tar.gz; name the"
                    " container that serves it, e.g."
                    " image = '<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>'"
                )
            kind, image, model_data = "raw", spec.image, spec.model  # uploaded by _create
        elif is_artifact(spec.model):
            if not spec.image:
                raise ConfigError(
                    f"image: {spec.model!r} is a model artifact; name the container that serves"
                    " it, e.g. image = '<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>'"
                )
            kind, image, model_data = "raw", spec.image, spec.model
        elif is_hub_model(spec.model):
            chat = spec.task in CHAT_TASKS
            if not chat and not spec.image:
                raise ConfigError(
                    f"task: the Hugging Face LLM container serves chat and text generation, not"
                    f" {spec.task!r}; name the container for it in image=... (requests are then"
                    " sent as they are)"
                )
            gpus = options.get("num_gpus")
            if gpus is None and hardware is None and _CPU_FAMILY.match(instance):
                gpus = 0
            if gpus is None:
                if hardware is None:
                    raise ConfigError(
                        f"options.num_gpus: hostkit does not know how many GPUs {instance}"
                        " has; set options.num_gpus (the TGI container shards the model over"
                        " them)"
                    )
                gpus = hardware.gpu_count
            if gpus < 1:
                raise ConfigError(
                    f"instance: {instance} has no GPU, and the Hugging Face LLM container needs"
                    " one; choose e.g. ml.g5.2xlarge, ml.g6.2xlarge or ml.g6e.xlarge"
                )
            kind = "chat" if chat else "raw"
            version = options.get("tgi_version")
            image = spec.image or tgi_images().image_uri(
                self.region, str(version) if version else None
            )
            environment = {
                "HF_MODEL_ID": spec.model,
                "SM_NUM_GPUS": str(gpus),
                "MESSAGES_API_ENABLED": "true",
            }
        else:
            raise ConfigError(
                f"model: {spec.model!r} is neither a Hugging Face Hub id (org/name) nor an"
                " s3:// model artifact, nor a local path such as ./model (packed and uploaded);"
                " those are what SageMaker serves"
            )
        environment.update(spec.env)
        startup = options.get("startup_timeout")
        if startup is None and is_hub_model(spec.model):
            startup = LLM_STARTUP_TIMEOUT
        if startup is not None and not 60 <= startup <= 3600:
            raise ConfigError(f"options.startup_timeout: must be 60-3600 seconds, got {startup}")
        return _Plan(
            kind=kind,
            image=image,
            environment=environment,
            model_data=model_data,
            instance=instance,
            count=spec.replicas or spec.min_replicas or 1,
            startup_timeout=startup,
            tags=self._tags_for(spec, kind, instance),
        )

    def model_data_url(self, model_data: str) -> str:
        """``model_data`` as SageMaker's ModelDataUrl: a local path is packed and uploaded
        (content-addressed, see artifacts.py); an s3:// URI is used as it is."""
        if is_local(model_data):
            from .artifacts import upload

            return upload(self, model_data)
        return model_data

    def _instance(self, spec: DeploymentSpec) -> str:
        instance = spec.instance
        if instance is None:
            hint = ""
            if spec.accelerator:
                hint = f"; instance types with {spec.accelerator}: " + ", ".join(
                    self._instances_with(spec.accelerator) or ["(none known)"]
                )
            raise ConfigError(
                "instance: required on sagemaker, e.g. ml.g5.2xlarge (1 x A10G 24 GB);"
                f" see `hostkit offerings sagemaker`{hint}"
            )
        if not instance.startswith("ml."):
            raise ConfigError(
                f"instance: {instance!r} is not a SageMaker instance type; they look like"
                " ml.g5.2xlarge or ml.g6e.12xlarge"
            )
        if spec.accelerator:
            matching = self._instances_with(spec.accelerator)
            if instance in self.hardware and instance not in matching:
                raise ConfigError(
                    f"accelerator: {instance} does not carry {spec.accelerator};"
                    f" instance types that do: {', '.join(matching) or '(none known)'}"
                )
        return instance

    def _instances_with(self, accelerator: str) -> list[str]:
        """Instance types with at least the GPUs a portable accelerator ("A100-80GB:1") asks."""
        wanted = parse_accelerator(accelerator)
        return [
            key
            for key, hw in self.hardware.items()
            if wanted.accepts(hw.gpu_type, hw.gpu_memory_gb, hw.gpu_count)
        ]

    def _tags_for(self, spec: DeploymentSpec, kind: str, instance: str) -> list[dict[str, str]]:
        values = {
            "deployment": spec.name,
            "fingerprint": spec.fingerprint(),
            "model": spec.model,
            "instance": instance,
            "kind": kind,
        }
        tags = [
            {"Key": TAG + key, "Value": value}
            for key, value in values.items()
            if _TAG_VALUE.match(value)
        ]
        extra = spec.options.get("tags") or {}
        if not isinstance(extra, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in extra.items()
        ):
            raise ConfigError("options.tags: expected a table of string keys to string values")
        for key, value in extra.items():
            if key.startswith(("aws:", TAG)):
                raise ConfigError(f"options.tags: {key!r} uses a reserved prefix (aws:, hostkit:)")
            tags.append({"Key": key, "Value": value})
        return tags

    # -- deploy ----------------------------------------------------------
    def deploy(
        self,
        spec: DeploymentSpec | Mapping[str, Any],
        *,
        wait: bool = True,
        timeout: float | None = None,
        update: bool = False,
        keep_failed: bool = False,
    ) -> Deployment:
        """Deploy as the base class does; then apply the spec's autoscaling bounds.

        SageMaker registers a variant with Application Auto Scaling only once the endpoint
        is in service, so ``min_replicas``/``max_replicas`` are applied after the wait (with
        ``wait=False``, call ``scale(dep, min_replicas=..., max_replicas=...)`` later).
        """
        spec = self.coerce_spec(spec)
        self._fresh.discard(spec.name)
        deployment = super().deploy(
            spec, wait=wait, timeout=timeout, update=update, keep_failed=keep_failed
        )
        bounded = spec.min_replicas is not None or spec.max_replicas is not None
        if not bounded or spec.name not in self._fresh:
            return deployment
        self._fresh.discard(spec.name)
        if deployment.status != "ready":
            report_progress(
                f"{spec.name}: min/max replicas apply once it is in service:"
                " call scale(dep, min_replicas=..., max_replicas=...) then"
            )
            return deployment
        try:
            return self.scale(
                deployment, min_replicas=spec.min_replicas, max_replicas=spec.max_replicas
            )
        except BaseException as error:
            if not keep_failed:
                report_progress(f"{spec.name}: autoscaling failed, deleting the endpoint")
                try:
                    self.teardown(deployment)
                except HostkitError as cleanup_error:
                    if isinstance(error, Exception):
                        error.add_note(f"clean-up also failed: {cleanup_error}")
            raise

    def _create(self, spec: DeploymentSpec) -> Deployment:
        plan = self._plan(spec)
        names = self.names(spec.name)
        sm = self._client("sagemaker")
        self._fresh.add(spec.name)
        if names.endpoint in self._deleting:
            self._wait_gone(names.endpoint)
        container: dict[str, Any] = {"Image": plan.image}
        if plan.model_data:
            container["ModelDataUrl"] = self.model_data_url(plan.model_data)
        if plan.environment:
            container["Environment"] = plan.environment
        model_request = {
            "ModelName": names.model,
            "PrimaryContainer": container,
            "ExecutionRoleArn": self.setting("role_arn"),
            "Tags": plan.tags,
        }
        variant: dict[str, Any] = {
            "VariantName": VARIANT,
            "ModelName": names.model,
            "InstanceType": plan.instance,
            "InitialInstanceCount": plan.count,
            "InitialVariantWeight": 1.0,
        }
        if plan.startup_timeout is not None:
            variant["ContainerStartupHealthCheckTimeoutInSeconds"] = plan.startup_timeout
        config_request = {
            "EndpointConfigName": names.config,
            "ProductionVariants": [variant],
            "Tags": plan.tags,
        }
        endpoint_request = {
            "EndpointName": names.endpoint,
            "EndpointConfigName": names.config,
            "Tags": plan.tags,
        }
        self._create_once(spec.name, "model", names.model, lambda: sm.create_model(**model_request))
        self._create_once(
            spec.name,
            "endpoint config",
            names.config,
            lambda: sm.create_endpoint_config(**config_request),
        )
        created = self._create_once(
            spec.name, "endpoint", names.endpoint, lambda: sm.create_endpoint(**endpoint_request)
        )
        return Deployment(
            name=spec.name,
            provider=self.name,
            model=spec.model,
            status="deploying",
            endpoint=self._invocation_url(names.endpoint),
            replicas=0,
            instance=plan.instance,
            region=self.region,
            fingerprint=spec.fingerprint(),
            raw={
                "endpoint_name": names.endpoint,
                "endpoint_arn": created.get("EndpointArn"),
                "endpoint_config": names.config,
                "model_name": names.model,
                "variant": VARIANT,
                "kind": plan.kind,
                "image": plan.image,
                "desired_instance_count": plan.count,
                "sagemaker_status": "Creating",
                **_target_option(spec),
            },
        )

    def _create_once(
        self, deployment_name: str, kind: str, name: str, create: Callable[[], T]
    ) -> T:
        """Create one resource (never retried on a 5xx: a create is not idempotent).

        If the name is taken, a leftover that hostkit created for this deployment (a crash
        between two creates) is deleted and the create runs again; anything else is left
        alone, named in a ConfigError and kept out of the rollback.
        """
        try:
            return self.call(create, safe=False)
        except ConfigError as error:
            if not already_exists(error):
                raise
            if kind != "endpoint" and self._leftover_of(deployment_name, kind, name):
                report_progress(f"{deployment_name}: deleting a {kind} left by an earlier deploy")
                self._delete(kind, name)
                return self.call(create, safe=False)
            self._foreign.setdefault(deployment_name, set()).add(kind)
            raise ConfigError(
                f"a SageMaker {kind} named {name!r} already exists and hostkit did not create it"
                f" for {deployment_name!r}: delete it in the SageMaker console, or deploy under"
                " another name",
                provider=self.name,
                status_code=error.status_code,
                request_id=error.request_id,
            ) from error

    def _leftover_of(self, deployment_name: str, kind: str, name: str) -> bool:
        sm = self._client("sagemaker")
        if kind == "model":
            arn = self.call(lambda: sm.describe_model(ModelName=name))["ModelArn"]
        else:
            arn = self.call(lambda: sm.describe_endpoint_config(EndpointConfigName=name))[
                "EndpointConfigArn"
            ]
        tags = self._tags(arn)
        return tags.get(TAG + "deployment") == deployment_name

    def _wait_gone(self, endpoint: str) -> None:
        """Wait for an endpoint of this name that is being deleted to go away."""
        report_progress(f"{endpoint}: waiting for the previous endpoint to finish deleting")
        deadline = time.monotonic() + self.deploy_timeout
        delay = self.poll_initial
        while self._describe(endpoint) is not None:
            if time.monotonic() + delay > deadline:
                raise ProviderError(
                    f"{endpoint} was still being deleted after {self.deploy_timeout:.0f}s",
                    provider=self.name,
                )
            self.sleep(delay)
            delay = min(delay * 2, self.poll_max)
        self._deleting.discard(endpoint)

    def wait(self, deployment: Deployment, *, timeout: float | None = None) -> Deployment:
        """The base class's wait; a capacity failure is raised as a CapacityFailure."""
        try:
            return super().wait(deployment, timeout=timeout)
        except CapacityFailure:
            raise
        except DeploymentFailed as error:
            reason = error.reason or ""
            if not _CAPACITY.search(reason):
                raise
            instance = deployment.instance or "the instance type"
            where = f"{instance} in {deployment.region or self.region}"
            raise CapacityFailure(
                f"{error.message} (no capacity for {where} right now: retry later, or choose"
                " another instance type or region)",
                reason=reason,
                provider=self.name,
            ) from error

    def failure_reason(self, deployment: Deployment) -> str | None:
        reason = deployment.raw.get("failure_reason")
        if not reason:
            status = deployment.raw.get("sagemaker_status")
            return f"the endpoint is {status}" if status else None
        endpoint = deployment.raw.get("endpoint_name") or self.names(deployment.name).endpoint
        logs = f"/aws/sagemaker/Endpoints/{endpoint}"
        return f"{reason} (container logs: CloudWatch log group {logs})"

    # -- look-up ---------------------------------------------------------
    def _describe(self, endpoint: str) -> dict[str, Any] | None:
        sm = self._client("sagemaker")
        try:
            described: dict[str, Any] = self.call(
                lambda: sm.describe_endpoint(EndpointName=endpoint)
            )
        except NotFound:
            return None
        return described

    def _tags(self, arn: str) -> dict[str, str]:
        sm = self._client("sagemaker")
        tags: dict[str, str] = {}
        token: str | None = None

        def page() -> dict[str, Any]:
            kwargs = {"ResourceArn": arn, **({"NextToken": token} if token else {})}
            found: dict[str, Any] = sm.list_tags(**kwargs)
            return found

        while True:
            answer = self.call(page)
            tags.update({t["Key"]: t["Value"] for t in answer.get("Tags") or []})
            token = answer.get("NextToken")
            if not token:
                return tags

    def find(self, name: str) -> Deployment | None:
        names = self.names(name)
        described = self._describe(names.endpoint)
        if described is None:
            self._deleting.discard(names.endpoint)
            return None
        if described.get("EndpointStatus") == "Deleting":
            self._deleting.add(names.endpoint)
            base = Deployment(name=name, provider=self.name, model="", status="deleted")
            return self._merge(base, described)
        tags = self._tags(described["EndpointArn"])
        base = Deployment(
            name=name,
            provider=self.name,
            model=tags.get(TAG + "model", ""),
            status="pending",
            instance=tags.get(TAG + "instance"),
            region=self.region,
            fingerprint=tags.get(TAG + "fingerprint"),
            raw={
                "kind": tags.get(TAG + "kind", "raw"),
                "model_name": names.model,
                "managed_by_hostkit": TAG + "deployment" in tags,
            },
        )
        return self._merge(base, described)

    # -- inventory (hostkit ls / teardown --all / providers --check): inventory.py ----
    def list_deployments(self, *, all_accounts: bool = False) -> list[Deployment]:
        """Endpoints tagged ``hostkit:deployment`` in the region, from any machine.

        AWS scopes a listing to the credentials' account and one region: ``all_accounts``
        changes nothing here (set ``region`` or ``profile`` to look elsewhere).
        """
        from hostkit_providers.sagemaker.inventory import list_tagged

        return list_tagged(self)

    def credential_source(self) -> str | None:
        from hostkit_providers.sagemaker.inventory import credential_source

        return credential_source(self)

    def check_access(self) -> None:
        """``ListEndpoints`` (one result): needs sagemaker:ListEndpoints."""
        from hostkit_providers.sagemaker.inventory import check_access

        check_access(self)

    def status(self, deployment: Deployment) -> Deployment:
        endpoint = deployment.raw.get("endpoint_name") or self.names(deployment.name).endpoint
        described = self._describe(endpoint)
        if described is None:
            raw = {**deployment.raw, "sagemaker_status": None}
            return _copy(deployment, status="deleted", replicas=0, raw=raw)
        return self._merge(deployment, described)

    def _merge(self, deployment: Deployment, described: Mapping[str, Any]) -> Deployment:
        """``deployment`` updated with what DescribeEndpoint says."""
        state = str(described.get("EndpointStatus") or "")
        variants = described.get("ProductionVariants") or []
        current = sum(int(v.get("CurrentInstanceCount") or 0) for v in variants)
        desired = sum(int(v.get("DesiredInstanceCount") or 0) for v in variants)
        endpoint = str(described.get("EndpointName") or self.names(deployment.name).endpoint)
        raw = {
            **deployment.raw,
            "endpoint_name": endpoint,
            "endpoint_arn": described.get("EndpointArn"),
            "endpoint_config": described.get("EndpointConfigName"),
            "variant": variants[0].get("VariantName", VARIANT) if variants else VARIANT,
            "sagemaker_status": state,
            "desired_instance_count": desired,
        }
        raw.pop("failure_reason", None)
        if described.get("FailureReason"):
            raw["failure_reason"] = str(described["FailureReason"])
        return _copy(
            deployment,
            status=STATUSES.get(state, "deploying"),
            endpoint=self._invocation_url(endpoint),
            replicas=current,
            region=deployment.region or self.region,
            raw=raw,
        )

    def _invocation_url(self, endpoint: str) -> str:
        base = self._client("sagemaker-runtime").meta.endpoint_url.rstrip("/")
        return f"{base}/endpoints/{endpoint}/invocations"

    def capabilities_for(self, deployment: Deployment) -> Capabilities:
        if deployment.raw.get("kind", "raw") == "chat":
            return self.capabilities
        return dataclasses.replace(self.capabilities, streaming=False)

    # -- invoke ----------------------------------------------------------
    def _endpoint_name(self, deployment: Deployment) -> str:
        return str(deployment.raw.get("endpoint_name") or self.names(deployment.name).endpoint)

    def _request(
        self, deployment: Deployment, request: Any, params: Mapping[str, Any], *, stream: bool
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"EndpointName": self._endpoint_name(deployment)}
        if deployment.raw.get("kind", "raw") == "chat":
            body = build_chat_body(deployment.model, request, params, stream=stream)
            kwargs.update(
                Body=json.dumps(body).encode(),
                ContentType="application/json",
                Accept="text/event-stream" if stream else "application/json",
            )
            return kwargs
        unknown = sorted(set(params) - set(RAW_PARAMS))
        if unknown:
            raise ConfigError(
                f"invoke: {deployment.name} serves a raw container; unknown parameter(s)"
                f" {', '.join(unknown)}; allowed: {', '.join(RAW_PARAMS)}"
            )
        payload, content_type = _payload(request)
        kwargs.update(Body=payload, ContentType=params.get("content_type") or content_type)
        for key, field_name in RAW_PARAMS.items():
            if key != "content_type" and params.get(key) is not None:
                kwargs[field_name] = params[key]
        return kwargs

    def invoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        runtime = self._client("sagemaker-runtime")
        kwargs = self._request(deployment, request, params, stream=False)
        started = [0.0]

        def exchange() -> tuple[dict[str, Any], bytes]:
            response: dict[str, Any] = runtime.invoke_endpoint(**kwargs)
            return response, response["Body"].read()

        def attempt() -> tuple[dict[str, Any], bytes]:
            # botocore bounds each socket read only; `timeout` bounds the whole call
            started[0] = time.perf_counter()
            return call_within(self.timeout, exchange, provider=self.name)

        response, body = self.call(attempt, safe=True)
        latency = time.perf_counter() - started[0]
        request_id = (response.get("ResponseMetadata") or {}).get("RequestId")
        variant = response.get("InvokedProductionVariant")
        if deployment.raw.get("kind", "raw") == "chat":
            try:
                data = json.loads(body)
            except ValueError:
                raise ProviderError(
                    f"{deployment.name}: the LLM container answered with something that is not"
                    f" JSON: {body[:200]!r}",
                    provider=self.name,
                    request_id=request_id,
                ) from None
            result = result_from_completion(
                data, provider=self.name, model=deployment.model, latency_s=latency
            )
            return dataclasses.replace(
                result,
                request_id=request_id,
                raw={
                    "completion": data,
                    "invoked_variant": variant,
                    "completion_id": data.get("id"),
                },
            )
        content_type = str(response.get("ContentType") or "")
        output = _decode(body, content_type)
        return InvokeResult(
            text=output if isinstance(output, str) else None,
            output=output,
            usage=Usage(),
            latency_s=latency,
            provider=self.name,
            model=deployment.model,
            request_id=request_id,
            raw={"content_type": content_type, "invoked_variant": variant},
        )

    def stream(self, deployment: Deployment, request: Any, **params: Any) -> Stream:
        if deployment.raw.get("kind", "raw") != "chat":
            raise Unsupported(
                f"{deployment.name} runs a container hostkit does not know the streaming format"
                " of (an s3:// artifact with its own image); use invoke",
                provider=self.name,
            )
        runtime = self._client("sagemaker-runtime")
        kwargs = self._request(deployment, request, params, stream=True)
        started = time.perf_counter()
        response: dict[str, Any] = self.call(  # the deadline ends at the stream's headers
            lambda: call_within(
                self.timeout,
                lambda: runtime.invoke_endpoint_with_response_stream(**kwargs),
                provider=self.name,
            ),
            safe=True,
        )
        events = response["Body"]
        request_id = (response.get("ResponseMetadata") or {}).get("RequestId")
        state: dict[str, Any] = {"parts": [], "usage": None, "ttft": None, "id": None}

        def chunks() -> Iterator[str]:
            with self._translating():
                for event in iter_sse_data(_sse_lines(events), provider=self.name):
                    state["id"] = state["id"] or event.get("id")
                    if event.get("usage"):
                        state["usage"] = event["usage"]
                    for choice in event.get("choices") or []:
                        piece = (choice.get("delta") or {}).get("content")
                        if piece:
                            if state["ttft"] is None:
                                state["ttft"] = time.perf_counter() - started
                            state["parts"].append(piece)
                            yield piece

        def finish() -> InvokeResult:
            text = "".join(state["parts"])
            return InvokeResult(
                text=text,
                output={"role": "assistant", "content": text},
                usage=usage_from(state["usage"]),
                latency_s=time.perf_counter() - started,
                ttft_s=state["ttft"],
                provider=self.name,
                model=deployment.model,
                request_id=request_id,
                raw={"completion_id": state["id"]},
            )

        return Stream(chunks(), finish, close=events.close)

    @contextlib.contextmanager
    def _translating(self) -> Iterator[None]:
        try:
            yield
        except HostkitError:
            raise
        except Exception as error:
            raise self.map_error(error) from error

    # -- logs and metrics (CloudWatch; see logs.py) -------------------------
    def _logs(
        self, deployment: Deployment, *, since: float | None, follow: bool
    ) -> Iterator[LogLine]:
        from hostkit_providers.sagemaker.logs import read_logs

        return read_logs(self, deployment, since=since, follow=follow)

    def metrics(self, deployment: Deployment, *, since: float | None = None) -> Metrics | None:
        from hostkit_providers.sagemaker.logs import read_metrics

        return read_metrics(self, deployment, since=since)

    # -- scale -----------------------------------------------------------
    def _scale(
        self,
        deployment: Deployment,
        replicas: int | None,
        min_replicas: int | None,
        max_replicas: int | None,
    ) -> Deployment:
        endpoint = self._endpoint_name(deployment)
        variant = str(deployment.raw.get("variant") or VARIANT)
        if replicas is not None:
            self._deregister(endpoint, variant, tolerate_denied=True)
            sm = self._client("sagemaker")
            self.call(
                lambda: sm.update_endpoint_weights_and_capacities(
                    EndpointName=endpoint,
                    DesiredWeightsAndCapacities=[
                        {"VariantName": variant, "DesiredInstanceCount": replicas}
                    ],
                ),
                safe=False,
            )
            raw = {**deployment.raw, "desired_instance_count": replicas}
            raw.pop("autoscaling", None)
            updating = _copy(
                deployment, status="updating", min_replicas=None, max_replicas=None, raw=raw
            )
            report_progress(f"{deployment.name}: scaling to {replicas} instance(s)")
            scaled = self.wait(updating)
            reason = scaled.raw.get("failure_reason")
            if scaled.replicas != replicas and reason:
                instance = scaled.instance or "the instance type"
                where = f"{instance} in {scaled.region or self.region}"
                error_class = CapacityUnavailable if _CAPACITY.search(reason) else ProviderError
                raise error_class(
                    f"{deployment.name}: scaling to {replicas} failed ({where}): {reason}",
                    provider=self.name,
                )
            return scaled
        low = min_replicas if min_replicas is not None else deployment.min_replicas or 1
        high = max_replicas if max_replicas is not None else deployment.max_replicas
        if high is None:
            high = max(low, deployment.replicas or 1)
        if low > high:
            raise ConfigError(
                f"scale: min_replicas ({low}) exceeds max_replicas ({high}) on {deployment.name}"
            )
        target = float(
            deployment.raw.get("target_invocations_per_instance") or DEFAULT_TARGET_INVOCATIONS
        )
        autoscaling = self._client("application-autoscaling")
        resource = _resource_id(endpoint, variant)
        self.call(
            lambda: autoscaling.register_scalable_target(
                ServiceNamespace="sagemaker",
                ResourceId=resource,
                ScalableDimension=SCALABLE_DIMENSION,
                MinCapacity=low,
                MaxCapacity=high,
            )
        )
        self.call(
            lambda: autoscaling.put_scaling_policy(
                PolicyName=_policy_name(endpoint),
                ServiceNamespace="sagemaker",
                ResourceId=resource,
                ScalableDimension=SCALABLE_DIMENSION,
                PolicyType="TargetTrackingScaling",
                TargetTrackingScalingPolicyConfiguration={
                    "TargetValue": target,
                    "PredefinedMetricSpecification": {"PredefinedMetricType": SCALING_METRIC},
                },
            )
        )
        raw = {**deployment.raw, "autoscaling": {"resource_id": resource, "target": target}}
        bounded = _copy(deployment, min_replicas=low, max_replicas=high, raw=raw)
        return self.status(bounded)

    def _deregister(self, endpoint: str, variant: str, *, tolerate_denied: bool = False) -> None:
        autoscaling = self._client("application-autoscaling")
        try:
            self.call(
                lambda: autoscaling.deregister_scalable_target(
                    ServiceNamespace="sagemaker",
                    ResourceId=_resource_id(endpoint, variant),
                    ScalableDimension=SCALABLE_DIMENSION,
                )
            )
        except NotFound:
            return
        except AuthenticationError as error:
            if not tolerate_denied:
                raise
            log.warning(
                "%s: could not remove its autoscaling (%s); a registered scaling policy may"
                " change the instance count again",
                endpoint,
                error.message,
            )

    # -- teardown --------------------------------------------------------
    def _teardown(self, deployment: Deployment) -> None:
        names = self.names(deployment.name)
        endpoint = self._endpoint_name(deployment)
        config = str(deployment.raw.get("endpoint_config") or names.config)
        model = str(deployment.raw.get("model_name") or names.model)
        variant = str(deployment.raw.get("variant") or VARIANT)
        keep = self._foreign.pop(deployment.name, set())
        steps: list[tuple[str, Callable[[], None]]] = [
            ("autoscaling", lambda: self._deregister(endpoint, variant)),
            ("endpoint", lambda: self._delete("endpoint", endpoint)),
            ("endpoint config", lambda: self._delete("endpoint config", config)),
            ("model", lambda: self._delete("model", model)),
        ]
        failures: list[HostkitError] = []
        for what, step in steps:
            if what in keep:
                continue
            try:
                step()
            except HostkitError as error:  # keep going: delete everything that can be
                log.error("%s: deleting its %s failed: %s", deployment.name, what, error)
                failures.append(error)
        if failures:
            first = failures[0]
            for other in failures[1:]:
                first.add_note(f"also failed: {other}")
            raise first

    def _delete(self, kind: str, name: str) -> None:
        """Delete one resource; one that is already gone (or going) is fine."""
        sm = self._client("sagemaker")
        calls: dict[str, Callable[[], Any]] = {
            "endpoint": lambda: sm.delete_endpoint(EndpointName=name),
            "endpoint config": lambda: sm.delete_endpoint_config(EndpointConfigName=name),
            "model": lambda: sm.delete_model(ModelName=name),
        }
        try:
            self.call(calls[kind])
        except NotFound:
            return
        except ConfigError as error:
            if kind == "endpoint" and _DELETING.search(error.message):
                return
            raise

    # -- money -----------------------------------------------------------
    def cost(
        self,
        target: Deployment | DeploymentSpec,
        *,
        hours: float | None = None,
        requests: int | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
    ) -> CostEstimate:
        """On-demand list price x instances x hours (hours defaults to 1)."""
        if hours is None and (requests or input_tokens or output_tokens):
            return self.unknown_cost(
                "requests or tokens",
                "SageMaker bills instance-hours, not requests: pass hours= (cost(dep, hours=1))",
            )
        hours = 1.0 if hours is None else float(hours)
        if hours < 0:
            raise ConfigError(f"hours: must not be negative, got {hours}")
        instance = target.instance
        region = target.region or self._known_region()
        if isinstance(target, Deployment):
            count = target.replicas or int(target.raw.get("desired_instance_count") or 0) or 1
        else:
            count = target.replicas or target.min_replicas or 1
        if instance is None:
            return self.unknown_cost("a deployment without an instance type", "give instance=...")
        if region is None:
            return self.unknown_cost(
                f"{instance!r} in an unknown region", "set region under [providers.sagemaker]"
            )
        estimate = self.time_cost(instance, hours=hours, count=count, region=region)
        if estimate.usd is None:
            return estimate
        line = estimate.breakdown[0]
        overridden = instance in self.prices.sections.get("overrides", {})
        kind = "your configured price" if overridden else "on-demand list price"
        estimate.breakdown = [
            CostLine(
                f"{count} x {instance} in {region} ({kind}, real-time inference)",
                line.unit,
                line.quantity,
                line.unit_price_usd,
                line.usd,
            )
        ]
        return estimate

    def fetch_live_prices(self) -> list[PriceRow]:
        """AWS Price List API prices for ``hostkit catalog --refresh`` (live_prices.py)."""
        from .live_prices import fetch_live_prices

        return fetch_live_prices(self)

    def offerings(self, region: str | None = None) -> list[Offering]:
        """Instance types with their GPUs and, where known, the region's on-demand price."""
        wanted = region or self._known_region()
        priced = {
            section.removeprefix("region."): rows
            for section, rows in self.prices.sections.items()
            if section.startswith("region.")
        }
        regions = [wanted] if wanted else sorted(priced)
        overrides = self.prices.sections.get("overrides", {})
        offers = []
        for where in regions:
            rows = {**priced.get(where, {}), **overrides}
            for key in sorted({*self.hardware, *rows}):
                hardware, row = self.hardware.get(key), rows.get(key)
                offers.append(instance_offering(self.name, key, hardware, row, region=where))
        return offers

    # -- native batch jobs (batch.py: Batch Transform) ---------------------
    @property
    def _transform(self) -> Any:
        from .batch import TransformJobs

        return TransformJobs(self)

    def submit_batch_job(self, spec: DeploymentSpec, job: Any) -> None:
        """Upload the requests to S3 and start a Batch Transform job (see batch.py)."""
        self._transform.submit(self.coerce_spec(spec), job)

    def batch_job_status(self, job: Any) -> Any:
        return self._transform.status(job)

    def fetch_batch_results(self, job: Any) -> Iterator[tuple[int, InvokeResult | HostkitError]]:
        return self._transform.results(job)

    def cancel_batch_job(self, job: Any) -> None:
        self._transform.cancel(job)

    def finish_batch_job(self, job: Any, *, keep_staging: bool = False) -> None:
        self._transform.finish(job, keep_staging=keep_staging)

    def batch_job_cost(
        self, spec: DeploymentSpec, job: Any, status: Any | None = None
    ) -> CostEstimate:
        return self._transform.cost(self.coerce_spec(spec), job, status)

    # -- errors and clean-up ---------------------------------------------
    def translate_error(self, error: Exception) -> HostkitError | None:
        return translate(error, provider=self.name, region=self._region)

    def close(self) -> None:
        for client in self._clients.values():
            with contextlib.suppress(Exception):
                client.close()
        self._clients.clear()


# -- helpers ----------------------------------------------------------------
def _copy(deployment: Deployment, **changes: Any) -> Deployment:
    fresh = dataclasses.replace(deployment, **changes)
    fresh._provider = deployment._provider
    return fresh


def _resource_id(endpoint: str, variant: str) -> str:
    return f"endpoint/{endpoint}/variant/{variant}"


def _policy_name(endpoint: str) -> str:
    return f"hostkit-{endpoint}-invocations"


def _target_option(spec: DeploymentSpec) -> dict[str, Any]:
    target = spec.options.get("target_invocations_per_instance")
    return {} if target is None else {"target_invocations_per_instance": float(target)}


def _payload(request: Any) -> tuple[bytes, str]:
    """A raw request's body and its default content type."""
    if isinstance(request, bytes | bytearray):
        return bytes(request), "application/octet-stream"
    if isinstance(request, str):
        return request.encode(), "text/plain"
    try:
        return json.dumps(request).encode(), "application/json"
    except TypeError:
        raise ConfigError(
            f"request: expected bytes, text or JSON-serialisable data, got {type(request).__name__}"
        ) from None


def _decode(body: bytes, content_type: str) -> Any:
    if "json" in content_type:
        with contextlib.suppress(ValueError):
            return json.loads(body)
    if content_type.startswith("text/") or "json" in content_type or "csv" in content_type:
        return body.decode("utf-8", "replace")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body


def _sse_lines(events: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """Text lines of the server-sent events carried in an event stream's PayloadParts.

    A part may end in the middle of a line (or of a UTF-8 character): bytes are buffered
    until a newline.
    """
    buffer = b""
    for event in events:
        part = event.get("PayloadPart")
        if not part:
            continue
        buffer += part.get("Bytes") or b""
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield line.decode("utf-8", "replace").rstrip("\r")
    if buffer:
        yield buffer.decode("utf-8", "replace")


def _mask_botocore_logs() -> None:
    """Mask registered secrets in botocore's and urllib3's debug records.

    botocore logs each signed request (the access key id is in its Authorization header)
    and each call's parameters (a container's HF_TOKEN) at DEBUG.
    """
    for name in list(logging.Logger.manager.loggerDict):
        if name in ("botocore", "urllib3") or name.startswith(("botocore.", "urllib3.")):
            get_logger(name)
