"""The job-queue port's embedded default, services/jobs.py ``InProcessBus``.

Service Bus semantics, checked with a fake monotonic clock so lock expiry and the
duplicate-detection window take no real time: peek-lock, complete / abandon /
dead-letter, redelivery with a growing delivery count, the dead-letter sub-queue
("<queue>/$DeadLetterQueue") and its DeadLetterReason property, duplicate detection
by message id. A fake clock only moves when a test moves it, so receives that must
come back empty use ``max_wait_s=0``; the blocking-receive tests use the real clock.
"""

from __future__ import annotations

import threading
import time

import pytest

from services.jobs import DEAD_LETTER_SUFFIX, JOBS_QUEUE, RESULTS_QUEUE, InProcessBus, LockLost

DLQ = JOBS_QUEUE + DEAD_LETTER_SUFFIX


class FakeClock:
    def __init__(self, now: float = 5000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def bus(clock):
    return InProcessBus(lock_duration_s=30.0, max_delivery_count=3, duplicate_window_s=600.0, clock=clock)


def receive_now(bus: InProcessBus, queue: str = JOBS_QUEUE):
    return bus.receive(queue, max_wait_s=0)


# --- send / receive / settle ---------------------------------------------------------------


def test_send_receive_complete(bus):
    bus.send(JOBS_QUEUE, {"job_id": "j1", "index": 0}, message_id="j1")
    message = receive_now(bus)
    assert (message.queue, message.message_id, message.body, message.delivery_count) == (
        JOBS_QUEUE, "j1", {"job_id": "j1", "index": 0}, 1)
    assert message.lock_token
    assert message.properties == {}
    assert message.enqueued_at > 0
    bus.complete(message)
    assert bus.depth(JOBS_QUEUE) == 0
    assert receive_now(bus) is None


def test_messages_come_out_in_the_order_they_were_sent(bus):
    for i in range(5):
        bus.send(JOBS_QUEUE, {"i": i}, message_id=f"m{i}")
    received = [receive_now(bus) for _ in range(5)]
    assert [m.body["i"] for m in received] == [0, 1, 2, 3, 4]
    assert len({m.lock_token for m in received}) == 5


def test_receive_on_an_empty_queue_returns_none_at_once_with_no_wait(bus):
    assert receive_now(bus) is None
    assert receive_now(bus, "never-used") is None


def test_receive_waits_up_to_max_wait_then_returns_none():
    bus = InProcessBus()  # real clock
    started = time.monotonic()
    assert bus.receive(JOBS_QUEUE, max_wait_s=0.2) is None
    assert 0.18 <= time.monotonic() - started < 1.0


def test_a_locked_message_is_hidden_until_settled(bus, clock):
    bus.send(JOBS_QUEUE, {"n": 1}, message_id="m1")
    message = receive_now(bus)
    clock.advance(29.9)
    assert receive_now(bus) is None
    assert bus.depth(JOBS_QUEUE) == 1, "a locked message still counts in the queue's depth"
    bus.complete(message)
    assert bus.depth(JOBS_QUEUE) == 0


def test_an_expired_lock_redelivers_with_the_next_delivery_count(bus, clock):
    bus.send(JOBS_QUEUE, {"n": 1}, message_id="m1")
    first = receive_now(bus)
    clock.advance(30.0)
    second = receive_now(bus)
    assert (second.message_id, second.body, second.delivery_count) == ("m1", {"n": 1}, 2)
    assert second.lock_token != first.lock_token
    bus.complete(second)
    assert bus.depth(JOBS_QUEUE) == 0


def test_abandon_makes_the_message_available_again_at_once(bus):
    bus.send(JOBS_QUEUE, {"n": 1}, message_id="m1")
    bus.abandon(receive_now(bus))
    again = receive_now(bus)
    assert (again.message_id, again.delivery_count) == ("m1", 2)


def test_after_max_delivery_count_the_next_receive_dead_letters_the_message(bus):
    bus.send(JOBS_QUEUE, {"job": "poison"}, message_id="m1")
    for expected_count in (1, 2, 3):
        message = receive_now(bus)
        assert message.delivery_count == expected_count
        bus.abandon(message)
    assert receive_now(bus) is None
    assert bus.depth(JOBS_QUEUE) == 0
    assert bus.depth(DLQ) == 1
    dead = receive_now(bus, DLQ)
    assert (dead.queue, dead.message_id, dead.body) == (DLQ, "m1", {"job": "poison"})
    assert dead.properties["DeadLetterReason"] == "MaxDeliveryCountExceeded"
    assert "3" in dead.properties["DeadLetterErrorDescription"]
    bus.complete(dead)
    assert bus.depth(DLQ) == 0


def test_lock_expiries_also_count_towards_max_delivery_count(bus, clock):
    bus.send(JOBS_QUEUE, {}, message_id="m1")
    for _ in range(3):
        assert receive_now(bus) is not None
        clock.advance(31)
    assert receive_now(bus) is None
    assert receive_now(bus, DLQ).properties["DeadLetterReason"] == "MaxDeliveryCountExceeded"


def test_the_next_message_is_delivered_when_the_head_is_dead_lettered(bus):
    bus.send(JOBS_QUEUE, {"n": "poison"}, message_id="poison")
    for _ in range(3):
        bus.abandon(receive_now(bus))
    bus.send(JOBS_QUEUE, {"n": "good"}, message_id="good")
    assert receive_now(bus).message_id == "good"
    assert receive_now(bus, DLQ).message_id == "poison"


def test_explicit_dead_letter_keeps_reason_and_description(bus):
    bus.send(JOBS_QUEUE, {"job": 1}, message_id="m1")
    bus.dead_letter(receive_now(bus), "PoisonJob", "chunk audio t1/v1/00000.wav does not exist")
    assert receive_now(bus) is None
    dead = receive_now(bus, DLQ)
    assert dead.body == {"job": 1}
    assert dead.delivery_count == 1
    assert dead.properties == {"DeadLetterReason": "PoisonJob",
                               "DeadLetterErrorDescription": "chunk audio t1/v1/00000.wav does not exist"}


def test_a_dead_letter_queue_redelivers_but_never_dead_letters_again(bus):
    bus.send(JOBS_QUEUE, {}, message_id="m1")
    bus.dead_letter(receive_now(bus), "InvalidJob")
    for expected_count in range(1, 6):  # beyond max_delivery_count
        dead = receive_now(bus, DLQ)
        assert dead.delivery_count == expected_count
        bus.abandon(dead)
    assert bus.depth(DLQ) == 1
    assert bus.depth(DLQ + DEAD_LETTER_SUFFIX) == 0


# --- duplicate detection ----------------------------------------------------------------------


def test_a_duplicate_message_id_within_the_window_is_dropped(bus, clock):
    bus.send(JOBS_QUEUE, {"v": "first"}, message_id="job-1")
    clock.advance(599)
    bus.send(JOBS_QUEUE, {"v": "second"}, message_id="job-1")
    assert bus.depth(JOBS_QUEUE) == 1
    assert receive_now(bus).body == {"v": "first"}
    assert receive_now(bus) is None


def test_a_duplicate_is_dropped_even_after_the_original_was_completed(bus, clock):
    bus.send(JOBS_QUEUE, {}, message_id="job-1")
    bus.complete(receive_now(bus))
    clock.advance(10)
    bus.send(JOBS_QUEUE, {}, message_id="job-1")
    assert bus.depth(JOBS_QUEUE) == 0


def test_the_same_message_id_is_accepted_again_after_the_window(bus, clock):
    bus.send(JOBS_QUEUE, {"v": "first"}, message_id="job-1")
    bus.complete(receive_now(bus))
    clock.advance(600.5)
    bus.send(JOBS_QUEUE, {"v": "again"}, message_id="job-1")
    assert receive_now(bus).body == {"v": "again"}


def test_duplicate_detection_is_per_queue(bus):
    bus.send(JOBS_QUEUE, {"q": "jobs"}, message_id="same")
    bus.send(RESULTS_QUEUE, {"q": "results"}, message_id="same")
    assert receive_now(bus, JOBS_QUEUE).body == {"q": "jobs"}
    assert receive_now(bus, RESULTS_QUEUE).body == {"q": "results"}


# --- locks ----------------------------------------------------------------------------------


@pytest.mark.parametrize("settle", ["complete", "abandon", "dead_letter"])
def test_settling_twice_raises_lock_lost(bus, settle):
    bus.send(JOBS_QUEUE, {}, message_id="m1")
    message = receive_now(bus)
    bus.complete(message)
    with pytest.raises(LockLost):
        getattr(bus, settle)(*([message, "Reason"] if settle == "dead_letter" else [message]))


@pytest.mark.parametrize("settle", ["complete", "abandon", "dead_letter"])
def test_settling_after_the_lock_expired_raises_lock_lost_and_the_message_stays(bus, clock, settle):
    bus.send(JOBS_QUEUE, {}, message_id="m1")
    message = receive_now(bus)
    clock.advance(30.0)
    with pytest.raises(LockLost):
        getattr(bus, settle)(*([message, "Reason"] if settle == "dead_letter" else [message]))
    assert bus.depth(DLQ) == 0
    assert receive_now(bus).delivery_count == 2


def test_a_stale_lock_cannot_settle_the_redelivered_message(bus, clock):
    bus.send(JOBS_QUEUE, {}, message_id="m1")
    first = receive_now(bus)
    clock.advance(31)
    second = receive_now(bus)
    with pytest.raises(LockLost):
        bus.complete(first)
    bus.complete(second)
    assert bus.depth(JOBS_QUEUE) == 0


def test_renew_lock_extends_the_lock_from_now(bus, clock):
    bus.send(JOBS_QUEUE, {}, message_id="m1")
    message = receive_now(bus)
    clock.advance(20)
    bus.renew_lock(message)
    clock.advance(20)  # 40 s after receive, 20 s after renewal
    assert receive_now(bus) is None
    bus.complete(message)
    assert bus.depth(JOBS_QUEUE) == 0


def test_renew_lock_of_a_settled_message_raises_lock_lost(bus):
    bus.send(JOBS_QUEUE, {}, message_id="m1")
    message = receive_now(bus)
    bus.complete(message)
    with pytest.raises(LockLost):
        bus.renew_lock(message)


def test_renew_lock_after_the_lock_expired_raises_lock_lost(bus, clock):
    bus.send(JOBS_QUEUE, {}, message_id="m1")
    message = receive_now(bus)
    clock.advance(31)
    with pytest.raises(LockLost):
        bus.renew_lock(message)


# --- queues, depth, bodies ------------------------------------------------------------------


def test_queues_are_independent(bus):
    bus.send(JOBS_QUEUE, {"to": "jobs"}, message_id="a")
    bus.send(RESULTS_QUEUE, {"to": "results"}, message_id="b")
    assert (bus.depth(JOBS_QUEUE), bus.depth(RESULTS_QUEUE), bus.depth("other")) == (1, 1, 0)
    results_message = receive_now(bus, RESULTS_QUEUE)
    assert results_message.body == {"to": "results"}
    bus.abandon(results_message)
    assert receive_now(bus, JOBS_QUEUE).body == {"to": "jobs"}
    assert receive_now(bus, JOBS_QUEUE) is None
    assert receive_now(bus, RESULTS_QUEUE).delivery_count == 2


def test_depth_counts_ready_and_locked_but_not_dead_lettered(bus):
    for i in range(3):
        bus.send(JOBS_QUEUE, {}, message_id=f"m{i}")
    first = receive_now(bus)
    assert bus.depth(JOBS_QUEUE) == 3
    bus.dead_letter(first, "PoisonJob")
    assert (bus.depth(JOBS_QUEUE), bus.depth(DLQ)) == (2, 1)


def test_the_body_is_a_copy_of_what_was_sent(bus):
    body = {"job_id": "j1", "chunks": [0, 1]}
    bus.send(JOBS_QUEUE, body, message_id="j1")
    body["chunks"].append(2)
    message = receive_now(bus)
    message.body["job_id"] = "changed by a receiver"
    bus.abandon(message)
    assert receive_now(bus).body == {"job_id": "j1", "chunks": [0, 1]}


def test_health_is_ok(bus):
    assert (bus.health().name, bus.health().status) == ("jobs", "ok")


# --- threads (real clock) -----------------------------------------------------------------------


def test_a_waiting_receive_picks_up_a_message_whose_lock_expires():
    bus = InProcessBus(lock_duration_s=0.2)
    bus.send(JOBS_QUEUE, {}, message_id="m1")
    assert bus.receive(JOBS_QUEUE, max_wait_s=0) is not None
    started = time.monotonic()
    again = bus.receive(JOBS_QUEUE, max_wait_s=3.0)
    assert again.delivery_count == 2
    assert 0.1 < time.monotonic() - started < 1.0


def test_each_message_goes_to_exactly_one_of_many_concurrent_receivers():
    bus = InProcessBus()
    for i in range(40):
        bus.send(JOBS_QUEUE, {"i": i}, message_id=f"m{i}")
    received, lock = [], threading.Lock()

    def drain():
        while (message := bus.receive(JOBS_QUEUE, max_wait_s=0.05)) is not None:
            with lock:
                received.append(message.body["i"])
            bus.complete(message)

    threads = [threading.Thread(target=drain) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert sorted(received) == list(range(40))
    assert bus.depth(JOBS_QUEUE) == 0
