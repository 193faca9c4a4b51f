"""The static checks, run as tests: checkov over infra/ (Bicep), the worker's Dockerfile and the GitHub
workflows; actionlint (with ShellCheck on `run:` scripts) on the workflows; hadolint on the Dockerfile;
ShellCheck on scripts/ and infra/hooks/; `docker compose config` where a compose file and a docker CLI with
compose exist; the worker image's contents, checked without Docker: the files the Dockerfile copies run the
worker with nothing but the packages the image installs, at the versions the rest of the suite tests; and
the deployment settings the infra review (issue 13) asked for, so that `azd up` keeps succeeding the first
time and the second: host.json's Durable settings, the Flex Consumption bounds, GPU off by default, Key
Vault recovery, the preprovision hook's decisions (against stand-ins for az and azd), the CI sign-in.
(The Bicep schema check is tests/test_bicep_schema.py.)

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
    scripts = sorted(str(p.relative_to(REPO)) for p in [*(REPO / "scripts").glob("*.sh"),
                                                        *(REPO / "infra" / "hooks").glob("*.sh")])
    assert "infra/hooks/preprovision.sh" in scripts
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


# --- the deployment settings of the infra review (issue 13) ------------------------------------------------------


def bicep_document(relative: str) -> dict:
    from scripts.bicep_schema_check import parse_bicep

    return parse_bicep(REPO / relative)


def parameter_default(document: dict, name: str):
    return document["parameters"][name]["default"]


def decorator(document: dict, parameter: str, kind: str):
    return next((d["argument"] for d in document["parameters"][parameter]["decorators"] if d["type"] == kind), None)


def found_objects(node, predicate) -> list[dict]:
    """Every dict inside node (pycep's JSON) for which predicate holds."""
    found = []
    if isinstance(node, dict):
        if predicate(node):
            found.append(node)
        for value in node.values():
            found += found_objects(value, predicate)
    elif isinstance(node, list):
        for value in node:
            found += found_objects(value, predicate)
    return found


def timespan_seconds(text: str) -> float:
    hours, minutes, seconds = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def test_host_json_durable_settings_for_flex_consumption():
    durable = json.loads((REPO / "host.json").read_text())["extensions"]["durableTask"]
    # A fixed task hub name: the app's queues and tables keep their names across deployments and slots.
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]{2,44}", durable["hubName"]), durable["hubName"]
    # Flex Consumption: poll the task hub's queues often, or an idle app takes up to 30 s to notice work.
    assert timespan_seconds(durable["storageProvider"]["maxQueuePollingInterval"]) <= 10
    # About one vCPU per 2,048 MB instance: a few ffmpeg/ONNX activities, more (cheap) orchestrator replays.
    assert 1 <= durable["maxConcurrentActivityFunctions"] <= 8
    assert durable["maxConcurrentActivityFunctions"] <= durable["maxConcurrentOrchestratorFunctions"] <= 50


def test_flex_app_keeps_an_always_ready_durable_instance_and_a_valid_instance_limit():
    main, app = bicep_document("infra/main.bicep"), bicep_document("infra/modules/function-app.bicep")
    assert parameter_default(main, "functionDurableAlwaysReadyInstances") >= 1
    assert parameter_default(app, "alwaysReadyDurableInstances") >= 1
    groups = found_objects(app["variables"], lambda o: o.get("name") == "durable" and "instanceCount" in o)
    assert groups and groups[0]["instanceCount"] == "alwaysReadyDurableInstances"
    always_ready = found_objects(app["resources"]["functionApp"], lambda o: "alwaysReady" in o)
    assert always_ready and always_ready[0]["alwaysReady"] == "alwaysReady"
    # Flex Consumption rejects a maximum instance count below 40.
    for document, name in ((main, "functionMaximumInstanceCount"), (app, "maximumInstanceCount")):
        assert decorator(document, name, "min_value") == 40 and parameter_default(document, name) >= 40


