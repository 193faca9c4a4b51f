"""Reviewers' corrections become the next model: retrain, gates, registration, comparison.

Each retraining fits the real training data (a few seconds); the module runs two (a good
feedback file and a poisoned one). The dev-set gates run when ../shared/eval is present;
the held-out and corrections-learned gates always run.
"""

from __future__ import annotations

import csv
import io
import json
import random

import pytest

from models.oeq_ceq import retrain
from models.oeq_ceq.compare import compare, compare_traffic, render
from models.oeq_ceq.registry import CONTAINER, REGISTRY_BLOB, ModelRegistry
from models.oeq_ceq.train import DEFAULT_DATA, DEFAULT_DEV, REAL_DEV
from services.blobs import FolderBlobStore

HAVE_DEV_SETS = DEFAULT_DEV.exists() and REAL_DEV.exists()
VIDEO = "ab" * 16  # a video id (32 hex digits)

# What GET /api/v1/feedback answers: reviewers' corrections of real kinds of mistakes.
GOOD_FEEDBACK = {"feedback": [
    {"tenant_id": "school-a", "feedback_id": "f1", "text": "Do you want to share how you did it?", "label": "CEQ",
     "model_label": "OEQ", "model_version": "oeq-ceq-2-9a77a98387", "video_id": VIDEO, "question_index": 4,
     "reviewer": "coach Ana", "created_by": "coach-1", "created_at": 1764680000.0},
    {"tenant_id": "school-a", "feedback_id": "f2", "text": "Is there another way we could make the ramp go faster?",
     "label": "OEQ", "created_by": "coach-1", "created_at": 1764680100.0},
    {"tenant_id": "school-b", "feedback_id": "f3", "text": "Who can tell me what they saw at the farm?", "label": "OEQ",
     "reviewer": "coach Bo", "created_by": "coach-7", "created_at": 1764680200.0},
    # The same question twice: the newer label stands.
    {"tenant_id": "school-b", "feedback_id": "f4", "text": "Would you like the red cup or the blue cup?", "label": "OEQ",
     "created_by": "coach-7", "created_at": 1764680300.0},
    {"tenant_id": "school-b", "feedback_id": "f5", "text": "Would you like the red cup or the blue cup?", "label": "CEQ",
     "created_by": "coach-8", "created_at": 1764680400.0},
]}


def poisoned_feedback() -> list[dict]:
    """300 training utterances sent back with their labels flipped (a careless or hostile reviewer)."""
    with DEFAULT_DATA.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    random.Random(1).shuffle(rows)
    return [{"text": r["text"], "label": "OEQ" if r["label"] == "CEQ" else "CEQ", "feedback_id": f"p{i}",
             "tenant_id": "school-m", "created_by": "mallory"} for i, r in enumerate(rows[:300])]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("retrain") / "data"


@pytest.fixture(scope="module")
def good_run(data_dir, tmp_path_factory):
    feedback = tmp_path_factory.mktemp("feedback") / "feedback.json"
    feedback.write_text(json.dumps(GOOD_FEEDBACK))
    return run_cli(data_dir, ["--feedback", str(feedback)])


def run_cli(data_dir, argv):
    """The command as a person runs it (in-process: the same main(), the app's settings)."""
    import contextlib

    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATA_DIR", str(data_dir))
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = retrain.main(argv)
    return code, out.getvalue(), err.getvalue()


def registry_at(data_dir) -> ModelRegistry:
    return ModelRegistry(FolderBlobStore(data_dir / "blobs"))


def test_feedback_becomes_a_shadow_candidate_with_its_card_and_provenance(good_run, data_dir):
    code, out, err = good_run
    assert code == 0, err
    registry = registry_at(data_dir)
    roles = registry.roles()
    assert roles.candidate is not None and roles.mode == "shadow" and roles.candidate != roles.active
    assert f"registered {roles.candidate} as the shadow candidate" in out
    card = registry.card(roles.candidate)
    assert card["parent_version"] == roles.active
    assert card["feedback"] == {**card["feedback"], "corrections": 4, "tenants": 2}
    assert all(g["passed"] for g in card["gates"]["results"])
    assert card["metrics"]["corrections_learned"] == {"n": 4, "share": 1.0}
    names = {g["name"] for g in card["gates"]["results"]}
    assert {"held_out accuracy", "held_out macro_f1", "corrections learned"} <= names
    assert ("dev_questions macro_f1" in names) == HAVE_DEV_SETS
    # The gate table is printed, one row per gate.
    assert "held_out macro_f1" in out and "corrections learned" in out and "FAIL" not in out

    # The version learned the corrections, and says where each training row came from.
    model = registry.load(roles.candidate)
    labels = {p.text: p.label for p in model.classify([f["text"] for f in GOOD_FEEDBACK["feedback"]])}
    assert labels["Do you want to share how you did it?"] == "CEQ"
    assert labels["Would you like the red cup or the blue cup?"] == "CEQ"
    rows = list(csv.DictReader(io.StringIO(registry.blobs.get_bytes(
        CONTAINER, f"versions/{roles.candidate}/training_data.csv").decode())))
    corrections = [r for r in rows if r["source"] == "feedback"]
    assert len(corrections) == 4 and len(rows) - 4 >= 3000
    first = next(r for r in corrections if r["feedback_id"] == "f1")
    assert (first["reviewer"], first["created_by"], first["video_id"], first["question_index"]) == (
        "coach Ana", "coach-1", VIDEO, "4")
    assert first["created_at"].startswith("2025-12-02T")
    assert card["training_data"]["sha256"] and card["onnx_sha256"]


