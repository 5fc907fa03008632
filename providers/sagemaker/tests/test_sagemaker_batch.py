"""``hostkit batch --native`` on SageMaker Batch Transform, end to end on moto (S3, STS,
SageMaker).

moto records a CreateTransformJob but runs no container, so :class:`FakeBatchTransform`
plays the service: a job starts InProgress, and on the driver's next wait it reads the
input object, answers each line with the test's "container" and writes
``<S3OutputPath>/<input name>.out`` one answer a line (``AssembleWith=Line``), then marks
the job Completed with start and end times 90 s apart, as Batch Transform does.
"""

from __future__ import annotations

import datetime as _dt
import json
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import moto
import pytest
from hostkit_providers.sagemaker import SageMakerProvider

from hostkit import DeploymentSpec, errors, get_provider
from hostkit.batch import batch, read_input
from hostkit.batch_jobs import BatchJob, estimate_native, jobs_dir, run_native

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/hostkit-sagemaker-execution"
BUCKET = f"sagemaker-{REGION}-{ACCOUNT}"
IMAGE = f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
SPEC = DeploymentSpec(
    provider="sagemaker",
    name="doubler",
    model="s3://hostkit-models/doubler/model.tar.gz",
    image=IMAGE,
    instance="ml.m5.xlarge",
    replicas=2,
    options={"max_concurrent_transforms": 4},
)
EVERY = {"temperature": 0}
#: fields that differ between two runs of the same request (time, ids)
VOLATILE = ("latency_s", "ttft_s", "request_id", "timings")


def container(line: bytes) -> bytes:
    """The model: {"x": n} -> {"y": 2n}; anything else -> an error object."""
    request = json.loads(line)
    return json.dumps({"y": request["x"] * 2}).encode()


class Killed(BaseException):
    """Stands for a kill -9 of the process waiting on the job (nothing after it runs)."""


class FakeBatchTransform:
    """Runs moto's transform jobs the way Batch Transform would (see the module doc)."""

    def __init__(self, s3: Any) -> None:
        self.s3 = s3
        self.runs = 0
        #: the input object of every job run
        self.inputs: list[bytes] = []
        #: what the job's container answers for one input line
        self.container: Callable[[bytes], bytes] = container
        #: called before each wait; may raise Killed or KeyboardInterrupt
        self.before_wait: Callable[[], None] | None = None

    @property
    def jobs(self) -> dict[str, Any]:
        from moto.sagemaker.models import sagemaker_backends

        return sagemaker_backends[ACCOUNT][REGION].transform_jobs  # type: ignore[no-any-return]

    def wait(self, seconds: float) -> None:
        if self.before_wait is not None:
            self.before_wait()
        for job in self.jobs.values():
            if job.transform_job_status == "InProgress":
                self.run(job)

    def run(self, job: Any) -> None:
        self.runs += 1
        source = job.transform_input["DataSource"]["S3DataSource"]["S3Uri"]
        bucket, _, key = source.removeprefix("s3://").partition("/")
        body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        self.inputs.append(body)
        answers = b"".join(self.container(line) + b"\n" for line in body.splitlines())
        target = job.transform_output["S3OutputPath"].removeprefix("s3://")
        out_bucket, _, prefix = target.partition("/")
        name = key.rsplit("/", 1)[-1]
        self.s3.put_object(Bucket=out_bucket, Key=f"{prefix}{name}.out", Body=answers)
        job.transform_job_status = "Completed"
        job.transform_end_time = job.transform_start_time + _dt.timedelta(seconds=90)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with moto.mock_aws():
        from moto.sagemaker import models

        born = models.FakeTransformJob.__init__

        def in_progress(self: Any, *args: Any, **kwargs: Any) -> None:
            born(self, *args, **kwargs)
            self.transform_job_status = "InProgress"

        monkeypatch.setattr(models.FakeTransformJob, "__init__", in_progress)
        import boto3

        yield {s: boto3.client(s, region_name=REGION) for s in ("sagemaker", "s3")}


@pytest.fixture
def service(aws: dict[str, Any]) -> FakeBatchTransform:
    return FakeBatchTransform(aws["s3"])


def _provider(service: FakeBatchTransform, **settings: Any) -> SageMakerProvider:
    built = get_provider("sagemaker", region=REGION, role_arn=ROLE, **settings)
    assert isinstance(built, SageMakerProvider)
    built.sleep = service.wait
    built.retry.sleep = lambda seconds: None
    return built


