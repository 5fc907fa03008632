"""Writes the vertex local-model cassettes (``python providers/vertex/tests/make_artifact_cassettes.py``).

``model = "./model"`` on Vertex AI: the directory goes to Cloud Storage through
google-cloud-storage, then the Model is uploaded with ``artifactUri`` as in
``make_cassettes.py`` (whose helpers build the Vertex AI half of each scenario).

The Cloud Storage half is spelled out in the Cloud Storage JSON API's wire format as
google-cloud-storage 3.17.2 sends and parses it (``client.py`` / ``bucket.py`` /
``blob.py`` and ``_media/_upload.py``): bucket get ``GET /storage/v1/b/{bucket}?projection=noAcl``,
bucket insert ``POST /storage/v1/b?project=...`` with the bucket resource as JSON, the
project's service agent ``GET /storage/v1/projects/{project}/serviceAccount``, object
existence ``GET /storage/v1/b/{bucket}/o/{object}?fields=name``, and uploads up to 8 MiB as
``POST /upload/storage/v1/b/{bucket}/o?uploadType=multipart``: a ``multipart/related``
body of the object's metadata as JSON (``name`` and the content's base64 ``crc32c``) and
then its bytes. Every call carries ``prettyPrint=false`` but the upload. Response bodies
are the JSON API's ``storage#bucket``, ``storage#object`` and ``storage#serviceAccount``
resources and its error envelope ``{"error": {"code", "message", "errors": [{"message",
"domain", "reason"}]}}`` (Cloud Storage sends no ``status`` word).

The one value google-cloud-storage makes up per request is the multipart boundary
(``random.randrange``); the cassettes hold it as ``===============0000000000000000000==``
and test_vertex_artifacts.py rewrites a live request's boundary to that before matching.
Re-run this script after editing a scenario; do not edit the YAML by hand.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import google_crc32c
import yaml
from hostkit_providers.vertex.artifacts import manifest_text
from make_cassettes import (
    LOCATION,
    NPARENT,
    PROJECT,
    Ids,
    Interaction,
    _Dumper,
    create,
    endpoint_json,
    exchange,
    find_nothing,
    list_endpoints,
    poll,
    response,
    spec_of,
    ts,
)

from hostkit.adapters import local_model_files, tree_sha256

HERE = Path(__file__).parent / "cassettes" / "artifacts"
GCS = "https://storage.googleapis.com"
BUCKET = f"{PROJECT}-vertex-staging-{LOCATION}"
PROJECT_NUMBER = NPARENT.split("/")[1]
BOUNDARY = "===============0000000000000000000=="
MODEL = "./model"
L4 = 11  # AcceleratorType.NVIDIA_L4
VLLM_IMAGE = (
    "us-docker.pkg.dev/vertex-ai/vertex-vision-model-garden-dockers/"
    "pytorch-vllm-serve:20250312_0916_RC01"
)
TGI_IMAGE = (
    "us-docker.pkg.dev/deeplearning-platform-release/gcr.io/"
    "huggingface-text-generation-inference-cu124.2-4.ubuntu2204.py311"
)
#: the local model directory of the tests, version 1 and a changed version 2
MODEL_V1: Mapping[str, str] = {
    "config.json": '{"architectures": ["LlamaForCausalLM"], "hidden_size": 64}\n',
    "model.safetensors": "FAKE-SAFETENSORS-hostkit-test-weights-v1\n",
    "tokenizer/tokenizer.json": '{"version": "1.0", "model": {"type": "BPE"}}\n',
}
MODEL_V2: Mapping[str, str] = {
    **MODEL_V1,
    "config.json": '{"architectures": ["LlamaForCausalLM"], "hidden_size": 128}\n',
}
SOURCE = """\
# Wire format: the Cloud Storage JSON API as google-cloud-storage 3.17.2 sends it (see
# make_artifact_cassettes.py for each call), then Vertex AI as in make_cassettes.py
# (google-cloud-aiplatform 2.7.0, aiplatform_v1 REST). The multipart boundary, random per
# request, is held as ===============0000000000000000000==. Written by hand in the format
# vcrpy records (providers/vertex/tests/make_artifact_cassettes.py). Credentials appear
# only as REDACTED.
"""


# -- the local model --------------------------------------------------------------------
def write_model(folder: Path, files: Mapping[str, str]) -> Path:
    """Create ``files`` under ``folder`` (the tests do the same in their working dir)."""
    for name, text in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return folder


def digest_of(files: Mapping[str, str]) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        return tree_sha256(write_model(Path(tmp), files))


def ordered(files: Mapping[str, str]) -> list[tuple[str, str]]:
    """The files in the order hostkit uploads them (local_model_files)."""
    with tempfile.TemporaryDirectory() as tmp:
        names = [name for name, _ in local_model_files(write_model(Path(tmp), files))]
    return [(name, files[name]) for name in names]


@contextlib.contextmanager
def model_in_cwd(files: Mapping[str, str]) -> Iterator[None]:
    """Run with ``./model`` holding ``files``, as the tests do: the spec's fingerprint (in the
    Model's labels) covers a local model's content."""
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        write_model(Path(tmp) / "model", files)
        os.chdir(tmp)
        try:
            yield
        finally:
            os.chdir(here)


def folder_of(files: Mapping[str, str]) -> str:
    """``hostkit/models/<tree_sha256[:16]>`` (no bucket, no trailing slash)."""
    return f"hostkit/models/{digest_of(files)[:16]}"


# -- Cloud Storage responses ------------------------------------------------------------
def gcs_headers(*, upload: bool = False) -> dict[str, list[str]]:
    headers = {
        "Content-Type": ["application/json; charset=UTF-8"],
        "Date": ["Sat, 21 Nov 2026 10:00:01 GMT"],
        "Vary": ["Origin", "X-Origin"],
        "Cache-Control": ["no-cache, no-store, max-age=0, must-revalidate"],
        "Expires": ["Mon, 01 Jan 1990 00:00:00 GMT"],
        "Pragma": ["no-cache"],
        "Server": ["UploadServer"],
        "Alt-Svc": ['h3=":443"; ma=2592000,h3-29=":443"; ma=2592000'],
    }
    if upload:
        headers["X-GUploader-UploadID"] = [
            "ABgVH8_hostkitFixtureUploadId0000000000000000000000000000000000000000"
        ]
    return headers


def gcs_request_headers(*, body: str | None = None) -> dict[str, list[str]]:
    headers = {
        "User-Agent": ["gcloud-python/3.17.2  gl-python/3.11.7 gccl/3.17.2"],
        "Accept": ["*/*"],
        "Accept-Encoding": ["gzip"],
        "Connection": ["keep-alive"],
        "x-goog-api-client": ["gcloud-python/3.17.2  gl-python/3.11.7 gccl/3.17.2"],
    }
    if body:
        headers["Content-Type"] = [body]
    return headers


def gcs_error(code: int, message: str, reason: str) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"message": message, "domain": "global", "reason": reason}],
        }
    }


def bucket_json(name: str = BUCKET, location: str = "US-CENTRAL1", **fields: Any) -> dict[str, Any]:
    kind = "region" if "-" in location else "multi-region"
    body = {
        "kind": "storage#bucket",
        "selfLink": f"{GCS}/storage/v1/b/{name}",
        "id": name,
        "name": name,
        "projectNumber": PROJECT_NUMBER,
        "generation": "1795250401123456",
        "metageneration": "1",
        "location": location,
        "storageClass": "STANDARD",
        "etag": "CAE=",
        "timeCreated": ts(1),
        "updated": ts(1),
        "softDeletePolicy": {"retentionDurationSeconds": "604800", "effectiveTime": ts(1)},
        "iamConfiguration": {
            "bucketPolicyOnly": {"enabled": True, "lockedTime": "2027-02-19T10:00:01.000Z"},
            "uniformBucketLevelAccess": {
                "enabled": True,
                "lockedTime": "2027-02-19T10:00:01.000Z",
            },
            "publicAccessPrevention": "enforced",
        },
        "locationType": kind,
        "rpo": "DEFAULT",
    }
    body.update(fields)
    return body


def object_json(name: str, data: bytes, content_type: str, generation: int) -> dict[str, Any]:
    quoted = name.replace("/", "%2F")
    return {
        "kind": "storage#object",
        "id": f"{BUCKET}/{name}/{generation}",
        "selfLink": f"{GCS}/storage/v1/b/{BUCKET}/o/{quoted}",
        "mediaLink": f"{GCS}/download/storage/v1/b/{BUCKET}/o/{quoted}"
        f"?generation={generation}&alt=media",
        "name": name,
        "bucket": BUCKET,
        "generation": str(generation),
        "metageneration": "1",
        "contentType": content_type,
        "storageClass": "STANDARD",
        "size": str(len(data)),
        "md5Hash": base64.b64encode(hashlib.md5(data).digest()).decode(),
        "crc32c": crc32c(data),
        "etag": "CNHZkbuF/ugCEAE=",
        "timeCreated": ts(2),
        "updated": ts(2),
        "timeStorageClassUpdated": ts(2),
        "timeFinalized": ts(2),
    }


def crc32c(data: bytes) -> str:
    """The base64 big-endian CRC32C the JSON API and the SDK use."""
    return base64.b64encode(google_crc32c.value(data).to_bytes(4, "big")).decode()


# -- Cloud Storage steps ----------------------------------------------------------------
def get_bucket(status: int = 200, reply: Any = None, name: str = BUCKET) -> Interaction:
    if status == 404:
        reply = gcs_error(404, "The specified bucket does not exist.", "notFound")
    return exchange(
        "GET",
        f"{GCS}/storage/v1/b/{name}?projection=noAcl&prettyPrint=false",
        status=status,
        reply=reply if reply is not None else bucket_json(name),
        request_headers=gcs_request_headers(),
        response_headers=gcs_headers(),
    )


def insert_bucket() -> Interaction:
    body = {
        "iamConfiguration": {
            "uniformBucketLevelAccess": {"enabled": True},
            "publicAccessPrevention": "enforced",
        },
        "name": BUCKET,
        "location": LOCATION,
    }
    return exchange(
        "POST",
        f"{GCS}/storage/v1/b?project={PROJECT}&prettyPrint=false",
        body=body,
        reply=bucket_json(),
        request_headers=gcs_request_headers(body="application/json"),
        response_headers=gcs_headers(),
    )


def service_agent(number: str = PROJECT_NUMBER) -> Interaction:
    return exchange(
        "GET",
        f"{GCS}/storage/v1/projects/{PROJECT}/serviceAccount?prettyPrint=false",
        reply={
            "email_address": f"service-{number}@gs-project-accounts.iam.gserviceaccount.com",
            "kind": "storage#serviceAccount",
        },
        request_headers=gcs_request_headers(),
        response_headers=gcs_headers(),
    )


def object_exists(name: str, found: bool) -> Interaction:
    quoted = name.replace("/", "%2F")
    return exchange(
        "GET",
        f"{GCS}/storage/v1/b/{BUCKET}/o/{quoted}?fields=name&prettyPrint=false",
        status=200 if found else 404,
        reply={"name": name}
        if found
        else gcs_error(404, f"No such object: {BUCKET}/{name}", "notFound"),
        request_headers=gcs_request_headers(),
        response_headers=gcs_headers(),
    )


def multipart(name: str, text: str, content_type: str) -> str:
    data = text.encode()
    metadata = json.dumps({"name": name, "crc32c": crc32c(data)})
    return (
        f"--{BOUNDARY}\r\ncontent-type: application/json; charset=UTF-8\r\n\r\n{metadata}\r\n"
        f"--{BOUNDARY}\r\ncontent-type: {content_type}\r\n\r\n{text}\r\n--{BOUNDARY}--"
    )


def upload_object(
    name: str,
    text: str,
    *,
    content_type: str = "application/octet-stream",
    generation: int = 1795250402000001,
    status: int = 200,
    reply: Any = None,
) -> Interaction:
    step = exchange(
        "POST",
        f"{GCS}/upload/storage/v1/b/{BUCKET}/o?uploadType=multipart",
        status=status,
        reply=reply or object_json(name, text.encode(), content_type, generation),
        request_headers={
            **gcs_request_headers(body=f'multipart/related; boundary="{BOUNDARY}"'),
            "x-upload-content-type": [content_type],
        },
        response_headers=gcs_headers(upload=True),
    )
    step["request"]["body"] = multipart(name, text, content_type)
    return step


def upload_model(files: Mapping[str, str]) -> list[Interaction]:
    """Every file of the model, then the manifest beside the folder."""
    folder = folder_of(files)
    steps = [
        upload_object(f"{folder}/{name}", text, generation=1795250402000001 + index)
        for index, (name, text) in enumerate(ordered(files))
    ]
    sizes = {name: len(text.encode()) for name, text in ordered(files)}
    steps.append(
        upload_object(
            f"{folder}.json",
            manifest_text(digest_of(files), sizes),
            content_type="application/json",
            generation=1795250402000099,
        )
    )
    return steps


# -- scenarios --------------------------------------------------------------------------
VLLM_SPEC = spec_of("hostkit-local", model=MODEL, instance="g2-standard-12")
VLLM_IDS = Ids("5551230000000111000", "5551230000000222000", "5551230000000333000")
TGI_SPEC = spec_of(
    "hostkit-local-tgi",
    model=MODEL,
    image=TGI_IMAGE,
    instance="g2-standard-12",
    options={"port": 8080, "predict_route": "/generate", "health_route": "/health"},
)
TGI_IDS = Ids("6661230000000111000", "6661230000000222000", "6661230000000333000")


def vllm_container(folder: str) -> dict[str, Any]:
    """The Model Garden vLLM container, loading the model from the gs:// folder."""
    model = f"gs://{BUCKET}/{folder}"
    return {
        "imageUri": VLLM_IMAGE,
        "args": [
            "python",
            "-m",
            "vllm.entrypoints.api_server",
            "--host=0.0.0.0",
            "--port=8080",
            f"--model={model}",
            "--tensor-parallel-size=1",
            "--swap-space=16",
            "--gpu-memory-utilization=0.95",
            "--disable-log-stats",
            "--served-model-name=model",
        ],
        "env": [{"name": "MODEL_ID", "value": model}],
        "ports": [{"containerPort": 8080}],
        "predictRoute": "/generate",
        "healthRoute": "/ping",
        "deploymentTimeout": "7200s",
        "sharedMemorySizeMb": "16384",
    }


