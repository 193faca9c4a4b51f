"""OpenTelemetry: spans and metrics captured in memory from the real app in this process.

The HTTP API (served by devhost) and one video through devhost's pipeline with the
in-process worker: each request a server span with route, status and tenant; one trace
from the upload to the stored result; the ML metrics with their attributes; and no
question or transcript text in any attribute.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO, TENANT
from tests.telemetry_capture import captured

SAMPLE = REPO / "samples" / "classroom_sample.mp4"
TRUTH = json.loads((REPO / "samples" / "classroom_sample.truth.json").read_text())
QUESTION_TEXTS = [q["text"] for q in TRUTH["questions"]]


@pytest.fixture
def capture():
    capture = captured()
    capture.spans.clear()
    return capture


def every_attribute_value(span) -> list[str]:
    values = [str(v) for v in span.attributes.values()]
    values += [str(v) for event in span.events for v in event.attributes.values()]
    values.append(str(span.status.description or ""))
    return values


def assert_no_text(spans, texts: list[str]) -> None:
    for span in spans:
        for value in every_attribute_value(span):
            for text in texts:
                assert text.lower()[:20] not in value.lower(), f"{span.name} carries {text!r}"


def test_without_settings_nothing_is_exported_or_configured():
    code = ("from opentelemetry import trace; from services import telemetry; "
            "print(telemetry.configure('x', {})); print(type(trace.get_tracer_provider()).__name__)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["off", "ProxyTracerProvider"]


def test_a_request_is_a_server_span_with_route_status_and_tenant_and_classifying_is_measured(api, capture):
    text = "What do you think will happen if we add more water?"
    for _ in range(2):  # the second answer comes from the prediction cache
        assert api.post("/api/v1/classify", json={"text": text}).status_code == 200
    assert api.post("/api/v1/classify", content=b"{not json").status_code == 400

    spans = capture.spans.get_finished_spans()
    requests = [s for s in spans if s.name == "POST /api/v1/classify"]
    assert len(requests) == 3
    assert requests[0].attributes["http.route"] == "/api/v1/classify"
    assert requests[0].attributes["http.response.status_code"] == 200
    assert requests[0].attributes["classroom.tenant.id"] == TENANT
    assert requests[2].attributes["http.response.status_code"] == 400
    [model] = [s for s in spans if s.name == "classify"]  # once: the second call hit the cache
    assert model.attributes["classroom.model.version"].startswith("oeq-ceq-")
    assert model.parent.span_id == requests[0].context.span_id
    assert_no_text(spans, [text])

    points = capture.metric_points()
    predictions = [p for p in points["classroom.classifier.predictions"]
                   if p.attributes["classroom.model.version"] == model.attributes["classroom.model.version"]]
    assert {p.attributes["classroom.label"] for p in predictions} >= {"OEQ"}
    assert {p.attributes["classroom.cache.hit"] for p in points["classroom.classifier.cache.lookups"]} == {True, False}
    assert all(0.5 <= p.min and p.max <= 1.0 for p in points["classroom.classifier.confidence"])
    assert sum(p.count for p in points["classroom.classifier.duration"]) >= 2
    routes = {(p.attributes["http.route"], p.attributes["http.response.status_code"])
              for p in points["http.server.request.duration"]}
    assert {("/api/v1/classify", 200), ("/api/v1/classify", 400)} <= routes


def test_one_video_is_one_trace_from_upload_to_stored_result_with_its_metrics(capture, tmp_path, monkeypatch):
    from blueprints import dependencies
    from devhost.analyze import analyze_video

    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WHISPER_MODEL", "tiny.en")  # twice as fast; the labels are not under test here
    out = tmp_path / "analysis.json"
    try:
        assert analyze_video(SAMPLE, out=out) == 0
    finally:
        dependencies.reset()
    video_id = json.loads(out.read_text())["video_id"]

    spans = capture.spans.get_finished_spans()
    [root] = [s for s in spans if s.name == "devhost analyze"]
    in_trace = [s for s in spans if s.context.trace_id == root.context.trace_id]
    names = {s.name for s in in_trace}
    assert {"video uploaded", "probe_video", "cut_and_dispatch", "process transcription-jobs", "transcribe",
            "transcription result", "analyze_video", "classify", "persist_results"} <= names
    about_this_video = [s for s in spans if s.attributes.get("classroom.video.id") == video_id]
    assert about_this_video and all(s.context.trace_id == root.context.trace_id for s in about_this_video)
    [transcribe, *_] = [s for s in in_trace if s.name == "transcribe"]
    assert transcribe.attributes["classroom.model.version"]
    assert_no_text(spans, QUESTION_TEXTS)

    points = capture.metric_points()
    for name in ("classroom.transcription.real_time_factor", "messaging.process.queue_time",
                 "classroom.transcription.chunk.duration", "classroom.video.questions", "classroom.video.oeq_share",
                 "classroom.question.wait_time", "classroom.classifier.predictions", "classroom.classifier.confidence"):
        assert name in points, name
    [questions] = [p for p in points["classroom.video.questions"] if p.attributes["classroom.tenant.id"] == "default"]
    assert questions.sum >= 1 and questions.attributes["classroom.model.version"].startswith("oeq-ceq-")
    assert all(0 <= p.min and p.max <= 1 for p in points["classroom.video.oeq_share"])
    assert sum(p.count for p in points["classroom.question.wait_time"]) >= 1
    assert all(p.attributes["classroom.model.version"] for p in points["classroom.transcription.real_time_factor"])


def test_the_upload_request_and_its_pipeline_are_one_trace(app_settings, tmp_path, capture):
    """POST /api/v1/videos, then the client's PUT, then the upload event: the event finds the
    creating request's context (kept in the cache) and the pipeline continues its trace."""
    import httpx

    from devhost.asgi import LoopbackServer, free_port
    from devhost.http_host import FunctionAppAsgi
    from devhost.platform import LocalPlatform
    from tests.conftest import bearer
    from tests.speech_fixtures import Utterance, build_speech, wrap_as_video

    build_speech([Utterance("Why do you think the ice melted?", 2.0, "en-us+f3")], tmp_path / "lesson.wav")
    video = wrap_as_video(tmp_path / "lesson.wav", tmp_path / "lesson.mp4").read_bytes()
    port = free_port()
    app_settings(DATA_DIR=str(tmp_path / "data"), PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", WHISPER_MODEL="tiny.en")
    with LocalPlatform() as platform, LoopbackServer(FunctionAppAsgi(platform=platform), port) as server, \
            httpx.Client(base_url=server.base_url, timeout=30, headers=bearer()) as api:
        created = api.post("/api/v1/videos", json={"filename": "lesson.mp4"})
        assert created.status_code == 201
        video_id = created.json()["video_id"]
        assert httpx.put(created.json()["upload_url"], content=video).status_code == 201
        for _ in range(600):
            if api.get(f"/api/v1/videos/{video_id}").json()["status"] in ("completed", "failed"):
                break
            time.sleep(0.1)
    spans = capture.spans.get_finished_spans()
    [request] = [s for s in spans if s.name == "POST /api/v1/videos"]
    assert request.attributes["classroom.tenant.id"] == TENANT
    assert request.attributes["http.response.status_code"] == 201
    in_trace = {s.name for s in spans if s.context.trace_id == request.context.trace_id}
    assert {"video uploaded", "probe_video", "process transcription-jobs", "transcription result",
            "analyze_video", "persist_results"} <= in_trace
    assert_no_text(spans, ["Why do you think the ice melted"])


def test_a_job_carries_its_trace_to_the_worker_and_a_redelivery_counts_as_a_retry(capture, tmp_path):
    """The sender's context rides in the message's application properties; the worker's span
    continues it. A job abandoned once (a worker that died) comes back as a retry; its audio is
    missing, so it is dead-lettered and the span says it failed."""
    from gpu_worker.worker import TranscriptionJob, Worker
    from services import telemetry
    from services.blobs import FolderBlobStore
    from services.jobs import JOBS_QUEUE, InProcessBus

    bus, blobs = InProcessBus(), FolderBlobStore(tmp_path / "blobs")
    job = TranscriptionJob(job_id="t1:v1:0:1", instance_id="video-t1-v1", tenant_id="t1", video_id="v1", index=0,
                           attempt=1, audio_blob="t1/v1/00000.wav", transcript_blob="t1/v1/00000.json")
    with telemetry.span("dispatch") as sender:
        bus.send(JOBS_QUEUE, job.to_body(), message_id=job.job_id)
    bus.abandon(bus.receive(JOBS_QUEUE, max_wait_s=0))
    before = sum(p.value for p in capture.metric_points().get("classroom.transcription.retries", []))
    Worker(bus, blobs, lambda: None).handle(bus.receive(JOBS_QUEUE, max_wait_s=0))

    [processed] = [s for s in capture.spans.get_finished_spans() if s.name == "process transcription-jobs"]
    assert processed.context.trace_id == sender.get_span_context().trace_id
    assert processed.parent.span_id == sender.get_span_context().span_id
    assert processed.attributes["classroom.delivery_count"] == 2 and not processed.status.is_ok
    after = sum(p.value for p in capture.metric_points()["classroom.transcription.retries"])
    assert after == before + 1
    assert "messaging.process.queue_time" in capture.metric_points()


def test_azure_monitor_and_otlp_together(tmp_path):
    """With both settings the distro is configured and the OTLP exporters ride along on its providers
    (the loopback receiver also answers the Application Insights ingestion calls)."""
    from tests.telemetry_capture import OtlpReceiver

    code = ("from services import telemetry; print(telemetry.configure('x')); "
            "span = telemetry.span('hello', attributes={'classroom.video.id': 'v1'}); span.__enter__(); "
            "span.__exit__(None, None, None); telemetry.flush(3000)")
    with OtlpReceiver() as receiver:
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
               "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=00000000-0000-0000-0000-000000000000;"
                                                        f"IngestionEndpoint={receiver.endpoint}/",
               "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true", "HOME": str(tmp_path)}
        done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split()[0] == "azure-monitor+otlp"
        assert [(s.name, s.service) for s in receiver.spans if s.name == "hello"] == [("hello", "x")]
        assert any(path.endswith("/track") for path in receiver.azure_posts), receiver.azure_posts
