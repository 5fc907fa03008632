"""Writes the vertex batch-prediction cassettes (``python providers/vertex/tests/make_batch_cassettes.py``).

Hand-written in the format vcrpy records, like ``make_cassettes.py`` (whose helpers this
imports), for ``hostkit batch --native`` on Vertex AI (providers/vertex/batch.py):

* Vertex AI: ``google-cloud-aiplatform`` 2.7.0's ``aiplatform_v1`` REST transport
  (``services/job_service/transports/rest_base.py``: ``POST /v1/{parent}/batchPredictionJobs``,
  ``GET /v1/{name}``, ``POST /v1/{name}:cancel`` with ``{}``, ``GET
  /v1/{parent}/batchPredictionJobs?filter=...``, each with ``$alt=json;enum-encoding=int``;
  ``types/batch_prediction_job.py`` for the job's fields, enums as numbers, int64 counts as
  strings); model upload and delete as ``make_cassettes.py`` spells them.
* Cloud Storage: the JSON API as ``google-cloud-storage`` 3.x sends it: ``GET
  /storage/v1/b/{bucket}?projection=noAcl&prettyPrint=false`` (lookup_bucket), a
  ``multipart/related`` ``POST /upload/storage/v1/b/{bucket}/o?uploadType=multipart``
  (metadata part ``{"name", "crc32c"}``, then the data; the test fixes the SDK's random
  boundary to :data:`BOUNDARY`), ``GET /storage/v1/b/{bucket}/o?projection=noAcl&prefix=...``
  (list_blobs), ``GET /download/storage/v1/b/{bucket}/o/{name}?alt=media`` with a
  ``Range`` header (``blob.open("r")`` reads 40 MiB windows: a ``206`` with the bytes, then
  a ``416`` past the end) and ``DELETE /storage/v1/b/{bucket}/o/{name}?prettyPrint=false``.
* The job's output: ``prediction.results-NNNNN-of-NNNNN`` shards of ``{"key": ...,
  "prediction": ...}`` lines and ``prediction.errors_stats-*`` of ``{"key": ..., "error":
  {"code", "message"}}`` lines (``instanceConfig.keyField`` set, so ``key`` replaces
  ``instance``), in no particular order; predictions are the chat.completion objects the
  Model Garden vLLM container answers for ``@requestFormat: chatCompletions`` instances.

Replaying them strictly proves what hostkit sends; ``test_vertex_batch.py`` lets the SDK's
own types parse every Vertex body. Re-run this script after editing a scenario.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import google_crc32c

sys.path.insert(0, str(Path(__file__).parent))

from make_cassettes import (
    ALT,
    API,
    DNS,
    EMPTY,
    ENDPOINT,
    LOCATION,
    MAIN,
    NPARENT,
    PARENT,
    Interaction,
    date,
    error,
    exchange,
    list_models,
    model_json,
    operation,
    poll,
    predict_headers,
    prediction_headers,
    response,
    sdk_headers,
    spec_of,
    ts,
    write,
)

MODEL = "Qwen/Qwen2.5-7B-Instruct"
NAME = "scores"
KEY = "hostkit-scores-0a1b2c3d4e5f"
BUCKET = "hostkit-demo-batch"
BUCKET_NUMBER = "123456789012"
BOUNDARY = "===============hostkit-batch=="
JOB_ID = "2468013579246801357"
JOB = f"{NPARENT}/batchPredictionJobs/{JOB_ID}"
MODEL_RES = f"{NPARENT}/models/{KEY}"
BASE = f"hostkit/batch/{KEY}"
INPUT = f"{BASE}/input.jsonl"
OUTPUT = f"{BASE}/output/"
OUTPUT_DIR = f"{OUTPUT}prediction-{KEY}-2026_11_21T10_00_01_000Z"
STORAGE = "https://storage.googleapis.com"
L4 = 11  # AcceleratorType.NVIDIA_L4
SPEC = spec_of(NAME, model=MODEL, instance="g2-standard-12")
#: the requests of the tests' in.jsonl: (id, prompt); all with params max_tokens 16
PROMPTS = [
    ("q0", "Name a prime number above 10."),
    ("q1", "What colour is the sky on Mars at noon?"),
    ("q2", "Give one word that rhymes with batch."),
    ("q3", "How many legs does a spider have?"),
    ("q4", "Spell 'vertex' backwards."),
]
ANSWERS = ["11 is a prime.", "Butterscotch.", "Match.", "Eight.", "xetrev"]
#: a refused instance, as the container's error reaches the errors_stats shard
REFUSED = {
    "code": 3,
    "message": "This model's maximum context length is 32768 tokens. However, you requested"
    " 40016 tokens (40000 in the messages, 16 in the completion). Please reduce the length"
    " of the messages or completion.",
}
FAILURE = {
    "code": 9,
    "message": "Model server never became ready. Please validate that your model file or"
    " container configuration are valid.",
}

SOURCE = """\
# Wire format: google-cloud-aiplatform 2.7.0 aiplatform_v1 JobService and ModelService with
# transport="rest" (rest_base.py paths, $alt=json;enum-encoding=int, bodies as
# json_format.MessageToJson, enums as numbers, int64 as strings), google-cloud-storage 3.x
# over the Cloud Storage JSON API (lookup, multipart upload, list, ranged media download
# ending in 416, delete), and Vertex AI batch prediction's JSON Lines output
# ({"key", "prediction"} / {"key", "error"} lines in prediction.results-* and
# prediction.errors_stats-* shards). Written by hand in the format vcrpy records
# (providers/vertex/tests/make_batch_cassettes.py); test_vertex_batch.py lets the SDK's own
# types parse every Vertex AI body. Credentials appear only as REDACTED.
"""


# -- bodies --------------------------------------------------------------------------------
def completion(index: int) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{index:02d}7d1c0e5b4a3f2e1d0c9b8a7f6e5d4c",
        "object": "chat.completion",
        "created": 1795255300 + index,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": ANSWERS[index], "tool_calls": []},
                "logprobs": None,
                "finish_reason": "stop",
                "stop_reason": None,
            }
        ],
        "usage": {
            "prompt_tokens": 20 + index,
            "total_tokens": 25 + 2 * index,
            "completion_tokens": 5 + index,
            "prompt_tokens_details": None,
        },
        "prompt_logprobs": None,
    }


def instance(index: int) -> dict[str, Any]:
    """One line of the job's input.jsonl (batch.py: the chat body minus model, keyed)."""
    return {
        "hostkit_key": str(index),
        "@requestFormat": "chatCompletions",
        "messages": [{"role": "user", "content": PROMPTS[index][1]}],
        "max_tokens": 16,
    }


