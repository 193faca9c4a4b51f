"""The cache port: a string key-value store with expiry.

Two adapters: ``RedisCache`` (Azure Managed Redis, redis-server locally) and
``MemoryCache`` (an in-process LRU, the embedded default). A cache is an
optimisation: callers treat ``CacheUnavailable`` as "everything missed" and go on.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Mapping, Protocol, Sequence

import redis
from redis.credentials import CredentialProvider

log = logging.getLogger(__name__)


class CacheUnavailable(RuntimeError):
    """The cache cannot be reached right now."""


@dataclass(frozen=True)
class DependencyHealth:
    name: str
    status: str  # "ok" | "degraded" | "down"
    detail: str = ""


class Cache(Protocol):
    kind: str

    def get_many(self, keys: Sequence[str]) -> list[str | None]: ...

    def set_many(self, items: Mapping[str, str], ttl_s: int) -> None: ...

    def delete(self, keys: Sequence[str]) -> None: ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every key starting with ``prefix`` (a tenant's erasure); returns how many."""
        ...

    def health(self) -> DependencyHealth: ...


class MemoryCache:
    """Thread-safe LRU with per-entry expiry, bounded by item count."""

    kind = "memory"

    def __init__(self, max_items: int = 100_000, clock=time.monotonic):
        self._items: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._max_items = max_items
        self._clock = clock
        self._lock = threading.Lock()

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        now = self._clock()
        found: list[str | None] = []
        with self._lock:
            for key in keys:
                entry = self._items.get(key)
                if entry is None or entry[0] <= now:
                    self._items.pop(key, None)
                    found.append(None)
                else:
                    self._items.move_to_end(key)
                    found.append(entry[1])
        return found

    def set_many(self, items: Mapping[str, str], ttl_s: int) -> None:
        expires = self._clock() + ttl_s
        with self._lock:
            for key, value in items.items():
                self._items[key] = (expires, value)
                self._items.move_to_end(key)
            while len(self._items) > self._max_items:
                self._items.popitem(last=False)

    def delete(self, keys: Sequence[str]) -> None:
        with self._lock:
            for key in keys:
                self._items.pop(key, None)

    def delete_prefix(self, prefix: str) -> int:
        if not prefix:
            raise ValueError("delete_prefix needs a prefix; it never empties the whole cache")
        with self._lock:
            doomed = [key for key in self._items if key.startswith(prefix)]
            for key in doomed:
                del self._items[key]
        return len(doomed)

    def health(self) -> DependencyHealth:
        return DependencyHealth("cache", "ok", f"in-process LRU, {len(self._items)} items")


class EntraIdCredentials(CredentialProvider):
    """Redis credentials from Microsoft Entra ID: user = the identity's object id, password =
    an access token for Azure Managed Redis (and Azure Cache for Redis: the same scope), renewed
    five minutes before it expires.

    redis-py asks for credentials whenever it opens a connection; a connection whose token
    has expired is closed by the server, fails one call (the cache then serves uncached for
    a few seconds) and is reopened with a fresh token.
    """

    SCOPE = "https://redis.azure.com/.default"

    def __init__(self, credential=None):
        if credential is None:
            from azure.identity import DefaultAzureCredential  # only where identity is used

            credential = DefaultAzureCredential()
        self._credential = credential
        self._token = None
        self._lock = threading.Lock()

    def get_credentials(self) -> tuple[str, str]:
        with self._lock:
            if self._token is None or self._token.expires_on - time.time() < 300:
                self._token = self._credential.get_token(self.SCOPE)
            token = self._token.token
        return _object_id(token), token


# Azure Managed Redis serves TLS on 10000 at {name}.{region}.redis.azure.net; the retiring Azure Cache
# for Redis (*.redis.cache.windows.net) on 6380. Its database uses the Enterprise clustering policy
# (infra/modules/redis.bicep): one endpoint whose proxy routes every key, so this plain, non-cluster
# client works and MGET/DEL across hash slots are allowed.
MANAGED_REDIS_PORT = 10000
AZURE_CACHE_FOR_REDIS_PORT = 6380


