"""The job-queue port on Azure Service Bus, through the azure-servicebus SDK (sync API).

``from_namespace`` connects to Azure with DefaultAzureCredential (managed identity in
the function app; the identity needs the Service Bus Data Sender and Receiver roles);
``from_connection_string`` is for an emulator (``UseDevelopmentEmulator=true``: plain
AMQP to the endpoint's port), e.g. devhost's stand-in broker
(``devhost.stack.servicebus_broker``).

Semantics are Service Bus's, which ``services.jobs.InProcessBus`` mirrors: peek-lock
receives, complete / abandon / dead-letter, lock renewal, the dead-letter sub-queue
"<queue>/$DeadLetterQueue", duplicate detection by message id (a queue setting on
Service Bus, always on in the stand-in). Two translations:

- ``Received.delivery_count`` counts this delivery (1 on the first), as the Functions
  host and InProcessBus do; the SDK reports the AMQP header's count of earlier
  deliveries (0 on the first, or None), so one is added.
- A received message is tracked by its lock token here; settling an unknown, settled or
  expired lock raises ``LockLost``: the SDK's lock-lost errors map to it, and so does a
  settlement cut off by a lost connection (the lock is unusable; unless the settlement
  got through, the message is redelivered when its lock expires).

Threads: one sender and one receiver per queue, each used by one thread at a time; a
message is settled through the receiver that got it, and settling goes ahead of the
next slice of a long receive (see ``_QueueReceiver``).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timezone
from urllib.parse import urlsplit

from azure.servicebus import (
    ServiceBusClient,
    ServiceBusMessage,
    ServiceBusReceivedMessage,
    ServiceBusReceiveMode,
    ServiceBusSubQueue,
    TransportType,
)
from azure.servicebus.amqp import AmqpMessageBodyType
from azure.servicebus.exceptions import (
    MessageAlreadySettled,
    MessageLockLostError,
    MessageSizeExceededError,
    OperationTimeoutError,
    ServiceBusConnectionError,
    ServiceBusError,
    SessionLockLostError,
)

from services.cache import DependencyHealth
from services.jobs import DEAD_LETTER_SUFFIX, JOBS_QUEUE, LockLost, Received, outgoing_properties

log = logging.getLogger("services.jobs_servicebus")

PEEK_PAGE = 250
MIN_WAIT_S = 0.05  # the SDK refuses a zero wait; this is "now" for a broker a round trip away
RECEIVE_SLICE_S = 0.25
HEALTH_TIMEOUT_S = 3.0
AMQP_PORT, AMQPS_PORT, WEBSOCKET_PORT = 5672, 5671, 443  # emulator's plain AMQP; Azure's AMQP over TLS / WebSockets
LOCK_LOST_ERRORS = (MessageLockLostError, MessageAlreadySettled, SessionLockLostError)
OUTCOME_UNKNOWN_ERRORS = (ServiceBusConnectionError, OperationTimeoutError)


class _QueueReceiver:
    """One SDK receiver per queue (or sub-queue), shared by threads.

    The SDK's receiver is not thread-safe, so one thing at a time goes through it: a
    receive holds it for at most ``RECEIVE_SLICE_S`` at a time, and a thread that wants
    to settle (or renew) goes first at the next slice, so settling never waits long
    behind another thread's long receive.
    """

    def __init__(self, receiver):
        self.receiver = receiver
        self.opened = False
        self.lock = threading.Lock()
        self.turns = threading.Condition()
        self.settlers = 0
        self.held: dict[str, ServiceBusReceivedMessage] = {}  # lock token -> the message to settle

    @contextmanager
    def for_receive(self):
        with self.turns:
            while self.settlers:
                self.turns.wait()
        with self.lock:
            self.ensure_open()
            yield self.receiver

    @contextmanager
    def for_settle(self):
        with self.turns:
            self.settlers += 1
        try:
            with self.lock:
                yield self.receiver
        finally:
            with self.turns:
                self.settlers -= 1
                self.turns.notify_all()

    def ensure_open(self) -> None:
        """Open the link with no time limit: a first receive's short wait would also bound the open."""
        if not self.opened:
            self.receiver.__enter__()
            self.opened = True


