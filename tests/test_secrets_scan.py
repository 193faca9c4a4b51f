"""Secrets scanning: detect-secrets over every file git would commit (tracked, or new and not
ignored) finds nothing beyond ``.secrets.baseline``, the reviewed list of known non-secrets
(the storage and Cosmos emulators' published keys, model hashes).

detect-secrets lives in .venv-checks (requirements-checks.txt, ``bash scripts/setup.sh
--checks``). To accept a reviewed finding: ``.venv-checks/bin/detect-secrets scan --baseline
.secrets.baseline $(git ls-files)`` and mark it in ``detect-secrets audit .secrets.baseline``. Findings are
compared by file, type and hashed secret, so lines moving do not matter.

Two packages install the same ``detect_secrets`` module into .venv-checks: detect-secrets 1.5.0
and checkov's fork, bc-detect-secrets (more plugins). Which one's files win depends on pip's
install order, so the baseline lists what either finds (a fresh setup gets the fork's).
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import REPO

SCANNER = REPO / ".venv-checks" / "bin" / "detect-secrets"
BASELINE = REPO / ".secrets.baseline"
BINARY = (".onnx", ".mp4", ".wav", ".png", ".jpg", ".bin", ".ico", ".woff2")


def committable_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    return [name for name in listed
            if not name.endswith(BINARY) and name != BASELINE.name and (REPO / name).is_file()]


def findings(results: dict) -> set[tuple[str, str, str]]:
    """(file, type, hashed secret): what a finding is, whatever line it has moved to."""
    return {(name, f["type"], f["hashed_secret"]) for name, found in results.items() for f in found}


def scan(files: list[str]) -> set[tuple[str, str, str]]:
    """Findings of ``files`` that the reviewed baseline does not list."""
    if not SCANNER.exists():
        pytest.fail("detect-secrets is not installed; run `bash scripts/setup.sh --checks`")
    done = subprocess.run([str(SCANNER), "scan", *files], cwd=REPO, capture_output=True, text=True, timeout=120,
                          check=True)
    reviewed = findings(json.loads(BASELINE.read_text())["results"])
    return findings(json.loads(done.stdout)["results"]) - reviewed


def test_no_secret_in_what_git_would_commit():
    assert scan(committable_files()) == set()


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
        found = scan([planted.name])
    finally:
        planted.unlink()
    assert (planted.name, "Private Key") in {(name, kind) for name, kind, _ in found}
    assert json.loads(BASELINE.read_text())["results"], "the baseline lists the reviewed findings"
