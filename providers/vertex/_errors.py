"""Google API failures as hostkit errors: the one translation seam of the vertex adapter.

Every failure reaches hostkit in one of three shapes, and all three end in
:func:`google_error`:

* an HTTP error from the REST transport: the ``google.api_core.exceptions`` class the
  status picks (``BadRequest`` for every 400, whatever the error's status word), with the
  ``requests`` response attached; its JSON body is Google's error envelope
  ``{"error": {"code", "message", "status", "details": [...]}}``;
* an HTTP error on a prediction call hostkit posts itself (same envelope, or the serving
  container's own body);
* a long-running operation that finished with ``error``: a ``google.rpc.Status`` with a
  gRPC code number, a message and details.

The status word and the details decide the class: ``RESOURCE_EXHAUSTED`` is a rate limit
(``RateLimited``) when Google says ``RATE_LIMIT_EXCEEDED`` or names a per-minute limit, and
a hard quota (``QuotaExceeded``) otherwise; capacity words ("resources are insufficient",
"stockout") give ``CapacityUnavailable``; ``PERMISSION_DENIED`` names the IAM permission
Google names. Quota and capacity messages say which machine type and region were asked for.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hostkit._http import message_from_body, parse_go_duration, parse_retry_after, request_id_from
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

__all__ = [
    "GRPC_CODES",
    "GoogleStatus",
    "Where",
    "classify",
    "describe_failure",
    "google_error",
    "status_from_body",
    "status_from_rpc",
]

#: gRPC status codes (google.rpc.Code) -> (status word, HTTP status)
GRPC_CODES: Mapping[int, tuple[str, int]] = {
    0: ("OK", 200),
    1: ("CANCELLED", 499),
    2: ("UNKNOWN", 500),
    3: ("INVALID_ARGUMENT", 400),
    4: ("DEADLINE_EXCEEDED", 504),
    5: ("NOT_FOUND", 404),
    6: ("ALREADY_EXISTS", 409),
    7: ("PERMISSION_DENIED", 403),
    8: ("RESOURCE_EXHAUSTED", 429),
    9: ("FAILED_PRECONDITION", 400),
    10: ("ABORTED", 409),
    11: ("OUT_OF_RANGE", 400),
    12: ("UNIMPLEMENTED", 501),
    13: ("INTERNAL", 500),
    14: ("UNAVAILABLE", 503),
    15: ("DATA_LOSS", 500),
    16: ("UNAUTHENTICATED", 401),
}
_HTTP_STATUS_WORDS: Mapping[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_CAPACITY = re.compile(
    r"resources are insufficient|not have enough resources|stockout|resource pool exhausted"
    r"|ZONE_RESOURCE_POOL_EXHAUSTED|no (?:available )?capacity|out of capacity"
    r"|currently unavailable in (?:the )?(?:zone|region)",
    re.IGNORECASE,
)
_RATE = re.compile(
    r"per minute|per second|per-minute|PerMinute|PerSecond|rate limit|too many requests",
    re.IGNORECASE,
)
_QUOTA = re.compile(r"quota", re.IGNORECASE)
_PERMISSION = re.compile(
    r"Permission '([^']+)' denied|[Pp]ermissions? '?([a-z]+\.[a-zA-Z]+\.[a-zA-Z.]+)'?"
)
#: the predefined role that grants a permission, by its service prefix
_ROLE_FOR = {"monitoring": "roles/monitoring.viewer", "logging": "roles/logging.viewer"}
_RATE_REASONS = frozenset({"RATE_LIMIT_EXCEEDED", "RATE_LIMIT_EXCEEDED_PER_MINUTE"})
_DISABLED_REASONS = frozenset({"SERVICE_DISABLED", "BILLING_DISABLED", "API_DISABLED"})


@dataclass(frozen=True)
class Where:
    """What was being asked for when the failure came (named in quota/capacity messages)."""

    provider: str
    instance: str | None = None
    accelerator: str | None = None
    region: str | None = None

    def hardware(self) -> str:
        parts = [self.instance or "the requested machine type"]
        if self.accelerator:
            parts.append(f"with {self.accelerator}")
        return " ".join(parts)


@dataclass(frozen=True)
class GoogleStatus:
    """One Google error, whichever way it arrived."""

    http_status: int
    status: str
    message: str
    details: Sequence[Mapping[str, Any]] = ()
    headers: Mapping[str, str] | None = None

    def error_info(self) -> Mapping[str, Any]:
        for detail in self.details:
            if str(detail.get("@type", "")).endswith("google.rpc.ErrorInfo"):
                return detail
        return {}

    def detail(self, kind: str) -> Mapping[str, Any]:
        for detail in self.details:
            if str(detail.get("@type", "")).endswith(kind):
                return detail
        return {}

    @property
    def reason(self) -> str:
        return str(self.error_info().get("reason") or "")

    def retry_after(self) -> float | None:
        if self.headers and (seconds := parse_retry_after(self.headers)) is not None:
            return seconds
        delay = self.detail("google.rpc.RetryInfo").get("retryDelay")
        if isinstance(delay, str):
            return parse_go_duration(delay)
        return None

    def request_id(self) -> str | None:
        found = request_id_from(self.headers) if self.headers else None
        return found or self.detail("google.rpc.RequestInfo").get("requestId") or None


def _details(value: Any) -> list[Mapping[str, Any]]:
    if isinstance(value, list | tuple):
        return [d for d in value if isinstance(d, Mapping)]
    return []


def status_from_body(
    http_status: int, body: bytes | str, headers: Mapping[str, str] | None = None
) -> GoogleStatus:
    """A GoogleStatus from an HTTP error response (Google's envelope, or any other body)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    error = payload.get("error") if isinstance(payload, Mapping) else None
    if isinstance(payload, list):  # some front ends wrap the envelope in a list
        first = next((p for p in payload if isinstance(p, Mapping)), {})
        error = first.get("error")
    if isinstance(error, Mapping):
        word = str(error.get("status") or _HTTP_STATUS_WORDS.get(http_status, "UNKNOWN"))
        message = str(error.get("message") or "").strip() or message_from_body(text)
        return GoogleStatus(http_status, word, message, _details(error.get("details")), headers)
    return GoogleStatus(
        http_status,
        _HTTP_STATUS_WORDS.get(http_status, "UNKNOWN"),
        message_from_body(text),
        (),
        headers,
    )


def status_from_rpc(
    code: int, message: str, details: Sequence[Mapping[str, Any]] = ()
) -> GoogleStatus:
    """A GoogleStatus from a ``google.rpc.Status`` (a failed long-running operation)."""
    word, http_status = GRPC_CODES.get(code, ("UNKNOWN", 500))
    return GoogleStatus(http_status, word, message.strip() or word, list(details))


def classify(status: GoogleStatus) -> str:
    """``capacity``, ``quota``, ``rate``, ``auth``, ``permission``, ``disabled``, ``not_found``,
    ``invalid``, ``precondition``, ``timeout``, ``conflict``, ``server`` or ``other``."""
    text = status.message
    reason = status.reason
    if _CAPACITY.search(text) or reason in ("ZONE_RESOURCE_POOL_EXHAUSTED", "STOCKOUT"):
        return "capacity"
    if reason in _DISABLED_REASONS:
        return "disabled"
    if status.status == "RESOURCE_EXHAUSTED" or status.http_status == 429:
        metadata = status.error_info().get("metadata") or {}
        limit = str(metadata.get("quota_limit", "")) if isinstance(metadata, Mapping) else ""
        if reason in _RATE_REASONS or _RATE.search(text) or _RATE.search(limit):
            return "rate"
        if _QUOTA.search(text) or status.detail("google.rpc.QuotaFailure"):
            return "quota"  # a named quota (GPUs per region ...): waiting will not help
        return "rate"  # "Resource exhausted. Please try again later."
    if _QUOTA.search(text) and status.status in ("FAILED_PRECONDITION", "INVALID_ARGUMENT"):
        return "quota"
    words = {
        "UNAUTHENTICATED": "auth",
        "PERMISSION_DENIED": "permission",
        "NOT_FOUND": "not_found",
        "INVALID_ARGUMENT": "invalid",
        "OUT_OF_RANGE": "invalid",
        "FAILED_PRECONDITION": "precondition",
        "DEADLINE_EXCEEDED": "timeout",
        "ALREADY_EXISTS": "conflict",
        "ABORTED": "conflict",
    }
    if status.status in words:
        return words[status.status]
    by_http = {401: "auth", 403: "permission", 404: "not_found", 408: "timeout", 504: "timeout"}
    if status.http_status in by_http:
        return by_http[status.http_status]
    if status.http_status >= 500:
        return "server"
    return "other"


def _permission(status: GoogleStatus) -> str | None:
    metadata = status.error_info().get("metadata")
    if isinstance(metadata, Mapping) and metadata.get("permission"):
        return str(metadata["permission"])
    match = _PERMISSION.search(status.message)
    if match:
        return match.group(1) or match.group(2)
    return None


def google_error(status: GoogleStatus, where: Where) -> HostkitError:
    """The hostkit error for one Google failure, with Google's own words kept."""
    kind = classify(status)
    message = status.message
    common: dict[str, Any] = {
        "provider": where.provider,
        "status_code": status.http_status,
        "request_id": status.request_id(),
    }
    region = where.region or "this region"
    if kind == "capacity":
        return CapacityUnavailable(
            f"Vertex AI has no capacity for {where.hardware()} in {region} right now; try"
            f" another region or machine type, or later: {message}",
            **common,
        )
    if kind == "quota":
        return QuotaExceeded(
            f"a Vertex AI quota is used up for {where.hardware()} in {region}; request more"
            f" at https://console.cloud.google.com/iam-admin/quotas (Vertex AI API, custom"
            f" model serving): {message}",
            **common,
        )
    if kind == "rate":
        return RateLimited(message, retry_after=status.retry_after(), **common)
    if kind == "auth":
        return AuthenticationError(
            f"{message} (renew Application Default Credentials: gcloud auth"
            " application-default login, or check GOOGLE_APPLICATION_CREDENTIALS)",
            **common,
        )
    if kind == "permission":
        permission = _permission(status)
        prefix = f"missing IAM permission {permission}: " if permission else ""
        service = (permission or "").split(".", 1)[0]
        role = _ROLE_FOR.get(service, "roles/aiplatform.user")
        return AuthenticationError(
            f"{prefix}{message} (grant {role} to the credentials' principal)", **common
        )
    if kind == "disabled":
        return ConfigError(message, **common)
    if kind == "not_found":
        return NotFound(message, **common)
    if kind == "invalid":
        return ConfigError(message, **common)
    if kind == "timeout":
        return Timeout(message, **common)
    if kind == "server":
        retryable = status.http_status != 501
        return ProviderError(message, retryable=retryable, **common)
    return ProviderError(message, **common)


def describe_failure(status: GoogleStatus, where: Where) -> str:
    """The reason of a failed deploy, in Google's words with what it means for this deploy."""
    kind = classify(status)
    region = where.region or "this region"
    code = f"({status.status})"
    if kind == "capacity":
        return (
            f"Vertex AI has no capacity for {where.hardware()} in {region} right now (try"
            f" another region or machine type, or later): {status.message} {code}"
        )
    if kind == "quota":
        return (
            f"a Vertex AI quota is used up for {where.hardware()} in {region} (request more at"
            f" https://console.cloud.google.com/iam-admin/quotas): {status.message} {code}"
        )
    if kind == "permission" and (permission := _permission(status)):
        return f"missing IAM permission {permission}: {status.message} {code}"
    return f"{status.message} {code}"
