"""A video's life beyond the happy path, over real HTTP on the local platform: it is never
shown as processing once its orchestration has died, and once deleted it stays deleted
whatever arrives late (an activity in flight, a worker's result, a repeated blob event)."""

from __future__ import annotations

import time

import httpx
import pytest

from blueprints import dependencies
from blueprints.pipeline_steps import ORCHESTRATOR, instance_id_for
from devhost.asgi import LoopbackServer, free_port
from devhost.http_host import FunctionAppAsgi
from devhost.platform import LocalPlatform, service_bus_message
from services.blobs import CHUNKS, VIDEOS
from services.jobs import RESULTS_QUEUE, Received
from tests.conftest import TENANT, bearer, wait_until
from tests.speech_fixtures import Utterance, build_speech, wrap_as_video


@pytest.fixture(scope="module")
def long_lesson(tmp_path_factory):
    """~30 s of speech cut into 4 chunks: long enough to delete it mid-way."""
    folder = tmp_path_factory.mktemp("long")
    lines = [Utterance("What do you think the caterpillar will eat today?", 2.5, "en-us+f3"),
             Utterance("Leaves.", 1.0, "en-us+f5"),
             Utterance("How many legs does the caterpillar have?", 2.5, "en-us+f3"),
             Utterance("Lots of legs.", 1.5, "en-us+f5")] * 2
    build_speech(lines, folder / "long.wav")
    return wrap_as_video(folder / "long.wav", folder / "long.mp4").read_bytes()


@pytest.fixture
def served(app_settings, tmp_path):
    port = free_port()
    app_settings(DATA_DIR=str(tmp_path / "data"), PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
                 CHUNK_SECONDS="8", CHUNK_OVERLAP_SECONDS="1", CHUNKS_PER_BATCH="2", WORKER_CONCURRENCY="1")
    with LocalPlatform() as platform, LoopbackServer(FunctionAppAsgi(platform=platform), port) as server:
        with httpx.Client(base_url=server.base_url, timeout=30, headers=bearer()) as client:
            yield client, platform


def poll(check, timeout_s: float = 60, what: str = "condition"):
    wait_until(check, timeout_s, what)


def test_a_video_deleted_mid_run_stays_deleted(served, long_lesson):
    api, platform = served
    created = api.post("/api/v1/videos", json={"filename": "long.mp4"}).json()
    video_id = created["video_id"]
    assert httpx.put(created["upload_url"], content=long_lesson).status_code == 201
    poll(lambda: api.get(f"/api/v1/videos/{video_id}").json()["stage"] == "transcribing", what="transcribing")

    assert api.delete(f"/api/v1/videos/{video_id}").status_code == 200
    # Let everything in flight land: activities, worker results, the blob event's second delivery.
    time.sleep(3)
    platform.blob_created(VIDEOS, f"{TENANT}/{video_id}.mp4")  # a late, repeated upload event
    platform.runtime.wait_idle(30)

    assert api.get(f"/api/v1/videos/{video_id}").status_code == 404
    assert dependencies.results().get_video(TENANT, video_id) is None
    assert dependencies.results().get_analysis(TENANT, video_id) is None
    assert dependencies.blobs().list(VIDEOS, f"{TENANT}/{video_id}") == []
    assert dependencies.blobs().list(CHUNKS, f"{TENANT}/{video_id}/") == []
    instance_id = instance_id_for(TENANT, video_id)
    alive = [s for s in platform.runtime.list_instances()
             if s.instance_id.startswith(instance_id) and s.runtime_status in ("Running", "Pending")]
    assert alive == [], "no orchestration of a deleted video runs on"

    # A worker's result for the deleted video arrives late (or is redelivered): it is dropped.
    result_trigger = next(t for t in platform.queue_triggers if t.source == RESULTS_QUEUE)
    late = Received(RESULTS_QUEUE, "late-1", {"job_id": f"{TENANT}:{video_id}:0:1",
                                              "instance_id": f"{instance_id}:batch-0", "tenant_id": TENANT,
                                              "video_id": video_id, "index": 0, "attempt": 1, "ok": True,
                                              "transcript_blob": f"{TENANT}/{video_id}/00000.json"}, 1, "token")
    platform.invoke(result_trigger, {result_trigger.trigger_parameter: service_bus_message(late)})
    platform.runtime.wait_idle(10)
    assert dependencies.results().get_video(TENANT, video_id) is None
    assert platform.runtime.get_status(f"{instance_id}:batch-0") is None or \
        platform.runtime.get_status(f"{instance_id}:batch-0").runtime_status in ("Terminated", "Completed", "Failed")


