"""Shared fixtures: a real redis-server, the app served by devhost over real HTTP, and
bearer tokens from devhost's local OpenID provider (its signing key lives in a folder of
this test session, never a developer's .devhost/)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import redis

from blueprints import dependencies
from devhost.asgi import LoopbackServer, free_port  # noqa: F401 - tests import free_port from here
from devhost.http_host import FunctionAppAsgi
from devhost.identity import mint_token

REPO = Path(__file__).resolve().parents[1]

# The app's default Whisper is base; tests whose truths are exact timings hear them as well
# with tiny.en, twice as fast, so the suite runs on tiny.en unless a test sets WHISPER_MODEL
# (tests/test_end_to_end.py runs the committed sample on the default model).
os.environ.setdefault("WHISPER_MODEL", "tiny.en")


def wait_until(check, timeout_s: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


def all_histories(runtime, instance_id: str) -> list[dict]:
    """A video orchestration's history followed by each of its transcription batches'."""
    ids = [instance_id] + sorted(s.instance_id for s in runtime.list_instances()
                                 if s.instance_id.startswith(instance_id + ":batch-"))
    return [event for each in ids for event in runtime.get_history(each)]


class RedisServer:
    """redis-server on a loopback port, no persistence; stop()/start() simulate an outage."""

    def __init__(self, tmp: Path):
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed; run `bash scripts/setup.sh --test`")
        self.binary, self.tmp, self.port = binary, tmp, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self):
        self.process = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", str(self.tmp)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: redis.Redis(port=self.port).ping(), what="redis-server")

    def stop(self):
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, decode_responses=True)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def live_redis(redis_server):
    """A running, empty redis-server (restarted if a test stopped it)."""
    if redis_server.process is None:
        redis_server.start()
    redis_server.client().flushall()
    return redis_server


def reset_dependencies():
    dependencies.reset()


@pytest.fixture
def app_settings(monkeypatch):
    """Set the app's environment for one test; dependencies are rebuilt from it."""

    def apply(**values: str):
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        reset_dependencies()

    monkeypatch.delenv("REDIS_URL", raising=False)
    reset_dependencies()
    yield apply
    reset_dependencies()


@pytest.fixture(scope="session", autouse=True)
def identity_home(tmp_path_factory):
    """The local provider's signing key for this session (subprocesses inherit the setting)."""
    folder = tmp_path_factory.mktemp("identity")
    saved = os.environ.get("DEVHOST_IDENTITY_DIR")
    os.environ["DEVHOST_IDENTITY_DIR"] = str(folder)
    yield folder
    if saved is None:
        os.environ.pop("DEVHOST_IDENTITY_DIR", None)
    else:
        os.environ["DEVHOST_IDENTITY_DIR"] = saved


TENANT, USER = "school-a", "coach-1"


def token_for(tenant: str = TENANT, user: str = USER, role: str = "coach", lifetime_s: int = 600) -> str:
    """A token the app accepts with its current settings, as devhost's provider issues them."""
    settings = dependencies.settings()
    return mint_token(tenant, user, role, issuer=settings.issuer, audience=settings.audiences[0],
                      lifetime_s=lifetime_s)


def bearer(tenant: str = TENANT, user: str = USER, role: str = "coach") -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(tenant, user, role)}"}


@pytest.fixture(scope="session")
def served_app():
    with LoopbackServer(FunctionAppAsgi()) as server:
        yield server


@pytest.fixture
def api(served_app, app_settings):
    """An HTTP client for the served app, with the embedded-default settings, signed in
    as a coach of TENANT (the app's issuer is the provider devhost serves beside it)."""
    app_settings(PUBLIC_BASE_URL=served_app.base_url)
    with httpx.Client(base_url=served_app.base_url, timeout=10, headers=bearer()) as client:
        yield client
