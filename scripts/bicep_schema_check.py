"""Check infra/'s Bicep against the Bicep type definitions, without the Bicep compiler.

The compiler is not installable on the machines this project runs on (npm `bicep-node` downloads it at run time),
so this does the part of its type check that catches deployment failures early: every resource declared in a
.bicep file is looked up, by type and API version, in the type definitions the compiler itself uses
(github.com/Azure/bicep-types-az, `generated/`), and its body is checked against them:

  no-types          the type/API version pair has no definitions (the compiler's BCP081 warning)
  unknown-property  a property the API version does not have (BCP037/BCP089: misspelt, or a newer API's)
  missing-required  a required property left out of a literal object (BCP035)
  read-only         a read-only property set (BCP073)
  wrong-type        a literal (or a parameter of a declared type) of the wrong primitive type, or a string
                    outside an enum, or breaking a length/pattern/range rule (BCP036/BCP088)
  unknown-param / missing-param / wrong-type on modules: `params` against the module file's parameters.

Bodies are parsed with pycep-parser (the parser checkov uses for Bicep). What it cannot know it leaves alone:
property access, most function results, loop variables; variables are followed to their values, both branches
of `a ? b : c` are checked, and `concat`/`union` arguments are checked one by one.

Accepted findings are silenced in one place, KNOWN_FINDINGS below, each with its reason; a silence that no
longer matches anything is reported too, so the list cannot rot.

    python scripts/bicep_schema_check.py                    check infra/ against tests/bicep_types/
    python scripts/bicep_schema_check.py --types DIR FILE…   other definitions or files
    python scripts/bicep_schema_check.py vendor [--from ../shared/bicep-types]
        regenerate tests/bicep_types/ (the definitions of the types infra/ uses, pruned to what they reach)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator

REPO = Path(__file__).resolve().parent.parent
INFRA = REPO / "infra"
VENDORED_TYPES = REPO / "tests" / "bicep_types"
SHARED_TYPES = REPO.parent / "shared" / "bicep-types"

# Type/API version pairs the vendored subset keeps although infra/ no longer declares them: the regression test
# checks the registry module as it was (anonymousPullEnabled on 2023-07-01) and must keep finding that.
EXTRA_VENDORED_TYPES = ("Microsoft.ContainerRegistry/registries@2023-07-01",)


@dataclass(frozen=True)
class KnownFinding:
    resource_type: str  # "Microsoft.X/y@version", as written in the Bicep file
    kind: str
    path: str  # property path of the finding ("" for the resource itself)
    reason: str


# Every finding accepted on purpose, with why. Matching is exact on (type@version, kind, path).
KNOWN_FINDINGS: tuple[KnownFinding, ...] = (
    # None today. (Until the upload trigger became an Event Grid trigger with a function
    # destination, Microsoft.Web/sites/host, which has no types, was read for the
    # blobs_extension key.)
)

# Keywords of the Bicep language in a resource body, not properties of the type (parent/scope/dependsOn).
LANGUAGE_KEYS = {"parent", "scope", "dependsOn"}

REQUIRED, READ_ONLY, WRITE_ONLY = 1, 2, 4


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    symbol: str  # the resource's or module's symbolic name
    resource_type: str  # "Microsoft.X/y@version" or "module path"
    kind: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f" {self.path}:" if self.path else ""
        return f"{self.file}:{self.line} {self.symbol} ({self.resource_type}) [{self.kind}]{where} {self.message}"


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)  # not silenced: these fail the check
    silenced: list[tuple[Finding, KnownFinding]] = field(default_factory=list)
    unused_silences: list[KnownFinding] = field(default_factory=list)
    resources_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings and not self.unused_silences


# --- the type definitions -------------------------------------------------------------------------------------


class TypeFile:
    """One types.json: a JSON array of types, `{"$ref": "#/N"}` pointing at element N."""

    def __init__(self, path: Path):
        self.path = path
        self.types: list[dict] = json.loads(path.read_text())
        self.resources = {t["name"].lower(): t for t in self.types if t.get("$type") == "ResourceType"}

    def deref(self, ref: dict) -> dict:
        return self.types[int(ref["$ref"].rsplit("/", 1)[1])]


class TypeIndex:
    """Finds a resource type's definition by `Microsoft.X/y@version` in a folder laid out like bicep-types-az's
    `generated/` (…/<provider>/<api-version>/types.json, with or without a folder level above the provider)."""

    def __init__(self, root: Path):
        if not root.is_dir():
            raise FileNotFoundError(f"no Bicep type definitions at {root}")
        self.root = root
        self._loaded: dict[tuple[str, str], tuple[TypeFile, ...]] = {}

    def _files(self, provider: str, version: str) -> tuple[TypeFile, ...]:
        if (provider, version) not in self._loaded:
            paths = sorted(self.root.glob(f"{provider}/{version}/types.json")) + sorted(
                self.root.glob(f"*/{provider}/{version}/types.json"))
            self._loaded[provider, version] = tuple(TypeFile(p) for p in paths)
        return self._loaded[provider, version]

    def resource(self, type_and_version: str) -> tuple[TypeFile, dict] | None:
        resource_type, _, version = type_and_version.partition("@")
        provider = resource_type.split("/", 1)[0].lower()
        for types in self._files(provider, version.lower()):
            found = types.resources.get(type_and_version.lower())
            if found is not None:
                return types, found
        return None


# --- Bicep, as pycep-parser gives it --------------------------------------------------------------------------


@lru_cache(maxsize=1)
def bicep_parser():
    from pycep import BicepParser  # imported here so `--help` works without it

    return BicepParser(add_line_numbers=True)  # building the Lark grammar takes about a second: once


def parse_bicep(path: Path) -> dict:
    try:
        return bicep_parser().parse(file_path=path)
    except Exception as error:  # lark's parse errors have no common base worth naming here
        raise ValueError(f"{relative(path)} does not parse as Bicep: {str(error).splitlines()[0]}") from error


def is_reference(value: Any) -> bool:
    """pycep turns quoted strings into `str` and bare identifiers into `BicepElement` (a `str` subclass)."""
    return isinstance(value, str) and type(value) is not str


def is_loop(value: Any) -> bool:
    return isinstance(value, dict) and "loop_type" in value and "config" in value


def expression_kind(value: Any) -> str | None:
    """'operator' or 'function' when value is one of pycep's expression nodes, else None."""
    if isinstance(value, dict) and len(value) == 1:
        (key, inner), = value.items()
        if key == "operator" and isinstance(inner, dict) and "type" in inner and "operands" in inner:
            return "operator"
        if key == "function" and isinstance(inner, dict) and "type" in inner and "parameters" in inner:
            return "function"
    return None