def test_an_orchestration_that_crashed_shows_the_video_failed_with_a_reason(served):
    api, platform = served
    video_id = api.post("/api/v1/videos", json={"filename": "a.mp4"}).json()["video_id"]
    instance_id = instance_id_for(TENANT, video_id)
    platform.runtime.start_new(ORCHESTRATOR, instance_id, {"tenant_id": TENANT})  # input it cannot read
    poll(lambda: platform.runtime.get_status(instance_id).runtime_status == "Failed", what="the crash")

    status = api.get(f"/api/v1/videos/{video_id}").json()
    assert status["status"] == "failed"
    assert status["error"].startswith("the analysis stopped unexpectedly (Failed): ")
    listed = {v["video_id"]: v for v in api.get("/api/v1/videos").json()["videos"]}
    assert listed[video_id]["status"] == "failed", "the record was repaired, so lists agree"


def test_a_terminated_orchestration_is_never_shown_as_processing(served, long_lesson):
    api, platform = served
    created = api.post("/api/v1/videos", json={"filename": "long.mp4"}).json()
    video_id = created["video_id"]
    assert httpx.put(created["upload_url"], content=long_lesson).status_code == 201
    instance_id = instance_id_for(TENANT, video_id)
    poll(lambda: (platform.runtime.get_status(instance_id) or None) and
         platform.runtime.get_status(instance_id).runtime_status == "Running", what="running")
    platform.runtime.terminate(instance_id, "operator stopped it")
    poll(lambda: platform.runtime.get_status(instance_id).runtime_status == "Terminated", what="terminated")

    status = api.get(f"/api/v1/videos/{video_id}").json()
    assert (status["status"], status["stage"]) == ("failed", "failed")
    assert "Terminated" in status["error"] and "operator stopped it" in status["error"]


def test_uploads_start_the_pipeline_from_an_event_never_from_the_bytes():
    """A blob trigger with InputStream makes the host read the whole video into memory;
    the app declares no blob trigger, and the upload function takes Event Grid's event."""
    from devhost.app_index import registered_functions

    triggers = {f.get_function_name(): f.get_trigger().get_binding_name() for f in registered_functions()
                if f.get_trigger() is not None}
    assert "blobTrigger" not in triggers.values()
    assert triggers["on_video_uploaded"] == "eventGridTrigger"


def test_devhost_delivers_each_blob_event_twice_with_the_blobs_name_only(served):
    api, platform = served
    seen = []
    trigger = platform.event_triggers[0]
    platform.event_triggers = [trigger.__class__(trigger.name, trigger.trigger_parameter, trigger.source, None,
                                                 lambda event: seen.append(event))]
    platform.blob_created(VIDEOS, "default/" + "e" * 32 + ".mp4")
    platform.blob_created("chunks", "default/x/00000.wav")  # not in the subscription's filter
    assert [e.subject for e in seen] == [f"/blobServices/default/containers/videos/blobs/default/{'e' * 32}.mp4"] * 2
    assert {e.event_type for e in seen} == {"Microsoft.Storage.BlobCreated"}
    assert seen[0].id == seen[1].id, "a redelivery is the same event"
    assert "url" in seen[0].get_json()
