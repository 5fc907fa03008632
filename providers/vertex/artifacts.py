"""``model = "./dir"`` on Vertex AI: the local model's files as a folder in Cloud Storage.

Vertex AI takes a Model's artifacts as a Cloud Storage *folder* (``artifactUri``: "the path
to the directory containing the Model artifact and any of its supporting files", REST
reference of ``projects.locations.models``), copied as it is; nothing is archived. So a
local directory is uploaded file by file, names kept relative (``./dir/tokenizer/x.json``
becomes ``<folder>/tokenizer/x.json``); a single file becomes the folder's only object.

**Where.** ``gs://<bucket>/hostkit/models/<tree_sha256[:16]>/``, in the staging bucket of
:mod:`hostkit_providers.vertex.gcs` (the ``staging_bucket`` setting, else
``{project}-vertex-staging-{location}``, created in the provider's location if missing).
The hash covers every file's name and content (:func:`hostkit.adapters.tree_sha256`), so
the same content always has the same folder, and a changed directory goes to a new one,
never over the folder a running deployment was created from.

**Complete or not at all.** A small manifest object, ``<folder without its slash>.json``
(the tree hash, file names and sizes), is written *after* the last file; a deploy that
finds it uploads nothing, while an interrupted upload (no manifest yet) is sent again in
full on the next deploy (the same names, so it overwrites only its own partial objects).
The manifest sits beside the folder, not in it, so the folder holds exactly the model's
files (the serving container copies the whole folder).

**What serves it.** With ``image`` the folder is the Model's ``artifactUri`` for that
container (Vertex AI copies it and sets ``AIP_STORAGE_URI``). Without ``image`` the
directory is taken as a Hugging Face-format LLM and served by the Model Garden vLLM
container with ``--model=gs://<folder>`` (:mod:`containers`): that image loads a model
given as a ``gs://`` path itself (Google's Model Garden deployments of models kept in
Cloud Storage pass ``--model=gs://...``, e.g. fine-tuned outputs and Model Garden's own
``gs://vertex-model-garden-public-*`` copies), and the folder is the Model's
``artifactUri`` as well, so the Model Registry records where its weights are.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from hostkit.adapters import (
    UploadProgress,
    content_digest,
    is_local_model,
    local_model_files,
    local_model_path,
    report_progress,
)

from .gcs import gs_uri, storage_for

if TYPE_CHECKING:
    from .provider import VertexProvider

__all__ = [
    "MODELS_PREFIX",
    "is_local",
    "local_path",
    "manifest_text",
    "manifest_uri",
    "model_argument",
    "model_folder",
    "served_name",
    "upload",
]

#: where local models go in the staging bucket
MODELS_PREFIX = "hostkit/models"
_ACCEPTED = (
    "a directory of model files, one model file, a gs:// folder, or a Hugging Face model id"
    " (org/name)"
)


def is_local(model: str) -> bool:
    """A path on this machine: ``./dir``, ``../x``, ``/abs``, ``~/x`` or ``file://``."""
    return is_local_model(model)


def local_path(model: str) -> Path:
    """The checked path of a local model (a ConfigError names what is wrong)."""
    return local_model_path(model, accepted=_ACCEPTED)


def served_name(model: str) -> str:
    """The name vLLM serves a local model under: its file or directory name.

    ``./artifacts/my-model`` is served as ``my-model`` (``--served-model-name``), so that a
    later process can name it from the spec's ``model`` alone, wherever it runs.
    """
    name = Path(model.removeprefix("file://").rstrip("/")).name
    return name if name not in ("", ".", "..", "~") else "model"


def model_folder(bucket: str, digest: str) -> str:
    """``gs://bucket/hostkit/models/<digest[:16]>/`` (with its trailing slash)."""
    return gs_uri(bucket, f"{MODELS_PREFIX}/{digest[:16]}/")


def manifest_uri(folder: str) -> str:
    """The manifest object beside ``folder``: ``gs://.../<digest16>.json``."""
    return folder.rstrip("/") + ".json"


def model_argument(folder: str, path: Path) -> str:
    """What vLLM's ``--model`` gets: the folder (no trailing slash), or its one file."""
    return folder + path.name if path.is_file() else folder.rstrip("/")


def manifest_text(digest: str, sizes: Mapping[str, int]) -> str:
    """The manifest: the tree hash, every file's name and size, and the total."""
    record = {
        "tree_sha256": digest,
        "files": [{"name": name, "bytes": size} for name, size in sizes.items()],
        "total_bytes": sum(sizes.values()),
    }
    return json.dumps(record, indent=1, sort_keys=True) + "\n"


def upload(provider: VertexProvider, model: str) -> tuple[str, Path]:
    """Upload the local ``model`` unless its content is there already.

    Returns the ``gs://`` folder (with a trailing slash) and the checked local path.
    """
    path = local_path(model)
    files = list(local_model_files(path))
    digest = content_digest(path)  # computed once per process (the fingerprint needs it too)
    store = storage_for(provider)
    folder = model_folder(store.bucket(), digest)
    manifest = manifest_uri(folder)
    if store.exists(manifest):
        report_progress(f"{model}: already uploaded as {folder} (same content)")
        return folder, path
    sizes = {name: file.stat().st_size for name, file in files}
    total = sum(sizes.values())
    report_progress(f"{model}: uploading {len(files)} file(s), {total:,} bytes to {folder}")
    progress = UploadProgress(model, total)
    for name, file in files:
        store.upload_file(file, folder + name, progress)
    store.upload_text(manifest_text(digest, sizes), manifest, content_type="application/json")
    progress.done()
    return folder, path
