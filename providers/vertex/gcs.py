"""Cloud Storage for the vertex provider, through the official ``google-cloud-storage`` SDK.

Vertex AI reads model artifacts and batch inputs from ``gs://`` and writes batch results
there, so hostkit needs a bucket in the provider's location and a few object operations.
:class:`Storage` is that small surface, on the **same credentials and project** as the
provider's aiplatform clients (``google.auth.default()`` or the ``credentials_file``
setting), with the SDK's own retries off (``retry=None``) so that hostkit's retry policy and
error mapping apply, as for every other Vertex call::

    store = storage_for(provider)
    bucket = store.bucket()                        # checked once, created if missing
    store.upload_file(Path("w.bin"), f"gs://{bucket}/x/w.bin", progress)
    store.exists(uri); store.list_blobs(prefix); store.download_text(uri)
    for line in store.read_lines(uri): ...         # streamed, not loaded whole
    store.delete([uri, ...])                       # missing objects are fine

**Which bucket.** The ``staging_bucket`` setting (``"name"`` or ``"gs://name"``), else
``{project}-vertex-staging-{location}``: the regional staging-bucket name
google-cloud-aiplatform gives (``utils/gcs_utils.py``,
``stage_local_data_in_gcs``: ``project + "-vertex-staging-" + location``, cut to 63
characters, and created with ``location=location`` because "some service required regional
bucket"). aiplatform 2.x appends a random per-process salt to that name, which would
defeat content addressing across processes, so hostkit keeps the stable name and instead
does what the salt guards against itself: a default-named bucket that already exists must
belong to the provider's project (its ``projectNumber`` against the number in the
project's Cloud Storage service agent, ``service-NUMBER@gs-project-accounts...``), the
check aiplatform's ``_verify_bucket_ownership`` makes against bucket squatting. A bucket
hostkit creates is regional (in ``location``), with uniform bucket-level access and public
access prevention enforced.

**Region.** Vertex AI refuses artifacts in a bucket outside the service's region ("The
Cloud Storage bucket of gs://... is in location us. It must be in the same regional
location as the service location us-central1", quoted in the same aiplatform source), so a
bucket in another location is a ConfigError naming both, before anything is uploaded.

**Errors** go through the provider's mapping (``translate_error``); a 403 names the IAM
permission Google names (``storage.objects.create``, ``storage.buckets.create`` ...) and
the Cloud Storage role that grants it.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from hostkit.adapters import UploadProgress, get_logger, report_progress
from hostkit.errors import AuthenticationError, ConfigError, HostkitError

if TYPE_CHECKING:
    from .provider import VertexProvider

__all__ = [
    "RESUMABLE_CHUNK",
    "Storage",
    "default_bucket_name",
    "gs_uri",
    "split_gs_uri",
    "storage_for",
]

log = get_logger("hostkit.vertex.gcs")
T = TypeVar("T")

#: chunk of a resumable upload (files above the SDK's 8 MiB multipart limit); a multiple
#: of 256 KiB as the JSON API requires, small enough for progress every few seconds
RESUMABLE_CHUNK = 16 * 1024 * 1024
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]\Z")
_SERVICE_AGENT = re.compile(r"^service-(\d+)@gs-project-accounts\.")
#: the predefined Cloud Storage role that grants a missing permission
_STORAGE_ROLES = {
    "storage.buckets.create": "roles/storage.admin",
    "storage.buckets.get": "roles/storage.admin (or roles/storage.legacyBucketReader)",
    "resourcemanager.projects.get": "roles/viewer",
}
_STORAGE_ROLE = "roles/storage.objectAdmin"


def default_bucket_name(project: str, location: str) -> str:
    """``{project}-vertex-staging-{location}``, as google-cloud-aiplatform names it (<= 63)."""
    return f"{project}-vertex-staging-{location}"[:63].rstrip("-")


def split_gs_uri(uri: str) -> tuple[str, str]:
    """``("bucket", "path/in/bucket")`` of ``gs://bucket/path/in/bucket`` (else ConfigError)."""
    if not uri.startswith("gs://") or not uri[5:].split("/", 1)[0]:
        raise ConfigError(f"{uri!r} is not a gs://BUCKET/OBJECT URI")
    bucket, _, name = uri[5:].partition("/")
    return bucket, name


def gs_uri(bucket: str, name: str) -> str:
    """``gs://bucket/name``."""
    return f"gs://{bucket}/{name}"


class _Counting:
    """A read-only file wrapper that reports the bytes read to an UploadProgress."""

    def __init__(self, handle: IO[bytes], progress: UploadProgress | None) -> None:
        self._handle = handle
        self._progress = progress

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        if self._progress is not None and data:
            self._progress(len(data))
        return data

    def __getattr__(self, name: str) -> Any:  # seek, tell, name ... as the file has them
        return getattr(self._handle, name)


