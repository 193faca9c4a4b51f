"""Settings, read once from the environment, and the one place adapters are chosen.

Every setting has an embedded default so the app runs with none at all; the
names are those in local.settings.json.example (the Functions host turns its
"Values" into environment variables) and the README's settings table.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from services.blobs import BlobStore, FolderBlobStore
from services.cache import Cache, MemoryCache, RedisCache
from services.jobs import InProcessBus, JobQueue
from services.results import ResultsStore, SqliteResultsStore


class SettingsError(ValueError):
    """A setting is present but unusable; the message names it."""


@dataclass(frozen=True)
class Settings:
    redis_url: str | None = None
    redis_host: str | None = None  # Azure Cache for Redis with Entra ID (no key), TLS port 6380
    prediction_cache_ttl_s: int = 7 * 24 * 3600
    memory_cache_max_items: int = 100_000
    # Model versions (models/oeq_ceq/registry.py). Empty: the registry's registry.json decides;
    # set, they override it. MODEL_CANDIDATE_MODE "off" (or candidate "none") serves no candidate.
    model_active_version: str | None = None
    model_candidate_version: str | None = None
    model_candidate_mode: str | None = None  # candidate | shadow | off
    model_candidate_share: float | None = None  # 0-1, candidate mode: the share of videos / tenants
    model_registry_refresh_s: float = 60.0  # how often a process re-reads registry.json
    model_admin_tenants: str = ""  # organisations whose admins may switch versions (the registry is shared)
    redis_retry_after_s: float = 5.0
    data_dir: str = ".devhost/data"
    public_base_url: str = "http://127.0.0.1:7071"
    upload_url_ttl_s: int = 3600
    whisper_model: str = "base"  # chosen by measurement: README, "Accuracy on audio"
    whisper_device: str = "auto"
    whisper_compute_type: str = "auto"
    whisper_beam_size: int = 5
    worker_concurrency: int = 0  # 0: one per CPU core (at most 4)
    chunk_seconds: float = 30.0
    chunk_overlap_seconds: float = 2.0
    chunk_timeout_s: float = 600.0
    chunk_max_dispatches: int = 3
    chunks_per_batch: int = 10  # chunks per transcription sub-orchestration (bounds each history)
    worker_start_grace_s: float = 600.0  # a GPU worker scaled to zero pulls its image and loads its model first
    max_video_seconds: float = 3 * 3600.0
    job_lock_seconds: float = 300.0
    job_max_delivery_count: int = 3
    job_transient_retry_s: float = 120.0  # a worker retries a storage/bus outage in place this long
    # Real services. Blob and Service Bus use the connection settings the Functions host
    # reads for the app's triggers, so one setting serves the binding and the adapter:
    # a connection string (emulators) or the identity-based "__" forms (Azure).
    storage_connection_string: str | None = None  # AzureWebJobsStorage
    storage_blob_uri: str | None = None  # AzureWebJobsStorage__blobServiceUri (or __accountName)
    servicebus_connection_string: str | None = None  # ServiceBusConnection
    servicebus_namespace: str | None = None  # ServiceBusConnection__fullyQualifiedNamespace
    cosmos_endpoint: str | None = None
    cosmos_key: str | None = None  # emulators only; in Azure the app's identity
    cosmos_database: str = "classroom"
    # Sign-in (docs/security.md). Unset AUTH_ISSUER: devhost's local OpenID provider at
    # PUBLIC_BASE_URL/devhost/identity. In Azure: the Entra ID (or External ID) issuer.
    auth_issuer: str | None = None
    auth_audience: str = "api://classroom-video"  # comma-separated: any of them
    auth_tenant_claim: str = "tid"
    auth_roles_claim: str = "roles"
    auth_user_claim: str = "oid"
    auth_clock_skew_s: int = 60
    auth_allowed_tenants: str = ""  # comma-separated organisation ids; empty: any the issuer vouches for
    # Rate limits (the `limits` library's notation; ";" joins several windows).
    rate_limit_classify_user: str = "30/10 seconds;300/hour"
    rate_limit_classify_tenant: str = "300/minute"
    rate_limit_upload_user: str = "20/hour"
    rate_limit_upload_tenant: str = "200/hour"
    # Set by the Functions host (Azure, and `func start`): there the embedded adapters would
    # queue jobs no worker reads and keep results on one instance's disk, so every real
    # connection is required and a missing one is an error, never a silent fallback.
    functions_host: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        return cls(
            redis_url=_text(env, "REDIS_URL"),
            redis_host=_text(env, "REDIS_HOST"),
            prediction_cache_ttl_s=_number(env, "PREDICTION_CACHE_TTL_SECONDS", cls.prediction_cache_ttl_s, int),
            memory_cache_max_items=_number(env, "MEMORY_CACHE_MAX_ITEMS", cls.memory_cache_max_items, int),
            model_active_version=_text(env, "MODEL_ACTIVE_VERSION"),
            model_candidate_version=_text(env, "MODEL_CANDIDATE_VERSION"),
            model_candidate_mode=(_choice(env, "MODEL_CANDIDATE_MODE", "", ("candidate", "shadow", "off"))
                                  if _text(env, "MODEL_CANDIDATE_MODE") else None),
            model_candidate_share=_share(env, "MODEL_CANDIDATE_SHARE"),
            model_registry_refresh_s=_number(env, "MODEL_REGISTRY_REFRESH_SECONDS", cls.model_registry_refresh_s,
                                             float, allow_zero=True),
            model_admin_tenants=_text(env, "MODEL_ADMIN_TENANTS") or "",
            redis_retry_after_s=_number(env, "REDIS_RETRY_AFTER_SECONDS", cls.redis_retry_after_s, float),
            data_dir=_text(env, "DATA_DIR") or cls.data_dir,
            public_base_url=_text(env, "PUBLIC_BASE_URL") or cls.public_base_url,
            upload_url_ttl_s=_number(env, "UPLOAD_URL_TTL_SECONDS", cls.upload_url_ttl_s, int),
            whisper_model=_text(env, "WHISPER_MODEL") or cls.whisper_model,
            whisper_device=_choice(env, "WHISPER_DEVICE", cls.whisper_device, ("auto", "cpu", "cuda")),
            whisper_compute_type=_text(env, "WHISPER_COMPUTE_TYPE") or cls.whisper_compute_type,
            whisper_beam_size=_number(env, "WHISPER_BEAM_SIZE", cls.whisper_beam_size, int),
            worker_concurrency=_number(env, "WORKER_CONCURRENCY", cls.worker_concurrency, int),
            chunk_seconds=_number(env, "CHUNK_SECONDS", cls.chunk_seconds, float),
            chunk_overlap_seconds=_number(env, "CHUNK_OVERLAP_SECONDS", cls.chunk_overlap_seconds, float),
            chunk_timeout_s=_number(env, "CHUNK_TIMEOUT_SECONDS", cls.chunk_timeout_s, float),
            chunk_max_dispatches=_number(env, "CHUNK_MAX_DISPATCHES", cls.chunk_max_dispatches, int),
            chunks_per_batch=_number(env, "CHUNKS_PER_BATCH", cls.chunks_per_batch, int),
            worker_start_grace_s=_number(env, "WORKER_START_GRACE_SECONDS", cls.worker_start_grace_s, float,
                                         allow_zero=True),
            max_video_seconds=_number(env, "MAX_VIDEO_SECONDS", cls.max_video_seconds, float),
            job_lock_seconds=_number(env, "JOB_LOCK_SECONDS", cls.job_lock_seconds, float),
            job_max_delivery_count=_number(env, "JOB_MAX_DELIVERY_COUNT", cls.job_max_delivery_count, int),
            job_transient_retry_s=_number(env, "JOB_TRANSIENT_RETRY_SECONDS", cls.job_transient_retry_s, float,
                                          allow_zero=True),
            storage_connection_string=_text(env, "AzureWebJobsStorage"),
            storage_blob_uri=_text(env, "AzureWebJobsStorage__blobServiceUri") or _account_blob_uri(env),
            servicebus_connection_string=_text(env, "ServiceBusConnection"),
            servicebus_namespace=_text(env, "ServiceBusConnection__fullyQualifiedNamespace"),
            cosmos_endpoint=_text(env, "COSMOS_ENDPOINT"),
            cosmos_key=_text(env, "COSMOS_KEY"),
            cosmos_database=_text(env, "COSMOS_DATABASE") or cls.cosmos_database,
            auth_issuer=(_text(env, "AUTH_ISSUER") or "").rstrip("/") or None,
            auth_audience=_text(env, "AUTH_AUDIENCE") or cls.auth_audience,
            auth_tenant_claim=_text(env, "AUTH_TENANT_CLAIM") or cls.auth_tenant_claim,
            auth_roles_claim=_text(env, "AUTH_ROLES_CLAIM") or cls.auth_roles_claim,
            auth_user_claim=_text(env, "AUTH_USER_CLAIM") or cls.auth_user_claim,
            auth_clock_skew_s=_number(env, "AUTH_CLOCK_SKEW_SECONDS", cls.auth_clock_skew_s, int),
            auth_allowed_tenants=_text(env, "AUTH_ALLOWED_TENANTS") or "",
            rate_limit_classify_user=_rate(env, "RATE_LIMIT_CLASSIFY_PER_USER", cls.rate_limit_classify_user),
            rate_limit_classify_tenant=_rate(env, "RATE_LIMIT_CLASSIFY_PER_TENANT", cls.rate_limit_classify_tenant),
            rate_limit_upload_user=_rate(env, "RATE_LIMIT_UPLOADS_PER_USER", cls.rate_limit_upload_user),
            rate_limit_upload_tenant=_rate(env, "RATE_LIMIT_UPLOADS_PER_TENANT", cls.rate_limit_upload_tenant),
            functions_host=bool(_text(env, "FUNCTIONS_WORKER_RUNTIME")),
        )

    def missing_connections(self) -> list[str]:
        """What the Functions host would lack, each as a sentence a person can act on."""
        if not self.functions_host:
            return []
        missing = []
        if not (self.storage_connection_string or self.storage_blob_uri):
            missing.append("blobs: set AzureWebJobsStorage (a connection string) or "
                           "AzureWebJobsStorage__blobServiceUri (identity-based)")
        if not self.cosmos_endpoint:
            missing.append("results: set COSMOS_ENDPOINT (and COSMOS_DATABASE; the app's identity needs a Cosmos "
                           "data role)")
        if not (self.servicebus_connection_string or self.servicebus_namespace):
            missing.append("jobs: set ServiceBusConnection__fullyQualifiedNamespace (identity-based) or "
                           "ServiceBusConnection")
        if not self.auth_issuer:  # devhost's provider (the default) does not exist under the host
            missing.append("identity: set AUTH_ISSUER (e.g. https://login.microsoftonline.com/{tenant-id}/v2.0) "
                           "and AUTH_AUDIENCE")
        return missing

    @property
    def worker_threads(self) -> int:
        """Jobs one worker process transcribes at once."""
        return self.worker_concurrency or min(4, os.cpu_count() or 1)

    @property
    def issuer(self) -> str:
        """The token issuer the app trusts: AUTH_ISSUER, else devhost's local provider."""
        return self.auth_issuer or f"{self.public_base_url.rstrip('/')}/devhost/identity"

    @property
    def audiences(self) -> list[str]:
        return [a.strip() for a in self.auth_audience.split(",") if a.strip()]

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser().resolve()


