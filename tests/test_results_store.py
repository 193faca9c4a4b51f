"""The results port (services/results.py) as a contract suite.

The ``backend`` fixture is parametrised over the adapters: SQLite (the embedded
default) and Cosmos DB (services/results_cosmos.py, against the in-memory Cosmos stand-in
devhost/stack/cosmos_launcher.js, one server per module and one database per test); both
pass every test unchanged. A backend opens any number of store clients over the same storage
(``backend.open()``): a second client is how the suite checks persistence and
concurrent writers, the way a Functions host and a worker share one Cosmos container.
"""

from __future__ import annotations

import re
import threading
import uuid
from pathlib import Path

import pytest

from devhost.stack.cosmos_launcher import CosmosLauncherError, start_cosmos
from services.results import PreconditionFailed, SqliteResultsStore, VideoNotFound, VideoRecord
from services.results_cosmos import CosmosResultsStore


class SqliteBackend:
    def __init__(self, tmp_path: Path):
        self.path = tmp_path / "results" / "results.sqlite3"

    def open(self) -> SqliteResultsStore:
        return SqliteResultsStore(self.path)


class CosmosBackend:
    fixtures = ("cosmos_server",)

    def __init__(self, tmp_path: Path, server):
        self.server = server
        self.database = f"results-{uuid.uuid4().hex[:12]}"  # a fresh database per test

    def open(self) -> CosmosResultsStore:
        return CosmosResultsStore.from_key(self.server.endpoint, self.server.key, self.database)


# name -> factory(tmp_path, *the fixtures named in its ``fixtures``) -> a backend with .open().
ADAPTERS = {"sqlite": SqliteBackend, "cosmos": CosmosBackend}


@pytest.fixture(scope="module")
def cosmos_server():
    try:
        server = start_cosmos()
    except CosmosLauncherError as error:
        pytest.fail(f"{error}\n(install Node 20 and run `cd devhost/stack && npm ci`)")
    yield server
    server.stop()


@pytest.fixture(params=sorted(ADAPTERS))
def backend(request, tmp_path):
    factory = ADAPTERS[request.param]
    return factory(tmp_path, *(request.getfixturevalue(name) for name in getattr(factory, "fixtures", ())))


@pytest.fixture
def store(backend):
    return backend.open()


@pytest.fixture
def tenant():
    return f"tenant-{uuid.uuid4().hex[:8]}"


def new_video(tenant_id: str, video_id: str | None = None, **fields) -> VideoRecord:
    return VideoRecord(tenant_id=tenant_id, video_id=video_id or uuid.uuid4().hex, **fields)


def analysis_doc(video_id: str, questions: list[dict]) -> dict:
    return {
        "video_id": video_id,
        "status": "completed",
        "duration_s": 61.5,
        "language": "en",
        "models": {"transcriber": "faster-whisper/tiny.en", "classifier": "oeq-ceq@1"},
        "segments": [{"start": 0.5, "end": 2.25, "text": "What do you see?"}],
        "questions": questions,
        "metrics": {"question_count": len(questions), "oeq_ratio": 0.5, "mean_wait_time_s": None},
        "timings": {"total_s": 12.25, "transcribe_s": 8.0},
    }


def question(i: int, label: str = "OEQ") -> dict:
    return {"start": float(i), "end": i + 0.75, "text": f"question number {i}?", "label": label,
            "oeq_probability": 0.875 if label == "OEQ" else 0.125, "wait_time_s": 1.5 + i}


# --- videos ---------------------------------------------------------------------------


def test_create_then_get_returns_the_same_record_with_an_etag(store, tenant):
    created = store.create_video(new_video(tenant, "v1", filename="circle time.mp4", blob_path=f"{tenant}/v1.mp4"))
    assert created.etag
    fetched = store.get_video(tenant, "v1")
    assert fetched == created
    assert (fetched.status, fetched.stage, fetched.progress, fetched.error) == ("queued", "awaiting upload", 0.0, None)
    assert fetched.filename == "circle time.mp4"


def test_get_of_an_unknown_video_is_none(store, tenant):
    assert store.get_video(tenant, "nope") is None


