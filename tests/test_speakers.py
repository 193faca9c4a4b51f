"""Who speaks (models/speakers.py, models/voices/): the ONNX GE2E speaker encoder, pitch,
clustering and the educator rule, on generated adult and child voices (clean and under
room noise) and, when ../shared is there, on real recorded voices."""

from __future__ import annotations

import numpy as np
import pytest

from models.speakers import (
    CHILD,
    EDUCATOR,
    SpeakerSettings,
    SpeakerSettingsError,
    attribute_speakers,
)
from models.voices.encoder import MODEL_PATH, get_encoder
from models.voices.pitch import median_pitch
from tests.classroom_clips import CHILD as CHILD_VOICE
from tests.classroom_clips import EDUCATOR as EDUCATOR_VOICE
from tests.classroom_clips import OTHER_CHILD, ROOM, SPEAKERS
from tests.speech_fixtures import Utterance, add_room_noise, build_speech, read_wav


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    """The ROOM clip: an educator, two children, children's questions; clean and at 12 dB SNR."""
    folder = tmp_path_factory.mktemp("room")
    spans = build_speech([Utterance(line.text, line.pause_after_s, line.voice) for line in ROOM], folder / "room.wav")
    add_room_noise(folder / "room.wav", folder / "noisy.wav", snr_db=12)
    audio = {name: read_wav(folder / f"{name}.wav")[0] / 32768 for name in ("room", "noisy")}
    return [(s.start_s, s.end_s) for s in spans], [SPEAKERS[line.voice] for line in ROOM], audio


def cut(samples, span):
    return samples[int(span[0] * 16000):int(span[1] * 16000)]


def test_the_encoder_is_committed_small_and_gives_unit_vectors(room):
    spans, _, audio = room
    assert MODEL_PATH.stat().st_size < 10_000_000
    vector = get_encoder().embed(cut(audio["room"], spans[0]))
    assert vector.shape == (256,) and np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


def test_one_voice_is_nearer_itself_than_a_childs(room):
    spans, _, audio = room
    encoder = get_encoder()
    educator_a, educator_b = encoder.embed(cut(audio["room"], spans[0])), encoder.embed(cut(audio["room"], spans[5]))
    child = encoder.embed(cut(audio["room"], spans[2]))
    assert educator_a @ educator_b > educator_a @ child + 0.05


def test_children_sound_higher_than_the_educator(room):
    spans, roles, audio = room
    pitches = {role: [median_pitch(cut(audio["room"], span)) for span, r in zip(spans, roles) if r == role]
               for role in (EDUCATOR, CHILD)}
    assert max(pitches[EDUCATOR]) < 250 < min(pitches[CHILD])
    assert median_pitch(np.zeros(16000)) is None


@pytest.mark.parametrize("audio", ["room", "noisy"])
def test_educator_and_children_are_told_apart(room, audio):
    spans, roles, samples = room
    voices = attribute_speakers(samples[audio], spans)
    assert [v.speaker for v in voices] == roles
    assert (voices[0].start, voices[0].end) == spans[0]


def test_the_two_children_get_voices_of_their_own(room):
    spans, _, samples = room
    voices = attribute_speakers(samples["room"], spans)
    clusters = {line.voice: {v.cluster for v, l in zip(voices, ROOM) if l.voice == line.voice} for line in ROOM}
    assert all(len(c) == 1 for c in clusters.values()), clusters
    assert len({next(iter(c)) for c in clusters.values()}) == 3  # educator, child, other child


def test_a_video_can_say_everyone_is_the_educator(room):
    spans, _, samples = room
    voices = attribute_speakers(samples["room"], spans, SpeakerSettings(educator="everyone"))
    assert {v.speaker for v in voices} == {EDUCATOR}


def test_a_video_can_move_the_child_pitch_threshold(room):
    """With children counted from 400 Hz, every voice here sounds adult: the rule still picks
    the one that speaks most; with educator="pitch" every adult-sounding voice is an educator."""
    spans, roles, samples = room
    most_speech = attribute_speakers(samples["room"], spans, SpeakerSettings(child_pitch_hz=400))
    assert [v.speaker for v in most_speech] == roles
    by_pitch = attribute_speakers(samples["room"], spans, SpeakerSettings(child_pitch_hz=400, educator="pitch"))
    assert {v.speaker for v in by_pitch} == {EDUCATOR}
    by_default_pitch = attribute_speakers(samples["room"], spans, SpeakerSettings(educator="pitch"))
    assert [v.speaker for v in by_default_pitch] == roles


def test_an_educator_who_speaks_little_is_still_the_adult_voice(tmp_path):
    """Children talk more here, but their voices are high: the adult is the educator."""
    lines = [Utterance("Tell me about it.", 0.8, EDUCATOR_VOICE),
             Utterance("We made a big red castle with a tall tower and a bridge.", 0.6, CHILD_VOICE),
             Utterance("And then the tower fell down and we built it again.", 0.6, OTHER_CHILD),
             Utterance("It was the biggest castle in the whole classroom today.", 0.6, CHILD_VOICE)]
    spans = build_speech(lines, tmp_path / "talk.wav")
    voices = attribute_speakers(read_wav(tmp_path / "talk.wav")[0] / 32768, [(s.start_s, s.end_s) for s in spans])
    assert [v.speaker for v in voices] == [EDUCATOR, CHILD, CHILD, CHILD]


def test_no_spans_no_voices():
    assert attribute_speakers(np.zeros(16000, dtype=np.float32), []) == []


@pytest.mark.parametrize("data, message", [
    ({"educator": "loudest"}, "most-speech, pitch, everyone"),
    ({"child_pitch_hz": -5}, "child_pitch_hz=-5 is not a positive number"),
    ({"child_pitch_hz": "high"}, "is not a positive number"),
    ({"educator_name": "Ms Lee"}, "unknown speaker setting(s): educator_name"),
])
def test_bad_speaker_settings_say_what_is_wrong(data, message):
    with pytest.raises(SpeakerSettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        SpeakerSettings.from_dict(data)


def test_speaker_settings_round_trip():
    settings = SpeakerSettings(educator="pitch", child_pitch_hz=300.0)
    assert SpeakerSettings.from_dict(settings.to_dict()) == settings
    assert SpeakerSettings.from_dict(None) == SpeakerSettings()
