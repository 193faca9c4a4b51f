"""The blob port: videos, audio chunks and chunk transcripts.

``FolderBlobStore`` is the embedded default (a folder per container on disk);
the Azure Blob adapter arrives with the adapters issue and honours the same
contract. Paths are ``{tenant}/...`` inside a container, as DESIGN.md lays out.
Writes are atomic (temp file + rename): a reader never sees half a blob.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import quote

from services.cache import DependencyHealth

VIDEOS = "videos"
CHUNKS = "chunks"


class BlobNotFound(FileNotFoundError):
    pass


class BlobStore(Protocol):
    kind: str

    def put_bytes(self, container: str, path: str, data: bytes) -> None: ...

    def put_stream(self, container: str, path: str, stream: BinaryIO) -> int: ...

    def get_bytes(self, container: str, path: str) -> bytes: ...

    def download_to(self, container: str, path: str, local_path: Path) -> None: ...

    def readable_url(self, container: str, path: str) -> str: ...

    def upload_url(self, container: str, path: str, expires_at: float) -> str: ...

    def media_url(self, container: str, path: str, expires_at: float) -> str:
        """A read-only URL for one existing blob (a browser plays it, with range requests),
        valid until ``expires_at``; BlobNotFound if it does not exist."""
        ...

    def exists(self, container: str, path: str) -> bool: ...

    def list(self, container: str, prefix: str = "") -> list[str]: ...

    def delete(self, container: str, path: str) -> bool: ...

    def delete_prefix(self, container: str, prefix: str) -> int: ...

    def health(self) -> DependencyHealth: ...


class FolderBlobStore:
    kind = "folder"

    def __init__(self, root: Path, upload_base_url: str = "http://127.0.0.1:7071", signing_key: bytes | None = None):
        self.root = Path(root)
        self.upload_base_url = upload_base_url.rstrip("/")
        self._key = signing_key or secrets.token_bytes(32)

    def _file(self, container: str, path: str) -> Path:
        base = (self.root / container).resolve()
        target = (base / path).resolve()
        if base != target and base not in target.parents:
            raise ValueError(f"blob path {path!r} escapes its container")
        return target

    def put_bytes(self, container: str, path: str, data: bytes) -> None:
        self._write(container, path, lambda handle: handle.write(data))

    def put_stream(self, container: str, path: str, stream: BinaryIO) -> int:
        written = 0

        def copy(handle):
            nonlocal written
            while chunk := stream.read(1 << 20):
                handle.write(chunk)
                written += len(chunk)

        self._write(container, path, copy)
        return written

    def put_file(self, container: str, path: str, local_path: Path) -> None:
        with open(local_path, "rb") as source:
            self.put_stream(container, path, source)

    def _write(self, container: str, path: str, fill) -> None:
        target = self._file(container, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                fill(handle)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def get_bytes(self, container: str, path: str) -> bytes:
        source = self._file(container, path)
        if not source.is_file():  # a "folder" is only a name prefix, as in Blob storage
            raise BlobNotFound(f"{container}/{path}")
        return source.read_bytes()

    def download_to(self, container: str, path: str, local_path: Path) -> None:
        source = self._file(container, path)
        if not source.is_file():
            raise BlobNotFound(f"{container}/{path}")
        shutil.copyfile(source, local_path)

    def readable_url(self, container: str, path: str) -> str:
        """What ffmpeg reads: here a local path (in Azure, a short-lived SAS URL)."""
        source = self._file(container, path)
        if not source.is_file():
            raise BlobNotFound(f"{container}/{path}")
        return str(source)

    def upload_url(self, container: str, path: str, expires_at: float) -> str:
        expires = int(expires_at)
        signature = self._signature(container, path, expires)
        return f"{self.upload_base_url}/devhost/blobs/{container}/{quote(path)}?se={expires}&sig={signature}"

    def media_url(self, container: str, path: str, expires_at: float) -> str:
        """devhost's GET-only stand-in for a read SAS: signed for reading (``sp=r``), so it
        cannot upload, and an upload URL cannot read."""
        if not self.exists(container, path):
            raise BlobNotFound(f"{container}/{path}")
        expires = int(expires_at)
        signature = self._signature(container, path, expires, "r")
        return f"{self.upload_base_url}/devhost/blobs/{container}/{quote(path)}?se={expires}&sp=r&sig={signature}"

    def check_upload(self, container: str, path: str, expires: str, signature: str) -> bool:
        """The devhost upload endpoint's check of an ``upload_url`` (SAS-like)."""
        return self._check(container, path, expires, signature, "w")

    def check_read(self, container: str, path: str, expires: str, signature: str) -> bool:
        """The devhost blob endpoint's check of a ``media_url`` (GET only)."""
        return self._check(container, path, expires, signature, "r")

    def local_file(self, container: str, path: str) -> Path:
        """Where a blob lives on disk (devhost serves media from it)."""
        source = self._file(container, path)
        if not source.is_file():
            raise BlobNotFound(f"{container}/{path}")
        return source

    def _check(self, container: str, path: str, expires: str, signature: str, permission: str) -> bool:
        try:
            expires_at = int(expires)
        except (TypeError, ValueError):
            return False
        expected = self._signature(container, path, expires_at, permission)
        return expires_at >= time.time() and hmac.compare_digest(expected, signature or "")

    def _signature(self, container: str, path: str, expires: int, permission: str = "w") -> str:
        # The upload signature (permission "w") keeps its original message.
        message = f"{container}\n{path}\n{expires}" + ("" if permission == "w" else f"\n{permission}")
        return hmac.new(self._key, message.encode(), hashlib.sha256).hexdigest()[:32]

    def exists(self, container: str, path: str) -> bool:
        return self._file(container, path).is_file()

    def list(self, container: str, prefix: str = "") -> list[str]:
        base = self.root / container
        if not base.is_dir():
            return []
        found = (p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file())
        return sorted(p for p in found if p.startswith(prefix) and not Path(p).name.startswith(".upload-"))

    def delete(self, container: str, path: str) -> bool:
        target = self._file(container, path)
        if not target.is_file():
            return False
        target.unlink(missing_ok=True)
        return True

    def delete_prefix(self, container: str, prefix: str) -> int:
        removed = sum(self.delete(container, p) for p in self.list(container, prefix))
        folder = self._file(container, prefix) if prefix else None
        if folder is not None and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
        return removed

    def health(self) -> DependencyHealth:
        existing = next(p for p in (self.root, *self.root.parents) if p.exists())  # the first write creates the rest
        writable = existing.is_dir() and os.access(existing, os.W_OK)
        return DependencyHealth("blobs", "ok" if writable else "down", f"folder {self.root}")