def test_update_video_applies_the_changes_and_returns_the_stored_record(store, tenant):
    created = store.create_video(new_video(tenant, "v1", updated_at=1000.0))
    updated = store.update_video(tenant, "v1", if_match=created.etag, status="processing", stage="transcribe",
                                 progress=0.4, duration_s=61.5, metrics={"chunks": 3})
    assert (updated.status, updated.stage, updated.progress, updated.duration_s) == (
        "processing", "transcribe", 0.4, 61.5)
    assert updated.metrics == {"chunks": 3}
    assert updated.updated_at > 1000.0
    assert updated.created_at == created.created_at
    assert store.get_video(tenant, "v1") == updated


def test_update_without_if_match_is_unconditional(store, tenant):
    store.create_video(new_video(tenant, "v1"))
    store.update_video(tenant, "v1", status="processing")
    assert store.update_video(tenant, "v1", status="failed", error="no audio").error == "no audio"


def test_the_etag_changes_on_every_update(store, tenant):
    etags = [store.create_video(new_video(tenant, "v1")).etag]
    for progress in (0.1, 0.2, 0.2, 0.2):  # an update that changes nothing still gets a new etag
        etags.append(store.update_video(tenant, "v1", if_match=etags[-1], progress=progress).etag)
    assert len(set(etags)) == len(etags)
    assert store.get_video(tenant, "v1").etag == etags[-1]


def test_update_with_a_stale_etag_raises_precondition_failed_and_changes_nothing(store, tenant):
    created = store.create_video(new_video(tenant, "v1"))
    current = store.update_video(tenant, "v1", if_match=created.etag, stage="probe")
    with pytest.raises(PreconditionFailed):
        store.update_video(tenant, "v1", if_match=created.etag, stage="chunk")
    assert store.get_video(tenant, "v1") == current


def test_update_of_a_missing_video_raises_video_not_found(store, tenant):
    with pytest.raises(VideoNotFound):
        store.update_video(tenant, "missing", status="processing")
    with pytest.raises(VideoNotFound):
        store.update_video(tenant, "missing", if_match="any-etag", status="processing")
    assert store.get_video(tenant, "missing") is None


def test_recent_videos_are_newest_first_and_limited(store, tenant):
    for i in range(5):
        store.create_video(new_video(tenant, f"v{i}", created_at=1000.0 + i, updated_at=1000.0 + i))
    assert [v.video_id for v in store.recent_videos(tenant, limit=3)] == ["v4", "v3", "v2"]
    assert [v.video_id for v in store.recent_videos(tenant)] == ["v4", "v3", "v2", "v1", "v0"]
    store.update_video(tenant, "v0", status="processing")  # touching a video makes it the most recent
    assert [v.video_id for v in store.recent_videos(tenant, limit=2)] == ["v0", "v4"]


def test_recent_videos_of_a_tenant_with_none_is_empty(store, tenant):
    assert store.recent_videos(tenant) == []


def test_a_tenant_never_sees_another_tenants_videos(store):
    store.create_video(new_video("tenant-a", "shared-id", filename="a.mp4"))
    store.create_video(new_video("tenant-a", "only-a"))
    store.create_video(new_video("tenant-b", "shared-id", filename="b.mp4"))
    assert store.get_video("tenant-a", "shared-id").filename == "a.mp4"
    assert store.get_video("tenant-b", "shared-id").filename == "b.mp4"
    assert store.get_video("tenant-b", "only-a") is None
    assert {v.video_id for v in store.recent_videos("tenant-b")} == {"shared-id"}
    assert all(v.tenant_id == "tenant-a" for v in store.recent_videos("tenant-a"))
    with pytest.raises(VideoNotFound):
        store.update_video("tenant-b", "only-a", status="failed")
    assert store.delete_video("tenant-b", "only-a") is False
    assert store.get_video("tenant-a", "only-a") is not None


def test_updating_one_tenants_video_leaves_the_other_tenants_same_id_alone(store):
    a = store.create_video(new_video("tenant-a", "v1"))
    b = store.create_video(new_video("tenant-b", "v1"))
    store.update_video("tenant-a", "v1", if_match=a.etag, status="completed")
    assert store.get_video("tenant-b", "v1") == b
    with pytest.raises(PreconditionFailed):
        store.update_video("tenant-b", "v1", if_match=a.etag, status="completed")


