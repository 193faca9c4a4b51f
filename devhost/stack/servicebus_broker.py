"""A local stand-in for Azure Service Bus: a minimal AMQP 1.0 broker on loopback.

It is NOT Service Bus and not a full implementation of it. It serves just enough of
the protocol, on plain AMQP (no TLS), for the real ``azure-servicebus`` SDK to send
to and receive from queues on a machine without Docker (the official emulator is a
container). Connect with

    Endpoint=sb://127.0.0.1:PORT;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=<anything>;UseDevelopmentEmulator=true

``UseDevelopmentEmulator=true`` makes the SDK keep the port from the endpoint and
talk plain AMQP to it; the key is never checked.

What it does:
- SASL ANONYMOUS (what the SDK negotiates; PLAIN is not offered: proton's built-in
  SASL cannot serve it); the CBS ``put-token`` on ``$cbs`` is answered 200 and the
  token is ignored.
- Queues are created on first use (any name; case-insensitive); ``<queue>/$DeadLetterQueue``
  is each queue's dead-letter sub-queue.
- Send links: each message is accepted; a message id seen on that queue within the
  duplicate-detection window is accepted and dropped. Batches from the SDK
  (``send_messages([...])``, ``ServiceBusMessageBatch``) are split into their messages.
- Receive links in peek-lock: messages go out unsettled under credit, locked for the
  lock duration, with the annotations the SDK reads (``x-opt-sequence-number``,
  ``x-opt-enqueued-time``, ``x-opt-locked-until``); the delivery tag is the lock token
  (the SDK reads it as ``uuid.UUID(bytes_le=tag)``); the header's delivery-count is the
  number of earlier deliveries, as on Service Bus (0 on the first delivery).
- Dispositions are answered with a settled disposition that echoes the outcome applied,
  which the SDK waits for: accepted = complete; modified with delivery-failed = abandon
  (redelivered at once); released (what the SDK does with messages it prefetched but
  did not hand out) = put back without counting a delivery; rejected (the SDK's
  dead-letter: condition ``com.microsoft:dead-letter``, reason and description in its
  info map) = moved to the dead-letter sub-queue, where the reason and description come
  out as the application properties ``DeadLetterReason`` / ``DeadLetterErrorDescription``.
  The echo of a successful dead-letter carries no error (the SDK treats a rejected echo
  with an error as a failed settlement). Settling a lock that expired or is unknown is
  answered ``rejected`` with ``com.microsoft:message-lock-lost``.
- A lock that expires puts the message back; past ``max_delivery_count`` deliveries a
  message is dead-lettered with reason ``MaxDeliveryCountExceeded`` instead of being
  delivered again. Messages in a dead-letter sub-queue are never dead-lettered again.
- The ``<entity>/$management`` node: ``com.microsoft:renew-lock``,
  ``com.microsoft:update-disposition`` (the SDK's fallback for settling) and
  ``com.microsoft:peek-message``; other operations are answered 501.
- Stopping closes every connection (``amqp:connection:forced``) and then the sockets,
  so clients notice and reconnect to a restarted broker.

Not supported (answered with an error or ignored): TLS, authorization (every token is
accepted), sessions, topics and subscriptions, scheduled messages, deferral, message
TTL/expiry, transactions, auto-forwarding, the HTTP management API (queue creation,
runtime properties), persistence (everything is in memory), receive-and-delete is served
but barely exercised. A dead-lettered message's delivery count starts again from zero.

Run it in the foreground with ``python -m devhost.stack.servicebus_broker --port 5672``
(it prints one ``ready`` line and stops on SIGTERM/SIGINT), or in a background thread
with ``start_broker(port=0)`` (tests).
"""

from __future__ import annotations

import argparse
import heapq
import ipaddress
import logging
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from proton import Array, Condition, Data, Delivery, Endpoint, Handler, Link, Message, symbol, timestamp
from proton.reactor import Container

log = logging.getLogger("devhost.servicebus_broker")


