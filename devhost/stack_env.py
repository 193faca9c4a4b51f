"""``.devhost/stack.env``: the local stack's settings as shell-sourceable KEY='VALUE' lines,
with the same names as local.settings.json.example."""

from __future__ import annotations

import shlex
from pathlib import Path

STACK_ENV = Path(".devhost") / "stack.env"


def write_stack_env(settings: dict[str, str], path: Path = STACK_ENV) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Written by `python -m devhost stack up`; `source` it, or use `devhost analyze --stack`."]
    lines += [f"{name}={shlex.quote(value)}" for name, value in settings.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def read_stack_env(path: Path = STACK_ENV) -> dict[str, str]:
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    settings = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            settings[name.strip()] = " ".join(shlex.split(value))
    return settings
