"""The pipeline across processes on the local stack: Azurite, redis-server, the
Cosmos-compatible server and the AMQP broker (`devhost stack`), `devhost analyze
--stack` with the worker as its own process — and what happens when a worker dies
mid-job, a job is poison, or a service goes away for a moment.

The stack runs from a folder of its own on free ports (never a developer's running
stack) and is stopped at the end of the module.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from devhost.stack import manager
from devhost.stack_env import read_stack_env
from services.blobs_azure import AzureBlobStore
from services.results_cosmos import CosmosResultsStore
from tests.conftest import REPO, all_histories
from tests.telemetry_capture import OtlpReceiver, captured

SAMPLE = REPO / "samples" / "classroom_sample.mp4"
TRUTH = json.loads((REPO / "samples" / "classroom_sample.truth.json").read_text())


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    home = tmp_path_factory.mktemp("stack-home")
    state, env_file = home / ".devhost" / "stack", home / ".devhost" / "stack.env"
    os.environ["JOB_LOCK_SECONDS"] = "4"  # the broker's lock: a dead worker's job comes back quickly
    try:
        manager.up(state=state, env_file=env_file)
    finally:
        del os.environ["JOB_LOCK_SECONDS"]
    yield home, read_stack_env(env_file)
    manager.down(state=state, env_file=env_file)


def devhost(home: Path, *args: str, **settings: str) -> subprocess.CompletedProcess:
    """`python -m devhost …` run from the stack's home folder (where .devhost/stack.env is)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "DATA_DIR": str(home / "data"), **settings}
    return subprocess.run([sys.executable, "-m", "devhost", *args], cwd=home, env=env, capture_output=True,
                          text=True, timeout=300)


def state_of(home: Path) -> Path:
    return home / ".devhost" / "stack"


def test_stack_up_writes_settings_with_the_example_names(stack):
    home, settings = stack
    example = json.loads((REPO / "local.settings.json.example").read_text())["Values"]
    assert set(settings) <= set(example)
    assert {"AzureWebJobsStorage", "ServiceBusConnection", "COSMOS_ENDPOINT", "REDIS_URL"} <= set(settings)
    assert all("127.0.0.1" in settings[name] for name in ("AzureWebJobsStorage", "ServiceBusConnection",
                                                         "COSMOS_ENDPOINT", "REDIS_URL"))
    assert all(ports for ports in manager.status(state_of(home)).values())
    # `up` again finds everything running and changes nothing.
    again = manager.up(state=state_of(home), env_file=home / ".devhost" / "stack.env")
    assert again == settings


def test_analyze_across_processes_on_the_real_adapters(stack):
    home, settings = stack
    out = home / "analysis.json"
    done = devhost(home, "analyze", str(SAMPLE), "--stack", "--out", str(out))
    assert done.returncode == 0, done.stderr
    analysis = json.loads(out.read_text())
    assert [q["label"] for q in analysis["questions"]] == [q["label"] for q in TRUTH["questions"]]
    for truth, question in zip(TRUTH["questions"], analysis["questions"]):
        assert abs(question["wait_time_s"] - truth["wait_time_s"]) <= 0.5

    # The results live in Cosmos, the upload in Azurite, the summary in Redis.
    results = CosmosResultsStore.from_key(settings["COSMOS_ENDPOINT"], settings["COSMOS_KEY"],
                                          settings["COSMOS_DATABASE"])
    record = results.get_video("default", analysis["video_id"])
    assert record.status == "completed" and record.metrics == analysis["metrics"]
    assert results.get_analysis("default", analysis["video_id"])["questions"] == analysis["questions"]
    blobs = AzureBlobStore.from_connection_string(settings["AzureWebJobsStorage"])
    assert blobs.exists("videos", f"default/{analysis['video_id']}.mp4")
    assert blobs.list("chunks", f"default/{analysis['video_id']}/") == []
    import redis

    assert redis.Redis.from_url(settings["REDIS_URL"]).exists(f"video-summary:default:{analysis['video_id']}")


