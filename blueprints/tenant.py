"""DELETE /api/v1/tenant?confirm={tenant}: erase an organisation's data (GDPR, admins only).

The caller's own organisation only (the token says which; ``confirm`` repeats it so that
no stray request erases anything). In the order a single video's delete uses, so that
nothing writes behind the erasure: every results document first (videos, analyses,
questions, feedback; every pipeline activity checks the video record and stops when it
is gone), then every video's orchestrations are terminated and purged, then the uploads
and chunks (blob prefixes ``{tenant}/``) and every cache entry under the tenant's
prefixes.
"""

from __future__ import annotations

import logging

import azure.durable_functions as df
import azure.functions as func

from blueprints import contract, dependencies
from blueprints.contract import Erasure
from blueprints.http import ANY_METHOD, HttpError, current_call, endpoint, json_response
from blueprints.pipeline_steps import instance_id_for
from blueprints.videos import stop_orchestrations
from services.blobs import CHUNKS, VIDEOS
from services.cache import CacheUnavailable

bp = df.Blueprint()
log = logging.getLogger(__name__)
EVERY_VIDEO = 1_000_000


@bp.route(route="v1/tenant", methods=ANY_METHOD)
@bp.durable_client_input(client_name="client")
@endpoint(contract.ERASE_TENANT)
async def erase_tenant(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    call = current_call()
    tenant_id = call.tenant_id
    if call.query.confirm != tenant_id:
        raise HttpError(400, "invalid_request", "confirm must repeat your organisation's id; nothing was erased")
    log.warning("erasing tenant %s at the request of %s", tenant_id, call.user_id)
    return json_response(await erase(client, tenant_id))


async def erase(client: df.DurableOrchestrationClient, tenant_id: str) -> Erasure:
    results, blobs = dependencies.results(), dependencies.blobs()
    video_ids = {r.video_id for r in results.recent_videos(tenant_id, limit=EVERY_VIDEO)}
    video_ids |= {path.split("/", 1)[1].split(".", 1)[0] for path in blobs.list(VIDEOS, f"{tenant_id}/")}
    documents = results.delete_tenant(tenant_id)
    for video_id in sorted(video_ids):
        await stop_orchestrations(client, instance_id_for(tenant_id, video_id))
    removed_blobs = blobs.delete_prefix(VIDEOS, f"{tenant_id}/") + blobs.delete_prefix(CHUNKS, f"{tenant_id}/")
    cache_entries = 0
    try:
        for prefix in dependencies.tenant_cache_prefixes(tenant_id):
            cache_entries += dependencies.cache().delete_prefix(prefix)
    except CacheUnavailable as error:
        raise HttpError(503, "cache_unavailable", f"the cache could not be erased ({error}); the rest was. "
                                                  "Repeat the request when the cache is back.") from None
    return Erasure(tenant_id=tenant_id, videos=len(video_ids), blobs=removed_blobs, documents=documents,
                   cache_entries=cache_entries)
