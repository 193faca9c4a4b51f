"""models/word_timing.py: snapping Whisper's word boundaries to the pauses in the audio.

Synthetic audio first: 16 kHz tone bursts ("words") at known times with silence
(or quiet noise) between them, and hand-made Word lists whose boundaries overshoot
into the pause the way Whisper's do. Then real espeak-ng speech through the real
transcriber, where the gap between two utterances with a known 2.0 s pause is
measured before (raw faster-whisper) and after refinement.
"""

from __future__ import annotations

import numpy as np
import pytest

from models.speech import Word
from models.transcriber import SAMPLE_RATE, TranscriberSettings, get_transcriber, resolve_model_path
from models.word_timing import MIN_WORD_S, refine_word_boundaries
from tests.speech_fixtures import Utterance, build_speech, wav_seconds

SR = 16_000
SNAP_S = 0.02  # boundaries land within 20 ms of the true pause edges
PAUSE_S = 2.0


def synth(bursts: list[tuple[float, float]], total_s: float, level_db: float = -10.0,
          noise_db: float | None = None, seed: int = 1) -> np.ndarray:
    """float32 audio: a tone burst (RMS ``level_db`` dBFS) over each (start, end), silence or
    white noise (RMS ``noise_db`` dBFS) everywhere else."""
    t = np.arange(round(total_s * SR)) / SR
    audio = np.zeros_like(t)
    amplitude = np.sqrt(2) * 10 ** (level_db / 20)
    for i, (start, end) in enumerate(bursts):
        span = slice(round(start * SR), round(end * SR))
        audio[span] = amplitude * np.sin(2 * np.pi * (180 + 40 * i) * t[span])
    if noise_db is not None:
        audio += np.random.default_rng(seed).normal(0, 10 ** (noise_db / 20), len(t))
    return audio.astype(np.float32)


def words(*spans: tuple[float, float]) -> list[Word]:
    return [Word(start, end, f" w{i}", probability=0.5 + i / 100) for i, (start, end) in enumerate(spans)]


def assert_well_formed(refined: list[Word], original: list[Word], duration_s: float) -> None:
    assert [(w.text, w.probability) for w in refined] == [(w.text, w.probability) for w in original]
    for word in refined:
        assert 0 <= word.start < word.end <= duration_s + 1e-9, word
    for before, after in zip(refined, refined[1:]):
        assert before.end <= after.start + 1e-9, (before, after)


# Three "words": a 0.7 s pause after the first, a 0.1 s gap (too short to be a pause) after the second.
BURSTS = [(0.3, 0.8), (1.5, 2.0), (2.1, 2.6)]
TOTAL_S = 3.0
# Whisper-like: "w0" ends 0.3 s into the pause, "w1" starts 0.3 s before speech resumes.
OVERSHOOT = words((0.3, 1.1), (1.2, 2.0), (2.0, 2.6))


def test_boundaries_overshooting_into_a_pause_snap_to_its_edges():
    refined = refine_word_boundaries(OVERSHOOT, synth(BURSTS, TOTAL_S), SR)
    assert abs(refined[0].end - 0.8) <= SNAP_S
    assert abs(refined[1].start - 1.5) <= SNAP_S
    assert refined[0].start == 0.3 and refined[2].end == 2.6
    assert_well_formed(refined, OVERSHOOT, TOTAL_S)


def test_every_pause_of_several_snaps_to_its_edges():
    bursts = [(0.2, 0.7), (1.0, 1.6), (2.6, 3.0), (3.5, 4.2)]
    whisper = words((0.2, 0.9), (0.9, 1.9), (2.2, 3.2), (3.3, 4.2))
    refined = refine_word_boundaries(whisper, synth(bursts, 4.5), SR)
    for (before, after), (speech_end, speech_start) in zip(zip(refined, refined[1:]),
                                                           [(0.7, 1.0), (1.6, 2.6), (3.0, 3.5)]):
        assert abs(before.end - speech_end) <= SNAP_S, (before, speech_end)
        assert abs(after.start - speech_start) <= SNAP_S, (after, speech_start)
    assert_well_formed(refined, whisper, 4.5)


def test_a_gap_shorter_than_min_pause_is_left_alone():
    refined = refine_word_boundaries(OVERSHOOT, synth(BURSTS, TOTAL_S), SR, min_pause_s=0.25)
    assert (refined[1].end, refined[2].start) == (2.0, 2.0)