def test_one_trace_spans_devhost_and_the_worker_process_over_otlp(stack):
    """The issue's done-when: `OTEL_EXPORTER_OTLP_ENDPOINT=… devhost analyze --stack` delivers one
    trace from the upload to the stored result, across the worker's process, to an OTLP/HTTP receiver."""
    home, settings = stack
    out = home / "traced.json"
    import redis

    cache = redis.Redis.from_url(settings["REDIS_URL"])
    for key in cache.keys("oeqceq:default:*"):  # an earlier run's cached predictions would leave no model call
        cache.delete(key)
    with OtlpReceiver() as receiver:
        done = devhost(home, "analyze", str(SAMPLE), "--stack", "--out", str(out),
                       OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY="100",
                       OTEL_METRIC_EXPORT_INTERVAL="1000", WHISPER_MODEL="tiny.en")
        assert done.returncode == 0, done.stderr
        video_id = json.loads(out.read_text())["video_id"]
        wait_for(lambda: any(s.name == "persist_results" for s in receiver.spans)
                 and any(s.service == "classroom-worker" for s in receiver.spans), timeout_s=15)
    [root] = [s for s in receiver.spans if s.name == "devhost analyze"]
    trace = [s for s in receiver.spans if s.trace_id == root.trace_id]
    print(receiver.span_tree(root.trace_id))  # the tree the README shows
    assert {s.service for s in trace} == {"classroom-devhost", "classroom-worker"}
    names = {s.name for s in trace}
    assert {"video uploaded", "probe_video", "cut_and_dispatch", "process transcription-jobs", "transcribe",
            "transcription result", "analyze_video", "classify", "persist_results"} <= names
    about_this_video = [s for s in receiver.spans if s.attributes.get("classroom.video.id") == [video_id]]
    assert about_this_video and all(s.trace_id == root.trace_id for s in about_this_video)
    by_id = {s.span_id: s for s in trace}
    for job in (s for s in trace if s.name == "process transcription-jobs"):
        assert job.service == "classroom-worker" and by_id[job.parent_id].name in ("cut_and_dispatch", "dispatch_chunks")
    for result in (s for s in trace if s.name == "transcription result"):
        assert by_id[result.parent_id].name == "process transcription-jobs"
    assert "classroom-worker" in receiver.metric_names["classroom.transcription.real_time_factor"]
    assert "classroom-devhost" in receiver.metric_names["classroom.video.oeq_share"]
    assert any(r["trace_id"] == root.trace_id for r in receiver.log_records)  # logs carry the trace id
    texts = [q["text"].lower() for q in TRUTH["questions"]]
    for span in receiver.spans:
        for values in span.attributes.values():
            assert not any(t[:20] in str(v).lower() for v in values for t in texts), span.name


def run_in_process(home: Path, settings: dict, worker_env: dict, during=None, timeout_s: float = 120):
    """devhost's platform in this process (orchestrator, triggers) on the stack's settings, the
    worker(s) as processes; ``during(status, start_worker, workers)`` may act while it runs."""
    from blueprints import dependencies
    from blueprints.pipeline_steps import instance_id_for
    from devhost.platform import LocalPlatform
    from services.results import VideoRecord

    env = {**os.environ, **settings, "DATA_DIR": str(home / "data"), "PYTHONPATH": str(REPO)}
    saved = dict(os.environ)
    os.environ.update({**settings, "DATA_DIR": str(home / "data"), **worker_env.get("app", {})})
    dependencies.reset()
    workers: list[subprocess.Popen] = []

    def start_worker(**extra):
        log = open(home / f"worker-{len(workers)}.log", "ab")
        workers.append(subprocess.Popen([sys.executable, "-m", "gpu_worker"], cwd=REPO, stdout=log, stderr=log,
                                        env={**env, **worker_env.get("worker", {}), **extra}))
        return workers[-1]

    try:
        video_id = os.urandom(16).hex()
        blob_path = f"default/{video_id}.mp4"
        dependencies.results().create_video(VideoRecord(tenant_id="default", video_id=video_id, blob_path=blob_path))
        with LocalPlatform(run_worker=False) as platform:
            start_worker()
            dependencies.blobs().put_file("videos", blob_path, worker_env.get("video", SAMPLE))
            instance_id = instance_id_for("default", video_id)
            wait_for(lambda: platform.runtime.get_status(instance_id), timeout_s=30)  # the blob watcher saw it
            if during:
                threading.Thread(target=during, args=(lambda: platform.runtime.get_status(instance_id),
                                                      start_worker, workers), daemon=True).start()
            status = platform.runtime.wait_for_completion(instance_id, timeout_s=timeout_s)
            history = all_histories(platform.runtime, instance_id)
        return status, history, video_id
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=30)
        os.environ.clear()
        os.environ.update(saved)
        dependencies.reset()


def wait_for(check, timeout_s: float = 60):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError("condition not met")


