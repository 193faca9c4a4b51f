"""gpu_worker/worker.py: the transcription worker's settlement rules, end to end.

Real parts throughout: the in-process bus, a FolderBlobStore in tmp_path, the real
faster-whisper tiny.en transcriber on espeak-ng speech (loaded once per module).
Failures are produced by thin wrappers around the real transcriber (fails once,
always fails, blocks until released), not by mocks. What is checked is what the
rest of the system sees: the result message, the transcript blob, and where the
job message ends up (completed, redelivered, or in the dead-letter queue with a reason).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gpu_worker.worker import TranscriptionJob, Worker
from models.transcriber import TranscriberSettings, get_transcriber
from pipeline.records import ChunkTranscript
from services.blobs import CHUNKS, FolderBlobStore
from services.jobs import DEAD_LETTER_SUFFIX, JOBS_QUEUE, RESULTS_QUEUE, InProcessBus
from tests.speech_fixtures import Utterance, build_speech, make_random_bytes, make_video_without_audio

REPO = Path(__file__).resolve().parents[1]
DLQ = JOBS_QUEUE + DEAD_LETTER_SUFFIX
SPOKEN = [Utterance("What color is the apple?", 1.0), Utterance("It is red.", 0.3)]


@pytest.fixture(scope="module")
def transcriber():
    return get_transcriber(TranscriberSettings(model="tiny.en"))  # timing truths: the fast model hears them too


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory) -> bytes:
    """About 3.7 s of espeak-ng speech, 16 kHz mono WAV, as a chunk would be."""
    path = tmp_path_factory.mktemp("speech") / "chunk.wav"
    build_speech(SPOKEN, path)
    return path.read_bytes()


@pytest.fixture
def bus():
    return InProcessBus(lock_duration_s=60, max_delivery_count=10)


@pytest.fixture
def blobs(tmp_path):
    return FolderBlobStore(tmp_path / "blobs")


def make_job(index: int = 0, attempt: int = 1, **overrides) -> TranscriptionJob:
    fields = dict(job_id=f"t1:v1:{index}:{attempt}", instance_id="video-t1-v1", tenant_id="t1", video_id="v1",
                  index=index, attempt=attempt, audio_blob=f"t1/v1/{index:05d}.wav",
                  transcript_blob=f"t1/v1/{index:05d}.json")
    return TranscriptionJob(**{**fields, **overrides})


def enqueue(bus, blobs, audio: bytes | None, job: TranscriptionJob | None = None) -> TranscriptionJob:
    job = job or make_job()
    if audio is not None:
        blobs.put_bytes(CHUNKS, job.audio_blob, audio)
    bus.send(JOBS_QUEUE, job.to_body(), message_id=job.job_id)
    return job


def handle_next(worker: Worker, bus) -> None:
    message = bus.receive(JOBS_QUEUE, max_wait_s=0)
    assert message is not None, "no job to handle"
    worker.handle(message)


def dead_letter(bus):
    message = bus.receive(DLQ, max_wait_s=0)
    assert message is not None, "nothing was dead-lettered"
    return message


class FailsFirst:
    """The real transcriber, except that the first ``failures`` calls raise (a transient GPU error)."""

    def __init__(self, inner, failures: int = 1, error: Exception | None = None):
        self.inner, self.failures, self.calls = inner, failures, 0
        self.error = error or RuntimeError("CUDA failed with error out of memory")

    def transcribe(self, audio):
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return self.inner.transcribe(audio)


class Gated:
    """The real transcriber, held at the start of each call until ``release`` is set."""

    def __init__(self, inner):
        self.inner, self.entered, self.release = inner, threading.Event(), threading.Event()

    def transcribe(self, audio):
        self.entered.set()
        assert self.release.wait(10), "the test never released the transcriber"
        return self.inner.transcribe(audio)


# --- success ------------------------------------------------------------------------------------


def test_a_job_is_transcribed_its_result_sent_and_the_job_completed(bus, blobs, transcriber, speech_wav):
    loads = []
    worker = Worker(bus, blobs, lambda: loads.append(1) or transcriber)
    assert loads == [], "the model loads on the first job, not when the worker starts"
    job = enqueue(bus, blobs, speech_wav)
    handle_next(worker, bus)

    assert loads == [1]
    assert bus.depth(JOBS_QUEUE) == 0 and bus.depth(DLQ) == 0
    assert worker.handled == 1
    result = bus.receive(RESULTS_QUEUE, max_wait_s=0)
    assert result.message_id == f"{job.job_id}:result"
    body = result.body
    assert body["ok"] is True
    assert {k: body[k] for k in ("job_id", "instance_id", "tenant_id", "video_id", "index", "attempt")} == {
        "job_id": job.job_id, "instance_id": job.instance_id, "tenant_id": "t1", "video_id": "v1",
        "index": 0, "attempt": 1}
    assert body["transcript_blob"] == job.transcript_blob
    assert body["model"].startswith("faster-whisper/tiny.en/")
    assert body["transcribe_s"] > 0

    transcript = ChunkTranscript.from_dict(json.loads(blobs.get_bytes(CHUNKS, job.transcript_blob)))
    assert transcript.index == 0 and transcript.language == "en"
    assert body["words"] == len(transcript.words)
    spoken = [w.text.strip(" .,?!").lower() for w in transcript.words]
    for expected in ("what", "color", "apple", "it", "red"):
        assert expected in spoken, f"{expected!r} not in {spoken}"
    assert all(0 <= w.start <= w.end <= 3.8 for w in transcript.words)
    assert [w.start for w in transcript.words] == sorted(w.start for w in transcript.words)


# --- poison jobs: dead-lettered at once ---------------------------------------------------------


@pytest.mark.parametrize("body, says", [
    (["not", "a", "job"], "not a JSON object"),
    ("t1:v1:0:1", "not a JSON object"),
    ({"job_id": "j1", "index": 0}, "missing"),
    ({**make_job().to_body(), "index": "0"}, "integers"),
    ({**make_job().to_body(), "attempt": None}, "integers"),
], ids=["list", "string", "missing-fields", "index-as-text", "attempt-null"])
def test_a_malformed_job_is_dead_lettered_as_invalid_job(bus, blobs, body, says):
    bus.send(JOBS_QUEUE, body, message_id="bad")
    attempts = []
    worker = Worker(bus, blobs, lambda: attempts.append(1))
    handle_next(worker, bus)
    dead = dead_letter(bus)
    assert dead.body == body
    assert dead.properties["DeadLetterReason"] == "InvalidJob"
    assert says in dead.properties["DeadLetterErrorDescription"]
    assert bus.depth(JOBS_QUEUE) == 0 and bus.depth(RESULTS_QUEUE) == 0
    assert attempts == [], "no transcriber is loaded for an invalid job"


def test_a_job_whose_audio_is_missing_is_dead_lettered_as_poison(bus, blobs, transcriber):
    job = enqueue(bus, blobs, audio=None)
    handle_next(Worker(bus, blobs, lambda: transcriber), bus)
    dead = dead_letter(bus)
    assert dead.properties["DeadLetterReason"] == "PoisonJob"
    assert job.audio_blob in dead.properties["DeadLetterErrorDescription"]
    assert "does not exist" in dead.properties["DeadLetterErrorDescription"]
    assert bus.depth(JOBS_QUEUE) == 0 and bus.depth(RESULTS_QUEUE) == 0


def test_a_job_whose_audio_cannot_be_decoded_is_dead_lettered_as_poison(bus, blobs, transcriber, tmp_path):
    # faster-whisper's decoder (PyAV) raises av.error.InvalidDataError on these bytes.
    job = enqueue(bus, blobs, make_random_bytes(tmp_path / "garbage.wav").read_bytes())
    handle_next(Worker(bus, blobs, lambda: transcriber), bus)
    dead = dead_letter(bus)
    assert dead.delivery_count == 1, "dead-lettered at the first delivery, not after retries"
    assert dead.properties["DeadLetterReason"] == "PoisonJob"
    assert "cannot be decoded" in dead.properties["DeadLetterErrorDescription"]
    assert job.audio_blob in dead.properties["DeadLetterErrorDescription"]
    assert not blobs.exists(CHUNKS, job.transcript_blob)


def test_a_job_whose_file_has_no_audio_stream_is_dead_lettered_as_poison(bus, blobs, transcriber, tmp_path):
    enqueue(bus, blobs, make_video_without_audio(tmp_path / "silent-film.mp4", seconds=1).read_bytes())
    handle_next(Worker(bus, blobs, lambda: transcriber), bus)
    assert bus.depth(DLQ) == 1
    assert dead_letter(bus).properties["DeadLetterReason"] == "PoisonJob"


def test_a_job_whose_blob_path_escapes_the_container_is_dead_lettered_at_once(bus, blobs, transcriber):
    enqueue(bus, blobs, None, make_job(audio_blob="../../etc/passwd"))
    handle_next(Worker(bus, blobs, lambda: transcriber), bus)
    assert bus.depth(DLQ) == 1
    assert dead_letter(bus).properties["DeadLetterReason"] in ("InvalidJob", "PoisonJob")


# --- transient failures: abandon, retry, then give up ------------------------------------------


def test_a_transient_failure_abandons_the_job_and_the_redelivery_succeeds(bus, blobs, transcriber, speech_wav):
    job = enqueue(bus, blobs, speech_wav)
    flaky = FailsFirst(transcriber)
    worker = Worker(bus, blobs, lambda: flaky)

    first = bus.receive(JOBS_QUEUE, max_wait_s=0)
    assert first.delivery_count == 1
    worker.handle(first)
    assert bus.depth(RESULTS_QUEUE) == 0 and bus.depth(DLQ) == 0
    assert not blobs.exists(CHUNKS, job.transcript_blob)

    second = bus.receive(JOBS_QUEUE, max_wait_s=0)
    assert second is not None, "an abandoned job is redelivered at once"
    assert second.delivery_count == 2
    worker.handle(second)
    assert flaky.calls == 2
    assert bus.receive(RESULTS_QUEUE, max_wait_s=0).body["ok"] is True
    assert blobs.exists(CHUNKS, job.transcript_blob)
    assert bus.depth(JOBS_QUEUE) == 0 and bus.depth(DLQ) == 0


def test_a_job_failing_every_time_is_dead_lettered_after_max_attempts(bus, blobs, transcriber, speech_wav):
    enqueue(bus, blobs, speech_wav)
    broken = FailsFirst(transcriber, failures=10**6, error=RuntimeError("cuDNN exploded"))
    worker = Worker(bus, blobs, lambda: broken, max_attempts=3)
    for delivery in (1, 2, 3):
        message = bus.receive(JOBS_QUEUE, max_wait_s=0)
        assert message is not None and message.delivery_count == delivery
        worker.handle(message)
    assert bus.receive(JOBS_QUEUE, max_wait_s=0) is None
    dead = dead_letter(bus)
    assert dead.properties["DeadLetterReason"] == "MaxAttemptsExceeded"
    assert dead.properties["DeadLetterErrorDescription"] == "RuntimeError: cuDNN exploded"
    assert broken.calls == 3
    assert bus.depth(RESULTS_QUEUE) == 0 and worker.handled == 0


def test_a_lock_lost_while_transcribing_is_tolerated_and_the_job_redelivered(blobs, transcriber, speech_wav):
    now = [0.0]
    bus = InProcessBus(lock_duration_s=30, clock=lambda: now[0])

    class TakesTooLong:
        def transcribe(self, audio):
            now[0] += 31  # the lock expires while the model runs
            return transcriber.transcribe(audio)

    job = enqueue(bus, blobs, speech_wav)
    worker = Worker(bus, blobs, lambda: TakesTooLong())
    handle_next(worker, bus)  # complete() raises LockLost inside; the worker must not
    assert bus.receive(RESULTS_QUEUE, max_wait_s=0).message_id == f"{job.job_id}:result"
    again = bus.receive(JOBS_QUEUE, max_wait_s=0)
    assert again is not None and again.delivery_count == 2


def test_a_failure_to_store_the_transcript_abandons_the_job(bus, tmp_path, transcriber, speech_wav):
    class DiskFullOnce(FolderBlobStore):
        failed = False

        def put_bytes(self, container, path, data):
            if path.endswith(".json") and not self.failed:
                self.failed = True
                raise OSError(28, "No space left on device")
            return super().put_bytes(container, path, data)

    blobs = DiskFullOnce(tmp_path / "blobs")
    enqueue(bus, blobs, speech_wav)
    worker = Worker(bus, blobs, lambda: transcriber)
    handle_next(worker, bus)
    again = bus.receive(JOBS_QUEUE, max_wait_s=0)
    assert again is not None and again.delivery_count == 2
    assert bus.depth(RESULTS_QUEUE) == 0


# --- the receive loop -------------------------------------------------------------------------------


def test_run_returns_promptly_when_stop_is_set_while_idle(bus, blobs):
    worker = Worker(bus, blobs, lambda: None)
    thread = threading.Thread(target=worker.run, kwargs={"poll_s": 0.05})
    thread.start()
    time.sleep(0.1)
    stopped_at = time.monotonic()
    worker.stop.set()
    thread.join(timeout=2)
    assert not thread.is_alive()
    assert time.monotonic() - stopped_at < 0.5


def test_stop_lets_the_current_job_finish_and_takes_no_new_one(bus, blobs, transcriber, speech_wav):
    first = enqueue(bus, blobs, speech_wav, make_job(index=0))
    enqueue(bus, blobs, speech_wav, make_job(index=1))
    gated = Gated(transcriber)
    worker = Worker(bus, blobs, lambda: gated)
    thread = threading.Thread(target=worker.run, kwargs={"poll_s": 0.05})
    thread.start()
    try:
        assert gated.entered.wait(5), "the worker never started the first job"
        worker.stop.set()
        gated.release.set()
        thread.join(timeout=10)
    finally:
        worker.stop.set()
        gated.release.set()
    assert not thread.is_alive()
    assert worker.handled == 1
    result = bus.receive(RESULTS_QUEUE, max_wait_s=0)
    assert result.body["ok"] is True and result.body["index"] == first.index
    assert blobs.exists(CHUNKS, first.transcript_blob)
    left = bus.receive(JOBS_QUEUE, max_wait_s=0)
    assert left.body["index"] == 1 and left.delivery_count == 1, "the second job was never taken"


# --- python -m gpu_worker ----------------------------------------------------------------------------


def _worker_env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.upper().startswith(("SERVICEBUS", "SERVICE_BUS", "AZURE_SERVICEBUS", "WHISPER_", "JOB_"))}
    return {**env, "DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(REPO), **extra}


@pytest.mark.parametrize("extra, says", [
    ({}, "Service Bus"),
    ({"WHISPER_DEVICE": "tpu"}, "WHISPER_DEVICE"),
], ids=["no-service-bus", "bad-setting"])
def test_module_without_usable_settings_exits_2_with_one_clear_line(tmp_path, extra, says):
    done = subprocess.run([sys.executable, "-m", "gpu_worker"], cwd=REPO, env=_worker_env(tmp_path, **extra),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("gpu_worker: ")
    assert says in lines[0]
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_a_long_job_keeps_its_lock_and_is_not_handed_to_another_worker(blobs, transcriber, speech_wav):
    bus = InProcessBus(lock_duration_s=0.6, max_delivery_count=10)

    class Slow:
        def transcribe(self, audio):
            time.sleep(1.5)  # well past the 0.6 s lock
            return transcriber.transcribe(audio)

    job = enqueue(bus, blobs, speech_wav)
    worker = Worker(bus, blobs, lambda: Slow())  # renews every third of the 0.6 s lock
    message = bus.receive(JOBS_QUEUE, max_wait_s=0)
    worker.handle(message)
    assert bus.receive(RESULTS_QUEUE, max_wait_s=0).message_id == f"{job.job_id}:result"
    assert bus.receive(JOBS_QUEUE, max_wait_s=0) is None, "the job was completed, not redelivered"
    assert worker.handled == 1


def test_a_chunk_already_transcribed_by_an_earlier_attempt_is_not_decoded_again(blobs, bus, speech_wav):
    calls = []

    class Counting:
        def transcribe(self, audio):
            calls.append(audio)
            raise AssertionError("the model must not run again")

    first = make_job()
    done = ChunkTranscript(index=first.index, language="en", words=(), segments=(), transcribe_s=1.0, model="m")
    blobs.put_bytes(CHUNKS, first.transcript_blob, json.dumps(done.to_dict()).encode())
    second = make_job(attempt=2)
    enqueue(bus, blobs, speech_wav, second)
    worker = Worker(bus, blobs, lambda: Counting())
    handle_next(worker, bus)
    result = bus.receive(RESULTS_QUEUE, max_wait_s=0)
    assert result.body["ok"] is True and result.body["attempt"] == 2
    assert calls == [] and worker.skipped_as_done == 1
