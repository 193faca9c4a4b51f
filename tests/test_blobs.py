"""The blob port (services/blobs.py) as a contract suite.

The ``blobs`` fixture is parametrised over the adapters: the folder adapter and
the Azure Blob adapter (services/blobs_azure.py) against one Azurite started for
this module on free loopback ports; both pass every contract test unchanged.
Contract tests call only the ``BlobStore`` port methods. Tests that look at the folder on disk or at the devhost upload
signature (``check_upload``) are folder-specific and live in their own section.
"""

from __future__ import annotations

import io
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import ffmpeg
import numpy as np
import pytest

from devhost.stack.azurite import start_azurite
from services.blobs import CHUNKS, VIDEOS, BlobNotFound, FolderBlobStore
from services.blobs_azure import AzureBlobStore
from tests.speech_fixtures import write_wav

UPLOAD_BASE = "http://127.0.0.1:7071"


@pytest.fixture(scope="module")
def azurite(tmp_path_factory):
    """One Azurite (Blob, Queue, Table on free loopback ports) for this module's Azure tests."""
    handle = start_azurite(tmp_path_factory.mktemp("azurite"))
    yield handle
    handle.stop()


def _folder_store(request, tmp_path: Path) -> FolderBlobStore:
    return FolderBlobStore(tmp_path / "blobs", upload_base_url=UPLOAD_BASE)


def _azure_store(request, tmp_path: Path) -> AzureBlobStore:
    # Azurite starts only when an Azure test runs; tests share it, each under its own tenant prefix.
    return AzureBlobStore.from_connection_string(request.getfixturevalue("azurite").connection_string)


# name -> factory(request, tmp_path) -> a store
ADAPTERS = {"folder": _folder_store, "azure": _azure_store}


@pytest.fixture(params=sorted(ADAPTERS))
def blobs(request, tmp_path):
    return ADAPTERS[request.param](request, tmp_path)


@pytest.fixture
def tenant():
    """A fresh tenant prefix per test, so a shared (Azurite) account needs no cleanup between tests."""
    return f"tenant-{uuid.uuid4().hex[:8]}"


class FailingStream(io.RawIOBase):
    """Yields ``good_bytes`` and then fails, as a dropped upload connection does."""

    def __init__(self, good_bytes: bytes):
        self._left = good_bytes

    def readable(self):
        return True

    def read(self, size=-1):
        if self._left:
            chunk, self._left = self._left[: max(1, size)], self._left[max(1, size):]
            return chunk
        raise ConnectionResetError("client went away mid-upload")


class ObservedStream(io.BytesIO):
    """A stream that calls ``on_read`` the first time it is read (i.e. mid-upload)."""

    def __init__(self, data: bytes, on_read):
        super().__init__(data)
        self._on_read = on_read

    def read(self, size=-1):
        if self._on_read is not None:
            callback, self._on_read = self._on_read, None
            callback()
        return super().read(size)


# --- contract: every adapter ---------------------------------------------------------


def test_put_bytes_then_get_bytes_round_trips(blobs, tenant):
    data = bytes(range(256)) * 10
    blobs.put_bytes(VIDEOS, f"{tenant}/v1.mp4", data)
    assert blobs.get_bytes(VIDEOS, f"{tenant}/v1.mp4") == data


def test_put_bytes_overwrites_an_existing_blob(blobs, tenant):
    blobs.put_bytes(CHUNKS, f"{tenant}/v1/00000.json", b"old")
    blobs.put_bytes(CHUNKS, f"{tenant}/v1/00000.json", b"new content")
    assert blobs.get_bytes(CHUNKS, f"{tenant}/v1/00000.json") == b"new content"


def test_empty_blob_round_trips(blobs, tenant):
    blobs.put_bytes(CHUNKS, f"{tenant}/empty", b"")
    assert blobs.exists(CHUNKS, f"{tenant}/empty")
    assert blobs.get_bytes(CHUNKS, f"{tenant}/empty") == b""


