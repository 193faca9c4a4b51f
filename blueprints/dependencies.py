"""Process-wide dependencies of the functions, built once on first use.

A Functions worker process (and devhost) serves many requests; the ONNX session,
the Whisper model and the service clients are created once here, not per request.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
from functools import lru_cache

from models.oeq_ceq.classifier import Prediction, QuestionClassifier, prediction
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
def classifier() -> QuestionClassifier:
    return QuestionClassifier()


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


def classify_texts(texts: list[str], tenant_id: str) -> list[Prediction]:
    """Classify through the prediction cache (tenant + model version + normalised text).

    Keys are per tenant: one organisation's cache hits must not tell another what it
    typed, and erasing a tenant removes its entries (``tenant_cache_prefix``)."""
    model, store = classifier(), cache()
    started = time.perf_counter()
    normalized = [normalize_text(t) for t in texts]
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
    predictions = [prediction(text, float(p)) for text, p in zip(texts, cached)]
    telemetry.record_classification(model.version, predictions, len(texts) - len(missing), time.perf_counter() - started)
    return predictions


def prediction_key(model_version: str, normalized_text: str, tenant_id: str) -> str:
    digest = hashlib.blake2b(normalized_text.encode(), digest_size=16).hexdigest()
    return f"oeqceq:{tenant_id}:{model_version}:{digest}"


def tenant_cache_prefixes(tenant_id: str) -> list[str]:
    """Every cache key prefix that holds one tenant's entries (predictions, video summaries)."""
    return [f"oeqceq:{tenant_id}:", f"video-summary:{tenant_id}:", telemetry.upload_trace_key(tenant_id, "")]
