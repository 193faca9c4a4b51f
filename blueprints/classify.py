"""Real-time OEQ/CEQ classification of typed text, and what model answers it."""

from __future__ import annotations

import azure.functions as func

from blueprints import contract, dependencies
from blueprints.contract import Classification, ClassifyResponse, ModelInfo, ModelList
from blueprints.http import ANY_METHOD, HttpError, current_call, endpoint, json_response
from models.oeq_ceq.classifier import ModelUnavailable

bp = func.Blueprint()


@bp.route(route="v1/classify", methods=ANY_METHOD)
@endpoint(contract.CLASSIFY)
def classify(req: func.HttpRequest) -> func.HttpResponse:
    call = current_call()
    model = _model()
    results = dependencies.classify_texts(call.body.all_texts(), tenant_id=call.tenant_id)
    return json_response(ClassifyResponse(
        model_version=model.version,
        results=[Classification(text=r.text, label=r.label, oeq_probability=r.oeq_probability) for r in results]))


@bp.route(route="v1/models", methods=ANY_METHOD)
@endpoint(contract.LIST_MODELS)
def list_models(req: func.HttpRequest) -> func.HttpResponse:
    model = _model()
    card = model.card
    return json_response(ModelList(models=[ModelInfo(
        name=card["name"], version=card["version"], task=card["task"], labels=card["labels"],
        created_at=card["created_at"], training_data_sha256=card["training_data"]["sha256"],
        metrics=card["metrics"], providers=model.providers)]))


def _model():
    try:
        return dependencies.classifier()
    except ModelUnavailable as error:
        raise HttpError(503, "model_unavailable", str(error)) from None
