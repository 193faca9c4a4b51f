"""The Azure Blob adapter (services/blobs_azure.py): what the contract suite cannot show.

Against one Azurite started for this module on free loopback ports: SAS upload URLs
as an API client uses them (PUT with ``x-ms-blob-type: BlockBlob``), SAS refusals,
ffmpeg reading a video through a read SAS with range requests, block uploads that
keep memory bounded, batched prefix deletes. The user-delegation path (Azure with
an identity) is checked offline with a stand-in key: Azurite issues none over http.
"""

from __future__ import annotations

import base64
import hashlib
import io
import random
import time
import tracemalloc
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from azure.core.credentials import AccessToken
from azure.storage.blob import BlobServiceClient, UserDelegationKey

from devhost.asgi import free_port
from devhost.stack.azurite import ACCOUNT_KEY, ACCOUNT_NAME, AzuriteError, start_azurite
from pipeline import media
from pipeline.records import ChunkPlan
from services.blobs import CHUNKS, VIDEOS, BlobNotFound
from services.blobs_azure import DEFAULT_BLOCK_SIZE, AzureBlobStore
from tests.speech_fixtures import Utterance, build_speech, read_wav, wrap_as_video

BLOCK_BLOB = {"x-ms-blob-type": "BlockBlob"}
MiB = 1 << 20


@pytest.fixture(scope="module")
def azurite(tmp_path_factory):
    handle = start_azurite(tmp_path_factory.mktemp("azurite"))
    yield handle
    handle.stop()


@pytest.fixture
def store(azurite):
    return AzureBlobStore.from_connection_string(azurite.connection_string)


@pytest.fixture
def raw(azurite):
    """The plain SDK, to look at what the adapter stored."""
    return BlobServiceClient.from_connection_string(azurite.connection_string)


@pytest.fixture
def tenant():
    return f"tenant-{uuid.uuid4().hex[:8]}"


def _query(url: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}


def _sas_time(value: str) -> float:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


# --- Azurite itself ------------------------------------------------------------------


def test_azurite_serves_blob_queue_and_table_on_loopback(azurite):
    assert azurite.running
    assert len({azurite.blob_port, azurite.queue_port, azurite.table_port}) == 3
    conn = azurite.connection_string
    assert conn.startswith(f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};")
    for service, port in (("Blob", azurite.blob_port), ("Queue", azurite.queue_port), ("Table", azurite.table_port)):
        assert f"{service}Endpoint=http://127.0.0.1:{port}/{ACCOUNT_NAME};" in conn
        # Any HTTP answer (even 4xx for a bare GET) shows the service is up.
        assert httpx.get(f"http://127.0.0.1:{port}/{ACCOUNT_NAME}", timeout=5).status_code < 500


def test_azurite_on_a_busy_port_fails_with_the_reason(azurite, tmp_path):
    with pytest.raises(AzuriteError, match="EADDRINUSE"):
        start_azurite(tmp_path / "second", blob_port=azurite.blob_port)


# --- upload_url: what an API client does ---------------------------------------------------


def test_put_to_upload_url_with_the_block_blob_header_stores_the_blob(store, tenant):
    path = f"{tenant}/my video.mp4"
    url = store.upload_url(VIDEOS, path, time.time() + 600)
    response = httpx.put(url, content=b"uploaded by a client", headers=BLOCK_BLOB)
    assert response.status_code == 201, response.text
    assert store.get_bytes(VIDEOS, path) == b"uploaded by a client"


def test_upload_url_sas_is_write_only_for_exactly_that_blob_until_the_given_expiry(store, tenant):
    expires_at = time.time() + 900
    query = _query(store.upload_url(VIDEOS, f"{tenant}/v.mp4", expires_at))
    assert (query["sp"], query["sr"]) == ("cw", "b")  # create + write, one blob
    assert _sas_time(query["se"]) == int(expires_at)
    assert query["spr"] == "https,http", "Azurite serves http; in Azure the SAS is https-only"


def test_a_put_without_the_block_blob_header_is_refused(store, tenant):
    """API clients must send x-ms-blob-type: BlockBlob (Azurite answers 400 with an empty body)."""
    url = store.upload_url(VIDEOS, f"{tenant}/v.mp4", time.time() + 600)
    assert httpx.put(url, content=b"x").status_code == 400
    assert not store.exists(VIDEOS, f"{tenant}/v.mp4")


