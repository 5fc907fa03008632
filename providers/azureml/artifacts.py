"""``model = "./dir"`` on Azure ML: register a local model as a model asset, then deploy it.

A local directory (or a single file) becomes an Azure ML *model asset* registered through
azure-ai-ml's ``MLClient.models.create_or_update(Model(path=...))``. The SDK uploads the
files to the workspace's default datastore (``workspaceblobstore``) with
azure-storage-blob, under ``LocalUpload/<the SDK's content hash>/<directory name>/``,
and registers the version pointing there; the deployment then names the model as
``azureml:NAME:VERSION``, exactly as if the user had registered it by hand.

Content addressing, at two levels:

* hostkit's own tree hash (:func:`hostkit.adapters.tree_sha256`, over file names and
  contents) is the tag ``hostkit-tree-sha256`` of the model version. Before registering,
  hostkit lists the versions of the model carrying that tag
  (``GET models/NAME/versions?tags=hostkit-tree-sha256=<hash>``): a match is deployed as
  it is, with no upload and no registration. A changed directory has another hash, so it
  gets the model's next version (``GET models/NAME`` → ``nextVersion``); versions are
  immutable in Azure ML (a PUT of an existing version with another path is refused), so
  an artifact a running deployment uses is never overwritten.
* azure-ai-ml itself names the upload folder by a hash of the content and, before
  uploading, reads the metadata of the folder's first blob (``upload_status:
  completed`` once a previous upload finished; see ``BlobStorageClient.check_blob_exists``
  in azure-ai-ml's ``_artifacts/_blob_storage_helper.py``): content already uploaded,
  say under another model name, is registered without sending it again. hostkit relies
  on that rather than re-implementing it.

The asset's name is the directory (or file) name, made into a name Azure accepts
(letters, digits, ``-``, ``_``, ``.``; a letter or digit first; at most 255 characters).

Permissions: reading the datastore needs
``Microsoft.MachineLearningServices/workspaces/datastores/read``; the upload needs either
``Microsoft.MachineLearningServices/workspaces/datastores/listsecrets/action`` (azure-ai-ml
asks for a short-lived SAS token) or, without it, the *Storage Blob Data Contributor* role
on the workspace's storage account (the SDK then signs blob requests with your Azure AD
token); registering needs ``Microsoft.MachineLearningServices/workspaces/models/write``.
The AzureML Data Scientist role holds all three workspace actions.

Progress: azure-ai-ml uploads a directory's files in a thread pool without a progress
callback (``upload_directory`` passes none when ``show_progress`` is off, and its own
progress bar writes to the terminal), so hostkit reports the total size before the upload
and the size, time and rate after it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hostkit.adapters import (
    UploadProgress,
    is_local_model,
    local_model_path,
    report_progress,
    tree_sha256,
)
from hostkit.errors import AuthenticationError, ConfigError, HostkitError, NotFound

if TYPE_CHECKING:
    from hostkit import Deployment, DeploymentSpec

    from .provider import AzureMLProvider

__all__ = [
    "TAG_TREE",
    "asset_name",
    "check_local",
    "is_local",
    "is_mlflow",
    "local_path",
    "register",
    "same_content",
]

#: the model-version tag holding hostkit's tree hash of the local directory
TAG_TREE = "hostkit-tree-sha256"
#: the workspace's default blob datastore and azure-ai-ml's folder for local uploads
DATASTORE = "workspaceblobstore"
ARTIFACT_FOLDER = "LocalUpload"
ACCEPTED = (
    "a directory of model files, a model file, or a registered model"
    " (azureml:NAME:VERSION or an azureml://registries/... id)"
)
#: what a blob request refused for lack of a data role answers (x-ms-error-code)
_BLOB_PERMISSION_CODES = ("AuthorizationPermissionMismatch", "AuthorizationFailure")
UPLOAD_PERMISSIONS = (
    "the Storage Blob Data Contributor role on the workspace's storage account, or the"
    " permission Microsoft.MachineLearningServices/workspaces/datastores/listsecrets/action"
    " on the workspace (azure-ai-ml then uploads with a short-lived SAS token; the AzureML"
    " Data Scientist role includes it)"
)


def is_local(model: str) -> bool:
    """A path on this machine: ``./dir``, ``../x``, ``/abs``, ``~/x`` or ``file://``."""
    return is_local_model(model)


def local_path(model: str) -> Path:
    """The checked path of a local model (a ConfigError names what is wrong)."""
    return local_model_path(model, accepted=ACCEPTED)


