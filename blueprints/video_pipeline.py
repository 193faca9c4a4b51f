"""The video pipeline: blob trigger → Durable orchestration → activities, and the
Service Bus triggers that turn worker results and dead letters into events.

The orchestrator is deterministic: no I/O, no clocks but ``current_utc_datetime``,
no settings read at replay time (the starter puts them in the input). Every side
effect is an activity. Progress is the orchestration's custom status.
"""

from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func
from azure.durable_functions.models.Task import TaskState
from opentelemetry.trace import SpanKind

from blueprints import dependencies
from blueprints.pipeline_steps import (
    BATCH_ORCHESTRATOR,
    ORCHESTRATOR,
    BackoffRetryOptions,
    BatchInput,
    PipelineInput,
    analyze_video_step,
    batch_instance_id,
    chunk_folder,
    cut_and_dispatch_step,
    dispatch_chunks_step,
    instance_id_for,
    mark_failed_step,
    persist_results_step,
    probe_video_step,
)
from gpu_worker.worker import TranscriptionJob
from pipeline.media import plan_chunks
from services import telemetry
from services.blobs import CHUNKS, VIDEOS
from services.jobs import JOBS_QUEUE, RESULTS_QUEUE

log = logging.getLogger(__name__)
bp = df.Blueprint()

BLOB_CREATED = "Microsoft.Storage.BlobCreated"


# --- start ------------------------------------------------------------------------------


@bp.event_grid_trigger(arg_name="event")
@bp.durable_client_input(client_name="client")
async def on_video_uploaded(event: func.EventGridEvent, client: df.DurableOrchestrationClient) -> None:
    """A blob landed in the videos container (Event Grid's BlobCreated).

    Only the event's subject reaches the app: the video itself is read by the activities,
    through the storage SDK, never loaded into this function's memory.
    """
    uploaded = uploaded_video(event.subject, event.event_type)
    if uploaded is None:
        log.info("ignoring event %s for %s", event.event_type, event.subject)
        return
    tenant_id, video_id, blob_path = uploaded
    upload_trace = telemetry.remembered_trace(dependencies.cache(), telemetry.upload_trace_key(tenant_id, video_id))
    with telemetry.span("video uploaded", parent={"traceparent": upload_trace}, kind=SpanKind.CONSUMER,
                        attributes={"classroom.tenant.id": tenant_id, "classroom.video.id": video_id}):
        await start_pipeline(client, tenant_id, video_id, blob_path)


def uploaded_video(subject: str, event_type: str) -> tuple[str, str, str] | None:
    """(tenant, video id, blob path) of a BlobCreated subject under videos/{tenant}/{id}.{ext}."""
    prefix = f"/blobServices/default/containers/{VIDEOS}/blobs/"
    if event_type != BLOB_CREATED or not subject.startswith(prefix):
        return None
    blob_path = subject[len(prefix):]
    tenant_id, _, filename = blob_path.partition("/")
    video_id = filename.rsplit(".", 1)[0]
    if not tenant_id or not video_id or "/" in filename:
        return None
    return tenant_id, video_id, blob_path


async def start_pipeline(client: df.DurableOrchestrationClient, tenant_id: str, video_id: str,
                         blob_path: str) -> str | None:
    """Start the video's orchestration once, for a video the API created and nobody deleted.

    Event Grid delivers at least once, late and twice: a repeated event must neither
    restart a finished video nor bring back a deleted one. The video record decides (only
    a ``queued`` video starts); two racing deliveries are settled by the extension, which
    refuses to start an instance id that is already running.
    """
    record = dependencies.results().get_video(tenant_id, video_id)
    if record is None or record.status != "queued":
        log.info("video %s is %s; not starting its pipeline", video_id, record.status if record else "unknown")
        return None
    instance_id = instance_id_for(tenant_id, video_id)
    existing = await client.get_status(instance_id)
    if existing and existing.runtime_status is not None:
        log.info("video %s already has orchestration %s (%s)", video_id, instance_id, existing.runtime_status)
        return instance_id
    pipeline_input = replace(PipelineInput.from_settings(dependencies.settings(), tenant_id, video_id, blob_path,
                                                         speakers=record.speakers),
                             traceparent=telemetry.current_traceparent())
    try:
        await client.start_new(ORCHESTRATOR, instance_id, pipeline_input.to_dict())
    except Exception as error:  # noqa: BLE001 - the SDK raises a bare Exception with the host's answer
        if "already exists" not in str(error):
            raise
        log.info("video %s: a concurrent delivery started %s first", video_id, instance_id)
        return instance_id
    log.info("started %s for video %s", instance_id, video_id)
    return instance_id


