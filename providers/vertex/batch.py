"""Vertex AI batch prediction for ``hostkit batch --native`` (see hostkit.batch_jobs).

A native job is one ``batchPredictionJobs`` job over one Cloud Storage object of JSON Lines:

1. every request becomes one *instance* a line, carrying its plan index in the field
   ``hostkit_key`` (:data:`KEY_FIELD`). For a Hugging Face model (the Model Garden vLLM
   container) an instance is the chat request the container's predict route takes:
   ``{"@requestFormat": "chatCompletions", "messages": [...], "max_tokens": ...}`` (the
   chat-completions body ``invoke`` sends, parameters included, ``model`` left out); for
   your own container a line's ``{"instances": [...]}`` gives one instance each (objects),
   keyed ``<index>.<n>``, and its ``parameters`` become the job's ``modelParameters`` (one
   set for the whole job). The file goes to
   ``gs://<staging bucket>/hostkit/batch/<job key>/input.jsonl`` (gcs.py: the
   ``staging_bucket`` setting, else the project's regional staging bucket);
2. the Model: one already registered by ``hostkit deploy`` for the same spec (same
   ``hostkit_fingerprint`` label) is reused and kept; otherwise one is uploaded with the
   job key as its id (so a rerun finds it instead of uploading a second) and deleted
   after the job;
3. ``batchPredictionJobs.create`` with ``inputConfig {instancesFormat: "jsonl",
   gcsSource}``, ``instanceConfig {keyField: "hostkit_key"}`` (Vertex sends the instance
   without the key and writes ``{"key": ..., "prediction": ...}`` or ``{"key": ...,
   "error": {"code", "message"}}`` back), ``outputConfig {predictionsFormat: "jsonl",
   gcsDestination}`` under ``.../<job key>/output/`` and ``dedicatedResources`` from the
   spec's machine type, GPUs and replicas (``startingReplicaCount`` = min, ``max``);
4. ``get`` until the job ends (``completionStats`` is the progress); then every
   ``prediction.results-*`` and ``prediction.errors_stats-*`` shard of the job's output
   directory is read and joined back to the requests **by key**, never by position (the
   shards are in no particular order), each key once; a request no line answers is
   written as failed. The Model the job created is deleted and, unless
   ``--keep-staging``, the input and output objects too.

The job's resource name is only known once create returns: before it the journal says a
job is being created, and a rerun after a crash there lists the jobs labelled
``hostkit_batch=<job key>`` instead of creating a second one.

Billed like a deployment: node-hours of the machine type (its GPUs included) for as long
as the job's replicas run. Google's Cloud Billing SKUs for these are named "Vertex AI:
Online/Batch Prediction ..." (the same SKU for both), so the node-hour rows of
prices.toml price it; the actual figure uses ``resourcesConsumed.replicaHours`` when the
job reports it, else its run time x the starting replicas.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import posixpath
from collections.abc import Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any

from hostkit._models import CostEstimate, DeploymentSpec, InvokeResult, Usage
from hostkit.adapters import (
    UploadProgress,
    build_chat_body,
    report_progress,
    result_from_completion,
)
from hostkit.errors import ConfigError, HostkitError, NotFound, ProviderError

from ._errors import describe_failure, google_error, status_from_rpc

if TYPE_CHECKING:
    from hostkit.batch_jobs import BatchJob, JobStatus

    from .provider import Plan, VertexProvider

__all__ = ["KEY_FIELD", "BatchPredictionJobs"]

#: the instance field that carries hostkit's key (Vertex's instanceConfig.keyField)
KEY_FIELD = "hostkit_key"
#: the label that names the job (and a model it uploaded) after hostkit's job key
LABEL_BATCH = "hostkit_batch"
#: Vertex's JobState -> hostkit's job state
STATES = {
    "JOB_STATE_QUEUED": "pending",
    "JOB_STATE_PENDING": "pending",
    "JOB_STATE_RUNNING": "running",
    "JOB_STATE_UPDATING": "running",
    "JOB_STATE_PAUSED": "running",
    "JOB_STATE_SUCCEEDED": "completed",
    "JOB_STATE_PARTIALLY_SUCCEEDED": "completed",
    "JOB_STATE_FAILED": "failed",
    "JOB_STATE_EXPIRED": "failed",
    "JOB_STATE_CANCELLING": "cancelling",
    "JOB_STATE_CANCELLED": "cancelled",
}
#: the shards Vertex writes into the job's output directory (results and failed instances)
SHARD_PREFIXES = ("prediction.results-", "prediction.errors_stats-", "predictions_", "errors_")
#: what a job spends before its first prediction (nodes provisioned, the container pulled
#: and the model loaded), billed, assumed for estimates
STARTUP_ALLOWANCE_H = 20 / 60
#: a deploy's start-up for the endpoint path's estimate (docs/providers/vertex.md: most
#: deploys of the vLLM container take 15-30 minutes)
ENDPOINT_STARTUP_H = 20 / 60
#: polls of a cancelled job before its model is deleted (Vertex refuses to delete a
#: model a running job uses)
CANCEL_POLLS = 20


def _seconds_option(spec: DeploymentSpec) -> float | None:
    value = spec.options.get("batch_seconds_per_request")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(
            f"options.batch_seconds_per_request: expected a positive number, got {value!r}"
        )
    return float(value)


class BatchPredictionJobs:
    """The batch-prediction side of a :class:`VertexProvider` (one per provider)."""

    def __init__(self, provider: VertexProvider) -> None:
        self.p = provider
        self._client: Any = None

    # -- clients ---------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        """``JobServiceClient`` (REST) on the provider's credentials, built at first use."""
        if self._client is None:
            sdk = self.p._sdk()
            options = self.p.import_sdk("google.api_core.client_options")
            self._client = sdk.v1.JobServiceClient(
                credentials=sdk.session.credentials,
                transport="rest",
                client_options=options.ClientOptions(api_endpoint=self.p.api_host),
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.transport.close()
            self._client = None

    @property
    def storage(self) -> Any:
        from .gcs import storage_for

        return storage_for(self.p)

    # -- the input -------------------------------------------------------------------------
    def write_instances(
        self, spec: DeploymentSpec, job: BatchJob, serving: str, handle: IO[bytes]
    ) -> Any:
        """Write the input file's lines to ``handle``; the job's modelParameters (or None)."""
        from .provider import SERVING_VLLM, served_model

        parameters: Any = None
        first = True
        for index, item in job.requests():
            where = f"batch --native: id {item.id!r} (line {item.line})"
            if serving == SERVING_VLLM:
                body = build_chat_body(served_model(spec.model), item.request, item.params)
                body.pop("model", None)
                body.pop("stream", None)
                instances = [{KEY_FIELD: str(index), "@requestFormat": "chatCompletions", **body}]
            else:
                instances, these = _custom_instances(item.request, item.params, index, where)
                if first:
                    parameters, first = these, False
                elif these != parameters:
                    raise ConfigError(
                        f"{where}: parameters {these!r} differ from the first line's"
                        f" {parameters!r}; a Vertex AI batch prediction job takes one set of"
                        " parameters for every instance: use `hostkit batch` without --native"
                        " for per-line parameters"
                    )
            for instance in instances:
                line = json.dumps(instance, ensure_ascii=False, separators=(",", ":"))
                handle.write(line.encode() + b"\n")
        return parameters

    def instances(self, spec: DeploymentSpec, job: BatchJob, serving: str) -> tuple[str, Any]:
        """The input file's text and the job's modelParameters (in memory: for tests)."""
        buffer = io.BytesIO()
        parameters = self.write_instances(spec, job, serving, buffer)
        return buffer.getvalue().decode(), parameters

    # -- submit ----------------------------------------------------------------------------
    def submit(self, spec: DeploymentSpec, job: BatchJob) -> None:
        plan = self.p.plan(spec)
        with self.p._about(plan.machine_type, plan.hardware):
            self._stage(spec, job, plan)
            model = self._model(spec, job, plan)
            if job.job_id:
                return
            self._create_job(job, plan, model)

    def _stage(self, spec: DeploymentSpec, job: BatchJob, plan: Plan) -> None:
        """Journal the object names, then upload the input (same bytes: safe to repeat)."""
        local = job.folder / "vertex-input.jsonl"
        with local.open("wb") as handle:
            parameters = self.write_instances(spec, job, plan.serving, handle)
        if not job.data.get("bucket"):
            bucket = self.storage.bucket()
            base = f"gs://{bucket}/hostkit/batch/{job.key}"
            job.data.update(
                bucket=bucket,
                input_uri=f"{base}/input.jsonl",
                output_uri=f"{base}/output/",
                serving=plan.serving,
                machine=plan.machine_type,
                replicas=plan.min_replicas,
                max_replicas=plan.max_replicas,
                location=self.p.location,
            )
            job.staging = [job.data["input_uri"], job.data["output_uri"]]
            job.save()
        job.data["parameters"] = parameters
        if not job.data.get("uploaded"):
            size = local.stat().st_size
            report_progress(f"uploading {size:,} bytes to {job.data['input_uri']}")
            progress = UploadProgress(job.data["input_uri"], size)
            self.storage.upload_file(
                local, job.data["input_uri"], progress, content_type="application/jsonl"
            )
            progress.done()
            job.data["uploaded"] = True
            job.save()
        local.unlink(missing_ok=True)

    def _model(self, spec: DeploymentSpec, job: BatchJob, plan: Plan) -> str:
        """The Model the job runs: the deployment's own (kept) or one uploaded for it."""
        if job.data.get("model"):
            return str(job.data["model"])
        from .provider import LABEL_FINGERPRINT

        fingerprint = spec.fingerprint()
        for found in self.p._models_named(spec.name):
            if found.labels.get(LABEL_FINGERPRINT) == fingerprint:
                report_progress(f"batch: reusing model {found.name} of deployment {spec.name}")
                job.data["model"] = found.name
                job.save()
                return str(found.name)
        sdk = self.p._sdk()
        v1 = sdk.v1
        model_id = job.key.lower()[:63]
        job.created["model"] = f"{self.p.parent}/models/{model_id}"
        job.save()
        from .provider import LABEL_SERVING, MANAGED_BY, label_value

        model = v1.Model(
            display_name=job.key,
            description=spec.model,
            labels={
                MANAGED_BY[0]: MANAGED_BY[1],
                LABEL_BATCH: label_value(job.key),
                LABEL_SERVING: plan.serving,
            },
            artifact_uri=plan.artifact_uri or "",
            container_spec=v1.ModelContainerSpec(**plan.container),
        )
        request = v1.UploadModelRequest(parent=self.p.parent, model_id=model_id, model=model)
        report_progress(f"batch: registering model {model_id} for the job")
        name = job.created["model"]
        try:
            upload = self.p._rpc(sdk.models.upload_model, request, safe=False)
            done = self.p._wait_operation(upload.operation.name, "model upload", deploying=True)
            name = v1.UploadModelResponse.deserialize(done.response.value).model or name
        except HostkitError as error:
            if error.status_code != 409:  # ALREADY_EXISTS: a rerun after a crash, reuse it
                raise
        job.created["model"] = name
        job.data["model"] = name
        job.save()
        return name

    def _create_job(self, job: BatchJob, plan: Plan, model: str) -> None:
        if job.data.get("creating"):
            found = self._find(job.key)
            if found is not None:
                job.job_id = found
                job.save()
                report_progress(f"batch prediction job {found} already exists: reattaching")
                return
        job.data["creating"] = True
        job.save()
        request = self._job_request(job, plan, model)
        created = self.p._rpc(self.client.create_batch_prediction_job, request, safe=False)
        job.job_id = str(created.name)
        job.save()

    def _job_request(self, job: BatchJob, plan: Plan, model: str) -> Any:
        v1 = self.p._sdk().v1
        from .provider import MANAGED_BY, label_value

        machine = v1.MachineSpec(machine_type=plan.machine_type)
        if plan.accelerator:
            machine.accelerator_type = v1.AcceleratorType[plan.accelerator]
            machine.accelerator_count = plan.accelerator_count
        body = v1.BatchPredictionJob(
            display_name=job.key,
            model=model,
            input_config=v1.BatchPredictionJob.InputConfig(
                instances_format="jsonl",
                gcs_source=v1.GcsSource(uris=[job.data["input_uri"]]),
            ),
            instance_config=v1.BatchPredictionJob.InstanceConfig(key_field=KEY_FIELD),
            output_config=v1.BatchPredictionJob.OutputConfig(
                predictions_format="jsonl",
                gcs_destination=v1.GcsDestination(output_uri_prefix=job.data["output_uri"]),
            ),
            dedicated_resources=v1.BatchDedicatedResources(
                machine_spec=machine,
                starting_replica_count=plan.min_replicas,
                max_replica_count=plan.max_replicas,
            ),
            service_account=plan.service_account or "",
            labels={MANAGED_BY[0]: MANAGED_BY[1], LABEL_BATCH: label_value(job.key)},
        )
        parameters = job.data.get("parameters")
        if parameters is not None:
            struct = self.p.import_sdk("google.protobuf.struct_pb2")
            value = struct.Value()
            value.struct_value.update(parameters)
            body.model_parameters = value
        return v1.CreateBatchPredictionJobRequest(parent=self.p.parent, batch_prediction_job=body)

    def _find(self, key: str) -> str | None:
        """The job a crashed submit created for ``key`` (by its label), if any."""
        from .provider import label_value

        v1 = self.p._sdk().v1
        request = v1.ListBatchPredictionJobsRequest(
            parent=self.p.parent, filter=f'labels.{LABEL_BATCH}="{label_value(key)}"'
        )
        client = self.client
        found = self.p.call(
            lambda: list(
                client.list_batch_prediction_jobs(
                    request=request, retry=None, timeout=self.p.timeout
                )
            )
        )
        for listed in found:
            if listed.display_name == key:
                return str(listed.name)
        return None

    # -- status ----------------------------------------------------------------------------
    def get(self, job: BatchJob) -> Any:
        return self.p._rpc(self.client.get_batch_prediction_job, {"name": job.job_id})

    def status(self, job: BatchJob) -> JobStatus:
        from hostkit.batch_jobs import JobStatus

        found = self.get(job)
        v1 = self.p._sdk().v1
        platform = v1.JobState(found.state).name
        directory = found.output_info.gcs_output_directory
        if directory and job.data.get("output_dir") != directory:
            job.data["output_dir"] = directory
            job.save()
        stats = found.completion_stats
        done = int(stats.successful_count) + int(stats.failed_count)
        message = None
        if found.error.code:
            status = status_from_rpc(int(found.error.code), str(found.error.message))
            with self.p._about(job.data.get("machine"), None) as where:
                message = describe_failure(status, where)
        resources = found.dedicated_resources
        return JobStatus(
            state=STATES.get(platform, "running"),
            platform_state=platform,
            message=message,
            done=done if "completion_stats" in found else None,
            failed=int(stats.failed_count),
            total=job.count,
            started_at=_timestamp(found, "start_time"),
            ended_at=_timestamp(found, "end_time"),
            raw={
                "machine": resources.machine_spec.machine_type or job.data.get("machine"),
                "replicas": int(resources.starting_replica_count or 0) or None,
                "replica_hours": float(found.resources_consumed.replica_hours or 0) or None,
            },
        )

    # -- results ---------------------------------------------------------------------------
    def shards(self, job: BatchJob) -> list[str]:
        """The result and error shards in the job's output directory (any order)."""
        directory = str(job.data.get("output_dir") or job.data["output_uri"]).rstrip("/") + "/"
        return [
            uri
            for uri in self.storage.list_blobs(directory)
            if posixpath.basename(uri).startswith(SHARD_PREFIXES)
        ]

    def results(self, job: BatchJob) -> Iterator[tuple[int, InvokeResult | HostkitError]]:
        """Every keyed line of every shard, joined to its request by key, once each."""
        answers: dict[str, Any] = {}
        strays = 0
        for uri in self.shards(job):
            for raw in self.storage.read_lines(uri):
                if not raw.strip():
                    continue
                try:
                    line = json.loads(raw)
                except ValueError:
                    strays += 1
                    continue
                key = _key_of(line)
                if key is None or not ("prediction" in line or "error" in line):
                    strays += 1
                    continue
                if key in answers and "prediction" not in line:
                    continue  # a prediction for a key wins over an error for it
                answers[key] = line
        if strays:
            report_progress(f"batch job {job.job_id}: {strays} output line(s) without a key")
        custom = job.data.get("serving") != "vllm"
        counts = _instance_counts(job) if custom else {}
        for index in range(job.count):
            if custom:
                outcome = self._custom(job, index, counts.get(index, 1), answers)
            else:
                found = answers.get(str(index))
                outcome = self._chat(job, found) if found is not None else None
            if outcome is not None:
                yield index, outcome

    def _error(self, job: BatchJob, error: Any) -> HostkitError:
        if isinstance(error, Mapping):
            code, message = int(error.get("code") or 2), str(error.get("message") or "")
        else:
            code, message = 2, str(error)
        mapped = google_error(status_from_rpc(code, message), self.p._context())
        mapped.retryable = False
        return mapped

    def _chat(self, job: BatchJob, line: Mapping[str, Any]) -> InvokeResult | HostkitError:
        if "prediction" not in line:
            return self._error(job, line.get("error"))
        prediction = line["prediction"]
        if isinstance(prediction, list) and len(prediction) == 1:
            prediction = prediction[0]
        try:
            completion = self.p._completion(prediction)
        except ProviderError as error:
            return error
        return result_from_completion(
            completion, provider=self.p.name, model=job.model, latency_s=0.0
        )

    def _custom(
        self, job: BatchJob, index: int, count: int, answers: Mapping[str, Any]
    ) -> InvokeResult | HostkitError | None:
        lines = [answers.get(f"{index}.{n}") for n in range(count)]
        if all(line is None for line in lines):
            return None
        predictions = []
        for n, line in enumerate(lines):
            if line is None:
                return ProviderError(
                    f"the vertex batch job {job.job_id} has no result for instance {n} of this"
                    " request; --retry-failed sends it again",
                    provider=self.p.name,
                )
            if "prediction" not in line:
                return self._error(job, line.get("error"))
            predictions.append(line["prediction"])
        return InvokeResult(
            text=None,
            output=predictions,
            usage=Usage(),
            latency_s=0.0,
            provider=self.p.name,
            model=job.model,
            raw={"predictions": predictions},
        )

    # -- cancel and clean-up ---------------------------------------------------------------
    def cancel(self, job: BatchJob) -> None:
        """Ask Vertex to cancel, then wait (bounded) until it says the job has ended."""
        if not job.job_id:
            return
        try:
            self.p._rpc(self.client.cancel_batch_prediction_job, {"name": job.job_id})
        except NotFound:
            return
        except HostkitError as error:
            if error.status_code != 400:  # FAILED_PRECONDITION: already ended
                raise
        for _ in range(CANCEL_POLLS):
            try:
                found = self.get(job)
            except NotFound:
                return
            state = STATES.get(self.p._sdk().v1.JobState(found.state).name, "running")
            if state in ("completed", "failed", "cancelled"):
                return
            self.p.sleep(self.p.poll_max)

    def finish(self, job: BatchJob, *, keep_staging: bool) -> None:
        """Delete the Model the job created and, unless ``keep_staging``, its objects."""
        model = job.created.get("model")
        if model:
            sdk = self.p._sdk()
            report_progress(f"batch: deleting model {model}")
            self.p._delete(sdk.models.delete_model, model, "model deletion")
        if keep_staging or not job.data.get("bucket"):
            return
        store = self.storage
        doomed: list[str] = []
        for uri in job.staging:
            if uri.endswith("/"):
                doomed.extend(store.list_blobs(uri))
            else:
                doomed.append(uri)
        if doomed:
            report_progress(f"batch: deleting {len(doomed)} staged object(s)")
            store.delete(doomed)

    # -- money -----------------------------------------------------------------------------
    def cost(self, spec: DeploymentSpec, job: BatchJob, status: JobStatus | None) -> CostEstimate:
        """Node-hours of the job's machine type at the region's prediction price."""
        plan = self.p.plan(spec)
        replicas = plan.min_replicas
        seconds = _seconds_option(spec)
        if status is not None:
            node_hours = status.raw.get("replica_hours")
            if not node_hours:
                if status.started_at is None or status.ended_at is None:
                    return CostEstimate(usd=None, warnings=["the job reports no start or end time"])
                run_h = max(0.0, status.ended_at - status.started_at) / 3600
                node_hours = run_h * int(status.raw.get("replicas") or replicas)
        else:
            work_h = job.count * seconds / replicas / 3600 if seconds else 0.0
            node_hours = (STARTUP_ALLOWANCE_H + work_h) * replicas
            job.data["endpoint_hours"] = ENDPOINT_STARTUP_H + work_h
        one = dataclasses.replace(spec, replicas=1, min_replicas=None, max_replicas=None)
        estimate = self.p.cost(one, hours=float(node_hours))
        label = f"batch prediction, {node_hours:.3g} node-hour(s) of "
        estimate.breakdown = [
            dataclasses.replace(line, description=label + line.description.removeprefix("1 x "))
            for line in estimate.breakdown
        ]
        if status is None and estimate.usd is not None:
            note = (
                f"{node_hours * 60:.0f} node-minutes: a {STARTUP_ALLOWANCE_H * 60:.0f} min"
                f" start-up allowance x {replicas} replica(s)"
            )
            if seconds is None:
                note += (
                    " only; set options.batch_seconds_per_request (measure it with hostkit"
                    " bench) to add the processing time"
                )
            else:
                note += " plus the processing time"
            estimate.warnings.append(note)
        return estimate


def _custom_instances(
    request: Any, params: Mapping[str, Any], index: int, where: str
) -> tuple[list[dict[str, Any]], Any]:
    """A custom-container request's instances (keyed) and its parameters."""
    if not isinstance(request, Mapping) or not isinstance(request.get("instances"), list):
        raise ConfigError(
            f"{where}: a Vertex AI batch prediction job sends instances to your container's"
            ' predict route; give the request as {"instances": [{...}, ...]} (objects), or use'
            " `hostkit batch` without --native"
        )
    instances = []
    for n, instance in enumerate(request["instances"]):
        if not isinstance(instance, Mapping) or KEY_FIELD in instance:
            raise ConfigError(
                f"{where}: instance {n} must be a JSON object without a {KEY_FIELD!r} field"
                " (batch prediction keys each instance by that field)"
            )
        instances.append({KEY_FIELD: f"{index}.{n}", **instance})
    if not instances:
        raise ConfigError(f'{where}: "instances" is empty')
    parameters = dict(request.get("parameters") or {})
    parameters.update(params)
    return instances, parameters or None


def _instance_counts(job: BatchJob) -> dict[int, int]:
    counts = {}
    for index, item in job.requests():
        instances = item.request.get("instances") if isinstance(item.request, Mapping) else None
        counts[index] = len(instances) if isinstance(instances, list) else 1
    return counts


def _key_of(line: Mapping[str, Any]) -> str | None:
    """The hostkit key of an output line: ``key`` (keyField set), else in the instance."""
    key = line.get("key")
    if key is None and isinstance(line.get("instance"), Mapping):
        key = line["instance"].get(KEY_FIELD)
    return None if key is None else str(key)


def _timestamp(found: Any, field: str) -> float | None:
    if field not in found:
        return None
    with contextlib.suppress(AttributeError, TypeError, ValueError):
        return float(getattr(found, field).timestamp())
    return None
