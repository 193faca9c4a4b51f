"""The real video_pipeline orchestrator, run by devhost's Durable runtime with the real
activities, queue triggers and worker — and workers that misbehave on purpose.

The clip is ~17 s of espeak-ng speech cut into 12 s chunks with 2 s overlap (2 chunks;
the overlap falls in a pause, as these tests are about the orchestration, not the
seams), so every run transcribes for real (Whisper tiny.en) in a few seconds.
"""

from __future__ import annotations

import json

import pytest

from blueprints import dependencies
from blueprints.pipeline_steps import instance_id_for
from devhost.platform import LocalPlatform
from gpu_worker.worker import PoisonJob, TranscriptionJob, Worker, result_message
from services.blobs import CHUNKS, VIDEOS
from services.jobs import RESULTS_QUEUE, Received
from services.results import VideoRecord
from tests.conftest import all_histories
from tests.speech_fixtures import Utterance, build_speech, wrap_as_video

TENANT = "test"
SCRIPT = [
    Utterance("Look at the big red truck.", 0.8),
    Utterance("What do you think is inside the truck?", 2.5),
    Utterance("Some blocks.", 4.0),
    Utterance("How many blocks can you see?", 2.0),
    Utterance("Three blocks.", 1.0),
]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clip")
    spans = build_speech(SCRIPT, folder / "speech.wav")
    return wrap_as_video(folder / "speech.wav", folder / "clip.mp4"), spans


@pytest.fixture
def pipeline_settings(app_settings, tmp_path):
    # The deadline is generous here (a loaded machine transcribes slowly); the tests of the
    # deadline itself shorten it with ``short_deadline``.
    app_settings(DATA_DIR=str(tmp_path / "data"), CHUNK_SECONDS="12", CHUNK_OVERLAP_SECONDS="2",
                 CHUNK_TIMEOUT_SECONDS="60", CHUNK_MAX_DISPATCHES="2",
                 WORKER_START_GRACE_SECONDS="0")
    return app_settings


@pytest.fixture
def short_deadline(pipeline_settings):
    pipeline_settings(CHUNK_TIMEOUT_SECONDS="6")


class MisbehavingWorker(Worker):
    """The real worker, except for the jobs ``misbehave(job)`` says to spoil:
    "poison" (dead-letter as undecodable), "drop" (complete, send nothing),
    "duplicate" (send the result twice)."""

    def __init__(self, misbehave):
        super().__init__(dependencies.jobs(), dependencies.blobs(), dependencies.transcriber, max_attempts=2)
        self.misbehave = misbehave
        self.seen: list[tuple[int, int]] = []

    def handle(self, message: Received) -> None:
        job = TranscriptionJob.from_body(message.body)
        self.seen.append((job.index, job.attempt))
        action = self.misbehave(job)
        if action == "drop":
            self.jobs.complete(message)
            return
        super().handle(message)
        if action == "duplicate":
            self.jobs.send(RESULTS_QUEUE, result_message(job, True, transcript_blob=job.transcript_blob),
                           message_id=f"{job.job_id}:result-again")

    def _transcribe(self, job: TranscriptionJob):
        if self.misbehave(job) == "poison":
            raise PoisonJob("injected: chunk audio cannot be decoded")
        return super()._transcribe(job)


def run_pipeline(clip_path, worker=None, timeout_s: float = 90):
    """Run the video through the local platform; (parent status, every history merged, video id)."""
    video_id = "0" * 31 + "1"
    blob_path = f"{TENANT}/{video_id}.mp4"
    dependencies.results().create_video(VideoRecord(tenant_id=TENANT, video_id=video_id, blob_path=blob_path))
    with LocalPlatform(worker=worker) as platform:
        dependencies.blobs().put_file(VIDEOS, blob_path, clip_path)
        platform.blob_created(VIDEOS, blob_path)  # delivered twice, as Event Grid may
        instance_id = instance_id_for(TENANT, video_id)
        status = platform.runtime.wait_for_completion(instance_id, timeout_s=timeout_s)
        platform.runtime.wait_idle()
        history = all_histories(platform.runtime, instance_id)
        # A later upload event for the same video must not start a second run.
        platform.blob_created(VIDEOS, blob_path)
        assert platform.runtime.get_status(instance_id).history_length == status.history_length
    return status, history, video_id


def dispatched(history) -> list[dict]:
    """Each dispatch of jobs: the first of every chunk (cut_and_dispatch), then re-dispatches."""
    sends = []
    for event in history:
        if event["EventType"] == 4 and event["Name"] == "cut_and_dispatch":
            chunk = json.loads(event["Input"])
            sends.append({"chunks": [{"index": chunk["plan"]["index"], "attempt": chunk["attempt"]}]})
        elif event["EventType"] == 4 and event["Name"] == "dispatch_chunks":
            sends.append({"chunks": json.loads(event["Input"])["chunks"]})
    return sends