def unwrap(config: dict) -> dict:
    """A resource or module body without its `if (…)` / `[for …: …]` wrapper."""
    while isinstance(config, dict) and "config" in config and ("condition" in config or "loop_type" in config):
        config = config["config"]
    return config


def plain_key(key: str) -> str:
    return key[1:-1] if len(key) >= 2 and key[0] == key[-1] == "'" else key


def contains_operator(value: Any, names: set[str]) -> bool:
    """pycep 0.5 parses `a == b ? c : d` as `a == (b ? c : d)`: comparisons that hold a conditional are unsure."""
    if isinstance(value, dict):
        if expression_kind(value) == "operator" and value["operator"]["type"] in names:
            return True
        return any(contains_operator(v, names) for v in value.values())
    if isinstance(value, list):
        return any(contains_operator(v, names) for v in value)
    return False


BOOLEAN_OPERATORS = {"and", "or", "not", "equals", "not_equals", "equals_case_insensitive",
                     "not_equals_case_insensitive", "greater_than", "greater_than_or_equals", "less_than",
                     "less_than_or_equals"}
STRING_FUNCTIONS = {"guid", "uniqueString", "toLower", "toUpper", "replace", "format", "string", "subscriptionResourceId",
                    "resourceId", "tenantResourceId", "extensionResourceId", "base64", "trim", "substring",
                    "dataUri", "uri", "newGuid", "utcNow"}
BOOLEAN_FUNCTIONS = {"empty", "contains", "startsWith", "endsWith", "bool"}
INTEGER_FUNCTIONS = {"length", "int", "indexOf", "lastIndexOf"}


