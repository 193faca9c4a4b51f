"""The Bicep schema check (scripts/bicep_schema_check.py): infra/ against the Bicep type definitions of each
resource's API version, vendored in tests/bicep_types/ (README there). No Bicep compiler is needed."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from scripts import bicep_schema_check as schema
from tests.conftest import REPO

# infra/modules/registry.bicep as the review found it (commit 8a3b51f): anonymousPullEnabled on the 2023-07-01
# API, which does not have it (the compiler's first warning in the review).
OLD_REGISTRY_MODULE = """
param location string
param tags object
param name string
@allowed([
  'Basic'
  'Standard'
])
param skuName string = 'Standard'

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: skuName
  }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
    publicNetworkAccess: 'Enabled'
    dataEndpointEnabled: false
    zoneRedundancy: 'Disabled'
  }
}
"""


def bicep(tmp_path: Path, text: str, name: str = "main.bicep") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def findings_of(path: Path, known=()) -> list[tuple[str, str, str]]:
    report = schema.check([path], known=known)
    return sorted((f.resource_type, f.kind, f.path) for f in report.findings)


def test_infra_matches_the_bicep_types_of_its_api_versions():
    report = schema.check(schema.bicep_files())
    assert report.resources_checked >= 60, "the check saw too few resources: did parsing change?"
    assert [str(f) for f in report.findings] == []
    assert report.unused_silences == [], "a silence in KNOWN_FINDINGS matches nothing any more: remove it"


def test_nothing_is_silenced_and_every_silence_would_say_why():
    report = schema.check(schema.bicep_files())
    assert report.silenced == []  # the upload trigger no longer reads the untyped sites/host for a key
    assert all(len(k.reason) > 80 for k in schema.KNOWN_FINDINGS), "every silence says why"


def test_a_type_without_definitions_is_reported_unless_silenced(tmp_path):
    host = tmp_path / "host.bicep"
    host.write_text("resource app 'Microsoft.Web/sites@2024-04-01' existing = {\n  name: 'a'\n}\n"
                    "resource host 'Microsoft.Web/sites/host@2023-12-01' existing = {\n  parent: app\n"
                    "  name: 'default'\n}\noutput k string = host.listKeys().systemKeys.x\n")
    report = schema.check([host])
    assert [(f.resource_type, f.kind) for f in report.findings] == [("Microsoft.Web/sites/host@2023-12-01",
                                                                     "no-types")]


def test_the_old_registry_module_gets_the_reviews_first_warning(tmp_path):
    path = bicep(tmp_path, OLD_REGISTRY_MODULE, "registry.bicep")
    report = schema.check([path])
    assert [(f.resource_type, f.kind, f.path) for f in report.findings] == [
        ("Microsoft.ContainerRegistry/registries@2023-07-01", "unknown-property", "properties.anonymousPullEnabled")]
    assert "RegistryProperties" in str(report.findings[0]) and "registry.bicep:11" in str(report.findings[0])
    # and the registry module as it is now declares the same property on an API version that has it
    current = (REPO / "infra" / "modules" / "registry.bicep").read_text()
    assert "anonymousPullEnabled: false" in current and "registries@2023-07-01" not in current


def test_each_kind_of_mistake_is_reported(tmp_path):
    path = bicep(tmp_path, """
        param count int = 3
        var queueProperties = {
          lockDuration: count
        }
        resource sb 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
          name: 'sb-example'
          location: 'westeurope'
          sku: {
            name: 'Gold'
          }
          properties: {
            disableLocalAuth: 'yes'
            zoneRedundnat: true
            serviceBusEndpoint: 'https://x'
          }
        }
        resource q 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = {
          parent: sb
          name: 'jobs'
          properties: queueProperties
        }
        resource role 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
          name: guid('x')
          scope: sb
          properties: {
            principalId: 'p'
          }
        }
        resource later 'Microsoft.ServiceBus/namespaces@2099-01-01' = {
          name: 'sb-future'
          location: 'westeurope'
        }
        """)
    assert findings_of(path) == sorted([
        ("Microsoft.ServiceBus/namespaces@2024-01-01", "wrong-type", "sku.name"),  # not one of the SKUs
        ("Microsoft.ServiceBus/namespaces@2024-01-01", "wrong-type", "properties.disableLocalAuth"),  # not a bool
        ("Microsoft.ServiceBus/namespaces@2024-01-01", "unknown-property", "properties.zoneRedundnat"),
        ("Microsoft.ServiceBus/namespaces@2024-01-01", "read-only", "properties.serviceBusEndpoint"),
        ("Microsoft.ServiceBus/namespaces/queues@2024-01-01", "wrong-type", "properties.lockDuration"),  # an int
        ("Microsoft.Authorization/roleAssignments@2022-04-01", "missing-required", "properties.roleDefinitionId"),
        ("Microsoft.ServiceBus/namespaces@2099-01-01", "no-types", ""),
    ])


def test_conditions_loops_and_both_branches_of_a_conditional_are_checked(tmp_path):
    path = bicep(tmp_path, """
        param premium bool = false
        param names array = []
        resource sb 'Microsoft.ServiceBus/namespaces@2024-01-01' = if (premium) {
          name: 'sb-example'
          location: 'westeurope'
          sku: {
            name: premium ? 'Premium' : 'Basics'
          }
        }
        resource queues 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = [for n in names: {
          parent: sb
          name: n
          properties: {
            maxDeliveryCount: n
            requiresSesion: false
          }
        }]
        """)
    assert findings_of(path) == sorted([
        ("Microsoft.ServiceBus/namespaces@2024-01-01", "wrong-type", "sku.name"),
        ("Microsoft.ServiceBus/namespaces/queues@2024-01-01", "unknown-property", "properties.requiresSesion"),
    ])  # maxDeliveryCount: n is a loop item, unknown here, so not reported


def test_module_parameters_are_checked_against_the_module_file(tmp_path):
    bicep(tmp_path, """
        param name string
        param replicas int = 1
        @allowed([
          'Standard'
          'Premium'
        ])
        param sku string = 'Standard'
        """, "child.bicep")
    path = bicep(tmp_path, """
        module child 'child.bicep' = {
          name: 'child'
          params: {
            replicas: '2'
            sku: 'Gold'
            colour: 'blue'
          }
        }
        """)
    assert findings_of(path) == sorted([
        ("module child.bicep", "missing-param", "params.name"),
        ("module child.bicep", "wrong-type", "params.replicas"),
        ("module child.bicep", "wrong-type", "params.sku"),
        ("module child.bicep", "unknown-param", "params.colour"),
    ])


def test_silences_are_exact_and_a_stale_one_is_reported(tmp_path):
    path = bicep(tmp_path, OLD_REGISTRY_MODULE)
    known = (schema.KnownFinding("Microsoft.ContainerRegistry/registries@2023-07-01", "unknown-property",
                                 "properties.anonymousPullEnabled", "a test silence"),
             schema.KnownFinding("Microsoft.Web/sites/host@2023-12-01", "no-types", "", "matches nothing here"))
    report = schema.check([path], known=known)
    assert report.findings == [] and len(report.silenced) == 1
    assert report.unused_silences == [known[1]] and not report.ok


def test_the_command_line_exits_non_zero_with_the_findings(tmp_path):
    path = bicep(tmp_path, OLD_REGISTRY_MODULE)
    done = subprocess.run([sys.executable, "scripts/bicep_schema_check.py", str(path)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "properties.anonymousPullEnabled" in done.stdout
    bad = bicep(tmp_path, "resource x 'Microsoft.X/y@2020-01-01' = {\n", "broken.bicep")
    done = subprocess.run([sys.executable, "scripts/bicep_schema_check.py", str(bad)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "does not parse as Bicep" in done.stderr and "Traceback" not in done.stderr


def test_the_vendored_definitions_are_small_and_say_where_they_come_from():
    files = sorted(schema.VENDORED_TYPES.rglob("types.json"))
    assert files and sum(f.stat().st_size for f in files) < 2_000_000
    for path in files:
        types = json.loads(path.read_text())
        assert any(t["$type"] == "ResourceType" for t in types), path
    readme = (schema.VENDORED_TYPES / "README.md").read_text()
    assert "Azure/bicep-types-az" in readme and "MIT" in readme and "scripts/bicep_schema_check.py vendor" in readme


@pytest.mark.skipif(not schema.SHARED_TYPES.is_dir(), reason="../shared/bicep-types is not beside this checkout")
def test_the_vendored_definitions_are_what_the_vendor_command_makes_now(tmp_path):
    written = schema.vendor(schema.SHARED_TYPES, tmp_path)
    fresh = {p.relative_to(tmp_path): p.read_bytes() for p in written}
    vendored = {p.relative_to(schema.VENDORED_TYPES): p.read_bytes() for p in schema.VENDORED_TYPES.rglob("types.json")}
    assert sorted(fresh) == sorted(vendored), "run: .venv/bin/python scripts/bicep_schema_check.py vendor"
    assert [p for p in fresh if fresh[p] != vendored[p]] == []