def build_cache(settings: Settings) -> Cache:
    """Redis when REDIS_URL (a URL, emulators and keys) or REDIS_HOST (Entra ID) is set, else the in-process LRU."""
    if settings.redis_url:
        return RedisCache(settings.redis_url, retry_after_s=settings.redis_retry_after_s)
    if settings.redis_host:
        return RedisCache.with_entra_id(settings.redis_host, retry_after_s=settings.redis_retry_after_s)
    return MemoryCache(max_items=settings.memory_cache_max_items)


def require(settings: Settings, port: str) -> None:
    """SettingsError if the Functions host lacks what ``port`` needs (see missing_connections)."""
    _require(settings, port)


def _require(settings: Settings, port: str) -> None:
    problem = next((m for m in settings.missing_connections() if m.startswith(port + ":")), None)
    if problem:
        raise SettingsError(f"running under the Functions host without a connection for {problem}")


def build_blobs(settings: Settings) -> BlobStore:
    """Azure Blob Storage (Azurite locally) when the storage connection is set, else a folder."""
    _require(settings, "blobs")
    if settings.storage_connection_string or settings.storage_blob_uri:
        from services.blobs_azure import AzureBlobStore  # the SDK loads only when used

        if settings.storage_connection_string:
            return AzureBlobStore.from_connection_string(_development_storage(settings.storage_connection_string))
        return AzureBlobStore.from_account_url(settings.storage_blob_uri)
    return FolderBlobStore(settings.data_path / "blobs", upload_base_url=settings.public_base_url)