def input_text(count: int) -> str:
    return "".join(
        json.dumps(instance(i), ensure_ascii=False, separators=(",", ":")) + "\n"
        for i in range(count)
    )


def jsonl(lines: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)


def ok_line(index: int) -> dict[str, Any]:
    return {"key": str(index), "prediction": completion(index)}


def crc32c(data: bytes) -> str:
    return base64.b64encode(google_crc32c.Checksum(data).digest()).decode()


def md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def job_json(
    state: int, *, running: bool = True, model: str = MODEL_RES, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": JOB,
        "displayName": KEY,
        "model": model,
        "modelVersionId": "1",
        "inputConfig": {
            "instancesFormat": "jsonl",
            "gcsSource": {"uris": [f"gs://{BUCKET}/{INPUT}"]},
        },
        "instanceConfig": {"keyField": "hostkit_key"},
        "outputConfig": {
            "predictionsFormat": "jsonl",
            "gcsDestination": {"outputUriPrefix": f"gs://{BUCKET}/{OUTPUT}"},
        },
        "dedicatedResources": {
            "machineSpec": {
                "machineType": "g2-standard-12",
                "acceleratorType": L4,
                "acceleratorCount": 1,
            },
            "startingReplicaCount": 1,
            "maxReplicaCount": 1,
        },
        "manualBatchTuningParameters": {},
        "state": state,
        "createTime": ts(1),
        "updateTime": ts(30),
        "labels": {"hostkit_batch": KEY, "managed_by": "hostkit"},
    }
    if running:
        body["outputInfo"] = {"gcsOutputDirectory": f"gs://{BUCKET}/{OUTPUT_DIR}"}
        body["startTime"] = ts(2)
    body.update(extra)
    return body