def deploy_steps(
    spec: Any, ids: Ids, container: dict[str, Any], serving: str, dedicated: bool, folder: str
) -> list[Interaction]:
    ids.counter = int(ids.endpoint_id[-6:])
    steps, deploy_op = create(
        spec,
        ids,
        container=container,
        serving=serving,
        dedicated=dedicated,
        artifact=f"gs://{BUCKET}/{folder}",
        accelerator=L4,
    )
    deployed = endpoint_json(spec, ids, serving=serving, dedicated=dedicated, accelerator=L4)
    return [
        *steps,
        poll(
            deploy_op,
            "DeployModelOperationMetadata",
            5,
            **response("DeployModelResponse", deployedModel={"id": ids.deployed_id}),
        ),
        list_endpoints(spec.name, deployed),
    ]


def scenario_first_deploy() -> list[Interaction]:
    """No staging bucket yet: created; the model uploaded; the vLLM Model deployed."""
    folder = folder_of(MODEL_V1)
    with model_in_cwd(MODEL_V1):
        return _first_deploy(folder)


def _first_deploy(folder: str) -> list[Interaction]:
    return [
        *find_nothing(VLLM_SPEC.name),
        get_bucket(404),
        insert_bucket(),
        object_exists(f"{folder}.json", found=False),
        *upload_model(MODEL_V1),
        *deploy_steps(VLLM_SPEC, VLLM_IDS, vllm_container(folder), "vllm", True, folder),
    ]


