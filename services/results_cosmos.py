"""The results port on Azure Cosmos DB for NoSQL (the sync ``azure-cosmos`` SDK).

Containers (created on start when the credential may; with Entra ID data-plane roles it
may not, and infra/ must create them):

``videos``, partition key ``/tenant_id``: per video, two documents.
  * ``video:{video_id}`` (``doc_type`` "video"): the VideoRecord fields, flat, so that
    ``recent_videos`` can ORDER BY ``updated_at``. Its ``_etag`` is the record's etag.
  * ``analysis:{video_id}`` (``doc_type`` "analysis"): the VideoAnalysis minus its
    questions, under ``body``. Its own document, not fields of the video document,
    because (a) the pipeline's status updates use the video document's etag for
    optimistic concurrency, and writing the analysis into it would invalidate every etag a
    writer holds; (b) a transcript's segments can run to hundreds of KB, and every status
    update would rewrite (and pay RUs for) them; (c) the contract lets an analysis exist
    without a video record and outlive a record's replacement. The prefixes keep the two
    id spaces apart whatever the video id is.

``questions``, hierarchical partition key (MultiHash) ``[/tenant_id, /video_id]``: one
document per question. Every read of questions is "the questions of one video", which is
then a single-logical-partition query; the tenant as first level keeps a tenant's data
together, and the second level keeps a very long tenant history from outgrowing one
logical partition (20 GB). One video's questions share a full partition key, so they are
written and deleted in transactional batches (``execute_item_batch``, 100 per batch).
Question ids are ``{rev}-{position}``, unique on their own (see below).

Status updates (``update_video``) are one partial update (``patch_item``, "set" per
changed field plus ``updated_at``) with ``if_match`` mapped to the etag precondition: no
read first, and an unconditional update needs no retry loop because the server applies
each patch atomically. 412 -> PreconditionFailed, 404 -> VideoNotFound.

Replacing an analysis without transactions: each save gets a revision (``rev``, plus
``saved_at``). The new questions are written first under the new rev, then the analysis
document (conditional on the stored one being older, so concurrent saves resolve to the
newest), then questions of older revisions are deleted. A reader takes the analysis'
rev and question count and reads the questions of that rev, retrying if a concurrent
save or delete removed them in between: it never sees a mix of two saves.

Every query is tenant- (and video-) scoped with the partition key and parameters.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import asdict, fields, replace
from typing import Any, Iterable

from azure.core import MatchConditions
from azure.cosmos import ContainerProxy, CosmosClient, PartitionKey, exceptions

from services.cache import DependencyHealth
from services.results import (
    TREND_DIMENSIONS,
    FeedbackRecord,
    PreconditionFailed,
    TrendPoint,
    VideoNotFound,
    VideoRecord,
    check_dimension,
    trend_points,
)

log = logging.getLogger(__name__)

VIDEOS = "videos"
QUESTIONS = "questions"
VIDEOS_KEY = PartitionKey(path="/tenant_id")
QUESTIONS_KEY = PartitionKey(path=["/tenant_id", "/video_id"], kind="MultiHash")
FEEDBACK = "feedback"
FEEDBACK_KEY = PartitionKey(path="/tenant_id")

# The SDK's retry options, explicit: 429 (throttling) is retried up to retry_total times,
# waiting at most retry_backoff_max seconds in all (honouring the service's
# x-ms-retry-after-ms); 503/410 and connection errors go through the SDK's own
# endpoint-aware retries. connection_timeout bounds one HTTP attempt.
CLIENT_OPTIONS: dict[str, Any] = {
    "retry_total": 9,
    "retry_backoff_max": 30,
    "connection_timeout": 10,
}

BATCH_LIMIT = 100  # operations per transactional batch (Cosmos DB's limit)
PATCH_LIMIT = 10  # operations per patch (Cosmos DB's limit)
READ_ATTEMPTS = 5
_RECORD_FIELDS = tuple(f.name for f in fields(VideoRecord) if f.name != "etag")
_FORBIDDEN_ID_CHARACTERS = set("/\\?#")


def _video_id(video_id: str) -> str:
    return f"video:{video_id}"


def _analysis_id(video_id: str) -> str:
    return f"analysis:{video_id}"


def _valid_key(value) -> bool:
    return isinstance(value, str) and bool(value) and not _FORBIDDEN_ID_CHARACTERS & set(value)


def _check_ids(tenant_id: str, video_id: str) -> None:
    """Writes refuse what Cosmos DB cannot store; reads treat such ids as not found."""
    for name, value in (("tenant_id", tenant_id), ("video_id", video_id)):
        if not _valid_key(value):
            raise ValueError(f"{name} {value!r} cannot be a Cosmos DB key (empty, or contains / \\ ? #)")


def _video_doc(record: VideoRecord) -> dict:
    doc = asdict(record)
    del doc["etag"]
    return {"id": _video_id(record.video_id), "doc_type": "video", **doc}


def _record(doc: dict) -> VideoRecord:
    return VideoRecord(**{name: doc[name] for name in _RECORD_FIELDS if name in doc}, etag=doc["_etag"])


def _revision_key(doc: dict) -> tuple[float, str]:
    return (doc["saved_at"], doc["rev"])


class CosmosResultsStore:
    kind = "cosmos"

    def __init__(self, client: CosmosClient, database: str, *, endpoint: str = "", create: bool = True):
        self._client = client
        self._endpoint = endpoint
        self._database_name = database
        self._database = client.get_database_client(database)
        if create:
            self._ensure_containers()
        self._videos: ContainerProxy = self._database.get_container_client(VIDEOS)
        self._questions: ContainerProxy = self._database.get_container_client(QUESTIONS)
        self._feedback: ContainerProxy = self._database.get_container_client(FEEDBACK)

    @classmethod
    def from_key(cls, endpoint: str, key: str, database: str, **client_options) -> "CosmosResultsStore":
        """Account-key auth: the emulator / local stand-in (the well-known emulator key)."""
        client = CosmosClient(endpoint, credential=key, **{**CLIENT_OPTIONS, **client_options})
        return cls(client, database, endpoint=endpoint)

    @classmethod
    def from_identity(cls, endpoint: str, database: str, credential=None, **client_options) -> "CosmosResultsStore":
        """Entra ID auth (DefaultAzureCredential: the Function app's managed identity in Azure)."""
        if credential is None:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        client = CosmosClient(endpoint, credential=credential, **{**CLIENT_OPTIONS, **client_options})
        return cls(client, database, endpoint=endpoint)

    def _ensure_containers(self) -> None:
        try:
            database = self._client.create_database_if_not_exists(self._database_name)
            database.create_container_if_not_exists(VIDEOS, partition_key=VIDEOS_KEY)
            database.create_container_if_not_exists(QUESTIONS, partition_key=QUESTIONS_KEY)
            database.create_container_if_not_exists(FEEDBACK, partition_key=FEEDBACK_KEY)
        except exceptions.CosmosHttpResponseError as error:
            if error.status_code != 403:
                raise
            # Data-plane RBAC cannot create databases or containers: infra/ provisions them.
            log.info("cosmos: not allowed to create %s's containers; using the provisioned ones",
                     self._database_name)

    def close(self) -> None:
        self._client.close()

    # --- videos -------------------------------------------------------------------------

    def create_video(self, record: VideoRecord) -> VideoRecord:
        _check_ids(record.tenant_id, record.video_id)
        return _record(self._videos.upsert_item(_video_doc(record)))

    def get_video(self, tenant_id: str, video_id: str) -> VideoRecord | None:
        if not (_valid_key(tenant_id) and _valid_key(video_id)):
            return None
        doc = self._read(self._videos, _video_id(video_id), tenant_id)
        return _record(doc) if doc else None

    def update_video(self, tenant_id: str, video_id: str, if_match: str | None = None, **changes) -> VideoRecord:
        unknown = (set(changes) - set(_RECORD_FIELDS)) | (set(changes) & {"etag", "updated_at"})
        if unknown:
            raise TypeError(f"update_video cannot set {sorted(unknown)}")
        if set(changes) & {"tenant_id", "video_id"}:
            raise ValueError("update_video cannot move a video to another tenant or id")
        if not (_valid_key(tenant_id) and _valid_key(video_id)):
            raise VideoNotFound(f"{tenant_id}/{video_id}")
        if if_match == "":  # no document has an empty etag (the server would ignore the condition)
            if self.get_video(tenant_id, video_id) is None:
                raise VideoNotFound(f"{tenant_id}/{video_id}")
            raise PreconditionFailed(f"video {video_id}: empty etag")
        changes["updated_at"] = time.time()
        if len(changes) > PATCH_LIMIT:
            return self._replace_video(tenant_id, video_id, if_match, changes)
        # One partial update, applied atomically by the server: no read, and with no
        # if_match no retry loop either (the server serialises concurrent patches).
        operations = [{"op": "set", "path": f"/{name}", "value": value} for name, value in changes.items()]
        conditions = {} if if_match is None else {"etag": if_match, "match_condition": MatchConditions.IfNotModified}
        try:
            doc = self._videos.patch_item(_video_id(video_id), partition_key=tenant_id,
                                          patch_operations=operations, **conditions)
        except exceptions.CosmosResourceNotFoundError as error:
            raise VideoNotFound(f"{tenant_id}/{video_id}") from error
        except exceptions.CosmosAccessConditionFailedError as error:
            raise PreconditionFailed(f"video {video_id} changed since etag {if_match}") from error
        return _record(doc)

    def _replace_video(self, tenant_id: str, video_id: str, if_match: str | None, changes: dict) -> VideoRecord:
        """Read-modify-replace guarded by the etag: the caller's (a 412 is theirs to handle) or,
        for an unconditional update, the one just read (a 412 means retry)."""
        while True:
            current = self.get_video(tenant_id, video_id)
            if current is None:
                raise VideoNotFound(f"{tenant_id}/{video_id}")
            if if_match is not None and if_match != current.etag:
                raise PreconditionFailed(f"video {video_id} changed since etag {if_match}")
            try:
                doc = self._videos.replace_item(
                    _video_id(video_id), _video_doc(replace(current, **changes)),
                    etag=current.etag, match_condition=MatchConditions.IfNotModified)
            except exceptions.CosmosAccessConditionFailedError as error:
                if if_match is not None:
                    raise PreconditionFailed(f"video {video_id} changed since etag {if_match}") from error
                continue
            except exceptions.CosmosResourceNotFoundError as error:
                raise VideoNotFound(f"{tenant_id}/{video_id}") from error
            return _record(doc)

    def recent_videos(self, tenant_id: str, limit: int = 20) -> list[VideoRecord]:
        if limit <= 0:
            return []
        docs = self._videos.query_items(
            "SELECT TOP @limit * FROM c WHERE c.tenant_id = @tenant AND c.doc_type = @type "
            "ORDER BY c.updated_at DESC",
            parameters=[{"name": "@limit", "value": int(limit)}, {"name": "@tenant", "value": tenant_id},
                        {"name": "@type", "value": "video"}],
            partition_key=tenant_id,
        )
        return [_record(doc) for doc in docs]

    def delete_video(self, tenant_id: str, video_id: str) -> bool:
        if not (_valid_key(tenant_id) and _valid_key(video_id)):
            return False
        removed = self._delete(self._videos, _video_id(video_id), tenant_id)
        self._delete(self._videos, _analysis_id(video_id), tenant_id)
        self._delete_questions(tenant_id, video_id, self._question_ids(tenant_id, video_id))
        return removed

    # --- analyses -----------------------------------------------------------------------

    def save_analysis(self, tenant_id: str, video_id: str, analysis: dict) -> None:
        _check_ids(tenant_id, video_id)
        rev, saved_at = uuid.uuid4().hex, time.time()
        questions = list(analysis.get("questions") or [])
        body = {key: value for key, value in analysis.items() if key != "questions"}
        common = {"tenant_id": tenant_id, "video_id": video_id, "rev": rev, "saved_at": saved_at}
        self._write_questions(tenant_id, video_id, [
            {"id": f"{rev}-{position:05d}", "doc_type": "question", **common, "position": position, "body": q}
            for position, q in enumerate(questions)])
        document = {"id": _analysis_id(video_id), "doc_type": "analysis", **common,
                    "question_count": len(questions), "body": body}
        if self._store_if_newer(tenant_id, document):
            self._delete_questions(tenant_id, video_id, self._question_ids(tenant_id, video_id, (saved_at, rev)))
        else:  # a newer save won the race: drop this one's questions
            self._delete_questions(tenant_id, video_id, [f"{rev}-{position:05d}" for position in range(len(questions))])

    def get_analysis(self, tenant_id: str, video_id: str) -> dict | None:
        if not (_valid_key(tenant_id) and _valid_key(video_id)):
            return None
        for _ in range(READ_ATTEMPTS):
            doc = self._read(self._videos, _analysis_id(video_id), tenant_id)
            if doc is None:
                return None
            rows = list(self._questions.query_items(
                "SELECT c.position, c.body FROM c WHERE c.tenant_id = @tenant AND c.video_id = @video "
                "AND c.rev = @rev ORDER BY c.position",
                parameters=[{"name": "@tenant", "value": tenant_id}, {"name": "@video", "value": video_id},
                            {"name": "@rev", "value": doc["rev"]}],
                partition_key=[tenant_id, video_id],
            ))
            if len(rows) == doc["question_count"]:
                return {**doc["body"], "questions": [row["body"] for row in rows]}
            time.sleep(0.05)  # a concurrent save or delete is replacing this revision
        raise RuntimeError(f"analysis of {tenant_id}/{video_id}: questions do not match revision {doc['rev']}")

    # --- trends ---------------------------------------------------------------------------
    # The local Cosmos stand-in has no DISTINCT or GROUP BY: select the few fields needed,
    # partition-scoped, and dedupe or order here (a tenant's videos are thousands, not millions).

    def trend(self, tenant_id: str, by: str, key: str) -> list[TrendPoint]:
        check_dimension(by)
        if not _valid_key(tenant_id):
            return []
        docs = self._videos.query_items(
            f"SELECT * FROM c WHERE c.tenant_id = @tenant AND c.doc_type = @type AND c.status = @status "
            f"AND c.{by} = @key",  # by is one of two fixed names, never the caller's text
            parameters=[{"name": "@tenant", "value": tenant_id}, {"name": "@type", "value": "video"},
                        {"name": "@status", "value": "completed"}, {"name": "@key", "value": key}],
            partition_key=tenant_id)
        return trend_points(_record(doc) for doc in docs)

    def trend_subjects(self, tenant_id: str) -> dict[str, list[str]]:
        if not _valid_key(tenant_id):
            return {by: [] for by in TREND_DIMENSIONS}
        rows = list(self._videos.query_items(
            "SELECT c.educator, c.classroom FROM c WHERE c.tenant_id = @tenant AND c.doc_type = @type",
            parameters=[{"name": "@tenant", "value": tenant_id}, {"name": "@type", "value": "video"}],
            partition_key=tenant_id))
        return {by: sorted({row.get(by) for row in rows if row.get(by)}) for by in TREND_DIMENSIONS}

    # --- erasure -----------------------------------------------------------------------------

    def delete_tenant(self, tenant_id: str) -> int:
        """Every document of the tenant in the three containers. The tenant's partitions are
        read by id and deleted one by one (``delete_all_items_by_partition_key`` is a preview
        feature the emulators lack); questions by video, in transactional batches."""
        if not _valid_key(tenant_id):
            return 0
        removed = 0
        for container in (self._videos, self._feedback):
            ids = list(container.query_items("SELECT VALUE c.id FROM c WHERE c.tenant_id = @tenant",
                                             parameters=[{"name": "@tenant", "value": tenant_id}],
                                             partition_key=tenant_id))
            removed += sum(self._delete(container, item, tenant_id) for item in ids)
        rows = list(self._questions.query_items(
            "SELECT c.id, c.video_id FROM c WHERE c.tenant_id = @tenant",
            parameters=[{"name": "@tenant", "value": tenant_id}], enable_cross_partition_query=True))
        by_video: dict[str, list[str]] = {}
        for row in rows:
            by_video.setdefault(row["video_id"], []).append(row["id"])
        for video_id, ids in by_video.items():
            self._delete_questions(tenant_id, video_id, ids)
        return removed + len(rows)

    # --- reviewers' feedback ------------------------------------------------------------

    def save_feedback(self, record: FeedbackRecord) -> None:
        self._feedback.upsert_item({"id": record.feedback_id, **record.to_dict()})

    def list_feedback(self, tenant_id: str, limit: int = 100, created_by: str | None = None) -> list[FeedbackRecord]:
        author = "" if created_by is None else " AND c.created_by = @author"
        items = self._feedback.query_items(
            f"SELECT TOP @limit * FROM c WHERE c.tenant_id = @tenant{author} ORDER BY c.created_at DESC",
            parameters=[{"name": "@limit", "value": int(limit)}, {"name": "@tenant", "value": tenant_id},
                        *([{"name": "@author", "value": created_by}] if created_by is not None else [])],
            partition_key=tenant_id,
        )
        names = {f.name for f in fields(FeedbackRecord)}
        return [FeedbackRecord(**{k: v for k, v in item.items() if k in names}) for item in items]

    def health(self) -> DependencyHealth:
        where = f"cosmos {self._endpoint or '(account)'} database {self._database_name}"
        try:
            self._videos.read()
        except Exception as error:  # noqa: BLE001 - any failure is "down", with its reason
            return DependencyHealth("results", "down", f"{where}: {type(error).__name__}: {error}")
        return DependencyHealth("results", "ok", where)

    # --- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _read(container: ContainerProxy, item: str, partition_key) -> dict | None:
        try:
            return container.read_item(item, partition_key=partition_key)
        except exceptions.CosmosResourceNotFoundError:
            return None

    @staticmethod
    def _delete(container: ContainerProxy, item: str, partition_key) -> bool:
        try:
            container.delete_item(item, partition_key=partition_key)
        except exceptions.CosmosResourceNotFoundError:
            return False
        return True

    def _store_if_newer(self, tenant_id: str, document: dict) -> bool:
        """Write the analysis document unless a newer revision is stored; True if written."""
        while True:
            current = self._read(self._videos, document["id"], tenant_id)
            if current is not None and _revision_key(current) > _revision_key(document):
                return False
            try:
                if current is None:
                    self._videos.create_item(document)
                else:
                    self._videos.replace_item(document["id"], document, etag=current["_etag"],
                                              match_condition=MatchConditions.IfNotModified)
                return True
            except (exceptions.CosmosResourceExistsError, exceptions.CosmosAccessConditionFailedError,
                    exceptions.CosmosResourceNotFoundError):
                continue  # raced with another save or a delete: look again

    def _question_ids(self, tenant_id: str, video_id: str, older_than: tuple[float, str] | None = None) -> list:
        """Ids of the video's question documents; with ``older_than``, only those of older revisions."""
        query = "SELECT VALUE c.id FROM c WHERE c.tenant_id = @tenant AND c.video_id = @video"
        parameters = [{"name": "@tenant", "value": tenant_id}, {"name": "@video", "value": video_id}]
        if older_than is not None:
            query += " AND (c.saved_at < @saved_at OR (c.saved_at = @saved_at AND c.rev < @rev))"
            parameters += [{"name": "@saved_at", "value": older_than[0]}, {"name": "@rev", "value": older_than[1]}]
        return list(self._questions.query_items(query, parameters=parameters, partition_key=[tenant_id, video_id]))

    def _write_questions(self, tenant_id: str, video_id: str, documents: list[dict]) -> None:
        for chunk in _chunks(documents):
            self._questions.execute_item_batch([("upsert", (doc,)) for doc in chunk],
                                               partition_key=[tenant_id, video_id])

    def _delete_questions(self, tenant_id: str, video_id: str, ids: Iterable[str]) -> None:
        key = [tenant_id, video_id]
        for chunk in _chunks(list(ids)):
            try:
                self._questions.execute_item_batch([("delete", (item,)) for item in chunk], partition_key=key)
            except exceptions.CosmosBatchOperationError:
                for item in chunk:  # one was already gone (a concurrent delete): the rest one by one
                    self._delete(self._questions, item, key)


def _chunks(items: list, size: int = BATCH_LIMIT) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
