"""From per-chunk Whisper words to one clean word stream, sentences and output segments.

The video is transcribed in overlapping audio chunks. Each chunk *owns* the words
whose midpoint falls in its own range (``ChunkPlan``), which alone would stitch the
chunks together — if Whisper timed a word identically in both chunks. It does not:
the same spoken word can be timed up to ~0.4 s apart, so near a seam one word can be
owned by both chunks (a duplicate) or by neither (a hole), and a word cut in half by
a chunk's audio edge shows up as a truncated fragment (" elephant" in one chunk,
" ant" at 0.0 s of the next). So ownership is only the first pass; each seam is then
reconciled by aligning the two chunks' words around it (within ``SEAM_WINDOW_S``):

- a word both chunks heard — the same normalised text with times overlapping or
  < 0.6 s apart, or a cut-off fragment lying mostly inside the other chunk's word —
  is emitted exactly once, from the chunk that heard it with more audio around it
  (farther from that chunk's cut). This removes duplicates, fills holes, and drops
  fragments, which by definition sit at a cut;
- a word only one chunk heard keeps its ownership decision.

The alignment is monotone and prefers text matches and small time differences, so
repeated words ("no, no, no") pair with their own copies. Words are then ordered on
one clock (each chunk's lag measured on the shared words) so two close words from
neighbouring chunks stay in spoken order; overlaps left by jitter are clamped.

Sentences are cut from the words, never from Whisper's segments: a segment can hold
several sentences and a sentence can cross segments and chunks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from statistics import median

from pipeline.records import ChunkPlan, ChunkTranscript, Sentence, Word

__all__ = ["assemble_words", "segments_for_output", "split_sentences"]

SEAM_WINDOW_S = 1.5  # how far from a seam the two chunks' words are reconciled
SAME_WORD_GAP_S = 0.6  # two copies of one word are at most this far apart (Whisper's jitter ~0.4 s)
FRAGMENT_COVERAGE = 0.7  # share of a word lying inside another word that makes it the same sound
SAME_WORD_SCORE, SAME_SOUND_SCORE = 10, 9  # in the seam alignment a text match beats a mere time overlap

SENTENCE_ENDINGS = (".", "?", "!", "…")
_CLOSING_MARKS = "\"')]”’"
_ABBREVIATIONS = {"mr.", "mrs.", "ms.", "dr.", "st.", "mt."}  # a '.' that does not end a sentence


# ---------------------------------------------------------------------------
# words from chunks


@dataclass(frozen=True)
class _Heard:
    """One word as one chunk heard it, in video time."""

    word: Word
    plan: ChunkPlan

    @property
    def midpoint(self) -> float:
        return (self.word.start + self.word.end) / 2

    @property
    def owned(self) -> bool:
        return self.plan.own_from_s <= self.midpoint < self.plan.own_to_s

    @property
    def context_s(self) -> float:
        """Audio this chunk had around the word: distance to the nearer of its cuts."""
        return min(self.word.start - self.plan.start_s, self.plan.end_s - self.word.end)


def assemble_words(chunks: list[tuple[ChunkPlan, ChunkTranscript]]) -> list[Word]:
    """All chunks' words in video time, each spoken word once, sorted and monotone."""
    ordered = sorted(chunks, key=lambda chunk: chunk[0].start_s)
    heard = [[_Heard(to_video_time(word, plan.start_s), plan) for word in transcript.words if word.text.strip()]
             for plan, transcript in ordered]
    kept = [[copy.owned for copy in chunk] for chunk in heard]
    lag = [0.0]  # each chunk's clock against the first chunk's, as measured on the words they share
    for i in range(len(heard) - 1):
        lead = _reconcile_seam(heard[i], kept[i], heard[i + 1], kept[i + 1], ordered[i][0], ordered[i + 1][0])
        lag.append(lag[-1] + lead)
    # Sorting on one clock keeps two close words from neighbouring chunks in spoken order
    # even when the chunks timed them 0.4 s apart; the times themselves stay Whisper's.
    survivors = [(copy.word, lag[c]) for c, (chunk, flags) in enumerate(zip(heard, kept))
                 for copy, keep in zip(chunk, flags) if keep]
    survivors.sort(key=lambda survivor: (survivor[0].start + survivor[1], survivor[0].end + survivor[1]))
    return _monotone([word for word, _ in survivors])


def to_video_time(word: Word, offset_s: float) -> Word:
    return replace(word, start=round(word.start + offset_s, 3), end=round(word.end + offset_s, 3))


def normalized(text: str) -> str:
    """A word's identity for matching copies: lower-case, letters and digits only."""
    return re.sub(r"[\W_]+", "", text.lower())


def _reconcile_seam(left: list[_Heard], left_kept: list[bool], right: list[_Heard], right_kept: list[bool],
                    left_plan: ChunkPlan, right_plan: ChunkPlan) -> float:
    """Fix the ownership decisions near the seam between two neighbouring chunks, in place.

    Every word the two chunks both heard comes out once, from the chunk that heard it
    with more audio around it; a word only one chunk heard keeps its ownership decision.
    Returns how much later the left chunk timed the words both heard (median; 0 if none).
    """
    seam = (left_plan.own_to_s + right_plan.own_from_s) / 2
    # Each chunk's words are split between its two seams at the middle of its own range,
    # so even a chunk shorter than two windows never has a word reconciled twice.
    near_left = [i for i, copy in enumerate(left) if copy.midpoint >= max(seam - SEAM_WINDOW_S, _middle(left_plan))]
    near_right = [j for j, copy in enumerate(right) if copy.midpoint < min(seam + SEAM_WINDOW_S, _middle(right_plan))]
    pairs = [(near_left[a], near_right[b], same_text)
             for a, b, same_text in _align([left[i] for i in near_left], [right[j] for j in near_right])]
    for i, j, _ in pairs:
        left_wins = left[i].context_s >= right[j].context_s
        left_kept[i], right_kept[j] = left_wins, not left_wins
    shifts = [left[i].midpoint - right[j].midpoint for i, j, same_text in pairs if same_text]
    return median(shifts) if shifts else 0.0


