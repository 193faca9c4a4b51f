"""Question detection with and without '?', the text sent to the classifier, and wait times."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from models.voice_activity import SpeechRegion
from pipeline.assembly import split_sentences
from pipeline.questions import (
    classification_text,
    find_questions,
    is_question,
    split_run_on_questions,
    wait_time_after,
    wait_time_from_audio,
)
from pipeline.records import Sentence, Word

QUESTIONS = [
    # a question mark is trusted
    "Are you done?",
    "Okay?",
    "It's a circle, right?",
    # wh-openings, also after fillers, discourse markers and a child's name
    "What do you think",
    "um okay so what do you think",
    "And then what happened.",
    "All right, what should we build.",
    "Maya, how did you build it.",
    "Maya how did you build it",
    "So, Maya, why did it fall down.",
    "Why.",
    "Why do you think it sank.",
    "What happened.",
    "What makes it float.",
    "Who wants a turn.",
    "What's that.",
    "What color is it.",
    "What if we add water.",
    "What about this one.",
    "How many blocks are there.",
    "How come it fell.",
    "How did you know.",
    "Which one is bigger.",
    "Maya, which one is bigger.",
    "Whose hat is this.",
    "Where did the ball go.",
    "When does the bus come.",
    "Look at this, what do you see.",
    # auxiliary inversion
    "is that the red one",
    "do you want more",
    "Do you think it will sink",
    "Is Maya here.",
    "Want some more.",
    "Should we add more water.",
    "Could you show me.",
    "Okay, is everyone ready.",
    "Can you tell me about it.",
    "If you need help, can you ask a friend.",
    # tag questions
    "It's heavy, right.",
    "That one is bigger, isn't it.",
    "You can do it, okay.",
    "You like it, yeah.",
    # open prompts
    "Tell me about your drawing.",
    "Tell me more.",
    "Tell me more!",
    "Tell me how you made it.",
    "Describe what you see.",
    "Explain how it works.",
    "I wonder why it sank.",
    "I wonder if it will float.",
    "Hmm, I wonder what would happen.",
    "Show me how you did it.",
]

NOT_QUESTIONS = [
    # statements, including a wh-word inside them
    "It is red.",
    "I know what you did.",
    "That is what I said.",
    "Where you put it is fine.",
    "When you finish, put the blocks away.",
    "When it's time, we go.",
    "I like the red one, which is big.",
    "Maya is tall.",
    "I think it will sink.",
    "Look what you made.",
    "See what happens.",
    "Guess what.",
    "Because it's heavy.",
    "The ball is red, and the block is blue.",
    # exclamations
    "What a big tower!",
    "What a big tower.",
    "What big eyes you have.",
    "How wonderful.",
    "Isn't that cool!",
    "You did it!",
    "Did it!",
    # commands that are not prompts
    "Sit down please.",
    "Do it again.",
    "Have a seat.",
    "Show me your hands.",
    "Tell me when you're done.",
    "Everyone sit down.",
    "Let's clean up.",
    # fragments, praise, back-channels
    "okay.",
    "yeah.",
    "good job.",
    "That's right.",
    "Yes, that's right.",
    "Yeah, yeah.",
    "Okay, okay.",
    "",
    "...",
    # suggestions: not questions without a question mark
    "how about we clean up",
    "Why don't we clean up.",
]


@pytest.mark.parametrize("text", QUESTIONS)
def test_questions_are_recognised(text):
    assert is_question(text)


@pytest.mark.parametrize("text", NOT_QUESTIONS)
def test_statements_exclamations_commands_and_fragments_are_not_questions(text):
    assert not is_question(text)


def test_a_suggestion_with_a_question_mark_is_a_question():
    assert is_question("How about we clean up?")


# ---------------------------------------------------------------------------
# find_questions


@dataclass
class FakePrediction:
    label: str
    oeq_probability: float


class FakeClassifier:
    """Labels "why"/"how"/"tell" questions OEQ; records every call."""

    def __init__(self):
        self.calls: list[list[str]] = []

    def __call__(self, texts):
        self.calls.append(list(texts))
        return [FakePrediction("OEQ", 0.9) if any(k in t.lower() for k in ("why", "how", "tell")) else
                FakePrediction("CEQ", 0.1) for t in texts]


def timed(*spec: tuple[float, float, str]) -> list[Word]:
    return [Word(start, end, text) for start, end, text in spec]


WORDS = timed(
    (0.0, 0.3, " It"), (0.3, 0.6, " sank."),            # statement
    (1.0, 1.4, " Why?"),                                  # short question right after it
    (5.0, 5.3, " Because"), (5.3, 5.8, " heavy."),        # a child answers 3.6 s later
    (6.0, 6.2, " Is"), (6.2, 6.4, " it"), (6.4, 6.8, " red"),  # no '?', then a 1.5 s pause
    (8.3, 8.6, " Yes."),
    (8.7, 9.0, " Tell"), (9.0, 9.2, " me"), (9.2, 9.6, " more."),  # last question: nothing follows
)


def test_questions_are_found_classified_in_one_batch_and_timed():
    classify = FakeClassifier()
    questions = find_questions(split_sentences(WORDS), WORDS, classify, duration_s=12.0)
    assert [(q.text, q.label, q.wait_time_s) for q in questions] == [
        ("Why?", "OEQ", 3.6),
        ("Is it red", "CEQ", 1.5),
        ("Tell me more.", "OEQ", None),
    ]
    assert len(classify.calls) == 1
    assert (questions[1].start, questions[1].end, questions[1].oeq_probability) == (6.0, 6.8, 0.1)


def test_a_short_question_is_classified_with_the_statement_just_before_it():
    classify = FakeClassifier()
    find_questions(split_sentences(WORDS), WORDS, classify, duration_s=12.0)
    assert classify.calls == [["It sank. Why?", "Is it red", "Tell me more."]]


@pytest.mark.parametrize(
    "previous, question, expected",
    [
        (Sentence(0.0, 0.6, "It sank."), Sentence(1.0, 1.4, "Why?"), "It sank. Why?"),
        (Sentence(0.0, 0.6, "It sank."), Sentence(2.1, 2.4, "Why?"), "Why?"),  # too long a pause
        (Sentence(0.0, 0.6, "Did it sink?"), Sentence(1.0, 1.4, "Why?"), "Why?"),  # a question, not context
        (Sentence(0.0, 0.6, "It sank."), Sentence(1.0, 2.4, "Why do you think so?"), "Why do you think so?"),
        (None, Sentence(1.0, 1.4, "Why?"), "Why?"),
    ],
)
def test_classification_text(previous, question, expected):
    assert classification_text(question, previous) == expected


def test_no_questions_means_no_classifier_call():
    classify = FakeClassifier()
    words = timed((0.0, 0.3, " Good"), (0.3, 0.6, " job."))
    assert find_questions(split_sentences(words), words, classify, duration_s=1.0) == []
    assert classify.calls == []


def test_wait_time_is_zero_when_the_next_word_overlaps_the_question():
    words = timed((0.0, 0.3, " Is"), (0.3, 0.5, " it"), (0.5, 0.9, " red?"), (0.8, 1.0, " Yes."))
    question = split_sentences(words)[0]
    assert wait_time_after(question, words) == 0.0


def test_wait_time_is_rounded_to_hundredths():
    words = timed((0.0, 0.3, " Why?"), (2.3456, 2.6, " Because."))
    assert wait_time_after(split_sentences(words)[0], words) == 2.05  # 2.0456


def test_the_last_question_has_no_wait_time():
    words = timed((0.0, 0.3, " Done?"))
    questions = find_questions(split_sentences(words), words, FakeClassifier(), duration_s=5.0)
    assert questions[0].wait_time_s is None


def test_question_times_stay_inside_the_recording():
    words = timed((9.5, 9.8, " Ready"), (9.8, 10.04, " now?"))
    questions = find_questions(split_sentences(words), words, FakeClassifier(), duration_s=10.0)
    assert (questions[0].start, questions[0].end) == (9.5, 10.0)


def test_a_classifier_that_drops_predictions_is_an_error():
    words = timed((0.0, 0.3, " Why?"))
    with pytest.raises(ValueError):
        find_questions(split_sentences(words), words, lambda texts: [], duration_s=1.0)


# ---------------------------------------------------------------------------
# who asked, wait time from the audio's speech regions, answered


# What the audio says about WORDS: the speech regions a detector found. Whisper put
# "red" ending at 6.8 s, but the voice stops at 6.55 s; "Yes." starts at 8.4 s.
REGIONS = [SpeechRegion(0.0, 0.62), SpeechRegion(1.02, 1.38), SpeechRegion(5.05, 5.75),
           SpeechRegion(6.0, 6.55), SpeechRegion(8.4, 9.62)]
SPEAKERS = ["educator", "educator", "child", "educator", "child", "educator"]


def test_wait_time_comes_from_the_audio_and_speakers_are_kept():
    sentences = split_sentences(WORDS)
    assert [s.text for s in sentences] == ["It sank.", "Why?", "Because heavy.", "Is it red", "Yes.",
                                           "Tell me more."]
    questions = find_questions(sentences, WORDS, FakeClassifier(), 12.0, speakers=SPEAKERS, regions=REGIONS,
                               model_version="oeq-ceq-test")
    assert [(q.text, q.speaker, q.wait_time_s, q.answered) for q in questions] == [
        ("Why?", "educator", 3.67, True),  # 1.38 -> 5.05
        ("Is it red", "educator", 1.85, True),  # 6.55 -> 8.4, not Whisper's 6.8 -> 8.3
        ("Tell me more.", "educator", None, False),  # nothing follows
    ]
    assert {q.model_version for q in questions} == {"oeq-ceq-test"}


def test_a_childs_question_is_the_childs_and_answers_nothing():
    words = timed((0.0, 0.3, " Can"), (0.3, 0.5, " I"), (0.5, 0.9, " go?"), (1.5, 1.9, " Yes."))
    questions = find_questions(split_sentences(words), words, FakeClassifier(), 3.0, speakers=["child", "educator"],
                               regions=[SpeechRegion(0.0, 0.9), SpeechRegion(1.5, 1.9)])
    assert [(q.speaker, q.answered, q.wait_time_s) for q in questions] == [("child", False, 0.6)]


def test_no_pause_heard_between_question_and_answer_is_zero_wait():
    question = Sentence(0.0, 0.9, "Is it red?", tuple(timed((0.0, 0.4, " Is"), (0.4, 0.9, " red?"))))
    answer = Sentence(1.0, 1.3, "Yes.", tuple(timed((1.0, 1.3, " Yes."))))
    assert wait_time_from_audio(question, answer, [SpeechRegion(0.0, 1.3)]) == 0.0


def test_misplaced_word_ends_do_not_move_the_wait_time():
    """Whisper's last word "ends" deep in the pause; the region it sits in still ends where the voice does."""
    question = Sentence(0.0, 2.4, "Why?", tuple(timed((0.2, 2.4, " Why?"))))
    answer = Sentence(2.45, 3.0, "Because.", tuple(timed((2.45, 3.0, " Because."))))
    regions = [SpeechRegion(0.2, 0.6), SpeechRegion(3.1, 3.6)]
    assert wait_time_from_audio(question, answer, regions) == 2.5


