"""scripts/smoke_test.py, the deploy workflow's smoke test, against the app served by devhost."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO, free_port, token_for

SCRIPT = str(REPO / "scripts" / "smoke_test.py")


def test_passes_against_the_running_app(served_app, app_settings):
    app_settings(PUBLIC_BASE_URL=served_app.base_url)
    done = subprocess.run([sys.executable, SCRIPT, served_app.base_url, "--wait", "30", "--token", token_for()],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "ok  GET /api/health: ok"
    assert done.stdout.splitlines()[1].startswith("ok  POST /api/v1/classify: 2 results, model ")


def test_without_a_token_it_checks_that_sign_in_is_enforced(served_app, app_settings):
    app_settings(PUBLIC_BASE_URL=served_app.base_url)
    done = subprocess.run([sys.executable, SCRIPT, served_app.base_url, "--wait", "30"],
                          capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1] == "ok  POST /api/v1/classify: 401 without a token (sign-in enforced)"


def test_fails_with_a_reason_when_nothing_answers():
    done = subprocess.run([sys.executable, SCRIPT, f"http://127.0.0.1:{free_port()}", "--wait", "0"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.startswith("smoke test FAILED: GET /api/health:")
