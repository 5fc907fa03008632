"""The dedicated half of the ``huggingface`` provider: Hugging Face Inference Endpoints.

A spec *with* ``instance`` deploys an Inference Endpoint through the Endpoints API
(``https://api.endpoints.huggingface.cloud/v2``), in the exact wire format of
huggingface_hub's ``HfApi`` Inference Endpoint methods:

===================  =============================================================
hostkit              Endpoints API (``HfApi`` method)
===================  =============================================================
deploy               ``GET /provider/{ns}`` (hardware, price, quota; checked first)
                     then ``POST /endpoint/{ns}`` (``create_inference_endpoint``)
find / status        ``GET /endpoint/{ns}/{name}`` (``get_inference_endpoint``)
scale(N), min/max    ``PUT /endpoint/{ns}/{name}`` (``update_inference_endpoint``)
scale(0)             ``POST .../scale-to-zero`` (``scale_to_zero_inference_endpoint``)
pause / resume       ``POST .../pause`` / ``.../resume`` (provider extras)
teardown             ``DELETE /endpoint/{ns}/{name}`` (``delete_inference_endpoint``)
offerings(region)    ``GET /provider`` (the public catalog, no token)
===================  =============================================================

Requests go through the provider's pooled huggingface_hub ``httpx2`` client (the one
``router.py`` builds: hub request hook, ``hf_raise_for_status``, no retries of its
own) rather than through ``HfApi`` itself, whose global session follows redirects,
has no timeout, and whose header builder fetches ``/api/agent-harnesses`` on first
use. Every answer is parsed by the SDK's own ``InferenceEndpoint.from_raw`` (built
with ``token=False``, so the object never holds a credential), and the tests replay
the same cassettes through the ``HfApi`` methods to prove the wire format is theirs.

A local ``model`` ("./dir") is uploaded to a private Hub repository first and the endpoint
is created at that exact commit (``artifacts.py``; after the hardware check).

Invoke goes to the endpoint URL's OpenAI-compatible chat route (TGI and vLLM both
serve ``/v1/chat/completions``) through the router half's code with another URL.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from hostkit._models import (
    CostEstimate,
    Deployment,
    DeploymentSpec,
    InvokeResult,
    Offering,
    Stream,
    Usage,
)
from hostkit._pricing import PriceRow, PriceTable
from hostkit._progress import report
from hostkit._redact import get_logger, is_secret_key
from hostkit.errors import (
    CapacityUnavailable,
    ConfigError,
    NotFound,
    ProviderError,
    QuotaExceeded,
    Unsupported,
)

from .artifacts import is_local, local_path
from .router import RouterClient

if TYPE_CHECKING:
    import httpx2

    from .provider import HuggingFaceProvider

__all__ = ["ENDPOINTS_URL", "STATES", "EndpointsClient", "Plan"]

log = get_logger("hostkit.huggingface")

ENDPOINTS_URL = "https://api.endpoints.huggingface.cloud/v2"
PRICING_DOCS = "https://huggingface.co/docs/inference-endpoints/support/pricing"
#: Inference Endpoint ``status.state`` -> hostkit status
STATES: dict[str, str] = {
    "pending": "pending",
    "initializing": "deploying",
    "updating": "updating",
    "updateFailed": "failed",
    "running": "ready",
    "paused": "paused",
    "failed": "failed",
    "scaledToZero": "scaled_to_zero",
}
ACCELERATORS = ("cpu", "gpu", "neuron")
TYPES = ("authenticated", "public", "private")
#: the serving containers hostkit starts for an LLM (``options.engine``); ``image`` replaces the url
ENGINES: dict[str, dict[str, Any]] = {
    "tgi": {
        "tgi": {
            "url": "ghcr.io/huggingface/text-generation-inference:3.3.6",
            "healthRoute": "/health",
            "port": 80,
        }
    },
    "vllm": {"vllm": {"url": "vllm/vllm-openai:v0.11.0", "healthRoute": "/health", "port": 8000}},
    "huggingface": {"huggingface": {}},
}
OPTIONS = ("engine", "type", "revision", "framework", "scale_to_zero_timeout_minutes")
#: a default for scaleToZeroTimeout when min_replicas is 0 (the console's default, minutes)
DEFAULT_SCALE_TO_ZERO_MINUTES = 15
_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?\Z")
_INSTANCE = re.compile(r"^(?P<type>[a-z0-9][a-z0-9-]*?)(?:-(?P<size>x\d+))?\Z")
#: a catalog compute id: vendor, region (with dashes), then an instance type of a known family
_COMPUTE_ID = re.compile(
    r"^(?P<vendor>[a-z0-9]+)-(?P<region>[a-z0-9-]+?)-"
    r"(?P<instance>(?:nvidia|intel|amd|inf|trn|neuron)[a-z0-9-]*-x\d+)$"
)
FINGERPRINT_TAG = "hostkit-fp-"
#: how long invoke waits for a scaled-to-zero endpoint to wake (seconds)
WAKE_TIMEOUT = 900.0


def _today() -> str:
    return _dt.datetime.now(_dt.UTC).date().isoformat()


@dataclass(frozen=True)
class Plan:
    """What one dedicated spec asks of the Endpoints API."""

    name: str
    namespace: str
    repository: str
    vendor: str
    region: str
    instance_type: str
    instance_size: str
    accelerator: str
    min_replica: int
    max_replica: int
    scale_to_zero_timeout: int | None
    image: dict[str, Any]
    container_args: list[str] | None
    task: str | None
    revision: str | None
    framework: str
    type: str
    env: dict[str, str]
    secrets: dict[str, str]
    fingerprint: str

    @property
    def compute_id(self) -> str:
        """The catalog's id for the hardware (``aws-us-east-1-nvidia-l4-x1``)."""
        return f"{self.vendor}-{self.region}-{self.instance_type}-{self.instance_size}"

    def payload(self) -> dict[str, Any]:
        """The ``POST /endpoint/{ns}`` body, as ``HfApi.create_inference_endpoint`` builds it."""
        model: dict[str, Any] = {
            "framework": self.framework,
            "repository": self.repository,
            "revision": self.revision,
            "image": self.image,
        }
        if self.task is not None:
            model["task"] = self.task
        if self.container_args is not None:
            model["args"] = self.container_args
        if self.env:
            model["env"] = self.env
        if self.secrets:
            model["secrets"] = self.secrets
        return {
            "compute": {
                "accelerator": self.accelerator,
                "instanceSize": self.instance_size,
                "instanceType": self.instance_type,
                "scaling": {
                    "maxReplica": self.max_replica,
                    "minReplica": self.min_replica,
                    "scaleToZeroTimeout": self.scale_to_zero_timeout,
                },
            },
            "model": model,
            "name": self.name,
            "provider": {"region": self.region, "vendor": self.vendor},
            "type": self.type,
            "tags": [f"{FINGERPRINT_TAG}{self.fingerprint}"],
        }


