"""The video routes: create an upload, follow its progress, read its analysis, delete it.

The client POSTs to create a video, PUTs the file to ``upload_url`` (a SAS URL in
Azure, devhost's blob endpoint locally) and the blob landing starts the pipeline.
The tenant comes from the ``X-Tenant-Id`` header (in Azure, set it from the
caller's identity in front of the app; see the README).
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime, timezone

import azure.durable_functions as df
import azure.functions as func

from blueprints import dependencies
from blueprints.http import ANY_METHOD, HttpError, endpoint, json_body, json_response
from blueprints.pipeline_steps import chunk_folder, instance_id_for, summary_cache_key
from services.blobs import CHUNKS, VIDEOS
from services.cache import CacheUnavailable
from services.results import VideoRecord

bp = df.Blueprint()

DEFAULT_TENANT = "default"
VIDEO_EXTENSIONS = ("mp4", "mov", "m4v", "webm", "mkv", "avi", "mpeg", "wav", "mp3", "m4a", "aac", "ogg", "flac")
# Azure Blob Storage refuses a PUT to a SAS URL without the blob type; devhost accepts it either way.
UPLOAD_HEADERS = {"x-ms-blob-type": "BlockBlob"}
_TENANT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_VIDEO_ID = re.compile(r"[a-f0-9]{32}")


@bp.route(route="v1/videos", methods=ANY_METHOD)
@endpoint("POST", "GET")
def videos(req: func.HttpRequest) -> func.HttpResponse:
    if req.method.upper() == "GET":
        records = dependencies.results().recent_videos(tenant_of(req), limit=50)
        return json_response({"videos": [status_view(r) for r in records]})
    return create_upload(req)


def create_upload(req: func.HttpRequest) -> func.HttpResponse:
    payload = json_body(req) if (req.get_body() or b"").strip() else {}
    filename = payload.get("filename", "video.mp4")
    if not isinstance(filename, str) or not filename.strip():
        raise HttpError(400, "invalid_request", '"filename" must be a non-empty string, e.g. "lesson.mp4"')
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in VIDEO_EXTENSIONS:
        raise HttpError(400, "unsupported_file_type",
                        f"{filename!r} is not a supported video or audio file ({', '.join(VIDEO_EXTENSIONS)})")
    tenant_id, video_id = tenant_of(req), uuid.uuid4().hex
    blob_path = f"{tenant_id}/{video_id}.{extension}"
    settings = dependencies.settings()
    expires_at = time.time() + settings.upload_url_ttl_s
    dependencies.results().create_video(
        VideoRecord(tenant_id=tenant_id, video_id=video_id, filename=filename[:200], blob_path=blob_path))
    return json_response(
        {"video_id": video_id,
         "upload_url": dependencies.blobs().upload_url(VIDEOS, blob_path, expires_at),
         "upload_headers": UPLOAD_HEADERS,
         "expires_at": iso(expires_at)},
        status=201,
    )


@bp.route(route="v1/videos/{video_id}", methods=ANY_METHOD)
@bp.durable_client_input(client_name="client")
@endpoint("GET", "DELETE")
async def video(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    tenant_id, video_id = tenant_of(req), video_id_of(req)
    if req.method.upper() == "DELETE":
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
@endpoint("GET")
def video_analysis(req: func.HttpRequest) -> func.HttpResponse:
    tenant_id, video_id = tenant_of(req), video_id_of(req)
    record = existing_video(tenant_id, video_id)
    if record.status == "failed":
        raise HttpError(409, "video_failed", f"the video could not be analysed: {record.error}")
    analysis = dependencies.results().get_analysis(tenant_id, video_id) if record.status == "completed" else None
    if analysis is None:
        raise HttpError(409, "not_ready", f"the analysis is not ready: the video is {record.status} ({record.stage}); "
                                          f"poll GET /api/v1/videos/{video_id}")
    return json_response(analysis)


async def delete_video(client: df.DurableOrchestrationClient, tenant_id: str, video_id: str) -> func.HttpResponse:
    """Stop the pipeline if it runs, then remove the upload, chunks, results and cache entries."""
    results, blobs = dependencies.results(), dependencies.blobs()
    record = results.get_video(tenant_id, video_id)
    uploaded = blobs.list(VIDEOS, f"{tenant_id}/{video_id}.")
    if record is None and not uploaded:
        raise HttpError(404, "not_found", f"no video {video_id}")
    instance_id = instance_id_for(tenant_id, video_id)
    running = await client.get_status(instance_id)
    if running and running.runtime_status in (df.OrchestrationRuntimeStatus.Running,
                                              df.OrchestrationRuntimeStatus.Pending):
        await client.terminate(instance_id, "video deleted")
    if running and running.runtime_status is not None:
        await client.purge_instance_history(instance_id)
    for path in uploaded:
        blobs.delete(VIDEOS, path)
    blobs.delete_prefix(CHUNKS, chunk_folder({"tenant_id": tenant_id, "video_id": video_id}) + "/")
    results.delete_video(tenant_id, video_id)
    try:
        dependencies.cache().delete([summary_cache_key(tenant_id, video_id)])
    except CacheUnavailable:
        pass  # the entry expires on its own
    return json_response({"video_id": video_id, "deleted": True})


def tenant_of(req: func.HttpRequest) -> str:
    tenant = (req.headers.get("x-tenant-id") or DEFAULT_TENANT).strip()
    if not _TENANT.fullmatch(tenant):
        raise HttpError(400, "invalid_tenant", "X-Tenant-Id must be 1-64 letters, digits, '-' or '_'")
    return tenant


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
