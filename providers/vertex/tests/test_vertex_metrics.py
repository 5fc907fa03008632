"""``metrics`` on vertex: Cloud Monitoring's projects.timeSeries.list, replayed strictly.

The cassettes under cassettes/metrics/ hold the exact queries (filter, interval,
alignment) for the window 2026-11-21 10:15:00..10:20:00 UTC, so the clock is pinned there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hostkit_providers.vertex import VertexProvider
from hostkit_providers.vertex import metrics as vertex_metrics

from hostkit import Deployment, Metrics, get_provider
from hostkit.errors import AuthenticationError, HostkitError
from hostkit.testing import cassette, load_cassette

CASSETTES = Path(__file__).parent / "cassettes" / "metrics"
END = dt.datetime(2026, 11, 21, 10, 20, tzinfo=dt.UTC).timestamp()
ENDPOINT = "projects/123456789012/locations/us-central1/endpoints/4510327159063953408"


@pytest.fixture
def provider(fake_adc: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[VertexProvider]:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/var/run/hostkit-tests/FAKE.json")
    monkeypatch.setattr(vertex_metrics, "_clock", lambda: END)
    built = get_provider("vertex", project="hostkit-demo", location="us-central1")
    assert isinstance(built, VertexProvider)
    built.sleep = lambda seconds: None
    built.retry.sleep = lambda seconds: None
    yield built
    built.close()


def deployment(provider: VertexProvider) -> Deployment:
    return Deployment(
        name="hostkit-compliance",
        provider="vertex",
        status="ready",
        model="meta-llama/Llama-3.1-8B-Instruct",
        raw={"endpoint": ENDPOINT, "deployed_model_id": "6891732254916968448"},
        _provider=provider,
    )


def replay(name: str) -> Any:
    return cassette(CASSETTES / f"{name}.yaml", record_mode="none")


def test_window_sums_counts_over_pages_and_weights_latency_by_count(
    provider: VertexProvider,
) -> None:
    with replay("window") as recorded:
        found = provider.metrics(deployment(provider), since=END - 300)
    assert recorded.all_played  # both pages of prediction_count, then errors and latency
    assert isinstance(found, Metrics)
    assert (found.window_s, found.end) == (300, END)
    assert found.invocations == 30 + 12
    assert found.errors == 3
    # 30 predictions at 800 ms and 12 at 1000 ms: the count-weighted mean, not (800+1000)/2
    assert found.latency_ms == pytest.approx((30 * 800 + 12 * 1000) / 42)
    assert found.max_latency_ms is None  # the distributions carry no range
    assert found.source == "Cloud Monitoring"


def test_queries_name_the_endpoint_metric_and_window(provider: VertexProvider) -> None:
    with replay("window"):
        provider.metrics(deployment(provider), since=END - 300)
    queries = [i.request.query for i in load_cassette(CASSETTES / "window.yaml")]
    filters = [dict(q)["filter"] for q in queries]
    assert [f.split('"')[1].rsplit("/", 1)[1] for f in filters] == [
        "prediction_count",
        "prediction_count",
        "error_count",
        "prediction_latencies",
    ]
    assert all('resource.labels.endpoint_id = "4510327159063953408"' in f for f in filters)
    assert [dict(q)["aggregation.perSeriesAligner"] for q in queries][-1] == "ALIGN_DELTA"


def test_no_data_is_none_not_zero(provider: VertexProvider) -> None:
    with replay("no_data") as recorded:
        found = provider.metrics(deployment(provider), since=END - 300)
    assert recorded.all_played
    assert found is not None
    assert (found.invocations, found.errors, found.latency_ms, found.max_latency_ms) == (
        None,
        None,
        None,
        None,
    )
    assert found.window_s == 300


def test_403_names_the_missing_monitoring_permission(provider: VertexProvider) -> None:
    with replay("permission_403") as recorded, pytest.raises(AuthenticationError) as caught:
        provider.metrics(deployment(provider), since=END - 300)
    assert recorded.play_count == 1  # a denial is not retried
    message = caught.value.message
    assert message.startswith("missing IAM permission monitoring.timeSeries.list")
    assert "roles/monitoring.viewer" in message
    assert caught.value.status_code == 403


def test_a_metrics_failure_leaves_the_watch_running(
    provider: VertexProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hostkit import cli_observe

    # the watch asks for the platform's own default window, here pinned to the cassette's
    monkeypatch.setattr(vertex_metrics, "_clock", lambda: END)
    monkeypatch.setattr(vertex_metrics, "DEFAULT_WINDOW", 300.0)
    current = deployment(provider)
    provider.status = lambda target: current  # type: ignore[method-assign]
    with replay("permission_403"):
        _, shown, note = cli_observe._sample(provider, current)
    assert shown is None
    assert note is not None and note.startswith("unavailable (")
    assert "missing IAM permission monitoring.timeSeries.list" in note


def test_latency_prefers_the_model_latency_series_when_split_by_type() -> None:
    def series(kind: str, count: int, mean: float) -> dict[str, Any]:
        value = {"distributionValue": {"count": str(count), "mean": mean}}
        return {"metric": {"labels": {"latency_type": kind}}, "points": [{"value": value}]}

    split = [series("overhead", 10, 5.0), series("model", 10, 700.0), series("total", 10, 705.0)]
    assert vertex_metrics._latency(split) == (700.0, None)
    ranged = [
        {
            "points": [
                {
                    "value": {
                        "distributionValue": {
                            "count": "2",
                            "mean": 3.0,
                            "range": {"min": 1, "max": 5},
                        }
                    }
                }
            ]
        }
    ]
    assert vertex_metrics._latency(ranged) == (3.0, 5.0)


def test_no_endpoint_is_a_clear_error(provider: VertexProvider) -> None:
    pending = deployment(provider)
    pending.raw["endpoint"] = "not-a-resource-name"
    with pytest.raises(HostkitError, match="has no Vertex AI endpoint yet"):
        provider.metrics(pending, since=END - 300)
