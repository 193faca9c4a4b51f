"""Start the local Cosmos DB stand-in (``cosmos_launcher.js``) for tests and the dev stack.

``start_cosmos()`` runs ``node cosmos_launcher.js --port N`` on 127.0.0.1, waits for its
"ready http://127.0.0.1:PORT/" line and returns a handle with ``.port``, ``.endpoint``,
``.key`` and ``.stop()`` (also a context manager). State is in memory: it ends with the
process. The key is the well-known Cosmos DB emulator key; the server does not check
signatures, but the SDK needs a valid base64 key to sign requests at all.
"""

from __future__ import annotations

import collections
import os
import shutil
import subprocess
import threading
from pathlib import Path

from devhost.stack import stop_process

STACK_DIR = Path(__file__).resolve().parent
LAUNCHER_JS = STACK_DIR / "cosmos_launcher.js"
SERVER_PACKAGE = STACK_DIR / "node_modules" / "@vercel" / "cosmosdb-server"

# The Azure Cosmos DB emulator's published, well-known account key (not a secret).
EMULATOR_KEY = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
EMULATOR_DATABASE = "classroom"
DEFAULT_PORT = 8081


class CosmosLauncherError(RuntimeError):
    """The launcher could not be started (Node or the npm package missing, or no ready line)."""


class CosmosServer:
    """A running ``cosmos_launcher.js``; ``stop()`` ends it (SIGTERM, then SIGKILL)."""

    key = EMULATOR_KEY

    def __init__(self, process: subprocess.Popen, port: int, output: collections.deque, reader: threading.Thread):
        self.process, self.port, self._output, self._reader = process, port, output, reader
        self.endpoint = f"http://127.0.0.1:{port}/"

    @property
    def output(self) -> str:
        """The launcher's recent stdout/stderr (the last 200 lines), for diagnostics."""
        return "".join(self._output)

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout_s: float = 5.0) -> None:
        stop_process(self.process, timeout_s)
        self._reader.join(timeout=timeout_s)  # EOF once the process is gone
        if self.process.stdout and not self._reader.is_alive():
            self.process.stdout.close()

    def __enter__(self) -> "CosmosServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"CosmosServer(endpoint={self.endpoint!r}, pid={self.process.pid})"


def start_cosmos(port: int = 0, *, node: str | None = None, timeout_s: float = 15.0,
                 extra_env: dict[str, str] | None = None) -> CosmosServer:
    """Start the launcher on 127.0.0.1:``port`` (0: any free port) and wait until it is ready."""
    node = node or shutil.which("node")
    if node is None:
        raise CosmosLauncherError("node is not on PATH (Node 20+ is needed for the Cosmos DB stand-in)")
    if not SERVER_PACKAGE.is_dir():
        raise CosmosLauncherError(f"@vercel/cosmosdb-server is not installed: (cd {STACK_DIR} && npm ci)")
    env = {**os.environ, **extra_env} if extra_env else None
    process = subprocess.Popen(
        [node, str(LAUNCHER_JS), "--port", str(port)],
        cwd=STACK_DIR, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, bufsize=1, env=env,
    )
    output: collections.deque[str] = collections.deque(maxlen=200)
    ready = threading.Event()
    found: list[int] = []

    def drain():  # read every line so the pipe never fills; the first "ready" line carries the port
        for line in process.stdout:
            output.append(line)
            if not ready.is_set() and line.startswith("ready "):
                found.append(int(line.strip().rstrip("/").rsplit(":", 1)[1]))
                ready.set()
        ready.set()  # EOF: the process ended

    reader = threading.Thread(target=drain, name="cosmos-launcher-output", daemon=True)
    reader.start()
    if not ready.wait(timeout=timeout_s) or not found:
        exited = ready.is_set()  # set without a port: its output ended, so did the process
        process.kill()
        process.wait(timeout=5)
        reader.join(timeout=5)
        what = f"exited with code {process.returncode}" if exited else f"was not ready within {timeout_s:.0f} s"
        raise CosmosLauncherError(f"cosmos_launcher.js {what}:\n{''.join(output)}")
    return CosmosServer(process, found[0], output, reader)
