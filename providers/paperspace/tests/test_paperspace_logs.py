"""``logs`` of the paperspace provider: GET /deployments/{id}/logs replayed from
cassettes/logs (newest first, paged with ``after``): lines oldest first with their times
and replicas, ``since``, ``follow`` without repeats, a deleted deployment, secrets masked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hostkit_providers.paperspace import PaperspaceProvider
from hostkit_providers.paperspace import logs as ps_logs

from hostkit import Deployment, _redact, errors, get_provider
from hostkit._logs import parse_timestamp
from hostkit.testing import cassette, load_cassette

CASSETTES = Path(__file__).parent / "cassettes" / "logs"
FAKE_KEY = "2f8b6c1e9d4a7b3c5e0f1a2d8c6b4e97"
DID = "7e3c1b2a-5d4f-4e6a-9b8c-0d1e2f3a4b5c"
POD = "hostkit-compliance-6f9c7d8b5-x7k2p"
DEPLOYED = Deployment(
    name="hostkit-compliance",
    provider="paperspace",
    model="Qwen/Qwen2.5-0.5B-Instruct",
    status="ready",
    raw={"id": DID, "project_id": "pr7ylf3ez"},
)


@pytest.fixture(autouse=True)
def own_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets registered by a test are forgotten after it."""
    monkeypatch.setattr(_redact, "_known", set(_redact._known))


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[PaperspaceProvider]:
    monkeypatch.setenv("PAPERSPACE_API_KEY", FAKE_KEY)
    monkeypatch.setattr(ps_logs, "PAGE_SIZE", 3)  # the cassettes page by 3 items
    built = get_provider("paperspace", project_id="pr7ylf3ez")
    assert isinstance(built, PaperspaceProvider)
    built.sleep = lambda seconds: None
    built.retry.sleep = lambda seconds: None
    yield built
    built.close()


def test_lines_oldest_first_with_times_and_replica(provider: PaperspaceProvider) -> None:
    with cassette(CASSETTES / "logs.yaml") as played:
        lines = list(provider.logs(DEPLOYED))
    assert played.all_played  # both pages, the second with the first page's cursor
    assert [line.message.split("] ")[-1] for line in lines] == [
        "vLLM API server version 0.33.0",
        "non-default args: {'model_tag': 'Qwen/Qwen2.5-0.5B-Instruct', 'host': '0.0.0.0',"
        " 'enable_request_id_headers': True, 'model': 'Qwen/Qwen2.5-0.5B-Instruct'}",
        "Resolved architecture: Qwen2ForCausalLM",
        "Model loading took 0.9270 GiB and 271.402315 seconds",
        "Starting vLLM API server 0 on http://0.0.0.0:8000",
        "INFO:     Application startup complete.",
    ]
    assert lines[0].timestamp == parse_timestamp("2026-11-20T11:01:02.118Z")
    assert {line.replica for line in lines} == {POD}
    assert str(lines[-1]) == (
        f"2026-11-20T11:06:38.012Z [{POD}] INFO:     Application startup complete."
    )


def test_since_stops_paging_at_the_first_older_line(provider: PaperspaceProvider) -> None:
    since = parse_timestamp("2026-11-20T11:06:00Z")
    with cassette(CASSETTES / "logs.yaml", allow_playback_repeats=True) as played:
        lines = list(provider.logs(DEPLOYED, since=since))
    assert played.play_count == 2  # the deployment and the first page: no second page
    assert [line.timestamp for line in lines] == [
        parse_timestamp("2026-11-20T11:06:37.950Z"),
        parse_timestamp("2026-11-20T11:06:38.012Z"),
    ]


def test_without_since_only_the_latest_tail(
    provider: PaperspaceProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ps_logs, "TAIL", 2)
    with cassette(CASSETTES / "logs.yaml", allow_playback_repeats=True) as played:
        lines = list(provider.logs(DEPLOYED))
    assert played.play_count == 2
    assert [line.message for line in lines][-1] == "INFO:     Application startup complete."
    assert len(lines) == 2


def test_follow_yields_each_line_once(provider: PaperspaceProvider) -> None:
    pauses: list[float] = []
    provider.sleep = pauses.append
    with cassette(CASSETTES / "logs_follow.yaml") as played:
        followed = provider.logs(DEPLOYED, follow=True)
        lines = [next(followed) for _ in range(8)]
        followed.close()
    assert played.all_played and pauses == [ps_logs.FOLLOW_INTERVAL] * 2
    assert (
        len({line.message for line in lines}) == 8
    )  # no repeats although every poll overlaps the last
    assert [line.timestamp for line in lines] == sorted(line.timestamp or 0 for line in lines)
    # the last two lines share a time: both are new, told apart by their ids
    assert lines[6].timestamp == lines[7].timestamp
    assert lines[6].message.endswith('"POST /v1/chat/completions HTTP/1.1" 200 OK')
    assert "Engine 000: Avg prompt throughput" in lines[7].message


def test_a_deleted_deployment_is_not_found(provider: PaperspaceProvider) -> None:
    with (
        cassette(CASSETTES / "logs_404.yaml"),
        pytest.raises(errors.NotFound, match="no deployment named 'hostkit-compliance'"),
    ):
        list(provider.logs(DEPLOYED))


def test_secrets_from_the_container_env_are_masked(provider: PaperspaceProvider) -> None:
    assert "hf_REDACTED" not in _redact._known  # only the adapter can register it
    with cassette(CASSETTES / "logs_custom.yaml") as played:
        lines = list(provider.logs(DEPLOYED))
    assert played.all_played
    assert lines[0].message == "serve.py: starting with HOSTKIT_API_KEY=*** HF_TOKEN=*** PORT=8000"
    assert not [line for line in lines if "REDACTED" in str(line) or FAKE_KEY in str(line)]


# -- realism: the bodies are what the API's generated types say ----------------------------
ITEM_FIELDS = {"id", "jobId", "line", "message", "uuid", "dtCreated", "instanceId"}
ITEM_REQUIRED = {"id", "jobId", "line", "message", "dtCreated"}


def _check_logs_page(query: dict[str, str], payload: Any) -> None:
    assert set(query) <= {"after", "limit", "orderBy", "order", "instanceId"}
    assert query.get("orderBy", "dtCreated") == "dtCreated"
    assert query.get("order", "asc") in ("asc", "desc")
    assert set(payload) <= {"hasMore", "nextPage", "items"} and isinstance(payload["hasMore"], bool)
    assert payload["hasMore"] is bool(payload.get("nextPage"))
    for item in payload["items"]:
        assert ITEM_REQUIRED <= set(item) <= ITEM_FIELDS
        assert all(isinstance(item[k], str) for k in ITEM_REQUIRED)
        assert parse_timestamp(item["dtCreated"]) is not None


@pytest.mark.parametrize("path", sorted(CASSETTES.glob("*.yaml")), ids=lambda p: p.stem)
def test_recorded_bodies_follow_the_api_types(path: Path) -> None:
    assert path.read_text().startswith("# ")
    for interaction in load_cassette(path):
        request, response = interaction.request, interaction.response
        assert request.method == "GET" and request.header("authorization") == "REDACTED"
        payload = response.json()
        if response.status >= 400:
            assert set(payload) <= {"code", "message", "issues"} and payload["code"].isupper()
        elif request.path.endswith("/logs"):
            _check_logs_page(request.query, payload)
        else:
            assert request.path == f"/v1/deployments/{DID}" and payload["id"] == DID
            for variable in payload["latestSpec"]["data"]["env"]:
                if _redact.is_secret_key(variable["name"]):
                    assert variable["value"].endswith("REDACTED")
