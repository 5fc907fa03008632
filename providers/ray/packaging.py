"""Ship the user's project folder to the cluster as a ``runtime_env`` ``working_dir``.

The way Ray's job submission client does it, without Ray: zip the folder, name the
package after a hash of its contents (``gcs://_ray_pkg_<sha1>.zip``), ask the dashboard
whether it already holds it (``GET /api/packages/gcs/<name>``: 200 or 404) and upload
it only when not (``PUT /api/packages/gcs/<name>`` with the zip's bytes). The same
contents give the same URI, so deploying again uploads nothing. A value that already
is a URI (``s3://...``, ``https://...zip``, ``gcs://...``) is passed through for the
cluster to fetch.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from hostkit.errors import ConfigError, HostkitError, NotFound, ProviderError

if TYPE_CHECKING:
    from hostkit_providers.ray.provider import RayProvider

__all__ = ["MAX_PACKAGE_BYTES", "package_folder", "upload_working_dir"]

#: the dashboard keeps packages in the GCS; Ray refuses ones past its limit (512 MiB)
MAX_PACKAGE_BYTES = 500 * 2**20
#: folders never shipped (caches, environments, version control)
SKIPPED_DIRS = frozenset(
    {".git", ".hg", ".svn", "__pycache__", ".venv", "venv", ".tox", ".mypy_cache",
     ".ruff_cache", ".pytest_cache", "node_modules", ".ipynb_checkpoints"}
)  # fmt: skip
SKIPPED_SUFFIXES = (".pyc", ".pyo")


def _files(folder: Path) -> list[Path]:
    """Every file to ship, in a stable order (skipped folders and symlinks left out)."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith(".venv"))
        for name in sorted(files):
            path = Path(root) / name
            if path.is_symlink() or name.endswith(SKIPPED_SUFFIXES):
                continue
            found.append(path)
    return found


def package_folder(folder: Path) -> tuple[str, bytes]:
    """(package name, zip bytes) for ``folder``: named by a hash of paths and contents."""
    digest = hashlib.sha1(usedforsecurity=False)
    buffer = io.BytesIO()
    total = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in _files(folder):
            relative = path.relative_to(folder).as_posix()
            data = path.read_bytes()
            total += len(data)
            if total > MAX_PACKAGE_BYTES:
                raise ConfigError(
                    f"options.working_dir: {folder} holds more than"
                    f" {MAX_PACKAGE_BYTES // 2**20} MiB, more than the dashboard accepts;"
                    " ship a smaller folder, or give a URI (s3://..., https://...zip) the"
                    " cluster fetches itself"
                )
            digest.update(relative.encode() + b"\0" + hashlib.sha1(data).digest())
            archive.writestr(relative, data)
    return f"_ray_pkg_{digest.hexdigest()}.zip", buffer.getvalue()


def upload_working_dir(provider: RayProvider, value: str) -> str:
    """The ``working_dir`` URI for ``value``: a URI as it is, a local folder uploaded."""
    if "://" in value:
        return value
    folder = Path(value).expanduser()
    if not folder.is_dir():
        raise ConfigError(
            f"options.working_dir: {folder} is not a folder on this machine; give the"
            " folder that holds the model's code, or a URI the cluster can fetch"
        )
    name, data = package_folder(folder.resolve())
    path = f"/api/packages/gcs/{name}"
    try:
        provider.dashboard.request("GET", path)
        return f"gcs://{name}"  # already there
    except NotFound:
        pass
    try:
        provider.dashboard.request("PUT", path, content=data, safe=True)
    except HostkitError as error:
        raise ProviderError(
            f"uploading {folder} ({len(data) // 1024} KiB) to the Ray dashboard at"
            f" {provider.address} failed: {error.message}",
            provider=provider.name,
            status_code=error.status_code,
        ) from error
    return f"gcs://{name}"