class _QuietDisconnects(logging.Filter):
    """proton logs a client that hangs up without closing (the SDK often does) as an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.getMessage().startswith("Couldn't send")
                    and ("BrokenPipe" in record.getMessage() or "ConnectionReset" in record.getMessage()))


logging.getLogger("proton").addFilter(_QuietDisconnects())

DEAD_LETTER_SUFFIX = "/$deadletterqueue"
MANAGEMENT_SUFFIX = "/$management"
CBS_NODE = "$cbs"
LOCK_LOST = "com.microsoft:message-lock-lost"
NOT_IMPLEMENTED = "amqp:not-implemented"
NOT_ALLOWED = "amqp:not-allowed"
RECEIVER_CREDIT = 100
TICK_S = 0.05
_DATA_SECTION = 0x75
_SECTION_DESCRIPTORS = range(0x70, 0x79)  # header … footer: how an encoded message begins


def connection_string(port: int, host: str = "127.0.0.1") -> str:
    """The connection string the SDK (and the app's ServiceBusConnection setting) uses for this broker."""
    return (f"Endpoint=sb://{host}:{port};SharedAccessKeyName=RootManageSharedAccessKey;"
            "SharedAccessKey=local-broker-key-not-checked;UseDevelopmentEmulator=true")


@dataclass
class BrokerConfig:
    lock_seconds: float = 60.0
    max_delivery_count: int = 10
    duplicate_window_s: float = 600.0
    max_message_size: int = 1024 * 1024


@dataclass(eq=False)
class _Stored:
    seq: int
    raw: bytes  # the message as the sender encoded it
    enqueued_ms: int
    deliveries: int = 0
    dead_letter: dict = field(default_factory=dict)  # DeadLetterReason / DeadLetterErrorDescription


@dataclass(eq=False)
class _Lock:
    token: uuid.UUID
    queue: "_Queue"
    stored: _Stored
    expires: float  # time.monotonic()
    until_ms: int  # wall clock, what the client sees
    delivery: Delivery | None


class _Queue:
    def __init__(self, name: str):
        self.name = name
        self.is_dead_letter = name.endswith(DEAD_LETTER_SUFFIX)
        self.ready: list[tuple[int, _Stored]] = []  # a heap by sequence number
        self.locks: dict[uuid.UUID, _Lock] = {}
        self.seen: dict[str, float] = {}  # message id -> when first accepted (duplicate detection)
        self.consumers: list[Link] = []
        self.turn = 0

    def put(self, stored: _Stored) -> None:
        heapq.heappush(self.ready, (stored.seq, stored))


def entity_name(address: str | None) -> str:
    """'amqps://host:port/Queue/$DeadLetterQueue' or 'Queue' -> 'queue/$deadletterqueue' / 'queue'."""
    address = address or ""
    if "://" in address:
        address = address.split("://", 1)[1]
        address = address.split("/", 1)[1] if "/" in address else ""
    return address.strip("/").lower()


def _now_ms() -> int:
    return int(time.time() * 1000)


def _split_batch(raw: bytes) -> list[bytes] | None:
    """The SDK sends a batch as one message whose data sections are encoded messages.

    Message format 0x80013700 says so on the wire, but proton's Python API does not expose
    it, so a body made only of data sections that each hold an encoded message is a batch.
    """
    data, sections, position = Data(), [], 0
    try:
        while position < len(raw):
            data.clear()
            position += data.decode(raw[position:])
            data.rewind()
            data.next()
            if data.type() != Data.DESCRIBED:
                return None
            data.enter()
            data.next()
            descriptor = data.get_object()
            data.next()
            value = data.get_object()
            data.exit()
            if isinstance(value, (bytes, bytearray, memoryview)):
                value = bytes(value)  # a view into ``data``'s buffer, which the next decode reuses
            sections.append((int(descriptor), value))
    except Exception:  # noqa: BLE001 - not something this heuristic understands: treat as one message
        return None
    bodies = [value for descriptor, value in sections if descriptor == _DATA_SECTION]
    if not bodies or not all(_is_encoded_message(body) for body in bodies):
        return None
    return bodies


def _is_encoded_message(body) -> bool:
    """Starts like an AMQP message: a described type (0x00) with a small-ulong (0x53) section descriptor."""
    return isinstance(body, bytes) and len(body) >= 3 and body[:2] == b"\x00\x53" and body[2] in _SECTION_DESCRIPTORS


class _BrokerHandler(Handler):
    """Everything runs on the reactor thread; no locking needed."""

    def __init__(self, config: BrokerConfig, host: str, port: int, ready: threading.Event):
        super().__init__()
        self.config = config
        self.host, self.port = host, port
        self.ready = ready
        self.queues: dict[str, _Queue] = {}
        self.sequence = 0
        self.stopping = threading.Event()
        self.acceptor = None
        self.connections: set = set()
        self.last_purge = time.monotonic()
        self.stop_deadline: float | None = None

    # --- reactor life cycle ---------------------------------------------------------------

    def on_reactor_init(self, event) -> None:
        self.acceptor = event.container.listen(f"{self.host}:{self.port}")
        self.port = self.acceptor._selectable.getsockname()[1]
        event.container.schedule(TICK_S, self)
        self.ready.set()

    def on_timer_task(self, event) -> None:
        container = event.container
        if self.stopping.is_set():
            self._shut_down(container)
            return
        try:
            self._expire_locks()
        except Exception:  # noqa: BLE001 - never let one bad tick stop the broker
            log.exception("lock expiry failed")
        container.schedule(TICK_S, self)

    def _shut_down(self, container) -> None:
        """Close politely, then hang up on clients that did not answer, then stop the reactor.

        Every socket must really be closed: a client whose connection stays half-open
        would wait forever for answers instead of reconnecting to a restarted broker.
        """
        if self.stop_deadline is None:
            self.stop_deadline = time.monotonic() + 0.5
            if self.acceptor is not None:
                self.acceptor.close()
                self.acceptor = None
            for connection in list(self.connections):
                if connection.state & Endpoint.LOCAL_ACTIVE:
                    # info present: the SDK's close handling reads error[2] without checking it is there
                    connection.condition = Condition("amqp:connection:forced", "the broker is shutting down",
                                                     {symbol("reason"): "shutdown"})
                    connection.close()
        elif self.connections and time.monotonic() < self.stop_deadline:
            pass  # waiting for the clients' close frames
        elif self.connections:
            for connection in list(self.connections):
                transport = connection.transport
                if transport is not None:
                    transport.close_head()
                    transport.close_tail()
            self.connections.clear()
        else:
            container.stop()
            return
        container.schedule(TICK_S, self)

    # --- connections, sessions, links ----------------------------------------------------------

    def on_connection_bound(self, event) -> None:
        if getattr(event.connection, "_acceptor", None) is None:
            return
        sasl = event.transport.sasl()
        sasl.allow_insecure_mechs = True
        sasl.allowed_mechs("ANONYMOUS")  # what the SDK uses; proton's built-in SASL serves no PLAIN
        event.connection.sb_links = set()
        self.connections.add(event.connection)

    def on_connection_remote_open(self, event) -> None:
        connection = event.connection
        if connection.state & Endpoint.LOCAL_UNINIT:
            connection.container = "devhost-servicebus-broker"
            connection.open()

    def on_session_remote_open(self, event) -> None:
        if event.session.state & Endpoint.LOCAL_UNINIT:
            event.session.open()

    def on_link_remote_open(self, event) -> None:
        link = event.link
        if not link.state & Endpoint.LOCAL_UNINIT:
            return
        try:
            self._attach(link)
        except Exception as error:  # noqa: BLE001 - refuse the link, keep the broker
            log.exception("could not attach link %s", link.name)
            link.condition = Condition("amqp:internal-error", str(error))
            link.close()

    def _attach(self, link: Link) -> None:
        link.source.copy(link.remote_source)
        link.target.copy(link.remote_target)
        link.snd_settle_mode = link.remote_snd_settle_mode
        link.rcv_settle_mode = link.remote_rcv_settle_mode
        link.max_message_size = self.config.max_message_size
        connection = link.connection
        links = getattr(connection, "sb_links", None)
        if links is None:
            links = connection.sb_links = set()
        links.add(link)
        if link.is_sender:  # the client receives from this address
            address = entity_name(link.remote_source.address)
            link.sb_node = address if self._is_node(address) else None
            link.sb_queue = None if link.sb_node else self._queue(address)
            link.sb_outbox = []
            link.open()
            if link.sb_queue is not None:
                link.sb_queue.consumers.append(link)
                self._pump(link.sb_queue)
        else:  # the client sends to this address
            address = entity_name(link.remote_target.address)
            link.sb_node = address if self._is_node(address) else None
            link.sb_queue = None if link.sb_node else address
            link.open()
            link.flow(RECEIVER_CREDIT)

    @staticmethod
    def _is_node(address: str) -> bool:
        return address == CBS_NODE or address.endswith(MANAGEMENT_SUFFIX)

    def on_link_remote_close(self, event) -> None:
        self._forget(event.link)
        if event.link.state & Endpoint.LOCAL_ACTIVE:
            event.link.close()

    def on_session_remote_close(self, event) -> None:
        if event.session.state & Endpoint.LOCAL_ACTIVE:
            event.session.close()

    def on_connection_remote_close(self, event) -> None:
        self._forget_connection(event.connection)
        if event.connection.state & Endpoint.LOCAL_ACTIVE:
            event.connection.close()

    def on_transport_closed(self, event) -> None:
        if event.connection is not None:
            self._forget_connection(event.connection)

    def _forget_connection(self, connection) -> None:
        for link in list(getattr(connection, "sb_links", ())):
            self._forget(link)
        connection.sb_links = set()  # Python references kept on proton objects would pin them in memory
        self.connections.discard(connection)

    def _forget(self, link: Link) -> None:
        links = getattr(link.connection, "sb_links", None)
        if links is not None:
            links.discard(link)
        queue = getattr(link, "sb_queue", None)
        if isinstance(queue, _Queue):
            if link in queue.consumers:
                queue.consumers.remove(link)
            for lock in queue.locks.values():  # locks outlive the link; they can still be settled via $management
                if lock.delivery is not None and lock.delivery.link == link:
                    lock.delivery = None
            link.sb_queue = None
        link.sb_outbox = []

    # --- incoming messages -------------------------------------------------------------------

    def on_link_flow(self, event) -> None:
        link = event.link
        if not link.is_sender:
            return
        self._flush_outbox(link)
        queue = getattr(link, "sb_queue", None)
        if isinstance(queue, _Queue):
            self._pump(queue)
        if link.drain_mode and link.credit > 0:
            link.drained()

    def on_delivery(self, event) -> None:
        delivery = event.delivery
        try:
            if delivery.link.is_receiver:
                self._incoming(delivery)
            else:
                self._disposition(delivery)
        except Exception:  # noqa: BLE001 - one bad frame must not stop the broker
            log.exception("failed to handle a delivery")

    def _incoming(self, delivery: Delivery) -> None:
        link = delivery.link
        if delivery.aborted:
            delivery.settle()
            return
        if not delivery.readable or delivery.partial:
            return
        raw = link.recv(delivery.pending)
        link.advance()
        if link.sb_node:
            delivery.update(Delivery.ACCEPTED)
            delivery.settle()
            self._management(link, raw)
        elif link.sb_queue.endswith(DEAD_LETTER_SUFFIX):
            delivery.local.condition = Condition(NOT_ALLOWED, "cannot send to a dead-letter sub-queue")
            delivery.update(Delivery.REJECTED)
            delivery.settle()
        else:
            for one in _split_batch(raw) or [raw]:
                self._enqueue(self._queue(link.sb_queue), bytes(one))
            delivery.update(Delivery.ACCEPTED)
            delivery.settle()
        if link.credit < RECEIVER_CREDIT // 2:
            link.flow(RECEIVER_CREDIT - link.credit)

    def _enqueue(self, queue: _Queue, raw: bytes) -> None:
        message = Message()
        message.decode(raw)
        now = time.monotonic()
        if message.id is not None:
            key = str(message.id)
            first_seen = queue.seen.get(key)
            if first_seen is not None and first_seen > now - self.config.duplicate_window_s:
                return  # duplicate detection: accepted and dropped, as Service Bus does
            queue.seen[key] = now
        self.sequence += 1
        queue.put(_Stored(self.sequence, raw, _now_ms()))
        self._pump(queue)

    # --- delivering --------------------------------------------------------------------------

    def _queue(self, name: str) -> _Queue:
        queue = self.queues.get(name)
        if queue is None:
            queue = self.queues[name] = _Queue(name)
        return queue

    def _next_consumer(self, queue: _Queue) -> Link | None:
        consumers = [link for link in queue.consumers if link.credit > 0 and link.state & Endpoint.LOCAL_ACTIVE]
        if not consumers:
            return None
        queue.turn += 1
        return consumers[queue.turn % len(consumers)]

    def _pump(self, queue: _Queue) -> None:
        while queue.ready:
            link = self._next_consumer(queue)
            if link is None:
                return
            _, stored = heapq.heappop(queue.ready)
            if not queue.is_dead_letter and stored.deliveries >= self.config.max_delivery_count:
                self._dead_letter(queue, stored, "MaxDeliveryCountExceeded",
                                  f"delivered {stored.deliveries} times without completion "
                                  f"(max delivery count {self.config.max_delivery_count})")
                continue
            self._deliver(queue, link, stored)

    def _deliver(self, queue: _Queue, link: Link, stored: _Stored) -> None:
        stored.deliveries += 1
        token = uuid.uuid4()
        until_ms = _now_ms() + int(self.config.lock_seconds * 1000)
        message = Message()
        message.decode(stored.raw)
        message.delivery_count = stored.deliveries - 1  # AMQP: earlier failed attempts
        annotations = dict(message.annotations or {})
        annotations[symbol("x-opt-sequence-number")] = stored.seq
        annotations[symbol("x-opt-enqueued-time")] = timestamp(stored.enqueued_ms)
        annotations[symbol("x-opt-locked-until")] = timestamp(until_ms)
        message.annotations = annotations
        if stored.dead_letter:
            message.properties = {**(message.properties or {}), **stored.dead_letter}
        delivery = link.delivery(token.bytes_le)
        delivery.sb_token = token
        link.stream(message.encode())
        link.advance()
        if link.snd_settle_mode == Link.SND_SETTLED:  # receive-and-delete: gone once sent
            delivery.settle()
            return
        queue.locks[token] = _Lock(token, queue, stored, time.monotonic() + self.config.lock_seconds, until_ms,
                                   delivery)

    def _dead_letter(self, queue: _Queue, stored: _Stored, reason: str, description: str) -> None:
        stored.dead_letter = {"DeadLetterReason": reason or "", "DeadLetterErrorDescription": description or ""}
        stored.deliveries = 0
        dead_letter_queue = self._queue(queue.name + DEAD_LETTER_SUFFIX)
        dead_letter_queue.put(stored)
        self._pump(dead_letter_queue)

    def _expire_locks(self) -> None:
        now = time.monotonic()
        for queue in list(self.queues.values()):
            expired = [lock for lock in queue.locks.values() if lock.expires <= now]
            for lock in expired:
                del queue.locks[lock.token]
                queue.put(lock.stored)
            if expired:
                self._pump(queue)
        if now - self.last_purge > 10:
            self.last_purge = now
            horizon = now - self.config.duplicate_window_s
            for queue in self.queues.values():
                queue.seen = {key: seen for key, seen in queue.seen.items() if seen > horizon}

    # --- settlement --------------------------------------------------------------------------

    def _disposition(self, delivery: Delivery) -> None:
        """The client settled (or asked to settle) a message this broker sent."""
        if getattr(delivery, "sb_done", False):
            return
        state = delivery.remote_state
        remote_settled = delivery.settled  # proton: settled by the peer
        if (not state or state == Delivery.RECEIVED) and not remote_settled:
            return  # no outcome yet
        token = getattr(delivery, "sb_token", None)
        queue = getattr(delivery.link, "sb_queue", None)
        lock = queue.locks.get(token) if isinstance(queue, _Queue) and token else None
        if lock is None and token is not None:
            lock = self._find_lock(token)
        delivery.sb_done = True
        if lock is None or lock.expires <= time.monotonic():
            if remote_settled:
                delivery.settle()
                return
            delivery.local.condition = Condition(LOCK_LOST, "The lock supplied is invalid: it expired, or the "
                                                            "message was already settled or redelivered.")
            delivery.update(Delivery.REJECTED)
            delivery.settle()
            return
        remote = delivery.remote
        if state == Delivery.ACCEPTED:
            self._settle(lock, "completed")
        elif state == Delivery.RELEASED:
            self._settle(lock, "released")
        elif state == Delivery.MODIFIED:
            if remote.undeliverable:
                delivery.local.condition = Condition(NOT_IMPLEMENTED, "deferral is not supported by this broker")
                delivery.update(Delivery.REJECTED)
                delivery.settle()
                return
            self._settle(lock, "abandoned" if remote.failed else "released")
        elif state == Delivery.REJECTED:
            condition = remote.condition
            info = dict(condition.info or {}) if condition is not None and condition.info else {}
            reason = info.get("DeadLetterReason", info.get(symbol("DeadLetterReason")))
            description = info.get("DeadLetterErrorDescription", info.get(symbol("DeadLetterErrorDescription")))
            if condition is not None and reason is None:
                reason = condition.name
            if condition is not None and description is None:
                description = condition.description
            self._settle(lock, "suspended", reason or "", description or "")
        else:
            self._settle(lock, "released")
            state = Delivery.RELEASED
        if not remote_settled:
            delivery.update(state)  # echo the outcome applied: the SDK waits for it
        delivery.settle()

    def _find_lock(self, token: uuid.UUID) -> _Lock | None:
        for queue in self.queues.values():
            lock = queue.locks.get(token)
            if lock is not None:
                return lock
        return None

    def _settle(self, lock: _Lock, outcome: str, reason: str = "", description: str = "") -> None:
        queue = lock.queue
        queue.locks.pop(lock.token, None)
        if outcome == "completed":
            return
        if outcome == "suspended":
            if queue.is_dead_letter:  # Service Bus never dead-letters a dead letter; it stays put
                queue.put(lock.stored)
            else:
                self._dead_letter(queue, lock.stored, reason, description)
            return
        if outcome == "released":
            lock.stored.deliveries -= 1  # handed back unseen: not a delivery attempt
        queue.put(lock.stored)  # abandoned: delivery counted; redelivered at once
        self._pump(queue)

    # --- $cbs and $management -------------------------------------------------------------------

    def _management(self, link: Link, raw: bytes) -> None:
        request = Message()
        request.decode(raw)
        node = link.sb_node
        operation = str((request.properties or {}).get("operation", ""))
        if node == CBS_NODE:
            status, description, body, fields = 200, "OK", None, ("status-code", "status-description")
        else:
            fields = ("statusCode", "statusDescription")
            entity = node[: -len(MANAGEMENT_SUFFIX)]
            try:
                status, description, body = self._entity_operation(entity, operation, request.body or {})
            except _ManagementError as error:
                status, description, body = error.status, error.description, None
                response = self._response(request, fields, status, description, None)
                response.properties["errorCondition"] = symbol(error.condition)
                self._reply(link, request, response)
                return
        self._reply(link, request, self._response(request, fields, status, description, body))

    @staticmethod
    def _response(request: Message, fields, status: int, description: str, body) -> Message:
        return Message(body=body, correlation_id=request.id, address=request.reply_to,
                       properties={fields[0]: status, fields[1]: description})

    def _entity_operation(self, entity: str, operation: str, body: dict):
        queue = self._queue(entity)
        body = {str(key): value for key, value in dict(body).items()}
        if operation == "com.microsoft:renew-lock":
            expirations = []
            for token in _tokens(body.get("lock-tokens")):
                lock = queue.locks.get(token)
                if lock is None or lock.expires <= time.monotonic():
                    raise _ManagementError(410, LOCK_LOST, f"The lock {token} is lost (expired or settled).")
                lock.expires = time.monotonic() + self.config.lock_seconds
                lock.until_ms = _now_ms() + int(self.config.lock_seconds * 1000)
                expirations.append(timestamp(lock.until_ms))
            return 200, "OK", {"expirations": Array(None, Data.TIMESTAMP, *expirations)}
        if operation == "com.microsoft:update-disposition":
            status = str(body.get("disposition-status", ""))
            outcome = {"completed": "completed", "abandoned": "abandoned", "suspended": "suspended"}.get(status)
            if outcome is None:
                raise _ManagementError(501, NOT_IMPLEMENTED, f"disposition {status!r} is not supported")
            for token in _tokens(body.get("lock-tokens")):
                lock = queue.locks.get(token)
                if lock is None or lock.expires <= time.monotonic():
                    raise _ManagementError(410, LOCK_LOST, f"The lock {token} is lost (expired or settled).")
                if lock.delivery is not None and not getattr(lock.delivery, "sb_done", False):
                    lock.delivery.sb_done = True
                    lock.delivery.settle()
                self._settle(lock, outcome, str(body.get("deadletter-reason", "")),
                             str(body.get("deadletter-description", "")))
            return 200, "OK", None
        if operation == "com.microsoft:peek-message":
            start = int(body.get("from-sequence-number", 1) or 1)
            count = int(body.get("message-count", 1) or 1)
            stored = sorted({*(s for _, s in queue.ready), *(lock.stored for lock in queue.locks.values())},
                            key=lambda s: s.seq)
            chosen = [s for s in stored if s.seq >= start][:count]
            if not chosen:
                return 204, "No messages", None
            return 200, "OK", {"messages": [{"message": self._peeked(s)} for s in chosen]}
        raise _ManagementError(501, NOT_IMPLEMENTED, f"operation {operation!r} is not supported by this broker")

    @staticmethod
    def _peeked(stored: _Stored) -> bytes:
        message = Message()
        message.decode(stored.raw)
        message.delivery_count = max(stored.deliveries - 1, 0)
        annotations = dict(message.annotations or {})
        annotations[symbol("x-opt-sequence-number")] = stored.seq
        annotations[symbol("x-opt-enqueued-time")] = timestamp(stored.enqueued_ms)
        message.annotations = annotations
        if stored.dead_letter:
            message.properties = {**(message.properties or {}), **stored.dead_letter}
        return bytes(message.encode())

    def _reply(self, request_link: Link, request: Message, response: Message) -> None:
        """Send the response on the client's receiving link for the same node."""
        node = request_link.sb_node
        reply_to = entity_name(request.reply_to) if request.reply_to else None
        candidates = [link for link in getattr(request_link.connection, "sb_links", ())
                      if link.is_sender and getattr(link, "sb_node", None) == node]
        same_session = [link for link in candidates if link.session == request_link.session]
        ordered = same_session + [link for link in candidates if link not in same_session]
        if reply_to:
            ordered.sort(key=lambda link: entity_name(link.remote_target.address) != reply_to)
        if not ordered:
            log.warning("no reply link for a request to %s", node)
            return
        link = ordered[0]
        link.sb_outbox.append(bytes(response.encode()))
        self._flush_outbox(link)

    @staticmethod
    def _flush_outbox(link: Link) -> None:
        outbox = getattr(link, "sb_outbox", None)
        while outbox and link.credit > 0:
            delivery = link.delivery(uuid.uuid4().bytes)
            link.stream(outbox.pop(0))
            link.advance()
            delivery.settle()


class _ManagementError(Exception):
    def __init__(self, status: int, condition: str, description: str):
        super().__init__(description)
        self.status, self.condition, self.description = status, condition, description


def _tokens(value: Any) -> list[uuid.UUID]:
    if value is None:
        return []
    items = value.elements if isinstance(value, Array) else value
    tokens = []
    for item in items:
        if isinstance(item, uuid.UUID):
            tokens.append(item)
        elif isinstance(item, (bytes, bytearray, memoryview)) and len(item) == 16:
            tokens.append(uuid.UUID(bytes=bytes(item)))
        else:
            tokens.append(uuid.UUID(str(item)))
    return tokens


class BrokerHandle:
    """A broker running in a background thread: ``.port``, ``.connection_string``, ``.stop()``."""

    def __init__(self, handler: _BrokerHandler, thread: threading.Thread):
        self._handler = handler
        self._thread = thread

    @property
    def port(self) -> int:
        return self._handler.port

    @property
    def host(self) -> str:
        return self._handler.host

    @property
    def connection_string(self) -> str:
        return connection_string(self.port, self.host)

    def stop(self, timeout_s: float = 5.0) -> None:
        self._handler.stopping.set()
        self._thread.join(timeout=timeout_s)

    def __enter__(self) -> "BrokerHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_broker(port: int = 0, host: str = "127.0.0.1", *, lock_seconds: float = 60.0,
                 max_delivery_count: int = 10, duplicate_window_s: float = 600.0) -> BrokerHandle:
    """Start the broker in a daemon thread and return once it accepts connections (loopback only)."""
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise RuntimeError(f"the Service Bus stand-in serves loopback only, not {host}")
    config = BrokerConfig(lock_seconds=lock_seconds, max_delivery_count=max_delivery_count,
                          duplicate_window_s=duplicate_window_s)
    ready = threading.Event()
    handler = _BrokerHandler(config, host, port, ready)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            Container(handler).run()
        except BaseException as error:  # noqa: BLE001 - reported to the starter below
            if ready.is_set():
                log.exception("the Service Bus stand-in stopped with an error")
            failure.append(error)
            ready.set()

    thread = threading.Thread(target=run, name="servicebus-broker", daemon=True)
    thread.start()
    if not ready.wait(timeout=10):
        raise RuntimeError("the Service Bus stand-in did not start within 10 s")
    if failure:
        raise RuntimeError(f"the Service Bus stand-in failed to start: {failure[0]}") from failure[0]
    return BrokerHandle(handler, thread)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devhost.stack.servicebus_broker",
        description="A minimal AMQP 1.0 stand-in for Azure Service Bus on loopback (not a full implementation).")
    parser.add_argument("--port", type=int, default=5672)
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address (nothing else is served)")
    parser.add_argument("--lock-seconds", type=float, default=60.0)
    parser.add_argument("--max-delivery-count", type=int, default=10)
    parser.add_argument("--duplicate-window-seconds", type=float, default=600.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        broker = start_broker(args.port, args.host, lock_seconds=args.lock_seconds,
                              max_delivery_count=args.max_delivery_count,
                              duplicate_window_s=args.duplicate_window_seconds)
    except RuntimeError as error:
        print(f"servicebus-broker: {error}", file=sys.stderr)
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"ready servicebus-broker on {broker.host}:{broker.port} {broker.connection_string}", flush=True)
    while not stop.wait(0.5) and broker._thread.is_alive():
        pass
    broker.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
