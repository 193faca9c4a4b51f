"""One contract for the job-queue port, run against both adapters.

- ``InProcessBus`` (services/jobs.py), the embedded default, on the real clock;
- ``ServiceBusJobQueue`` (services/jobs_servicebus.py), the real azure-servicebus SDK,
  talking AMQP to devhost's stand-in broker (devhost/stack/servicebus_broker.py) on a
  free loopback port, started once for this module.

Both run with a short lock (``LOCK_S``) and ``MAX_DELIVERIES`` so expiry and
dead-lettering take real but little time. Queues are shared by the tests of one
adapter; each test leaves them empty and a fixture checks (and drains) them first.
The last tests drive the broker with the SDK's own ServiceBusClient, and its CLI.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from azure.servicebus import ServiceBusClient, ServiceBusMessage, ServiceBusSubQueue

from devhost.stack.servicebus_broker import start_broker
from services.jobs import DEAD_LETTER_SUFFIX, JOBS_QUEUE, RESULTS_QUEUE, InProcessBus, LockLost
from services.jobs_servicebus import ServiceBusJobQueue
from tests.conftest import REPO, free_port

LOCK_S = 1.5
MAX_DELIVERIES = 3
DLQ = JOBS_QUEUE + DEAD_LETTER_SUFFIX
QUEUES = (JOBS_QUEUE, RESULTS_QUEUE, DLQ)


@pytest.fixture(scope="module")
def broker():
    handle = start_broker(port=0, lock_seconds=LOCK_S, max_delivery_count=MAX_DELIVERIES)
    yield handle
    handle.stop()


@pytest.fixture(scope="module", params=["in-process", "servicebus"])
def adapter(request):
    if request.param == "in-process":
        yield InProcessBus(lock_duration_s=LOCK_S, max_delivery_count=MAX_DELIVERIES)
        return
    queue = ServiceBusJobQueue.from_connection_string(request.getfixturevalue("broker").connection_string)
    yield queue
    queue.close()


@pytest.fixture
def bus(adapter):
    """The adapter with empty queues (a failed test may leave messages behind, locked ones too)."""
    for queue in QUEUES:
        deadline = time.monotonic() + LOCK_S + 5
        while adapter.depth(queue) and time.monotonic() < deadline:
            message = adapter.receive(queue, max_wait_s=LOCK_S + 0.5)
            if message is not None:
                adapter.complete(message)
        assert adapter.depth(queue) == 0, f"{queue} could not be emptied"
    return adapter


def settle(bus, how: str, message) -> None:
    if how == "dead_letter":
        bus.dead_letter(message, "Reason", "description")
    else:
        getattr(bus, how)(message)


# --- send / receive / settle ---------------------------------------------------------------


def test_send_receive_complete(bus):
    bus.send(JOBS_QUEUE, {"job_id": "j1", "index": 0}, message_id="j1")
    message = bus.receive(JOBS_QUEUE, max_wait_s=5)
    assert (message.queue, message.message_id, message.body, message.delivery_count) == (
        JOBS_QUEUE, "j1", {"job_id": "j1", "index": 0}, 1)
    assert message.lock_token
    assert message.properties == {}
    assert abs(message.enqueued_at - time.time()) < 60
    assert bus.depth(JOBS_QUEUE) == 1, "a locked message still counts"
    bus.complete(message)
    assert bus.receive(JOBS_QUEUE, max_wait_s=0.2) is None
    assert bus.depth(JOBS_QUEUE) == 0


def test_messages_come_out_in_the_order_they_were_sent(bus):
    for i in range(4):
        bus.send(JOBS_QUEUE, {"i": i}, message_id=f"order-{i}")
    received = [bus.receive(JOBS_QUEUE, max_wait_s=5) for _ in range(4)]
    assert [m.body["i"] for m in received] == [0, 1, 2, 3]
    assert len({m.lock_token for m in received}) == 4
    for message in received:
        bus.complete(message)


def test_receive_on_an_empty_queue_waits_then_returns_none(bus):
    started = time.monotonic()
    assert bus.receive(JOBS_QUEUE, max_wait_s=0.3) is None
    assert 0.25 <= time.monotonic() - started < 1.5
    assert bus.receive(JOBS_QUEUE, max_wait_s=0) is None


def test_abandon_redelivers_at_once_with_the_next_delivery_count(bus):
    bus.send(JOBS_QUEUE, {"n": 1}, message_id="abandon-1")
    bus.abandon(bus.receive(JOBS_QUEUE, max_wait_s=5))
    started = time.monotonic()
    again = bus.receive(JOBS_QUEUE, max_wait_s=LOCK_S / 2)
    assert time.monotonic() - started < LOCK_S / 2, "redelivered at once, not after the lock expired"
    assert (again.message_id, again.body, again.delivery_count) == ("abandon-1", {"n": 1}, 2)
    bus.complete(again)


def test_an_expired_lock_redelivers_and_the_stale_lock_cannot_settle(bus):
    bus.send(JOBS_QUEUE, {"n": 1}, message_id="expire-1")
    first = bus.receive(JOBS_QUEUE, max_wait_s=5)
    received_at = time.monotonic()
    second = bus.receive(JOBS_QUEUE, max_wait_s=LOCK_S + 3)
    assert second is not None, "redelivered once the lock expired"
    assert time.monotonic() - received_at >= LOCK_S * 0.8
    assert (second.message_id, second.body, second.delivery_count) == ("expire-1", {"n": 1}, 2)
    assert second.lock_token != first.lock_token
    with pytest.raises(LockLost):
        bus.complete(first)
    bus.complete(second)
    assert bus.depth(JOBS_QUEUE) == 0


def test_renew_lock_keeps_the_message_locked(bus):
    bus.send(JOBS_QUEUE, {}, message_id="renew-1")
    message = bus.receive(JOBS_QUEUE, max_wait_s=5)
    time.sleep(LOCK_S * 0.6)
    bus.renew_lock(message)
    time.sleep(LOCK_S * 0.6)  # past the first lock, within the renewed one
    assert bus.receive(JOBS_QUEUE, max_wait_s=0) is None
    bus.complete(message)
    with pytest.raises(LockLost):
        bus.renew_lock(message)


@pytest.mark.parametrize("how", ["complete", "abandon", "dead_letter"])
def test_settling_twice_raises_lock_lost(bus, how):
    bus.send(JOBS_QUEUE, {}, message_id=f"twice-{how}")
    message = bus.receive(JOBS_QUEUE, max_wait_s=5)
    bus.complete(message)
    with pytest.raises(LockLost):
        settle(bus, how, message)
    assert (bus.depth(JOBS_QUEUE), bus.depth(DLQ)) == (0, 0)


# --- dead letters -------------------------------------------------------------------------------


def test_dead_letter_keeps_reason_and_description_in_the_sub_queue(bus):
    bus.send(JOBS_QUEUE, {"job": 1}, message_id="dead-1")
    bus.dead_letter(bus.receive(JOBS_QUEUE, max_wait_s=5), "PoisonJob", "chunk audio t1/v1/00000.wav does not exist")
    assert bus.receive(JOBS_QUEUE, max_wait_s=0.2) is None
    assert (bus.depth(JOBS_QUEUE), bus.depth(DLQ)) == (0, 1)
    dead = bus.receive(DLQ, max_wait_s=5)
    assert (dead.queue, dead.message_id, dead.body) == (DLQ, "dead-1", {"job": 1})
    assert dead.properties == {"DeadLetterReason": "PoisonJob",
                               "DeadLetterErrorDescription": "chunk audio t1/v1/00000.wav does not exist"}
    bus.complete(dead)
    assert bus.depth(DLQ) == 0


def test_past_max_delivery_count_the_message_is_dead_lettered(bus):
    bus.send(JOBS_QUEUE, {"job": "poison"}, message_id="poison-1")
    for expected_count in range(1, MAX_DELIVERIES + 1):
        message = bus.receive(JOBS_QUEUE, max_wait_s=5)
        assert message.delivery_count == expected_count
        bus.abandon(message)
    assert bus.receive(JOBS_QUEUE, max_wait_s=0.3) is None
    dead = bus.receive(DLQ, max_wait_s=5)
    assert (dead.message_id, dead.body) == ("poison-1", {"job": "poison"})
    assert dead.properties["DeadLetterReason"] == "MaxDeliveryCountExceeded"
    assert str(MAX_DELIVERIES) in dead.properties["DeadLetterErrorDescription"]
    bus.complete(dead)


def test_depth_counts_ready_and_locked_but_not_dead_lettered(bus):
    for i in range(3):
        bus.send(JOBS_QUEUE, {"i": i}, message_id=f"depth-{i}")
    first = bus.receive(JOBS_QUEUE, max_wait_s=5)
    assert bus.depth(JOBS_QUEUE) == 3
    bus.dead_letter(first, "PoisonJob")
    assert (bus.depth(JOBS_QUEUE), bus.depth(DLQ)) == (2, 1)
    for queue in (JOBS_QUEUE, JOBS_QUEUE, DLQ):
        bus.complete(bus.receive(queue, max_wait_s=5))


# --- duplicates, queues, bodies -------------------------------------------------------------------


def test_send_many_sends_a_batch_in_order_with_duplicates_dropped(bus):
    bus.send_many(JOBS_QUEUE, [({"i": i}, f"batch-{i}") for i in range(5)] + [({"i": 99}, "batch-0")])
    received = [bus.receive(JOBS_QUEUE, max_wait_s=5) for _ in range(5)]
    assert [m.body["i"] for m in received] == [0, 1, 2, 3, 4]
    assert all(m.lock_seconds and m.lock_seconds > 0 for m in received), "each delivery says how long it is locked"
    assert bus.receive(JOBS_QUEUE, max_wait_s=0.2) is None, "the repeated id was dropped"
    for message in received:
        bus.complete(message)


def test_a_duplicate_message_id_is_dropped(bus):
    bus.send(JOBS_QUEUE, {"v": "first"}, message_id="dup-1")
    bus.send(JOBS_QUEUE, {"v": "second"}, message_id="dup-1")
    bus.send(JOBS_QUEUE, {"v": "other"}, message_id="dup-2")
    first, other = bus.receive(JOBS_QUEUE, max_wait_s=5), bus.receive(JOBS_QUEUE, max_wait_s=5)
    assert (first.body, other.body) == ({"v": "first"}, {"v": "other"})
    assert bus.receive(JOBS_QUEUE, max_wait_s=0.2) is None
    bus.complete(first)
    bus.send(JOBS_QUEUE, {"v": "after completion"}, message_id="dup-1")
    assert bus.receive(JOBS_QUEUE, max_wait_s=0.2) is None, "still a duplicate within the window"
    bus.complete(other)


def test_queues_are_independent(bus):
    bus.send(JOBS_QUEUE, {"to": "jobs"}, message_id="indep-a")
    bus.send(RESULTS_QUEUE, {"to": "results"}, message_id="indep-a")  # duplicate detection is per queue
    results_message = bus.receive(RESULTS_QUEUE, max_wait_s=5)
    assert results_message.body == {"to": "results"}
    bus.abandon(results_message)
    jobs_message = bus.receive(JOBS_QUEUE, max_wait_s=5)
    assert jobs_message.body == {"to": "jobs"}
    assert bus.receive(JOBS_QUEUE, max_wait_s=0.2) is None
    again = bus.receive(RESULTS_QUEUE, max_wait_s=5)
    assert (again.body, again.delivery_count) == ({"to": "results"}, 2)
    bus.complete(jobs_message)
    bus.complete(again)


def test_a_json_body_round_trips(bus):
    body = {
        "text": "¿Qué ves? — 日本語, emoji 🎈, quotes \" and \\ backslash",
        "nested": {"list": [1, 2.5, None, True, False, {"deep": [[], {}]}], "empty": {}},
        "big": 2**53, "negative": -0.125, "tab\tkey": "line\nbreak",
    }
    bus.send(JOBS_QUEUE, body, message_id="json-1")
    message = bus.receive(JOBS_QUEUE, max_wait_s=5)
    assert message.body == body
    bus.complete(message)


# --- threads ------------------------------------------------------------------------------------


def test_a_blocking_receive_is_woken_by_a_send_from_another_thread(bus):
    got, waited = [], []

    def receiver():
        started = time.monotonic()
        got.append(bus.receive(JOBS_QUEUE, max_wait_s=5.0))
        waited.append(time.monotonic() - started)

    thread = threading.Thread(target=receiver)
    thread.start()
    time.sleep(0.2)
    bus.send(JOBS_QUEUE, {"hello": "worker"}, message_id="wake-1")
    thread.join(timeout=10)
    assert got[0].body == {"hello": "worker"}
    assert 0.1 < waited[0] < 2.0
    bus.complete(got[0])


def test_settling_does_not_wait_for_another_threads_long_receive(bus):
    bus.send(JOBS_QUEUE, {}, message_id="settle-fast-1")
    message = bus.receive(JOBS_QUEUE, max_wait_s=5)
    other = threading.Thread(target=bus.receive, args=(JOBS_QUEUE, 1.0))
    other.start()
    time.sleep(0.1)
    started = time.monotonic()
    bus.complete(message)
    assert time.monotonic() - started < 0.6
    other.join(timeout=10)


# --- health ----------------------------------------------------------------------------------------


def test_health_is_ok(bus):
    health = bus.health()
    assert (health.name, health.status) == ("jobs", "ok")


def test_health_is_down_when_nothing_listens():
    adapter = ServiceBusJobQueue.from_connection_string(
        f"Endpoint=sb://127.0.0.1:{free_port()};SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true",
        retry_total=0)
    try:
        health = adapter.health()
        assert (health.name, health.status) == ("jobs", "down")
    finally:
        adapter.close()


# --- the broker with the SDK itself, and its command line ----------------------------------------------


def test_the_sdk_sends_and_receives_through_the_broker(broker):
    queue = "sdk-direct"
    with ServiceBusClient.from_connection_string(broker.connection_string) as client:
        with client.get_queue_sender(queue) as sender:
            sender.send_messages(ServiceBusMessage('{"one": 1}', message_id="sdk-1"))
            sender.send_messages([ServiceBusMessage("two", message_id="sdk-2"),
                                  ServiceBusMessage("three", message_id="sdk-3")])  # a batch
        with client.get_queue_receiver(queue) as receiver:
            messages = []
            while len(messages) < 3 and (batch := receiver.receive_messages(max_message_count=3, max_wait_time=5)):
                messages += batch
            assert [str(m) for m in messages] == ['{"one": 1}', "two", "three"]
            assert [m.message_id for m in messages] == ["sdk-1", "sdk-2", "sdk-3"]
            first = messages[0]
            now = datetime.now(timezone.utc)
            assert not first.delivery_count, "AMQP counts earlier deliveries: none yet"
            assert now < first.locked_until_utc <= now + timedelta(seconds=LOCK_S + 1)
            assert abs((first.enqueued_time_utc - now).total_seconds()) < 60
            assert messages[0].sequence_number < messages[1].sequence_number < messages[2].sequence_number
            assert receiver.renew_message_lock(first) > now
            receiver.complete_message(first)
            receiver.abandon_message(messages[1])
            receiver.dead_letter_message(messages[2], reason="Testing", error_description="said so")
            again = receiver.receive_messages(max_message_count=1, max_wait_time=5)[0]
            assert (str(again), again.delivery_count) == ("two", 1)
            receiver.complete_message(again)
            assert receiver.peek_messages(max_message_count=10) == []
        with client.get_queue_receiver(queue, sub_queue=ServiceBusSubQueue.DEAD_LETTER) as dead_letters:
            dead = dead_letters.receive_messages(max_message_count=1, max_wait_time=5)[0]
            assert (str(dead), dead.dead_letter_reason, dead.dead_letter_error_description) == (
                "three", "Testing", "said so")
            dead_letters.complete_message(dead)


def test_the_adapter_dead_letters_a_body_that_is_not_a_json_object(broker):
    queue, dead_letters = "not-json", "not-json" + DEAD_LETTER_SUFFIX
    with ServiceBusClient.from_connection_string(broker.connection_string) as client, \
            ServiceBusJobQueue.from_connection_string(broker.connection_string) as adapter:
        with client.get_queue_sender(queue) as sender:
            sender.send_messages([ServiceBusMessage("not json", message_id="bad-1"),
                                  ServiceBusMessage("[1, 2]", message_id="bad-2"),
                                  ServiceBusMessage('{"ok": true}', message_id="good-1")])
        good = adapter.receive(queue, max_wait_s=5)
        assert good.body == {"ok": True}, "unreadable messages are dead-lettered, not returned"
        adapter.complete(good)
        assert adapter.depth(dead_letters) == 2
        with client.get_queue_receiver(queue, sub_queue=ServiceBusSubQueue.DEAD_LETTER) as receiver:
            peeked = receiver.peek_messages(max_message_count=5)
            assert [(m.message_id, m.dead_letter_reason) for m in peeked] == [
                ("bad-1", "InvalidBody"), ("bad-2", "InvalidBody")]
        assert adapter.receive(dead_letters, max_wait_s=0.5) is None, "unreadable dead letters are dropped"
        assert adapter.depth(dead_letters) == 0


def test_the_command_line_prints_ready_and_stops_on_sigterm():
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "devhost.stack.servicebus_broker", "--port", str(port)],
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = process.stdout.readline()
        assert line.startswith("ready") and f"127.0.0.1:{port}" in line and "UseDevelopmentEmulator=true" in line
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
