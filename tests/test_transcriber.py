"""The transcriber's models and decoding settings (models/transcriber.py): Whisper base
joined from its two PyPI halves, clear errors for unknown models, and no words invented
in silence or room noise."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from models.transcriber import (
    BASE_MODEL_SHA256,
    DecodeSettings,
    TranscriberSettings,
    TranscriberUnavailable,
    base_model_folder,
    get_transcriber,
    resolve_model_path,
)
from pipeline.questions import is_question
from tests.speech_fixtures import Utterance, add_room_noise, build_speech, room_noise, write_wav


def test_base_is_joined_once_into_the_cache_and_checked(tmp_path):
    folder = base_model_folder(tmp_path)
    model = folder / "model.bin"
    digest = hashlib.sha256()
    with open(model, "rb") as data:
        while block := data.read(1 << 22):
            digest.update(block)
    assert digest.hexdigest() == BASE_MODEL_SHA256
    assert {p.name for p in folder.iterdir()} == {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}
    joined_at = model.stat().st_mtime_ns
    assert base_model_folder(tmp_path) == folder and model.stat().st_mtime_ns == joined_at  # not joined again


def test_the_cache_folder_is_a_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("WHISPER_CACHE_DIR", str(tmp_path / "cache"))
    assert resolve_model_path("base").startswith(str(tmp_path / "cache"))


def test_an_unknown_model_name_says_what_is_accepted():
    with pytest.raises(TranscriberUnavailable, match="'base', 'tiny.en' or a folder"):
        resolve_model_path("large-v3")


def test_a_cache_that_cannot_be_written_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(TranscriberUnavailable, match="cannot prepare Whisper base"):
        base_model_folder(blocker)


def test_vad_and_hallucination_guards_are_on_by_default():
    decode = TranscriberSettings().decode
    assert TranscriberSettings().model == "base"
    assert decode.vad and not decode.condition_on_previous_text
    assert decode.no_speech_threshold and decode.log_prob_threshold and decode.hallucination_silence_threshold


@pytest.mark.parametrize("seconds", [8.0])
def test_room_noise_alone_gives_no_words(tmp_path, seconds):
    noise = room_noise(seconds) * 0.05
    wav = write_wav(tmp_path / "noise.wav", np.clip(noise, -32768, 32767).astype("<i2"))
    transcript = get_transcriber(TranscriberSettings(model="tiny.en")).transcribe(wav)
    assert transcript.words == [] and transcript.duration_s == pytest.approx(seconds, abs=0.05)


def test_without_vad_the_same_settings_still_keep_word_timestamps(tmp_path):
    build_speech([Utterance("How many leaves are in the bowl?", 1.0)], tmp_path / "q.wav")
    transcript = get_transcriber(TranscriberSettings(model="tiny.en", decode=DecodeSettings(vad=False))).transcribe(
        tmp_path / "q.wav")
    assert "bowl" in " ".join(w.text for w in transcript.words).lower()
    assert all(w.end > w.start for w in transcript.words)


def test_base_hears_a_question_under_room_noise(tmp_path):
    build_speech([Utterance("Where do you think the feather came from?", 1.0)], tmp_path / "q.wav")
    noisy = add_room_noise(tmp_path / "q.wav", tmp_path / "noisy.wav", snr_db=10)
    transcript = get_transcriber(TranscriberSettings(model="base")).transcribe(noisy)
    assert transcript.model.startswith("faster-whisper/base/")
    text = " ".join(s.text for s in transcript.segments)
    assert is_question(text) and text.lower().startswith("where do you think"), text
