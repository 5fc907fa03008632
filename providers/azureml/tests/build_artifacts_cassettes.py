"""Write ``cassettes/artifacts/artifacts_*.yaml``: ``model = "./my-model"`` on Azure ML.

Run: ``python providers/azureml/tests/build_artifacts_cassettes.py`` (then
``pytest providers/azureml/tests/test_azureml_artifacts.py``).

No Azure account was used. The machinery is build_cassettes.py's (replies served in
place of the network, the SDK's requests captured, secrets scrubbed); the responses are
written by hand from:

* Azure ML's REST API as azure-ai-ml 1.35.2's generated ``arm_ml_service`` client models
  it: ``ModelVersion`` / ``ModelContainer`` (``models/{name}/versions[/{v}]``,
  ``models/{name}``: ``nextVersion``, ``latestVersion``), ``Datastore`` (an
  ``AzureBlob`` datastore with account-key credentials, as ``workspaceblobstore`` is)
  and ``DatastoreSecrets`` (``listSecrets`` with ``expirableSecret: true`` answers a
  ``Sas`` secret), and Azure/azure-rest-api-specs' examples for those operations;
  ARM's ``AuthorizationFailed`` error ("does not have authorization to perform action
  '...'") for a 403;
* the Azure Blob Storage REST API as azure-storage-blob 12.31 sends and parses it: Get
  Blob Properties (``HEAD``; 404 ``x-ms-error-code: BlobNotFound``, 403
  ``AuthorizationPermissionMismatch`` for an Azure AD identity without a data role),
  Put Blob (``x-ms-blob-type: BlockBlob``, 201 with ``Content-MD5`` echoed, ``ETag``,
  ``Last-Modified``, ``x-ms-request-server-encrypted``), Set Blob Metadata
  (``?comp=metadata``, ``x-ms-meta-*`` headers, 200).

Files of a directory are uploaded by azure-ai-ml in a thread pool, so their Put Blob
requests come in any order: the script below serves each blob's reply by its URL, not
by position (vcrpy's replay matches by request too, not by order).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).parent
OUT = HERE / "cassettes" / "artifacts"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[2] / "src"))

import build_cassettes as base  # noqa: E402
from build_cassettes import (  # noqa: E402
    CLOCK,
    REGION,
    WS,
    Reply,
    arm,
    arm_error,
    deployment,
    endpoint,
    endpoint_tags,
    ident,
    keys_reply,
    not_found,
    operation_url,
    provider,
    put_deployment_reply,
    put_endpoint_reply,
    spec,
    system_data,
)

#: the local model every scenario deploys (the tests write the same files)
MODEL_DIR = "my-model"
MODEL_FILES = {
    "config.json": '{"threshold": 0.42, "features": ["amount", "age_days"]}\n',
    "model.txt": "intercept -3.1\namount 0.0042\nage_days -0.37\n",
    "vocab/labels.txt": "legit\nfraud\n",
}
#: a model that is one file
SINGLE_FILE = '{"rules": [{"if": "amount > 900", "then": "review"}]}\n'
#: the same directory after an edit (a new version)
CHANGED_FILES = {**MODEL_FILES, "model.txt": "intercept -2.9\namount 0.0051\nage_days -0.33\n"}
NAME = "hostkit-local"
INSTANCE = "Standard_DS3_v2"
ENVIRONMENT = "azureml:sklearn-serving:2"
ACCOUNT = "hostkitws4d2f9c1a"
CONTAINER = "azureml-blobstore-3b1f7a52-9c4e-4d8b-a6f0-5e2d7c9b1a34"
BLOB_HOST = f"https://{ACCOUNT}.blob.core.windows.net"
MODEL_API = "2025-12-01"
SAS = (
    "sv=2021-08-06&st=2026-11-20T10%3A10%3A00Z&se=2026-11-20T11%3A15%3A00Z"
    "&sr=c&sp=racwdl&sig=REDACTED"
)
BLOB_REQUEST_HEADERS = (
    "x-ms-version",
    "x-ms-blob-type",
    "content-md5",
    "content-length",
    "x-ms-meta-upload_status",
    "x-ms-meta-name",
    "x-ms-meta-version",
)

HEADER = """\
Written by hand in the format vcrpy records (see build_artifacts_cassettes.py); no live
Azure account was used. ARM bodies: azure-ai-ml 1.35.2's ModelVersion, ModelContainer,
Datastore (AzureBlob) and DatastoreSecrets (Sas) models; blob exchanges: the Azure Blob
Storage REST API (Get Blob Properties, Put Blob, Set Blob Metadata) as azure-storage-blob
12.31 sends them. Requests: what hostkit sends through azure-ai-ml, captured offline.
"""


def write_model(root: Path, files: dict[str, str]) -> Path:
    folder = root / MODEL_DIR
    for name, text in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return folder


def sdk_upload_folder(folder: Path) -> str:
    """``LocalUpload/<hash>``: where azure-ai-ml uploads this directory."""
    from azure.ai.ml._utils._asset_utils import get_ignore_file, get_object_hash

    return f"LocalUpload/{get_object_hash(folder, get_ignore_file(folder))}"


class AnyOrder(base.Script):
    """build_cassettes' Script, but a reply is served to the first request it matches."""

    def __init__(self, replies: list[Reply]) -> None:
        super().__init__(replies)
        self.lock = threading.Lock()

    def next(self, method: str, url: str, headers: dict[str, str], body: str | None) -> Reply:
        with self.lock:
            parts = urlsplit(url)
            for index, reply in enumerate(self.replies):
                where = (
                    parts.path
                    if reply.path.startswith("/")
                    else f"{parts.scheme}://{parts.netloc}{parts.path}"
                )
                if (method, where) == (reply.method, reply.path):
                    self.replies.insert(0, self.replies.pop(index))
                    break
            reply = super().next(method, url, headers, body)
            lowered = {k.lower(): v for k, v in headers.items()}
            if reply.path.startswith(BLOB_HOST):
                reply.headers["x-ms-version"] = lowered.get("x-ms-version", "2026-02-06")
                reply.headers["x-ms-client-request-id"] = ident("blob-client-request")
                if method == "PUT" and "comp=metadata" not in url:
                    reply.headers["content-md5"] = lowered["content-md5"]
            return reply


