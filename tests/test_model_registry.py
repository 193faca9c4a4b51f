"""Model versions: the registry, the deterministic A/B split, shadow predictions, the admin route."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import numpy as np
import pytest

from blueprints import dependencies
from models.oeq_ceq.classifier import LABELS, QuestionClassifier
from models.oeq_ceq.registry import (
    CONTAINER,
    REGISTRY_BLOB,
    ModelRegistry,
    RegistryError,
    Roles,
    split_point,
    takes_candidate,
)
from models.oeq_ceq.text import normalize_text
from models.oeq_ceq.train import DEFAULT_DATA, build_pipeline, read_labelled, to_onnx
from services.blobs import CHUNKS, FolderBlobStore
from tests.conftest import TENANT, bearer

BOOTSTRAP = json.loads((DEFAULT_DATA.parent.parent / "artifacts" / "model_card.json").read_text())["version"]
TEXTS = ["Why did the tower fall?", "Is it red?", "What do you think will happen next?", "How many are there?"]


@pytest.fixture(scope="module")
def contrarian():
    """A real, different model: trained on part of the training data with every label flipped,
    so whatever it says differs from the active model and a leak would show."""
    texts, labels = read_labelled(DEFAULT_DATA)
    pick = np.random.default_rng(3).choice(len(texts), 600, replace=False)
    pipeline = build_pipeline().fit([normalize_text(texts[i]) for i in pick], 1 - labels[pick])
    model = to_onnx(pipeline)
    sha = hashlib.sha256(model).hexdigest()
    card = {"name": "oeq-ceq", "version": f"oeq-ceq-test-{sha[:10]}", "parent_version": BOOTSTRAP,
            "created_at": datetime.now(timezone.utc).isoformat(), "task": "test: every label flipped",
            "labels": list(LABELS), "onnx_sha256": sha, "training_data": {"sha256": "0" * 64},
            "metrics": {"held_out_20pct_by_seed": {"accuracy": 0.1}}}
    return model, card


@pytest.fixture
def registry(tmp_path, app_settings, contrarian):
    """The app's registry in this test's DATA_DIR, with the contrarian model registered."""
    app_settings(DATA_DIR=str(tmp_path / "data"), MODEL_ADMIN_TENANTS=TENANT)
    store = dependencies.registry()
    store.register(*contrarian)
    return store


def test_the_split_is_deterministic_near_the_share_and_fresh_per_candidate():
    keys = [f"video:{TENANT}/{i:032x}" for i in range(10_000)]
    roles = Roles(active="a", candidate="b", mode="candidate", share=0.2)
    chosen = {k for k in keys if takes_candidate(roles, k)}
    assert 0.18 < len(chosen) / len(keys) < 0.22
    assert chosen == {k for k in keys if takes_candidate(roles, k)}  # same keys, same answer
    assert split_point(keys[0], "b") == split_point(keys[0], "b")
    other = {k for k in keys if takes_candidate(Roles(active="a", candidate="c", mode="candidate", share=0.2), k)}
    assert 0.1 < len(chosen & other) / len(chosen) < 0.3  # a new candidate draws a new sample
    assert not any(takes_candidate(Roles(active="a", candidate="b", mode="shadow", share=1.0), k) for k in keys)
    assert all(takes_candidate(Roles(active="a", candidate="b", mode="candidate", share=1.0), k) for k in keys[:100])


def test_an_empty_registry_serves_the_committed_model(tmp_path):
    registry = ModelRegistry(FolderBlobStore(tmp_path))
    assert registry.versions() == [BOOTSTRAP]
    assert registry.roles() == Roles(active=BOOTSTRAP)
    assert registry.load(BOOTSTRAP).version == BOOTSTRAP


def test_versions_register_once_and_roles_name_only_known_versions(tmp_path, contrarian):
    model, card = contrarian
    registry = ModelRegistry(FolderBlobStore(tmp_path))
    registry.register(model, card)
    assert registry.versions() == [BOOTSTRAP, card["version"]]
    assert registry.load(card["version"]).classify(["Is it red?"])[0].model_version == card["version"]
    with pytest.raises(RegistryError, match="already registered"):
        registry.register(model, card)
    with pytest.raises(RegistryError, match="onnx_sha256"):
        registry.register(model + b"x", {**card, "version": "tampered"})
    with pytest.raises(RegistryError, match="no model version 'nope'"):
        registry.set_roles(Roles(active=BOOTSTRAP, candidate="nope"), "test")
    with pytest.raises(RegistryError, match="both"):
        Roles(active=BOOTSTRAP, candidate=BOOTSTRAP)
    roles = registry.set_roles(Roles(active=BOOTSTRAP, candidate=card["version"], mode="candidate", share=0.3), "me")
    assert registry.roles() == roles and roles.updated_by == "me"


def test_models_lists_versions_roles_split_and_cards(api, registry, contrarian):
    _, card = contrarian
    admin = bearer(role="admin")
    response = api.put("/api/v1/models/roles", json={"candidate": card["version"], "mode": "candidate", "share": 0.25},
                       headers=admin)
    assert response.status_code == 200, response.text
    listed = api.get("/api/v1/models").json()
    roles = {m["version"]: m["role"] for m in listed["models"]}
    assert roles == {BOOTSTRAP: "active", card["version"]: "candidate"}
    assert listed["split"]["share"] == 0.25 and listed["split"]["source"] == "registry"
    assert listed["split"]["updated_by"] == f"{TENANT}/coach-1"
    candidate = next(m for m in listed["models"] if m["version"] == card["version"])
    assert candidate["metrics"] == card["metrics"] and candidate["parent_version"] == BOOTSTRAP

    # Promote the candidate: it becomes active and stops being a candidate.
    promoted = api.put("/api/v1/models/roles", json={"active": card["version"]}, headers=admin).json()
    assert {m["version"]: m["role"] for m in promoted["models"]} == {BOOTSTRAP: "available", card["version"]: "active"}
    assert api.post("/api/v1/classify", json={"text": "Is it red?"}).json()["model_version"] == card["version"]

    unknown = api.put("/api/v1/models/roles", json={"candidate": "oeq-ceq-2-nothing"}, headers=admin)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")
    bad = api.put("/api/v1/models/roles", json={"share": 1.5}, headers=admin)
    assert bad.status_code == 400


def test_only_the_model_admin_tenants_may_switch(api, registry, app_settings, contrarian):
    app_settings(MODEL_ADMIN_TENANTS="another-school")
    response = api.put("/api/v1/models/roles", json={"candidate": contrarian[1]["version"]}, headers=bearer(role="admin"))
    assert response.status_code == 403
    assert "MODEL_ADMIN_TENANTS" in response.json()["error"]["message"]
    assert not registry.blobs.exists(CONTAINER, REGISTRY_BLOB)


def test_typed_text_splits_by_tenant_and_every_result_names_its_version(api, registry, contrarian):
    version = contrarian[1]["version"]
    registry.set_roles(Roles(active=BOOTSTRAP, candidate=version, mode="candidate", share=0.5), "test")
    roles = dependencies.serving().roles
    tenants = [f"school-{i}" for i in range(40)]
    served = {}
    for tenant in tenants:
        body = api.post("/api/v1/classify", json={"texts": TEXTS}, headers=bearer(tenant=tenant)).json()
        assert {r["model_version"] for r in body["results"]} == {body["model_version"]}
        served[tenant] = body["model_version"]
    expected = {t: version if takes_candidate(roles, dependencies.routing_key(t, None)) else BOOTSTRAP for t in tenants}
    assert served == expected
    assert 5 < sum(v == version for v in served.values()) < 35  # both sides got traffic


def test_videos_split_by_video_and_each_question_records_its_version(registry, contrarian):
    version = contrarian[1]["version"]
    registry.set_roles(Roles(active=BOOTSTRAP, candidate=version, mode="candidate", share=0.5), "test")
    active, candidate = registry.load(BOOTSTRAP), registry.load(version)
    by_video = {}
    for i in range(30):
        video_id = f"{i:032x}"
        predictions = dependencies.classify_texts(TEXTS, TENANT, video_id=video_id)
        [used] = {p.model_version for p in predictions}  # one video, one model
        assert dependencies.classifier_for(TENANT, video_id).version == used
        model = candidate if used == version else active
        assert [p.label for p in predictions] == [p.label for p in model.classify(TEXTS)]
        by_video[video_id] = used
    again = {v: dependencies.classify_texts(TEXTS[:1], TENANT, video_id=v)[0].model_version for v in by_video}
    assert again == by_video  # deterministic
    assert set(by_video.values()) == {BOOTSTRAP, version}


def test_shadow_predictions_are_stored_and_never_shown(api, registry, contrarian):
    version = contrarian[1]["version"]
    registry.set_roles(Roles(active=BOOTSTRAP, candidate=version, mode="shadow"), "test")
    active = registry.load(BOOTSTRAP)
    body = api.post("/api/v1/classify", json={"texts": TEXTS}).json()
    assert body["model_version"] == BOOTSTRAP
    assert [r["label"] for r in body["results"]] == [p.label for p in active.classify(TEXTS)]
    assert version not in json.dumps(body)

    [record] = dependencies.shadow_records(TENANT)
    assert (record["active_version"], record["shadow_version"], record["kind"]) == (BOOTSTRAP, version, "text")
    shadow = registry.load(version).classify(TEXTS)
    assert [item["shadow_p"] for item in record["items"]] == [p.oeq_probability for p in shadow]
    assert [item["active_p"] for item in record["items"]] == [r["oeq_probability"] for r in body["results"]]
    assert any((item["shadow_p"] >= 0.5) != (item["active_p"] >= 0.5) for item in record["items"])
    assert not any(text in json.dumps(record) for text in TEXTS)  # digests, never the text

    listed = api.get("/api/v1/models").json()
    assert {m["version"]: m["role"] for m in listed["models"]}[version] == "shadow"
    # A video question, too: the shown labels are the active model's.
    predictions = dependencies.classify_texts(TEXTS, TENANT, video_id="ab" * 16)
    assert {p.model_version for p in predictions} == {BOOTSTRAP}
    assert len(dependencies.shadow_records(TENANT)) == 2
    # The log is the tenant's data, under the prefix the tenant's erasure deletes (blueprints/tenant.py).
    assert len(registry.blobs.list(CHUNKS, f"{TENANT}/")) == 2
    registry.blobs.delete_prefix(CHUNKS, f"{TENANT}/")
    assert dependencies.shadow_records(TENANT) == []


def test_settings_override_the_registry_and_changes_arrive_on_refresh(api, registry, app_settings, contrarian):
    version = contrarian[1]["version"]
    registry.set_roles(Roles(active=BOOTSTRAP, candidate=version, mode="candidate", share=1.0), "test")
    assert api.post("/api/v1/classify", json={"text": "Is it red?"}).json()["model_version"] == version
    app_settings(MODEL_CANDIDATE_MODE="off")
    assert api.post("/api/v1/classify", json={"text": "Is it red?"}).json()["model_version"] == BOOTSTRAP
    assert api.get("/api/v1/models").json()["split"]["source"] == "registry+settings"

    app_settings(MODEL_CANDIDATE_MODE="", MODEL_REGISTRY_REFRESH_SECONDS="3600")
    assert api.post("/api/v1/classify", json={"text": "Is it red?"}).json()["model_version"] == version
    registry.set_roles(Roles(active=BOOTSTRAP), "another process")
    # Within the refresh interval the process keeps what it loaded; once it has passed, the change arrives.
    assert api.post("/api/v1/classify", json={"text": "Is it red?"}).json()["model_version"] == version
    dependencies.model_roles().expire()
    assert api.post("/api/v1/classify", json={"text": "Is it red?"}).json()["model_version"] == BOOTSTRAP

    app_settings(MODEL_REGISTRY_REFRESH_SECONDS="0")  # every request re-reads registry.json
    assert api.post("/api/v1/classify", json={"text": "Is it red?"}).json()["model_version"] == BOOTSTRAP
    registry.set_roles(Roles(active=version), "another process")
    assert api.post("/api/v1/classify", json={"text": "Is it red?"}).json()["model_version"] == version


def test_a_bad_model_setting_is_a_clear_error(app_settings):
    from services.settings import Settings, SettingsError

    with pytest.raises(SettingsError, match="MODEL_CANDIDATE_SHARE"):
        Settings.from_env({"MODEL_CANDIDATE_SHARE": "10%"})
    with pytest.raises(SettingsError, match="MODEL_CANDIDATE_MODE"):
        Settings.from_env({"MODEL_CANDIDATE_MODE": "half"})


def test_a_classifier_loads_from_bytes_like_from_files():
    from models.oeq_ceq.classifier import CARD_FILE, MODEL_FILE

    from_files = QuestionClassifier()
    from_bytes = QuestionClassifier.from_bytes(MODEL_FILE.read_bytes(), json.loads(CARD_FILE.read_text()))
    assert from_bytes.classify(TEXTS) == from_files.classify(TEXTS)


def test_a_videos_stored_questions_name_the_version_its_split_gave_it(registry, contrarian):
    """The analyze step's path (blueprints/pipeline_steps.py): classify_texts bound to the video,
    then find_questions keeps each prediction's version on its question."""
    import functools

    from pipeline.assembly import split_sentences
    from pipeline.questions import find_questions
    from tests.test_questions import WORDS

    version = contrarian[1]["version"]
    registry.set_roles(Roles(active=BOOTSTRAP, candidate=version, mode="candidate", share=0.5), "test")
    seen = set()
    for i in range(16):
        video_id = f"{i:032x}"
        classify = functools.partial(dependencies.classify_texts, tenant_id=TENANT, video_id=video_id)
        expected = dependencies.classifier_for(TENANT, video_id).version
        questions = find_questions(split_sentences(WORDS), WORDS, classify, 12.0, model_version="unused")
        assert questions and {q.model_version for q in questions} == {expected}
        seen.add(expected)
    assert seen == {BOOTSTRAP, version}


