"""The HTTP API over real HTTP (uvicorn + devhost's ASGI host + the real functions)."""

from __future__ import annotations

import json
import time

import pytest

from blueprints.contract import MAX_TEXT_CHARS, MAX_TEXTS
from blueprints.dependencies import prediction_key
from blueprints.http import MAX_BODY_BYTES
from models.oeq_ceq.text import normalize_text
from tests.conftest import TENANT, bearer


def error_code(response) -> str:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["message"]
    assert "Traceback" not in response.text
    return body["error"]["code"]


def test_classify_one_text(api):
    response = api.post("/api/v1/classify", json={"text": "What do you think will happen if we add water?"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["model_version"].startswith("oeq-ceq-")
    [result] = body["results"]
    assert result["text"] == "What do you think will happen if we add water?"
    assert result["label"] == "OEQ"
    assert 0.5 <= result["oeq_probability"] <= 1


def test_classify_many_texts_keeps_order(api):
    texts = ["How many blocks are there?", "Why do you think the ice melted?", "Is it red?"]
    response = api.post("/api/v1/classify", json={"texts": texts})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["text"] for r in results] == texts
    assert [r["label"] for r in results] == ["CEQ", "OEQ", "CEQ"]


def test_classify_accepts_the_maximum(api):
    texts = [f"Is this block number {i} red?" for i in range(MAX_TEXTS - 1)] + ["x" * MAX_TEXT_CHARS]
    response = api.post("/api/v1/classify", json={"texts": texts})
    assert response.status_code == 200
    assert len(response.json()["results"]) == MAX_TEXTS


@pytest.mark.parametrize(
    "body, code",
    [
        (b"", "invalid_json"),
        (b"   ", "invalid_json"),
        (b"{not json", "invalid_json"),
        (b"\xff\xfe", "invalid_json"),
        (b'["a list"]', "invalid_request"),
        (b"{}", "invalid_request"),
        (b'{"text": "a", "texts": ["b"]}', "invalid_request"),
        (b'{"text": "a", "extra": 1}', "invalid_request"),
        (b'{"text": null}', "invalid_request"),
        (b'{"text": 42}', "invalid_request"),
        (b'{"text": ["nested"]}', "invalid_request"),
        (b'{"text": ""}', "empty_text"),
        (b'{"text": "   \\n"}', "empty_text"),
        (b'{"texts": []}', "invalid_request"),
        (b'{"texts": "not a list"}', "invalid_request"),
        (b'{"texts": ["ok", 3]}', "invalid_request"),
        (b'{"texts": ["ok", ""]}', "empty_text"),
        (json.dumps({"text": "x" * (MAX_TEXT_CHARS + 1)}).encode(), "text_too_long"),
        (json.dumps({"texts": ["ok", "y" * (MAX_TEXT_CHARS + 1)]}).encode(), "text_too_long"),
        (json.dumps({"texts": ["Is it red?"] * (MAX_TEXTS + 1)}).encode(), "too_many_texts"),
    ],
)
def test_classify_rejects_bad_requests_with_400(api, body, code):
    response = api.post("/api/v1/classify", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert error_code(response) == code


def test_error_messages_say_where_the_problem_is(api):
    response = api.post("/api/v1/classify", json={"texts": ["ok", 3]})
    assert '"texts"[1]' in response.json()["error"]["message"]
    assert "not a number" in response.json()["error"]["message"]


def test_huge_body_is_413(api):
    response = api.post("/api/v1/classify", content=b"{" + b" " * MAX_BODY_BYTES + b"}")
    assert response.status_code == 413
    assert error_code(response) == "payload_too_large"


@pytest.mark.parametrize(
    "method, path, allowed",
    [("GET", "/api/v1/classify", "POST"), ("PUT", "/api/v1/classify", "POST"),
     ("DELETE", "/api/v1/classify", "POST"), ("POST", "/api/v1/models", "GET"),
     ("POST", "/api/health", "GET")],
)
def test_wrong_method_is_405_with_allow(api, method, path, allowed):
    response = api.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert error_code(response) == "method_not_allowed"


def test_unknown_route_is_the_hosts_bare_404(api):
    """What the Functions host answers for a route no function declares: 404, no body."""
    response = api.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.content == b""


def test_models_describes_the_served_model(api):
    response = api.get("/api/v1/models")
    assert response.status_code == 200
    [model] = response.json()["models"]
    assert model["name"] == "oeq-ceq"
    assert model["labels"] == ["CEQ", "OEQ"]
    assert len(model["training_data_sha256"]) == 64
    assert "CPUExecutionProvider" in model["providers"]
    assert model["metrics"]["held_out_20pct_by_seed"]["accuracy"] > 0.8
    classify = api.post("/api/v1/classify", json={"text": "Is it red?"}).json()
    assert classify["model_version"] == model["version"]


def test_health_with_embedded_defaults(api):
    response = api.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["dependencies"]["classifier"]["status"] == "ok"
    assert "in-process" in body["dependencies"]["cache"]["detail"]
    assert set(body["dependencies"]) == {"classifier", "cache", "blobs", "results", "jobs"}
    assert all(d["status"] == "ok" for d in body["dependencies"].values())


def test_under_the_functions_host_missing_connections_are_down_not_embedded(api, app_settings, monkeypatch,
                                                                           served_app):
    """No silent fallback: the folder/SQLite/in-process adapters would keep jobs no worker
    reads and results on one instance's disk."""
    for name in ("AzureWebJobsStorage", "COSMOS_ENDPOINT", "ServiceBusConnection"):
        monkeypatch.delenv(name, raising=False)
    app_settings(FUNCTIONS_WORKER_RUNTIME="python", AUTH_ISSUER=f"{served_app.base_url}/devhost/identity")
    response = api.get("/api/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    for port, setting in (("blobs", "AzureWebJobsStorage"), ("results", "COSMOS_ENDPOINT"),
                          ("jobs", "ServiceBusConnection")):
        assert body["dependencies"][port]["status"] == "down"
        assert setting in body["dependencies"][port]["detail"]
    assert body["dependencies"]["classifier"]["status"] == "ok"
    created = api.post("/api/v1/videos", json={"filename": "lesson.mp4"})
    assert created.status_code == 500
    assert created.json()["error"]["code"] == "invalid_setting"
    assert "COSMOS_ENDPOINT" in created.json()["error"]["message"]
    # Nor a silent fallback to devhost's sign-in: under the host AUTH_ISSUER must be set.
    monkeypatch.delenv("AUTH_ISSUER")
    app_settings()
    refused = api.get("/api/v1/videos")
    assert refused.status_code == 500 and refused.json()["error"]["code"] == "invalid_setting"
    assert "AUTH_ISSUER" in refused.json()["error"]["message"]


def test_a_dependency_that_hangs_is_reported_within_the_time_limit():
    import time as clock

    from blueprints.health import check_all

    started = clock.perf_counter()
    checks = check_all({"results": lambda: clock.sleep(5)}, timeout_s=0.3)
    assert clock.perf_counter() - started < 1.5
    assert (checks[0].status, checks[0].detail) == ("down", "no answer within 0.3 s")


# --- the Redis prediction cache, against a real redis-server -----------------------------


def test_predictions_are_cached_in_redis(api, app_settings, live_redis):
    app_settings(REDIS_URL=live_redis.url)
    text = "Why did the tower fall down?"
    first = api.post("/api/v1/classify", json={"text": text}).json()
    key = prediction_key(first["model_version"], normalize_text(text), TENANT)
    store = live_redis.client()
    assert float(store.get(key)) == pytest.approx(first["results"][0]["oeq_probability"], abs=1e-4)
    assert 0 < store.ttl(key) <= 7 * 24 * 3600

    # A cached value is served as it is: plant one and read it back through the API.
    store.set(key, "0.0123")
    again = api.post("/api/v1/classify", json={"text": text}).json()
    assert again["results"][0] == {"text": text, "label": "CEQ", "oeq_probability": 0.0123,
                                   "model_version": first["model_version"]}


def test_cache_key_is_the_normalised_text(api, app_settings, live_redis):
    app_settings(REDIS_URL=live_redis.url)
    api.post("/api/v1/classify", json={"text": "Um, what's that?"})
    assert len(live_redis.client().keys("oeqceq:*")) == 1
    api.post("/api/v1/classify", json={"text": "what is that?"})  # same normalised text
    assert len(live_redis.client().keys("oeqceq:*")) == 1
    # Another organisation's identical text is its own entry: no cross-tenant cache hits.
    api.post("/api/v1/classify", json={"text": "what is that?"}, headers=bearer(tenant="school-b"))
    assert sorted(k.split(":")[1] for k in live_redis.client().keys("oeqceq:*")) == ["school-a", "school-b"]


def test_health_reports_redis_ok(api, app_settings, live_redis):
    app_settings(REDIS_URL=live_redis.url)
    body = api.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["dependencies"]["cache"]["status"] == "ok"
    assert "redis" in body["dependencies"]["cache"]["detail"]


def test_redis_down_classification_still_answers_and_health_degrades(api, app_settings, live_redis):
    app_settings(REDIS_URL=live_redis.url, REDIS_RETRY_AFTER_SECONDS="0.2")
    assert api.post("/api/v1/classify", json={"text": "Is it red?"}).status_code == 200
    live_redis.stop()
    try:
        for text in ["How does it feel?", "Is it wet?", "How does it feel?"]:
            response = api.post("/api/v1/classify", json={"text": text})
            assert response.status_code == 200
            assert response.json()["results"][0]["label"] in {"OEQ", "CEQ"}
        health = api.get("/api/health")
        assert health.status_code == 200
        assert health.json()["status"] == "degraded"
        assert health.json()["dependencies"]["cache"]["status"] == "degraded"
    finally:
        live_redis.start()
    # Redis back: health recovers and predictions are cached again.
    assert api.get("/api/health").json()["status"] == "ok"
    time.sleep(0.25)
    api.post("/api/v1/classify", json={"text": "Where do you think it went?"})
    assert live_redis.client().keys("oeqceq:*")


def test_unreachable_redis_at_start_is_degraded_not_fatal(api, app_settings):
    from tests.conftest import free_port

    app_settings(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    assert api.post("/api/v1/classify", json={"text": "Is it red?"}).status_code == 200
    assert api.get("/api/health").json()["dependencies"]["cache"]["status"] == "degraded"


def test_bad_setting_is_a_clear_500_not_a_traceback(api, app_settings):
    app_settings(PREDICTION_CACHE_TTL_SECONDS="a week")
    response = api.post("/api/v1/classify", json={"text": "Is it red?"})
    assert response.status_code == 500
    assert error_code(response) == "invalid_setting"
    assert "PREDICTION_CACHE_TTL_SECONDS" in response.json()["error"]["message"]


# --- reviewers' feedback ---------------------------------------------------------------------


def test_feedback_on_a_typed_question_stores_the_model_label_beside_the_reviewers(api, app_settings, tmp_path):
    app_settings(DATA_DIR=str(tmp_path / "data"))
    response = api.post("/api/v1/feedback", json={"text": "What is this called?", "label": "OEQ",
                                                  "reviewer": "coach-7", "note": "invites naming games"})
    assert response.status_code == 201
    stored = response.json()
    assert (stored["label"], stored["model_label"], stored["reviewer"]) == ("OEQ", "CEQ", "coach-7")
    assert stored["model_version"].startswith("oeq-ceq-")
    listed = api.get("/api/v1/feedback").json()["feedback"]
    assert [f["feedback_id"] for f in listed] == [stored["feedback_id"]]
    assert api.get("/api/v1/feedback", headers=bearer(tenant="another")).json()["feedback"] == []
    # A colleague (another coach) sees only their own; an admin sees the organisation's.
    assert api.get("/api/v1/feedback", headers=bearer(user="coach-2")).json()["feedback"] == []
    admin = api.get("/api/v1/feedback", headers=bearer(user="head-1", role="admin")).json()["feedback"]
    assert [(f["feedback_id"], f["created_by"]) for f in admin] == [(stored["feedback_id"], "coach-1")]


@pytest.mark.parametrize(
    "body, status",
    [
        ({"text": "Is it red?"}, 400),
        ({"text": "Is it red?", "label": "open"}, 400),
        ({"label": "OEQ"}, 400),
        ({"text": "", "label": "OEQ"}, 400),
        ({"text": "Is it red?", "label": "CEQ", "note": 5}, 400),
        ({"video_id": "a" * 32, "label": "CEQ"}, 400),
        ({"video_id": "a" * 32, "question_index": 0, "label": "CEQ"}, 404),
    ],
)
def test_feedback_errors(api, app_settings, tmp_path, body, status):
    app_settings(DATA_DIR=str(tmp_path / "data"))
    response = api.post("/api/v1/feedback", json=body)
    assert response.status_code == status, response.text
    assert error_code(response) in {"invalid_request", "not_found"}


def test_feedback_list_limit_is_checked(api, app_settings, tmp_path):
    app_settings(DATA_DIR=str(tmp_path / "data"))
    assert api.get("/api/v1/feedback?limit=0").status_code == 400
    assert api.get("/api/v1/feedback?limit=ten").status_code == 400
