"""What each activity of the video pipeline does, as plain functions.

Activities return ``{"ok": False, "reason": …}`` for a problem with the video
itself (the orchestrator fails the video with that reason, which the user sees)
and raise only for faults of the platform (Durable records those).
"""

from __future__ import annotations

import functools
import json
import logging
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import azure.durable_functions as df

from blueprints import dependencies
from gpu_worker.worker import TranscriptionJob
from models.speakers import SpeakerSettings, SpeakerSettingsError
from pipeline.analysis import analyze_chunks
from pipeline.audio import read_audio
from pipeline.media import MediaError, cut_chunk, probe
from pipeline.records import ChunkPlan, ChunkTranscript
from services.blobs import CHUNKS, VIDEOS, BlobNotFound
from services.cache import CacheUnavailable
from services.jobs import JOBS_QUEUE
from services.results import VideoNotFound
from services.settings import Settings

log = logging.getLogger(__name__)
ORCHESTRATOR = "video_pipeline"
BATCH_ORCHESTRATOR = "transcribe_batch"
SUMMARY_CACHE_TTL_S = 24 * 3600
ACTIVE = ("queued", "processing")  # a video in any other state (or deleted) gets no more work


class BackoffRetryOptions(df.RetryOptions):
    """RetryOptions with the exponential back-off the extension understands.

    SDK 1.7.0 serialises only the first interval and the attempt count; the extension's
    RetryOptions also reads ``backoffCoefficient`` and ``maxRetryIntervalInMilliseconds``
    (the JavaScript SDK sends them under these names).
    """

    def __init__(self, first_retry_interval_in_milliseconds: int, max_number_of_attempts: int,
                 backoff_coefficient: float, max_retry_interval_in_milliseconds: int):
        super().__init__(first_retry_interval_in_milliseconds, max_number_of_attempts)
        self.backoff_coefficient = backoff_coefficient
        self.max_retry_interval_in_milliseconds = max_retry_interval_in_milliseconds

    def to_json(self) -> dict:
        return {**super().to_json(), "backoffCoefficient": self.backoff_coefficient,
                "maxRetryIntervalInMilliseconds": self.max_retry_interval_in_milliseconds}


@dataclass(frozen=True)
class PipelineInput:
    """The orchestration's input: the video and the settings it runs with, fixed at start
    so that a replay never reads settings that changed since."""

    tenant_id: str
    video_id: str
    blob_path: str
    chunk_seconds: float
    chunk_overlap_seconds: float
    chunk_timeout_s: float
    chunk_max_dispatches: int
    max_video_seconds: float
    chunks_per_batch: int = 10
    worker_start_s: float = 0.0
    # This video's speaker settings (models.speakers.SpeakerSettings as a dict), e.g.
    # {"child_pitch_hz": 300} for a high-voiced educator; None: the defaults.
    speakers: dict | None = None
    # The W3C traceparent of the span that started the pipeline (the upload's trace): every
    # activity's span is its child, so the orchestrator itself never touches telemetry and
    # stays deterministic. None: not traced.
    traceparent: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings, tenant_id: str, video_id: str, blob_path: str,
                      speakers: dict | None = None) -> "PipelineInput":
        return cls(tenant_id, video_id, blob_path, settings.chunk_seconds, settings.chunk_overlap_seconds,
                   settings.chunk_timeout_s, settings.chunk_max_dispatches, settings.max_video_seconds,
                   settings.chunks_per_batch, settings.worker_start_grace_s, speakers)

    @classmethod
    def from_dict(cls, data: dict) -> "PipelineInput":
        # Fields added later have defaults: an orchestration started before them replays
        # with its old input.
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})

    def to_dict(self) -> dict:
        return asdict(self)

    def video(self) -> dict:
        """What every activity gets to know which video it works on."""
        video = {"tenant_id": self.tenant_id, "video_id": self.video_id, "blob_path": self.blob_path,
                 "max_video_seconds": self.max_video_seconds}
        if self.speakers:
            video["speakers"] = self.speakers
        if self.traceparent:
            video["traceparent"] = self.traceparent
        return video


@dataclass(frozen=True)
class BatchInput:
    """What one ``transcribe_batch`` sub-orchestration needs: its chunks and the deadlines."""

    video: dict
    plans: list
    chunks_in_video: int
    chunk_timeout_s: float
    chunk_max_dispatches: int
    worker_start_s: float

    @classmethod
    def for_batch(cls, job: PipelineInput, plans: list[ChunkPlan]) -> "BatchInput":
        total = int(plans[-1].index) + 1 if plans else 0
        return cls(job.video(), [p.to_dict() for p in plans], total, job.chunk_timeout_s, job.chunk_max_dispatches,
                   job.worker_start_s)

    @classmethod
    def from_dict(cls, data: dict) -> "BatchInput":
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})

    def to_dict(self) -> dict:
        return asdict(self)


