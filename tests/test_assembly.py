"""Words from overlapping chunks stitched into one stream; sentences and segments cut from it."""

from __future__ import annotations

import random

import pytest

from pipeline.assembly import assemble_words, normalized, segments_for_output, split_sentences
from pipeline.records import ChunkPlan, ChunkTranscript, Word

# Two 31 s chunks overlapping by 2 s; the seam (ownership boundary) is at 30.0 s.
FIRST = ChunkPlan(index=0, start_s=0.0, end_s=31.0, own_from_s=0.0, own_to_s=30.0)
SECOND = ChunkPlan(index=1, start_s=29.0, end_s=60.0, own_from_s=30.0, own_to_s=60.0)


def word(start: float, end: float, text: str) -> Word:
    return Word(start, end, text)


def heard(plan: ChunkPlan, *words: Word) -> tuple[ChunkPlan, ChunkTranscript]:
    """A chunk's transcript from words given in video time (what a test reads best)."""
    relative = tuple(Word(round(w.start - plan.start_s, 3), round(w.end - plan.start_s, 3), w.text) for w in words)
    return plan, ChunkTranscript(index=plan.index, language="en", words=relative)


def texts(words: list[Word]) -> list[str]:
    return [w.text for w in words]


def assert_monotone(words: list[Word]):
    for before, after in zip(words, words[1:]):
        assert before.start <= before.end <= after.start <= after.end


# ---------------------------------------------------------------------------
# assemble_words


def test_words_are_shifted_to_video_time_and_kept_by_their_owner():
    first = heard(FIRST, word(1.0, 1.3, " Look"), word(1.3, 1.6, " here."))
    second = heard(SECOND, word(40.0, 40.4, " Good"), word(40.4, 40.8, " job."))
    words = assemble_words([first, second])
    assert words == [word(1.0, 1.3, " Look"), word(1.3, 1.6, " here."),
                     word(40.0, 40.4, " Good"), word(40.4, 40.8, " job.")]


def test_chunks_may_arrive_in_any_order():
    first = heard(FIRST, word(1.0, 1.3, " one"))
    second = heard(SECOND, word(40.0, 40.4, " two"))
    assert texts(assemble_words([second, first])) == [" one", " two"]


def test_a_single_chunk_passes_through_without_empty_words():
    only = ChunkPlan(0, 0.0, 10.0, 0.0, 10.0)
    words = assemble_words([heard(only, word(0.5, 0.8, " Hi"), word(0.8, 0.8, " "), word(1.0, 1.2, " there."))])
    assert texts(words) == [" Hi", " there."]


def test_words_with_identical_times_keep_their_spoken_order():
    only = ChunkPlan(0, 0.0, 10.0, 0.0, 10.0)
    words = assemble_words([heard(only, word(2.0, 2.0, " a"), word(2.0, 2.0, " b"), word(2.0, 2.4, " c"))])
    assert texts(words) == [" a", " b", " c"]


def test_a_word_both_chunks_own_after_jitter_comes_out_once():
    # " very" is timed 0.35 s later by the second chunk: midpoints 29.825 and 30.175, so both own it
    first = heard(FIRST, word(29.3, 29.6, " is"), word(29.7, 29.95, " very"), word(30.1, 30.5, " heavy."))
    second = heard(SECOND, word(29.65, 29.95, " is"), word(30.05, 30.3, " very"), word(30.45, 30.85, " heavy."))
    words = assemble_words([first, second])
    assert texts(words) == [" is", " very", " heavy."]
    assert_monotone(words)


def test_a_word_neither_chunk_owns_after_jitter_is_restored():
    # " big" has its midpoint after the seam in the first chunk and before it in the second
    first = heard(FIRST, word(29.5, 29.9, " the"), word(30.05, 30.3, " big"), word(30.4, 30.8, " tower"))
    second = heard(SECOND, word(29.2, 29.6, " the"), word(29.7, 29.95, " big"), word(30.05, 30.45, " tower"))
    words = assemble_words([first, second])
    assert texts(words) == [" the", " big", " tower"]
    assert_monotone(words)