_remember = base.WORLD.remember


def remember(exchange: Any) -> None:
    """build_cassettes' World keeps ARM PUT bodies; blob bodies are file contents."""
    if not exchange.uri.startswith(BLOB_HOST):
        _remember(exchange)


base.WORLD.remember = remember  # type: ignore[method-assign]


def record(name: str, comment: str, replies: list[Reply], action: Any) -> Any:
    script = AnyOrder(replies)
    with base.serving(script):
        result = action()
    base.write(name, HEADER + comment, script)
    return result


# -- ARM replies --------------------------------------------------------------------
def model_path(name: str, version: str | None = None) -> str:
    path = f"{WS}/models/{name}"
    return f"{path}/versions/{version}" if version else path


def version_body(name: str, version: str, sent: dict[str, Any]) -> dict[str, Any]:
    properties = sent.get("properties", {})
    return {
        "id": model_path(name, version),
        "name": version,
        "type": "Microsoft.MachineLearningServices/workspaces/models/versions",
        "properties": {
            "description": properties.get("description"),
            "tags": properties.get("tags", {}),
            "properties": properties.get("properties", {}),
            "isArchived": False,
            "isAnonymous": False,
            "flavors": properties.get("flavors", {}),
            "modelType": properties.get("modelType"),
            "modelUri": properties.get("modelUri"),
            "jobName": None,
            "stage": "Development",
            "provisioningState": "Succeeded",
        },
        "systemData": system_data(CLOCK.now),
    }


def versions_list(name: str, found: list[dict[str, Any]]) -> Reply:
    return arm("GET", f"{model_path(name)}/versions", 200, {"value": found})


