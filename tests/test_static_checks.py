"""The static checks, run as tests: checkov over infra/ (Bicep), the worker's Dockerfile and the GitHub
workflows; actionlint (with ShellCheck on `run:` scripts) on the workflows; hadolint on the Dockerfile;
ShellCheck on scripts/; `docker compose config` where a compose file and a docker CLI with compose exist;
and the worker image's contents, checked without Docker: the files the Dockerfile copies run the worker
with nothing but the packages the image installs, at the versions the rest of the suite tests.

The checkers live in their own virtualenv, .venv-checks (`bash scripts/setup.sh --checks`, which
scripts/test.sh runs): checkov pins many packages that would conflict with the app's. A missing checker
fails the test with that command, never skips. Each checker runs once per session (module fixtures).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO

CHECKS_BIN = REPO / ".venv-checks" / "bin"
SETUP_HINT = "run `bash scripts/setup.sh --checks` (scripts/test.sh does)"
DOCKERFILE = REPO / "gpu_worker" / "Dockerfile"
IMAGE_REQUIREMENTS = REPO / "gpu_worker" / "requirements-image.txt"
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.y*ml"))
COMPOSE_FILES = [REPO / name for name in ("docker-compose.yml", "compose.yaml", "compose.yml", "docker-compose.yaml")]


def checker(name: str) -> str:
    path = CHECKS_BIN / name
    if not path.exists():
        pytest.fail(f"{name} is not installed in .venv-checks: {SETUP_HINT}")
    return str(path)


def run(command: list[str], timeout_s: float = 300) -> subprocess.CompletedProcess:
    """A checker, from the repo root, with .venv-checks/bin first on PATH (actionlint finds shellcheck there)."""
    env = {**os.environ, "PATH": f"{CHECKS_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout_s)


def json_documents(text: str) -> list:
    """checkov prints one JSON document per scanned target, sometimes a list: all of them, flattened."""
    decoder, documents, position = json.JSONDecoder(), [], 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return documents
        document, position = decoder.raw_decode(text, position)
        documents.extend(document if isinstance(document, list) else [document])


# --- checkov -------------------------------------------------------------------------------------------------


def checkov(*target: str) -> list[dict]:
    done = run([checker("checkov"), *target, "--output", "json", "--skip-download", "--compact"], timeout_s=600)
    if done.returncode not in (0, 1):  # 1: failed checks, reported below; anything else: checkov broke
        pytest.fail(f"checkov {' '.join(target)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    try:
        return [report for report in json_documents(done.stdout) if "summary" in report]
    except ValueError:
        pytest.fail(f"checkov {' '.join(target)} printed no JSON:\n{done.stdout[:2000]}\n{done.stderr[-2000:]}")


def assert_checkov_clean(reports: list[dict], what: str) -> None:
    problems, checked = [], 0
    for report in reports:
        summary = report["summary"]
        checked += summary.get("passed", 0) + summary.get("failed", 0) + summary.get("skipped", 0)
        for failed in report.get("results", {}).get("failed_checks", []):
            lines = "-".join(str(n) for n in failed.get("file_line_range") or [])
            problems.append(f"{failed['check_id']} {failed['file_path']}:{lines} {failed['resource']}: "
                            f"{failed['check_name']}")
        problems += [f"parsing error: {path}" for path in report.get("results", {}).get("parsing_errors", [])]
        if summary.get("parsing_errors") and not report.get("results", {}).get("parsing_errors"):
            problems.append(f"{summary['parsing_errors']} parsing errors")
    assert checked, f"checkov checked nothing in {what}: wrong path or framework?"
    assert problems == [], (
        f"checkov found {len(problems)} problems in {what} (fix them, or skip one inline with a reason: "
        f"`# checkov:skip=CKV_ID: why`):\n" + "\n".join(problems))


@pytest.fixture(scope="module")
def checkov_infra():
    if not any((REPO / "infra").rglob("*.bicep")):
        pytest.skip("infra/ holds no .bicep files yet")
    return checkov("--directory", "infra", "--framework", "bicep")


@pytest.fixture(scope="module")
def checkov_dockerfile():
    return checkov("--file", str(DOCKERFILE.relative_to(REPO)), "--framework", "dockerfile")


@pytest.fixture(scope="module")
def checkov_workflows():
    assert WORKFLOWS, "no workflows in .github/workflows"
    return checkov("--directory", ".github/workflows", "--framework", "github_actions")


def test_checkov_infra_bicep(checkov_infra):
    assert_checkov_clean(checkov_infra, "infra/ (bicep)")


def test_checkov_worker_dockerfile(checkov_dockerfile):
    assert_checkov_clean(checkov_dockerfile, "gpu_worker/Dockerfile")


def test_checkov_github_workflows(checkov_workflows):
    assert_checkov_clean(checkov_workflows, ".github/workflows")


# --- actionlint, hadolint, shellcheck, docker compose --------------------------------------------------------


def test_actionlint_workflows():
    assert WORKFLOWS, "no workflows in .github/workflows"
    done = run([checker("actionlint"), "-format", "{{json .}}", *(str(w.relative_to(REPO)) for w in WORKFLOWS)])
    assert done.returncode in (0, 1), f"actionlint exited {done.returncode}: {done.stderr}"
    errors = json.loads(done.stdout or "[]")
    assert [f"{e['filepath']}:{e['line']}:{e['column']} [{e['kind']}] {e['message']}" for e in errors] == []


def test_hadolint_worker_dockerfile():
    done = run([checker("hadolint"), "--format", "json", str(DOCKERFILE.relative_to(REPO))])
    assert done.returncode in (0, 1), f"hadolint exited {done.returncode}: {done.stderr}"
    findings = json.loads(done.stdout or "[]")
    # Every level (error, warning, info, style) counts; ignore one inline with `# hadolint ignore=DLxxxx`.
    assert [f"{f['file']}:{f['line']} {f['code']} {f['level']}: {f['message']}" for f in findings] == []


def test_shellcheck_scripts():
    scripts = sorted(str(p.relative_to(REPO)) for p in (REPO / "scripts").glob("*.sh"))
    done = run([checker("shellcheck"), "--format", "json1", *scripts])
    assert done.returncode in (0, 1), f"shellcheck exited {done.returncode}: {done.stderr}"
    comments = json.loads(done.stdout)["comments"]
    assert [f"{c['file']}:{c['line']} SC{c['code']} {c['level']}: {c['message']}" for c in comments] == []


def test_docker_compose_config():
    compose = next((path for path in COMPOSE_FILES if path.exists()), None)
    if compose is None:
        pytest.skip("no compose file (docker-compose.yml) in the repository")
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI on this machine")
    if subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("the docker CLI here has no compose plugin")
    done = run([docker, "compose", "--file", compose.name, "config", "--quiet"], timeout_s=60)
    assert done.returncode == 0, done.stderr


# --- the worker image's contents, without Docker ----------------------------------------------------------


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions, current = [], ""
    for line in path.read_text().splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if current and line.lstrip().startswith("#"):
            continue  # a comment inside a continued instruction
        current += line.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        keyword, _, arguments = current.strip().partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        current = ""
    return instructions


def context_copies(final_stage_only: bool) -> list[tuple[list[str], str]]:
    """COPY instructions that read the build context: (sources, destination)."""
    copies = []
    for keyword, arguments in dockerfile_instructions():
        if keyword == "FROM" and final_stage_only:
            copies = []
        if keyword == "COPY":
            words = [w for w in shlex.split(arguments)]
            if any(w.startswith("--from") for w in words):
                continue
            words = [w for w in words if not w.startswith("--")]
            copies.append((words[:-1], words[-1]))
    return copies


def dockerignore_excludes(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path or a folder above it decides; `!` lets back in."""
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        regex = glob_regex(pattern.lstrip("!").strip("/"))
        parts = path.split("/")
        if any(regex.fullmatch("/".join(parts[:i])) for i in range(1, len(parts) + 1)):
            excluded = not negated
    return excluded


