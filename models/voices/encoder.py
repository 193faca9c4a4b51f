"""Speaker embeddings: Resemblyzer's GE2E voice encoder, run with ONNX Runtime.

The encoder (Apache-2.0, shipped inside the PyPI wheel ``resemblyzer`` 0.1.4) is a
3-layer LSTM over 40-channel mel frames that maps 1.6 s of speech to a 256-d unit
vector; two stretches of one voice point the same way, two voices less so.
``export_encoder.py`` turned its PyTorch weights into ``artifacts/ge2e_encoder.onnx``
once (with the mel filterbank inside the graph), so the app needs neither torch nor
librosa: this module only frames the audio and takes its power spectrum, exactly as
librosa does for Resemblyzer (25 ms Hann windows every 10 ms, centred, zero-padded).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16_000
N_FFT = 400  # 25 ms
HOP = 160  # 10 ms
PARTIAL_FRAMES = 160  # 1.6 s: what the encoder was trained on
PARTIAL_STEP = 77  # frames between partials (Resemblyzer's rate of 1.3 per second)
MIN_COVERAGE = 0.75
MODEL_PATH = Path(__file__).parent / "artifacts" / "ge2e_encoder.onnx"


class SpeakerEncoderUnavailable(RuntimeError):
    """The encoder's ONNX file is missing or cannot be loaded."""


def power_spectrogram(samples: np.ndarray) -> np.ndarray:
    """(frames, 201) power spectrum of float samples in [-1, 1], librosa's framing."""
    padded = np.pad(samples.astype(np.float32), N_FFT // 2)
    count = 1 + (len(padded) - N_FFT) // HOP
    if count <= 0:
        return np.zeros((0, N_FFT // 2 + 1), dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP][:count]
    window = np.hanning(N_FFT + 1)[:-1].astype(np.float32)  # periodic Hann, as scipy's get_window
    return (np.abs(np.fft.rfft(frames * window, axis=1)) ** 2).astype(np.float32)


def partial_slices(frame_count: int) -> list[slice]:
    """Resemblyzer's partial utterances: 1.6 s windows every ~0.77 s covering the utterance;
    the last one only if at least ``MIN_COVERAGE`` of it is speech."""
    steps = max(1, frame_count - PARTIAL_FRAMES + PARTIAL_STEP + 1)
    slices = [slice(i, i + PARTIAL_FRAMES) for i in range(0, steps, PARTIAL_STEP)]
    coverage = (frame_count - slices[-1].start) / PARTIAL_FRAMES
    if coverage < MIN_COVERAGE and len(slices) > 1:
        slices.pop()
    return slices


class SpeakerEncoder:
    def __init__(self, path: Path = MODEL_PATH):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # short utterances: threads cost more than they save
        try:
            self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise SpeakerEncoderUnavailable(f"cannot load the speaker encoder {path}: {error}") from error

    def embed(self, samples: np.ndarray) -> np.ndarray:
        """One unit-length 256-d vector for an utterance (float samples, 16 kHz)."""
        samples = _louder(samples)
        slices = partial_slices(1 + len(samples) // HOP)
        needed = slices[-1].stop * HOP
        if needed > len(samples):
            samples = np.pad(samples, (0, needed - len(samples)))
        power = power_spectrogram(samples)
        batch = np.stack([power[s] for s in slices])
        partials = self._session.run(None, {"power": batch})[0]
        mean = partials.mean(axis=0)
        return mean / max(float(np.linalg.norm(mean)), 1e-9)


def _louder(samples: np.ndarray, target_dbfs: float = -30.0) -> np.ndarray:
    """Resemblyzer raises quiet audio to -30 dBFS (never lowers it) before embedding."""
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if len(samples) else 0.0
    if rms <= 0:
        return samples.astype(np.float32)
    change = target_dbfs - 20 * np.log10(rms)
    return (samples * 10 ** (max(change, 0.0) / 20)).astype(np.float32)


@lru_cache(maxsize=1)
def get_encoder() -> SpeakerEncoder:
    return SpeakerEncoder()