class ServiceBusJobQueue:
    """The JobQueue port over Service Bus queues (or the devhost stand-in broker)."""

    kind = "servicebus"

    def __init__(self, client: ServiceBusClient, description: str, address: tuple[str, int], credential=None):
        self._client = client
        self._description = description
        self._address = address  # (host, port) the AMQP connection goes to: health checks it first
        self._credential = credential
        self._senders: dict[str, tuple[threading.Lock, object]] = {}
        self._receivers: dict[str, _QueueReceiver] = {}
        self._held: dict[str, _QueueReceiver] = {}  # lock token -> the receiver that got it
        self._lock = threading.Lock()  # guards the dictionaries above, never held during I/O
        self._closed = False

    # --- construction -------------------------------------------------------------------------

    @classmethod
    def from_connection_string(cls, connection_string: str, **client_options) -> "ServiceBusJobQueue":
        """For an emulator or the devhost broker (UseDevelopmentEmulator=true → plain AMQP to its port)."""
        client = ServiceBusClient.from_connection_string(connection_string, **client_options)
        settings = {key.strip().lower(): value.strip() for key, _, value in
                    (part.partition("=") for part in connection_string.split(";") if part.strip())}
        endpoint = settings.get("endpoint", "")
        emulator = settings.get("usedevelopmentemulator", "").lower() == "true"
        parsed = urlsplit(endpoint if "://" in endpoint else f"sb://{endpoint}")
        port = parsed.port if emulator and parsed.port else (AMQP_PORT if emulator else AMQPS_PORT)
        return cls(client, f"Service Bus at {endpoint}", (parsed.hostname or "", port))

    @classmethod
    def from_namespace(cls, fully_qualified_namespace: str, credential=None, **client_options) -> "ServiceBusJobQueue":
        """For Azure: ``<name>.servicebus.windows.net`` with DefaultAzureCredential (managed identity)."""
        if credential is None:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        namespace = fully_qualified_namespace.removeprefix("sb://").removeprefix("https://").rstrip("/")
        client = ServiceBusClient(fully_qualified_namespace=namespace, credential=credential, **client_options)
        port = WEBSOCKET_PORT if client_options.get("transport_type") == TransportType.AmqpOverWebsocket else AMQPS_PORT
        return cls(client, f"Service Bus namespace {namespace}", (namespace, port), credential=credential)

    # --- sending ------------------------------------------------------------------------------

    def send(self, queue: str, body: dict, message_id: str, properties: dict | None = None) -> None:
        entity, sub_queue = _split(queue)
        if sub_queue is not None:
            raise ValueError(f"cannot send to a dead-letter sub-queue: {queue}")
        message = _message(body, message_id, outgoing_properties(properties))
        lock, sender = self._sender(entity)
        with lock:
            sender.send_messages(message)

    def send_many(self, queue: str, messages: list[tuple[dict, str]], properties: dict | None = None) -> None:
        """One batch per round trip (split when the batch is full), not a round trip per job."""
        entity, sub_queue = _split(queue)
        if sub_queue is not None:
            raise ValueError(f"cannot send to a dead-letter sub-queue: {queue}")
        application_properties = outgoing_properties(properties)
        lock, sender = self._sender(entity)
        with lock:
            batch = sender.create_message_batch()
            for body, message_id in messages:
                message = _message(body, message_id, application_properties)
                try:
                    batch.add_message(message)
                except MessageSizeExceededError:
                    sender.send_messages(batch)
                    batch = sender.create_message_batch()
                    batch.add_message(message)
            if len(batch):
                sender.send_messages(batch)

    def _sender(self, entity: str):
        key = entity.lower()
        with self._lock:
            self._check_open()
            entry = self._senders.get(key)
            if entry is None:
                entry = self._senders[key] = (threading.Lock(), self._client.get_queue_sender(entity))
            return entry

    # --- receiving ----------------------------------------------------------------------------

    def receive(self, queue: str, max_wait_s: float = 1.0) -> Received | None:
        """The next message, locked, or None after ``max_wait_s``.

        Like InProcessBus it never raises for the service's sake: a connection failure is
        logged and answered None once the wait is over (the SDK has retried by then), so
        polling loops (the worker, devhost's trigger pumps) live through a broker restart.
        A body that is not a JSON object is dead-lettered (reason InvalidBody) rather than
        returned; in a dead-letter sub-queue such a message is dropped, with an error logged.
        """
        deadline = time.monotonic() + max_wait_s
        entry = self._receiver(queue)
        while True:
            remaining = deadline - time.monotonic()
            try:
                with entry.for_receive() as receiver:
                    wait = min(max(deadline - time.monotonic(), MIN_WAIT_S), RECEIVE_SLICE_S)
                    messages = receiver.receive_messages(max_message_count=1, max_wait_time=wait)
                    received = self._hold(queue, entry, messages[0]) if messages else None
                    if received is not None:
                        return received
            except ServiceBusError as error:
                log.warning("receiving from %s failed: %s", queue, error)
                entry.opened = False  # reopen (with no time limit) on the next receive
                time.sleep(max(0.0, min(deadline - time.monotonic(), 1.0)))
                return None
            if remaining <= RECEIVE_SLICE_S or time.monotonic() >= deadline:
                return None

    def _hold(self, queue: str, entry: _QueueReceiver, message: ServiceBusReceivedMessage) -> Received | None:
        token = str(message.lock_token)
        try:
            received = _received(queue, message, token)
        except ValueError as error:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
            self._reject_unreadable(queue, entry, message, error)
            return None
        entry.held[token] = message
        with self._lock:
            self._held[token] = entry
        return received

    @staticmethod
    def _reject_unreadable(queue: str, entry: _QueueReceiver, message: ServiceBusReceivedMessage, error) -> None:
        """Dead-letter a message whose body is not a JSON object (reason InvalidBody); in a dead-letter
        sub-queue, where that is impossible, drop it (the app drops unreadable dead letters too)."""
        try:
            if _split(queue)[1] is None:
                log.warning("dead-lettering message %s in %s: %s", message.message_id, queue, error)
                entry.receiver.dead_letter_message(message, reason="InvalidBody",
                                                   error_description=f"not a JSON object: {error}"[:1000])
            else:
                log.error("dropping unreadable dead letter %s in %s (%s): %.200r",
                          message.message_id, queue, error, str(message))
                entry.receiver.complete_message(message)
        except ServiceBusError as settle_error:  # it comes back when its lock expires and gets here again
            log.warning("could not settle unreadable message %s: %s", message.message_id, settle_error)

    def _receiver(self, queue: str) -> _QueueReceiver:
        key = queue.lower()
        with self._lock:
            self._check_open()
            entry = self._receivers.get(key)
            if entry is None:
                entity, sub_queue = _split(queue)
                entry = self._receivers[key] = _QueueReceiver(self._client.get_queue_receiver(
                    entity, sub_queue=sub_queue, receive_mode=ServiceBusReceiveMode.PEEK_LOCK, prefetch_count=0))
            return entry

    # --- settling -----------------------------------------------------------------------------

    def complete(self, message: Received) -> None:
        self._settle(message, lambda receiver, m: receiver.complete_message(m))

    def abandon(self, message: Received) -> None:
        self._settle(message, lambda receiver, m: receiver.abandon_message(m))

    def dead_letter(self, message: Received, reason: str, description: str = "") -> None:
        self._settle(message, lambda receiver, m: receiver.dead_letter_message(
            m, reason=reason, error_description=description))

    def renew_lock(self, message: Received) -> None:
        self._settle(message, lambda receiver, m: receiver.renew_message_lock(m), keep=True)

    def _settle(self, message: Received, operation, keep: bool = False) -> None:
        lost = f"lock on message {message.message_id} in {message.queue} expired or already settled"
        with self._lock:
            entry = self._held.get(message.lock_token)
        if entry is None:
            raise LockLost(lost)
        with entry.for_settle() as receiver:
            sb_message = entry.held.get(message.lock_token)
            if sb_message is None:
                raise LockLost(lost)
            try:
                operation(receiver, sb_message)
            except LOCK_LOST_ERRORS as error:
                self._forget(entry, message.lock_token)
                raise LockLost(f"{lost}: {error}") from error
            except OUTCOME_UNKNOWN_ERRORS as error:
                # The link (or connection) went away mid-settlement: this lock cannot be used again,
                # and unless the settlement got through, the message comes back when the lock expires.
                self._forget(entry, message.lock_token)
                raise LockLost(f"could not settle message {message.message_id} in {message.queue}: {error}") from error
            if not keep:
                self._forget(entry, message.lock_token)
        if not keep:
            self._forget_expired()

    def _forget(self, entry: _QueueReceiver, token: str) -> None:
        entry.held.pop(token, None)
        with self._lock:
            self._held.pop(token, None)

    def _forget_expired(self) -> None:
        """Drop messages whose lock expired unsettled: Service Bus has redelivered them, or will."""
        now = datetime.now(timezone.utc)
        with self._lock:
            for token, entry in list(self._held.items()):
                sb_message = entry.held.get(token)
                if sb_message is None or (sb_message.locked_until_utc and sb_message.locked_until_utc <= now):
                    del self._held[token]
                    entry.held.pop(token, None)

    # --- inspection ---------------------------------------------------------------------------

    def depth(self, queue: str) -> int:
        """Messages in the queue, locked ones included, counted by peeking (Listen rights suffice)."""
        entry = self._receiver(queue)
        with entry.for_settle() as receiver:  # a management request: its own open has no short limit
            count, sequence = 0, 1
            while True:
                page = receiver.peek_messages(max_message_count=PEEK_PAGE, sequence_number=sequence)
                count += len(page)
                if len(page) < PEEK_PAGE:
                    return count
                sequence = max(m.sequence_number for m in page) + 1

    def health(self) -> DependencyHealth:
        """Cheap and quick: a TCP connect, then a one-message peek on the jobs queue (AMQP,
        authorization and the entity in one round trip), each with a short time limit."""
        started = time.perf_counter()
        try:
            with socket.create_connection(self._address, timeout=HEALTH_TIMEOUT_S):
                pass
            entry = self._receiver(JOBS_QUEUE)
            with entry.for_settle() as receiver:
                receiver.peek_messages(max_message_count=1, timeout=HEALTH_TIMEOUT_S)
        except Exception as error:  # noqa: BLE001 - health reports, never raises
            return DependencyHealth("jobs", "down", f"{self._description}: {type(error).__name__}")
        return DependencyHealth("jobs", "ok", f"{self._description} ({(time.perf_counter() - started) * 1000:.0f} ms)")

    # --- life cycle ---------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            handlers = [sender for _, sender in self._senders.values()]
            handlers += [entry.receiver for entry in self._receivers.values()]
            self._senders.clear()
            self._receivers.clear()
            self._held.clear()

        def close_quietly(handler) -> None:
            try:
                handler.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                log.debug("closing a Service Bus handler failed", exc_info=True)

        if handlers:  # each close waits on its own link's detach: close them side by side
            with ThreadPoolExecutor(max_workers=min(len(handlers), 16)) as pool:
                list(pool.map(close_quietly, handlers))
        self._client.close()
        if self._credential is not None and hasattr(self._credential, "close"):
            self._credential.close()

    def __enter__(self) -> "ServiceBusJobQueue":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise ServiceBusError("this ServiceBusJobQueue is closed")


