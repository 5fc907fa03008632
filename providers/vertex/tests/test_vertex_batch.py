"""``hostkit batch --native`` on Vertex AI batch prediction, against hand-written cassettes
(make_batch_cassettes.py) replayed strictly: every request hostkit sends must be in the
cassette, in order, and every one must be sent (``all_played``).

Two things the cassettes need fixed that are random in a real run: the job key (hostkit
derives it from the clock; here ``hostkit-scores-0a1b2c3d4e5f``) and the multipart
boundary google-cloud-storage draws for an upload.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hostkit_providers.vertex import VertexProvider
from hostkit_providers.vertex.batch import KEY_FIELD, BatchPredictionJobs

from hostkit import Deployment, DeploymentSpec, errors, get_provider
from hostkit.batch import batch
from hostkit.batch_jobs import BatchJob, estimate_native, jobs_dir, run_native
from hostkit.testing import cassette, load_cassette

CASSETTES = Path(__file__).parent / "cassettes"
MODEL = "Qwen/Qwen2.5-7B-Instruct"
KEY = "hostkit-scores-0a1b2c3d4e5f"
BUCKET = "hostkit-demo-batch"
BOUNDARY = b"===============hostkit-batch=="
SETTINGS = {"project": "hostkit-demo", "location": "us-central1", "staging_bucket": BUCKET}
SPEC = DeploymentSpec(provider="vertex", name="scores", model=MODEL, instance="g2-standard-12")
PROMPTS = [
    ("q0", "Name a prime number above 10."),
    ("q1", "What colour is the sky on Mars at noon?"),
    ("q2", "Give one word that rhymes with batch."),
    ("q3", "How many legs does a spider have?"),
    ("q4", "Spell 'vertex' backwards."),
]
VOLATILE = ("latency_s", "ttft_s", "request_id", "timings")
#: g2-standard-12 in us-central1, node-hour with its L4 included (prices.toml)
G2_12 = 1.1507


class Killed(BaseException):
    """Stands for a kill -9 of the process waiting on the job (nothing after it runs)."""


@pytest.fixture(autouse=True)
def _fixed(monkeypatch: pytest.MonkeyPatch, fake_adc: None) -> None:
    import google.cloud.storage._media._upload as upload

    import hostkit.batch_jobs

    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/var/run/hostkit-tests/FAKE.json")
    monkeypatch.setattr(hostkit.batch_jobs, "_job_key", lambda spec, output, sha: KEY)
    monkeypatch.setattr(upload, "get_boundary", lambda: BOUNDARY)


def _provider() -> VertexProvider:
    built = get_provider("vertex", **SETTINGS)
    assert isinstance(built, VertexProvider)
    built.sleep = lambda seconds: None
    built.retry.sleep = lambda seconds: None
    return built


@pytest.fixture
def provider() -> Iterator[VertexProvider]:
    built = _provider()
    yield built
    built.close()


def replay(name: str) -> Any:
    return cassette(CASSETTES / f"{name}.yaml", record_mode="none")


def _input(tmp_path: Path, count: int = 4) -> Path:
    path = tmp_path / "in.jsonl"
    lines = [
        json.dumps({"id": id_, "request": prompt, "params": {"max_tokens": 16}})
        for id_, prompt in PROMPTS[:count]
    ]
    path.write_text("".join(line + "\n" for line in lines))
    return path


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _stable(record: dict[str, Any]) -> dict[str, Any]:
    result = {k: v for k, v in record.get("result", {}).items() if k not in VOLATILE}
    return {**record, "result": result}


def _native(provider: VertexProvider, source: Path, sink: Path, **kwargs: Any) -> Any:
    """run_native with this test's provider instance (as the config would build it)."""
    from hostkit import _api

    original = _api.provider_for
    _api.provider_for = lambda name, config=None: provider  # type: ignore[assignment]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the shipped price's age (StalePrices)
            return run_native(SPEC, source, sink, poll_s=0, **kwargs)
    finally:
        _api.provider_for = original


def _paths(name: str) -> list[tuple[str, str]]:
    return [(i.request.method, i.request.path) for i in load_cassette(CASSETTES / f"{name}.yaml")]