def _middle(plan: ChunkPlan) -> float:
    return (plan.own_from_s + plan.own_to_s) / 2


def _same_word(a: Word, b: Word) -> bool:
    gap = max(a.start, b.start) - min(a.end, b.end)  # negative when they overlap
    return gap < SAME_WORD_GAP_S and normalized(a.text) == normalized(b.text)


def _same_sound(a: Word, b: Word) -> bool:
    """One word lies mostly inside the other: a fragment cut by a chunk edge, or a mishearing."""
    overlap = min(a.end, b.end) - max(a.start, b.start)
    shorter = max(min(a.end - a.start, b.end - b.start), 0.01)
    return overlap / shorter >= FRAGMENT_COVERAGE


def _align(left: list[_Heard], right: list[_Heard]) -> list[tuple[int, int, bool]]:
    """Pairs (i, j, same_text) of one spoken word as both chunks heard it, in order.

    A monotone alignment (like an edit distance) that pairs the same word (``_same_word``)
    or the same sound under different text (``_same_sound``: " elephant" and its cut-off
    " ant"), scoring text matches higher and breaking ties by the smallest total time
    difference, so repeated words ("no, no, no") pair with their own copies.
    """
    n, m = len(left), len(right)
    best = [[(0, 0.0)] * (m + 1) for _ in range(n + 1)]  # (score, -seconds apart) for left[i:], right[j:]
    for i in reversed(range(n)):
        for j in reversed(range(m)):
            options = [best[i + 1][j], best[i][j + 1]]
            score = _pair_score(left[i].word, right[j].word)
            if score:
                rest, closeness = best[i + 1][j + 1]
                options.append((rest + score, closeness - abs(left[i].midpoint - right[j].midpoint)))
            best[i][j] = max(options)
    aligned, i, j = [], 0, 0
    while i < n and j < m:
        if best[i][j] == best[i + 1][j]:
            i += 1
        elif best[i][j] == best[i][j + 1]:
            j += 1
        else:
            aligned.append((i, j, _pair_score(left[i].word, right[j].word) == SAME_WORD_SCORE))
            i, j = i + 1, j + 1
    return aligned


def _pair_score(a: Word, b: Word) -> int:
    if _same_word(a, b):
        return SAME_WORD_SCORE
    return SAME_SOUND_SCORE if _same_sound(a, b) else 0


def _monotone(words: list[Word]) -> list[Word]:
    """Clamp overlaps left by timing jitter so each word starts where the previous ended, or later."""
    out: list[Word] = []
    for word in words:
        if out and word.start < out[-1].end:
            start = out[-1].end
            word = replace(word, start=start, end=max(word.end, start))
        out.append(word)
    return out


# ---------------------------------------------------------------------------
# sentences and segments


def split_sentences(words: list[Word], pause_s: float = 1.2) -> list[Sentence]:
    """Sentences end at a word ending in . ? ! … or before a pause of at least ``pause_s``."""
    sentences, current = [], []
    for word in words:
        if not word.text.strip():
            continue
        if current and word.start - current[-1].end >= pause_s:
            sentences.append(sentence_of(current))
            current = []
        current.append(word)
        if ends_sentence(word):
            sentences.append(sentence_of(current))
            current = []
    if current:
        sentences.append(sentence_of(current))
    return sentences


def ends_sentence(word: Word) -> bool:
    text = word.text.strip().rstrip(_CLOSING_MARKS)
    return text.endswith(SENTENCE_ENDINGS) and text.lower() not in _ABBREVIATIONS


def sentence_of(words: list[Word]) -> Sentence:
    return Sentence(start=words[0].start, end=words[-1].end, text=join_words(words), words=tuple(words))


def join_words(words: list[Word]) -> str:
    """Whisper's own spacing (a leading space per word, none before "'s" or "-"), whitespace normalised.

    A word that starts with a letter or digit but has no leading space (hand-made input,
    the first word of some chunks) still gets one, so words never run together.
    """
    text = ""
    for word in words:
        piece = word.text
        if text and not text[-1].isspace() and not piece[:1].isspace() and piece[:1].isalnum():
            text += " "
        text += piece
    return " ".join(text.split())


def segments_for_output(words: list[Word], max_gap_s: float = 1.2, max_len_s: float = 15.0) -> list[dict]:
    """VideoAnalysis.segments: one per sentence, so a reader sees the same units the questions come from.

    A sentence longer than ``max_len_s`` (Whisper sometimes leaves a long run unpunctuated)
    is cut at word boundaries into pieces of at most ``max_len_s`` so a transcript view
    stays readable; a single word longer than that stays whole.
    """
    segments = []
    for sentence in split_sentences(words, pause_s=max_gap_s):
        for piece in _pieces(list(sentence.words), max_len_s):
            segments.append({"start": piece[0].start, "end": piece[-1].end, "text": join_words(piece)})
    return segments


def _pieces(words: list[Word], max_len_s: float) -> list[list[Word]]:
    pieces, current = [], []
    for word in words:
        if current and word.end - current[0].start > max_len_s:
            pieces.append(current)
            current = []
        current.append(word)
    if current:
        pieces.append(current)
    return pieces
