"""``model = "./dir"``: the provider-neutral half of deploying a model from this machine.

Each cloud packs and uploads a local model its own way (a SageMaker ``model.tar.gz``, a
GCS folder for Vertex, a Hub repository, an Azure ML model asset); what they share lives
here: telling a local path from a model id or URI, checking it with an error that says
what is wrong, a content hash that names the upload (so the same content uploads once and
a changed one never overwrites an artifact a running deployment uses), and byte/rate
progress for large uploads.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

from hostkit._progress import report as report_progress
from hostkit.errors import ConfigError

__all__ = [
    "UploadProgress",
    "content_digest",
    "file_sha256",
    "is_local_model",
    "local_model_files",
    "local_model_path",
    "tree_sha256",
]

LOCAL_PREFIXES = ("./", "../", "/", "~", "file://")


def is_local_model(model: str) -> bool:
    """A path on this machine: ``./dir``, ``../x``, ``/abs``, ``~/x`` or ``file://``."""
    return model.startswith(LOCAL_PREFIXES) or model in (".", "..")


def local_model_path(model: str, *, accepted: str) -> Path:
    """The checked path of a local ``model``; a ConfigError names what is wrong.

    ``accepted`` completes the sentence "give ..." in the error for a missing path, e.g.
    ``"a directory of model files, a model.tar.gz, or an s3:// URI"``.
    """
    path = Path(model.removeprefix("file://")).expanduser()
    if not path.exists():
        raise ConfigError(
            f"model: {model!r} does not exist (resolved to {path.resolve()}); give {accepted}"
        )
    if path.is_dir():
        if not any(p.is_file() for p in path.rglob("*")):
            raise ConfigError(
                f"model: {model!r} is an empty directory (no files in it or below); put the"
                " model's files there"
            )
    elif not path.is_file():
        raise ConfigError(f"model: {model!r} is neither a file nor a directory")
    return path


def local_model_files(path: Path) -> Iterator[tuple[str, Path]]:
    """``(relative posix name, file)`` for every file of a local model, sorted by name.

    A single file is its own only member, named by its file name.
    """
    if path.is_file():
        yield path.name, path
        return
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        yield file.relative_to(path).as_posix(), file


def file_sha256(file: Path) -> str:
    """The SHA-256 of one file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with file.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_sha256(path: Path) -> str:
    """One SHA-256 over a local model's file names and contents (not times or modes).

    Renaming, adding, removing or editing any file changes it; touching one does not.
    """
    digest = hashlib.sha256()
    for name, file in local_model_files(path):
        encoded = name.encode()
        digest.update(len(encoded).to_bytes(8, "big") + encoded)
        digest.update(bytes.fromhex(file_sha256(file)))
    return digest.hexdigest()


def content_digest(path: Path) -> str:
    """:func:`tree_sha256` of ``path``, computed once per process while no file changes
    (same names, sizes and modification times)."""
    signature = tuple(
        (name, file.stat().st_size, file.stat().st_mtime_ns)
        for name, file in local_model_files(path)
    )
    return _cached_tree_sha256(path.resolve(), signature)


@functools.lru_cache(maxsize=64)
def _cached_tree_sha256(path: Path, signature: tuple[tuple[str, int, int], ...]) -> str:
    return tree_sha256(path)


def local_content_digest(model: str) -> str | None:
    """The content hash of a local ``model`` that exists, else None (model ids, URIs,
    ``module:callable``, and paths that are missing: those fail elsewhere, with a reason)."""
    if not is_local_model(model):
        return None
    path = Path(model.removeprefix("file://")).expanduser()
    if not (path.is_file() or path.is_dir()):
        return None
    return content_digest(path)


class UploadProgress:
    """Reports ``sent / total bytes`` about every 5% and the rate at the end.

    Call it with each chunk's size (the shape boto3's ``Callback`` and most upload loops
    give); :meth:`done` reports the total time and MB/s.
    """

    def __init__(self, label: str, total: int) -> None:
        self.label = label
        self.total = total
        self.sent = 0
        self._step = 0
        self._started = time.perf_counter()

    def __call__(self, chunk: int) -> None:
        self.sent += chunk
        step = self.sent * 20 // max(self.total, 1)
        if step > self._step:
            self._step = step
            report_progress(f"  {self.sent:,} / {self.total:,} bytes")

    def done(self) -> None:
        elapsed = max(time.perf_counter() - self._started, 1e-6)
        report_progress(
            f"{self.label}: uploaded {self.total:,} bytes in {elapsed:.1f}s"
            f" ({self.total / elapsed / 1e6:.1f} MB/s)"
        )
