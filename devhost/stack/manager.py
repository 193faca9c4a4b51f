"""``python -m devhost stack up|down|status``: the local stand-ins for the Azure services,
as background processes on loopback, no Docker.

| service          | stand-in                                            | default port(s)   |
| ---------------- | --------------------------------------------------- | ----------------- |
| Blob/Queue/Table | Azurite (npm, pinned in devhost/stack/package.json) | 10000-10002       |
| Redis            | redis-server                                        | 6379              |
| Cosmos DB        | @vercel/cosmosdb-server behind cosmos_launcher.js   | 8081              |
| Service Bus      | servicebus_broker.py, a minimal AMQP 1.0 broker     | 5672              |

A default port that is taken is replaced by a free one. ``up`` writes the settings
to .devhost/stack.env (the names of local.settings.json.example); ``down`` stops
every process it started (process groups, SIGTERM then SIGKILL) and removes it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from devhost.asgi import free_port
from devhost.stack.azurite import azurite_command
from devhost.stack.cosmos_launcher import EMULATOR_KEY
from devhost.stack_env import STACK_ENV, write_stack_env
from services.settings import azurite_connection_string

STACK_DIR = Path(__file__).resolve().parent
NODE_BIN = STACK_DIR / "node_modules" / ".bin"
STATE = Path(".devhost") / "stack"


class StackError(RuntimeError):
    pass


@dataclass(frozen=True)
class Service:
    name: str
    ports: tuple[int, ...]  # defaults; the first is the one readiness is checked on
    command: Callable[[tuple[int, ...], Path], list[str]]
    settings: Callable[[tuple[int, ...]], dict[str, str]]


def _azurite(ports, state):
    return azurite_command(state / "azurite", *ports)


def servicebus_connection_string(port: int) -> str:
    return (f"Endpoint=sb://127.0.0.1:{port};SharedAccessKeyName=RootManageSharedAccessKey;"
            "SharedAccessKey=local;UseDevelopmentEmulator=true")


SERVICES = (
    Service("azurite", (10000, 10001, 10002), _azurite,
            lambda p: {"AzureWebJobsStorage": azurite_connection_string(*p)}),
    Service("redis", (6379,),
            lambda p, state: [shutil.which("redis-server") or "redis-server", "--bind", "127.0.0.1", "--port",
                              str(p[0]), "--save", "", "--appendonly", "no", "--dir", str(state)],
            lambda p: {"REDIS_URL": f"redis://127.0.0.1:{p[0]}/0"}),
    Service("cosmos", (8081,),
            lambda p, state: ["node", str(STACK_DIR / "cosmos_launcher.js"), "--port", str(p[0])],
            lambda p: {"COSMOS_ENDPOINT": f"http://127.0.0.1:{p[0]}", "COSMOS_KEY": EMULATOR_KEY,
                       "COSMOS_DATABASE": "classroom"}),
    Service("servicebus", (5672,),
            # The queue's lock duration and delivery limit are the broker's, as in Service Bus,
            # taken from the same settings the infrastructure uses for the real queue.
            lambda p, state: [sys.executable, "-m", "devhost.stack.servicebus_broker", "--port", str(p[0]),
                              "--lock-seconds", os.environ.get("JOB_LOCK_SECONDS", "300"),
                              "--max-delivery-count", os.environ.get("JOB_MAX_DELIVERY_COUNT", "3")],
            lambda p: {"ServiceBusConnection": servicebus_connection_string(p[0])}),
)


def up(state: Path = STATE, env_file: Path = STACK_ENV, timeout_s: float = 60.0) -> dict[str, str]:
    """Start every service not already running; write and return the settings."""
    if not (NODE_BIN / "azurite").exists():
        raise StackError(f"the Node packages are not installed: (cd {STACK_DIR} && npm ci)")
    state.mkdir(parents=True, exist_ok=True)
    settings: dict[str, str] = {}
    for service in SERVICES:
        ports = _running_ports(service, state) or _start(service, state, timeout_s)
        settings.update(service.settings(ports))
    write_stack_env(settings, env_file)
    return settings


def down(state: Path = STATE, env_file: Path = STACK_ENV) -> list[str]:
    """Stop every service this stack started; returns their names."""
    stopped = []
    for service in SERVICES:
        pid_file = state / f"{service.name}.pid"
        if not pid_file.exists():
            continue
        pid = int(pid_file.read_text().split()[0])
        _stop_group(pid)
        pid_file.unlink()
        stopped.append(service.name)
    env_file.unlink(missing_ok=True)
    return stopped


def stop_service(name: str, state: Path = STATE) -> tuple[int, ...]:
    """Stop one service (an outage drill); returns its ports, for ``start_service``."""
    pid_file = state / f"{name}.pid"
    pid, *ports = map(int, pid_file.read_text().split())
    _stop_group(pid)
    pid_file.unlink()
    return tuple(ports)


def start_service(name: str, ports: tuple[int, ...], state: Path = STATE, timeout_s: float = 60.0) -> None:
    """Start one service again on the ports it had: clients reconnect as after a real outage."""
    service = next(s for s in SERVICES if s.name == name)
    _start(service, state, timeout_s, ports)


def status(state: Path = STATE) -> dict[str, tuple[int, ...] | None]:
    return {service.name: _running_ports(service, state) for service in SERVICES}


def _start(service: Service, state: Path, timeout_s: float, ports: tuple[int, ...] | None = None) -> tuple[int, ...]:
    ports = ports or tuple(port if _port_free(port) else free_port() for port in service.ports)
    command = service.command(ports, state)
    if shutil.which(command[0]) is None and not Path(command[0]).exists():
        raise StackError(f"{service.name}: {command[0]} is not installed (bash scripts/setup.sh --test)")
    log = open(state / f"{service.name}.log", "ab")
    process = subprocess.Popen(command, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    (state / f"{service.name}.pid").write_text(f"{process.pid} {' '.join(map(str, ports))}\n")
    deadline = time.monotonic() + timeout_s
    while not _accepts(ports[0]):
        if process.poll() is not None or time.monotonic() > deadline:
            _stop_group(process.pid)
            (state / f"{service.name}.pid").unlink(missing_ok=True)
            raise StackError(f"{service.name} did not start on 127.0.0.1:{ports[0]}; see {state / service.name}.log")
        time.sleep(0.1)
    return ports


def _running_ports(service: Service, state: Path) -> tuple[int, ...] | None:
    pid_file = state / f"{service.name}.pid"
    if not pid_file.exists():
        return None
    pid, *ports = map(int, pid_file.read_text().split())
    if _alive(pid) and _accepts(ports[0]):
        return tuple(ports)
    pid_file.unlink()
    return None


def _stop_group(pid: int, grace_s: float = 10.0) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _alive(pid: int) -> bool:
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)  # reap it if it is our child
        if finished:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _accepts(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
