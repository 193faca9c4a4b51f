"""Text normalisation shared by training and inference.

The ONNX graph only tokenises and weighs what this function hands it, so the
model sees exactly the same text at training time, at serving time and in the
prediction cache key. Change it and you must retrain (the model card's hash of
this file makes the test suite notice).

What it does, and why:
- lower-cases in Python: the ONNX StringNormalizer would need a locale at run time;
- expands contractions ("what's" -> "what is") so tidy and spoken forms share n-grams;
- replaces numbers with ``xxnum`` ("how many are there, 3?" is not about the digit);
- drops fillers ("um", "uh") anywhere and discourse openers ("okay so", "well")
  at the start of a sentence, as speech-recognition transcripts are full of them;
- marks each sentence start with ``xxbos``, each comma with ``xxc`` and each
  question mark with ``xxq``, so word n-grams see "xxbos how many" vs "xxbos how did"
  and tag questions ("xxc right xxq") without the graph needing punctuation.
"""

from __future__ import annotations

import re
import unicodedata

SENTENCE_START = "xxbos"
CLAUSE_BREAK = "xxc"
QUESTION_MARK = "xxq"
NUMBER = "xxnum"

_CONTRACTIONS = {
    "won't": "will not",
    "can't": "can not",
    "cannot": "can not",
    "shan't": "shall not",
    "let's": "let us",
    "n't": " not",
    "'re": " are",
    "'ve": " have",
    "'ll": " will",
    "'d": " would",
    "'m": " am",
    "'s": " is",
}
_CONTRACTION_RE = re.compile(
    "|".join(re.escape(k) for k in sorted(_CONTRACTIONS, key=len, reverse=True))
)
_FILLERS = {"um", "umm", "uh", "uhh", "uhm", "er", "erm", "hmm", "hm", "mm", "mhm", "ah"}
_OPENERS = {"okay", "ok", "so", "well", "alright", "oh", "now", "hey", "and", "like", "yeah"}
_SENTENCE_SPLIT = re.compile(r"([.!?;:]+|\u2026)")
_WORD = re.compile(r"[a-z']+|\d+(?:[.,]\d+)?|,")


def normalize_text(text: str) -> str:
    """Return the canonical form of one utterance, as the model and cache see it."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    text = _CONTRACTION_RE.sub(lambda m: _CONTRACTIONS[m.group(0)], text)
    pieces = _SENTENCE_SPLIT.split(text)
    sentences: list[str] = []
    for body, end in zip(pieces[0::2], pieces[1::2] + [""]):
        tokens = _sentence_tokens(body)
        if not tokens:
            if "?" in end and sentences:
                sentences[-1] += f" {QUESTION_MARK}"
            continue
        if "?" in end:
            tokens.append(QUESTION_MARK)
        sentences.append(" ".join([SENTENCE_START, *tokens]))
    return " ".join(sentences)


def _sentence_tokens(body: str) -> list[str]:
    tokens = []
    for raw in _WORD.findall(body):
        word = raw.strip("'")
        if raw == ",":
            word = CLAUSE_BREAK
        elif raw[0].isdigit():
            word = NUMBER
        if not word or word in _FILLERS:
            continue
        tokens.append(word)
    while tokens and (tokens[0] in _OPENERS or tokens[0] == CLAUSE_BREAK):
        tokens.pop(0)
    while tokens and tokens[-1] == CLAUSE_BREAK:
        tokens.pop()
    return tokens
