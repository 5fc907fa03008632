"""``model = "./my-model"`` on Azure ML: upload, register as a model asset, deploy.

Cassettes live in cassettes/artifacts/ (written by build_artifacts_cassettes.py, which
says where each response shape comes from). Every test replays strictly: a request a
cassette does not hold fails, and so does a recorded request that is not made, so a
cassette with no upload in it proves that nothing was uploaded.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hostkit_providers.azureml import AzureMLProvider
from hostkit_providers.azureml.artifacts import TAG_TREE, asset_name, register

from hostkit import DeploymentSpec, errors
from hostkit._progress import listen
from hostkit.adapters import tree_sha256
from hostkit.testing import cassette, load_cassette

CASSETTES = Path(__file__).parent / "cassettes" / "artifacts"
SETTINGS = {
    "subscription_id": "6f1c2b7e-3a4d-4e5f-9b8a-2c1d0e9f8a7b",
    "resource_group": "hostkit-rg",
    "workspace": "hostkit-ws",
    "region": "eastus",
}
BLOB_HOST = "hostkitws4d2f9c1a.blob.core.windows.net"
#: the files the cassettes were recorded with (build_artifacts_cassettes.MODEL_FILES)
MODEL_FILES = {
    "config.json": '{"threshold": 0.42, "features": ["amount", "age_days"]}\n',
    "model.txt": "intercept -3.1\namount 0.0042\nage_days -0.37\n",
    "vocab/labels.txt": "legit\nfraud\n",
}
CHANGED_MODEL = "intercept -2.9\namount 0.0051\nage_days -0.33\n"
SINGLE_FILE = '{"rules": [{"if": "amount > 900", "then": "review"}]}\n'
SPEC = DeploymentSpec.from_dict(
    {
        "provider": "azureml",
        "name": "hostkit-local",
        "model": "./my-model",
        "instance": "Standard_DS3_v2",
        "options": {"environment": "azureml:sklearn-serving:2"},
    }
)
LISTSECRETS = "Microsoft.MachineLearningServices/workspaces/datastores/listsecrets/action"


@pytest.fixture
def make() -> Iterator[Callable[..., AzureMLProvider]]:
    made: list[AzureMLProvider] = []

    def build(**overrides: Any) -> AzureMLProvider:
        provider = AzureMLProvider(**{**SETTINGS, **overrides})
        provider.sleep = lambda seconds: None
        provider.retry.sleep = lambda seconds: None
        made.append(provider)
        return provider

    yield build
    for provider in made:
        provider.close()


@pytest.fixture
def model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``./my-model`` with the recorded files, in a fresh working directory."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "my-model"
    for name, text in MODEL_FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@contextlib.contextmanager
def replay(name: str | Path) -> Iterator[Any]:
    """Replay a cassette strictly; every recorded request must be made."""
    path = name if isinstance(name, Path) else CASSETTES / f"{name}.yaml"
    with cassette(path, record_mode="none") as recorded:
        yield recorded
    assert recorded.play_count == len(recorded.data), (
        f"{path.name}: made {recorded.play_count} of {len(recorded.data)} recorded requests"
    )


def requests_of(name: str) -> list[Any]:
    return [interaction.request for interaction in load_cassette(CASSETTES / f"{name}.yaml")]


def blob_puts(name: str) -> dict[str, str]:
    """Blob name (below LocalUpload/<hash>/) -> body of each Put Blob in a cassette."""
    found = {}
    for request in requests_of(name):
        if request.host == BLOB_HOST and request.method == "PUT" and "comp=" not in request.uri:
            found[request.path.split("/LocalUpload/", 1)[1]] = request.body or ""
    return found


def model_put(name: str) -> tuple[str, dict[str, Any]]:
    request = next(
        r for r in requests_of(name) if r.method == "PUT" and "/models/my-model/versions/" in r.path
    )
    return request.path, request.json()


# -- deploy, the same content again, changed content ----------------------------------
def test_first_deploy_uploads_registers_and_deploys_that_version(
    make: Callable[..., AzureMLProvider], model_dir: Path
) -> None:
    provider = make()
    messages: list[str] = []
    with listen(messages.append), replay("artifacts_deploy"):
        dep = provider.deploy(SPEC)
    digest = tree_sha256(model_dir)
    assert dep.status == "ready" and dep.model == "./my-model" and dep.raw["kind"] == "raw"
    assert dep.raw["model_asset"] == "azureml:my-model:1"
    assert dep.raw["model_sha256"] == digest
    # every file went to the datastore under one content-named folder, byte for byte
    puts = blob_puts("artifacts_deploy")
    folders = {name.split("/", 1)[0] for name in puts}
    assert len(folders) == 1
    assert {name.split("/", 1)[1]: body for name, body in puts.items()} == {
        f"my-model/{name}": text for name, text in MODEL_FILES.items()
    }
    metadata = next(r for r in requests_of("artifacts_deploy") if "comp=metadata" in r.uri)
    assert metadata.header("x-ms-meta-upload_status") == "completed"
    # the version carries hostkit's hash and points at that folder
    path, body = model_put("artifacts_deploy")
    assert path.endswith("/models/my-model/versions/1")
    assert body["properties"]["tags"] == {TAG_TREE: digest}
    assert body["properties"]["modelType"] == "custom_model"
    folder = folders.pop()
    assert body["properties"]["modelUri"].endswith(
        f"/datastores/workspaceblobstore/paths/LocalUpload/{folder}/my-model"
    )
    # the deployment runs that registered version
    deployment = next(
        r.json()
        for r in requests_of("artifacts_deploy")
        if r.method == "PUT" and r.path.endswith("/deployments/hostkit")
    )
    assert deployment["properties"]["model"].endswith("/models/my-model/versions/1")
    assert deployment["properties"]["environmentId"].endswith(
        "/environments/sklearn-serving/versions/2"
    )
    total = sum(len(text.encode()) for text in MODEL_FILES.values())
    assert any(f"uploading {total:,} bytes (3 file(s))" in m for m in messages), messages
    assert any(f"uploaded {total:,} bytes in" in m and "MB/s" in m for m in messages)


def test_same_content_again_uploads_and_registers_nothing(
    make: Callable[..., AzureMLProvider], model_dir: Path
) -> None:
    with replay("artifacts_deploy_again"):
        dep = make().deploy(SPEC)
    assert dep.status == "ready" and dep.raw["model_asset"] == "azureml:my-model:1"
    sent = requests_of("artifacts_deploy_again")
    # strict replay: these are all the requests made; none is an upload or a registration
    assert not [r for r in sent if r.host == BLOB_HOST or "/datastores/" in r.path]
    assert not [r for r in sent if "/models/" in r.path and r.method != "GET"]
    lookup = next(r for r in sent if "/models/my-model/versions" in r.path)
    assert lookup.query["tags"] == f"{TAG_TREE}={tree_sha256(model_dir)}"


def test_changed_content_gets_a_new_version_and_leaves_the_old_one(
    make: Callable[..., AzureMLProvider], model_dir: Path
) -> None:
    before = tree_sha256(model_dir)
    (model_dir / "model.txt").write_text(CHANGED_MODEL, encoding="utf-8")
    with replay("artifacts_changed"):
        uri, digest = register(make(), "./my-model")
    assert uri == "azureml:my-model:2" and digest == tree_sha256(model_dir) != before
    path, body = model_put("artifacts_changed")
    assert path.endswith("/versions/2") and body["properties"]["tags"] == {TAG_TREE: digest}
    # a new upload folder; nothing written to version 1 or to the first upload's folder
    first = {name.split("/", 1)[0] for name in blob_puts("artifacts_deploy")}
    second = {name.split("/", 1)[0] for name in blob_puts("artifacts_changed")}
    assert len(second) == 1 and first.isdisjoint(second)
    assert blob_puts("artifacts_changed")[f"{second.pop()}/my-model/model.txt"] == CHANGED_MODEL
    assert not [r for r in requests_of("artifacts_changed") if r.path.endswith("/versions/1")]


def test_changed_content_under_a_running_name_is_refused(
    make: Callable[..., AzureMLProvider], model_dir: Path
) -> None:
    (model_dir / "model.txt").write_text(CHANGED_MODEL, encoding="utf-8")
    with replay("artifacts_changed_existing"), pytest.raises(errors.ConfigError) as caught:
        make().deploy(SPEC)
    assert "different spec" in caught.value.message


def test_content_uploaded_before_is_registered_without_sending_it(
    make: Callable[..., AzureMLProvider], model_dir: Path
) -> None:
    """An earlier run uploaded the files but stopped before registering: azure-ai-ml's
    completed-upload metadata on the folder's first blob says so, and nothing is sent."""
    messages: list[str] = []
    with listen(messages.append), replay("artifacts_uploaded_before"):
        uri, _ = register(make(), "./my-model")
    assert uri == "azureml:my-model:1"
    assert not blob_puts("artifacts_uploaded_before")
    assert any("already in the datastore" in m for m in messages), messages
    _, body = model_put("artifacts_uploaded_before")
    first = {name.split("/", 1)[0] for name in blob_puts("artifacts_deploy")}.pop()
    assert body["properties"]["modelUri"].endswith(f"/LocalUpload/{first}/my-model")


