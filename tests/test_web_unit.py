"""The web app's own unit tests (formatting, timeline layout, API client errors, CSV export),
run by Node's built-in test runner through `npm test` in web/, so that the README's test
command runs them with everything else."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parent.parent / "web"


def test_web_unit_tests_pass():
    npm = shutil.which("npm")
    if npm is None or not (WEB / "node_modules" / "typescript").is_dir():
        pytest.fail("the web app's Node packages are missing: run bash scripts/setup.sh --web")
    run = subprocess.run([npm, "test", "--silent"], cwd=WEB, capture_output=True, text=True, timeout=120)
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-4000:]
    assert "# fail 0" in report and "# pass 0" not in report
