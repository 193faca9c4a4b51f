"""pipeline/audio.py: a recording's sound as 16 kHz mono float samples, or a clear MediaError."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.audio import read_audio
from pipeline.media import MediaError
from tests.speech_fixtures import Utterance, build_speech, make_random_bytes, make_video_without_audio, wrap_as_video


def test_a_video_becomes_float_samples_at_16_khz(tmp_path):
    spans = build_speech([Utterance("Is it red?", 0.5)], tmp_path / "q.wav")
    samples = read_audio(str(wrap_as_video(tmp_path / "q.wav", tmp_path / "q.mp4")))
    assert samples.dtype == np.float32 and np.abs(samples).max() <= 1.0
    assert len(samples) / 16000 == pytest.approx(spans[-1].end_s + 0.5, abs=0.1)  # AAC pads a few ms


@pytest.mark.parametrize("make", [make_random_bytes, make_video_without_audio])
def test_what_has_no_decodable_audio_is_a_media_error(tmp_path, make):
    with pytest.raises(MediaError):
        read_audio(str(make(tmp_path / "bad.mp4")))
