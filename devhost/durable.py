"""A local Durable Functions runtime that runs the app's real orchestrators.

The Durable extension drives a Python orchestrator with one JSON document (the
instance's whole history) and gets back JSON (the actions it wants next); it
replays the orchestrator from the start after every new event. This module does
the same in-process: it keeps each instance's history in the extension's event
shapes, calls the registered orchestrator function with it, turns new actions
into work (activities on a thread pool, timers, sub-orchestrations) and appends
their outcomes as new events. ``devhost.durable_api`` serves the HTTP API that
``DurableOrchestrationClient`` talks to, so client code runs unchanged.

One dispatcher thread runs every episode (one new event each) under one lock:
episodes are short, and a single writer keeps the ids the runtime assigns in step
with the ids the SDK assigns while replaying.
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
import itertools
import json
import logging
import threading
import traceback
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Iterator

import azure.functions as func
from azure.durable_functions.models.actions.ActionType import ActionType as A
from azure.durable_functions.models.history.HistoryEventType import HistoryEventType as H
from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter
from dateutil.parser import isoparse

log = logging.getLogger("devhost.durable")

WEBHOOK_PREFIX = "/runtime/webhooks/durabletask/"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # the SDK's DATETIME_STRING_FORMAT
TERMINAL = frozenset({"Completed", "Failed", "Terminated"})
_OUT_OF_PROC = "$OutOfProcData$:"  # the SDK appends the state JSON to a failing orchestrator's error
_CALLS = {A.CALL_ACTIVITY, A.CALL_ACTIVITY_WITH_RETRY, A.CALL_SUB_ORCHESTRATOR, A.CALL_SUB_ORCHESTRATOR_WITH_RETRY}
_SUB_ORCHESTRATIONS = {A.CALL_SUB_ORCHESTRATOR, A.CALL_SUB_ORCHESTRATOR_WITH_RETRY}


class UnknownFunctionError(LookupError):
    """No orchestrator with that name is registered."""


class InstanceNotFoundError(LookupError):
    """No instance with that id exists (or it was purged)."""


class InstanceNotRunningError(RuntimeError):
    """The instance already completed, failed or was terminated."""


class InstanceExistsError(RuntimeError):
    """``start_new`` on an id whose instance is still Pending or Running (the extension refuses it)."""


# --- what the app registered ---------------------------------------------------------------


@dataclass(frozen=True)
class DurableFunction:
    name: str  # the name callers use: the trigger's orchestration/activity name, else the function's
    trigger: str  # "orchestrationTrigger" | "activityTrigger"
    handler: Callable
    parameter: str  # the trigger's parameter name


def durable_functions(functions: Iterable) -> tuple[DurableFunction, ...]:
    """The orchestrators and activities among ``app.get_functions()``' results."""
    found = []
    for function in functions:
        trigger = function.get_trigger()
        binding = trigger.get_binding_name() if trigger is not None else None
        if binding not in ("orchestrationTrigger", "activityTrigger"):
            continue
        declared = getattr(trigger, "orchestration" if binding == "orchestrationTrigger" else "activity", None)
        found.append(DurableFunction(declared or function.get_function_name(), binding,
                                     function.get_user_function(), trigger.name))
    return tuple(found)


# --- clocks ----------------------------------------------------------------------------------


