"""Real-time OEQ/CEQ classification of typed text, and which model versions answer it."""

from __future__ import annotations

from dataclasses import replace

import azure.functions as func

from blueprints import contract, dependencies
from blueprints.contract import Classification, ClassifyResponse, ModelInfo, ModelList, ModelSplit, SetModelRoles
from blueprints.http import ANY_METHOD, HttpError, current_call, endpoint, json_response
from models.oeq_ceq.classifier import ModelUnavailable
from models.oeq_ceq.registry import RegistryError, ServingModels

bp = func.Blueprint()


@bp.route(route="v1/classify", methods=ANY_METHOD)
@endpoint(contract.CLASSIFY)
def classify(req: func.HttpRequest) -> func.HttpResponse:
    call = current_call()
    results = _served(lambda: dependencies.classify_texts(call.body.all_texts(), tenant_id=call.tenant_id))
    # One request, one routing key (the tenant): every result has the same version.
    version = results[0].model_version if results else _served(dependencies.classifier).version
    return json_response(ClassifyResponse(
        model_version=version,
        results=[Classification(text=r.text, label=r.label, oeq_probability=r.oeq_probability,
                                model_version=r.model_version) for r in results]))


@bp.route(route="v1/models", methods=ANY_METHOD)
@endpoint(contract.LIST_MODELS)
def list_models(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(model_list(_served(dependencies.serving)))


@bp.route(route="v1/models/roles", methods=ANY_METHOD)
@endpoint(contract.SET_MODEL_ROLES)
def set_model_roles(req: func.HttpRequest) -> func.HttpResponse:
    """Write registry.json; this process serves the new roles at once, others on their next refresh."""
    call = current_call()
    allowed = [t.strip() for t in dependencies.settings().model_admin_tenants.split(",") if t.strip()]
    if call.tenant_id not in allowed:
        raise HttpError(403, "forbidden", "the model registry is shared by every organisation; only admins of "
                                          "the organisations in MODEL_ADMIN_TENANTS may switch versions")
    registry = dependencies.registry()
    request: SetModelRoles = call.body
    changes = {name: getattr(request, name) for name in ("active", "mode", "share")
               if getattr(request, name) is not None}
    if "candidate" in request.model_fields_set:
        changes["candidate"] = request.candidate
    try:
        roles = registry.roles()
        if changes.get("active") == roles.candidate and "candidate" not in changes:
            changes["candidate"] = None  # the candidate was promoted
        for version in filter(None, (changes.get("active"), changes.get("candidate"))):
            if not registry.has(version):
                raise HttpError(404, "not_found", f"no model version {version!r} in the registry")
        registry.set_roles(replace(roles, **changes), updated_by=f"{call.tenant_id}/{call.user_id}")
    except RegistryError as error:
        raise HttpError(400, "invalid_roles", str(error)) from None
    dependencies.model_roles().expire()
    return json_response(model_list(_served(dependencies.serving)))


def model_list(models: ServingModels) -> ModelList:
    registry = dependencies.registry()
    loaded = {m.version: m for m in (models.active, models.candidate) if m is not None}
    infos = []
    for version in registry.versions():
        card = loaded[version].card if version in loaded else registry.card(version)
        infos.append(ModelInfo(
            name=card["name"], version=version, role=models.roles.role_of(version), task=card["task"],
            labels=card["labels"], created_at=card["created_at"],
            training_data_sha256=card["training_data"]["sha256"], parent_version=card.get("parent_version"),
            metrics=card["metrics"], providers=loaded[version].providers if version in loaded else []))
    roles = models.roles
    split = ModelSplit(active=roles.active, candidate=roles.candidate, mode=roles.mode, share=roles.share,
                       source=models.source, updated_at=roles.updated_at, updated_by=roles.updated_by)
    return ModelList(models=infos, split=split)


def _served(get):
    try:
        return get()
    except (ModelUnavailable, RegistryError) as error:
        raise HttpError(503, "model_unavailable", str(error)) from None
