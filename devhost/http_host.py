"""An ASGI app that serves the function app's HTTP triggers, the way the host does.

Each request becomes a real ``azure.functions.HttpRequest`` (method, URL, headers,
query, route parameters, body), the registered Python function is called with it
(sync functions on a worker thread, as the Python worker does), and its
``HttpResponse`` goes back as it is. Run it with ``python -m devhost serve``.

It also serves what Azure provides beside the app: the SAS-like blob upload endpoint (and
GET-only reads of a recording through a signed media URL),
the sign-in service (devhost/identity.py, a local OpenID provider) and, at ``/``, the
built web app (``web/dist``, what Static Web Apps serves in Azure) with its
``/config.json`` written from the API's settings (the issuer the API trusts). Every response
it sends carries the security headers (the app's own set them; devhost adds them to its
404s and 500s too).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import mimetypes
import os
from pathlib import Path
from urllib.parse import parse_qsl, unquote

import azure.functions as func

from blueprints.http import SECURITY_HEADERS
from devhost import identity
from devhost.app_index import HttpFunction, http_functions, route_prefix
from devhost.asgi import lifespan, read_body, send_response

log = logging.getLogger("devhost.http")
MAX_REQUEST_BYTES = 100 * 1024 * 1024  # the Functions host's request size limit
BLOB_UPLOAD_PREFIX = "devhost/blobs/"  # devhost's stand-in for Blob storage's SAS upload URLs
WEB_ROOT = Path(__file__).resolve().parent.parent / "web" / "dist"  # `npm run build` in web/
# The web app's policy: its own origin only (API, sign-in, uploads and stored recordings are
# served here); media also from blob: URLs (the recording just uploaded, the browser's copy).
WEB_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
           "connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'")


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
        if path.startswith(BLOB_UPLOAD_PREFIX) and self.platform is not None and scope["method"] in ("GET", "HEAD"):
            await serve_blob(scope, send, self.platform.blobs)
            return
        if path.startswith(BLOB_UPLOAD_PREFIX) and self.platform is not None:
            await send_function_response(send, await self.platform.receive_upload(scope, receive))
            return
        if scope["method"] in ("GET", "HEAD") and not _is_api(path):
            await self.web_app(send, path, head=scope["method"] == "HEAD")
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

    async def web_app(self, send, path: str, head: bool = False) -> None:
        """The built front end: its files, ``index.html`` for ``/``, and ``/config.json``."""
        if path == "config.json":
            body = json.dumps(web_config()).encode()
            await send_response(send, 200, {"content-type": "application/json", "cache-control": "no-store",
                                            **STATIC_HEADERS}, b"" if head else body)
            return
        file = _web_file(path or "index.html")
        if file is None:
            missing = ("the web app is not built: run `bash scripts/setup.sh --web` (or `npm ci && npm run build` "
                       "in web/)") if not WEB_ROOT.is_dir() else f"no file /{path}"
            await send_function_response(send, error_response(404, "not_found", missing))
            return
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        # Vite names assets by content hash: they never change, so they may be cached for good.
        cache = "public, max-age=31536000, immutable" if path.startswith("assets/") else "no-cache"
        body = await asyncio.to_thread(file.read_bytes)
        await send_response(send, 200, {"content-type": kind + ("; charset=utf-8" if kind.startswith("text/") or
                                                                 kind.endswith("javascript") else ""),
                                        "cache-control": cache, **STATIC_HEADERS},
                            b"" if head else body)

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


MEDIA_CHUNK_BYTES = 1 << 20


async def serve_blob(scope, send, blobs) -> None:
    """GET/HEAD {BLOB_UPLOAD_PREFIX}{container}/{path}?se=…&sp=r&sig=… — devhost's stand-in for
    reading a blob through a read SAS (``blobs.media_url``): what the review page's player
    loads. Like Blob storage it answers one byte range (``Range: bytes=a-b``) with 206, which
    a browser needs to seek in a recording, and refuses any URL not signed for reading."""
    container, _, name = unquote(scope["path"].strip("/")[len(BLOB_UPLOAD_PREFIX):]).partition("/")
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    if query.get("sp") != "r" or not blobs.check_read(container, name, query.get("se"), query.get("sig")):
        await send_function_response(send, error_response(403, "invalid_signature",
                                                          "the media URL is invalid or has expired"))
        return
    try:
        file = blobs.local_file(container, name)
    except (FileNotFoundError, ValueError):
        await send_function_response(send, error_response(404, "not_found", "the blob does not exist"))
        return
    size = file.stat().st_size
    headers = {**STATIC_HEADERS, "accept-ranges": "bytes", "cache-control": "private, max-age=300",
               "content-type": mimetypes.guess_type(name)[0] or "application/octet-stream"}
    wanted = byte_range(dict(scope["headers"]).get(b"range", b"").decode("latin-1"), size)
    if wanted is None:
        await send_response(send, 416, {**headers, "content-range": f"bytes */{size}"}, b"")
        return
    start, end = wanted or (0, size - 1)
    status = 206 if wanted else 200
    if wanted:
        headers["content-range"] = f"bytes {start}-{end}/{size}"
    length = max(0, end - start + 1)
    await send({"type": "http.response.start", "status": status,
                "headers": [(k.encode("latin-1"), str(v).encode("latin-1"))
                            for k, v in {**headers, "content-length": str(length)}.items()]})
    if scope["method"] == "HEAD":
        await send({"type": "http.response.body", "body": b""})
        return
    with open(file, "rb") as handle:
        handle.seek(start)
        left = length
        while left > 0:
            chunk = await asyncio.to_thread(handle.read, min(MEDIA_CHUNK_BYTES, left))
            if not chunk:
                break
            left -= len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": left > 0})
    if left > 0 or length == 0:
        await send({"type": "http.response.body", "body": b""})


def byte_range(header: str, size: int) -> tuple[int, int] | None | bool:
    """One ``bytes=`` range as (first, last) inclusive; False for "the whole blob" (no header,
    or one this host does not split: several ranges, another unit); None if unsatisfiable."""
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec or "-" not in spec:
        return False
    first, _, last = (part.strip() for part in spec.partition("-"))
    if not (first.isdigit() or first == "") or not (last.isdigit() or last == "") or first == last == "":
        return False
    if first == "":  # the last N bytes
        count = int(last)
        return (max(0, size - count), size - 1) if count and size else None
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return None
    return start, end


async def send_function_response(send, response: func.HttpResponse) -> None:
    headers = {**{k.lower(): v for k, v in SECURITY_HEADERS.items()},
               **{k.lower(): v for k, v in response.headers.items()}}
    if "content-type" not in headers and response.mimetype:
        charset = f"; charset={response.charset}" if response.charset else ""
        headers["content-type"] = f"{response.mimetype}{charset}"
    await send_response(send, response.status_code, headers, response.get_body() or b"")


STATIC_HEADERS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "no-referrer",
                  "content-security-policy": WEB_CSP}


def web_config() -> dict:
    """What the web app needs to sign in, from the settings the API validates tokens with.
    WEB_CLIENT_ID / WEB_SCOPE name the app's registration (Entra ID in Azure); the
    WEB_UPLOAD_* settings tune block uploads (tests use small blocks to exercise Put Block)."""
    settings = _settings()
    upload = {key: int(os.environ[name]) for key, name in (("block_bytes", "WEB_UPLOAD_BLOCK_BYTES"),
                                                         ("single_shot_bytes", "WEB_UPLOAD_SINGLE_SHOT_BYTES"))
              if os.environ.get(name, "").isdigit()}
    return {"issuer": settings.issuer, "client_id": os.environ.get("WEB_CLIENT_ID", "classroom-web"),
            "scope": os.environ.get("WEB_SCOPE", "openid profile"), "upload": upload}


def _is_api(path: str) -> bool:
    prefix = route_prefix()
    return path == prefix or path.startswith(prefix + "/") or path.startswith("devhost/")


def _web_file(path: str) -> Path | None:
    """A file under WEB_ROOT, never outside it (``..``, symlinks out)."""
    try:
        candidate = (WEB_ROOT / unquote(path)).resolve()
    except (OSError, ValueError):
        return None
    if not candidate.is_relative_to(WEB_ROOT) or not candidate.is_file():
        return None
    return candidate


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
