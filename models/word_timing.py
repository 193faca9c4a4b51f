"""Snap Whisper's word boundaries to the pauses actually heard in the audio.

Whisper's word timestamps come from attention alignment: starts land within a few
tenths of a second, but a word before a pause tends to "end" late and the word
after it to "start" early, which shortens every measured wait time. The audio
knows better: between two consecutive words, the longest run of quiet frames is
the pause. When that run is at least ``min_pause_s`` long, the earlier word ends
where it begins and the later word starts where it ends.

"Quiet" is relative to the recording: a threshold between its noise floor and its
speech level (percentiles of 10 ms frame energies), so a noisy classroom does not
turn everything into speech and a quiet one does not turn breaths into pauses.
Boundaries only ever move into the gap Whisper proposed or the quiet run found
between the words' midpoints; a word never shrinks below ``MIN_WORD_S``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from models.speech import Word

FRAME_S = 0.01
MIN_WORD_S = 0.08


def frame_levels_db(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """RMS level of each 10 ms frame in dB (full scale = 0)."""
    frame = max(1, int(sample_rate * FRAME_S))
    usable = len(samples) // frame * frame
    if usable == 0:
        return np.zeros(0)
    frames = samples[:usable].astype(np.float64).reshape(-1, frame)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-7))


def quiet_threshold_db(levels: np.ndarray) -> float:
    floor, speech = np.percentile(levels, 10), np.percentile(levels, 95)
    return float(floor + max(6.0, 0.35 * (speech - floor)))


def refine_word_boundaries(words: Sequence[Word], samples: np.ndarray, sample_rate: int = 16_000,
                           min_pause_s: float = 0.25) -> list[Word]:
    """Move each heard pause onto the word boundary Whisper placed nearest to it."""
    words = list(words)
    levels = frame_levels_db(samples, sample_rate)
    if len(words) < 2 or len(levels) == 0:
        return words
    pauses = quiet_runs(levels < quiet_threshold_db(levels), min_pause_s)
    audio_end = len(levels) * FRAME_S
    # Two virtual words, at the very start and end of the audio, give leading and
    # trailing silence a boundary of their own to claim.
    padded = [Word(-MIN_WORD_S, 0.0, ""), *words, Word(audio_end, audio_end + MIN_WORD_S, "")]
    for boundary, pause in sorted(assign_pauses(padded, pauses).items()):
        close_words_around(padded, boundary, pause)
    return padded[1:-1]


def close_words_around(words: list[Word], boundary: int, pause: tuple[float, float]) -> None:
    """Make the pause fall between words ``boundary`` and ``boundary + 1``.

    ``words[0]`` and ``words[-1]`` are fixed anchors (the virtual words at the edges
    of the audio). The words before the pause that reach into it are squeezed, in
    proportion to their lengths, to end where it starts; those after it that begin
    inside it, to start where it ends. Whisper sometimes puts a whole word inside the
    silence next to it; such a word is moved out to the pause's edge, taking as many
    neighbours along as it needs to keep every word at least ``MIN_WORD_S`` long.
    """
    pause_start, pause_end = pause
    if words[boundary].end > pause_start:
        first = boundary
        while first > 1 and words[first - 1].end > pause_start:
            first -= 1
        while first > 1 and pause_start - max(words[first - 1].end, 0.0) < MIN_WORD_S * (boundary - first + 1):
            first -= 1  # no room left of the pause: share it with the word before
        span_start = min(words[first].start, pause_start - MIN_WORD_S * (boundary - first + 1))
        _spread(words, first, boundary, max(words[first - 1].end, span_start), pause_start)
    if words[boundary + 1].start < pause_end:
        last, edge = boundary + 1, len(words) - 2
        while last < edge and words[last + 1].start < pause_end:
            last += 1
        while last < edge and words[last + 1].start - pause_end < MIN_WORD_S * (last - boundary):
            last += 1
        span_end = max(words[last].end, pause_end + MIN_WORD_S * (last - boundary))
        _spread(words, boundary + 1, last, pause_end, min(words[last + 1].start, span_end))


def _spread(words: list[Word], first: int, last: int, start: float, end: float) -> None:
    """Lay words first..last end to end over [start, end]: each gets ``MIN_WORD_S`` (or an
    equal share when there is less room), the rest goes in proportion to their lengths."""
    count = last - first + 1
    if end <= start:
        return
    floor = min(MIN_WORD_S, (end - start) / count)
    extra = [max(words[i].end - words[i].start - floor, 0.0) for i in range(first, last + 1)]
    spare, total_extra = (end - start) - floor * count, sum(extra)
    cursor = start
    for i, more in zip(range(first, last + 1), extra):
        length = floor + (spare * more / total_extra if total_extra else spare / count)
        words[i] = replace(words[i], start=round(float(cursor), 3), end=round(float(cursor + length), 3))
        cursor += length


def quiet_runs(quiet: np.ndarray, min_length_s: float) -> list[tuple[float, float]]:
    """(start_s, end_s) of every run of quiet frames at least ``min_length_s`` long."""
    edges = np.diff(np.concatenate(([0], quiet.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(a * FRAME_S, b * FRAME_S) for a, b in zip(starts, ends) if (b - a) * FRAME_S >= min_length_s]


def assign_pauses(words: list[Word], pauses: list[tuple[float, float]]) -> dict[int, tuple[float, float]]:
    """Each pause goes to the boundary (between words i and i+1) whose span, midpoint of
    word i to midpoint of word i+1, it overlaps most; a boundary takes at most one pause.

    Whisper can place a boundary a second off (a word "ending" deep into the
    silence after it), so the nearest boundary by overlap, not the first, gets it.
    """
    windows = [(_midpoint(a), _midpoint(b)) for a, b in zip(words, words[1:])]
    best: dict[int, tuple[float, tuple[float, float]]] = {}
    for pause in pauses:
        overlaps = [(min(hi, pause[1]) - max(lo, pause[0]), i) for i, (lo, hi) in enumerate(windows)]
        overlap, boundary = max(overlaps)
        if overlap > 0 and overlap > best.get(boundary, (0.0, None))[0]:
            best[boundary] = (overlap, pause)
    return {boundary: pause for boundary, (_, pause) in best.items()}


def _midpoint(word: Word) -> float:
    return (word.start + word.end) / 2
