"""``logs`` of the huggingface provider: an Inference Endpoint's container logs replayed
from cassettes/logs (GET /v2/endpoint/{ns}/{name}/logs, text/plain), ``since``,
``follow`` without repeats, a missing endpoint, and the router half's Unsupported."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hostkit_providers.huggingface import HuggingFaceProvider
from hostkit_providers.huggingface import logs as hf_logs

from hostkit import Deployment, errors
from hostkit._logs import parse_timestamp
from hostkit.testing import cassette, load_cassette

CASSETTES = Path(__file__).parent / "cassettes" / "logs"
FAKE_TOKEN = "hf_hostkitFakeTestToken00"
NAME = "hostkit-compliance"
ENDPOINT = Deployment(
    name=NAME,
    provider="huggingface",
    model="Qwen/Qwen2.5-0.5B-Instruct",
    status="ready",
    instance="nvidia-l4",
    raw={"dedicated": True},
)


@pytest.fixture(autouse=True)
def hf_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def provider() -> Iterator[HuggingFaceProvider]:
    made = HuggingFaceProvider(namespace="hostkit-org")
    made.sleep = lambda seconds: None
    made.retry.sleep = lambda seconds: None
    yield made
    made.close()


def test_container_logs_with_their_times(provider: HuggingFaceProvider) -> None:
    with cassette(CASSETTES / "logs.yaml", allow_playback_repeats=True) as played:
        lines = list(provider.logs(ENDPOINT))
    assert played.play_count == 1
    assert len(lines) == 4 and {line.source for line in lines} == {"container"}
    assert lines[0].timestamp == parse_timestamp("2026-11-22T10:05:31.412877Z")
    assert lines[0].message.startswith('INFO text_generation_launcher: Args { model_id: "Qwen/')
    assert lines[-1].message.endswith("router/src/server.rs:2398: Connected")
    (sent,) = load_cassette(CASSETTES / "logs.yaml")[:1]
    assert sent.request.headers["authorization"] == ["REDACTED"]


def test_since_keeps_the_later_lines(provider: HuggingFaceProvider) -> None:
    since = parse_timestamp("2026-11-22T10:05:40Z")
    with cassette(CASSETTES / "logs.yaml", allow_playback_repeats=True):
        lines = list(provider.logs(ENDPOINT, since=since))
    assert [line.message.split(": ", 1)[0] for line in lines] == [
        "INFO shard-manager",
        "INFO text_generation_router::server",
    ]


def test_follow_asks_again_and_yields_only_new_lines(provider: HuggingFaceProvider) -> None:
    pauses: list[float] = []
    provider.sleep = pauses.append
    with cassette(CASSETTES / "logs.yaml") as played:
        followed = provider.logs(ENDPOINT, follow=True)
        lines = [next(followed) for _ in range(5)]
        followed.close()
    assert played.play_count == 2 and pauses == [hf_logs.FOLLOW_INTERVAL]
    assert lines[3].message.endswith("Connected")
    assert "chat_completions{total_time=" in lines[4].message  # the one new line
    assert lines[4].message.endswith("Success")


def test_a_missing_endpoint_is_not_found(provider: HuggingFaceProvider) -> None:
    with cassette(CASSETTES / "logs_404.yaml"), pytest.raises(errors.NotFound):
        list(provider.logs(ENDPOINT))


def test_the_router_half_has_no_server_logs(provider: HuggingFaceProvider) -> None:
    serverless = Deployment(
        name="chat", provider="huggingface", model="Qwen/Qwen2.5-7B-Instruct", status="ready"
    )
    with pytest.raises(errors.Unsupported, match=r"router is serverless.*Inference Endpoint"):
        provider.logs(serverless)