# --- the orchestration ----------------------------------------------------------------------


@bp.orchestration_trigger(context_name="context", orchestration=ORCHESTRATOR)
def video_pipeline(context: df.DurableOrchestrationContext):
    """Probe, transcribe in batches, analyse, persist. Whatever goes wrong, the video ends
    ``failed`` with a reason a person can act on: never stuck in ``processing``."""
    job = PipelineInput.from_dict(context.get_input())
    try:
        return (yield from analyse_video(context, job))
    except Exception as error:  # an activity out of retries, a failed batch, a bug
        return (yield from fail(context, job.video(), f"the analysis stopped unexpectedly: {_first_line(error)}"))


def analyse_video(context: df.DurableOrchestrationContext, job: PipelineInput):
    video = job.video()
    started = context.current_utc_datetime
    timings: dict[str, float] = {}

    def seconds_since(moment) -> float:
        return round((context.current_utc_datetime - moment).total_seconds(), 3)

    context.set_custom_status(progress("probing", 0.02))
    probed = yield step(context, "probe_video", video)
    if probed.get("deleted"):
        return {"status": "deleted"}
    if not probed["ok"]:
        return (yield from fail(context, video, probed["reason"]))
    timings["probe_s"] = seconds_since(started)

    plans = plan_chunks(probed["duration_s"], job.chunk_seconds, job.chunk_overlap_seconds)
    step_started = context.current_utc_datetime
    transcripts = yield from transcribe_in_batches(context, job, plans)
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
    if not saved["ok"]:
        return {"status": "deleted"}
    context.set_custom_status(progress("completed", 1.0))
    return {"status": "completed", "metrics": saved["metrics"]}


def transcribe_in_batches(context: df.DurableOrchestrationContext, job: PipelineInput, plans: list):
    """One sub-orchestration per batch of chunks, all at once.

    A 3-hour video has ~360 chunks: one orchestrator waiting on all of them would replay a
    history that grows with every result, and race every remaining wait on every event
    (quadratic work). Batches keep each history small; this orchestrator replays once
    per batch. Returns {index: result} or the failure reason.
    """
    batches = [plans[i:i + job.chunks_per_batch] for i in range(0, len(plans), job.chunks_per_batch)]
    context.set_custom_status(progress("transcribing", 0.05, chunks_done=0, chunks_total=len(plans),
                                       batches=len(batches)))
    pending = [context.call_sub_orchestrator(BATCH_ORCHESTRATOR, BatchInput.for_batch(job, batch).to_dict(),
                                             batch_instance_id(context.instance_id, number))
               for number, batch in enumerate(batches)]
    transcripts: dict[int, dict] = {}
    while pending:
        finished = yield context.task_any(pending)
        pending.remove(finished)
        if finished.state is TaskState.FAILED:
            return f"transcription stopped unexpectedly: {_first_line(finished.result)}"
        outcome = finished.result
        if not outcome["ok"]:
            return outcome["reason"]
        transcripts.update({int(index): result for index, result in outcome["transcripts"].items()})
        context.set_custom_status(progress(
            "transcribing", 0.1 + 0.8 * len(transcripts) / len(plans), chunks_done=len(transcripts),
            chunks_total=len(plans), batches=len(batches)))
    return transcripts


