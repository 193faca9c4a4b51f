"""The OEQ/CEQ classifier: its data, its card, its ONNX graph and its quality."""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

from models.oeq_ceq import text as text_module
from models.oeq_ceq import train
from models.oeq_ceq.classifier import MODEL_FILE, ModelUnavailable, QuestionClassifier
from models.oeq_ceq.text import normalize_text

DATA = train.DEFAULT_DATA
DEV = train.DEFAULT_DEV


@pytest.fixture(scope="module")
def model():
    return QuestionClassifier()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def distinct_key(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", " ".join(text.lower().split()))


def test_card_matches_committed_data_normaliser_and_graph(model):
    card = model.card
    assert card["training_data"]["sha256"] == sha256(DATA), "train.csv changed: retrain (python -m models.oeq_ceq.train)"
    assert card["normalizer_sha256"] == sha256(Path(text_module.__file__)), "text.py changed: retrain"
    assert card["onnx_sha256"] == sha256(MODEL_FILE)
    assert card["onnx_sha256"][:10] in card["version"]


def test_committed_model_is_what_the_script_makes_from_the_data(model, tmp_path):
    card = train.train(DATA, None, tmp_path)
    texts, _ = train.read_labelled(DATA)
    sample = [normalize_text(t) for t in texts[::7]] + [normalize_text("Is this a new sentence, never seen?")]
    retrained = QuestionClassifier(tmp_path / "oeq_ceq.onnx", tmp_path / "model_card.json")
    assert np.allclose(retrained.oeq_probabilities_of_normalized(sample),
                       model.oeq_probabilities_of_normalized(sample), atol=1e-5)
    assert card["training_data"]["sha256"] == model.card["training_data"]["sha256"]


def test_training_data_is_large_distinct_and_labelled():
    with DATA.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 1500
    assert {r["label"] for r in rows} == {"OEQ", "CEQ"}
    assert len({distinct_key(r["text"]) for r in rows}) == len(rows)
    assert min(sum(r["label"] == label for r in rows) for label in ("OEQ", "CEQ")) > 0.3 * len(rows)


@pytest.mark.skipif(not DEV.exists(), reason="../shared/eval/dev_questions.csv is not beside this checkout")
def test_training_data_does_not_contain_the_dev_set():
    with DATA.open(newline="") as a, DEV.open(newline="") as b:
        ours = {distinct_key(r["text"]) for r in csv.DictReader(a)}
        dev = {distinct_key(r["text"]) for r in csv.DictReader(b)}
    assert not ours & dev


@pytest.mark.skipif(not DEV.exists(), reason="../shared/eval/dev_questions.csv is not beside this checkout")
def test_meets_the_dev_set_targets(model):
    texts, truth = train.read_labelled(DEV)
    predicted = np.array([p.label == "OEQ" for p in model.classify(texts)], dtype=int)
    metrics = train.scores(truth, predicted)
    assert metrics["accuracy"] >= 0.90, metrics
    assert metrics["macro_f1"] >= 0.88, metrics


@pytest.mark.parametrize(
    "text, label",
    [
        ("What do you think will happen if we put it in the water?", "OEQ"),
        ("Why do you think the snowman melted?", "OEQ"),
        ("Tell me about your tower.", "OEQ"),
        ("how did you make that", "OEQ"),
        ("It's very heavy. Why was it heavy?", "OEQ"),
        ("Do you think it will sink? Why?", "OEQ"),
        ("How many blocks are there?", "CEQ"),
        ("What colour is the truck?", "CEQ"),
        ("Is it red?", "CEQ"),
        ("That's a triangle, right?", "CEQ"),
        ("Do you want the red cup or the blue cup?", "CEQ"),
        ("Can you sit down please?", "CEQ"),
        ("um is that yours", "CEQ"),
    ],
)
def test_clear_cases(model, text, label):
    assert model.classify([text])[0].label == label


def test_batch_equals_one_by_one_and_keeps_order(model):
    texts = ["Is it red?", "Why is it red?", "how many", "What else could we try?"] * 300
    batch = model.classify(texts)
    assert [p.text for p in batch] == texts
    assert [p.oeq_probability for p in batch[:4]] == [model.classify([t])[0].oeq_probability for t in texts[:4]]


def test_text_with_no_words_still_gets_a_probability(model):
    [p] = model.classify(["?!"])
    assert 0.0 <= p.oeq_probability <= 1.0 and p.label in {"OEQ", "CEQ"}


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelUnavailable, match="cannot load the OEQ/CEQ model"):
        QuestionClassifier(tmp_path / "missing.onnx", tmp_path / "missing.json")
