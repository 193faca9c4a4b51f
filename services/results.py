"""The results port: one document per video (status, progress, error, metrics)
and one per detected question, tenant-scoped.

``SqliteResultsStore`` is the embedded default; the Cosmos DB adapter arrives with
the adapters issue and honours the same contract, including etag-based optimistic
concurrency on status updates (``PreconditionFailed``).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Protocol

from services.cache import DependencyHealth

STATUSES = ("queued", "processing", "completed", "failed")


class PreconditionFailed(RuntimeError):
    """The document changed since it was read (etag mismatch)."""


class VideoNotFound(LookupError):
    pass


@dataclass(frozen=True)
class VideoRecord:
    tenant_id: str
    video_id: str
    status: str = "queued"
    stage: str = "awaiting upload"
    progress: float = 0.0
    error: str | None = None
    filename: str = ""
    blob_path: str = ""
    duration_s: float | None = None
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    metrics: dict | None = None
    created_by: str = ""  # the user who created the upload (a coach may delete only their own)
    # What the coach said of the recording at upload: for finding it again and for trends.
    title: str = ""
    educator: str = ""
    classroom: str = ""
    recorded_on: str = ""  # ISO date (YYYY-MM-DD), or "" when not given
    # This video's speaker rule, when the coach overrides the default (models.speakers.SpeakerSettings).
    speakers: dict | None = None
    etag: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FeedbackRecord:
    """A reviewer's label for a question, kept to retrain the classifier."""

    tenant_id: str
    feedback_id: str
    text: str
    label: str  # the reviewer's: "OEQ" | "CEQ" | "NOT_QUESTION" (the detector was wrong: no question at all)
    model_label: str | None = None
    model_version: str | None = None
    video_id: str | None = None
    question_index: int | None = None
    reviewer: str = ""
    note: str = ""
    created_by: str = ""  # the signed-in user who gave it
    created_at: float = field(default_factory=time.time)

    def to_dict(self) -> dict:
        return asdict(self)


TREND_DIMENSIONS = ("educator", "classroom")
MAX_TREND_POINTS = 500


@dataclass(frozen=True)
class TrendPoint:
    """One analysed video's place in an educator's or a classroom's trend."""

    video_id: str
    recorded_on: str  # the recording date, or the upload's date when none was given
    title: str
    filename: str
    duration_s: float | None
    question_count: int
    oeq_ratio: float | None
    mean_wait_time_s: float | None
    questions_per_minute: float | None
    answered_ratio: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def recording_date(record: VideoRecord) -> str:
    return record.recorded_on or time.strftime("%Y-%m-%d", time.gmtime(record.created_at))


def trend_points(records) -> list[TrendPoint]:
    """Completed videos as trend points, oldest recording first (ties: upload order), at
    most MAX_TREND_POINTS (the most recent). Shared by the adapters, which only select."""
    done = sorted((r for r in records if r.status == "completed"), key=lambda r: (recording_date(r), r.created_at))
    points = []
    for record in done[-MAX_TREND_POINTS:]:
        metrics = record.metrics or {}
        points.append(TrendPoint(
            video_id=record.video_id, recorded_on=recording_date(record), title=record.title,
            filename=record.filename, duration_s=record.duration_s,
            question_count=int(metrics.get("question_count") or 0), oeq_ratio=metrics.get("oeq_ratio"),
            mean_wait_time_s=metrics.get("mean_wait_time_s"),
            questions_per_minute=metrics.get("questions_per_minute"), answered_ratio=metrics.get("answered_ratio")))
    return points


def check_dimension(by: str) -> None:
    if by not in TREND_DIMENSIONS:
        raise ValueError(f"trends are by {' or '.join(TREND_DIMENSIONS)}, not {by!r}")


