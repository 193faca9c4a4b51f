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
    words = list(words)
    levels = frame_levels_db(samples, sample_rate)
    if len(words) < 2 or len(levels) == 0:
        return words
    quiet = levels < quiet_threshold_db(levels)
    for i in range(len(words) - 1):
        before, after = words[i], words[i + 1]
        pause = _longest_quiet_run(quiet, _midpoint(before), _midpoint(after))
        if pause is None or pause[1] - pause[0] < min_pause_s:
            continue
        end = max(before.start + MIN_WORD_S, pause[0])
        start = min(after.end - MIN_WORD_S, pause[1])
        if end < start:
            words[i] = replace(before, end=round(end, 3))
            words[i + 1] = replace(after, start=round(start, 3))
    return words


def _midpoint(word: Word) -> float:
    return (word.start + word.end) / 2


def _longest_quiet_run(quiet: np.ndarray, from_s: float, to_s: float) -> tuple[float, float] | None:
    first, last = int(from_s / FRAME_S), min(len(quiet), int(np.ceil(to_s / FRAME_S)))
    best, run_start = None, None
    for index in range(first, last + 1):
        is_quiet = index < last and quiet[index]
        if is_quiet and run_start is None:
            run_start = index
        elif not is_quiet and run_start is not None:
            if best is None or index - run_start > best[1] - best[0]:
                best = (run_start, index)
            run_start = None
    return None if best is None else (best[0] * FRAME_S, best[1] * FRAME_S)
