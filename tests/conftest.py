"""Shared fixtures: the OpenTelemetry SDK kept in memory, and the serverless platforms.

Test modules are imported with ``--import-mode=importlib`` and cannot import each
other, so what several of them need lives here (``Otel`` is imported under
``TYPE_CHECKING`` only, for annotations).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes
from opentelemetry.semconv.attributes import error_attributes, server_attributes

import hostkit
import hostkit.telemetry
from hostkit.testing import cassette

#: every attribute name the semantic conventions define in these namespaces
CONVENTIONS = {
    value
    for module in (gen_ai_attributes, server_attributes, error_attributes)
    for name, value in vars(module).items()
    if name.isupper() and isinstance(value, str)
}
#: the attributes that hold prompts and completions (recorded only on opt-in)
CONTENT = frozenset({"gen_ai.input.messages", "gen_ai.output.messages"})


class Otel:
    """An SDK tracer provider and meter provider that keep everything in memory."""

    conventions = CONVENTIONS
    content = CONTENT

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def enable(self, **options: Any) -> None:
        hostkit.telemetry.enable(self.tracer_provider, self.meter_provider, **options)

    def spans(self, operation: str | None = None) -> list[ReadableSpan]:
        found = self.exporter.get_finished_spans()
        return [
            s
            for s in found
            if operation is None or (s.attributes or {}).get("hostkit.operation") == operation
        ]

    def span(self, operation: str) -> ReadableSpan:
        (only,) = self.spans(operation)
        return only

    def metrics(self) -> list[Any]:
        """Every metric the reader collected (name, unit, data points)."""
        data = self.reader.get_metrics_data()
        return [
            m
            for resource in (data.resource_metrics if data else ())
            for scope in resource.scope_metrics
            for m in scope.metrics
        ]

    def points(self, metric: str) -> list[Any]:
        return [p for m in self.metrics() if m.name == metric for p in m.data.data_points]

    def units(self) -> dict[str, str]:
        return {m.name: m.unit for m in self.metrics()}

    @staticmethod
    def attrs(span: ReadableSpan) -> dict[str, Any]:
        return dict(span.attributes or {})

    def assert_named_by_the_conventions(self, span: ReadableSpan) -> None:
        for key in self.attrs(span):
            assert key.startswith("hostkit.") or key in CONVENTIONS, f"{key}: not a convention"


@pytest.fixture
def otel() -> Iterator[Otel]:
    """Telemetry on, into an in-memory exporter and reader (off again afterwards)."""
    made = Otel()
    made.enable()
    yield made
    hostkit.telemetry.disable()
    made.tracer_provider.shutdown()
    made.meter_provider.shutdown()


@pytest.fixture
def make_otel() -> type[Otel]:
    """The :class:`Otel` class itself, for tests that enable telemetry their own way."""
    return Otel


# -- the serverless platforms, replayed from their recorded cassettes ----------------
PROVIDERS = Path(__file__).resolve().parents[1] / "providers"
#: the prompt every serverless cassette (ainvoke, invoke, stream, error_*) was recorded with
SERVERLESS_PROMPT = "Say hello in five words."


@dataclass
class ServerlessTarget:
    """A serverless deployment whose cassettes are ``providers/<name>/tests/cassettes``.

    ``params`` are the call parameters the cassettes hold; ``waits`` collects the retry
    waits the platform asked for (recorded instead of slept).
    """

    name: str
    deployment: hostkit.Deployment
    params: dict[str, Any]
    waits: list[float] = field(default_factory=list)

    def tape(self, cassette_name: str) -> Path:
        return PROVIDERS / self.name / "tests" / "cassettes" / cassette_name


def _groq(monkeypatch: pytest.MonkeyPatch) -> tuple[hostkit.Deployment, dict[str, Any]]:
    monkeypatch.setenv("GROQ_API_KEY", "gsk_testFakeKey000000")
    provider = hostkit.get_provider("groq")
    dep = provider.serverless_deployment("groq-chat", "openai/gpt-oss-120b", None, {})
    return dep, {"max_tokens": 64, "temperature": 0}


def _cerebras(monkeypatch: pytest.MonkeyPatch) -> tuple[hostkit.Deployment, dict[str, Any]]:
    monkeypatch.setenv("CEREBRAS_API_KEY", "csk-test-not-a-real-key")
    for name in ("CEREBRAS_BASE_URL", "CEREBRAS_CUSTOM_HEADERS"):
        monkeypatch.delenv(name, raising=False)
    provider = hostkit.get_provider("cerebras")
    return provider.serverless_deployment("chat", "gpt-oss-120b", None, {}), {"max_tokens": 256}


def _huggingface(monkeypatch: pytest.MonkeyPatch) -> tuple[hostkit.Deployment, dict[str, Any]]:
    monkeypatch.setenv("HF_TOKEN", "hf_hostkitFakeTestToken00")
    for name in ("HF_HUB_OFFLINE", "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    provider = hostkit.get_provider("huggingface")
    with cassette(PROVIDERS / "huggingface" / "tests" / "cassettes" / "deploy.yaml"):
        dep = provider.deploy({"model": SERVERLESS_MODELS["huggingface"]})
    return dep, {"max_tokens": 32}


def _replicate(monkeypatch: pytest.MonkeyPatch) -> tuple[hostkit.Deployment, dict[str, Any]]:
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_testsFakeToken0000")
    provider = hostkit.get_provider("replicate")
    with cassette(PROVIDERS / "replicate" / "tests" / "cassettes" / "deploy.yaml"):
        dep = provider.deploy({"model": SERVERLESS_MODELS["replicate"]})
    return dep, {"max_tokens": 32}


SERVERLESS_MODELS = {
    "groq": "openai/gpt-oss-120b",
    "cerebras": "gpt-oss-120b",
    "huggingface": "meta-llama/Llama-3.3-70B-Instruct",
    "replicate": "meta/meta-llama-3-8b-instruct",
}
_SETUPS: dict[str, Callable[[pytest.MonkeyPatch], tuple[hostkit.Deployment, dict[str, Any]]]] = {
    "groq": _groq,
    "cerebras": _cerebras,
    "huggingface": _huggingface,
    "replicate": _replicate,
}


@pytest.fixture
def serverless(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], ServerlessTarget]:
    """Deploy ``"groq"``, ``"cerebras"``, ``"huggingface"`` (router) or ``"replicate"``.

    Fake credentials, the platform's recorded deploy where it has one, and the
    provider's retry waits recorded instead of slept.
    """

    def make(name: str) -> ServerlessTarget:
        dep, params = _SETUPS[name](monkeypatch)
        target = ServerlessTarget(name, dep, params)
        provider = dep._provider
        assert provider is not None

        async def asleep(seconds: float) -> None:
            target.waits.append(seconds)

        monkeypatch.setattr(provider.retry, "sleep", target.waits.append)
        monkeypatch.setattr(provider.retry, "asleep", asleep)
        return target

    return make
