"""``model = "./dir"`` on Inference Endpoints: a private Hub repository, pinned by commit.

An Inference Endpoint serves a Hub model repository at a revision, so a local model is
uploaded to one first, through huggingface_hub's own ``HfApi``:

1. ``create_repo(<namespace>/hostkit-<name>, private=True, exist_ok=True)``
   (``POST /api/repos/create``); the namespace is the ``namespace`` setting, else the
   token's user (``GET /api/whoami-v2``);
2. ``list_repo_refs`` (``GET /api/models/{repo}/refs``): a tag
   ``hostkit-<tree_sha256[:16]>`` names a commit holding exactly this content. Found:
   that commit is used and nothing is uploaded;
3. otherwise ``model_info`` at the head of ``main`` (``GET .../revision/{sha}``: the
   repository must be private, and one without a hostkit tag must hold nothing but
   ``.gitattributes``, so hostkit never writes over a repository it did not make),
   ``preupload_lfs_files`` file by file (``POST .../preupload/main``; large files go
   to Xet/LFS storage there) with byte/rate progress, ``create_commit`` with
   ``parentCommit`` = that head (``POST .../commit/main``, NDJSON; files gone from the
   directory are deleted, so the commit is the directory), then ``create_tag``.

The endpoint is created with ``model.repository`` = the repository and
``model.revision`` = the commit sha, so a later upload (a changed directory: a new
commit and tag) never changes what a running endpoint serves. Files under ``.git/``
and ``.cache/`` are not uploaded (the Hub refuses those folders).

``HfApi`` sends through huggingface_hub's shared session (no timeout: an upload of
gigabytes takes what it takes); its headers are built here, as in ``router.py``, so
the SDK's agent detection (``GET /api/agent-harnesses``) never runs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from hostkit.adapters import (
    UploadProgress,
    content_digest,
    is_local_model,
    local_model_files,
    local_model_path,
    report_progress,
)
from hostkit.errors import AuthenticationError, ConfigError

if TYPE_CHECKING:
    from huggingface_hub import HfApi

    from .provider import HuggingFaceProvider

__all__ = ["HubModel", "is_local", "local_path", "upload"]

T = TypeVar("T")
PREFIX = "hostkit-"
#: folders the Hub refuses in a commit (huggingface_hub's FORBIDDEN_FOLDERS)
SKIPPED = (".git", ".cache")
WRITE_HINT = (
    "uploading a local model needs an HF_TOKEN with write access to repositories in that"
    " namespace: a 'write' token, or a fine-grained one with 'Write access to contents/settings"
    " of all repos' under your user (or the organization): https://huggingface.co/settings/tokens"
)
ACCEPTED = "a directory of model files, or a Hub model id such as 'org/model'"


@dataclass(frozen=True)
class HubModel:
    """Where a local model lives on the Hub: the repository and the pinned commit."""

    repository: str
    revision: str
    tag: str
    uploaded_bytes: int


def is_local(model: str) -> bool:
    """A path on this machine (``./dir``, ``/abs``, ``~/x``, ``file://``), not a Hub id."""
    return is_local_model(model)


def local_path(model: str) -> Path:
    """The checked path of a local model (a ConfigError names what is wrong)."""
    return local_model_path(model, accepted=ACCEPTED)


@functools.cache
def _api_class() -> type[HfApi]:
    from huggingface_hub import HfApi

    from .router import _user_agent

    class HostkitHfApi(HfApi):
        """HfApi with headers built locally (no agent-detection request to the Hub)."""

        def _build_hf_headers(
            self,
            token: bool | str | None = None,
            library_name: str | None = None,
            library_version: str | None = None,
            user_agent: dict[str, Any] | str | None = None,
        ) -> dict[str, str]:
            value = self.token if token is None or token is True else token
            headers = {"user-agent": _user_agent()}
            if isinstance(value, str):
                headers["authorization"] = f"Bearer {value}"
            return headers

    return HostkitHfApi


def hub_api(provider: HuggingFaceProvider) -> HfApi:
    """An ``HfApi`` holding the provider's token (looked up now: a missing one fails here)."""
    token = provider.api_key(required=True)
    return _api_class()(token=token)


def _hub(
    provider: HuggingFaceProvider, action: str, fn: Callable[[], T], *, safe: bool = True
) -> T:
    """One Hub call through the provider's retry policy; 401/403 name the write permission."""
    from huggingface_hub import errors as hf

    def attempt() -> T:
        try:
            return fn()
        except hf.HfHubHTTPError as error:
            response = getattr(error, "response", None)
            status = getattr(response, "status_code", None)
            if status in (401, 403):
                said = error.server_message or str(error).splitlines()[0]
                headers = getattr(response, "headers", {}) or {}
                raise AuthenticationError(
                    f"{action}: the Hub refused ({said}); {WRITE_HINT}",
                    provider=provider.name,
                    status_code=status,
                    request_id=headers.get("x-request-id"),
                ) from error
            raise

    return provider.call(attempt, safe=safe)


def _additions(path: Path) -> list[Any]:
    """One ``CommitOperationAdd`` per file (sorted), skipping folders the Hub refuses."""
    from huggingface_hub import CommitOperationAdd

    found = []
    for name, file in local_model_files(path):
        if any(part in SKIPPED for part in name.split("/")[:-1]):
            continue
        try:
            found.append(CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(file)))
        except ValueError as error:
            raise ConfigError(f"model: {name!r} cannot go to a Hub repository: {error}") from None
    if not found:
        raise ConfigError(
            f"model: {path} holds only files under {' or '.join(SKIPPED)}/, which the Hub"
            " refuses; put the model's files there"
        )
    return found