def test_worker_runs_on_cpus_unless_gpu_is_asked_for_and_the_hook_checks_gpu_quota():
    main, apps = bicep_document("infra/main.bicep"), bicep_document("infra/modules/container-apps.bicep")
    assert parameter_default(main, "workerUseGpu") is False and parameter_default(apps, "useGpu") is False
    parameters = json.loads((REPO / "infra" / "main.parameters.json").read_text())["parameters"]
    assert parameters["workerUseGpu"]["value"] == "${WORKER_USE_GPU=false}"
    hooks = azure_yaml()["hooks"]
    assert hooks["preprovision"]["run"] == "infra/hooks/preprovision.sh"


def test_service_bus_owner_on_the_trigger_queues_by_default():
    main, rbac = bicep_document("infra/main.bicep"), bicep_document("infra/modules/rbac.bicep")
    assert parameter_default(main, "grantApiServiceBusOwnerForScaling") is True
    assert parameter_default(rbac, "grantApiServiceBusOwnerForScaling") is True
    for symbol in ("apiJobsOwner", "apiResultsOwner"):
        assert rbac["resources"][symbol]["config"]["condition"] == "grantApiServiceBusOwnerForScaling"


def test_redis_is_azure_managed_redis_on_the_port_and_policy_the_adapter_uses():
    from services.cache import azure_redis_port

    redis = bicep_document("infra/modules/redis.bicep")
    assert {r["type"] for r in redis["resources"].values()} >= {
        "Microsoft.Cache/redisEnterprise", "Microsoft.Cache/redisEnterprise/databases",
        "Microsoft.Cache/redisEnterprise/databases/accessPolicyAssignments"}
    database = redis["resources"]["database"]["config"]["properties"]
    assert redis["variables"]["port"]["value"] == azure_redis_port("redis-x.westeurope.redis.azure.net") == 10000
    # The adapter is redis-py's plain client: only the Enterprise policy's proxy lets it MGET across slots.
    assert database["clusteringPolicy"] == "EnterpriseCluster" and database["clientProtocol"] == "Encrypted"
    assert database["accessKeysAuthentication"] == "Disabled"
    assert not [p for p in (REPO / "infra").rglob("*.bicep") if "Microsoft.Cache/redis@" in p.read_text()]


def test_key_vault_is_recovered_not_recreated_and_keeps_its_name():
    vault, main = bicep_document("infra/modules/keyvault.bicep"), bicep_document("infra/main.bicep")
    assert decorator(vault, "createMode", "allowed") == ["default", "recover"]
    assert vault["resources"]["vault"]["config"]["properties"]["createMode"] == "createMode"
    assert vault["resources"]["vault"]["config"]["properties"]["enablePurgeProtection"] is True
    assert decorator(main, "keyVaultCreateMode", "allowed") == ["default", "recover"]
    parameters = json.loads((REPO / "infra" / "main.parameters.json").read_text())["parameters"]
    assert parameters["keyVaultName"]["value"] == "${AZURE_KEY_VAULT_NAME=}"
    assert parameters["keyVaultCreateMode"]["value"] == "${KEY_VAULT_CREATE_MODE=default}"


def test_the_worker_gets_the_model_its_image_bakes_unless_one_is_set():
    main = bicep_document("infra/main.bicep")
    assert parameter_default(main, "whisperModel") == ""
    settings = main["modules"]["worker"]["config"]["params"]["workerSettings"]["function"]
    assert settings["type"] == "union"
    always, optional = settings["parameters"]["arg_1"], settings["parameters"]["arg_2"]["operator"]
    assert "WHISPER_MODEL" not in always
    assert optional["type"] == "conditional" and optional["operands"]["false_value"] == {"WHISPER_MODEL": "whisperModel"}
    assert "WHISPER_MODEL" not in main["variables"]["functionAppSettings"]["value"]
    assert "WHISPER_MODEL=${WHISPER_MODEL_REPO:+/opt/whisper-model}" in DOCKERFILE.read_text()


def azure_yaml() -> dict:
    import yaml

    return yaml.safe_load((REPO / "azure.yaml").read_text())


def test_azure_yaml_requires_the_azd_that_fills_principal_type_and_has_one_remote_build_switch():
    document = azure_yaml()
    assert document["requiredVersions"]["azd"] == ">= 1.17.1"
    assert isinstance(document["services"]["worker"]["docker"]["remoteBuild"], bool)
    assert "remoteBuild: false" in (REPO / "docs" / "deploy.md").read_text()


