"""Replicate deployments: the dedicated half of the ``replicate`` provider.

A spec **with** ``instance`` (a hardware SKU such as ``gpu-a100-large``), or with only a
portable ``accelerator`` (``"A100-80GB:1"``, resolved to the cheapest SKU that fits from
``hardware.toml`` and the price table), runs here: hostkit
creates a Replicate *deployment* (your own instances of a model version, billed per second
of each running instance) and invokes it through the same prediction code as the public
models.

Wire format (replicate-python 1.0.7 ``deployment.py``, ``account.py``; Replicate's HTTP API
reference, "deployments.*"):

* ``GET /v1/account`` → ``{type, username, name, github_url}``: the owner of new deployments
  (unless the ``owner`` setting names an organization).
* ``POST /v1/deployments {name, model, version, hardware, min_instances, max_instances}``
  creates one; ``GET /v1/deployments/{owner}/{name}`` reads it; ``PATCH`` with a subset of
  ``{version, hardware, min_instances, max_instances}`` makes a new *release*
  (``current_release.number`` goes up by one); ``DELETE`` answers 204, and only once the
  deployment has been offline and unused for a while (15 minutes, the docs say).
* A deployment is ``{owner, name, current_release: {number, model, version, created_at,
  created_by, configuration: {hardware, min_instances, max_instances}}}``. It carries no
  instance state: hostkit reports ``deploying`` while there is no release, ``ready`` once
  there is one that may run instances (max_instances > 0), and ``scaled_to_zero`` when the
  release allows no instance at all (what teardown leaves behind when the delete is
  refused).
* Predictions: ``POST /v1/deployments/{owner}/{name}/predictions`` (no ``version`` in the
  body), then polling, streaming and cancel exactly as for public models.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from hostkit import Deployment, DeploymentSpec
from hostkit.adapters import get_logger, parse_accelerator, report_progress
from hostkit.errors import (
    ConfigError,
    DeploymentFailed,
    HostkitError,
    NotFound,
    ProviderError,
    Timeout,
)

from .predictions import ModelRef

if TYPE_CHECKING:
    from .provider import ReplicateProvider

__all__ = [
    "MAX_INSTANCES",
    "MIN_INSTANCES",
    "DeploymentRef",
    "Deployments",
    "instances_for",
    "is_deployment",
]

log = get_logger("hostkit.replicate")

#: the API's bounds on ``min_instances`` and ``max_instances``
MIN_INSTANCES = 5
MAX_INSTANCES = 20
#: Replicate deployment names (lowercase letters, digits, '-', '_', '.')
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*\Z")
#: spec fields a Replicate deployment cannot honour, and why
_NOT_USED = {
    "region": "Replicate chooses where instances run",
    "image": "a deployment runs a model version pushed to Replicate (its Cog image)",
    "scale_to_zero_after": "Replicate decides when idle instances stop",
}
#: statuses of a refused DELETE that mean "not idle long enough yet"
_NOT_IDLE_YET = (400, 409, 412, 422)


def is_deployment(deployment: Deployment) -> bool:
    """Whether ``deployment`` is backed by a Replicate deployment (not public predictions)."""
    return deployment.instance is not None or deployment.raw.get("serverless") is False


def instances_for(spec: DeploymentSpec) -> tuple[int, int]:
    """``(min_instances, max_instances)`` for a spec; ``(0, 1)`` when it says nothing."""
    if spec.replicas is not None:
        low = high = spec.replicas
    else:
        low = spec.min_replicas if spec.min_replicas is not None else 0
        high = spec.max_replicas if spec.max_replicas is not None else max(1, low)
    if not 0 <= low <= MIN_INSTANCES:
        field = "replicas" if spec.replicas is not None else "min_replicas"
        raise ConfigError(
            f"spec {spec.name!r}: {field} must be 0 to {MIN_INSTANCES} on a Replicate"
            f" deployment (its min_instances), got {low}",
            provider="replicate",
        )
    if not 1 <= high <= MAX_INSTANCES:
        field = "replicas" if spec.replicas is not None else "max_replicas"
        raise ConfigError(
            f"spec {spec.name!r}: {field} must be 1 to {MAX_INSTANCES} on a Replicate"
            f" deployment (its max_instances), got {high}",
            provider="replicate",
        )
    if low > high:
        raise ConfigError(
            f"spec {spec.name!r}: min_replicas ({low}) exceeds max_replicas ({high})",
            provider="replicate",
        )
    return low, high


class DeploymentRef:
    """Where predictions on a deployment are created (the prediction code's target)."""

    version: str | None = None

    def __init__(self, owner: str, name: str) -> None:
        self.owner, self.name = owner, name

    @property
    def key(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def path(self) -> str:
        return f"/v1/deployments/{quote(self.owner, safe='')}/{quote(self.name, safe='')}"

    @property
    def create_path(self) -> str:
        return f"{self.path}/predictions"


class Deployments:
    """Create, read, re-release and delete Replicate deployments through the SDK's client.

    Every call goes through the provider's retry policy (``Predictions.request``);
    creating is ``safe=False`` (retried only when it provably did not happen).
    """

    #: first and longest wait between delete attempts in :meth:`finish_teardown` (seconds)
    delete_retry_initial = 30.0
    delete_retry_max = 120.0

    def __init__(self, provider: ReplicateProvider) -> None:
        self.provider = provider
        self._owner: str | None = provider.settings.get("owner")

    # -- helpers ----------------------------------------------------------------------
    def _request(self, method: str, path: str, *, safe: bool, **kwargs: Any) -> Any:
        return self.provider.predictions.request(method, path, safe=safe, **kwargs)

    def _json(self, response: Any) -> dict[str, Any]:
        return self.provider.predictions._json(response)

    def owner(self) -> str:
        """The account that owns deployments: the ``owner`` setting, else ``GET /v1/account``."""
        if self._owner is None:
            account = self._json(self._request("GET", "/v1/account", safe=True))
            username = account.get("username")
            if not isinstance(username, str) or not username:
                raise ProviderError(
                    "GET /v1/account gave no username; set the owner setting of provider"
                    " 'replicate' to the account or organization that owns deployments",
                    provider=self.provider.name,
                )
            self._owner = username
        return self._owner

    def ref(self, name: str) -> DeploymentRef:
        return DeploymentRef(self.owner(), name)

    def endpoint(self, ref: DeploymentRef) -> str:
        return f"{self.provider.base_url}{ref.create_path}"

    # -- spec -----------------------------------------------------------------------------
    def validate(self, spec: DeploymentSpec) -> None:
        """ConfigError naming each spec field a Replicate deployment cannot honour."""
        if not _NAME.match(spec.name):
            raise ConfigError(
                f"spec name {spec.name!r}: a Replicate deployment name uses lowercase letters,"
                " digits, '-', '_' and '.', starting with a letter or digit",
                provider=self.provider.name,
            )
        for field, why in _NOT_USED.items():
            if getattr(spec, field) is not None:
                raise ConfigError(
                    f"spec {spec.name!r}: {field} is not used by a Replicate deployment ({why});"
                    " remove it",
                    provider=self.provider.name,
                )
        self._check_accelerator(spec)
        if spec.env:
            raise ConfigError(
                f"spec {spec.name!r}: env is not used by a Replicate deployment: the model"
                " version's container takes its settings as prediction input",
                provider=self.provider.name,
            )
        if spec.options:
            raise ConfigError(
                f"spec {spec.name!r}: a Replicate deployment takes no options"
                f" ({', '.join(sorted(spec.options))}); the hardware SKU is instance",
                provider=self.provider.name,
            )
        ModelRef.parse(spec.model)
        instances_for(spec)

    def _check_accelerator(self, spec: DeploymentSpec) -> None:
        """A portable accelerator ("A100-80GB:1") must fit the hardware SKU in instance."""
        if spec.accelerator is None:
            return
        wanted = parse_accelerator(spec.accelerator)
        hardware = self.provider.hardware.get(str(spec.instance))
        if hardware is None or not wanted.accepts(
            hardware.gpu_type, hardware.gpu_memory_gb, hardware.gpu_count
        ):
            carries = (
                f"{hardware.gpu_count}x {hardware.gpu_type} {hardware.gpu_memory_gb:g}GB"
                if hardware is not None and hardware.gpu_type and hardware.gpu_memory_gb
                else "GPUs hostkit does not know"
            )
            raise ConfigError(
                f"spec {spec.name!r}: accelerator {spec.accelerator!r} does not fit hardware"
                f" {spec.instance!r} ({carries}); remove instance to let hostkit pick the"
                " cheapest SKU that fits, or remove accelerator",
                provider=self.provider.name,
            )

    # -- reading ------------------------------------------------------------------------
    def to_deployment(
        self, data: Mapping[str, Any], *, fingerprint: str | None = None, extra: Any = None
    ) -> Deployment:
        """A hostkit Deployment from Replicate's deployment object."""
        owner, name = str(data.get("owner") or ""), str(data.get("name") or "")
        release = data.get("current_release")
        release = release if isinstance(release, Mapping) else {}
        config = release.get("configuration")
        config = config if isinstance(config, Mapping) else {}
        low, high = config.get("min_instances"), config.get("max_instances")
        hardware = config.get("hardware")
        if not release:
            status = "deploying"
        elif high == 0:
            status = "scaled_to_zero"
        else:
            status = "ready"
        model = str(release.get("model") or "")
        version = release.get("version")
        kept = dict(extra or {})
        spec_model = kept.pop("spec_model", None)
        if (
            isinstance(spec_model, str)
            and spec_model
            and (not model or ModelRef.parse(spec_model).key == model)
        ):
            model = spec_model  # the spec's own words (a pinned version stays pinned)
        ref = DeploymentRef(owner, name)
        raw: dict[str, Any] = {
            **kept,
            "serverless": False,
            "deployment": ref.key,
            "owner": owner,
            "hardware": hardware,
            "version": version,
            "release": release.get("number"),
            "release_created_at": release.get("created_at"),
        }
        return Deployment(
            name=name,
            provider=self.provider.name,
            model=model,
            status=status,  # type: ignore[arg-type]
            endpoint=self.endpoint(ref),
            replicas=low if low == high else None,
            instance=str(hardware) if hardware else None,
            min_replicas=low if isinstance(low, int) else None,
            max_replicas=high if isinstance(high, int) else None,
            fingerprint=fingerprint,
            raw=raw,
            _provider=self.provider,
        )

    def get(self, name: str) -> dict[str, Any] | None:
        """``GET /v1/deployments/{owner}/{name}``, or None when there is none."""
        try:
            return self._json(self._request("GET", self.ref(name).path, safe=True))
        except NotFound:
            return None

    def refresh(self, deployment: Deployment) -> Deployment | None:
        """A fresh copy of ``deployment`` from Replicate (None: it no longer exists)."""
        data = self.get(deployment.name)
        if data is None:
            return None
        keep = {"spec_model": deployment.model}
        if "text_output" in deployment.raw:
            keep["text_output"] = deployment.raw["text_output"]
        return self.to_deployment(data, fingerprint=deployment.fingerprint, extra=keep)

    # -- creating -----------------------------------------------------------------------
    def create(self, spec: DeploymentSpec) -> Deployment:
        """``POST /v1/deployments`` for the spec's model version, hardware and instances.

        An unpinned model is deployed at its latest version (``GET /v1/models/...``). A
        release Replicate refuses (400/422: hardware the model cannot run on, a version it
        does not know) raises DeploymentFailed with Replicate's words.
        """
        ref = ModelRef.parse(spec.model)
        low, high = instances_for(spec)
        owner = self.owner()
        info = self.provider.lookup_model(spec.model)
        version = ref.version or info.get("version")
        if not version:
            raise DeploymentFailed(
                f"{spec.model} has no version to deploy; pin one: '{ref.key}:<version id>'",
                reason="the model has no published version",
                provider=self.provider.name,
            )
        body = {
            "name": spec.name,
            "model": ref.key,
            "version": version,
            "hardware": spec.instance,
            "min_instances": low,
            "max_instances": high,
        }
        try:
            response = self._request("POST", "/v1/deployments", safe=False, json=body)
        except HostkitError as error:
            if error.status_code in (400, 422):
                raise DeploymentFailed(
                    f"Replicate refused the release of {owner}/{spec.name}"
                    f" ({spec.instance}, {low}-{high} instances): {error.message}",
                    reason=error.message,
                    provider=self.provider.name,
                ) from error
            raise
        deployment = self.to_deployment(
            self._json(response),
            fingerprint=spec.fingerprint(),
            extra={"spec_model": spec.model, "text_output": info.get("text_output")},
        )
        release = deployment.raw["release"]
        said = f"release {release}" if release is not None else "deploying (no release yet)"
        report_progress(
            f"{spec.name}: Replicate deployment {deployment.raw['deployment']} created,"
            f" {said} ({spec.instance}, min {low}, max {high})"
        )
        return deployment

    def update(
        self, deployment: Deployment, changes: dict[str, Any], *, fingerprint: str | None = None
    ) -> Deployment:
        """``PATCH`` the deployment; each PATCH is a new release (reported, kept in ``raw``)."""
        ref = self.ref(deployment.name)
        response = self._request("PATCH", ref.path, safe=True, json=changes)
        keep = {"spec_model": deployment.model}
        if "text_output" in deployment.raw:
            keep["text_output"] = deployment.raw["text_output"]
        if deployment.raw.get("release") is not None:
            keep["previous_release"] = deployment.raw["release"]
        updated = self.to_deployment(
            self._json(response),
            fingerprint=fingerprint or deployment.fingerprint,
            extra=keep,
        )
        shown = ", ".join(f"{k} {v}" for k, v in changes.items())
        report_progress(
            f"{deployment.name}: release {updated.raw['release']} on Replicate ({shown})"
        )
        return updated

    def scale(
        self,
        deployment: Deployment,
        replicas: int | None,
        min_replicas: int | None,
        max_replicas: int | None,
    ) -> Deployment:
        """Fixed ``replicas`` (0: min 0, instances start on demand) or bounds, as one PATCH."""
        changes: dict[str, Any] = {}
        if replicas == 0:
            changes["min_instances"] = 0
            if not deployment.max_replicas:
                changes["max_instances"] = 1
        elif replicas is not None:
            changes["min_instances"] = changes["max_instances"] = replicas
        else:
            if min_replicas is not None:
                changes["min_instances"] = min_replicas
            if max_replicas is not None:
                changes["max_instances"] = max_replicas
        low = changes.get("min_instances", deployment.min_replicas or 0)
        high = changes.get("max_instances", deployment.max_replicas or 1)
        if low > MIN_INSTANCES or not 1 <= high <= MAX_INSTANCES or low > high:
            raise ConfigError(
                f"scale: a Replicate deployment takes min_instances 0 to {MIN_INSTANCES} and"
                f" max_instances 1 to {MAX_INSTANCES} (min <= max); this asks for min {low},"
                f" max {high}",
                provider=self.provider.name,
            )
        return self.update(deployment, changes)

    # -- deleting ---------------------------------------------------------------------------
    def _delete(self, ref: DeploymentRef) -> HostkitError | None:
        """``DELETE``; None when it is gone, else the platform's refusal (not idle yet)."""
        try:
            self._request("DELETE", ref.path, safe=True)
        except NotFound:
            return None
        except HostkitError as error:
            if error.status_code in _NOT_IDLE_YET:
                return error
            raise
        return None

    def teardown(self, deployment: Deployment) -> bool:
        """Scale to nothing, then delete. False: the delete was refused and it stays offline.

        ``PATCH {min_instances: 0, max_instances: 0}`` first, so nothing runs or bills even
        when Replicate refuses the delete until the deployment has been idle long enough.
        """
        ref = self.ref(deployment.name)
        self._request(
            "PATCH", ref.path, safe=True, json={"min_instances": 0, "max_instances": 0}
        )  # NotFound: already gone (the caller tolerates it)
        report_progress(f"{deployment.name}: scaled to zero instances on Replicate")
        refusal = self._delete(ref)
        if refusal is None:
            return True
        message = (
            f"{deployment.name}: Replicate refused to delete {ref.key} yet ({refusal.message});"
            " it is scaled to zero (min and max instances 0: nothing runs, nothing is billed)."
            " Replicate deletes a deployment only after it has been offline and unused for"
            " a while: call provider.finish_teardown(deployment) to wait and delete it"
        )
        report_progress(message)
        log.warning("%s", message)
        return False

    def finish_teardown(self, deployment: Deployment, timeout: float) -> None:
        """Retry the delete (waiting with ``provider.sleep``) until Replicate accepts it."""
        ref = self.ref(deployment.name)
        started = time.monotonic()
        delay = self.delete_retry_initial
        waited = 0.0
        while True:
            refusal = self._delete(ref)
            if refusal is None:
                report_progress(f"{deployment.name}: deleted {ref.key} on Replicate")
                return
            if waited + delay > timeout or time.monotonic() - started > timeout:
                raise Timeout(
                    f"Replicate still refused to delete {ref.key} after {timeout:.0f}s"
                    f" ({refusal.message}); it stays scaled to zero (nothing billed): call"
                    " finish_teardown again later",
                    provider=self.provider.name,
                    status_code=refusal.status_code,
                    request_id=refusal.request_id,
                )
            report_progress(
                f"{deployment.name}: Replicate refuses the delete until it has been idle;"
                f" trying again in {delay:.0f}s"
            )
            self.provider.sleep(delay)
            waited += delay
            delay = min(delay * 2, self.delete_retry_max)