@bp.orchestration_trigger(context_name="context", orchestration=BATCH_ORCHESTRATOR)
def transcribe_batch(context: df.DurableOrchestrationContext):
    """Cut and dispatch each chunk of the batch, then gather its results.

    Each chunk's job is sent as soon as its audio is cut. Results come back as events
    named for the chunk *and the attempt*: the Durable SDK hands an event to every later
    wait of the same name, so a name is never awaited twice. A dead-lettered attempt is
    re-dispatched at once; when no result at all has come for ``chunk_timeout_s`` (plus
    the worker's start-up allowance before the first), the missing chunks are
    re-dispatched; after ``chunk_max_dispatches`` the batch fails with the reason.
    A late success of an older attempt is as good as the newest.
    """
    batch = BatchInput.from_dict(context.get_input())
    video, total = batch.video, len(batch.plans)
    attempts = {plan["index"]: 1 for plan in batch.plans}
    pending: list[tuple] = [(context.wait_for_external_event(chunk_event(i, 1)), "result", i, 1) for i in attempts]
    pending += [(step(context, "cut_and_dispatch", {**video, "instance_id": context.instance_id, "plan": plan,
                                                     "attempt": 1}), "cut", plan["index"], 1)
                for plan in batch.plans]
    done: dict[int, dict] = {}
    dispatched: set[int] = set()
    heard_since_deadline = False
    deadline = context.create_timer(context.current_utc_datetime
                                    + timedelta(seconds=batch.chunk_timeout_s + batch.worker_start_s))
    while len(done) < total:
        winner = yield context.task_any([deadline, *(task for task, *_ in pending)])
        if winner is deadline:
            if not heard_since_deadline:  # silence: whatever was dispatched and not heard from is lost
                lost = sorted(i for i in dispatched if i not in done)
                exhausted = [i for i in lost if attempts[i] >= batch.chunk_max_dispatches]
                if exhausted:
                    return failure(f"chunk {exhausted[0] + 1} of {batch.chunks_in_video} was not transcribed "
                                   f"after {attempts[exhausted[0]]} attempts: no result within "
                                   f"{batch.chunk_timeout_s:g} s")
                outcome = yield from redispatch(context, batch, attempts, pending, lost)
                if not outcome["ok"]:
                    return failure(outcome["reason"])
            heard_since_deadline = False
            deadline = context.create_timer(context.current_utc_datetime + timedelta(seconds=batch.chunk_timeout_s))
            continue

        entry = next(e for e in pending if e[0] is winner)
        pending.remove(entry)
        _, kind, index, attempt = entry
        if winner.state is TaskState.FAILED:
            return failure(f"chunk {index + 1} could not be prepared: {_first_line(winner.result)}")
        if kind == "cut":
            if not winner.result["ok"]:
                return failure(winner.result["reason"])
            dispatched.add(index)
            continue
        if index in done:
            continue  # a second success (an older attempt, or a redelivery): the first one counts
        result = _event_payload(winner.result)
        if result.get("ok"):
            done[index] = {key: result.get(key) for key in ("transcript_blob", "model", "transcribe_s")}
            pending = [e for e in pending if not (e[1] == "result" and e[2] == index)]
            heard_since_deadline = True
            context.set_custom_status({"chunks_done": len(done), "chunks_total": total})
        elif attempt < attempts[index]:
            continue  # an older attempt's failure: a newer one is already on its way
        elif attempts[index] < batch.chunk_max_dispatches:
            outcome = yield from redispatch(context, batch, attempts, pending, [index])
            if not outcome["ok"]:
                return failure(outcome["reason"])
        else:
            return failure(f"chunk {index + 1} of {batch.chunks_in_video} could not be transcribed after "
                           f"{attempts[index]} attempts: {result.get('error', 'unknown error')}")
    deadline.cancel()
    return {"ok": True, "transcripts": {str(i): result for i, result in done.items()}}


def redispatch(context: df.DurableOrchestrationContext, batch: "BatchInput", attempts: dict, pending: list,
               indexes: list[int]):
    """Send the next attempt of each chunk, its wait opened first (names are per attempt)."""
    for i in indexes:
        attempts[i] += 1
        pending.append((context.wait_for_external_event(chunk_event(i, attempts[i])), "result", i, attempts[i]))
    return (yield step(context, "dispatch_chunks", {
        **batch.video, "instance_id": context.instance_id,
        "chunks": [{"index": i, "attempt": attempts[i]} for i in indexes]}))


def chunk_event(index: int, attempt: int) -> str:
    return f"chunk-{index}-attempt-{attempt}"


def failure(reason: str) -> dict:
    return {"ok": False, "reason": reason}


# Activities touch Blob, Service Bus, Cosmos. An outage of a minute (a failover, a
# throttling storm) should cost retries, not the video: 2, 4, 8, 16, 30, 30, 30 s of
# back-off between 8 attempts ride out about two minutes. (Problems with the video itself
# are answers, not exceptions, and are never retried.)
STEP_RETRY = BackoffRetryOptions(first_retry_interval_in_milliseconds=2000, max_number_of_attempts=8,
                                 backoff_coefficient=2.0, max_retry_interval_in_milliseconds=30_000)


def step(context: df.DurableOrchestrationContext, activity: str, payload):
    return context.call_activity_with_retry(activity, STEP_RETRY, payload)


def fail(context: df.DurableOrchestrationContext, video: dict, reason: str):
    yield step(context, "mark_failed", {**video, "reason": reason})
    context.set_custom_status(progress("failed", 1.0, error=reason))
    return {"status": "failed", "reason": reason}


