"""An ASGI app that serves the function app's HTTP triggers, the way the host does.

Each request becomes a real ``azure.functions.HttpRequest`` (method, URL, headers,
query, route parameters, body), the registered Python function is called with it
(sync functions on a worker thread, as the Python worker does), and its
``HttpResponse`` goes back as it is. Run it with ``python -m devhost serve``.

It also serves what Azure provides beside the app: the SAS-like blob upload endpoint
and the sign-in service (devhost/identity.py, a local OpenID provider). Every response
it sends carries the security headers (the app's own set them; devhost adds them to its
404s and 500s too).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from urllib.parse import parse_qsl

import azure.functions as func

from blueprints.http import SECURITY_HEADERS
from devhost import identity
from devhost.app_index import HttpFunction, http_functions
from devhost.asgi import lifespan, read_body, send_response

log = logging.getLogger("devhost.http")
MAX_REQUEST_BYTES = 100 * 1024 * 1024  # the Functions host's request size limit
BLOB_UPLOAD_PREFIX = "devhost/blobs/"  # devhost's stand-in for Blob storage's SAS upload URLs


class FunctionAppAsgi:
    """``platform`` (a devhost.platform.LocalPlatform) supplies durable client bindings
    and the blob upload endpoint; without it only plain HTTP functions are served."""

    def __init__(self, functions: tuple[HttpFunction, ...] | None = None, platform=None):
        self.functions = http_functions() if functions is None else functions
        self.platform = platform
        self.identity = identity.IdentityProvider(_settings)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path = scope["path"].strip("/")
        if path == identity.PATH_PREFIX or path.startswith(identity.PATH_PREFIX + "/"):
            await self.identity(scope, receive, send)
            return
        if path.startswith(BLOB_UPLOAD_PREFIX) and self.platform is not None:
            await send_function_response(send, await self.platform.receive_upload(scope, receive))
            return
        for function in self.functions:
            route_params = function.match(scope["method"], path)
            if route_params is not None:
                break
        else:
            # The Functions host answers a route no function declares with a bare 404 (no body):
            # so does devhost, or clients would rely on an error document Azure never sends.
            await send_function_response(send, func.HttpResponse(status_code=404))
            return

        body = await read_body(receive, MAX_REQUEST_BYTES)
        if body is None:
            message = f"request body over {MAX_REQUEST_BYTES} bytes"
            await send_function_response(send, error_response(413, "payload_too_large", message))
            return
        request = func.HttpRequest(
            method=scope["method"],
            url=_url(scope),
            headers={k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
            params=dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)),
            route_params=route_params,
            body=body,
        )
        await send_function_response(send, await self._invoke(function, request))

    async def _invoke(self, function: HttpFunction, request: func.HttpRequest) -> func.HttpResponse:
        kwargs = {function.request_parameter: request}
        if function.client_parameter:
            if self.platform is None:
                return error_response(503, "durable_unavailable", f"{function.name} needs the durable runtime; "
                                                          "start devhost with it (python -m devhost serve)")
            kwargs[function.client_parameter] = self.platform.client_binding
        return await _call(function, kwargs, self.platform)


async def _call(function: HttpFunction, kwargs: dict, platform=None) -> func.HttpResponse:
    try:
        if function.client_parameter:
            response = await asyncio.wrap_future(platform.submit(function.handler, kwargs))
        elif inspect.iscoroutinefunction(function.handler):
            response = await function.handler(**kwargs)
        else:
            response = await asyncio.to_thread(function.handler, **kwargs)
    except Exception:  # the host answers 500 and logs; so do we
        log.exception("function %s raised", function.name)
        return error_response(500, "internal_error", f"function {function.name} failed; see the devhost log")
    if not isinstance(response, func.HttpResponse):
        log.error("function %s returned %r, not an HttpResponse", function.name, type(response))
        return error_response(500, "internal_error", f"function {function.name} returned no HTTP response")
    return response


async def send_function_response(send, response: func.HttpResponse) -> None:
    headers = {**{k.lower(): v for k, v in SECURITY_HEADERS.items()},
               **{k.lower(): v for k, v in response.headers.items()}}
    if "content-type" not in headers and response.mimetype:
        charset = f"; charset={response.charset}" if response.charset else ""
        headers["content-type"] = f"{response.mimetype}{charset}"
    await send_response(send, response.status_code, headers, response.get_body() or b"")


def _settings():
    from blueprints import dependencies  # the app's settings: the issuer it trusts is the one served here

    return dependencies.settings()


def _url(scope) -> str:
    host, port = scope.get("server") or ("localhost", 80)
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{scope.get('scheme', 'http')}://{host}:{port}{scope['path']}" + (f"?{query}" if query else "")


def error_response(status: int, code: str, message: str) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps({"error": {"code": code, "message": message}}),
        status_code=status,
        mimetype="application/json",
    )