def test_a_single_file_becomes_one_blob_and_a_model(
    make: Callable[..., AzureMLProvider], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules.json").write_text(SINGLE_FILE, encoding="utf-8")
    with replay("artifacts_file"):
        uri, digest = register(make(), "./rules.json")
    assert uri == "azureml:rules:1" and digest == tree_sha256(tmp_path / "rules.json")
    (name, body), *others = blob_puts("artifacts_file").items()
    assert not others and name.endswith("/rules.json") and body == SINGLE_FILE
    request = next(r for r in requests_of("artifacts_file") if "/models/rules/versions/1" in r.path)
    assert request.json()["properties"]["modelUri"].endswith(f"/LocalUpload/{name}")


# -- what is wrong with a local path -----------------------------------------------------
@pytest.fixture
def no_requests(tmp_path: Path) -> Path:
    path = tmp_path / "none.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "interactions": []}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("setup", "model", "expected"),
    [
        (None, "./nowhere", "does not exist"),
        ("empty", "./empty", "empty directory"),
        ("custom", "./my-model", "options.environment"),
    ],
)
def test_a_bad_local_model_is_a_config_error_before_any_request(
    make: Callable[..., AzureMLProvider],
    model_dir: Path,
    no_requests: Path,
    setup: str | None,
    model: str,
    expected: str,
) -> None:
    (model_dir.parent / "empty" / "sub").mkdir(parents=True)
    options = {} if setup == "custom" else dict(SPEC.options)
    spec = SPEC.replace(model=model, options=options)
    with replay(no_requests), pytest.raises(errors.ConfigError) as caught:
        make().deploy(spec)
    assert expected in caught.value.message and "model" in caught.value.message


