"""python -m gpu_worker.healthcheck: exit 0 when the worker is alive, 1 when it is not.

The worker has no HTTP port, so liveness is a heartbeat file: the receive loop touches
it on every turn (``beat()``), at least once per poll interval while idle and once per
job while busy. The container's HEALTHCHECK runs this module, which passes when the
file's age is within ``WORKER_HEARTBEAT_MAX_AGE_SECONDS`` (default 300 s, the default
job lock: a turn that takes longer has already lost its job). A worker that is stuck in
a receive or a transcription stops beating and is reported unhealthy.

Until a heartbeat file exists (a worker that has just started, or a worker build that
does not beat), it falls back to checking that a ``python -m gpu_worker`` process is
running.

``beat()`` writes nothing unless ``WORKER_HEARTBEAT_FILE`` is set (the image sets it),
so the in-process worker that devhost and the tests run leaves no file behind.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

HEARTBEAT_FILE_SETTING = "WORKER_HEARTBEAT_FILE"
MAX_AGE_SETTING = "WORKER_HEARTBEAT_MAX_AGE_SECONDS"
DEFAULT_MAX_AGE_S = 300.0


def beat() -> None:
    """Mark the worker alive now (a no-op unless WORKER_HEARTBEAT_FILE is set); never raises."""
    path = os.environ.get(HEARTBEAT_FILE_SETTING, "").strip()
    if not path:
        return
    try:
        Path(path).touch()
    except OSError:
        pass  # a read-only or missing folder must not stop the worker; the health check will say so


def worker_processes(proc: Path = Path("/proc")) -> list[int]:
    """Pids of ``python -m gpu_worker`` processes (Linux /proc), this process excluded."""
    pids = []
    for entry in proc.glob("[0-9]*"):
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if int(entry.name) != os.getpid() and any(
            argv[i] == b"-m" and argv[i + 1] == b"gpu_worker" for i in range(len(argv) - 1)
        ):
            pids.append(int(entry.name))
    return sorted(pids)


def check(environ=None, now: float | None = None, proc: Path = Path("/proc")) -> tuple[bool, str]:
    """(healthy, one line saying why)."""
    env = os.environ if environ is None else environ
    path = Path(env.get(HEARTBEAT_FILE_SETTING, "").strip() or "/tmp/gpu_worker.heartbeat")
    try:
        max_age = float(env.get(MAX_AGE_SETTING, "").strip() or DEFAULT_MAX_AGE_S)
    except ValueError:
        return False, f"setting {MAX_AGE_SETTING}={env.get(MAX_AGE_SETTING)!r} is not a number"
    try:
        age = (time.time() if now is None else now) - path.stat().st_mtime
    except FileNotFoundError:
        pids = worker_processes(proc)
        if pids:
            return True, f"no heartbeat at {path} yet; worker process running (pid {pids[0]})"
        return False, f"no heartbeat at {path} and no `python -m gpu_worker` process"
    except OSError as error:
        return False, f"cannot read heartbeat {path}: {error}"
    if age <= max_age:
        return True, f"heartbeat {age:.0f} s ago"
    return False, f"last heartbeat {age:.0f} s ago (more than {max_age:.0f} s): the worker is stuck"


def main() -> int:
    healthy, reason = check()
    print(("healthy: " if healthy else "unhealthy: ") + reason)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