def progress(stage: str, fraction: float, **details) -> dict:
    return {"stage": stage, "progress": round(fraction, 3), **details}


def _first_line(error) -> str:
    """An activity's failure arrives as "Reason \n Details(traceback)": keep what a person can read."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text[:300]


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
    with activity_span("probe_video", video):
        return probe_video_step(video)


@bp.activity_trigger(input_name="chunk", activity="cut_and_dispatch")
def cut_and_dispatch(chunk: dict) -> dict:
    with activity_span("cut_and_dispatch", chunk):
        return cut_and_dispatch_step(chunk)


@bp.activity_trigger(input_name="dispatch", activity="dispatch_chunks")
def dispatch_chunks(dispatch: dict) -> dict:
    with activity_span("dispatch_chunks", dispatch):
        return dispatch_chunks_step(dispatch)


@bp.activity_trigger(input_name="analysis", activity="analyze_video")
def analyze_video(analysis: dict) -> dict:
    with activity_span("analyze_video", analysis):
        return analyze_video_step(analysis)


@bp.activity_trigger(input_name="video", activity="persist_results")
def persist_results(video: dict) -> dict:
    with activity_span("persist_results", video) as span:
        document = _analysis_document(video)
        result = persist_results_step(video)
        if result.get("ok") and document is not None:
            telemetry.record_video(document, video["tenant_id"])
        else:
            telemetry.mark_failed(span, "not persisted")
        return result


def _analysis_document(video: dict) -> dict | None:
    """The analysis about to be stored, for the per-video metrics (None if it is not there)."""
    try:
        return json.loads(dependencies.blobs().get_bytes(CHUNKS, f"{chunk_folder(video)}/analysis.json"))
    except Exception:  # noqa: BLE001 - metrics never fail the step; the step reports a missing analysis itself
        return None


@contextmanager
def activity_span(activity: str, payload: dict):
    """A span for one activity run, a child of the upload's trace carried in the payload."""
    with telemetry.span(activity, parent=payload, attributes={
            "classroom.activity": activity, "classroom.tenant.id": payload.get("tenant_id"),
            "classroom.video.id": payload.get("video_id"), "classroom.chunk.index": _chunk_index(payload)}) as span:
        yield span


def _chunk_index(payload: dict) -> int | None:
    plan = payload.get("plan")
    return plan.get("index") if isinstance(plan, dict) else None


@bp.activity_trigger(input_name="failure", activity="mark_failed")
def mark_failed(failure: dict) -> bool:
    with activity_span("mark_failed", failure):
        marked = mark_failed_step(failure)
        telemetry.instruments().videos.add(1, {"classroom.outcome": "failed"})  # the failure-rate alert's numerator
        return marked


# --- worker results → orchestration events ----------------------------------------------


@bp.service_bus_queue_trigger(arg_name="message", queue_name=RESULTS_QUEUE, connection="ServiceBusConnection")
@bp.durable_client_input(client_name="client")
async def on_transcription_result(message: func.ServiceBusMessage, client: df.DurableOrchestrationClient) -> None:
    body = json.loads(message.get_body())
    with telemetry.span("transcription result", parent=message.application_properties, kind=SpanKind.CONSUMER,
                        attributes=_job_attributes(body)):
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
    telemetry.instruments().dead_letters.add(1, {"messaging.destination.name": JOBS_QUEUE,
                                                 "classroom.dead_letter.reason": message.dead_letter_reason or ""})
    body = {"job_id": job.job_id, "instance_id": job.instance_id, "index": job.index, "attempt": job.attempt,
            "ok": False, "error": reason or "the job was dead-lettered"}
    with telemetry.span("transcription dead-lettered", parent=message.application_properties,
                        kind=SpanKind.CONSUMER, attributes=_job_attributes(body)) as span:
        telemetry.mark_failed(span, reason)
        await _raise_chunk_event(client, body)


def _job_attributes(body: dict) -> dict:
    return {"messaging.system": "servicebus", "classroom.job.id": body.get("job_id"),
            "classroom.chunk.index": body.get("index"), "classroom.job.attempt": body.get("attempt")}


async def _raise_chunk_event(client: df.DurableOrchestrationClient, body: dict) -> None:
    try:
        await client.raise_event(body["instance_id"], chunk_event(body["index"], body.get("attempt", 1)), body)
    except Exception as error:  # noqa: BLE001 - a deleted video's late result must not be retried forever
        log.warning("dropping result for %s chunk %s: %s", body.get("instance_id"), body.get("index"), error)