# -- Vertex AI steps -----------------------------------------------------------------------
def job_request(model: str = MODEL_RES) -> dict[str, Any]:
    """The BatchPredictionJob create body hostkit sends (the request's batch_prediction_job)."""
    return {
        "displayName": KEY,
        "model": model,
        "inputConfig": {
            "instancesFormat": "jsonl",
            "gcsSource": {"uris": [f"gs://{BUCKET}/{INPUT}"]},
        },
        "instanceConfig": {"keyField": "hostkit_key"},
        "outputConfig": {
            "predictionsFormat": "jsonl",
            "gcsDestination": {"outputUriPrefix": f"gs://{BUCKET}/{OUTPUT}"},
        },
        "dedicatedResources": {
            "machineSpec": {
                "machineType": "g2-standard-12",
                "acceleratorType": L4,
                "acceleratorCount": 1,
            },
            "startingReplicaCount": 1,
            "maxReplicaCount": 1,
        },
        "labels": {"hostkit_batch": KEY, "managed_by": "hostkit"},
    }


def vllm_model_body() -> dict[str, Any]:
    return {
        "modelId": KEY,
        "model": {
            "displayName": KEY,
            "description": MODEL,
            "containerSpec": {
                "imageUri": (
                    "us-docker.pkg.dev/vertex-ai/vertex-vision-model-garden-dockers/"
                    "pytorch-vllm-serve:20250312_0916_RC01"
                ),
                "args": [
                    "python",
                    "-m",
                    "vllm.entrypoints.api_server",
                    "--host=0.0.0.0",
                    "--port=8080",
                    f"--model={MODEL}",
                    "--tensor-parallel-size=1",
                    "--swap-space=16",
                    "--gpu-memory-utilization=0.95",
                    "--disable-log-stats",
                ],
                "env": [{"name": "MODEL_ID", "value": MODEL}],
                "ports": [{"containerPort": 8080}],
                "predictRoute": "/generate",
                "healthRoute": "/ping",
                "deploymentTimeout": "7200s",
                "sharedMemorySizeMb": "16384",
            },
            "labels": {"managed_by": "hostkit", "hostkit_batch": KEY, "hostkit_serving": "vllm"},
        },
    }


UPLOAD_OP = f"{MODEL_RES}/operations/8123456789012345678"
DELETE_OP = f"{NPARENT}/operations/8234567890123456789"


def upload_model() -> list[Interaction]:
    return [
        exchange(
            "POST",
            f"{API}/v1/{PARENT}/models:upload?{ALT}",
            body=vllm_model_body(),
            reply=operation(UPLOAD_OP, "UploadModelOperationMetadata", 3),
            request_headers=sdk_headers(f"parent={PARENT}", body=True),
        ),
        poll(
            UPLOAD_OP,
            "UploadModelOperationMetadata",
            3,
            **response("UploadModelResponse", model=MODEL_RES, modelVersionId="1"),
        ),
    ]


def create_job(
    model: str = MODEL_RES, status: int = 200, reply: dict[str, Any] | None = None
) -> Interaction:
    return exchange(
        "POST",
        f"{API}/v1/{PARENT}/batchPredictionJobs?{ALT}",
        body=job_request(model),
        status=status,
        reply=reply or job_json(1, running=False, model=model),
        request_headers=sdk_headers(f"parent={PARENT}", body=True),
    )


def get_job(state: int, model: str = MODEL_RES, **extra: Any) -> Interaction:
    return exchange(
        "GET",
        f"{API}/v1/{JOB}?{ALT}",
        reply=job_json(state, model=model, **extra),
        request_headers=sdk_headers(f"name={JOB}"),
    )


def stats(ok: int, failed: int, incomplete: int) -> dict[str, Any]:
    return {
        "completionStats": {
            "successfulCount": str(ok),
            "failedCount": str(failed),
            "incompleteCount": str(incomplete),
        }
    }


