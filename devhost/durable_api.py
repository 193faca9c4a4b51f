"""The Durable extension's HTTP API, served from a ``LocalDurableRuntime``.

``DurableOrchestrationClient`` (what ``@durable_client_input`` injects) does all
its work over HTTP against the binding's ``rpcBaseUrl``; serving the same paths,
methods and status codes here lets the app's client code run unchanged. The same
paths are the public webhook URLs that ``create_check_status_response`` hands out.

Routes, relative to the prefix (default ``/runtime/webhooks/durabletask/``):

    POST   orchestrators/{name}[/{instanceId}]      start_new          202 | 400 unknown
    GET    instances/{id}[?showInput&showHistory]   get_status         200 done | 202 running |
                                                                       400 failed/terminated | 404
    GET    instances/[?runtimeStatus&createdTimeFrom&createdTimeTo&instanceIdPrefix]
                                                    get_status_all/by  200
    POST   instances/{id}/raiseEvent/{event}        raise_event        202 | 404 | 410 finished
    POST   instances/{id}/terminate?reason=         terminate          202 | 404 | 410 finished
    DELETE instances/{id}                           purge              200 | 404
    DELETE instances/?createdTimeFrom&...           purge_by           200 | 404 none

The client double-encodes bodies (it ``json.dumps`` an already-serialised string
and posts that as JSON), so a body decodes to the JSON text of the input/event.
"""

from __future__ import annotations

import asyncio
import json
import logging
from urllib.parse import parse_qsl

from azure.durable_functions.models.history.HistoryEventType import HistoryEventType
from dateutil.parser import isoparse

from devhost.asgi import lifespan, read_body, send_response
from devhost.durable import (
    TIME_FORMAT,
    WEBHOOK_PREFIX,
    InstanceExistsError,
    InstanceNotFoundError,
    InstanceNotRunningError,
    InstanceStatus,
    LocalDurableRuntime,
    UnknownFunctionError,
    management_urls,
)

log = logging.getLogger("devhost.durable.api")
_STATUS_CODES = {"Completed": 200, "Pending": 202, "Running": 202, "Failed": 400, "Terminated": 400}
# History as the extension shows it: type names (TaskScheduled, ...), without the episode markers.
_EVENT_NAMES = {int(t): "".join(w.capitalize() for w in t.name.split("_")) for t in HistoryEventType
                if t not in (HistoryEventType.ORCHESTRATOR_STARTED, HistoryEventType.ORCHESTRATOR_COMPLETED)}


def durable_api_app(runtime: LocalDurableRuntime, prefix: str = WEBHOOK_PREFIX, fallback=None):
    """An ASGI app serving the API under ``prefix``; other paths go to ``fallback`` (else 404)."""
    prefix = "/" + prefix.strip("/") + "/"

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            if fallback is not None:
                return await fallback(scope, receive, send)
            return await lifespan(receive, send)
        if scope["type"] != "http":
            return
        path = scope["path"]
        if not (path + "/").startswith(prefix):
            if fallback is not None:
                return await fallback(scope, receive, send)
            return await _send(send, 404, {"Message": f"no durable API route for {path}"})
        body = await read_body(receive)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        request = _Request(scope["method"], path[len(prefix):].strip("/").split("/"), query, body,
                           _origin(scope) + prefix.rstrip("/"))
        try:
            # The runtime's calls are short, but take its lock: keep them off the event loop.
            status, payload, headers = await asyncio.to_thread(_route, runtime, request)
        except json.JSONDecodeError:  # what the extension answers for a body that is not JSON
            status, payload, headers = 400, {"Message": "Only application/json request content is supported"}, {}
        except Exception as error:  # noqa: BLE001 - answer 500 like the host, and log
            log.exception("durable API %s %s failed", scope["method"], path)
            status, payload, headers = 500, {"Message": str(error)}, {}
        await _send(send, status, payload, headers)

    return app


class _Request:
    def __init__(self, method: str, parts: list[str], query: dict[str, str], body: bytes, root: str):
        self.method, self.parts, self.query, self.body, self.root = method, parts, query, body, root

    def flag(self, name: str, default: bool) -> bool:
        value = self.query.get(name)
        return default if value is None else value.lower() == "true"


def _route(runtime: LocalDurableRuntime, request: _Request):
    method, parts = request.method, request.parts
    if parts[0] == "orchestrators" and method == "POST" and len(parts) in (2, 3):
        return _start(runtime, request, parts[1], parts[2] if len(parts) == 3 else None)
    if parts[0] == "entities":  # entities are not implemented: say so rather than "no such entity"
        return 501, {"Message": "durable entities are not supported by devhost's durable runtime"}, {}
    if parts[0] != "instances":
        return 404, {"Message": f"no durable API route for {'/'.join(parts)}"}, {}
    instance_id = parts[1] if len(parts) > 1 and parts[1] else None
    if instance_id is None and method == "GET":
        return 200, [_status_json(s, show_input=request.flag("showInput", True))
                     for s in _matching(runtime, request)], {}
    if instance_id is None and method == "DELETE":
        purged = sum(runtime.purge(s.instance_id) for s in _matching(runtime, request))
        return (200, {"instancesDeleted": purged}, {}) if purged else (404, None, {})
    if instance_id is not None and len(parts) == 2 and method == "GET":
        return _get_status(runtime, request, instance_id)
    if instance_id is not None and len(parts) == 2 and method == "DELETE":
        return (200, {"instancesDeleted": 1}, {}) if runtime.purge(instance_id) else (404, None, {})
    if len(parts) == 4 and parts[2] == "raiseEvent" and method == "POST":
        return _gone_or(lambda: runtime.raise_event(instance_id, parts[3], data_json=_body_json(request.body)))
    if len(parts) == 3 and parts[2] == "terminate" and method == "POST":
        return _gone_or(lambda: runtime.terminate(instance_id, request.query.get("reason", "")))
    return 501, {"Message": f"{method} {'/'.join(parts)} is not supported by devhost's durable runtime"}, {}


