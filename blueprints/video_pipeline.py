"""The video pipeline: blob trigger → Durable orchestration → activities, and the
Service Bus triggers that turn worker results and dead letters into events.

The orchestrator is deterministic: no I/O, no clocks but ``current_utc_datetime``,
no settings read at replay time (the starter puts them in the input). Every side
effect is an activity. Progress is the orchestration's custom status.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

from blueprints import dependencies
from blueprints.pipeline_steps import (
    ORCHESTRATOR,
    PipelineInput,
    analyze_video_step,
    cut_chunk_step,
    dispatch_chunks_step,
    instance_id_for,
    mark_failed_step,
    persist_results_step,
    probe_video_step,
)
from gpu_worker.worker import TranscriptionJob
from pipeline.media import plan_chunks
from services.blobs import VIDEOS
from services.jobs import JOBS_QUEUE, RESULTS_QUEUE

log = logging.getLogger(__name__)
bp = df.Blueprint()

RUNNING = {df.OrchestrationRuntimeStatus.Running, df.OrchestrationRuntimeStatus.Pending,
           df.OrchestrationRuntimeStatus.Completed, df.OrchestrationRuntimeStatus.ContinuedAsNew}


# --- start ------------------------------------------------------------------------------


@bp.blob_trigger(arg_name="blob", path=VIDEOS + "/{name}", connection="AzureWebJobsStorage",
                 source=func.BlobSource.EVENT_GRID)
@bp.durable_client_input(client_name="client")
async def on_video_uploaded(blob: func.InputStream, client: df.DurableOrchestrationClient) -> None:
    name = blob.name.split("/", 1)[1] if blob.name.startswith(VIDEOS + "/") else blob.name
    try:
        tenant_id, filename = name.split("/", 1)
    except ValueError:
        log.error("ignoring blob %s: not under videos/{tenant}/", blob.name)
        return
    video_id = filename.rsplit(".", 1)[0]
    await start_pipeline(client, tenant_id, video_id, name)


async def start_pipeline(client: df.DurableOrchestrationClient, tenant_id: str, video_id: str,
                         blob_path: str) -> str:
    """Start the video's orchestration unless it is already running or done.

    ``start_new`` with an existing id silently replaces that instance, so a repeated
    blob event (Event Grid delivers at least once) must check first.
    """
    instance_id = instance_id_for(tenant_id, video_id)
    existing = await client.get_status(instance_id)
    if existing and existing.runtime_status in RUNNING:
        log.info("video %s already has orchestration %s (%s); not starting another",
                 video_id, instance_id, existing.runtime_status)
        return instance_id
    pipeline_input = PipelineInput.from_settings(dependencies.settings(), tenant_id, video_id, blob_path)
    await client.start_new(ORCHESTRATOR, instance_id, pipeline_input.to_dict())
    log.info("started %s for video %s", instance_id, video_id)
    return instance_id


# --- the orchestration ----------------------------------------------------------------------


@bp.orchestration_trigger(context_name="context", orchestration=ORCHESTRATOR)
def video_pipeline(context: df.DurableOrchestrationContext):
    job = PipelineInput.from_dict(context.get_input())
    video = job.video()
    started = context.current_utc_datetime
    timings: dict[str, float] = {}

    def seconds_since(moment) -> float:
        return round((context.current_utc_datetime - moment).total_seconds(), 3)

    context.set_custom_status(progress("probing", 0.02))
    probed = yield step(context, "probe_video", video)
    if not probed["ok"]:
        return (yield from fail(context, video, probed["reason"]))
    timings["probe_s"] = seconds_since(started)

    plans = plan_chunks(probed["duration_s"], job.chunk_seconds, job.chunk_overlap_seconds)
    context.set_custom_status(progress("chunking", 0.05, chunks_total=len(plans)))
    step_started = context.current_utc_datetime
    cut = yield context.task_all([step(context, "cut_chunk", {**video, "plan": p.to_dict()}) for p in plans])
    failed_cut = next((c for c in cut if not c["ok"]), None)
    if failed_cut:
        return (yield from fail(context, video, failed_cut["reason"]))
    timings["chunk_s"] = seconds_since(step_started)

    step_started = context.current_utc_datetime
    transcripts = yield from collect_transcripts(context, job, video, [c["index"] for c in cut])
    if isinstance(transcripts, str):
        return (yield from fail(context, video, transcripts))
    timings["transcribe_wall_s"] = seconds_since(step_started)
    timings["transcribe_s"] = round(sum(t.get("transcribe_s", 0.0) for t in transcripts.values()), 3)

    context.set_custom_status(progress("analyzing", 0.9, chunks_done=len(plans), chunks_total=len(plans)))
    step_started = context.current_utc_datetime
    analyzed = yield step(context, "analyze_video", {
        **video,
        "duration_s": probed["duration_s"],
        "chunks": [{"plan": p.to_dict(), "transcript_blob": transcripts[p.index]["transcript_blob"],
                    "model": transcripts[p.index].get("model", "")} for p in plans],
    })
    if not analyzed["ok"]:
        return (yield from fail(context, video, analyzed["reason"]))
    timings["analyze_s"] = seconds_since(step_started)

    context.set_custom_status(progress("saving", 0.97))
    timings["total_s"] = seconds_since(started)
    saved = yield step(context, "persist_results", {**video, "timings": timings})
    context.set_custom_status(progress("completed", 1.0))
    return {"status": "completed", "metrics": saved["metrics"]}


def collect_transcripts(context: df.DurableOrchestrationContext, job: PipelineInput, video: dict,
                        indexes: list[int]):
    """Dispatch every chunk, then gather "chunk-{i}" events raced against a deadline.

    A failed chunk (the worker dead-lettered it) is re-dispatched at once; when no
    result has arrived for ``chunk_timeout_s``, every missing chunk is re-dispatched; at most
    ``chunk_max_dispatches`` times, then the video fails with the reason.
    Returns {index: result} or the failure reason.
    """
    attempts = {i: 1 for i in indexes}
    # Every pending chunk always has an open wait *before* its job can finish: the
    # SDK mishandles an event that arrives while nothing waits for its name.
    waits = {i: context.wait_for_external_event(f"chunk-{i}") for i in indexes}
    yield step(context, "dispatch_chunks", {**video, "chunks": [{"index": i, "attempt": 1} for i in indexes]})
    done: dict[int, dict] = {}
    deadline = context.create_timer(context.current_utc_datetime + timedelta(seconds=job.chunk_timeout_s))
    while waits:
        winner = yield context.task_any([deadline, *waits.values()])
        if winner is deadline:
            late = sorted(waits)
            exhausted = [i for i in late if attempts[i] >= job.chunk_max_dispatches]
            if exhausted:
                return (f"chunk {exhausted[0] + 1} of {len(indexes)} was not transcribed after "
                        f"{attempts[exhausted[0]]} attempts: no result within {job.chunk_timeout_s:g} s")
            for i in late:
                attempts[i] += 1
            yield step(context, "dispatch_chunks", {
                **video, "chunks": [{"index": i, "attempt": attempts[i]} for i in late]})
            deadline = context.create_timer(context.current_utc_datetime + timedelta(seconds=job.chunk_timeout_s))
            continue

        index = next(i for i, task in waits.items() if task is winner)
        result = _event_payload(winner.result)
        if result.get("ok"):
            done[index] = result
            del waits[index]
            # The deadline measures silence, not the whole job: a long video's backlog
            # keeps workers busy for longer than chunk_timeout_s, but never silent.
            deadline.cancel()
            deadline = context.create_timer(context.current_utc_datetime + timedelta(seconds=job.chunk_timeout_s))
        elif result.get("attempt", 0) < attempts[index]:
            waits[index] = context.wait_for_external_event(f"chunk-{index}")  # stale failure of an older attempt
        elif attempts[index] < job.chunk_max_dispatches:
            attempts[index] += 1
            waits[index] = context.wait_for_external_event(f"chunk-{index}")
            yield step(context, "dispatch_chunks", {
                **video, "chunks": [{"index": index, "attempt": attempts[index]}]})
        else:
            deadline.cancel()
            return (f"chunk {index + 1} of {len(indexes)} could not be transcribed after "
                    f"{attempts[index]} attempts: {result.get('error', 'unknown error')}")
        context.set_custom_status(progress(
            "transcribing", 0.1 + 0.8 * len(done) / len(indexes), chunks_done=len(done), chunks_total=len(indexes)))
    deadline.cancel()
    return done


# Activities touch Blob, Service Bus, Cosmos: a brief outage of one of them should cost
# a retry, not the video. (Problems with the video itself are answers, not exceptions.)
STEP_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=2000, max_number_of_attempts=4)


def step(context: df.DurableOrchestrationContext, activity: str, payload):
    return context.call_activity_with_retry(activity, STEP_RETRY, payload)


def fail(context: df.DurableOrchestrationContext, video: dict, reason: str):
    yield step(context, "mark_failed", {**video, "reason": reason})
    context.set_custom_status(progress("failed", 1.0, error=reason))
    return {"status": "failed", "reason": reason}


def progress(stage: str, fraction: float, **details) -> dict:
    return {"stage": stage, "progress": round(fraction, 3), **details}


def _event_payload(value) -> dict:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return {"ok": False, "error": f"unreadable event payload {value[:80]!r}"}
    return value if isinstance(value, dict) else {"ok": False, "error": "unreadable event payload"}


# --- activities (the side effects) ------------------------------------------------------


@bp.activity_trigger(input_name="video", activity="probe_video")
def probe_video(video: dict) -> dict:
    return probe_video_step(video)


@bp.activity_trigger(input_name="chunk", activity="cut_chunk")
def cut_chunk(chunk: dict) -> dict:
    return cut_chunk_step(chunk)


@bp.activity_trigger(input_name="dispatch", activity="dispatch_chunks")
def dispatch_chunks(dispatch: dict) -> int:
    return dispatch_chunks_step(dispatch)


@bp.activity_trigger(input_name="analysis", activity="analyze_video")
def analyze_video(analysis: dict) -> dict:
    return analyze_video_step(analysis)


@bp.activity_trigger(input_name="video", activity="persist_results")
def persist_results(video: dict) -> dict:
    return persist_results_step(video)


@bp.activity_trigger(input_name="failure", activity="mark_failed")
def mark_failed(failure: dict) -> bool:
    return mark_failed_step(failure)


# --- worker results → orchestration events ----------------------------------------------


@bp.service_bus_queue_trigger(arg_name="message", queue_name=RESULTS_QUEUE, connection="ServiceBusConnection")
@bp.durable_client_input(client_name="client")
async def on_transcription_result(message: func.ServiceBusMessage, client: df.DurableOrchestrationClient) -> None:
    body = json.loads(message.get_body())
    await _raise_chunk_event(client, body)


@bp.service_bus_queue_trigger(arg_name="message", queue_name=JOBS_QUEUE + "/$DeadLetterQueue",
                              connection="ServiceBusConnection")
@bp.durable_client_input(client_name="client")
async def on_dead_lettered_job(message: func.ServiceBusMessage, client: df.DurableOrchestrationClient) -> None:
    """A job the worker gave up on (or Service Bus did): tell the orchestration why."""
    try:
        job = TranscriptionJob.from_body(json.loads(message.get_body()))
    except (ValueError, TypeError) as error:
        log.error("dead-lettered job %s is unreadable, dropping it: %s", message.message_id, error)
        return
    reason = " - ".join(r for r in (message.dead_letter_reason, message.dead_letter_error_description) if r)
    await _raise_chunk_event(client, {
        "job_id": job.job_id, "instance_id": job.instance_id, "index": job.index, "attempt": job.attempt,
        "ok": False, "error": reason or "the job was dead-lettered",
    })


async def _raise_chunk_event(client: df.DurableOrchestrationClient, body: dict) -> None:
    try:
        await client.raise_event(body["instance_id"], f"chunk-{body['index']}", body)
    except Exception as error:  # noqa: BLE001 - a deleted video's late result must not be retried forever
        log.warning("dropping result for %s chunk %s: %s", body.get("instance_id"), body.get("index"), error)