@pytest.fixture(scope="module")
def azurite_blobs(tmp_path_factory):
    from devhost.stack.azurite import start_azurite
    from services.blobs_azure import AzureBlobStore

    handle = start_azurite(tmp_path_factory.mktemp("azurite"))
    yield AzureBlobStore.from_connection_string(handle.connection_string)
    handle.stop()


def test_the_registry_works_the_same_on_azure_blob_storage(azurite_blobs, contrarian):
    """Azurite with the Azure adapter: the `models` container does not exist until the first version."""
    model, card = contrarian
    registry = ModelRegistry(azurite_blobs)
    assert registry.versions() == [BOOTSTRAP] and registry.roles() == Roles(active=BOOTSTRAP)
    registry.register(model, card)
    roles = registry.set_roles(Roles(active=BOOTSTRAP, candidate=card["version"], mode="shadow"), "test")
    again = ModelRegistry(azurite_blobs)  # another process
    assert again.versions() == [BOOTSTRAP, card["version"]] and again.roles() == roles
    served = again.serving(again.roles())
    assert served.route("tenant:x") == (served.active, served.candidate)
    assert served.candidate.classify(["Is it red?"]) == registry.load(card["version"]).classify(["Is it red?"])


def test_a_broken_registry_keeps_what_serves_and_is_a_503_only_at_start(api, registry, app_settings, contrarian):
    version = contrarian[1]["version"]
    registry.set_roles(Roles(active=version), "test")
    assert api.post("/api/v1/classify", json={"text": "Is it red?"}).json()["model_version"] == version
    registry.blobs.put_bytes(CONTAINER, REGISTRY_BLOB, b'{"active": ')  # torn or hand-edited
    dependencies.model_roles().expire()
    assert api.post("/api/v1/classify", json={"text": "Is it red?"}).json()["model_version"] == version

    app_settings(MODEL_REGISTRY_REFRESH_SECONDS="60")  # a fresh process meets the broken document
    response = api.post("/api/v1/classify", json={"text": "Is it red?"})
    assert (response.status_code, response.json()["error"]["code"]) == (503, "model_unavailable")
    assert "registry.json is not JSON" in response.json()["error"]["message"]


def test_one_model_exports_to_the_same_bytes_so_its_version_is_reproducible():
    texts, labels = read_labelled(DEFAULT_DATA)
    pipeline = build_pipeline().fit([normalize_text(t) for t in texts[:300]], labels[:300])
    assert to_onnx(pipeline) == to_onnx(pipeline)  # skl2onnx's random graph name is fixed
