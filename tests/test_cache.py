"""The cache port: the in-process LRU and the Redis adapter against a real redis-server."""

import base64
import json
import shutil
import socket
import subprocess
import time
from types import SimpleNamespace

import pytest

from services.cache import CacheUnavailable, MemoryCache, RedisCache
from services.settings import Settings, SettingsError, build_cache
from tests.conftest import free_port, wait_until


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_memory_cache_round_trip_and_delete():
    cache = MemoryCache()
    cache.set_many({"a": "1", "b": "2"}, ttl_s=60)
    assert cache.get_many(["a", "b", "c"]) == ["1", "2", None]
    cache.delete(["a"])
    assert cache.get_many(["a", "b"]) == [None, "2"]


def test_memory_cache_expires_entries():
    clock = FakeClock()
    cache = MemoryCache(clock=clock)
    cache.set_many({"a": "1"}, ttl_s=10)
    clock.now += 9.9
    assert cache.get_many(["a"]) == ["1"]
    clock.now += 0.2
    assert cache.get_many(["a"]) == [None]


def test_memory_cache_evicts_least_recently_used():
    cache = MemoryCache(max_items=2)
    cache.set_many({"a": "1", "b": "2"}, ttl_s=60)
    cache.get_many(["a"])  # a is now the most recent
    cache.set_many({"c": "3"}, ttl_s=60)
    assert cache.get_many(["a", "b", "c"]) == ["1", None, "3"]


def test_redis_cache_round_trip_with_ttl(live_redis):
    cache = RedisCache(live_redis.url)
    cache.set_many({"k1": "0.25", "k2": "0.75"}, ttl_s=30)
    assert cache.get_many(["k1", "k2", "k3"]) == ["0.25", "0.75", None]
    assert 0 < live_redis.client().ttl("k1") <= 30
    cache.delete(["k1"])
    assert cache.get_many(["k1"]) == [None]
    assert cache.health().status == "ok"


def test_redis_cache_down_raises_cache_unavailable_then_short_circuits():
    clock = FakeClock()
    cache = RedisCache(f"redis://127.0.0.1:{free_port()}/0", retry_after_s=5, clock=clock)
    with pytest.raises(CacheUnavailable):
        cache.get_many(["k"])
    with pytest.raises(CacheUnavailable, match="marked down"):
        cache.set_many({"k": "v"}, ttl_s=1)
    clock.now += 6
    with pytest.raises(CacheUnavailable) as error:
        cache.get_many(["k"])
    assert "marked down" not in str(error.value)  # it tried the server again
    assert cache.health().status == "degraded"


def test_redis_health_hides_the_password():
    cache = RedisCache(f"redis://:s3cret@127.0.0.1:{free_port()}/0")
    assert "s3cret" not in cache.health().detail


def test_settings_choose_the_adapter():
    assert build_cache(Settings()).kind == "memory"
    assert build_cache(Settings(redis_url="redis://127.0.0.1:1/0")).kind == "redis"


def test_settings_from_env_and_their_errors():
    settings = Settings.from_env({"REDIS_URL": " redis://x:1/0 ", "PREDICTION_CACHE_TTL_SECONDS": "60"})
    assert settings.redis_url == "redis://x:1/0" and settings.prediction_cache_ttl_s == 60
    assert Settings.from_env({}) == Settings()
    with pytest.raises(SettingsError, match="PREDICTION_CACHE_TTL_SECONDS"):
        Settings.from_env({"PREDICTION_CACHE_TTL_SECONDS": "soon"})
    with pytest.raises(SettingsError, match="greater than 0"):
        Settings.from_env({"MEMORY_CACHE_MAX_ITEMS": "0"})


# --- Entra ID (Azure Cache for Redis without keys), against a redis-server with an ACL user ---


class FakeEntraCredential:
    """Stands in for DefaultAzureCredential (no Entra ID here): hands out JWT-shaped tokens
    whose ``oid`` claim names the identity, and counts how often it is asked."""

    def __init__(self, oid: str, lifetime_s: float = 3600):
        self.oid, self.lifetime_s, self.calls = oid, lifetime_s, 0

    def get_token(self, *scopes):
        assert scopes == ("https://redis.azure.com/.default",)
        self.calls += 1
        claims = base64.urlsafe_b64encode(json.dumps({"oid": self.oid}).encode()).decode().rstrip("=")
        return SimpleNamespace(token=f"eyJhbGciOiJub25lIn0.{claims}.sig{self.calls}",
                               expires_on=time.time() + self.lifetime_s)