def instance_id_for(tenant_id: str, video_id: str) -> str:
    """One orchestration per video: a repeated upload event finds the same instance."""
    return f"video-{tenant_id}-{video_id}"


def batch_instance_id(parent_instance_id: str, number: int) -> str:
    """The batches' ids derive from the video's, so deleting a video can find them all."""
    return f"{parent_instance_id}:batch-{number}"


def chunk_folder(video: dict) -> str:
    return f"{video['tenant_id']}/{video['video_id']}"


def probe_video_step(video: dict) -> dict:
    blobs, results = dependencies.blobs(), dependencies.results()
    if not _is_active(results, video):
        return {"ok": False, "deleted": True, "reason": "the video was deleted"}
    probed, problem = read_media(blobs, video, lambda source: probe(source, max_duration_s=video["max_video_seconds"]))
    if problem:
        return {"ok": False, "reason": problem}
    _update_video(results, video, status="processing", stage="transcribing", duration_s=probed.duration_s)
    return {"ok": True, "duration_s": probed.duration_s, "has_audio": probed.has_audio}


def cut_and_dispatch_step(chunk: dict) -> dict:
    """Cut one chunk's audio and send its job at once: the worker starts on the first
    chunk while the others are still being cut."""
    plan = ChunkPlan.from_dict(chunk["plan"])
    blobs, results = dependencies.blobs(), dependencies.results()
    if not _is_active(results, chunk):
        return {"ok": False, "index": plan.index, "reason": "the video was deleted or has stopped"}
    audio_blob = f"{chunk_folder(chunk)}/{plan.index:05d}.wav"
    with tempfile.TemporaryDirectory(prefix="cut-") as folder:
        out = Path(folder) / "chunk.wav"
        _, problem = read_media(blobs, chunk, lambda source: cut_chunk(source, plan, str(out)))
        if problem:
            return {"ok": False, "index": plan.index, "reason": problem}
        blobs.put_file(CHUNKS, audio_blob, out)
    if not _is_active(results, chunk):  # deleted while we cut: take back what we wrote
        blobs.delete_prefix(CHUNKS, chunk_folder(chunk) + "/")
        return {"ok": False, "index": plan.index, "reason": "the video was deleted or has stopped"}
    dependencies.jobs().send_many(JOBS_QUEUE, [_job_message(chunk, plan.index, chunk["attempt"])])
    return {"ok": True, "index": plan.index, "audio_blob": audio_blob}


def read_media(blobs, video: dict, read):
    """``read(url)`` with ffmpeg over the video's SAS URL: (its result, None), or (None,
    the reason the video itself is unreadable).

    ffmpeg cannot tell a broken file from storage that is briefly away. So after a
    failure, storage is asked whether the video exists (which raises while storage is
    unreachable: the activity is then retried with back-off), and ffmpeg tries once
    more: only a second failure with storage answering is the video's problem.
    """
    missing = (None, "the uploaded video is missing from storage")
    try:
        return read(blobs.readable_url(VIDEOS, video["blob_path"])), None
    except BlobNotFound:
        return missing
    except MediaError:
        if not blobs.exists(VIDEOS, video["blob_path"]):
            return missing
    try:
        return read(blobs.readable_url(VIDEOS, video["blob_path"])), None
    except MediaError as error:
        return None, str(error)


def dispatch_chunks_step(dispatch: dict) -> dict:
    """Re-send jobs, in one batch. Message id = job id (chunk and attempt), so a replayed
    dispatch is dropped by Service Bus duplicate detection."""
    if not _is_active(dependencies.results(), dispatch):
        return {"ok": False, "reason": "the video was deleted or has stopped"}
    messages = [_job_message(dispatch, c["index"], c["attempt"]) for c in dispatch["chunks"]]
    dependencies.jobs().send_many(JOBS_QUEUE, messages)
    return {"ok": True, "sent": len(messages)}


def _job_message(video: dict, index: int, attempt: int) -> tuple[dict, str]:
    job = TranscriptionJob(
        job_id=f"{video['tenant_id']}:{video['video_id']}:{index}:{attempt}",
        instance_id=video["instance_id"],
        tenant_id=video["tenant_id"], video_id=video["video_id"], index=index, attempt=attempt,
        audio_blob=f"{chunk_folder(video)}/{index:05d}.wav",
        transcript_blob=f"{chunk_folder(video)}/{index:05d}.json",
    )
    return job.to_body(), job.job_id