@pytest.mark.parametrize(
    "first_end_s, kept",
    [
        (31.0, word(30.6, 30.85, " very")),  # first chunk: 0.45 s after the word, second: 1.6 s before it
        (33.0, word(30.3, 30.55, " very")),  # first chunk: 2.45 s after the word
    ],
)
def test_of_two_copies_the_one_with_more_audio_around_it_is_kept(first_end_s, kept):
    first = heard(ChunkPlan(0, 0.0, first_end_s, 0.0, 30.5), word(30.3, 30.55, " very"))
    second = heard(ChunkPlan(1, 29.0, 60.0, 30.5, 60.0), word(30.6, 30.85, " very"))
    assert assemble_words([first, second]) == [kept]


def test_repeated_words_at_a_seam_pair_with_their_own_copies():
    speech = [word(29.5, 29.7, " No,"), word(29.9, 30.1, " no,"), word(30.3, 30.5, " no.")]
    late = [word(w.start + 0.2, w.end + 0.2, w.text) for w in speech]  # the second chunk's clock runs late
    words = assemble_words([heard(FIRST, *speech), heard(SECOND, *late)])
    assert [normalized(w.text) for w in words] == ["no", "no", "no"]
    assert_monotone(words)


@pytest.mark.parametrize(
    "first_plan, second_plan",
    [
        # the later chunk starts right at the seam, so it owns the fragment by midpoint
        (ChunkPlan(0, 0.0, 31.0, 0.0, 30.0), ChunkPlan(1, 30.0, 60.0, 30.0, 60.0)),
        # the later chunk starts at 30.0 but owns from 30.5: ownership alone drops the fragment
        (ChunkPlan(0, 0.0, 31.0, 0.0, 30.5), ChunkPlan(1, 30.0, 60.0, 30.5, 60.0)),
    ],
)
def test_a_word_cut_by_a_chunk_edge_leaves_no_fragment(first_plan, second_plan):
    first = heard(first_plan, word(29.2, 29.5, " an"), word(29.6, 30.2, " elephant"), word(30.3, 30.6, " walked"))
    # the second chunk's audio starts mid-word: Whisper hears " ant" in the first 0.1 s
    second = heard(second_plan, word(30.0, 30.1, " ant"), word(30.3, 30.6, " walked"), word(30.7, 31.0, " by."))
    words = assemble_words([first, second])
    assert texts(words) == [" an", " elephant", " walked", " by."]


def test_a_sentence_crosses_the_chunk_boundary():
    first = heard(FIRST, word(29.0, 29.3, " Why"), word(29.3, 29.5, " did"), word(29.55, 29.7, " the"),
                  word(29.75, 30.2, " tower"), word(30.3, 30.6, " fall?"))
    second = heard(SECOND, word(29.1, 29.5, " did"), word(29.6, 29.75, " the"), word(29.8, 30.25, " tower"),
                   word(30.35, 30.7, " fall?"), word(33.0, 33.4, " Because"))
    sentences = split_sentences(assemble_words([first, second]))
    assert [s.text for s in sentences] == ["Why did the tower fall?", "Because"]
    assert (sentences[0].start, sentences[1].start) == (29.0, 33.0)


def test_overlapping_copies_from_neighbouring_chunks_are_clamped_monotone():
    first = heard(FIRST, word(29.6, 30.0, " the"), word(30.0, 30.45, " tower"))
    second = heard(SECOND, word(29.9, 29.95, " the"), word(29.95, 30.4, " tower"), word(30.5, 30.9, " fell."))
    words = assemble_words([first, second])
    assert texts(words) == [" the", " tower", " fell."]
    assert_monotone(words)


def test_jittered_overlapping_chunks_reproduce_the_speech():
    """Three chunks of a made-up recording, each with its own clock error and words cut at its edges."""
    rng = random.Random(7)
    vocabulary = [" no", " the", " big", " tower", " fell", " why", " elephant", " is", " it", " red"]
    for _ in range(100):
        speech, t = [], 0.2
        while t < 88.0:
            length = rng.uniform(0.15, 0.6)
            speech.append(word(round(t, 3), round(t + length, 3), rng.choice(vocabulary)))
            t += length + rng.choice([0.02, 0.05, 0.1, 0.3, 0.8])
        plans = [ChunkPlan(i, max(0.0, 30.0 * i - 1.0), min(90.0, 30.0 * i + 31.0), 30.0 * i, 30.0 * i + 30.0)
                 for i in range(3)]
        chunks = [heard(plan, *_as_heard_by(plan, speech, clock_error=rng.uniform(-0.15, 0.15))) for plan in plans]
        assert texts(assemble_words(chunks)) == texts(speech)


