"""The value types every provider speaks: specs, deployments, results, costs.

Plain dataclasses (no pydantic) so that ``import hostkit`` stays fast. Each type
validates itself on construction and round-trips through JSON.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Literal

from hostkit._redact import redact_mapping
from hostkit.errors import ConfigError

if TYPE_CHECKING:
    from hostkit._provider import Provider

__all__ = [
    "STATUSES",
    "Capabilities",
    "CostEstimate",
    "CostLine",
    "Deployment",
    "DeploymentSpec",
    "InvokeResult",
    "Offering",
    "Price",
    "Status",
    "Stream",
    "Usage",
    "check_name",
    "parse_duration",
    "request_error",
]

Status = Literal[
    "pending", "deploying", "ready", "updating", "scaled_to_zero", "paused", "failed", "deleted"
]
STATUSES: tuple[str, ...] = (
    "pending",
    "deploying",
    "ready",
    "updating",
    "scaled_to_zero",
    "paused",
    "failed",
    "deleted",
)

#: what a deployment name may be (matched whole: ``fullmatch``, so no trailing newline)
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}"
NAME_RULE = (
    "use 1-63 letters, digits, '-', '_' or '.', starting with a letter or digit"
    f" (pattern {NAME_PATTERN})"
)
_NAME_RE = re.compile(NAME_PATTERN)
_DURATION_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: object, *, field_name: str = "duration") -> float:
    """Seconds from ``30``, ``2.5``, ``"90s"``, ``"15m"``, ``"1h"`` or ``"250ms"``."""
    if isinstance(value, bool):
        raise ConfigError(f"{field_name}: expected a duration such as 900 or '15m', got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION_RE.fullmatch(value)):
        seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    else:
        raise ConfigError(
            f"{field_name}: expected a duration such as 900, '90s', '15m' or '1h', got {value!r}"
        )
    if seconds < 0 or math.isnan(seconds):
        raise ConfigError(f"{field_name}: must not be negative, got {value!r}")
    return seconds


def check_name(name: object, *, argument: str = "name") -> str:
    """``name`` if it is a valid deployment name, else a ConfigError naming ``argument``.

    Names become file names and URL parts, so nothing else (``..``, ``/``, a trailing
    newline) ever reaches a path.
    """
    if isinstance(name, str) and _NAME_RE.fullmatch(name):
        return name
    shown = repr(name) if isinstance(name, str) else f"a {type(name).__name__}"
    raise ConfigError(f"{argument}: {shown[:80]} is not a valid deployment name; {NAME_RULE}")


def _slug(model: str) -> str:
    tail = model.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", tail).strip("-._")[:63]
    return slug or "deployment"


def _check_int(name: str, value: object, *, minimum: int = 0) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name}: expected a whole number >= {minimum}, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{name}: expected a whole number >= {minimum}, got {value}")
    return value


def _check_str(name: str, value: object, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise ConfigError(f"{name}: required, expected a non-empty string")
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{name}: expected a non-empty string, got {value!r}")
    return value


@dataclass(frozen=True)
class DeploymentSpec:
    """What to deploy, where and how big: the same spec deploys on any provider.

    ``name`` defaults to a slug of the model id. ``options`` passes provider-specific
    settings through untouched. ``scale_to_zero_after`` accepts seconds or a
    duration string (``"15m"``) and is stored in seconds.
    """

    provider: str
    model: str
    name: str = ""
    task: str | None = None
    instance: str | None = None
    accelerator: str | None = None
    region: str | None = None
    replicas: int | None = None
    min_replicas: int | None = None
    max_replicas: int | None = None
    scale_to_zero_after: float | None = None
    image: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        _check_str("provider", self.provider, required=True)
        _check_str("model", self.model, required=True)
        if not self.name:
            set_(self, "name", _slug(self.model))
        if not isinstance(self.name, str) or not _NAME_RE.fullmatch(self.name):
            raise ConfigError(f"name: {self.name!r} is not allowed; {NAME_RULE}")
        for key in ("task", "instance", "accelerator", "region", "image"):
            _check_str(key, getattr(self, key))
        replicas = _check_int("replicas", self.replicas)
        low = _check_int("min_replicas", self.min_replicas)
        high = _check_int("max_replicas", self.max_replicas)
        if high is not None and high < 1:
            raise ConfigError("max_replicas: must be at least 1 (to stop everything, use teardown)")
        if low is not None and high is not None and low > high:
            raise ConfigError(f"min_replicas ({low}) must not exceed max_replicas ({high})")
        if replicas is not None and low is not None and replicas < low:
            raise ConfigError(f"replicas ({replicas}) is below min_replicas ({low})")
        if replicas is not None and high is not None and replicas > high:
            raise ConfigError(f"replicas ({replicas}) is above max_replicas ({high})")
        if self.scale_to_zero_after is not None:
            set_(
                self,
                "scale_to_zero_after",
                parse_duration(self.scale_to_zero_after, field_name="scale_to_zero_after"),
            )
        if not isinstance(self.env, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.env.items()
        ):
            raise ConfigError("env: expected a table of string names to string values")
        if not isinstance(self.options, Mapping):
            raise ConfigError(f"options: expected a table, got {type(self.options).__name__}")
        set_(self, "env", dict(self.env))
        set_(self, "options", dict(self.options))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "spec") -> DeploymentSpec:
        """Build a spec from a mapping, naming unknown keys and what is allowed."""
        if isinstance(data, DeploymentSpec):
            return data
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: expected a table of spec fields, got {data!r}")
        allowed = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ConfigError(
                f"{where}: unknown field(s) {', '.join(unknown)};"
                f" allowed: {', '.join(sorted(allowed))}"
            )
        for required in ("provider", "model"):
            if required not in data:
                raise ConfigError(f"{where}: missing required field '{required}'")
        try:
            return cls(**data)
        except ConfigError as error:
            raise ConfigError(f"{where}: {error.message}") from None

    def to_dict(self, *, redact: bool = True) -> dict[str, Any]:
        """A JSON-ready mapping; secret-looking env values and options are masked by default."""
        data = asdict(self)
        if redact:
            data["env"] = redact_mapping(data["env"])
            data["options"] = redact_mapping(data["options"])
        return data

    def fingerprint(self) -> str:
        """A stable hash of what the spec asks for (secret values excluded).

        For a model given as a local path the files' content is part of it, so redeploying
        a changed directory is a different spec, never silently the running deployment.
        """
        import hashlib

        from hostkit._artifacts import local_content_digest

        data = self.to_dict(redact=True)
        content = local_content_digest(self.model)
        if content is not None:
            data["model_content_sha256"] = content
        encoded = json.dumps(data, sort_keys=True, default=str).encode()
        return hashlib.sha256(encoded).hexdigest()[:16]

    def replace(self, **changes: Any) -> DeploymentSpec:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.to_dict().items() if v not in (None, {}, "")}
        inner = ", ".join(f"{k}={v!r}" for k, v in shown.items())
        return f"DeploymentSpec({inner})"


@dataclass
class Deployment:
    """A live (or once live) deployment, as the platform reports it.

    Serialises to JSON with :meth:`to_json` and back with :meth:`from_json`; the
    convenience methods call the provider that made it (or, after a round trip,
    the provider of that name configured from the config and environment).
    """

    name: str
    provider: str
    model: str
    status: Status
    endpoint: str | None = None
    replicas: int | None = None
    instance: str | None = None
    region: str | None = None
    min_replicas: int | None = None
    max_replicas: int | None = None
    fingerprint: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    _provider: Provider | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ConfigError(
                f"status: {self.status!r} is not a deployment status;"
                f" allowed: {', '.join(STATUSES)}"
            )

    # -- serialisation -------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (secret-looking keys in ``raw`` are masked)."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "_provider"}
        data["raw"] = redact_mapping(self.raw)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, default=str)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Deployment:
        allowed = {f.name for f in fields(cls)} - {"_provider"}
        unknown = set(data) - allowed
        if unknown:
            raise ConfigError(f"deployment record: unknown field(s) {', '.join(sorted(unknown))}")
        return cls(**dict(data))

    @classmethod
    def from_json(cls, text: str) -> Deployment:
        return cls.from_dict(json.loads(text))

    # -- convenience ---------------------------------------------------
    @property
    def is_ready(self) -> bool:
        return self.status == "ready"

    def _bound(self) -> Provider:
        if self._provider is None:
            from hostkit._registry import get_provider

            self._provider = get_provider(self.provider)
        return self._provider

    def invoke(self, request: Any, **params: Any) -> InvokeResult:
        try:
            return self._bound().invoke(self, request, **params)
        except Exception as error:
            if (problem := request_error(request, error)) is None:
                raise
            raise problem from None

    async def ainvoke(self, request: Any, **params: Any) -> InvokeResult:
        try:
            return await self._bound().ainvoke(self, request, **params)
        except Exception as error:
            if (problem := request_error(request, error)) is None:
                raise
            raise problem from None

    def stream(self, request: Any, **params: Any) -> Stream:
        try:
            return _checking(self._bound().stream(self, request, **params), request)
        except Exception as error:
            if (problem := request_error(request, error)) is None:
                raise
            raise problem from None

    def scale(
        self,
        replicas: int | None = None,
        *,
        min_replicas: int | None = None,
        max_replicas: int | None = None,
    ) -> Deployment:
        return self._bound().scale(
            self, replicas, min_replicas=min_replicas, max_replicas=max_replicas
        )

    def teardown(self) -> None:
        self._bound().teardown(self)

    def cost(self, **usage: Any) -> CostEstimate:
        return self._bound().cost(self, **usage)

    def refresh(self) -> Deployment:
        """Ask the platform for the current state and update this object in place."""
        fresh = self._bound().status(self)
        for f in fields(self):
            if f.name != "_provider":
                setattr(self, f.name, getattr(fresh, f.name))
        return self


@dataclass
class Usage:
    """Tokens counted by the platform for one call (None when it does not say)."""

    input_tokens: int | None = None
    output_tokens: int | None = None

    @property
    def total_tokens(self) -> int | None:
        if self.input_tokens is None and self.output_tokens is None:
            return None
        return (self.input_tokens or 0) + (self.output_tokens or 0)


@dataclass
class InvokeResult:
    """The answer of one call: text for text models, ``output`` for anything else.

    ``cost_usd`` is None when the price is unknown or the platform bills capacity by
    the hour rather than by the request (use ``cost(hours=...)`` then). ``timings``
    holds the platform's own timings in seconds (queue, compute) where it reports
    them; ``rate_limits`` the remaining requests/tokens it announced.
    """

    text: str | None
    output: Any
    usage: Usage
    latency_s: float
    provider: str
    model: str
    ttft_s: float | None = None
    cost_usd: float | None = None
    request_id: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    rate_limits: dict[str, Any] = field(default_factory=dict)
    raw: Any = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["usage"]["total_tokens"] = self.usage.total_tokens
        return data


_NO_REQUEST: Any = object()


def _checking(stream: Stream, request: Any) -> Stream:
    """``stream``, set to report a failure caused by ``request`` as a ConfigError."""
    return stream.checking(request) if isinstance(stream, Stream) else stream


class Stream:
    """An iterator of text chunks; when exhausted, ``result`` and ``usage`` are set.

    ``for chunk in stream: ...`` then ``stream.result`` (an :class:`InvokeResult`
    with the whole text, usage and ``ttft_s``). ``close()`` releases the connection
    early.
    """

    def __init__(
        self, chunks: Iterator[str], finish: Any, close: Any = None, partial: Any = None
    ) -> None:
        self._chunks = chunks
        self._finish = finish
        self._close = close
        self._partial = partial
        self._done: list[Any] = []
        self._request: Any = _NO_REQUEST
        self._seen: list[str] = []
        self.result: InvokeResult | None = None
        #: True once the stream was closed, left or dropped before its end
        self.cancelled = False

    def checking(self, request: Any) -> Stream:
        """Report a failure caused by ``request`` not being JSON as a ConfigError (see
        :func:`request_error`); returns the stream itself."""
        self._request = request
        return self

    def _failure(self, error: BaseException) -> BaseException:
        if self._request is _NO_REQUEST:
            return error
        return request_error(self._request, error) or error

    def on_done(self, callback: Any, on_cancel: Any = None) -> None:
        """Call ``callback(result, error)`` once the stream ends or fails.

        A stream closed, left or garbage-collected before its end calls
        ``on_cancel(partial_result)`` instead (``callback(None, None)`` without one);
        ``partial_result(provider, model)`` gives what it received so far.
        """
        self._done.append((callback, on_cancel))

    def _notify(self, result: InvokeResult | None, error: BaseException | None) -> None:
        callbacks, self._done = self._done, []
        for callback, on_cancel in callbacks:
            if self.cancelled and on_cancel is not None:
                on_cancel(self.partial_result)
            else:
                callback(result, error)

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        try:
            chunk = next(self._chunks)
            self._seen.append(chunk)
            return chunk
        except StopIteration:
            if self.result is None:
                try:
                    self.result = self._finish()
                except BaseException as error:
                    failure = self._failure(error)
                    self._notify(None, failure)
                    if failure is error:
                        raise
                    raise failure from None
                self._notify(self.result, None)
            raise
        except BaseException as error:
            failure = self._failure(error)
            self._notify(None, failure)
            if failure is error:
                raise
            raise failure from None

    @property
    def usage(self) -> Usage | None:
        return self.result.usage if self.result else None

    def text(self) -> str:
        """Consume the rest of the stream and return the whole text."""
        for _ in self:
            pass
        assert self.result is not None
        return self.result.text or ""

    def partial_result(self, provider: str, model: str) -> InvokeResult:
        """What a stream ended early received: its text so far and the tokens seen.

        The adapter's ``partial`` callable answers where it has one (it may know the
        platform's own counts); otherwise output tokens are the chunks received
        (platforms send about one token per chunk) and input tokens are unknown.
        """
        if self._partial is not None:
            made = self._partial()
            if isinstance(made, InvokeResult):
                return made
        text = "".join(self._seen)
        return InvokeResult(
            text=text,
            output=text,
            usage=Usage(output_tokens=len(self._seen)),
            latency_s=0.0,
            provider=provider,
            model=model,
        )

    def close(self) -> None:
        """Release the connection; a stream not read to its end is reported cancelled."""
        if self._done and self.result is None:
            self.cancelled = True
            self._notify(None, None)
        closer = getattr(self._chunks, "close", None)
        if callable(closer):
            closer()
        if self._close is not None:
            self._close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_done", None):  # dropped unread: end what watches it
            with contextlib.suppress(Exception):
                self.close()


@dataclass(frozen=True)
class Price:
    """One price with where it came from and when it was read."""

    usd: float
    unit: str
    source: str
    as_of: str

    def __post_init__(self) -> None:
        if not self.source or not self.as_of:
            raise ConfigError(f"price {self.usd} per {self.unit}: needs a source and a date")
        if self.usd < 0:
            raise ConfigError(f"price per {self.unit}: must not be negative, got {self.usd}")


@dataclass(frozen=True)
class CostLine:
    """One line of a bill: ``quantity`` ``unit`` at ``unit_price_usd`` each."""

    description: str
    unit: str
    quantity: float
    unit_price_usd: float
    usd: float


@dataclass
class CostEstimate:
    """A cost with its parts, its price source and the date of that price.

    ``usd`` is None when a price is unknown; ``warnings`` then says what is missing
    and how to set it (``[prices]`` in the config).
    """

    usd: float | None
    breakdown: list[CostLine] = field(default_factory=list)
    source: str | None = None
    as_of: str | None = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Capabilities:
    """What a provider can do; the core and the CLI act on these, never on names."""

    dedicated: bool
    streaming: bool = False
    native_async: bool = False
    manual_scaling: bool = False
    autoscaling: bool = False
    scale_to_zero: bool = False

    def to_dict(self) -> dict[str, bool]:
        return asdict(self)


@dataclass(frozen=True)
class Offering:
    """An instance type or a served model a provider sells, with its price."""

    provider: str
    name: str
    kind: Literal["instance", "model"]
    region: str | None = None
    gpu_type: str | None = None
    gpu_count: int | None = None
    gpu_memory_gb: float | None = None
    vcpus: int | None = None
    ram_gb: float | None = None
    usd_per_hour: float | None = None
    usd_per_million_input: float | None = None
    usd_per_million_output: float | None = None
    source: str | None = None
    as_of: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- requests that are not JSON --------------------------------------------------
#: how deep a JSON request may nest (Python's encoder gives up a little before this)
MAX_REQUEST_DEPTH = 1000
_JSON_RULE = (
    "send a str prompt or JSON data: dicts with string keys, lists, strings, finite"
    f" numbers, booleans and None, nested under {MAX_REQUEST_DEPTH:,} levels"
)
_Path = tuple[Any, Any] | None  # (parent path, key): built only for the nodes visited


def _show_path(path: _Path) -> str:
    keys: list[Any] = []
    while path is not None:
        path, key = path
        keys.append(key)
    keys.reverse()
    shown = [f"[{key!r}]" for key in keys]
    if len(shown) > 6:
        shown = [*shown[:3], "...", *shown[-2:]]
    return "request" + "".join(shown)


def _json_problem(value: Any) -> str | None:
    """What keeps ``value`` from being strict JSON, or None (iterative: any depth is safe)."""
    stack: list[tuple[Any, _Path, int]] = [(value, None, 0)]
    while stack:
        item, path, depth = stack.pop()
        if depth > MAX_REQUEST_DEPTH:
            return f"request is nested more than {MAX_REQUEST_DEPTH:,} levels deep"
        if item is None or isinstance(item, str | bool | int):
            continue
        if isinstance(item, float):
            if not math.isfinite(item):
                return f"{_show_path(path)} is {item!r}: NaN and Infinity are not valid JSON"
            continue
        if isinstance(item, Mapping):
            for key, child in item.items():
                if not (key is None or isinstance(key, str | int | float | bool)):
                    return (
                        f"{_show_path(path)} has a key of type {type(key).__name__};"
                        " JSON object keys must be strings"
                    )
                stack.append((child, (path, key), depth + 1))
            continue
        if isinstance(item, list | tuple):
            stack.extend((child, (path, i), depth + 1) for i, child in enumerate(item))
            continue
        return f"{_show_path(path)} is a {type(item).__name__}, which is not JSON-serializable"
    return None


def request_error(request: Any, error: BaseException) -> ConfigError | None:
    """A ConfigError saying what in ``request`` is not JSON, when that is what ``error`` is.

    Called only after a call failed (the happy path never walks the request): a raw
    ``TypeError``/``ValueError``/``RecursionError`` from encoding, or a hostkit error
    an adapter made of one. None when the request is fine (the failure is elsewhere).
    """
    from hostkit.errors import HostkitError

    cause: BaseException | None = error
    if isinstance(error, HostkitError):
        cause = None if isinstance(error, ConfigError) else error.__cause__
    if not isinstance(cause, TypeError | ValueError | RecursionError):
        return None
    if isinstance(cause, ValueError) and "Circular reference" in str(cause):
        problem: str | None = "request contains itself (a circular reference)"
    else:
        problem = _json_problem(request)
    if problem is None and isinstance(cause, RecursionError):
        problem = "request is nested too deeply to encode as JSON"
    if problem is None:
        return None
    return ConfigError(f"{problem}; {_JSON_RULE}")