@dataclass
class Scope:
    """What an identifier in one file means: parameters (declared type), variables (their value), loop items."""

    parameters: dict[str, dict]
    variables: dict[str, dict]
    loop_items: frozenset[str] = frozenset()

    def with_loop(self, loop: dict) -> "Scope":
        detail = (loop.get("loop_type") or {}).get("detail") or {}
        names = {detail.get(k) for k in ("item_name", "index_name") if detail.get(k)}
        return Scope(self.parameters, self.variables, self.loop_items | frozenset(names))


# --- checking a value against a type ---------------------------------------------------------------------------


class Checker:
    def __init__(self, types: TypeFile, scope: Scope, emit):
        self.types, self.scope, self.emit = types, scope, emit
        self._following: set[str] = set()

    def check(self, value: Any, type_ref: dict, path: str, partial: bool = False) -> None:
        """Report what is wrong with value as an instance of type_ref. partial: a piece of an object (union())."""
        definition = self.types.deref(type_ref)
        kind = definition["$type"]
        if kind == "AnyType" or value is None:
            return
        if is_reference(value):
            self._check_reference(str(value), type_ref, path, partial)
            return
        if is_loop(value):
            if kind == "ArrayType":
                self._with_scope(self.scope.with_loop(value),
                                 lambda: self.check(value["config"], definition["itemType"], f"{path}[]"))
            elif kind != "UnionType":
                self.emit("wrong-type", path, f"a for-expression (an array) where {describe(self.types, type_ref)} "
                                              "is expected")
            return
        expression = expression_kind(value)
        if expression:
            self._check_expression(value, expression, type_ref, path, partial)
            return
        if kind == "UnionType":
            self._check_union(value, definition, type_ref, path, partial)
        elif kind == "ObjectType":
            self._check_object(value, definition, type_ref, path, partial)
        elif kind == "DiscriminatedObjectType":
            self._check_discriminated(value, definition, type_ref, path, partial)
        elif kind == "ArrayType":
            if not isinstance(value, list):
                self.emit("wrong-type", path, f"{shown(value)} is not an array")
                return
            for position, item in enumerate(value):
                self.check(item, definition["itemType"], f"{path}[{position}]")
        else:
            problem = primitive_problem(value, definition)
            if problem:
                self.emit("wrong-type", path, problem)

    def _with_scope(self, scope: Scope, action) -> None:
        saved, self.scope = self.scope, scope
        try:
            action()
        finally:
            self.scope = saved

    def _check_reference(self, name: str, type_ref: dict, path: str, partial: bool) -> None:
        if name in self.scope.loop_items:
            return
        if name in self.scope.variables and name not in self._following:
            self._following.add(name)  # follow the variable to its value (once: no cycles)
            try:
                self.check(self.scope.variables[name]["value"], type_ref, path, partial)
            finally:
                self._following.discard(name)
            return
        parameter = self.scope.parameters.get(name)
        if parameter is not None:
            declared = parameter.get("type")
            if isinstance(declared, str) and not accepts_declared(self.types, type_ref, declared):
                self.emit("wrong-type", path, f"parameter {name} is of type {declared}, "
                                              f"{describe(self.types, type_ref)} is expected")

    def _check_expression(self, value: dict, expression: str, type_ref: dict, path: str, partial: bool) -> None:
        node = value[expression]
        if expression == "operator" and node["type"] == "conditional":
            for branch in ("true_value", "false_value"):
                self.check(node["operands"][branch], type_ref, path, partial)
            return
        if expression == "function" and node["type"] in ("concat", "union"):
            for argument in node["parameters"].values():
                self.check(argument, type_ref, path, partial=partial or node["type"] == "union")
            return
        produced = expression_type(node, expression)
        if produced and not accepts_declared(self.types, type_ref, produced):
            self.emit("wrong-type", path, f"{node['type']}(…) gives a {produced}, "
                                          f"{describe(self.types, type_ref)} is expected")

    def _check_union(self, value: Any, definition: dict, type_ref: dict, path: str, partial: bool) -> None:
        attempts = []
        for element in definition["elements"]:
            problems: list[tuple[str, str, str]] = []
            Checker(self.types, self.scope, lambda *p, sink=problems: sink.append(p)).check(value, element, path,
                                                                                           partial)
            if not problems:
                return
            attempts.append(problems)
        if isinstance(value, str):
            self.emit("wrong-type", path, f"{shown(value)} is not one of {describe(self.types, type_ref)}")
        else:
            for problem in min(attempts, key=len):  # the closest member's complaints
                self.emit(*problem)

    def _check_object(self, value: Any, definition: dict, type_ref: dict, path: str, partial: bool,
                      skip: frozenset[str] = frozenset()) -> None:
        if not isinstance(value, dict):
            self.emit("wrong-type", path, f"{shown(value)} is not an object ({describe(self.types, type_ref)})")
            return
        properties = definition.get("properties", {})
        self._check_members(value, properties, definition.get("additionalProperties"), definition.get("name", "object"),
                            path, partial, skip)

    def _check_members(self, value: dict, properties: dict, additional: dict | None, type_name: str, path: str,
                       partial: bool, skip: frozenset[str]) -> None:
        by_lower = {name.lower(): name for name in properties}
        given = set()
        for raw_key, member in value.items():
            if raw_key.startswith("__") and raw_key.endswith("__"):
                continue  # pycep's line numbers
            key = plain_key(raw_key)
            if "${" in key or key in skip:
                continue
            member_path = f"{path}.{key}" if path else key
            name = by_lower.get(key.lower())
            if name is None:
                if additional is not None:
                    self.check(member, additional, member_path)
                else:
                    self.emit("unknown-property", member_path, f"is not a property of {type_name}")
                continue
            given.add(name)
            if name != key:
                self.emit("unknown-property", member_path, f"is spelt {name} in {type_name}")
            flags = properties[name].get("flags", 0)
            if flags & READ_ONLY and not flags & WRITE_ONLY and name not in ("name",):
                self.emit("read-only", member_path, f"is read-only in {type_name}")
                continue
            self.check(member, properties[name]["type"], member_path)
        if partial:
            return
        for name, definition in properties.items():
            flags = definition.get("flags", 0)
            if flags & REQUIRED and not flags & READ_ONLY and name not in given and name not in skip:
                self.emit("missing-required", f"{path}.{name}" if path else name, f"is required by {type_name}")

    def _check_discriminated(self, value: Any, definition: dict, type_ref: dict, path: str, partial: bool) -> None:
        if not isinstance(value, dict):
            self.emit("wrong-type", path, f"{shown(value)} is not an object ({describe(self.types, type_ref)})")
            return
        discriminator = definition["discriminator"]
        chosen = next((v for k, v in value.items() if plain_key(k) == discriminator), None)
        elements = definition["elements"]
        base = definition.get("baseProperties", {})
        if isinstance(chosen, str) and not is_reference(chosen) and chosen in elements:
            element = self.types.deref(elements[chosen])
            merged = {**base, **element.get("properties", {})}
            self._check_members(value, merged, element.get("additionalProperties"),
                                f"{definition.get('name', 'object')} ({chosen})", path, partial, frozenset())
        elif isinstance(chosen, str) and not is_reference(chosen) and "${" not in chosen:
            self.emit("wrong-type", f"{path}.{discriminator}" if path else discriminator,
                      f"{shown(chosen)} is not one of {sorted(elements)}")
        else:  # the discriminator is an expression: any member's properties may appear
            merged = dict(base)
            for ref in elements.values():
                merged.update(self.types.deref(ref).get("properties", {}))
            self._check_members(value, merged, None, definition.get("name", "object"), path, True, frozenset())


