"""The ``replicate`` provider: models hosted on Replicate, through the official SDK.

Two parts share this folder and this class, chosen by the spec (the rule users rely on):

* a spec **without** ``instance`` runs *predictions* on the public model
  (:mod:`hostkit_providers.replicate.predictions`): ``deploy`` only looks the model up,
  each call is billed per token (official language models) or per second of hardware;
* a spec **with** ``instance`` (a hardware SKU) creates a Replicate *deployment*
  (:mod:`hostkit_providers.replicate.deployments`): your own instances, sized by
  min/max instances, billed per second of each running instance; its predictions go
  through the same code as the public models'. A spec with a portable ``accelerator``
  (``"A100-80GB:1"``) and no ``instance`` does too: the accelerator resolves to the
  cheapest SKU that fits (``hardware.toml`` + ``prices.toml``).

The SDK (``replicate``, the classic replicate-python on httpx) is imported at first use.
One ``replicate.Client`` per provider instance, built lazily (construction sends
nothing), with its pooled sync and async httpx clients. Its own retries are off: the
SDK wraps every transport in a ``RetryTransport`` (10 attempts of GETs on 429/503/504),
so hostkit mounts a plain transport for every URL, which httpx prefers over the
wrapped default; hostkit's retry policy is then the only one. Error statuses become the
SDK's ``ReplicateError`` (an RFC 7807 problem: ``title``, ``detail``, ``status``) with
the response attached, and :meth:`ReplicateProvider.translate_error` maps it, with the
response's headers, to hostkit's errors.
"""

from __future__ import annotations

import contextvars
import dataclasses
import json
import re
import sys
import threading
import warnings
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from hostkit import (
    Capabilities,
    CostEstimate,
    CostLine,
    Deployment,
    DeploymentSpec,
    InvokeResult,
    Offering,
    Stream,
    Usage,
)
from hostkit.adapters import (
    NO_DELAY,
    Hardware,
    PriceRow,
    PriceTable,
    ServerlessProvider,
    closest_matches,
    error_from_response,
    instance_offering,
    load_hardware,
    message_from_body,
)
from hostkit.adapters import report_progress as _progress
from hostkit.errors import (
    AuthenticationError,
    ConfigError,
    HostkitError,
    NotFound,
    PriceUnknown,
    ProviderError,
    QuotaExceeded,
    RateLimited,
    Timeout,
)