def test_an_mlflow_directory_needs_no_environment(
    make: Callable[..., AzureMLProvider], model_dir: Path
) -> None:
    (model_dir / "MLmodel").write_text("flavors:\n  python_function: {}\n", encoding="utf-8")
    make().validate_spec(SPEC.replace(options={}))  # no error: MLflow models bring theirs


# -- permissions and failures ------------------------------------------------------------
def test_a_refused_upload_names_the_role_and_the_permission(
    make: Callable[..., AzureMLProvider], model_dir: Path
) -> None:
    with replay("artifacts_forbidden"), pytest.raises(errors.AuthenticationError) as caught:
        make().deploy(SPEC)
    message = caught.value.message
    assert "Storage Blob Data Contributor" in message and LISTSECRETS in message
    assert "AuthorizationPermissionMismatch" in message and "./my-model" in message
    assert "sig=" not in message and "eyJ0eXAi" not in message


def test_a_refused_datastore_read_names_the_permission(
    make: Callable[..., AzureMLProvider], model_dir: Path, tmp_path: Path
) -> None:
    data = yaml.safe_load((CASSETTES / "artifacts_deploy.yaml").read_text())["interactions"]
    lookups = data[1:4]  # versions by tag, the model, the datastore
    assert lookups[2]["request"]["uri"].split("?")[0].endswith("/datastores/workspaceblobstore")
    action = "Microsoft.MachineLearningServices/workspaces/datastores/read"
    denied = lookups[2]["response"]
    denied["status"] = {"code": 403, "message": "Forbidden"}
    denied["body"]["string"] = json.dumps(
        {
            "error": {
                "code": "AuthorizationFailed",
                "message": f"The client 'dev@contoso.com' with object id '9a8b' does not have"
                f" authorization to perform action '{action}' over scope '/subscriptions/x'.",
            }
        }
    )
    path = tmp_path / "denied.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "interactions": lookups}))
    with replay(path), pytest.raises(errors.AuthenticationError) as caught:
        register(make(), "./my-model")
    assert f"missing permission {action}" in caught.value.message
    assert caught.value.status_code == 403