class ResultsStore(Protocol):
    kind: str

    def create_video(self, record: VideoRecord) -> VideoRecord: ...

    def get_video(self, tenant_id: str, video_id: str) -> VideoRecord | None: ...

    def update_video(self, tenant_id: str, video_id: str, if_match: str | None = None, **changes) -> VideoRecord: ...

    def save_analysis(self, tenant_id: str, video_id: str, analysis: dict) -> None: ...

    def get_analysis(self, tenant_id: str, video_id: str) -> dict | None: ...

    def recent_videos(self, tenant_id: str, limit: int = 20) -> list[VideoRecord]: ...

    def delete_video(self, tenant_id: str, video_id: str) -> bool: ...

    def save_feedback(self, record: FeedbackRecord) -> None: ...

    def list_feedback(self, tenant_id: str, limit: int = 100, created_by: str | None = None) -> list[FeedbackRecord]:
        """The tenant's newest feedback; with ``created_by``, only that user's."""
        ...

    def trend(self, tenant_id: str, by: str, key: str) -> list[TrendPoint]:
        """The completed videos whose ``by`` ("educator" | "classroom") is ``key``, oldest recording first."""
        ...

    def trend_subjects(self, tenant_id: str) -> dict[str, list[str]]:
        """The tenant's educators and classrooms named at upload: {"educator": [...], "classroom": [...]}, sorted."""
        ...

    def delete_tenant(self, tenant_id: str) -> int:
        """Erase every document of the tenant (videos, analyses, questions, feedback); returns how many."""
        ...

    def health(self) -> DependencyHealth: ...


