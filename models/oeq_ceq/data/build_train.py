#!/usr/bin/env python3
"""Build models/oeq_ceq/data/train.csv from the hand-written seeds in seeds.csv.

Deterministic and dependency-free (Python 3.11 standard library only).
Every seed (one row of seeds.csv: text, label, category, bare) was written by
hand; LABEL_GUIDE.md says how they are labelled.  The script only applies transcript-style
surface transforms to them (lower-casing and stripping punctuation as an ASR
system would, prefixing fillers / discourse markers / children's names,
small disfluencies such as a repeated first word), then de-duplicates on
normalised text and writes the CSV with the csv module.

Each item's transforms are drawn from a random.Random seeded with a hash of the
item itself, so editing one seed never changes the rows produced by another.

Run from the repository root:  python models/oeq_ceq/data/build_train.py
"""
from __future__ import annotations

import csv
import hashlib
import io
import os
import random
import re

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS_FILE = os.path.join(HERE, "seeds.csv")
CATEGORIES = {
    "open_wh", "open_prompt", "yesno_open", "context_open", "hard_open", "fragment_open",
    "closed_wh", "routine", "tag", "either_or", "yesno_closed", "yesno_contrast",
    "context_closed", "hard_closed", "fragment_closed",
    # patterns seen in real classroom transcripts (issue 14)
    "cloze", "clarify", "tell_yesno", "narrowed", "multi_open", "multi_closed",
    "loose_closed_wh", "declarative_q", "not_question",
}


def read_seeds(path: str = SEEDS_FILE) -> list[tuple[str, str, str, bool]]:
    """(label, category, text, bare_ok) per seed row of seeds.csv, in file order.

    ``bare`` = "no" means the seed is only emitted with a filler or a child's name
    around it, never on its own (used where the bare text would collide with an
    evaluation set).
    """
    seeds = []
    with open(path, newline="", encoding="utf-8") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            text, label, category, bare = (row[k].strip() for k in ("text", "label", "category", "bare"))
            if label not in {"OEQ", "CEQ"} or category not in CATEGORIES or bare not in {"yes", "no"} or not text:
                raise SystemExit(f"{path}:{line}: bad seed row {row}")
            seeds.append((label, category, text, bare == "yes"))
    return seeds


SEEDS = read_seeds()


# =====================================================================
# Transcript-style surface transforms
# =====================================================================
NAMES = [
    "Maya", "Jordan", "Leo", "Aisha", "Sam", "Priya", "Noah", "Zoe", "Mateo",
    "Lily", "Omar", "Ava", "Kai", "Sofia", "Eli", "Nia", "Ben", "Mia", "Jayden",
    "Hana", "Luca", "Amara", "Theo", "Isla", "Ravi", "Chloe", "Diego", "Emma",
    "Finn", "Grace", "Hugo", "Ivy", "Jamal", "Kiara", "Liam", "Mei", "Nora",
    "Oscar", "Ruby", "Yusuf", "Tariq", "Elsie", "Marcus", "Layla", "Arjun",
]
# discourse markers / fillers that educators really use; shared by both labels
FILLERS = [
    "Um", "Uh", "Okay so", "So", "Well", "Hmm", "Oh", "Alright", "Now", "Hey",
    "Look", "Okay", "And", "Oh wow", "Mm", "So um", "Alright friends",
    "Okay everybody", "Friends", "Wait", "Right so", "Uh huh",
    "Let's see", "Um so", "Okay um", "Yeah", "Oh okay", "And um", "Now then",
    "Ooh", "Hmm okay", "Okay now", "Oh my goodness", "Wow", "Mhm", "So now",
]
KEEP_CAPITAL = {"I", "I'm", "I'd", "I've", "I'll", "Goldilocks", "Mama"} | set(NAMES)
ASR_SUBS = [
    (r"\bgoing to\b", "gonna"),
    (r"\bwant to\b", "wanna"),
    (r"\bdo you want\b", "d'you want"),
    (r"\bbecause\b", "cause"),
    (r"\bgot to\b", "gotta"),
    (r"\bkind of\b", "kinda"),
    (r"\blet me\b", "lemme"),
]


