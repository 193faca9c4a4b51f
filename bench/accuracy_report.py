"""The project's accuracy report: how well the models do on each evaluation set.

    .venv/bin/python bench/accuracy_report.py [--eval-dir ../shared/eval] [--json FILE]

Prints one table (set, kind, n, accuracy, macro-F1), then per set the confusion
matrix and the ten most confident errors. Only the text sets (questions labelled
OEQ/CEQ, scored through the served classifier exactly as the API scores them) are
here so far; each set *kind* has one evaluate function, and another kind (audio
with reference transcripts, speaker turns, wait times) is added by writing its
evaluate function and listing its files in ``SETS``: the table printer only needs an
``EvalResult``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sklearn.metrics import accuracy_score, confusion_matrix, f1_score  # noqa: E402

from models.oeq_ceq.classifier import LABELS, QuestionClassifier  # noqa: E402

DEFAULT_EVAL_DIR = REPO.parent / "shared" / "eval"
ERRORS_SHOWN = 10


@dataclass(frozen=True)
class EvalSet:
    name: str
    kind: str  # selects the evaluate function in EVALUATORS
    file: str  # relative to the eval folder


@dataclass(frozen=True)
class Miss:
    text: str
    truth: str
    predicted: str
    confidence: float  # probability the model gave its (wrong) label


@dataclass
class EvalResult:
    name: str
    kind: str
    n: int
    accuracy: float
    macro_f1: float
    labels: list[str]
    confusion_rows_truth: list[list[int]]
    most_confident_errors: list[Miss] = field(default_factory=list)


# The sets this report knows. Another engineer adds audio sets here (kind "audio", …).
SETS = [
    EvalSet("dev_questions", "text", "dev_questions.csv"),
    EvalSet("real_dev_snippets", "text", "real_dev_snippets.csv"),
]


class BadEvalFile(ValueError):
    """An evaluation file that cannot be read as its kind."""


def read_text_set(path: Path) -> tuple[list[str], list[str]]:
    """Texts and labels from a CSV with ``text`` and ``label`` (OEQ/CEQ) columns."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or not {"text", "label"} <= set(rows[0]):
        raise BadEvalFile(f"{path}: expected a CSV with 'text' and 'label' columns")
    labels = [row["label"].strip().upper() for row in rows]
    unknown = set(labels) - set(LABELS)
    if unknown:
        raise BadEvalFile(f"{path}: unknown labels {sorted(unknown)}; expected {list(LABELS)}")
    return [row["text"] for row in rows], labels


def evaluate_text_set(name: str, path: Path, classifier: QuestionClassifier) -> EvalResult:
    """Classify every text as the API would and compare with the reference labels."""
    texts, truth = read_text_set(path)
    predictions = classifier.classify(texts)
    predicted = [p.label for p in predictions]
    misses = [
        Miss(p.text, t, p.label, round(p.oeq_probability if p.label == "OEQ" else 1 - p.oeq_probability, 4))
        for p, t in zip(predictions, truth)
        if p.label != t
    ]
    misses.sort(key=lambda m: m.confidence, reverse=True)
    return EvalResult(
        name=name,
        kind="text",
        n=len(texts),
        accuracy=round(float(accuracy_score(truth, predicted)), 4),
        macro_f1=round(float(f1_score(truth, predicted, average="macro", labels=list(LABELS), zero_division=0)), 4),
        labels=list(LABELS),
        confusion_rows_truth=confusion_matrix(truth, predicted, labels=list(LABELS)).tolist(),
        most_confident_errors=misses[:ERRORS_SHOWN],
    )


EVALUATORS: dict[str, Callable[..., EvalResult]] = {"text": evaluate_text_set}


def run(eval_dir: Path, sets: list[EvalSet] = SETS) -> tuple[list[EvalResult], list[str]]:
    """Evaluate every set whose file is present; the names of those skipped."""
    classifier = QuestionClassifier()
    results, skipped = [], []
    for eval_set in sets:
        path = eval_dir / eval_set.file
        if not path.exists():
            skipped.append(f"{eval_set.name} ({path} not found)")
            continue
        results.append(EVALUATORS[eval_set.kind](eval_set.name, path, classifier))
    return results, skipped


def table(results: list[EvalResult]) -> str:
    header = f"{'set':<22} {'kind':<6} {'n':>5} {'accuracy':>9} {'macro-F1':>9}"
    lines = [header, "-" * len(header)]
    lines += [f"{r.name:<22} {r.kind:<6} {r.n:>5} {r.accuracy:>9.4f} {r.macro_f1:>9.4f}" for r in results]
    return "\n".join(lines)


def details(result: EvalResult) -> str:
    width = max(len(label) for label in result.labels) + 2
    lines = [f"\n## {result.name}", "confusion matrix (rows: truth, columns: predicted)",
             " " * width + "".join(f"{label:>{width}}" for label in result.labels)]
    for label, row in zip(result.labels, result.confusion_rows_truth):
        lines.append(f"{label:<{width}}" + "".join(f"{count:>{width}}" for count in row))
    lines.append(f"the {len(result.most_confident_errors)} most confident errors (truth -> predicted, confidence):")
    for miss in result.most_confident_errors:
        lines.append(f"  {miss.truth} -> {miss.predicted} {miss.confidence:.2f}  {miss.text}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    try:
        results, skipped = run(args.eval_dir)
    except BadEvalFile as error:
        print(f"accuracy_report: {error}", file=sys.stderr)
        return 2
    if not results:
        print(f"accuracy_report: no evaluation sets found in {args.eval_dir}", file=sys.stderr)
        return 2
    print(table(results))
    for result in results:
        print(details(result))
    for name in skipped:
        print(f"skipped: {name}", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