def _namespace(provider: HuggingFaceProvider, api: HfApi) -> str:
    configured = provider.setting("namespace")
    if configured:
        return str(configured)
    me = _hub(provider, "whoami", api.whoami)
    return str(me["name"])


def _remote_files(
    provider: HuggingFaceProvider, api: HfApi, repo_id: str, head: str | None, ours: bool
) -> set[str]:
    """The files at ``head``; refuses a public repository or one hostkit did not make."""
    info = _hub(provider, f"read {repo_id}", lambda: api.model_info(repo_id, revision=head))
    if not info.private:
        raise ConfigError(
            f"model: the Hub repository {repo_id} exists and is public; hostkit uploads a local"
            " model only to a private repository. Make it private or rename the deployment"
            " (the repository is named hostkit-<deployment name>)",
            provider=provider.name,
        )
    files = {s.rfilename for s in info.siblings or []}
    if not ours and files - {".gitattributes"}:
        raise ConfigError(
            f"model: the Hub repository {repo_id} already holds files hostkit did not upload"
            " (it has no hostkit-* tag); hostkit will not write over it. Rename the deployment"
            " (the repository is named hostkit-<deployment name>) or delete that repository",
            provider=provider.name,
        )
    return files


def upload(provider: HuggingFaceProvider, model: str, name: str) -> HubModel:
    """The private Hub repository and commit holding local ``model``; uploads only new content."""
    from huggingface_hub import CommitOperationDelete, constants

    path = local_path(model)
    digest = content_digest(path)
    tag = f"{PREFIX}{digest[:16]}"
    api = hub_api(provider)
    repo_id = f"{_namespace(provider, api)}/{PREFIX}{name}"
    where = f"{constants.ENDPOINT}/{repo_id}"
    _hub(
        provider, f"create {repo_id}", lambda: api.create_repo(repo_id, private=True, exist_ok=True)
    )
    refs = _hub(provider, f"read {repo_id}", lambda: api.list_repo_refs(repo_id))
    known = next((t for t in refs.tags if t.name == tag), None)
    if known is not None:
        report_progress(
            f"{model}: already on the Hub as {where}@{known.target_commit[:12]} ({tag})"
        )
        return HubModel(repo_id, known.target_commit, tag, 0)
    head = next((b.target_commit for b in refs.branches if b.name == "main"), None)
    ours = any(t.name.startswith(PREFIX) for t in refs.tags)
    remote = _remote_files(provider, api, repo_id, head, ours)
    additions = _additions(path)
    local = {op.path_in_repo for op in additions}
    deletions = [CommitOperationDelete(p) for p in sorted(remote - local - {".gitattributes"})]
    total = sum(op.upload_info.size for op in additions)
    report_progress(f"{model}: uploading {len(additions)} file(s), {total:,} bytes to {where}")
    progress = UploadProgress(model, total)
    for op in additions:  # one at a time, so progress moves file by file
        _hub(
            provider,
            f"upload {op.path_in_repo}",
            lambda op=op: api.preupload_lfs_files(repo_id, [op]),
        )
        progress(op.upload_info.size)
    commit = _hub(
        provider,
        f"commit to {repo_id}",
        lambda: api.create_commit(
            repo_id,
            operations=[*deletions, *additions],
            commit_message=tag,
            commit_description=f"uploaded by hostkit from a local directory (tree sha256 {digest})",
            parent_commit=head,
        ),
        safe=False,
    )
    progress.done()
    _hub(
        provider,
        f"tag {repo_id}",
        lambda: api.create_tag(repo_id, tag=tag, revision=commit.oid, exist_ok=True),
    )
    report_progress(f"{model}: {where}@{commit.oid[:12]} tagged {tag}")
    return HubModel(repo_id, commit.oid, tag, total)
