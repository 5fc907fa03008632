"""Recorded HTTP fixtures (vcrpy cassettes): strict replay, and scrubbing before saving.

Everything that decides what a recording looks like lives here, so the pytest
plugin, the :func:`cassette` context manager and third-party provider tests all
record and replay alike:

* :func:`vcr_config` is the configuration (strict replay, matching on method,
  scheme, host, port, path, query and body; secret headers filtered).
* :func:`scrub_request` and :func:`scrub_response` run on every request and
  response before it is matched or saved. Their rules are patterns, so the live
  request of a replayed test is scrubbed the same way as the recorded one and the
  two still match.
* :func:`scrub_interaction` runs only when a cassette is written; it masks every
  credential hostkit looked up in this process (``hostkit._redact``), whatever
  its shape.

vcrpy is imported only by :func:`cassette` and the loaders, so :func:`vcr_config`
and the scrubbers work without the ``testing`` extra.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from hostkit import _redact
from hostkit.errors import ConfigError, DependencyMissing

__all__ = [
    "FAKE_ACCOUNT_ID",
    "MATCH_ON",
    "RECORD_MODES",
    "REDACTED",
    "SECRET_HEADERS",
    "VOLATILE_HEADERS",
    "Interaction",
    "RecordedRequest",
    "RecordedResponse",
    "cassette",
    "cassette_requests",
    "check_vcr_can_record",
    "load_cassette",
    "scrub_interaction",
    "scrub_request",
    "scrub_response",
    "scrub_text",
    "set_default_record_mode",
    "vcr_config",
]

#: what a secret is replaced with (key prefixes such as ``hf_`` are kept for readability)
REDACTED = "REDACTED"
#: what an AWS account id is replaced with (keeps ARNs and ECR hosts well formed)
FAKE_ACCOUNT_ID = "000000000000"
#: vcrpy matchers: everything but headers, so SDK and hostkit versions can change freely
MATCH_ON: tuple[str, ...] = ("method", "scheme", "host", "port", "path", "query", "body")
#: vcrpy's record modes plus pytest-recording's ``rewrite`` (delete, then record afresh)
RECORD_MODES: tuple[str, ...] = ("none", "once", "new_episodes", "all", "rewrite")
#: request headers whose value is a credential: kept (so a test sees auth was sent), masked
SECRET_HEADERS: tuple[str, ...] = (
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "api-key",
    "x-goog-api-key",
    "ocp-apim-subscription-key",
    "cookie",
    "x-amz-security-token",
)
#: request headers that change on every run or SDK release: dropped from recordings
VOLATILE_HEADERS: tuple[str, ...] = (
    "user-agent",
    "idempotency-key",
    "x-amz-date",
    "amz-sdk-invocation-id",
    "amz-sdk-request",
    "x-stainless-*",
)
_RESPONSE_SECRET_HEADERS = ("set-cookie",)

# -- text rules --------------------------------------------------------------
# Each rule is a pattern and its replacement. They must be deterministic: a live
# request is scrubbed before it is matched against the (scrubbed) recording.
_NOT_WORD = r"(?<![A-Za-z0-9_-])"
_JSON_SECRET_FIELD = (
    r"[A-Za-z0-9_.-]*(?:api[_-]?key|apikey|access[_-]?token|refresh[_-]?token|id[_-]?token"
    r"|session[_-]?token|auth[_-]?token|api[_-]?token|hf[_-]?token|security[_-]?token"
    r"|secret[_-]?access[_-]?key|client[_-]?secret|password|passwd)"
    r"|token|secret|authorization|x-api-key"
)
_QUERY_SECRET_KEY = (
    r"key|api[_-]?key|apikey|access[_-]?token|token|sig|signature|x-amz-signature"
    r"|x-amz-security-token|x-goog-signature|client[_-]?secret|password"
)
_TEXT_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # bearer tokens wherever they appear (echoed headers, error messages)
    (re.compile(r"(?i)\b(bearer\s+)(?!REDACTED\b)[A-Za-z0-9._~+/=-]{8,}"), rf"\g<1>{REDACTED}"),
    # provider key formats: Hugging Face, Groq, Replicate, Cerebras, OpenAI-style, Google
    (re.compile(_NOT_WORD + r"(hf_)(?!REDACTED)[A-Za-z0-9]{16,}"), rf"\g<1>{REDACTED}"),
    (re.compile(_NOT_WORD + r"(gsk_)(?!REDACTED)[A-Za-z0-9]{16,}"), rf"\g<1>{REDACTED}"),
    (re.compile(_NOT_WORD + r"(r8_)(?!REDACTED)[A-Za-z0-9]{16,}"), rf"\g<1>{REDACTED}"),
    (re.compile(_NOT_WORD + r"(csk-)(?!REDACTED)[A-Za-z0-9]{16,}"), rf"\g<1>{REDACTED}"),
    (
        re.compile(_NOT_WORD + r"(sk-(?:proj-|ant-)?)(?!REDACTED)[A-Za-z0-9_-]{16,}"),
        rf"\g<1>{REDACTED}",
    ),
    (re.compile(_NOT_WORD + r"(AIza)(?!REDACTED)[A-Za-z0-9_-]{30,}"), rf"\g<1>{REDACTED}"),
    # AWS access key ids (also inside SigV4 ``Credential=``)
    (re.compile(r"\b((?:AKIA|ASIA)(?!REDACTED))[A-Z0-9]{16}\b"), rf"\g<1>{REDACTED}"),
    # JSON web tokens (Azure AD, GCP identity tokens)
    (
        re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
        REDACTED,
    ),
    # SigV4 signatures in Authorization values and presigned URLs
    (re.compile(r"(?i)\b(signature=)[0-9a-f]{64}\b"), rf"\g<1>{REDACTED}"),
    # secrets in query strings and form bodies: ?key=..., &api_key=..., &sig=...
    (
        re.compile(
            rf"(?i)(^|[?&;])((?:{_QUERY_SECRET_KEY})=)(?!REDACTED(?:[&#;\s\"']|$))"
            r"[^&#;\s\"'<>]+"
        ),
        rf"\g<1>\g<2>{REDACTED}",
    ),
    # secrets in JSON: "api_key": "...", "HF_TOKEN": "...", "SecretAccessKey": "..."
    (
        re.compile(rf'(?i)("(?:{_JSON_SECRET_FIELD})"\s*:\s*")(?:[^"\\]|\\.)*(")'),
        rf"\g<1>{REDACTED}\g<2>",
    ),
    # AWS account ids: ARNs, ECR hosts, SageMaker default buckets, JSON fields
    (
        re.compile(r"(arn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:)\d{12}(?=:)"),
        rf"\g<1>{FAKE_ACCOUNT_ID}",
    ),
    (re.compile(r"(?<![0-9])\d{12}(?=\.dkr\.ecr\.)"), FAKE_ACCOUNT_ID),
    (
        re.compile(r"(sagemaker-[a-z]{2}(?:-[a-z]+)+-\d+-)\d{12}(?![0-9])"),
        rf"\g<1>{FAKE_ACCOUNT_ID}",
    ),
    (
        re.compile(r'(?i)("(?:account|account_?id|owner_?id|aws_account_id)"\s*:\s*")\d{12}(")'),
        rf"\g<1>{FAKE_ACCOUNT_ID}\g<2>",
    ),
)


def scrub_text(text: str) -> str:
    """``text`` with API keys, tokens, signatures and AWS account ids replaced."""
    for pattern, replacement in _TEXT_RULES:
        text = pattern.sub(replacement, text)
    return text


def _scrub_body(body: Any, scrub: Callable[[str], str] = scrub_text) -> Any:
    """A scrubbed copy of a str/bytes body; other kinds (files, iterators) as they are."""
    if isinstance(body, str):
        return scrub(body)
    if isinstance(body, bytes | bytearray):
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            return body  # binary upload: no text to scrub
        cleaned = scrub(text)
        return body if cleaned == text else cleaned.encode("utf-8")
    return body


def _is_volatile(name: str) -> bool:
    lowered = name.lower()
    return any(
        lowered.startswith(v[:-1]) if v.endswith("*") else lowered == v for v in VOLATILE_HEADERS
    )


def scrub_request(request: Any) -> Any:
    """vcrpy ``before_record_request``: mask credentials, drop volatile headers.

    Runs on recorded requests and on live ones before matching; returns the
    (already copied) vcrpy request.
    """
    request.uri = scrub_text(request.uri)
    request.body = _scrub_body(request.body)
    headers = {}
    for name, value in request.headers.items():
        if _is_volatile(name):
            continue
        if name.lower() in SECRET_HEADERS:
            headers[name] = REDACTED
        elif isinstance(value, str):
            headers[name] = scrub_text(value)
        else:
            headers[name] = value
    request.headers = headers
    return request


def _scrub_headers(headers: Mapping[str, Any], secret: tuple[str, ...]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for name, values in headers.items():
        items = values if isinstance(values, list) else [values]
        if name.lower() in secret:
            cleaned[name] = [REDACTED for _ in items]
        else:
            cleaned[name] = [scrub_text(v) if isinstance(v, str) else v for v in items]
    return cleaned


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """vcrpy ``before_record_response``: mask cookies and secrets in headers and body."""
    if isinstance(response.get("headers"), Mapping):
        response["headers"] = _scrub_headers(response["headers"], _RESPONSE_SECRET_HEADERS)
    body = response.get("body")
    if isinstance(body, dict) and "string" in body:
        body["string"] = _scrub_body(body["string"])
    return response


def _scrub_known(text: str) -> str:
    # every credential hostkit looked up in this process (Secret, Provider.api_key)
    for value in sorted(_redact._known, key=len, reverse=True):
        if value in text:
            text = text.replace(value, REDACTED)
    return text


def scrub_interaction(request: Any, response: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """vcrpy ``before_save_interaction``: mask registered credentials of any shape.

    Runs only when a cassette is written (never while matching), so a test's fake
    key cannot change how its live requests match the recording.
    """
    request.uri = _scrub_known(request.uri)
    request.body = _scrub_body(request.body, _scrub_known)
    request.headers = {
        k: _scrub_known(v) if isinstance(v, str) else v for k, v in request.headers.items()
    }
    for name, values in list(response.get("headers", {}).items()):
        items = values if isinstance(values, list) else [values]
        response["headers"][name] = [_scrub_known(v) if isinstance(v, str) else v for v in items]
    body = response.get("body")
    if isinstance(body, dict) and "string" in body:
        body["string"] = _scrub_body(body["string"], _scrub_known)
    return request, response


# -- configuration -------------------------------------------------------------
_default_record_mode: str | None = None


def set_default_record_mode(mode: str | None) -> None:
    """Record mode used by :func:`cassette` when none is passed (the pytest plugin sets it)."""
    global _default_record_mode
    _default_record_mode = _check_record_mode(mode) if mode is not None else None


def _check_record_mode(mode: str) -> str:
    if mode not in RECORD_MODES:
        raise ConfigError(f"record mode {mode!r} is not known; allowed: {', '.join(RECORD_MODES)}")
    return mode


def _resolve_record_mode(mode: str | None) -> str:
    chosen = mode or _default_record_mode or os.environ.get("HOSTKIT_RECORD_MODE") or "none"
    return _check_record_mode(chosen)


def vcr_config(*, record_mode: str | None = "none", **overrides: Any) -> dict[str, Any]:
    """The vcrpy configuration hostkit tests use (a fresh dict; ``overrides`` win).

    ``record_mode="none"`` is strict replay: a request the cassette does not hold
    raises. ``record_mode=None`` leaves the key out, so that pytest-recording's
    ``--record-mode`` decides.
    """
    config: dict[str, Any] = {
        "match_on": list(MATCH_ON),
        "filter_headers": [(name, REDACTED) for name in SECRET_HEADERS],
        "before_record_request": scrub_request,
        "before_record_response": scrub_response,
        "before_save_interaction": scrub_interaction,
        "decode_compressed_response": True,
        "allow_playback_repeats": False,
    }
    if record_mode is not None:
        config["record_mode"] = _check_record_mode(record_mode)
    config.update(overrides)
    return config


def _import(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise DependencyMissing(
            f'hostkit.testing needs {module} ({error}); run: pip install "hostkit-ml[testing]"'
        ) from None


def check_vcr_can_record() -> None:
    """Refuse to record with a vcrpy that cannot run :func:`scrub_interaction` on save.

    Older vcrpy releases ignore the ``before_save_interaction`` option silently,
    which would write credentials of unrecognised shapes to disk.
    """
    vcr_cassette = _import("vcr.cassette")
    if "before_save_interaction" not in inspect.signature(vcr_cassette.Cassette).parameters:
        raise DependencyMissing(
            "recording needs a vcrpy that supports before_save_interaction (the installed"
            " one would skip hostkit's last scrubbing step); run: pip install -U vcrpy"
        )


@contextmanager
def cassette(
    path: str | os.PathLike[str], *, record_mode: str | None = None, **overrides: Any
) -> Iterator[Any]:
    """Replay (or record) the cassette at ``path`` inside the block; yields vcrpy's Cassette.

    The record mode is ``record_mode``, else pytest's ``--record-mode`` (with the
    plugin loaded), else ``$HOSTKIT_RECORD_MODE``, else ``"none"``: strict replay,
    where a missing cassette is an error and any request it does not hold raises
    ``vcr.errors.CannotOverwriteExistingCassetteException``. The yielded cassette
    tells what was replayed: ``play_count`` and ``all_played``.
    """
    vcr = _import("vcr")
    file = Path(path)
    mode = _resolve_record_mode(record_mode)
    if mode == "none" and not file.is_file():
        raise FileNotFoundError(
            f"cassette {file} does not exist; record it with real credentials:"
            " pytest --record-mode=once (or HOSTKIT_RECORD_MODE=once)"
        )
    if mode != "none":
        check_vcr_can_record()
    if mode == "rewrite":
        file.unlink(missing_ok=True)
        mode = "new_episodes"
    config = vcr_config(record_mode=mode, **overrides)
    with vcr.VCR().use_cassette(str(file), **config) as recorded:
        yield recorded


# -- reading cassettes back ---------------------------------------------------------
def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _header_lists(headers: Any) -> dict[str, list[str]]:
    if not isinstance(headers, Mapping):
        return {}
    return {
        str(k).lower(): [str(x) for x in (v if isinstance(v, list) else [v])]
        for k, v in headers.items()
    }


@dataclass(frozen=True)
class RecordedRequest:
    """One request as it was recorded (header names lower-cased)."""

    method: str
    uri: str
    headers: dict[str, list[str]]
    body: str | None

    @property
    def path(self) -> str:
        return urlsplit(self.uri).path

    @property
    def host(self) -> str:
        return urlsplit(self.uri).hostname or ""

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.uri).query))

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    def json(self) -> Any:
        return json.loads(self.body or "null")


@dataclass(frozen=True)
class RecordedResponse:
    """One recorded response: status, lower-cased headers and the body as text."""

    status: int
    reason: str
    headers: dict[str, list[str]]
    body: str

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Interaction:
    request: RecordedRequest
    response: RecordedResponse


def load_cassette(path: str | os.PathLike[str]) -> list[Interaction]:
    """The interactions of a cassette file, in order (YAML, or JSON for ``.json``)."""
    file = Path(path)
    text = file.read_text(encoding="utf-8")
    if file.suffix == ".json":
        data = json.loads(text)
    else:
        data = _import("vcr.serializers.yamlserializer").deserialize(text)
    if not isinstance(data, Mapping) or not isinstance(data.get("interactions"), list):
        raise ConfigError(f"{file}: not a vcrpy cassette (no 'interactions' list)")
    interactions = []
    for item in data["interactions"]:
        req, resp = item["request"], item["response"]
        status = resp.get("status", {})
        interactions.append(
            Interaction(
                request=RecordedRequest(
                    method=str(req["method"]).upper(),
                    uri=str(req["uri"]),
                    headers=_header_lists(req.get("headers")),
                    body=_text(req.get("body")),
                ),
                response=RecordedResponse(
                    status=int(status.get("code", 0)),
                    reason=str(status.get("message") or ""),
                    headers=_header_lists(resp.get("headers")),
                    body=_text((resp.get("body") or {}).get("string")) or "",
                ),
            )
        )
    return interactions


def cassette_requests(path: str | os.PathLike[str]) -> list[RecordedRequest]:
    """The requests a cassette holds, in order (e.g. to count the retries it expects)."""
    return [interaction.request for interaction in load_cassette(path)]