def test_a_gap_at_least_min_pause_long_is_snapped():
    whisper = words((0.3, 0.8), (1.5, 2.06), (2.06, 2.6))
    refined = refine_word_boundaries(whisper, synth(BURSTS, TOTAL_S), SR, min_pause_s=0.05)
    assert abs(refined[1].end - 2.0) <= SNAP_S
    assert abs(refined[2].start - 2.1) <= SNAP_S


def test_boundaries_already_on_the_pause_do_not_move_and_refining_twice_changes_nothing():
    exact = words((0.3, 0.8), (1.5, 2.0), (2.1, 2.6))
    audio = synth(BURSTS, TOTAL_S)
    refined = refine_word_boundaries(exact, audio, SR)
    for got, want in zip(refined, exact):
        assert abs(got.start - want.start) <= SNAP_S and abs(got.end - want.end) <= SNAP_S
    assert refine_word_boundaries(refined, audio, SR) == refined
    overshoot_once = refine_word_boundaries(OVERSHOOT, audio, SR)
    assert refine_word_boundaries(overshoot_once, audio, SR) == overshoot_once


@pytest.mark.parametrize("whisper", [
    # A short word straddling the end of speech: snapping its end to 0.8 would leave it 0.05 s long.
    words((0.3, 0.75), (0.75, 0.85), (1.45, 1.55), (1.55, 2.0)),
    # A short word before one that Whisper stretched across most of the pause.
    words((0.3, 0.79), (0.79, 0.87), (0.87, 1.45), (1.5, 2.0)),
    # Short words on both sides, both reaching into the pause.
    words((0.3, 0.7), (0.72, 0.84), (1.44, 1.56), (1.6, 2.0)),
], ids=["straddling-short-word", "short-word-before-stretched-word", "short-words-both-sides"])
def test_no_word_shrinks_below_min_word_s(whisper):
    audio = synth([(0.3, 0.8), (1.5, 2.0)], 2.3)
    refined = refine_word_boundaries(whisper, audio, SR)
    for word in refined:
        assert word.end - word.start >= MIN_WORD_S - 1e-3, word
    assert_well_formed(refined, whisper, 2.3)


def test_pauses_are_found_under_background_noise():
    audio = synth(BURSTS, TOTAL_S, level_db=-10, noise_db=-40)
    refined = refine_word_boundaries(OVERSHOOT, audio, SR)
    assert abs(refined[0].end - 0.8) <= SNAP_S
    assert abs(refined[1].start - 1.5) <= SNAP_S
    assert (refined[1].end, refined[2].start) == (2.0, 2.0)


def test_pauses_are_found_in_a_quiet_recording_of_loud_noise():
    """Levels are relative: speech at -45 dB over a -75 dB floor is found like -10 over -40."""
    audio = synth(BURSTS, TOTAL_S, level_db=-45, noise_db=-75)
    refined = refine_word_boundaries(OVERSHOOT, audio, SR)
    assert abs(refined[0].end - 0.8) <= SNAP_S
    assert abs(refined[1].start - 1.5) <= SNAP_S


@pytest.mark.parametrize("audio", [
    np.random.default_rng(3).normal(0, 0.1, round(TOTAL_S * SR)).astype(np.float32),
    synth([(0.0, TOTAL_S)], TOTAL_S),
    synth([(0.0, TOTAL_S)], TOTAL_S, level_db=-20, noise_db=-30),
], ids=["white-noise", "steady-tone", "tone-over-noise"])
def test_nothing_moves_when_the_audio_has_no_pause(audio):
    assert refine_word_boundaries(OVERSHOOT, audio, SR) == OVERSHOOT


def test_empty_audio_leaves_words_unchanged():
    assert refine_word_boundaries(OVERSHOOT, np.zeros(0, dtype=np.float32), SR) == OVERSHOOT
    assert refine_word_boundaries(OVERSHOOT, np.zeros(100, dtype=np.float32), SR) == OVERSHOOT  # < one frame


def test_a_single_word_or_none_is_unchanged():
    audio = synth(BURSTS, TOTAL_S)
    assert refine_word_boundaries([Word(0.1, 2.9, " all")], audio, SR) == [Word(0.1, 2.9, " all")]
    assert refine_word_boundaries([], audio, SR) == []