from .deployments import Deployments, is_deployment
from .predictions import (
    ModelRef,
    Predictions,
    prediction_failure,
    text_output_from_schema,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["DEFAULT_BASE_URL", "ReplicateProvider"]


DEFAULT_BASE_URL = "https://api.replicate.com"
#: spec ``options`` for predictions and what they mean
OPTIONS = {
    "hardware": "the hardware SKU the model runs on (e.g. gpu-a100-large), to price"
    " per-second models from the [hardware] price table",
}
#: a failure whose words say the input does not fit the model
_TOO_LONG = re.compile(
    r"context (?:length|window)|(?:input|prompt) (?:length|is too long)|too many tokens",
    re.IGNORECASE,
)
_QUOTA = re.compile(r"insufficient credit|spend(?:ing)? limit|quota", re.IGNORECASE)
_HTML_TITLE = re.compile(r"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)
#: predictions on public models: Replicate sizes the capacity
SERVERLESS = Capabilities(dedicated=False, streaming=True, native_async=True)
#: a Replicate deployment: min/max instances, min 0 lets it scale to zero
DEDICATED = Capabilities(
    dedicated=True,
    streaming=True,
    native_async=True,
    manual_scaling=True,
    autoscaling=True,
    scale_to_zero=True,
)
#: set while deploying a spec with instance: look-ups by name then ask Replicate
_DEDICATED_DEPLOY: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "hostkit_replicate_dedicated", default=False
)


async def _asyncio_sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def _running_loop() -> object | None:
    import asyncio

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _direct_transport() -> Any:
    """One plain transport for the SDK's sync and async clients, mounted for every URL.

    httpx sends through a matching mount before the client's default transport, which
    replicate-python always wraps in its own ``RetryTransport``.
    """
    import httpx

    from hostkit._deadline import async_deadline_transport, deadline_transport

    class DirectTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self._sync: httpx.BaseTransport | None = None
            self._async: httpx.AsyncBaseTransport | None = None

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if self._sync is None:  # each call ends by its timeout, however slow the server
                self._sync = deadline_transport(socket_options=NO_DELAY)
            return self._sync.handle_request(request)

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if self._async is None:
                self._async = async_deadline_transport(socket_options=NO_DELAY)
            return await self._async.handle_async_request(request)

        def close(self) -> None:
            if self._sync is not None:
                self._sync.close()
                self._sync = None

        async def aclose(self) -> None:
            if self._async is not None:
                await self._async.aclose()
                self._async = None

    return DirectTransport()


def _problem_message(title: str | None, detail: str | None, body: bytes | str) -> str:
    """The platform's words from an RFC 7807 problem (``title: detail``), else the body."""
    title, detail = (title or "").strip(), (detail or "").strip()
    if title and detail:
        return detail if detail.lower().startswith(title.lower()) else f"{title}: {detail}"
    if detail or title:
        return detail or title
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if (found := _HTML_TITLE.search(text)) is not None:
        return " ".join(found.group(1).split())
    return message_from_body(body)


class ReplicateProvider(ServerlessProvider):
    """Replicate: predictions on public models, or Replicate deployments (spec ``instance``).

    The class capabilities describe the provider as a whole: ``dedicated`` is False because
    a spec without ``instance`` (the default) creates nothing; scaling exists for
    deployment-backed deployments only (see :meth:`capabilities_for`).
    """

    name = "replicate"
    description = (
        "Replicate: public and official models billed per token or per second of hardware,"
        " and Replicate deployments (dedicated instances, spec instance = hardware SKU)"
    )
    capabilities = Capabilities(
        dedicated=False,
        streaming=True,
        native_async=True,
        manual_scaling=True,
        autoscaling=True,
        scale_to_zero=True,
    )
    credential_env = "REPLICATE_API_TOKEN"
    requires = ("replicate",)
    install_extra = "replicate"
    settings_schema: ClassVar[Mapping[str, Any]] = {"wait": int, "owner": str}
    unsupported = {
        "logs": "Replicate keeps logs per prediction, not per model or deployment: read the"
        " 'logs' field of a prediction (GET https://api.replicate.com/v1/predictions/{id}, or"
        " its page on replicate.com)",
        "scale": "capacity for Replicate's public models scales automatically and is billed"
        " per prediction; for dedicated capacity you size yourself, use a Replicate deployment"
        " (a spec with instance=<hardware SKU>)",
    }
    price_file = "prices.toml"
    #: what each hardware SKU carries (GPU type, count, memory): portable accelerators
    hardware_file = "hardware.toml"
    #: how long one call may take in all (seconds): waiting, polling and streaming
    default_timeout = 300.0

    def setup(self) -> None:
        self.base_url = str(self.setting("base_url") or DEFAULT_BASE_URL).rstrip("/")
        wait = self.settings.get("wait", 60)
        if not 1 <= wait <= 60:
            raise ConfigError(
                f"setting 'wait' of provider {self.name!r} must be 1 to 60 seconds"
                f" (Replicate holds a request at most 60 s), got {wait}",
                provider=self.name,
            )
        #: seconds the create request asks Replicate to hold it (``Prefer: wait=N``)
        self.wait_seconds = int(wait)
        self.asleep: Callable[[float], Awaitable[None]] = _asyncio_sleep
        self._lock = threading.Lock()
        self._client: Any = None
        self._http: httpx.Client | None = None
        self._ahttp: httpx.AsyncClient | None = None
        self._ahttp_loop: object | None = None
        self.predictions = Predictions(self)
        self.deployments = Deployments(self)
        self._hardware: dict[str, Hardware] | None = None

    @property
    def hardware(self) -> dict[str, Hardware]:
        """The hardware SKUs of ``hardware.toml``, read at first use."""
        if self._hardware is None:
            from pathlib import Path

            self._hardware = load_hardware(Path(__file__).with_name(self.hardware_file))
        return self._hardware

    # -- the SDK client (one per provider instance, built at first use) ----------
    def _build_client(self) -> Any:
        """A ``replicate.Client`` with hostkit's transport (building it sends nothing)."""
        token = self.api_key()
        import httpx

        client_module = self.import_sdk("replicate.client")
        direct = _direct_transport()
        return client_module.Client(
            api_token=token,
            base_url=self.base_url,
            timeout=httpx.Timeout(self.timeout, connect=min(10.0, self.timeout)),
            # the SDK wraps `transport` in its RetryTransport (which then never sees a
            # request: the mount wins) instead of building an unused default one
            transport=direct,
            mounts={"all://": direct},
        )

    def sdk(self) -> Any:
        """The ``replicate.Client``; the key is looked up first (and named if missing)."""
        if self._client is None:
            self.api_key()
            with self._lock:
                if self._client is None:
                    self._client = self._build_client()
        return self._client

    def http(self) -> httpx.Client:
        """The SDK's pooled sync httpx client (auth, base URL and user agent set by the SDK)."""
        if self._http is None:
            client = self.sdk()
            with self._lock:
                if self._http is None:
                    self._http = client._client
        return self._http

    def ahttp(self) -> httpx.AsyncClient:
        """The SDK's pooled async httpx client, for the running event loop.

        Its connections belong to the loop that first used it: under another loop (a
        second ``asyncio.run``) the async client of a fresh SDK client is used instead.
        """
        loop = _running_loop()
        if self._ahttp is None or loop is not self._ahttp_loop:
            client = self.sdk() if self._ahttp is None else self._build_client()
            with self._lock:
                self._ahttp, self._ahttp_loop = client._async_client, loop
        return self._ahttp

    def close(self) -> None:
        """Release the sync client's connections (``aclose`` also the async one)."""
        if self._http is not None:
            self._http.close()
            self._http = None
            self._client = None  # a later call builds a fresh SDK client

    async def aclose(self) -> None:
        self.close()
        if self._ahttp is not None:
            await self._ahttp.aclose()
            self._ahttp = None

    # -- errors ---------------------------------------------------------------
    def status_error(self, response: httpx.Response) -> Exception:
        """The SDK's own error for a failure status, with the response kept for its headers."""
        exceptions = self.import_sdk("replicate.exceptions")
        try:
            error = exceptions.ReplicateError.from_response(response)
        except Exception:  # a body that is JSON but not an object
            error = exceptions.ReplicateError(status=response.status_code)
        error.response = response
        return error  # type: ignore[no-any-return]

    def hostkit_error(self, error: Exception) -> HostkitError:
        """``error`` as a hostkit error (translated, or a generic ProviderError)."""
        if isinstance(error, HostkitError):
            return error
        return self.translate_error(error) or ProviderError(
            f"{type(error).__name__}: {error}", provider=self.name
        )

    def translate_error(self, error: Exception) -> HostkitError | None:
        """Every exception replicate-python and httpx raise, as a hostkit error."""
        exceptions = sys.modules.get("replicate.exceptions")
        if exceptions is not None:
            if isinstance(error, exceptions.ReplicateError):
                return self._api_error(error)
            if isinstance(error, exceptions.ModelError):
                prediction = error.prediction
                data = {
                    "id": getattr(prediction, "id", None),
                    "model": getattr(prediction, "model", None),
                    "status": "failed",
                    "error": getattr(prediction, "error", None) or str(error),
                }
                return prediction_failure(data, self.name)
            if isinstance(error, exceptions.ReplicateException):
                return ProviderError(f"{type(error).__name__}: {error}", provider=self.name)
        httpx = sys.modules.get("httpx")
        if httpx is not None:
            return self._transport_error(httpx, error)
        return None

    def _api_error(self, error: Any) -> HostkitError:
        response = getattr(error, "response", None)
        if response is not None:
            status, headers, body = response.status_code, response.headers, response.content
        else:
            status, headers, body = error.status, {}, json.dumps(error.to_dict())
        message = _problem_message(error.title, error.detail, body)
        if status is None:
            return ProviderError(message, provider=self.name)
        mapped = error_from_response(status, headers, body, provider=self.name, message=message)
        common: dict[str, Any] = {
            "provider": self.name,
            "status_code": status,
            "request_id": mapped.request_id,
        }
        if status == 401:
            return AuthenticationError(
                f"{message} (check {self.credential_variable() or 'the api_key setting'})",
                **common,
            )
        if status == 402 or (status in (403, 429) and _QUOTA.search(message)):
            return QuotaExceeded(
                f"{message} (a spending quota, not a rate limit: waiting will not help)", **common
            )
        if status == 413:
            return ProviderError(
                f"the request is larger than Replicate accepts ({message}); pass large inputs"
                " such as images or audio as https URLs instead of inlining them",
                retryable=False,
                **common,
            )
        if status in (400, 422) and _TOO_LONG.search(message):
            return ProviderError(
                f"the input is longer than the model accepts: {message}; shorten the prompt"
                " or lower max_tokens",
                retryable=False,
                **common,
            )
        if isinstance(mapped, RateLimited) and mapped.retry_after is None:
            reset = headers.get("ratelimit-reset")
            if reset is not None and reset.strip().replace(".", "", 1).isdigit():
                mapped.retry_after = float(reset)
        return mapped

    def _transport_error(self, httpx: Any, error: Exception) -> HostkitError | None:
        name = self.name
        if isinstance(error, httpx.ConnectTimeout | httpx.PoolTimeout):
            timeout = Timeout(f"could not connect to Replicate in time: {error}", provider=name)
            timeout.request_not_sent = True  # type: ignore[attr-defined]
            return timeout
        if isinstance(error, httpx.TimeoutException):
            return Timeout(f"request to Replicate timed out: {error}", provider=name)
        if isinstance(error, httpx.ConnectError):
            failure = ProviderError(
                f"could not connect to Replicate: {error}", provider=name, retryable=True
            )
            failure.request_not_sent = True  # type: ignore[attr-defined]
            return failure
        if isinstance(error, httpx.TransportError):
            return ProviderError(
                f"connection to Replicate failed: {type(error).__name__}: {error}",
                provider=name,
                retryable=True,
            )
        if isinstance(error, httpx.HTTPStatusError):
            response = error.response
            return error_from_response(
                response.status_code, response.headers, response.content, provider=name
            )
        if isinstance(error, httpx.InvalidURL):
            return ConfigError(f"invalid URL ({error}); check the base_url setting", provider=name)
        if isinstance(error, httpx.HTTPError | httpx.StreamError | httpx.CookieConflict):
            return ProviderError(f"{type(error).__name__}: {error}", provider=name)
        return None

    # -- spec and deploy (serverless: look the model up) --------------------------
    def validate_spec(self, spec: DeploymentSpec) -> None:
        if spec.instance is not None:
            self.deployments.validate(spec)
            return
        for field in self.dedicated_fields(spec):
            raise ConfigError(
                f"spec {spec.name!r}: {field} is not used by predictions on Replicate's public"
                " models, which scale by themselves; remove it (dedicated capacity is a spec"
                " with instance)",
                provider=self.name,
            )
        unknown = sorted(set(spec.options) - set(OPTIONS))
        if unknown:
            raise ConfigError(
                f"spec {spec.name!r}: unknown option(s) {', '.join(unknown)} for {self.name};"
                f" allowed: {', '.join(sorted(OPTIONS))} (model inputs go to invoke)",
                provider=self.name,
            )
        hardware = spec.options.get("hardware")
        if hardware is not None and (not isinstance(hardware, str) or not hardware):
            raise ConfigError(
                f"spec {spec.name!r}: options.hardware must be a hardware SKU such as"
                f" 'gpu-a100-large', got {hardware!r}",
                provider=self.name,
            )
        if spec.env:
            raise ConfigError(
                f"spec {spec.name!r}: env is not used by {self.name}: a public model runs in"
                " Replicate's own container",
                provider=self.name,
            )
        ModelRef.parse(spec.model)

    def lookup_model(self, model: str) -> dict[str, Any]:
        """``GET /v1/models/{owner}/{name}`` (or the pinned version); NotFound names close ids."""
        ref = ModelRef.parse(model)
        try:
            info = self.predictions.lookup(ref)
        except NotFound as error:
            raise self.model_not_found(model, error) from None
        if ref.version:
            schema = info.get("openapi_schema")
            version = info.get("id") or ref.version
            described: dict[str, Any] = {"owner": ref.owner, "name": ref.name}
        else:
            latest = info.get("latest_version") or {}
            schema = latest.get("openapi_schema") if isinstance(latest, Mapping) else None
            version = latest.get("id") if isinstance(latest, Mapping) else None
            described = {
                key: info.get(key)
                for key in ("owner", "name", "url", "description", "visibility", "run_count")
            }
        return {**described, "version": version, "text_output": text_output_from_schema(schema)}

    def list_models(self, query: str | None = None) -> list[str]:
        """Public model ids: those matching ``query``, else the first page of the catalogue."""
        return self.predictions.search(query)

    def model_not_found(self, model: str, error: NotFound | None = None) -> NotFound:
        """A NotFound naming the closest public models (found with Replicate's search)."""
        try:
            ref = ModelRef.parse(model)
            suggestions = closest_matches(ref.key, self.list_models(ref.name))
        except Exception:  # suggestions are a courtesy; never hide the real answer
            suggestions = []
        hint = f"; closest public models: {', '.join(suggestions)}" if suggestions else ""
        said = f" ({self.name} said: {error.message})" if error and error.message else ""
        return NotFound(
            f"{self.name} does not serve model {model!r}{hint}{said}",
            provider=self.name,
            status_code=error.status_code if error else None,
            request_id=error.request_id if error else None,
        )

    def endpoint_for(self, model: str) -> str | None:
        return f"{self.base_url}{ModelRef.parse(model).create_path}"

    def _create(self, spec: DeploymentSpec) -> Deployment:
        if spec.instance is not None:
            return self.deployments.create(spec)
        info = self.lookup_model(spec.model)
        if spec.options.get("hardware"):
            info["hardware"] = spec.options["hardware"]
        return self.serverless_deployment(spec.name, spec.model, spec.fingerprint(), info)

    def status(self, deployment: Deployment) -> Deployment:
        if is_deployment(deployment):
            found = self.deployments.refresh(deployment)
            if found is None:
                gone = Deployment.from_dict({**deployment.to_dict(), "status": "deleted"})
                gone._provider = self
                return gone
            return found
        fresh = super().status(deployment)
        if deployment.raw.get("hardware"):
            fresh.raw["hardware"] = deployment.raw["hardware"]
        return fresh

    # -- the dedicated half: Replicate deployments -----------------------------------
    def deploy(
        self,
        spec: DeploymentSpec | Mapping[str, Any],
        *,
        wait: bool = True,
        timeout: float | None = None,
        update: bool = False,
        keep_failed: bool = False,
    ) -> Deployment:
        """As ``Provider.deploy``; a spec with ``instance`` makes a Replicate deployment."""
        spec = self.coerce_spec(spec)
        token = _DEDICATED_DEPLOY.set(spec.instance is not None)
        try:
            return super().deploy(
                spec, wait=wait, timeout=timeout, update=update, keep_failed=keep_failed
            )
        finally:
            _DEDICATED_DEPLOY.reset(token)

    def find(self, name: str) -> Deployment | None:
        """The local record; a Replicate deployment is read again from Replicate.

        Without a record, Replicate is asked only while deploying a spec with ``instance``
        (a public-model spec creates nothing, so there is nothing to ask about); use
        :meth:`find_deployment` to look a deployment made elsewhere up by name.
        """
        found = super().find(name)
        if found is None:
            return self.find_deployment(name) if _DEDICATED_DEPLOY.get() else None
        if not is_deployment(found):
            return found
        fresh = self.deployments.refresh(found)
        if fresh is None:
            self.records.delete(name)
        return fresh

    def find_deployment(self, name: str) -> Deployment | None:
        """The Replicate deployment ``name`` of the owner (``GET /v1/deployments/...``), or None."""
        data = self.deployments.get(name)
        if data is None:
            return None
        record = self.records.load(name) or {}
        extra = {"spec_model": record.get("model")} if record.get("model") else {}
        return self.deployments.to_deployment(
            data, fingerprint=record.get("fingerprint"), extra=extra
        )

    def same_spec(self, existing: Deployment, spec: DeploymentSpec) -> bool:
        if not is_deployment(existing) or spec.instance is None:
            return super().same_spec(existing, spec)
        from .deployments import instances_for

        ref = ModelRef.parse(spec.model)
        low, high = instances_for(spec)
        release_model = ModelRef.parse(existing.model).key if existing.model else ""
        return (
            release_model == ref.key
            and (ref.version is None or existing.raw.get("version") == ref.version)
            and existing.instance == spec.instance
            and (existing.min_replicas, existing.max_replicas) == (low, high)
        )

    def _update(self, existing: Deployment, spec: DeploymentSpec) -> Deployment:
        if not is_deployment(existing) or spec.instance is None:
            return super()._update(existing, spec)
        from .deployments import instances_for

        ref = ModelRef.parse(spec.model)
        if ModelRef.parse(existing.model).key != ref.key:
            raise ConfigError(
                f"{spec.name}: a Replicate deployment keeps its model ({existing.model});"
                f" deploy {spec.model} under another name",
                provider=self.name,
            )
        low, high = instances_for(spec)
        changes: dict[str, Any] = {"hardware": spec.instance}
        if ref.version and ref.version != existing.raw.get("version"):
            changes["version"] = ref.version
        changes.update(min_instances=low, max_instances=high)
        return self.deployments.update(existing, changes, fingerprint=spec.fingerprint())

    def capabilities_for(self, deployment: Deployment) -> Capabilities:
        """Dedicated capabilities for a Replicate deployment; serverless ones otherwise."""
        return DEDICATED if is_deployment(deployment) else SERVERLESS

    def capabilities_for_spec(self, spec: DeploymentSpec) -> Capabilities:
        """A spec with ``instance`` (or a portable ``accelerator``, resolved to a SKU) creates
        a Replicate deployment; without either, it runs predictions."""
        return DEDICATED if spec.instance or spec.accelerator else SERVERLESS

    def _scale(
        self,
        deployment: Deployment,
        replicas: int | None,
        min_replicas: int | None,
        max_replicas: int | None,
    ) -> Deployment:
        return self.deployments.scale(deployment, replicas, min_replicas, max_replicas)

    def teardown(self, deployment: Deployment | str) -> None:
        """Delete; a Replicate deployment is first scaled to zero instances.

        When Replicate refuses the delete (a deployment must have been idle for a while),
        it stays scaled to zero (nothing runs or bills), the record is kept with status
        ``scaled_to_zero``, and :meth:`finish_teardown` can finish the deletion later.
        """
        target = self.find(deployment) if isinstance(deployment, str) else deployment
        if target is None or not is_deployment(target):
            super().teardown(deployment)
            return
        target = self.resolve(target)
        try:
            deleted = self.deployments.teardown(target)
        except NotFound:
            deleted = True
        if deleted:
            self.records.delete(target.name)
            target.status = "deleted"
            _progress(f"{target.name}: deleted")
            return
        target.status = "scaled_to_zero"
        target.min_replicas = target.max_replicas = target.replicas = 0
        target.raw["delete_pending"] = True
        self.remember(target)

    def finish_teardown(self, deployment: Deployment | str, *, timeout: float = 1800.0) -> None:
        """Retry the delete of a Replicate deployment until it succeeds or ``timeout`` passes.

        Waits with ``provider.sleep`` between attempts (30 s doubling to 2 min). Raises
        Timeout (the deployment stays scaled to zero) if Replicate still refuses.
        """
        if isinstance(deployment, str):
            found = self.records.load(deployment)
            deployment = (
                Deployment.from_dict(found)
                if found is not None
                else Deployment(
                    name=deployment,
                    provider=self.name,
                    model="",
                    status="scaled_to_zero",
                    raw={"serverless": False},
                )
            )
        if not is_deployment(deployment):
            super().teardown(deployment)
            return
        self.deployments.finish_teardown(deployment, timeout)
        self.records.delete(deployment.name)
        deployment.status = "deleted"

    def _teardown(self, deployment: Deployment) -> None:
        if is_deployment(deployment):
            self.deployments.teardown(deployment)
        elif _DEDICATED_DEPLOY.get() and self.deployments._owner is not None:
            # rollback of a failed deploy of a spec with instance: remove what it made
            self.deployments.teardown(
                Deployment(
                    name=deployment.name,
                    provider=self.name,
                    model=deployment.model,
                    status="failed",
                    raw={"serverless": False},
                )
            )

    # -- invoke (both halves create predictions: on the model, or on the deployment) -----
    def _part(self, deployment: Deployment) -> Predictions:
        return self.predictions

    def invoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        return self._part(deployment).run(deployment, request, params)

    async def ainvoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        return await self._part(deployment).arun(deployment, request, params)

    def stream(self, deployment: Deployment, request: Any, **params: Any) -> Stream:
        return self._part(deployment).stream(deployment, request, params)

    # -- money ------------------------------------------------------------------------
    def _model_row(self, model: str) -> PriceRow | None:
        """The model's own price row (``owner/name:version`` or ``owner/name``)."""
        return self.prices.find(model) or self.prices.find(ModelRef.parse(model).key)

    def _hardware_row(
        self, target: Deployment | DeploymentSpec
    ) -> tuple[str | None, PriceRow | None]:
        """The per-second row of the model's hardware: its own row, or options.hardware."""
        row = self._model_row(target.model)
        if row is not None and row.usd_per_second is not None:
            return row.key, row
        if isinstance(target, Deployment):
            hardware = target.raw.get("hardware")
        else:
            hardware = target.options.get("hardware")
        if not hardware:
            return None, None
        found = self.prices.find(str(hardware), section="hardware")
        if found is not None and found.usd_per_second is None and found.usd_per_hour is None:
            found = None
        return str(hardware), found

    def _price_help(self, model: str) -> str:
        key = ModelRef.parse(model).key
        return (
            f'set it in hostkit.toml: [prices.{self.name}."{key}"] input_per_million = ...,'
            ' output_per_million = ..., source = "..." (official language models), or give the'
            " spec options.hardware (a SKU priced per second under [hardware] in the price"
            " table, e.g. gpu-a100-large)"
        )

    def prediction_cost(
        self, deployment: Deployment, usage: Usage, metrics: Mapping[str, Any]
    ) -> float | None:
        """``cost_usd`` of one prediction: its tokens, or its seconds of hardware.

        An unpriced model gives None and one PriceUnknown warning per model.
        """
        if is_deployment(deployment):
            return None  # billed per second of each running instance: see cost()
        row = self._model_row(deployment.model)
        if row is not None and row.has_token_prices:
            return self.invoke_cost(row.key, usage)
        _, hardware = self._hardware_row(deployment)
        predict_time = metrics.get("predict_time")
        if hardware is not None and isinstance(predict_time, int | float):
            per_second = hardware.usd_per_second
            if per_second is None and hardware.usd_per_hour is not None:
                per_second = hardware.usd_per_hour / 3600
            if per_second is not None:
                return float(predict_time) * per_second
        if deployment.model not in self._warned_prices:
            self._warned_prices.add(deployment.model)
            warnings.warn(
                f"{self.name}: no known price for model {deployment.model!r}; cost_usd is None;"
                f" {self._price_help(deployment.model)}",
                PriceUnknown,
                stacklevel=5,
            )
        return None

    def cost(
        self,
        target: Deployment | DeploymentSpec,
        *,
        hours: float | None = None,
        requests: int | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
    ) -> CostEstimate:
        """Per token for official language models; per second of hardware for the rest.

        For a model billed by hardware time, ``hours`` is the compute time of its
        predictions (``metrics.predict_time`` adds up to it); idle time costs nothing.
        """
        for label, value in (
            ("hours", hours),
            ("requests", requests),
            ("input_tokens", input_tokens),
            ("output_tokens", output_tokens),
        ):
            if value is not None and (isinstance(value, bool) or value < 0):
                raise ConfigError(f"cost: {label} must be a number >= 0, got {value!r}")
        if isinstance(target, DeploymentSpec) and target.accelerator and not target.instance:
            target = self.coerce_spec(target)  # a portable accelerator: the SKU it picks
        if (target.instance is not None) or (
            isinstance(target, Deployment) and is_deployment(target)
        ):
            return self._deployment_cost(target, hours, requests, input_tokens, output_tokens)
        row = self._model_row(target.model)
        if row is not None and row.has_token_prices:
            if input_tokens is None and output_tokens is None:
                if requests:
                    return self.unknown_cost(
                        f"{requests} requests without token counts",
                        f"{target.model} is billed per token: pass input_tokens and output_tokens",
                    )
                idle = CostLine(
                    "idle time (serverless: billed per use only)", "hour", hours or 0, 0, 0
                )
                return CostEstimate(usd=0.0, breakdown=[idle], source=row.source, as_of=row.as_of)
            return PriceTable.token_estimate(row, input_tokens, output_tokens)
        hardware_key, hardware = self._hardware_row(target)
        if hardware is not None:
            if input_tokens is not None or output_tokens is not None or requests:
                return self.unknown_cost(
                    f"{target.model} by tokens or requests",
                    f"it is billed per second of {hardware_key}: pass hours=<compute time>",
                )
            return PriceTable.time_estimate(hardware, hours=hours or 0.0)
        return self.unknown_cost(f"model {target.model!r}", self._price_help(target.model))

    def _deployment_cost(
        self,
        target: Deployment | DeploymentSpec,
        hours: float | None,
        requests: int | None,
        input_tokens: int | None,
        output_tokens: int | None,
    ) -> CostEstimate:
        """Hardware price per second x instances x ``hours`` (the always-on min_instances)."""
        hardware = target.instance
        if isinstance(target, Deployment):
            low = target.min_replicas or 0
            high = target.max_replicas if target.max_replicas is not None else low
        else:
            from .deployments import instances_for

            low, high = instances_for(target)
        if input_tokens is not None or output_tokens is not None or requests:
            return self.unknown_cost(
                "a Replicate deployment by tokens or requests",
                f"it is billed per second of each running {hardware} instance: pass hours=<time>",
            )
        row = self.prices.find(str(hardware), section="hardware")
        if row is None or (row.usd_per_second is None and row.usd_per_hour is None):
            return self.unknown_cost(
                f"hardware {hardware!r}",
                f'set it in hostkit.toml: [prices.{self.name}."{hardware}"] usd_per_second ='
                ' ..., source = "https://replicate.com/pricing"',
            )
        estimate = PriceTable.time_estimate(row, hours=hours or 0.0, count=low)
        if high > low:
            ceiling = PriceTable.time_estimate(row, hours=hours or 0.0, count=high).usd
            line = estimate.breakdown[0]
            estimate.breakdown[0] = dataclasses.replace(
                line,
                description=f"{line.description} (min_instances, always on; up to {high}"
                f" under load: ${ceiling:.2f})",
            )
        return estimate

    def offerings(self, region: str | None = None) -> list[Offering]:
        """Priced models (per token) and hardware SKUs (per second, shown per hour) with
        their GPUs from ``hardware.toml``; a SKU without a price is listed with None."""
        offers = []
        priced: set[str] = set()
        for section, rows in sorted(self.prices.sections.items()):
            for row in sorted(rows.values(), key=lambda r: r.key):
                per_hour = row.usd_per_hour
                if per_hour is None and row.usd_per_second is not None:
                    per_hour = round(row.usd_per_second * 3600, 6)
                is_hardware = section == "hardware" or (
                    section == "overrides" and not row.has_token_prices and "/" not in row.key
                )
                if is_hardware:
                    priced.add(row.key)
                offers.append(
                    self._hardware_offering(row.key, row, per_hour)
                    if is_hardware
                    else Offering(
                        provider=self.name,
                        name=row.key,
                        kind="model",
                        usd_per_hour=per_hour,
                        usd_per_million_input=row.input_per_million,
                        usd_per_million_output=row.output_per_million,
                        source=row.source,
                        as_of=row.as_of,
                    )
                )
        for key in sorted(set(self.hardware) - priced):
            offers.append(self._hardware_offering(key, None, None))
        return offers

    def _hardware_offering(
        self, key: str, row: PriceRow | None, per_hour: float | None
    ) -> Offering:
        return instance_offering(self.name, key, self.hardware.get(key), row, usd_per_hour=per_hour)
