"""Shared fixtures: the OpenTelemetry SDK kept in memory, and the serverless platforms.

Test modules are imported with ``--import-mode=importlib`` and cannot import each
other, so what several of them need lives here (``Otel`` is imported under
``TYPE_CHECKING`` only, for annotations).
"""

from __future__ import annotations

import datetime as _dt
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
from hostkit.compare import ObservedCost
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


@dataclass(frozen=True)
class Recorded:
    """What one platform's recorded answers (ainvoke, stream, error_429_exhausted) say."""

    text: str
    usage: tuple[int, int]
    #: the platform's own timings in ainvoke.yaml and in stream.yaml
    timings: dict[str, float]
    stream_total_time: float
    #: USD per call (recorded usage x prices.toml), its source and date; None: unpriced
    per_call: float | None
    source: str | None
    as_of: str | None
    #: the retry-after of each 429 in error_429_exhausted.yaml but the last
    waits: tuple[float, ...]


TODAY = _dt.date.today().isoformat()
RECORDED = {
    "groq": Recorded(
        text="Hello there, nice meeting you!",
        usage=(77, 29),
        timings={  # usage.{queue,prompt,completion,total}_time
            "queue_time": 0.049621843,
            "prompt_time": 0.004207611,
            "completion_time": 0.05842231,
            "total_time": 0.062629921,
        },
        stream_total_time=0.062094214,  # x_groq.usage on the last chunk
        per_call=(77 * 0.15 + 29 * 0.60) / 1e6,  # openai/gpt-oss-120b in groq/prices.toml
        source="https://groq.com/pricing/",
        as_of="2026-06-04",
        waits=(2.0, 1.0, 3.0),
    ),
    "cerebras": Recorded(
        text="Hello there, nice to meet!",
        usage=(76, 29),
        timings={  # time_info
            "queue_time": 0.000412,
            "prompt_time": 0.00231,
            "completion_time": 0.009844,
            "total_time": 0.01493,
        },
        stream_total_time=0.01493,
        per_call=(76 * 0.35 + 29 * 0.75) / 1e6,  # gpt-oss-120b in cerebras/prices.toml
        source="https://inference-docs.cerebras.ai/models/openai-oss",
        as_of="2026-11-22",
        waits=(2.0, 2.0, 2.0),
    ),
    "huggingface": Recorded(
        text="Hello there, nice to meet you!",
        usage=(43, 9),
        timings={  # the serving backend's (groq) usage timings, passed through the router
            "queue_time": 0.051829,
            "prompt_time": 0.002291,
            "completion_time": 0.0325,
            "total_time": 0.034791,
        },
        stream_total_time=0.034791,
        # groq's $0.59 / $0.79 per million, live in deploy.yaml's recorded model list
        per_call=(43 * 0.59 + 9 * 0.79) / 1e6,
        source="https://router.huggingface.co/v1/models",
        as_of=TODAY,  # a live price is dated the day it is read
        waits=(2.0, 2.0, 2.0),
    ),
    "replicate": Recorded(
        text="Hello! Nice to meet you!",
        usage=(18, 7),
        timings={"predict_time": 0.184521, "time_to_first_token": 0.031277, "total_time": 0.213947},
        stream_total_time=0.213947,
        per_call=None,  # replicate/prices.toml ships no per-token model price
        source=None,
        as_of=None,
        waits=(1.0, 1.0, 1.0),
    ),
}


@dataclass
class ServerlessTarget:
    """A serverless deployment whose cassettes are ``providers/<name>/tests/cassettes``.

    Every one of them (ainvoke, stream, error_*) was recorded for the prompt
    ``"Say hello in five words."``.

    ``params`` are the call parameters the cassettes hold; ``waits`` collects the retry
    waits the platform asked for (recorded instead of slept).
    """

    name: str
    deployment: hostkit.Deployment
    params: dict[str, Any]
    recorded: Recorded
    waits: list[float] = field(default_factory=list)

    def tape(self, cassette_name: str) -> Path:
        return PROVIDERS / self.name / "tests" / "cassettes" / cassette_name

    def assert_cost(self, cost: ObservedCost, calls: int) -> None:
        """Per 1,000 requests and per million tokens from the recorded usage, or None and why."""
        assert cost.basis == "sum of InvokeResult.cost_usd (per-use billing)"
        per_call = self.recorded.per_call
        if per_call is None:
            assert cost.per_1k_requests is None and cost.per_million_tokens is None
            assert cost.note == (
                f"{calls} of {calls} results came without a price: the {self.name} adapter"
                f" knows no price for {self.deployment.model} (set one under [prices] in the"
                " config)"
            )
            return
        assert cost.per_1k_requests == pytest.approx(per_call * 1000)
        tokens = sum(self.recorded.usage)
        assert cost.per_million_tokens == pytest.approx(per_call / tokens * 1e6)
        assert (cost.source, cost.as_of) == (self.recorded.source, self.recorded.as_of)
        assert cost.note is None


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
        target = ServerlessTarget(name, dep, params, RECORDED[name])
        provider = dep._provider
        assert provider is not None

        async def asleep(seconds: float) -> None:
            target.waits.append(seconds)

        monkeypatch.setattr(provider.retry, "sleep", target.waits.append)
        monkeypatch.setattr(provider.retry, "asleep", asleep)
        return target

    return make