def glob_regex(pattern: str) -> re.Pattern:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[" and "]" in pattern[i:]:
            end = pattern.index("]", i)
            out, i = out + pattern[i:end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def context_files(source: str) -> list[str]:
    path = REPO / source
    if path.is_dir():
        return sorted(str(p.relative_to(REPO)) for p in path.rglob("*")
                      if p.is_file() and "__pycache__" not in p.parts)
    return [source]


def test_dockerignore_lets_in_everything_the_dockerfile_copies():
    patterns = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    copied = [f for sources, _ in context_copies(final_stage_only=False) for s in sources for f in context_files(s)]
    assert copied, "the Dockerfile copies nothing from the build context"
    missing = [f for f in copied if not (REPO / f).exists()]
    assert missing == [], f"the Dockerfile copies files that do not exist: {missing}"
    assert [f for f in copied if dockerignore_excludes(f, patterns)] == [], ".dockerignore leaves these out"
    for private in (".venv/bin/python", "local.settings.json", ".devhost/data", ".git/config", "tests/conftest.py"):
        assert dockerignore_excludes(private, patterns), f"{private} would be in the build context"


def requirement_lines(path: Path) -> list[str]:
    """Requirement specifiers of a pip requirements file, following -r (not -c: constraints install nothing)."""
    lines = []
    for raw in path.read_text().splitlines():
        line = raw.split(" #")[0].strip()
        if not line or line.startswith("#") or line.startswith(("-c", "--constraint")):
            continue
        if line.startswith(("-r", "--requirement")):
            lines += requirement_lines(path.parent / line.split(maxsplit=1)[1])
        else:
            lines.append(line)
    return lines


def installed_closure(names: set[str]) -> set[str]:
    """These distributions and everything they require (as installed in this .venv, on this platform)."""
    todo, seen = list(names), set()
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            pytest.fail(f"the worker image installs {name}, which .venv lacks: `bash scripts/setup.sh`")
        for spec in requires:
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return seen


IMPORT_PROBE = r"""
import importlib.abc, json, sys, wave

allowed = set(json.loads(sys.argv[1]))


class OnlyWhatTheImageInstalls(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in allowed or top in sys.stdlib_module_names or top in sys.builtin_module_names:
            return None  # let the normal finders look
        raise ModuleNotFoundError(f"No module named {name!r}: the worker image does not install it", name=name)


sys.meta_path.insert(0, OnlyWhatTheImageInstalls())

import gpu_worker.__main__  # noqa: E402 - the entrypoint, and everything it imports
import gpu_worker.healthcheck  # noqa: E402,F401 - the HEALTHCHECK
from models.transcriber import TranscriberSettings, get_transcriber  # noqa: E402

# The lazy imports too: load Whisper (tiny.en, CPU) and transcribe a second of silence.
with wave.open(sys.argv[2], "wb") as audio:
    audio.setnchannels(1), audio.setsampwidth(2), audio.setframerate(16000), audio.writeframes(bytes(32000))
transcript = get_transcriber(TranscriberSettings(model="tiny.en", device="cpu", workers=1)).transcribe(sys.argv[2])
print(json.dumps({"model": transcript.model, "entrypoint": gpu_worker.__main__.main.__module__}))
"""


def test_worker_runs_from_what_the_image_copies_and_installs(tmp_path):
    app = tmp_path / "app"  # the image's WORKDIR
    for sources, destination in context_copies(final_stage_only=True):
        for source in sources:
            target = app / destination
            if (REPO / source).is_dir():
                shutil.copytree(REPO / source, target, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO / source, target / Path(source).name)
    installed = installed_closure({Requirement(line).name for line in requirement_lines(IMAGE_REQUIREMENTS)})
    importable = {top for top, dists in importlib.metadata.packages_distributions().items()
                  if any(canonicalize_name(d) in installed for d in dists)}
    first_party = {p.name for p in app.iterdir()}
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE, json.dumps(sorted(importable | first_party)), str(tmp_path / "a.wav")],
        cwd=app, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, f"the worker cannot run from the image's files and packages:\n{done.stderr[-3000:]}"
    assert json.loads(done.stdout.splitlines()[-1])["model"].startswith("faster-whisper/tiny.en/cpu")

    # And the entrypoint itself starts (and stops at once: no job queue is configured here).
    entry = subprocess.run([sys.executable, "-m", "gpu_worker"], cwd=app, env=env, capture_output=True, text=True,
                           timeout=120)
    assert entry.returncode == 2 and "no job queue is configured" in entry.stderr, entry.stderr


def test_worker_image_pins_are_the_tested_versions():
    """What the image installs at a fixed version is what this .venv (and so the test suite) runs."""
    installed = installed_closure({Requirement(line).name for line in requirement_lines(IMAGE_REQUIREMENTS)})
    app_pins = [line for line in requirement_lines(REPO / "requirements.txt")
                if canonicalize_name(Requirement(line).name) in installed]  # the image's constraints
    mismatched = []
    for line in requirement_lines(IMAGE_REQUIREMENTS) + app_pins:
        requirement = Requirement(line)
        pinned = [s.version for s in requirement.specifier if s.operator == "=="]
        if pinned and importlib.metadata.version(requirement.name) != pinned[0]:
            mismatched.append(f"{requirement.name}: image {pinned[0]}, .venv {importlib.metadata.version(requirement.name)}")
    assert mismatched == []
    assert "requirements-image.txt" in DOCKERFILE.read_text(), "the Dockerfile no longer installs requirements-image.txt"
