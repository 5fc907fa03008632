"""What is running, what it costs, and whose credentials: ``hostkit ls``, ``teardown --all``
and ``hostkit providers`` (credential sources and ``--check``).

* :func:`list_deployments` asks every provider hostkit knows of here (those with saved
  records, those named in the config's ``[providers]`` or ``[deployments]``, and
  ``local``) for its live deployments (``Provider.list_deployments``: the records, or the
  platform's own listing by hostkit's tags), and prices each one: the hourly rate now
  (``Provider.cost(dep, hours=1)``, with its source and date) and the spend since it was
  created (age x that rate). A provider that cannot list (no credentials, SDK missing,
  platform down) is reported in ``Inventory.skipped`` and never stops the others.
* :func:`teardown_all` deletes what :func:`list_deployments` found and says, for each,
  whether it was deleted, already gone, or failed and why.
* :func:`credentials` and :func:`check_access` tell where each provider's credentials
  come from (never their values) and whether one cheap authenticated read succeeds.

Imported on first use (not by ``import hostkit``).
"""

from __future__ import annotations

import datetime as _dt
import time
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from hostkit._api import ConfigArg, _config, provider_for
from hostkit._config import Config
from hostkit._models import Deployment
from hostkit._provider import Provider
from hostkit._redact import scrub
from hostkit._state import StateStore, default_state_dir
from hostkit.errors import (
    AuthenticationError,
    ConfigError,
    DependencyMissing,
    HostkitError,
    NotFound,
    PriceUnknown,
    ProviderError,
    Timeout,
    Unsupported,
)

__all__ = [
    "AccessCheck",
    "CredentialInfo",
    "Inventory",
    "Listing",
    "TeardownResult",
    "check_access",
    "credentials",
    "list_deployments",
    "providers_to_ask",
    "teardown_all",
]

#: seconds ``check_access`` gives each provider's one read (no retries)
CHECK_TIMEOUT = 5.0


# -- ls -----------------------------------------------------------------------------
@dataclass
class Listing:
    """One live deployment with its rate now and its spend so far."""

    deployment: Deployment
    #: when it was created (ISO 8601, UTC), and where that time comes from:
    #: "provider" (the platform's creation time, or local's run dir) or "record"
    #: (hostkit's last save of its record: the real age and spend are at least that)
    created_at: str | None = None
    created_from: Literal["provider", "record"] | None = None
    age_s: float | None = None
    #: USD per hour now (all replicas); None: unknown, ``price_note`` says why
    usd_per_hour: float | None = None
    price_source: str | None = None
    price_as_of: str | None = None
    price_note: str | None = None
    #: age x rate; None: unknown, ``spend_note`` says why
    spend_usd: float | None = None
    spend_note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = self.deployment
        return {
            "name": d.name,
            "provider": d.provider,
            "status": d.status,
            "model": d.model,
            "replicas": d.replicas,
            "instance": d.instance,
            "region": d.region,
            "endpoint": d.endpoint,
            **{f.name: getattr(self, f.name) for f in fields(self) if f.name != "deployment"},
        }


@dataclass
class Inventory:
    """Every deployment found, plus the providers that could not be asked and why."""

    listings: list[Listing] = field(default_factory=list)
    #: provider name -> why it was skipped (no credentials, SDK missing, ...)
    skipped: dict[str, str] = field(default_factory=dict)
    #: the providers that were asked (in order)
    asked: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[Listing]:
        return iter(self.listings)

    def __len__(self) -> int:
        return len(self.listings)

    @property
    def deployments(self) -> list[Deployment]:
        return [listing.deployment for listing in self.listings]

    @property
    def usd_per_hour(self) -> float | None:
        """The total burn rate now, or None when one rate is unknown."""
        rates = [listing.usd_per_hour for listing in self.listings]
        return None if any(r is None for r in rates) else sum(r for r in rates if r is not None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployments": [listing.to_dict() for listing in self.listings],
            "skipped": [{"provider": p, "reason": r} for p, r in self.skipped.items()],
            "providers": list(self.asked),
            "usd_per_hour": self.usd_per_hour,
        }


def providers_to_ask(config: Config, provider: str | None = None) -> list[str]:
    """``provider`` alone, else: local, every provider with saved records, and every
    provider the config names (``[providers.X]`` or a deployment's ``provider``)."""
    if provider is not None:
        return [provider]
    names = {"local", *config.providers, *(spec.provider for spec in config.deployments.values())}
    root = default_state_dir()
    if root.is_dir():
        names.update(p.name for p in root.iterdir() if p.is_dir() and any(p.glob("*.json")))
    return sorted(names)


def _why(error: BaseException) -> str:
    if isinstance(error, HostkitError):
        kind = {
            AuthenticationError: "no usable credentials",
            DependencyMissing: "not installed",
        }.get(type(error))
        text = error.message
        return f"{kind}: {text}" if kind else text
    return scrub(f"{type(error).__name__}: {error}")


