"""devhost/stack/cosmos_launcher.js: the fixes it makes to @vercel/cosmosdb-server, checked
through the real azure-cosmos SDK (and raw HTTP where the SDK would hide the point).

Run with ``-s`` to see the throughput figures (printed, not asserted).
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import time
import uuid

import pytest
from azure.cosmos import CosmosClient, PartitionKey, exceptions

from devhost.stack.cosmos_launcher import EMULATOR_KEY, SERVER_PACKAGE, CosmosLauncherError, start_cosmos


@pytest.fixture(scope="module")
def server():
    try:
        running = start_cosmos()
    except CosmosLauncherError as error:
        pytest.fail(f"{error}\n(install Node 20 and run `cd devhost/stack && npm ci`)")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def database(server):
    client = CosmosClient(server.endpoint, server.key)  # endpoint discovery on: the SDK's default
    return client.create_database_if_not_exists(f"launcher-{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
def by_tenant(database):
    return database.create_container_if_not_exists("by_tenant", PartitionKey("/tenant_id"))


@pytest.fixture(scope="module")
def by_video(database):
    return database.create_container_if_not_exists(
        "by_video", PartitionKey(path=["/tenant_id", "/video_id"], kind="MultiHash"))


def raw_get(connection: http.client.HTTPConnection, path: str = "/"):
    connection.request("GET", path)
    response = connection.getresponse()
    return response, json.loads(response.read())


# --- keep-alive ---------------------------------------------------------------------------------


def test_many_requests_share_one_keep_alive_connection(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        raw_get(connection)
        sock, local = connection.sock, connection.sock.getsockname()
        for _ in range(100):
            response, _ = raw_get(connection)
            assert response.status == 200
            assert response.getheader("connection") == "keep-alive"
            assert connection.sock is sock and sock.getsockname() == local  # never reconnected
    finally:
        connection.close()


# --- http:// advertisement ----------------------------------------------------------------------


def test_the_account_advertises_the_plain_http_address_it_serves(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        response, account = raw_get(connection)
    finally:
        connection.close()
    endpoints = [loc["databaseAccountEndpoint"] for loc in account["writableLocations"] + account["readableLocations"]]
    assert endpoints and all(url == f"http://127.0.0.1:{server.port}/" for url in endpoints)
    assert response.getheader("content-location").startswith("http://")


def test_the_sdk_works_with_endpoint_discovery_on(server, database, by_tenant):
    client = CosmosClient(server.endpoint, server.key, enable_endpoint_discovery=True, retry_total=1,
                          retry_backoff_max=1, connection_timeout=5)
    container = client.get_database_client(database.id).get_container_client(by_tenant.id)
    container.upsert_item({"id": "discovered", "tenant_id": "t-disc"})
    assert container.read_item("discovered", partition_key="t-disc")["id"] == "discovered"


# --- 404 for missing items ----------------------------------------------------------------------


def test_a_missing_item_is_not_found_for_read_replace_patch_and_delete(by_tenant, by_video):
    with pytest.raises(exceptions.CosmosResourceNotFoundError):
        by_tenant.read_item("missing", partition_key="t-404")
    with pytest.raises(exceptions.CosmosResourceNotFoundError):
        by_tenant.replace_item("missing", {"id": "missing", "tenant_id": "t-404"})
    with pytest.raises(exceptions.CosmosResourceNotFoundError):
        by_tenant.patch_item("missing", partition_key="t-404",
                             patch_operations=[{"op": "set", "path": "/x", "value": 1}])
    with pytest.raises(exceptions.CosmosResourceNotFoundError):
        by_tenant.delete_item("missing", partition_key="t-404")
    by_video.upsert_item({"id": "q1", "tenant_id": "t-404", "video_id": "v1"})
    with pytest.raises(exceptions.CosmosResourceNotFoundError):  # right id, another video's partition
        by_video.read_item("q1", partition_key=["t-404", "v2"])
    with pytest.raises(exceptions.CosmosResourceNotFoundError):
        by_video.delete_item("q1", partition_key=["t-404", "v2"])
    assert by_video.read_item("q1", partition_key=["t-404", "v1"])["video_id"] == "v1"


# --- partition-scoped queries and hierarchical keys ----------------------------------------------


def test_a_partition_scoped_query_returns_only_that_partition(by_tenant):
    for tenant in ("t-scope-a", "t-scope-b"):
        for i in range(3):
            by_tenant.upsert_item({"id": f"d{i}", "tenant_id": tenant, "n": i})
    # No partition key in the WHERE clause at all: the header alone scopes the query.
    found = list(by_tenant.query_items("SELECT * FROM c WHERE c.n >= 0", partition_key="t-scope-a"))
    assert sorted(d["id"] for d in found) == ["d0", "d1", "d2"]
    assert {d["tenant_id"] for d in found} == {"t-scope-a"}
    top = list(by_tenant.query_items("SELECT TOP 2 * FROM c ORDER BY c.n DESC", partition_key="t-scope-b"))
    assert [(d["tenant_id"], d["n"]) for d in top] == [("t-scope-b", 2), ("t-scope-b", 1)]
    everywhere = list(by_tenant.query_items("SELECT * FROM c WHERE c.n >= 0", enable_cross_partition_query=True))
    assert {"t-scope-a", "t-scope-b"} <= {d["tenant_id"] for d in everywhere}


def test_hierarchical_keys_scope_queries_and_keep_same_ids_apart(by_video):
    for video in ("v1", "v2"):
        for i in range(2):
            by_video.upsert_item({"id": f"q{i}", "tenant_id": "t-mh", "video_id": video, "text": f"{video}/{i}"})
    rows = list(by_video.query_items("SELECT * FROM c ORDER BY c.id", partition_key=["t-mh", "v2"]))
    assert [r["text"] for r in rows] == ["v2/0", "v2/1"]
    assert by_video.read_item("q0", partition_key=["t-mh", "v1"])["text"] == "v1/0"
    by_video.delete_item("q0", partition_key=["t-mh", "v1"])
    assert by_video.read_item("q0", partition_key=["t-mh", "v2"])["text"] == "v2/0"


# --- transactional batch --------------------------------------------------------------------------


def test_execute_item_batch_applies_operations_in_one_partition(by_video):
    key = ["t-batch", "v1"]
    results = by_video.execute_item_batch(
        [("upsert", ({"id": "a", "tenant_id": "t-batch", "video_id": "v1"},)),
         ("create", ({"id": "b", "tenant_id": "t-batch", "video_id": "v1"},)),
         ("read", ("a",)),
         ("delete", ("b",))],
        partition_key=key)
    assert [r["statusCode"] for r in results] == [201, 201, 200, 204]
    assert [d["id"] for d in by_video.query_items("SELECT * FROM c", partition_key=key)] == ["a"]


def test_a_failing_atomic_batch_changes_nothing(by_video):
    key = ["t-batch", "v2"]
    by_video.upsert_item({"id": "exists", "tenant_id": "t-batch", "video_id": "v2", "n": 1})
    with pytest.raises(exceptions.CosmosBatchOperationError) as failure:
        by_video.execute_item_batch(
            [("upsert", ({"id": "exists", "tenant_id": "t-batch", "video_id": "v2", "n": 2},)),
             ("create", ({"id": "new", "tenant_id": "t-batch", "video_id": "v2"},)),
             ("create", ({"id": "exists", "tenant_id": "t-batch", "video_id": "v2"},))],
            partition_key=key)
    assert failure.value.error_index == 2
    assert [r["statusCode"] for r in failure.value.operation_responses] == [424, 424, 409]
    assert [(d["id"], d["n"]) for d in by_video.query_items("SELECT * FROM c", partition_key=key)] == [("exists", 1)]


# --- process ------------------------------------------------------------------------------------


def test_the_launcher_exits_cleanly_on_sigterm():
    with start_cosmos() as other:
        assert other.running()
        connection = http.client.HTTPConnection("127.0.0.1", other.port, timeout=5)
        raw_get(connection)  # an open keep-alive connection must not hold the exit up
        started = time.monotonic()
        other.stop()
        connection.close()
    assert other.process.returncode == 0
    assert time.monotonic() - started < 3


# --- throughput (printed, not asserted) -------------------------------------------------------------


def upserts_per_second(client: CosmosClient, n: int) -> tuple[float, float]:
    container = client.create_database_if_not_exists(f"perf-{uuid.uuid4().hex[:8]}").create_container_if_not_exists(
        "perf", PartitionKey("/tenant_id"))
    container.upsert_item({"id": "warm-up", "tenant_id": "t"})
    started = time.perf_counter()
    for i in range(n):
        container.upsert_item({"id": f"doc-{i}", "tenant_id": "t", "n": i, "text": f"question number {i}?"})
    seconds = time.perf_counter() - started
    return seconds, n / seconds


def test_throughput_of_1000_upserts(server):
    n = 1000
    seconds, rate = upserts_per_second(CosmosClient(server.endpoint, server.key), n)
    print(f"\ncosmos_launcher.js (keep-alive, plain HTTP): {n} SDK upserts in {seconds:.2f} s = {rate:.0f} ops/s")

    # The package as shipped, for comparison: its own CLI over plain HTTP (Connection: close;
    # endpoint discovery must be off because it advertises https://).
    stock = subprocess.Popen(["node", str(SERVER_PACKAGE / "lib" / "cli.js"), "--no-ssl", "--host", "127.0.0.1",
                              "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        port = int(re.search(r":(\d+)\s*$", stock.stdout.readline()).group(1))
        client = CosmosClient(f"http://127.0.0.1:{port}/", EMULATOR_KEY, enable_endpoint_discovery=False)
        before_s, before_rate = upserts_per_second(client, n)
    finally:
        stock.terminate()
        stock.wait(timeout=5)
        stock.stdout.close()
    print(f"@vercel/cosmosdb-server as shipped (Connection: close, plain HTTP): {n} SDK upserts in {before_s:.2f} s"
          f" = {before_rate:.0f} ops/s; keep-alive speed-up x{rate / before_rate:.1f}")