@pytest.fixture
def provider(service: FakeBatchTransform) -> Iterator[SageMakerProvider]:
    built = _provider(service)
    yield built
    built.close()


def _input(tmp_path: Path, count: int = 5) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"id": f"r{i}", "x": i}) + "\n" for i in range(count)))
    return path


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _stable(record: dict[str, Any]) -> dict[str, Any]:
    result = {k: v for k, v in record.get("result", {}).items() if k not in VOLATILE}
    return {**record, "result": result}


def _objects(aws: dict[str, Any]) -> list[str]:
    listed = aws["s3"].list_objects_v2(Bucket=BUCKET)
    return [o["Key"] for o in listed.get("Contents", [])]


def _native(provider: SageMakerProvider, source: Path, sink: Path, **kwargs: Any) -> Any:
    """run_native with this test's provider instance (as the config would build it)."""
    from hostkit import _api

    original = _api.provider_for
    _api.provider_for = lambda name, config=None: provider  # type: ignore[assignment]
    try:
        return run_native(SPEC, source, sink, poll_s=0, **kwargs)
    finally:
        _api.provider_for = original


def test_native_gives_the_same_output_as_the_endpoint_path(
    provider: SageMakerProvider, service: FakeBatchTransform, aws: dict[str, Any], tmp_path: Path
) -> None:
    source = _input(tmp_path)
    # the endpoint path: a live endpoint, moto's runtime answering what the container would
    from moto.sagemakerruntime.models import sagemakerruntime_backends

    deployment = provider.deploy(SPEC)
    queue = sagemakerruntime_backends[ACCOUNT][REGION].results_queue
    for line in source.read_bytes().splitlines():
        request = {k: v for k, v in json.loads(line).items() if k != "id"}
        queue.append((container(json.dumps(request).encode()).decode(), "application/json", "", ""))
    through_endpoint = tmp_path / "endpoint.jsonl"
    batch(deployment, source, through_endpoint, concurrency=1, fsync=False)
    provider.teardown(deployment)

    native_out = tmp_path / "native.jsonl"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = _native(provider, source, native_out)
    assert summary.completed and (summary.ok, summary.failed, summary.total) == (5, 0, 5)
    assert [_stable(r) for r in _records(native_out)] == [
        _stable(r) for r in _records(through_endpoint)
    ]
    assert _records(native_out)[3]["result"]["output"] == {"y": 6}

    (job,) = aws["sagemaker"].list_transform_jobs()["TransformJobSummaries"]
    described = aws["sagemaker"].describe_transform_job(TransformJobName=job["TransformJobName"])
    assert described["TransformInput"]["SplitType"] == "Line"
    assert described["TransformInput"]["ContentType"] == "application/json"
    assert described["TransformOutput"]["AssembleWith"] == "Line"
    assert described["BatchStrategy"] == "SingleRecord"
    assert described["MaxConcurrentTransforms"] == 4
    assert described["TransformResources"] == {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2}
    # nothing left: the model it created, the staged objects, the journal
    assert aws["sagemaker"].list_models()["Models"] == []
    assert _objects(aws) == []
    assert not jobs_dir().exists() or list(jobs_dir().iterdir()) == []
    # the summary prices the job's 90 s x 2 instances; no sourced Batch Transform price
    assert summary.cost_usd is None and "batch-transform:ml.m5.xlarge" in (summary.cost_note or "")
    assert any("batch-transform:ml.m5.xlarge" in str(w.message) for w in caught)


def test_the_job_is_priced_from_its_own_start_and_end(
    service: FakeBatchTransform, aws: dict[str, Any], tmp_path: Path
) -> None:
    provider = _provider(service)
    provider._price_overrides = {
        "batch-transform:ml.m5.xlarge": {"usd_per_hour": 0.3, "source": "test"}
    }
    summary = _native(provider, _input(tmp_path), tmp_path / "out.jsonl")
    assert summary.cost_usd == pytest.approx(2 * 0.3 * 90 / 3600)
    assert "1 x" in summary.cost_basis or "2 x" in summary.cost_basis or summary.cost_basis


