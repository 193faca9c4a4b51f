"""The published contract: /api/openapi.json covers every route the app registers, with the
request schemas the handlers validate with."""

from __future__ import annotations

from blueprints import contract
from blueprints.openapi import _tidy
from devhost.app_index import http_functions, route_prefix


def test_the_document_is_openapi_3_1_and_served_without_a_token(api):
    response = api.get("/api/openapi.json", headers={"Authorization": ""})
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.1.0"
    assert document["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer",
                                                                   "bearerFormat": "JWT"}


def test_every_registered_route_and_method_is_in_the_document(api):
    paths = api.get("/api/openapi.json").json()["paths"]
    routes = {f"/{route_prefix()}/{f.route}" for f in http_functions()}
    assert routes == set(paths)
    for op in contract.OPERATIONS:
        assert op.method.lower() in paths["/api" + op.path]
    # Every method a route answers (anything else is 405) is documented, and nothing more.
    documented = {(path, method.upper()) for path, item in paths.items() for method in item}
    assert documented == {("/api" + op.path, op.method) for op in contract.OPERATIONS}


def test_request_schemas_are_the_models_the_handlers_validate_with(api):
    document = api.get("/api/openapi.json").json()
    schemas = document["components"]["schemas"]
    for model in (contract.ClassifyRequest, contract.CreateUpload, contract.FeedbackRequest):
        schema = _tidy(model.model_json_schema(ref_template="#/components/schemas/{model}"))
        nested = schema.pop("$defs", {})  # nested models are components of their own
        assert schemas[model.__name__] == schema
        assert all(schemas[name] == _tidy(definition) for name, definition in nested.items())
    assert schemas["CreateUpload"]["properties"]["speakers"]["$ref"] == "#/components/schemas/SpeakerOverrides"
    classify = document["paths"]["/api/v1/classify"]["post"]
    assert classify["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ClassifyRequest"}
    assert schemas["ClassifyRequest"]["properties"]["texts"]["maxItems"] == contract.MAX_TEXTS
    assert classify["security"] == [{"bearer": []}] and set(classify["x-roles"]) == {"reader", "coach", "admin"}
    assert "Retry-After" in classify["responses"]["429"]["headers"]
    assert document["paths"]["/api/health"]["get"]["security"] == []
    assert document["paths"]["/api/v1/tenant"]["delete"]["x-roles"] == ["admin"]
    limit = document["paths"]["/api/v1/feedback"]["get"]["parameters"][0]
    assert (limit["name"], limit["in"], limit["schema"]["maximum"]) == ("limit", "query", 1000)


def test_the_copy_api_management_imports_is_the_served_document(api):
    """infra/openapi.json (loaded by infra/modules/apim.bicep) must not drift from the code:
    regenerate it with `python -m blueprints.openapi > infra/openapi.json`."""
    import json

    from tests.conftest import REPO

    committed = json.loads((REPO / "infra" / "openapi.json").read_text())
    assert committed == api.get("/api/openapi.json").json()
    assert len((REPO / "infra" / "openapi.json").read_text()) < 131_072  # Bicep's loadTextContent limit
