"""GDPR erasure over HTTP: an admin erases their organisation, and nothing of it remains in
any store (results, uploads, chunks, cache, orchestration history) while another
organisation's data is untouched. Real pipeline, real redis-server, embedded stores."""

from __future__ import annotations

import sqlite3
import time

import httpx
import pytest

from blueprints import dependencies
from blueprints.pipeline_steps import instance_id_for
from devhost.asgi import LoopbackServer, free_port
from devhost.http_host import FunctionAppAsgi
from devhost.platform import LocalPlatform
from services.blobs import CHUNKS, VIDEOS
from tests.conftest import bearer
from tests.speech_fixtures import Utterance, build_speech, wrap_as_video

ERASED, KEPT = "school-a", "school-b"


@pytest.fixture(scope="module")
def lesson(tmp_path_factory):
    folder = tmp_path_factory.mktemp("erasure-lesson")
    build_speech([Utterance("Why do you think the ice melted?", 2.0, "en-us+f3"),
                  Utterance("Because it was warm.", 1.0, "en-us+f5")], folder / "lesson.wav")
    return wrap_as_video(folder / "lesson.wav", folder / "lesson.mp4").read_bytes()


def wait_until_done(api, video_id: str, headers: dict, timeout_s: float = 90) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = api.get(f"/api/v1/videos/{video_id}", headers=headers).json()
        if status["status"] in ("completed", "failed"):
            return status
        time.sleep(0.1)
    raise TimeoutError(video_id)


def tenant_rows(data_dir, tenant: str) -> dict[str, int]:
    with sqlite3.connect(data_dir / "results.sqlite3") as db:
        return {table: db.execute(f"SELECT COUNT(*) FROM {table} WHERE tenant_id = ?", (tenant,)).fetchone()[0]
                for table in ("videos", "analyses", "questions", "feedback")}


def test_erasing_a_tenant_leaves_nothing_of_it_anywhere(app_settings, tmp_path, live_redis, lesson):
    port, data_dir = free_port(), tmp_path / "data"
    app_settings(DATA_DIR=str(data_dir), PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", REDIS_URL=live_redis.url)
    coach_a, coach_b = bearer(ERASED, "coach-1"), bearer(KEPT, "coach-9")
    with LocalPlatform() as platform, LoopbackServer(FunctionAppAsgi(platform=platform), port) as server, \
            httpx.Client(base_url=server.base_url, timeout=30) as api:
        # The organisation to erase: an analysed video, one awaiting upload, feedback,
        # predictions in the cache, and a chunk left behind by a run.
        done = api.post("/api/v1/videos", json={"filename": "lesson.mp4"}, headers=coach_a).json()
        assert httpx.put(done["upload_url"], content=lesson).status_code == 201
        assert wait_until_done(api, done["video_id"], coach_a)["status"] == "completed"
        waiting = api.post("/api/v1/videos", json={"filename": "later.mov"}, headers=coach_a).json()
        assert api.post("/api/v1/feedback", json={"video_id": done["video_id"], "question_index": 0, "label": "CEQ"},
                        headers=coach_a).status_code == 201
        assert api.post("/api/v1/classify", json={"text": "Is the ice cold?"}, headers=coach_a).status_code == 200
        dependencies.blobs().put_bytes(CHUNKS, f"{ERASED}/{waiting['video_id']}/00000.wav", b"RIFF....")
        # The organisation to keep.
        kept = api.post("/api/v1/videos", json={"filename": "b.mp4"}, headers=coach_b).json()
        assert httpx.put(kept["upload_url"], content=lesson).status_code == 201
        assert wait_until_done(api, kept["video_id"], coach_b)["status"] == "completed"
        assert api.post("/api/v1/feedback", json={"text": "Is the ice cold?", "label": "CEQ"},
                        headers=coach_b).status_code == 201
        before = tenant_rows(data_dir, ERASED)
        assert before["videos"] == 2 and before["questions"] >= 1 and before["feedback"] == 1
        assert live_redis.client().keys(f"video-summary:{ERASED}:*") and live_redis.client().keys(f"oeqceq:{ERASED}:*")
        assert platform.runtime.get_status(instance_id_for(ERASED, done["video_id"])) is not None

        # A coach may not erase; an admin must confirm their own organisation.
        assert api.delete("/api/v1/tenant", params={"confirm": ERASED}, headers=coach_a).status_code == 403
        admin_a = bearer(ERASED, "head-1", "admin")
        assert api.delete("/api/v1/tenant", headers=admin_a).status_code == 400
        assert api.delete("/api/v1/tenant", params={"confirm": KEPT}, headers=admin_a).status_code == 400
        erased = api.delete("/api/v1/tenant", params={"confirm": ERASED}, headers=admin_a)
        assert erased.status_code == 200, erased.text
        report = erased.json()
        assert report["tenant_id"] == ERASED and report["videos"] == 2
        assert report["blobs"] == 2 and report["documents"] == sum(before.values()) and report["cache_entries"] >= 2

        # Nothing of the erased organisation remains, in any store.
        assert tenant_rows(data_dir, ERASED) == {"videos": 0, "analyses": 0, "questions": 0, "feedback": 0}
        assert dependencies.blobs().list(VIDEOS, f"{ERASED}/") == []
        assert dependencies.blobs().list(CHUNKS, f"{ERASED}/") == []
        leftovers = [k for k in live_redis.client().keys(f"*{ERASED}*") if not k.startswith("LIMITS:")]
        assert leftovers == []
        # Rate-limit counters name the tenant and user; they expire with their window (at most an hour).
        assert all(0 < live_redis.client().ttl(k) <= 3600 for k in live_redis.client().keys("LIMITS:*"))
        assert platform.runtime.get_status(instance_id_for(ERASED, done["video_id"])) is None
        assert api.get("/api/v1/videos", headers=coach_a).json()["videos"] == []
        assert api.get(f"/api/v1/videos/{done['video_id']}", headers=coach_a).status_code == 404

        # The other organisation is untouched.
        assert tenant_rows(data_dir, KEPT)["videos"] == 1 and tenant_rows(data_dir, KEPT)["feedback"] == 1
        assert api.get(f"/api/v1/videos/{kept['video_id']}/analysis", headers=coach_b).status_code == 200
        assert dependencies.blobs().list(VIDEOS, f"{KEPT}/")
        assert live_redis.client().keys(f"oeqceq:{KEPT}:*") and live_redis.client().keys(f"video-summary:{KEPT}:*")
