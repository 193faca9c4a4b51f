"""``python -m devhost analyze VIDEO``: one video through the real pipeline, locally.

The file is uploaded into the blob store exactly as an API client's PUT would land
it, the blob trigger starts the orchestration, the in-process worker transcribes
the chunks, and the VideoAnalysis stored at the end is printed. Progress goes to
stderr; a video the pipeline rejects ends with one line saying why and exit 1.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from blueprints import dependencies
from blueprints.pipeline_steps import instance_id_for
from devhost.stack import stop_process
from devhost.stack_env import read_stack_env
from services import telemetry
from services.blobs import VIDEOS
from services.results import VideoRecord
from services.settings import SettingsError

TENANT = "default"
WORKER_SERVICE_NAME = "classroom-worker"  # its spans and metrics are told apart from devhost's


def analyze_video(video: Path, out: Path | None = None, chunk_seconds: float | None = None,
                  stack: bool = False, speakers: dict | None = None) -> int:
    """``stack``: run on the real adapters of the local stack (settings from .devhost/stack.env),
    with the transcription worker as a separate process, as in Azure."""
    if not video.exists():
        return _fail(f"no such file: {video}", 2)
    if not video.is_file():
        return _fail(f"not a file: {video}", 2)
    if stack:
        try:
            os.environ.update(read_stack_env())
        except FileNotFoundError as error:
            return _fail(f"{error}; start the local stack first: python -m devhost stack up", 2)
    if chunk_seconds is not None:
        os.environ["CHUNK_SECONDS"] = str(chunk_seconds)
    dependencies.reset()
    try:
        settings = dependencies.settings()
    except SettingsError as error:
        return _fail(str(error), 2)
    log_file = _log_to_file(settings.data_path / "devhost.log")

    from devhost.platform import LocalPlatform  # starts nothing until used

    video_id = uuid.uuid4().hex
    extension = video.suffix.lstrip(".").lower() or "bin"
    blob_path = f"{TENANT}/{video_id}.{extension}"
    dependencies.results().create_video(
        VideoRecord(tenant_id=TENANT, video_id=video_id, filename=video.name, blob_path=blob_path,
                    speakers=speakers))
    # The command stands in for the API's upload request: its span is the trace's root, and the
    # upload event finds it in the cache as it would find the request's.
    with telemetry.span("devhost analyze", attributes={"classroom.tenant.id": TENANT, "classroom.video.id": video_id}):
        traceparent = telemetry.current_traceparent()
        if traceparent:
            telemetry.remember_trace(dependencies.cache(), telemetry.upload_trace_key(TENANT, video_id), traceparent)
        with LocalPlatform(run_worker=not stack) as platform, _worker_process(stack, log_file):
            dependencies.blobs().put_file(VIDEOS, blob_path, video)
            if not platform.watch_blobs:  # with real storage, devhost's blob watcher notices the upload
                platform.blob_created(VIDEOS, blob_path)
            status = _follow(platform, instance_id_for(TENANT, video_id))
    telemetry.flush()

    if status.runtime_status != "Completed":
        return _fail(f"the pipeline stopped ({status.runtime_status}): {status.output} (log: {log_file})", 1)
    if status.output.get("status") != "completed":
        return _fail(f"{video.name}: {status.output.get('reason', 'analysis failed')}", 1)
    analysis = dependencies.results().get_analysis(TENANT, video_id)
    text = json.dumps(analysis, indent=2, ensure_ascii=False)
    if out:
        out.write_text(text + "\n")
        print(f"devhost: wrote {out}", file=sys.stderr)
    else:
        print(text)
    print(_readable_summary(analysis), file=sys.stderr)
    return 0


@contextlib.contextmanager
def _worker_process(enabled: bool, log_file: Path):
    """``python -m gpu_worker`` beside devhost, sharing its environment; stopped with SIGTERM."""
    if not enabled:
        yield None
        return
    with open(log_file, "ab") as log:
        worker = subprocess.Popen([sys.executable, "-m", "gpu_worker"], stdout=log, stderr=log,
                                  env={**os.environ, "OTEL_SERVICE_NAME": WORKER_SERVICE_NAME})
    try:
        yield worker
    finally:
        stop_process(worker, timeout_s=30)


def _log_to_file(path: Path) -> Path:
    """Logs go to a file: stderr is for progress and the one line that matters."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("azure").setLevel(logging.WARNING)  # the SDKs log every HTTP request at INFO
    logging.getLogger("uamqp").setLevel(logging.WARNING)
    return path


def _follow(platform, instance_id: str, poll_s: float = 0.2):
    """Print each change of the orchestration's custom status until it ends."""
    last = None
    while True:
        status = platform.runtime.get_status(instance_id)
        if status is not None:
            custom = status.custom_status if isinstance(status.custom_status, dict) else {}
            line = _progress_line(custom)
            if line and line != last:
                print(line, file=sys.stderr, flush=True)
                last = line
            if status.runtime_status in ("Completed", "Failed", "Terminated"):
                return status
        time.sleep(poll_s)


def _progress_line(custom: dict) -> str:
    if not custom:
        return ""
    line = f"[{custom.get('progress', 0) * 100:3.0f}%] {custom.get('stage', '')}"
    if custom.get("chunks_total") and custom.get("stage") == "transcribing":
        line += f" {custom.get('chunks_done', 0)}/{custom['chunks_total']} chunks"
    return line


def _readable_summary(analysis: dict) -> str:
    metrics, summary = analysis["metrics"], analysis.get("summary", {})
    lines = [f"{analysis['duration_s']:.1f} s of video, {metrics['question_count']} questions by the educator "
             f"({metrics['oeq_count']} open, {metrics['ceq_count']} closed)"]
    for voice in analysis.get("speakers", []):
        pitch = "" if voice["median_pitch_hz"] is None else f", ~{voice['median_pitch_hz']:.0f} Hz"
        lines.append(f"  {voice['id']}: {voice['role']} ({voice['speech_s']:.1f} s of speech{pitch})")
    for q in analysis["questions"]:
        wait = "end" if q["wait_time_s"] is None else f"{q['wait_time_s']:.1f}s"
        answered = "answered" if q.get("answered") else ""
        lines.append(f"  {_clock(q['start'])}  {q.get('speaker', 'educator'):8}  {q['label']}  wait {wait:>5}  "
                     f"{answered:8}  {q['text']}")
    if summary.get("text"):
        lines.append(summary["text"])
    return "\n".join(lines)


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def _fail(message: str, code: int) -> int:
    print(f"devhost: {message}", file=sys.stderr)
    return code
