"""The video routes: create an upload, follow its progress, read its analysis, delete it.

The client POSTs to create a video, PUTs the file to ``upload_url`` (a SAS URL in
Azure, devhost's blob endpoint locally) and the blob landing starts the pipeline.
The tenant is the signed-in caller's (blueprints/http.py admits the request); another
tenant's video id answers 404 exactly like one that does not exist.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime, timezone

import azure.durable_functions as df
import azure.functions as func

from blueprints import contract, dependencies
from blueprints.http import ANY_METHOD, HttpError, current_call, endpoint, json_response
from blueprints.pipeline_steps import chunk_folder, instance_id_for, summary_cache_key
from services.blobs import CHUNKS, VIDEOS
from services.cache import CacheUnavailable
from services.results import VideoRecord

bp = df.Blueprint()

# Azure Blob Storage refuses a PUT to a SAS URL without the blob type; devhost accepts it either way.
UPLOAD_HEADERS = {"x-ms-blob-type": "BlockBlob"}
_VIDEO_ID = re.compile(contract.VIDEO_ID_PATTERN)


@bp.route(route="v1/videos", methods=ANY_METHOD)
@endpoint(contract.CREATE_VIDEO, contract.LIST_VIDEOS)
def videos(req: func.HttpRequest) -> func.HttpResponse:
    call = current_call()
    if call.operation is contract.LIST_VIDEOS:
        records = dependencies.results().recent_videos(call.tenant_id, limit=50)
        return json_response({"videos": [status_view(r) for r in records]})
    return create_upload(call.body.filename, call.tenant_id, call.user_id)


def create_upload(filename: str, tenant_id: str, user_id: str) -> func.HttpResponse:
    extension, video_id = filename.rsplit(".", 1)[-1].lower(), uuid.uuid4().hex
    blob_path = f"{tenant_id}/{video_id}.{extension}"
    settings = dependencies.settings()
    expires_at = time.time() + settings.upload_url_ttl_s
    dependencies.results().create_video(VideoRecord(tenant_id=tenant_id, video_id=video_id, filename=filename,
                                                    blob_path=blob_path, created_by=user_id))
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
        running = await client.get_status(instance_id_for(tenant_id, video_id))
        custom = running.custom_status if running and isinstance(running.custom_status, dict) else None
        if custom:
            view.update(status="processing", stage=custom.get("stage", view["stage"]),
                        progress=custom.get("progress", view["progress"]),
                        chunks_done=custom.get("chunks_done"), chunks_total=custom.get("chunks_total"))
    return json_response(view)


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
    await stop_pipeline(client, tenant_id, video_id)
    for path in uploaded:
        blobs.delete(VIDEOS, path)
    blobs.delete_prefix(CHUNKS, chunk_folder({"tenant_id": tenant_id, "video_id": video_id}) + "/")
    results.delete_video(tenant_id, video_id)
    try:
        dependencies.cache().delete([summary_cache_key(tenant_id, video_id)])
    except CacheUnavailable:
        pass  # the entry expires on its own
    return json_response({"video_id": video_id, "deleted": True})


async def stop_pipeline(client: df.DurableOrchestrationClient, tenant_id: str, video_id: str) -> None:
    """Terminate the video's orchestration if it runs and purge its history (it holds the tenant's data)."""
    instance_id = instance_id_for(tenant_id, video_id)
    running = await client.get_status(instance_id)
    if running and running.runtime_status in (df.OrchestrationRuntimeStatus.Running,
                                              df.OrchestrationRuntimeStatus.Pending):
        await client.terminate(instance_id, "video deleted")
    if running and running.runtime_status is not None:
        await client.purge_instance_history(instance_id)


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
    }


def iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, tz=timezone.utc).isoformat(timespec="seconds")