def build_results(settings: Settings) -> ResultsStore:
    """Cosmos DB when COSMOS_ENDPOINT is set (a key only for emulators), else SQLite under DATA_DIR."""
    _require(settings, "results")
    if settings.cosmos_endpoint:
        from services.results_cosmos import CosmosResultsStore

        if settings.cosmos_key:
            return CosmosResultsStore.from_key(settings.cosmos_endpoint, settings.cosmos_key, settings.cosmos_database)
        return CosmosResultsStore.from_identity(settings.cosmos_endpoint, settings.cosmos_database)
    return SqliteResultsStore(settings.data_path / "results.sqlite3")


def build_jobs(settings: Settings) -> JobQueue:
    """Service Bus when its connection is set, else in-process queues."""
    _require(settings, "jobs")
    if settings.servicebus_connection_string or settings.servicebus_namespace:
        from services.jobs_servicebus import ServiceBusJobQueue

        if settings.servicebus_connection_string:
            return ServiceBusJobQueue.from_connection_string(settings.servicebus_connection_string)
        return ServiceBusJobQueue.from_namespace(settings.servicebus_namespace)
    return InProcessBus(lock_duration_s=settings.job_lock_seconds, max_delivery_count=settings.job_max_delivery_count)


AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def azurite_connection_string(blob_port: int = 10000, queue_port: int = 10001, table_port: int = 10002,
                              host: str = "127.0.0.1") -> str:
    """Azurite's well-known account on the given ports (the defaults are what the host's
    "UseDevelopmentStorage=true" means)."""
    return ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + AZURITE_KEY + ";"
            f"BlobEndpoint=http://{host}:{blob_port}/devstoreaccount1;"
            f"QueueEndpoint=http://{host}:{queue_port}/devstoreaccount1;"
            f"TableEndpoint=http://{host}:{table_port}/devstoreaccount1;")