def done_job(
    ok: int, failed: int, incomplete: int = 0, hours: float = 0.5, model: str = MODEL_RES
) -> Interaction:
    return get_job(
        4,
        model,
        endTime=ts(1802),
        resourcesConsumed={"replicaHours": hours},
        **stats(ok, failed, incomplete),
    )


def delete_model() -> list[Interaction]:
    return [
        exchange(
            "DELETE",
            f"{API}/v1/{MODEL_RES}?{ALT}",
            reply=operation(DELETE_OP, "DeleteOperationMetadata", 1810),
            request_headers=sdk_headers(f"name={MODEL_RES}"),
        ),
        poll(DELETE_OP, "DeleteOperationMetadata", 1810, **EMPTY),
    ]


# -- Cloud Storage steps -------------------------------------------------------------------
def storage_headers(content_type: str = "application/json; charset=UTF-8") -> dict[str, list[str]]:
    return {
        "Content-Type": [content_type],
        "X-GUploader-UploadID": ["ABPtcPp3h0stk1tB4tchUpl0adId3nt1f13r"],
        "Cache-Control": ["no-cache, no-store, max-age=0, must-revalidate"],
        "Expires": ["Mon, 01 Jan 1990 00:00:00 GMT"],
        "Pragma": ["no-cache"],
        "Date": [date()],
        "Vary": ["Origin", "X-Origin"],
        "Server": ["UploadServer"],
        "Alt-Svc": ['h3=":443"; ma=2592000,h3-29=":443"; ma=2592000'],
    }


def gcs_client_headers() -> dict[str, list[str]]:
    return {
        "Accept": ["application/json"],
        "Accept-Encoding": ["gzip"],
        "Connection": ["keep-alive"],
        "authorization": ["REDACTED"],
        "x-goog-api-client": ["gcloud-python/3.17.2  gl-python/3.11.7 gccl/3.17.2"],
    }


def lookup_bucket() -> Interaction:
    return exchange(
        "GET",
        f"{STORAGE}/storage/v1/b/{BUCKET}?projection=noAcl&prettyPrint=false",
        reply={
            "kind": "storage#bucket",
            "selfLink": f"{STORAGE}/storage/v1/b/{BUCKET}",
            "id": BUCKET,
            "name": BUCKET,
            "projectNumber": BUCKET_NUMBER,
            "generation": "1779000000000001",
            "metageneration": "1",
            "location": LOCATION.upper(),
            "storageClass": "STANDARD",
            "etag": "CAE=",
            "timeCreated": "2026-05-17T08:00:00.000Z",
            "updated": "2026-05-17T08:00:00.000Z",
            "iamConfiguration": {
                "bucketPolicyOnly": {"enabled": True, "lockedTime": "2026-08-15T08:00:00.000Z"},
                "uniformBucketLevelAccess": {
                    "enabled": True,
                    "lockedTime": "2026-08-15T08:00:00.000Z",
                },
                "publicAccessPrevention": "enforced",
            },
            "locationType": "region",
            "rpo": "DEFAULT",
        },
        request_headers=gcs_client_headers(),
        response_headers=storage_headers(),
    )


def object_json(name: str, data: bytes, content_type: str, generation: int) -> dict[str, Any]:
    quoted = quote(name, safe="")
    return {
        "kind": "storage#object",
        "id": f"{BUCKET}/{name}/{generation}",
        "selfLink": f"{STORAGE}/storage/v1/b/{BUCKET}/o/{quoted}",
        "mediaLink": (
            f"{STORAGE}/download/storage/v1/b/{BUCKET}/o/{quoted}?generation={generation}&alt=media"
        ),
        "name": name,
        "bucket": BUCKET,
        "generation": str(generation),
        "metageneration": "1",
        "contentType": content_type,
        "storageClass": "STANDARD",
        "size": str(len(data)),
        "md5Hash": md5(data),
        "crc32c": crc32c(data),
        "etag": "CJ2l3tq7/4kDEAE=",
        "timeCreated": "2026-11-21T10:00:00.512Z",
        "updated": "2026-11-21T10:00:00.512Z",
        "timeStorageClassUpdated": "2026-11-21T10:00:00.512Z",
        "timeFinalized": "2026-11-21T10:00:00.512Z",
    }


