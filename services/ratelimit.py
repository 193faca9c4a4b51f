"""Rate limits per user and per tenant, with the `limits` library.

Storage is Redis when REDIS_URL (or REDIS_HOST, with Entra ID) is set, so every instance
of the app counts against the same windows; otherwise in-process. If Redis fails, the
limiter counts in-process for ``retry_after_s`` rather than letting everything through
or refusing everyone (the same short circuit-breaker as the cache).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Quota:
    """The windows of one action for one user and for a whole tenant."""

    per_user: tuple[RateLimitItem, ...]
    per_tenant: tuple[RateLimitItem, ...]

    @classmethod
    def parse(cls, per_user: str, per_tenant: str) -> "Quota":
        return cls(tuple(parse_many(per_user)), tuple(parse_many(per_tenant)))


class RateLimiter:
    def __init__(self, quotas: dict[str, Quota], storage: Storage | None = None, retry_after_s: float = 5.0,
                 clock=time.monotonic):
        self.quotas = quotas
        self._local = MovingWindowRateLimiter(MemoryStorage())
        self._shared = MovingWindowRateLimiter(storage) if storage is not None else None
        self._retry_after_s = retry_after_s
        self._clock = clock
        self._down_until = 0.0
        self._lock = threading.Lock()

    @classmethod
    def from_redis_url(cls, quotas: dict[str, Quota], url: str, **options) -> "RateLimiter":
        storage = storage_from_string(url, socket_connect_timeout=0.5, socket_timeout=0.5, **options)
        return cls(quotas, storage)

    def hit(self, action: str, tenant_id: str, user_id: str) -> float | None:
        """Count one ``action``; None if allowed, else the seconds until it would be."""
        quota = self.quotas[action]
        checks = [(item, (action, "user", tenant_id, user_id)) for item in quota.per_user]
        checks += [(item, (action, "tenant", tenant_id)) for item in quota.per_tenant]
        limiter = self._limiter()
        try:
            return self._hit_all(limiter, checks)
        except Exception as error:  # noqa: BLE001 - a storage failure must not fail the request
            if limiter is self._local:
                raise
            with self._lock:
                self._down_until = self._clock() + self._retry_after_s
            log.warning("rate limits: shared storage unavailable (%s); counting in-process for %.0f s",
                        type(error).__name__, self._retry_after_s)
            return self._hit_all(self._local, checks)

    def _limiter(self) -> MovingWindowRateLimiter:
        if self._shared is None or self._clock() < self._down_until:
            return self._local
        return self._shared

    @staticmethod
    def _hit_all(limiter: MovingWindowRateLimiter, checks) -> float | None:
        for item, identifiers in checks:
            if not limiter.hit(item, *identifiers):
                reset_at = limiter.get_window_stats(item, *identifiers).reset_time
                return max(1.0, math.ceil(reset_at - time.time()))
        return None