def norm(text: str) -> str:
    """Key used for de-duplication: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def rng_for(*parts: str) -> random.Random:
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return random.Random(int(digest[:16], 16))


def decap(text: str) -> str:
    first = text.split(" ", 1)[0].rstrip(",.?!")
    if first in KEEP_CAPITAL:
        return text
    return text[:1].lower() + text[1:]


def with_filler(text: str, rng: random.Random) -> str:
    """Prefix a filler / name, or tag a child's name onto the end."""
    mode = rng.random()
    name = rng.choice([n for n in NAMES if n not in text])
    filler = rng.choice(FILLERS)
    if mode < 0.45:
        return f"{filler}, {decap(text)}" if rng.random() < 0.6 else f"{filler} {decap(text)}"
    if mode < 0.65:
        return f"{name}, {decap(text)}"
    if mode < 0.80:
        return f"{filler} {name}, {decap(text)}"
    # name at the end: "..., Jordan?"
    if text[-1:] in "?.!":
        return f"{text[:-1]}, {name}{text[-1]}"
    return f"{text}, {name}"


def asr(text: str, rng: random.Random, disfluent: bool = True) -> str:
    """Render as lower-case ASR output with no punctuation."""
    t = text.lower()
    for pattern, repl in ASR_SUBS:
        if re.search(pattern, t) and rng.random() < 0.5:
            t = re.sub(pattern, repl, t)
    t = re.sub(r"[?.!,;:\"()\u2014-]+", " ", t)
    if rng.random() < 0.5:
        t = t.replace("'", "")
    words = t.split()
    r = rng.random() if disfluent else 1.0
    if len(words) >= 4 and r < 0.10:          # "what what do you think"
        words = words[:1] + words
    elif len(words) >= 5 and r < 0.16:        # "is it is it red"
        words = words[:2] + words
    return " ".join(words)


# How many extra surface variants each category contributes (probability of an
# extra filler/name variant, beyond the one primary rendering of the seed).
EXTRA = {
    "open_wh": 0.04, "open_prompt": 0.22, "yesno_open": 0.50, "context_open": 0.25,
    "hard_open": 0.40, "fragment_open": 1.40,
    "closed_wh": 0.04, "routine": 0.12, "tag": 0.50, "either_or": 0.40,
    "yesno_closed": 0.03, "yesno_contrast": 0.30, "context_closed": 0.20,
    "hard_closed": 0.40, "fragment_closed": 1.40,
    "cloze": 0.50, "clarify": 1.00, "tell_yesno": 0.50, "narrowed": 0.50, "multi_open": 0.40,
    "multi_closed": 0.40, "loose_closed_wh": 0.30, "declarative_q": 0.50, "not_question": 0.30,
}

# Real transcripts are cut from running speech: a snippet can start mid-sentence
# ("...them together.") and run on past the question into the child's answer or
# the educator's next words ("...? Walking.", "...? I don't know."). Both labels get
# these, so the model learns they say nothing about the question.
SNIPPET_SHARE = 0.35
HEADS = [
    "them together.", "in there.", "the yellow one.", "over.", "light.", "on the shelf.",
    "all of it.", "and the blue.", "Thank you.", "Yeah.", "Okay.", "Look.", "Oh boy.",
    "That's a good one.", "Mm-hmm.", "Wow.", "Good.", "Here you go.", "You did it.",
]
TAILS = [
    "Yeah.", "No.", "I don't know.", "Okay.", "Mm-hmm.", "Thank you.", "Oh boy.",
    "Look at that.", "Blue.", "Me!", "Two.", "Yes.", "Okay, so...", "Let's see.",
    "That's right.", "Hmm.", "Good.", "The big one.", "Nope.", "Because.", "Let's go.",
]


def render(label: str, category: str, text: str, bare_ok: bool = True) -> list[tuple[str, str]]:
    """Return [(surface_text, form)] for one seed; form in tidy/asr/filler/filler_asr."""
    rng = rng_for(label, category, text)
    out: list[tuple[str, str]] = []
    r = rng.random()
    if not bare_ok:
        r = 0.72 + 0.28 * r
    if r < 0.42:
        out.append((text, "tidy"))
    elif r < 0.72:
        out.append((asr(text, rng), "asr"))
    elif r < 0.88:
        out.append((with_filler(text, rng), "filler"))
    else:
        out.append((asr(with_filler(text, rng), rng, False), "filler_asr"))
    extra = EXTRA[category]
    n_extra = int(extra) + (1 if rng.random() < extra - int(extra) else 0)
    for _ in range(n_extra):
        v = with_filler(text, rng)
        if rng.random() < 0.5:
            out.append((asr(v, rng, False), "filler_asr"))
        else:
            out.append((v, "filler"))
    snippet_rng = rng_for(label, category, text, "snippet")  # its own draws: other rows stay as they were
    if snippet_rng.random() < SNIPPET_SHARE:
        out.append((as_snippet(text, snippet_rng), "snippet"))
    return out


