"""The classifier's speed target, measured the way a user meets it: the CLI, process start included.

The issue's target is >= 2,000 questions/s for 20,000 questions through
``python -m devhost classify`` on the project's 2-core machine kind (CI runs on it).
The best of two runs is kept: the machine is shared, and one slow start says little.
"""

from __future__ import annotations

from bench.classify_bench import cli_throughput, questions

TARGET_QUESTIONS_PER_S = 2_000


def test_cli_classifies_20000_questions_at_2000_per_second_or_more():
    result = cli_throughput(questions(20_000), runs=2)
    assert result["questions"] == 20_000
    assert result["questions_per_s"] >= TARGET_QUESTIONS_PER_S, result
