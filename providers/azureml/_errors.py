"""Azure errors (azure-core, azure-identity, azure-ai-ml) as hostkit errors.

Azure Resource Manager answers failures as ``{"error": {"code", "message", "details"}}``
with the ``x-ms-request-id`` header; azure-core raises them as ``HttpResponseError``
(``ClientAuthenticationError`` for 401, ``ResourceNotFoundError`` for 404,
``ResourceExistsError`` for 409) with ``.error.code`` / ``.error.message`` parsed. Failed
long-running operations report the same ``error`` object in their operation status. The
scoring endpoint is plain HTTP and goes through ``hostkit._http.error_from_response``.
"""

from __future__ import annotations

import re
from typing import Any

from hostkit.adapters import message_from_body, parse_retry_after
from hostkit.errors import (
    AuthenticationError,
    CapacityUnavailable,
    ConfigError,
    HostkitError,
    NotFound,
    ProviderError,
    QuotaExceeded,
    RateLimited,
    Timeout,
)

__all__ = ["classify", "explain", "translate"]

_ACTION = re.compile(r"perform action '([^']+)'")
_QUOTA = re.compile(r"quota|OutOfQuota|QuotaExceeded|exceeding quota", re.IGNORECASE)
_CAPACITY = re.compile(
    r"capacity|currently unavailable|high demand|SkuNotAvailable|AllocationFailed|"
    r"not available in (?:the )?region",
    re.IGNORECASE,
)
CREDENTIAL_HELP = (
    "sign in with `az login`, or set AZURE_CLIENT_ID, AZURE_TENANT_ID and"
    " AZURE_CLIENT_SECRET for a service principal, or run where a managed identity is"
    " available (azure-identity's DefaultAzureCredential tries each)"
)


def classify(code: str | None, message: str | None) -> str | None:
    """``"capacity"``, ``"quota"`` or None for an Azure error code and message."""
    text = f"{code or ''} {message or ''}"
    if _CAPACITY.search(text):
        return "capacity"
    if _QUOTA.search(text):
        return "quota"
    return None


def explain(code: str | None, message: str | None) -> str:
    """``Code: message`` as Azure tools show it."""
    message = (message or "").strip()
    return f"{code}: {message}" if code and not message.startswith(code) else message or code or ""


def _arm_error(error: Any) -> tuple[str | None, str]:
    parsed = getattr(error, "error", None)
    code = getattr(parsed, "code", None)
    message = getattr(parsed, "message", None)
    if not message:
        response = getattr(error, "response", None)
        body = ""
        if response is not None:
            try:
                body = response.text()
            except Exception:  # a streamed body that was not read
                body = ""
        message = message_from_body(body) if body else str(getattr(error, "message", error))
    return code, message


def _headers(error: Any) -> dict[str, str]:
    response = getattr(error, "response", None)
    if response is None:
        return {}
    return {str(k).lower(): str(v) for k, v in response.headers.items()}


def _where(instance: str | None, region: str | None) -> str:
    if instance and region:
        return f" ({instance} in {region})"
    if instance:
        return f" ({instance})"
    return ""


def translate(
    error: Exception,
    *,
    provider: str,
    instance: str | None = None,
    region: str | None = None,
) -> HostkitError | None:
    """The hostkit error for an Azure SDK exception (None: not an Azure exception)."""
    from azure.core import exceptions as az

    if isinstance(error, az.HttpResponseError) and getattr(error, "response", None) is None:
        # a credential failure (azure-identity raises ClientAuthenticationError without
        # a response) or an SDK-side error shaped like an HTTP one
        if isinstance(error, az.ClientAuthenticationError):
            return AuthenticationError(
                f"could not get an Azure access token: {error.message}; {CREDENTIAL_HELP}",
                provider=provider,
            )
        return ProviderError(f"{type(error).__name__}: {error.message}", provider=provider)
    if isinstance(error, az.HttpResponseError):
        return _from_response(error, provider=provider, instance=instance, region=region)
    if isinstance(error, az.ServiceRequestTimeoutError | az.ServiceResponseTimeoutError):
        timeout = Timeout(f"Azure did not answer in time: {error.message}", provider=provider)
        if isinstance(error, az.ServiceRequestTimeoutError):
            timeout.request_not_sent = True  # type: ignore[attr-defined]
        return timeout
    if isinstance(error, az.ServiceRequestError):
        failure = ProviderError(
            f"could not reach Azure: {error.message}", provider=provider, retryable=True
        )
        failure.request_not_sent = True  # type: ignore[attr-defined]
        return failure
    if isinstance(error, az.ServiceResponseError):
        return ProviderError(
            f"the connection to Azure broke: {error.message}", provider=provider, retryable=True
        )
    try:
        from azure.ai.ml.exceptions import MlException, ValidationException
    except ImportError:  # pragma: no cover - azure-ai-ml is installed with the extra
        MlException = ValidationException = ()  # type: ignore[assignment,misc]
    if isinstance(error, ValidationException):
        return ConfigError(f"Azure ML rejected the request: {error.message}", provider=provider)
    if isinstance(error, MlException):
        category = str(getattr(error, "error_category", ""))
        kind = ConfigError if "UserError" in category or "USER_ERROR" in category else ProviderError
        return kind(f"Azure ML: {error.message}", provider=provider)
    if isinstance(error, az.AzureError):
        return ProviderError(f"{type(error).__name__}: {error.message}", provider=provider)
    if isinstance(error, az.SerializationError | az.DeserializationError):
        return ProviderError(
            f"azure-ai-ml could not read or write an Azure ML object: {error}", provider=provider
        )
    return None


def _from_response(
    error: Any, *, provider: str, instance: str | None, region: str | None
) -> HostkitError:
    status = int(error.status_code or 0)
    headers = _headers(error)
    code, message = _arm_error(error)
    text = explain(code, message)
    common: dict[str, Any] = {
        "provider": provider,
        "status_code": status,
        "request_id": headers.get("x-ms-request-id") or headers.get("x-request-id"),
    }
    if status == 429:
        return RateLimited(text, retry_after=parse_retry_after(headers), **common)
    if status == 401:
        return AuthenticationError(
            f"Azure rejected the access token: {text}; {CREDENTIAL_HELP}", **common
        )
    if status == 403:
        action = _ACTION.search(message or "")
        missing = f"missing permission {action.group(1)}: " if action else ""
        return AuthenticationError(f"{missing}{text}", **common)
    if status == 404:
        return NotFound(text, **common)
    if status in (408, 504):
        return Timeout(text, **common)
    kind = classify(code, message)
    if kind == "capacity":
        return CapacityUnavailable(f"{text}{_where(instance, region)}", **common)
    if kind == "quota":
        return QuotaExceeded(f"{text}{_where(instance, region)}", **common)
    if status == 409:
        return ProviderError(f"{text} (another operation on it is still running)", **common)
    if status in (400, 422):
        return ConfigError(text, **common)
    return ProviderError(text, **common)