@pytest.fixture
def redis_with_token_user(tmp_path):
    """redis-server whose only user is the identity, with the first token as its password."""
    credential = FakeEntraCredential("8f3c7d2e-0000-4000-8000-00000000abcd")
    token = credential.get_token("https://redis.azure.com/.default").token
    credential.calls = 0
    port = free_port()
    server = subprocess.Popen(
        [shutil.which("redis-server"), "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--dir", str(tmp_path),
         "--user", "default", "off", "--user", credential.oid, "on", f">{token}", "~*", "&*",
         "+@all"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def accepting():
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    wait_until(accepting, what="redis-server with an ACL user")
    yield port, credential
    server.terminate()
    server.wait(timeout=10)


def test_entra_id_cache_authenticates_as_the_identity_with_its_token(redis_with_token_user):
    port, credential = redis_with_token_user
    cache = RedisCache.with_entra_id("127.0.0.1", port, ssl=False, credential=credential)
    cache.set_many({"k": "v"}, ttl_s=60)
    assert cache.get_many(["k"]) == ["v"]
    assert cache.health().status == "ok" and "Entra ID" in cache.health().detail
    assert credential.calls == 1  # one token, reused until near its expiry


def test_entra_id_token_is_renewed_before_it_expires():
    from services.cache import EntraIdCredentials

    credential = FakeEntraCredential("abc", lifetime_s=200)  # inside the 5-minute renewal margin
    provider = EntraIdCredentials(credential)
    user, first = provider.get_credentials()
    _, second = provider.get_credentials()
    assert user == "abc" and first != second and credential.calls == 2


def connection_of(cache: RedisCache) -> dict:
    pool = cache._client.connection_pool
    return {**pool.connection_kwargs, "tls": pool.connection_class.__name__ == "SSLConnection"}


def test_settings_choose_azure_managed_redis_by_host_on_its_tls_port():
    """REDIS_HOST as infra/modules/redis.bicep outputs it: Azure Managed Redis, TLS on 10000, Entra ID."""
    cache = build_cache(Settings(redis_host="redis-abc123.westeurope.redis.azure.net"))
    assert cache.kind == "redis"
    connection = connection_of(cache)
    assert (connection["host"], connection["port"], connection["tls"]) == (
        "redis-abc123.westeurope.redis.azure.net", 10000, True)
    assert connection["credential_provider"].SCOPE == "https://redis.azure.com/.default"


def test_azure_cache_for_redis_hosts_keep_port_6380_while_they_last():
    connection = connection_of(RedisCache.with_entra_id("old.redis.cache.windows.net", credential=object()))
    assert (connection["port"], connection["tls"]) == (6380, True)


@pytest.mark.parametrize("bad", ["", "  ", "rediss://x.westeurope.redis.azure.net", "x.westeurope.redis.azure.net:10000"])
def test_a_redis_host_that_is_not_a_host_name_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="REDIS_HOST must be a bare host name"):
        RedisCache.with_entra_id(bad, credential=object())


def test_memory_cache_delete_prefix_removes_only_that_prefix():
    cache = MemoryCache()
    cache.set_many({"oeqceq:school-a:m:1": "0.1", "oeqceq:school-a:m:2": "0.2", "oeqceq:school-ab:m:1": "0.3"}, 60)
    assert cache.delete_prefix("oeqceq:school-a:") == 2
    assert cache.get_many(["oeqceq:school-a:m:1", "oeqceq:school-ab:m:1"]) == [None, "0.3"]
    with pytest.raises(ValueError):
        cache.delete_prefix("")


def test_redis_cache_delete_prefix_scans_and_escapes_the_pattern(live_redis):
    cache = RedisCache(live_redis.url)
    many = {f"oeqceq:school-a:m:{i}": "0.5" for i in range(1200)}  # more than one SCAN page and UNLINK batch
    cache.set_many({**many, "oeqceq:school-ab:m:1": "0.3", "a*b:1": "x", "axb:1": "y"}, 60)
    assert cache.delete_prefix("oeqceq:school-a:") == 1200
    assert cache.delete_prefix("a*b:") == 1  # a literal *, not a wildcard
    assert sorted(live_redis.client().keys("*")) == ["axb:1", "oeqceq:school-ab:m:1"]
    with pytest.raises(ValueError):
        cache.delete_prefix("")