# --- analyses -------------------------------------------------------------------------


def test_save_then_get_analysis_round_trips_with_questions_in_order(store, tenant):
    store.create_video(new_video(tenant, "v1"))
    questions = [question(i, "OEQ" if i % 2 else "CEQ") for i in (3, 1, 2, 0)]  # order as detected, not sorted
    saved = analysis_doc("v1", questions)
    store.save_analysis(tenant, "v1", saved)
    assert store.get_analysis(tenant, "v1") == saved
    assert [q["text"] for q in store.get_analysis(tenant, "v1")["questions"]] == [
        "question number 3?", "question number 1?", "question number 2?", "question number 0?"]


def test_save_analysis_does_not_modify_the_callers_document(store, tenant):
    saved = analysis_doc("v1", [question(0)])
    snapshot = {**saved, "questions": [dict(q) for q in saved["questions"]]}
    store.save_analysis(tenant, "v1", saved)
    assert saved == snapshot


def test_saving_again_replaces_the_analysis_and_all_its_questions(store, tenant):
    store.save_analysis(tenant, "v1", analysis_doc("v1", [question(i) for i in range(5)]))
    second = analysis_doc("v1", [question(9, "CEQ")])
    second["duration_s"] = 99.0
    store.save_analysis(tenant, "v1", second)
    assert store.get_analysis(tenant, "v1") == second
    store.save_analysis(tenant, "v1", analysis_doc("v1", []))
    assert store.get_analysis(tenant, "v1")["questions"] == []


def test_an_analysis_without_questions_reads_back_with_an_empty_list(store, tenant):
    store.save_analysis(tenant, "v1", {"video_id": "v1", "status": "completed"})
    assert store.get_analysis(tenant, "v1") == {"video_id": "v1", "status": "completed", "questions": []}


def test_get_analysis_of_an_unknown_video_is_none(store, tenant):
    assert store.get_analysis(tenant, "nope") is None


def test_a_tenant_never_sees_another_tenants_analysis(store):
    store.save_analysis("tenant-a", "v1", analysis_doc("v1", [question(0), question(1)]))
    assert store.get_analysis("tenant-b", "v1") is None
    store.save_analysis("tenant-b", "v1", analysis_doc("v1", [question(7, "CEQ")]))
    assert [q["text"] for q in store.get_analysis("tenant-a", "v1")["questions"]] == [
        "question number 0?", "question number 1?"]
    assert [q["text"] for q in store.get_analysis("tenant-b", "v1")["questions"]] == ["question number 7?"]
    store.delete_video("tenant-b", "v1")
    assert len(store.get_analysis("tenant-a", "v1")["questions"]) == 2


# --- delete ---------------------------------------------------------------------------


def test_delete_video_removes_the_video_its_analysis_and_its_questions(store, tenant):
    store.create_video(new_video(tenant, "v1"))
    store.create_video(new_video(tenant, "v2"))
    store.save_analysis(tenant, "v1", analysis_doc("v1", [question(0), question(1)]))
    store.save_analysis(tenant, "v2", analysis_doc("v2", [question(5)]))
    assert store.delete_video(tenant, "v1") is True
    assert store.get_video(tenant, "v1") is None
    assert store.get_analysis(tenant, "v1") is None
    assert [v.video_id for v in store.recent_videos(tenant)] == ["v2"]
    assert store.get_analysis(tenant, "v2")["questions"] == [question(5)]
    assert store.delete_video(tenant, "v1") is False


def test_a_video_deleted_then_recreated_starts_without_an_analysis(store, tenant):
    store.create_video(new_video(tenant, "v1"))
    store.save_analysis(tenant, "v1", analysis_doc("v1", [question(0)]))
    store.delete_video(tenant, "v1")
    store.create_video(new_video(tenant, "v1"))
    assert store.get_analysis(tenant, "v1") is None


# --- persistence and concurrency ----------------------------------------------------------