def test_deploy_workflow_signs_azd_in_with_fresh_github_tokens_and_imports_with_registry_id():
    import yaml

    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "deploy.yml").read_text())
    for name, job in workflow["jobs"].items():
        runs = [step.get("run", "") for step in job["steps"]]
        logins = [i for i, run in enumerate(runs) if "azd auth login" in run]
        first_azd = next(i for i, run in enumerate(runs)
                         if ("deploy.sh" in run or "azd " in run) and "azd auth login" not in run)
        assert logins and logins[0] < first_azd, f"{name}: azd must sign in before it is used"
        assert "--federated-credential-provider github" in runs[logins[0]]
    everything = (REPO / ".github" / "workflows" / "deploy.yml").read_text() + (REPO / "scripts" / "deploy.sh").read_text()
    assert "useAzCliAuth" not in everything
    promote = next(s["run"] for s in workflow["jobs"]["production"]["steps"] if "az acr import" in s.get("run", ""))
    assert '--registry "$STAGED_REGISTRY_ID"' in promote


def ctranslate2_native_libraries() -> set[str]:
    """The shared libraries the installed ctranslate2 wheel names (linked or opened with dlopen)."""
    import ctranslate2

    package = Path(ctranslate2.__file__).parent
    binaries = [p for p in [*package.glob("*.so*"), *(package.parent / "ctranslate2.libs").glob("libctranslate2*")]]
    assert binaries, "no ctranslate2 shared library found"
    names = set()
    for binary in binaries:
        names |= {m.decode() for m in re.findall(rb"lib[a-zA-Z0-9_]+\.so\.[0-9]+", binary.read_bytes())}
    return names


def test_worker_base_image_carries_the_cuda_libraries_ctranslate2_loads_and_no_more():
    base = re.search(r"^ARG CUDA_IMAGE=(\S+)", DOCKERFILE.read_text(), re.MULTILINE).group(1)
    libraries = ctranslate2_native_libraries()
    cuda_majors = {name.rsplit(".", 1)[1] for name in libraries if name.startswith("libcublas.so.")}
    assert cuda_majors == {"12"}, libraries
    image = re.fullmatch(r"nvidia/cuda:(\d+)\.\d+\.\d+-(cudnn-)?(runtime|devel)-ubuntu\d+\.\d+(@sha256:[0-9a-f]{64})?", base)
    assert image, f"{base}: expected an nvidia/cuda runtime tag (cuBLAS is in 'runtime', not in 'base')"
    assert image.group(1) == "12", f"{base}: ctranslate2 opens libcublas.so.12"
    wants_cudnn = any(name.startswith("libcudnn") for name in libraries)
    assert bool(image.group(2)) == wants_cudnn, (
        f"{base}: ctranslate2 {'needs' if wants_cudnn else 'does not load'} cuDNN; the -cudnn- variant adds ~1 GB")


HOOK_STUB = r"""#!/usr/bin/env bash
echo "$(basename "$0") $*" >> "$CALLS"
case "$(basename "$0") $*" in
  "az account show --output none") exit 0 ;;
  "az account show --query id --output tsv") echo sub-1 ;;
  "az keyvault list-deleted "*) echo "${DELETED_VAULT:-}" ;;
  "az keyvault show-deleted --name "*) [ -n "${DELETED_VAULT:-}" ] && echo "$DELETED_VAULT" ;;
  "az containerapp env workload-profile list-supported "*) printf 'D4\nConsumption-GPU-NC8as-T4\n' ;;
  "az rest "*) printf '%s\t%s\n' "${GPU_LIMIT:-0}" "${GPU_USED:-0}" ;;
  "az functionapp function show "*) echo "${FUNCTION_ID:-}" ;;
  "azd env set "*) ;;
  *) echo "unexpected: $*" >&2; exit 3 ;;
esac
"""


@pytest.fixture
def preprovision(tmp_path):
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    for tool in ("az", "azd"):
        (bin_dir / tool).write_text(HOOK_STUB)
        (bin_dir / tool).chmod(0o755)

    def run(**env: str) -> tuple[subprocess.CompletedProcess, list[str]]:
        calls.write_text("")
        environment = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "CALLS": str(calls),
                       "AZURE_ENV_NAME": "classroom-dev", "AZURE_LOCATION": "swedencentral", **env}
        done = subprocess.run(["sh", str(REPO / "infra" / "hooks" / "preprovision.sh")], env=environment,
                              capture_output=True, text=True, timeout=60)
        assert "unexpected" not in done.stderr, done.stderr
        return done, [c for c in calls.read_text().splitlines() if c.startswith("azd env set")]

    return run