# -- the "done when": same in.jsonl, same out.jsonl ---------------------------------
def test_native_gives_the_same_output_as_the_endpoint_path(
    provider: VertexProvider, tmp_path: Path
) -> None:
    source = _input(tmp_path)
    deployment = Deployment(
        name="scores",
        provider="vertex",
        model=MODEL,
        status="ready",
        instance="g2-standard-12",
        endpoint="https://4510327159063953408.us-central1-123456789012.prediction.vertexai.goog"
        "/v1/projects/123456789012/locations/us-central1/endpoints/4510327159063953408",
        raw={"serving": "vllm", "dedicated_dns": "yes"},
        _provider=provider,
    )
    through_endpoint = tmp_path / "endpoint.jsonl"
    with replay("batch_endpoint") as recorded:
        batch(deployment, source, through_endpoint, concurrency=1, fsync=False)
    assert recorded.all_played

    native_out = tmp_path / "native.jsonl"
    progress: list[str] = []
    from hostkit import on_progress

    with on_progress(progress.append), replay("batch_run") as recorded:
        summary = _native(provider, source, native_out)
    assert recorded.all_played
    job = "projects/123456789012/locations/us-central1/batchPredictionJobs/2468013579246801357"
    states = [
        line.split(": ", 1)[1].rsplit(" after", 1)[0] for line in progress if job + ":" in line
    ]
    assert states == ["JOB_STATE_PENDING", "JOB_STATE_RUNNING 2/4", "JOB_STATE_SUCCEEDED 4/4"]
    assert summary.completed and (summary.ok, summary.failed, summary.total) == (4, 0, 4)
    assert [_stable(r) for r in _records(native_out)] == [
        _stable(r) for r in _records(through_endpoint)
    ]
    assert [r["id"] for r in _records(native_out)] == ["q0", "q1", "q2", "q3"]
    assert _records(native_out)[3]["result"]["text"] == "Eight."
    assert (summary.input_tokens, summary.output_tokens) == (20 + 21 + 22 + 23, 5 + 6 + 7 + 8)
    # priced from the job's own 0.5 replica-hours at the node-hour price, with its source
    assert summary.cost_usd == pytest.approx(0.5 * G2_12)
    assert summary.cost_basis.startswith("batch prediction, 0.5 node-hour(s) of g2-standard-12")
    assert summary.cost_as_of == "2025-08-12" and "vertex-ai/pricing" in str(summary.cost_source)
    # nothing left: the model it created and every staged object were deleted, no journal
    from urllib.parse import unquote

    deleted = [unquote(p) for m, p in _paths("batch_run") if m == "DELETE"]
    folder = f"hostkit/batch/{KEY}"
    shards = f"{folder}/output/prediction-{KEY}-2026_11_21T10_00_01_000Z/prediction.results"
    assert deleted == [
        f"/v1/projects/123456789012/locations/us-central1/models/{KEY}",
        f"/storage/v1/b/{BUCKET}/o/{folder}/input.jsonl",
        f"/storage/v1/b/{BUCKET}/o/{shards}-00000-of-00002",
        f"/storage/v1/b/{BUCKET}/o/{shards}-00001-of-00002",
    ]
    assert not jobs_dir().exists() or list(jobs_dir().iterdir()) == []


def test_the_job_sent_is_keyed_and_sized_from_the_spec() -> None:
    """What create and the uploaded input say (the cassette is what was matched)."""
    interactions = load_cassette(CASSETTES / "batch_run.yaml")
    (create,) = [i for i in interactions if i.request.path.endswith("/batchPredictionJobs")]
    body = json.loads(create.request.body)
    assert body["instanceConfig"] == {"keyField": KEY_FIELD}
    assert body["inputConfig"]["instancesFormat"] == "jsonl"
    assert body["outputConfig"]["predictionsFormat"] == "jsonl"
    assert body["dedicatedResources"] == {
        "machineSpec": {
            "machineType": "g2-standard-12",
            "acceleratorType": 11,
            "acceleratorCount": 1,
        },
        "startingReplicaCount": 1,
        "maxReplicaCount": 1,
    }
    (upload,) = [i for i in interactions if "uploadType=multipart" in i.request.uri]
    lines = upload.request.body.split("\r\n\r\n")[2].split("\r\n")[0].splitlines()
    first = json.loads(lines[0])
    assert first == {
        KEY_FIELD: "0",
        "@requestFormat": "chatCompletions",
        "messages": [{"role": "user", "content": PROMPTS[0][1]}],
        "max_tokens": 16,
    }
    assert [json.loads(line)[KEY_FIELD] for line in lines] == ["0", "1", "2", "3"]


