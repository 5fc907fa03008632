"""OpenTelemetry spans and metrics, checked with the SDK's in-memory exporter and reader.

Against the real ``local`` provider (a Python model and an OpenAI-style LLM server)
and the ``groq`` adapter replaying its recorded cassettes.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.semconv._incubating.metrics import gen_ai_metrics
from opentelemetry.trace import SpanKind, StatusCode

import hostkit
import hostkit.telemetry
from hostkit import errors

if TYPE_CHECKING:
    from conftest import Otel  # tests/conftest.py: the shared in-memory SDK fixtures

ROOT = Path(__file__).resolve().parents[1]
FAKE_SERVER = ROOT / "examples" / "fake_openai_server.py"
GROQ_CASSETTES = ROOT / "providers" / "groq" / "tests" / "cassettes"
EXAMPLE = "hostkit_examples.study_score:predict"
GROQ_KEY = "gsk_testFakeKey000000"
GROQ_MODEL = "openai/gpt-oss-120b"
GROQ_PROMPT = "Say hello in five words."
GROQ_PARAMS: dict[str, Any] = {"max_tokens": 64, "temperature": 0}


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


# -- off by default ------------------------------------------------------------
def test_off_by_default_and_nothing_of_opentelemetry_is_imported() -> None:
    code = textwrap.dedent(
        """
        import sys, json
        import hostkit, hostkit.telemetry
        from hostkit import Capabilities, Deployment, InvokeResult, Usage

        class Tiny(hostkit.Provider):
            name = "tiny"
            capabilities = Capabilities(dedicated=False)
            def invoke(self, deployment, request, **params):
                return InvokeResult(text="hi", output="hi", usage=Usage(1, 1), latency_s=0.0,
                                    provider=self.name, model=deployment.model)
            _create = find = status = _teardown = cost = offerings = None

        hostkit.add_hook(lambda event: None)  # events flow, telemetry stays off
        dep = Deployment(name="d", provider="tiny", model="m", status="ready")
        assert Tiny().invoke(dep, "hello").text == "hi"
        print(json.dumps([hostkit.telemetry.is_enabled(),
                          sorted(m for m in sys.modules if m.startswith("opentelemetry"))]))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [False, []]


def test_enable_checks_its_arguments_and_disable_stops_the_spans(make_otel: type[Otel]) -> None:
    with pytest.raises(errors.ConfigError, match="capture_content"):
        hostkit.telemetry.enable(capture_content="yes")  # type: ignore[arg-type]
    assert not hostkit.telemetry.is_enabled()
    made = make_otel()
    made.enable()
    assert hostkit.telemetry.is_enabled()
    hostkit.telemetry.disable()
    assert not hostkit.telemetry.is_enabled()
    dep = hostkit.Deployment(name="d", provider="groq", model=GROQ_MODEL, status="ready")
    assert hostkit.cost(dep, hours=1).usd == 0.0  # any call: nothing recorded
    assert made.spans() == []


# -- the local provider ---------------------------------------------------------
def test_local_lifecycle_and_a_python_model(otel: Otel, local: hostkit.Provider) -> None:
    dep = local.deploy({"model": EXAMPLE, "name": "scores"})
    result = local.invoke(dep, {"hours": [2, 5]})
    scaled = local.scale(dep, 2)
    local.teardown(scaled)

    deploy = otel.span("deploy")
    assert deploy.name == "deploy scores" and deploy.kind == SpanKind.INTERNAL
    assert attrs(deploy) | {"server.port": 0} == {
        "hostkit.operation": "deploy",
        "hostkit.provider": "local",
        "hostkit.deployment.name": "scores",
        "hostkit.model": EXAMPLE,
        "hostkit.deployment.instance": "local",
        "hostkit.deployment.replicas": 1,
        "hostkit.deployment.status": "ready",
        "hostkit.outcome": "ok",
        "hostkit.retries": 0,
        "server.address": "127.0.0.1",
        "server.port": 0,
    }
    scale = otel.span("scale")
    assert scale.name == "scale scores"
    assert attrs(scale)["hostkit.scale.replicas"] == 2
    assert attrs(scale)["hostkit.deployment.replicas"] == 2
    teardown = otel.span("teardown")
    assert teardown.name == "teardown scores" and attrs(teardown)["hostkit.outcome"] == "ok"

    invoke = otel.span("invoke")
    # a model-specific payload is not a chat: the operation keeps hostkit's name
    assert invoke.name == f"invoke {EXAMPLE}" and invoke.kind == SpanKind.CLIENT
    a = attrs(invoke)
    assert a["gen_ai.operation.name"] == "invoke"
    assert a["gen_ai.provider.name"] == a["gen_ai.system"] == "local"
    assert a["gen_ai.request.model"] == a["gen_ai.response.model"] == EXAMPLE
    assert a["hostkit.request_id"] == result.request_id
    assert "gen_ai.usage.input_tokens" not in a  # a Python model counts no tokens
    for span in otel.spans():
        assert span.status.status_code == StatusCode.UNSET
        otel.assert_named_by_the_conventions(span)

    lifecycle = otel.points("hostkit.operation.duration")
    assert sorted(p.attributes["hostkit.operation"] for p in lifecycle) == [
        "deploy",
        "scale",
        "teardown",
    ]
    assert all(set(p.attributes) == {"hostkit.operation", "hostkit.provider"} for p in lifecycle)
    (duration,) = otel.points(gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION)
    assert duration.count == 1 and duration.sum > 0
    assert otel.points(gen_ai_metrics.GEN_AI_CLIENT_TOKEN_USAGE) == []


