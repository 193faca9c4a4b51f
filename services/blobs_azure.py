"""The blob port on Azure Blob Storage (Azurite locally), with azure-storage-blob (sync).

Two ways in, the only place credentials are decided:

- ``AzureBlobStore.from_account_url(url)``: Azure, DefaultAzureCredential (the app's
  managed identity). SAS URLs are *user-delegation* SAS, signed with a key fetched
  by ``get_user_delegation_key`` and cached until shortly before it expires; they
  are HTTPS-only.
- ``AzureBlobStore.from_connection_string(conn)``: emulators (Azurite) and account
  keys. SAS URLs are account-key service SAS and allow plain http (Azurite serves
  http on loopback).

Behaviour matches ``FolderBlobStore`` (services/blobs.py), the reference: a missing
blob, or a "folder" name, raises ``BlobNotFound``; names with a ``..`` segment or a
leading ``/`` are refused with ``ValueError``; a write is visible whole or not at all
(a block upload is invisible until its block list is committed, so a failed stream
leaves no blob and keeps an overwritten blob's old content).

Large videos never sit in memory: streams and files are uploaded in blocks of
``block_size`` with ``max_concurrency`` blocks in flight, downloads are read in
chunks of the same size.

``upload_url`` is a create+write SAS for exactly one blob. A client PUTs the file to
it *with the header* ``x-ms-blob-type: BlockBlob`` (Put Blob requires it; without it
Azure and Azurite answer 400). A single Put Blob takes up to 5000 MiB; larger files
need Put Block / Put Block List (the same SAS allows them, as the storage JS/.NET
clients' ``uploadData`` do). Browsers need a CORS rule on the account allowing PUT
from the web front end's origin.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO, Iterable
from urllib.parse import urlsplit

from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import (
    BlobSasPermissions,
    BlobServiceClient,
    ContainerClient,
    UserDelegationKey,
    generate_blob_sas,
)

from services.blobs import CHUNKS, VIDEOS, BlobNotFound
from services.cache import DependencyHealth

log = logging.getLogger(__name__)

DEFAULT_BLOCK_SIZE = 4 << 20  # 4 MiB: 50,000 blocks (the service's limit) cover ~195 GiB
DEFAULT_MAX_CONCURRENCY = 4
READABLE_URL_TTL = timedelta(hours=2)
CLOCK_SKEW = timedelta(minutes=5)  # SAS start time, back-dated for clocks that run behind
DELEGATION_KEY_LIFETIME = timedelta(days=1)
DELEGATION_KEY_MARGIN = timedelta(minutes=10)
DELEGATION_KEY_MAX = timedelta(days=7)  # the service's limit for a user delegation key
BATCH_SIZE = 256  # the most sub-requests one blob batch may hold
_CONTAINER_NAME = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_MAX_BLOB_NAME = 1024


class AzureBlobStore:
    kind = "azure"

    def __init__(self, service: BlobServiceClient, *, account_key: str | None = None,
                 containers: Iterable[str] = (VIDEOS, CHUNKS), block_size: int = DEFAULT_BLOCK_SIZE,
                 max_concurrency: int = DEFAULT_MAX_CONCURRENCY):
        """``service`` should be configured with ``block_size`` (the factories do that).
        With ``account_key`` SAS URLs are signed with it, else with a user delegation key."""
        self._service = service
        self._account_key = account_key
        self.block_size = block_size
        self.max_concurrency = max_concurrency
        self._https_only = urlsplit(service.url).scheme == "https"
        self._ready: set[str] = set()
        self._lock = threading.Lock()
        self._delegation_key: UserDelegationKey | None = None
        self._delegation_key_expiry = datetime.min.replace(tzinfo=timezone.utc)
        for container in containers:
            try:  # no retries here: with the SDK's back-off a storage outage would stall start-up ~1 min
                self._ensure_container(container, retry_total=0)
            except AzureError as error:  # storage down at start: created before the first write instead
                log.warning("cannot create blob container %s yet: %s", container, _short(error))

    # ---- construction -----------------------------------------------------------------

    @classmethod
    def from_connection_string(cls, connection_string: str, **options) -> "AzureBlobStore":
        """Azurite (or an account key): SAS URLs are signed with the account key."""
        block_size = options.get("block_size", DEFAULT_BLOCK_SIZE)
        service = BlobServiceClient.from_connection_string(connection_string, **_transfer_config(block_size))
        account_key = getattr(service.credential, "account_key", None)
        if not account_key:
            raise ValueError("the blob connection string needs an AccountKey (SAS URLs are signed with it)")
        return cls(service, account_key=account_key, **options)

    @classmethod
    def from_account_url(cls, account_url: str, credential=None, **options) -> "AzureBlobStore":
        """Azure with an identity (DefaultAzureCredential unless one is given):
        SAS URLs are user-delegation SAS."""
        if credential is None:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        block_size = options.get("block_size", DEFAULT_BLOCK_SIZE)
        service = BlobServiceClient(account_url, credential=credential, **_transfer_config(block_size))
        return cls(service, **options)

    # ---- writes ---------------------------------------------------------------------

    def put_bytes(self, container: str, path: str, data: bytes) -> None:
        blob = self._blob(container, path)
        self._ensure_container(container)
        blob.upload_blob(data, overwrite=True, max_concurrency=self.max_concurrency)

    def put_stream(self, container: str, path: str, stream: BinaryIO) -> int:
        """Uploads in blocks of ``block_size`` (at most ``max_concurrency`` + 1 in memory);
        returns the bytes written. Nothing is visible until the last block is committed."""
        blob = self._blob(container, path)
        self._ensure_container(container)
        head = _read_up_to(stream, self.block_size)
        if len(head) < self.block_size:  # the whole stream: one Put Blob
            blob.upload_blob(head, overwrite=True)
            return len(head)
        # (The SDK's parallel chunked upload never returns for an empty stream, hence the head read.)
        counted = _CountingReader(stream, head)
        blob.upload_blob(counted, overwrite=True, max_concurrency=self.max_concurrency)
        return counted.count

    def put_file(self, container: str, path: str, local_path: Path) -> None:
        blob = self._blob(container, path)
        self._ensure_container(container)
        size = os.path.getsize(local_path)
        with open(local_path, "rb") as source:
            blob.upload_blob(source, length=size, overwrite=True, max_concurrency=self.max_concurrency)

    # ---- reads ----------------------------------------------------------------------

    def get_bytes(self, container: str, path: str) -> bytes:
        blob = self._blob(container, path)
        try:
            return blob.download_blob(max_concurrency=self.max_concurrency).readall()
        except ResourceNotFoundError:
            raise BlobNotFound(f"{container}/{path}") from None

    def download_to(self, container: str, path: str, local_path: Path) -> None:
        """Streams into a temp file beside ``local_path``, renamed into place when complete."""
        blob = self._blob(container, path)
        try:
            downloader = blob.download_blob(max_concurrency=self.max_concurrency)
        except ResourceNotFoundError:
            raise BlobNotFound(f"{container}/{path}") from None
        target = Path(local_path)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".download-")
        try:
            with os.fdopen(fd, "wb") as handle:
                downloader.readinto(handle)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def readable_url(self, container: str, path: str) -> str:
        """A read-only SAS URL for this one blob, valid for ~2 h: what ffmpeg reads
        (with HTTP range requests, so the video is never downloaded whole)."""
        blob = self._blob(container, path)
        try:
            blob.get_blob_properties()
        except ResourceNotFoundError:
            raise BlobNotFound(f"{container}/{path}") from None
        now = _utcnow()
        return self._sas_url(container, path, BlobSasPermissions(read=True), now - CLOCK_SKEW, now + READABLE_URL_TTL)

    def upload_url(self, container: str, path: str, expires_at: float) -> str:
        """A create+write SAS URL for exactly this blob, valid until ``expires_at`` (epoch
        seconds). The client PUTs with the header ``x-ms-blob-type: BlockBlob``."""
        self._blob(container, path)
        self._ensure_container(container)
        expiry = datetime.fromtimestamp(int(expires_at), tz=timezone.utc)
        start = min(_utcnow(), expiry) - CLOCK_SKEW
        return self._sas_url(container, path, BlobSasPermissions(create=True, write=True), start, expiry)

    def media_url(self, container: str, path: str, expires_at: float) -> str:
        """A read-only SAS URL for this one blob until ``expires_at``: the browser plays the
        recording straight from Storage (range requests), never through the app."""
        if not self.exists(container, path):
            raise BlobNotFound(f"{container}/{path}")
        expiry = datetime.fromtimestamp(int(expires_at), tz=timezone.utc)
        start = min(_utcnow(), expiry) - CLOCK_SKEW
        return self._sas_url(container, path, BlobSasPermissions(read=True), start, expiry)

    def exists(self, container: str, path: str) -> bool:
        return self._blob(container, path).exists()

    def list(self, container: str, prefix: str = "") -> list[str]:
        _check_prefix(prefix)
        client = self._container(container)
        try:
            return sorted(client.list_blob_names(name_starts_with=prefix or None))
        except ResourceNotFoundError:  # the container was never created: nothing in it
            return []

    # ---- deletes --------------------------------------------------------------------

    def delete(self, container: str, path: str) -> bool:
        try:
            self._blob(container, path).delete_blob(delete_snapshots="include")
        except ResourceNotFoundError:
            return False
        return True

    def delete_prefix(self, container: str, prefix: str) -> int:
        """Deletes every blob whose name starts with ``prefix``, 256 per batch request;
        returns how many were deleted (a blob someone else deleted first is not counted)."""
        names = self.list(container, prefix)
        client = self._container(container)
        deleted = 0
        for start in range(0, len(names), BATCH_SIZE):
            batch = names[start:start + BATCH_SIZE]
            responses = client.delete_blobs(*batch, delete_snapshots="include", raise_on_any_failure=False)
            for name, response in zip(batch, responses):
                if response.status_code in (200, 202):
                    deleted += 1
                elif response.status_code != 404:
                    raise _batch_failure(container, name, response)
        return deleted

    # ---- health ---------------------------------------------------------------------

    def health(self) -> DependencyHealth:
        """One cheap call (the videos container's properties), no retries, short timeouts."""
        where = self._account_url()
        try:
            self._container(VIDEOS).get_container_properties(retry_total=0, connection_timeout=3, read_timeout=5)
        except ResourceNotFoundError:
            return DependencyHealth("blobs", "degraded", f"azure blob {where}: container {VIDEOS} is missing")
        except Exception as error:  # noqa: BLE001 - health reports, never raises
            return DependencyHealth("blobs", "down", f"azure blob {where}: {_short(error)}")
        return DependencyHealth("blobs", "ok", f"azure blob {where}")

    # ---- internals ------------------------------------------------------------------

    def _account_url(self) -> str:
        parts = urlsplit(self._service.url)
        return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")

    def _container(self, container: str) -> ContainerClient:
        if not isinstance(container, str) or not _CONTAINER_NAME.match(container):
            raise ValueError(f"{container!r} is not a valid blob container name")
        return self._service.get_container_client(container)

    def _blob(self, container: str, path: str):
        _check_name(path)
        return self._container(container).get_blob_client(path)

    def _ensure_container(self, container: str, **options) -> None:
        if container in self._ready:
            return
        try:
            self._container(container).create_container(**options)
        except ResourceExistsError:
            pass
        self._ready.add(container)

    def _sas_url(self, container: str, path: str, permission: BlobSasPermissions,
                 start: datetime, expiry: datetime) -> str:
        signing = {"account_key": self._account_key} if self._account_key else {
            "user_delegation_key": self._user_delegation_key(expiry)}
        sas = generate_blob_sas(
            self._service.account_name, container, path, permission=permission, start=start, expiry=expiry,
            protocol="https" if self._https_only else "https,http", **signing,
        )
        return f"{self._blob(container, path).url}?{sas}"

    def _user_delegation_key(self, needed_until: datetime) -> UserDelegationKey:
        """The cached key if it outlives ``needed_until`` by a margin, else a fresh one."""
        with self._lock:
            if self._delegation_key is None or self._delegation_key_expiry < needed_until + DELEGATION_KEY_MARGIN:
                now = _utcnow()
                longest = now + DELEGATION_KEY_MAX - DELEGATION_KEY_MARGIN
                if needed_until > longest:
                    raise ValueError(f"a SAS cannot be valid past {longest:%Y-%m-%dT%H:%M:%SZ} (7 days from now)")
                expiry = min(longest, max(now + DELEGATION_KEY_LIFETIME, needed_until + DELEGATION_KEY_MARGIN))
                self._delegation_key = self._service.get_user_delegation_key(now - CLOCK_SKEW, expiry)
                self._delegation_key_expiry = expiry
            return self._delegation_key


class _CountingReader:
    """A read-only file-like wrapper that counts bytes and hands the SDK ``bytes``.

    It is deliberately not seekable and has no length, so the SDK takes its chunked
    path: read ``block_size``, stage it as a block, repeat; commit at the end."""

    def __init__(self, stream: BinaryIO, head: bytes = b""):
        self._stream = stream
        self._head = head
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        if self._head:
            cut = len(self._head) if size is None or size < 0 else size
            data, self._head = self._head[:cut], self._head[cut:]
        else:
            data = bytes(self._stream.read(size) or b"")
        self.count += len(data)
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


def _read_up_to(stream: BinaryIO, size: int) -> bytes:
    """``size`` bytes, or fewer only at the end of the stream (a read may return less)."""
    parts, left = [], size
    while left > 0:
        data = stream.read(left)
        if not data:
            break
        parts.append(bytes(data))
        left -= len(data)
    return b"".join(parts)


def _transfer_config(block_size: int) -> dict:
    """Client options that bound memory per transfer to about one block."""
    return {
        "max_block_size": block_size,
        "max_single_put_size": block_size,
        "max_single_get_size": block_size,
        "max_chunk_get_size": block_size,
    }


def _check_name(path: str) -> None:
    if not isinstance(path, str):
        raise TypeError(f"a blob path is a str, got {type(path).__name__}")
    parts = path.split("/")
    if path.startswith("/") or ".." in parts:
        raise ValueError(f"blob path {path!r} escapes its container")
    if not path or len(path) > _MAX_BLOB_NAME or any(part in ("", ".") for part in parts):
        raise ValueError(f"blob path {path!r} is not a valid blob name")


def _check_prefix(prefix: str) -> None:
    if prefix.startswith("/") or ".." in prefix.split("/"):
        raise ValueError(f"blob prefix {prefix!r} escapes its container")


def _batch_failure(container: str, name: str, response) -> AzureError:
    reason = getattr(response, "reason", "") or ""
    return AzureError(f"deleting {container}/{name} failed: {response.status_code} {reason}".strip())


def _short(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:200]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)
