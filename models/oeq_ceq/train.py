"""Train, evaluate and export the OEQ/CEQ classifier.

    python -m models.oeq_ceq.train [--data FILE] [--dev FILE] [--real-dev FILE] [--out DIR]
    python -m models.oeq_ceq.train --cv   # 5-fold cross-validation by seed, nothing written

1. Reads the project's labelled utterances (``data/train.csv``).
2. Fits on 80 % and reports accuracy / macro-F1 on the held-out 20 % (split by seed
   utterance, stratified by label).
3. Refits on everything, converts to ONNX and checks the graph against scikit-learn.
4. Scores the refit model on ``../shared/eval/dev_questions.csv`` and
   ``real_dev_snippets.csv`` when present (evaluation only: never trained on), the
   way the runtime does: each question of a turn in its context window (turns.py).
5. Writes ``artifacts/oeq_ceq.onnx`` and ``artifacts/model_card.json``.

The model is word 1-3-gram TF-IDF + logistic regression: small, ~µs per text, and
convertible to a graph that takes raw strings. See ../shared/NOTES.md for why
character n-grams and lowercase=True are avoided.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import onnxruntime as ort
import skl2onnx
import sklearn
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import StringTensorType
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import Pipeline

from models.oeq_ceq import text as text_module
from models.oeq_ceq import turns as turns_module
from models.oeq_ceq.classifier import LABELS
from models.oeq_ceq.text import normalize_text
from models.oeq_ceq.turns import turn_oeq_probabilities

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_DATA = HERE / "data" / "train.csv"
EVAL_DIR = REPO.parent / "shared" / "eval"
DEFAULT_DEV = EVAL_DIR / "dev_questions.csv"
REAL_DEV = EVAL_DIR / "real_dev_snippets.csv"
DEFAULT_OUT = HERE / "artifacts"
MODEL_NAME = "oeq-ceq"
SEED = 13
HYPERPARAMETERS = {
    "ngram_range": [1, 3],
    "token_pattern": r"[a-z']+",
    # Presence, not counts: a stutter ("what what") is not more of a question. Also
    # skl2onnx silently ignores sublinear_tf (probabilities drift by ~0.03), so it stays off.
    "binary": True,
    "min_df": 1,
    "C": 8.0,
    "class_weight": "balanced",
}


def card_header(model_sha: str, **lineage) -> dict:
    """What every card of this model says of itself (train and retrain alike): name, version
    (from the ONNX bytes), ``lineage`` (e.g. parent_version), when, task, inputs, outputs, hashes."""
    return {
        "name": MODEL_NAME,
        "version": f"{MODEL_NAME}-2-{model_sha[:10]}",
        **lineage,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "task": "label an educator's question open-ended (OEQ) or closed-ended (CEQ)",
        "labels": list(LABELS),
        "input": "normalize_text(text) from models/oeq_ceq/text.py, shape [N, 1] strings",
        "turns": "each question of a text scored in its window (models/oeq_ceq/turns.py); text P(OEQ) = max",
        "outputs": ["label", "probabilities [P(CEQ), P(OEQ)]"],
        "onnx_sha256": model_sha,
        "normalizer_sha256": sha256_of(Path(text_module.__file__)),
        "turns_sha256": sha256_of(Path(turns_module.__file__)),
    }


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_labelled(path: Path) -> tuple[list[str], np.ndarray]:
    texts, labels, _ = read_labelled_with_seeds(path)
    return texts, labels


def read_labelled_with_seeds(path: Path) -> tuple[list[str], np.ndarray, list[str]]:
    """Texts, label indices, and each row's seed id (the row itself when there is none)."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    unknown = {row["label"].strip().upper() for row in rows} - set(LABELS)
    if unknown:
        raise SystemExit(f"{path}: unknown labels {sorted(unknown)}; expected {LABELS}")
    return (
        [row["text"] for row in rows],
        np.array([LABELS.index(row["label"].strip().upper()) for row in rows]),
        [row.get("seed") or f"row{i}" for i, row in enumerate(rows)],
    )


def build_pipeline() -> Pipeline:
    h = HYPERPARAMETERS
    return Pipeline(
        [
            (
                "tfidf",
                TfidfVectorizer(
                    lowercase=False,  # normalize_text already did it
                    token_pattern=h["token_pattern"],
                    ngram_range=tuple(h["ngram_range"]),
                    binary=h["binary"],
                    min_df=h["min_df"],
                ),
            ),
            (
                "logreg",
                LogisticRegression(
                    C=h["C"], class_weight=h["class_weight"], max_iter=5000, random_state=SEED
                ),
            ),
        ]
    )


def scores(truth: np.ndarray, predicted: np.ndarray) -> dict:
    return {
        "n": int(len(truth)),
        "accuracy": round(float(accuracy_score(truth, predicted)), 4),
        "macro_f1": round(float(f1_score(truth, predicted, average="macro")), 4),
        "confusion_matrix": {"labels": list(LABELS), "rows_truth": confusion_matrix(truth, predicted).tolist()},
    }