def test_the_bucket_is_created_and_a_rerun_sends_nothing(
    provider: SageMakerProvider, service: FakeBatchTransform, aws: dict[str, Any], tmp_path: Path
) -> None:
    assert aws["s3"].list_buckets()["Buckets"] == []
    source, sink = _input(tmp_path), tmp_path / "out.jsonl"
    _native(provider, source, sink, keep_staging=True)
    assert [b["Name"] for b in aws["s3"].list_buckets()["Buckets"]] == [BUCKET]
    kept = _objects(aws)
    assert len(kept) == 2 and kept[0].endswith("input/requests.jsonl")
    assert kept[1].endswith("output/requests.jsonl.out")
    again = _native(provider, source, sink)
    assert (again.skipped, again.ok, service.runs) == (5, 0, 1)  # every id done: no job
    assert len(_records(sink)) == 5


def test_a_rerun_after_a_kill_reattaches_to_the_running_job(
    provider: SageMakerProvider, service: FakeBatchTransform, aws: dict[str, Any], tmp_path: Path
) -> None:
    source, sink = _input(tmp_path), tmp_path / "out.jsonl"

    def kill() -> None:
        raise Killed

    service.before_wait = kill
    with pytest.raises(Killed):
        _native(provider, source, sink)
    (folder,) = jobs_dir().iterdir()
    job = BatchJob.load(folder)
    assert job is not None and job.state == "submitted" and job.job_id
    assert (folder / "job.json").stat().st_mode & 0o777 == 0o600
    assert job.staging[0] == f"s3://{BUCKET}/hostkit-batch/{job.key}/input/requests.jsonl"
    assert job.created == {"model": job.key}
    assert service.jobs[job.key].transform_job_status == "InProgress"  # still running

    service.before_wait = None
    later = _provider(service)  # a new process: a fresh provider, the journal on disk
    summary = _native(later, source, sink)
    assert summary.completed and summary.ok == 5
    assert len(aws["sagemaker"].list_transform_jobs()["TransformJobSummaries"]) == 1
    assert [r["id"] for r in _records(sink)] == [f"r{i}" for i in range(5)]
    assert _objects(aws) == [] and aws["sagemaker"].list_models()["Models"] == []
    assert list(jobs_dir().iterdir()) == []


def test_a_kill_after_the_download_writes_nothing_twice(
    provider: SageMakerProvider, service: FakeBatchTransform, aws: dict[str, Any], tmp_path: Path
) -> None:
    source, sink = _input(tmp_path), tmp_path / "out.jsonl"
    finish = provider.finish_batch_job

    def killed_in_cleanup(job: Any, *, keep_staging: bool = False) -> None:
        raise Killed

    provider.finish_batch_job = killed_in_cleanup  # type: ignore[method-assign]
    with pytest.raises(Killed):
        _native(provider, source, sink)
    assert len(_records(sink)) == 5
    provider.finish_batch_job = finish  # type: ignore[method-assign]
    summary = _native(provider, source, sink)
    assert (summary.skipped, summary.ok) == (5, 0)
    assert [r["id"] for r in _records(sink)] == [f"r{i}" for i in range(5)]  # once each
    assert _objects(aws) == [] and aws["sagemaker"].list_models()["Models"] == []


def test_ctrl_c_cancels_the_job_when_asked(
    provider: SageMakerProvider, service: FakeBatchTransform, aws: dict[str, Any], tmp_path: Path
) -> None:
    stopped: list[str] = []

    def stop(params: dict[str, Any], **kwargs: Any) -> Any:
        name = json.loads(params["body"])["TransformJobName"]  # the serialised request
        stopped.append(name)
        service.jobs[name].transform_job_status = "Stopped"
        from botocore.awsrequest import AWSResponse

        return (AWSResponse("", 200, {}, None), {})

    sm = provider._client("sagemaker")
    sm.meta.events.register("before-call.sagemaker.StopTransformJob", stop)

    def interrupt() -> None:
        raise KeyboardInterrupt

    service.before_wait = interrupt
    asked: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        _native(
            provider,
            _input(tmp_path),
            tmp_path / "out.jsonl",
            cancel_on_interrupt=lambda job: asked.append(job.key) or True,
        )
    assert stopped == asked and len(stopped) == 1
    assert _objects(aws) == [] and aws["sagemaker"].list_models()["Models"] == []
    assert list(jobs_dir().iterdir()) == []
    assert not (tmp_path / "out.jsonl").exists() or _records(tmp_path / "out.jsonl") == []


