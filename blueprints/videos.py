"""The video routes: create an upload, follow its progress, read its analysis, delete it.

The client POSTs to create a video, PUTs the file to ``upload_url`` (a SAS URL in
Azure, devhost's blob endpoint locally) and the blob landing starts the pipeline.
The tenant is the signed-in caller's (blueprints/http.py admits the request); another
tenant's video id answers 404 exactly like one that does not exist.
"""

from __future__ import annotations

import asyncio
import mimetypes
import re
import time
import uuid
from datetime import datetime, timezone

import azure.durable_functions as df
import azure.functions as func

from blueprints import contract, dependencies
from blueprints.http import ANY_METHOD, HttpError, current_call, endpoint, json_response
from blueprints.pipeline_steps import batch_instance_id, chunk_folder, instance_id_for, summary_cache_key
from services.blobs import CHUNKS, VIDEOS, BlobNotFound
from services.cache import CacheUnavailable
from services.results import VideoNotFound, VideoRecord

bp = df.Blueprint()

# Azure Blob Storage refuses a PUT to a SAS URL without the blob type; devhost accepts it either way.
UPLOAD_HEADERS = {"x-ms-blob-type": "BlockBlob"}
_VIDEO_ID = re.compile(contract.VIDEO_ID_PATTERN)
RUNNING = (df.OrchestrationRuntimeStatus.Running, df.OrchestrationRuntimeStatus.Pending)


@bp.route(route="v1/videos", methods=ANY_METHOD)
@endpoint(contract.CREATE_VIDEO, contract.LIST_VIDEOS)
def videos(req: func.HttpRequest) -> func.HttpResponse:
    call = current_call()
    if call.operation is contract.LIST_VIDEOS:
        records = dependencies.results().recent_videos(call.tenant_id, limit=50)
        return json_response({"videos": [status_view(r) for r in records]})
    return create_upload(call.body, call.tenant_id, call.user_id)


def create_upload(request: contract.CreateUpload, tenant_id: str, user_id: str) -> func.HttpResponse:
    filename = request.filename
    extension, video_id = filename.rsplit(".", 1)[-1].lower(), uuid.uuid4().hex
    blob_path = f"{tenant_id}/{video_id}.{extension}"
    settings = dependencies.settings()
    expires_at = time.time() + settings.upload_url_ttl_s
    dependencies.results().create_video(VideoRecord(tenant_id=tenant_id, video_id=video_id, filename=filename,
                                                    blob_path=blob_path, created_by=user_id, title=request.title,
                                                    educator=request.educator, classroom=request.classroom,
                                                    recorded_on=request.recorded_on,
                                                    speakers=request.speakers.model_dump() if request.speakers
                                                    else None))
    return json_response(
        {"video_id": video_id,
         "upload_url": dependencies.blobs().upload_url(VIDEOS, blob_path, expires_at),
         "upload_headers": UPLOAD_HEADERS,
         "expires_at": iso(expires_at)},
        status=201,
    )