def split_region(value: str | None, vendor: str | None) -> tuple[str, str]:
    """``("aws", "us-east-1")`` from ``"aws/us-east-1"``, or ``"us-east-1"`` plus a vendor."""
    if value and "/" in value:
        left, _, right = value.partition("/")
        if not left or not right:
            raise ConfigError(
                f"region: expected 'vendor/region' such as 'aws/us-east-1', got {value!r}"
            )
        return left, right
    return (vendor or "aws"), (value or "us-east-1")


def split_instance(instance: str) -> tuple[str, str]:
    """``("nvidia-l4", "x1")`` from ``"nvidia-l4"`` or ``"nvidia-l4-x1"``."""
    match = _INSTANCE.match(instance)
    if match is None:
        raise ConfigError(
            f"instance: {instance!r} is not an Inference Endpoints instance; use the instance"
            " type with an optional size, e.g. 'nvidia-l4', 'nvidia-a10g-x4', 'intel-spr-x2'"
            " (hostkit.offerings('huggingface', region='aws/us-east-1') lists them)"
        )
    return match.group("type"), match.group("size") or "x1"


def is_portable(accelerator: str | None) -> bool:
    """Whether ``accelerator`` is a portable GPU request ("A100:1", "L4"), not the
    platform's own compute accelerator field ("gpu", "cpu", "neuron")."""
    return bool(accelerator) and str(accelerator).strip().lower() not in ACCELERATORS


def split_compute_id(compute_id: str) -> tuple[str, str, str] | None:
    """``("aws", "us-east-1", "nvidia-l4-x1")`` from ``"aws-us-east-1-nvidia-l4-x1"``."""
    match = _COMPUTE_ID.match(compute_id)
    if match is None:
        return None
    return match.group("vendor"), match.group("region"), match.group("instance")


def accelerator_for(instance_type: str) -> str:
    if instance_type.startswith("nvidia-"):
        return "gpu"
    if instance_type.startswith(("inf", "trn", "neuron")):
        return "neuron"
    return "cpu"