class Storage:
    """Cloud Storage on a vertex provider's credentials, project and location."""

    def __init__(self, provider: VertexProvider) -> None:
        self.provider = provider
        self._client: Any = None
        self._bucket: str | None = None
        self._lock = threading.Lock()

    # -- the client and the bucket -------------------------------------------------------
    def close(self) -> None:
        """Close the storage client's HTTP session (the provider's close() calls this)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def client(self) -> Any:
        """A ``google.cloud.storage.Client`` on the provider's credentials (built once)."""
        if self._client is None:
            storage = self.provider.import_sdk("google.cloud.storage")
            sdk = self.provider._sdk()  # credentials and project, looked up as for Vertex
            client = storage.Client(
                project=self.provider.project, credentials=sdk.session.credentials
            )
            # google-cloud-storage 3.17 looks each bucket up again on a background thread
            # (_bucket_metadata_cache.py) only to label OpenTelemetry spans, which hostkit
            # does not enable: an unsolicited GET that needs storage.buckets.get and races
            # with the calls hostkit makes. Without the cache the SDK skips it.
            if getattr(client, "_bucket_metadata_cache", None) is not None:
                client._bucket_metadata_cache = None
            self._client = client
        return self._client

    def bucket(self) -> str:
        """The staging bucket's name: checked (region, owner) once, created if missing."""
        with self._lock:
            if self._bucket is None:
                self._bucket = self._resolve()
            return self._bucket

    def _resolve(self) -> str:
        configured = str(self.provider.setting("staging_bucket") or "").strip()
        name = configured.removeprefix("gs://").strip("/")
        if configured and not _BUCKET.match(name):
            raise ConfigError(
                f"{self.provider.setting_source('staging_bucket')}: {configured!r} is not a"
                " Cloud Storage bucket name (3-63 lowercase letters, digits, '-', '_' and"
                " '.'); give the bucket's name or gs://NAME",
                provider=self.provider.name,
            )
        name = name or default_bucket_name(self.provider.project, self.provider.location)
        found = self._lookup(name, configured=bool(configured))
        if found is None:
            try:
                found = self._create(name)
            except HostkitError as error:
                if error.status_code != 409:
                    raise
                # created meanwhile (another process), or a name another project holds
                found = self._lookup(name, configured=bool(configured))
                if found is None:
                    raise
                if not configured:
                    self._check_owner(found)
        elif not configured:
            self._check_owner(found)
        self._check_region(found)
        return name

    def _lookup(self, name: str, *, configured: bool) -> Any:
        """The bucket, or None when it does not exist; a 403 on the default name says why."""
        try:
            return self._call(lambda: self.client.lookup_bucket(name, retry=None))
        except AuthenticationError as error:
            if configured or error.status_code != 403:
                raise
            error.message += (
                f". If the credentials do have it, the name gs://{name} belongs to another"
                " project (bucket names are global): set staging_bucket under"
                f" [providers.{self.provider.name}] to a bucket of your own"
            )
            error.args = (error.message,)
            raise

    def _create(self, name: str) -> Any:
        location = self.provider.location
        report_progress(f"creating Cloud Storage bucket gs://{name} in {location}")
        bucket = self.client.bucket(name)
        bucket.iam_configuration.uniform_bucket_level_access_enabled = True
        bucket.iam_configuration.public_access_prevention = "enforced"
        return self._call(
            lambda: self.client.create_bucket(
                bucket, project=self.provider.project, location=location, retry=None
            ),
            safe=False,
        )

    def _check_region(self, bucket: Any) -> None:
        where = str(bucket.location or "").lower()
        if where != self.provider.location:
            kind = str(bucket.location_type or "location").replace("-", " ")
            raise ConfigError(
                f"Cloud Storage bucket gs://{bucket.name} is in {kind} {where or '(unknown)'},"
                f" but this vertex provider's location is {self.provider.location}: Vertex AI"
                " reads model artifacts and batch files only from a bucket in its own region."
                f" Set staging_bucket under [providers.{self.provider.name}] to a bucket in"
                f" {self.provider.location}, or location to {where}",
                provider=self.provider.name,
            )

    def _check_owner(self, bucket: Any) -> None:
        """A default-named bucket that exists must be the project's own (bucket squatting)."""
        project = self.provider.project
        email = str(self._call(lambda: self.client.get_service_account_email(project, retry=None)))
        match = _SERVICE_AGENT.match(email)
        if match and str(bucket.project_number) == match.group(1):
            return
        raise ConfigError(
            f"Cloud Storage bucket gs://{bucket.name} has the name hostkit gives project"
            f" {project}'s staging bucket but belongs to another project (number"
            f" {bucket.project_number}); hostkit will not upload there. Set staging_bucket"
            f" under [providers.{self.provider.name}] to a bucket of your own",
            provider=self.provider.name,
        )

    # -- objects ------------------------------------------------------------------------
    def _blob(self, uri: str) -> Any:
        bucket, name = split_gs_uri(uri)
        return self.client.bucket(bucket).blob(name)

    def upload_file(
        self,
        local: Path,
        uri: str,
        progress: UploadProgress | None = None,
        *,
        content_type: str = "application/octet-stream",
    ) -> None:
        """Upload one file to ``uri`` (multipart up to 8 MiB, resumable in chunks above).

        ``progress`` is called with every chunk's size as it is read.
        """
        blob = self._blob(uri)
        blob.chunk_size = RESUMABLE_CHUNK
        size = local.stat().st_size

        def send() -> None:
            with local.open("rb") as handle:
                blob.upload_from_file(
                    _Counting(handle, progress),
                    size=size,
                    content_type=content_type,
                    retry=None,
                )

        self._call(send)  # the same bytes to the same name: safe to repeat

    def upload_text(self, text: str, uri: str, *, content_type: str = "text/plain") -> None:
        """Write ``text`` (UTF-8) to ``uri`` in one request."""
        blob = self._blob(uri)
        self._call(
            lambda: blob.upload_from_string(
                text.encode("utf-8"), content_type=content_type, retry=None
            )
        )

    def exists(self, uri: str) -> bool:
        """Whether the object ``uri`` exists (a 404 is False; a 403 is an error)."""
        blob = self._blob(uri)
        return bool(self._call(lambda: blob.exists(retry=None)))

    def list_blobs(self, prefix: str) -> list[str]:
        """The ``gs://`` URIs of every object under ``prefix`` (a ``gs://bucket/path``)."""
        bucket, name = split_gs_uri(prefix)

        def listing() -> list[str]:
            blobs = self.client.list_blobs(bucket, prefix=name, retry=None)
            return [gs_uri(bucket, blob.name) for blob in blobs]

        return list(self._call(listing))

    def download_text(self, uri: str) -> str:
        """The whole object ``uri`` as UTF-8 text (for small objects: manifests, errors)."""
        blob = self._blob(uri)
        data = self._call(lambda: blob.download_as_bytes(retry=None))
        return bytes(data).decode("utf-8")

    def read_lines(self, uri: str) -> Iterator[str]:
        """The object's lines, streamed (``blob.open("r")``): large result shards stay on disk.

        Each line keeps no trailing newline. Errors while reading are mapped like the rest.
        """
        blob = self._blob(uri)
        try:
            with blob.open("r", encoding="utf-8", retry=None) as handle:
                for line in handle:
                    yield line.rstrip("\n")
        except HostkitError:
            raise
        except Exception as error:
            raise self._translate(error) from error

    def delete(self, uris: Iterable[str]) -> None:
        """Delete objects; ones already gone are fine."""
        for uri in uris:
            blob = self._blob(uri)
            self._call(lambda blob=blob: self._delete_one(blob))

    @staticmethod
    def _delete_one(blob: Any) -> None:
        from google.api_core import exceptions

        with contextlib.suppress(exceptions.NotFound):
            blob.delete(retry=None)

    # -- errors -------------------------------------------------------------------------
    def _call(self, fn: Callable[[], T], *, safe: bool = True) -> T:
        """One storage call under the provider's retry policy, errors translated."""

        def attempt() -> T:
            try:
                return fn()
            except HostkitError:
                raise
            except Exception as error:
                raise self._translate(error) from error

        return self.provider.call(attempt, safe=safe)

    def _translate(self, error: Exception) -> HostkitError:
        """The provider's mapping, with a Cloud Storage role named for a missing permission."""
        mapped = self.provider.map_error(error)
        if isinstance(mapped, AuthenticationError) and mapped.status_code == 403:
            from ._errors import _permission, status_from_body

            response = getattr(error, "response", None)
            status = status_from_body(403, getattr(response, "content", b"") or str(mapped))
            permission = _permission(status) or "a Cloud Storage permission"
            role = _STORAGE_ROLES.get(permission, _STORAGE_ROLE)
            mapped.message = (
                f"missing IAM permission {permission}: {status.message} (grant {role} on the"
                " bucket or project to the credentials' principal)"
            )
            mapped.args = (mapped.message,)
        return mapped


def storage_for(provider: VertexProvider) -> Storage:
    """The provider's one :class:`Storage` (built at first use, kept on the provider)."""
    found = provider.__dict__.get("_hostkit_gcs")
    if found is None:
        found = provider.__dict__.setdefault("_hostkit_gcs", Storage(provider))
    return found  # type: ignore[no-any-return]
