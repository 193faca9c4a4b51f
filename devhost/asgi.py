"""Plain-ASGI plumbing devhost's servers share: lifespan, sending a response, reading a
body, and running an ASGI app on a loopback port in a background thread."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn


async def lifespan(receive, send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def send_response(send, status: int, headers: dict[str, str], body: bytes) -> None:
    """One complete response; ``content-length`` is set from the body."""
    head = {**{k.lower(): str(v) for k, v in headers.items()}, "content-length": str(len(body))}
    await send({"type": "http.response.start", "status": status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in head.items()]})
    await send({"type": "http.response.body", "body": body})


async def read_body(receive, limit: int | None = None) -> bytes | None:
    """The whole request body, or None when it is over ``limit`` bytes."""
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LoopbackServer:
    """uvicorn serving ``app`` on 127.0.0.1 in a daemon thread; a context manager."""

    def __init__(self, app, port: int | None = None):
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                     log_level="warning", access_log=False))
        self._thread = threading.Thread(target=self._server.run, name=f"loopback-{self.port}", daemon=True)

    def start(self, timeout_s: float = 10.0) -> "LoopbackServer":
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the server on {self.base_url} did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> "LoopbackServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
