"""The rules in DESIGN.md that keep the code base livable, checked."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from tests.conftest import REPO

AZURE_FUNCTIONS_MODULES = ("azure.functions", "azure.durable_functions")


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_only_blueprints_and_devhost_import_azure_functions():
    offenders = []
    for path in REPO.rglob("*.py"):
        relative = path.relative_to(REPO)
        if relative.parts[0] in {"blueprints", "devhost", "tests", ".venv", ".venv-checks"} or relative.name == "function_app.py":
            continue
        if any(m.startswith(AZURE_FUNCTIONS_MODULES) for m in imported_modules(path)):
            offenders.append(str(relative))
    assert offenders == []


def test_pipeline_imports_no_azure_sdk():
    for path in (REPO / "pipeline").rglob("*.py"):
        assert not any(m.startswith("azure") for m in imported_modules(path)), path


def test_function_app_only_builds_the_app_and_registers_blueprints():
    source = (REPO / "function_app.py").read_text()
    assert "df.DFApp(" in source
    assert set(re.findall(r"register_functions\((\w+)\.bp\)", source)) >= {"classify", "health"}
    assert "def " not in source


def setting_names() -> set[str]:
    source = (REPO / "services" / "settings.py").read_text()
    return set(re.findall(r'_(?:text|number|rate|choice)\(env, "([A-Z_]+)"', source))


def test_every_setting_is_in_the_example_and_the_readme():
    example = json.loads((REPO / "local.settings.json.example").read_text())
    readme = (REPO / "README.md").read_text()
    names = setting_names()
    assert names, "no settings found in services/settings.py"
    assert names <= set(example["Values"])
    for name in names | set(example["Values"]):
        assert f"`{name}`" in readme, f"{name} is not documented in README.md"


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    assert "bash scripts/test.sh" in readme
    assert "bash scripts/test.sh" in (REPO / ".ci" / "run").read_text()


def test_ruff_is_clean():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--quiet", str(REPO)],
                          capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