def container_reply(name: str, latest: str) -> Reply:
    body = {
        "id": model_path(name),
        "name": name,
        "type": "Microsoft.MachineLearningServices/workspaces/models",
        "properties": {
            "description": None,
            "tags": {},
            "properties": {},
            "isArchived": False,
            "latestVersion": latest,
            "nextVersion": str(int(latest) + 1),
            "provisioningState": "Succeeded",
        },
        "systemData": system_data(CLOCK.now - 86400),
    }
    return arm("GET", model_path(name), 200, body)


def container_missing(name: str) -> Reply:
    return arm_error(
        "GET",
        model_path(name),
        404,
        "UserError",
        f"Could not find asset with ID: azureml://locations/{REGION}/workspaces/"
        f"{ident('workspace-guid')}/models/{name}",
    )


def put_version_reply(name: str, version: str) -> Reply:
    def body(script: base.Script) -> dict[str, Any]:
        return version_body(name, version, json.loads(script.pending_body or "{}"))

    return arm("PUT", model_path(name, version), 201, body)


def datastore_reply() -> Reply:
    body = {
        "id": f"{WS}/datastores/workspaceblobstore",
        "name": "workspaceblobstore",
        "type": "Microsoft.MachineLearningServices/workspaces/datastores",
        "properties": {
            "description": None,
            "tags": {},
            "properties": {},
            "isDefault": True,
            "credentials": {"credentialsType": "AccountKey"},
            "datastoreType": "AzureBlob",
            "accountName": ACCOUNT,
            "containerName": CONTAINER,
            "endpoint": "core.windows.net",
            "protocol": "https",
            "serviceDataAccessAuthIdentity": "WorkspaceSystemAssignedIdentity",
        },
        "systemData": system_data(CLOCK.now - 90 * 86400),
    }
    return arm("GET", f"{WS}/datastores/workspaceblobstore", 200, body)


def secrets_reply() -> Reply:
    body = {"secretsType": "Sas", "sasToken": SAS}
    return arm("POST", f"{WS}/datastores/workspaceblobstore/listSecrets", 200, body)


# -- blob replies -------------------------------------------------------------------
def blob_headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    CLOCK.tick(1)
    headers = {
        "content-length": "0",
        "server": "Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0",
        "x-ms-request-id": ident("blob-request"),
        "date": CLOCK.http(),
    }
    headers.update(extra or {})
    return headers


def blob_url(folder: str, name: str) -> str:
    """A blob of the upload ``folder``; ``name`` is below it (``my-model/config.json``)."""
    return f"{BLOB_HOST}/{CONTAINER}/{folder}/{name}"


def blob_missing(folder: str, name: str) -> Reply:
    headers = blob_headers({"x-ms-error-code": "BlobNotFound"})
    return Reply("HEAD", blob_url(folder, name), 404, None, headers)


def blob_completed(folder: str, name: str, size: int, asset: str, version: str) -> Reply:
    """Get Blob Properties of a finished upload's first blob (azure-ai-ml's metadata)."""
    headers = blob_headers(
        {
            "content-length": str(size),
            "content-type": "application/octet-stream",
            "etag": '"0x8DD0C5E7A1F2B3C"',
            "last-modified": CLOCK.http(),
            "x-ms-creation-time": CLOCK.http(),
            "x-ms-blob-type": "BlockBlob",
            "x-ms-lease-status": "unlocked",
            "x-ms-lease-state": "available",
            "x-ms-server-encrypted": "true",
            "x-ms-access-tier": "Hot",
            "x-ms-access-tier-inferred": "true",
            "accept-ranges": "bytes",
            "x-ms-meta-upload_status": "completed",
            "x-ms-meta-name": asset,
            "x-ms-meta-version": version,
        }
    )
    return Reply("HEAD", blob_url(folder, name), 200, None, headers)