def _recorded(provider: str) -> str:
    """A note naming the deployments this machine recorded for a provider it cannot ask."""
    try:
        names = StateStore(provider).names()
    except Exception:  # a note only: never hide the reason it comes with
        return ""
    if not names:
        return ""
    shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    return f" ({len(names)} deployment(s) recorded on this machine, not shown: {shown})"


def _ask(name: str, config: Config, all_accounts: bool) -> list[Deployment] | str:
    """The provider's live deployments, or why it could not list them."""
    try:
        provider = provider_for(name, config)
        found = provider.list_deployments(all_accounts=all_accounts)
    except Exception as error:  # one provider never breaks the listing of the others
        return _why(error) + _recorded(name)
    for deployment in found:
        deployment._provider = provider
    return [d for d in found if d.status != "deleted"]


def _created(provider: Provider, deployment: Deployment) -> tuple[float | None, str | None]:
    """(epoch seconds, "provider" | "record") of the deployment's creation, if known."""
    value = deployment.raw.get("created_at")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value), "provider"
    if isinstance(value, str):
        try:
            parsed = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=_dt.UTC)
            return parsed.timestamp(), "provider"
    try:
        return provider.records.path(deployment.name).stat().st_mtime, "record"
    except (OSError, HostkitError):
        return None, None


def _price(listing: Listing, provider: Provider) -> None:
    """Fill the rate now and the spend so far."""
    deployment = listing.deployment
    if not provider.capabilities_for(deployment).dedicated:
        listing.usd_per_hour = 0.0
        listing.price_note = f"serverless: {provider.name} bills per use; idle time is free"
        listing.spend_note = "billed per token or request; hostkit does not meter past usage"
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PriceUnknown)
            estimate = provider.cost(deployment, hours=1)
    except HostkitError as error:
        estimate = None
        listing.price_note = error.message
    if estimate is not None:
        listing.usd_per_hour = estimate.usd
        listing.price_source, listing.price_as_of = estimate.source, estimate.as_of
        if estimate.usd is None:
            listing.price_note = "; ".join(estimate.warnings) or "no known price"
    if listing.usd_per_hour is None:
        listing.spend_note = "the hourly rate is unknown"
    elif listing.age_s is None:
        listing.spend_note = "the creation time is unknown"
    else:
        listing.spend_usd = listing.usd_per_hour * listing.age_s / 3600
        if listing.created_from == "record":
            listing.spend_note = "at least: counted from hostkit's last save of its record"


def _listing(provider: Provider, deployment: Deployment, now: float) -> Listing:
    created, source = _created(provider, deployment)
    listing = Listing(deployment=deployment, created_from=source)  # type: ignore[arg-type]
    if created is not None:
        listing.created_at = _dt.datetime.fromtimestamp(created, _dt.UTC).isoformat(
            timespec="seconds"
        )
        listing.age_s = max(0.0, now - created)
    _price(listing, provider)
    return listing


def list_deployments(
    provider: str | None = None, *, all_accounts: bool = False, config: ConfigArg = None
) -> Inventory:
    """Every live deployment hostkit knows of, across providers, with its burn rate.

    ``provider`` limits the listing to one provider. ``all_accounts`` widens listings a
    platform scopes (organisations, projects) where its adapter can. Providers that
    cannot be asked are in ``Inventory.skipped`` with the reason; they never raise.
    """
    resolved = _config(config)
    names = providers_to_ask(resolved, provider)
    if provider is not None:
        from hostkit._registry import provider_class

        provider_class(provider)  # an unknown name is a usage error, not a skipped provider
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(names)))) as pool:
        answers = list(pool.map(lambda n: _ask(n, resolved, all_accounts), names))
    inventory = Inventory(asked=names)
    now = time.time()
    for name, answer in zip(names, answers, strict=True):
        if isinstance(answer, str):
            inventory.skipped[name] = answer
            continue
        owner = provider_for(name, resolved)
        for deployment in sorted(answer, key=lambda d: d.name):
            inventory.listings.append(_listing(owner, deployment, now))
    return inventory


# -- teardown --all -----------------------------------------------------------------
@dataclass
class TeardownResult:
    """What deleting one deployment did."""

    name: str
    provider: str
    outcome: Literal["deleted", "already gone", "failed"]
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _teardown_one(deployment: Deployment) -> TeardownResult:
    provider = deployment._provider
    assert provider is not None
    name, owner = deployment.name, deployment.provider
    gone = False
    try:
        gone = provider.status(deployment).status == "deleted"
    except NotFound:
        gone = True
    except Exception:  # the teardown itself says what is wrong, if anything is
        pass
    try:
        provider.teardown(deployment)
    except Exception as error:  # report it and go on with the next one
        return TeardownResult(name, owner, "failed", _why(error))
    if gone:
        return TeardownResult(name, owner, "already gone")
    if not provider.capabilities_for(deployment).dedicated:
        note = f"only hostkit's record: nothing billable runs on {owner}"
        return TeardownResult(name, owner, "deleted", note)
    return TeardownResult(name, owner, "deleted")


