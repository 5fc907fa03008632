"""OpenTelemetry traces and metrics for every hostkit operation (optional, off by default).

:func:`enable` turns them on. Each ``deploy``, ``scale`` and ``teardown`` becomes a
span with the provider, deployment, model, instance, replicas, region and outcome;
each ``invoke``, ``ainvoke`` and ``stream`` a span that follows the OpenTelemetry
GenAI semantic conventions (``chat {model}``, ``gen_ai.*``, ``server.address``,
``error.type``) plus ``hostkit.cost_usd``, ``hostkit.retries``, ``hostkit.ttft_s``, the
platform's request id (``hostkit.request_id``, on failures too) and its own timings in
seconds where it reports them (``hostkit.timings.queue_time`` and the like).
Metrics: ``gen_ai.client.operation.duration``, ``gen_ai.client.token.usage``,
``gen_ai.client.operation.time_to_first_chunk``, ``hostkit.operation.duration``,
``hostkit.cost``, ``hostkit.retries`` and ``hostkit.errors``.

Nothing of OpenTelemetry is imported before :func:`enable`. Prompts and completions
are recorded only with ``capture_content=True``, with registered secrets masked.
Telemetry rides on the operation events of :mod:`hostkit._events`; a failing
exporter, processor or reader is logged and never breaks a call. A stream closed,
left or dropped before its end ends its span with the outcome ``cancelled`` and
the tokens it received.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from hostkit._redact import get_logger, scrub
from hostkit._retry import retried

if TYPE_CHECKING:
    from hostkit._events import OperationEvent
    from hostkit._provider import Provider

__all__ = ["Telemetry", "Tracked", "disable", "enable", "is_enabled"]

log = get_logger("hostkit.telemetry")

GENAI_OPERATIONS = frozenset({"invoke", "ainvoke", "stream"})
#: hostkit provider names whose GenAI ``gen_ai.provider.name`` value differs
PROVIDER_NAMES = {"vertex": "gcp.vertex_ai"}
#: invoke keyword arguments recorded as ``gen_ai.request.*`` attributes
REQUEST_PARAMS = {
    "max_tokens": "gen_ai.request.max_tokens",
    "max_completion_tokens": "gen_ai.request.max_tokens",
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "top_k": "gen_ai.request.top_k",
    "seed": "gen_ai.request.seed",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
}
#: span attributes (known at the start) that metrics carry too: few values each
LIFECYCLE_METRIC_KEYS = frozenset({"hostkit.operation", "hostkit.provider"})
GENAI_METRIC_KEYS = frozenset(
    {
        "hostkit.operation",
        "gen_ai.operation.name",
        "gen_ai.provider.name",
        "gen_ai.request.model",
        "server.address",
        "server.port",
    }
)
# bucket boundaries the GenAI semantic conventions recommend
DURATION_BUCKETS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
TOKEN_BUCKETS = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip


def error_type(error: type[BaseException] | BaseException) -> str:
    """The ``error.type`` value: the exception's fully qualified class name."""
    cls = error if isinstance(error, type) else type(error)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def provider_name(provider: str) -> str:
    """The ``gen_ai.provider.name`` of a hostkit provider."""
    return PROVIDER_NAMES.get(provider, provider)


def is_chat(request: Any) -> bool:
    """Whether ``request`` is a prompt or chat messages (not a model-specific payload)."""
    if isinstance(request, str):
        return True
    if isinstance(request, Mapping):
        return "messages" in request
    return isinstance(request, list) and all(
        isinstance(m, Mapping) and "role" in m for m in request
    )


def _server(endpoint: Any) -> dict[str, Any]:
    if not isinstance(endpoint, str) or "://" not in endpoint:
        return {}
    return dict(_parse_server(endpoint))


@functools.lru_cache(maxsize=256)
def _parse_server(endpoint: str) -> tuple[tuple[str, Any], ...]:
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        return ()
    if not parts.hostname:
        return ()
    if port is None:
        return (("server.address", parts.hostname),)
    return (("server.address", parts.hostname), ("server.port", port))


def _put(attributes: dict[str, Any], key: str, value: Any) -> None:
    if isinstance(value, (str, bool, int, float)):
        attributes[key] = value


def _text_parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, Mapping) and part.get("type") == "text":
                parts.append({"type": "text", "content": part.get("text")})
            else:
                parts.append(dict(part) if isinstance(part, Mapping) else {"content": part})
        return parts
    return [] if content is None else [{"type": "data", "content": content}]


