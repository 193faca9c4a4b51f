"""The OpenAPI 3.1 document, built from blueprints/contract.py and served at /api/openapi.json.

Schemas come from the pydantic models the handlers validate with (JSON Schema 2020-12,
which OpenAPI 3.1 uses as it is); paths, methods, roles and error codes from the
operations. Nothing here is written by hand per field.
"""

from __future__ import annotations

from functools import lru_cache

import azure.functions as func
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from blueprints import contract
from blueprints.contract import OPERATIONS, Error, Operation
from blueprints.http import ANY_METHOD, endpoint, json_response

bp = func.Blueprint()

ERROR_MEANINGS = {
    400: "the request is malformed; the message says which field and why",
    401: "no valid bearer token (missing, malformed, expired, wrong issuer or audience, bad signature)",
    403: "the token is valid but its role does not allow this",
    404: "no such resource in the caller's organisation (another organisation's ids answer the same)",
    405: "the route does not take this method (see Allow)",
    409: "the video is not analysed (not_ready) or could not be (video_failed)",
    413: "the request body is over 1 MiB",
    429: "over the rate limit; retry after Retry-After seconds",
    500: "the server failed; the error was logged",
    503: "a dependency (the sign-in service's keys, the model) is unavailable",
}


@bp.route(route="openapi.json", methods=ANY_METHOD)
@endpoint(contract.OPENAPI)
def openapi(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(document(), headers={"Cache-Control": "public, max-age=300"})


@lru_cache(maxsize=1)
def document() -> dict:
    models = sorted({m for op in OPERATIONS for m in _models(op)} | {Error}, key=lambda m: m.__name__)
    _, defs = models_json_schema([(m, _mode(m)) for m in models], ref_template="#/components/schemas/{model}")
    schemas = {name: _tidy(schema) for name, schema in defs.get("$defs", {}).items()}
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        paths.setdefault(f"/api{op.path}", {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Classroom video analysis API", "version": "1.0.0",
                 "description": "Every route but /api/health and /api/openapi.json needs a bearer token from the "
                                "organisation's sign-in (Microsoft Entra ID in Azure, devhost's local OpenID provider "
                                "locally). The organisation and user come from the token's claims; roles: reader "
                                "(read), coach (upload, feedback), admin (also delete any video, all feedback, erase)."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer", "minimum": 1}}},
        },
    }


def _operation(op: Operation) -> dict:
    status, model = op.ok
    responses = {str(status): _response("OK" if status == 200 else "Created", model)}
    for extra_status, extra_model in op.extra_ok.items():
        responses[str(extra_status)] = _response("unhealthy", extra_model)
    errors = set(op.errors) | {405, 500}
    if op.roles is not None:
        errors |= {401, 403, 503}
    if op.body or op.query:
        errors |= {400}
    for code in sorted(errors):
        response = _response(ERROR_MEANINGS[code], Error)
        if code == 429:
            response["headers"] = {"Retry-After": {"$ref": "#/components/headers/Retry-After"}}
        responses[str(code)] = response
    spec = {"operationId": op.operation_id, "summary": op.summary, "responses": responses}
    roles = sorted(op.roles) if op.roles is not None else None
    description = op.description + (f" Roles: {', '.join(roles)}." if roles else " No sign-in needed.")
    spec["description"] = description.strip()
    spec["security"] = [{"bearer": []}] if roles else []
    if roles:
        spec["x-roles"] = roles
    parameters = [{"name": name, "in": "path", "required": True,
                   "schema": {"type": "string", "pattern": contract.VIDEO_ID_PATTERN}}
                  for name in op.path_parameters]
    if op.query:
        schema = _tidy(op.query.model_json_schema())
        for name, prop in schema.get("properties", {}).items():
            parameters.append({"name": name, "in": "query", "required": name in schema.get("required", []),
                               "schema": prop})
    if parameters:
        spec["parameters"] = parameters
    if op.body:
        spec["requestBody"] = {"required": op.body_required, "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{op.body.__name__}"}}}}
    return spec


def _response(description: str, model: type[BaseModel] | None) -> dict:
    schema = {"$ref": f"#/components/schemas/{model.__name__}"} if model else {"type": "object"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _models(op: Operation) -> list[type[BaseModel]]:
    return [m for m in (op.body, op.query, op.ok[1], *op.extra_ok.values()) if m is not None]


def _mode(model: type[BaseModel]) -> str:
    return "validation" if issubclass(model, contract.Request) else "serialization"


def _tidy(schema):
    """Drop ``"default": null`` (a field left out is how null is sent) from a JSON Schema."""
    if isinstance(schema, dict):
        return {k: _tidy(v) for k, v in schema.items() if not (k == "default" and v is None)}
    if isinstance(schema, list):
        return [_tidy(v) for v in schema]
    return schema


if __name__ == "__main__":  # python -m blueprints.openapi > infra/openapi.json (what API Management imports)
    import json
    import sys

    json.dump(document(), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
