"""SageMaker Batch Transform for ``hostkit batch --native`` (see hostkit.batch_jobs).

A native job is one transform job over one S3 object of JSON Lines:

1. the requests are written one per line (a chat request as the chat-completions body
   the LLM container takes, a raw one as its payload) and uploaded to
   ``s3://<bucket>/<prefix>/<job>/input/requests.jsonl``. The bucket is the
   ``batch_bucket`` setting, else ``sagemaker-<region>-<account>`` (the name the SageMaker
   Python SDK gives its default bucket), created if missing;
2. ``CreateModel`` (named after the job, tagged) from the spec, as a deploy would;
3. ``CreateTransformJob`` with ``SplitType=Line``, ``AssembleWith=Line`` (so output line
   *i* answers input line *i*), ``BatchStrategy`` (default ``SingleRecord``: one request
   per invocation, as the endpoint path sends), ``MaxConcurrentTransforms``,
   ``MaxPayloadInMB`` and the spec's instance type and count;
4. ``DescribeTransformJob`` until it ends; then ``<input>.out`` is read back and joined
   to the input ids by line, the model is deleted and, unless ``--keep-staging``, both
   objects too.

Every name is journalled before it is created, and each create is idempotent by name,
so a rerun after a crash reattaches instead of starting a second job.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from hostkit._models import CostEstimate, DeploymentSpec, InvokeResult, Usage
from hostkit.adapters import build_chat_body, report_progress, result_from_completion
from hostkit.errors import AuthenticationError, ConfigError, HostkitError, NotFound, ProviderError

from ._errors import already_exists, error_code

if TYPE_CHECKING:
    from hostkit.batch_jobs import BatchJob, JobStatus

    from .provider import SageMakerProvider

T = TypeVar("T")
#: DescribeTransformJob's TransformJobStatus -> hostkit's job state
STATES = {
    "InProgress": "running",
    "Completed": "completed",
    "Failed": "failed",
    "Stopping": "cancelling",
    "Stopped": "cancelled",
}
STRATEGIES = ("SingleRecord", "MultiRecord")
#: SageMaker's own defaults when the fields are left out
DEFAULT_MAX_PAYLOAD_MB = 6
#: the part of an hour a transform job spends starting its instances (billed), assumed
#: for estimates: instances boot and pull the container before the first record
STARTUP_ALLOWANCE_H = 10 / 60
#: a deploy's start-up (endpoint creating) assumed for the endpoint path's estimate
ENDPOINT_STARTUP_H = 10 / 60
INPUT_NAME = "requests.jsonl"
PRICE_PREFIX = "batch-transform:"


def _options(spec: DeploymentSpec) -> dict[str, Any]:
    """The spec's batch options, checked (names the option and what is allowed)."""
    options = spec.options
    strategy = options.get("batch_strategy", "SingleRecord")
    if strategy not in STRATEGIES:
        raise ConfigError(
            f"options.batch_strategy: expected one of {', '.join(STRATEGIES)}, got {strategy!r}"
        )
    concurrent = options.get("max_concurrent_transforms")
    payload = options.get("max_payload_mb", DEFAULT_MAX_PAYLOAD_MB)
    for name, value, low, high in (
        ("max_concurrent_transforms", concurrent, 1, 10_000),
        ("max_payload_mb", payload, 0, 100),
    ):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(
                f"options.{name}: expected a whole number {low}-{high}, got {value!r}"
            )
    seconds = options.get("batch_seconds_per_request")
    if seconds is not None and (
        isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0
    ):
        raise ConfigError(
            f"options.batch_seconds_per_request: expected a positive number, got {seconds!r}"
        )
    return {
        "strategy": strategy,
        "concurrent": concurrent,
        "payload": payload,
        "seconds": seconds,
    }


