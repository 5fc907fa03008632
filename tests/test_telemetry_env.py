"""``HOSTKIT_TELEMETRY=1``: telemetry turns on at the first operation, and ``import hostkit``
still imports nothing of OpenTelemetry. Each case runs in a fresh interpreter, since the
variable is read when hostkit is imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import sys, json
    import hostkit, hostkit.telemetry
    from hostkit import Capabilities, Deployment, InvokeResult, Usage

    at_import = sorted(m for m in sys.modules if m.startswith("opentelemetry"))
    enabled_before = hostkit.telemetry.is_enabled()

    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(tracer_provider)

    class Tiny(hostkit.Provider):
        name = "tiny"
        capabilities = Capabilities(dedicated=False)
        def invoke(self, deployment, request, **params):
            return InvokeResult(text="hi", output="hi", usage=Usage(3, 1), latency_s=0.0,
                                provider=self.name, model=deployment.model)
        _create = find = status = _teardown = cost = offerings = None

    dep = Deployment(name="d", provider="tiny", model="m", status="ready")
    Tiny().invoke(dep, "hello")
    spans = exporter.get_finished_spans()
    print(json.dumps({
        "at_import": at_import,
        "enabled_before": enabled_before,
        "enabled_after": hostkit.telemetry.is_enabled(),
        "spans": [s.name for s in spans],
        "content": [("gen_ai.input.messages" in s.attributes) for s in spans],
    }))
    """
)


def _run(**env: str) -> dict[str, object]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOSTKIT_TELEMETRY")}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        check=True,
        env={**clean, **env},
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_unset_means_off() -> None:
    result = _run()
    assert result == {
        "at_import": [],
        "enabled_before": False,
        "enabled_after": False,
        "spans": [],
        "content": [],
    }


def test_set_turns_telemetry_on_at_the_first_operation() -> None:
    result = _run(HOSTKIT_TELEMETRY="1")
    assert result["at_import"] == []  # nothing of OpenTelemetry at import hostkit
    assert result["enabled_before"] is False and result["enabled_after"] is True
    assert result["spans"] == ["chat m"] and result["content"] == [False]


def test_content_capture_is_a_second_opt_in() -> None:
    result = _run(HOSTKIT_TELEMETRY="true", HOSTKIT_TELEMETRY_CAPTURE_CONTENT="1")
    assert result["spans"] == ["chat m"] and result["content"] == [True]


def test_zero_means_off() -> None:
    assert _run(HOSTKIT_TELEMETRY="0")["spans"] == []


def test_without_opentelemetry_the_call_works_and_a_warning_says_why() -> None:
    code = textwrap.dedent(
        """
        import logging, sys
        sys.modules["opentelemetry"] = None  # as if opentelemetry-api were not installed
        logging.basicConfig(level=logging.WARNING)
        import hostkit
        from hostkit import Capabilities, Deployment, InvokeResult, Usage

        class Tiny(hostkit.Provider):
            name = "tiny"
            capabilities = Capabilities(dedicated=False)
            def invoke(self, deployment, request, **params):
                return InvokeResult(text="hi", output="hi", usage=Usage(), latency_s=0.0,
                                    provider=self.name, model=deployment.model)
            _create = find = status = _teardown = cost = offerings = None

        print(Tiny().invoke(Deployment(name="d", provider="tiny", model="m", status="ready"),
                            "x").text)
        """
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOSTKIT_TELEMETRY")}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**clean, "HOSTKIT_TELEMETRY": "1"},
    )
    assert out.stdout.strip() == "hi"
    assert "HOSTKIT_TELEMETRY is set, but telemetry stays off" in out.stderr
    assert 'pip install "hostkit-ml[otel]"' in out.stderr
