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
from models.oeq_ceq import turns as turns_module
from models.oeq_ceq.classifier import MODEL_FILE, ModelUnavailable, QuestionClassifier
from models.oeq_ceq.text import normalize_text

DATA = train.DEFAULT_DATA
DEV = train.DEFAULT_DEV
REAL_DEV = train.REAL_DEV
SEEDS = DATA.parent / "seeds.csv"


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
    assert card["turns_sha256"] == sha256(Path(turns_module.__file__)), "turns.py changed: retrain"
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


def test_training_data_is_what_build_train_makes_from_the_seeds(tmp_path):
    import shutil
    import subprocess
    import sys

    script = DATA.parent / "build_train.py"
    shutil.copy(script, tmp_path / script.name)
    shutil.copy(SEEDS, tmp_path / SEEDS.name)
    subprocess.run([sys.executable, str(tmp_path / script.name)], check=True, capture_output=True)
    assert (tmp_path / "train.csv").read_bytes() == DATA.read_bytes(), "seeds.csv changed: rebuild train.csv"


def score(model, path: Path) -> dict:
    texts, truth = train.read_labelled(path)
    predicted = np.array([p.label == "OEQ" for p in model.classify(texts)], dtype=int)
    return train.scores(truth, predicted)


@pytest.mark.skipif(not DEV.exists(), reason="../shared/eval/dev_questions.csv is not beside this checkout")
def test_meets_the_dev_questions_target(model):
    metrics = score(model, DEV)
    assert metrics["accuracy"] >= 0.95, metrics


@pytest.mark.skipif(not REAL_DEV.exists(), reason="../shared/eval/real_dev_snippets.csv is not beside this checkout")
def test_meets_the_real_snippets_target(model):
    metrics = score(model, REAL_DEV)
    assert metrics["macro_f1"] >= 0.88, metrics


