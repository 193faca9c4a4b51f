"""Reviewers' corrections become the next model: retrain, gate, register as a candidate.

    python -m models.oeq_ceq.retrain --feedback FILE [--mode shadow|candidate] [--share 0.1]
    python -m models.oeq_ceq.retrain --from-store --tenant T [--tenant U ...]
    options: --tolerance 0.02  --min-learned 0.9  --dry-run (gate only, register nothing)

1. Reads reviewers' feedback: a file (what ``GET /api/v1/feedback`` answers, a JSON list,
   JSON lines, or a CSV with ``text,label``) or the results store (SQLite or Cosmos, as the
   app's settings choose). Per text the newest correction wins; ``NOT_QUESTION`` feedback
   (the detector's mistake, not the classifier's) is left out.
2. Merges it with ``data/train.csv`` with provenance (source, feedback id, tenant, video,
   question, reviewer, author, time): a training row with the same normalised text as a
   correction is replaced by it, and each correction weighs ``FEEDBACK_WEIGHT`` rows.
3. Trains as ``train.py`` does, on the same held-out split by seed, and exports ONNX.
4. Gates (all must pass, else nothing is registered and the table says why):
   - held-out 20 % by seed: accuracy and macro-F1 not below the active model's card - tolerance;
   - ``../shared/eval`` dev_questions.csv and real_dev_snippets.csv (when present): accuracy
     and macro-F1 not below the active model's, measured now, - tolerance;
   - the corrections are learned: at least ``--min-learned`` of them get the reviewer's label.
5. Writes the card (parent version, feedback summary, gates) and registers the version in
   the model registry as a candidate (``--mode shadow`` by default: it predicts unseen).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import sys
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from models.oeq_ceq.classifier import LABELS, QuestionClassifier
from models.oeq_ceq.registry import ModelRegistry, RegistryError
from models.oeq_ceq.text import normalize_text
from models.oeq_ceq.train import (
    DEFAULT_DATA,
    DEFAULT_DEV,
    HYPERPARAMETERS,
    MODEL_NAME,
    REAL_DEV,
    SEED,
    build_pipeline,
    card_header,
    onnx_oeq_probabilities,
    read_labelled,
    read_labelled_with_seeds,
    scores,
    sha256_of,
    to_onnx,
)
from models.oeq_ceq.turns import turn_oeq_probabilities

FEEDBACK_WEIGHT = 3.0  # a reviewer's correction counts as three ordinary rows: it must be learned
DEFAULT_TOLERANCE = 0.02
DEFAULT_MIN_LEARNED = 0.9
GATED_METRICS = ("accuracy", "macro_f1")


class FeedbackError(ValueError):
    """The feedback cannot be read; the message says where and why."""


@dataclass(frozen=True)
class Correction:
    """One reviewer's label for one text, with where it came from."""

    text: str
    label: str
    feedback_id: str = ""
    tenant_id: str = ""
    video_id: str = ""
    question_index: str = ""
    reviewer: str = ""
    created_by: str = ""
    created_at: str = ""
    model_label: str = ""
    model_version: str = ""

    @classmethod
    def from_record(cls, record: dict, where: str) -> "Correction":
        text, label = str(record.get("text") or "").strip(), str(record.get("label") or "").strip().upper()
        if not text or label not in LABELS:
            raise FeedbackError(f"{where}: needs a text and a label of {' or '.join(LABELS)} (got {label!r})")
        created = record.get("created_at", "")
        if isinstance(created, (int, float)):  # the results store keeps epoch seconds
            created = datetime.fromtimestamp(created, timezone.utc).isoformat(timespec="seconds")
        known = {f.name for f in fields(cls)} - {"text", "label", "created_at"}
        return cls(text=text, label=label, created_at=str(created or ""),
                   **{name: "" if record.get(name) is None else str(record[name]) for name in known})


@dataclass(frozen=True)
class Gate:
    name: str
    active: float | None
    candidate: float
    required: float
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.candidate >= self.required - 1e-9


@dataclass
class Outcome:
    card: dict
    model: bytes
    training_data: bytes
    gates: list[Gate]

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)

    @property
    def version(self) -> str:
        return self.card["version"]


# --- reading feedback ------------------------------------------------------------------------


# Feedback that corrects the question detector, not the classifier: not training data here.
NOT_A_QUESTION = "NOT_QUESTION"


def for_the_classifier(record: dict) -> bool:
    return str(record.get("label") or "").strip().upper() != NOT_A_QUESTION


def read_feedback_file(path: Path) -> list[Correction]:
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise FeedbackError(f"cannot read {path}: {error}") from None
    if path.suffix.lower() == ".csv":
        records = list(csv.DictReader(io.StringIO(raw)))
    else:
        try:
            parsed = json.loads(raw)
            records = parsed.get("feedback", []) if isinstance(parsed, dict) else parsed
        except ValueError:
            try:
                records = [json.loads(line) for line in raw.splitlines() if line.strip()]
            except ValueError as error:
                raise FeedbackError(f"{path}: not JSON, JSON lines or CSV ({error})") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise FeedbackError(f"{path}: expected a list of feedback objects")
    return [Correction.from_record(r, f"{path} item {i + 1}") for i, r in enumerate(records)
            if for_the_classifier(r)]