def test_an_expired_upload_url_is_refused(store, tenant):
    url = store.upload_url(VIDEOS, f"{tenant}/v.mp4", time.time() - 1)
    assert httpx.put(url, content=b"x", headers=BLOCK_BLOB).status_code == 403
    assert not store.exists(VIDEOS, f"{tenant}/v.mp4")


def test_a_tampered_upload_url_is_refused(store, tenant):
    url = store.upload_url(VIDEOS, f"{tenant}/v.mp4", time.time() + 600)
    signature = _quoted(url, "sig")
    forged = ("A" if signature[0] != "A" else "B") + signature[1:]
    for tampered in (
        url.replace(f"/{tenant}/v.mp4", f"/{tenant}/other.mp4"),  # another blob
        url.replace(f"/{VIDEOS}/", f"/{CHUNKS}/"),  # another container
        url.replace("sp=cw", "sp=rcw"),  # more permissions
        url.replace("sig=" + signature, "sig=" + forged),  # another signature
    ):
        assert tampered != url
        assert httpx.put(tampered, content=b"x", headers=BLOCK_BLOB).status_code == 403, tampered
    assert store.list(VIDEOS, f"{tenant}/") == []
    assert store.list(CHUNKS, f"{tenant}/") == []


def _quoted(url: str, name: str) -> str:
    return next(p.split("=", 1)[1] for p in urlsplit(url).query.split("&") if p.startswith(name + "="))


def test_an_upload_url_cannot_read_and_a_readable_url_cannot_write(store, tenant):
    store.put_bytes(VIDEOS, f"{tenant}/v.mp4", b"secret")
    upload = store.upload_url(VIDEOS, f"{tenant}/v.mp4", time.time() + 600)
    assert httpx.get(upload).status_code == 403
    readable = store.readable_url(VIDEOS, f"{tenant}/v.mp4")
    assert httpx.put(readable, content=b"overwritten", headers=BLOCK_BLOB).status_code == 403
    assert store.get_bytes(VIDEOS, f"{tenant}/v.mp4") == b"secret"


# --- readable_url: what ffmpeg does -------------------------------------------------------


def test_readable_url_is_a_read_only_sas_for_about_two_hours(store, tenant):
    store.put_bytes(VIDEOS, f"{tenant}/v.mp4", b"0123456789")
    url = store.readable_url(VIDEOS, f"{tenant}/v.mp4")
    query = _query(url)
    assert (query["sp"], query["sr"]) == ("r", "b")
    assert _sas_time(query["se"]) - time.time() == pytest.approx(2 * 3600, abs=120)
    ranged = httpx.get(url, headers={"Range": "bytes=2-5"})
    assert (ranged.status_code, ranged.content) == (206, b"2345")


@pytest.fixture(scope="module")
def speech_videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("media")
    wav = folder / "speech.wav"
    build_speech([Utterance("What do you see in the picture?", 1.0), Utterance("Is it red?", 0.5)], wav)
    # ffmpeg's default MP4 keeps the index (moov) at the end: reading it over HTTP needs range requests.
    return {"moov-last": wrap_as_video(wav, folder / "speech.mp4"),
            "faststart": wrap_as_video(wav, folder / "speech-faststart.mp4", faststart=True)}


@pytest.mark.parametrize("layout", ["moov-last", "faststart"])
def test_ffmpeg_probes_and_cuts_an_mp4_through_the_readable_url(store, tenant, speech_videos, layout, tmp_path):
    local = speech_videos[layout]
    store.put_file(VIDEOS, f"{tenant}/{local.name}", local)
    url = store.readable_url(VIDEOS, f"{tenant}/{local.name}")

    info = media.probe(url)
    assert info == media.probe(str(local))
    assert info.has_audio and info.audio_codec == "aac" and info.duration_s > 3

    plan = ChunkPlan(index=0, start_s=1.0, end_s=3.0, own_from_s=1.0, own_to_s=3.0)
    media.cut_chunk(url, plan, str(tmp_path / "remote.wav"))
    media.cut_chunk(str(local), plan, str(tmp_path / "local.wav"))
    remote_samples, rate, channels = read_wav(tmp_path / "remote.wav")
    local_samples, _, _ = read_wav(tmp_path / "local.wav")
    assert (rate, channels, len(remote_samples)) == (16_000, 1, 32_000)
    assert (remote_samples == local_samples).all()
    assert abs(remote_samples.astype(int)).max() > 1000, "speech, not silence"


