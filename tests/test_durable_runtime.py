"""devhost's local Durable runtime, driving real (toy) orchestrators through the SDK's protocol,
and its HTTP API driven by the real DurableOrchestrationClient."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone

import azure.durable_functions as df
import azure.functions as func
import httpx
import pytest
from azure.durable_functions.models.utils import http_utils

from devhost.asgi import LoopbackServer
from devhost.durable import (
    InstanceExistsError,
    InstanceNotRunningError,
    LocalDurableRuntime,
    ManualClock,
    UnknownFunctionError,
    durable_functions,
    retry_delay,
)
from devhost.durable_api import durable_api_app
from tests.conftest import wait_until

START = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
ATTEMPTS: Counter = Counter()  # flaky activity calls, by key
REPLAYS: Counter = Counter()  # orchestrator invocations, by instance id (for the non-determinism test)
GATES: dict[str, threading.Event] = {}

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


# --- toy activities ------------------------------------------------------------------------


@app.activity_trigger(input_name="x")
def double(x: int) -> int:
    return x * 2


@app.activity_trigger(input_name="name", activity="greet")
async def greet_async(name: str) -> str:
    await asyncio.sleep(0)
    return f"hello {name}"


@app.activity_trigger(input_name="key")
def flaky(key: str) -> str:
    """Fails on its first call for each key."""
    ATTEMPTS[key] += 1
    if ATTEMPTS[key] == 1:
        raise ValueError(f"flaky failure for {key}")
    return f"{key} ok on attempt {ATTEMPTS[key]}"


@app.activity_trigger(input_name="gate")
def wait_gate(gate: str) -> bool:
    return GATES[gate].wait(5)


# --- toy orchestrators ---------------------------------------------------------------------


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    n = context.get_input()
    context.set_custom_status({"stage": "fanning out", "n": n})
    doubled = yield context.task_all([context.call_activity("double", i) for i in range(n)])
    greeting = yield context.call_activity("greet", "fan")
    return {"sum": sum(doubled), "greeting": greeting}


@app.orchestration_trigger(context_name="context")
def retrying(context: df.DurableOrchestrationContext):
    key = context.get_input()
    try:
        yield context.call_activity("flaky", f"{key}-plain")
        caught = None
    except Exception as error:  # the activity's TaskFailed, raised into the orchestrator
        caught = str(error)
    retried = yield context.call_activity_with_retry("flaky", df.RetryOptions(50, 3), f"{key}-retry")
    return {"caught": caught, "retried": retried}


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    """An event raced against a 60 s timer; the timer is cancelled when the event wins."""
    context.set_custom_status("waiting for approval")
    deadline = context.create_timer(context.current_utc_datetime + timedelta(seconds=60))
    event = context.wait_for_external_event("approve")
    winner = yield context.task_any([event, deadline])
    if winner is deadline:
        return {"outcome": "timed out", "at": context.current_utc_datetime.isoformat()}
    deadline.cancel()
    context.set_custom_status("approved; waiting for done")
    done = yield context.wait_for_external_event("done")
    return {"outcome": "approved", "by": event.result, "done": done}


@app.orchestration_trigger(context_name="context")
def collect(context: df.DurableOrchestrationContext):
    """Waits on a gate first, so the events it then awaits were raised before it waited."""
    yield context.call_activity("wait_gate", context.get_input())
    first = yield context.wait_for_external_event("data")
    second = yield context.wait_for_external_event("data")
    other = yield context.wait_for_external_event("other")
    return [first, second, other]


@app.orchestration_trigger(context_name="context")
def explode(context: df.DurableOrchestrationContext):
    yield context.call_activity("double", 1)
    raise ValueError("kaboom: the orchestrator gave up")


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    child = yield context.call_sub_orchestrator("fan_out", 3)
    try:
        yield context.call_sub_orchestrator("explode", None, "the-failing-child")
        failure = None
    except Exception as error:
        failure = str(error)
    return {"child": child, "failure": failure}


@app.orchestration_trigger(context_name="context")
def flaky_child(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("flaky", context.get_input()))


@app.orchestration_trigger(context_name="context")
def retrying_parent(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(first_retry_interval_in_milliseconds=50, max_number_of_attempts=2)
    return (yield context.call_sub_orchestrator_with_retry("flaky_child", options, context.get_input()))


@app.orchestration_trigger(context_name="context")
def counter(context: df.DurableOrchestrationContext):
    n = context.get_input()
    doubled = yield context.call_activity("double", n)
    if n < 3:
        context.continue_as_new(n + 1)
        return None
    return {"n": n, "doubled": doubled}


@app.orchestration_trigger(context_name="context")
def fickle(context: df.DurableOrchestrationContext):
    """Deliberately non-deterministic: the first call's activity changes after the first run."""
    REPLAYS[context.instance_id] += 1
    first = "double" if REPLAYS[context.instance_id] == 1 else "greet"
    yield context.call_activity(first, 1)
    yield context.call_activity("double", 2)
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def long_wait(context: df.DurableOrchestrationContext):
    yield context.create_timer(context.current_utc_datetime + timedelta(days=7))
    return context.current_utc_datetime.isoformat()