def test_put_stream_stores_a_multi_megabyte_stream_and_returns_its_size(blobs, tenant):
    data = np.random.default_rng(7).integers(0, 256, size=(5 << 20) // 2, dtype=np.uint8).tobytes()
    written = blobs.put_stream(VIDEOS, f"{tenant}/big.mp4", io.BytesIO(data))
    assert written == len(data)
    assert blobs.get_bytes(VIDEOS, f"{tenant}/big.mp4") == data


def test_put_file_stores_the_file_content(blobs, tenant, tmp_path):
    local = tmp_path / "upload.bin"
    local.write_bytes(b"\x00\x01file content\xff")
    blobs.put_file(VIDEOS, f"{tenant}/v2.mp4", local)
    assert blobs.get_bytes(VIDEOS, f"{tenant}/v2.mp4") == b"\x00\x01file content\xff"


def test_download_to_writes_a_local_copy(blobs, tenant, tmp_path):
    blobs.put_bytes(CHUNKS, f"{tenant}/v1/00001.wav", b"RIFF....WAVE")
    local = tmp_path / "downloaded.wav"
    blobs.download_to(CHUNKS, f"{tenant}/v1/00001.wav", local)
    assert local.read_bytes() == b"RIFF....WAVE"


def test_readable_url_is_readable_by_ffmpeg(blobs, tenant, tmp_path):
    tone = (0.3 * 32767 * np.sin(2 * np.pi * 440 * np.arange(8000) / 16000)).astype("<i2")
    blobs.put_file(VIDEOS, f"{tenant}/tone.wav", write_wav(tmp_path / "tone.wav", tone))
    probe = ffmpeg.probe(blobs.readable_url(VIDEOS, f"{tenant}/tone.wav"))
    assert float(probe["format"]["duration"]) == pytest.approx(0.5, abs=0.01)
    assert probe["streams"][0]["codec_type"] == "audio"


@pytest.mark.parametrize("operation", [
    lambda store, path, tmp: store.get_bytes(CHUNKS, path),
    lambda store, path, tmp: store.download_to(CHUNKS, path, tmp / "out.bin"),
    lambda store, path, tmp: store.readable_url(CHUNKS, path),
], ids=["get_bytes", "download_to", "readable_url"])
def test_reading_a_missing_blob_raises_blob_not_found(blobs, tenant, tmp_path, operation):
    with pytest.raises(BlobNotFound, match="missing.wav"):
        operation(blobs, f"{tenant}/missing.wav", tmp_path)
    assert not (tmp_path / "out.bin").exists()


def test_blob_not_found_is_a_file_not_found_error():
    assert issubclass(BlobNotFound, FileNotFoundError)


def test_exists_is_true_only_for_stored_blobs(blobs, tenant):
    assert not blobs.exists(VIDEOS, f"{tenant}/v1.mp4")
    blobs.put_bytes(VIDEOS, f"{tenant}/v1.mp4", b"x")
    assert blobs.exists(VIDEOS, f"{tenant}/v1.mp4")
    assert not blobs.exists(CHUNKS, f"{tenant}/v1.mp4"), "containers are separate namespaces"


def test_list_returns_sorted_container_relative_paths_under_the_prefix(blobs, tenant):
    for path in ("b/2.wav", "a/1.wav", "a/sub/3.wav", "ab.wav"):
        blobs.put_bytes(CHUNKS, f"{tenant}/{path}", b"x")
    blobs.put_bytes(VIDEOS, f"{tenant}/a/other-container.mp4", b"x")
    assert blobs.list(CHUNKS, f"{tenant}/a/") == [f"{tenant}/a/1.wav", f"{tenant}/a/sub/3.wav"]
    assert blobs.list(CHUNKS, f"{tenant}/a") == [f"{tenant}/a/1.wav", f"{tenant}/a/sub/3.wav", f"{tenant}/ab.wav"]
    assert blobs.list(CHUNKS, f"{tenant}/") == sorted(
        f"{tenant}/{p}" for p in ("b/2.wav", "a/1.wav", "a/sub/3.wav", "ab.wav"))
    assert blobs.list(CHUNKS, f"{tenant}/zzz") == []


def test_list_of_an_empty_container_is_empty(blobs, tenant):
    assert blobs.list("never-written", "") == []
    assert blobs.list(CHUNKS, f"{tenant}/") == []


def test_list_never_shows_an_upload_in_progress(blobs, tenant):
    seen_mid_upload = []
    blobs.put_bytes(VIDEOS, f"{tenant}/done.mp4", b"done")
    stream = ObservedStream(b"x" * 1000, lambda: seen_mid_upload.append(blobs.list(VIDEOS, f"{tenant}/")))
    blobs.put_stream(VIDEOS, f"{tenant}/uploading.mp4", stream)
    assert seen_mid_upload == [[f"{tenant}/done.mp4"]]
    assert blobs.list(VIDEOS, f"{tenant}/") == [f"{tenant}/done.mp4", f"{tenant}/uploading.mp4"]


def test_a_failing_stream_leaves_no_blob(blobs, tenant):
    with pytest.raises(ConnectionResetError):
        blobs.put_stream(VIDEOS, f"{tenant}/broken.mp4", FailingStream(b"y" * 3000))
    assert not blobs.exists(VIDEOS, f"{tenant}/broken.mp4")
    assert blobs.list(VIDEOS, f"{tenant}/") == []
    with pytest.raises(BlobNotFound):
        blobs.get_bytes(VIDEOS, f"{tenant}/broken.mp4")


def test_a_failing_overwrite_keeps_the_previous_content(blobs, tenant):
    blobs.put_bytes(VIDEOS, f"{tenant}/v.mp4", b"complete original")
    with pytest.raises(ConnectionResetError):
        blobs.put_stream(VIDEOS, f"{tenant}/v.mp4", FailingStream(b"partial"))
    assert blobs.get_bytes(VIDEOS, f"{tenant}/v.mp4") == b"complete original"


def test_delete_removes_one_blob_and_reports_whether_it_existed(blobs, tenant):
    blobs.put_bytes(CHUNKS, f"{tenant}/a.wav", b"a")
    blobs.put_bytes(CHUNKS, f"{tenant}/b.wav", b"b")
    assert blobs.delete(CHUNKS, f"{tenant}/a.wav") is True
    assert blobs.delete(CHUNKS, f"{tenant}/a.wav") is False
    assert blobs.list(CHUNKS, f"{tenant}/") == [f"{tenant}/b.wav"]


def test_delete_prefix_removes_everything_nested_under_it_and_nothing_else(blobs, tenant):
    for path in ("v1/00000.wav", "v1/00000.json", "v1/deep/er/x.bin", "v2/00000.wav"):
        blobs.put_bytes(CHUNKS, f"{tenant}/{path}", b"x")
    blobs.put_bytes(VIDEOS, f"{tenant}/v1/original.mp4", b"x")
    assert blobs.delete_prefix(CHUNKS, f"{tenant}/v1/") == 3
    assert blobs.list(CHUNKS, f"{tenant}/") == [f"{tenant}/v2/00000.wav"]
    assert not blobs.exists(CHUNKS, f"{tenant}/v1/deep/er/x.bin")
    assert blobs.exists(VIDEOS, f"{tenant}/v1/original.mp4"), "other containers are untouched"
    assert blobs.delete_prefix(CHUNKS, f"{tenant}/v1/") == 0


def test_a_blob_can_be_written_again_after_its_prefix_was_deleted(blobs, tenant):
    blobs.put_bytes(CHUNKS, f"{tenant}/v1/a/b.wav", b"1")
    blobs.delete_prefix(CHUNKS, f"{tenant}/v1/")
    blobs.put_bytes(CHUNKS, f"{tenant}/v1/a/b.wav", b"2")
    assert blobs.get_bytes(CHUNKS, f"{tenant}/v1/a/b.wav") == b"2"


def test_a_virtual_folder_is_not_a_blob(blobs, tenant):
    blobs.put_bytes(CHUNKS, f"{tenant}/v1/00000.wav", b"x")
    assert not blobs.exists(CHUNKS, f"{tenant}/v1")
    with pytest.raises(BlobNotFound):
        blobs.get_bytes(CHUNKS, f"{tenant}/v1")
    assert blobs.delete(CHUNKS, f"{tenant}/v1") is False
    assert blobs.exists(CHUNKS, f"{tenant}/v1/00000.wav")


@pytest.mark.parametrize("path", ["../x", "../../etc/passwd", "t1/../../x", "/etc/passwd"])
@pytest.mark.parametrize("operation", [
    lambda store, path, tmp: store.put_bytes(CHUNKS, path, b"x"),
    lambda store, path, tmp: store.put_stream(CHUNKS, path, io.BytesIO(b"x")),
    lambda store, path, tmp: store.get_bytes(CHUNKS, path),
    lambda store, path, tmp: store.download_to(CHUNKS, path, tmp / "out"),
    lambda store, path, tmp: store.readable_url(CHUNKS, path),
    lambda store, path, tmp: store.exists(CHUNKS, path),
    lambda store, path, tmp: store.delete(CHUNKS, path),
], ids=["put_bytes", "put_stream", "get_bytes", "download_to", "readable_url", "exists", "delete"])
def test_paths_that_escape_the_container_are_rejected(blobs, tmp_path, path, operation):
    with pytest.raises(ValueError, match="escapes"):
        operation(blobs, path, tmp_path)
    assert not (tmp_path / "x").exists()


def test_upload_url_is_an_http_url_naming_the_blob(blobs, tenant):
    url = blobs.upload_url(VIDEOS, f"{tenant}/my video.mp4", time.time() + 600)
    parts = urlsplit(url)
    assert parts.scheme in ("http", "https")
    assert unquote(parts.path).endswith(f"{VIDEOS}/{tenant}/my video.mp4")
    assert " " not in url


def test_health_is_ok(blobs):
    health = blobs.health()
    assert (health.name, health.status) == ("blobs", "ok")
    assert health.detail


# --- folder adapter only ------------------------------------------------------------


def _signed_parts(url: str) -> tuple[str, str, str, str]:
    """(container, path, se, sig) the way devhost's upload endpoint reads them."""
    parts = urlsplit(url)
    prefix = "/devhost/blobs/"
    assert parts.path.startswith(prefix)
    container, _, path = unquote(parts.path[len(prefix):]).partition("/")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    return container, path, query["se"], query["sig"]


@pytest.fixture
def folder(request, tmp_path):
    return _folder_store(request, tmp_path)


def test_folder_keeps_each_blob_as_a_file_under_root_container_path(folder, tmp_path):
    folder.put_bytes(VIDEOS, "t1/v1.mp4", b"bytes")
    assert (tmp_path / "blobs" / VIDEOS / "t1" / "v1.mp4").read_bytes() == b"bytes"
    assert folder.readable_url(VIDEOS, "t1/v1.mp4") == str((tmp_path / "blobs" / VIDEOS / "t1" / "v1.mp4").resolve())


def test_folder_does_not_list_leftover_temp_files(folder, tmp_path):
    folder.put_bytes(CHUNKS, "t1/v1/00000.wav", b"x")
    (tmp_path / "blobs" / CHUNKS / "t1" / "v1" / ".upload-abc123").write_bytes(b"half")
    assert folder.list(CHUNKS, "t1/") == ["t1/v1/00000.wav"]


def test_folder_failing_stream_leaves_no_temp_file_on_disk(folder, tmp_path):
    with pytest.raises(ConnectionResetError):
        folder.put_stream(VIDEOS, "t1/broken.mp4", FailingStream(b"z" * 5000))
    leftovers = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
    assert leftovers == []


def test_folder_successful_write_leaves_no_temp_file_on_disk(folder, tmp_path):
    folder.put_stream(VIDEOS, "t1/ok.mp4", io.BytesIO(b"ok"))
    names = [p.name for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
    assert names == ["ok.mp4"]


def test_folder_delete_prefix_removes_the_nested_folders(folder, tmp_path):
    for path in ("t1/v1/00000.wav", "t1/v1/deep/er/x.bin", "t1/v2/00000.wav"):
        folder.put_bytes(CHUNKS, path, b"x")
    assert folder.delete_prefix(CHUNKS, "t1/v1/") == 2
    assert not (tmp_path / "blobs" / CHUNKS / "t1" / "v1").exists()
    assert (tmp_path / "blobs" / CHUNKS / "t1" / "v2" / "00000.wav").is_file()


def test_folder_upload_url_points_at_the_devhost_upload_endpoint(folder):
    url = folder.upload_url(VIDEOS, "t1/my video.mp4", 2_000_000_000.7)
    assert url.startswith(f"{UPLOAD_BASE}/devhost/blobs/videos/t1/my%20video.mp4?se=2000000000&sig=")
    container, path, se, sig = _signed_parts(url)
    assert (container, path, se) == (VIDEOS, "t1/my video.mp4", "2000000000")
    assert len(sig) == 32


def test_folder_check_upload_accepts_the_url_it_signed(folder):
    url = folder.upload_url(VIDEOS, "t1/v1.mp4", time.time() + 60)
    assert folder.check_upload(*_signed_parts(url)) is True


def test_folder_check_upload_rejects_a_tampered_signature(folder):
    container, path, se, sig = _signed_parts(folder.upload_url(VIDEOS, "t1/v1.mp4", time.time() + 60))
    tampered = ("0" if sig[0] != "0" else "1") + sig[1:]
    assert folder.check_upload(container, path, se, tampered) is False
    assert folder.check_upload(container, path, se, "") is False
    assert folder.check_upload(container, path, se, None) is False


def test_folder_check_upload_rejects_an_extended_expiry(folder):
    container, path, se, sig = _signed_parts(folder.upload_url(VIDEOS, "t1/v1.mp4", time.time() + 60))
    assert folder.check_upload(container, path, str(int(se) + 3600), sig) is False


def test_folder_check_upload_rejects_an_expired_url(folder):
    container, path, se, sig = _signed_parts(folder.upload_url(VIDEOS, "t1/v1.mp4", time.time() - 1))
    assert folder.check_upload(container, path, se, sig) is False


@pytest.mark.parametrize("container, path", [
    (VIDEOS, "t1/v2.mp4"),  # another blob
    (VIDEOS, "t2/v1.mp4"),  # another tenant
    (CHUNKS, "t1/v1.mp4"),  # another container
])
def test_folder_check_upload_rejects_a_signature_for_another_blob(folder, container, path):
    _, _, se, sig = _signed_parts(folder.upload_url(VIDEOS, "t1/v1.mp4", time.time() + 60))
    assert folder.check_upload(container, path, se, sig) is False


@pytest.mark.parametrize("expires", [None, "", "soon", "1e12"])
def test_folder_check_upload_rejects_an_unreadable_expiry(folder, expires):
    _, _, _, sig = _signed_parts(folder.upload_url(VIDEOS, "t1/v1.mp4", time.time() + 60))
    assert folder.check_upload(VIDEOS, "t1/v1.mp4", expires, sig) is False


def test_folder_signatures_need_the_same_key(tmp_path):
    key = b"k" * 32
    first = FolderBlobStore(tmp_path / "b", signing_key=key)
    same_key = FolderBlobStore(tmp_path / "b", signing_key=key)
    other_key = FolderBlobStore(tmp_path / "b")
    parts = _signed_parts(first.upload_url(VIDEOS, "t1/v1.mp4", time.time() + 60))
    assert same_key.check_upload(*parts) is True
    assert other_key.check_upload(*parts) is False


def test_folder_health_is_ok_before_the_first_write_creates_the_folder(tmp_path):
    store = FolderBlobStore(tmp_path / "data" / "blobs")
    assert store.health().status == "ok"
    store.put_bytes(VIDEOS, "t1/v.mp4", b"x")
    assert store.health().status == "ok"


# --- media_url: the review page's player ----------------------------------------------------


def test_media_url_of_a_missing_blob_is_not_found(blobs, tenant):
    with pytest.raises(BlobNotFound):
        blobs.media_url(VIDEOS, f"{tenant}/none.mp4", time.time() + 600)


def test_folder_media_url_is_signed_for_reading_only(folder):
    folder.put_bytes(VIDEOS, "t1/v1.mp4", b"recording")
    url = folder.media_url(VIDEOS, "t1/v1.mp4", time.time() + 60)
    assert "&sp=r&" in url
    query = parse_qs(urlsplit(url).query)
    assert folder.check_read(VIDEOS, "t1/v1.mp4", query["se"][0], query["sig"][0]) is True
    assert folder.check_upload(VIDEOS, "t1/v1.mp4", query["se"][0], query["sig"][0]) is False  # cannot write
    assert folder.check_read(VIDEOS, "t1/v2.mp4", query["se"][0], query["sig"][0]) is False
    upload = parse_qs(urlsplit(folder.upload_url(VIDEOS, "t1/v1.mp4", time.time() + 60)).query)
    assert folder.check_read(VIDEOS, "t1/v1.mp4", upload["se"][0], upload["sig"][0]) is False  # cannot read
    expired = parse_qs(urlsplit(folder.media_url(VIDEOS, "t1/v1.mp4", time.time() - 1)).query)
    assert folder.check_read(VIDEOS, "t1/v1.mp4", expired["se"][0], expired["sig"][0]) is False