def scenario_same_content() -> list[Interaction]:
    """A later process, the same directory, a custom container: nothing is uploaded."""
    folder = folder_of(MODEL_V1)
    container = {
        "imageUri": TGI_IMAGE,
        "ports": [{"containerPort": 8080}],
        "predictRoute": "/generate",
        "healthRoute": "/health",
    }
    with model_in_cwd(MODEL_V1):
        return _same_content(folder, container)


def _same_content(folder: str, container: dict[str, Any]) -> list[Interaction]:
    return [
        *find_nothing(TGI_SPEC.name),
        get_bucket(),
        service_agent(),
        object_exists(f"{folder}.json", found=True),
        *deploy_steps(TGI_SPEC, TGI_IDS, container, "custom", False, folder),
    ]


def scenario_changed() -> list[Interaction]:
    """The directory changed: a new folder; the old one is neither read nor written."""
    folder = folder_of(MODEL_V2)
    return [
        get_bucket(),
        service_agent(),
        object_exists(f"{folder}.json", found=False),
        *upload_model(MODEL_V2),
    ]


FORBIDDEN = (
    "hostkit-deployer@hostkit-demo.iam.gserviceaccount.com does not have"
    " storage.objects.create access to the Google Cloud Storage object. Permission"
    " 'storage.objects.create' denied on resource (or it may not exist)."
)