FUNCTIONS = tuple(app.get_functions())  # get_functions() may be called only once per app


@pytest.fixture
def runtime():
    with LocalDurableRuntime(FUNCTIONS) as rt:
        yield rt


@pytest.fixture
def manual():
    with LocalDurableRuntime(FUNCTIONS, clock=ManualClock(START)) as rt:
        yield rt


def event_types(rt: LocalDurableRuntime, instance_id: str) -> list[int]:
    return [e["EventType"] for e in rt.get_history(instance_id)]


def wait_for_custom_status(rt: LocalDurableRuntime, instance_id: str, expected) -> None:
    wait_until(lambda: rt.get_status(instance_id).custom_status == expected, 5, f"custom status {expected!r}")


# --- tests -----------------------------------------------------------------------------------


def test_index_finds_orchestrators_and_activities_by_declared_name():
    names = {(f.trigger, f.name) for f in durable_functions(FUNCTIONS)}
    assert ("orchestrationTrigger", "fan_out") in names
    assert ("activityTrigger", "greet") in names  # activity="greet", not the Python name
    assert ("activityTrigger", "greet_async") not in names


@pytest.mark.parametrize("schema_version", [0, 1, 2])  # V1 lists of lists, V2, V3 compound actions
def test_fan_out_fan_in_runs_real_activities(schema_version):
    with LocalDurableRuntime(FUNCTIONS, schema_version=schema_version) as rt:
        instance_id = rt.start_new("fan_out", input=10)
        status = rt.wait_for_completion(instance_id, 5)
    assert status.runtime_status == "Completed"
    assert status.output == {"sum": 90, "greeting": "hello fan"}
    assert status.custom_status == {"stage": "fanning out", "n": 10}
    assert status.input == 10


def test_history_has_the_extensions_shapes(runtime):
    instance_id = runtime.start_new("fan_out", "fixed-id", 2)
    runtime.wait_for_completion(instance_id, 5)
    history = runtime.get_history(instance_id)
    assert [e["EventType"] for e in history[:6]] == [12, 0, 4, 4, 13, 12]  # started, scheduled x2, ...
    assert history[1]["Name"] == "fan_out" and history[1]["Input"] == "2"
    scheduled = [e for e in history if e["EventType"] == 4]
    assert [e["EventId"] for e in scheduled] == [0, 1, 2]
    completed = [e for e in history if e["EventType"] == 5]
    assert {e["TaskScheduledId"] for e in completed} == {0, 1, 2}
    assert all(isinstance(e["Result"], str) for e in completed)  # JSON text, as the extension sends
    assert [e["EventType"] for e in history[-2:]] == [13, 1]  # OrchestratorCompleted, ExecutionCompleted
    assert json.loads(history[-1]["Result"]) == {"sum": 2, "greeting": "hello fan"}
    assert all(e["Timestamp"].endswith("Z") for e in history)


