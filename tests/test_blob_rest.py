"""devhost's blob upload endpoint speaks the Blob REST operations the storage SDKs use
for block blobs (Put Blob, Put Block, Put Block List), behind the same SAS check, and
reports a blob (one BlobCreated) only when it is committed. Driven by the real
azure-storage-blob SDK where it can be, and by raw HTTP for what a well-behaved SDK never sends."""

from __future__ import annotations

import base64
import os

import httpx
import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobClient

from blueprints import dependencies
from devhost.asgi import LoopbackServer, free_port
from devhost.http_host import FunctionAppAsgi
from devhost.platform import LocalPlatform
from services.blobs import VIDEOS

KiB = 1024


@pytest.fixture
def upload(app_settings, tmp_path):
    """An upload URL on a served devhost, and the blobs BlobCreated was fired for."""
    port = free_port()
    app_settings(DATA_DIR=str(tmp_path / "data"), PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")
    with LocalPlatform(functions=(), run_worker=False) as platform, \
            LoopbackServer(FunctionAppAsgi(functions=(), platform=platform), port):
        created: list[tuple[str, str]] = []
        platform.blob_created = lambda container, path: created.append((container, path))
        url = dependencies.blobs().upload_url(VIDEOS, "school-a/v1.mp4", expires_at=4_000_000_000)
        yield url, created


def stored(path: str = "school-a/v1.mp4") -> bytes:
    return dependencies.blobs().get_bytes(VIDEOS, path)


def block_id(n: int) -> str:
    return base64.b64encode(f"block-{n:06d}".encode()).decode()


def wait_for(created, count: int = 1) -> None:
    from tests.conftest import wait_until

    wait_until(lambda: len(created) >= count, timeout_s=5, what="BlobCreated")


def test_the_sdk_uploads_in_blocks_and_the_blob_is_created_once(upload):
    url, created = upload
    data = os.urandom(300 * KiB + 7)
    BlobClient.from_blob_url(url, max_single_put_size=64 * KiB, max_block_size=64 * KiB).upload_blob(
        data, max_concurrency=3, metadata={"educator": "Ann"})
    wait_for(created)
    assert stored() == data
    assert created == [(VIDEOS, "school-a/v1.mp4")]


def test_the_sdk_puts_a_small_blob_in_one_request(upload):
    url, created = upload
    BlobClient.from_blob_url(url).upload_blob(b"small video", overwrite=True)
    wait_for(created)
    assert stored() == b"small video" and len(created) == 1


def test_blocks_become_a_blob_only_on_the_block_list_in_its_order(upload):
    url, created = upload
    for n, part in enumerate([b"first ", b"second ", b"third"]):
        response = httpx.put(f"{url}&comp=block&blockid={block_id(n)}", content=part)
        assert response.status_code == 201
    assert not dependencies.blobs().exists(VIDEOS, "school-a/v1.mp4") and created == []
    order = "".join(f"<Latest>{block_id(n)}</Latest>" for n in (2, 0))  # block 1 left out: discarded
    response = httpx.put(f"{url}&comp=blocklist", content=f'<?xml version="1.0"?><BlockList>{order}</BlockList>')
    assert response.status_code == 201 and response.headers["etag"]
    wait_for(created)
    assert stored() == b"thirdfirst "


def test_a_block_list_naming_a_block_never_uploaded_is_refused(upload):
    url, created = upload
    httpx.put(f"{url}&comp=block&blockid={block_id(0)}", content=b"x")
    response = httpx.put(f"{url}&comp=blocklist",
                         content=f"<BlockList><Latest>{block_id(0)}</Latest><Latest>{block_id(9)}</Latest></BlockList>")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_block_list"
    assert "never uploaded" in response.json()["error"]["message"] and created == []


@pytest.mark.parametrize("body", [b"not xml", b"<Other/>", b"<BlockList/>", b"<BlockList><Latest>!!</Latest></BlockList>"])
def test_a_malformed_block_list_gets_a_clear_reason(upload, body):
    url, _ = upload
    response = httpx.put(f"{url}&comp=blocklist", content=body)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_block_list"


def test_block_ids_must_be_base64(upload):
    url, _ = upload
    response = httpx.put(f"{url}&comp=block&blockid=not*base64", content=b"x")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_block_id"


def test_every_operation_needs_the_signature(upload):
    url, created = upload
    forged = url.replace("v1.mp4", "v2.mp4")
    assert httpx.put(f"{forged}&comp=block&blockid={block_id(0)}", content=b"x").status_code == 403
    assert httpx.put(f"{forged}&comp=blocklist", content=f"<BlockList><Latest>{block_id(0)}</Latest></BlockList>"
                     ).status_code == 403
    with pytest.raises(HttpResponseError) as refused:
        BlobClient.from_blob_url(forged).upload_blob(b"x")
    assert refused.value.status_code == 403 and created == []