def test_speakers_must_match_the_sentences():
    with pytest.raises(ValueError, match="speakers"):
        find_questions(split_sentences(WORDS), WORDS, FakeClassifier(), 12.0, speakers=["educator"])


def test_a_prompt_after_a_pause_starts_its_own_sentence():
    """tiny.en wrote "Yes, after my tell me about what you see" as one sentence."""
    words = timed((0.0, 0.3, " Yes,"), (0.3, 0.6, " after"), (0.6, 0.9, " my"),
                  (1.9, 2.1, " tell"), (2.1, 2.3, " me"), (2.3, 2.6, " about"), (2.6, 3.0, " it."))
    sentences = split_run_on_questions(split_sentences(words))
    assert [s.text for s in sentences] == ["Yes, after my", "tell me about it."]


def test_an_answer_whisper_wrote_nothing_for_still_counts():
    """The child's "Okay" after the last question is heard (a turn with no sentence, -1) but not written."""
    words = timed((0.0, 0.3, " Can"), (0.3, 0.5, " you"), (0.5, 0.9, " help?"))
    turns = [(0.0, "educator", 0), (2.1, "child", -1)]
    [question] = find_questions(split_sentences(words), words, FakeClassifier(), 3.0, speakers=["educator"],
                                regions=[SpeechRegion(0.0, 0.9), SpeechRegion(2.1, 2.5)], turns=turns)
    assert (question.answered, question.wait_time_s) == (True, 1.2)


def test_the_educator_going_on_is_not_an_answer():
    words = timed((0.0, 0.4, " Ready?"), (1.0, 1.4, " Let's"), (1.4, 1.8, " go."))
    turns = [(0.0, "educator", 0), (1.0, "educator", 1), (3.0, "child", -1)]
    [question] = find_questions(split_sentences(words), words, FakeClassifier(), 4.0,
                                speakers=["educator", "educator"], turns=turns)
    assert question.answered is False