def test_ffmpeg_reports_a_damaged_upload_read_through_the_readable_url(store, tenant, speech_videos):
    data = speech_videos["moov-last"].read_bytes()
    store.put_bytes(VIDEOS, f"{tenant}/cut.mp4", data[: len(data) // 2])
    with pytest.raises(media.MediaError, match="truncated or damaged"):
        media.probe(store.readable_url(VIDEOS, f"{tenant}/cut.mp4"))


# --- uploads in blocks ------------------------------------------------------------------


class GeneratedStream(io.RawIOBase):
    """``total`` pseudo-random bytes made on demand in small pieces, never held whole;
    not seekable and of unknown length, like an upload's request body."""

    def __init__(self, total: int, piece: int = 64 << 10):
        self._left, self._piece = total, piece
        self._random = random.Random(20261128)
        self.sha256 = hashlib.sha256()

    def readable(self):
        return True

    def read(self, size=-1):
        n = min(self._left, self._piece if size is None or size < 0 else min(size, self._piece))
        data = self._random.randbytes(n)
        self.sha256.update(data)
        self._left -= n
        return data


def test_a_20_mib_stream_uploads_in_blocks_with_bounded_memory_and_round_trips(azurite, raw, tenant, tmp_path):
    store = AzureBlobStore.from_connection_string(azurite.connection_string, block_size=1 * MiB, max_concurrency=2)
    stream = GeneratedStream(20 * MiB)
    tracemalloc.start()
    try:
        written = store.put_stream(VIDEOS, f"{tenant}/big.mp4", stream)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert written == 20 * MiB
    assert peak < 8 * MiB, f"peak {peak / MiB:.1f} MiB while uploading 20 MiB"
    committed, uncommitted = raw.get_blob_client(VIDEOS, f"{tenant}/big.mp4").get_block_list("all")
    assert (len(committed), len(uncommitted)) == (20, 0)
    assert {block.size for block in committed} == {1 * MiB}

    local = tmp_path / "big.mp4"
    store.download_to(VIDEOS, f"{tenant}/big.mp4", local)
    assert hashlib.sha256(local.read_bytes()).hexdigest() == stream.sha256.hexdigest()


def test_default_transfers_use_4_mib_blocks(store):
    assert store.block_size == DEFAULT_BLOCK_SIZE == 4 * MiB
    assert store.max_concurrency >= 2


def test_put_file_larger_than_a_block_is_uploaded_in_blocks(azurite, raw, tenant, tmp_path):
    store = AzureBlobStore.from_connection_string(azurite.connection_string, block_size=1 * MiB)
    local = tmp_path / "video.bin"
    local.write_bytes(random.Random(1).randbytes(3 * MiB + 5))
    store.put_file(VIDEOS, f"{tenant}/video.bin", local)
    committed, _ = raw.get_blob_client(VIDEOS, f"{tenant}/video.bin").get_block_list("committed")
    assert len(committed) == 4
    assert store.get_bytes(VIDEOS, f"{tenant}/video.bin") == local.read_bytes()


def test_a_stream_failing_after_some_blocks_leaves_no_blob(azurite, raw, tenant):
    store = AzureBlobStore.from_connection_string(azurite.connection_string, block_size=1 * MiB, max_concurrency=1)

    class DropsAfter3MiB(GeneratedStream):
        def read(self, size=-1):
            if self._left <= 2 * MiB:
                raise ConnectionResetError("client went away")
            return super().read(size)

    with pytest.raises(ConnectionResetError):
        store.put_stream(VIDEOS, f"{tenant}/broken.mp4", DropsAfter3MiB(5 * MiB))
    assert not store.exists(VIDEOS, f"{tenant}/broken.mp4")
    assert store.list(VIDEOS, f"{tenant}/") == []


# --- deletes, containers, health ----------------------------------------------------------


def test_delete_prefix_deletes_more_than_one_batch(store, tenant):
    names = [f"{tenant}/v1/{i:04d}.json" for i in range(300)]  # a batch holds at most 256
    for name in names:
        store.put_bytes(CHUNKS, name, b"{}")
    store.put_bytes(CHUNKS, f"{tenant}/v2/keep.json", b"{}")
    assert store.delete_prefix(CHUNKS, f"{tenant}/v1/") == 300
    assert store.list(CHUNKS, f"{tenant}/") == [f"{tenant}/v2/keep.json"]


def test_a_container_is_created_on_its_first_write(store, raw, tenant):
    container = f"extra-{uuid.uuid4().hex[:8]}"
    assert store.list(container) == []
    store.put_bytes(container, f"{tenant}/a.txt", b"a")
    assert store.get_bytes(container, f"{tenant}/a.txt") == b"a"
    assert raw.get_container_client(container).exists()


def test_start_creates_the_videos_and_chunks_containers(azurite, raw):
    assert raw.get_container_client(VIDEOS).exists()
    assert raw.get_container_client(CHUNKS).exists()


@pytest.mark.parametrize("container", ["UPPER", "a", "under_score", "double--dash", "../videos"])
def test_invalid_container_names_are_rejected(store, container):
    with pytest.raises(ValueError, match="container name"):
        store.get_bytes(container, "t1/a")


@pytest.mark.parametrize("path", ["", "t1/", "t1//a", "t1/./a"])
def test_names_that_are_not_plain_blob_names_are_rejected(store, path):
    with pytest.raises(ValueError, match="not a valid blob name"):
        store.put_bytes(VIDEOS, path, b"x")


def test_a_missing_blob_has_no_readable_url(store, tenant):
    with pytest.raises(BlobNotFound):
        store.readable_url(VIDEOS, f"{tenant}/nothing.mp4")


def test_storage_down_at_start_does_not_stall_and_health_says_down():
    closed = free_port()
    conn = (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{closed}/{ACCOUNT_NAME};")
    started = time.monotonic()
    store = AzureBlobStore.from_connection_string(conn)
    health = store.health()
    assert time.monotonic() - started < 5
    assert health.status == "down"
    assert f"127.0.0.1:{closed}" in health.detail and ACCOUNT_KEY not in health.detail


# --- Azure with an identity: user-delegation SAS (offline) ----------------------------------


class StaticToken:
    def get_token(self, *scopes, **kwargs):
        return AccessToken("not-a-real-token", int(time.time()) + 3600)


def _delegation_key(start: datetime, expiry: datetime) -> UserDelegationKey:
    key = UserDelegationKey()
    key.signed_oid, key.signed_tid = "00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-00000000000b"
    key.signed_start, key.signed_expiry = f"{start:%Y-%m-%dT%H:%M:%SZ}", f"{expiry:%Y-%m-%dT%H:%M:%SZ}"
    key.signed_service, key.signed_version = "b", "2026-10-06"
    key.value = base64.b64encode(b"k" * 32).decode()
    return key


def test_identity_store_signs_https_only_user_delegation_sas_with_a_cached_key(monkeypatch):
    store = AzureBlobStore.from_account_url("https://account.blob.core.windows.net", credential=StaticToken(),
                                            containers=())
    fetched: list[tuple[datetime, datetime]] = []

    def get_user_delegation_key(start, expiry, **kwargs):
        fetched.append((start, expiry))
        return _delegation_key(start, expiry)

    monkeypatch.setattr(store._service, "get_user_delegation_key", get_user_delegation_key)
    monkeypatch.setattr(store, "_ensure_container", lambda container, **options: None)  # no network here

    first = store.upload_url(VIDEOS, "t1/a.mp4", time.time() + 3600)
    second = store.upload_url(VIDEOS, "t1/b.mp4", time.time() + 7200)
    assert len(fetched) == 1, "the key is reused while it outlives the SAS"
    assert fetched[0][1] - datetime.now(timezone.utc) > timedelta(hours=23)
    for url in (first, second):
        assert url.startswith("https://account.blob.core.windows.net/videos/t1/")
        query = _query(url)
        assert (query["spr"], query["sp"], query["skoid"]) == ("https", "cw", "00000000-0000-0000-0000-00000000000a")

    store.upload_url(VIDEOS, "t1/c.mp4", time.time() + 3 * 86400)
    assert len(fetched) == 2 and fetched[1][1] - datetime.now(timezone.utc) > timedelta(days=3)
    with pytest.raises(ValueError, match="7 days"):
        store.upload_url(VIDEOS, "t1/d.mp4", time.time() + 8 * 86400)


def test_media_url_is_a_read_only_sas_until_the_given_expiry_that_serves_ranges(store, tenant):
    store.put_bytes(VIDEOS, f"{tenant}/v.mp4", b"0123456789")
    expires_at = time.time() + 900
    url = store.media_url(VIDEOS, f"{tenant}/v.mp4", expires_at)
    query = _query(url)
    assert (query["sp"], query["sr"], _sas_time(query["se"])) == ("r", "b", int(expires_at))
    ranged = httpx.get(url, headers={"Range": "bytes=2-5"})
    assert (ranged.status_code, ranged.content) == (206, b"2345")
    assert httpx.put(url, content=b"overwritten", headers=BLOCK_BLOB).status_code == 403
    with pytest.raises(BlobNotFound):
        store.media_url(VIDEOS, f"{tenant}/gone.mp4", expires_at)
