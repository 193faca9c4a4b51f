"""What every HTTP function shares: JSON in, JSON out, the error shape, 405s.

Errors leave as ``{"error": {"code", "message"}}``; an unexpected exception is
logged with its traceback and answered with a plain 500, never echoed.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
from typing import Any, Callable

import azure.functions as func

from services.settings import SettingsError

log = logging.getLogger(__name__)

# The Functions host answers 404 to a method a route does not list, so routes accept
# every method and `endpoint` answers 405 with an Allow header itself (same on Azure
# and on devhost).
ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
MAX_BODY_BYTES = 1024 * 1024


class HttpError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(payload, separators=(",", ":"), ensure_ascii=False),
        status_code=status,
        headers=headers,
        mimetype="application/json",
        charset="utf-8",
    )


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return json_response({"error": {"code": code, "message": message}}, status, headers)


def endpoint(*methods: str) -> Callable:
    """Wrap an HTTP function: method check, HttpError -> JSON error, no tracebacks out.

    Works for sync and async handlers; extra bindings (a durable client) pass through.
    """
    allowed = ", ".join(methods)

    def refusal(req: func.HttpRequest) -> func.HttpResponse | None:
        if req.method.upper() in methods:
            return None
        return error_response(405, "method_not_allowed", f"{req.method} is not supported here; use {allowed}",
                              {"Allow": allowed})

    def failure(req: func.HttpRequest, error: Exception) -> func.HttpResponse:
        if isinstance(error, HttpError):
            return error_response(error.status, error.code, error.message, error.headers)
        if isinstance(error, SettingsError):
            log.error("bad setting: %s", error)
            return error_response(500, "invalid_setting", str(error))
        log.error("unhandled error in %s %s", req.method, req.url, exc_info=error)
        return error_response(500, "internal_error", "the server failed to answer; the error was logged")

    def decorate(handler: Callable):
        if inspect.iscoroutinefunction(handler):
            @functools.wraps(handler)
            async def async_wrapper(req: func.HttpRequest, *args, **kwargs) -> func.HttpResponse:
                try:
                    return refusal(req) or await handler(req, *args, **kwargs)
                except Exception as error:  # noqa: BLE001 - the last line of defence for the user
                    return failure(req, error)

            return async_wrapper

        @functools.wraps(handler)
        def wrapper(req: func.HttpRequest, *args, **kwargs) -> func.HttpResponse:
            try:
                return refusal(req) or handler(req, *args, **kwargs)
            except Exception as error:  # noqa: BLE001 - the last line of defence for the user
                return failure(req, error)

        return wrapper

    return decorate


def json_body(req: func.HttpRequest) -> dict:
    """The request body as a JSON object, or an HttpError saying what is wrong with it."""
    body = req.get_body() or b""
    if len(body) > MAX_BODY_BYTES:
        raise HttpError(413, "payload_too_large", f"request body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}")
    if not body.strip():
        raise HttpError(400, "invalid_json", "request body is empty; send a JSON object")
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise HttpError(400, "invalid_json", f"request body is not valid JSON: {error}") from None
    if not isinstance(payload, dict):
        raise HttpError(400, "invalid_request", "request body must be a JSON object")
    return payload
