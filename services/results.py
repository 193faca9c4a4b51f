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
    etag: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FeedbackRecord:
    """A reviewer's label for a question, kept to retrain the classifier."""

    tenant_id: str
    feedback_id: str
    text: str
    label: str  # the reviewer's: "OEQ" | "CEQ"
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
