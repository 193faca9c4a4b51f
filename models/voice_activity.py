"""Where people speak in a recording, from the audio itself.

Wait time is measured on this, not on Whisper's word ends: attention-based word
times drift by tenths of a second and a misheard word can sit anywhere in a pause.
Two detectors, chosen by measurement (README, "Accuracy on audio"):

- ``silero``: Silero VAD, the neural detector shipped inside faster-whisper. It
  knows speech from room noise (fans, rustle, hum) and keeps working when the noise
  floor is high; its decisions come every 32 ms.
- ``energy``: 10 ms frames louder than a threshold set between the recording's
  noise floor and its speech level. Exact on clean audio; fooled by loud noise.

- ``silero+energy``: Silero's regions with their edges moved to where the energy
  says speech starts or ends (within ``EDGE_SEARCH_S``), when the recording is quiet
  between words (speech at least ``SNAP_MIN_RANGE_DB`` above the noise floor).

The default is ``silero``, by measurement. Generated clips in digital silence: Silero
alone is off by ~0.07 s per pause, snapped ~0.01 s; under pink room noise (20 and 10
dB SNR) snapping made it worse (0.05-0.13 s vs 0.04-0.09 s), and on a real headset
recording (AMI, a 0.54 s pause) Silero measured 0.51 s and the snapped edges 0.29 s
(breaths and room tone pass the energy threshold). Real rooms are never digitally
silent, so Silero alone it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.word_timing import FRAME_S, frame_levels_db, quiet_threshold_db

SAMPLE_RATE = 16_000
EDGE_SEARCH_S = 0.12
SNAP_MIN_RANGE_DB = 40.0


@dataclass(frozen=True)
class SpeechRegion:
    start: float
    end: float


@dataclass(frozen=True)
class VoiceActivitySettings:
    method: str = "silero"  # "silero" | "silero+energy" | "energy"
    threshold: float = 0.5  # Silero speech probability
    min_silence_s: float = 0.15  # shorter gaps are breaths inside one utterance, not pauses
    min_speech_s: float = 0.1  # shorter blips are clicks, not speech

    def __post_init__(self):
        if self.method not in {"silero+energy", "silero", "energy"}:
            raise ValueError(f"voice activity method {self.method!r} is not silero+energy, silero or energy")


def speech_regions(samples: np.ndarray, settings: VoiceActivitySettings = VoiceActivitySettings(),
                   sample_rate: int = SAMPLE_RATE) -> list[SpeechRegion]:
    """The stretches of speech in float samples (16 kHz mono), in order, not overlapping."""
    if len(samples) == 0:
        return []
    if settings.method == "energy":
        return _merge(_energy_regions(samples, sample_rate), settings)
    regions = _silero_regions(samples, settings, sample_rate)
    if settings.method == "silero+energy" and _dynamic_range_db(samples, sample_rate) >= SNAP_MIN_RANGE_DB:
        regions = _snap_to_energy(regions, samples, sample_rate)
    return _merge(regions, settings)


def next_speech_after(regions: list[SpeechRegion], moment: float) -> SpeechRegion | None:
    return next((r for r in regions if r.start >= moment), None)


def region_around(regions: list[SpeechRegion], start: float, end: float) -> SpeechRegion | None:
    """The region that overlaps [start, end] most (a word's span), or None if none does."""
    best, overlap = None, 0.0
    for region in regions:
        shared = min(region.end, end) - max(region.start, start)
        if shared > overlap:
            best, overlap = region, shared
    return best


def _silero_regions(samples: np.ndarray, settings: VoiceActivitySettings, sample_rate: int) -> list[SpeechRegion]:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(threshold=settings.threshold, min_speech_duration_ms=int(settings.min_speech_s * 1000),
                         min_silence_duration_ms=int(settings.min_silence_s * 1000), speech_pad_ms=0)
    return [SpeechRegion(round(s["start"] / sample_rate, 3), round(s["end"] / sample_rate, 3))
            for s in get_speech_timestamps(samples.astype(np.float32), options, sampling_rate=sample_rate)]


def _dynamic_range_db(samples: np.ndarray, sample_rate: int) -> float:
    levels = frame_levels_db(samples, sample_rate)
    return float(np.percentile(levels, 95) - np.percentile(levels, 10)) if len(levels) else 0.0


def _loud_frames(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    levels = frame_levels_db(samples, sample_rate)
    return levels >= quiet_threshold_db(levels) if len(levels) else np.zeros(0, bool)


def _energy_regions(samples: np.ndarray, sample_rate: int) -> list[SpeechRegion]:
    loud = _loud_frames(samples, sample_rate)
    edges = np.diff(np.concatenate(([0], loud.astype(np.int8), [0])))
    return [SpeechRegion(round(float(a * FRAME_S), 3), round(float(b * FRAME_S), 3))
            for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))]


def _snap_to_energy(regions: list[SpeechRegion], samples: np.ndarray, sample_rate: int) -> list[SpeechRegion]:
    """Each edge moves to the first (start) or last (end) loud frame within EDGE_SEARCH_S of it."""
    loud = _loud_frames(samples, sample_rate)
    reach = int(EDGE_SEARCH_S / FRAME_S)
    snapped = []
    for region in regions:
        a, b = int(region.start / FRAME_S), int(region.end / FRAME_S)
        head = np.flatnonzero(loud[max(0, a - reach): min(len(loud), a + reach)])
        tail = np.flatnonzero(loud[max(0, b - reach): min(len(loud), b + reach)])
        start = (max(0, a - reach) + head[0]) * FRAME_S if head.size else region.start
        end = (max(0, b - reach) + tail[-1] + 1) * FRAME_S if tail.size else region.end
        snapped.append(SpeechRegion(round(float(start), 3), round(float(max(end, start + FRAME_S)), 3)))
    return snapped


def _merge(regions: list[SpeechRegion], settings: VoiceActivitySettings) -> list[SpeechRegion]:
    """Join regions closer than ``min_silence_s``; drop those shorter than ``min_speech_s``."""
    merged: list[SpeechRegion] = []
    for region in sorted(regions, key=lambda r: r.start):
        if merged and region.start - merged[-1].end < settings.min_silence_s:
            merged[-1] = SpeechRegion(merged[-1].start, max(merged[-1].end, region.end))
        else:
            merged.append(region)
    return [r for r in merged if r.end - r.start >= settings.min_speech_s]