def test_failed_activity_is_catchable_and_retry_succeeds_on_second_attempt(runtime):
    instance_id = runtime.start_new("retrying", input="r1")
    status = runtime.wait_for_completion(instance_id, 5)
    assert status.runtime_status == "Completed"
    assert "flaky failure for r1-plain" in status.output["caught"]
    assert status.output["retried"] == "r1-retry ok on attempt 2"
    kinds = event_types(runtime, instance_id)
    assert kinds.count(6) == 2  # the plain failure and the retry's first attempt
    assert 10 in kinds and 11 in kinds  # the back-off timer
    back_off = next(e for e in runtime.get_history(instance_id) if e["EventType"] == 10)
    rerun = [e for e in runtime.get_history(instance_id) if e["EventType"] == 4][-1]
    assert (back_off["EventId"], rerun["EventId"]) == (2, 3)  # one id for the timer, one for the re-run


def test_event_beats_timer_and_the_cancelled_timer_still_fires_harmlessly(manual):
    """The extension keeps a cancelled timer's message: it fires later and costs one replay,
    which the SDK ignores because its WhenAny already finished."""
    instance_id = manual.start_new("approval")
    wait_for_custom_status(manual, instance_id, "waiting for approval")
    manual.raise_event(instance_id, "approve", "ana")
    wait_for_custom_status(manual, instance_id, "approved; waiting for done")

    manual.clock.advance(120)  # past the cancelled timer's FireAt
    manual.wait_idle()
    assert 11 in event_types(manual, instance_id)
    assert manual.get_status(instance_id).runtime_status == "Running"

    manual.raise_event(instance_id, "done", {"ok": True})
    status = manual.wait_for_completion(instance_id, 5)
    assert status.output == {"outcome": "approved", "by": "ana", "done": {"ok": True}}


def test_the_kinder_mode_drops_cancelled_timers_only_when_asked():
    with LocalDurableRuntime(FUNCTIONS, clock=ManualClock(START), fire_cancelled_timers=False) as rt:
        instance_id = rt.start_new("approval")
        wait_for_custom_status(rt, instance_id, "waiting for approval")
        rt.raise_event(instance_id, "approve", "ana")
        wait_for_custom_status(rt, instance_id, "approved; waiting for done")
        rt.clock.advance(120)
        rt.wait_idle()
        assert 11 not in event_types(rt, instance_id)


def test_timer_beats_event_with_manual_clock(manual):
    instance_id = manual.start_new("approval")
    manual.wait_idle()
    manual.clock.advance(59)
    manual.wait_idle()
    assert manual.get_status(instance_id).runtime_status == "Running"
    manual.clock.advance(1)
    status = manual.wait_for_completion(instance_id, 5)
    # current_utc_datetime comes from the OrchestratorStarted timestamps: deterministic
    assert status.output == {"outcome": "timed out", "at": (START + timedelta(seconds=60)).isoformat()}


def test_the_sdk_gives_one_early_event_to_every_later_wait_of_its_name(runtime):
    """The extension's semantics, and devhost's default: an event raised before its wait is
    in history at once; SDK 1.7.0 keeps it per name and replays it into later waits too.
    (Orchestrators must therefore never wait twice on one event name.)"""
    GATES["g2"] = threading.Event()
    instance_id = runtime.start_new("collect", input="g2")
    runtime.raise_event(instance_id, "data", 1)
    runtime.raise_event(instance_id, "other", 3)
    GATES["g2"].set()
    assert runtime.wait_for_completion(instance_id, 5).output == [1, 1, 3]


def test_the_kinder_mode_holds_events_until_awaited_only_when_asked():
    """hold_events_until_awaited exists to show what the SDK would need; nothing else uses it."""
    GATES["g1"] = threading.Event()
    with LocalDurableRuntime(FUNCTIONS, hold_events_until_awaited=True) as rt:
        instance_id = rt.start_new("collect", input="g1")
        rt.raise_event(instance_id, "other", 3)
        rt.raise_event(instance_id, "data", 1)
        rt.raise_event(instance_id, "data", 2)  # same name: satisfies the second wait
        GATES["g1"].set()
        assert rt.wait_for_completion(instance_id, 5).output == [1, 2, 3]


def test_sub_orchestrations_complete_and_fail_into_the_parent(runtime):
    instance_id = runtime.start_new("parent")
    status = runtime.wait_for_completion(instance_id, 5)
    assert status.output["child"] == {"sum": 6, "greeting": "hello fan"}
    assert "kaboom" in status.output["failure"]
    assert runtime.get_status("the-failing-child").runtime_status == "Failed"
    children = [s for s in runtime.list_instances() if s.instance_id.startswith(instance_id + ":")]
    assert [c.name for c in children] == ["fan_out"]
    assert 7 in event_types(runtime, instance_id) and 9 in event_types(runtime, instance_id)