def azure_redis_port(host: str) -> int:
    """The TLS port of an Azure Redis host name: 6380 for Azure Cache for Redis, else Azure Managed Redis' 10000."""
    return AZURE_CACHE_FOR_REDIS_PORT if host.lower().endswith(".redis.cache.windows.net") else MANAGED_REDIS_PORT


def _object_id(token: str) -> str:
    """The ``oid`` claim of a JWT (no signature check: the token is ours, from Entra ID)."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims["oid"]


class RedisCache:
    """Redis adapter with a short circuit-breaker.

    After a failed call it raises ``CacheUnavailable`` at once for ``retry_after_s``
    instead of paying a connect timeout on every request while Redis is down.
    """

    kind = "redis"

    def __init__(self, url: str, retry_after_s: float = 5.0, timeout_s: float = 0.5, clock=time.monotonic,
                 client: redis.Redis | None = None):
        self._client = client or redis.Redis.from_url(
            url,
            socket_connect_timeout=timeout_s,
            socket_timeout=timeout_s,
            decode_responses=True,
        )
        self._retry_after_s = retry_after_s
        self._clock = clock
        self._down_until = 0.0
        self._url_for_humans = _without_password(url)

    @classmethod
    def with_entra_id(cls, host: str, port: int | None = None, ssl: bool = True, credential=None,
                      retry_after_s: float = 5.0, timeout_s: float = 0.5) -> "RedisCache":
        """Azure Managed Redis (REDIS_HOST, e.g. ``NAME.REGION.redis.azure.net``) with the app's identity
        instead of an access key; the port follows from the host name unless given."""
        host = host.strip()
        if not host or "/" in host or ":" in host:
            raise ValueError(f"REDIS_HOST must be a bare host name such as NAME.REGION.redis.azure.net, not {host!r}")
        port = port or azure_redis_port(host)
        client = redis.Redis(host=host, port=port, ssl=ssl, credential_provider=EntraIdCredentials(credential),
                             socket_connect_timeout=timeout_s, socket_timeout=timeout_s, decode_responses=True)
        scheme = "rediss" if ssl else "redis"
        return cls(f"{scheme}://{host}:{port} (Entra ID)", retry_after_s, timeout_s, client=client)

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        if not keys:
            return []
        return self._call(lambda: self._client.mget(list(keys)))

    def set_many(self, items: Mapping[str, str], ttl_s: int) -> None:
        if not items:
            return

        def write():
            pipe = self._client.pipeline(transaction=False)
            for key, value in items.items():
                pipe.set(key, value, ex=ttl_s)
            pipe.execute()

        self._call(write)

    def delete(self, keys: Sequence[str]) -> None:
        if keys:
            self._call(lambda: self._client.delete(*keys))

    def delete_prefix(self, prefix: str) -> int:
        """SCAN (never KEYS, which blocks the server) for the prefix, UNLINK in batches."""
        if not prefix:
            raise ValueError("delete_prefix needs a prefix; it never empties the whole cache")
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", prefix) + "*"

        def erase() -> int:
            removed, batch = 0, []
            for key in self._client.scan_iter(match=pattern, count=1000):
                batch.append(key)
                if len(batch) == 500:
                    removed += self._client.unlink(*batch)
                    batch = []
            if batch:
                removed += self._client.unlink(*batch)
            return removed

        return self._call(erase)

    def health(self) -> DependencyHealth:
        try:
            self._client.ping()
        except redis.RedisError as error:
            return DependencyHealth("cache", "degraded", f"redis at {self._url_for_humans} unreachable: {error}")
        self._down_until = 0.0
        return DependencyHealth("cache", "ok", f"redis at {self._url_for_humans}")

    def _call(self, operation):
        if self._clock() < self._down_until:
            raise CacheUnavailable(f"redis at {self._url_for_humans} marked down; retrying later")
        try:
            return operation()
        except redis.RedisError as error:
            self._down_until = self._clock() + self._retry_after_s
            log.warning("redis at %s unavailable (%s); serving uncached for %.0f s",
                        self._url_for_humans, error, self._retry_after_s)
            raise CacheUnavailable(str(error)) from error


def _without_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = rest.split("@", 1)[1]
    return f"{scheme}{sep}{rest}"
