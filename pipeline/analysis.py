"""From chunk transcripts to the analysis of one video: steps 5 and 6 of DESIGN.md.

Assemble the words of all chunks in video time, split sentences, find and classify
questions, measure wait times, compute metrics and the coaching summary.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable, Sequence

from pipeline.assembly import assemble_words, segments_for_output, split_sentences
from pipeline.metrics import coaching_summary, compute_metrics
from pipeline.questions import find_questions, split_run_on_questions
from pipeline.records import ChunkPlan, ChunkTranscript


def analyze_chunks(chunks: Sequence[tuple[ChunkPlan, ChunkTranscript]], duration_s: float,
                   classify: Callable) -> dict:
    """The analysis part of VideoAnalysis: language, segments, questions, metrics, summary."""
    words = assemble_words(list(chunks))
    sentences = split_run_on_questions(split_sentences(words))
    questions = find_questions(sentences, words, classify, duration_s)
    languages = Counter(t.language for _, t in chunks if t.language)
    return {
        "language": languages.most_common(1)[0][0] if languages else "en",
        "segments": segments_for_output(words),
        "questions": [q.to_dict() for q in questions],
        "metrics": compute_metrics(questions, duration_s).to_dict(),
        "summary": coaching_summary(questions, duration_s).to_dict(),
        "word_count": len(words),
    }