def test_a_poisoned_feedback_file_fails_the_gates_and_registers_nothing(data_dir, tmp_path):
    fresh = tmp_path / "data"
    poison = tmp_path / "poison.jsonl"
    poison.write_text("\n".join(json.dumps(r) for r in poisoned_feedback()))
    code, out, err = run_cli(fresh, ["--feedback", str(poison)])
    assert code == 1
    assert "nothing registered" in err and "held_out" in err
    assert "FAIL" in out
    registry = registry_at(fresh)
    assert len(registry.versions()) == 1 and not registry.blobs.exists(CONTAINER, REGISTRY_BLOB)


def test_unreadable_feedback_is_one_clear_line(tmp_path):
    bad = tmp_path / "feedback.csv"
    bad.write_text("text,label\nIs it red?,MAYBE\n")
    code, _, err = run_cli(tmp_path / "data", ["--feedback", str(bad)])
    assert code == 2
    assert err.strip().splitlines() == ["retrain: " + err.strip().split("retrain: ", 1)[1]]
    assert "item 1" in err and "MAYBE" in err
    code, _, err = run_cli(tmp_path / "data", ["--feedback", str(tmp_path / "missing.json")])
    assert code == 2 and "cannot read" in err


def test_feedback_comes_from_the_results_store(tmp_path):
    from services.results import FeedbackRecord, SqliteResultsStore

    store = SqliteResultsStore(tmp_path / "results.sqlite3")
    for item in GOOD_FEEDBACK["feedback"]:
        store.save_feedback(FeedbackRecord(**{k: v for k, v in item.items()
                                              if k in FeedbackRecord.__dataclass_fields__}))
    store.save_feedback(FeedbackRecord(tenant_id="elsewhere", feedback_id="x", text="Is it blue?", label="OEQ"))
    store.save_feedback(FeedbackRecord(tenant_id="school-a", feedback_id="nq", text="Sit down, please?",
                                       label="NOT_QUESTION"))  # the detector's mistake: not for the classifier
    corrections = retrain.feedback_from_store(store, ["school-a", "school-b"])
    assert {c.feedback_id for c in corrections} == {"f1", "f2", "f3", "f4", "f5"}
    assert {c.text for c in retrain.newest_per_text(corrections)} == {f["text"] for f in GOOD_FEEDBACK["feedback"]}


def test_the_comparison_report_against_the_active_model(good_run, data_dir):
    registry = registry_at(data_dir)
    roles = registry.roles()
    result = compare(registry, roles.active, roles.candidate, show=5)
    if HAVE_DEV_SETS:
        dev = result.dev_sets["dev_questions"]
        assert dev["n"] == 588 and 0.9 <= dev["agreement"] <= 1.0
        assert dev["candidate_metrics"]["accuracy"] >= dev["active_metrics"]["accuracy"] - 0.02
        assert len(dev["differing"]) == min(dev["differences"], 5)
    text = render(result)
    assert roles.candidate in text and "pass --tenant" in text

    # Real traffic from the shadow log: agreement, OEQ share, where they differ.
    log = [{"tenant_id": "t", "video_id": "v1", "created_at": "2026-12-01T00:00:00+00:00",
            "active_version": roles.active, "shadow_version": roles.candidate,
            "items": [{"index": 0, "text_digest": "d0", "active_p": 0.9, "shadow_p": 0.8},
                      {"index": 1, "text_digest": "d1", "active_p": 0.6, "shadow_p": 0.3}]},
           {"tenant_id": "t", "video_id": None, "created_at": "2026-12-01T00:00:01+00:00",
            "active_version": roles.active, "shadow_version": roles.candidate,
            "items": [{"index": 0, "text_digest": "d2", "active_p": 0.1, "shadow_p": 0.2}]},
           {"tenant_id": "t", "video_id": "v2", "created_at": "2026-12-01T00:00:02+00:00",
            "active_version": "older", "shadow_version": roles.candidate, "items": [
                {"index": 0, "text_digest": "d3", "active_p": 0.1, "shadow_p": 0.9}]}]
    traffic = compare_traffic(log, roles.active, roles.candidate, show=5,
                              text_of=lambda tenant, video, index: f"{video}#{index}")
    assert (traffic["n"], traffic["differences"], traffic["agreement"]) == (3, 1, 0.6667)
    assert traffic["oeq_share"] == {"active": 0.6667, "candidate": 0.3333}
    assert traffic["differing"] == [{"tenant_id": "t", "video_id": "v1", "index": 1, "text_digest": "d1",
                                     "active_p": 0.6, "candidate_p": 0.3, "text": "v1#1"}]
