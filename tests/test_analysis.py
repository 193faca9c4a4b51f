"""pipeline/analysis.py: from chunk transcripts and the video's sound to questions with
speakers, wait times from the audio and the educator's metrics.

The sound is generated (espeak-ng adult and child voices, known pauses); the transcript
is written from the script with each word spread over its utterance's audible span,
so these tests check the listening, not Whisper (the end-to-end tests run Whisper)."""

from __future__ import annotations

import pytest

from models.voice_activity import SpeechRegion
from pipeline.analysis import analyze_chunks, listen, speech_units, unwritten_speech
from pipeline.records import ChunkPlan, ChunkTranscript, Sentence, Word
from tests.classroom_clips import ROOM, SPEAKERS
from tests.speech_fixtures import Utterance, add_room_noise, build_speech, read_wav


class Prediction:
    def __init__(self, text):
        self.label = "OEQ" if text.lower().startswith(("what", "where", "why")) else "CEQ"
        self.oeq_probability = 0.9 if self.label == "OEQ" else 0.1


def classify(texts):
    return [Prediction(t) for t in texts]


def words_of(spans, lines, skip=()) -> list[Word]:
    """Each utterance's words spread evenly over its audible span (utterances in ``skip`` left out)."""
    words = []
    for i, (span, line) in enumerate(zip(spans, lines)):
        if i in skip:
            continue
        tokens = line.text.split()
        step = (span.end_s - span.start_s) / len(tokens)
        words += [Word(round(span.start_s + k * step, 3), round(span.start_s + (k + 1) * step, 3), " " + token)
                  for k, token in enumerate(tokens)]
    return words


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    folder = tmp_path_factory.mktemp("room")
    spans = build_speech([Utterance(line.text, line.pause_after_s, line.voice) for line in ROOM], folder / "r.wav")
    add_room_noise(folder / "r.wav", folder / "noisy.wav", snr_db=15)
    return spans, read_wav(folder / "noisy.wav")[0] / 32768


def analysis_of(spans, audio, skip=(), debug=False):
    words = words_of(spans, ROOM, skip)
    duration = len(audio) / 16000
    chunk = ChunkTranscript(0, "en", tuple(words))
    return analyze_chunks([(ChunkPlan(0, 0.0, duration, 0.0, duration), chunk)], duration, classify, audio=audio,
                          model_version="test-model")


def test_questions_carry_who_asked_wait_times_from_the_audio_and_answers(room):
    spans, audio = room
    analysis = analysis_of(spans, audio)
    truths = [(line.text, SPEAKERS[line.voice], round(spans[i + 1].start_s - spans[i].end_s, 2))
              for i, line in enumerate(ROOM) if line.label]
    found = analysis["questions"]
    assert [(q["text"], q["speaker"]) for q in found] == [(text, who) for text, who, _ in truths]
    for (_, _, wait), question in zip(truths, found):
        assert question["wait_time_s"] == pytest.approx(wait, abs=0.2)
    assert [q["answered"] for q in found] == [True, False, True, False, True]
    assert {q["model_version"] for q in found} == {"test-model"}
    metrics = analysis["metrics"]
    assert (metrics["question_count"], metrics["answered_ratio"]) == (3, 1.0)
    # Noise may split a voice into two clusters; roles are decided on a coarser cut, so both stay the educator's.
    seconds = {role: sum(v["speech_s"] for v in analysis["speakers"] if v["role"] == role)
               for role in ("educator", "child")}
    assert analysis["speakers"][0]["role"] == "educator" and seconds["educator"] > seconds["child"] > 0


def test_a_childs_answer_whisper_missed_still_answers_the_question(room):
    """Whisper writes nothing for the last "Light." (index 10): the audio still has the child speaking."""
    spans, audio = room
    last = analysis_of(spans, audio, skip={10})["questions"][-1]
    assert (last["text"], last["answered"]) == ("Is it heavy or light?", True)
    assert last["wait_time_s"] == pytest.approx(spans[10].start_s - spans[9].end_s, abs=0.2)


def test_without_audio_every_sentence_is_the_educators(room):
    spans, _ = room
    heard = listen(words_of(spans, ROOM), None)
    assert heard.voices is None and heard.speakers is None and len(heard.sentences) == len(ROOM)


def test_sentences_are_cut_at_the_pauses_inside_them():
    sentence = Sentence(0.0, 3.0, "Yes. Where did it go?")
    units = speech_units([sentence], [SpeechRegion(0.0, 0.8), SpeechRegion(1.5, 3.0), SpeechRegion(5.0, 6.0)])
    assert units == [(0.0, 0.8, 0), (1.5, 3.0, 0)]
    assert speech_units([sentence], []) == [(0.0, 3.0, 0)]  # the detector heard nothing: whole
    assert unwritten_speech([sentence], [SpeechRegion(1.5, 3.0), SpeechRegion(5.0, 6.0), SpeechRegion(7.0, 7.1)]) \
        == [(5.0, 6.0, -1)]  # 7.0-7.1 is too short to be anyone's turn
