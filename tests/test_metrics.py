"""Per-video metrics (DESIGN.md's VideoAnalysis.metrics) and the coach's summary."""

from __future__ import annotations

from pipeline.metrics import clock, coaching_summary, compute_metrics, gaps_without_questions
from pipeline.records import Gap, Metrics, Question


def question(start: float, end: float, label: str = "CEQ", wait: float | None = 1.0, speaker: str = "educator",
             answered: bool = False) -> Question:
    return Question(start=start, end=end, text="Is it red?", label=label,
                    oeq_probability=0.9 if label == "OEQ" else 0.1, wait_time_s=wait, speaker=speaker,
                    answered=answered)


QUESTIONS = [
    question(10.0, 12.0, "OEQ", wait=3.5, answered=True),
    question(20.0, 21.0, "CEQ", wait=1.0, answered=True),
    question(30.0, 31.5, "OEQ", wait=3.0),
    question(100.0, 101.0, "CEQ", wait=None),  # the recording's last question
]
CHILDREN_ASK = [
    question(15.0, 16.0, "CEQ", wait=0.2, speaker="child"),  # "Can I have a turn now?"
    question(40.0, 41.0, "OEQ", wait=5.0, speaker="child"),
]


# ---------------------------------------------------------------------------
# compute_metrics


def test_metrics_of_a_recording():
    assert compute_metrics(QUESTIONS, duration_s=120.0) == Metrics(
        question_count=4,
        oeq_count=2,
        ceq_count=2,
        oeq_ratio=0.5,
        questions_per_minute=2.0,
        mean_wait_time_s=2.5,  # (3.5 + 1.0 + 3.0) / 3: the last question has no wait time
        wait_time_3s_ratio=0.667,  # 2 of 3, and exactly 3.0 s counts
        answered_ratio=0.5,
    )


def test_childrens_questions_change_no_metric():
    assert compute_metrics(QUESTIONS + CHILDREN_ASK, duration_s=120.0) == compute_metrics(QUESTIONS, 120.0)


def test_only_childrens_questions_count_as_none_asked():
    metrics = compute_metrics(CHILDREN_ASK, duration_s=60.0)
    assert (metrics.question_count, metrics.mean_wait_time_s, metrics.answered_ratio) == (0, None, None)


def test_metrics_are_rounded_to_three_decimals():
    metrics = compute_metrics([question(0, 1, "OEQ", wait=1.0), question(2, 3, wait=1.0), question(4, 5, wait=2.0)],
                              duration_s=70.0)
    assert (metrics.oeq_ratio, metrics.questions_per_minute, metrics.mean_wait_time_s) == (0.333, 2.571, 1.333)


def test_no_questions():
    assert compute_metrics([], duration_s=60.0) == Metrics(
        question_count=0, oeq_count=0, ceq_count=0, oeq_ratio=None,
        questions_per_minute=0.0, mean_wait_time_s=None, wait_time_3s_ratio=None, answered_ratio=None,
    )


def test_questions_without_any_wait_time():
    metrics = compute_metrics([question(0, 1, wait=None)], duration_s=10.0)
    assert (metrics.mean_wait_time_s, metrics.wait_time_3s_ratio) == (None, None)
    assert metrics.oeq_ratio == 0.0


def test_zero_duration_gives_zero_questions_per_minute():
    assert compute_metrics([question(0, 0)], duration_s=0.0).questions_per_minute == 0.0


def test_metrics_serialise_with_the_documented_keys():
    assert set(compute_metrics(QUESTIONS, 120.0).to_dict()) == {
        "question_count", "oeq_count", "ceq_count", "oeq_ratio",
        "questions_per_minute", "mean_wait_time_s", "wait_time_3s_ratio", "answered_ratio",
    }


# ---------------------------------------------------------------------------
# gaps and the coaching summary


def test_gaps_run_from_the_start_between_questions_and_to_the_end():
    assert gaps_without_questions(QUESTIONS, duration_s=120.0) == [
        Gap(0.0, 10.0), Gap(12.0, 20.0), Gap(21.0, 30.0), Gap(31.5, 100.0), Gap(101.0, 120.0),
    ]


def test_a_recording_without_questions_is_one_gap():
    assert gaps_without_questions([], duration_s=90.0) == [Gap(0.0, 90.0)]


def test_questions_back_to_back_leave_no_empty_gaps():
    assert gaps_without_questions([question(0.0, 2.0), question(2.0, 5.0)], duration_s=5.0) == []


def test_coaching_summary_of_a_recording():
    summary = coaching_summary(QUESTIONS, duration_s=120.0, top_gaps=2)
    assert summary.oeq_share == 0.5
    assert (summary.questions_with_3s_wait, summary.questions_with_wait) == (2, 3)
    assert summary.longest_gaps == (Gap(31.5, 100.0), Gap(101.0, 120.0))
    assert summary.text == (
        "4 questions in 2.0 minutes (2.0 per minute); 2 were open-ended (50%). "
        "2 of 3 questions got at least 3 seconds of wait time. "
        "A child answered 2 of 4 questions. "
        "The longest stretch without a question was 1:08 (from 0:32 to 1:40)."
    )


def test_coaching_summary_counts_the_educator_and_mentions_the_children():
    summary = coaching_summary(QUESTIONS + CHILDREN_ASK, duration_s=120.0, top_gaps=2)
    assert summary.longest_gaps == (Gap(31.5, 100.0), Gap(101.0, 120.0))  # children's questions fill no gap
    assert (summary.questions_answered, summary.child_questions) == (2, 2)
    assert summary.text.startswith("4 questions in 2.0 minutes")
    assert summary.text.endswith(" Children asked 2 questions of their own.")


def test_coaching_summary_when_only_children_ask():
    summary = coaching_summary(CHILDREN_ASK[:1], duration_s=120.0)
    assert summary.text == ("No questions by the educator were detected in this 2.0-minute recording. "
                            "Children asked 1 question of their own.")


def test_coaching_summary_without_questions():
    summary = coaching_summary([], duration_s=120.0)
    assert summary.text == "No questions were detected in this 2.0-minute recording."
    assert summary.oeq_share is None
    assert (summary.questions_with_3s_wait, summary.questions_with_wait) == (0, 0)
    assert summary.longest_gaps == (Gap(0.0, 120.0),)


def test_coaching_summary_when_no_question_has_a_wait_time():
    summary = coaching_summary([question(50.0, 52.0, "OEQ", wait=None)], duration_s=60.0)
    assert summary.text == (
        "1 question in 1.0 minutes (1.0 per minute); 1 was open-ended (100%). "
        "No speech followed any question, so wait time could not be measured. "
        "A child answered 0 of 1 question. "
        "The longest stretch without a question was 0:50 (from 0:00 to 0:50)."
    )


def test_coaching_summary_serialises():
    data = coaching_summary(QUESTIONS, duration_s=120.0).to_dict()
    assert data["longest_gaps_without_questions"][0] == {"start": 31.5, "end": 100.0, "seconds": 68.5}
    assert data["text"].startswith("4 questions")


def test_clock():
    assert [clock(s) for s in (0, 5.4, 65, 600, 3723)] == ["0:00", "0:05", "1:05", "10:00", "1:02:03"]