def test_a_failed_blob_upload_raises_instead_of_hanging(
    make: Callable[..., AzureMLProvider], model_dir: Path, tmp_path: Path
) -> None:
    """azure-ai-ml's own directory upload waits for ever when one file fails with its
    progress bar off; hostkit's upload raises the storage error at once."""
    data = yaml.safe_load((CASSETTES / "artifacts_deploy.yaml").read_text())["interactions"]
    put = next(i for i, x in enumerate(data) if x["request"]["uri"].count("/model.txt?"))
    failing = data[put]["response"]
    failing["status"] = {"code": 403, "message": "Forbidden"}
    failing["headers"]["x-ms-error-code"] = ["AuthorizationPermissionMismatch"]
    failing["headers"].pop("content-md5", None)
    path = tmp_path / "failing.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "interactions": data[1 : put + 1]}))
    outcome: list[BaseException] = []

    def attempt() -> None:
        try:
            register(make(), "./my-model")
        except BaseException as error:
            outcome.append(error)

    with replay(path):
        worker = threading.Thread(target=attempt, daemon=True)
        worker.start()
        worker.join(timeout=120)  # generous: it returns in well under a second
    assert not worker.is_alive(), "the upload hung"
    assert isinstance(outcome[0], errors.AuthenticationError)
    assert "Storage Blob Data Contributor" in outcome[0].message


# -- names --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("my-model", "my-model"),
        ("My Model (v2)", "My-Model-v2"),
        ("_private", "private"),
        ("ünïcode", "n-code"),
        ("___", "model"),
        ("model.joblib", "model"),
    ],
)
def test_asset_names_are_what_azure_accepts(tmp_path: Path, relative: str, expected: str) -> None:
    target = tmp_path / relative
    if "." in relative:
        target.write_text("x")
    else:
        target.mkdir()
    assert asset_name(target) == expected


# -- realism: the SDKs parse what the cassettes hold ---------------------------------------
ARTIFACT_CASSETTES = sorted(CASSETTES.glob("*.yaml"))


@pytest.mark.parametrize("path", ARTIFACT_CASSETTES, ids=lambda p: p.stem)
def test_the_sdks_parse_every_recorded_body(path: Path) -> None:
    from azure.ai.ml._restclient.arm_ml_service import models
    from azure.ai.ml._restclient.arm_ml_service._utils.model_base import _deserialize
    from azure.ai.ml.entities import Datastore, Model, OnlineDeployment, OnlineEndpoint
    from azure.storage.blob._generated.models import StorageErrorCode  # the REST API's codes

    for interaction in load_cassette(path):
        request, response = interaction.request, interaction.response
        if request.host == BLOB_HOST:
            assert response.header("x-ms-request-id") and response.header("x-ms-version")
            if response.status >= 400:
                StorageErrorCode(response.header("x-ms-error-code"))
            elif request.method == "PUT" and "comp=metadata" not in request.uri:
                assert response.status == 201
                assert response.header("content-md5") == request.header("content-md5")
            continue
        if not response.body:
            assert response.status in (202, 204)
            continue
        data = response.json()
        if response.status >= 400:
            error = _deserialize(models.ErrorResponse, data)
            assert error.error.code and error.error.message
            continue
        parent, last = request.path.rstrip("/").rsplit("/", 2)[-2:]
        if last == "listSecrets":
            secrets = _deserialize(models.DatastoreSecrets, data)
            assert isinstance(secrets, models.SasDatastoreSecrets) and secrets.sas_token
        elif parent == "datastores":
            store = Datastore._from_rest_object(_deserialize(models.Datastore, data))
            assert store.account_name and store.container_name
        elif last == "versions":
            for item in data["value"]:
                assert Model._from_rest_object(_deserialize(models.ModelVersion, item)).version
        elif parent == "versions":
            built = Model._from_rest_object(_deserialize(models.ModelVersion, data))
            assert built.version and built.path.startswith("azureml://") and built.tags
        elif parent == "models":
            container = _deserialize(models.ModelContainer, data)
            assert container.properties.next_version
        elif parent == "onlineEndpoints":
            assert OnlineEndpoint._from_rest_object(_deserialize(models.OnlineEndpoint, data))
        elif parent == "deployments":
            built = OnlineDeployment._from_rest_object(_deserialize(models.OnlineDeployment, data))
            assert built.instance_type
        elif last == "listKeys":
            assert data["primaryKey"] == "REDACTED"
        else:
            raise AssertionError(f"unexpected response in {path.name}: {request.path}")


def test_cassettes_hold_no_secret() -> None:
    for path in ARTIFACT_CASSETTES:
        text = path.read_text()
        assert "recording-placeholder-token" not in text
        for line in text.splitlines():
            if "sig=" in line:
                assert "sig=REDACTED" in line