def test_everything_persists_for_a_new_store_client(backend, tenant):
    first = backend.open()
    created = first.create_video(new_video(tenant, "v1", metrics={"a": 1}))
    updated = first.update_video(tenant, "v1", if_match=created.etag, status="completed", progress=1.0)
    first.save_analysis(tenant, "v1", analysis_doc("v1", [question(0), question(1)]))

    second = backend.open()
    assert second.get_video(tenant, "v1") == updated
    assert second.get_analysis(tenant, "v1") == analysis_doc("v1", [question(0), question(1)])
    second.update_video(tenant, "v1", if_match=updated.etag, stage="reviewed")
    with pytest.raises(PreconditionFailed):
        first.update_video(tenant, "v1", if_match=updated.etag, stage="stale writer")


def increment_with_retry(store, tenant: str, video_id: str, times: int) -> int:
    """Read-modify-write a counter under optimistic concurrency; returns how many retries it took."""
    retries = 0
    for _ in range(times):
        while True:
            current = store.get_video(tenant, video_id)
            try:
                store.update_video(tenant, video_id, if_match=current.etag,
                                   metrics={"count": current.metrics["count"] + 1})
                break
            except PreconditionFailed:
                retries += 1
    return retries


@pytest.mark.parametrize("clients", ["one shared client", "a client per thread"])
def test_concurrent_optimistic_updates_lose_no_increment(backend, tenant, clients):
    threads_n, per_thread = 8, 25
    shared = backend.open()
    shared.create_video(new_video(tenant, "v1", metrics={"count": 0}))
    stores = [shared if clients == "one shared client" else backend.open() for _ in range(threads_n)]
    errors, retries = [], []
    start = threading.Barrier(threads_n)

    def work(store):
        try:
            start.wait()
            retries.append(increment_with_retry(store, tenant, "v1", per_thread))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert not any(t.is_alive() for t in threads)
    assert backend.open().get_video(tenant, "v1").metrics == {"count": threads_n * per_thread}


def test_health_is_ok(store):
    health = store.health()
    assert (health.name, health.status) == ("results", "ok")


# --- Cosmos DB adapter only: what the contract cannot see ----------------------------------


@pytest.fixture
def cosmos_store(cosmos_server):
    return CosmosBackend(Path("."), cosmos_server).open()


def test_cosmos_update_beyond_one_patch_falls_back_to_an_etag_guarded_replace(cosmos_store, tenant, monkeypatch):
    import services.results_cosmos as results_cosmos

    monkeypatch.setattr(results_cosmos, "PATCH_LIMIT", 2)
    created = cosmos_store.create_video(new_video(tenant, "v1"))
    updated = cosmos_store.update_video(tenant, "v1", if_match=created.etag, status="failed", stage="probe",
                                        error="no audio")
    assert (updated.status, updated.stage, updated.error) == ("failed", "probe", "no audio")
    with pytest.raises(PreconditionFailed):
        cosmos_store.update_video(tenant, "v1", if_match=created.etag, status="queued", stage="x", error=None)
    assert cosmos_store.update_video(tenant, "v1", status="queued", stage="x", error=None).status == "queued"
    with pytest.raises(VideoNotFound):
        cosmos_store.update_video(tenant, "missing", status="queued", stage="x", error=None)


def test_cosmos_concurrent_saves_and_reads_never_mix_two_analyses(cosmos_server, tenant):
    backend = CosmosBackend(Path("."), cosmos_server)
    writers = [backend.open() for _ in range(3)]
    reader, errors, seen = backend.open(), [], []
    done = threading.Event()

    def save(store, marker):
        try:
            for round_ in range(6):
                qs = [dict(question(i), text=f"{marker}-{round_}") for i in range(1 + (round_ + marker) % 4)]
                store.save_analysis(tenant, "v1", analysis_doc("v1", qs))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    def read():
        try:
            while not done.is_set():
                got = reader.get_analysis(tenant, "v1")
                if got is not None:
                    seen.append({q["text"] for q in got["questions"]})
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=save, args=(store, i)) for i, store in enumerate(writers)]
    watcher = threading.Thread(target=read)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    done.set()
    watcher.join(timeout=60)
    assert errors == []
    assert seen and all(len(texts) == 1 for texts in seen)  # every read: the questions of one save
    final = reader.get_analysis(tenant, "v1")
    stored = list(reader._questions.query_items(  # no orphans of losing or replaced saves
        "SELECT VALUE c.id FROM c", partition_key=[tenant, "v1"]))
    assert len(stored) == len(final["questions"])