def test_a_failed_job_writes_every_line_as_failed_and_retry_failed_resends(
    provider: SageMakerProvider, service: FakeBatchTransform, aws: dict[str, Any], tmp_path: Path
) -> None:
    source, sink = _input(tmp_path, 3), tmp_path / "out.jsonl"

    def fail() -> None:
        for job in service.jobs.values():
            if job.transform_job_status == "InProgress":
                job.transform_job_status = "Failed"
                job.failure_reason = "ClientError: See job logs for more information"

    service.before_wait = fail
    summary = _native(provider, source, sink)
    assert (summary.ok, summary.failed) == (0, 3)
    first = _records(sink)[0]
    assert first["ok"] is False and "See job logs" in first["error"]["message"]
    service.before_wait = None
    again = _native(provider, source, sink, retry_failed=True)
    assert (again.ok, again.failed) == (3, 0)
    assert [r["ok"] for r in _records(sink)] == [True, True, True]
    assert len(aws["sagemaker"].list_transform_jobs()["TransformJobSummaries"]) == 2


def test_a_changed_input_does_not_collect_a_job_of_the_old_one(
    provider: SageMakerProvider, service: FakeBatchTransform, tmp_path: Path
) -> None:
    source, sink = _input(tmp_path), tmp_path / "out.jsonl"

    def kill() -> None:
        raise Killed

    service.before_wait = kill
    with pytest.raises(Killed):
        _native(provider, source, sink)
    source.write_text(source.read_text() + json.dumps({"id": "r9", "x": 9}) + "\n")
    with pytest.raises(errors.ConfigError, match=r"another input.*--restart"):
        _native(provider, source, sink)


def test_raw_requests_with_line_breaks_are_refused_before_anything_runs(
    provider: SageMakerProvider, aws: dict[str, Any], tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "a", "request": "two\nlines"}) + "\n")
    with pytest.raises(errors.ConfigError, match=r"id 'a'.*line break"):
        _native(provider, source, tmp_path / "out.jsonl")
    assert aws["sagemaker"].list_transform_jobs()["TransformJobSummaries"] == []
    assert list(jobs_dir().iterdir()) == []  # no plan left to reattach to
    assert aws["sagemaker"].list_models()["Models"] == []


def test_dry_run_estimates_both_paths_and_creates_nothing(
    service: FakeBatchTransform, aws: dict[str, Any], tmp_path: Path
) -> None:
    provider = _provider(service)
    provider._price_overrides = {
        "batch-transform:ml.m5.xlarge": {"usd_per_hour": 0.3, "source": "test"}
    }
    spec = SPEC.replace(options={"batch_seconds_per_request": 0.5, "max_concurrent_transforms": 4})
    from hostkit import _api

    original = _api.provider_for
    _api.provider_for = lambda name, config=None: provider  # type: ignore[assignment]
    try:
        estimate = estimate_native(spec, _input(tmp_path, 8000))
    finally:
        _api.provider_for = original
    work_h = 8000 * 0.5 / (2 * 4) / 3600
    assert estimate.native.usd == pytest.approx(2 * 0.3 * (10 / 60 + work_h))
    assert estimate.endpoint.usd is not None  # ml.m5.xlarge real-time: a shipped price
    text = estimate.text()
    assert "native job" in text and "through an endpoint" in text and "dry run" in text
    assert aws["s3"].list_buckets()["Buckets"] == []
    assert aws["sagemaker"].list_transform_jobs()["TransformJobSummaries"] == []


def test_other_providers_say_native_batch_is_unsupported(tmp_path: Path) -> None:
    with pytest.raises(errors.Unsupported, match="without --native works there"):
        run_native("local:echo", _input(tmp_path), tmp_path / "out.jsonl", poll_s=0)


