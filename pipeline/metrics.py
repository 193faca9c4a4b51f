"""The numbers a coach looks at, and a few plain sentences that say them.

Research on early-childhood talk points coaches at three things: how often the
educator asks, how many of those questions are open-ended, and whether children get
at least three seconds to think before someone speaks again. ``compute_metrics``
gives the figures stored with every video (see VideoAnalysis.metrics in DESIGN.md);
``coaching_summary`` adds where the recording went longest without a question and
writes it up so a coach can read it aloud.

Every figure counts the educator's questions only: children's questions stay in the
analysis (a coach may want to see them) but say nothing about how the educator asks.
Wait-time figures count only questions that have a wait time: the last question of a
recording has none (nothing follows it), and counting it as zero would punish it.
"""

from __future__ import annotations

from dataclasses import replace
from statistics import fmean
from typing import Sequence

from pipeline.records import CoachingSummary, Gap, Metrics, Question

__all__ = ["clock", "coaching_summary", "compute_metrics", "educator_questions", "gaps_without_questions"]

WAIT_TIME_TARGET_S = 3.0
EDUCATOR = "educator"


def educator_questions(questions: Sequence[Question]) -> list[Question]:
    return [q for q in questions if q.speaker == EDUCATOR]


def compute_metrics(questions: Sequence[Question], duration_s: float) -> Metrics:
    questions = educator_questions(questions)
    count = len(questions)
    oeq = sum(q.label == "OEQ" for q in questions)
    waits = _wait_times(questions)
    return Metrics(
        question_count=count,
        oeq_count=oeq,
        ceq_count=count - oeq,
        oeq_ratio=_share(oeq, count),
        questions_per_minute=round(count / (duration_s / 60), 3) if duration_s > 0 else 0.0,
        mean_wait_time_s=round(fmean(waits), 3) if waits else None,
        wait_time_3s_ratio=_share(sum(w >= WAIT_TIME_TARGET_S for w in waits), len(waits)),
        answered_ratio=_share(sum(q.answered for q in questions), count),
    )


def coaching_summary(questions: Sequence[Question], duration_s: float, top_gaps: int = 3) -> CoachingSummary:
    metrics = compute_metrics(questions, duration_s)
    child_questions = len(questions) - len(educator_questions(questions))
    questions = educator_questions(questions)
    waits = _wait_times(questions)
    gaps = gaps_without_questions(questions, duration_s)
    summary = CoachingSummary(
        oeq_share=metrics.oeq_ratio,
        questions_with_3s_wait=sum(w >= WAIT_TIME_TARGET_S for w in waits),
        questions_with_wait=len(waits),
        questions_answered=sum(q.answered for q in questions),
        child_questions=child_questions,
        longest_gaps=tuple(sorted(gaps, key=lambda g: (-g.seconds, g.start))[:top_gaps]),
    )
    return replace(summary, text=_coaching_text(metrics, summary, duration_s))


def gaps_without_questions(questions: Sequence[Question], duration_s: float) -> list[Gap]:
    """Start → first question, each question's end → the next one's start, last question → end."""
    gaps, since = [], 0.0
    for question in sorted(questions, key=lambda q: q.start):
        if question.start > since:
            gaps.append(Gap(round(since, 2), round(question.start, 2)))
        since = max(since, question.end)
    if duration_s > since:
        gaps.append(Gap(round(since, 2), round(duration_s, 2)))
    return [gap for gap in gaps if gap.seconds > 0]


def _coaching_text(metrics: Metrics, summary: CoachingSummary, duration_s: float) -> str:
    minutes = duration_s / 60
    children = (f" Children asked {_plural(summary.child_questions, 'question')} of their own."
                if summary.child_questions else "")
    if metrics.question_count == 0:
        who = " by the educator" if children else ""
        return f"No questions{who} were detected in this {minutes:.1f}-minute recording.{children}"
    count, oeq = metrics.question_count, metrics.oeq_count
    sentences = [
        f"{_plural(count, 'question')} in {minutes:.1f} minutes ({metrics.questions_per_minute:.1f} per minute); "
        f"{oeq} {'was' if oeq == 1 else 'were'} open-ended ({metrics.oeq_ratio:.0%})."
    ]
    if summary.questions_with_wait:
        sentences.append(
            f"{summary.questions_with_3s_wait} of {_plural(summary.questions_with_wait, 'question')} "
            f"got at least {WAIT_TIME_TARGET_S:.0f} seconds of wait time."
        )
    else:
        sentences.append("No speech followed any question, so wait time could not be measured.")
    sentences.append(f"A child answered {summary.questions_answered} of {_plural(count, 'question')}.")
    if summary.longest_gaps:
        gap = summary.longest_gaps[0]
        sentences.append(
            f"The longest stretch without a question was {clock(gap.seconds)} "
            f"(from {clock(gap.start)} to {clock(gap.end)})."
        )
    return " ".join(sentences) + children


def clock(seconds: float) -> str:
    """1:05 for 65 s; 1:02:03 past an hour."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _wait_times(questions: Sequence[Question]) -> list[float]:
    return [q.wait_time_s for q in questions if q.wait_time_s is not None]


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