def test_cosmos_ids_it_cannot_store_are_refused_on_write_and_absent_on_read(cosmos_store, tenant):
    with pytest.raises(ValueError):
        cosmos_store.create_video(new_video(tenant, "a/b"))
    with pytest.raises(ValueError):
        cosmos_store.save_analysis(tenant, "a?b", analysis_doc("a?b", []))
    assert cosmos_store.get_video(tenant, "a/b") is None
    assert cosmos_store.get_analysis(tenant, "a#b") is None
    assert cosmos_store.delete_video(tenant, "a/b") is False
    with pytest.raises(VideoNotFound):
        cosmos_store.update_video(tenant, "a/b", status="failed")


# --- reviewers' feedback (both adapters) -----------------------------------------------------------


def test_feedback_is_listed_newest_first_per_tenant(store, tenant):
    from services.results import FeedbackRecord

    for i, label in enumerate(["OEQ", "CEQ", "OEQ"]):
        store.save_feedback(FeedbackRecord(tenant_id=tenant, feedback_id=f"f{i}", text=f"Question {i}?", label=label,
                                           model_label="CEQ", model_version="m1", created_at=1000.0 + i))
    store.save_feedback(FeedbackRecord(tenant_id="other-" + tenant, feedback_id="x", text="Hidden?", label="OEQ"))
    listed = store.list_feedback(tenant, limit=2)
    assert [(f.feedback_id, f.label, f.text) for f in listed] == [("f2", "OEQ", "Question 2?"), ("f1", "CEQ", "Question 1?")]
    assert listed[0].model_label == "CEQ" and listed[0].model_version == "m1"
    assert [f.feedback_id for f in store.list_feedback("other-" + tenant)] == ["x"]


def test_feedback_can_be_listed_for_one_author(store, tenant):
    from services.results import FeedbackRecord

    for i, author in enumerate(["coach-1", "coach-2", "coach-1"]):
        store.save_feedback(FeedbackRecord(tenant_id=tenant, feedback_id=f"f{i}", text=f"Q{i}?", label="OEQ",
                                           created_by=author, created_at=1000.0 + i))
    assert [f.feedback_id for f in store.list_feedback(tenant, created_by="coach-1")] == ["f2", "f0"]
    assert [f.feedback_id for f in store.list_feedback(tenant, created_by="nobody")] == []
    assert len(store.list_feedback(tenant)) == 3


# --- erasing a tenant (GDPR) -------------------------------------------------------------------------


def test_delete_tenant_removes_every_document_of_the_tenant_and_nothing_else(backend, tenant):
    from services.results import FeedbackRecord

    store, other = backend.open(), "other-" + tenant
    for owner in (tenant, other):
        for video_id in ("v1", "v2"):
            store.create_video(new_video(owner, video_id, created_by="coach-1"))
            store.save_analysis(owner, video_id, analysis_doc(video_id, [question(0), question(1)]))
        store.save_feedback(FeedbackRecord(tenant_id=owner, feedback_id="f1", text="Why?", label="OEQ"))
    # 2 videos + 2 analyses + 4 questions + 1 feedback
    assert store.delete_tenant(tenant) == 9
    reopened = backend.open()  # what another client (another instance) sees
    assert reopened.recent_videos(tenant) == [] and reopened.list_feedback(tenant) == []
    assert reopened.get_video(tenant, "v1") is None and reopened.get_analysis(tenant, "v2") is None
    assert [v.video_id for v in reopened.recent_videos(other)] == ["v2", "v1"]
    assert reopened.get_analysis(other, "v1")["questions"] == [question(0), question(1)]
    assert [f.feedback_id for f in reopened.list_feedback(other)] == ["f1"]
    assert store.delete_tenant(tenant) == 0