def four_grams(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z']+", text.lower())
    return {tuple(words[i : i + 4]) for i in range(len(words) - 3)}


@pytest.mark.skipif(not REAL_DEV.exists(), reason="../shared/eval/real_dev_snippets.csv is not beside this checkout")
def test_no_seed_paraphrases_a_real_snippet():
    """The real snippets showed which patterns were missing; the seeds cover the patterns in other words."""
    with SEEDS.open(newline="") as a, REAL_DEV.open(newline="") as b:
        seeds = [row["text"] for row in csv.DictReader(a)]
        snippets = [four_grams(row["text"]) for row in csv.DictReader(b)]
    close = []
    for seed in seeds:
        grams = four_grams(seed)
        if len(grams) >= 3 and max(len(grams & s) for s in snippets) / len(grams) >= 0.75:
            close.append(seed)
    assert not close


@pytest.mark.parametrize(
    "text, label",
    [
        ("What do you think will happen if we put it in the water?", "OEQ"),
        ("Why do you think the snowman melted?", "OEQ"),
        ("Tell me about your tower.", "OEQ"),
        ("how did you make that", "OEQ"),
        ("It's very cold. Why was it cold?", "OEQ"),
        ("Do you think it will sink? Why?", "OEQ"),
        ("How many blocks are there?", "CEQ"),
        ("What colour is the truck?", "CEQ"),
        ("Is it red?", "CEQ"),
        ("That's a triangle, right?", "CEQ"),
        ("Do you want the red cup or the blue cup?", "CEQ"),
        ("Can you sit down please?", "CEQ"),
        ("um is that yours", "CEQ"),
        # patterns of real classroom speech (none of these sentences is in the training data)
        ("Snails are really what?", "CEQ"),
        ("Huh?", "CEQ"),
        ("Tell me, did you finish your apple?", "CEQ"),
        ("How does the sand feel? Is it wet or dry?", "CEQ"),
        ("What colour do the apples look?", "CEQ"),
        ("You want the red one?", "CEQ"),
        ("Is it cold? Why do you think it's cold?", "OEQ"),
    ],
)
def test_clear_cases(model, text, label):
    assert model.classify([text])[0].label == label


def test_batch_equals_one_by_one_and_keeps_order(model):
    texts = ["Is it red?", "Why is it red?", "how many", "What else could we try?"] * 300
    batch = model.classify(texts)
    assert [p.text for p in batch] == texts
    assert [p.oeq_probability for p in batch[:4]] == [model.classify([t])[0].oeq_probability for t in texts[:4]]


def test_each_question_of_a_turn_is_classified_on_its_own(model):
    questions = model.classify_questions("Look at the boat. Is it heavy? Why did it sink? Was it fun?")
    assert [(q.text, q.label) for q in questions] == [
        ("Is it heavy?", "CEQ"), ("Why did it sink?", "OEQ"), ("Was it fun?", "CEQ")]
    [turn] = model.classify(["Look at the boat. Is it heavy? Why did it sink? Was it fun?"])
    assert turn.label == "OEQ" and turn.oeq_probability == max(q.oeq_probability for q in questions)


def test_an_either_or_follow_up_narrows_an_open_opener(model):
    opener, follow_up = model.classify_questions("How did the stone feel? Was it cold or warm?")
    assert (opener.label, follow_up.label) == ("CEQ", "CEQ")
    assert model.classify_questions("How did the stone feel?")[0].label == "OEQ"


def test_question_windows_read_the_statement_before_a_short_question_only():
    sentences = turns_module.normalized_sentences(normalize_text("It sank. Why? Did it fill up? Yes. Is it wet?"))
    assert [w.window for w in turns_module.question_windows(sentences)] == [
        "xxbos it sank xxbos why xxq",
        "xxbos did it fill up xxq",
        "xxbos is it wet xxq",
    ]
    narrowed = turns_module.question_windows(turns_module.normalized_sentences(normalize_text("How? Fast or slow?")))
    assert narrowed[0].window == "xxbos fast or slow xxq"
    why_or_why_not = turns_module.normalized_sentences(normalize_text("Will it melt? Why or why not?"))
    assert [w.window for w in turns_module.question_windows(why_or_why_not)] == [
        "xxbos will it melt xxq", "xxbos why or why not xxq"]
    prompt = turns_module.question_windows(turns_module.normalized_sentences(normalize_text(
        "Do you see the tower? Tell me how you built it.")))
    assert [w.window for w in prompt] == ["xxbos do you see the tower xxq", "xxbos tell me how you built it"]
    unpunctuated = turns_module.question_windows(turns_module.normalized_sentences(normalize_text("tell me about it")))
    assert [w.window for w in unpunctuated] == ["xxbos tell me about it"]


def test_text_with_no_words_still_gets_a_probability(model):
    [p] = model.classify(["?!"])
    assert 0.0 <= p.oeq_probability <= 1.0 and p.label in {"OEQ", "CEQ"}


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelUnavailable, match="cannot load the OEQ/CEQ model"):
        QuestionClassifier(tmp_path / "missing.onnx", tmp_path / "missing.json")


def test_cross_validation_scores_each_fold_by_seed(tmp_path):
    rows = ["text,label,seed"]
    for i, thing in enumerate(["tower", "boat", "seed", "snail", "drum", "kite", "cake", "puddle", "shell", "moon"]):
        rows += [f"Why did the {thing} change?,OEQ,o{i}", f"How did you make the {thing}?,OEQ,o{i}",
                 f"Is the {thing} red?,CEQ,c{i}", f"Is that your {thing}?,CEQ,c{i}"]
    data = tmp_path / "tiny.csv"
    data.write_text("\n".join(rows) + "\n")
    result = train.cross_validate(data, folds=2)
    assert result["folds"] == 2
    assert result["accuracy"]["mean"] >= 0.9 and 0 <= result["accuracy"]["sd"] <= 0.1
