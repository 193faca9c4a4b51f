"""A candidate against the active model: agreement, where they differ, dev-set metrics, real traffic.

    python -m models.oeq_ceq.compare [--candidate V] [--active V] [--tenant T ...] [--show 20] [--json]

Defaults come from the registry's roles. Dev sets are ``../shared/eval``'s (when present).
Real traffic is what a shadow candidate predicted beside the active model (the shadow log
of each ``--tenant``); the log keeps a digest per text, so a differing video question is
shown by video and position (its text, if ``--with-text``, from the results store).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.oeq_ceq.classifier import LABELS, OEQ_THRESHOLD, QuestionClassifier
from models.oeq_ceq.registry import ModelRegistry, RegistryError, read_shadow_records
from models.oeq_ceq.text import normalize_text
from models.oeq_ceq.train import DEFAULT_DEV, REAL_DEV, read_labelled, scores


@dataclass
class Comparison:
    active: str
    candidate: str
    dev_sets: dict[str, dict] = field(default_factory=dict)
    traffic: dict = field(default_factory=dict)


def _label(p: float) -> str:
    return "OEQ" if p >= OEQ_THRESHOLD else "CEQ"


def compare_on(active: QuestionClassifier, candidate: QuestionClassifier, texts: list[str],
               truth: np.ndarray | None, show: int) -> dict:
    normalized = [normalize_text(t) for t in texts]
    a = active.oeq_probabilities_of_normalized(normalized)
    c = candidate.oeq_probabilities_of_normalized(normalized)
    differ = np.flatnonzero((a >= OEQ_THRESHOLD) != (c >= OEQ_THRESHOLD))
    report = {"n": len(texts), "agreement": round(1 - len(differ) / max(len(texts), 1), 4),
              "differences": len(differ),
              "differing": [{"text": texts[i], **({"truth": LABELS[truth[i]]} if truth is not None else {}),
                             "active": _label(a[i]), "active_p": round(float(a[i]), 4),
                             "candidate": _label(c[i]), "candidate_p": round(float(c[i]), 4)}
                            for i in differ[:show]]}
    if truth is not None:
        report["active_metrics"] = scores(truth, (a >= OEQ_THRESHOLD).astype(int))
        report["candidate_metrics"] = scores(truth, (c >= OEQ_THRESHOLD).astype(int))
    return report


def compare_traffic(records: list[dict], active: str, candidate: str, show: int, text_of=None) -> dict:
    """Agreement on real traffic from the shadow log (the newest record per video: a retried step logs twice)."""
    newest: dict = {}
    for r in sorted(records, key=lambda r: r.get("created_at", "")):
        if r.get("active_version") == active and r.get("shadow_version") == candidate:
            key = ("video", r["tenant_id"], r["video_id"]) if r.get("video_id") else ("text", id(r))
            newest[key] = r
    items = [(r, item) for r in newest.values() for item in r["items"]]
    if not items:
        return {"n": 0, "note": f"no shadow predictions by {candidate} beside {active} in the log"}
    a = np.array([item["active_p"] for _, item in items])
    c = np.array([item["shadow_p"] for _, item in items])
    differ = np.flatnonzero((a >= OEQ_THRESHOLD) != (c >= OEQ_THRESHOLD))
    shown = []
    for i in differ[:show]:
        record, item = items[i]
        row = {"tenant_id": record["tenant_id"], "video_id": record.get("video_id"), "index": item["index"],
               "text_digest": item["text_digest"], "active_p": item["active_p"], "candidate_p": item["shadow_p"]}
        if text_of and record.get("video_id"):
            row["text"] = text_of(record["tenant_id"], record["video_id"], item["index"])
        shown.append(row)
    return {"n": len(items), "records": len(newest), "agreement": round(1 - len(differ) / len(items), 4),
            "differences": len(differ), "mean_abs_p_difference": round(float(np.mean(np.abs(a - c))), 4),
            "oeq_share": {"active": round(float(np.mean(a >= OEQ_THRESHOLD)), 4),
                          "candidate": round(float(np.mean(c >= OEQ_THRESHOLD)), 4)},
            "differing": shown}


def compare(registry: ModelRegistry, active: str, candidate: str, tenants: list[str] = (), show: int = 20,
            dev_sets: dict[str, Path] | None = None, text_of=None) -> Comparison:
    a, c = registry.load(active), registry.load(candidate)
    result = Comparison(active=active, candidate=candidate)
    for name, path in (dev_sets if dev_sets is not None else
                       {"dev_questions": DEFAULT_DEV, "real_dev_snippets": REAL_DEV}).items():
        if path.exists():
            texts, truth = read_labelled(path)
            result.dev_sets[name] = compare_on(a, c, texts, truth, show)
    records = [r for tenant in tenants for r in read_shadow_records(registry.blobs, tenant)]
    result.traffic = compare_traffic(records, active, candidate, show, text_of) if tenants else {
        "note": "pass --tenant to read the shadow log"}
    return result


def render(result: Comparison) -> str:
    lines = [f"{result.candidate} (candidate) against {result.active} (active)", ""]
    lines.append(f"{'set':<20} {'n':>5} {'agree':>7} {'active acc':>10} {'cand acc':>9} {'active F1':>9} {'cand F1':>8}")
    for name, r in result.dev_sets.items():
        lines.append(f"{name:<20} {r['n']:>5} {r['agreement']:>7.4f} {r['active_metrics']['accuracy']:>10.4f} "
                     f"{r['candidate_metrics']['accuracy']:>9.4f} {r['active_metrics']['macro_f1']:>9.4f} "
                     f"{r['candidate_metrics']['macro_f1']:>8.4f}")
    t = result.traffic
    if t.get("n"):
        lines.append(f"{'real traffic (shadow)':<20} {t['n']:>5} {t['agreement']:>7.4f}   OEQ share active "
                     f"{t['oeq_share']['active']:.3f}, candidate {t['oeq_share']['candidate']:.3f}, "
                     f"mean |dP| {t['mean_abs_p_difference']:.3f}")
    else:
        lines.append(f"real traffic: {t.get('note', 'none')}")
    for name, r in result.dev_sets.items():
        if r["differing"]:
            lines += ["", f"where they differ on {name} (first {len(r['differing'])} of {r['differences']}):"]
            lines += [f"  truth {d['truth']}  active {d['active']} {d['active_p']:.2f}  candidate {d['candidate']} "
                      f"{d['candidate_p']:.2f}  {d['text']}" for d in r["differing"]]
    if t.get("differing"):
        lines += ["", f"where they differ on real traffic (first {len(t['differing'])} of {t['differences']}):"]
        lines += [f"  {d['tenant_id']}/{d.get('video_id') or 'typed'} #{d['index']}  active {d['active_p']:.2f}  "
                  f"candidate {d['candidate_p']:.2f}  {d.get('text') or d['text_digest']}" for d in t["differing"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from services.settings import Settings, SettingsError, build_blobs, build_results  # the CLI runs beside the app

    parser = argparse.ArgumentParser(prog="python -m models.oeq_ceq.compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--active")
    parser.add_argument("--candidate")
    parser.add_argument("--tenant", action="append", default=[], help="read this tenant's shadow log (repeat)")
    parser.add_argument("--show", type=int, default=20, help="differences listed per set")
    parser.add_argument("--with-text", action="store_true", help="show differing video questions' text")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        registry = ModelRegistry(build_blobs(settings))
        roles = registry.roles()
        active, candidate = args.active or roles.active, args.candidate or roles.candidate
        if not candidate:
            raise RegistryError("no candidate in the registry; pass --candidate VERSION")
        text_of = None
        if args.with_text:
            results = build_results(settings)

            def text_of(tenant, video, index):
                questions = (results.get_analysis(tenant, video) or {}).get("questions", [])
                return questions[index]["text"] if index < len(questions) else None
        result = compare(registry, active, candidate, args.tenant, args.show, text_of=text_of)
    except (RegistryError, SettingsError) as error:
        print(f"compare: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result.__dict__, indent=2) if args.json else render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