def test_a_hub_model_runs_in_the_llm_container_with_chat_bodies(
    service: FakeBatchTransform, aws: dict[str, Any], tmp_path: Path
) -> None:
    def llm(line: bytes) -> bytes:  # what TGI's Messages API answers for one request
        body = json.loads(line)
        question = body["messages"][-1]["content"]
        return json.dumps(
            {
                "object": "chat.completion",
                "id": "",
                "model": body["model"],
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": question[::-1]}}
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14},
            }
        ).encode()

    service.container = llm
    provider = _provider(service)
    spec = DeploymentSpec(
        provider="sagemaker",
        name="llama-batch",
        model="meta-llama/Llama-3.1-8B-Instruct",
        instance="ml.g4dn.xlarge",
    )
    source = tmp_path / "in.jsonl"
    source.write_text(
        "".join(
            json.dumps({"id": w, "request": w, "params": {"max_tokens": 8}}) + "\n"
            for w in ("abc", "hello")
        )
    )
    from hostkit import _api

    original = _api.provider_for
    _api.provider_for = lambda name, config=None: provider  # type: ignore[assignment]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            summary = run_native(spec, source, tmp_path / "out.jsonl", poll_s=0, params=EVERY)
            # the records answer the input's lines as the endpoint path hashes them, so a
            # rerun (with the same --param) finds every id done and refuses nothing
            again = run_native(spec, source, tmp_path / "out.jsonl", poll_s=0, params=EVERY)
    finally:
        _api.provider_for = original
    assert (summary.ok, summary.input_tokens, summary.output_tokens) == (2, 20, 8)
    assert (again.skipped, again.ok) == (2, 0)
    rows = _records(tmp_path / "out.jsonl")
    assert [r["result"]["text"] for r in rows] == ["cba", "olleh"]
    assert [r["request_sha256"] for r in rows] == [i.request_sha256 for i in read_input(source)]
    sent = json.loads(service.inputs[0].splitlines()[0])
    assert sent["temperature"] == 0 and sent["max_tokens"] == 8  # --param and the line's
    (job,) = aws["sagemaker"].list_transform_jobs()["TransformJobSummaries"]
    assert job["TransformJobStatus"] == "Completed"
    assert aws["sagemaker"].list_models()["Models"] == []


def test_a_job_stopped_on_the_platform_leaves_nothing_and_writes_nothing(
    provider: SageMakerProvider, service: FakeBatchTransform, aws: dict[str, Any], tmp_path: Path
) -> None:
    def stopped_in_the_console() -> None:
        for job in service.jobs.values():
            job.transform_job_status = "Stopped"

    service.before_wait = stopped_in_the_console
    summary = _native(provider, _input(tmp_path), tmp_path / "out.jsonl")
    assert not summary.completed and summary.ok == 0 and "cancelled" in (summary.cost_note or "")
    assert _objects(aws) == [] and aws["sagemaker"].list_models()["Models"] == []
    assert list(jobs_dir().iterdir()) == []


def test_the_cli_runs_a_native_job_from_the_config_and_a_dry_run(
    service: FakeBatchTransform,
    aws: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import hostkit.batch_jobs
    from hostkit.cli import main

    Path("hostkit.toml").write_text(
        f'[providers.sagemaker]\nregion = "{REGION}"\nrole_arn = "{ROLE}"\n'
        '\n[prices.sagemaker."batch-transform:ml.m5.xlarge"]\nusd_per_hour = 0.3\n'
        'source = "test"\n'
        f'\n[deployments.doubler]\nprovider = "sagemaker"\nmodel = "{SPEC.model}"\n'
        f'image = "{IMAGE}"\ninstance = "ml.m5.xlarge"\nreplicas = 2\n'
    )
    real_setup = SageMakerProvider.setup

    def setup(self: SageMakerProvider) -> None:
        real_setup(self)
        self.sleep = service.wait

    monkeypatch.setattr(SageMakerProvider, "setup", setup)
    monkeypatch.setattr(hostkit.batch_jobs, "POLL_S", 0)
    source, sink = _input(tmp_path), tmp_path / "out.jsonl"

    assert main(["batch", "doubler", str(source), "-o", str(sink), "--native", "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "native job: $0.10" in printed and "nothing was uploaded" in printed  # 2 x 10 min
    assert aws["s3"].list_buckets()["Buckets"] == []

    args = ["batch", "doubler", str(source), "-o", str(sink), "--native", "--json"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["ok"], summary["total"], summary["completed"]) == (5, 5, True)
    assert summary["cost_usd"] == pytest.approx(2 * 0.3 * 90 / 3600)
    assert [r["result"]["output"]["y"] for r in _records(sink)] == [0, 2, 4, 6, 8]
    assert _objects(aws) == [] and aws["sagemaker"].list_models()["Models"] == []
