"""What every HTTP function shares: sign-in, roles, rate limits, JSON in and out, errors.

``endpoint(*operations)`` wraps a function with the operations (blueprints/contract.py)
it serves and admits a request in this order: method (405), bearer token (401), role
(403), rate limit (429), query and body against the operation's models (413/400). Only
then does the handler run, reading the admitted ``Call`` with ``current_call()``.

Errors leave as ``{"error": {"code", "message"}}``; an unexpected exception is logged
with its traceback and answered with a plain 500, never echoed. Every response carries
the security headers. Nothing here logs a request's headers (they hold the token).
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import json
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import azure.functions as func
from opentelemetry.trace import SpanKind, Status, StatusCode
from pydantic import BaseModel, ValidationError

from blueprints.contract import Operation, Request
from services import telemetry
from services.identity import IdentityUnavailable, InvalidToken, NotEntitled, Principal
from services.settings import SettingsError

log = logging.getLogger(__name__)

# The Functions host answers 404 to a method a route does not list, so routes accept
# every method and `endpoint` answers 405 with an Allow header itself (same on Azure
# and on devhost).
ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
MAX_BODY_BYTES = 1024 * 1024
UPLOAD_OPERATION = "createVideo"  # its trace goes on with the upload's pipeline
# An API answers JSON only: nothing may frame it, sniff it into HTML or run from it.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class HttpError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


@dataclass(frozen=True)
class Call:
    """An admitted request: who calls, and its validated body and query."""

    operation: Operation
    principal: Principal | None
    body: Any = None
    query: Any = None

    @property
    def tenant_id(self) -> str:
        return self.principal.tenant_id

    @property
    def user_id(self) -> str:
        return self.principal.user_id

    def is_admin(self) -> bool:
        return "admin" in self.principal.roles


_current: contextvars.ContextVar[Call] = contextvars.ContextVar("call")


def current_call() -> Call:
    return _current.get()


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    if isinstance(payload, BaseModel):
        payload = payload.model_dump(mode="json")
    return func.HttpResponse(
        json.dumps(payload, separators=(",", ":"), ensure_ascii=False),
        status_code=status,
        headers={**SECURITY_HEADERS, **(headers or {})},
        mimetype="application/json",
        charset="utf-8",
    )


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return json_response({"error": {"code": code, "message": message}}, status, headers)


def endpoint(*operations: Operation) -> Callable:
    """Wrap an HTTP function serving ``operations`` (one per method). Works for sync and
    async handlers; extra bindings (a durable client) pass through."""
    by_method = {op.method: op for op in operations}
    allowed = ", ".join(by_method)

    def admit(req: func.HttpRequest) -> Call:
        operation = by_method.get(req.method.upper())
        if operation is None:
            raise HttpError(405, "method_not_allowed", f"{req.method} is not supported here; use {allowed}",
                            {"Allow": allowed})
        if operation.roles is None:
            return Call(operation, None)
        principal = authenticated(req)
        if not principal.has_any(operation.roles):
            raise HttpError(403, "forbidden", f"your role ({', '.join(sorted(principal.roles))}) cannot "
                                              f"{operation.summary[0].lower() + operation.summary[1:]}")
        if operation.rate_limit:
            throttle(operation.rate_limit, principal)
        query = parsed(operation.query, dict(req.params)) if operation.query else None
        body = None
        if operation.body:
            raw = req.get_body() or b""
            if raw.strip() or operation.body_required:
                body = parsed(operation.body, json_body(req))
            else:
                body = operation.body()
        return Call(operation, principal, body, query)

    def failure(req: func.HttpRequest, error: Exception) -> func.HttpResponse:
        if isinstance(error, HttpError):
            return error_response(error.status, error.code, error.message, error.headers)
        if isinstance(error, SettingsError):
            log.error("bad setting: %s", error)
            return error_response(500, "invalid_setting", str(error))
        log.error("unhandled error in %s %s", req.method, _path(req), exc_info=error)
        return error_response(500, "internal_error", "the server failed to answer; the error was logged")

    @contextmanager
    def traced(req: func.HttpRequest) -> Iterator[_Outcome]:
        """A server span per request (a child of the caller's traceparent, if it sent one) with the
        route, the status and the tenant, and the request's duration as http.server.request.duration."""
        method = req.method.upper()
        route = "/api" + by_method.get(method, operations[0]).path
        started = time.perf_counter()
        headers = {key.lower(): value for key, value in req.headers.items()}
        with telemetry.span(f"{method} {route}", parent=headers, kind=SpanKind.SERVER,
                            attributes={"http.request.method": method, "http.route": route}) as span:
            outcome = _Outcome()
            yield outcome
            status = outcome.response.status_code if outcome.response is not None else 500
            span.set_attribute("http.response.status_code", status)
            if outcome.call is not None and outcome.call.principal is not None:
                span.set_attribute("classroom.tenant.id", outcome.call.tenant_id)
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR))
            telemetry.instruments().http_duration.record(time.perf_counter() - started, {
                "http.request.method": method, "http.route": route, "http.response.status_code": status})
            if outcome.call is not None and outcome.call.operation.operation_id == UPLOAD_OPERATION and status == 201:
                remember_upload_trace(outcome.call.tenant_id, outcome.response)

    def decorate(handler: Callable):
        if inspect.iscoroutinefunction(handler):
            @functools.wraps(handler)
            async def async_wrapper(req: func.HttpRequest, *args, **kwargs) -> func.HttpResponse:
                with traced(req) as outcome:
                    try:
                        outcome.call = admit(req)
                        token = _current.set(outcome.call)
                        try:
                            outcome.response = await handler(req, *args, **kwargs)
                        finally:
                            _current.reset(token)
                    except Exception as error:  # noqa: BLE001 - the last line of defence for the user
                        outcome.response = failure(req, error)
                    return outcome.response

            return async_wrapper

        @functools.wraps(handler)
        def wrapper(req: func.HttpRequest, *args, **kwargs) -> func.HttpResponse:
            with traced(req) as outcome:
                try:
                    outcome.call = admit(req)
                    token = _current.set(outcome.call)
                    try:
                        outcome.response = handler(req, *args, **kwargs)
                    finally:
                        _current.reset(token)
                except Exception as error:  # noqa: BLE001 - the last line of defence for the user
                    outcome.response = failure(req, error)
                return outcome.response

        return wrapper

    return decorate