def test_sub_orchestrator_with_retry_starts_a_fresh_child(runtime):
    instance_id = runtime.start_new("retrying_parent", input="sub1")
    status = runtime.wait_for_completion(instance_id, 5)
    assert status.output == "sub1 ok on attempt 2"
    children = sorted(runtime.list_instances(), key=lambda s: s.created_time)
    children = [c.runtime_status for c in children if c.instance_id.startswith(instance_id + ":")]
    assert children == ["Failed", "Completed"]
    assert event_types(runtime, instance_id).count(7) == 2  # one SubOrchestrationInstanceCreated per attempt


def test_continue_as_new_restarts_with_fresh_history(runtime):
    instance_id = runtime.start_new("counter", input=0)
    status = runtime.wait_for_completion(instance_id, 5)
    assert status.output == {"n": 3, "doubled": 6}
    assert status.input == 3
    assert event_types(runtime, instance_id)[:2] == [12, 0]
    assert event_types(runtime, instance_id).count(4) == 1  # only the last execution's activity


def test_orchestrator_exception_fails_the_instance_with_its_message(runtime):
    instance_id = runtime.start_new("explode")
    status = runtime.wait_for_completion(instance_id, 5)
    assert status.runtime_status == "Failed"
    assert "kaboom: the orchestrator gave up" in status.output


def test_non_deterministic_orchestrator_fails_loudly(runtime, caplog):
    instance_id = runtime.start_new("fickle")
    status = runtime.wait_for_completion(instance_id, 5)
    assert status.runtime_status == "Failed"
    assert status.output.startswith("non-deterministic orchestrator:")
    assert "CALL_ACTIVITY('double')" in status.output and "CALL_ACTIVITY('greet')" in status.output
    assert any("NON-DETERMINISTIC" in r.getMessage() for r in caplog.records)


def test_long_timers_are_split_like_the_extension_does(manual):
    instance_id = manual.start_new("long_wait")
    for days in (3, 3, 1):
        manual.wait_idle()
        manual.clock.advance(days * 24 * 3600)
    status = manual.wait_for_completion(instance_id, 5)
    assert status.output == (START + timedelta(days=7)).isoformat()
    # Over the 6-day maximum: a 3-day timer, then (4 days left, under the maximum) the rest.
    fire_ats = [e["FireAt"] for e in manual.get_history(instance_id) if e["EventType"] == 10]
    assert fire_ats == [(START + timedelta(days=d)).strftime("%Y-%m-%dT%H:%M:%S.%fZ") for d in (3, 7)]


def test_unknown_orchestrator_and_timeout_errors_are_clear(manual):
    with pytest.raises(UnknownFunctionError, match="no_such"):
        manual.start_new("no_such")
    instance_id = manual.start_new("approval")
    with pytest.raises(TimeoutError, match=rf"{instance_id}.*waiting for approval"):
        manual.wait_for_completion(instance_id, 0.3)


def test_terminate_is_a_message_and_purge_takes_only_finished_instances(manual):
    instance_id = manual.start_new("approval")
    wait_for_custom_status(manual, instance_id, "waiting for approval")
    with manual._lock:  # hold the dispatcher: the terminate message waits in the queue
        manual.terminate(instance_id, "no longer needed")
        assert manual.get_status(instance_id).runtime_status == "Running"
        assert manual.purge(instance_id) is False  # a running instance is not purged
    manual.wait_idle()
    status = manual.get_status(instance_id)
    assert (status.runtime_status, status.output) == ("Terminated", "no longer needed")
    with pytest.raises(InstanceNotRunningError):
        manual.terminate(instance_id, "again")
    assert manual.purge(instance_id) is True
    assert manual.get_status(instance_id) is None
    manual.close()
    manual.close()  # idempotent


def test_starting_a_running_id_is_refused_and_a_finished_one_is_replaced(manual):
    manual.start_new("approval", "singleton")
    wait_for_custom_status(manual, "singleton", "waiting for approval")
    with pytest.raises(InstanceExistsError, match="status Running already exists"):
        manual.start_new("approval", "singleton")
    manual.terminate("singleton", "stop")
    manual.wait_idle()
    manual.start_new("approval", "singleton")
    wait_for_custom_status(manual, "singleton", "waiting for approval")
    assert manual.get_status("singleton").runtime_status == "Running"


