"""How high a voice is: the median fundamental frequency of its voiced frames.

Children's voices sit well above adults' (about 250–400 Hz for young children, 85–255
Hz for adults), which is the one acoustic fact the speaker rule leans on. A plain
normalised-autocorrelation estimator is enough for a median over a sentence: each 40
ms frame's strongest autocorrelation peak between 70 and 500 Hz is its period, kept
only when the frame is loud and periodic (peak >= ``VOICING`` of the frame's energy).
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16_000
FRAME = 640  # 40 ms: two periods of the lowest pitch looked for
HOP = 160
MIN_HZ, MAX_HZ = 70.0, 500.0
VOICING = 0.45


def frame_pitches(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The pitch (Hz) of each voiced frame; unvoiced and quiet frames are left out."""
    if len(samples) < FRAME:
        return np.zeros(0)
    frames = np.lib.stride_tricks.sliding_window_view(samples.astype(np.float64), FRAME)[::HOP]
    frames = frames - frames.mean(axis=1, keepdims=True)
    energy = np.sum(frames**2, axis=1)
    loud = energy > 0.1 * np.median(energy[energy > 0]) if np.any(energy > 0) else np.zeros(len(frames), bool)
    frames = frames[loud]
    if len(frames) == 0:
        return np.zeros(0)
    spectrum = np.fft.rfft(frames, n=2 * FRAME, axis=1)
    autocorrelation = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, :FRAME]
    low, high = int(sample_rate / MAX_HZ), int(sample_rate / MIN_HZ)
    # Dividing by the overlap length undoes the taper of a finite frame, so a period's
    # peak is not beaten by its half (an octave error to the high side).
    unbiased = autocorrelation[:, low:high] / (FRAME - np.arange(low, high))
    lags = low + np.argmax(unbiased, axis=1)
    strength = unbiased[np.arange(len(lags)), lags - low] / np.maximum(autocorrelation[:, 0] / FRAME, 1e-12)
    return sample_rate / lags[strength >= VOICING]


def median_pitch(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> float | None:
    """The median pitch of the voiced frames, or None with fewer than 5 of them (whisper, noise)."""
    pitches = frame_pitches(samples, sample_rate)
    return float(np.median(pitches)) if len(pitches) >= 5 else None
