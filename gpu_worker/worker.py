"""Receive transcription jobs, transcribe the chunk, send the result, settle the job.

Settlement follows Service Bus practice:
- complete once the result is sent;
- dead-letter a poison job at once (a malformed body, audio that is missing or
  that no decoder can read): retrying cannot help, and the orchestrator hears of
  the dead letter and fails or re-dispatches the chunk;
- abandon on anything else (a transient failure) so it is redelivered, until the
  job has been tried ``max_attempts`` times, then dead-letter it with the last error.

The same ``Worker`` runs in-process for the embedded default and in the GPU
container (``python -m gpu_worker``).
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
import time
import wave
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from opentelemetry.trace import SpanKind

from gpu_worker.healthcheck import beat
from models.transcriber import AudioUnreadable, Transcriber, TranscriberUnavailable
from pipeline.records import ChunkTranscript
from services import telemetry
from services.blobs import CHUNKS, BlobNotFound, BlobStore
from services.jobs import JOBS_QUEUE, RESULTS_QUEUE, JobQueue, LockLost, Received

log = logging.getLogger("gpu_worker")


class PoisonJob(ValueError):
    """The job can never succeed; the message says why."""


@dataclass(frozen=True)
class TranscriptionJob:
    job_id: str
    instance_id: str
    tenant_id: str
    video_id: str
    index: int
    attempt: int
    audio_blob: str  # in the chunks container
    transcript_blob: str  # where the worker writes the ChunkTranscript JSON

    @classmethod
    def from_body(cls, body) -> "TranscriptionJob":
        if not isinstance(body, dict):
            raise PoisonJob(f"job body is {type(body).__name__}, not a JSON object")
        missing = [name for name in cls.__dataclass_fields__ if name not in body]
        if missing:
            raise PoisonJob(f"job is missing {', '.join(missing)}")
        if not isinstance(body["index"], int) or not isinstance(body["attempt"], int):
            raise PoisonJob("job index and attempt must be integers")
        return cls(**{name: body[name] for name in cls.__dataclass_fields__})

    def to_body(self) -> dict:
        return asdict(self)


def result_message(job: TranscriptionJob, ok: bool, **details) -> dict:
    """What the results queue carries (and what a dead letter is turned into)."""
    return {"job_id": job.job_id, "instance_id": job.instance_id, "tenant_id": job.tenant_id,
            "video_id": job.video_id, "index": job.index, "attempt": job.attempt, "ok": ok, **details}


class Worker:
    def __init__(self, jobs: JobQueue, blobs: BlobStore, transcriber: Callable[[], Transcriber],
                 max_attempts: int = 3, transient_retry_s: float = 0.0):
        """A job's peek-lock is renewed every third of its duration while it is worked on,
        so a long job is not redelivered to another worker meanwhile (the lock's length is
        the queue's, read from each delivery).
        ``transient_retry_s``: how long to retry a transient failure (storage or the bus
        away for a minute) in place, with back-off and the lock kept, before the delivery
        counts as failed: redeliveries come at once and would burn the delivery limit in
        a second."""
        self.jobs, self.blobs = jobs, blobs
        self._transcriber = transcriber  # a factory: the model loads on the first job, not at start
        self.max_attempts = max_attempts
        self.transient_retry_s = transient_retry_s
        self.skipped_as_done = 0
        self.stop = threading.Event()
        self.handled = 0

    def run(self, poll_s: float = 1.0) -> None:
        """Receive and handle jobs until ``stop`` is set; the current job always finishes."""
        log.info("worker receiving from %s", JOBS_QUEUE)
        while not self.stop.is_set():
            beat()
            message = self.jobs.receive(JOBS_QUEUE, max_wait_s=poll_s)
            if message is not None:
                self.handle(message)
        log.info("worker stopped after %d jobs", self.handled)

    def warm_up(self) -> None:
        """Load the model now rather than on the first job (start-up overlaps other work)."""
        try:
            self._transcriber()
        except Exception as error:  # noqa: BLE001 - the first job will report it properly
            log.warning("could not load the transcriber yet: %s", error)

    def run_concurrently(self, threads: int, poll_s: float = 1.0) -> None:
        """``run`` on several threads (the transcriber serves that many decodes at once)."""
        runners = [threading.Thread(target=self.run, args=(poll_s,), name=f"worker-{i}") for i in range(threads)]
        for runner in runners:
            runner.start()
        for runner in runners:
            runner.join()

    def handle(self, message: Received) -> None:
        """Process one delivery and settle it; never raises (the loop must live on)."""
        try:
            job = TranscriptionJob.from_body(message.body)
        except PoisonJob as error:
            log.error("dead-lettering malformed job %s: %s", message.message_id, error)
            self._settle(self.jobs.dead_letter, message, "InvalidJob", str(error))
            return
        with telemetry.span(f"process {message.queue}", parent=message.properties, kind=SpanKind.CONSUMER,
                            attributes=job_attributes(message, job)) as span:
            record_delivery(message)
            started = time.perf_counter()
            try:
                with self._lock_kept(message):
                    self._with_transient_retries(lambda: self._process(job))
            except PoisonJob as error:
                log.error("dead-lettering job %s: %s", job.job_id, error)
                telemetry.mark_failed(span, str(error))
                self._settle(self.jobs.dead_letter, message, "PoisonJob", str(error))
            except Exception as error:  # noqa: BLE001 - transient until proven otherwise
                telemetry.mark_failed(span, str(error))
                self._retry_or_give_up(message, job, error)
            else:
                self._settle(self.jobs.complete, message)
                self.handled += 1
                telemetry.instruments().chunk_duration.record(time.perf_counter() - started,
                                                              {"messaging.destination.name": message.queue})

    def _process(self, job: TranscriptionJob) -> None:
        transcript = self._already_transcribed(job)
        if transcript is None:
            transcript = self._transcribe(job)
            self.blobs.put_bytes(CHUNKS, job.transcript_blob, json.dumps(transcript.to_dict()).encode())
        self.jobs.send(
            RESULTS_QUEUE,
            result_message(job, True, transcript_blob=job.transcript_blob, transcribe_s=transcript.transcribe_s,
                           model=transcript.model, words=len(transcript.words)),
            message_id=f"{job.job_id}:result",
        )

    def _with_transient_retries(self, work: Callable[[], None]) -> None:
        """Run ``work``; on a transient error wait 1, 2, 4 … 30 s and try again while the
        budget lasts (a poison job is never retried)."""
        deadline, delay = time.monotonic() + self.transient_retry_s, 1.0
        while True:
            try:
                return work()
            except (PoisonJob, TranscriberUnavailable):
                raise  # waiting cannot mend a bad job or a model that does not load
            except Exception as error:  # noqa: BLE001 - transient until the budget is spent
                if self.stop.is_set() or time.monotonic() + delay > deadline:
                    raise
                log.warning("transient failure, retrying in %.0f s: %s: %s", delay, type(error).__name__, error)
                time.sleep(delay)
                delay = min(delay * 2, 30.0)

    def _already_transcribed(self, job: TranscriptionJob) -> ChunkTranscript | None:
        """The chunk's transcript, if an earlier attempt already made it.

        The transcript's blob name is the idempotency key: it names the chunk, not the
        attempt. A job re-dispatched because the first one seemed lost (a worker still
        starting from zero, a result delayed) then costs a blob read, not a second decode.
        """
        try:
            stored = json.loads(self.blobs.get_bytes(CHUNKS, job.transcript_blob))
        except BlobNotFound:
            return None
        except (ValueError, TypeError):
            return None  # a torn write: transcribe again
        self.skipped_as_done += 1
        log.info("job %s: chunk already transcribed by an earlier attempt; resending its result", job.job_id)
        return ChunkTranscript.from_dict(stored)

    @contextmanager
    def _lock_kept(self, message: Received):
        """Renew the message's lock in the background while the body runs."""
        if not message.lock_seconds:
            yield
            return
        done, every_s = threading.Event(), message.lock_seconds / 3

        def renew():
            while not done.wait(every_s):
                try:
                    self.jobs.renew_lock(message)
                except LockLost as error:
                    log.warning("could not renew the lock on %s: %s", message.message_id, error)
                    return
                except Exception as error:  # noqa: BLE001 - the bus briefly away: try again next time
                    log.warning("lock renewal for %s failed: %s", message.message_id, error)

        renewer = threading.Thread(target=renew, name="lock-renewer", daemon=True)
        renewer.start()
        try:
            yield
        finally:
            done.set()
            renewer.join(timeout=5)

    def _retry_or_give_up(self, message: Received, job: TranscriptionJob, error: Exception) -> None:
        if message.delivery_count >= self.max_attempts:
            log.error("job %s failed %d times, dead-lettering: %s", job.job_id, message.delivery_count, error)
            self._settle(self.jobs.dead_letter, message, "MaxAttemptsExceeded", f"{type(error).__name__}: {error}")
        else:
            log.warning("job %s failed (attempt %d), abandoning for redelivery: %s",
                        job.job_id, message.delivery_count, error)
            self._settle(self.jobs.abandon, message)

    def _transcribe(self, job: TranscriptionJob) -> ChunkTranscript:
        with tempfile.TemporaryDirectory(prefix="chunk-") as folder:
            audio = Path(folder) / "chunk.wav"
            try:
                self.blobs.download_to(CHUNKS, job.audio_blob, audio)
            except BlobNotFound:
                raise PoisonJob(f"chunk audio {job.audio_blob} does not exist") from None
            except ValueError as error:  # a path that escapes the container
                raise PoisonJob(f"chunk audio {job.audio_blob!r} is not a valid blob path: {error}") from None
            started = time.perf_counter()
            with telemetry.span("transcribe", attributes={"classroom.chunk.index": job.index}) as span:
                try:
                    transcript = self._transcriber().transcribe(audio)
                except AudioUnreadable as error:
                    raise PoisonJob(f"chunk audio {job.audio_blob} cannot be decoded: {error}") from None
                span.set_attribute("classroom.model.version", transcript.model)
                record_real_time_factor(audio, time.perf_counter() - started, transcript.model)
        return ChunkTranscript(
            index=job.index,
            language=transcript.language,
            words=tuple(transcript.words),
            segments=transcript.segments,
            transcribe_s=round(time.perf_counter() - started, 3),
            model=transcript.model,
        )

    def _settle(self, settle, message: Received, *args) -> None:
        try:
            settle(message, *args)
        except LockLost as error:
            # Another delivery owns it now; Service Bus will redeliver or already has.
            log.warning("could not settle %s: %s", message.message_id, error)


def job_attributes(message: Received, job: TranscriptionJob) -> dict:
    return {"messaging.system": "servicebus", "messaging.destination.name": message.queue,
            "messaging.message.id": message.message_id, "messaging.operation.type": "process",
            "classroom.tenant.id": job.tenant_id, "classroom.video.id": job.video_id,
            "classroom.chunk.index": job.index, "classroom.job.attempt": job.attempt,
            "classroom.delivery_count": message.delivery_count}


def record_delivery(message: Received) -> None:
    """Time in the queue (since it was enqueued: for a redelivery that includes the earlier
    attempts) and, for a redelivery, a retry."""
    ins = telemetry.instruments()
    attributes = {"messaging.destination.name": message.queue}
    if message.enqueued_at:
        ins.queue_time.record(max(0.0, time.time() - message.enqueued_at), attributes)
    if message.delivery_count > 1:
        ins.retries.add(1, attributes)


def record_real_time_factor(audio: Path, decode_s: float, model: str) -> None:
    """Decode seconds per second of audio (chunks are WAV, so the length is in the header)."""
    try:
        with wave.open(str(audio), "rb") as wav:
            audio_s = wav.getnframes() / float(wav.getframerate())
    except (wave.Error, OSError, EOFError, ZeroDivisionError):
        return
    if audio_s > 0:
        telemetry.instruments().rtf.record(decode_s / audio_s, {"classroom.model.version": model})