def _llm_spec(name: str = "llm") -> dict[str, object]:
    command = [sys.executable, str(FAKE_SERVER), "--port", "{port}"]
    return {"model": "fake-llm", "name": name, "options": {"command": command}}


def test_local_llm_follows_the_genai_conventions(otel: Otel, local: hostkit.Provider) -> None:
    dep = local.deploy(_llm_spec())
    result = local.invoke(dep, "hello there", max_tokens=20, temperature=0.5, stop="\n")
    stream = local.stream(dep, "hello there")
    assert "".join(stream) == result.text
    asyncio.run(local.ainvoke(dep, [{"role": "user", "content": "hello there"}]))
    with pytest.raises(errors.ProviderError):
        local.invoke(dep, "please [fail]")

    ok, failed = otel.spans("invoke")
    assert ok.name == "chat fake-llm" and ok.kind == SpanKind.CLIENT
    a = attrs(ok)
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.request.model"] == a["gen_ai.response.model"] == "fake-llm"
    assert (a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"]) == (2, 3)
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert a["gen_ai.request.max_tokens"] == 20 and a["gen_ai.request.temperature"] == 0.5
    assert a["gen_ai.request.stop_sequences"] == ("\n",)
    assert a["server.address"] == "127.0.0.1" and a["server.port"] > 0
    assert a["hostkit.retries"] == 0 and "error.type" not in a
    assert not otel.content & set(a)  # content is off by default

    s = attrs(otel.span("stream"))
    assert s["gen_ai.request.stream"] is True
    assert s["hostkit.ttft_s"] == s["gen_ai.response.time_to_first_chunk"] > 0
    assert (s["gen_ai.usage.input_tokens"], s["gen_ai.usage.output_tokens"]) == (2, 3)
    assert attrs(otel.span("ainvoke"))["gen_ai.usage.output_tokens"] == 3

    assert failed.status.status_code == StatusCode.ERROR
    assert attrs(failed)["error.type"] == "hostkit.errors.ProviderError"
    assert attrs(failed)["hostkit.outcome"] == "ProviderError"
    assert "refused" in (failed.status.description or "")
    assert [e.name for e in failed.events] == ["exception"]
    for span in otel.spans():
        otel.assert_named_by_the_conventions(span)
        assert not otel.content & set(attrs(span))

    tokens = otel.points(gen_ai_metrics.GEN_AI_CLIENT_TOKEN_USAGE)
    by_type = {
        p.attributes["gen_ai.token.type"]: p
        for p in tokens
        if p.attributes["hostkit.operation"] == "invoke"
    }
    assert by_type["input"].sum == 2 and by_type["output"].sum == 3
    assert by_type["input"].attributes["gen_ai.operation.name"] == "chat"
    durations = otel.points(gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION)
    assert sum(p.count for p in durations) == 4  # invoke, stream, ainvoke, failed invoke
    assert any(p.attributes.get("error.type") == "hostkit.errors.ProviderError" for p in durations)
    (error_count,) = otel.points("hostkit.errors")
    assert error_count.value == 1
    assert error_count.attributes["error.type"] == "hostkit.errors.ProviderError"
    (first_chunk,) = otel.points(gen_ai_metrics.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK)
    assert first_chunk.count == 1
    units = otel.units()
    assert units[gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION] == "s"
    assert units[gen_ai_metrics.GEN_AI_CLIENT_TOKEN_USAGE] == "{token}"

    # opting in records prompt and completion in the conventions' message shape
    otel.exporter.clear()
    otel.enable(capture_content=True)
    local.invoke(dep, "hello there")
    span = attrs(otel.span("invoke"))
    assert json.loads(span["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "hello there"}]}
    ]
    assert json.loads(span["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "echo: hello there"}],
            "finish_reason": "stop",
        }
    ]


# -- a serverless provider, replayed ----------------------------------------------
@pytest.fixture
def groq_dep(monkeypatch: pytest.MonkeyPatch) -> Iterator[hostkit.Deployment]:
    from hostkit_providers.groq import GroqProvider

    monkeypatch.setenv("GROQ_API_KEY", GROQ_KEY)
    for name in ("GROQ_BASE_URL", "GROQ_CUSTOM_HEADERS"):
        monkeypatch.delenv(name, raising=False)
    provider = hostkit.get_provider("groq")
    assert isinstance(provider, GroqProvider)
    provider.retry.sleep = lambda seconds: None

    async def no_wait(seconds: float) -> None:
        return None

    provider.retry.asleep = no_wait
    info = {"id": GROQ_MODEL, "object": "model", "context_window": 131072, "active": True}
    yield provider.serverless_deployment("chat", GROQ_MODEL, None, info)
    provider.close()


def replay(name: str) -> Any:
    from hostkit.testing import cassette

    return cassette(GROQ_CASSETTES / name)


def test_groq_invoke_stream_and_ainvoke(otel: Otel, groq_dep: hostkit.Deployment) -> None:
    with replay("invoke.yaml"):
        result = hostkit.invoke(groq_dep, GROQ_PROMPT, **GROQ_PARAMS)
    with replay("stream.yaml"):
        streamed = hostkit.stream(groq_dep, GROQ_PROMPT, **GROQ_PARAMS).text()
    with replay("ainvoke.yaml"):
        asyncio.run(hostkit.ainvoke(groq_dep, GROQ_PROMPT, **GROQ_PARAMS))
    assert streamed == result.text

    span = otel.span("invoke")
    assert span.name == f"chat {GROQ_MODEL}" and span.kind == SpanKind.CLIENT
    a = attrs(span)
    assert a["gen_ai.provider.name"] == a["gen_ai.system"] == "groq"
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.request.model"] == a["gen_ai.response.model"] == GROQ_MODEL
    assert (a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"]) == (77, 29)
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert a["gen_ai.response.id"].startswith("chatcmpl-")
    assert a["server.address"] == "api.groq.com"
    assert a["gen_ai.request.max_tokens"] == 64 and a["gen_ai.request.temperature"] == 0
    assert a["hostkit.cost_usd"] == pytest.approx((77 * 0.15 + 29 * 0.60) / 1e6)
    assert a["hostkit.request_id"] == result.request_id and a["hostkit.retries"] == 0
    assert "hostkit.ttft_s" not in a  # a whole answer has no first token time
    s = attrs(otel.span("stream"))
    assert s["hostkit.ttft_s"] > 0 and s["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs(otel.span("ainvoke"))["gen_ai.usage.input_tokens"] == 77
    for each in otel.spans():
        otel.assert_named_by_the_conventions(each)
        assert not otel.content & set(attrs(each))

    costs = {p.attributes["hostkit.operation"]: p.value for p in otel.points("hostkit.cost")}
    assert costs["invoke"] == pytest.approx(result.cost_usd)
    assert set(costs) == {"invoke", "stream", "ainvoke"}
    assert otel.units()["hostkit.cost"] == "USD"
    tokens = otel.points(gen_ai_metrics.GEN_AI_CLIENT_TOKEN_USAGE)
    assert sum(p.sum for p in tokens if p.attributes["gen_ai.token.type"] == "output") == 3 * 29
    assert all(p.attributes["server.address"] == "api.groq.com" for p in tokens)


def test_groq_retries_are_counted_per_operation(otel: Otel, groq_dep: hostkit.Deployment) -> None:
    with replay("error_429_then_ok.yaml"):
        hostkit.invoke(groq_dep, GROQ_PROMPT, **GROQ_PARAMS)
    with replay("error_429_exhausted.yaml"), pytest.raises(errors.RateLimited):
        hostkit.invoke(groq_dep, GROQ_PROMPT, **GROQ_PARAMS)
    with replay("error_429_then_ok.yaml"):
        asyncio.run(hostkit.ainvoke(groq_dep, GROQ_PROMPT, **GROQ_PARAMS))

    recovered, exhausted = otel.spans("invoke")
    assert attrs(recovered)["hostkit.retries"] == 1 and "error.type" not in attrs(recovered)
    assert attrs(exhausted)["hostkit.retries"] == 3
    assert attrs(exhausted)["error.type"] == "hostkit.errors.RateLimited"
    assert attrs(otel.span("ainvoke"))["hostkit.retries"] == 1
    retries = {
        (p.attributes["hostkit.operation"], p.attributes["error.type"]): p.value
        for p in otel.points("hostkit.retries")
    }
    assert retries == {
        ("invoke", "hostkit.errors.RateLimited"): 4,
        ("ainvoke", "hostkit.errors.RateLimited"): 1,
    }
    (failures,) = otel.points("hostkit.errors")
    assert failures.value == 1 and failures.attributes["error.type"] == "hostkit.errors.RateLimited"


def test_groq_error_spans_and_no_secret_anywhere(otel: Otel, groq_dep: hostkit.Deployment) -> None:
    otel.enable(capture_content=True)
    with replay("error_401.yaml"), pytest.raises(errors.AuthenticationError):
        hostkit.invoke(groq_dep, GROQ_PROMPT, **GROQ_PARAMS)
    with replay("invoke.yaml"):
        hostkit.invoke(groq_dep, GROQ_PROMPT, **GROQ_PARAMS)
    failed, ok = otel.spans("invoke")
    assert failed.status.status_code == StatusCode.ERROR
    assert attrs(failed)["error.type"] == "hostkit.errors.AuthenticationError"
    assert GROQ_PROMPT in attrs(ok)["gen_ai.input.messages"]
    assert "Hello there" in attrs(ok)["gen_ai.output.messages"]
    dumped = "".join(span.to_json() for span in otel.spans())
    assert GROQ_KEY not in dumped


# -- robustness and context --------------------------------------------------------
class BrokenExporter(SpanExporter):
    def export(self, spans: Any) -> SpanExportResult:
        raise RuntimeError("collector down")


class BrokenProcessor(SpanProcessor):
    def on_start(self, span: Any, parent_context: Any = None) -> None:
        raise RuntimeError("processor bug at start")

    def on_end(self, span: ReadableSpan) -> None:
        raise RuntimeError("processor bug at end")


class BrokenOnEnd(SpanProcessor):
    def on_end(self, span: ReadableSpan) -> None:
        raise RuntimeError("processor bug at end")


@pytest.mark.parametrize(
    "processor", [SimpleSpanProcessor(BrokenExporter()), BrokenProcessor(), BrokenOnEnd()]
)
def test_a_failing_exporter_or_processor_never_breaks_a_call(
    processor: SpanProcessor, groq_dep: hostkit.Deployment
) -> None:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(processor)
    reader = InMemoryMetricReader()
    hostkit.telemetry.enable(tracer_provider, MeterProvider(metric_readers=[reader]))
    try:
        with replay("invoke.yaml"):
            result = hostkit.invoke(groq_dep, GROQ_PROMPT, **GROQ_PARAMS)
        with replay("stream.yaml"):
            assert hostkit.stream(groq_dep, GROQ_PROMPT, **GROQ_PARAMS).text() == result.text
    finally:
        hostkit.telemetry.disable()
    assert result.text == "Hello there, nice meeting you!"
    names = {
        m.name
        for r in reader.get_metrics_data().resource_metrics
        for s in r.scope_metrics
        for m in s.metrics
    }
    assert gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION in names  # metrics still recorded


def test_spans_nest_under_the_callers_span_and_are_current_inside(
    otel: Otel, groq_dep: hostkit.Deployment
) -> None:
    seen: list[Any] = []
    remove = hostkit.add_hook(lambda event: seen.append(trace.get_current_span()), before=True)
    tracer = otel.tracer_provider.get_tracer("app")
    try:
        with tracer.start_as_current_span("request") as parent, replay("invoke.yaml"):
            hostkit.invoke(groq_dep, GROQ_PROMPT, **GROQ_PARAMS)
    finally:
        remove()
    span = otel.span("invoke")
    assert span.parent is not None and span.parent.span_id == parent.get_span_context().span_id
    assert seen[0].get_span_context().span_id == span.context.span_id
    assert trace.get_current_span() is trace.INVALID_SPAN  # the context was left again


# -- streams closed early, and captured content (issue #19 items 8 and 9) ---------------
class _Chunky(hostkit.Provider):
    """A streaming provider in-process: four one-token chunks, usage known at the end."""

    name = "chunky"
    capabilities = hostkit.Capabilities(dedicated=False, streaming=True)
    WORDS = ("one ", "two ", "three ", "four ")

    def invoke(self, deployment: Any, request: Any, **params: Any) -> hostkit.InvokeResult:
        return self._result(deployment, list(self.WORDS))

    def _result(self, deployment: Any, seen: list[str]) -> hostkit.InvokeResult:
        text = "".join(seen)
        return hostkit.InvokeResult(
            text=text,
            output=text,
            usage=hostkit.Usage(3, len(seen)),
            latency_s=0.01,
            provider=self.name,
            model=deployment.model,
        )

    def stream(self, deployment: Any, request: Any, **params: Any) -> Any:
        from hostkit._models import Stream

        seen: list[str] = []

        def chunks() -> Iterator[str]:
            for word in self.WORDS:
                seen.append(word)
                yield word

        return Stream(chunks(), lambda: self._result(deployment, seen))

    _create = find = status = _teardown = cost = offerings = None  # type: ignore[assignment]


@pytest.fixture
def chunky() -> tuple[hostkit.Provider, hostkit.Deployment, list[Any]]:
    provider = _Chunky()
    events: list[Any] = []
    provider.hooks.add(events.append)
    dep = hostkit.Deployment(name="c", provider="chunky", model="chunky-1", status="ready")
    return provider, dep, events


def _after(events: list[Any]) -> list[str]:
    return [e.outcome for e in events if e.phase == "after"]


def test_a_stream_closed_early_ends_its_span_cancelled_with_the_tokens_seen(
    otel: Otel, chunky: tuple[hostkit.Provider, hostkit.Deployment, list[Any]]
) -> None:
    provider, dep, events = chunky
    assert "".join(provider.stream(dep, "hi")) == "one two three four "
    closed = provider.stream(dep, "hi")
    assert next(closed) == "one "
    assert next(closed) == "two "
    closed.close()
    with provider.stream(dep, "hi") as left:
        for _ in left:
            break  # leaves the with block after one chunk

    spans = otel.spans("stream")
    assert len(spans) == 3, "every stream ends its span"
    outcomes = sorted(
        (attrs(s)["hostkit.outcome"], attrs(s).get("gen_ai.usage.output_tokens")) for s in spans
    )
    assert outcomes == [("cancelled", 1), ("cancelled", 2), ("ok", 4)]
    assert all(s.status.status_code != StatusCode.ERROR for s in spans)
    assert sorted(_after(events)) == ["cancelled", "cancelled", "ok"]
    durations = otel.points(gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION)
    assert sum(p.count for p in durations) == 3
    output = [
        p
        for p in otel.points(gen_ai_metrics.GEN_AI_CLIENT_TOKEN_USAGE)
        if p.attributes["gen_ai.token.type"] == "output"
    ]
    assert sum(p.sum for p in output) == 4 + 2 + 1
    closed.close()  # a second close changes nothing
    assert len(otel.spans("stream")) == 3 and len(_after(events)) == 3


def test_a_stream_dropped_unread_ends_its_span_when_collected(
    otel: Otel, chunky: tuple[hostkit.Provider, hostkit.Deployment, list[Any]]
) -> None:
    import gc

    provider, dep, events = chunky
    stream = provider.stream(dep, "hi")
    next(stream)
    del stream
    gc.collect()
    (span,) = otel.spans("stream")
    assert attrs(span)["hostkit.outcome"] == "cancelled"
    assert attrs(span)["gen_ai.usage.output_tokens"] == 1
    assert _after(events) == ["cancelled"]


def test_an_exception_in_the_consumer_ends_the_stream_s_span_cancelled(
    otel: Otel, chunky: tuple[hostkit.Provider, hostkit.Deployment, list[Any]]
) -> None:
    provider, dep, events = chunky
    with pytest.raises(KeyError), provider.stream(dep, "hi") as stream:
        for chunk in stream:
            if chunk == "two ":
                raise KeyError(chunk)
    (span,) = otel.spans("stream")
    assert attrs(span)["hostkit.outcome"] == "cancelled"
    assert attrs(span)["gen_ai.usage.output_tokens"] == 2
    assert _after(events) == ["cancelled"]


def test_captured_content_is_scrubbed_of_registered_secrets(
    otel: Otel, chunky: tuple[hostkit.Provider, hostkit.Deployment, list[Any]]
) -> None:
    from hostkit._redact import register_secret

    secret = "sk-hostkit-telemetry-secret-0042"
    register_secret(secret)
    otel.enable(capture_content=True)
    provider, dep, _ = chunky
    provider.WORDS = (f"your key is {secret} ",)  # type: ignore[misc]
    provider.invoke(dep, f"my key is {secret}, keep it")
    provider.stream(dep, [{"role": "user", "content": f"again: {secret}"}]).text()
    for span in otel.spans():
        a = attrs(span)
        assert secret not in a["gen_ai.input.messages"]
        assert secret not in a["gen_ai.output.messages"]
        assert "***" in a["gen_ai.input.messages"] and "***" in a["gen_ai.output.messages"]