def _start(runtime: LocalDurableRuntime, request: _Request, name: str, instance_id: str | None):
    try:
        instance_id = runtime.start_new(name, instance_id, input_json=_body_json(request.body))
    except UnknownFunctionError as error:
        # the client raises ExceptionMessage of a 400
        return 400, {"Message": "One or more of the arguments submitted is incorrect",
                     "ExceptionMessage": str(error)}, {}
    except InstanceExistsError as error:
        # StartNewAsync throws InvalidOperationException, which HttpApiHandler does not catch:
        # the host answers 500 with its error document, and the SDK raises with that body.
        return 500, {"Message": "Something went wrong while processing your request",
                     "ExceptionMessage": str(error), "ExceptionType": "System.InvalidOperationException"}, {}
    payload = management_urls(request.root, instance_id, f"taskHub={runtime.task_hub}&connection=Storage")
    return 202, payload, {"Location": payload["statusQueryGetUri"], "Retry-After": "1"}


def _get_status(runtime: LocalDurableRuntime, request: _Request, instance_id: str):
    status = runtime.get_status(instance_id)
    if status is None:
        return 404, None, {}
    payload = _status_json(status, show_input=request.flag("showInput", True))
    if request.flag("showHistory", False):
        payload["historyEvents"] = _history_json(runtime.get_history(instance_id),
                                                 request.flag("showHistoryOutput", False))
    return _STATUS_CODES.get(status.runtime_status, 200), payload, {}


def _gone_or(operation):
    try:
        operation()
    except InstanceNotFoundError as error:
        return 404, {"Message": str(error)}, {}
    except InstanceNotRunningError as error:
        return 410, {"Message": str(error)}, {}
    return 202, None, {}


def _matching(runtime: LocalDurableRuntime, request: _Request) -> list[InstanceStatus]:
    """get_status_by / purge_instance_history_by filters."""
    statuses = set(filter(None, request.query.get("runtimeStatus", "").split(",")))
    created_from = request.query.get("createdTimeFrom")
    created_to = request.query.get("createdTimeTo")
    prefix = request.query.get("instanceIdPrefix", "")
    return [s for s in runtime.list_instances()
            if (not statuses or s.runtime_status in statuses)
            and (not created_from or s.created_time >= isoparse(created_from))
            and (not created_to or s.created_time <= isoparse(created_to))
            and s.instance_id.startswith(prefix)]


def _status_json(status: InstanceStatus, show_input: bool) -> dict:
    """The extension's status shape: ``input`` is the stored JSON text, ``output`` a JSON value."""
    return {
        "name": status.name,
        "instanceId": status.instance_id,
        "runtimeStatus": status.runtime_status,
        "input": status.input_json if show_input else None,
        "customStatus": status.custom_status,
        "output": status.output,
        "createdTime": status.created_time.strftime(TIME_FORMAT),
        "lastUpdatedTime": status.last_updated_time.strftime(TIME_FORMAT),
    }


def _history_json(history: list[dict], show_output: bool) -> list[dict]:
    """Readable history, as the extension shows it: no episode markers, names for types."""
    shown = []
    for event in history:
        name = _EVENT_NAMES.get(event["EventType"])
        if name is None:
            continue
        item = {"EventType": name, "Timestamp": event["Timestamp"]}
        for key in ("Name", "TaskScheduledId", "TimerId", "FireAt", "Reason", "Details", "OrchestrationStatus"):
            if event.get(key) is not None:
                item[key] = event[key]
        if show_output and event.get("Result") is not None:
            item["Result"] = json.loads(event["Result"])
        shown.append(item)
    return shown


def _body_json(body: bytes) -> str | None:
    """The JSON text a request carries: the client sends it as a JSON string; curl may not."""
    if not body.strip():
        return None
    value = json.loads(body)
    if isinstance(value, str):
        try:
            json.loads(value)
            return value  # the client's double encoding: the string is the JSON text
        except ValueError:
            pass
    return json.dumps(value)


async def _send(send, status: int, payload, headers: dict[str, str] | None = None) -> None:
    body = b"" if payload is None else json.dumps(payload).encode()
    await send_response(send, status, {"content-type": "application/json; charset=utf-8", **(headers or {})}, body)


def _origin(scope) -> str:
    headers = dict(scope.get("headers") or [])
    host = headers.get(b"host", b"").decode("latin-1")
    if not host:
        server_host, port = scope.get("server") or ("localhost", 80)
        host = f"{server_host}:{port}"
    return f"{scope.get('scheme', 'http')}://{host}"