def analyze_video_step(analysis: dict) -> dict:
    """Questions, speakers and wait times. Besides the chunk transcripts it listens to the
    video's sound (who speaks, where the pauses are); ``analysis["speakers"]`` carries the
    video's own speaker settings (models.speakers.SpeakerSettings), if it has any."""
    blobs = dependencies.blobs()
    chunks = []
    try:
        speakers = SpeakerSettings.from_dict(analysis.get("speakers"))
    except (SpeakerSettingsError, TypeError) as error:
        return {"ok": False, "reason": f"bad speaker settings for this video: {error}"}
    try:
        for chunk in analysis["chunks"]:
            transcript = ChunkTranscript.from_dict(json.loads(blobs.get_bytes(CHUNKS, chunk["transcript_blob"])))
            chunks.append((ChunkPlan.from_dict(chunk["plan"]), transcript))
    except BlobNotFound as error:
        return {"ok": False, "reason": f"a chunk transcript went missing before analysis ({error})"}
    audio, problem = read_media(blobs, analysis, read_audio)  # storage briefly away: retried, not failed
    if problem:
        return {"ok": False, "reason": problem}
    # One video, one model: the A/B split is by video, and the analysis names the version.
    classifier = dependencies.classifier_for(analysis["tenant_id"], analysis["video_id"])
    classify = functools.partial(dependencies.classify_texts, tenant_id=analysis["tenant_id"],
                                 video_id=analysis["video_id"])
    parts = analyze_chunks(chunks, analysis["duration_s"], classify, audio=audio,
                           speakers=speakers, model_version=classifier.version)
    transcriber = next((c["model"] for c in analysis["chunks"] if c.get("model")), "")
    document = {
        "video_id": analysis["video_id"],
        "tenant_id": analysis["tenant_id"],
        "status": "completed",
        "duration_s": analysis["duration_s"],
        "language": parts["language"],
        "models": {"transcriber": transcriber, "classifier": classifier.version},
        "segments": parts["segments"],
        "questions": parts["questions"],
        "speakers": parts["speakers"],
        "metrics": parts["metrics"],
        "summary": parts["summary"],
        "timings": {},
    }
    blobs.put_bytes(CHUNKS, f"{chunk_folder(analysis)}/analysis.json", json.dumps(document).encode())
    return {"ok": True, "questions": len(parts["questions"])}


def persist_results_step(video: dict) -> dict:
    """Store the analysis, unless the video was deleted meanwhile (then store nothing)."""
    blobs, results = dependencies.blobs(), dependencies.results()
    if not _is_active(results, video):
        blobs.delete_prefix(CHUNKS, chunk_folder(video) + "/")
        return {"ok": False, "deleted": True}
    document = json.loads(blobs.get_bytes(CHUNKS, f"{chunk_folder(video)}/analysis.json"))
    document["timings"] = video["timings"]
    results.save_analysis(video["tenant_id"], video["video_id"], document)
    try:
        results.update_video(video["tenant_id"], video["video_id"], status="completed", stage="completed",
                             progress=1.0, error=None, metrics=document["metrics"])
    except VideoNotFound:  # deleted between the check and the write: the analysis goes too
        results.delete_video(video["tenant_id"], video["video_id"])
        blobs.delete_prefix(CHUNKS, chunk_folder(video) + "/")
        return {"ok": False, "deleted": True}
    _cache_summary(video, document)
    blobs.delete_prefix(CHUNKS, chunk_folder(video) + "/")
    return {"ok": True, "metrics": document["metrics"]}


def mark_failed_step(failure: dict) -> bool:
    """The video failed for ``reason``: say so in its record, drop its chunks, keep the upload."""
    log.warning("video %s failed: %s", failure["video_id"], failure["reason"])
    _update_video(dependencies.results(), failure, status="failed", stage="failed", error=failure["reason"])
    dependencies.blobs().delete_prefix(CHUNKS, chunk_folder(failure) + "/")
    return True


def summary_cache_key(tenant_id: str, video_id: str) -> str:
    return f"video-summary:{tenant_id}:{video_id}"


def _cache_summary(video: dict, document: dict) -> None:
    summary = {"video_id": video["video_id"], "metrics": document["metrics"], "summary": document["summary"]}
    try:
        dependencies.cache().set_many(
            {summary_cache_key(video["tenant_id"], video["video_id"]): json.dumps(summary)}, SUMMARY_CACHE_TTL_S)
    except CacheUnavailable:
        pass  # the results store has it all; the cache only saves a read


def _is_active(results, video: dict) -> bool:
    record = results.get_video(video["tenant_id"], video["video_id"])
    return record is not None and record.status in ACTIVE


def _update_video(results, video: dict, **changes) -> None:
    """Update the video's record. A record that is gone was deleted: it stays gone."""
    try:
        results.update_video(video["tenant_id"], video["video_id"], **changes)
    except VideoNotFound:
        log.info("video %s was deleted; not recording %s", video["video_id"], changes.get("status"))
