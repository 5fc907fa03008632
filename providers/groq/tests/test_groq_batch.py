"""``hostkit batch --native`` on Groq's Batch API, replayed from hand-built cassettes
(build_batch_cassettes.py) whose every body the official groq SDK's types parse.

The native cassette is matched without the request body (a multipart upload's boundary
and the job's key change every run); what was uploaded and created is checked by
spying on the SDK calls instead.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from groq.types import (
    BatchCreateResponse,
    BatchRetrieveResponse,
    FileCreateResponse,
    FileDeleteResponse,
)
from groq.types.chat import ChatCompletion
from groq.types.shared import ErrorObject
from hostkit_providers.groq import GroqProvider

import hostkit
from hostkit import DeploymentSpec
from hostkit.batch import batch
from hostkit.batch_jobs import jobs_dir, run_native
from hostkit.testing import cassette, load_cassette

CASSETTES = Path(__file__).parent / "cassettes" / "batch"
MODEL = "openai/gpt-oss-120b"
FAKE_KEY = "gsk_testFakeKey000000"
PROMPTS = ["Say hello in five words.", "Name a prime number.", "Summarise every book ever written."]
VOLATILE = ("latency_s", "ttft_s", "request_id", "cost_usd")
NO_BODY = ("method", "scheme", "host", "port", "path", "query")


@pytest.fixture(autouse=True)
def groq_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_API_KEY", FAKE_KEY)
    for name in ("GROQ_BASE_URL", "GROQ_CUSTOM_HEADERS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[GroqProvider]:
    made = hostkit.get_provider("groq")
    assert isinstance(made, GroqProvider)
    made.retry.sleep = lambda seconds: None
    made.sleep = lambda seconds: None
    from hostkit import _api

    monkeypatch.setattr(_api, "provider_for", lambda name, config=None: made)
    yield made
    made.close()


def _input(tmp_path: Path) -> Path:
    path = tmp_path / "in.jsonl"
    lines = [
        {"id": f"q{i}", "request": prompt, "params": {"max_tokens": 64, "temperature": 0}}
        for i, prompt in enumerate(PROMPTS)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _stable(record: dict[str, Any]) -> dict[str, Any]:
    stable = dict(record)
    for part in ("result", "error"):
        if part in stable:
            stable[part] = {k: v for k, v in stable[part].items() if k not in VOLATILE}
    return stable


def test_cassette_bodies_parse_with_the_official_sdk() -> None:
    kinds = {
        ("POST", "files"): FileCreateResponse,
        ("POST", "batches"): BatchCreateResponse,
        ("GET", "batches"): BatchRetrieveResponse,
        ("DELETE", "files"): FileDeleteResponse,
    }
    seen = 0
    for name in ("native.yaml", "endpoint.yaml"):
        for interaction in load_cassette(CASSETTES / name):
            request, response = interaction.request, interaction.response
            parts = request.uri.split("/openai/v1/")[1].split("/")
            body = response.body
            if parts[-1] == "content":  # a batch output or error file: JSON Lines
                for line in body.splitlines():
                    entry = json.loads(line)
                    assert set(entry) == {"id", "custom_id", "response", "error"}
                    reply = entry["response"]
                    if reply["status_code"] == 200:
                        ChatCompletion.model_validate(reply["body"])
                    else:
                        ErrorObject.model_validate(reply["body"]["error"])
                    seen += 1
            elif parts[0] == "chat":
                data = json.loads(body)
                if response.status == 200:
                    ChatCompletion.model_validate(data)
                else:
                    ErrorObject.model_validate(data["error"])
                seen += 1
            else:
                kinds[(request.method, parts[0])].model_validate(json.loads(body))
                seen += 1
    assert seen == 13


def test_native_gives_the_same_output_as_the_endpoint_path(
    provider: GroqProvider, tmp_path: Path
) -> None:
    source = _input(tmp_path)
    through_endpoint = tmp_path / "endpoint.jsonl"
    with cassette(CASSETTES / "endpoint.yaml") as played, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        deployment = provider.serverless_deployment("chat", MODEL, None, {})
        batch(deployment, source, through_endpoint, concurrency=1, fsync=False)
    assert played.all_played

    uploads: list[bytes] = []
    created: list[dict[str, Any]] = []
    files, batches = provider.client.files, provider.client.batches
    upload, create = files.create, batches.create

    def spy_upload(**kwargs: Any) -> Any:
        uploads.append(kwargs["file"][1])
        return upload(**kwargs)

    def spy_create(**kwargs: Any) -> Any:
        created.append(kwargs)
        return create(**kwargs)

    files.create = spy_upload  # type: ignore[method-assign]
    batches.create = spy_create  # type: ignore[method-assign]
    native_out = tmp_path / "native.jsonl"
    with (
        cassette(CASSETTES / "native.yaml", match_on=NO_BODY) as played,
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        summary = run_native("groq:" + MODEL, source, native_out, poll_s=0)
    assert played.all_played  # every poll, both files read, all three files deleted

    # what was uploaded: the endpoint path's bodies, keyed by plan index, purpose=batch
    lines = [json.loads(line) for line in uploads[0].splitlines()]
    assert [line["custom_id"] for line in lines] == ["0", "1", "2"]
    assert {line["url"] for line in lines} == {"/v1/chat/completions"}
    endpoint_bodies = [
        json.loads(i.request.body) for i in load_cassette(CASSETTES / "endpoint.yaml")
    ]
    assert [line["body"] for line in lines] == endpoint_bodies
    (request,) = created
    assert request["completion_window"] == "24h" and request["endpoint"] == "/v1/chat/completions"
    assert request["metadata"]["hostkit_job"].startswith("hostkit-")

    # the results: reordered output file and the error file joined back, in input order
    assert (summary.ok, summary.failed, summary.completed) == (2, 1, True)
    assert (summary.input_tokens, summary.output_tokens) == (152, 12)
    assert [_stable(r) for r in _records(native_out)] == [
        _stable(r) for r in _records(through_endpoint)
    ]
    assert _records(native_out)[2]["error"]["message"].startswith("[groq] context length exceeded")
    assert _records(native_out)[0]["result"]["request_id"] == "req_01kak3m0b7w3x9d5n1q8ze6mt0"
    # priced at the batch rate: none is known (no dated source), so None and a warning
    assert summary.cost_usd is None and "batch:openai/gpt-oss-120b" in (summary.cost_note or "")
    assert any("batch:openai/gpt-oss-120b" in str(w.message) for w in caught)
    assert _records(native_out)[0]["result"]["cost_usd"] is None
    assert list(jobs_dir().iterdir()) == []


def test_a_configured_batch_rate_prices_each_line_and_the_job(
    provider: GroqProvider, tmp_path: Path
) -> None:
    provider._price_overrides = {
        f"batch:{MODEL}": {
            "input_per_million": 0.075,
            "output_per_million": 0.30,
            "source": "test",
        }
    }
    out = tmp_path / "out.jsonl"
    with cassette(CASSETTES / "native.yaml", match_on=NO_BODY):
        summary = run_native("groq:" + MODEL, _input(tmp_path), out, poll_s=0)
    expected = (152 * 0.075 + 12 * 0.30) / 1e6
    assert summary.cost_usd == pytest.approx(expected)
    first = _records(out)[0]["result"]["cost_usd"]
    assert first == pytest.approx((77 * 0.075 + 9 * 0.30) / 1e6)


def test_a_crash_right_after_the_create_finds_the_batch_by_its_metadata(
    provider: GroqProvider, tmp_path: Path
) -> None:
    from hostkit_providers.groq.batch import GroqBatches

    found: list[str] = []
    real_find = GroqBatches._find

    def find(self: GroqBatches, key: str) -> str | None:
        found.append(key)
        return real_find(self, key)

    # a journal left "creating" with no batch id: the rerun lists batches, creates none
    listed = {
        "object": "list",
        "data": [
            {
                **json.loads(load_cassette(CASSETTES / "native.yaml")[1].response.body),
                "metadata": {"hostkit_job": "KEY"},
            }
        ],
    }
    source, out = _input(tmp_path), tmp_path / "out.jsonl"
    import hostkit.batch_jobs as jobs

    plan = jobs._Native(
        spec=DeploymentSpec(provider="groq", model=MODEL),
        provider=provider,
        source=source,
        sink=out,
        summary=None,  # type: ignore[arg-type]
        params={},
        keep_staging=False,
        on_interrupt=None,
        poll_s=0,
        progress=None,
        fsync=False,
    ).plan(set(), "sha")
    assert plan is not None
    plan.data.update(input_file_id="file_01kak3c8z1f5h7j2k4m6n8p0qa", creating_batch=True)
    listed["data"][0]["metadata"]["hostkit_job"] = plan.key
    batches = provider.client.batches
    batches.list = lambda **kw: type(
        "Listed", (), {"data": [BatchRetrieveResponse.model_validate(listed["data"][0])]}
    )()  # type: ignore[method-assign]
    batches.create = lambda **kw: pytest.fail("a second batch was created")  # type: ignore[method-assign]
    GroqBatches._find = find  # type: ignore[method-assign]
    try:
        provider.submit_batch_job(DeploymentSpec(provider="groq", model=MODEL), plan)
    finally:
        GroqBatches._find = real_find  # type: ignore[method-assign]
    assert found == [plan.key] and plan.job_id == "batch_01kak3c9p4x7v2m8q1n6r5t0ya"
