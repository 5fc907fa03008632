"""``metrics`` of the azureml provider: Azure Monitor "Metrics - List" on the online
endpoint (RequestsPerMinute split by statusCodeClass, RequestLatency; PT1M, average),
replayed from cassettes through MLClient's ARM pipeline: a normal window, a window
without traffic (None, not 0), a rejected token, and the ``status --watch`` line."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import pytest
from hostkit_providers.azureml import AzureMLProvider
from hostkit_providers.azureml import metrics as az_metrics

from hostkit import Deployment, errors
from hostkit.cli_observe import _metrics_text
from hostkit.testing import cassette, load_cassette

CASSETTES = Path(__file__).parent / "cassettes" / "metrics"
DEPLOYED = Deployment(
    name="hostkit-compliance",
    provider="azureml",
    model="meta-llama/Llama-3.1-8B-Instruct",
    status="ready",
    raw={"endpoint_name": "hostkit-compliance"},
)
NOW = _dt.datetime(2026, 11, 20, 10, 20, tzinfo=_dt.UTC).timestamp()


@pytest.fixture
def provider(
    workspace_provider: AzureMLProvider, monkeypatch: pytest.MonkeyPatch
) -> AzureMLProvider:
    monkeypatch.setattr(az_metrics, "clock", lambda: NOW)
    return workspace_provider


def test_a_normal_window(provider: AzureMLProvider) -> None:
    with cassette(CASSETTES / "metrics.yaml") as played:
        figures = provider.metrics(DEPLOYED, since=NOW - 300)
    assert played.play_count == 2
    assert figures is not None
    assert (figures.window_s, figures.end) == (300, NOW)
    assert figures.invocations == 157  # 153 2xx + 3 4xx + 1 5xx
    assert figures.errors == 4
    # per-minute averages weighted by that minute's requests (42, 39, 46, 30)
    expected = (42 * 850.5 + 39 * 910.0 + 46 * 780.0 + 30 * 1200.0) / 157
    assert figures.latency_ms == pytest.approx(expected)
    assert figures.max_latency_ms is None  # Azure publishes no per-request maximum
    assert figures.source == az_metrics.SOURCE


def test_the_default_window_is_five_minutes(provider: AzureMLProvider) -> None:
    with cassette(CASSETTES / "metrics.yaml"):
        figures = provider.metrics(DEPLOYED)
    assert figures is not None and figures.window_s == az_metrics.DEFAULT_WINDOW


def test_the_requests_name_the_endpoint_metrics_and_window() -> None:
    sent = [i.request for i in load_cassette(CASSETTES / "metrics.yaml")]
    assert [r.query["metricnames"] for r in sent] == ["RequestsPerMinute", "RequestLatency"]
    for request in sent:
        assert request.uri.split("?")[0].endswith(
            "/onlineEndpoints/hostkit-compliance/providers/Microsoft.Insights/metrics"
        )
        assert request.query["api-version"] == az_metrics.API_VERSION
        assert request.query["timespan"] == "2026-11-20T10:15:00Z/2026-11-20T10:20:00Z"
        assert (request.query["interval"], request.query["aggregation"]) == ("PT1M", "average")
    assert sent[0].query["$filter"] == "statusCodeClass eq '*'"


def test_a_window_without_traffic_is_none_not_zero(provider: AzureMLProvider) -> None:
    with cassette(CASSETTES / "metrics_empty.yaml"):
        figures = provider.metrics(DEPLOYED, since=NOW - 300)
    assert figures is not None
    assert (figures.invocations, figures.errors, figures.latency_ms) == (None, None, None)
    assert figures.window_s == 300


def test_a_rejected_token_is_an_authentication_error(provider: AzureMLProvider) -> None:
    with (
        cassette(CASSETTES / "metrics_401.yaml") as played,
        pytest.raises(errors.AuthenticationError, match="access token is invalid") as caught,
    ):
        provider.metrics(DEPLOYED, since=NOW - 300)
    assert played.play_count == 1  # not retried
    assert caught.value.status_code == 401
    assert caught.value.request_id == "9a7e3c51-2b4d-4f6e-8a1c-0d2e3f4a5b05"


def test_the_watch_line(provider: AzureMLProvider) -> None:
    with cassette(CASSETTES / "metrics.yaml"):
        figures = provider.metrics(DEPLOYED, since=NOW - 300)
    assert _metrics_text(figures, None) == "last 5m: 157 invocations, 4 errors, latency 911 ms"