# -- joining: by key, whatever the order; errors and dropped lines are written as failed ----
def test_shards_out_of_order_an_error_and_a_dropped_line_join_by_key(
    provider: VertexProvider, tmp_path: Path
) -> None:
    source, sink = _input(tmp_path, 5), tmp_path / "out.jsonl"
    with replay("batch_partial") as recorded:
        summary = _native(provider, source, sink)
    assert recorded.all_played
    records = _records(sink)
    assert [r["id"] for r in records] == ["q0", "q1", "q2", "q3", "q4"]  # input order, once
    assert [r["ok"] for r in records] == [True, False, True, True, False]
    assert [records[i]["result"]["text"] for i in (0, 2, 3)] == [
        "11 is a prime.",
        "Match.",
        "Eight.",
    ]
    dropped, refused = records[1]["error"], records[4]["error"]
    assert "finished without a result for this request" in dropped["message"]
    assert "maximum context length is 32768 tokens" in refused["message"]
    assert refused["retryable"] is False
    assert (summary.ok, summary.failed) == (3, 2)

    # --retry-failed sends only the two failed lines again (here: the plan it would journal)
    class Stop(Exception):
        pass

    sent: list[list[str]] = []

    def capture(spec: Any, job: BatchJob) -> None:
        sent.append([item.id for _, item in job.requests()])
        raise Stop

    provider.submit_batch_job = capture  # type: ignore[method-assign]
    with pytest.raises(Stop):
        _native(provider, source, sink, retry_failed=True)
    assert sent == [["q1", "q4"]]


