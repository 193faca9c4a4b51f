"""The job-queue port: Service Bus semantics (peek-lock, complete, abandon,
dead-letter, duplicate detection by message id, a dead-letter sub-queue).

``InProcessBus`` is the embedded default: queues in this process, one instance per
process so the app (which sends jobs), the in-process worker (which receives them)
and devhost (which delivers results to the app's Service Bus trigger) share it.
The Service Bus adapter arrives with the adapters issue and honours the same contract.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from services import telemetry
from services.cache import DependencyHealth

JOBS_QUEUE = "transcription-jobs"
RESULTS_QUEUE = "transcription-results"
DEAD_LETTER_SUFFIX = "/$DeadLetterQueue"


@dataclass
class Received:
    """A locked message. Settle it with complete / abandon / dead_letter."""

    queue: str
    message_id: str
    body: dict
    delivery_count: int
    lock_token: str
    properties: dict = field(default_factory=dict)
    enqueued_at: float = 0.0
    lock_seconds: float | None = None  # how long the lock lasted when received (renew well before)


class LockLost(RuntimeError):
    """The message's lock expired (or it was settled already); it will be redelivered."""


class JobQueue(Protocol):
    kind: str

    def send(self, queue: str, body: dict, message_id: str, properties: dict | None = None) -> None:
        """``properties``: application properties (strings). The current trace context is
        always added (traceparent / tracestate), so the receiver continues the trace."""
        ...

    def send_many(self, queue: str, messages: list[tuple[dict, str]], properties: dict | None = None) -> None:
        """(body, message id) pairs, sent together (one batch on Service Bus), each with ``properties``."""
        ...

    def receive(self, queue: str, max_wait_s: float = 1.0) -> Received | None: ...

    def complete(self, message: Received) -> None: ...

    def abandon(self, message: Received) -> None: ...

    def dead_letter(self, message: Received, reason: str, description: str = "") -> None: ...

    def renew_lock(self, message: Received) -> None:
        """Extend the message's peek-lock; LockLost when it already expired."""
        ...

    def health(self) -> DependencyHealth: ...


def outgoing_properties(properties: dict | None) -> dict:
    """A message's application properties: the caller's, plus the current trace context."""
    return {**telemetry.context_properties(), **(properties or {})}


@dataclass
class _Stored:
    message_id: str
    payload: str  # JSON
    enqueued_at: float
    delivery_count: int = 0
    properties: dict = field(default_factory=dict)


class InProcessBus:
    """Service Bus-like queues in memory.

    A received message is invisible until settled or until its lock expires, then
    redelivered with delivery_count + 1; past ``max_delivery_count`` it moves to the
    dead-letter sub-queue ("<queue>/$DeadLetterQueue") with reason
    MaxDeliveryCountExceeded, as Service Bus does.
    """

    kind = "in-process"

    def __init__(self, lock_duration_s: float = 60.0, max_delivery_count: int = 5,
                 duplicate_window_s: float = 600.0, clock=time.monotonic):
        self.lock_duration_s = lock_duration_s
        self.max_delivery_count = max_delivery_count
        self.duplicate_window_s = duplicate_window_s
        self._clock = clock
        self._ready: dict[str, deque[_Stored]] = {}
        self._locked: dict[str, tuple[str, _Stored, float]] = {}  # lock token -> (queue, message, expiry)
        self._seen: dict[tuple[str, str], float] = {}
        self._changed = threading.Condition()

    def send(self, queue: str, body: dict, message_id: str, properties: dict | None = None) -> None:
        payload = json.dumps(body)  # what Service Bus carries: serialised JSON, never the sender's object
        now = self._clock()
        with self._changed:
            if self._seen.get((queue, message_id), -1e18) > now - self.duplicate_window_s:
                return  # duplicate detection: the same message id within the window is dropped
            self._seen[(queue, message_id)] = now
            self._ready.setdefault(queue, deque()).append(
                _Stored(message_id, payload, time.time(), properties=outgoing_properties(properties)))
            self._changed.notify_all()

    def send_many(self, queue: str, messages: list[tuple[dict, str]], properties: dict | None = None) -> None:
        for body, message_id in messages:
            self.send(queue, body, message_id, properties)

    def receive(self, queue: str, max_wait_s: float = 1.0) -> Received | None:
        deadline = self._clock() + max_wait_s
        with self._changed:
            while True:
                self._expire_locks()
                message = self._next_deliverable(queue)
                if message is not None:
                    token = uuid.uuid4().hex
                    self._locked[token] = (queue, message, self._clock() + self.lock_duration_s)
                    return Received(queue, message.message_id, json.loads(message.payload), message.delivery_count, token,
                                    dict(message.properties), message.enqueued_at, self.lock_duration_s)
                remaining = deadline - self._clock()
                if remaining <= 0:
                    return None
                self._changed.wait(timeout=min(remaining, 0.05))

    def _next_deliverable(self, queue: str) -> _Stored | None:
        ready = self._ready.get(queue)
        while ready:
            message = ready.popleft()
            message.delivery_count += 1
            if message.delivery_count > self.max_delivery_count and not queue.endswith(DEAD_LETTER_SUFFIX):
                self._to_dead_letter(queue, message, "MaxDeliveryCountExceeded",
                                     f"delivered {message.delivery_count - 1} times without completion")
                continue
            return message
        return None

    def _expire_locks(self) -> None:
        now = self._clock()
        for token, (queue, message, expiry) in list(self._locked.items()):
            if expiry <= now:
                del self._locked[token]
                self._ready.setdefault(queue, deque()).appendleft(message)

    def _settle(self, message: Received) -> tuple[str, _Stored]:
        self._expire_locks()
        entry = self._locked.pop(message.lock_token, None)
        if entry is None:
            raise LockLost(f"lock on message {message.message_id} in {message.queue} expired or already settled")
        return entry[0], entry[1]

    def complete(self, message: Received) -> None:
        with self._changed:
            self._settle(message)

    def abandon(self, message: Received) -> None:
        with self._changed:
            queue, stored = self._settle(message)
            self._ready.setdefault(queue, deque()).appendleft(stored)
            self._changed.notify_all()

    def dead_letter(self, message: Received, reason: str, description: str = "") -> None:
        with self._changed:
            queue, stored = self._settle(message)
            self._to_dead_letter(queue, stored, reason, description)

    def renew_lock(self, message: Received) -> None:
        with self._changed:
            self._expire_locks()
            queue, stored, _ = self._locked.get(message.lock_token) or (None, None, None)
            if stored is None:
                raise LockLost(f"lock on message {message.message_id} expired or already settled")
            self._locked[message.lock_token] = (queue, stored, self._clock() + self.lock_duration_s)

    def _to_dead_letter(self, queue: str, message: _Stored, reason: str, description: str) -> None:
        message.properties = {**message.properties, "DeadLetterReason": reason,
                              "DeadLetterErrorDescription": description}
        message.delivery_count = 0
        self._ready.setdefault(queue + DEAD_LETTER_SUFFIX, deque()).append(message)
        self._changed.notify_all()

    def depth(self, queue: str) -> int:
        with self._changed:
            return len(self._ready.get(queue, ())) + sum(1 for q, _, _ in self._locked.values() if q == queue)

    def health(self) -> DependencyHealth:
        return DependencyHealth("jobs", "ok", "in-process queues")
