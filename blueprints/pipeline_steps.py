"""What each activity of the video pipeline does, as plain functions.

Activities return ``{"ok": False, "reason": …}`` for a problem with the video
itself (the orchestrator fails the video with that reason, which the user sees)
and raise only for faults of the platform (Durable records those).
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

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
from services.results import VideoNotFound, VideoRecord
from services.settings import Settings

log = logging.getLogger(__name__)
ORCHESTRATOR = "video_pipeline"
SUMMARY_CACHE_TTL_S = 24 * 3600


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
    # This video's speaker settings (models.speakers.SpeakerSettings as a dict), e.g.
    # {"child_pitch_hz": 300} for a high-voiced educator; None: the defaults.
    speakers: dict | None = None

    @classmethod
    def from_settings(cls, settings: Settings, tenant_id: str, video_id: str, blob_path: str,
                      speakers: dict | None = None) -> "PipelineInput":
        return cls(tenant_id, video_id, blob_path, settings.chunk_seconds, settings.chunk_overlap_seconds,
                   settings.chunk_timeout_s, settings.chunk_max_dispatches, settings.max_video_seconds, speakers)

    @classmethod
    def from_dict(cls, data: dict) -> "PipelineInput":
        # .get: orchestrations started before a field existed replay with their old input
        return cls(**{name: data[name] if name != "speakers" else data.get(name)
                      for name in cls.__dataclass_fields__})

    def to_dict(self) -> dict:
        return asdict(self)

    def video(self) -> dict:
        """What every activity gets to know which video it works on."""
        video = {"tenant_id": self.tenant_id, "video_id": self.video_id, "blob_path": self.blob_path,
                 "max_video_seconds": self.max_video_seconds}
        if self.speakers:
            video["speakers"] = self.speakers
        return video


def instance_id_for(tenant_id: str, video_id: str) -> str:
    """One orchestration per video: a repeated upload event finds the same instance."""
    return f"video-{tenant_id}-{video_id}"


def chunk_folder(video: dict) -> str:
    return f"{video['tenant_id']}/{video['video_id']}"


def probe_video_step(video: dict) -> dict:
    blobs, results = dependencies.blobs(), dependencies.results()
    try:
        source = blobs.readable_url(VIDEOS, video["blob_path"])
        info = probe(source, max_duration_s=video["max_video_seconds"])
    except BlobNotFound:
        return {"ok": False, "reason": "the uploaded video is missing from storage"}
    except MediaError as error:
        return {"ok": False, "reason": str(error)}
    _update_video(results, video, status="processing", stage="transcribing", duration_s=info.duration_s)
    return {"ok": True, "duration_s": info.duration_s, "has_audio": info.has_audio}


def cut_chunk_step(chunk: dict) -> dict:
    plan = ChunkPlan.from_dict(chunk["plan"])
    blobs = dependencies.blobs()
    audio_blob = f"{chunk_folder(chunk)}/{plan.index:05d}.wav"
    with tempfile.TemporaryDirectory(prefix="cut-") as folder:
        out = Path(folder) / "chunk.wav"
        try:
            cut_chunk(blobs.readable_url(VIDEOS, chunk["blob_path"]), plan, str(out))
        except MediaError as error:
            return {"ok": False, "index": plan.index, "reason": str(error)}
        blobs.put_file(CHUNKS, audio_blob, out)
    return {"ok": True, "index": plan.index, "audio_blob": audio_blob}


def dispatch_chunks_step(dispatch: dict) -> int:
    """One job message per chunk; message id = job id, so a replayed dispatch is deduplicated."""
    jobs = dependencies.jobs()
    for chunk in dispatch["chunks"]:
        index, attempt = chunk["index"], chunk["attempt"]
        job = TranscriptionJob(
            job_id=f"{dispatch['tenant_id']}:{dispatch['video_id']}:{index}:{attempt}",
            instance_id=instance_id_for(dispatch["tenant_id"], dispatch["video_id"]),
            tenant_id=dispatch["tenant_id"], video_id=dispatch["video_id"], index=index, attempt=attempt,
            audio_blob=f"{chunk_folder(dispatch)}/{index:05d}.wav",
            transcript_blob=f"{chunk_folder(dispatch)}/{index:05d}.json",
        )
        jobs.send(JOBS_QUEUE, job.to_body(), message_id=job.job_id)
    return len(dispatch["chunks"])


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
        audio = read_audio(blobs.readable_url(VIDEOS, analysis["blob_path"]))
    except BlobNotFound as error:
        return {"ok": False, "reason": f"a chunk transcript or the video went missing before analysis ({error})"}
    except MediaError as error:
        return {"ok": False, "reason": str(error)}
    classifier = dependencies.classifier()
    parts = analyze_chunks(chunks, analysis["duration_s"], dependencies.classify_texts, audio=audio,
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
    blobs, results = dependencies.blobs(), dependencies.results()
    document = json.loads(blobs.get_bytes(CHUNKS, f"{chunk_folder(video)}/analysis.json"))
    document["timings"] = video["timings"]
    results.save_analysis(video["tenant_id"], video["video_id"], document)
    _update_video(results, video, status="completed", stage="completed", progress=1.0, error=None,
                  metrics=document["metrics"])
    _cache_summary(video, document)
    blobs.delete_prefix(CHUNKS, chunk_folder(video) + "/")
    return {"metrics": document["metrics"]}


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


def _update_video(results, video: dict, **changes) -> None:
    """Update the video record, creating it if the upload did not go through the API."""
    try:
        results.update_video(video["tenant_id"], video["video_id"], **changes)
    except VideoNotFound:
        record = VideoRecord(tenant_id=video["tenant_id"], video_id=video["video_id"],
                             blob_path=video["blob_path"], filename=Path(video["blob_path"]).name)
        results.create_video(record)
        results.update_video(video["tenant_id"], video["video_id"], **changes)