def is_mlflow(path: Path) -> bool:
    """An MLflow model directory (an ``MLmodel`` file at its top): it brings its environment."""
    return path.is_dir() and (path / "MLmodel").is_file()


def check_local(spec: DeploymentSpec) -> None:
    """Validate a spec whose model is a local path (before anything is created)."""
    path = local_path(spec.model)
    if not is_mlflow(path) and not spec.image and "environment" not in spec.options:
        raise ConfigError(
            f"model: {spec.model!r} is a local model without an MLflow MLmodel file, so Azure"
            " ML needs to know what serves it: set options.environment to an Azure ML"
            " environment (azureml:NAME:VERSION) with a scoring script's dependencies, or"
            " image to a serving container (it finds the model under AZUREML_MODEL_DIR)",
            provider="azureml",
        )


def asset_name(path: Path) -> str:
    """The model asset name for a local path: its (file or directory) name, made valid."""
    base = path.resolve().name
    if path.is_file():
        base = base.split(".", 1)[0] or base
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", base).strip("-._")
    if not cleaned or not cleaned[0].isalnum():
        cleaned = f"model-{cleaned}".rstrip("-._")
    return cleaned[:255]


def same_content(existing: Deployment, model: str) -> bool:
    """Whether ``existing`` serves the local ``model`` as it is now (its tree hash tag)."""
    recorded = existing.raw.get("model_sha256")
    return recorded is None or recorded == tree_sha256(local_path(model))


def register(provider: AzureMLProvider, model: str) -> tuple[str, str]:
    """``(azureml:NAME:VERSION, tree hash)`` of the local ``model``: found, else registered."""
    path = local_path(model)
    digest = tree_sha256(path)
    name = asset_name(path)
    existing = _find(provider, name, digest)
    if existing is not None:
        report_progress(f"{model}: already registered as azureml:{name}:{existing} (same content)")
        return f"azureml:{name}:{existing}", digest
    version = _next_version(provider, name)
    uri = upload(provider, model, path, name, version)
    created = _create(provider, model, path, uri, name, version, digest)
    report_progress(f"{model}: registered as azureml:{created.name}:{created.version}")
    return f"azureml:{created.name}:{created.version}", digest


def _find(provider: AzureMLProvider, name: str, digest: str) -> str | None:
    """The version of model ``name`` tagged with ``digest`` (None: not registered yet)."""
    versions = provider.ml.models._model_versions_operation
    scope = provider._scope()

    def first() -> str | None:
        for found in versions.list(name=name, tags=f"{TAG_TREE}={digest}", **scope):
            tags = getattr(found.properties, "tags", None) or {}
            if tags.get(TAG_TREE) == digest:
                return str(found.name)
        return None

    return provider.call(first)


def _next_version(provider: AzureMLProvider, name: str) -> str:
    """The next version Azure ML would give model ``name`` (``"1"`` for a new model)."""
    containers = provider.ml.models._model_container_operation
    scope = provider._scope()
    try:
        container = provider.call(lambda: containers.get(name=name, **scope))
    except NotFound:
        return "1"
    following = getattr(container.properties, "next_version", None)
    return str(following or 1)


def _create(
    provider: AzureMLProvider,
    model: str,
    path: Path,
    uri: str,
    name: str,
    version: str,
    digest: str,
) -> Any:
    """Register version ``version`` of model ``name`` from the uploaded ``uri``."""
    entities = provider.import_sdk("azure.ai.ml.entities")
    asset = entities.Model(
        name=name,
        version=version,
        path=uri,
        type="mlflow_model" if is_mlflow(path) else "custom_model",
        description=f"Registered by hostkit from the local model {path.name}",
        tags={TAG_TREE: digest},
    )
    return provider.call(lambda: provider.ml.models.create_or_update(asset), safe=False)


