"""A turn with several questions: each question is classified on its own, in context.

Real classroom turns hold more than one sentence: a statement, a question, the
child's answer, another question ("How did the can feel? Did it feel very heavy or
very light?"). Classifying the whole turn as one bag of n-grams lets one open word
anywhere outweigh the question actually asked; classifying each question alone loses
what the context says. So each question is classified on its own, with the statement
before it as context when the question is too short to say much alone ("It sank.
Why?"; two words or fewer, the rule ``pipeline/questions.py`` uses too). A longer
question is read alone: a statement before it adds words that are not the question
("It's very heavy. Why was it heavy?" read whole leans closed on "very heavy"). A
question is not read with the other questions around it: "Is it heavy?" stays closed
when "Why?" follows (the turn is open through "Why?"), and "Was it fun?" stays closed
after "Why did it sink?".

One rule is written out rather than learnt: a follow-up that offers options ("How did
the can feel? Heavy or light?") narrows the opener to those options, so the opener is
read as the follow-up alone, and a question that offers options is read without the
sentence before it. Word n-grams cannot learn this from a few dozen examples: the
opener's open words outweigh one "or" (measured: 15 of 19 such held-out seeds wrong
without the rule).

A turn is open-ended if any of its questions is (P(OEQ) of the turn = the largest of
its questions'), which is how the experts who labelled the real snippets read a turn.
A prompt without question form ("Tell me how you built it.") counts as a question. A
text with no question or prompt at all (Whisper often drops the question mark) is one
window.

Everything here works on ``normalize_text`` output, whose sentences start with
``xxbos`` and whose questions end with ``xxq``, so the prediction cache (keyed by the
normalised text) and the ONNX graph need no change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from models.oeq_ceq.text import QUESTION_MARK, SENTENCE_START, normalize_text

SHORT_QUESTION_WORDS = 2  # as pipeline/questions.py: shorter questions lean on the statement before them
_SENTENCE_END = re.compile(r"(?<=[.!?\u2026])\s+")


@dataclass(frozen=True)
class QuestionWindow:
    question: str  # the question's normalised sentence
    window: str  # what the model reads for it: the question with its context


def normalized_sentences(normalized: str) -> list[str]:
    """The sentences of a normalised text, each starting with ``xxbos``."""
    return [f"{SENTENCE_START} {part.strip()}" for part in normalized.split(SENTENCE_START) if part.strip()]


def is_question_sentence(sentence: str) -> bool:
    return sentence.endswith(QUESTION_MARK)


_PROMPT_OPENINGS = ("tell ", "describe ", "explain ", "show me how ", "show me what ", "show us how ",
                    "i wonder ", "i am wondering ", "help me understand ")


def is_prompt(sentence: str) -> bool:
    """A question without question form: "Tell me how you built it.", "I wonder why…"."""
    return sentence.removeprefix(f"{SENTENCE_START} ").startswith(_PROMPT_OPENINGS)


def is_asked(sentence: str) -> bool:
    return is_question_sentence(sentence) or is_prompt(sentence)


def question_windows(sentences: Sequence[str]) -> list[QuestionWindow]:
    """One window per question (or open prompt); the whole text as one window when there is none."""
    asked = [i for i, sentence in enumerate(sentences) if is_asked(sentence)]
    if not asked:
        return [QuestionWindow(" ".join(sentences), " ".join(sentences))]
    windows = []
    for i in asked:
        follow_up = sentences[i + 1] if i + 1 < len(sentences) and is_question_sentence(sentences[i + 1]) else None
        if follow_up and offers_options(follow_up):
            windows.append(QuestionWindow(sentences[i], follow_up))
            continue
        # options close a question whatever came before it, so it is read alone
        context = (i > 0 and is_short(sentences[i]) and not is_asked(sentences[i - 1])
                   and not offers_options(sentences[i]))
        first = i - 1 if context else i
        windows.append(QuestionWindow(sentences[i], " ".join(sentences[first : i + 1])))
    return windows


def is_short(sentence: str) -> bool:
    """A question too short to classify alone: "Why?", "How come?", "Which one?"."""
    return len(sentence.split()) - 2 <= SHORT_QUESTION_WORDS  # minus xxbos and xxq


def offers_options(sentence: str) -> bool:
    """An either/or question: "is it heavy or light", "fast or slow" (not "why or why not")."""
    words = sentence.removeprefix(f"{SENTENCE_START} ")
    return " or " in f" {words} " and not words.startswith("why ")


def windows_of_normalized(normalized: str) -> list[str]:
    return [w.window for w in question_windows(normalized_sentences(normalized))]


def turn_oeq_probabilities(
    normalized_texts: Sequence[str], window_probabilities: Callable[[list[str]], np.ndarray]
) -> np.ndarray:
    """P(OEQ) per turn: the largest over its questions' windows, all scored in one call."""
    windows, owners = [], []
    for owner, normalized in enumerate(normalized_texts):
        for window in windows_of_normalized(normalized):
            windows.append(window)
            owners.append(owner)
    out = np.zeros(len(normalized_texts), dtype=np.float64)
    if windows:
        np.maximum.at(out, np.array(owners), np.asarray(window_probabilities(windows), dtype=np.float64))
    return out


def split_sentences(text: str) -> list[str]:
    """The sentences of a raw turn, as written (end marks kept)."""
    return [part.strip() for part in _SENTENCE_END.split(text.strip()) if part.strip()]


def raw_questions_with_windows(text: str) -> list[tuple[str, str]]:
    """(question as written, its normalised window) for each question of a raw turn."""
    raw = [s for s in split_sentences(text) if normalize_text(s)]
    sentences = [normalize_text(s) for s in raw]
    asked = [i for i, sentence in enumerate(sentences) if is_asked(sentence)]
    windows = question_windows(sentences)
    if not asked:
        return [(text.strip(), windows[0].window)]
    return [(raw[i], w.window) for i, w in zip(asked, windows)]