def scenario_forbidden() -> list[Interaction]:
    """The principal may read the bucket but not write objects: 403 on the first upload."""
    folder = folder_of(MODEL_V1)
    name, text = ordered(MODEL_V1)[0]
    return [
        get_bucket(),
        service_agent(),
        object_exists(f"{folder}.json", found=False),
        upload_object(
            f"{folder}/{name}",
            text,
            status=403,
            reply=gcs_error(403, FORBIDDEN, "forbidden"),
        ),
    ]


def scenario_other_region() -> list[Interaction]:
    """staging_bucket = "hostkit-models": a multi-region US bucket, refused before uploading."""
    return [get_bucket(name="hostkit-models", reply=bucket_json("hostkit-models", "US"))]


def scenario_squatted() -> list[Interaction]:
    """The default name exists but belongs to another project: refused."""
    return [
        get_bucket(reply=bucket_json(projectNumber="999999999999")),
        service_agent(),
    ]


RESULTS = '{"id": 0, "prediction": "a"}\n{"id": 1, "prediction": "b"}\n'
RESULTS_PREFIX = "hostkit/batch/job-1/out/"


def media_headers(data: bytes, content_range: str | None = None) -> dict[str, list[str]]:
    """A media download's headers: the stored object's hashes and generation."""
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    headers = {
        "Content-Type": ["application/octet-stream"],
        "Date": ["Sat, 21 Nov 2026 10:00:01 GMT"],
        "Server": ["UploadServer"],
        "X-GUploader-UploadID": ["ABgVH8_hostkitFixtureDownloadId00000000000000000000000"],
        "x-goog-generation": ["1795250402000201"],
        "x-goog-metageneration": ["1"],
        "x-goog-stored-content-encoding": ["identity"],
        "x-goog-stored-content-length": [str(len(data))],
        "x-goog-hash": [f"crc32c={crc32c(data)},md5={md5}"],
        "x-goog-storage-class": ["STANDARD"],
        "Cache-Control": ["private, max-age=0"],
    }
    if content_range:
        headers["Content-Range"] = [content_range]
    return headers