def as_snippet(text: str, rng: random.Random) -> str:
    """The seed as a cut from running speech: words before it, after it, or both."""
    mode = rng.random()
    head = rng.choice(HEADS) + " " if mode < 0.6 else ""
    tail = " " + rng.choice(TAILS) if mode > 0.3 else ""
    body = text if rng.random() < 0.6 else asr(text, rng, False) + "?"
    return f"{head}{body}{tail}"


def build() -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    seen: dict[str, str] = {}
    for label, category, text, bare_ok in SEEDS:
        for surface, form in render(label, category, text, bare_ok):
            key = norm(surface)
            if key in seen:
                if seen[key] != label:
                    raise SystemExit(f"label conflict on {surface!r}")
                continue
            seen[key] = label
            rows.append({"text": surface, "label": label, "seed": text,
                         "category": category, "form": form})
    # stable, edit-insensitive order
    rows.sort(key=lambda r: hashlib.sha256(norm(r["text"]).encode()).hexdigest())
    return rows


STYLE_OF_CATEGORY = {
    "context_open": "4 statement then question", "context_closed": "4 statement then question",
    "tag": "5 tag question", "either_or": "6 either/or",
    "closed_wh": "7 closed wh", "routine": "8 routine request/check",
    "yesno_open": "9 yes/no opening (open, or closed contrast)",
    "yesno_contrast": "9 yes/no opening (open, or closed contrast)",
    "open_prompt": "10 open prompt, no question form", "open_wh": "11 open wh",
    "fragment_open": "12 short fragment", "fragment_closed": "12 short fragment",
    "hard_open": "hard contrast pairs", "hard_closed": "hard contrast pairs",
    "yesno_closed": "plain yes/no (other)",
    "cloze": "13 fill-in-the-blank prompt", "clarify": "14 clarification / echo",
    "tell_yesno": "15 tell me + yes/no or one fact", "narrowed": "16 open opener narrowed by either/or",
    "multi_open": "17 several questions, one open", "multi_closed": "18 several closed questions",
    "loose_closed_wh": "19 loose what colour / kind / song", "declarative_q": "20 declarative question",
    "not_question": "21 not a question (statement, command)",
}


def styles(row: dict[str, str]) -> list[str]:
    """Styles a row belongs to (surface styles 1-3 overlap with content styles 4-12)."""
    out = [STYLE_OF_CATEGORY[row["category"]]]
    if row["form"] == "tidy" and "?" in row["text"]:
        out.append("1 tidy written with '?'")
    if row["form"] in ("asr", "filler_asr"):
        out.append("2 lower-case ASR, no punctuation")
    if row["form"] in ("filler", "filler_asr"):
        out.append("3 filler / discourse marker / name")
    if row["form"] == "snippet":
        out.append("3 cut from running speech (words before/after)")
    return out


def print_stats(rows: list[dict[str, str]]) -> None:
    from collections import Counter
    per = Counter()
    for r in rows:
        for s in styles(r):
            per[(s, r["label"])] += 1
    print(f"{'style':48s} {'OEQ':>5s} {'CEQ':>5s} {'all':>5s} {'%':>6s}")
    for s in sorted({k[0] for k in per}, key=lambda x: (not x[0].isdigit(), int(x.split()[0]) if x[0].isdigit() else 0, x)):
        o, c = per[(s, "OEQ")], per[(s, "CEQ")]
        print(f"{s:48s} {o:5d} {c:5d} {o + c:5d} {100 * (o + c) / len(rows):5.1f}%")
    seeds_used = len({(r["label"], r["category"], r["seed"]) for r in rows})
    print(f"seeds: {len(SEEDS)}; seeds with >=1 row: {seeds_used}; "
          f"extra variant rows: {len(rows) - seeds_used}")


def main() -> None:
    import sys
    rows = build()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    # "seed" names the hand-written utterance a row was rendered from, so that the
    # training script can keep every variant of one seed on the same side of its split.
    w.writerow(["text", "label", "seed"])
    for r in rows:
        w.writerow([r["text"], r["label"], hashlib.sha256(r["seed"].encode()).hexdigest()[:10]])
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "train.csv")
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(buf.getvalue())
    n_oeq = sum(r["label"] == "OEQ" for r in rows)
    print(f"wrote {len(rows)} rows to {path}: OEQ={n_oeq} CEQ={len(rows) - n_oeq}")
    if "--stats" in sys.argv[1:]:
        print_stats(rows)


if __name__ == "__main__":
    main()
