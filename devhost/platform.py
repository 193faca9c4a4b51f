"""The function app's non-HTTP side, run in this process the way the Functions
host would run it: the Durable runtime (devhost.durable) with its client API on
loopback, blob triggers fired when a blob lands through devhost, Service Bus
triggers fed from the job queue, and the transcription worker in a thread.

Nothing here knows the pipeline: functions are found by their trigger types in
``function_app.app`` and called with the bindings they declare.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import concurrent.futures
import hashlib
import inspect
import json
import logging
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import formatdate
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, unquote
from xml.etree import ElementTree

import azure.functions as func
from azure.durable_functions.models.utils import http_utils
from azure.functions.servicebus import ServiceBusMessage

from blueprints import dependencies
from devhost.app_index import durable_client_parameter, registered_functions
from devhost.asgi import LoopbackServer, read_body
from devhost.durable import LocalDurableRuntime
from devhost.durable_api import durable_api_app
from devhost.http_host import BLOB_UPLOAD_PREFIX, error_response
from gpu_worker.worker import Worker
from services.blobs import VIDEOS
from services.jobs import DEAD_LETTER_SUFFIX, LockLost, Received

log = logging.getLogger("devhost.platform")
MAX_UPLOAD_BYTES = 8 * 1024**3
# The containers the Event Grid subscription in infra/modules/storage.bicep covers.
SUBSCRIBED_CONTAINERS = (VIDEOS,)
BLOB_CREATED = "Microsoft.Storage.BlobCreated"
# Blob storage's own limits for block blobs (Put Block, Put Block List).
MAX_BLOCK_BYTES = 4000 * 1024**2
MAX_BLOCKS = 50_000
MAX_BLOCK_LIST_BYTES = 8 * 1024**2
BLOB_RESPONSE_HEADERS = {"x-ms-request-server-encrypted": "false", "x-ms-version": "2025-01-05"}


@dataclass(frozen=True)
class TriggeredFunction:
    name: str
    trigger_parameter: str
    source: str  # the queue name of a Service Bus trigger ("" for Event Grid)
    client_parameter: str | None
    handler: Callable


def functions_triggered_by(functions, trigger_type: str, source_key: str | None) -> list[TriggeredFunction]:
    found = []
    for function in functions:
        trigger = function.get_trigger()
        if trigger is None or trigger.get_binding_name() != trigger_type:
            continue
        found.append(TriggeredFunction(
            name=function.get_function_name(),
            trigger_parameter=trigger.name,
            source=trigger.get_dict_repr()[source_key] if source_key else "",
            client_parameter=durable_client_parameter(function),
            handler=function.get_user_function(),
        ))
    return found


class LocalPlatform:
    def __init__(self, functions=None, run_worker: bool = True, worker: Worker | None = None, poll_s: float = 0.2,
                 watch_blobs: bool | None = None, event_deliveries: int = 2, redelivery_delay_s: float = 0.3):
        """``event_deliveries``: Event Grid delivers at least once, and in practice sometimes
        twice; by default every blob event is delivered twice here (the second
        ``redelivery_delay_s`` later), so the app's idempotency is exercised on every run."""
        self.functions = registered_functions() if functions is None else functions
        self.runtime = LocalDurableRuntime(self.functions)
        self.event_triggers = functions_triggered_by(self.functions, "eventGridTrigger", None)
        self.event_deliveries, self.redelivery_delay_s = event_deliveries, redelivery_delay_s
        self.queue_triggers = functions_triggered_by(self.functions, "serviceBusTrigger", "queueName")
        self.jobs = dependencies.jobs()
        self.blobs = dependencies.blobs()
        if worker is None and run_worker:
            worker = Worker(self.jobs, self.blobs, dependencies.transcriber,
                            max_attempts=dependencies.settings().job_max_delivery_count,
                            transient_retry_s=dependencies.settings().job_transient_retry_s)
        self.worker = worker
        self.poll_s = poll_s
        # Uploads to a real blob service go straight there (SAS URL), not through devhost:
        # then devhost watches the containers, as the host's blob trigger does.
        self.watch_blobs = self.blobs.kind != "folder" if watch_blobs is None else watch_blobs
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._api: LoopbackServer | None = None
        self.client_binding = ""
        # The SDK's durable client keeps one aiohttp session per process, bound to the
        # event loop that made it: every function with a client binding runs on this loop.
        self._loop = asyncio.new_event_loop()

    # --- life cycle ---------------------------------------------------------------------

    def start(self) -> "LocalPlatform":
        self._spawn("functions-loop", self._loop.run_forever)
        self._api = LoopbackServer(durable_api_app(self.runtime)).start()
        self.client_binding = self.runtime.client_binding(self._api.base_url)
        for trigger in self.queue_triggers:
            self._spawn(f"bus-{trigger.name}", lambda t=trigger: self._pump(t))
        if self.watch_blobs:
            containers = set(SUBSCRIBED_CONTAINERS)
            seen = {(c, name) for c in containers for name in self.blobs.list(c)}  # only new blobs trigger
            self._spawn("blob-watch", lambda: self._watch(containers, seen))
        if self.worker:
            self._spawn("warm-up", self.worker.warm_up)
            for i in range(dependencies.settings().worker_threads):
                self._spawn(f"worker-{i}", lambda: self.worker.run(poll_s=self.poll_s))
        return self

    def stop(self) -> None:
        self._stop.set()
        if self.worker:
            self.worker.stop.set()
        if self._api:
            self._api.stop()
        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(http_utils._close_session(), self._loop).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        for thread in self._threads:
            thread.join(timeout=30)
        self.runtime.close()

    def __enter__(self) -> "LocalPlatform":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _spawn(self, name: str, target: Callable) -> None:
        thread = threading.Thread(target=target, name=f"devhost-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    # --- blob triggers ------------------------------------------------------------------

    def blob_created(self, container: str, path: str) -> None:
        """What Event Grid does when a blob lands: a BlobCreated event (its subject names the
        blob; the bytes never travel) to each Event Grid-triggered function, at least once."""
        if container not in SUBSCRIBED_CONTAINERS:
            return
        event = blob_created_event(container, path, self.blobs)
        for delivery in range(self.event_deliveries):  # a redelivery is the same event, same id
            if delivery:
                time.sleep(self.redelivery_delay_s)
            for trigger in self.event_triggers:
                self.invoke(trigger, {trigger.trigger_parameter: event})

    def _watch(self, containers: set[str], seen: set[tuple[str, str]], interval_s: float = 0.5) -> None:
        while not self._stop.wait(interval_s):
            for container in containers:
                try:
                    names = self.blobs.list(container)
                except Exception as error:  # noqa: BLE001 - storage briefly away: look again next time
                    log.warning("cannot list %s: %s", container, error)
                    continue
                for name in names:
                    if (container, name) not in seen:
                        seen.add((container, name))
                        threading.Thread(target=self.blob_created, args=(container, name), daemon=True).start()

    async def receive_upload(self, scope, receive) -> func.HttpResponse:
        """PUT {BLOB_UPLOAD_PREFIX}{container}/{path}?se=…&sig=…[&comp=…] — a SAS-style upload
        taking the Blob REST operations the storage SDKs use for block blobs: Put Blob (the
        whole file), Put Block (``comp=block&blockid=…``, kept uncommitted) and Put Block List
        (``comp=blocklist``, an XML list of block ids that become the blob). As in Azure, a
        blob exists, and BlobCreated fires once, only when Put Blob or Put Block List commits it."""
        if scope["method"] != "PUT":
            return error_response(405, "method_not_allowed", "upload with PUT")
        container, _, path = unquote(scope["path"].strip("/")[len(BLOB_UPLOAD_PREFIX):]).partition("/")
        query = {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
        if not self.blobs.check_upload(container, path, query.get("se"), query.get("sig")):
            return error_response(403, "invalid_signature", "the upload URL is invalid or has expired")
        operation = query.get("comp")
        if operation == "block":
            return await self._put_block(container, path, query.get("blockid", ""), receive)
        if operation == "blocklist":
            return await self._put_block_list(container, path, receive)
        if operation is not None:
            return error_response(400, "unsupported_operation", f"comp={operation} is not a blob upload operation")
        size = await self._store_upload(container, path, receive)
        if size is None:
            return error_response(413, "payload_too_large", f"uploads are limited to {MAX_UPLOAD_BYTES} bytes")
        return self._committed(container, path)

    def _committed(self, container: str, path: str) -> func.HttpResponse:
        threading.Thread(target=self.blob_created, args=(container, path), daemon=True).start()
        return func.HttpResponse(status_code=201, headers={**BLOB_RESPONSE_HEADERS, "etag": f'"{uuid.uuid4().hex}"',
                                                           "last-modified": _http_date()})

    def _blocks_dir(self, container: str, path: str) -> Path:
        """Uncommitted blocks of one blob, kept apart from every blob (a blob's name is hashed
        so that no name can reach outside this folder)."""
        digest = hashlib.sha256(f"{container}/{path}".encode()).hexdigest()
        return dependencies.settings().data_path / "uncommitted-blocks" / digest

    async def _put_block(self, container: str, path: str, block_id: str, receive) -> func.HttpResponse:
        if not _valid_block_id(block_id):
            return error_response(400, "invalid_block_id", "blockid must be base64 of at most 64 bytes")
        folder = self._blocks_dir(container, path)
        folder.mkdir(parents=True, exist_ok=True)
        if sum(1 for _ in folder.iterdir()) >= MAX_BLOCKS:
            return error_response(409, "block_count_exceeds_limit", f"a blob holds at most {MAX_BLOCKS} blocks")
        target = folder / hashlib.sha256(block_id.encode()).hexdigest()
        spool = folder / f".{uuid.uuid4().hex}.part"
        size = 0
        with spool.open("wb") as handle:
            while True:
                message = await receive()
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > MAX_BLOCK_BYTES:
                    handle.close()
                    spool.unlink()
                    return error_response(413, "request_body_too_large", f"a block is limited to {MAX_BLOCK_BYTES} bytes")
                handle.write(chunk)
                if not message.get("more_body"):
                    break
        spool.replace(target)  # the same id again replaces the block, as in Azure
        return func.HttpResponse(status_code=201, headers=BLOB_RESPONSE_HEADERS)

    async def _put_block_list(self, container: str, path: str, receive) -> func.HttpResponse:
        body = await read_body(receive, MAX_BLOCK_LIST_BYTES)
        if body is None:
            return error_response(413, "request_body_too_large", "the block list is too long")
        try:
            block_ids = _block_list(body)
        except ValueError as error:
            return error_response(400, "invalid_block_list", str(error))
        folder = self._blocks_dir(container, path)
        parts = [folder / hashlib.sha256(block_id.encode()).hexdigest() for block_id in block_ids]
        missing = [block_id for block_id, part in zip(block_ids, parts) if not part.is_file()]
        if missing:
            return error_response(400, "invalid_block_list", f"{len(missing)} listed blocks were never uploaded "
                                                              f"(first: {missing[0]})")
        if sum(part.stat().st_size for part in parts) > MAX_UPLOAD_BYTES:
            return error_response(413, "payload_too_large", f"uploads are limited to {MAX_UPLOAD_BYTES} bytes")
        await asyncio.to_thread(self._commit_blocks, container, path, parts, folder)
        return self._committed(container, path)

    def _commit_blocks(self, container: str, path: str, parts: list[Path], folder: Path) -> None:
        with tempfile.NamedTemporaryFile(prefix="upload-", delete=True) as spool:
            for part in parts:
                with part.open("rb") as block:
                    shutil.copyfileobj(block, spool, 1024 * 1024)
            spool.flush()
            self.blobs.put_file(container, path, Path(spool.name))
        shutil.rmtree(folder, ignore_errors=True)  # Azure discards uncommitted blocks on commit too

    async def _store_upload(self, container: str, path: str, receive) -> int | None:
        with tempfile.NamedTemporaryFile(prefix="upload-", delete=True) as spool:
            size = 0
            while True:
                message = await receive()
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    return None
                spool.write(chunk)
                if not message.get("more_body"):
                    break
            spool.flush()
            await asyncio.to_thread(self.blobs.put_file, container, path, Path(spool.name))
        return size

    # --- Service Bus triggers -------------------------------------------------------------

    def _pump(self, trigger: TriggeredFunction) -> None:
        """Deliver the queue's messages to its function: complete on success, abandon on error."""
        while not self._stop.is_set():
            message = self.jobs.receive(trigger.source, max_wait_s=self.poll_s)
            if message is None:
                continue
            try:
                self.invoke(trigger, {trigger.trigger_parameter: service_bus_message(message)})
                settle = self.jobs.complete
            except Exception:  # noqa: BLE001 - the host logs, abandons and redelivers
                log.exception("%s failed on message %s", trigger.name, message.message_id)
                settle = self.jobs.abandon
            try:
                settle(message)
            except LockLost as error:  # it will be redelivered; the pump lives on
                log.warning("could not settle %s: %s", message.message_id, error)

    # --- calling functions ------------------------------------------------------------------

    def invoke(self, trigger: TriggeredFunction, arguments: dict):
        """Call a triggered function from any thread, as the host would, and wait for it."""
        if trigger.client_parameter:
            arguments = {**arguments, trigger.client_parameter: self.client_binding}
        return self.submit(trigger.handler, arguments).result()

    def submit(self, handler: Callable, arguments: dict) -> concurrent.futures.Future:
        """Run ``handler(**arguments)`` on the functions loop (sync handlers on a worker thread)."""
        async def call():
            if inspect.iscoroutinefunction(handler):
                return await handler(**arguments)
            result = await asyncio.to_thread(handler, **arguments)
            return await result if inspect.isawaitable(result) else result

        return asyncio.run_coroutine_threadsafe(call(), self._loop)


def blob_created_event(container: str, path: str, blobs) -> func.EventGridEvent:
    """The event a storage account's system topic sends for a new block blob."""
    return func.EventGridEvent(
        id=str(uuid.uuid4()),
        data={"api": "PutBlockList", "contentType": "application/octet-stream", "blobType": "BlockBlob",
              "url": f"devhost://{container}/{path}", "sequencer": f"{time.time_ns():032x}"},
        topic=f"/devhost/storageAccounts/{blobs.kind}",
        subject=f"/blobServices/default/containers/{container}/blobs/{path}",
        event_type=BLOB_CREATED,
        event_time=datetime.now(timezone.utc),
        data_version="",
    )


def _valid_block_id(block_id: str) -> bool:
    try:
        return 0 < len(base64.b64decode(block_id, validate=True)) <= 64
    except (binascii.Error, ValueError):
        return False


def _block_list(body: bytes) -> list[str]:
    """The ids of a Put Block List body, in order (Committed, Uncommitted and Latest all name
    blocks uploaded here: devhost keeps no committed blocks of an earlier version)."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as error:
        raise ValueError(f"the block list is not XML: {error}") from None
    if root.tag != "BlockList":
        raise ValueError("the block list's root element must be BlockList")
    ids = [(element.text or "").strip() for element in root if element.tag in ("Latest", "Committed", "Uncommitted")]
    if not ids or not all(_valid_block_id(i) for i in ids):
        raise ValueError("the block list must name one or more base64 block ids")
    return ids


def _http_date() -> str:
    return formatdate(usegmt=True)


def service_bus_message(message: Received) -> ServiceBusMessage:
    """The azure.functions message the Python worker would build from this delivery."""
    properties = message.properties
    now = datetime.now(timezone.utc)
    return ServiceBusMessage(
        body=json.dumps(message.body).encode(),
        message_id=message.message_id,
        content_type="application/json",
        delivery_count=message.delivery_count,
        lock_token=message.lock_token,
        enqueued_time_utc=datetime.fromtimestamp(message.enqueued_at or time.time(), tz=timezone.utc),
        locked_until=now + timedelta(minutes=1),
        dead_letter_reason=properties.get("DeadLetterReason"),
        dead_letter_error_description=properties.get("DeadLetterErrorDescription"),
        dead_letter_source=message.queue.removesuffix(DEAD_LETTER_SUFFIX) if message.queue.endswith(
            DEAD_LETTER_SUFFIX) else None,
        application_properties=dict(properties),  # traceparent among them: the trigger continues the trace
        user_properties=dict(properties),
    )