@dataclass
class _Outcome:
    call: Call | None = None
    response: func.HttpResponse | None = None


def remember_upload_trace(tenant_id: str, response: func.HttpResponse) -> None:
    """The upload's trace continues when its blob arrives (another request, another instance):
    the cache keeps the creating request's traceparent until then (best effort: without it
    the pipeline starts a trace of its own)."""
    traceparent = telemetry.current_traceparent()
    if not traceparent:
        return
    try:
        video_id = json.loads(response.get_body())["video_id"]
    except (ValueError, KeyError, TypeError):
        return
    from blueprints import dependencies

    telemetry.remember_trace(dependencies.cache(), telemetry.upload_trace_key(tenant_id, video_id), traceparent)


def authenticated(req: func.HttpRequest) -> Principal:
    from blueprints import auth  # built-once dependencies; imported late to keep this module light

    try:
        return auth.principal(req)
    except InvalidToken as error:
        raise HttpError(401, "unauthorized", str(error),
                        {"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
    except NotEntitled as error:
        raise HttpError(403, "forbidden", str(error)) from None
    except IdentityUnavailable as error:
        raise HttpError(503, "identity_unavailable", str(error), {"Retry-After": "30"}) from None


def throttle(action: str, principal: Principal) -> None:
    from blueprints import auth

    retry_after = auth.limiter().hit(action, principal.tenant_id, principal.user_id)
    if retry_after is not None:
        seconds = int(retry_after)
        raise HttpError(429, "rate_limited", f"too many requests; try again in {seconds} s",
                        {"Retry-After": str(seconds)})


def json_body(req: func.HttpRequest) -> Any:
    """The request body as parsed JSON, or an HttpError saying what is wrong with it."""
    body = req.get_body() or b""
    if len(body) > MAX_BODY_BYTES:
        raise HttpError(413, "payload_too_large", f"request body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}")
    if not body.strip():
        raise HttpError(400, "invalid_json", "request body is empty; send a JSON object")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise HttpError(400, "invalid_json", f"request body is not valid JSON: {error}") from None


def parsed(model: type[Request], data: Any) -> Request:
    """``data`` validated by ``model``, or a 400 naming the field and the problem."""
    if not isinstance(data, dict):
        raise HttpError(400, "invalid_request", "request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = error.errors(include_url=False)
        first = problems[0]
        code = first["type"] if first["type"] == "invalid_request" else model.error_codes.get(first["type"],
                                                                                              "invalid_request")
        message = "; ".join(_problem(p) for p in problems[:3])
        raise HttpError(400, code, message) from None


def _problem(problem: dict) -> str:
    where = "".join(f"[{part}]" if isinstance(part, int) else (f".{part}" if i else f'"{part}"')
                    for i, part in enumerate(problem["loc"]))
    message = problem["msg"]
    if problem["type"].endswith("_type"):
        message += f", not {_json_type(problem.get('input'))}"
    return f"{where}: {message}" if where else message


def _json_type(value) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "an object", str: "a string"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _path(req: func.HttpRequest) -> str:
    """The URL without its query string (a query may carry what the caller typed)."""
    return req.url.split("?", 1)[0]
