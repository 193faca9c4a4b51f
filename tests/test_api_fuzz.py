"""Schemathesis against the served app, from the OpenAPI document it publishes.

Property-based requests for every operation (bounded: ``MAX_EXAMPLES`` each) with a valid
admin token: no 5xx, every status code, content type, header and body as the document
says, and requests without the token refused (schemathesis' ``ignored_auth`` check).
"""

from __future__ import annotations

import os

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from blueprints import contract, dependencies
from devhost.asgi import LoopbackServer, free_port
from devhost.http_host import FunctionAppAsgi
from devhost.platform import LocalPlatform
from tests.conftest import token_for

MAX_EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, ignored_auth]


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory):
    folder, port = tmp_path_factory.mktemp("fuzz"), free_port()
    saved = dict(os.environ)
    # Limits far above what the fuzzer sends: the handlers, not the limiter, are under test here.
    os.environ.update(DATA_DIR=str(folder / "data"), PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
                      RATE_LIMIT_CLASSIFY_PER_USER="100000/minute", RATE_LIMIT_UPLOADS_PER_USER="100000/minute",
                      RATE_LIMIT_CLASSIFY_PER_TENANT="100000/minute", RATE_LIMIT_UPLOADS_PER_TENANT="100000/minute")
    os.environ.pop("REDIS_URL", None)
    dependencies.reset()
    try:
        with LocalPlatform(run_worker=False) as platform, LoopbackServer(FunctionAppAsgi(platform=platform), port) as s:
            token = token_for("fuzz-school", "fuzz-admin", "admin")
            # A real video, so that some generated ids... and the operations on it are exercised.
            created = httpx.post(f"{s.base_url}/api/v1/videos", json={"filename": "a.mp4"},
                                 headers={"Authorization": f"Bearer {token}"}).json()
            yield s.base_url, token, created["video_id"]
    finally:
        os.environ.clear()
        os.environ.update(saved)
        dependencies.reset()


@pytest.fixture(scope="module")
def api_schema(fuzzed_app):
    base_url, _, _ = fuzzed_app
    return schemathesis.openapi.from_url(f"{base_url}/api/openapi.json")


# (schemathesis' own pytest plugin fails on pytest 9 here, "'Function' object has no attribute
# '_nodeid'": the operations are parametrised from the contract and driven with hypothesis.)
@pytest.mark.parametrize("op", contract.OPERATIONS, ids=lambda op: op.operation_id)
def test_the_served_app_keeps_its_published_contract(op, api_schema, fuzzed_app):
    base_url, token, _ = fuzzed_app
    operation = api_schema["/api" + op.path][op.method]

    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def keeps_the_contract(case):
        case.call_and_validate(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

    keeps_the_contract()