class SystemClock:
    """Real time: timers fire when the wall clock passes their FireAt."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def seconds_until(self, moment: datetime) -> float | None:
        return max(0.0, (moment - self.now()).total_seconds())

    def subscribe(self, callback: Callable[[], None]) -> None:
        pass


class ManualClock:
    """Test time: only ``advance()`` moves it, and due timers fire as it does."""

    def __init__(self, start: datetime | None = None):
        self._now = start or datetime(2024, 1, 1, tzinfo=timezone.utc)
        self._callbacks: list[Callable[[], None]] = []

    def now(self) -> datetime:
        return self._now

    def seconds_until(self, moment: datetime) -> float | None:
        return None  # nothing to wait for: advance() wakes the runtime

    def subscribe(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        for callback in list(self._callbacks):
            callback()


# --- instances -------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstanceStatus:
    instance_id: str
    name: str
    runtime_status: str  # Pending | Running | Completed | Failed | Terminated
    input: Any
    output: Any
    custom_status: Any
    created_time: datetime
    last_updated_time: datetime
    history_length: int
    input_json: str | None = None  # the input as the extension stores it (JSON text)


@dataclass
class _Scheduled:
    """One leaf action the orchestrator emitted, in emission order; replays must match it."""

    action: dict
    task_id: int | None  # None for WaitForExternalEvent (matched by name, not id)

    @property
    def key(self) -> tuple:
        """What must match on replay: the kind, and the function name, event name or FireAt."""
        kind = self.action["actionType"]
        named_by = {A.CREATE_TIMER: "fireAt", A.WAIT_FOR_EXTERNAL_EVENT: "externalEventName"}.get(kind, "functionName")
        return kind, self.action.get(named_by)


@dataclass
class _Retry:
    action: dict
    attempts: int = 1


@dataclass
class _Instance:
    instance_id: str
    name: str
    input_json: str | None
    created: datetime
    parent: tuple[str, str, int] | None = None  # (parent id, parent execution id, task id)
    execution_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    status: str = "Pending"
    output: Any = None
    custom_status: Any = None
    updated: datetime | None = None
    history: list[dict] = field(default_factory=list)
    scheduled: list[_Scheduled] = field(default_factory=list)
    next_id: int = 0
    retries: dict[int, _Retry] = field(default_factory=dict)  # by the failing attempt's task id
    retry_timers: dict[int, _Retry] = field(default_factory=dict)  # by back-off timer id
    cancelled_timers: set[int] = field(default_factory=set)
    inbox: deque = field(default_factory=deque)  # (execution id, new history event)
    buffered: dict[str, deque] = field(default_factory=dict)  # event name -> raised events nobody awaits yet

    def take_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def outstanding_waits(self, name: str) -> int:
        waits = sum(1 for s in self.scheduled if s.key == (A.WAIT_FOR_EXTERNAL_EVENT, name))
        raised = sum(1 for e in self.history if e["EventType"] == H.EVENT_RAISED and e["Name"] == name)
        return waits - raised


# --- the runtime -----------------------------------------------------------------------------


class LocalDurableRuntime:
    def __init__(self, functions: Iterable, *, clock: SystemClock | ManualClock | None = None,
                 max_workers: int = 8, schema_version: int = 2, task_hub: str = "DevhostHub",
                 hold_events_until_awaited: bool = False, fire_cancelled_timers: bool = True):
        """``functions``: what ``app.get_functions()`` returned (or ``durable_functions()`` of it).

        ``schema_version``: the replay schema to offer (0 = V1 lists of lists, 1 = V2,
        2 = V3 with compound actions; the extension offers 2).
        The defaults are the extension's semantics (docs/devhost.md lists each with its
        source). Two kinder modes exist for tests that name why they need them:
        ``hold_events_until_awaited``: hold a raised event until the orchestrator awaits its
        name (the extension appends it to history at once, and the SDK hands an event nobody
        awaited to every later wait of that name).
        ``fire_cancelled_timers=False``: drop a cancelled timer (the extension still delivers
        its TimerFired, which costs the orchestrator one more replay).
        """
        indexed = list(functions)
        if not all(isinstance(f, DurableFunction) for f in indexed):
            indexed = list(durable_functions(indexed))
        self.orchestrators = {f.name: f for f in indexed if f.trigger == "orchestrationTrigger"}
        self.activities = {f.name: f for f in indexed if f.trigger == "activityTrigger"}
        self.clock = clock or SystemClock()
        self.schema_version = schema_version
        self.task_hub = task_hub
        self.hold_events_until_awaited = hold_events_until_awaited
        self.fire_cancelled_timers = fire_cancelled_timers
        self._instances: dict[str, _Instance] = {}
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)  # any instance changed: waiters re-check
        self._work = threading.Condition(self._lock)  # an inbox got a message
        self._timer_wakeup = threading.Condition(self._lock)
        self._ready: deque[str] = deque()
        self._timers: list[tuple[datetime, int, str, str, int, str]] = []
        self._timer_seq = itertools.count()
        self._activities_running = 0
        self._closed = False
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="durable-activity")
        self._threads = [threading.Thread(target=self._dispatch_loop, name="durable-dispatch", daemon=True),
                         threading.Thread(target=self._timer_loop, name="durable-timers", daemon=True)]
        for thread in self._threads:
            thread.start()
        self.clock.subscribe(self._on_clock_advanced)

    # --- public API ----------------------------------------------------------------------

    def start_new(self, orchestrator_name: str, instance_id: str | None = None, input: Any = None, *,
                  input_json: str | None = None) -> str:
        """Start an instance; returns its id.

        As the extension with its default ``overridableExistingInstanceStates``
        (NonRunningStates): an id that is Pending or Running is refused, a finished one is
        replaced (its late messages are dropped).
        """
        if input_json is None and input is not None:
            input_json = json.dumps(input)
        with self._lock:
            existing = self._instances.get(instance_id) if instance_id else None
            if existing is not None and existing.status not in TERMINAL:
                raise InstanceExistsError(f"An Orchestration instance with the status {existing.status} already "
                                          f"exists.")
            return self._start(orchestrator_name, instance_id or uuid.uuid4().hex, input_json, None)

    def raise_event(self, instance_id: str, event_name: str, data: Any = None, *, data_json: str | None = None) -> None:
        with self._lock:
            instance = self._get(instance_id)
            if instance.status in TERMINAL:
                raise InstanceNotRunningError(f"instance {instance_id} is {instance.status}")
            payload = data_json if data_json is not None else json.dumps(data)
            event = self._event(H.EVENT_RAISED, Name=event_name, Input=payload)
            self._post(instance, event)

    def get_status(self, instance_id: str) -> InstanceStatus | None:
        with self._lock:
            instance = self._instances.get(instance_id)
            return _status(instance) if instance else None

    def get_history(self, instance_id: str) -> list[dict]:
        """The current execution's history, as the orchestrator last saw it."""
        with self._lock:
            return [dict(e) for e in self._get(instance_id).history]

    def list_instances(self) -> list[InstanceStatus]:
        with self._lock:
            return [_status(i) for i in self._instances.values()]

    def terminate(self, instance_id: str, reason: str = "") -> None:
        """Ask the instance to stop. As in the extension this is a message to the instance:
        it takes effect when the instance's queue reaches it, not when this returns, and it
        does not reach sub-orchestrations."""
        with self._lock:
            instance = self._get(instance_id)
            if instance.status in TERMINAL:
                raise InstanceNotRunningError(f"instance {instance_id} is {instance.status}")
            self._post(instance, self._event(H.EXECUTION_TERMINATED, Input=json.dumps(reason)))

    def purge(self, instance_id: str) -> bool:
        """Forget a finished instance; False when unknown or still running (nothing purged)."""
        with self._lock:
            instance = self._instances.get(instance_id)
            if instance is None or instance.status not in TERMINAL:
                return False
            del self._instances[instance_id]
            self._changed.notify_all()
            return True

    def wait_for_completion(self, instance_id: str, timeout_s: float = 30.0) -> InstanceStatus:
        with self._lock:
            finished = self._changed.wait_for(
                lambda: self._get(instance_id).status in TERMINAL or self._closed, timeout=timeout_s)
            status = _status(self._get(instance_id))
            if not finished or status.runtime_status not in TERMINAL:
                raise TimeoutError(f"orchestration {instance_id} still {status.runtime_status} after {timeout_s:g} s; "
                                   f"last custom status: {status.custom_status!r}")
            return status

    def wait_idle(self, timeout_s: float = 10.0) -> None:
        """Wait until no episode is queued and no activity runs (pending timers don't count)."""
        with self._lock:
            if not self._changed.wait_for(self._idle, timeout=timeout_s):
                raise TimeoutError(f"durable runtime still busy after {timeout_s:g} s")

    def client_binding(self, base_url: str, prefix: str = WEBHOOK_PREFIX) -> str:
        """The JSON a durable client binding receives, pointing at ``durable_api_app`` on ``base_url``."""
        root = base_url.rstrip("/") + "/" + prefix.strip("/")
        query = f"taskHub={self.task_hub}&connection=Storage"
        return json.dumps({
            "taskHubName": self.task_hub,
            "creationUrls": {
                "createNewInstancePostUri": f"{root}/orchestrators/{{functionName}}[/{{instanceId}}]",
                "createAndWaitOnNewInstancePostUri":
                    f"{root}/orchestrators/{{functionName}}[/{{instanceId}}]?timeout={{timeoutInSeconds}}"
                    f"&pollingInterval={{intervalInSeconds}}",
            },
            "managementUrls": management_urls(root, "INSTANCEID", query),
            "baseUrl": root,
            "requiredQueryStringParameters": "",
            "rpcBaseUrl": root + "/",
            "httpBaseUrl": "",
            "maxGrpcMessageSizeInBytes": 0,
            "grpcHttpClientTimeout": "00:01:40",
        })

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for condition in (self._work, self._timer_wakeup, self._changed):
                condition.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> LocalDurableRuntime:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- instances and messages ----------------------------------------------------------

    def _get(self, instance_id: str) -> _Instance:
        instance = self._instances.get(instance_id)
        if instance is None:
            raise InstanceNotFoundError(f"no orchestration instance {instance_id!r}")
        return instance

    def _start(self, name: str, instance_id: str, input_json: str | None, parent) -> str:
        if name not in self.orchestrators:
            raise UnknownFunctionError(f"the function {name!r} doesn't exist or is not an orchestrator function; "
                                       f"registered orchestrators: {sorted(self.orchestrators)}")
        now = self.clock.now()
        instance = _Instance(instance_id, name, input_json, created=now, updated=now, parent=parent)
        self._instances[instance_id] = instance  # replaces an existing one: its late messages are dropped
        self._post(instance, None)  # None: the start message
        return instance_id

    def _post(self, instance: _Instance, event: dict | None, front: bool = False) -> None:
        message = (instance.execution_id, event)
        instance.inbox.appendleft(message) if front else instance.inbox.append(message)
        self._ready.append(instance.instance_id)
        self._work.notify()

    def _post_to(self, instance_id: str, execution_id: str, event: dict) -> None:
        instance = self._instances.get(instance_id)
        if instance is not None and instance.execution_id == execution_id and instance.status not in TERMINAL:
            self._post(instance, event)

    def _idle(self) -> bool:
        return self._closed or (not self._activities_running and not any(i.inbox for i in self._instances.values()))

    def _dispatch_loop(self) -> None:
        while True:
            with self._lock:  # taken per message, so status readers get in between episodes
                self._work.wait_for(lambda: self._ready or self._closed)
                if self._closed:
                    return
                instance = self._instances.get(self._ready.popleft())
                if instance is None or not instance.inbox:
                    continue
                execution_id, event = instance.inbox.popleft()
                if execution_id == instance.execution_id and instance.status not in TERMINAL:
                    self._deliver(instance, event)
                self._changed.notify_all()

    def _deliver(self, instance: _Instance, event: dict | None) -> None:
        """Route one new message to an episode (or, in the kinder mode, hold an event nobody awaits)."""
        if event is not None and event["EventType"] == H.EXECUTION_TERMINATED:
            instance.history.append(event)
            self._finish(instance, "Terminated", json.loads(event["Input"]))
            return
        if (self.hold_events_until_awaited and event is not None and event["EventType"] == H.EVENT_RAISED
                and instance.outstanding_waits(event["Name"]) <= 0):
            instance.buffered.setdefault(event["Name"], deque()).append(event)
            return
        try:
            self._episode(instance, event)
        except Exception as error:  # a runtime bug must not kill the dispatcher
            log.exception("durable runtime failed on %s", instance.instance_id)
            self._finish(instance, "Failed", f"durable runtime error: {error}")

    # --- one orchestrator episode ----------------------------------------------------------

    def _episode(self, instance: _Instance, event: dict | None) -> None:
        started = self._event(H.ORCHESTRATOR_STARTED)
        new_events = [started]
        if event is None:  # the start message
            instance.status = "Running"
            new_events.append(self._event(H.EXECUTION_STARTED, Name=instance.name, Input=instance.input_json,
                                          Version="", OrchestrationInstance={
                                              "InstanceId": instance.instance_id,
                                              "ExecutionId": instance.execution_id}))
        else:
            new_events.append(event)
        decisions = self._retry_bookkeeping(instance, event)  # takes ids before the SDK's replay would
        instance.history.extend(new_events)

        state, error = self._call_orchestrator(instance)
        instance.custom_status = state.get("customStatus")
        actions = list(_leaf_actions(state.get("actions") or []))
        mismatch = self._check_replay(instance, actions, complete=error is None)
        if mismatch:
            log.error("NON-DETERMINISTIC ORCHESTRATOR %s (%s): %s", instance.name, instance.instance_id, mismatch)
            self._finish(instance, "Failed", f"non-deterministic orchestrator: {mismatch}")
            return
        if error is not None:
            log.warning("orchestrator %s (%s) failed: %s", instance.name, instance.instance_id, error)
            self._finish(instance, "Failed", f"Orchestrator function '{instance.name}' failed: {error}")
            return
        continue_as_new = next((a for a in actions if a["actionType"] == A.CONTINUE_AS_NEW), None)
        for action in actions[len(instance.scheduled):]:
            if action["actionType"] != A.CONTINUE_AS_NEW:
                decisions.extend(self._schedule(instance, action))
        self._cancel_timers(instance, actions)
        instance.history.extend(decisions)
        instance.history.append(self._event(H.ORCHESTRATOR_COMPLETED))
        instance.updated = self.clock.now()
        if continue_as_new is not None:
            self._continue_as_new(instance, continue_as_new.get("input"))
        elif state.get("isDone"):
            self._finish(instance, "Completed", state.get("output"))
        else:
            self._release_buffered_events(instance)

    def _call_orchestrator(self, instance: _Instance) -> tuple[dict, str | None]:
        """Call the registered function with the context document; (state, error message or None)."""
        boundary = max(i for i, e in enumerate(instance.history) if e["EventType"] == H.ORCHESTRATOR_STARTED)
        history = [{**e, "IsPlayed": i < boundary} for i, e in enumerate(instance.history)]
        document = {
            "history": history,
            "instanceId": instance.instance_id,
            "isReplaying": boundary > 0,
            "parentInstanceId": instance.parent[0] if instance.parent else None,
            "input": instance.input_json,
            "upperSchemaVersion": min(self.schema_version, 1),
            # what the extension sends for Azure Storage; long timers are split into 3-day timers
            "maximumShortTimerDuration": "6.00:00:00",
            "longRunningTimerIntervalDuration": "3.00:00:00",
        }
        if self.schema_version >= 2:
            document["upperSchemaVersionNew"] = self.schema_version
        handler = self.orchestrators[instance.name].handler
        try:
            return json.loads(handler(func.OrchestrationContext(json.dumps(document)))), None
        except Exception as error:  # the SDK raises with the state JSON after a marker
            message, _, state_json = str(error).partition("\n\n" + _OUT_OF_PROC)
            try:
                state = json.loads(state_json) if state_json else {}
            except ValueError:
                state = {}
            return state, state.get("error") or message or type(error).__name__

    def _check_replay(self, instance: _Instance, actions: list[dict], complete: bool) -> str | None:
        """Actions for already-recorded work must be the same, in the same order."""
        for index, recorded in enumerate(instance.scheduled):
            if index >= len(actions):
                if not complete:
                    return None  # it raised before getting there: report the exception instead
                return (f"{instance.name} ({instance.instance_id}): history has {_describe(recorded.action)} as action "
                        f"#{index} but the orchestrator no longer emits it")
            if _Scheduled(actions[index], None).key != recorded.key:
                return (f"{instance.name} ({instance.instance_id}): history has {_describe(recorded.action)} as action "
                        f"#{index} but the replay emitted {_describe(actions[index])}")
        return None

    def _schedule(self, instance: _Instance, action: dict) -> list[dict]:
        """Start the work a new action asks for; returns the history events recording it."""
        kind = action["actionType"]
        if kind == A.WAIT_FOR_EXTERNAL_EVENT:
            instance.scheduled.append(_Scheduled(action, None))
            return []
        if kind not in _CALLS and kind != A.CREATE_TIMER:
            raise NotImplementedError(f"the local durable runtime does not support action {_describe(action)}")
        task_id = instance.take_id()
        instance.scheduled.append(_Scheduled(action, task_id))
        if kind == A.CREATE_TIMER:
            self._add_timer(instance, task_id, action["fireAt"])
            return [self._event(H.TIMER_CREATED, task_id, FireAt=action["fireAt"])]
        if kind in (A.CALL_ACTIVITY_WITH_RETRY, A.CALL_SUB_ORCHESTRATOR_WITH_RETRY):
            instance.retries[task_id] = _Retry(action)
        return [self._run(instance, action, task_id)]

    def _run(self, instance: _Instance, action: dict, task_id: int) -> dict:
        """Run an activity or start a sub-orchestration for task ``task_id``."""
        name, input_json = action["functionName"], action.get("input")
        if action["actionType"] in _SUB_ORCHESTRATIONS:
            child_id = action.get("instanceId") or f"{instance.instance_id}:{task_id}"
            parent = (instance.instance_id, instance.execution_id, task_id)
            try:
                self._start(name, child_id, input_json, parent)
            except UnknownFunctionError as error:
                self._post(instance, self._event(H.SUB_ORCHESTRATION_INSTANCE_FAILED, TaskScheduledId=task_id,
                                                 Reason=str(error), Details=""))
            return self._event(H.SUB_ORCHESTRATION_INSTANCE_CREATED, task_id, Name=name, InstanceId=child_id,
                               Input=input_json)
        self._activities_running += 1
        self._pool.submit(self._activity_thread, instance.instance_id, instance.execution_id, task_id, name, input_json)
        return self._event(H.TASK_SCHEDULED, task_id, Name=name, Input=input_json)

    def _retry_bookkeeping(self, instance: _Instance, event: dict | None) -> list[dict]:
        """-WithRetry calls: the extension, not the SDK, times the back-off and re-runs the call.

        The SDK gives the back-off timer the next task id when it replays the failure,
        and the re-run the next id when it replays the timer; take them here, first.
        """
        if event is None:
            return []
        kind = event["EventType"]
        retry = instance.retries.pop(event.get("TaskScheduledId"), None)
        if kind in (H.TASK_FAILED, H.SUB_ORCHESTRATION_INSTANCE_FAILED) and retry is not None:
            timer_id = instance.take_id()
            fire_at = self.clock.now() + retry_delay(retry.action.get("retryOptions") or {}, retry.attempts)
            fire_at_text = fire_at.strftime(TIME_FORMAT)
            instance.retry_timers[timer_id] = retry
            self._add_timer(instance, timer_id, fire_at_text)
            return [self._event(H.TIMER_CREATED, timer_id, FireAt=fire_at_text)]
        retry = instance.retry_timers.pop(event.get("TimerId"), None) if kind == H.TIMER_FIRED else None
        max_attempts = (retry.action.get("retryOptions") or {}).get("maxNumberOfAttempts", 1) if retry else 0
        if retry is None or retry.attempts >= max_attempts:
            return []  # the SDK fails the task after this last back-off timer
        retry.attempts += 1
        task_id = instance.take_id()
        instance.retries[task_id] = retry
        return [self._run(instance, retry.action, task_id)]

    def _continue_as_new(self, instance: _Instance, input_json: str | None) -> None:
        """A fresh execution with a new input; events not yet awaited carry over (as in DF 2.x)."""
        fresh = _Instance(instance.instance_id, instance.name, input_json, created=instance.created,
                          updated=self.clock.now(), parent=instance.parent, status="Running",
                          custom_status=instance.custom_status, buffered=instance.buffered)
        self._instances[instance.instance_id] = fresh
        self._post(fresh, None)
        for _, event in instance.inbox:  # raised during the old execution's last episode
            if event is not None and event["EventType"] == H.EVENT_RAISED:
                self._post(fresh, event)

    def _release_buffered_events(self, instance: _Instance) -> None:
        """Hand over the oldest buffered event for each name the orchestrator now awaits."""
        for name, events in instance.buffered.items():
            if events and instance.outstanding_waits(name) > 0:
                self._post(instance, events.popleft(), front=True)

    def _finish(self, instance: _Instance, status: str, output: Any) -> None:
        if status != "Terminated":  # (terminate() records ExecutionTerminated itself)
            instance.history.append(self._event(H.EXECUTION_COMPLETED, OrchestrationStatus=status,
                                                Result=json.dumps(output)))
        instance.status, instance.output, instance.updated = status, output, self.clock.now()
        instance.inbox.clear()
        if instance.parent is not None:
            parent_id, execution_id, task_id = instance.parent
            if status == "Completed":
                event = self._event(H.SUB_ORCHESTRATION_INSTANCE_COMPLETED, TaskScheduledId=task_id,
                                    Result=json.dumps(output))
            else:
                event = self._event(H.SUB_ORCHESTRATION_INSTANCE_FAILED, TaskScheduledId=task_id,
                                    Reason=f"{status}: {output}", Details="")
            self._post_to(parent_id, execution_id, event)
        self._changed.notify_all()

    # --- activities ------------------------------------------------------------------------

    def _activity_thread(self, instance_id: str, execution_id: str, task_id: int, name: str,
                         input_json: str | None) -> None:
        outcome = self._call_activity(name, input_json)
        with self._lock:
            self._activities_running -= 1
            self._post_to(instance_id, execution_id, self._event(outcome.pop("EventType"), TaskScheduledId=task_id,
                                                                 **outcome))
            self._changed.notify_all()

    def _call_activity(self, name: str, input_json: str | None) -> dict:
        """Call the activity as the Python worker does: decode the input, encode the result."""
        function = self.activities.get(name)
        if function is None:
            return {"EventType": H.TASK_FAILED, "Reason": f"the function {name!r} doesn't exist or is not an "
                                                          f"activity function", "Details": ""}
        try:
            value = (ActivityTriggerConverter.decode(meta.Datum(type="json", value=input_json), trigger_metadata=None)
                     if input_json is not None else None)
            result = function.handler(**{function.parameter: value})
            if inspect.isawaitable(result):
                result = asyncio.run(result)
            return {"EventType": H.TASK_COMPLETED,
                    "Result": ActivityTriggerConverter.encode(result, expected_type=None).value}
        except Exception as error:
            log.warning("activity %s failed: %s", name, error)
            return {"EventType": H.TASK_FAILED, "Reason": f"Activity function '{name}' failed: "
                                                          f"{type(error).__name__}: {error}",
                    "Details": traceback.format_exc()}

    # --- timers ----------------------------------------------------------------------------

    def _add_timer(self, instance: _Instance, timer_id: int, fire_at: str) -> None:
        entry = (isoparse(fire_at), next(self._timer_seq), instance.instance_id, instance.execution_id, timer_id,
                 fire_at)
        heapq.heappush(self._timers, entry)
        self._timer_wakeup.notify()

    def _cancel_timers(self, instance: _Instance, actions: list[dict]) -> None:
        """A timer the orchestrator cancelled (``timer.cancel()``) must not wake it."""
        for scheduled, action in zip(instance.scheduled, actions):
            if action["actionType"] == A.CREATE_TIMER and action.get("isCanceled"):
                instance.cancelled_timers.add(scheduled.task_id)

    def _fire_due_timers(self) -> None:
        now = self.clock.now()
        while self._timers and self._timers[0][0] <= now:
            _, _, instance_id, execution_id, timer_id, fire_at = heapq.heappop(self._timers)
            instance = self._instances.get(instance_id)
            if instance is not None and timer_id in instance.cancelled_timers and not self.fire_cancelled_timers:
                continue
            self._post_to(instance_id, execution_id, self._event(H.TIMER_FIRED, TimerId=timer_id, FireAt=fire_at))

    def _timer_loop(self) -> None:
        with self._lock:
            while not self._closed:
                self._fire_due_timers()
                timeout = self.clock.seconds_until(self._timers[0][0]) if self._timers else None
                self._timer_wakeup.wait(timeout)

    def _on_clock_advanced(self) -> None:
        with self._lock:
            if not self._closed:
                self._fire_due_timers()

    def _event(self, kind: H, event_id: int = -1, **fields) -> dict:
        """A history event shaped as the extension sends it (IsPlayed is set per episode)."""
        return {"EventType": int(kind), "EventId": event_id, "IsPlayed": False,
                "Timestamp": self.clock.now().strftime(TIME_FORMAT), **fields}