@bp.route(route="v1/videos/{video_id}", methods=ANY_METHOD)
@bp.durable_client_input(client_name="client")
@endpoint(contract.GET_VIDEO, contract.DELETE_VIDEO)
async def video(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    call = current_call()
    tenant_id, video_id = call.tenant_id, video_id_of(req)
    if call.operation is contract.DELETE_VIDEO:
        return await delete_video(client, tenant_id, video_id)
    record = existing_video(tenant_id, video_id)
    view = status_view(record)
    if record.status in ("queued", "processing"):
        view.update(await live_progress(client, tenant_id, video_id, record))
    return json_response(view)


async def live_progress(client: df.DurableOrchestrationClient, tenant_id: str, video_id: str,
                        record: VideoRecord) -> dict:
    """What the orchestration says of a video its record calls queued or processing.

    An orchestration that Failed or was Terminated can no longer update the record (a
    crash on replay, an activity out of retries, a failure to record the failure): the
    video is failed, with the platform's reason, and the record is repaired to say so.
    """
    running = await client.get_status(instance_id_for(tenant_id, video_id))
    state = running.runtime_status if running else None
    if state in (df.OrchestrationRuntimeStatus.Failed, df.OrchestrationRuntimeStatus.Terminated):
        reason = f"the analysis stopped unexpectedly ({state.value}): {first_line(running.output)}"
        try:
            dependencies.results().update_video(tenant_id, video_id, status="failed", stage="failed", error=reason)
        except VideoNotFound:
            raise HttpError(404, "not_found", f"no video {video_id}") from None
        return {"status": "failed", "stage": "failed", "progress": 1.0, "error": reason}
    custom = running.custom_status if running and isinstance(running.custom_status, dict) else None
    if not custom:
        return {}
    view = {"status": "processing", "stage": custom.get("stage", record.stage),
            "progress": custom.get("progress", record.progress),
            "chunks_done": custom.get("chunks_done"), "chunks_total": custom.get("chunks_total")}
    if custom.get("stage") == "transcribing" and custom.get("batches"):
        view.update(await batch_progress(client, running.instance_id, custom))
    return view


async def batch_progress(client: df.DurableOrchestrationClient, instance_id: str, custom: dict) -> dict:
    """Chunks done so far, counted in the transcription batches (the parent hears of a
    batch only when it finishes)."""
    statuses = await asyncio.gather(*(client.get_status(batch_instance_id(instance_id, n))
                                      for n in range(custom["batches"])))
    done = sum((s.custom_status or {}).get("chunks_done", 0) if s and isinstance(s.custom_status, dict) else 0
               for s in statuses)
    total = custom.get("chunks_total") or 1
    done = max(done, custom.get("chunks_done") or 0)
    return {"chunks_done": done, "progress": round(0.1 + 0.8 * done / total, 3)}


def first_line(output) -> str:
    text = str(output or "no reason recorded").strip()
    return (text.splitlines()[0] if text else "no reason recorded")[:300]


@bp.route(route="v1/videos/{video_id}/analysis", methods=ANY_METHOD)
@endpoint(contract.GET_ANALYSIS)
def video_analysis(req: func.HttpRequest) -> func.HttpResponse:
    tenant_id, video_id = current_call().tenant_id, video_id_of(req)
    record = existing_video(tenant_id, video_id)
    if record.status == "failed":
        raise HttpError(409, "video_failed", f"the video could not be analysed: {record.error}")
    analysis = dependencies.results().get_analysis(tenant_id, video_id) if record.status == "completed" else None
    if analysis is None:
        raise HttpError(409, "not_ready", f"the analysis is not ready: the video is {record.status} ({record.stage}); "
                                          f"poll GET /api/v1/videos/{video_id}")
    return json_response(analysis)


# Long enough to watch a lesson through (each range request is checked), short enough that a
# copied link soon stops working.
MEDIA_URL_TTL_S = 2 * 3600


@bp.route(route="v1/videos/{video_id}/media", methods=ANY_METHOD)
@endpoint(contract.GET_MEDIA)
def video_media(req: func.HttpRequest) -> func.HttpResponse:
    tenant_id, video_id = current_call().tenant_id, video_id_of(req)
    record = existing_video(tenant_id, video_id)
    expires_at = time.time() + MEDIA_URL_TTL_S
    try:
        url = dependencies.blobs().media_url(VIDEOS, record.blob_path, expires_at)
    except BlobNotFound:
        raise HttpError(404, "not_found", f"video {video_id} has no recording yet (the upload has not landed)") from None
    kind = mimetypes.guess_type(record.filename)[0] or "application/octet-stream"
    return json_response(contract.MediaUrl(url=url, expires_at=iso(expires_at), content_type=kind))


async def delete_video(client: df.DurableOrchestrationClient, tenant_id: str, video_id: str) -> func.HttpResponse:
    """Stop the pipeline if it runs, then remove the upload, chunks, results and cache entries.
    Coaches delete the videos they uploaded; admins any video of their organisation."""
    results, blobs = dependencies.results(), dependencies.blobs()
    record = results.get_video(tenant_id, video_id)
    uploaded = blobs.list(VIDEOS, f"{tenant_id}/{video_id}.")
    if record is None and not uploaded:
        raise HttpError(404, "not_found", f"no video {video_id}")
    call = current_call()
    if not call.is_admin() and (record is None or record.created_by != call.user_id):
        raise HttpError(403, "forbidden", "coaches delete only the videos they uploaded; ask an admin")
    # The record goes first: every activity checks it, so nothing in flight writes again.
    results.delete_video(tenant_id, video_id)
    await stop_orchestrations(client, instance_id_for(tenant_id, video_id))
    for path in uploaded:
        blobs.delete(VIDEOS, path)
    blobs.delete_prefix(CHUNKS, chunk_folder({"tenant_id": tenant_id, "video_id": video_id}) + "/")
    try:
        dependencies.cache().delete([summary_cache_key(tenant_id, video_id)])
    except CacheUnavailable:
        pass  # the entry expires on its own
    return json_response({"video_id": video_id, "deleted": True})


async def stop_orchestrations(client: df.DurableOrchestrationClient, instance_id: str) -> None:
    """Terminate the video's orchestration and its batches (termination does not reach
    sub-orchestrations), then purge what has stopped. Termination is a message: an
    instance still running after a short wait is left to stop, and its activities find
    the video gone."""
    parent = await client.get_status(instance_id)
    if parent is None or parent.runtime_status is None:
        return
    batches = (parent.custom_status or {}).get("batches", 0) if isinstance(parent.custom_status, dict) else 0
    ids = [instance_id, *(batch_instance_id(instance_id, n) for n in range(batches))]
    for each in ids:
        try:
            await client.terminate(each, "video deleted")
        except Exception:  # noqa: BLE001 - already finished, or never started
            pass
    for each in ids:
        for _ in range(20):
            status = await client.get_status(each)
            if status is None or status.runtime_status not in RUNNING:
                break
            await asyncio.sleep(0.1)
        await client.purge_instance_history(each)


def video_id_of(req: func.HttpRequest) -> str:
    video_id = req.route_params.get("video_id", "")
    if not _VIDEO_ID.fullmatch(video_id):
        raise HttpError(404, "not_found", f"no video {video_id[:64]!r}")
    return video_id


def existing_video(tenant_id: str, video_id: str) -> VideoRecord:
    record = dependencies.results().get_video(tenant_id, video_id)
    if record is None:
        raise HttpError(404, "not_found", f"no video {video_id}")
    return record


def status_view(record: VideoRecord) -> dict:
    return {
        "video_id": record.video_id,
        "status": record.status,
        "stage": record.stage,
        "progress": record.progress,
        "error": record.error,
        "filename": record.filename,
        "duration_s": record.duration_s,
        "metrics": record.metrics,
        "created_at": iso(record.created_at),
        "updated_at": iso(record.updated_at),
        "title": record.title,
        "educator": record.educator,
        "classroom": record.classroom,
        "recorded_on": record.recorded_on,
    }


def iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, tz=timezone.utc).isoformat(timespec="seconds")
