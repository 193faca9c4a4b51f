"""Azurite (npm ``azurite``): Blob, Queue and Table storage on loopback, for devhost and tests.

The Functions host needs all three (Blob for the app, Queue and Table for Durable
Functions' task hub), so one Azurite process serves them. It listens on 127.0.0.1
only, keeps its data under ``folder`` and is started without a shell. Port 0 lets
Azurite pick free ports; the ports it bound are read from its startup lines
("... successfully listening at http://127.0.0.1:PORT"), so two stacks never race
for the same port.

``--skipApiVersionCheck``: azure-storage-blob 12.31 speaks x-ms-version 2026-10-06,
newer than Azurite 3.37 knows (2026-06-06); without the flag every call is refused
with 400 InvalidHeaderValue. ``--loose`` makes Azurite ignore headers and query
parameters it does not implement instead of failing the request.
"""

from __future__ import annotations

import atexit
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from devhost.stack import stop_process
from services.settings import AZURITE_KEY, azurite_connection_string

STACK_DIR = Path(__file__).resolve().parent
AZURITE_BIN = STACK_DIR / "node_modules" / ".bin" / "azurite"

# The storage emulator's published, well-known development account (not a secret).
ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = AZURITE_KEY

_LISTENING = re.compile(r"Azurite (Blob|Queue|Table) service is successfully listening at http://[^:]+:(\d+)")
_LOG_NAME = "azurite.log"


class AzuriteError(RuntimeError):
    """Azurite did not start; the message carries the end of its output."""


@dataclass
class AzuriteHandle:
    process: subprocess.Popen
    folder: Path
    blob_port: int
    queue_port: int
    table_port: int
    host: str = "127.0.0.1"

    def endpoint(self, service: str) -> str:
        port = {"blob": self.blob_port, "queue": self.queue_port, "table": self.table_port}[service]
        return f"http://{self.host}:{port}/{ACCOUNT_NAME}"

    @property
    def blob_endpoint(self) -> str:
        return self.endpoint("blob")

    @property
    def connection_string(self) -> str:
        return azurite_connection_string(self.blob_port, self.queue_port, self.table_port, self.host)

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM (Azurite closes its services and flushes its database), SIGKILL if it hangs."""
        atexit.unregister(self.stop)
        stop_process(self.process, timeout_s)

    def __enter__(self) -> "AzuriteHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_azurite(folder: Path | str, blob_port: int = 0, queue_port: int = 0, table_port: int = 0,
                  timeout_s: float = 30.0, host: str = "127.0.0.1") -> AzuriteHandle:
    """Start Azurite's Blob, Queue and Table services with their data in ``folder``.

    Ports 0 (the default) mean "any free port"; the handle says which were bound.
    Returns once all three services listen; raises AzuriteError if Azurite exits or
    does not come up within ``timeout_s``. Its output goes to ``folder/azurite.log``.
    """
    if not AZURITE_BIN.exists():
        raise AzuriteError(f"{AZURITE_BIN} is missing: run `npm ci` in {STACK_DIR}")
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / _LOG_NAME
    command = azurite_command(folder, blob_port, queue_port, table_port, host)
    with open(log_path, "wb") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   cwd=folder)
    try:
        ports = _wait_for_ports(process, log_path, timeout_s)
    except BaseException:
        process.kill()
        process.wait(timeout=10)
        raise
    handle = AzuriteHandle(process, folder, ports["Blob"], ports["Queue"], ports["Table"], host)
    atexit.register(handle.stop)  # a forgotten handle does not outlive the Python process (a SIGKILL still can)
    return handle


def azurite_command(folder: Path, blob_port: int, queue_port: int, table_port: int,
                    host: str = "127.0.0.1") -> list[str]:
    """Azurite's command line: the three services on ``host``, data in ``folder``."""
    return [
        str(AZURITE_BIN),
        "--location", str(folder),
        "--blobHost", host, "--blobPort", str(blob_port),
        "--queueHost", host, "--queuePort", str(queue_port),
        "--tableHost", host, "--tablePort", str(table_port),
        # The SDK speaks a newer storage API version than Azurite 3.37 knows.
        "--silent", "--skipApiVersionCheck", "--loose", "--disableTelemetry",
    ]


def _wait_for_ports(process: subprocess.Popen, log_path: Path, timeout_s: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout_s
    while True:
        text = log_path.read_text(errors="replace")
        ports = {name: int(port) for name, port in _LISTENING.findall(text)}
        if len(ports) == 3:
            return ports
        if process.poll() is not None:
            raise AzuriteError(f"azurite exited with code {process.returncode}: {_tail(text)}")
        if time.monotonic() > deadline:
            raise AzuriteError(f"azurite did not start within {timeout_s:g} s: {_tail(text)}")
        time.sleep(0.05)


def _tail(text: str, lines: int = 5) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:]) or "(no output)"