def test_a_worker_killed_mid_job_has_its_jobs_redelivered(stack, tmp_path):
    home, settings = stack
    long_clip = tmp_path / "long.mp4"
    listing = tmp_path / "list.txt"
    listing.write_text(f"file '{SAMPLE}'\n" * 3)
    subprocess.run(["ffmpeg", "-v", "error", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy",
                    str(long_clip)], check=True)
    killed = {}

    def kill_the_worker_once_it_works(status, start_worker, workers):
        wait_for(lambda: (status() and (status().custom_status or {}).get("stage") == "transcribing"))
        time.sleep(0.5)  # it holds locked jobs now
        workers[0].kill()
        killed["at"] = (status().custom_status or {}).get("chunks_done", 0)
        start_worker()

    status, history, _ = run_in_process(home, settings, {"video": long_clip}, during=kill_the_worker_once_it_works)
    assert status.output["status"] == "completed", status.output
    assert killed["at"] is not None and killed["at"] < 6, "the worker was killed with work left"
    redispatches = [e for e in history if e["EventType"] == 4 and e["Name"] == "dispatch_chunks"]
    assert redispatches == [], "the broker redelivered the jobs; the orchestrator did not need to re-dispatch"


def test_a_poison_job_is_dead_lettered_and_fails_the_video_with_its_reason(stack):
    home, settings = stack
    capture = captured()  # the app's side runs in this process: its dead-letter trigger counts
    status, _, video_id = run_in_process(
        home, settings,
        {"worker": {"WHISPER_MODEL": "/nonexistent/whisper-model"}, "app": {"CHUNK_MAX_DISPATCHES": "1"}})
    assert status.output["status"] == "failed"
    reason = status.output["reason"]
    assert reason.startswith("chunk ") and "could not be transcribed after 1 attempts" in reason, reason
    assert "MaxAttemptsExceeded" in reason and "/nonexistent/whisper-model" in reason, reason
    results = CosmosResultsStore.from_key(settings["COSMOS_ENDPOINT"], settings["COSMOS_KEY"],
                                          settings["COSMOS_DATABASE"])
    assert results.get_video("default", video_id).error == reason
    dead = capture.metric_points()["classroom.jobs.dead_lettered"]
    assert any(p.attributes["classroom.dead_letter.reason"] == "MaxAttemptsExceeded" and p.value >= 1 for p in dead)


@pytest.mark.parametrize("service", ["redis", "cosmos"])
def test_a_service_paused_for_a_moment_mid_run_costs_time_not_the_video(stack, service):
    home, settings = stack
    pid = int((state_of(home) / f"{service}.pid").read_text().split()[0])

    def pause_it(status, start_worker, workers):
        wait_for(lambda: status() and (status().custom_status or {}).get("stage") == "transcribing")
        os.killpg(pid, signal.SIGSTOP)
        time.sleep(3)
        os.killpg(pid, signal.SIGCONT)

    status, _, _ = run_in_process(home, settings, {}, during=pause_it)
    assert status.output["status"] == "completed", status.output


def test_blob_storage_gone_for_a_minute_mid_run_costs_time_not_the_video(stack):
    """Azurite stopped for 60 s while chunks are transcribed: activities retry with back-off,
    the worker retries in place with its lock kept, and the video completes."""
    home, settings = stack
    outage = {}

    def stop_storage_for_a_minute(status, start_worker, workers):
        wait_for(lambda: status() and (status().custom_status or {}).get("stage") == "transcribing")
        ports = manager.stop_service("azurite", state_of(home))
        outage["stopped"] = time.monotonic()
        time.sleep(60)
        manager.start_service("azurite", ports, state_of(home))
        outage["back"] = time.monotonic()

    status, _, _ = run_in_process(home, settings, {}, during=stop_storage_for_a_minute, timeout_s=400)
    finished = time.monotonic()
    assert outage["back"] - outage["stopped"] >= 60
    assert status.output["status"] == "completed", status.output
    # It was transcribing when storage went and could not finish without it (the worker reads
    # chunks, persisting deletes them): it finished after storage came back, having waited it out.
    assert finished > outage["back"]


def test_stack_cli_up_status_down(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def cli(action):
        return subprocess.run([sys.executable, "-m", "devhost", "stack", action], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)

    up = cli("up")
    assert up.returncode == 0, up.stderr
    assert (tmp_path / ".devhost" / "stack.env").exists()
    assert "up on" in cli("status").stdout
    down = cli("down")
    assert down.returncode == 0 and "stopped azurite, redis, cosmos, servicebus" in down.stderr
    assert "down" in cli("status").stdout and "up on" not in cli("status").stdout
    assert not (tmp_path / ".devhost" / "stack.env").exists()