def with_status(step: Interaction, code: int, message: str) -> Interaction:
    """``step`` answered with a status make_cassettes.exchange does not name."""
    step["response"]["status"] = {"code": code, "message": message}
    return step


def scenario_objects() -> list[Interaction]:
    """gcs.py's object calls as batch jobs use them: write, list, read whole and streamed,
    delete (one already gone)."""
    data = RESULTS.encode()
    shard = f"{RESULTS_PREFIX}prediction.results-00000-of-00001"
    quoted = shard.replace("/", "%2F")
    media = f"{GCS}/download/storage/v1/b/{BUCKET}/o/{quoted}?alt=media"
    listing = {
        "kind": "storage#objects",
        "items": [object_json(shard, data, "application/octet-stream", 1795250402000201)],
    }
    gone = f"{RESULTS_PREFIX}errors_stats-00000-of-00001"
    return [
        get_bucket(),
        service_agent(),
        upload_object(
            "hostkit/batch/job-1/input.jsonl",
            RESULTS,
            content_type="text/plain",
        ),
        exchange(
            "GET",
            f"{GCS}/storage/v1/b/{BUCKET}/o?prefix={RESULTS_PREFIX.replace('/', '%2F')}"
            "&projection=noAcl&prettyPrint=false",
            reply=listing,
            request_headers=gcs_request_headers(),
            response_headers=gcs_headers(),
        ),
        exchange(
            "GET",
            media,
            raw_reply=RESULTS,
            request_headers=gcs_request_headers(),
            response_headers=media_headers(data),
        ),
        with_status(
            exchange(
                "GET",
                media,
                raw_reply=RESULTS,
                request_headers=gcs_request_headers(),
                response_headers=media_headers(data, f"bytes 0-{len(data) - 1}/{len(data)}"),
            ),
            206,
            "Partial Content",
        ),
        with_status(
            exchange(
                "GET",
                media + "&generation=1795250402000201",  # the reader keeps the generation
                reply=gcs_error(
                    416, "The requested range cannot be satisfied.", "requestedRangeNotSatisfiable"
                ),
                request_headers=gcs_request_headers(),
                response_headers=gcs_headers(),
            ),
            416,
            "Requested Range Not Satisfiable",
        ),
        with_status(
            exchange(
                "DELETE",
                f"{GCS}/storage/v1/b/{BUCKET}/o/{quoted}?prettyPrint=false",
                raw_reply="",
                request_headers=gcs_request_headers(),
                response_headers=gcs_headers(),
            ),
            204,
            "No Content",
        ),
        exchange(
            "DELETE",
            f"{GCS}/storage/v1/b/{BUCKET}/o/{gone.replace('/', '%2F')}?prettyPrint=false",
            status=404,
            reply=gcs_error(404, f"No such object: {BUCKET}/{gone}", "notFound"),
            request_headers=gcs_request_headers(),
            response_headers=gcs_headers(),
        ),
    ]


