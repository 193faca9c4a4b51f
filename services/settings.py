"""Settings, read once from the environment, and the one place adapters are chosen.

Every setting has an embedded default so the app runs with none at all; the
names are those in local.settings.json.example (the Functions host turns its
"Values" into environment variables) and the README's settings table.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

from services.cache import Cache, MemoryCache, RedisCache


class SettingsError(ValueError):
    """A setting is present but unusable; the message names it."""


@dataclass(frozen=True)
class Settings:
    redis_url: str | None = None
    prediction_cache_ttl_s: int = 7 * 24 * 3600
    memory_cache_max_items: int = 100_000
    redis_retry_after_s: float = 5.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        return cls(
            redis_url=_text(env, "REDIS_URL"),
            prediction_cache_ttl_s=_number(env, "PREDICTION_CACHE_TTL_SECONDS", cls.prediction_cache_ttl_s, int),
            memory_cache_max_items=_number(env, "MEMORY_CACHE_MAX_ITEMS", cls.memory_cache_max_items, int),
            redis_retry_after_s=_number(env, "REDIS_RETRY_AFTER_SECONDS", cls.redis_retry_after_s, float),
        )


def build_cache(settings: Settings) -> Cache:
    """Redis when REDIS_URL is set, else the in-process LRU."""
    if settings.redis_url:
        return RedisCache(settings.redis_url, retry_after_s=settings.redis_retry_after_s)
    return MemoryCache(max_items=settings.memory_cache_max_items)


def _text(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _number(env: Mapping[str, str], name: str, default, kind):
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"setting {name}={raw!r} is not a {kind.__name__}") from None
    if value <= 0:
        raise SettingsError(f"setting {name}={raw!r} must be greater than 0")
    return value
