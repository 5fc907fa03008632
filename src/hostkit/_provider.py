"""The contract every adapter implements: :class:`Provider`.

Writing a provider (see docs/writing-a-provider.md):

* set the class attributes ``name``, ``capabilities``, ``credential_env`` (the
  variable the platform's own SDK reads), ``requires`` (modules the adapter needs,
  imported lazily) and ``install_extra``;
* declare extra settings in ``settings_schema``;
* implement ``find``, ``status``, ``invoke``, ``cost`` and ``offerings``, plus
  ``_create`` and ``_teardown`` for platforms that create something;
* override ``stream``, ``ainvoke`` and ``_scale`` where the platform can, ``_logs``
  where its API serves server logs and ``metrics`` where it reports invocation figures.

The base class owns every decision that is the same on all platforms: spec and
setting validation, credential look-up, "same name, same spec" on deploy, the
wait loop, rollback of a failed deploy, idempotent teardown, the capability checks
of ``scale``, the retry policy and the error-translation seam. Construction never
sends a request.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as _dt
import importlib
import importlib.util
import os
import sys
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from hostkit import _progress
from hostkit._events import Hooks, instrument
from hostkit._logs import LogLine, Metrics, scrubbed
from hostkit._models import (
    Capabilities,
    CostEstimate,
    Deployment,
    DeploymentSpec,
    InvokeResult,
    Offering,
    Stream,
    Usage,
    check_name,
)
from hostkit._pricing import PriceRow, PriceTable
from hostkit._redact import Secret, get_logger, is_secret_key, redact_mapping
from hostkit._retry import RetryPolicy
from hostkit._state import StateStore
from hostkit.errors import (
    AuthenticationError,
    ConfigError,
    DependencyMissing,
    DeploymentFailed,
    HostkitError,
    NotFound,
    PriceUnknown,
    ProviderError,
    Timeout,
    Unsupported,
)

__all__ = ["COMMON_SETTINGS", "DISTRIBUTION", "Provider"]

T = TypeVar("T")
log = get_logger("hostkit.provider")

#: the PyPI distribution that carries hostkit (``hostkit`` on PyPI is another project)
DISTRIBUTION = "hostkit-ml"

SettingType = type | tuple[type, ...]
COMMON_SETTINGS: dict[str, SettingType] = {
    "api_key": str,
    "api_key_env": str,
    "base_url": str,
    "region": str,
    "timeout": (int, float),
    "max_retries": int,
    "max_connections": int,
    "state_dir": str,
}
_TYPE_NAMES = {str: "a string", int: "a whole number", float: "a number", bool: "true or false"}


def _type_name(expected: SettingType) -> str:
    options = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in options)


class Provider(ABC):
    """One hosting platform behind the hostkit interface (see module docs)."""

    #: registry name, e.g. ``"groq"``
    name: ClassVar[str] = ""
    capabilities: ClassVar[Capabilities] = Capabilities(dedicated=False)
    #: environment variable the platform's own SDK reads for its key (None: a cloud chain)
    credential_env: ClassVar[str | None] = None
    #: importable modules the adapter needs; missing ones make it "not installed"
    requires: ClassVar[tuple[str, ...]] = ()
    #: the extra that installs them: ``pip install "hostkit-ml[<extra>]"``
    install_extra: ClassVar[str | None] = None
    #: provider-specific settings and their types (on top of COMMON_SETTINGS)
    settings_schema: ClassVar[Mapping[str, SettingType]] = {}
    #: why an operation does not exist here and what to do instead
    unsupported: ClassVar[Mapping[str, str]] = {}
    description: ClassVar[str] = ""
    default_timeout: ClassVar[float] = 60.0
    deploy_timeout: ClassVar[float] = 1800.0
    poll_initial: ClassVar[float] = 1.0
    poll_max: ClassVar[float] = 15.0
    #: reading the logs is cheap (a local file): a wait's progress shows the last line
    progress_from_logs: ClassVar[bool] = False
    #: the adapter's shipped price table, beside its module (see hostkit._pricing)
    price_file: ClassVar[str | None] = None

    def __init__(
        self,
        *,
        _source: str = "settings",
        _prices: Mapping[str, Any] | None = None,
        _prices_source: tuple[str, str] | None = None,
        _config_path: Path | None = None,
        **settings: Any,
    ) -> None:
        self.check_installed()
        self._price_overrides = dict(_prices or {})
        self._price_overrides_source = _prices_source or ("hostkit.toml [prices]", "")
        self._prices: PriceTable | None = None
        self._warned_prices: set[str] = set()
        self.settings: dict[str, Any] = self._parse_settings(settings, _source)
        #: the config file the settings came from (None: given in code)
        self.config_path = _config_path
        self.retry = RetryPolicy(max_retries=self.settings.get("max_retries", 3))
        self.timeout = float(self.settings.get("timeout", self.default_timeout))
        #: connections each HTTP client pools (``hostkit.adapters.connection_pool`` raises it)
        self.max_connections: int | None = self.settings.get("max_connections")
        state_dir = self.settings.get("state_dir")
        self.records = StateStore(self.name, Path(state_dir).expanduser() if state_dir else None)
        self.sleep: Callable[[float], None] = time.sleep
        #: hooks for this instance only (``hostkit.add_hook`` registers process-wide ones)
        self.hooks = Hooks()
        self.setup()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for operation in INSTRUMENTED:
            method = cls.__dict__.get(operation)
            if callable(method):
                setattr(cls, operation, instrument(operation, method))

    # -- construction ----------------------------------------------------
    def setup(self) -> None:
        """Adapter hook run at the end of ``__init__``: build (lazy) clients, send nothing."""

    @classmethod
    def install_command(cls) -> str:
        extra = f"[{cls.install_extra}]" if cls.install_extra else ""
        return f'pip install "{DISTRIBUTION}{extra}"'

    @classmethod
    def missing_modules(cls) -> list[str]:
        """Required modules that cannot be imported here."""
        missing = []
        for module in cls.requires:
            try:
                found = importlib.util.find_spec(module) is not None
            except (ImportError, ValueError):
                found = False
            if not found:
                missing.append(module)
        return missing

    @classmethod
    def check_installed(cls) -> None:
        if missing := cls.missing_modules():
            raise DependencyMissing(
                f"the {cls.name} provider needs {', '.join(missing)}, which is not installed;"
                f" run: {cls.install_command()}",
                provider=cls.name,
            )

    def import_sdk(self, module: str) -> Any:
        """Import one of the adapter's SDK modules, or say how to install it."""
        try:
            return importlib.import_module(module)
        except ImportError as error:
            raise DependencyMissing(
                f"the {self.name} provider needs {module} ({error}); run: {self.install_command()}",
                provider=self.name,
            ) from None

    def _parse_settings(self, settings: Mapping[str, Any], source: str) -> dict[str, Any]:
        schema = {**COMMON_SETTINGS, **self.settings_schema}
        parsed: dict[str, Any] = {}
        for key, value in settings.items():
            if key not in schema:
                raise ConfigError(
                    f"{source}: unknown setting {key!r} for provider {self.name!r};"
                    f" allowed: {', '.join(sorted(schema))}",
                    provider=self.name,
                )
            if value is None:
                continue
            expected = schema[key]
            if isinstance(value, bool) and expected is not bool:
                valid = False
            else:
                valid = isinstance(value, expected)
            if not valid:
                shown = "***" if is_secret_key(key) else repr(value)
                raise ConfigError(
                    f"{source}: setting {key!r} of provider {self.name!r} must be"
                    f" {_type_name(expected)}, got {shown}",
                    provider=self.name,
                )
            parsed[key] = Secret(value) if is_secret_key(key) and key != "api_key_env" else value
        if "timeout" in parsed and parsed["timeout"] <= 0:
            raise ConfigError(f"{source}: setting 'timeout' must be positive", provider=self.name)
        if "max_retries" in parsed and parsed["max_retries"] < 0:
            raise ConfigError(f"{source}: setting 'max_retries' must be >= 0", provider=self.name)
        if "max_connections" in parsed and parsed["max_connections"] < 1:
            raise ConfigError(
                f"{source}: setting 'max_connections' must be >= 1 (connections per HTTP client),"
                f" got {parsed['max_connections']}",
                provider=self.name,
            )
        return parsed

    def __repr__(self) -> str:
        shown = redact_mapping({k: v for k, v in self.settings.items()})
        shown = {k: (repr(v) if isinstance(v, Secret) else v) for k, v in shown.items()}
        return f"<{type(self).__name__} {self.name!r} settings={shown}>"

    # -- credentials -----------------------------------------------------
    def credential_variable(self) -> str | None:
        return self.settings.get("api_key_env") or self.credential_env

    def api_key(self, *, required: bool = True) -> str | None:
        """The API key: the ``api_key`` setting, else the environment variable.

        Missing and ``required``: an AuthenticationError naming the variable to set.
        """
        secret = self.settings.get("api_key")
        if isinstance(secret, Secret):
            return secret.get()
        variable = self.credential_variable()
        value = os.environ.get(variable) if variable else None
        if value:
            Secret(value)  # registers it for scrubbing
            return value
        if required:
            where = f"set {variable}" if variable else "pass api_key=..."
            raise AuthenticationError(
                f"no API key for {self.name}: {where}, or set api_key / api_key_env"
                f" under [providers.{self.name}] in hostkit.toml",
                provider=self.name,
            )
        return None

    def setting_source(self, key: str) -> str:
        """Where a setting is set, for messages: ``usd_per_hour under [providers.local] in
        hostkit.toml`` (``[tool.hostkit.providers.local] in pyproject.toml``), or in code."""
        if self.config_path is None:
            return f"the {key} setting given in code"
        table = f"providers.{self.name}"
        if self.config_path.name == "pyproject.toml":
            table = f"tool.hostkit.{table}"
        return f"{key} under [{table}] in {self.config_path.name}"

    def setting(self, key: str, default: Any = None) -> Any:
        value = self.settings.get(key, default)
        return value.get() if isinstance(value, Secret) else value

    # -- the error-translation seam and retries ----------------------------
    def translate_error(self, error: Exception) -> HostkitError | None:
        """Map an SDK exception to a hostkit error (adapters override); None: generic."""
        return None

    def map_error(self, error: Exception) -> HostkitError:
        """``error`` as a hostkit error: the adapter's mapping, else a ProviderError."""
        if isinstance(error, HostkitError):
            return error
        return self.translate_error(error) or ProviderError(
            f"{type(error).__name__}: {error}", provider=self.name
        )

    def _translated(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except HostkitError:
            raise
        except Exception as error:
            raise self.map_error(error) from error

    def call(self, fn: Callable[[], T], *, safe: bool = True) -> T:
        """Run one platform call with error translation and the retry policy.

        ``safe=False`` marks a call that creates something and is not idempotent.
        """
        return self.retry.call(lambda: self._translated(fn), safe=safe)

    async def acall(self, fn: Callable[[], Awaitable[T]], *, safe: bool = True) -> T:
        """Async twin of :meth:`call`: error translation plus the retry policy."""

        async def attempt() -> T:
            try:
                return await fn()
            except HostkitError:
                raise
            except Exception as error:
                raise self.map_error(error) from error

        return await self.retry.acall(attempt, safe=safe)

    # -- deploy ----------------------------------------------------------
    def coerce_spec(self, spec: DeploymentSpec | Mapping[str, Any]) -> DeploymentSpec:
        if isinstance(spec, Mapping):
            data = dict(spec)
            data.setdefault("provider", self.name)
            spec = DeploymentSpec.from_dict(data)
        if not isinstance(spec, DeploymentSpec):
            raise ConfigError(f"deploy: expected a DeploymentSpec or a mapping, got {spec!r}")
        if spec.provider != self.name:
            raise ConfigError(
                f"spec {spec.name!r} is for provider {spec.provider!r}, not {self.name!r}"
            )
        if (
            spec.accelerator
            and not spec.instance
            and self.capabilities_for_spec(spec).dedicated
            and self.price_file
        ):
            # a portable accelerator ("A100-80GB:2") picks this platform's cheapest fitting type
            spec = spec.replace(instance=self.instance_for_accelerator(spec))
        return spec

    def instance_for_accelerator(self, spec: DeploymentSpec) -> str:
        """The instance type ``spec.accelerator`` resolves to here: the cheapest fitting one
        in ``spec.region`` (adapters whose instance names carry more override this)."""
        from hostkit.catalog import resolve_accelerator

        assert spec.accelerator is not None
        return resolve_accelerator(self.name, spec.accelerator, spec.region or None)

    def validate_spec(self, spec: DeploymentSpec) -> None:
        """Adapter hook: raise ConfigError for fields this platform cannot honour."""

    def same_spec(self, existing: Deployment, spec: DeploymentSpec) -> bool:
        """Whether an existing deployment already is what ``spec`` asks for."""
        if existing.fingerprint is not None:
            return existing.fingerprint == spec.fingerprint()
        return existing.model == spec.model and existing.instance in (None, spec.instance)

    def deploy(
        self,
        spec: DeploymentSpec | Mapping[str, Any],
        *,
        wait: bool = True,
        timeout: float | None = None,
        update: bool = False,
        keep_failed: bool = False,
    ) -> Deployment:
        """Create the deployment (or return the identical existing one) and wait for it.

        Blocks until ready when ``wait``. A deployment of the same name with a
        different spec raises ConfigError unless ``update=True``. On failure or
        timeout everything this call created is deleted (unless ``keep_failed``)
        and DeploymentFailed carries the platform's reason.
        """
        spec = self.coerce_spec(spec)
        self.validate_spec(spec)
        with self.exclusive(spec.name):  # one deploy, scale or teardown of a name at a time
            existing = self.find(spec.name)
            created = False
            if existing is not None and existing.status == "failed":
                _progress.report(f"{spec.name}: an earlier deploy failed; deleting it first")
                self.teardown(existing)
                existing = None
            if existing is not None and existing.status != "deleted":
                if self.same_spec(existing, spec):
                    deployment = existing
                elif update:
                    deployment = self._update(existing, spec)
                else:
                    raise ConfigError(
                        f"a deployment named {spec.name!r} already exists on {self.name} with a"
                        " different spec; pass update=True (CLI: --update) to change it, or pick"
                        " another name",
                        provider=self.name,
                    )
            else:
                _progress.report(f"{spec.name}: creating on {self.name}")
                try:
                    deployment = self._create(spec)
                except BaseException as error:
                    if not keep_failed:
                        self._rollback(spec, error)
                    raise
                created = True
            deployment._provider = self
            self.remember(deployment)
        if wait and deployment.status not in ("ready", "scaled_to_zero"):
            try:
                deployment = self.wait(deployment, timeout=timeout)
            except BaseException as error:  # whatever stops the wait: delete what this call made
                if created and not keep_failed:
                    with self.exclusive(spec.name):
                        self._rollback(spec, error)
                if isinstance(error, Timeout):
                    raise DeploymentFailed(
                        f"{spec.name} did not become ready: {error.message}"
                        + ("" if keep_failed or not created else "; what it created was deleted"),
                        reason=error.message,
                        provider=self.name,
                    ) from error
                raise
        return deployment

    def _rollback(self, spec: DeploymentSpec, error: BaseException) -> None:
        _progress.report(f"{spec.name}: deploy failed, deleting what it created")
        placeholder = Deployment(
            name=spec.name, provider=self.name, model=spec.model, status="failed"
        )
        try:
            self._teardown(placeholder)
        except NotFound:
            pass
        except Exception as cleanup_error:  # never hide the original failure
            log.error(
                "%s: clean-up after a failed deploy also failed: %s; check the %s console"
                " for leftovers named %r",
                spec.name,
                cleanup_error,
                self.name,
                spec.name,
            )
            if isinstance(error, Exception):
                error.add_note(f"clean-up also failed: {cleanup_error}")
        self.records.delete(spec.name)

    def _create(self, spec: DeploymentSpec) -> Deployment:
        """Adapter hook: start creating; return at once (the base waits)."""
        raise Unsupported(self._why("deploy", "this provider cannot create deployments"))

    def _update(self, existing: Deployment, spec: DeploymentSpec) -> Deployment:
        """Adapter hook: change an existing deployment to match ``spec``."""
        raise Unsupported(
            self._why(
                "update",
                f"{self.name} cannot change a deployment in place; tear it down and deploy again",
            )
        )

    def wait(self, deployment: Deployment, *, timeout: float | None = None) -> Deployment:
        """Poll with capped exponential backoff until ready, failed or ``timeout``."""
        limit = timeout if timeout is not None else self.deploy_timeout
        deadline = time.monotonic() + limit
        delay = self.poll_initial
        last = None
        started = time.monotonic()
        try:
            while True:
                current = self.status(deployment)
                detail = self.progress_detail(current) if _progress.wants_ticks() else None
                elapsed = time.monotonic() - started
                changed, last = current.status != last, current.status
                _progress.waiting(deployment.name, current.status, elapsed, detail, changed=changed)
                if current.status in ("ready", "scaled_to_zero"):
                    current._provider = self
                    self.remember(current)
                    return current
                if current.status in ("failed", "deleted"):
                    reason = self.failure_reason(current) or f"status became {current.status}"
                    raise DeploymentFailed(
                        f"{deployment.name} failed to deploy: {reason}",
                        reason=reason,
                        provider=self.name,
                    ) from self.failure_cause(current)
                if time.monotonic() + delay > deadline:
                    raise Timeout(
                        f"{deployment.name} was still {current.status} after {limit:.0f}s",
                        provider=self.name,
                    )
                self.sleep(delay)
                delay = min(delay * 2, self.poll_max)
        finally:
            _progress.done(deployment.name, str(last), time.monotonic() - started)

    def progress_detail(self, deployment: Deployment) -> str | None:
        """What a wait's progress line shows beside the phase and elapsed time.

        Default: the last server log line when ``progress_from_logs`` (reading the logs
        is cheap, e.g. a local file), else None. Adapters may override it with the
        platform's own status message.
        """
        if not self.progress_from_logs:
            return None
        try:
            lines = scrubbed(self._logs(deployment, since=None, follow=False))
            last = collections.deque(lines, maxlen=1).pop()
        except (IndexError, HostkitError, OSError):  # no line yet, or no logs to read
            return None
        if not last.message.strip():
            return None
        return f"{last.source}: {last.message}" if last.source else last.message

    def failure_reason(self, deployment: Deployment) -> str | None:
        """Adapter hook: the platform's words for why a deployment failed."""
        reason = deployment.raw.get("failure_reason") if deployment.raw else None
        return str(reason) if reason else None

    def failure_cause(self, deployment: Deployment) -> HostkitError | None:
        """Adapter hook: the classified platform error behind a failed deploy.

        Returned errors (``QuotaExceeded``, ``CapacityUnavailable`` ...) become the
        ``__cause__`` of the DeploymentFailed the wait raises.
        """
        return None

    def remember(self, deployment: Deployment) -> None:
        """Save the deployment record so a later process can find it."""
        self.records.save(deployment.name, deployment.to_dict())

    # -- look-up ---------------------------------------------------------
    @abstractmethod
    def find(self, name: str) -> Deployment | None:
        """The deployment called ``name`` on the platform, or None."""

    def get(self, name: str) -> Deployment:
        """Find a deployment again (from any process) or raise NotFound."""
        found = self.find(check_name(name, argument="name"))
        if found is None:
            raise NotFound(f"no deployment named {name!r} on {self.name}", provider=self.name)
        found._provider = self
        return found

    @abstractmethod
    def status(self, deployment: Deployment) -> Deployment:
        """A fresh copy of ``deployment`` with the platform's current state."""

    def resolve(self, target: Deployment | str) -> Deployment:
        if isinstance(target, Deployment):
            if target.provider != self.name:
                raise ConfigError(
                    f"deployment {target.name!r} belongs to {target.provider!r}, not {self.name!r}"
                )
            return target
        return self.get(target)

    # -- invoke ----------------------------------------------------------
    @abstractmethod
    def invoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        """Send one request; ``request`` is a prompt, OpenAI-style messages or a payload."""

    async def ainvoke(self, deployment: Deployment, request: Any, **params: Any) -> InvokeResult:
        """Async invoke; adapters with a native async client override this."""
        import asyncio

        return await asyncio.to_thread(self.invoke, deployment, request, **params)

    def stream(self, deployment: Deployment, request: Any, **params: Any) -> Stream:
        """Iterate text chunks; ``.result`` holds usage and ``ttft_s`` at the end."""
        raise Unsupported(
            self._why("stream", f"{self.name} does not stream responses; use invoke"),
            provider=self.name,
        )

    # -- logs and metrics --------------------------------------------------
    def logs(
        self, deployment: Deployment | str, *, since: float | None = None, follow: bool = False
    ) -> Iterator[LogLine]:
        """The deployment's server log lines from ``since`` (epoch seconds) on.

        ``follow`` keeps waiting for new lines until the caller stops iterating.
        Registered secrets are masked in every line. Platforms without a logs API
        raise Unsupported saying where to find the logs instead.
        """
        target = self.get(deployment) if isinstance(deployment, str) else deployment
        return scrubbed(self._logs(self.resolve(target), since=since, follow=follow))

    def _logs(
        self, deployment: Deployment, *, since: float | None, follow: bool
    ) -> Iterator[LogLine]:
        raise Unsupported(
            self._why("logs", f"{self.name} offers no server logs through its API"),
            provider=self.name,
        )

    def metrics(self, deployment: Deployment, *, since: float | None = None) -> Metrics | None:
        """Recent invocation counts and latency as the platform reports them (None: none)."""
        return None

    # -- scale -----------------------------------------------------------
    def scale(
        self,
        deployment: Deployment | str,
        replicas: int | None = None,
        *,
        min_replicas: int | None = None,
        max_replicas: int | None = None,
    ) -> Deployment:
        """Set a fixed replica count, or autoscaling bounds; 0 means scale to zero."""
        if isinstance(deployment, str):
            deployment = self.get(deployment)
        caps = self.capabilities_for(deployment)
        if not caps.dedicated:
            raise Unsupported(
                self._why(
                    "scale",
                    f"capacity on {self.name} is managed by the platform and scales by itself",
                ),
                provider=self.name,
            )
        for label, value in (
            ("replicas", replicas),
            ("min_replicas", min_replicas),
            ("max_replicas", max_replicas),
        ):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise ConfigError(f"scale: {label} must be a whole number >= 0, got {value!r}")
        if replicas is None and min_replicas is None and max_replicas is None:
            raise ConfigError("scale: give replicas=N, or min_replicas and/or max_replicas")
        if min_replicas is not None and max_replicas is not None and min_replicas > max_replicas:
            raise ConfigError(
                f"scale: min_replicas ({min_replicas}) exceeds max_replicas ({max_replicas})"
            )
        if 0 in (replicas, min_replicas) and not caps.scale_to_zero:
            raise Unsupported(
                self._why(
                    "scale_to_zero",
                    f"{self.name} cannot scale to zero; use teardown to stop paying",
                ),
                provider=self.name,
            )
        if (min_replicas is not None or max_replicas is not None) and not caps.autoscaling:
            raise Unsupported(
                self._why(
                    "autoscale",
                    f"{self.name} has no autoscaling; pass a fixed number: scale(dep, replicas=N)",
                ),
                provider=self.name,
            )
        if replicas is not None and not caps.manual_scaling:
            raise Unsupported(
                self._why(
                    "scale",
                    f"{self.name} sizes capacity by bounds; use min_replicas/max_replicas",
                ),
                provider=self.name,
            )
        with self.exclusive(deployment.name):
            current = self.resolve(deployment)
            scaled = self._scale(current, replicas, min_replicas, max_replicas)
            scaled._provider = self
            self.remember(scaled)
        return scaled

    def capabilities_for(self, deployment: Deployment) -> Capabilities:
        """What this deployment can do (adapters with serverless and dedicated parts override)."""
        return self.capabilities

    def capabilities_for_spec(self, spec: DeploymentSpec) -> Capabilities:
        """What deploying ``spec`` creates (adapters with two halves override)."""
        return self.capabilities

    def _scale(
        self,
        deployment: Deployment,
        replicas: int | None,
        min_replicas: int | None,
        max_replicas: int | None,
    ) -> Deployment:
        raise Unsupported(self._why("scale", f"{self.name} cannot scale"), provider=self.name)

    # -- teardown --------------------------------------------------------
    def teardown(self, deployment: Deployment | str) -> None:
        """Delete everything the deployment holds; something already gone is fine."""
        name = (
            check_name(deployment, argument="deployment")
            if isinstance(deployment, str)
            else deployment.name
        )
        with self.exclusive(name):
            if isinstance(deployment, str):
                found = self.find(check_name(deployment, argument="deployment"))
                if found is None:
                    self.records.delete(deployment)
                    _progress.report(f"{deployment}: nothing to delete on {self.name}")
                    return
                deployment = found
            else:
                deployment = self.resolve(deployment)
            # the record says a teardown is under way (status --watch shows "deleting")
            marked = {
                **deployment.to_dict(),
                "raw": {**deployment.raw, "deleting_since": time.time()},
            }
            self.records.save(deployment.name, marked)
            with contextlib.suppress(NotFound):
                self._teardown(deployment)
            self.records.delete(deployment.name)
            deployment.status = "deleted"
            _progress.report(f"{deployment.name}: deleted")

    def exclusive(self, name: str) -> contextlib.AbstractContextManager[None]:
        """Adapter hook: a lock held while deploy, scale or teardown changes ``name``, so two
        processes never change one deployment at once (default: none; ``local`` flocks)."""
        return contextlib.nullcontext()

    @abstractmethod
    def _teardown(self, deployment: Deployment) -> None:
        """Delete what the deployment holds; tolerate parts that are already gone."""

    # -- inventory (hostkit ls, teardown --all, providers --check) ----------
    def list_deployments(self, *, all_accounts: bool = False) -> list[Deployment]:
        """Every live deployment of this provider that hostkit knows of.

        Default: the saved records, each looked up again with ``find`` (one whose
        deployment is gone is left out). Adapters whose platform lists what hostkit
        created (by its tags or naming) override this, so deployments made from
        another machine show up too; ``all_accounts`` widens a listing the platform
        scopes (organisations, projects) where the adapter can. Put the creation time
        in ``raw["created_at"]`` (ISO 8601) where it is known.
        """
        found = []
        for name in self.records.names():
            deployment = self.find(name)
            if deployment is not None and deployment.status != "deleted":
                deployment._provider = self
                found.append(deployment)
        return found

    def credential_source(self) -> str | None:
        """Where this provider's credentials come from (never their value); None: none found.

        Default: the ``api_key`` setting, else the credential environment variable.
        Adapters on a cloud SDK's chain override it (e.g. "AWS profile dev").
        """
        if isinstance(self.settings.get("api_key"), Secret):
            return "setting api_key"
        variable = self.credential_variable()
        if variable and os.environ.get(variable):
            return f"environment variable {variable}"
        if variable is None:
            return f"{self.name}'s SDK credential chain (not inspected)"
        return None

    def check_access(self) -> None:
        """Adapter hook for ``hostkit providers --check``: one cheap authenticated read.

        Return when it succeeds; raise the hostkit error the platform's answer maps to.
        Default: Unsupported (no cheap read known for this platform).
        """
        raise Unsupported(
            f"{self.name} has no access check; deploy or invoke to test its credentials",
            provider=self.name,
        )

    # -- native batch jobs (hostkit.batch_jobs; docs/batch.md) -------------
    def _no_native_batch(self) -> Unsupported:
        return Unsupported(
            self._why(
                "native_batch",
                f"{self.name} has no batch-job API that hostkit drives; `hostkit batch` without"
                " --native works there (it sends the file through a deployment)",
            ),
            provider=self.name,
        )

    def submit_batch_job(self, spec: DeploymentSpec, job: Any) -> None:
        """Adapter hook: upload ``job``'s requests and start the platform's batch job.

        ``job`` is a :class:`hostkit.batch_jobs.BatchJob`; record every object or resource
        in it and call ``job.save()`` *before* creating it, then set ``job.job_id``. Called
        again on a job journalled as planned (a crash mid-submit): be idempotent.
        """
        raise self._no_native_batch()

    def batch_job_status(self, job: Any) -> Any:
        """Adapter hook: the job's :class:`hostkit.batch_jobs.JobStatus`."""
        raise self._no_native_batch()

    def fetch_batch_results(self, job: Any) -> Iterator[tuple[int, InvokeResult | HostkitError]]:
        """Adapter hook: (request index, result or error) of a finished job, any order."""
        raise self._no_native_batch()

    def cancel_batch_job(self, job: Any) -> None:
        """Adapter hook: stop the platform job (already finished or gone is fine)."""
        raise self._no_native_batch()

    def finish_batch_job(self, job: Any, *, keep_staging: bool = False) -> None:
        """Adapter hook: delete what the job created and, unless ``keep_staging``, its
        uploaded objects (default: nothing to delete)."""

    def batch_job_cost(
        self, spec: DeploymentSpec, job: Any, status: Any | None = None
    ) -> CostEstimate:
        """Adapter hook: the job's cost; with ``status`` None an estimate before it runs."""
        return self.unknown_cost(f"batch jobs of {self.name}", "no batch price is known")

    # -- money -----------------------------------------------------------
    @abstractmethod
    def cost(
        self,
        target: Deployment | DeploymentSpec,
        *,
        hours: float | None = None,
        requests: int | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
    ) -> CostEstimate:
        """What ``target`` costs for the given hours or usage (``usd=None`` if unknown)."""

    @abstractmethod
    def offerings(self, region: str | None = None) -> list[Offering]:
        """The instance types or models the platform sells, with prices where known."""

    def fetch_live_prices(self) -> list[PriceRow] | None:
        """Adapter hook: the platform's current list prices from its price API.

        Called only by ``hostkit.catalog.refresh`` (``hostkit catalog --refresh``), which
        caches the rows; each row has ``source`` = the API URL, ``as_of`` = today and
        ``region`` where the price is regional. None (the default): the platform publishes
        no price API. Raise a hostkit error when the API fails.
        """
        return None

    @property
    def prices(self) -> PriceTable:
        """The shipped price table, then cached live prices (see ``hostkit._live_prices``),
        then the config's ``[prices.<name>]`` overrides."""
        if self._prices is None:
            table = PriceTable(self.name)
            if self.price_file:
                module = sys.modules[type(self).__module__]
                folder = Path(module.__file__ or ".").parent
                table = PriceTable.load(folder / self.price_file, self.name)
            from hostkit._live_prices import overlay

            table = overlay(table, warn=True)  # cached live prices (never fetched here)
            where, as_of = self._price_overrides_source
            self._prices = table.with_overrides(
                self._price_overrides,
                where=where,
                as_of=as_of or _dt.date.today().isoformat(),
            )
        return self._prices

    def _price_hint(self, key: str, fields: str) -> str:
        return f'set it in hostkit.toml: [prices.{self.name}."{key}"] {fields}, source = "..."'

    def token_cost(
        self, model: str, input_tokens: int | None, output_tokens: int | None
    ) -> CostEstimate:
        """Cost of tokens on ``model`` from the price table (None plus a warning if unknown)."""
        row = self.prices.find(model)
        if row is None or not row.has_token_prices:
            return self.unknown_cost(
                f"model {model!r}",
                self._price_hint(model, "input_per_million = ..., output_per_million = ..."),
            )
        return PriceTable.token_estimate(row, input_tokens, output_tokens)

    def invoke_cost(self, model: str, usage: Usage) -> float | None:
        """``InvokeResult.cost_usd`` for token-priced models; warns once per unknown model."""
        row = self.prices.find(model)
        if row is None or not row.has_token_prices:
            if model not in self._warned_prices:
                self._warned_prices.add(model)
                hint = self._price_hint(model, "input_per_million = ..., output_per_million = ...")
                warnings.warn(
                    f"{self.name}: no known price for model {model!r}; cost_usd is None; {hint}",
                    PriceUnknown,
                    stacklevel=3,
                )
            return None
        if usage.input_tokens is None and usage.output_tokens is None:
            return None
        return PriceTable.token_estimate(row, usage.input_tokens, usage.output_tokens).usd

    def time_cost(
        self, key: str, *, hours: float, count: int = 1, region: str | None = None
    ) -> CostEstimate:
        """Cost of ``count`` instances of ``key`` for ``hours`` (None plus a warning if unknown).

        A ``[region.<region>]`` row wins over a region-less one.
        """
        row = self.prices.find_for_region(key, region)
        if row is None or (row.usd_per_hour is None and row.usd_per_second is None):
            where = f" in {region}" if region else ""
            return self.unknown_cost(
                f"{key!r}{where}", self._price_hint(key, "usd_per_hour = ... (or usd_per_second)")
            )
        return PriceTable.time_estimate(row, hours=hours, count=count)

    def unknown_cost(self, what: str, how_to_set: str) -> CostEstimate:
        """A CostEstimate of None plus one warning that says what is missing."""
        message = f"{self.name}: no known price for {what}; {how_to_set}"
        warnings.warn(message, PriceUnknown, stacklevel=3)
        return CostEstimate(usd=None, warnings=[message])

    # -- helpers ---------------------------------------------------------
    def _why(self, operation: str, default: str) -> str:
        return self.unsupported.get(operation, default)

    def close(self) -> None:
        """Release pooled connections."""


INSTRUMENTED = ("deploy", "scale", "teardown", "invoke", "ainvoke", "stream")
for _operation in INSTRUMENTED:
    setattr(Provider, _operation, instrument(_operation, getattr(Provider, _operation)))