class TransformJobs:
    """The Batch Transform side of a :class:`SageMakerProvider` (one per provider)."""

    def __init__(self, provider: SageMakerProvider) -> None:
        self.p = provider

    # -- the bucket ------------------------------------------------------
    def bucket(self) -> str:
        """The ``batch_bucket`` setting, else the SageMaker SDK's default bucket name."""
        named = self.p.setting("batch_bucket")
        if named:
            return str(named)
        sts = self.p._client("sts")
        account = self.p.call(sts.get_caller_identity)["Account"]
        return f"sagemaker-{self.p.region}-{account}"

    def s3(self, permission: str, bucket: str, call: Callable[[], T]) -> T:
        """One S3 call; a refusal names the IAM permission it needs (S3 says only
        "Access Denied")."""
        try:
            return self.p.call(call)
        except AuthenticationError as error:
            if "missing IAM permission" not in error.message:
                error.message += (
                    f" (the AWS credentials need {permission} on bucket {bucket}; set"
                    " batch_bucket under [providers.sagemaker] to use another bucket)"
                )
            raise

    def ensure_bucket(self, bucket: str) -> None:
        """Create ``bucket`` in the provider's region if it does not exist; refuse one
        in another region (SageMaker reads S3 in its own region) or one we cannot see."""
        s3 = self.p._client("s3")
        try:
            s3.head_bucket(Bucket=bucket)
            return
        except Exception as error:
            code = error_code(error)
            if code in ("301", "PermanentRedirect"):
                headers = (getattr(error, "response", {}).get("ResponseMetadata") or {}).get(
                    "HTTPHeaders"
                ) or {}
                where = headers.get("x-amz-bucket-region", "another region")
                raise ConfigError(
                    f"batch_bucket: bucket {bucket} is in {where}, and SageMaker in"
                    f" {self.p.region} reads and writes S3 in its own region; set batch_bucket"
                    f" under [providers.sagemaker] to a bucket in {self.p.region}",
                    provider=self.p.name,
                ) from None
            if code == "403":
                raise AuthenticationError(
                    f"bucket {bucket}: access denied (the AWS credentials need s3:ListBucket on"
                    " it, or it belongs to another account; set batch_bucket under"
                    " [providers.sagemaker] to a bucket of yours)",
                    provider=self.p.name,
                ) from None
            if code not in ("404", "NoSuchBucket", "NotFound"):
                raise self.p.map_error(error) from error
        report_progress(f"creating S3 bucket {bucket} in {self.p.region}")
        request: dict[str, Any] = {"Bucket": bucket}
        if self.p.region != "us-east-1":
            request["CreateBucketConfiguration"] = {"LocationConstraint": self.p.region}
        try:
            self.s3("s3:CreateBucket", bucket, lambda: s3.create_bucket(**request))
        except HostkitError as error:
            if "BucketAlreadyOwnedByYou" not in error.message:
                raise

    # -- submit ----------------------------------------------------------
    def submit(self, spec: DeploymentSpec, job: BatchJob) -> None:
        plan = self.p._plan(spec)
        options = _options(spec)
        if not job.data.get("bucket"):
            bucket = self.bucket()
            prefix = str(self.p.setting("batch_prefix") or "hostkit-batch").strip("/")
            base = f"{prefix}/{job.key}"
            job.data.update(
                bucket=bucket,
                input_key=f"{base}/input/{INPUT_NAME}",
                output_prefix=f"{base}/output/",
                kind=plan.kind,
                instance=plan.instance,
                count=plan.count,
                region=self.p.region,
            )
            job.staging = [
                f"s3://{bucket}/{job.data['input_key']}",
                f"s3://{bucket}/{job.data['output_prefix']}{INPUT_NAME}.out",
            ]
            job.save()
        data = job.data
        content_type = self._write_input(spec, job, plan.kind)
        data["content_type"] = content_type
        self.ensure_bucket(data["bucket"])
        s3 = self.p._client("s3")
        body = (job.folder / "sagemaker-input.jsonl").read_bytes()
        report_progress(f"uploading {len(body)} bytes to {job.staging[0]}")
        self.s3(
            "s3:PutObject",
            data["bucket"],
            lambda: s3.put_object(Bucket=data["bucket"], Key=data["input_key"], Body=body),
        )
        (job.folder / "sagemaker-input.jsonl").unlink(missing_ok=True)
        self._create_model(job, plan)
        request: dict[str, Any] = {
            "TransformJobName": job.key,
            "ModelName": job.created["model"],
            "BatchStrategy": options["strategy"],
            "MaxPayloadInMB": options["payload"],
            "TransformInput": {
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://{data['bucket']}/{data['input_key']}",
                    }
                },
                "ContentType": content_type,
                "SplitType": "Line",
            },
            "TransformOutput": {
                "S3OutputPath": f"s3://{data['bucket']}/{data['output_prefix']}",
                "Accept": "application/json" if content_type == "application/json" else "*/*",
                "AssembleWith": "Line",
            },
            "TransformResources": {"InstanceType": plan.instance, "InstanceCount": plan.count},
            "Tags": plan.tags,
        }
        if options["concurrent"] is not None:
            request["MaxConcurrentTransforms"] = options["concurrent"]
        sm = self.p._client("sagemaker")
        try:
            created = self.p.call(lambda: sm.create_transform_job(**request), safe=False)
            job.data["job_arn"] = created.get("TransformJobArn")
        except ConfigError as error:
            if not already_exists(error):
                raise
            report_progress(f"transform job {job.key} already exists: reattaching")
        job.job_id = job.key

    def _write_input(self, spec: DeploymentSpec, job: BatchJob, kind: str) -> str:
        """The platform input file beside the plan; returns its one content type."""
        first: str | None = None
        with (job.folder / "sagemaker-input.jsonl").open("wb") as handle:
            for _, item in job.requests():
                where = f"batch --native: id {item.id!r} (line {item.line})"
                if kind == "chat":
                    body = build_chat_body(spec.model, item.request, item.params, stream=False)
                    line = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
                else:
                    if item.params:
                        raise ConfigError(
                            f"{where}: params {', '.join(sorted(item.params))} cannot go with a"
                            " raw request in a Batch Transform job (one content type for the"
                            " whole job); use `hostkit batch` without --native for per-line"
                            " parameters"
                        )
                    line, this_type = _raw_line(item.request, where)
                    if first is None:
                        first = this_type
                    elif this_type != first:
                        raise ConfigError(
                            f"{where}: a {this_type} request in a job of {first} requests;"
                            " Batch Transform takes one content type a job"
                        )
                handle.write(line + b"\n")
        return first or "application/json"

    def _create_model(self, job: BatchJob, plan: Any) -> None:
        name = job.key
        job.created["model"] = name
        job.save()
        container: dict[str, Any] = {"Image": plan.image}
        if plan.model_data:
            container["ModelDataUrl"] = self.p.model_data_url(plan.model_data)
        if plan.environment:
            container["Environment"] = plan.environment
        sm = self.p._client("sagemaker")
        request = {
            "ModelName": name,
            "PrimaryContainer": container,
            "ExecutionRoleArn": self.p.setting("role_arn"),
            "Tags": plan.tags,
        }
        try:
            self.p.call(lambda: sm.create_model(**request), safe=False)
        except ConfigError as error:
            if not already_exists(error):
                raise

    # -- status, results, cancel, clean-up -------------------------------
    def describe(self, job: BatchJob) -> dict[str, Any]:
        sm = self.p._client("sagemaker")
        described: dict[str, Any] = self.p.call(
            lambda: sm.describe_transform_job(TransformJobName=job.job_id or job.key)
        )
        return described

    def status(self, job: BatchJob) -> JobStatus:
        from hostkit.batch_jobs import JobStatus

        described = self.describe(job)
        platform = str(described.get("TransformJobStatus") or "")
        return JobStatus(
            state=STATES.get(platform, "running"),
            platform_state=platform,
            message=described.get("FailureReason") or None,
            total=job.count,
            started_at=_seconds(described.get("TransformStartTime")),
            ended_at=_seconds(described.get("TransformEndTime")),
            raw={
                "instance": (described.get("TransformResources") or {}).get("InstanceType"),
                "count": (described.get("TransformResources") or {}).get("InstanceCount"),
            },
        )

    def results(self, job: BatchJob) -> Iterator[tuple[int, InvokeResult | HostkitError]]:
        """Line *i* of ``requests.jsonl.out`` answers request *i* (``AssembleWith=Line``)."""
        data = job.data
        key = f"{data['output_prefix']}{INPUT_NAME}.out"
        s3 = self.p._client("s3")
        body = self.s3(
            "s3:GetObject",
            data["bucket"],
            lambda: s3.get_object(Bucket=data["bucket"], Key=key)["Body"].read(),
        )
        lines = body.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        if len(lines) != job.count:
            error = ProviderError(
                f"transform job {job.key}: its output s3://{data['bucket']}/{key} holds"
                f" {len(lines)} line(s) for {job.count} request(s), so lines cannot be paired"
                " with requests; nothing from it was written (--retry-failed sends them again)",
                provider=self.p.name,
            )
            for index in range(job.count):
                yield index, error
            return
        for index, raw in enumerate(lines):
            yield index, self._result(job, raw)

    def _result(self, job: BatchJob, raw: bytes) -> InvokeResult | HostkitError:
        if job.data.get("kind") == "chat":
            try:
                data = json.loads(raw)
            except ValueError:
                return ProviderError(
                    f"transform job {job.key}: the LLM container answered with something that"
                    f" is not JSON: {raw[:200]!r}",
                    provider=self.p.name,
                )
            if isinstance(data, dict) and "choices" not in data and "error" in data:
                return ProviderError(
                    f"the container answered: {data['error']}", provider="sagemaker"
                )
            return result_from_completion(
                data, provider=self.p.name, model=job.model, latency_s=0.0
            )
        from .provider import _decode

        accept = "application/json" if job.data.get("content_type") == "application/json" else ""
        output = _decode(raw, accept)
        return InvokeResult(
            text=output if isinstance(output, str) else None,
            output=output,
            usage=Usage(),
            latency_s=0.0,
            provider=self.p.name,
            model=job.model,
        )

    def cancel(self, job: BatchJob) -> None:
        sm = self.p._client("sagemaker")
        try:
            self.p.call(lambda: sm.stop_transform_job(TransformJobName=job.job_id or job.key))
        except NotFound:
            return
        except ConfigError as error:  # already ended: nothing to stop
            if "status" not in error.message.lower() and "stop" not in error.message.lower():
                raise

    def finish(self, job: BatchJob, *, keep_staging: bool) -> None:
        """Delete the model the job created and, unless ``keep_staging``, its objects."""
        model = job.created.get("model")
        if model:
            with contextlib.suppress(NotFound):
                self.p._delete("model", model)
        if keep_staging or not job.data.get("bucket"):
            return
        s3 = self.p._client("s3")
        for uri in job.staging:
            bucket, _, key = uri.removeprefix("s3://").partition("/")
            with contextlib.suppress(NotFound):
                self.s3(
                    "s3:DeleteObject",
                    bucket,
                    lambda b=bucket, k=key: s3.delete_object(Bucket=b, Key=k),
                )

    # -- money -----------------------------------------------------------
    def cost(self, spec: DeploymentSpec, job: BatchJob, status: JobStatus | None) -> CostEstimate:
        """Instances x job hours at the Batch Transform price (``batch-transform:<type>``).

        hostkit ships no sourced Batch Transform price, so unless one is configured the
        figure is None with a warning (it does not assume the real-time price).
        """
        instance = spec.instance or ""
        count = spec.replicas or spec.min_replicas or 1
        if status is not None:
            instance = status.raw.get("instance") or instance
            count = int(status.raw.get("count") or count)
            if status.started_at is None or status.ended_at is None:
                return CostEstimate(usd=None, warnings=["the job reports no start or end time"])
            hours = max(0.0, status.ended_at - status.started_at) / 3600
        else:
            options = _options(spec)
            seconds = options["seconds"]
            work_h = 0.0
            if seconds is not None:
                slots = count * (options["concurrent"] or 1)
                work_h = job.count * float(seconds) / slots / 3600
            hours = STARTUP_ALLOWANCE_H + work_h
            job.data["endpoint_hours"] = round(ENDPOINT_STARTUP_H + work_h, 4)
        estimate = self.p.time_cost(
            f"{PRICE_PREFIX}{instance}", hours=hours, count=count, region=self.p._known_region()
        )
        if status is None:
            note = (
                f"{hours * 60:.0f} min per instance: a {STARTUP_ALLOWANCE_H * 60:.0f} min"
                " start-up allowance"
            )
            if _options(spec)["seconds"] is None:
                note += (
                    " only; set options.batch_seconds_per_request (measure it with hostkit"
                    " bench) to add the processing time"
                )
            else:
                note += " plus the processing time"
            estimate.warnings.append(note)
        return estimate


def _raw_line(request: Any, where: str) -> tuple[bytes, str]:
    """A raw request as one line of the job's input, and its content type."""
    from .provider import _payload

    payload, content_type = _payload(request)
    if b"\n" in payload or b"\r" in payload:
        raise ConfigError(
            f"{where}: the request holds a line break, and Batch Transform splits its input"
            " at line breaks (SplitType=Line); send it as JSON, or use `hostkit batch`"
            " without --native"
        )
    return payload, content_type


def _seconds(value: Any) -> float | None:
    if isinstance(value, _dt.datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    return None
