"""``logs`` of the azureml provider: MLClient.online_deployments.get_logs replayed from
cassettes (POST .../deployments/hostkit/getLogs, {"tail": 1000}): lines with their times,
``since``, ``follow`` without repeats, a missing deployment, secrets masked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hostkit_providers.azureml import AzureMLProvider
from hostkit_providers.azureml import logs as az_logs

from hostkit import Deployment, _redact, errors
from hostkit._logs import parse_timestamp
from hostkit.testing import cassette, load_cassette

CASSETTES = Path(__file__).parent / "cassettes" / "logs"
DEPLOYED = Deployment(
    name="hostkit-compliance",
    provider="azureml",
    model="meta-llama/Llama-3.1-8B-Instruct",
    status="ready",
    raw={"endpoint_name": "hostkit-compliance"},
)


@pytest.fixture
def provider(workspace_provider: AzureMLProvider) -> AzureMLProvider:
    return workspace_provider


def test_inference_server_logs_with_their_times(provider: AzureMLProvider) -> None:
    with cassette(CASSETTES / "logs.yaml", allow_playback_repeats=True) as played:
        lines = list(provider.logs(DEPLOYED))
    assert played.play_count == 1
    assert [line.message.split(":")[0] for line in lines] == [
        "INFO text_generation_launcher",
        "INFO shard-manager",
        "INFO text_generation_router",
    ]
    assert lines[0].timestamp == parse_timestamp("2026-11-20T10:12:01.204551Z")
    assert {line.source for line in lines} == {"inference-server"}
    sent = load_cassette(CASSETTES / "logs.yaml")[0].request
    assert json.loads(sent.body or "{}") == {"tail": az_logs.TAIL}


def test_since_and_masking(provider: AzureMLProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    # stands in for a key the server printed (registered for this test only)
    monkeypatch.setattr(_redact, "_known", {"text_generation_launcher"})
    with cassette(CASSETTES / "logs.yaml", allow_playback_repeats=True):
        lines = list(provider.logs(DEPLOYED, since=parse_timestamp("2026-11-20T10:12:30Z")))
    assert [line.message for line in lines] == [
        "INFO shard-manager: ***: Shard ready in 38.4s rank=0",
        "INFO text_generation_router::server: router/src/server.rs:2398: Connected",
    ]


def test_follow_yields_only_the_new_line(provider: AzureMLProvider) -> None:
    pauses: list[float] = []
    provider.sleep = pauses.append
    with cassette(CASSETTES / "logs.yaml") as played:
        followed = provider.logs(DEPLOYED, follow=True)
        lines = [next(followed) for _ in range(4)]
        followed.close()
    assert played.play_count == 2 and pauses == [az_logs.FOLLOW_INTERVAL]
    assert lines[3].message.endswith("router/src/server.rs:637: Success")
    assert lines[3].timestamp == parse_timestamp("2026-11-20T10:16:08.044381Z")


def test_a_missing_deployment_is_not_found(provider: AzureMLProvider) -> None:
    with (
        cassette(CASSETTES / "logs_404.yaml"),
        pytest.raises(errors.NotFound, match="online deployment 'hostkit' was not found"),
    ):
        list(provider.logs(DEPLOYED))


@pytest.mark.parametrize("name", ["logs.yaml", "logs_404.yaml"])
def test_the_sdk_parses_the_recorded_bodies(name: str) -> None:
    from azure.ai.ml._restclient.arm_ml_service._utils.model_base import _deserialize
    from azure.ai.ml._restclient.arm_ml_service.models import DeploymentLogs, ErrorResponse

    for interaction in load_cassette(CASSETTES / name):
        response = interaction.response
        assert response.header("x-ms-request-id")
        if response.status >= 400:
            error = _deserialize(ErrorResponse, response.json())
            assert error.error.code and error.error.message
        else:
            assert _deserialize(DeploymentLogs, response.json()).content.endswith("\n")