def test_sqlite_erasure_leaves_no_trace_of_the_text_in_the_files(tmp_path, tenant):
    """secure_delete and a WAL checkpoint: the erased text is not left in free pages or the log."""
    from services.results import FeedbackRecord

    store = SqliteResultsStore(tmp_path / "r.sqlite3")
    private_text = "Where did the zebra-crossing-9137 go?"
    store.save_feedback(FeedbackRecord(tenant_id=tenant, feedback_id="f1", text=private_text, label="OEQ"))
    store.create_video(new_video(tenant, "v1", filename="zebra-crossing-9137.mp4"))
    store.delete_tenant(tenant)
    for path in tmp_path.iterdir():
        assert b"zebra-crossing-9137" not in path.read_bytes(), path.name


# --- upload details and trends -----------------------------------------------------------------


def analysed(store, tenant_id: str, *, recorded_on: str = "", oeq_ratio: float = 0.5, **fields) -> VideoRecord:
    """A completed video with the metrics the pipeline writes on its record."""
    record = store.create_video(new_video(tenant_id, recorded_on=recorded_on, **fields))
    metrics = {"question_count": 4, "oeq_ratio": oeq_ratio, "mean_wait_time_s": 2.5, "questions_per_minute": 3.0,
               "answered_ratio": 0.75}
    return store.update_video(tenant_id, record.video_id, status="completed", stage="done", progress=1.0,
                              metrics=metrics, duration_s=80.0)


def test_upload_details_round_trip_on_the_video_record(store, tenant):
    created = store.create_video(new_video(tenant, title="Sink or float", educator="Ms Rivera",
                                           classroom="Room 3", recorded_on="2026-11-30"))
    stored = store.get_video(tenant, created.video_id)
    assert (stored.title, stored.educator, stored.classroom, stored.recorded_on) == (
        "Sink or float", "Ms Rivera", "Room 3", "2026-11-30")
    updated = store.update_video(tenant, created.video_id, status="processing")
    assert updated.educator == "Ms Rivera" and store.recent_videos(tenant)[0].classroom == "Room 3"


def test_a_trend_is_the_educators_completed_videos_oldest_recording_first(store, tenant):
    late = analysed(store, tenant, educator="Ms Rivera", classroom="Room 3", recorded_on="2026-11-20", oeq_ratio=0.6)
    early = analysed(store, tenant, educator="Ms Rivera", classroom="Room 4", recorded_on="2026-10-02", oeq_ratio=0.2)
    analysed(store, tenant, educator="Mr Okafor", classroom="Room 3", recorded_on="2026-10-15")
    store.create_video(new_video(tenant, educator="Ms Rivera", recorded_on="2026-09-01"))  # not analysed yet
    points = store.trend(tenant, "educator", "Ms Rivera")
    assert [p.video_id for p in points] == [early.video_id, late.video_id]
    assert [(p.recorded_on, p.oeq_ratio) for p in points] == [("2026-10-02", 0.2), ("2026-11-20", 0.6)]
    assert points[0].to_dict()["mean_wait_time_s"] == 2.5 and points[0].questions_per_minute == 3.0
    assert [p.video_id for p in store.trend(tenant, "classroom", "Room 3")][1] == late.video_id
    assert store.trend(tenant, "educator", "Nobody") == []


def test_a_video_without_a_recording_date_takes_its_upload_date(store, tenant):
    record = analysed(store, tenant, educator="Ms Rivera")
    [point] = store.trend(tenant, "educator", "Ms Rivera")
    assert point.video_id == record.video_id and re.fullmatch(r"\d{4}-\d{2}-\d{2}", point.recorded_on)


def test_trends_and_their_subjects_are_tenant_scoped(store, tenant):
    analysed(store, tenant, educator="Ms Rivera", classroom="Room 3")
    analysed(store, tenant, educator="Mr Okafor", classroom="")
    other = f"{tenant}-other"
    analysed(store, other, educator="Ms Rivera", classroom="Room 9")
    assert store.trend_subjects(tenant) == {"educator": ["Mr Okafor", "Ms Rivera"], "classroom": ["Room 3"]}
    assert len(store.trend(tenant, "educator", "Ms Rivera")) == 1
    assert store.trend(other, "classroom", "Room 3") == []
    assert store.trend_subjects(f"{tenant}-none") == {"educator": [], "classroom": []}


def test_a_trend_by_anything_else_is_refused(store, tenant):
    with pytest.raises(ValueError, match="educator or classroom"):
        store.trend(tenant, "title) OR 1=1 --", "x")
