"""botocore failures as hostkit errors: the one translation seam of the sagemaker adapter.

Three services answer here: the SageMaker control plane and Application Auto Scaling
(JSON 1.1: ``{"__type": "ValidationException", "message": ...}``, HTTP 400 for almost
everything, throttling included) and the SageMaker runtime (rest-json: the code in the
``x-amzn-ErrorType`` header, ``ModelError`` 424 when the container itself failed).
botocore turns all of them into ``ClientError`` (or a modelled subclass of it) with
``response["Error"]["Code"]``; this module decides by that code, then by the words
AWS uses, and keeps AWS's message and request id. Credential, region, parameter and
transport failures are ``BotoCoreError`` subclasses. botocore is imported only once an
error is being translated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from hostkit.adapters import parse_retry_after
from hostkit.errors import (
    AuthenticationError,
    ConfigError,
    HostkitError,
    ModelError,
    NotFound,
    ProviderError,
    QuotaExceeded,
    RateLimited,
    Timeout,
)

__all__ = ["CREDENTIAL_HINT", "already_exists", "error_code", "translate"]

#: what to set when the AWS credential chain finds nothing
CREDENTIAL_HINT = (
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary"
    " credentials), or AWS_PROFILE to a profile in ~/.aws/config (e.g. after `aws sso login`),"
    ' or profile = "..." under [providers.sagemaker] in hostkit.toml; on AWS compute the'
    " instance or task role is used"
)
THROTTLING = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestThrottledException",
        "RequestThrottled",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "ProvisionedThroughputExceededException",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
        # sagemaker-runtime, HTTP 429: a serverless variant or multi-model target is loading
        "ModelNotReadyException",
    }
)
AUTHENTICATION = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "InvalidClientTokenId",
        "MissingAuthenticationToken",
        "MissingAuthenticationTokenException",
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthFailure",
        "NotAuthorized",
        "OptInRequired",
        # application-autoscaling: it could not read the endpoint with the caller's rights
        "FailedResourceAccessException",
    }
)
NOT_FOUND = frozenset(
    {
        "ResourceNotFound",
        "ResourceNotFoundException",
        "ObjectNotFoundException",
        "NotFoundException",
    }
)
QUOTA = frozenset(
    {"ResourceLimitExceeded", "LimitExceededException", "ServiceQuotaExceededException"}
)
CONFLICT = frozenset({"ConflictException", "ResourceInUse", "ResourceAlreadyExists"})
#: transient by nature even though AWS answers 400
RETRYABLE_CONFLICT = frozenset({"ConcurrentUpdateException"})
VALIDATION = frozenset(
    {"ValidationException", "ValidationError", "InvalidParameterValue", "InvalidParameterException"}
)
_NOT_FOUND_WORDS = re.compile(r"could not find|not found|does not exist|no scalable target", re.I)
_ROLE_WORDS = re.compile(r"could not assume role|assume the role|not authorized to assume", re.I)
_DATA_ACCESS_WORDS = re.compile(r"could not access model data|access denied .*s3|s3 .*access", re.I)
_ALREADY_EXISTS = re.compile(r"already exist", re.I)
_PERMISSION = re.compile(r"not authorized to perform:?\s+([A-Za-z0-9-]+:[A-Za-z0-9*-]+)")
_QUOTA_NAME = re.compile(r"'((ml\.[a-z0-9]+\.[a-z0-9]+) for [a-z -]+)'")


def error_code(error: BaseException) -> str | None:
    """The AWS error code of a ``ClientError`` (``"ValidationException"``), else None."""
    response = getattr(error, "response", None)
    if isinstance(response, Mapping):
        code = (response.get("Error") or {}).get("Code")
        return str(code) if code else None
    return None


def already_exists(error: HostkitError) -> bool:
    """Whether a create call failed because a resource of that name exists."""
    return isinstance(error, ConfigError) and bool(_ALREADY_EXISTS.search(error.message))


def _client_error(error: Any, *, provider: str, region: str | None) -> HostkitError:
    response: Mapping[str, Any] = error.response or {}
    details: Mapping[str, Any] = response.get("Error") or {}
    meta: Mapping[str, Any] = response.get("ResponseMetadata") or {}
    code = str(details.get("Code") or type(error).__name__)
    message = str(details.get("Message") or details.get("message") or "").strip()
    status = meta.get("HTTPStatusCode")
    headers: Mapping[str, str] = meta.get("HTTPHeaders") or {}
    common: dict[str, Any] = {
        "provider": provider,
        "status_code": status if isinstance(status, int) else None,
        "request_id": meta.get("RequestId") or headers.get("x-amzn-requestid"),
    }
    text = f"{code}: {message}" if message else code
    where = f" in {region}" if region else ""

    if code in THROTTLING:
        return RateLimited(text, retry_after=parse_retry_after(headers), **common)
    if code == "ModelError":
        return _model_error(response, text, common)
    if code in ("ModelStreamError", "InternalStreamFailure"):
        detail = details.get("ErrorCode")
        suffix = f" ({detail})" if detail else ""
        return ProviderError(f"{text}{suffix}", retryable=False, **common)
    if code in AUTHENTICATION:
        permission = _PERMISSION.search(message)
        if permission:
            text += f" (missing IAM permission: {permission.group(1)})"
        elif code in ("UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken"):
            text += f"; check the AWS credentials: {CREDENTIAL_HINT}"
        return AuthenticationError(text, **common)
    if code in QUOTA:
        quota = _QUOTA_NAME.search(message)
        if quota:
            text += (
                f" (instance type {quota.group(2)}{where}: request a higher '{quota.group(1)}'"
                " quota in the Service Quotas console, or choose another instance type or region)"
            )
        return QuotaExceeded(text, **common)
    if code in NOT_FOUND:
        return NotFound(text, **common)
    if code in RETRYABLE_CONFLICT:
        return ProviderError(text, retryable=True, **common)
    if code in CONFLICT:
        return ProviderError(text, retryable=False, **common)
    if code in VALIDATION:
        if _ROLE_WORDS.search(message):
            return AuthenticationError(
                f"{text} (the execution role, setting role_arn, must exist and trust"
                " sagemaker.amazonaws.com, and the caller needs iam:PassRole on it)",
                **common,
            )
        if _DATA_ACCESS_WORDS.search(message):
            return AuthenticationError(
                f"{text} (the execution role, setting role_arn, needs s3:GetObject on the"
                " model artifact)",
                **common,
            )
        if _NOT_FOUND_WORDS.search(message):
            return NotFound(text, **common)
        if "service limit" in message.lower():
            return QuotaExceeded(text, **common)
        return ConfigError(text, **common)
    if isinstance(common["status_code"], int) and common["status_code"] >= 500:
        return ProviderError(text, **common)
    return ProviderError(text, **common)


def _model_error(response: Mapping[str, Any], text: str, common: dict[str, Any]) -> HostkitError:
    """The container answered with an error (runtime ``ModelError``, HTTP 424)."""
    original = response.get("OriginalStatusCode")
    original_message = response.get("OriginalMessage")
    log_stream = response.get("LogStreamArn")
    parts = [text]
    if original_message and str(original_message) not in text:
        parts.append(f"container said: {original_message}")
    if log_stream:
        parts.append(f"container logs: {log_stream}")
    message = "; ".join(parts)
    if original == 429:
        return RateLimited(message, **common)
    return ModelError(message, **common)


def translate(error: BaseException, *, provider: str, region: str | None) -> HostkitError | None:
    """The hostkit error for a botocore exception, or None for anything else."""
    try:
        from botocore import exceptions as boto  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - only called after botocore raised
        return None
    if isinstance(error, boto.ClientError):
        return _client_error(error, provider=provider, region=region)
    if not isinstance(error, boto.BotoCoreError):
        return None
    text = f"{type(error).__name__}: {error}"
    credential_errors = (
        boto.NoCredentialsError,
        boto.PartialCredentialsError,
        boto.CredentialRetrievalError,
        boto.NoAuthTokenError,
        boto.TokenRetrievalError,
        boto.SSOError,
        boto.ProfileNotFound,
        boto.RefreshWithMFAUnsupportedError,
        boto.MetadataRetrievalError,
        boto.UnknownCredentialError,
        boto.LoginError,
    )
    if isinstance(error, credential_errors):
        return AuthenticationError(f"{text}; {CREDENTIAL_HINT}", provider=provider)
    if isinstance(error, boto.NoRegionError):
        return ConfigError(
            f"{text}; set region under [providers.sagemaker] in hostkit.toml, or AWS_REGION",
            provider=provider,
        )
    if isinstance(error, boto.ParamValidationError | boto.ValidationError):
        return ConfigError(text, provider=provider)
    if isinstance(error, boto.ConnectTimeoutError):
        failure: HostkitError = Timeout(f"could not connect in time: {text}", provider=provider)
        failure.request_not_sent = True  # type: ignore[attr-defined]
        return failure
    if isinstance(error, boto.ReadTimeoutError):
        return Timeout(f"request timed out: {text}", provider=provider)
    if isinstance(error, boto.EndpointConnectionError | boto.ProxyConnectionError):
        failure = ProviderError(f"could not connect: {text}", provider=provider, retryable=True)
        failure.request_not_sent = True  # type: ignore[attr-defined]
        return failure
    if isinstance(
        error,
        boto.ConnectionError
        | boto.HTTPClientError
        | boto.IncompleteReadError
        | boto.CapacityNotAvailableError,
    ):
        return ProviderError(f"connection failed: {text}", provider=provider, retryable=True)
    if isinstance(error, boto.InvalidConfigError | boto.ConfigNotFound | boto.ConfigParseError):
        return ConfigError(f"{text} (AWS config files)", provider=provider)
    return ProviderError(text, provider=provider, retryable=False)