def to_onnx(pipeline: Pipeline) -> bytes:
    logreg = pipeline.named_steps["logreg"]
    graph = convert_sklearn(
        pipeline,
        initial_types=[("text", StringTensorType([None, 1]))],
        options={id(logreg): {"zipmap": False}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    graph.doc_string = "OEQ/CEQ classifier; input: normalize_text() output; output 1: P(CEQ), P(OEQ)"
    # skl2onnx names the graph with a random uuid: without a fixed name the same model
    # would hash (and be versioned) differently on every export.
    graph.graph.name = MODEL_NAME
    return graph.SerializeToString()


def onnx_oeq_probabilities(model: bytes, normalized: list[str]) -> np.ndarray:
    return session_oeq(ort.InferenceSession(model, providers=["CPUExecutionProvider"]), normalized)


def session_oeq(session: ort.InferenceSession, normalized: list[str]) -> np.ndarray:
    batch = np.array(normalized, dtype=object).reshape(-1, 1)
    return session.run(None, {"text": batch})[1][:, LABELS.index("OEQ")]


def train(data: Path, dev: Path | None, out: Path, real_dev: Path | None = REAL_DEV) -> dict:
    texts, labels, seeds = read_labelled_with_seeds(data)
    normalized = np.array([normalize_text(t) for t in texts], dtype=object)

    # Held out by seed: variants of one hand-written utterance (another filler or
    # name) never sit on both sides, so the score is not inflated by near-copies.
    splitter = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=SEED)
    fit, held = next(splitter.split(normalized, labels, groups=seeds))
    held_model = build_pipeline().fit(list(normalized[fit]), labels[fit])
    held_p_oeq = turn_oeq_probabilities(list(normalized[held]), lambda w: held_model.predict_proba(w)[:, 1])
    held_out = scores(labels[held], (held_p_oeq >= 0.5).astype(int))
    normalized = list(normalized)

    pipeline = build_pipeline().fit(normalized, labels)
    model = to_onnx(pipeline)
    drift = np.abs(onnx_oeq_probabilities(model, normalized) - pipeline.predict_proba(normalized)[:, 1])
    if drift.max() > 1e-4:
        raise SystemExit(f"ONNX graph disagrees with scikit-learn by {drift.max():.2e}")

    metrics = {"held_out_20pct_by_seed": held_out}
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    for name, path in (("dev_questions", dev), ("real_dev_snippets", real_dev)):
        if path and path.exists():
            eval_texts, eval_labels = read_labelled(path)
            p_oeq = turn_oeq_probabilities([normalize_text(t) for t in eval_texts], lambda w: session_oeq(session, w))
            metrics[name] = scores(eval_labels, (p_oeq >= 0.5).astype(int))

    out.mkdir(parents=True, exist_ok=True)
    (out / "oeq_ceq.onnx").write_bytes(model)
    model_sha = hashlib.sha256(model).hexdigest()
    card = {
        **card_header(model_sha),
        "training_data": {
            "path": str(data.relative_to(REPO)) if data.is_relative_to(REPO) else str(data),
            "sha256": sha256_of(data),
            "rows": len(texts),
            "seeds": len(set(seeds)),
            "label_counts": {label: int((labels == i).sum()) for i, label in enumerate(LABELS)},
        },
        "hyperparameters": HYPERPARAMETERS,
        "metrics": metrics,
        "libraries": {"scikit-learn": sklearn.__version__, "skl2onnx": skl2onnx.__version__},
        "features": int(len(pipeline.named_steps["tfidf"].vocabulary_)),
    }
    (out / "model_card.json").write_text(json.dumps(card, indent=2) + "\n")
    return card


def cross_validate(data: Path, folds: int = 5) -> dict:
    """Accuracy and macro-F1 over ``folds`` grouped folds (by seed), scored per turn as at run time."""
    texts, labels, seeds = read_labelled_with_seeds(data)
    normalized = np.array([normalize_text(t) for t in texts], dtype=object)
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=SEED)
    per_fold = []
    for fit, held in splitter.split(normalized, labels, groups=seeds):
        model = build_pipeline().fit(list(normalized[fit]), labels[fit])
        p_oeq = turn_oeq_probabilities(list(normalized[held]), lambda w, m=model: m.predict_proba(w)[:, 1])
        per_fold.append(scores(labels[held], (p_oeq >= 0.5).astype(int)))
    summary = {}
    for metric in ("accuracy", "macro_f1"):
        values = [fold[metric] for fold in per_fold]
        summary[metric] = {"mean": round(float(np.mean(values)), 4), "sd": round(float(np.std(values)), 4)}
    return {"folds": folds, **summary}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--dev", type=Path, default=DEFAULT_DEV)
    parser.add_argument("--real-dev", type=Path, default=REAL_DEV)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--cv", action="store_true", help="only print 5-fold cross-validation by seed; write nothing")
    args = parser.parse_args(argv)
    if args.cv:
        print(json.dumps(cross_validate(args.data), indent=2))
        return 0
    card = train(args.data, args.dev, args.out, args.real_dev)
    print(json.dumps({"version": card["version"], "metrics": card["metrics"]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