def test_a_prediction_wins_over_an_error_for_the_same_key_and_each_key_is_used_once(
    provider: VertexProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unit-level: the join itself, with duplicate and stray lines (no network)."""
    jobs = BatchPredictionJobs(provider)
    job = BatchJob(
        key=KEY,
        provider="vertex",
        deployment="scores",
        model=MODEL,
        folder=tmp_path,
        output="",
        input="",
        input_sha256="",
        count=3,
        data={"serving": "vllm", "output_uri": f"gs://{BUCKET}/x/"},
    )
    completion = _generator().completion

    lines = {
        "gs://b/prediction.errors_stats-00000-of-00001": [
            json.dumps({"key": "1", "error": {"code": 13, "message": "container crashed"}}),
            json.dumps({"errorCode": 13, "count": 1}),  # an aggregate line: no key
        ],
        "gs://b/prediction.results-00000-of-00001": [
            json.dumps({"key": "1", "prediction": completion(1)}),
            json.dumps({"instance": {KEY_FIELD: "0"}, "prediction": [completion(0)]}),
            "",
        ],
    }

    class FakeStore:
        def list_blobs(self, prefix: str) -> list[str]:
            return [*lines, "gs://b/README.txt"]

        def read_lines(self, uri: str) -> Iterator[str]:
            assert uri in lines  # other objects of the folder are not read
            yield from lines[uri]

    monkeypatch.setattr(BatchPredictionJobs, "storage", property(lambda self: FakeStore()))
    results = dict(jobs.results(job))
    assert sorted(results) == [0, 1]  # 2 answered by no line: the runner writes it failed
    assert all(not isinstance(r, errors.HostkitError) for r in results.values())
    assert results[1].text == "Butterscotch." and results[0].text == "11 is a prime."


def _generator() -> Any:
    """The cassette generator module (its bodies are the cassettes' bodies)."""
    import importlib.util
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    try:
        found = importlib.util.spec_from_file_location(
            "make_batch_cassettes", Path(__file__).with_name("make_batch_cassettes.py")
        )
        assert found is not None and found.loader is not None
        module = importlib.util.module_from_spec(found)
        found.loader.exec_module(module)
    finally:
        sys.path.remove(str(Path(__file__).parent))
    return module


def test_a_custom_containers_instances_come_back_as_the_lines_predictions_in_order(
    provider: VertexProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = BatchJob(
        key=KEY,
        provider="vertex",
        deployment="scores",
        model="gs://b/m",
        folder=tmp_path,
        output="",
        input="",
        input_sha256="",
        count=3,
        data={"serving": "custom", "output_uri": f"gs://{BUCKET}/x/"},
    )
    requests = [
        {"instances": [{"x": 1}, {"x": 2}]},
        {"instances": [{"x": 3}]},
        {"instances": [{"x": 4}, {"x": 5}]},
    ]
    job.plan.write_text(
        "".join(
            json.dumps({"line": n + 1, "id": f"r{n}", "request": r}) + "\n"
            for n, r in enumerate(requests)
        )
    )
    shard = [
        {"key": "0.1", "prediction": [0.2]},
        {"key": "1.0", "error": {"code": 3, "message": "x must be below 3"}},
        {"key": "0.0", "prediction": [0.1]},
        {"key": "2.0", "prediction": [0.4]},  # 2.1 is in no shard
    ]

    class FakeStore:
        def list_blobs(self, prefix: str) -> list[str]:
            return ["gs://b/prediction.results-00000-of-00001"]

        def read_lines(self, uri: str) -> Iterator[str]:
            yield from (json.dumps(line) for line in shard)

    monkeypatch.setattr(BatchPredictionJobs, "storage", property(lambda self: FakeStore()))
    results = dict(BatchPredictionJobs(provider).results(job))
    assert results[0].output == [[0.1], [0.2]]  # instance order, not shard order
    assert isinstance(results[1], errors.HostkitError) and "below 3" in str(results[1])
    assert isinstance(results[2], errors.ProviderError) and "instance 1" in str(results[2])


# -- resumable: a rerun reattaches, never creates a second job ------------------------------
def test_a_rerun_after_a_kill_reattaches_to_the_journalled_job(tmp_path: Path) -> None:
    source, sink = _input(tmp_path), tmp_path / "out.jsonl"
    first = _provider()

    def kill(seconds: float) -> None:
        raise Killed

    first.sleep = kill
    with replay("batch_reattach") as recorded:
        with pytest.raises(Killed):
            _native(first, source, sink)
        (folder,) = jobs_dir().iterdir()
        job = BatchJob.load(folder)
        assert job is not None and job.state == "submitted"
        assert job.job_id == (
            "projects/123456789012/locations/us-central1/batchPredictionJobs/2468013579246801357"
        )
        assert job.staging == [
            f"gs://{BUCKET}/hostkit/batch/{KEY}/input.jsonl",
            f"gs://{BUCKET}/hostkit/batch/{KEY}/output/",
        ]
        assert job.created == {"model": f"projects/123456789012/locations/us-central1/models/{KEY}"}
        assert (folder / "job.json").stat().st_mode & 0o777 == 0o600
        assert not sink.exists() or sink.read_text() == ""

        later = _provider()  # a new process: a fresh provider, the journal on disk
        summary = _native(later, source, sink)
        later.close()
    first.close()
    assert recorded.all_played  # strict replay: one upload, one model, one create
    creates = [p for m, p in _paths("batch_reattach") if m == "POST" and p.endswith("Jobs")]
    assert len(creates) == 1
    assert summary.completed and summary.ok == 4
    assert [r["id"] for r in _records(sink)] == ["q0", "q1", "q2", "q3"]
    assert list(jobs_dir().iterdir()) == []


def test_a_crash_after_create_was_sent_finds_the_job_by_its_label(
    provider: VertexProvider, tmp_path: Path
) -> None:
    """The journal says a create was under way: the rerun lists by label, creates nothing."""
    jobs = BatchPredictionJobs(provider)
    job = BatchJob(
        key=KEY,
        provider="vertex",
        deployment="scores",
        model=MODEL,
        folder=tmp_path,
        output="",
        input="",
        input_sha256="",
        count=1,
        data={"creating": True},
    )
    job.plan.write_text("")
    listed: list[Any] = []

    def list_jobs(request: Any, **kwargs: Any) -> list[Any]:
        listed.append(request)
        from google.cloud import aiplatform_v1 as v1

        return [
            v1.BatchPredictionJob(
                name="projects/1/locations/us-central1/batchPredictionJobs/7", display_name=KEY
            )
        ]

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a second job was created")

    client = jobs.client
    client.list_batch_prediction_jobs = list_jobs
    client.create_batch_prediction_job = refuse
    jobs._create_job(job, provider.plan(SPEC), "projects/1/locations/us-central1/models/m")
    assert job.job_id == "projects/1/locations/us-central1/batchPredictionJobs/7"
    assert listed[0].filter == f'labels.hostkit_batch="{KEY}"'
    jobs.close()


# -- cancel, failure ------------------------------------------------------------------------
def test_ctrl_c_cancels_the_job_and_deletes_what_it_made(
    provider: VertexProvider, tmp_path: Path
) -> None:
    source, sink = _input(tmp_path), tmp_path / "out.jsonl"
    calls = [0]

    def interrupt_once(seconds: float) -> None:
        calls[0] += 1
        if calls[0] == 1:
            raise KeyboardInterrupt

    provider.sleep = interrupt_once
    with replay("batch_cancel") as recorded, pytest.raises(KeyboardInterrupt):
        _native(provider, source, sink, cancel_on_interrupt=True)
    assert recorded.all_played  # :cancel, polled to CANCELLED, model and input deleted
    assert not sink.exists() or sink.read_text() == ""
    assert list(jobs_dir().iterdir()) == []


def test_a_failed_job_writes_every_line_as_failed_with_googles_reason(
    provider: VertexProvider, tmp_path: Path
) -> None:
    source, sink = _input(tmp_path), tmp_path / "out.jsonl"
    with replay("batch_failed") as recorded:
        summary = _native(provider, source, sink)
    assert recorded.all_played
    records = _records(sink)
    assert [r["ok"] for r in records] == [False] * 4
    message = records[0]["error"]["message"]
    assert "JOB_STATE_FAILED" in message and "Model server never became ready" in message
    assert "(FAILED_PRECONDITION)" in message
    assert (summary.ok, summary.failed) == (0, 4)
    # billed for the 1498 s it ran on its one replica
    assert summary.cost_usd == pytest.approx(1498 / 3600 * G2_12, rel=1e-3)  # + ms fractions
    assert list(jobs_dir().iterdir()) == []


# -- staging: kept on request; a deployment's model is reused, never deleted ----------------
def test_keep_staging_and_the_deployments_own_model(
    provider: VertexProvider, tmp_path: Path
) -> None:
    source, sink = _input(tmp_path), tmp_path / "out.jsonl"
    with replay("batch_keep") as recorded:
        summary = _native(provider, source, sink, keep_staging=True)
    assert recorded.all_played and summary.ok == 4
    assert [m for m, _ in _paths("batch_keep") if m == "DELETE"] == []  # nothing deleted
    assert not any(p.endswith(":upload") for _, p in _paths("batch_keep"))  # none uploaded
    assert list(jobs_dir().iterdir()) == []


def test_a_refused_create_deletes_what_was_made_and_names_the_permission(
    provider: VertexProvider, tmp_path: Path
) -> None:
    source, sink = _input(tmp_path), tmp_path / "out.jsonl"
    with replay("batch_refused") as recorded, pytest.raises(errors.AuthenticationError) as caught:
        _native(provider, source, sink)
    assert recorded.all_played  # the model and the input object were deleted
    assert "aiplatform.batchPredictionJobs.create" in str(caught.value)
    assert list(jobs_dir().iterdir()) == []  # no job exists: nothing to reattach to
    assert not sink.exists() or sink.read_text() == ""


# -- before anything runs ------------------------------------------------------------------
def test_dry_run_estimates_both_paths_and_sends_nothing(tmp_path: Path) -> None:
    from hostkit import _api

    provider = _provider()
    original = _api.provider_for
    _api.provider_for = lambda name, config=None: provider  # type: ignore[assignment]
    spec = DeploymentSpec(
        provider="vertex",
        name="scores",
        model=MODEL,
        instance="g2-standard-12",
        replicas=2,
        options={"batch_seconds_per_request": 3.6},
    )
    try:
        estimate = estimate_native(spec, _input(tmp_path))
        assert provider._sdk_objects is None  # no client was even built: nothing was sent
    finally:
        _api.provider_for = original
        provider.close()
    # 2 replicas x (20 min start-up + 4 x 3.6 s / 2 replicas) at the node-hour price
    work_h = 4 * 3.6 / 2 / 3600
    assert estimate.native.usd == pytest.approx(2 * (20 / 60 + work_h) * G2_12)
    # the endpoint path: its replicas up for a deploy's 20 min and the same processing time
    assert estimate.endpoint.usd == pytest.approx(2 * (20 / 60 + work_h) * G2_12, rel=1e-3)
    text = estimate.text()
    assert "native job" in text and "through an endpoint" in text
    assert "start-up allowance x 2 replica(s) plus the processing time" in text
    assert "nothing was uploaded or started" in text


def test_an_unpriced_machine_is_none_with_a_warning_never_a_guess(tmp_path: Path) -> None:
    provider = _provider()
    spec = DeploymentSpec(provider="vertex", name="scores", model=MODEL, instance="a3-ultragpu-8g")
    job = BatchJob(
        key="dry-run",
        provider="vertex",
        deployment="scores",
        model=MODEL,
        folder=tmp_path,
        output="",
        input="",
        input_sha256="",
        count=10,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimate = provider.batch_job_cost(spec, job, None)
    assert provider._sdk_objects is None  # offline
    provider.close()
    assert estimate.usd is None
    assert any("a3-ultragpu-8g" in str(w.message) for w in caught)


def test_custom_container_requests_must_be_instances(
    provider: VertexProvider, tmp_path: Path
) -> None:
    spec = DeploymentSpec(
        provider="vertex",
        name="scores",
        model="gs://b/m",
        image="us-docker.pkg.dev/x/y:1",
        instance="n1-standard-4",
    )
    job = BatchJob(
        key=KEY,
        provider="vertex",
        deployment="scores",
        model="gs://b/m",
        folder=tmp_path,
        output="",
        input="",
        input_sha256="",
        count=2,
    )
    job.plan.write_text(
        json.dumps({"line": 1, "id": "a", "request": {"instances": [{"x": 1}, {"x": 2}]}})
        + "\n"
        + json.dumps({"line": 2, "id": "b", "request": {"x": 3}})
        + "\n"
    )
    jobs = BatchPredictionJobs(provider)
    with pytest.raises(errors.ConfigError, match=r'id .b. \(line 2\).*\{"instances"'):
        jobs.instances(spec, job, "custom")
    job.plan.write_text(
        json.dumps({"line": 1, "id": "a", "request": {"instances": [{"x": 1}, {"x": 2}]}}) + "\n"
    )
    text, parameters = jobs.instances(spec, job, "custom")
    assert [json.loads(line) for line in text.splitlines()] == [
        {KEY_FIELD: "0.0", "x": 1},
        {KEY_FIELD: "0.1", "x": 2},
    ]
    assert parameters is None


# -- cassette realism: the SDK's own types parse every Vertex AI body ----------------------
def _kind(method: str, path: str) -> str:
    if path.startswith(("/storage/", "/upload/storage/", "/download/storage/")):
        return "storage"
    if path.startswith("/ui/"):
        return "Operation"
    if path.endswith(":rawPredict"):
        return "chat"
    if path.endswith("/models") and method == "GET":
        return "ListModelsResponse"
    if path.endswith(":cancel"):
        return "Empty"
    if "/batchPredictionJobs" in path:
        return "BatchPredictionJob"
    return "Operation"


@pytest.mark.parametrize("file", sorted(p.name for p in CASSETTES.glob("batch_*.yaml")))
def test_every_recorded_body_parses_with_the_sdk_types(file: str) -> None:
    from google.cloud import aiplatform_v1 as v1
    from google.longrunning import operations_pb2
    from google.protobuf import empty_pb2, json_format

    for interaction in load_cassette(CASSETTES / file):
        request, response = interaction.request, interaction.response
        kind = _kind(request.method, request.path)
        text = response.body
        if response.status >= 400 and kind != "storage":  # Google's JSON error envelope
            from google.rpc import error_details_pb2, status_pb2  # noqa: F401 (detail types)

            envelope = json.loads(text)["error"]
            assert set(envelope) <= {"code", "message", "status", "details"}
            status = {k: v for k, v in envelope.items() if k != "status"}
            json_format.Parse(json.dumps(status), status_pb2.Status())
            continue
        if kind == "storage":
            if response.status in (200,) and text:
                assert json.loads(text)["kind"].startswith("storage#")
            continue
        if kind == "chat":
            assert json.loads(text)["object"] == "chat.completion"
            continue
        messages: dict[str, Any] = {
            "BatchPredictionJob": v1.BatchPredictionJob.pb(),
            "ListModelsResponse": v1.ListModelsResponse.pb(),
            "Operation": operations_pb2.Operation,
            "Empty": empty_pb2.Empty,
        }
        json_format.Parse(text, messages[kind](), ignore_unknown_fields=False)
        if kind == "BatchPredictionJob" and request.body:
            json_format.Parse(
                request.body, v1.BatchPredictionJob.pb()(), ignore_unknown_fields=False
            )


def test_result_shards_hold_keyed_lines_of_chat_completions() -> None:
    for file in sorted(CASSETTES.glob("batch_*.yaml")):
        for interaction in load_cassette(file):
            if "alt=media" not in interaction.request.uri or interaction.response.status != 206:
                continue
            for line in interaction.response.body.splitlines():
                data = json.loads(line)
                assert set(data) in ({"key", "prediction"}, {"key", "error"}), file.name
                if "prediction" in data:
                    assert data["prediction"]["object"] == "chat.completion"
                else:
                    assert set(data["error"]) == {"code", "message"}


def test_the_cli_runs_a_native_job_from_the_config_and_a_dry_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import hostkit.batch_jobs
    from hostkit.cli import main

    monkeypatch.chdir(tmp_path)
    Path("hostkit.toml").write_text(
        '[providers.vertex]\nproject = "hostkit-demo"\nlocation = "us-central1"\n'
        f'staging_bucket = "{BUCKET}"\n'
        f'\n[deployments.scores]\nprovider = "vertex"\nmodel = "{MODEL}"\n'
        'instance = "g2-standard-12"\n'
    )
    real_setup = VertexProvider.setup

    def setup(self: VertexProvider) -> None:
        real_setup(self)
        self.sleep = lambda seconds: None

    monkeypatch.setattr(VertexProvider, "setup", setup)
    monkeypatch.setattr(hostkit.batch_jobs, "POLL_S", 0)
    source, sink = _input(tmp_path), tmp_path / "out.jsonl"

    args = ["batch", "scores", str(source), "-o", str(sink), "--native"]
    with replay("batch_endpoint") as recorded:  # strict: a request it lacks would raise
        assert main([*args, "--dry-run"]) == 0
    assert recorded.play_count == 0  # nothing was sent
    printed = capsys.readouterr().out
    assert "native job: $0.38: batch prediction, 0.333 node-hour(s) of g2-standard-12" in printed
    assert "nothing was uploaded or started" in printed

    with replay("batch_run") as recorded, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main([*args, "--json"]) == 0
    assert recorded.all_played
    summary = json.loads(capsys.readouterr().out)
    assert (summary["ok"], summary["total"], summary["completed"]) == (4, 4, True)
    assert summary["cost_usd"] == pytest.approx(0.5 * G2_12)
    assert [r["result"]["text"] for r in _records(sink)][1] == "Butterscotch."