def teardown_all(deployments: Sequence[Deployment] | Inventory) -> list[TeardownResult]:
    """Tear down each deployment (from :func:`list_deployments`) and say what happened.

    One failure does not stop the others; each result is "deleted", "already gone"
    or "failed" with the reason.
    """
    targets = deployments.deployments if isinstance(deployments, Inventory) else deployments
    for deployment in targets:
        if deployment._provider is None:
            deployment._provider = provider_for(deployment.provider)
    return [_teardown_one(deployment) for deployment in targets]


# -- providers: credentials and --check ----------------------------------------------
@dataclass
class CredentialInfo:
    """Where one provider's credentials come from (never their values)."""

    provider: str
    found: bool | None
    #: e.g. "environment variable GROQ_API_KEY", "hostkit.toml [providers.groq] api_key",
    #: "AWS shared credentials file (profile default)"; or why none was found
    source: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _credential_info(name: str, config: Config) -> CredentialInfo:
    try:
        provider = provider_for(name, config)
    except DependencyMissing:
        return CredentialInfo(name, None, "not checked: the provider is not installed")
    except HostkitError as error:
        return CredentialInfo(name, None, f"not checked: {error.message}")
    try:
        source = provider.credential_source()
    except Exception as error:  # a credential chain that fails to load says why
        return CredentialInfo(name, False, f"none usable: {_why(error)}")
    if source is None:
        variable = provider.credential_variable()
        hint = f"set {variable}; " if variable else ""
        return CredentialInfo(name, False, f"none found ({hint}see docs/providers/{name}.md)")
    settings = config.providers.get(name, {})
    if source == "setting api_key" and "api_key" in settings:
        source = f"{config.where} [providers.{name}] api_key"
    elif source.startswith("environment variable") and "api_key_env" in settings:
        source += f" (named by api_key_env in {config.where})"
    known = not source.startswith("none needed") and "(not inspected)" not in source
    return CredentialInfo(name, True if known else None, source)


def credentials(names: Sequence[str], config: ConfigArg = None) -> list[CredentialInfo]:
    """Where each provider's credentials come from; nothing is sent anywhere."""
    resolved = _config(config)
    return [_credential_info(name, resolved) for name in names]


@dataclass
class AccessCheck:
    """The answer of one cheap authenticated read."""

    provider: str
    result: Literal["ok", "denied", "no credentials", "unreachable", "not checked", "error"]
    detail: str = ""
    seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _unreachable(error: HostkitError) -> bool:
    if isinstance(error, Timeout) or getattr(error, "request_not_sent", False):
        return True
    return isinstance(error, ProviderError) and error.status_code is None and error.retryable


def _classify(name: str, error: Exception, has_credentials: bool) -> AccessCheck:
    detail = _why(error) if not isinstance(error, HostkitError) else error.message
    if isinstance(error, AuthenticationError):
        return AccessCheck(name, "denied" if has_credentials else "no credentials", detail)
    if isinstance(error, Unsupported | DependencyMissing):
        return AccessCheck(name, "not checked", detail)
    if isinstance(error, HostkitError) and _unreachable(error):
        return AccessCheck(name, "unreachable", detail)
    return AccessCheck(name, "error", detail)


def _check_one(name: str, config: Config, timeout: float) -> AccessCheck:
    from hostkit._registry import get_provider

    started = time.monotonic()
    provider: Provider | None = None
    try:
        provider = get_provider(name, config=config, timeout=timeout, max_retries=0)
        has_credentials = provider.credential_source() is not None
        if not has_credentials:  # nothing to authenticate with: send nothing
            raise AuthenticationError(
                _credential_info(name, config).source.replace("none found", "no credentials"),
                provider=name,
            )
        provider.check_access()
    except Exception as error:
        found = provider is not None and _safe_source(provider) is not None
        check = _classify(name, error, found)
    else:
        check = AccessCheck(name, "ok", "" if has_credentials else "no credentials found")
    finally:
        if provider is not None:
            provider.close()
    check.seconds = round(time.monotonic() - started, 3)
    return check


def _safe_source(provider: Provider) -> str | None:
    try:
        return provider.credential_source()
    except Exception:
        return None


def check_access(
    names: Sequence[str], config: ConfigArg = None, *, timeout: float = CHECK_TIMEOUT
) -> list[AccessCheck]:
    """One cheap authenticated read per provider (in parallel, ``timeout`` each, no retry).

    Each answer is ok, denied (the platform's words, naming the missing permission
    where it does), no credentials, unreachable, not checked (no SDK, or no cheap read
    known) or error.
    """
    if timeout <= 0:
        raise ConfigError(f"timeout: must be a positive number of seconds, got {timeout}")
    resolved = _config(config)
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(names)))) as pool:
        return list(pool.map(lambda n: _check_one(n, resolved, timeout), names))


def state_dir() -> Path:
    """The folder the records live in (shown by ``hostkit ls`` when nothing is found)."""
    return default_state_dir()