def _as_heard_by(plan: ChunkPlan, speech: list[Word], clock_error: float) -> list[Word]:
    out = []
    for w in speech:
        if w.end <= plan.start_s or w.start >= plan.end_s:
            continue
        start, end, text = w.start + clock_error, w.end + clock_error, w.text
        if w.start < plan.start_s:  # cut at the chunk's start: only the word's tail is heard
            start, text = plan.start_s, " " + w.text.strip()[-2:]
        elif w.end > plan.end_s:  # cut at the chunk's end: only its head
            end, text = plan.end_s, w.text[:3]
        start, end = max(plan.start_s, start), min(plan.end_s, end)
        if end > start:
            out.append(word(round(start, 3), round(end, 3), text))
    return out


# ---------------------------------------------------------------------------
# split_sentences


def test_sentences_end_at_terminal_punctuation():
    words = [word(0.0, 0.3, " It's"), word(0.3, 0.6, " heavy."), word(0.7, 0.9, " Why"), word(0.9, 1.1, " is"),
             word(1.1, 1.3, " it"), word(1.3, 1.6, " heavy?"), word(1.7, 2.0, " Wow!"), word(2.1, 2.4, " Hmm…"),
             word(2.5, 2.8, " okay")]
    assert [s.text for s in split_sentences(words)] == ["It's heavy.", "Why is it heavy?", "Wow!", "Hmm…", "okay"]


def test_a_long_pause_ends_a_sentence_without_punctuation():
    words = [word(0.0, 0.3, " what"), word(0.3, 0.5, " do"), word(0.5, 0.7, " you"), word(0.7, 1.0, " see"),
             word(2.2, 2.5, " a"), word(2.5, 2.9, " bird"), word(3.5, 3.8, " yes")]
    sentences = split_sentences(words)
    assert [s.text for s in sentences] == ["what do you see", "a bird yes"]
    assert (sentences[0].start, sentences[0].end, sentences[1].start) == (0.0, 1.0, 2.2)
    assert [s.text for s in split_sentences(words, pause_s=0.5)] == ["what do you see", "a bird", "yes"]


def test_one_segment_may_hold_several_sentences_and_a_sentence_spans_segments():
    words = [word(0.0, 0.2, " Look."), word(0.3, 0.5, " What"), word(0.5, 0.7, " is"),
             word(0.8, 1.0, " it?"), word(1.1, 1.3, " A"), word(1.3, 1.6, " duck")]
    sentences = split_sentences(words)
    assert [s.text for s in sentences] == ["Look.", "What is it?", "A duck"]
    assert sentences[1].words == tuple(words[1:4])


def test_sentence_text_keeps_punctuation_and_normalises_spacing():
    words = [word(0.0, 0.2, "  Mr."), word(0.2, 0.5, " Brown's"), word(0.5, 0.8, "hat,"), word(0.8, 1.0, " it"),
             word(1.0, 1.2, "'s"), word(1.2, 1.5, " big!\"")]
    assert [s.text for s in split_sentences(words)] == ["Mr. Brown's hat, it's big!\""]


def test_no_words_no_sentences():
    assert split_sentences([]) == []


# ---------------------------------------------------------------------------
# segments_for_output


def test_segments_are_sentences_with_start_end_and_text():
    words = [word(0.0, 0.3, " Hello."), word(0.5, 0.7, " How"), word(0.7, 0.9, " are"), word(0.9, 1.2, " you?")]
    assert segments_for_output(words) == [
        {"start": 0.0, "end": 0.3, "text": "Hello."},
        {"start": 0.5, "end": 1.2, "text": "How are you?"},
    ]


def test_a_run_on_sentence_is_cut_into_readable_segments():
    words = [word(i * 1.0, i * 1.0 + 0.8, " and") for i in range(40)]
    segments = segments_for_output(words, max_len_s=15.0)
    assert len(segments) == 3
    assert all(s["end"] - s["start"] <= 15.0 for s in segments)
    assert sum(len(s["text"].split()) for s in segments) == 40
