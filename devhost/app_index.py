"""What the function app registered, read from the app object itself.

devhost keeps no routing table of its own: it asks ``function_app.app`` for its
functions the way the Functions host's indexing does, and compiles each HTTP
trigger's route template (with host.json's routePrefix) into a matcher.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]

# {name}, {name?}, {name:int}, {name:regex(...)}, {*name}: the forms the host accepts.
_PARAMETER = re.compile(r"\{(?P<star>\*)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<constraint>[^}?]+))?(?P<optional>\?)?\}")
_CONSTRAINTS = {"int": r"-?\d+", "long": r"-?\d+", "guid": r"[0-9a-fA-F-]{36}", "alpha": r"[A-Za-z]+", "bool": r"(?i:true|false)"}


@dataclass(frozen=True)
class HttpFunction:
    name: str
    route: str
    methods: frozenset[str]  # empty: any method
    pattern: re.Pattern
    literal_segments: int
    request_parameter: str
    handler: Callable
    client_parameter: str | None = None  # a durable client binding, if the function has one

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.methods and method.upper() not in self.methods:
            return None
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        return {k: v for k, v in found.groupdict().items() if v is not None}


@lru_cache(maxsize=1)
def route_prefix() -> str:
    host = json.loads((REPO / "host.json").read_text())
    return host.get("extensions", {}).get("http", {}).get("routePrefix", "api").strip("/")


@lru_cache(maxsize=1)
def registered_functions() -> tuple:
    """``app.get_functions()`` may be called once per app object; cache it here."""
    import function_app

    return tuple(function_app.app.get_functions())


@lru_cache(maxsize=1)
def http_functions() -> tuple[HttpFunction, ...]:
    """The HTTP functions of ``function_app.app``."""
    return index_http_functions(registered_functions())


def index_http_functions(functions) -> tuple[HttpFunction, ...]:
    found = []
    for function in functions:
        trigger = function.get_trigger()
        if trigger is None or trigger.get_binding_name() != "httpTrigger":
            continue
        route = trigger.route or function.get_function_name()
        methods = frozenset(str(getattr(m, "value", m)).upper() for m in (trigger.methods or []))
        found.append(
            HttpFunction(
                name=function.get_function_name(),
                route=route,
                methods=methods,
                pattern=compile_route("/".join(p for p in (route_prefix(), route) if p)),
                literal_segments=sum(1 for s in route.split("/") if "{" not in s),
                request_parameter=trigger.name,
                handler=function.get_user_function(),
                client_parameter=durable_client_parameter(function),
            )
        )
    # Literal segments win over parameters, as in the host's routing.
    return tuple(sorted(found, key=lambda f: -f.literal_segments))


def durable_client_parameter(function) -> str | None:
    for binding in function.get_bindings():
        if binding.get_dict_repr().get("type") == "durableClient":
            return binding.name
    return None


def compile_route(template: str) -> re.Pattern:
    pattern, cursor = "", 0
    for parameter in _PARAMETER.finditer(template):
        pattern += re.escape(template[cursor : parameter.start()])
        name, constraint = parameter["name"], parameter["constraint"]
        body = ".+" if parameter["star"] else _CONSTRAINTS.get(constraint or "", "[^/]+")
        if constraint and constraint.startswith("regex("):
            body = constraint[len("regex(") : -1]
        group = f"(?P<{name}>{body})"
        if parameter["optional"] or parameter["star"]:
            if pattern.endswith("/"):
                pattern = pattern[: -1]
                group = f"(?:/{group})?"
            else:
                group += "?"
        pattern += group
        cursor = parameter.end()
    pattern += re.escape(template[cursor:])
    return re.compile(pattern, re.IGNORECASE)
