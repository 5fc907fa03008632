"""``model = "./dir"`` on Vertex AI: a content-addressed folder in Cloud Storage, then a Model.

The cassettes in ``cassettes/artifacts/`` (built by ``make_artifact_cassettes.py``, whose
header cites every call's wire format) are replayed strictly: a request they do not hold
fails the test (so a cassette without an upload proves none was sent), and ``all_played``
proves every request they hold was sent. google-cloud-storage parses the Cloud Storage
bodies in the tests below (its ``Bucket``/``Blob`` resources and google-api-core's error
mapping), and aiplatform_v1's own types the Vertex AI ones.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hostkit_providers.vertex import VertexProvider
from hostkit_providers.vertex.artifacts import served_name, upload
from hostkit_providers.vertex.gcs import default_bucket_name, split_gs_uri
from hostkit_providers.vertex.provider import served_model

from hostkit import errors, get_provider, on_progress
from hostkit.testing import cassette, load_cassette
from hostkit.testing._cassettes import scrub_request

HERE = Path(__file__).parent
CASSETTES = HERE / "cassettes" / "artifacts"
SETTINGS = {"project": "hostkit-demo", "location": "us-central1"}
BOUNDARY = re.compile(rb"={15}\d{19}==")


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_artifact_cassettes", HERE / "make_artifact_cassettes.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _generator()


def _fixed_boundary(request: Any) -> Any:
    """hostkit's scrubbing, then the SDK's random multipart boundary as the cassettes hold it."""
    request = scrub_request(request)
    body = request.body
    if isinstance(body, bytes) and body.startswith(b"--="):
        request.body = BOUNDARY.sub(GEN.BOUNDARY.encode(), body)
    return request


def replay(name: str) -> Any:
    return cassette(
        CASSETTES / f"{name}.yaml", record_mode="none", before_record_request=_fixed_boundary
    )


def requests_of(name: str) -> list[tuple[str, str]]:
    return [(i.request.method, i.request.uri) for i in load_cassette(CASSETTES / f"{name}.yaml")]


def make_provider(**settings: Any) -> VertexProvider:
    built = get_provider("vertex", **{**SETTINGS, **settings})
    assert isinstance(built, VertexProvider)
    built.sleep = lambda seconds: None
    built.retry.sleep = lambda seconds: None
    return built


@pytest.fixture
def provider(
    fake_adc: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[VertexProvider]:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/var/run/hostkit-tests/FAKE.json")
    monkeypatch.chdir(tmp_path)  # model = "./model": the same spec every run
    built = make_provider()
    yield built
    built.close()


def use_model(files: Mapping[str, str]) -> Path:
    """``./model`` holding exactly ``files``."""
    target = Path("model")
    for old in sorted(target.rglob("*"), reverse=True) if target.exists() else []:
        old.unlink() if old.is_file() else old.rmdir()
    return GEN.write_model(target, files)


def folder(files: Mapping[str, str]) -> str:
    return f"gs://{GEN.BUCKET}/{GEN.folder_of(files)}/"


# -- deploy: upload once, then a Model with artifactUri ----------------------------------
def test_first_deploy_creates_the_bucket_uploads_then_deploys_from_the_folder(
    provider: VertexProvider,
) -> None:
    use_model(GEN.MODEL_V1)
    progress: list[str] = []
    with on_progress(progress.append), replay("first_deploy") as recorded:
        deployment = provider.deploy(GEN.VLLM_SPEC)
    assert recorded.all_played
    assert deployment.status == "ready" and deployment.model == "./model"
    uploads = [uri for method, uri in requests_of("first_deploy") if "/upload/" in uri]
    assert len(uploads) == 4  # three files, then the manifest
    bodies = [
        i.request.body or ""
        for i in load_cassette(CASSETTES / "first_deploy.yaml")
        if "/upload/" in i.request.uri
    ]
    names = [json.loads(b.split("\r\n\r\n")[1].split("\r\n")[0])["name"] for b in bodies]
    prefix = GEN.folder_of(GEN.MODEL_V1)
    assert names == [
        f"{prefix}/config.json",
        f"{prefix}/model.safetensors",
        f"{prefix}/tokenizer/tokenizer.json",
        f"{prefix}.json",  # the manifest, last
    ]
    model = next(
        json.loads(i.request.body or "{}")["model"]
        for i in load_cassette(CASSETTES / "first_deploy.yaml")
        if i.request.uri.split("?")[0].endswith("models:upload")
    )
    assert model["artifactUri"] == folder(GEN.MODEL_V1).rstrip("/")
    assert f"--model={model['artifactUri']}" in model["containerSpec"]["args"]
    assert "--served-model-name=model" in model["containerSpec"]["args"]
    assert any("creating Cloud Storage bucket" in line for line in progress)
    total = sum(len(text.encode()) for text in GEN.MODEL_V1.values())
    assert any(f"uploading 3 file(s), {total:,} bytes" in line for line in progress)
    assert any(f"uploaded {total:,} bytes in" in line and "MB/s" in line for line in progress)
    assert f"  {total:,} / {total:,} bytes" in progress  # counted as the SDK read the files


def test_the_same_directory_again_uploads_nothing(provider: VertexProvider) -> None:
    """A later process: the manifest is there, so the cassette (no upload) replays fully."""
    use_model(GEN.MODEL_V1)
    progress: list[str] = []
    with on_progress(progress.append), replay("same_content") as recorded:
        deployment = provider.deploy(GEN.TGI_SPEC)
    assert recorded.all_played and deployment.status == "ready"
    assert not [uri for _, uri in requests_of("same_content") if "/upload/" in uri]
    assert any("already uploaded" in line and "same content" in line for line in progress)
    model = next(
        json.loads(i.request.body or "{}")["model"]
        for i in load_cassette(CASSETTES / "same_content.yaml")
        if i.request.uri.split("?")[0].endswith("models:upload")
    )
    assert model["artifactUri"] == folder(GEN.MODEL_V1).rstrip("/")
    assert model["containerSpec"]["imageUri"] == GEN.TGI_IMAGE


def test_a_changed_directory_goes_to_a_new_folder_and_leaves_the_old_one(
    provider: VertexProvider,
) -> None:
    use_model(GEN.MODEL_V2)
    with replay("changed") as recorded:
        uploaded, _ = upload(provider, "./model")
    assert recorded.all_played
    assert uploaded == folder(GEN.MODEL_V2) != folder(GEN.MODEL_V1)
    old = GEN.folder_of(GEN.MODEL_V1).replace("/", "%2F")
    assert not [uri for _, uri in requests_of("changed") if old in uri]


# -- clear errors -------------------------------------------------------------------------
def test_a_missing_path_or_an_empty_directory_is_a_config_error_before_any_request(
    provider: VertexProvider,
) -> None:
    with replay("nothing") as recorded:
        with pytest.raises(errors.ConfigError) as missing:
            provider.deploy(GEN.VLLM_SPEC.replace(model="./no-such-model"))
        Path("empty/sub").mkdir(parents=True)
        with pytest.raises(errors.ConfigError) as empty:
            provider.deploy(GEN.VLLM_SPEC.replace(model="./empty"))
    assert recorded.play_count == 0
    assert "'./no-such-model' does not exist" in missing.value.message
    assert "a directory of model files" in missing.value.message
    assert "'./empty' is an empty directory" in empty.value.message


def test_a_403_on_upload_names_the_permission_and_the_role(provider: VertexProvider) -> None:
    use_model(GEN.MODEL_V1)
    with replay("forbidden") as recorded, pytest.raises(errors.AuthenticationError) as caught:
        upload(provider, "./model")
    assert recorded.all_played  # one upload: a 403 is not retried
    message = caught.value.message
    assert message.startswith("missing IAM permission storage.objects.create:")
    assert "roles/storage.objectAdmin" in message and caught.value.status_code == 403


def test_a_bucket_in_another_region_is_refused_naming_both(
    fake_adc: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/var/run/hostkit-tests/FAKE.json")
    monkeypatch.chdir(tmp_path)
    use_model(GEN.MODEL_V1)
    provider = make_provider(staging_bucket="gs://hostkit-models")
    try:
        with replay("other_region") as recorded, pytest.raises(errors.ConfigError) as caught:
            upload(provider, "./model")
        assert recorded.all_played
    finally:
        provider.close()
    message = caught.value.message
    assert "gs://hostkit-models is in multi region us" in message
    assert "location is us-central1" in message and "staging_bucket" in message


def test_a_default_named_bucket_of_another_project_is_refused(provider: VertexProvider) -> None:
    use_model(GEN.MODEL_V1)
    with replay("squatted") as recorded, pytest.raises(errors.ConfigError) as caught:
        upload(provider, "./model")
    assert recorded.all_played
    assert "belongs to another project (number 999999999999)" in caught.value.message


def test_a_staging_bucket_that_is_not_a_bucket_name_is_named(
    fake_adc: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/var/run/hostkit-tests/FAKE.json")
    monkeypatch.chdir(tmp_path)
    use_model(GEN.MODEL_V1)
    provider = make_provider(staging_bucket="Not A Bucket")
    try:
        with replay("nothing"), pytest.raises(errors.ConfigError) as caught:
            upload(provider, "./model")
    finally:
        provider.close()
    assert "staging_bucket" in caught.value.message and "'Not A Bucket'" in caught.value.message


# -- names ---------------------------------------------------------------------------------
def test_names() -> None:
    assert default_bucket_name("hostkit-demo", "us-central1") == GEN.BUCKET
    assert len(default_bucket_name("p" * 60, "europe-west4")) <= 63
    assert split_gs_uri("gs://b/x/y.json") == ("b", "x/y.json")
    with pytest.raises(errors.ConfigError):
        split_gs_uri("s3://b/x")
    assert (
        served_name("./artifacts/my-model/") == "my-model" == served_model("./artifacts/my-model")
    )
    assert served_name(".") == "model"
    assert (
        served_model("hf://meta-llama/Llama-3.1-8B-Instruct") == "meta-llama/Llama-3.1-8B-Instruct"
    )


def test_the_plan_of_a_local_model_before_and_after_the_upload(provider: VertexProvider) -> None:
    use_model(GEN.MODEL_V1)
    before = provider.plan(GEN.VLLM_SPEC)
    assert before.serving == "vllm" and before.artifact_uri is None
    after = provider.plan(GEN.VLLM_SPEC, folder="gs://b/hostkit/models/abc/")
    assert after.artifact_uri == "gs://b/hostkit/models/abc"
    assert "--model=gs://b/hostkit/models/abc" in after.container["args"]
    custom = provider.plan(GEN.TGI_SPEC, folder="gs://b/hostkit/models/abc/")
    assert custom.serving == "custom" and custom.artifact_uri == "gs://b/hostkit/models/abc"


# -- cassette realism: the SDKs parse every body -------------------------------------------
def _gcs_body(request: Any, response: Any) -> None:
    from google.api_core import exceptions
    from google.cloud import storage
    from requests import PreparedRequest, Response

    if response.status >= 400:
        raw = Response()
        raw.status_code = response.status
        raw._content = response.body.encode()
        raw.request = PreparedRequest()
        raw.request.prepare(method=request.method, url=request.uri)
        error = exceptions.from_http_response(raw)
        assert error.code == response.status
        assert json.loads(response.body)["error"]["message"] in error.message
        return
    if not response.body or request.path.startswith("/download/"):
        return  # a delete's empty 204, or an object's bytes (checked against x-goog-hash)
    body = json.loads(response.body)
    client = storage.Client.create_anonymous_client()
    if body.get("kind") == "storage#objects":
        for item in body["items"]:
            blob = storage.Blob(item["name"], storage.Bucket(client, item["bucket"]))
            blob._set_properties(item)
            assert blob.size is not None and blob.crc32c and blob.generation
        return
    if body.get("kind") == "storage#bucket":
        bucket = storage.Bucket(client, body["name"])
        bucket._set_properties(body)
        assert bucket.location and bucket.project_number and bucket.location_type
    elif body.get("kind") == "storage#object":
        blob = storage.Blob(body["name"], storage.Bucket(client, body["bucket"]))
        blob._set_properties(body)
        assert blob.size is not None and blob.crc32c and blob.md5_hash and blob.generation
    elif body.get("kind") == "storage#serviceAccount":
        assert set(body) == {"email_address", "kind"}
    else:  # objects get with fields=name
        assert set(body) == {"name"}


def _vertex_body(request: Any, response: Any) -> None:
    from google.cloud import aiplatform_v1 as v1
    from google.longrunning import operations_pb2
    from google.protobuf import json_format

    path = request.path
    if path.endswith("/endpoints") and request.method == "GET":
        message: Any = v1.ListEndpointsResponse.pb()()
    elif path.endswith("/models") and request.method == "GET":
        message = v1.ListModelsResponse.pb()()
    else:
        message = operations_pb2.Operation()
    json_format.Parse(response.body, message, ignore_unknown_fields=False)


@pytest.mark.parametrize("file", sorted(p.name for p in CASSETTES.glob("*.yaml")))
def test_every_recorded_body_parses_with_the_sdk_types(file: str) -> None:
    from google.rpc import error_details_pb2  # noqa: F401 (registers detail types)

    for interaction in load_cassette(CASSETTES / file):
        request, response = interaction.request, interaction.response
        if request.uri.startswith(GEN.GCS):
            _gcs_body(request, response)
        else:
            _vertex_body(request, response)


def test_the_cassettes_are_what_the_generator_writes(tmp_path: Path) -> None:
    for name, (_, build) in GEN.SCENARIOS.items():
        interactions = build()
        assert [i["request"]["uri"] for i in interactions] == [
            uri for _, uri in requests_of(name)
        ], name


# -- gcs.py's object calls (what native batch jobs build on) -------------------------------
def test_object_calls_write_list_read_stream_and_delete(provider: VertexProvider) -> None:
    from hostkit_providers.vertex.gcs import storage_for

    store = storage_for(provider)
    prefix = f"gs://{GEN.BUCKET}/{GEN.RESULTS_PREFIX}"
    shard = f"{prefix}prediction.results-00000-of-00001"
    with replay("objects") as recorded:
        bucket = store.bucket()
        store.upload_text(GEN.RESULTS, f"gs://{bucket}/hostkit/batch/job-1/input.jsonl")
        assert store.list_blobs(prefix) == [shard]
        assert store.download_text(shard) == GEN.RESULTS
        assert list(store.read_lines(shard)) == GEN.RESULTS.splitlines()
        store.delete([shard, f"{prefix}errors_stats-00000-of-00001"])
    assert recorded.all_played


def test_a_403_on_the_default_bucket_names_the_permission_and_the_other_cause(
    provider: VertexProvider,
) -> None:
    from hostkit_providers.vertex.gcs import storage_for

    with (
        replay("bucket_forbidden") as recorded,
        pytest.raises(errors.AuthenticationError) as caught,
    ):
        storage_for(provider).bucket()
    assert recorded.all_played
    message = caught.value.message
    assert message.startswith("missing IAM permission storage.buckets.get:")
    assert "belongs to another project" in message and "staging_bucket" in message


def test_a_bucket_created_meanwhile_by_another_process_is_used(provider: VertexProvider) -> None:
    from hostkit_providers.vertex.gcs import storage_for

    with replay("bucket_race") as recorded:
        assert storage_for(provider).bucket() == GEN.BUCKET
    assert recorded.all_played