def put_blob(folder: str, name: str) -> Reply:
    etag = f'"0x8DD{hashlib.sha1(name.encode()).hexdigest()[:12].upper()}"'
    headers = blob_headers(
        {
            "etag": etag,
            "last-modified": CLOCK.http(),
            "x-ms-request-server-encrypted": "true",
        }
    )
    return Reply("PUT", blob_url(folder, name), 201, None, headers)


def set_metadata(folder: str, name: str) -> Reply:
    headers = blob_headers(
        {
            "etag": '"0x8DD0C5E7A1F2B3C"',
            "last-modified": CLOCK.http(),
            "x-ms-request-server-encrypted": "true",
        }
    )
    return Reply("PUT", blob_url(folder, name), 200, None, headers)


def upload_replies(
    folder: str, name: str, version: str, latest: list[dict[str, Any]]
) -> list[Reply]:
    """Upload (hostkit, as azure-ai-ml would) and register (``models.create_or_update``)."""
    files = [f"{MODEL_DIR}/{name}" for name in sorted(MODEL_FILES)]
    return [
        datastore_reply(),
        secrets_reply(),
        blob_missing(folder, files[0]),  # the indicator blob: not uploaded before
        *[put_blob(folder, file) for file in files],
        set_metadata(folder, files[0]),
        versions_list(name, latest),  # azure-ai-ml's own look-up of the latest version
        put_version_reply(name, version),
    ]


def local_tags(target: Any, digest: str) -> dict[str, str]:
    """The endpoint's tags for a local model: hostkit's, plus the tree hash."""
    return {**endpoint_tags(target, "raw"), "hostkit-tree-sha256": digest}


def deploy_tail(target: Any, digest: str) -> list[Reply]:
    """Endpoint, deployment from the model's ARM id, traffic, key: a raw deploy."""
    name = target.name
    t0 = CLOCK.tick()
    ep_op, dep_op = operation_url("oe", name), operation_url("od", name)
    tags = local_tags(target, digest)
    return [
        put_endpoint_reply(name, 201, ep_op, created=t0),
        endpoint(name, "Succeeded", tags=tags, operation=ep_op, created=t0),
        put_deployment_reply(name, dep_op, created=CLOCK.now),
        endpoint(name, "Succeeded", tags=tags, operation=ep_op, created=t0),
        deployment(name, "Succeeded", operation=dep_op, created=t0),
        put_endpoint_reply(name, 200, ep_op, created=t0),
        endpoint(
            name, "Succeeded", tags=tags, operation=ep_op, traffic={"hostkit": 100}, created=t0
        ),
        deployment(name, "Succeeded", operation=dep_op, created=t0),
        keys_reply(name),
    ]


def tagged_version(name: str, version: str, folder: str, digest: str) -> dict[str, Any]:
    uri = f"azureml://subscriptions/{base.SUBSCRIPTION}/resourceGroups/{base.GROUP}"
    uri += f"/workspaces/{base.WORKSPACE}/datastores/workspaceblobstore/paths/{folder}/{MODEL_DIR}"
    sent = {
        "properties": {
            "description": f"Registered by hostkit from the local model {MODEL_DIR}",
            "tags": {"hostkit-tree-sha256": digest},
            "modelType": "custom_model",
            "modelUri": uri,
        }
    }
    return version_body(name, version, sent)