BUCKET_FORBIDDEN = (
    "hostkit-deployer@hostkit-demo.iam.gserviceaccount.com does not have"
    " storage.buckets.get access to the Google Cloud Storage bucket. Permission"
    " 'storage.buckets.get' denied on resource (or it may not exist)."
)


def scenario_bucket_forbidden() -> list[Interaction]:
    """The default name answers 403: no permission, or another project's bucket."""
    return [get_bucket(403, gcs_error(403, BUCKET_FORBIDDEN, "forbidden"))]


def scenario_bucket_race() -> list[Interaction]:
    """Missing, then 409 on insert (another process made it): looked up again, then used."""
    conflict = gcs_error(
        409,
        "Your previous request to create the named bucket succeeded and you already own it.",
        "conflict",
    )
    step = insert_bucket()
    step["response"]["status"] = {"code": 409, "message": "Conflict"}
    step["response"]["body"]["string"] = json.dumps(conflict, indent=2) + "\n"
    return [get_bucket(404), step, get_bucket(), service_agent()]


SCENARIOS: dict[str, tuple[str, Callable[[], list[Interaction]]]] = {
    "first_deploy": (
        "first_deploy: deploy(model='./model') on g2-standard-12. find() sees nothing; the\n"
        "staging bucket hostkit-demo-vertex-staging-us-central1 is missing (404), so it is\n"
        "created in us-central1 (uniform access, public access prevention); the manifest\n"
        "hostkit/models/<hash>.json is missing, so the three files are uploaded (multipart),\n"
        "then the manifest; then models:upload with artifactUri = the folder and the Model\n"
        "Garden vLLM container with --model=gs://<folder>, endpoint, deployModel, polled.",
        scenario_first_deploy,
    ),
    "same_content": (
        "same_content: a later process deploys the same directory with a TGI container: the\n"
        "bucket is found (owner checked through the project's service agent), the manifest\n"
        "exists, so no object is uploaded; the Model gets the same artifactUri.",
        scenario_same_content,
    ),
    "changed": (
        "changed: config.json edited: a new hash, a new folder; its files and manifest are\n"
        "uploaded and the first folder is not touched.",
        scenario_changed,
    ),
    "forbidden": (
        "forbidden: objects insert answers 403 naming storage.objects.create.",
        scenario_forbidden,
    ),
    "other_region": (
        "other_region: staging_bucket is a multi-region US bucket; nothing is uploaded.",
        scenario_other_region,
    ),
    "squatted": (
        "squatted: the default-named bucket's projectNumber is not the project's (the number\n"
        "in its Cloud Storage service agent): nothing is uploaded.",
        scenario_squatted,
    ),
    "objects": (
        "objects: the Cloud Storage calls native batch jobs build on: an object written,\n"
        "a prefix listed, a result shard read whole and then streamed (a 206 range, then\n"
        "416 at its end), two objects deleted (the second already gone: 404 is fine).",
        scenario_objects,
    ),
    "bucket_forbidden": (
        "bucket_forbidden: the default bucket's get answers 403 naming storage.buckets.get.",
        scenario_bucket_forbidden,
    ),
    "bucket_race": (
        "bucket_race: the bucket is missing, but its insert answers 409 (another process\n"
        "created it meanwhile); it is looked up again, its owner checked, and used.",
        scenario_bucket_race,
    ),
    "nothing": (
        "nothing: no request at all (a missing path, an empty directory and a bad\n"
        "staging_bucket are refused before anything is sent).",
        lambda: [],
    ),
}


def write_cassette(name: str, comment: str, interactions: list[Interaction]) -> None:
    """``cassettes/artifacts/<name>.yaml`` in make_cassettes.py's YAML style."""
    text = yaml.dump(
        {"interactions": interactions, "version": 1},
        Dumper=_Dumper,
        sort_keys=False,
        width=100,
        allow_unicode=True,
    )
    header = "".join(f"# {line}".rstrip() + "\n" for line in comment.strip().splitlines())
    (HERE / f"{name}.yaml").write_text(f"{header}#\n{SOURCE}{text}", encoding="utf-8")


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    for name, (comment, build) in SCENARIOS.items():
        write_cassette(name, comment, build())


if __name__ == "__main__":
    main()