def expression_type(node: dict, expression: str) -> str | None:
    """The primitive type an operator or function gives, where that is certain."""
    name = node["type"]
    if expression == "operator":
        if name in BOOLEAN_OPERATORS and not contains_operator(node, {"conditional", "coalesce"}):
            return "bool"
        if name == "minus" and "integer_value" in node["operands"]:
            return "int"
        return None
    if name in STRING_FUNCTIONS:
        return "string"
    if name in BOOLEAN_FUNCTIONS:
        return "bool"
    if name in INTEGER_FUNCTIONS:
        return "int"
    if name in ("items", "range", "split"):
        return "array"
    return None


def primitive_problem(value: Any, definition: dict) -> str | None:
    kind = definition["$type"]
    if kind == "StringType":
        if not isinstance(value, str):
            return f"{shown(value)} is not a string"
        if "${" in value:
            return None  # an interpolated string: a string, its content unknown here
        if definition.get("minLength") is not None and len(value) < definition["minLength"]:
            return f"{shown(value)} is shorter than {definition['minLength']}"
        if definition.get("maxLength") is not None and len(value) > definition["maxLength"]:
            return f"{shown(value)} is longer than {definition['maxLength']}"
        pattern = definition.get("pattern")
        if pattern:
            try:
                if not re.search(pattern, value):
                    return f"{shown(value)} does not match {pattern}"
            except re.error:
                return None  # a JavaScript-only construct: not checked
        return None
    if kind == "StringLiteralType":
        if not isinstance(value, str):
            return f"{shown(value)} is not the string '{definition['value']}'"
        if "${" not in value and value != definition["value"]:
            return f"{shown(value)} is not '{definition['value']}'"
        return None
    if kind == "IntegerType":
        if not isinstance(value, int) or isinstance(value, bool):
            return f"{shown(value)} is not an integer"
        if definition.get("minValue") is not None and value < definition["minValue"]:
            return f"{value} is below the minimum {definition['minValue']}"
        if definition.get("maxValue") is not None and value > definition["maxValue"]:
            return f"{value} is above the maximum {definition['maxValue']}"
        return None
    if kind == "BooleanType":
        return None if isinstance(value, bool) else f"{shown(value)} is not a bool"
    return None