def main() -> None:
    from hostkit_providers.azureml.artifacts import asset_name
    from hostkit_providers.azureml.resources import TAG_NAME  # noqa: F401

    from hostkit.adapters import tree_sha256
    from hostkit.errors import AuthenticationError, ConfigError

    base.KEEP_REQUEST_HEADERS = base.KEEP_REQUEST_HEADERS + BLOB_REQUEST_HEADERS
    base.CASSETTES = OUT  # cassettes/artifacts/ (test_azureml.py parses cassettes/*.yaml)
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="hostkit-artifacts-"))
    os.chdir(work)
    folder_path = write_model(work, MODEL_FILES)
    model = asset_name(folder_path)
    digest = tree_sha256(folder_path)
    folder = sdk_upload_folder(folder_path)
    target = spec(
        name=NAME, model=f"./{MODEL_DIR}", instance=INSTANCE, options={"environment": ENVIRONMENT}
    )

    # first deploy: nothing registered yet
    record(
        "artifacts_deploy",
        "deploy of model = ./my-model (3 files): GET the endpoint (404), GET the model's\n"
        "versions tagged with hostkit's tree hash (none), GET the model (404: new, version 1);\n"
        "the upload: GET the datastore workspaceblobstore, POST listSecrets (a SAS), HEAD the\n"
        "first blob of LocalUpload/<hash>/my-model (404), Put Blob x3, Set Blob Metadata\n"
        "(upload_status=completed); models.create_or_update: GET the latest version (none),\n"
        "PUT models/my-model/versions/1; the endpoint and deployment from azureml:my-model:1.",
        [
            not_found(NAME),
            versions_list(model, []),
            container_missing(model),
            *upload_replies(folder, model, "1", []),
            *deploy_tail(target, digest),
        ],
        lambda: provider().deploy(target),
    )

    # the same directory again: found by its tag, nothing uploaded or registered
    registered = tagged_version(model, "1", folder, digest)
    record(
        "artifacts_deploy_again",
        "deploy of the same ./my-model again (after a teardown): GET the endpoint (404), GET\n"
        "the model's versions tagged with the same tree hash: version 1. No datastore, blob\n"
        "or model write: the endpoint and the deployment from azureml:my-model:1.",
        [not_found(NAME), versions_list(model, [registered]), *deploy_tail(target, digest)],
        lambda: provider().deploy(target),
    )

    # the endpoint as the first deploy tagged it (the spec's fingerprint covers the content)
    first_tags = local_tags(target, digest)

    # a changed directory: a new version, uploaded to a new folder
    import shutil

    shutil.rmtree(folder_path)
    changed_path = write_model(work, CHANGED_FILES)
    changed_digest = tree_sha256(changed_path)
    changed_folder = sdk_upload_folder(changed_path)
    from hostkit_providers.azureml.artifacts import register

    record(
        "artifacts_changed",
        "register ./my-model after model.txt changed: GET versions tagged with the new tree\n"
        "hash (none), GET the model (latest 1, next 2); datastore, listSecrets, HEAD (404\n"
        "under the new LocalUpload/<hash>), Put Blob x3, Set Blob Metadata; GET the latest\n"
        "version (1), PUT models/my-model/versions/2 (version 1 is untouched).",
        [
            versions_list(model, []),
            container_reply(model, "1"),
            *upload_replies(changed_folder, model, "2", [registered]),
        ],
        lambda: register(provider(), f"./{MODEL_DIR}"),
    )
    assert changed_digest != digest

    # the changed directory deployed under the name that still serves version 1
    t0 = CLOCK.tick()
    ep_op, dep_op = operation_url("oe", NAME), operation_url("od", NAME)
    serving = {"tags": first_tags, "operation": ep_op, "created": t0}

    def refused_update() -> None:
        try:
            provider().deploy(target)
        except ConfigError as error:
            assert "different spec" in str(error), error
            return
        raise AssertionError("expected ConfigError")

    record(
        "artifacts_changed_existing",
        "deploy of the edited ./my-model under the name that serves version 1: GET the\n"
        "endpoint (its hostkit-tree-sha256 tag is the old hash) and the deployment; the\n"
        "content differs, so hostkit refuses (update is not supported) and sends nothing more.",
        [
            endpoint(NAME, "Succeeded", traffic={"hostkit": 100}, **serving),
            deployment(NAME, "Succeeded", operation=dep_op, created=t0),
        ],
        refused_update,
    )

    # an earlier run uploaded the files but did not register: the SDK's check finds them
    shutil.rmtree(changed_path)
    write_model(work, MODEL_FILES)
    files = [f"{MODEL_DIR}/{name}" for name in sorted(MODEL_FILES)]
    legacy = folder.replace("LocalUpload", "az-ml-artifacts")
    first_size = len(MODEL_FILES[sorted(MODEL_FILES)[0]].encode())
    record(
        "artifacts_uploaded_before",
        "register ./my-model when an earlier run uploaded it but stopped before registering:\n"
        "GET versions tagged with the hash (none), GET the model (404), datastore, listSecrets,\n"
        "HEAD the first blob (200, metadata upload_status=completed), HEAD its legacy twin\n"
        "under az-ml-artifacts/ (404); no Put Blob; GET the latest version, PUT versions/1.",
        [
            versions_list(model, []),
            container_missing(model),
            datastore_reply(),
            secrets_reply(),
            blob_completed(folder, files[0], first_size, model, "1"),
            blob_missing(legacy, files[0]),
            versions_list(model, []),
            put_version_reply(model, "1"),
        ],
        lambda: register(provider(), f"./{MODEL_DIR}"),
    )

    # a single file
    single = work / "rules.json"
    single.write_text(SINGLE_FILE, encoding="utf-8")
    file_folder = sdk_upload_folder(single)
    record(
        "artifacts_file",
        "register model = ./rules.json (one file): GET versions tagged with its hash (none),\n"
        "GET the model rules (404), datastore, listSecrets, HEAD LocalUpload/<hash>/rules.json\n"
        "(404), Put Blob, Set Blob Metadata, GET the latest version, PUT rules/versions/1.",
        [
            versions_list("rules", []),
            container_missing("rules"),
            datastore_reply(),
            secrets_reply(),
            blob_missing(file_folder, "rules.json"),
            put_blob(file_folder, "rules.json"),
            set_metadata(file_folder, "rules.json"),
            versions_list("rules", []),
            put_version_reply("rules", "1"),
        ],
        lambda: register(provider(), "./rules.json"),
    )

    # 403: no listSecrets permission and no blob data role
    listsecrets = "Microsoft.MachineLearningServices/workspaces/datastores/listsecrets/action"
    principal = "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d"
    denied = arm_error(
        "POST",
        f"{WS}/datastores/workspaceblobstore/listSecrets",
        403,
        "AuthorizationFailed",
        f"The client 'dev@contoso.com' with object id '{principal}' does not have"
        f" authorization to perform action '{listsecrets}' over scope"
        f" '{WS}/datastores/workspaceblobstore' or the scope is invalid. If access was"
        " recently granted, please refresh your credentials.",
    )
    files = sorted(MODEL_FILES)
    refused = Reply(
        "HEAD",
        blob_url(folder, f"{MODEL_DIR}/{files[0]}"),
        403,
        None,
        blob_headers({"x-ms-error-code": "AuthorizationPermissionMismatch"}),
    )
    autoscale = (
        f"/subscriptions/{base.SUBSCRIPTION}/resourceGroups/{base.GROUP}/providers"
        f"/microsoft.insights/autoscalesettings/hostkit-{NAME}"
    )

    def forbidden() -> None:
        try:
            provider().deploy(target)
        except AuthenticationError:
            return
        raise AssertionError("expected AuthenticationError")

    record(
        "artifacts_forbidden",
        "deploy of ./my-model by an identity without datastore secrets or a blob data role:\n"
        "GET the endpoint (404), versions (none), model (404), GET the datastore, POST\n"
        "listSecrets (403 AuthorizationFailed; azure-ai-ml falls back to the Azure AD token),\n"
        "HEAD the first blob (403 AuthorizationPermissionMismatch); the rollback: GET the\n"
        "endpoint (404), DELETE the autoscale setting (204).",
        [
            not_found(NAME),
            versions_list(model, []),
            container_missing(model),
            datastore_reply(),
            denied,
            refused,
            not_found(NAME),
            arm("DELETE", autoscale, 204),
        ],
        forbidden,
    )
    print("wrote the artifacts_* cassettes")


if __name__ == "__main__":
    main()