class EndpointsClient(RouterClient):
    """Inference Endpoints through the provider's pooled clients (see module docs).

    Invoke, ainvoke and stream are the router half's, sent to the endpoint's URL.
    """

    def __init__(self, provider: HuggingFaceProvider, router: RouterClient) -> None:
        super().__init__(provider)
        self.host = provider
        self.router = router
        self.api_url = str(provider.setting("endpoints_url") or ENDPOINTS_URL).rstrip("/")
        #: names of endpoints this instance created (a failed deploy's rollback deletes them)
        self.created: set[str] = set()
        #: the public hardware catalog, read at most once per process: (computes, read on)
        self._catalog: tuple[list[dict[str, Any]], str] | None = None

    # -- one pool: the router half's clients and token ---------------------
    @property
    def client(self) -> httpx2.Client:
        return self.router.client

    def aclient(self) -> httpx2.AsyncClient:
        return self.router.aclient()

    def auth(self, *, required: bool = True) -> dict[str, str]:
        return self.router.auth(required=required)

    def close(self) -> None:
        """The router half owns the pool."""

    async def aclose(self) -> None:
        """The router half owns the pool."""

    # -- settings and specs -------------------------------------------------
    def namespace(self) -> str:
        value = self.host.setting("namespace")
        if not value:
            raise ConfigError(
                "a Hugging Face Inference Endpoint needs the 'namespace' setting (your user or"
                ' organization name): [providers.huggingface] namespace = "my-org"',
                provider=self.host.name,
            )
        return str(value)

    def plan(self, spec: DeploymentSpec) -> Plan:
        """Check a dedicated spec and turn it into the create payload (sends nothing)."""
        name = self.host.name
        if not _NAME.match(spec.name):
            raise ConfigError(
                f"name: {spec.name!r} is not a valid Inference Endpoint name; use 1-32 lowercase"
                " letters, digits or '-', starting and ending with a letter or digit",
                provider=name,
            )
        unknown = sorted(set(spec.options) - set(OPTIONS))
        if unknown:
            raise ConfigError(
                f"options: unknown option(s) {', '.join(unknown)} for an Inference Endpoint;"
                f" allowed: {', '.join(OPTIONS)}",
                provider=name,
            )
        assert spec.instance is not None
        instance_type, instance_size = split_instance(spec.instance)
        vendor, region = split_region(
            spec.region or self.host.setting("region"), self.host.setting("vendor")
        )
        accelerator = spec.accelerator or accelerator_for(instance_type)
        if is_portable(accelerator):
            self._check_fits(accelerator, vendor, region, f"{instance_type}-{instance_size}")
            accelerator = accelerator_for(instance_type)
        if accelerator not in ACCELERATORS:
            raise ConfigError(
                f"accelerator: {accelerator!r} is not allowed; allowed: {', '.join(ACCELERATORS)}"
                " (the compute's own field), or a portable GPU request such as 'A100:1'",
                provider=name,
            )
        low = spec.min_replicas if spec.min_replicas is not None else spec.replicas
        if low is None:
            low = 1
        high = spec.max_replicas if spec.max_replicas is not None else spec.replicas
        if high is None or high < max(low, 1):
            high = max(low, 1)
        minutes = spec.options.get("scale_to_zero_timeout_minutes")
        if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, int)):
            raise ConfigError(
                f"options.scale_to_zero_timeout_minutes: expected whole minutes, got {minutes!r}",
                provider=name,
            )
        if minutes is None and spec.scale_to_zero_after is not None:
            minutes = max(1, math.ceil(spec.scale_to_zero_after / 60))
        if minutes is None and low == 0:
            minutes = DEFAULT_SCALE_TO_ZERO_MINUTES
        engine = str(spec.options.get("engine", "tgi"))
        if engine not in ENGINES:
            raise ConfigError(
                f"options.engine: {engine!r} is not allowed; allowed: {', '.join(ENGINES)}",
                provider=name,
            )
        image = {variant: dict(config) for variant, config in ENGINES[engine].items()}
        if spec.image:
            if engine == "huggingface":
                image = {"custom": {"url": spec.image, "healthRoute": "/health", "port": 80}}
            else:
                image[engine]["url"] = spec.image
        args = ["--served-model-name", spec.model] if engine == "vllm" else None
        kind = str(spec.options.get("type", "authenticated"))
        if kind not in TYPES:
            raise ConfigError(
                f"options.type: {kind!r} is not allowed; allowed: {', '.join(TYPES)}",
                provider=name,
            )
        env = {k: v for k, v in spec.env.items() if not is_secret_key(k)}
        secrets = {k: v for k, v in spec.env.items() if is_secret_key(k)}
        revision = spec.options.get("revision")
        if is_local(spec.model):
            local_path(spec.model)  # a missing path or empty directory: a ConfigError now
            if revision is not None:
                raise ConfigError(
                    f"options.revision: {spec.model!r} is a local model, uploaded and pinned to"
                    " its own commit; remove options.revision",
                    provider=name,
                )
        return Plan(
            name=spec.name,
            namespace=self.namespace(),
            repository=spec.model,
            vendor=vendor,
            region=region,
            instance_type=instance_type,
            instance_size=instance_size,
            accelerator=accelerator,
            min_replica=low,
            max_replica=high,
            scale_to_zero_timeout=minutes,
            image=image,
            container_args=args,
            task=spec.task if spec.task not in (None, "chat") else "text-generation",
            revision=str(revision) if revision is not None else None,
            framework=str(spec.options.get("framework", "pytorch")),
            type=kind,
            env=env,
            secrets=secrets,
            fingerprint=spec.fingerprint(),
        )

    # -- portable accelerators ("A100:1") --------------------------------------
    def compute_rows(self, vendor: str, region: str) -> list[Any]:
        """Catalog rows of the computes in ``vendor/region``, keyed by compute id.

        The shipped hardware table lists a vendor's computes once (under one region, as the
        pricing page does): for another region of that vendor they are listed again under
        its compute ids, priced only where a price for that exact id is known.
        """
        import dataclasses

        from hostkit import catalog

        rows = [r for r in catalog.offerings(self.host.name) if r.kind == "instance"]
        prefix, where = f"{vendor}-{region}-", f"{vendor}/{region}"
        by_id = {r.name: r for r in rows}
        found: dict[str, Any] = {}
        for row in rows:
            parts = split_compute_id(row.name)
            if parts is None or parts[0] != vendor or not row.gpu_count:
                continue
            key = prefix + parts[2]
            if key in found and row.name != key:
                continue  # the row for this exact compute id wins
            own = by_id.get(key)
            price = own.usd_per_hour if own is not None else None
            found[key] = dataclasses.replace(
                row,
                name=key,
                region=where,
                usd_per_hour=price,
                source=own.source if own is not None else row.source,
                as_of=own.as_of if own is not None else row.as_of,
            )
        return list(found.values())

    def instance_for_accelerator(self, spec: DeploymentSpec) -> str:
        """The cheapest compute (``instanceType-instanceSize``) in the spec's vendor/region
        with at least the GPUs ``spec.accelerator`` asks (see catalog.resolve_accelerator)."""
        from hostkit.catalog import resolve_accelerator

        assert spec.accelerator is not None
        vendor, region = split_region(
            spec.region or self.host.setting("region"), self.host.setting("vendor")
        )
        rows = self.compute_rows(vendor, region)
        compute_id = resolve_accelerator(
            self.host.name, spec.accelerator, f"{vendor}/{region}", rows=rows
        )
        return compute_id.removeprefix(f"{vendor}-{region}-")

    def _check_fits(self, accelerator: str, vendor: str, region: str, instance: str) -> None:
        from hostkit.adapters import parse_accelerator

        wanted = parse_accelerator(accelerator)
        row = next(
            (r for r in self.compute_rows(vendor, region) if r.name.endswith(f"-{instance}")),
            None,
        )
        if row is None or not wanted.accepts(row.gpu_type, row.gpu_memory_gb, row.gpu_count):
            carries = f"{row.gpu_count}x {row.gpu_type}" if row is not None else "unknown GPUs"
            raise ConfigError(
                f"accelerator: {accelerator!r} does not fit instance {instance!r} ({carries});"
                " remove instance to let hostkit pick the cheapest compute that fits, or set"
                " accelerator to the compute's own field (gpu, cpu, neuron)",
                provider=self.host.name,
            )

    # -- the Endpoints API ---------------------------------------------------
    def _url(self, namespace: str, name: str | None = None, action: str | None = None) -> str:
        url = f"{self.api_url}/endpoint/{quote(namespace, safe='')}"
        if name is not None:
            url += f"/{quote(name, safe='')}"
        if action is not None:
            url += f"/{action}"
        return url

    def _send(
        self,
        method: str,
        url: str,
        *,
        body: Any = None,
        safe: bool = True,
        authenticated: bool = True,
    ) -> Any:
        """One Endpoints API call through hostkit's error seam and retry policy."""
        from huggingface_hub.utils._http import hf_raise_for_status

        headers = self.auth() if authenticated else {}

        def attempt() -> Any:
            if body is None:
                response = self.client.request(method, url, headers=headers)
            else:
                response = self.client.request(method, url, headers=headers, json=body)
            hf_raise_for_status(response)
            return response.json() if response.content else None

        return self.host.call(attempt, safe=safe)

    def _endpoint(self, raw: Any, url: str) -> dict[str, Any]:
        """The raw endpoint object, checked by the SDK's own parser."""
        from huggingface_hub import InferenceEndpoint

        if not isinstance(raw, dict):
            raise ProviderError(
                f"unexpected answer from {url}: {str(raw)[:200]}", provider="huggingface"
            )
        try:
            InferenceEndpoint.from_raw(raw, namespace=self.namespace(), token=False)
        except (KeyError, TypeError, ValueError) as error:
            raise ProviderError(
                f"unexpected endpoint object from {url} (missing {error}): {str(raw)[:200]}",
                provider="huggingface",
            ) from None
        return raw

    def deployment(
        self, raw: Mapping[str, Any], extra: Mapping[str, Any] | None = None
    ) -> Deployment:
        """A hostkit Deployment from one endpoint object."""
        status = raw.get("status") or {}
        compute = raw.get("compute") or {}
        scaling = compute.get("scaling") or {}
        provider = raw.get("provider") or {}
        state = str(status.get("state"))
        tags = [t for t in raw.get("tags") or [] if isinstance(t, str)]
        fingerprint = next(
            (t[len(FINGERPRINT_TAG) :] for t in tags if t.startswith(FINGERPRINT_TAG)), None
        )
        info: dict[str, Any] = {
            "dedicated": True,
            "namespace": self.namespace(),
            "state": state,
            "message": status.get("message"),
            "target_replicas": status.get("targetReplica"),
            "compute_id": (
                f"{provider.get('vendor')}-{provider.get('region')}-"
                f"{compute.get('instanceType')}-{compute.get('instanceSize')}"
            ),
            "health_route": raw.get("healthRoute"),
            "type": raw.get("type"),
            "scale_to_zero_timeout": scaling.get("scaleToZeroTimeout"),
            "revision": (raw.get("model") or {}).get("revision"),
        }
        if extra:
            info.update(extra)
        if STATES.get(state) == "failed":
            info["failure_reason"] = status.get("message") or f"the endpoint is {state}"
        return Deployment(
            name=str(raw.get("name")),
            provider=self.host.name,
            model=str((raw.get("model") or {}).get("repository")),
            status=STATES.get(state, "pending"),  # type: ignore[arg-type]
            endpoint=status.get("url") or None,
            replicas=status.get("readyReplica"),
            instance=f"{compute.get('instanceType')}-{compute.get('instanceSize')}",
            region=f"{provider.get('vendor')}/{provider.get('region')}",
            min_replicas=scaling.get("minReplica"),
            max_replicas=scaling.get("maxReplica"),
            fingerprint=fingerprint,
            raw=info,
            _provider=self.host,
        )

    @staticmethod
    def _prices_of(deployment: Deployment) -> dict[str, Any]:
        keep = ("price_per_hour", "price_source", "read_on")
        return {k: deployment.raw[k] for k in keep if deployment.raw.get(k) is not None}

    def get(self, name: str, *, known: Deployment | None = None) -> Deployment | None:
        """The endpoint called ``name``, or None (one GET)."""
        url = self._url(self.namespace(), name)
        try:
            raw = self._endpoint(self._send("GET", url), url)
        except NotFound:
            return None
        return self.deployment(raw, self._prices_of(known) if known else None)

    def status(self, deployment: Deployment) -> Deployment:
        found = self.get(deployment.name, known=deployment)
        if found is None:
            gone = Deployment(
                name=deployment.name,
                provider=self.host.name,
                model=deployment.model,
                status="deleted",
                raw={"dedicated": True, "failure_reason": "the endpoint no longer exists"},
                _provider=self.host,
            )
            return gone
        return found

    # -- hardware catalog ----------------------------------------------------
    def hardware(self, namespace: str) -> list[dict[str, Any]]:
        """The namespace's hardware (prices and quotas): ``GET /provider/{ns}``."""
        url = f"{self.api_url}/provider/{quote(namespace, safe='')}"
        return _computes(self._send("GET", url), url)

    def public_catalog(self) -> tuple[list[dict[str, Any]], str]:
        """The public catalog (``GET /provider``, no token), read once per process."""
        if self._catalog is None:
            url = f"{self.api_url}/provider"
            self._catalog = (_computes(self._send("GET", url, authenticated=False), url), _today())
        return self._catalog

    def check_hardware(self, plan: Plan) -> dict[str, Any]:
        """The compute the plan asks for; ConfigError, CapacityUnavailable or QuotaExceeded."""
        computes = self.hardware(plan.namespace)
        by_id = {str(c.get("id")): c for c in computes}
        compute = by_id.get(plan.compute_id)
        where = f"{plan.vendor}/{plan.region}"
        here = sorted(
            f"{c.get('instanceType')}-{c.get('instanceSize')}"
            for c in computes
            if str(c.get("id", "")).startswith(f"{plan.vendor}-{plan.region}-")
            and c.get("status") in ("available", "low_availability")
        )
        if compute is None:
            raise ConfigError(
                f"instance: {plan.instance_type}-{plan.instance_size} is not offered in {where}"
                f" for namespace {plan.namespace!r}; available there: {', '.join(here) or 'none'}",
                provider=self.host.name,
            )
        state = compute.get("status")
        if state not in ("available", "low_availability"):
            elsewhere = sorted(
                f"{c.get('vendor')}/{c.get('region')}"
                for c in computes
                if c.get("instanceType") == plan.instance_type
                and c.get("instanceSize") == plan.instance_size
                and c.get("status") in ("available", "low_availability")
            )
            raise CapacityUnavailable(
                f"{plan.instance_type}-{plan.instance_size} is {state} in {where}; regions where"
                f" it is available: {', '.join(elsewhere) or 'none'} (set region='vendor/region')",
                provider=self.host.name,
            )
        quota = compute.get("quota") or {}
        limit, used = quota.get("maxAccelerators"), quota.get("usedAccelerators")
        needed = int(compute.get("numAccelerators") or 0) * plan.max_replica
        if isinstance(limit, int) and isinstance(used, int) and needed and used + needed > limit:
            raise QuotaExceeded(
                f"{plan.instance_type}-{plan.instance_size} x {plan.max_replica} needs {needed}"
                f" accelerator(s) but namespace {plan.namespace!r} has {limit - used} of {limit}"
                " left in its quota; request more at https://endpoints.huggingface.co/contact",
                provider=self.host.name,
            )
        return compute

    # -- lifecycle -----------------------------------------------------------
    def create(self, spec: DeploymentSpec) -> Deployment:
        """Check the hardware (price, capacity, quota), then create the endpoint."""
        plan = self.plan(spec)
        compute = self.check_hardware(plan)
        if is_local(spec.model):  # after the hardware check: nothing uploads for a refused spec
            plan = self._with_local_model(plan, spec)
        url = self._url(plan.namespace)
        raw = self._endpoint(self._send("POST", url, body=plan.payload(), safe=False), url)
        self.created.add(plan.name)
        price = compute.get("pricePerHour")
        extra: dict[str, Any] = {}
        if isinstance(price, int | float) and not isinstance(price, bool):
            extra = {
                "price_per_hour": float(price),
                "price_source": f"{self.api_url}/provider/{plan.namespace}",
                "read_on": _today(),
            }
        deployment = self.deployment(raw, extra)
        report(f"{plan.name}: endpoint {deployment.raw['state']} on {plan.compute_id}")
        return deployment

    def _with_local_model(self, plan: Plan, spec: DeploymentSpec) -> Plan:
        """The plan for a local ``model``: uploaded to a private Hub repository (artifacts.py),
        served at the exact commit, tagged with a fingerprint that includes the content."""
        from .artifacts import upload

        hub = upload(self.host, spec.model, plan.name)
        args = ["--served-model-name", hub.repository] if plan.container_args else None
        return dataclasses.replace(
            plan,
            repository=hub.repository,
            revision=hub.revision,
            container_args=args,
            fingerprint=spec.fingerprint(),
        )

    def delete(self, deployment: Deployment) -> None:
        """``DELETE`` the endpoint; NotFound (already gone) is the caller's to ignore."""
        self._send("DELETE", self._url(self.namespace(), deployment.name))
        self.created.discard(deployment.name)

    def scale(
        self,
        deployment: Deployment,
        replicas: int | None,
        min_replicas: int | None,
        max_replicas: int | None,
    ) -> Deployment:
        """scale(0): scale to zero; scale(N): min = max = N; bounds: the ones given."""
        namespace = self.namespace()
        if replicas == 0:
            url = self._url(namespace, deployment.name, "scale-to-zero")
            raw = self._endpoint(self._send("POST", url), url)
            return self.deployment(raw, self._prices_of(deployment))
        scaling: dict[str, Any] = {}
        if replicas is not None:
            scaling = {"maxReplica": replicas, "minReplica": replicas}
        else:
            if max_replicas is not None:
                scaling["maxReplica"] = max_replicas
            if min_replicas is not None:
                scaling["minReplica"] = min_replicas
            if min_replicas == 0 and not deployment.raw.get("scale_to_zero_timeout"):
                scaling["scaleToZeroTimeout"] = DEFAULT_SCALE_TO_ZERO_MINUTES
        if max_replicas is None and min_replicas is not None and replicas is None:
            current = deployment.max_replicas or 1
            if min_replicas > current:
                scaling["maxReplica"] = min_replicas
        url = self._url(namespace, deployment.name)
        raw = self._endpoint(self._send("PUT", url, body={"compute": {"scaling": scaling}}), url)
        return self.deployment(raw, self._prices_of(deployment))

    def pause(self, deployment: Deployment) -> Deployment:
        """Pause: no replica runs and nothing is billed until ``resume`` (not woken by requests)."""
        url = self._url(self.namespace(), deployment.name, "pause")
        raw = self._endpoint(self._send("POST", url), url)
        return self.deployment(raw, self._prices_of(deployment))

    def resume(self, deployment: Deployment) -> Deployment:
        """Resume a paused endpoint; one that is already running is returned as it is."""
        url = self._url(self.namespace(), deployment.name, "resume")
        try:
            raw = self._endpoint(self._send("POST", url), url)
        except ProviderError as error:
            if error.status_code == 400 and "already running" in error.message.lower():
                return self.status(deployment)
            raise
        return self.deployment(raw, self._prices_of(deployment))

    # -- invoke ----------------------------------------------------------------
    def chat_url_for(self, deployment: Deployment) -> str:
        if not deployment.endpoint:
            raise ProviderError(
                f"{deployment.name} has no URL yet (status {deployment.status}); wait until it is"
                " ready: hostkit.deploy(...) waits, or deployment.refresh()",
                provider=self.host.name,
            )
        return f"{deployment.endpoint.rstrip('/')}/v1/chat/completions"

    def ready_for_calls(self, deployment: Deployment) -> None:
        """A paused endpoint refuses; a scaled-to-zero one is woken and the wait reported."""
        if deployment.status == "paused":
            raise Unsupported(
                f"{deployment.name} is paused and does not wake on requests; resume it first:"
                " provider.resume(deployment)",
                provider=self.host.name,
            )
        if deployment.status != "scaled_to_zero":
            return
        self.wake(deployment)

    def wake(self, deployment: Deployment) -> None:
        """Send one request to start a replica, then wait (reporting) until it runs."""
        started = time.monotonic()
        report(
            f"{deployment.name}: scaled to zero; waking it (a replica starts on the first request)"
        )
        try:
            # the platform answers 503 while the replica starts; the request is the wake-up call
            route = deployment.raw.get("health_route") or "/health"
            self.client.get(
                f"{(deployment.endpoint or '').rstrip('/')}{route}", headers=self.auth()
            )
        except Exception as error:  # the wake-up call may fail; the wait below says how it went
            log.debug("%s: wake-up request: %s", deployment.name, error)
        awake = self.host.wait(deployment, timeout=WAKE_TIMEOUT)
        report(f"{deployment.name}: awake after {time.monotonic() - started:.0f}s")
        for key in ("status", "endpoint", "replicas", "raw"):
            setattr(deployment, key, getattr(awake, key))

    def invoke(
        self, deployment: Deployment, request: Any, params: Mapping[str, Any]
    ) -> InvokeResult:
        self.ready_for_calls(deployment)
        return super().invoke(deployment, request, params)

    async def ainvoke(
        self, deployment: Deployment, request: Any, params: Mapping[str, Any]
    ) -> InvokeResult:
        if deployment.status in ("paused", "scaled_to_zero"):
            import asyncio

            await asyncio.to_thread(self.ready_for_calls, deployment)
        return await super().ainvoke(deployment, request, params)

    def stream(self, deployment: Deployment, request: Any, params: Mapping[str, Any]) -> Stream:
        self.ready_for_calls(deployment)
        return super().stream(deployment, request, params)

    def usage_cost(self, deployment: Deployment, served: str | None, usage: Usage) -> float | None:
        """Dedicated capacity is billed by the hour, not by the call."""
        return None

    @staticmethod
    def _answered_by(deployment: Deployment, model: Any, served: str | None) -> str:
        return deployment.model

    # -- money -------------------------------------------------------------------
    def price_row(self, compute_id: str, deployment: Deployment | None) -> PriceRow | None:
        """Config, then the price read at deploy, then the live catalog, then the shipped copy."""
        configured = self.host.configured_price(compute_id)
        if configured is not None and configured.usd_per_hour is not None:
            return configured
        if deployment is not None and deployment.raw.get("price_per_hour") is not None:
            return PriceRow(
                key=compute_id,
                source=str(deployment.raw.get("price_source") or self.api_url),
                as_of=str(deployment.raw.get("read_on") or _today()),
                usd_per_hour=float(deployment.raw["price_per_hour"]),
                unit="USD per replica-hour",
            )
        try:
            computes, read_on = self.public_catalog()
        except (ProviderError, NotFound) as error:  # unreachable: the shipped copy
            log.info("Inference Endpoints catalog unreachable (%s); using prices.toml", error)
        else:
            for compute in computes:
                price = compute.get("pricePerHour")
                if compute.get("id") == compute_id and isinstance(price, int | float):
                    return PriceRow(
                        key=compute_id,
                        source=f"{self.api_url}/provider",
                        as_of=read_on,
                        usd_per_hour=float(price),
                        unit="USD per replica-hour",
                    )
        row = self.host.prices.find(compute_id, "instances")
        return row if row is not None and row.usd_per_hour is not None else None

    def estimate(
        self,
        target: Deployment | DeploymentSpec,
        *,
        hours: float | None,
        requests: int | None,
        input_tokens: int | None,
        output_tokens: int | None,
    ) -> CostEstimate:
        """price per replica-hour x replicas x hours (replicas: running, else the minimum)."""
        deployment = target if isinstance(target, Deployment) else None
        if deployment is not None:
            compute_id = str(deployment.raw.get("compute_id"))
            if deployment.status in ("paused", "scaled_to_zero", "deleted"):
                count = 0
            else:
                count = deployment.replicas or deployment.min_replicas or 1
        else:
            assert isinstance(target, DeploymentSpec)
            plan = self.plan(target)
            compute_id, count = plan.compute_id, max(plan.min_replica, 1)
        if hours is None:
            if input_tokens is not None or output_tokens is not None or requests:
                return self.host.unknown_cost(
                    f"tokens or requests on a dedicated endpoint ({compute_id})",
                    "an Inference Endpoint is billed per replica-hour: pass hours=...",
                )
            hours = 1.0
        row = self.price_row(compute_id, deployment)
        if row is None:
            return self.host.unknown_cost(
                f"instance {compute_id!r}",
                self.host._price_hint(compute_id, "usd_per_hour = ..."),
            )
        return PriceTable.time_estimate(row, hours=hours, count=count)

    def instance_offerings(self, region: str | None) -> list[Offering]:
        """Every instance the public catalog lists in ``region`` ('vendor/region'), with prices."""
        vendor, where = split_region(region, self.host.setting("vendor"))
        computes, read_on = self.public_catalog()
        found = []
        for compute in computes:
            if not str(compute.get("id", "")).startswith(f"{vendor}-{where}-"):
                continue
            price = compute.get("pricePerHour")
            found.append(
                Offering(
                    provider=self.host.name,
                    name=f"{compute.get('instanceType')}-{compute.get('instanceSize')}",
                    kind="instance",
                    region=f"{vendor}/{where}",
                    gpu_type=compute.get("instanceType")
                    if compute.get("accelerator") == "gpu"
                    else None,
                    gpu_count=compute.get("numAccelerators")
                    if compute.get("accelerator") == "gpu"
                    else None,
                    gpu_memory_gb=compute.get("gpuMemoryGb"),
                    vcpus=compute.get("numCpus"),
                    ram_gb=compute.get("memoryGb"),
                    usd_per_hour=float(price) if isinstance(price, int | float) else None,
                    source=f"{self.api_url}/provider",
                    as_of=read_on,
                )
            )
        return sorted(found, key=lambda o: (o.usd_per_hour is None, o.usd_per_hour or 0, o.name))


def _computes(data: Any, url: str) -> list[dict[str, Any]]:
    """Every compute of a ``/provider`` answer (``vendors[].regions[].computes[]``), located."""
    if not isinstance(data, Mapping) or not isinstance(data.get("vendors"), list):
        raise ProviderError(
            f"unexpected answer from {url}: {str(data)[:200]}", provider="huggingface"
        )
    found = []
    for vendor in data["vendors"]:
        for region in (vendor or {}).get("regions") or []:
            for compute in (region or {}).get("computes") or []:
                if isinstance(compute, dict):
                    found.append(
                        {**compute, "vendor": vendor.get("name"), "region": region.get("name")}
                    )
    return found
