"""The real orchestrators under the extension's event semantics, with results that come
early, twice, late or for an older attempt (activities are instant stand-ins: see
tests/pipeline_fakes.py). Each of these crashed or hung the orchestration before the
batches and per-attempt event names (``maximum recursion depth exceeded``)."""

from __future__ import annotations

import pytest

from tests.pipeline_fakes import FakePipeline, answer_at_once, answer_later, orchestration_cost

pytestmark = pytest.mark.filterwarnings("ignore:Potential duplicate Task completion")


def test_a_fast_worker_answers_before_the_dispatch_activity_completes():
    with FakePipeline(chunks=3, on_send=answer_at_once) as pipeline:
        status = pipeline.run()
        assert status.output["status"] == "completed"
        assert sorted(pipeline.sent) == [(0, 1), (1, 1), (2, 1)]
        history = pipeline.histories()[pipeline.batch_ids()[0]]
        raised = [i for i, e in enumerate(history) if e["EventType"] == 15]
        completed = [i for i, e in enumerate(history) if e["EventType"] == 5]
        # A result landed before every dispatch had completed (if all of them did, the batch may
        # even have finished before its dispatch activities reported: then none is in history).
        assert raised and (not completed or min(raised) < max(completed))


def test_a_dead_letter_during_the_first_dispatch_and_its_redelivery_during_the_second():
    """The review's two cases: chunk 1 dead-lettered while its dispatch still runs, and a
    second delivery of that dead letter while the re-dispatch runs."""

    def worker(pipeline, instance_id, index, attempt):
        if (index, attempt) == (1, 1):
            pipeline.answer(instance_id, 1, 1, ok=False, error="MaxAttemptsExceeded")
        elif (index, attempt) == (1, 2):
            pipeline.answer(instance_id, 1, 1, ok=False, error="MaxAttemptsExceeded")  # delivered again
            pipeline.answer(instance_id, 1, 2)
        else:
            pipeline.answer(instance_id, index, attempt)

    with FakePipeline(chunks=3, on_send=worker) as pipeline:
        status = pipeline.run()
        assert status.runtime_status == "Completed"
        assert status.output["status"] == "completed"
        assert sorted(pipeline.sent) == [(0, 1), (1, 1), (1, 2), (2, 1)]


def test_duplicate_successes_and_failures_change_nothing():
    def worker(pipeline, instance_id, index, attempt):
        if (index, attempt) == (0, 1):
            pipeline.answer(instance_id, 0, 1, ok=False)
            pipeline.answer(instance_id, 0, 1, ok=False)
        else:
            pipeline.answer(instance_id, index, attempt)
            pipeline.answer(instance_id, index, attempt)

    with FakePipeline(chunks=2, on_send=worker) as pipeline:
        status = pipeline.run()
        assert status.output["status"] == "completed"
        assert sorted(pipeline.sent) == [(0, 1), (0, 2), (1, 1)]
        chunks = pipeline.analysed[0]["chunks"]
        assert [c["plan"]["index"] for c in chunks] == [0, 1]


def test_a_stale_failure_of_an_older_attempt_does_not_cost_a_dispatch():
    """Attempt 1 fails twice over: its second failure arrives after attempt 2 is on its way."""

    def worker(pipeline, instance_id, index, attempt):
        if (index, attempt) == (0, 1):
            pipeline.answer(instance_id, 0, 1, ok=False)
        elif (index, attempt) == (0, 2):
            pipeline.answer(instance_id, 0, 1, ok=False, error="late duplicate of attempt 1")
            answer_later(0.2)(pipeline, instance_id, 0, 2)
        else:
            pipeline.answer(instance_id, index, attempt)

    with FakePipeline(chunks=2, on_send=worker, max_dispatches=2) as pipeline:
        status = pipeline.run()
        assert status.output["status"] == "completed"  # attempt 2 was the last allowed: never spent twice
        assert sorted(pipeline.sent) == [(0, 1), (0, 2), (1, 1)]


def test_a_late_success_of_an_older_attempt_is_as_good_as_the_newest():
    """A slow worker: attempt 1 answers after the deadline sent attempt 2, which never answers."""

    def worker(pipeline, instance_id, index, attempt):
        if (index, attempt) == (1, 1):
            answer_later(1.5)(pipeline, instance_id, 1, 1)
        elif attempt == 1:
            pipeline.answer(instance_id, index, attempt)

    with FakePipeline(chunks=2, on_send=worker, chunk_timeout_s=0.5) as pipeline:
        status = pipeline.run()
        assert status.output["status"] == "completed"
        assert (1, 2) in pipeline.sent
        assert pipeline.failures == []


def test_the_first_deadline_allows_for_a_worker_that_starts_from_zero():
    """No redispatch while a cold worker starts: the first results may take start-up time."""
    with FakePipeline(chunks=2, on_send=answer_later(1.2), chunk_timeout_s=0.5, worker_start_s=2.0) as pipeline:
        status = pipeline.run()
        assert status.output["status"] == "completed"
        assert sorted(pipeline.sent) == [(0, 1), (1, 1)], "nothing was dispatched twice"


def test_a_chunk_that_never_answers_fails_the_video_with_a_reason():
    def worker(pipeline, instance_id, index, attempt):
        if index != 1:
            pipeline.answer(instance_id, index, attempt)

    with FakePipeline(chunks=2, on_send=worker, chunk_timeout_s=0.3, max_dispatches=2) as pipeline:
        status = pipeline.run()
        assert status.runtime_status == "Completed"
        assert status.output == {"status": "failed", "reason": pipeline.failures[0]}
        assert pipeline.failures == ["chunk 2 of 2 was not transcribed after 2 attempts: no result within 0.3 s"]


def test_an_activity_that_keeps_failing_fails_the_video_not_the_orchestration(monkeypatch):
    """An exception out of retries ends the video ``failed`` with the reason, never stuck."""
    monkeypatch.setattr("blueprints.video_pipeline.STEP_RETRY._max_number_of_attempts", 2)
    monkeypatch.setattr("blueprints.video_pipeline.STEP_RETRY._first_retry_interval_in_milliseconds", 20)
    with FakePipeline(chunks=2, broken_activity="analyze_video") as pipeline:
        status = pipeline.run()
        assert status.runtime_status == "Completed"
        assert status.output["status"] == "failed"
        assert "analyze_video" in status.output["reason"]
        assert "ConnectionError: injected outage" in status.output["reason"]
        assert pipeline.failures == [status.output["reason"]]
        assert pipeline.calls["analyze_video"] == 2  # both attempts were made


def test_many_chunks_are_split_into_batches_with_bounded_histories():
    cost = orchestration_cost(chunks=45, chunks_per_batch=10)
    assert cost["instances"] == 1 + 5
    assert cost["largest_history"] < 200  # a single orchestrator would hold > 45 × 6 events
