"""gpu_worker/healthcheck.py: the container's HEALTHCHECK (a heartbeat file's age, else the process)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from gpu_worker import healthcheck
from tests.conftest import REPO


def settings(tmp_path, **extra):
    return {"WORKER_HEARTBEAT_FILE": str(tmp_path / "beat"), **extra}


def test_beat_touches_the_file_only_when_configured(tmp_path, monkeypatch):
    monkeypatch.delenv("WORKER_HEARTBEAT_FILE", raising=False)
    healthcheck.beat()  # no setting: nothing written, nothing raised
    monkeypatch.setenv("WORKER_HEARTBEAT_FILE", str(tmp_path / "beat"))
    healthcheck.beat()
    assert (tmp_path / "beat").exists()
    monkeypatch.setenv("WORKER_HEARTBEAT_FILE", str(tmp_path / "no-such-folder" / "beat"))
    healthcheck.beat()  # an unwritable place must not stop the worker


def test_a_fresh_heartbeat_is_healthy_and_a_stale_one_is_not(tmp_path):
    (tmp_path / "beat").touch()
    now = (tmp_path / "beat").stat().st_mtime
    assert healthcheck.check(settings(tmp_path), now=now + 10) == (True, "heartbeat 10 s ago")
    healthy, reason = healthcheck.check(settings(tmp_path), now=now + 301)
    assert not healthy and "stuck" in reason
    assert healthcheck.check(settings(tmp_path, WORKER_HEARTBEAT_MAX_AGE_SECONDS="600"), now=now + 301)[0]
    assert not healthcheck.check(settings(tmp_path, WORKER_HEARTBEAT_MAX_AGE_SECONDS="soon"))[0]


def test_without_a_heartbeat_it_looks_for_the_worker_process(tmp_path):
    proc = tmp_path / "proc"
    (proc / "42").mkdir(parents=True)
    (proc / "42" / "cmdline").write_bytes(b"python\0-m\0gpu_worker\0")
    (proc / "43").mkdir()
    (proc / "43" / "cmdline").write_bytes(b"python\0-m\0gpu_worker.healthcheck\0")
    assert healthcheck.check(settings(tmp_path), proc=proc) == (
        True, f"no heartbeat at {tmp_path / 'beat'} yet; worker process running (pid 42)")
    (proc / "42" / "cmdline").write_bytes(b"sleep\0infinity\0")
    assert not healthcheck.check(settings(tmp_path), proc=proc)[0]


def test_module_exit_code(tmp_path):
    env = {**os.environ, **settings(tmp_path), "PYTHONPATH": str(REPO)}
    (tmp_path / "beat").touch()
    fresh = subprocess.run([sys.executable, "-m", "gpu_worker.healthcheck"], env=env, capture_output=True, text=True)
    assert (fresh.returncode, fresh.stdout.split(":")[0]) == (0, "healthy")
    old = time.time() - 3600
    os.utime(tmp_path / "beat", (old, old))
    stale = subprocess.run([sys.executable, "-m", "gpu_worker.healthcheck"], env=env, capture_output=True, text=True)
    assert (stale.returncode, stale.stdout.split(":")[0]) == (1, "unhealthy")
