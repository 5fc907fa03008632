"""``model = "./dir"`` on Azure ML: register a local model as a model asset, then deploy it.

A local directory (or a single file) becomes a version of an Azure ML *model asset*
whose files live in the workspace's default datastore (``workspaceblobstore``), under the
folder azure-ai-ml itself uses for local uploads, ``LocalUpload/<azure-ai-ml's content
hash>/<directory name>/``. The version is registered through azure-ai-ml's
``MLClient.models.create_or_update`` and the deployment names it as
``azureml:NAME:VERSION``, exactly as if the user had registered it by hand.

Content addressing, at two levels:

* hostkit's tree hash (:func:`hostkit.adapters.tree_sha256`, over file names and
  contents) is the tag ``hostkit-tree-sha256`` of the model version (and of the endpoint).
  Before anything else hostkit lists the model's versions carrying that tag
  (``GET models/NAME/versions?tags=hostkit-tree-sha256=<hash>``): a match is deployed as
  it is, with no upload and no registration. A changed directory has another hash, so it
  gets the model's next version (``GET models/NAME`` → ``nextVersion``, ``1`` for a new
  model); Azure ML versions are immutable (a PUT of an existing version with another
  path is refused), so an artifact a running deployment uses is never overwritten.
* The upload folder is named by azure-ai-ml's own content hash (``get_object_hash``,
  which honours ``.amlignore`` / ``.gitignore``), and before uploading hostkit runs
  azure-ai-ml's ``BlobStorageClient.check_blob_exists``: the folder's first blob carries
  ``upload_status=completed`` metadata once an upload finished, so content already
  uploaded (by hostkit, the ``az ml`` CLI or the SDK, say under another model name) is
  registered without being sent again; a half-finished upload is sent again.

Why hostkit sends the blobs itself instead of ``Model(path="./dir")``: azure-ai-ml 1.35's
directory upload (``upload_directory``) runs the Put Blob requests in a thread pool and,
with its progress bar off, never reads their results; ``BlobStorageClient.upload`` then
waits for a count of finished files that a failed file never reaches, so one refused or
broken upload hangs the call for ever (with the bar on, it writes to the terminal).
hostkit keeps the SDK's datastore look-up (``get_datastore_info``: ``GET
datastores/workspaceblobstore``, then a short-lived SAS from ``POST .../listSecrets``, or
your Azure AD token when that is refused), folder name and completion check, and sends
one Put Blob per file (Put Block + Put Block List above 64 MiB) with byte progress and
any error raised at once, then the completion metadata (Set Blob Metadata).

The asset's name is the directory (or file) name, made into a name Azure accepts
(letters, digits, ``-``, ``_``, ``.``; a letter or digit first; at most 255 characters).

Permissions: ``Microsoft.MachineLearningServices/workspaces/datastores/read`` and
``.../models/read`` and ``.../models/write`` on the workspace; for the upload either
``Microsoft.MachineLearningServices/workspaces/datastores/listsecrets/action`` (a SAS
token) or the *Storage Blob Data Contributor* role on the workspace's storage account.
The built-in AzureML Data Scientist role grants the workspace actions
(``workspaces/*/read``, ``*/write``, ``*/action``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hostkit.adapters import (
    UploadProgress,
    content_digest,
    is_local_model,
    local_model_path,
    report_progress,
)
from hostkit.errors import AuthenticationError, ConfigError, HostkitError, NotFound

if TYPE_CHECKING:
    from hostkit import DeploymentSpec

    from .provider import AzureMLProvider

__all__ = [
    "TAG_TREE",
    "asset_name",
    "check_local",
    "is_local",
    "is_mlflow",
    "local_path",
    "register",
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
    " on the workspace (the upload then uses a short-lived SAS token; the AzureML Data"
    " Scientist role includes it)"
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


def register(provider: AzureMLProvider, model: str) -> tuple[str, str]:
    """``(azureml:NAME:VERSION, tree hash)`` of the local ``model``: found, else registered."""
    path = local_path(model)
    digest = content_digest(path)  # computed once per process (the fingerprint needs it too)
    name = asset_name(path)
    existing = _find(provider, name, digest)
    if existing is not None:
        report_progress(f"{model}: already registered as azureml:{name}:{existing} (same content)")
        return f"azureml:{name}:{existing}", digest
    version = _next_version(provider, name)
    uri = upload(provider, model, path, name, version)
    created = _create(provider, path, uri, name, version, digest)
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
    """Upload ``path`` where azure-ai-ml would (unless it is there); its datastore URI.

    A refused blob request (no SAS and no blob data role) becomes an AuthenticationError
    that names the role and the permission; see the module docstring for why hostkit
    sends the blobs rather than azure-ai-ml's ``Model(path=<local>)``.
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
            f"model: {model!r}: the workspace's {DATASTORE} datastore is {kind}, not Azure"
            " Blob storage; hostkit uploads local models to a blob datastore only (register"
            " the model yourself and deploy azureml:NAME:VERSION)",
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
