"""Process-wide dependencies of the HTTP functions, built once on first use.

A Functions worker process (and devhost) serves many requests; the ONNX session
and the cache client are created once here, not per request.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from functools import lru_cache

from models.oeq_ceq.classifier import Prediction, QuestionClassifier, prediction
from models.oeq_ceq.text import normalize_text
from models.transcriber import Transcriber, TranscriberSettings, get_transcriber
from services.blobs import BlobStore
from services.cache import Cache, CacheUnavailable
from services.jobs import JobQueue
from services.results import ResultsStore
from services.settings import Settings, build_blobs, build_cache, build_jobs, build_results

log = logging.getLogger(__name__)
_build_lock = threading.Lock()


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings.from_env()


@lru_cache(maxsize=1)
def _classifier() -> QuestionClassifier:
    return QuestionClassifier()


@lru_cache(maxsize=1)
def _cache() -> Cache:
    return build_cache(settings())


@lru_cache(maxsize=1)
def _blobs() -> BlobStore:
    return build_blobs(settings())


@lru_cache(maxsize=1)
def _results() -> ResultsStore:
    return build_results(settings())


@lru_cache(maxsize=1)
def _jobs() -> JobQueue:
    return build_jobs(settings())


def blobs() -> BlobStore:
    with _build_lock:
        return _blobs()


def results() -> ResultsStore:
    with _build_lock:
        return _results()


def jobs() -> JobQueue:
    with _build_lock:
        return _jobs()


def transcriber() -> Transcriber:
    s = settings()
    return get_transcriber(TranscriberSettings(
        model=s.whisper_model, device=s.whisper_device, compute_type=s.whisper_compute_type,
        beam_size=s.whisper_beam_size, workers=s.worker_threads,
    ))


def reset() -> None:
    """Forget every built dependency (settings changed: tests, devhost)."""
    for built in (settings, _classifier, _cache, _blobs, _results, _jobs):
        built.cache_clear()


def classifier() -> QuestionClassifier:
    with _build_lock:  # the first requests arrive together; load the model once
        return _classifier()


def cache() -> Cache:
    with _build_lock:
        return _cache()


def classify_texts(texts: list[str]) -> list[Prediction]:
    """Classify through the prediction cache (model version + normalised text)."""
    model, store = classifier(), cache()
    normalized = [normalize_text(t) for t in texts]
    keys = [prediction_key(model.version, n) for n in normalized]
    try:
        cached = store.get_many(keys)
    except CacheUnavailable:
        cached = [None] * len(keys)

    missing = [i for i, value in enumerate(cached) if value is None]
    if missing:
        computed = model.oeq_probabilities_of_normalized([normalized[i] for i in missing])
        fresh = {}
        for i, p in zip(missing, computed):
            cached[i] = p
            fresh[keys[i]] = repr(float(p))
        try:
            store.set_many(fresh, settings().prediction_cache_ttl_s)
        except CacheUnavailable:
            pass
    return [prediction(text, float(p)) for text, p in zip(texts, cached)]


def prediction_key(model_version: str, normalized_text: str) -> str:
    digest = hashlib.blake2b(normalized_text.encode(), digest_size=16).hexdigest()
    return f"oeqceq:{model_version}:{digest}"
