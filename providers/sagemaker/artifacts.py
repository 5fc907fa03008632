"""``model = "./dir"`` on SageMaker: package a local model as ``model.tar.gz`` and upload it.

SageMaker downloads ``ModelDataUrl`` (a gzipped tar) and unpacks it into
``/opt/ml/model`` of the container, so a directory is packed with its files at the top
of the archive (``./dir/model.joblib`` becomes ``model.joblib``); a file ending in
``.tar.gz`` is uploaded as it is; any other single file is packed alone.

The archive is built reproducibly (sorted names, mtime 0, owner 0, gzip without a
timestamp), so the same content always gives the same bytes. Its SHA-256 is in the key,
``s3://<bucket>/<prefix>/models/<sha256[:16]>/model.tar.gz``: deploying the same
directory again finds the object and uploads nothing, and a changed directory goes to a
new key, never over an artifact a running endpoint uses. The bucket is the
``batch_bucket`` setting, else ``sagemaker-<region>-<account>`` (created if missing).
"""

from __future__ import annotations

import gzip
import tarfile
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from hostkit.adapters import (
    UploadProgress,
    file_sha256,
    is_local_model,
    local_model_files,
    local_model_path,
    report_progress,
)

from ._errors import error_code

if TYPE_CHECKING:
    from .provider import SageMakerProvider


def is_local(model: str) -> bool:
    """A path on this machine: ``./dir``, ``../x``, ``/abs``, ``~/x`` or ``file://``."""
    return is_local_model(model)


def local_path(model: str) -> Path:
    """The checked path of a local model (a ConfigError names what is wrong)."""
    return local_model_path(
        model, accepted="a directory of model files, a model.tar.gz, or an s3:// URI"
    )


def package(path: Path, target: Path) -> None:
    """Write ``path`` as a reproducible ``model.tar.gz`` to ``target``."""
    if path.is_file() and path.name.endswith(".tar.gz"):
        target.write_bytes(path.read_bytes())
        return
    with (
        target.open("wb") as raw,
        gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name, file in local_model_files(path):
            info = tarfile.TarInfo(name)
            info.size = file.stat().st_size
            info.mode = 0o644
            info.mtime = 0
            with file.open("rb") as handle:
                tar.addfile(info, handle)


def upload(provider: SageMakerProvider, model: str) -> str:
    """The ``s3://`` URI of the packed local ``model``, uploaded unless already there."""
    from .batch import TransformJobs

    path = local_path(model)
    jobs = TransformJobs(provider)
    bucket = jobs.bucket()
    prefix = str(provider.setting("batch_prefix") or "hostkit-batch").strip("/")
    with tempfile.TemporaryDirectory(prefix="hostkit-model-") as folder:
        archive = Path(folder) / "model.tar.gz"
        package(path, archive)
        digest = file_sha256(archive)
        key = f"{prefix}/models/{digest[:16]}/model.tar.gz"
        uri = f"s3://{bucket}/{key}"
        jobs.ensure_bucket(bucket)
        s3 = provider._client("s3")
        try:
            s3.head_object(Bucket=bucket, Key=key)
            report_progress(f"{model}: already uploaded as {uri} (same content)")
            return uri
        except Exception as error:
            if error_code(error) not in ("404", "NoSuchKey", "NotFound"):
                raise provider.map_error(error) from error
        size = archive.stat().st_size
        report_progress(f"{model}: uploading {size:,} bytes to {uri}")
        progress = UploadProgress(model, size)
        _put(provider, bucket, key, archive, progress)
        progress.done()
        return uri


def _put(
    provider: SageMakerProvider, bucket: str, key: str, archive: Path, progress: UploadProgress
) -> None:
    """Upload with progress (boto3's managed transfer: multipart when large)."""
    s3 = provider._client("s3")

    from .batch import TransformJobs

    def send() -> None:
        try:
            s3.upload_file(str(archive), bucket, key, Callback=progress)
        except Exception as error:  # boto3 wraps S3's answer: translate the answer
            cause = error.__cause__ or error.__context__
            if type(error).__name__ == "S3UploadFailedError" and isinstance(cause, Exception):
                raise cause from None
            raise

    TransformJobs(provider).s3("s3:PutObject", bucket, send)
