"""Secrets scanning: detect-secrets over every file git would commit (tracked, or new and not
ignored) finds nothing beyond ``.secrets.baseline``, the reviewed list of known non-secrets
(the storage and Cosmos emulators' published keys, model hashes).

detect-secrets lives in .venv-checks (requirements-checks.txt, ``bash scripts/setup.sh
--checks``). To accept a reviewed finding: ``.venv-checks/bin/detect-secrets scan --baseline
.secrets.baseline $(git ls-files)`` and mark it in ``detect-secrets audit .secrets.baseline``.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import REPO

HOOK = REPO / ".venv-checks" / "bin" / "detect-secrets-hook"
BASELINE = REPO / ".secrets.baseline"
BINARY = (".onnx", ".mp4", ".wav", ".png", ".jpg", ".bin", ".ico", ".woff2")


def committable_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    return [name for name in listed
            if not name.endswith(BINARY) and name != BASELINE.name and (REPO / name).is_file()]


def scan(files: list[str]) -> subprocess.CompletedProcess:
    if not HOOK.exists():
        pytest.fail("detect-secrets is not installed; run `bash scripts/setup.sh --checks`")
    return subprocess.run([str(HOOK), "--baseline", str(BASELINE), *files], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def test_no_secret_in_what_git_would_commit():
    baseline_before = BASELINE.read_text()
    done = scan(committable_files())
    # The hook rewrites line numbers in the baseline when files moved; keep the reviewed file as it was.
    BASELINE.write_text(baseline_before)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_scan_finds_a_planted_key(tmp_path):
    """The control: the same scan flags a private key nobody reviewed (such as devhost's signing key)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    planted = REPO / ".devhost-secrets-scan-probe.py"
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    planted.write_text(f'SIGNING_KEY = """{pem}"""\n')
    try:
        baseline_before = BASELINE.read_text()
        done = scan([planted.name])
        BASELINE.write_text(baseline_before)
    finally:
        planted.unlink()
    assert done.returncode != 0
    assert "Private Key" in done.stdout and planted.name in done.stdout
    assert json.loads(baseline_before)["results"], "the baseline lists the reviewed findings"