def upload_input(count: int) -> Interaction:
    data = input_text(count).encode()
    metadata = json.dumps({"name": INPUT, "crc32c": crc32c(data)})
    body = (
        f"--{BOUNDARY}\r\ncontent-type: application/json; charset=UTF-8\r\n\r\n{metadata}\r\n"
        f"--{BOUNDARY}\r\ncontent-type: application/jsonl\r\n\r\n{data.decode()}\r\n"
        f"--{BOUNDARY}--"
    )
    headers = gcs_client_headers()
    headers["content-type"] = [f'multipart/related; boundary="{BOUNDARY}"']
    headers["x-upload-content-type"] = ["application/jsonl"]
    interaction = exchange(
        "POST",
        f"{STORAGE}/upload/storage/v1/b/{BUCKET}/o?uploadType=multipart",
        reply=object_json(INPUT, data, "application/jsonl", 1795255200512001),
        request_headers=headers,
        response_headers=storage_headers(),
    )
    interaction["request"]["body"] = body
    return interaction


def list_objects(prefix: str, objects: list[tuple[str, bytes]]) -> Interaction:
    reply: dict[str, Any] = {"kind": "storage#objects"}
    if objects:
        reply["items"] = [
            object_json(name, data, "application/octet-stream", 1795257000000001 + n)
            for n, (name, data) in enumerate(objects)
        ]
    return exchange(
        "GET",
        f"{STORAGE}/storage/v1/b/{BUCKET}/o?projection=noAcl&prefix={quote(prefix, safe='')}"
        "&prettyPrint=false",
        reply=reply,
        request_headers=gcs_client_headers(),
        response_headers=storage_headers(),
    )


def read_shard(name: str, data: bytes, generation: int) -> list[Interaction]:
    """blob.open("r"): a 206 with the whole (small) shard, then a 416 past its end."""
    url = f"{STORAGE}/download/storage/v1/b/{BUCKET}/o/{quote(name, safe='')}?alt=media"
    headers = gcs_client_headers()
    headers["range"] = ["bytes=0-41943040"]
    ok_headers = storage_headers("application/octet-stream")
    ok_headers.update(
        {
            "Content-Range": [f"bytes 0-{len(data) - 1}/{len(data)}"],
            "X-Goog-Generation": [str(generation)],
            "X-Goog-Metageneration": ["1"],
            "X-Goog-Stored-Content-Encoding": ["identity"],
            "X-Goog-Stored-Content-Length": [str(len(data))],
            "X-Goog-Hash": [f"crc32c={crc32c(data)},md5={md5(data)}"],
            "X-Goog-Storage-Class": ["STANDARD"],
        }
    )
    first = exchange(
        "GET", url, raw_reply=data.decode(), request_headers=headers, response_headers=ok_headers
    )
    first["response"]["status"] = {"code": 206, "message": "Partial Content"}
    again = dict(headers, range=[f"bytes={len(data)}-{len(data) + 41943040}"])
    past = exchange(
        "GET",
        f"{url}&generation={generation}",  # the first answer's X-Goog-Generation, pinned
        raw_reply=(
            "<?xml version='1.0' encoding='UTF-8'?><Error><Code>InvalidRange</Code>"
            "<Message>The requested range cannot be satisfied.</Message>"
            f"<Details>bytes={len(data)}-{len(data) + 41943040}</Details></Error>"
        ),
        request_headers=again,
        response_headers={
            **storage_headers("application/xml; charset=UTF-8"),
            "Content-Range": [f"bytes */{len(data)}"],
        },
    )
    past["response"]["status"] = {"code": 416, "message": "Requested Range Not Satisfiable"}
    return [first, past]


