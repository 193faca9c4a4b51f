"""Real-time OEQ/CEQ classification of typed text, and what model answers it."""

from __future__ import annotations

import azure.functions as func

from blueprints import dependencies
from blueprints.http import ANY_METHOD, HttpError, endpoint, json_body, json_response
from models.oeq_ceq.classifier import ModelUnavailable

MAX_TEXTS = 256
MAX_TEXT_CHARS = 2000

bp = func.Blueprint()


@bp.route(route="v1/classify", methods=ANY_METHOD)
@endpoint("POST")
def classify(req: func.HttpRequest) -> func.HttpResponse:
    texts = texts_from(json_body(req))
    model = _model()
    results = dependencies.classify_texts(texts)
    return json_response(
        {
            "model_version": model.version,
            "results": [
                {"text": r.text, "label": r.label, "oeq_probability": r.oeq_probability} for r in results
            ],
        }
    )


@bp.route(route="v1/models", methods=ANY_METHOD)
@endpoint("GET")
def list_models(req: func.HttpRequest) -> func.HttpResponse:
    model = _model()
    card = model.card
    return json_response(
        {
            "models": [
                {
                    "name": card["name"],
                    "version": card["version"],
                    "task": card["task"],
                    "labels": card["labels"],
                    "created_at": card["created_at"],
                    "training_data_sha256": card["training_data"]["sha256"],
                    "metrics": card["metrics"],
                    "providers": model.providers,
                }
            ]
        }
    )


def texts_from(payload: dict) -> list[str]:
    """Validate ``{"text": …}`` or ``{"texts": [...]}`` and return the texts."""
    has_text, has_texts = "text" in payload, "texts" in payload
    if has_text == has_texts:
        raise HttpError(400, "invalid_request", 'send exactly one of "text" (a string) or "texts" (a list of strings)')
    if has_text:
        return [_checked_text(payload["text"], '"text"')]
    texts = payload["texts"]
    if not isinstance(texts, list) or not texts:
        raise HttpError(400, "invalid_request", '"texts" must be a non-empty list of strings')
    if len(texts) > MAX_TEXTS:
        raise HttpError(400, "too_many_texts", f'"texts" has {len(texts)} items; the limit is {MAX_TEXTS} per request')
    return [_checked_text(t, f'"texts"[{i}]') for i, t in enumerate(texts)]


def _checked_text(value, where: str) -> str:
    if not isinstance(value, str):
        raise HttpError(400, "invalid_request", f"{where} must be a string, not {_json_type(value)}")
    if not value.strip():
        raise HttpError(400, "empty_text", f"{where} is empty")
    if len(value) > MAX_TEXT_CHARS:
        raise HttpError(400, "text_too_long", f"{where} has {len(value)} characters; the limit is {MAX_TEXT_CHARS}")
    return value


def _json_type(value) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "an object"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _model():
    try:
        return dependencies.classifier()
    except ModelUnavailable as error:
        raise HttpError(503, "model_unavailable", str(error)) from None