def test_the_callers_word_list_is_not_modified():
    whisper = list(OVERSHOOT)
    refine_word_boundaries(whisper, synth(BURSTS, TOTAL_S), SR)
    assert whisper == OVERSHOOT


def test_a_word_whisper_placed_inside_the_pause_is_moved_out_of_it():
    whisper = words((0.3, 0.8), (0.9, 1.3), (1.3, 2.0))  # w1 is heard at 1.5-2.0 with w2, not in the pause
    refined = refine_word_boundaries(whisper, synth([(0.3, 0.8), (1.5, 2.0)], 2.3), SR)
    for word in refined:
        overlap = min(word.end, 1.5 - SNAP_S) - max(word.start, 0.8 + SNAP_S)
        assert overlap <= 0, f"{word} lies inside the pause 0.8-1.5"
    assert_well_formed(refined, whisper, 2.3)


def test_silence_before_the_first_and_after_the_last_word_never_pushes_words_out_of_the_audio():
    audio = synth([(0.5, 1.0), (1.2, 1.5)], 2.0)  # 0.5 s lead-in, 0.2 s gap, 0.5 s of trailing silence
    whisper = words((0.0, 1.0), (1.0, 1.95))  # Whisper starts at 0 and ends the last word in the silence
    refined = refine_word_boundaries(whisper, audio, SR)
    assert_well_formed(refined, whisper, 2.0)
    assert refined[-1].start <= 1.2 + SNAP_S, "the last word still covers the speech it was heard in"
    assert refined[0].end >= 1.0 - SNAP_S


# --- real speech ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def transcriber():
    return get_transcriber(TranscriberSettings(model="tiny.en"))  # timing truths: the fast model hears them too


@pytest.fixture(scope="module")
def raw_whisper():
    """faster-whisper itself, without the refinement, for the before/after figure."""
    from faster_whisper import WhisperModel

    return WhisperModel(resolve_model_path("tiny.en"), device="cpu", compute_type="int8")


def largest_gap(timed: list[tuple[float, float]]) -> tuple[int, float]:
    gaps = [(after[0] - before[1], i) for i, (before, after) in enumerate(zip(timed, timed[1:]))]
    gap, i = max(gaps)
    return i, gap


@pytest.mark.parametrize("question, answer", [
    ("What color is the apple?", "It is red."),
    ("Is the block red?", "Yes it is."),
], ids=["apple", "block"])
def test_the_measured_pause_between_two_utterances_is_within_150_ms(transcriber, raw_whisper, tmp_path,
                                                                    question, answer, record_property):
    wav = tmp_path / "two.wav"
    spans = build_speech([Utterance(question, PAUSE_S), Utterance(answer, 0.3)], wav)
    truth = spans[1].start_s - spans[0].end_s
    assert truth == pytest.approx(PAUSE_S, abs=1e-3)

    refined = transcriber.transcribe(wav).words
    i, refined_gap = largest_gap([(w.start, w.end) for w in refined])

    from faster_whisper import decode_audio

    segments, _ = raw_whisper.transcribe(decode_audio(str(wav), sampling_rate=SAMPLE_RATE), language="en",
                                         beam_size=5, word_timestamps=True, condition_on_previous_text=False,
                                         vad_filter=False)
    raw = [(w.start, w.end) for s in segments for w in s.words]
    _, raw_gap = largest_gap(raw)
    record_property("pause_truth_s", round(truth, 3))
    record_property("pause_raw_whisper_s", round(raw_gap, 3))
    record_property("pause_refined_s", round(refined_gap, 3))
    print(f"\n{question!r}: true pause {truth:.3f} s, raw faster-whisper {raw_gap:.3f} s, refined {refined_gap:.3f} s")

    assert abs(refined_gap - truth) <= 0.15, f"refined {refined_gap:.3f} s vs true {truth:.3f} s (raw {raw_gap:.3f})"
    assert refined[i].text.strip().endswith("?"), "the largest gap follows the question"
    assert abs(refined[i].end - spans[0].end_s) <= 0.15
    assert abs(refined[i + 1].start - spans[1].start_s) <= 0.15
    assert_well_formed(refined, refined, wav_seconds(wav))