DEVELOPMENT_STORAGE = azurite_connection_string()


def _development_storage(connection_string: str) -> str:
    """The Functions host's shorthand for Azurite on its default ports, spelled out for the SDK."""
    return DEVELOPMENT_STORAGE if connection_string.strip() == "UseDevelopmentStorage=true" else connection_string


def _account_blob_uri(env: Mapping[str, str]) -> str | None:
    account = _text(env, "AzureWebJobsStorage__accountName")
    return f"https://{account}.blob.core.windows.net" if account else None


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = (_text(env, name) or default).lower()
    if value not in allowed:
        raise SettingsError(f"setting {name}={value!r} must be one of {', '.join(allowed)}")
    return value


def _text(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _share(env: Mapping[str, str], name: str) -> float | None:
    raw = _text(env, name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise SettingsError(f"setting {name}={raw!r} must be a share between 0 and 1 (e.g. 0.1 for 10 %)")
    return value


def _rate(env: Mapping[str, str], name: str, default: str) -> str:
    """A rate limit such as "30/10 seconds;300/hour", checked now so a typo fails at start."""
    from limits import parse_many

    value = _text(env, name) or default
    try:
        parse_many(value)
    except ValueError:
        raise SettingsError(f"setting {name}={value!r} is not a rate limit such as '30/minute' or "
                            "'10/second;300/hour'") from None
    return value


def _number(env: Mapping[str, str], name: str, default, kind, allow_zero: bool = False):
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"setting {name}={raw!r} is not a {kind.__name__}") from None
    if value < 0 or (value == 0 and not allow_zero):
        raise SettingsError(f"setting {name}={raw!r} must be {'0 or more' if allow_zero else 'greater than 0'}")
    return value