def _split(queue: str) -> tuple[str, ServiceBusSubQueue | None]:
    """'q/$DeadLetterQueue' -> ('q', DEAD_LETTER); 'q' -> ('q', None)."""
    if queue.lower().endswith(DEAD_LETTER_SUFFIX.lower()):
        return queue[: -len(DEAD_LETTER_SUFFIX)], ServiceBusSubQueue.DEAD_LETTER
    return queue, None


def _message(body: dict, message_id: str, properties: dict) -> ServiceBusMessage:
    return ServiceBusMessage(json.dumps(body), message_id=message_id, content_type="application/json",
                             application_properties=properties or None)


def _application_properties(message: ServiceBusReceivedMessage) -> dict:
    """The sender's application properties, as text keys (AMQP hands them over as bytes)."""
    properties = {}
    for key, value in (message.application_properties or {}).items():
        key = key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
        properties[key] = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return properties


def _body(message: ServiceBusReceivedMessage) -> dict:
    """The JSON document the message carries (what ``send`` writes: UTF-8 text in a data section)."""
    raw = message.raw_amqp_message
    if raw.body_type == AmqpMessageBodyType.DATA:
        payload = b"".join(bytes(part) for part in message.body)
    elif raw.body_type == AmqpMessageBodyType.VALUE and isinstance(message.body, (str, bytes)):
        payload = message.body
    else:
        raise ValueError(f"a {raw.body_type.value} body is not JSON text")
    document = json.loads(payload)
    if not isinstance(document, dict):
        raise ValueError(f"the body is JSON but not an object: {type(document).__name__}")
    return document


def _received(queue: str, message: ServiceBusReceivedMessage, token: str) -> Received:
    properties = _application_properties(message)
    if message.dead_letter_reason is not None:
        properties["DeadLetterReason"] = message.dead_letter_reason
    if message.dead_letter_error_description is not None:
        properties["DeadLetterErrorDescription"] = message.dead_letter_error_description
    enqueued, locked_until = message.enqueued_time_utc, message.locked_until_utc
    lock_seconds = (locked_until - datetime.now(timezone.utc)).total_seconds() if locked_until else None
    return Received(
        queue=queue,
        message_id=str(message.message_id),
        body=_body(message),
        delivery_count=(message.delivery_count or 0) + 1,
        lock_token=token,
        properties=properties,
        enqueued_at=enqueued.timestamp() if enqueued else time.time(),
        lock_seconds=lock_seconds if lock_seconds and lock_seconds > 0 else None,
    )