class SqliteResultsStore:
    kind = "sqlite"

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()  # one connection; reads must not see another thread's open transaction
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA secure_delete=ON")  # deleted rows are overwritten, not left in free pages
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS videos (
                tenant_id TEXT NOT NULL, video_id TEXT NOT NULL, doc TEXT NOT NULL,
                etag TEXT NOT NULL, updated_at REAL NOT NULL, PRIMARY KEY (tenant_id, video_id));
            CREATE TABLE IF NOT EXISTS analyses (
                tenant_id TEXT NOT NULL, video_id TEXT NOT NULL, doc TEXT NOT NULL,
                PRIMARY KEY (tenant_id, video_id));
            CREATE TABLE IF NOT EXISTS feedback (
                tenant_id TEXT NOT NULL, feedback_id TEXT NOT NULL, created_at REAL NOT NULL, doc TEXT NOT NULL,
                PRIMARY KEY (tenant_id, feedback_id));
            CREATE TABLE IF NOT EXISTS questions (
                tenant_id TEXT NOT NULL, video_id TEXT NOT NULL, position INTEGER NOT NULL, doc TEXT NOT NULL,
                PRIMARY KEY (tenant_id, video_id, position));
            """
        )

    def create_video(self, record: VideoRecord) -> VideoRecord:
        record = replace(record, etag=uuid.uuid4().hex)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO videos VALUES (?, ?, ?, ?, ?)",
                (record.tenant_id, record.video_id, json.dumps(record.to_dict()), record.etag, record.updated_at),
            )
        return record

    def get_video(self, tenant_id: str, video_id: str) -> VideoRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT doc FROM videos WHERE tenant_id = ? AND video_id = ?", (tenant_id, video_id)
            ).fetchone()
        return VideoRecord(**json.loads(row[0])) if row else None

    def update_video(self, tenant_id: str, video_id: str, if_match: str | None = None, **changes) -> VideoRecord:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                current = self.get_video(tenant_id, video_id)
                if current is None:
                    raise VideoNotFound(f"{tenant_id}/{video_id}")
                if if_match is not None and if_match != current.etag:
                    raise PreconditionFailed(f"video {video_id} changed since etag {if_match}")
                updated = replace(current, **changes, updated_at=time.time(), etag=uuid.uuid4().hex)
                self._db.execute(
                    "UPDATE videos SET doc = ?, etag = ?, updated_at = ? WHERE tenant_id = ? AND video_id = ?",
                    (json.dumps(updated.to_dict()), updated.etag, updated.updated_at, tenant_id, video_id),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return updated

    def save_analysis(self, tenant_id: str, video_id: str, analysis: dict) -> None:
        questions = analysis.get("questions", [])
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM questions WHERE tenant_id = ? AND video_id = ?", (tenant_id, video_id))
                self._db.executemany(
                    "INSERT INTO questions VALUES (?, ?, ?, ?)",
                    [(tenant_id, video_id, i, json.dumps(q)) for i, q in enumerate(questions)],
                )
                self._db.execute(
                    "INSERT OR REPLACE INTO analyses VALUES (?, ?, ?)",
                    (tenant_id, video_id, json.dumps({k: v for k, v in analysis.items() if k != "questions"})),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def get_analysis(self, tenant_id: str, video_id: str) -> dict | None:
        with self._lock:
            row = self._db.execute(
                "SELECT doc FROM analyses WHERE tenant_id = ? AND video_id = ?", (tenant_id, video_id)
            ).fetchone()
            if row is None:
                return None
            questions = self._db.execute(
                "SELECT doc FROM questions WHERE tenant_id = ? AND video_id = ? ORDER BY position",
                (tenant_id, video_id),
            ).fetchall()
        analysis = json.loads(row[0])
        analysis["questions"] = [json.loads(doc) for (doc,) in questions]
        return analysis

    def recent_videos(self, tenant_id: str, limit: int = 20) -> list[VideoRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT doc FROM videos WHERE tenant_id = ? ORDER BY updated_at DESC LIMIT ?", (tenant_id, limit)
            ).fetchall()
        return [VideoRecord(**json.loads(doc)) for (doc,) in rows]

    def delete_video(self, tenant_id: str, video_id: str) -> bool:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                removed = self._db.execute(
                    "DELETE FROM videos WHERE tenant_id = ? AND video_id = ?", (tenant_id, video_id)
                ).rowcount
                for table in ("analyses", "questions"):
                    self._db.execute(f"DELETE FROM {table} WHERE tenant_id = ? AND video_id = ?", (tenant_id, video_id))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return removed > 0

    def save_feedback(self, record: FeedbackRecord) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO feedback VALUES (?, ?, ?, ?)",
                             (record.tenant_id, record.feedback_id, record.created_at, json.dumps(record.to_dict())))

    def list_feedback(self, tenant_id: str, limit: int = 100, created_by: str | None = None) -> list[FeedbackRecord]:
        query, parameters = "SELECT doc FROM feedback WHERE tenant_id = ?", [tenant_id]
        if created_by is not None:
            query += " AND json_extract(doc, '$.created_by') = ?"
            parameters.append(created_by)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY created_at DESC LIMIT ?", (*parameters, limit)).fetchall()
        return [FeedbackRecord(**json.loads(doc)) for (doc,) in rows]

    def trend(self, tenant_id: str, by: str, key: str) -> list[TrendPoint]:
        check_dimension(by)
        with self._lock:
            rows = self._db.execute(
                f"SELECT doc FROM videos WHERE tenant_id = ? AND json_extract(doc, '$.{by}') = ? "
                "AND json_extract(doc, '$.status') = 'completed'", (tenant_id, key)).fetchall()
        return trend_points(VideoRecord(**json.loads(doc)) for (doc,) in rows)

    def trend_subjects(self, tenant_id: str) -> dict[str, list[str]]:
        subjects = {}
        with self._lock:
            for by in TREND_DIMENSIONS:  # by is one of two fixed names, never the caller's text
                rows = self._db.execute(
                    f"SELECT DISTINCT json_extract(doc, '$.{by}') AS name FROM videos WHERE tenant_id = ? "
                    "AND name IS NOT NULL AND name != '' ORDER BY name", (tenant_id,)).fetchall()
                subjects[by] = [name for (name,) in rows]
        return subjects

    def delete_tenant(self, tenant_id: str) -> int:
        removed = 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for table in ("videos", "analyses", "questions", "feedback"):
                    removed += self._db.execute(f"DELETE FROM {table} WHERE tenant_id = ?", (tenant_id,)).rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            # The write-ahead log still holds the deleted pages until a checkpoint: fold and truncate it.
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return removed

    def health(self) -> DependencyHealth:
        try:
            self._db.execute("SELECT 1").fetchone()
        except sqlite3.Error as error:
            return DependencyHealth("results", "down", f"sqlite {self.path}: {error}")
        return DependencyHealth("results", "ok", f"sqlite {self.path}")
