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
from services.cache import Cache, CacheUnavailable
from services.settings import Settings, build_cache

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
