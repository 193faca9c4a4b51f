"""The accuracy report: its text-set evaluation, its table and its handling of bad files."""

from __future__ import annotations

import pytest

from bench import accuracy_report as report
from models.oeq_ceq.classifier import QuestionClassifier


@pytest.fixture(scope="module")
def classifier():
    return QuestionClassifier()


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_a_text_set_gets_accuracy_f1_confusion_and_its_most_confident_errors(tmp_path, classifier):
    path = write(tmp_path / "set.csv", "text,label\n"
                 "Why did the tower fall?,OEQ\n"
                 "How many blocks are there?,CEQ\n"
                 "Is it red?,OEQ\n"            # wrong on purpose: the model says CEQ, confidently
                 "What do you think will happen?,CEQ\n")  # wrong on purpose too
    result = report.evaluate_text_set("tiny", path, classifier)
    assert (result.n, result.accuracy) == (4, 0.5)
    assert result.confusion_rows_truth == [[1, 1], [1, 1]]
    assert [m.text for m in result.most_confident_errors] == sorted(
        ["Is it red?", "What do you think will happen?"],
        key=lambda t: -next(m.confidence for m in result.most_confident_errors if m.text == t))
    assert all(m.confidence > 0.5 and m.truth != m.predicted for m in result.most_confident_errors)
    printed = report.table([result]) + report.details(result)
    assert "tiny" in printed and "0.5000" in printed and "Is it red?" in printed


def test_missing_sets_are_skipped_and_named(tmp_path):
    write(tmp_path / "dev_questions.csv", "text,label\nIs it red?,CEQ\n")
    results, skipped = report.run(tmp_path)
    assert [r.name for r in results] == ["dev_questions"]
    assert skipped == [f"real_dev_snippets ({tmp_path / 'real_dev_snippets.csv'} not found)"]


def test_a_file_with_unknown_labels_is_a_clear_error(tmp_path, capsys):
    write(tmp_path / "dev_questions.csv", "text,label\nIs it red?,closed\n")
    assert report.main(["--eval-dir", str(tmp_path)]) == 2
    assert "unknown labels ['CLOSED']" in capsys.readouterr().err


def test_no_sets_at_all_is_a_clear_error(tmp_path, capsys):
    assert report.main(["--eval-dir", str(tmp_path)]) == 2
    assert "no evaluation sets found" in capsys.readouterr().err