def test_happy_path_completes_and_stores_the_analysis(clip, pipeline_settings):
    status, history, video_id = run_pipeline(clip[0])
    assert status.runtime_status == "Completed"
    assert status.output["status"] == "completed"
    assert [c["attempt"] for d in dispatched(history) for c in d["chunks"]] == [1, 1]

    analysis = dependencies.results().get_analysis(TENANT, video_id)
    assert [q["label"] for q in analysis["questions"]] == ["OEQ", "CEQ"]
    assert analysis["metrics"]["question_count"] == 2
    assert set(analysis["timings"]) >= {"total_s", "transcribe_s", "transcribe_wall_s", "probe_s", "analyze_s"}
    record = dependencies.results().get_video(TENANT, video_id)
    assert record.status == "completed" and record.progress == 1.0
    assert dependencies.blobs().list(CHUNKS, f"{TENANT}/{video_id}/") == []  # chunks cleaned up
    assert dependencies.blobs().exists(VIDEOS, f"{TENANT}/{video_id}.mp4")  # the upload is kept
    assert status.custom_status == {"stage": "completed", "progress": 1.0}


def test_a_chunk_that_fails_is_redispatched_and_then_succeeds(clip, pipeline_settings):
    worker = MisbehavingWorker(lambda job: "poison" if (job.index, job.attempt) == (1, 1) else None)
    status, history, video_id = run_pipeline(clip[0], worker)
    assert status.output["status"] == "completed"
    assert (1, 1) in worker.seen and (1, 2) in worker.seen
    assert dispatched(history)[-1]["chunks"] == [{"index": 1, "attempt": 2}]
    analysis = dependencies.results().get_analysis(TENANT, video_id)
    assert [q["label"] for q in analysis["questions"]] == ["OEQ", "CEQ"]


def test_a_lost_result_is_redispatched_after_the_deadline(clip, short_deadline):
    worker = MisbehavingWorker(lambda job: "drop" if (job.index, job.attempt) == (1, 1) else None)
    status, history, _ = run_pipeline(clip[0], worker)
    assert status.output["status"] == "completed"
    assert any(e["EventType"] == 11 for e in history), "the deadline timer fired"
    assert {"index": 1, "attempt": 2} in [c for d in dispatched(history) for c in d["chunks"]]


def test_a_chunk_that_never_returns_fails_the_video_with_the_reason(clip, short_deadline):
    worker = MisbehavingWorker(lambda job: "drop" if job.index == 1 else None)
    status, _, video_id = run_pipeline(clip[0], worker)
    assert status.runtime_status == "Completed"  # the orchestration ends cleanly; the video failed
    assert status.output["status"] == "failed"
    reason = "chunk 2 of 2 was not transcribed after 2 attempts: no result within 6 s"
    assert status.output["reason"] == reason
    record = dependencies.results().get_video(TENANT, video_id)
    assert (record.status, record.error) == ("failed", reason)
    assert [s for s in worker.seen if s[0] == 1] == [(1, 1), (1, 2)]
    assert dependencies.blobs().list(CHUNKS, f"{TENANT}/{video_id}/") == []


def test_a_chunk_that_keeps_failing_fails_the_video_with_the_worker_reason(clip, pipeline_settings):
    worker = MisbehavingWorker(lambda job: "poison" if job.index == 0 else None)
    status, _, _ = run_pipeline(clip[0], worker)
    assert status.output["status"] == "failed"
    assert status.output["reason"].startswith("chunk 1 of 2 could not be transcribed after 2 attempts: PoisonJob")
    assert "injected: chunk audio cannot be decoded" in status.output["reason"]


def test_a_duplicate_result_event_changes_nothing(clip, pipeline_settings):
    worker = MisbehavingWorker(lambda job: "duplicate" if job.index == 0 else None)
    status, history, video_id = run_pipeline(clip[0], worker)
    assert status.output["status"] == "completed"
    chunk0_events = [e for e in history if e["EventType"] == 15 and e["Name"] == "chunk-0-attempt-1"]
    assert len(chunk0_events) >= 1
    analysis = dependencies.results().get_analysis(TENANT, video_id)
    assert [q["label"] for q in analysis["questions"]] == ["OEQ", "CEQ"]


def test_orchestrator_replays_identically(clip, pipeline_settings):
    """Every episode replays the whole history; the runtime fails an instance whose
    replayed actions differ, so a completed run is itself the determinism check."""
    status, history, _ = run_pipeline(clip[0])
    episodes = sum(1 for e in history if e["EventType"] == 12)
    assert status.runtime_status == "Completed" and episodes > 5


def test_a_brief_outage_of_a_service_costs_a_retry_not_the_video(clip, pipeline_settings, monkeypatch):
    store = dependencies.results()
    save, calls = store.save_analysis, []

    def briefly_unavailable(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise ConnectionError("results store briefly unavailable")
        return save(*args, **kwargs)

    monkeypatch.setattr(store, "save_analysis", briefly_unavailable)
    status, history, video_id = run_pipeline(clip[0])
    assert status.output["status"] == "completed"
    assert len(calls) == 2
    assert any(e["EventType"] == 6 for e in history), "the failed attempt is in the history"
    assert dependencies.results().get_analysis(TENANT, video_id)["metrics"]["question_count"] == 2