def delete_object(name: str) -> Interaction:
    interaction = exchange(
        "DELETE",
        f"{STORAGE}/storage/v1/b/{BUCKET}/o/{quote(name, safe='')}?prettyPrint=false",
        raw_reply="",
        request_headers=gcs_client_headers(),
        response_headers=storage_headers("application/json"),
    )
    interaction["response"]["status"] = {"code": 204, "message": "No Content"}
    return interaction


# -- scenarios -----------------------------------------------------------------------------
Shards = list[tuple[str, bytes]]


def shards_in_order(count: int) -> Shards:
    """Two result shards, each out of input order, the second listed first by name."""
    evens = [ok_line(i) for i in range(count) if i % 2 == 0][::-1]
    odds = [ok_line(i) for i in range(count) if i % 2 == 1][::-1]
    return [
        (f"{OUTPUT_DIR}/prediction.results-00000-of-00002", jsonl(odds).encode()),
        (f"{OUTPUT_DIR}/prediction.results-00001-of-00002", jsonl(evens).encode()),
    ]


def submit(count: int, create: Interaction | None = None) -> list[Interaction]:
    return [
        lookup_bucket(),
        upload_input(count),
        list_models(NAME),
        *upload_model(),
        create or create_job(),
    ]


def collect(shards: Shards, *, keep: bool = False, created: bool = True) -> list[Interaction]:
    steps = [list_objects(f"{OUTPUT_DIR}/", shards)]
    for n, (name, data) in enumerate(shards):
        steps += read_shard(name, data, 1795257000000001 + n)
    if created:
        steps += delete_model()
    if not keep:
        steps += [list_objects(OUTPUT, shards), delete_object(INPUT)]
        steps += [delete_object(name) for name, _ in shards]
    return steps


def scenario_run() -> list[Interaction]:
    shards = shards_in_order(4)
    return [
        *submit(4),
        get_job(2, running=False),
        get_job(3, **stats(2, 0, 2)),
        done_job(4, 0),
        *collect(shards),
    ]


def scenario_partial() -> list[Interaction]:
    """q4 refused by the container (errors_stats), q1 in no shard at all."""
    shards = [
        (
            f"{OUTPUT_DIR}/prediction.errors_stats-00000-of-00001",
            jsonl([{"key": "4", "error": REFUSED}]).encode(),
        ),
        (
            f"{OUTPUT_DIR}/prediction.results-00001-of-00002",
            jsonl([ok_line(3), ok_line(0)]).encode(),
        ),
        (f"{OUTPUT_DIR}/prediction.results-00000-of-00002", jsonl([ok_line(2)]).encode()),
    ]
    return [*submit(5), done_job(3, 1, 1), *collect(shards)]


def scenario_reattach() -> list[Interaction]:
    """The first process submits, sees the job running and is killed; a second one only
    polls and collects (no second upload, model or job)."""
    shards = shards_in_order(4)
    return [*submit(4), get_job(3, **stats(1, 0, 3)), done_job(4, 0), *collect(shards)]


def scenario_cancel() -> list[Interaction]:
    cancel = exchange(
        "POST",
        f"{API}/v1/{JOB}:cancel?{ALT}",
        body={},
        reply={},
        request_headers=sdk_headers(f"name={JOB}", body=True),
    )
    return [
        *submit(4),
        get_job(3, **stats(1, 0, 3)),
        cancel,
        get_job(6, **stats(1, 0, 3)),
        get_job(7, endTime=ts(400), **stats(1, 0, 3)),
        *delete_model(),
        list_objects(OUTPUT, []),
        delete_object(INPUT),
    ]


def scenario_failed() -> list[Interaction]:
    return [
        *submit(4),
        get_job(5, endTime=ts(1500), error=FAILURE, **stats(0, 0, 4)),
        *delete_model(),
        list_objects(OUTPUT, []),
        delete_object(INPUT),
    ]


def scenario_keep() -> list[Interaction]:
    """The deployment's own model (same fingerprint) is reused and kept; --keep-staging."""
    deployed = model_json(SPEC, MAIN)
    shards = shards_in_order(4)
    return [
        lookup_bucket(),
        upload_input(4),
        list_models(NAME, deployed),
        create_job(MAIN.model),
        done_job(4, 0, model=MAIN.model),
        *collect(shards, keep=True, created=False),
    ]


