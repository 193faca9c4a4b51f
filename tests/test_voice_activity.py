"""Speech regions from the audio (models/voice_activity.py), on generated speech whose
pauses are known to the sample, clean and under room noise."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.voice_activity import (
    SpeechRegion,
    VoiceActivitySettings,
    next_speech_after,
    region_around,
    speech_regions,
)
from tests.speech_fixtures import Utterance, Voice, add_room_noise, build_speech, read_wav

REAL_AUDIO = Path(__file__).resolve().parents[2] / "shared" / "eval" / "real_audio"

CHILD = Voice("en-us+f5", pitch=90)
LINES = [Utterance("What do you think will happen now?", 1.7), Utterance("It will fall.", 0.6, CHILD),
         Utterance("Why?", 2.4), Utterance("Because it is heavy.", 0.5, CHILD)]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vad")
    spans = build_speech(LINES, folder / "clean.wav")
    noisy = add_room_noise(folder / "clean.wav", folder / "noisy.wav", snr_db=15)
    loud = add_room_noise(folder / "clean.wav", folder / "loud.wav", snr_db=8)
    return spans, {name: read_wav(path)[0] / 32768
                   for name, path in {"clean": folder / "clean.wav", "noisy": noisy, "loud": loud}.items()}


def measured_pauses(regions, spans):
    pauses = []
    for before, _after in zip(spans, spans[1:]):
        own = region_around(regions, before.end_s - 0.2, before.end_s)
        pauses.append(next_speech_after(regions, own.end).start - own.end)
    return pauses


@pytest.mark.parametrize("audio, tolerance_s", [("clean", 0.15), ("noisy", 0.2), ("loud", 0.25)])
def test_every_pause_is_measured_from_the_audio(clip, audio, tolerance_s):
    spans, samples = clip
    regions = speech_regions(samples[audio])
    truths = [b.start_s - a.end_s for a, b in zip(spans, spans[1:])]
    assert measured_pauses(regions, spans) == pytest.approx(truths, abs=tolerance_s)


def test_one_region_per_utterance_even_under_noise(clip):
    spans, samples = clip
    assert len(speech_regions(samples["noisy"])) == len(speech_regions(samples["loud"])) == len(spans)


def test_energy_alone_is_fooled_by_noise_and_silero_is_not(clip):
    """Why the default listens with Silero: energy thresholds cut noisy speech into pieces."""
    spans, samples = clip
    energy = speech_regions(samples["loud"], VoiceActivitySettings(method="energy"))
    silero = speech_regions(samples["loud"], VoiceActivitySettings(method="silero"))
    assert len(silero) == len(spans) < len(energy)


def test_energy_snapping_is_exact_in_digital_silence(clip):
    spans, samples = clip
    regions = speech_regions(samples["clean"], VoiceActivitySettings(method="silero+energy"))
    truths = [b.start_s - a.end_s for a, b in zip(spans, spans[1:])]
    assert measured_pauses(regions, spans) == pytest.approx(truths, abs=0.02)


@pytest.mark.skipif(not REAL_AUDIO.is_dir(), reason="../shared/eval/real_audio is absent (shared eval data)")
def test_a_real_pause_between_two_utterances():
    """AMI headset clip: "I'm Abigail Claflin" ends at 2.82 s, "You can call me Abbie" starts at 3.36 s."""
    from faster_whisper import decode_audio

    samples = decode_audio(str(REAL_AUDIO / "lhotse_ami_ES2011a_Headset-0_40-46s.wav"), sampling_rate=16000)
    regions = speech_regions(samples)
    first = region_around(regions, 2.5, 2.8)
    assert next_speech_after(regions, first.end).start - first.end == pytest.approx(0.54, abs=0.1)
    assert first.start == pytest.approx(1.46, abs=0.1)


def test_silence_has_no_speech():
    import numpy as np

    assert speech_regions(np.zeros(16_000, dtype=np.float32)) == []
    assert speech_regions(np.zeros(0, dtype=np.float32)) == []


def test_an_unknown_method_is_a_clear_error():
    with pytest.raises(ValueError, match="silero\\+energy, silero or energy"):
        VoiceActivitySettings(method="webrtc")


def test_region_lookups():
    regions = [SpeechRegion(0.0, 1.0), SpeechRegion(2.0, 3.0)]
    assert region_around(regions, 0.8, 2.1) == regions[0]  # overlaps the first most
    assert region_around(regions, 1.2, 1.8) is None
    assert next_speech_after(regions, 1.0) == regions[1]
    assert next_speech_after(regions, 2.5) is None
