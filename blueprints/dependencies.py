"""Process-wide dependencies of the functions, built once on first use.

A Functions worker process (and devhost) serves many requests; the ONNX session,
the Whisper model and the service clients are created once here, not per request.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import threading
import time
import uuid
from datetime import datetime, timezone
from functools import lru_cache

from models.oeq_ceq.classifier import ModelUnavailable, Prediction, QuestionClassifier, prediction
from models.oeq_ceq.registry import (
    SHADOW_CONTAINER,
    ModelRegistry,
    Roles,
    ServingModels,
    read_shadow_records,
    shadow_prefix,
)
from models.oeq_ceq.text import normalize_text
from models.transcriber import Transcriber, TranscriberSettings, get_transcriber
from services import telemetry
from services.blobs import BlobStore
from services.cache import Cache, CacheUnavailable
from services.jobs import JobQueue
from services.results import ResultsStore
from services.settings import Settings, build_blobs, build_cache, build_jobs, build_results

log = logging.getLogger(__name__)
_build_lock = threading.RLock()
_built: list = []


def built_once(factory):
    """A process-wide value, built on first use under a lock: the first requests arrive
    together, and a model or client must be loaded once, not once per request."""
    cached = lru_cache(maxsize=1)(factory)

    @functools.wraps(factory)
    def get():
        with _build_lock:
            return cached()

    _built.append(cached)
    return get


def reset() -> None:
    """Forget every built dependency (settings changed: tests, devhost)."""
    for cached in _built:
        cached.cache_clear()


@built_once
def settings() -> Settings:
    return Settings.from_env()


@built_once
def registry() -> ModelRegistry:
    return ModelRegistry(blobs())


class ModelRoles:
    """The served models, re-read from the registry at most every MODEL_REGISTRY_REFRESH_SECONDS.

    A refresh reads registry.json only; models load again only when it changed (or the
    settings override it), so switching versions needs no restart and no code change."""

    def __init__(self):
        self._lock = threading.Lock()
        self._models: ServingModels | None = None
        self._document: bytes | None = None
        self._checked = float("-inf")

    def current(self) -> ServingModels:
        with self._lock:
            if time.monotonic() - self._checked >= settings().model_registry_refresh_s or self._models is None:
                self._refresh()
            return self._models

    def expire(self) -> None:
        """Re-read the registry on the next request (this process just changed it)."""
        with self._lock:
            self._checked = float("-inf")

    def _refresh(self) -> None:
        self._checked = time.monotonic()
        try:
            store = registry()
            document = store.document()
        except Exception as error:  # noqa: BLE001 - any storage failure (the Azure SDK's are not OSErrors)
            # Storage away or not configured: keep what serves, or start on the committed
            # model, rather than fail every classification; the next refresh tries again.
            log.warning("model registry unreadable, keeping the served models: %s", error)
            if self._models is None:
                bootstrap = QuestionClassifier()
                self._models = ServingModels(Roles(active=bootstrap.version), bootstrap,
                                             source="bootstrap (registry unreadable)")
            return
        if self._models is not None and document == self._document:
            return
        s = settings()
        overrides = dict(active=s.model_active_version, candidate=s.model_candidate_version,
                         mode=s.model_candidate_mode, share=s.model_candidate_share)
        source = ("bootstrap" if document is None else "registry") + (
            "+settings" if any(v is not None for v in overrides.values()) else "")
        try:
            roles = store.roles(document).with_overrides(**overrides)
            self._models = store.serving(roles, source=source)
        except Exception as error:  # noqa: BLE001 - a bad registry.json, a missing or torn version, storage
            if self._models is not None:  # keep serving what works; the next refresh tries again
                log.error("cannot switch model versions, keeping the served ones: %s", error)
                return
            raise ModelUnavailable(f"cannot load the model versions the registry names: {error}") from error
        self._document = document
        log.info("serving OEQ/CEQ models: %s", roles.to_dict())


@built_once
def model_roles() -> ModelRoles:
    return ModelRoles()


def serving() -> ServingModels:
    return model_roles().current()


def classifier() -> QuestionClassifier:
    """The active model (what health reports and what serves when no candidate is tried)."""
    return serving().active


def classifier_for(tenant_id: str, video_id: str | None = None) -> QuestionClassifier:
    """The model whose answers a video (or, without one, a tenant's typed text) gets."""
    served, _ = serving().route(routing_key(tenant_id, video_id))
    return served


def routing_key(tenant_id: str, video_id: str | None) -> str:
    # Videos split by video (within a tenant: ids are per tenant); typed text by tenant.
    return f"video:{tenant_id}/{video_id}" if video_id else f"tenant:{tenant_id}"


@built_once
def cache() -> Cache:
    return build_cache(settings())


@built_once
def blobs() -> BlobStore:
    return build_blobs(settings())


@built_once
def results() -> ResultsStore:
    return build_results(settings())


@built_once
def jobs() -> JobQueue:
    return build_jobs(settings())


def transcriber() -> Transcriber:
    s = settings()
    return get_transcriber(TranscriberSettings(
        model=s.whisper_model, device=s.whisper_device, compute_type=s.whisper_compute_type,
        beam_size=s.whisper_beam_size, workers=s.worker_threads,
    ))


def classify_texts(texts: list[str], tenant_id: str, video_id: str | None = None) -> list[Prediction]:
    """Classify with the model the A/B split gives this video (or tenant, for typed text);
    each prediction names its version. A shadow model also predicts; its answers go to
    the shadow log (``record_shadow``), never to the caller."""
    started = time.perf_counter()
    models = serving()
    served, shadow = models.route(routing_key(tenant_id, video_id))
    normalized = [normalize_text(t) for t in texts]
    probabilities, cache_hits = cached_probabilities(served, normalized, tenant_id)
    if shadow is not None:
        try:
            shadow_probabilities, _ = cached_probabilities(shadow, normalized, tenant_id)
            record_shadow(served, probabilities, shadow, shadow_probabilities, normalized, tenant_id, video_id)
        except Exception as error:  # noqa: BLE001 - a shadow must never break what users get
            log.warning("shadow prediction by %s not recorded: %s", shadow.version, error)
    predictions = [prediction(text, float(p), served.version) for text, p in zip(texts, probabilities)]
    telemetry.record_classification(served.version, predictions, cache_hits, time.perf_counter() - started)
    return predictions


def cached_probabilities(model: QuestionClassifier, normalized: list[str], tenant_id: str) -> tuple[list[float], int]:
    """P(OEQ) through the prediction cache (tenant + model version + normalised text).

    Keys are per tenant: one organisation's cache hits must not tell another what it
    typed, and erasing a tenant removes its entries (``tenant_cache_prefix``). Returns the
    probabilities and how many came from the cache."""
    store = cache()
    keys = [prediction_key(model.version, n, tenant_id) for n in normalized]
    try:
        cached = store.get_many(keys)
    except CacheUnavailable:
        cached = [None] * len(keys)

    missing = [i for i, value in enumerate(cached) if value is None]
    if missing:
        with telemetry.span("classify", attributes={"classroom.model.version": model.version,
                                                    "classroom.texts": len(missing)}):
            computed = model.oeq_probabilities_of_normalized([normalized[i] for i in missing])
        fresh = {}
        for i, p in zip(missing, computed):
            cached[i] = p
            fresh[keys[i]] = repr(float(p))
        try:
            store.set_many(fresh, settings().prediction_cache_ttl_s)
        except CacheUnavailable:
            pass
    return [float(p) for p in cached], len(cached) - len(missing)


def record_shadow(active: QuestionClassifier, active_p: list[float], shadow: QuestionClassifier,
                  shadow_p: list[float], normalized: list[str], tenant_id: str, video_id: str | None) -> str:
    now = datetime.now(timezone.utc)
    record = {
        "tenant_id": tenant_id, "video_id": video_id, "kind": "video" if video_id else "text",
        "created_at": now.isoformat(timespec="seconds"),
        "active_version": active.version, "shadow_version": shadow.version,
        # index: the question's position in the video's analysis (one classify call per video)
        "items": [{"index": i, "text_digest": hashlib.blake2b(n.encode(), digest_size=16).hexdigest(),
                   "active_p": round(a, 4), "shadow_p": round(b, 4)}
                  for i, (n, a, b) in enumerate(zip(normalized, active_p, shadow_p))],
    }
    path = f"{shadow_prefix(tenant_id)}{now:%Y-%m-%d}/{now:%H%M%S}-{uuid.uuid4().hex[:12]}.json"
    blobs().put_bytes(SHADOW_CONTAINER, path, json.dumps(record).encode())
    return path


def shadow_records(tenant_id: str) -> list[dict]:
    return read_shadow_records(blobs(), tenant_id)


def prediction_key(model_version: str, normalized_text: str, tenant_id: str) -> str:
    digest = hashlib.blake2b(normalized_text.encode(), digest_size=16).hexdigest()
    return f"oeqceq:{tenant_id}:{model_version}:{digest}"


def tenant_cache_prefixes(tenant_id: str) -> list[str]:
    """Every cache key prefix that holds one tenant's entries (predictions, video summaries)."""
    return [f"oeqceq:{tenant_id}:", f"video-summary:{tenant_id}:"]