def scenario_refused() -> list[Interaction]:
    """create answers 403: no job exists, so the model and the input are deleted at once."""
    denied = error(
        403,
        "PERMISSION_DENIED",
        "Permission 'aiplatform.batchPredictionJobs.create' denied on resource"
        f" '//aiplatform.googleapis.com/{PARENT}' (or it may not exist).",
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "IAM_PERMISSION_DENIED",
            "domain": "aiplatform.googleapis.com",
            "metadata": {
                "permission": "aiplatform.batchPredictionJobs.create",
                "resource": PARENT,
            },
        },
    )
    return [
        *submit(4, create=create_job(status=403, reply=denied)),
        *delete_model(),
        list_objects(OUTPUT, []),
        delete_object(INPUT),
    ]


def scenario_endpoint() -> list[Interaction]:
    """The same four requests through a deployed endpoint (:rawPredict, one at a time)."""
    steps = []
    for index in range(4):
        body = {
            "model": MODEL,
            "messages": [{"role": "user", "content": PROMPTS[index][1]}],
            "max_tokens": 16,
        }
        steps.append(
            exchange(
                "POST",
                f"https://{DNS}/v1/{ENDPOINT}:rawPredict",
                body=body,
                reply=completion(index),
                request_headers=predict_headers(),
                response_headers=prediction_headers(),
            )
        )
    return steps


SCENARIOS: dict[str, tuple[str, Callable[[], list[Interaction]]]] = {
    "batch_run": (
        "batch_run: four chat requests as a batch prediction job on g2-standard-12 (1 x L4):\n"
        "the staging bucket looked up, input.jsonl uploaded (multipart), no model of the\n"
        "deployment to reuse, a model uploaded under the job key, the job created, polled\n"
        "(PENDING, RUNNING 2/4, SUCCEEDED 4/4 with 0.5 replica-hours), two result shards read\n"
        "(each out of input order), the model deleted, every staged object deleted.",
        scenario_run,
    ),
    "batch_partial": (
        "batch_partial: five requests; the errors_stats shard refuses q4 (INVALID_ARGUMENT,\n"
        "context length), q1 is in no shard, the rest arrive out of order in two shards.",
        scenario_partial,
    ),
    "batch_reattach": (
        "batch_reattach: submitted and seen RUNNING by a process that is then killed; the\n"
        "rerun polls the journalled job to SUCCEEDED and collects it (no second create).",
        scenario_reattach,
    ),
    "batch_cancel": (
        "batch_cancel: Ctrl-C while the job runs: :cancel, polled through CANCELLING to\n"
        "CANCELLED, then the model and the staged input deleted (no output written).",
        scenario_cancel,
    ),
    "batch_failed": (
        "batch_failed: the job ends FAILED (FAILED_PRECONDITION, the model server never became\n"
        "ready); the model and the staged input are deleted.",
        scenario_failed,
    ),
    "batch_keep": (
        "batch_keep: `hostkit deploy` registered a model for this spec (same\n"
        "hostkit_fingerprint label): the job runs on it and it is kept; --keep-staging leaves\n"
        "the input and the result shards in the bucket (no DELETE at all).",
        scenario_keep,
    ),
    "batch_refused": (
        "batch_refused: batchPredictionJobs.create answers 403 PERMISSION_DENIED\n"
        "(aiplatform.batchPredictionJobs.create): the model uploaded for the job and the staged\n"
        "input are deleted, and nothing is journalled.",
        scenario_refused,
    ),
    "batch_endpoint": (
        "batch_endpoint: the same four requests through a deployed dedicated endpoint\n"
        "(:rawPredict), for the native path to match.",
        scenario_endpoint,
    ),
}


def main() -> None:
    import make_cassettes

    make_cassettes.SOURCE = SOURCE  # write() puts the module's SOURCE under the comment
    for name, (comment, build) in SCENARIOS.items():
        write(name, comment, build())


if __name__ == "__main__":
    main()