def input_messages(request: Any) -> list[dict[str, Any]]:
    """``gen_ai.input.messages``: the request in the conventions' message shape."""
    if isinstance(request, str):
        return [{"role": "user", "parts": _text_parts(request)}]
    messages = request.get("messages") if isinstance(request, Mapping) else request
    if isinstance(messages, list) and is_chat(messages):
        return [{"role": m["role"], "parts": _text_parts(m.get("content"))} for m in messages]
    return [{"role": "user", "parts": [{"type": "data", "content": request}]}]


def finish_reasons(result: Any) -> list[str]:
    """The finish reasons the platform reported, where its answer holds them."""
    raw = getattr(result, "raw", None)
    reasons: list[str] = []
    if isinstance(raw, Mapping):
        if isinstance(raw.get("finish_reason"), str):
            reasons.append(raw["finish_reason"])
        for choice in raw.get("choices") or ():
            reason = choice.get("finish_reason") if isinstance(choice, Mapping) else None
            if isinstance(reason, str):
                reasons.append(reason)
    return reasons


def output_messages(result: Any, reasons: Sequence[str]) -> list[dict[str, Any]]:
    """``gen_ai.output.messages``: the answer in the conventions' message shape."""
    text = getattr(result, "text", None)
    parts = _text_parts(text) if text is not None else _text_parts(getattr(result, "output", None))
    message: dict[str, Any] = {"role": "assistant", "parts": parts}
    if reasons:
        message["finish_reason"] = reasons[0]
    return [message]


