"""The one error tree of hostkit.

Every adapter translates its SDK's and HTTP's failures into these classes, so a
caller catches ``hostkit.errors.HostkitError`` (or a subclass) and never a raw
SDK exception::

    HostkitError
    ├── ConfigError                 bad config file, setting, spec field or argument
    │   └── DependencyMissing       a provider's SDK is not installed (names the pip command)
    ├── AuthenticationError         missing or rejected credentials (401/403)
    ├── NotFound                    unknown model, deployment or resource (404)
    ├── RateLimited                 429; ``retry_after`` in seconds when the platform says
    ├── QuotaExceeded               a hard quota (daily tokens, GPU quota) is used up
    ├── CapacityUnavailable         the platform has no capacity for the requested hardware
    ├── Unsupported                 the platform lacks the operation; the message says what to do
    ├── DeploymentFailed            the platform reported failure while deploying
    ├── Timeout                     a request or a wait took too long
    └── ProviderError               any other platform failure (HTTP status, message, request id)
        └── ModelError              the model itself failed (it raised, or its container
                                    answered an error: HTTP 424); never retried

A registered secret is masked in an error's message and in the exceptions chained to
it (``__cause__``/``__context__``), so a formatted traceback never shows it.

Errors carry ``provider``, ``status_code``, ``request_id`` and ``retryable`` so that
the one retry policy in ``hostkit._retry`` can decide without knowing any SDK.
"""

from __future__ import annotations

import sys

from hostkit._redact import scrub, scrub_exception

__all__ = [
    "AuthenticationError",
    "CapacityUnavailable",
    "ConfigError",
    "DependencyMissing",
    "DeploymentFailed",
    "HostkitError",
    "ModelError",
    "NotFound",
    "PriceUnknown",
    "ProviderError",
    "QuotaExceeded",
    "RateLimited",
    "StalePrices",
    "Timeout",
    "Unsupported",
]


class HostkitError(Exception):
    """Base class of every error hostkit raises."""

    #: whether the retry policy may try the same call again
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        message = scrub(message)
        super().__init__(message)
        # the exception being handled becomes this one's __cause__/__context__: an SDK's
        # or httpx's message may echo a key the server sent back, so mask it there too
        scrub_exception(sys.exc_info()[1])
        self.message = message
        self.provider = provider
        self.status_code = status_code
        self.request_id = request_id
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        parts = []
        if self.provider:
            parts.append(f"[{self.provider}]")
        parts.append(self.message)
        extra = []
        if self.status_code is not None:
            extra.append(f"HTTP {self.status_code}")
        if self.request_id:
            extra.append(f"request id {self.request_id}")
        if extra:
            parts.append(f"({', '.join(extra)})")
        return " ".join(parts)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))


def _rebuild(cls: type[HostkitError], message: str, state: dict[str, object]) -> HostkitError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class ConfigError(HostkitError):
    """Invalid configuration, setting, spec field or argument."""


class DependencyMissing(ConfigError):
    """A provider is registered but the SDK it needs is not installed."""


class AuthenticationError(HostkitError):
    """Credentials are missing, malformed or rejected by the platform."""


class NotFound(HostkitError):
    """The model, deployment or resource does not exist on the platform."""


class RateLimited(HostkitError):
    """The platform asked us to slow down (HTTP 429)."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class QuotaExceeded(HostkitError):
    """A hard quota is used up; waiting a few seconds will not help."""


class CapacityUnavailable(HostkitError):
    """The platform has no capacity for the requested hardware right now."""


class Unsupported(HostkitError):
    """The platform does not offer this operation; the message says what to do instead."""


class DeploymentFailed(HostkitError):
    """The platform reported that the deployment failed; ``reason`` is its own words."""

    def __init__(self, message: str, *, reason: str | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.reason = reason


class Timeout(HostkitError):
    """A request or a wait took longer than allowed."""

    retryable = True


class ProviderError(HostkitError):
    """Any other failure reported by the platform or its transport."""

    def __init__(self, message: str, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        if "retryable" not in kwargs or kwargs["retryable"] is None:
            code = self.status_code
            self.retryable = code is not None and (code >= 500 or code == 408)


class ModelError(ProviderError):
    """The model itself failed: the user's code raised, or the container answered an error.

    Not transient, so never retried: trying again would run the failing model again.
    A subclass of :class:`ProviderError`, so ``except ProviderError`` still catches it.
    """

    retryable = False

    def __init__(self, message: str, **kwargs: object) -> None:
        kwargs["retryable"] = False
        super().__init__(message, **kwargs)


class PriceUnknown(UserWarning):
    """Warning: a cost could not be computed because a price is unknown (cost is None)."""


class StalePrices(UserWarning):
    """Warning: cached live prices older than their TTL are in use; run ``catalog --refresh``."""
