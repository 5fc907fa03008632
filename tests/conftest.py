"""Fixtures shared by the telemetry tests: the OpenTelemetry SDK, kept in memory.

Test modules are imported with ``--import-mode=importlib`` and cannot import each
other, so what several of them need lives here (``Otel`` is imported under
``TYPE_CHECKING`` only, for annotations).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes
from opentelemetry.semconv.attributes import error_attributes, server_attributes

import hostkit.telemetry

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