# -- upload ---------------------------------------------------------------------------
def upload(provider: AzureMLProvider, model: str, path: Path, name: str, version: str) -> str:
    """Upload ``path`` where azure-ai-ml would; the datastore URI of the uploaded folder.

    azure-ai-ml's own ``Model(path=<local>)`` upload hangs for ever when one of a
    directory's blob uploads fails with its progress bar off (``upload_directory``
    drops the thread pool's exceptions and ``BlobStorageClient.upload`` then waits for
    a file count that is never reached), and with the bar on it writes to the terminal.
    hostkit therefore sends the same requests itself: the SDK's datastore look-up
    (a SAS from listSecrets, else your Azure AD token), the SDK's folder name
    (``LocalUpload/<its content hash>/<name>``) and its completed-upload check, then
    one Put Blob per file with byte progress, then the completion metadata.
    """
    try:
        return _upload(provider, model, path, name, version)
    except Exception as error:
        refused = _blob_refusal(error)
        if refused is None:
            if isinstance(error, HostkitError):
                raise
            raise provider.map_error(error) from error
        raise AuthenticationError(
            f"model: {model!r}: the workspace's datastore refused the upload ({refused});"
            f" uploading a local model needs {UPLOAD_PERMISSIONS}",
            provider=provider.name,
            status_code=403,
        ) from error


def _upload(provider: AzureMLProvider, model: str, path: Path, name: str, version: str) -> str:
    utilities = provider.import_sdk("azure.ai.ml._artifacts._artifact_utilities")
    assets = provider.import_sdk("azure.ai.ml._utils._asset_utils")
    storage = provider.import_sdk("azure.ai.ml._utils._storage_utils")
    info = provider.call(lambda: utilities.get_datastore_info(provider.ml.datastores, DATASTORE))
    kind = info.get("storage_type")
    kind = str(getattr(kind, "value", kind))
    if kind != "AzureBlob":
        raise ConfigError(
            f"model: {model!r}: the workspace's {DATASTORE} datastore is {kind}, not"
            " Azure Blob storage; hostkit uploads local"
            " models to a blob datastore only (register the model yourself and deploy"
            " azureml:NAME:VERSION)",
            provider=provider.name,
        )
    client = storage.get_storage_client(**info)  # builds clients; sends nothing
    ignore = assets.get_ignore_file(path)
    folder = f"{ARTIFACT_FOLDER}/{assets.get_object_hash(path, ignore)}"
    uri = f"azureml://datastores/{DATASTORE}/paths/{folder}/{path.name}"
    files = _destinations(assets, path, folder, ignore)
    client.indicator_file = files[0][1]
    try:
        client.check_blob_exists()  # raises AssetNotChangedError when already uploaded
    except assets.AssetNotChangedError:
        report_progress(f"{model}: already in the datastore as {folder}/{path.name}")
        return uri
    total = sum(Path(source).stat().st_size for source, _ in files)
    report_progress(
        f"{model}: uploading {total:,} bytes ({len(files)} file(s)) to"
        f" {info.get('account_url')}/{info.get('container_name')}/{folder}/{path.name}"
    )
    progress = UploadProgress(model, total)
    for source, destination in files:
        _put(provider, client.container_client, Path(source), destination, progress)
    provider.call(lambda: client._set_confirmation_metadata(name, version))
    progress.done()
    return uri


def _destinations(assets: Any, path: Path, folder: str, ignore: Any) -> list[tuple[str, str]]:
    """``(local file, blob name)`` pairs, sorted, the way azure-ai-ml names them."""
    if path.is_file():
        return [(str(path), f"{folder}/{path.name}")]
    pairs = assets.get_upload_files_from_folder(
        path.resolve(), prefix=f"{folder}/{path.name}/", ignore_file=ignore
    )
    if not pairs:
        raise ConfigError(
            f"model: {str(path)!r} has no files left after its .amlignore/.gitignore rules"
        )
    return sorted((str(source), str(destination)) for source, destination in pairs)


def _put(
    provider: AzureMLProvider,
    container: Any,
    source: Path,
    destination: str,
    progress: UploadProgress,
) -> None:
    """One file to one blob (Put Blob; Put Block + Put Block List when large)."""
    sent = [0]

    def hook(current: int, total: int | None) -> None:
        progress(current - sent[0])
        sent[0] = current

    def send() -> None:
        size = source.stat().st_size
        with source.open("rb") as data:
            container.upload_blob(
                name=destination,
                data=data,
                length=size,
                overwrite=True,  # the name is content-addressed: same name, same bytes
                validate_content=size > 0,
                max_concurrency=4,
                progress_hook=hook,
            )

    provider.call(send)


def _blob_refusal(error: BaseException) -> str | None:
    """The storage error code when ``error`` (or its cause) is a refused blob request."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        code = getattr(current, "error_code", None)
        status = getattr(current, "status_code", None)
        url = str(getattr(getattr(current, "response", None), "url", ""))
        if code in _BLOB_PERMISSION_CODES or (status == 403 and ".blob." in url):
            return str(code or "403 Forbidden")
        current = current.__cause__ or current.__context__
    return None