# --- helpers ---------------------------------------------------------------------------------


def _leaf_actions(groups: list) -> Iterator[dict]:
    """Flatten the actions of any schema: V1 lists of lists, V2/V3 compound WhenAll/WhenAny."""
    for item in groups:
        if isinstance(item, list):
            yield from _leaf_actions(item)
        elif item.get("actionType") in (A.WHEN_ALL, A.WHEN_ANY):
            yield from _leaf_actions(item.get("compoundActions") or [])
        else:
            yield item


def retry_delay(options: dict, failed_attempts: int) -> timedelta:
    """The back-off before the next attempt, as DurableTask.Core's RetryInterceptor computes it:
    first interval × coefficient^(attempts - 1), capped at the maximum interval."""
    first_ms = options.get("firstRetryIntervalInMilliseconds", 1000)
    delay_ms = first_ms * options.get("backoffCoefficient", 1.0) ** max(0, failed_attempts - 1)
    cap_ms = options.get("maxRetryIntervalInMilliseconds")
    return timedelta(milliseconds=min(delay_ms, cap_ms) if cap_ms else delay_ms)


def _describe(action: dict) -> str:
    kind = action.get("actionType")
    label = A(kind).name if kind in A._value2member_map_ else str(kind)
    detail = action.get("functionName") or action.get("externalEventName") or action.get("fireAt") or ""
    return f"{label}({detail!r})"


def _status(instance: _Instance) -> InstanceStatus:
    return InstanceStatus(
        instance_id=instance.instance_id, name=instance.name, runtime_status=instance.status,
        input=json.loads(instance.input_json) if instance.input_json is not None else None,
        output=instance.output, custom_status=instance.custom_status, created_time=instance.created,
        last_updated_time=instance.updated or instance.created, history_length=len(instance.history),
        input_json=instance.input_json)


def management_urls(root: str, instance_id: str, query: str) -> dict[str, str]:
    """The instance management URLs the extension hands out (status, events, terminate, ...)."""
    base = f"{root}/instances/{instance_id}"
    return {
        "id": instance_id,
        "statusQueryGetUri": f"{base}?{query}",
        "sendEventPostUri": f"{base}/raiseEvent/{{eventName}}?{query}",
        "terminatePostUri": f"{base}/terminate?reason={{text}}&{query}",
        "rewindPostUri": f"{base}/rewind?reason={{text}}&{query}",
        "purgeHistoryDeleteUri": f"{base}?{query}",
        "restartPostUri": f"{base}/restart?{query}",
        "suspendPostUri": f"{base}/suspend?reason={{text}}&{query}",
        "resumePostUri": f"{base}/resume?reason={{text}}&{query}",
    }