def accepts_declared(types: TypeFile, type_ref: dict, declared: str) -> bool:
    """Whether a value of a Bicep primitive type (string, int, bool, object, array) can be of type_ref."""
    definition = types.deref(type_ref)
    kind = definition["$type"]
    if kind == "UnionType":
        return any(accepts_declared(types, element, declared) for element in definition["elements"])
    wanted = {"StringType": "string", "StringLiteralType": "string", "IntegerType": "int", "BooleanType": "bool",
              "ObjectType": "object", "DiscriminatedObjectType": "object", "ArrayType": "array"}.get(kind)
    return wanted is None or declared not in ("string", "int", "bool", "object", "array") or wanted == declared


def describe(types: TypeFile, type_ref: dict) -> str:
    definition = types.deref(type_ref)
    kind = definition["$type"]
    if kind == "UnionType":
        members = [describe(types, element) for element in definition["elements"]]
        return " | ".join(members[:12]) + (" | …" if len(members) > 12 else "")
    if kind == "StringLiteralType":
        return f"'{definition['value']}'"
    return {"StringType": "string", "IntegerType": "int", "BooleanType": "bool", "ArrayType": "array",
            "ObjectType": f"object {definition.get('name', '')}".strip()}.get(kind, kind)


def shown(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else json.dumps(value, default=str)[:60]


# --- files -------------------------------------------------------------------------------------------------------


def relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def check_file(path: Path, index: TypeIndex) -> tuple[list[Finding], int]:
    document = parse_bicep(path)
    scope = Scope(document.get("parameters") or {}, document.get("variables") or {})
    findings: list[Finding] = []
    count = 0
    for symbol, resource in (document.get("resources") or {}).items():
        count += 1
        findings += check_resource(path, symbol, resource, scope, index)
    for symbol, module in (document.get("modules") or {}).items():
        findings += check_module(path, symbol, module, scope)
    return findings, count


def check_resource(path: Path, symbol: str, resource: dict, scope: Scope, index: TypeIndex) -> list[Finding]:
    type_and_version = f"{resource['type']}@{resource['api_version']}"
    line = resource.get("__start_line__", 0)
    findings: list[Finding] = []

    def emit(kind: str, property_path: str, message: str) -> None:
        findings.append(Finding(relative(path), line, symbol, type_and_version, kind, property_path, message))

    found = index.resource(type_and_version)
    if found is None:
        emit("no-types", "", "no Bicep type definitions exist for this type and API version")
        return findings
    types, resource_type = found
    config = resource["config"]
    body_scope = scope.with_loop(config) if is_loop(config) else scope
    body = unwrap(config)
    if resource.get("existing"):
        return findings  # an existing resource names what it reads; nothing of its body is deployed
    checker = Checker(types, body_scope, emit)
    body_type = types.deref(resource_type["body"])
    if body_type["$type"] == "ObjectType":
        checker._check_object(body, body_type, resource_type["body"], "", False, frozenset(LANGUAGE_KEYS))
    else:
        checker.check({k: v for k, v in body.items() if k not in LANGUAGE_KEYS}, resource_type["body"], "")
    return findings


def check_module(path: Path, symbol: str, module: dict, scope: Scope) -> list[Finding]:
    detail = module.get("detail") or {}
    target = (path.parent / detail.get("path", "")).resolve()
    line = module.get("__start_line__", 0)
    findings: list[Finding] = []
    label = f"module {detail.get('path', '?')}"

    def emit(kind: str, property_path: str, message: str) -> None:
        findings.append(Finding(relative(path), line, symbol, label, kind, property_path, message))

    if module.get("type") != "local":
        return findings  # registry/template-spec modules: nothing local to check against
    if not target.is_file():
        emit("missing-module", "", f"{relative(target)} does not exist")
        return findings
    declared = parse_bicep(target).get("parameters") or {}
    params = unwrap(module["config"]).get("params") or {}
    if expression_kind(params) or is_reference(params):
        return findings
    for raw_key, value in params.items():
        key = plain_key(raw_key)
        if key.startswith("__"):
            continue
        if key not in declared:
            emit("unknown-param", f"params.{key}", f"{relative(target)} has no parameter {key}")
            continue
        problem = module_value_problem(value, declared[key], scope)
        if problem:
            emit("wrong-type", f"params.{key}", problem)
    for name, parameter in declared.items():
        if parameter.get("default") is None and name not in {plain_key(k) for k in params}:
            if not str(parameter.get("type", "")).endswith("?"):
                emit("missing-param", f"params.{name}", f"{relative(target)} requires parameter {name}")
    return findings


def module_value_problem(value: Any, parameter: dict, scope: Scope) -> str | None:
    declared = parameter.get("type")
    if declared not in ("string", "int", "bool", "object", "array"):
        return None
    actual = None
    if is_reference(value):
        other = scope.parameters.get(str(value))
        actual = other.get("type") if other else None
        if str(value) in scope.variables:
            value = scope.variables[str(value)]["value"]
    if not is_reference(value):
        kind = expression_kind(value)
        if kind:
            actual = expression_type(value[kind], kind)
        elif isinstance(value, bool):
            actual = "bool"
        elif isinstance(value, int):
            actual = "int"
        elif isinstance(value, str):
            actual = "string"
        elif isinstance(value, list) or is_loop(value):
            actual = "array"
        elif isinstance(value, dict):
            actual = "object"
    if actual in ("string", "int", "bool", "object", "array") and actual != declared:
        return f"a {actual} for a parameter of type {declared}"
    allowed = next((d["argument"] for d in parameter.get("decorators", []) if d.get("type") == "allowed"), None)
    if allowed and isinstance(value, (str, int)) and not is_reference(value) and not expression_kind(value):
        if not (isinstance(value, str) and "${" in value) and value not in allowed:
            return f"{shown(value)} is not one of the allowed values {allowed}"
    return None


def bicep_files(root: Path = INFRA) -> list[Path]:
    return sorted(root.rglob("*.bicep"))


def check(files: Iterable[Path], types_root: Path = VENDORED_TYPES,
          known: tuple[KnownFinding, ...] = KNOWN_FINDINGS) -> Report:
    index = TypeIndex(types_root)
    report = Report()
    used: set[KnownFinding] = set()
    for path in files:
        findings, count = check_file(path, index)
        report.resources_checked += count
        for finding in findings:
            silence = next((k for k in known if (k.resource_type, k.kind, k.path) ==
                            (finding.resource_type, finding.kind, finding.path)), None)
            if silence is None:
                report.findings.append(finding)
            else:
                report.silenced.append((finding, silence))
                used.add(silence)
    report.unused_silences = [k for k in known if k not in used]
    return report


# --- vendoring the definitions the check needs -----------------------------------------------------------------


TYPE_REFERENCE = re.compile(r"resource\s+\w+\s+'([A-Za-z0-9.]+/[A-Za-z0-9./]+@[0-9a-z-]+)'")


def used_types(files: Iterable[Path]) -> set[str]:
    return {match for path in files for match in TYPE_REFERENCE.findall(path.read_text())}


def prune(types: TypeFile, wanted: set[str]) -> list[dict]:
    """The wanted ResourceTypes and every type they reach, renumbered; the format is unchanged."""
    roots = [i for i, t in enumerate(types.types)
             if t.get("$type") == "ResourceType" and t["name"].lower() in wanted]
    order: list[int] = []
    seen: set[int] = set()
    stack = list(reversed(roots))
    while stack:
        position = stack.pop()
        if position in seen:
            continue
        seen.add(position)
        order.append(position)
        stack.extend(reversed([int(r.rsplit("/", 1)[1]) for r in references(types.types[position])]))
    renumber = {old: new for new, old in enumerate(order)}

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"$ref"} and node["$ref"].startswith("#/"):
                return {"$ref": f"#/{renumber[int(node['$ref'][2:])]}"}
            return {k: rewrite(v) for k, v in node.items()}
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    return [rewrite(types.types[position]) for position in order]