def test_preprovision_recovers_this_environments_soft_deleted_vault(preprovision):
    done, settings = preprovision(DELETED_VAULT="kv-abc123")
    assert done.returncode == 0, done.stdout + done.stderr
    assert settings == ["azd env set AZURE_KEY_VAULT_NAME kv-abc123", "azd env set KEY_VAULT_CREATE_MODE recover"]
    done, settings = preprovision(AZURE_KEY_VAULT_NAME="kv-abc123")  # alive: nothing to recover
    assert settings == ["azd env set KEY_VAULT_CREATE_MODE default"]


def test_preprovision_stops_a_gpu_worker_beyond_quota_and_says_what_to_do(preprovision):
    gpu = {"AZURE_KEY_VAULT_NAME": "kv-abc123", "WORKER_USE_GPU": "true", "WORKER_MAX_REPLICAS": "4"}
    done, _ = preprovision(**gpu, GPU_LIMIT="2", GPU_USED="0")
    assert done.returncode == 1
    assert "azd env set WORKER_MAX_REPLICAS 2" in done.stdout and "azd env set WORKER_USE_GPU false" in done.stdout
    done, _ = preprovision(**gpu, GPU_LIMIT="8", GPU_USED="1")
    assert done.returncode == 0 and "WORKER_MAX_REPLICAS=4 fits" in done.stdout
    done, _ = preprovision(**gpu, WORKER_GPU_PROFILE_TYPE="Consumption-GPU-NC24-A100")
    assert done.returncode == 1 and "not offered in swedencentral" in done.stdout


def test_preprovision_keeps_the_blob_event_subscription_out_of_bicep_until_the_code_is_deployed(preprovision):
    app = {"AZURE_KEY_VAULT_NAME": "kv-abc123", "BLOB_EVENT_SUBSCRIPTION_ENABLED": "true",
           "AZURE_FUNCTION_APP_NAME": "func-api-1", "AZURE_RESOURCE_GROUP": "rg-dev"}
    done, settings = preprovision(**app)
    assert done.returncode == 0 and "azd env set BLOB_EVENT_SUBSCRIPTION_ENABLED false" in settings
    done, settings = preprovision(**app, FUNCTION_ID="/subscriptions/s/.../functions/on_video_uploaded")
    assert done.returncode == 0 and not [s for s in settings if "BLOB_EVENT" in s]


def test_beyond_one_region_parameters_exist_and_are_off_by_default():
    main = bicep_document("infra/main.bicep")
    assert parameter_default(main, "secondaryLocation") == "" and parameter_default(main, "frontDoorSku") == ""
    assert decorator(main, "frontDoorSku", "allowed") == ["", "Standard_AzureFrontDoor", "Premium_AzureFrontDoor"]
    assert main["modules"]["frontDoor"]["config"]["condition"] is not None  # deployed only when asked for
    parameters = json.loads((REPO / "infra" / "main.parameters.json").read_text())["parameters"]
    assert parameters["frontDoorSku"]["value"] == "${FRONT_DOOR_SKU=}"


def test_deploy_doc_accounts_for_every_review_item_and_the_targets_beyond_one_region():
    doc = (REPO / "docs" / "deploy.md").read_text()
    review = doc.split("## The infra review", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \|", review, re.MULTILINE)
    assert rows == [str(n) for n in range(1, 14)], "one row per review item, 1-13"
    for row in review.splitlines():
        if re.match(r"^\| \d+ \|", row):
            assert row.count("|") >= 6, f"fix, how checked and what needs a subscription: {row[:60]}"
    beyond = doc.split("## Beyond one region", 1)[1].split("\n## ", 1)[0]
    for needed in ("Front Door", "WAF", "Cosmos", "GRS", "drill", "RPO < 1 hour", "RTO < 4 hours", "$"):
        assert needed in beyond, needed
