"""Agreement between the seed labels and an independent second labelling pass.

    python -m models.oeq_ceq.data.agreement [--seeds FILE] [--second FILE]

``second_pass.csv`` holds 200 seeds drawn from ``seeds.csv`` with
``random.Random(14).sample`` and labelled a second time with the first labels hidden
(LABEL_GUIDE.md says who labelled and how). This prints Cohen's kappa (scikit-learn),
raw agreement, kappa per seed batch, and every disagreement: where the rules need
more words.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

from sklearn.metrics import cohen_kappa_score

HERE = Path(__file__).resolve().parent
SEEDS = HERE / "seeds.csv"
SECOND = HERE / "second_pass.csv"


@dataclass(frozen=True)
class Pair:
    text: str
    first: str
    second: str
    category: str
    batch: str


@dataclass(frozen=True)
class Agreement:
    n: int
    kappa: float
    raw: float
    kappa_by_batch: dict[str, tuple[int, float]]
    disagreements: list[Pair]


def read_pairs(seeds: Path = SEEDS, second: Path = SECOND) -> list[Pair]:
    with seeds.open(newline="", encoding="utf-8") as handle:
        first = {row["text"]: row for row in csv.DictReader(handle)}
    with second.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    missing = [row["text"] for row in rows if row["text"] not in first]
    if missing:
        raise SystemExit(f"{second}: {len(missing)} texts are not seeds, e.g. {missing[0]!r}")
    return [
        Pair(row["text"], first[row["text"]]["label"], row["second_label"],
             first[row["text"]]["category"], first[row["text"]]["batch"])
        for row in rows
    ]


def agreement(pairs: list[Pair]) -> Agreement:
    def kappa(subset: list[Pair]) -> float:
        return round(float(cohen_kappa_score([p.first for p in subset], [p.second for p in subset])), 3)

    batches = sorted({p.batch for p in pairs})
    return Agreement(
        n=len(pairs),
        kappa=kappa(pairs),
        raw=round(sum(p.first == p.second for p in pairs) / len(pairs), 3),
        kappa_by_batch={b: (len(s), kappa(s)) for b in batches if (s := [p for p in pairs if p.batch == b])},
        disagreements=[p for p in pairs if p.first != p.second],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=Path, default=SEEDS)
    parser.add_argument("--second", type=Path, default=SECOND)
    args = parser.parse_args(argv)
    result = agreement(read_pairs(args.seeds, args.second))
    print(f"{result.n} seeds labelled twice: Cohen's kappa {result.kappa}, raw agreement {result.raw}")
    for batch, (n, k) in result.kappa_by_batch.items():
        print(f"  batch {batch}: n={n}, kappa {k}")
    print(f"{len(result.disagreements)} disagreements (first -> second, category):")
    for p in result.disagreements:
        print(f"  {p.first} -> {p.second}  [{p.category}]  {p.text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