def feedback_from_store(results, tenants: list[str], limit: int = 100_000) -> list[Correction]:
    """Every listed tenant's feedback from the results store (services.results' list_feedback)."""
    records = [record.to_dict() for tenant in tenants for record in results.list_feedback(tenant, limit)]
    return [Correction.from_record(r, f"feedback {r['feedback_id']}") for r in records if for_the_classifier(r)]


def newest_per_text(corrections: list[Correction]) -> list[Correction]:
    """Reviewers may disagree over time: per normalised text, the newest label stands."""
    newest: dict[str, Correction] = {}
    for c in sorted(corrections, key=lambda c: c.created_at):
        newest[normalize_text(c.text)] = c
    return list(newest.values())


# --- training and gates ------------------------------------------------------------------------


def retrain(corrections: list[Correction], active: QuestionClassifier, data: Path = DEFAULT_DATA,
            dev: Path | None = DEFAULT_DEV, real_dev: Path | None = REAL_DEV,
            tolerance: float = DEFAULT_TOLERANCE, min_learned: float = DEFAULT_MIN_LEARNED) -> Outcome:
    corrections = newest_per_text(corrections)
    if not corrections:
        raise FeedbackError("no feedback to learn from")
    texts, labels, seeds = read_labelled_with_seeds(data)
    normalized = [normalize_text(t) for t in texts]
    corrected = {normalize_text(c.text): c for c in corrections}
    kept = np.array([n not in corrected for n in normalized])
    fix_texts = list(corrected)
    fix_labels = np.array([LABELS.index(c.label) for c in corrected.values()])

    # The same held-out split as train.py (same seed, same groups), so the active model's
    # card figure is comparable; rows a reviewer relabelled leave both sides.
    splitter = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=SEED)
    fit, held = next(splitter.split(np.array(normalized, dtype=object), labels, groups=seeds))
    fit, held = fit[kept[fit]], held[kept[held]]
    held_model = _fit([normalized[i] for i in fit], labels[fit], fix_texts, fix_labels)
    held_p = turn_oeq_probabilities([normalized[i] for i in held], lambda w: held_model.predict_proba(w)[:, 1])
    held_scores = scores(labels[held], (held_p >= 0.5).astype(int))

    base_texts = [n for n, k in zip(normalized, kept) if k]
    pipeline = _fit(base_texts, labels[kept], fix_texts, fix_labels)
    model = to_onnx(pipeline)
    every = base_texts + fix_texts
    drift = np.abs(onnx_oeq_probabilities(model, every) - pipeline.predict_proba(every)[:, 1])
    if drift.max() > 1e-4:
        raise RuntimeError(f"ONNX graph disagrees with scikit-learn by {drift.max():.2e}")
    candidate = QuestionClassifier.from_bytes(model, {"version": "candidate"})

    metrics = {"held_out_20pct_by_seed": held_scores}
    active_held = active.card.get("metrics", {}).get("held_out_20pct_by_seed", {})
    gates = [Gate(f"held_out {m}", active_held.get(m), held_scores[m], (active_held.get(m) or 0) - tolerance,
                  f"n={held_scores['n']}") for m in GATED_METRICS]
    for name, path in (("dev_questions", dev), ("real_dev_snippets", real_dev)):
        if not (path and path.exists()):
            continue
        eval_texts, eval_labels = read_labelled(path)
        eval_normalized = [normalize_text(t) for t in eval_texts]
        ours = scores(eval_labels, (candidate.oeq_probabilities_of_normalized(eval_normalized) >= 0.5).astype(int))
        theirs = scores(eval_labels, (active.oeq_probabilities_of_normalized(eval_normalized) >= 0.5).astype(int))
        metrics[name] = ours
        gates += [Gate(f"{name} {m}", theirs[m], ours[m], theirs[m] - tolerance, f"n={ours['n']}")
                  for m in GATED_METRICS]

    learned_p = candidate.oeq_probabilities_of_normalized(fix_texts)
    learned = float(np.mean((learned_p >= 0.5).astype(int) == fix_labels))
    metrics["corrections_learned"] = {"n": len(fix_texts), "share": round(learned, 4)}
    gates.append(Gate("corrections learned", None, round(learned, 4), min_learned, f"n={len(fix_texts)}"))

    training_data = provenance_csv(texts, labels, kept, seeds, corrections, data)
    model_sha = hashlib.sha256(model).hexdigest()
    card = {
        **card_header(model_sha, parent_version=active.version),
        "training_data": {
            "path": f"models container: versions/{MODEL_NAME}-2-{model_sha[:10]}/training_data.csv",
            "sha256": hashlib.sha256(training_data).hexdigest(),
            "base": {"path": data.name, "sha256": sha256_of(data), "rows": len(texts)},
            "rows": int(kept.sum()) + len(fix_texts),
            "label_counts": {label: int((labels[kept] == i).sum() + (fix_labels == i).sum())
                             for i, label in enumerate(LABELS)},
        },
        "feedback": {
            "corrections": len(fix_texts),
            "replaced_training_rows": int((~kept).sum()),
            "weight": FEEDBACK_WEIGHT,
            "tenants": len({c.tenant_id for c in corrections if c.tenant_id}),
            "reviewers": len({c.reviewer or c.created_by for c in corrections if c.reviewer or c.created_by}),
            "newest": max((c.created_at for c in corrections), default=""),
        },
        "hyperparameters": HYPERPARAMETERS,
        "metrics": metrics,
        "gates": {"tolerance": tolerance, "min_learned": min_learned,
                  "results": [{**asdict(g), "passed": g.passed} for g in gates]},
        "features": int(len(pipeline.named_steps["tfidf"].vocabulary_)),
    }
    return Outcome(card=card, model=model, training_data=training_data, gates=gates)