def test_retry_back_off_grows_by_the_coefficient_up_to_the_cap():
    options = {"firstRetryIntervalInMilliseconds": 2000, "backoffCoefficient": 2.0,
               "maxRetryIntervalInMilliseconds": 10000}
    assert [retry_delay(options, n).total_seconds() for n in (1, 2, 3, 4, 5)] == [2, 4, 8, 10, 10]
    assert retry_delay({"firstRetryIntervalInMilliseconds": 500}, 3).total_seconds() == 0.5


# --- the HTTP API, driven by the SDK's own client --------------------------------------------


async def poll(check, timeout_s: float = 5.0):
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        value = await check()
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.02)


def test_real_durable_client_over_http(runtime):
    with LoopbackServer(durable_api_app(runtime)) as served:
        client = df.DurableOrchestrationClient(runtime.client_binding(served.base_url))

        async def scenario():
            try:
                instance_id = await client.start_new("approval", None, {"requested_by": "sam"})
                waiting = await poll(lambda: _status_is(client, instance_id, "waiting for approval"))
                assert waiting.runtime_status == df.OrchestrationRuntimeStatus.Running
                assert json.loads(waiting.input_) == {"requested_by": "sam"}  # JSON text, as the extension

                await client.raise_event(instance_id, "approve", "ana")
                await poll(lambda: _status_is(client, instance_id, "approved; waiting for done"))
                await client.raise_event(instance_id, "done", {"ok": True})
                done = await poll(lambda: _finished(client, instance_id))
                assert done.runtime_status == df.OrchestrationRuntimeStatus.Completed
                assert done.output == {"outcome": "approved", "by": "ana", "done": {"ok": True}}

                with pytest.raises(Exception, match="gone"):
                    await client.raise_event(instance_id, "done", 1)
                with pytest.raises(Exception, match="no_such"):
                    await client.start_new("no_such")

                urls = client.create_http_management_payload(instance_id)
                public = httpx.get(urls["statusQueryGetUri"])
                assert public.status_code == 200 and public.json()["runtimeStatus"] == "Completed"
                request = func.HttpRequest("GET", served.base_url + "/api/start", body=b"")
                response = await client.wait_for_completion_or_create_check_status_response(
                    request, instance_id, 1000, 100)
                assert json.loads(response.get_body()) == done.output

                other = await client.start_new("approval", "to-terminate")
                await poll(lambda: _status_is(client, other, "waiting for approval"))
                await client.terminate(other, "no longer needed")  # a message: it lands a moment later
                await poll(lambda: _runtime_status_is(client, other, df.OrchestrationRuntimeStatus.Terminated))
                terminated = await client.get_status(other, show_history=True)
                assert terminated.runtime_status == df.OrchestrationRuntimeStatus.Terminated
                assert terminated.output == "no longer needed"
                assert terminated.historyEvents[0]["EventType"] == "ExecutionStarted"

                everything = await client.get_status_all()
                assert {s.instance_id for s in everything} >= {instance_id, other}
                by = await client.get_status_by(runtime_status=[df.OrchestrationRuntimeStatus.Terminated])
                assert [s.instance_id for s in by] == [other]

                purged = await client.purge_instance_history(other)
                assert purged.instances_deleted == 1
                assert not await client.get_status(other)
                assert not await client.get_status("never-existed")
                assert (await client.purge_instance_history("never-existed")).instances_deleted == 0
            finally:
                await http_utils._close_session()  # the SDK keeps one aiohttp session per process

        asyncio.run(scenario())


async def _status_is(client, instance_id, custom_status):
    status = await client.get_status(instance_id)
    return status if status.custom_status == custom_status else None


async def _runtime_status_is(client, instance_id, runtime_status):
    status = await client.get_status(instance_id)
    return status if status.runtime_status == runtime_status else None


async def _finished(client, instance_id):
    status = await client.get_status(instance_id)
    return status if status.runtime_status == df.OrchestrationRuntimeStatus.Completed else None
