"""Print hostkit's three speed figures (a script, not a test).

(a) ``import hostkit`` time as a ratio to ``import httpx``: each measured inside a
    fresh interpreter, the two interleaved, medians. Target: at most 1.3.
(b) per-call overhead: ``hostkit.invoke`` on a ``local`` deployment versus a bare
    ``httpx`` POST to the same server, interleaved rounds, medians. Target: at most 1.05.
(c) tracing overhead: ``hostkit.invoke`` on the same kind of deployment with
    OpenTelemetry off versus on (``hostkit.telemetry.enable`` with the SDK's
    in-memory span exporter and metric reader), interleaved rounds, medians.

Run: ``python benchmarks/run.py [--rounds N] [--calls N]``. (a) and (b) need only the README
install; (c) needs the OpenTelemetry SDK, ``pip install "hostkit-ml[otel]" opentelemetry-sdk``
(the ``test`` extra has both), and is skipped with a note without it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

IMPORT_SNIPPET = (
    "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
)


def import_seconds(module: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_SNIPPET.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip())


def import_ratio(runs: int) -> tuple[float, float, float]:
    hostkit_times, httpx_times = [], []
    for _ in range(runs):
        hostkit_times.append(import_seconds("hostkit"))
        httpx_times.append(import_seconds("httpx"))
    a, b = statistics.median(hostkit_times), statistics.median(httpx_times)
    return a, b, a / b


def call_overhead(rounds: int, calls: int) -> tuple[float, float, float]:
    import httpx

    import hostkit
    from hostkit._http import NO_DELAY

    payload = {"hours": [2, 5, 8]}
    dep = hostkit.deploy(
        provider="local", model="hostkit_examples.study_score:predict", name="benchmark-overhead"
    )
    try:
        assert dep.endpoint
        # the same TCP_NODELAY socket option hostkit's client sets, so only hostkit's own
        # work differs between the two paths
        transport = httpx.HTTPTransport(socket_options=NO_DELAY)
        bare = httpx.Client(base_url=dep.endpoint, transport=transport)
        for _ in range(50):  # warm both paths
            hostkit.invoke(dep, payload)
            bare.post("/invoke", json={"input": payload}).json()
        via_hostkit, via_httpx = [], []
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(calls):
                hostkit.invoke(dep, payload)
            via_hostkit.append((time.perf_counter() - start) / calls)
            start = time.perf_counter()
            for _ in range(calls):
                response = bare.post("/invoke", json={"input": payload})
                response.raise_for_status()
                response.json()
            via_httpx.append((time.perf_counter() - start) / calls)
        bare.close()
    finally:
        hostkit.teardown(dep)
    a, b = statistics.median(via_hostkit), statistics.median(via_httpx)
    return a, b, a / b


def otel_sdk_installed() -> bool:
    """Whether figure (c) can run: the OpenTelemetry API and SDK are importable."""
    from importlib.util import find_spec

    try:
        return find_spec("opentelemetry.sdk") is not None
    except ModuleNotFoundError:  # no ``opentelemetry`` package at all
        return False


def tracing_overhead(rounds: int, calls: int) -> tuple[float, float, float]:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    import hostkit
    import hostkit.telemetry

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    payload = {"hours": [2, 5, 8]}
    dep = hostkit.deploy(
        provider="local", model="hostkit_examples.study_score:predict", name="benchmark-tracing"
    )
    try:
        hostkit.telemetry.enable(tracer_provider, meter_provider)
        for _ in range(50):  # warm both paths
            hostkit.invoke(dep, payload)
        hostkit.telemetry.disable()
        for _ in range(50):
            hostkit.invoke(dep, payload)
        exporter.clear()
        off, on = [], []
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(calls):
                hostkit.invoke(dep, payload)
            off.append((time.perf_counter() - start) / calls)
            hostkit.telemetry.enable(tracer_provider, meter_provider)
            start = time.perf_counter()
            for _ in range(calls):
                hostkit.invoke(dep, payload)
            on.append((time.perf_counter() - start) / calls)
            hostkit.telemetry.disable()
            assert len(exporter.get_finished_spans()) == calls
            exporter.clear()
    finally:
        hostkit.telemetry.disable()
        hostkit.teardown(dep)
    a, b = statistics.median(off), statistics.median(on)
    return a, b, b / a


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--imports", type=int, default=21, help="fresh interpreters per module")
    parser.add_argument("--rounds", type=int, default=21, help="interleaved rounds of calls")
    parser.add_argument("--calls", type=int, default=200, help="calls per round")
    args = parser.parse_args()
    os.environ.setdefault("HOSTKIT_STATE_DIR", tempfile.mkdtemp(prefix="hostkit-bench-"))

    hk, hx, ratio = import_ratio(args.imports)
    print(
        f"(a) import hostkit {hk * 1000:.1f} ms, import httpx {hx * 1000:.1f} ms:"
        f" ratio {ratio:.2f} (target <= 1.30) [{args.imports} interleaved runs, medians]"
    )
    hk, hx, ratio = call_overhead(args.rounds, args.calls)
    print(
        f"(b) hostkit.invoke {hk * 1e6:.0f} us/call, bare httpx POST {hx * 1e6:.0f} us/call:"
        f" ratio {ratio:.3f} (target <= 1.05) [{args.rounds} rounds x {args.calls} calls,"
        f" medians; overhead {(hk - hx) * 1e6:.0f} us]"
    )
    if not otel_sdk_installed():
        print(
            "(c) tracing overhead skipped: it needs the OpenTelemetry SDK,"
            ' pip install "hostkit-ml[otel]" opentelemetry-sdk'
        )
        return
    off, on, ratio = tracing_overhead(args.rounds, args.calls)
    print(
        f"(c) hostkit.invoke tracing off {off * 1e6:.0f} us/call, on {on * 1e6:.0f} us/call:"
        f" ratio {ratio:.3f} [{args.rounds} rounds x {args.calls} calls, medians;"
        f" tracing adds {(on - off) * 1e6:.0f} us (in-memory span exporter and metric reader)]"
    )


if __name__ == "__main__":
    main()