def _fit(texts: list[str], labels: np.ndarray, fix_texts: list[str], fix_labels: np.ndarray):
    weights = np.concatenate([np.ones(len(texts)), np.full(len(fix_texts), FEEDBACK_WEIGHT)])
    return build_pipeline().fit(texts + fix_texts, np.concatenate([labels, fix_labels]),
                                logreg__sample_weight=weights)


PROVENANCE_COLUMNS = ["text", "label", "source", "seed", "feedback_id", "tenant_id", "video_id", "question_index",
                      "reviewer", "created_by", "created_at", "model_label", "model_version"]


def provenance_csv(texts, labels, kept, seeds, corrections: list[Correction], data: Path) -> bytes:
    """Every row the version learned from and where it came from (who, when, which video)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, PROVENANCE_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for text, label, keep, seed in zip(texts, labels, kept, seeds):
        if keep:
            writer.writerow({"text": text, "label": LABELS[label], "source": data.name, "seed": seed})
    for c in corrections:
        writer.writerow({**asdict(c), "source": "feedback"})
    return out.getvalue().encode()


def gate_table(gates: list[Gate]) -> str:
    rows = [("gate", "active", "candidate", "required", "result", "")]
    for g in gates:
        rows.append((g.name, "-" if g.active is None else f"{g.active:.4f}", f"{g.candidate:.4f}",
                     f">= {g.required:.4f}", "pass" if g.passed else "FAIL", g.detail))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def main(argv: list[str] | None = None) -> int:
    from services.settings import Settings, SettingsError, build_blobs, build_results  # the CLI runs beside the app

    parser = argparse.ArgumentParser(prog="python -m models.oeq_ceq.retrain", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--feedback", type=Path, help="a feedback export (JSON, JSON lines or CSV)")
    source.add_argument("--from-store", action="store_true", help="read feedback from the results store")
    parser.add_argument("--tenant", action="append", default=[], help="with --from-store: whose feedback (repeat)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--dev", type=Path, default=DEFAULT_DEV)
    parser.add_argument("--real-dev", type=Path, default=REAL_DEV)
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE)
    parser.add_argument("--min-learned", type=float, default=DEFAULT_MIN_LEARNED)
    parser.add_argument("--mode", choices=("shadow", "candidate"), default="shadow")
    parser.add_argument("--share", type=float, default=0.0, help="candidate mode: its share of traffic (0-1)")
    parser.add_argument("--dry-run", action="store_true", help="train and gate; register nothing")
    args = parser.parse_args(argv)
    if args.from_store and not args.tenant:
        parser.error("--from-store needs --tenant (feedback is kept per organisation)")
    try:
        settings = Settings.from_env()
        registry = ModelRegistry(build_blobs(settings))
        roles = registry.roles().with_overrides(active=settings.model_active_version)
        active = registry.load(roles.active)
        if args.feedback:
            corrections = read_feedback_file(args.feedback)
        else:
            corrections = feedback_from_store(build_results(settings), args.tenant)
        outcome = retrain(corrections, active, args.data, args.dev, args.real_dev, args.tolerance, args.min_learned)
    except (FeedbackError, RegistryError, SettingsError) as error:
        print(f"retrain: {error}", file=sys.stderr)
        return 2
    print(f"candidate {outcome.version} (from {active.version}, {outcome.card['feedback']['corrections']} "
          f"corrections, {outcome.card['feedback']['replaced_training_rows']} training rows replaced)")
    print(gate_table(outcome.gates))
    if not outcome.passed:
        failed = ", ".join(g.name for g in outcome.gates if not g.passed)
        print(f"retrain: gates failed ({failed}); nothing registered", file=sys.stderr)
        return 1
    if args.dry_run:
        print("dry run: nothing registered")
        return 0
    try:
        registry.register(outcome.model, outcome.card, outcome.training_data)
        roles = registry.add_candidate(outcome.version, args.mode, args.share, updated_by="retrain")
    except RegistryError as error:
        print(f"retrain: {error}", file=sys.stderr)
        return 2
    print(f"registered {outcome.version} as the {roles.mode} candidate"
          + (f" ({roles.share:.0%} of traffic)" if roles.mode == "candidate" else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