def _json(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


def _content(value: Any) -> str:
    """Captured prompts or completions as JSON, with every registered secret masked."""
    return scrub(_json(value))


class Telemetry:
    """The tracer, the meter's instruments and the content switch of one :func:`enable`."""

    def __init__(
        self, tracer_provider: Any = None, meter_provider: Any = None, capture_content: bool = False
    ) -> None:
        from opentelemetry import context, metrics, trace

        from hostkit import __version__

        self.capture_content = capture_content
        self._trace = trace
        self._context = context
        self.tracer = trace.get_tracer("hostkit", __version__, tracer_provider=tracer_provider)
        meter = metrics.get_meter("hostkit", __version__, meter_provider=meter_provider)
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.tokens = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
        )
        self.first_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk",
            unit="s",
            description="Time to receive the first chunk of a streamed answer.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.lifecycle = meter.create_histogram(
            "hostkit.operation.duration",
            unit="s",
            description="Duration of hostkit deploy, scale and teardown operations.",
        )
        self.cost = meter.create_counter(
            "hostkit.cost", unit="USD", description="Cost of invocations as priced by hostkit."
        )
        self.retries = meter.create_counter(
            "hostkit.retries",
            unit="{retry}",
            description="Platform calls retried by hostkit's retry policy, by error class.",
        )
        self.errors = meter.create_counter(
            "hostkit.errors",
            unit="{error}",
            description="hostkit operations that failed, by error class.",
        )

    def start(
        self, provider: Provider, operation: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Tracked | None:
        """Open the span of one operation and make it current (None if that fails)."""
        try:
            return Tracked(self, provider, operation, args, kwargs)
        except Exception:
            log.warning("telemetry: could not start a span for %s", operation, exc_info=True)
            return None


class Tracked:
    """The span, context and retry count of one running operation."""

    def __init__(
        self,
        telemetry: Telemetry,
        provider: Provider,
        operation: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self.telemetry = telemetry
        self.operation = operation
        self.provider = provider.name
        self.genai = operation in GENAI_OPERATIONS
        target = args[0] if args else kwargs.get("deployment", kwargs.get("spec"))
        self.request = args[1] if len(args) > 1 else kwargs.get("request")
        attributes = self._genai_start(target, kwargs) if self.genai else {}
        attributes.update(self._lifecycle_start(target, args, kwargs))
        trace = telemetry._trace
        kind = trace.SpanKind.CLIENT if self.genai else trace.SpanKind.INTERNAL
        name = self._name(target)
        try:
            self.span = telemetry.tracer.start_span(name, kind=kind, attributes=attributes)
        except Exception:  # a broken span processor: keep the metrics, drop the span
            log.warning("telemetry: could not start the %s span", name, exc_info=True)
            self.span = trace.INVALID_SPAN
        kept = GENAI_METRIC_KEYS if self.genai else LIFECYCLE_METRIC_KEYS
        self.metric_attributes = {k: v for k, v in attributes.items() if k in kept}
        if self.genai and telemetry.capture_content:
            self.span.set_attribute("gen_ai.input.messages", _content(input_messages(self.request)))
        self.retried: list[type[BaseException]] = []
        self._retry_token = retried.set(self.retried)
        ctx = trace.set_span_in_context(self.span)
        self._context_token = telemetry._context.attach(ctx)

    # -- at the start ----------------------------------------------------
    def _name(self, target: Any) -> str:
        if self.genai:
            model = getattr(target, "model", None)
            return f"{self.genai_operation} {model}" if model else self.genai_operation
        name = _target_name(target)
        return f"{self.operation} {name}" if name else self.operation

    def _genai_start(self, target: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        self.genai_operation = "chat" if is_chat(self.request) else "invoke"
        name = provider_name(self.provider)
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": self.genai_operation,
            "gen_ai.provider.name": name,
            "gen_ai.system": name,
        }
        _put(attributes, "gen_ai.request.model", getattr(target, "model", None))
        if self.operation == "stream":
            attributes["gen_ai.request.stream"] = True
        for param, key in REQUEST_PARAMS.items():
            _put(attributes, key, kwargs.get(param))
        stop = kwargs.get("stop")
        if isinstance(stop, str):
            attributes["gen_ai.request.stop_sequences"] = (stop,)
        elif isinstance(stop, (list, tuple)) and all(isinstance(s, str) for s in stop):
            attributes["gen_ai.request.stop_sequences"] = tuple(stop)
        attributes.update(_server(getattr(target, "endpoint", None)))
        return attributes

    def _lifecycle_start(
        self, target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "hostkit.operation": self.operation,
            "hostkit.provider": self.provider,
        }
        _put(attributes, "hostkit.deployment.name", _target_name(target))
        if self.genai:
            return attributes
        _put(attributes, "hostkit.model", _field(target, "model"))
        for field in ("instance", "region", "replicas", "min_replicas", "max_replicas"):
            _put(attributes, f"hostkit.deployment.{field}", _field(target, field))
        if self.operation == "scale":
            replicas = args[1] if len(args) > 1 else kwargs.get("replicas")
            _put(attributes, "hostkit.scale.replicas", replicas)
            for field in ("min_replicas", "max_replicas"):
                _put(attributes, f"hostkit.scale.{field}", kwargs.get(field))
        attributes.update(_server(getattr(target, "endpoint", None)))
        return attributes

    # -- at the end ------------------------------------------------------
    def detach(self) -> None:
        """Leave the span's context (the span itself may end later: streams)."""
        try:
            retried.reset(self._retry_token)
            self.telemetry._context.detach(self._context_token)
        except Exception:
            log.debug("telemetry: could not detach the span's context", exc_info=True)

    def finish(self, event: OperationEvent) -> None:
        """End the span and record the metrics of a finished operation (never raises)."""
        metric_attributes = dict(self.metric_attributes)
        try:
            self._end_span(event, metric_attributes)
        except Exception:
            log.warning("telemetry: could not end the %s span", self.operation, exc_info=True)
        try:
            self._record(event, metric_attributes)
        except Exception:
            log.warning("telemetry: could not record %s metrics", self.operation, exc_info=True)

    def _end_span(self, event: OperationEvent, metric_attributes: dict[str, Any]) -> None:
        span, telemetry = self.span, self.telemetry
        result, error = event.result, event.error
        attributes: dict[str, Any] = {
            "hostkit.outcome": event.outcome,
            "hostkit.retries": len(self.retried),
        }
        if self.genai and result is not None:
            self._genai_result(attributes, metric_attributes, result)
        elif result is not None:
            for field in ("instance", "region", "replicas", "min_replicas", "max_replicas"):
                _put(attributes, f"hostkit.deployment.{field}", getattr(result, field, None))
            _put(attributes, "hostkit.deployment.status", getattr(result, "status", None))
            attributes.update(_server(getattr(result, "endpoint", None)))
        if error is not None:
            kind = error_type(error)
            attributes["error.type"] = kind
            metric_attributes["error.type"] = kind
            _put(attributes, "hostkit.request_id", getattr(error, "request_id", None))
            message = scrub(str(error))
            span.add_event("exception", {"exception.type": kind, "exception.message": message})
            span.set_status(telemetry._trace.Status(telemetry._trace.StatusCode.ERROR, message))
        span.set_attributes(attributes)
        span.end()

    def _record(self, event: OperationEvent, metric_attributes: dict[str, Any]) -> None:
        telemetry, error = self.telemetry, event.error
        if self.genai and event.result is not None:
            self._record_result(event.result, metric_attributes)
        duration = event.duration_s or 0.0
        if self.genai:
            telemetry.duration.record(duration, metric_attributes)
        else:
            telemetry.lifecycle.record(duration, metric_attributes)
        common = {"hostkit.operation": self.operation, "hostkit.provider": self.provider}
        for cls in self.retried:
            telemetry.retries.add(1, {**common, "error.type": error_type(cls)})
        if error is not None:
            telemetry.errors.add(1, {**common, "error.type": error_type(error)})

    def _genai_result(
        self, attributes: dict[str, Any], metric_attributes: dict[str, Any], result: Any
    ) -> None:
        telemetry = self.telemetry
        model = getattr(result, "model", None)
        _put(attributes, "gen_ai.response.model", model)
        _put(metric_attributes, "gen_ai.response.model", model)
        raw = getattr(result, "raw", None)
        if isinstance(raw, Mapping):
            _put(attributes, "gen_ai.response.id", raw.get("id"))
        _put(attributes, "hostkit.request_id", getattr(result, "request_id", None))
        reasons = finish_reasons(result)
        if reasons:
            attributes["gen_ai.response.finish_reasons"] = tuple(reasons)
        usage = getattr(result, "usage", None)
        for kind in ("input", "output"):
            count = getattr(usage, f"{kind}_tokens", None)
            if isinstance(count, int):
                attributes[f"gen_ai.usage.{kind}_tokens"] = count
        cost = getattr(result, "cost_usd", None)
        if isinstance(cost, (int, float)):
            attributes["hostkit.cost_usd"] = float(cost)
        ttft = getattr(result, "ttft_s", None)
        if isinstance(ttft, (int, float)):
            attributes["hostkit.ttft_s"] = float(ttft)
            attributes["gen_ai.response.time_to_first_chunk"] = float(ttft)
        timings = getattr(result, "timings", None)
        if isinstance(timings, Mapping):  # the platform's own, in seconds
            for key, seconds in timings.items():
                if isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
                    attributes[f"hostkit.timings.{key}"] = float(seconds)
        if telemetry.capture_content:
            attributes["gen_ai.output.messages"] = _content(output_messages(result, reasons))

    def _record_result(self, result: Any, metric_attributes: dict[str, Any]) -> None:
        telemetry = self.telemetry
        usage = getattr(result, "usage", None)
        for kind in ("input", "output"):
            count = getattr(usage, f"{kind}_tokens", None)
            if isinstance(count, int):
                telemetry.tokens.record(count, {**metric_attributes, "gen_ai.token.type": kind})
        cost = getattr(result, "cost_usd", None)
        if isinstance(cost, (int, float)) and cost >= 0:
            kept = ("gen_ai.provider.name", "hostkit.operation", "gen_ai.request.model")
            cost_attributes = {k: v for k, v in metric_attributes.items() if k in kept}
            telemetry.cost.add(float(cost), cost_attributes)
        ttft = getattr(result, "ttft_s", None)
        if isinstance(ttft, (int, float)):
            telemetry.first_chunk.record(float(ttft), metric_attributes)


def _field(target: Any, key: str) -> Any:
    return target.get(key) if isinstance(target, Mapping) else getattr(target, key, None)


def _target_name(target: Any) -> str | None:
    if isinstance(target, str):
        return target
    if isinstance(target, Mapping):
        name = target.get("name")
        return name if isinstance(name, str) else None
    name = getattr(target, "name", None)
    return name if isinstance(name, str) else None


def enable(
    tracer_provider: Any = None, meter_provider: Any = None, *, capture_content: bool = False
) -> None:
    """Emit an OpenTelemetry span and metrics for every hostkit operation.

    ``tracer_provider`` and ``meter_provider`` default to the global ones
    (``opentelemetry.trace.set_tracer_provider``). Prompts and completions are
    recorded (``gen_ai.input.messages``/``gen_ai.output.messages``) only with
    ``capture_content=True``. Calling it again replaces the earlier settings.
    """
    from hostkit import _events
    from hostkit.errors import ConfigError, DependencyMissing

    if not isinstance(capture_content, bool):
        raise ConfigError(
            f"capture_content: expected True or False, got {type(capture_content).__name__}"
        )
    try:
        import opentelemetry.trace  # noqa: F401
    except ImportError:
        raise DependencyMissing(
            'telemetry needs opentelemetry-api; pip install "hostkit-ml[otel]"'
        ) from None
    _events._set_telemetry(Telemetry(tracer_provider, meter_provider, capture_content))


def disable() -> None:
    """Stop emitting spans and metrics (operations in flight still finish theirs)."""
    from hostkit import _events

    _events._set_telemetry(None)


def is_enabled() -> bool:
    """Whether :func:`enable` is in effect."""
    from hostkit import _events

    return _events._telemetry is not None