def references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if set(node) == {"$ref"} and isinstance(node["$ref"], str) and node["$ref"].startswith("#/"):
            yield node["$ref"]
        else:
            for value in node.values():
                yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)


def vendor(source: Path, destination: Path = VENDORED_TYPES, files: Iterable[Path] | None = None) -> list[Path]:
    """Copy, pruned, the definitions of the types the Bicep files use into destination, same layout as source."""
    source = source.resolve()
    wanted = used_types(files if files is not None else bicep_files()) | set(EXTRA_VENDORED_TYPES)
    index = TypeIndex(source)
    by_file: dict[Path, tuple[TypeFile, set[str]]] = {}
    for type_and_version in sorted(wanted):
        found = index.resource(type_and_version)
        if found is None:
            print(f"no definitions for {type_and_version} in {source} (see KNOWN_FINDINGS)", file=sys.stderr)
            continue
        types, _ = found
        by_file.setdefault(types.path, (types, set()))[1].add(type_and_version.lower())
    for old in destination.glob("**/types.json"):
        old.unlink()
    written = []
    for path, (types, names) in sorted(by_file.items()):
        target = destination / path.relative_to(source.resolve() if path.is_absolute() else source)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(prune(types, names), separators=(",", ":"), sort_keys=True) + "\n")
        written.append(target)
    for folder in sorted(destination.glob("**/*"), key=lambda p: len(p.parts), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("words", nargs="*", metavar="[vendor] FILE",
                        help="`vendor` to regenerate the vendored definitions, else Bicep files to check "
                             "(default: every .bicep under infra/)")
    parser.add_argument("--types", type=Path, default=VENDORED_TYPES, help="type definitions to check against")
    parser.add_argument("--from", dest="source", type=Path, default=SHARED_TYPES,
                        help="vendor: the full definitions (a copy of bicep-types-az's generated/)")
    args = parser.parse_args(argv)
    command = args.words.pop(0) if args.words and args.words[0] in ("check", "vendor") else "check"
    files = [Path(word) for word in args.words]
    try:
        if command == "vendor":
            for path in vendor(args.source):
                print(f"{relative(path)}  {path.stat().st_size:,} bytes")
            return 0
        report = check(files or bicep_files(), args.types)
    except (FileNotFoundError, ValueError) as error:
        print(f"bicep_schema_check: {error}", file=sys.stderr)
        return 2
    for finding, silence in report.silenced:
        print(f"silenced: {finding}\n  because: {silence.reason}")
    for silence in report.unused_silences:
        print(f"stale silence (matches nothing now; remove it): {silence.resource_type} {silence.kind} {silence.path}")
    for finding in report.findings:
        print(finding)
    print(f"{report.resources_checked} resources checked, {len(report.findings)} findings, "
          f"{len(report.silenced)} silenced")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
