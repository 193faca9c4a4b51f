"""The model registry: every OEQ/CEQ classifier version, its card, and which one serves.

Layout in the blob container ``models`` (a folder locally, Azure Blob in Azure)::

    versions/{version}/oeq_ceq.onnx         the graph
    versions/{version}/model_card.json      its card (metrics, training data, gates passed)
    versions/{version}/training_data.csv    what it learned from, with provenance (retrained versions)
    registry.json                            the roles: active, candidate, mode, share

The committed model (``models/oeq_ceq/artifacts``) is always a version too: the bootstrap,
active while ``registry.json`` does not exist. Switching versions writes ``registry.json``
(an admin call or ``python -m models.oeq_ceq.registry``); the app picks it up on its next
refresh. Settings may override the roles (``with_overrides``).

A candidate either takes a share of traffic (``mode="candidate"``) or runs in shadow
(``mode="shadow"``: it predicts, its answers are kept for comparison, users see the active
model's). The split is by a stable hash of the routing key (the video id for videos, the
tenant for typed text) salted with the candidate's version, so one video is never labelled
by two models and a new candidate draws a fresh sample.

This module knows the blob port only by its methods (models/ imports nothing from services/).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

from models.oeq_ceq.classifier import ARTIFACTS, QuestionClassifier

CONTAINER = "models"
REGISTRY_BLOB = "registry.json"
VERSIONS = "versions"
MODEL_BLOB = "oeq_ceq.onnx"
CARD_BLOB = "model_card.json"
TRAINING_BLOB = "training_data.csv"
MODES = ("candidate", "shadow")


class RegistryError(ValueError):
    """A registry request that cannot be met; the message says why."""


class Blobs(Protocol):
    def put_bytes(self, container: str, path: str, data: bytes) -> None: ...

    def get_bytes(self, container: str, path: str) -> bytes: ...

    def exists(self, container: str, path: str) -> bool: ...

    def list(self, container: str, prefix: str = "") -> list[str]: ...


@dataclass(frozen=True)
class Roles:
    """Which version serves, which is tried, and how."""

    active: str
    candidate: str | None = None
    mode: str = "shadow"  # "candidate": takes ``share`` of traffic; "shadow": predicts unseen
    share: float = 0.0
    updated_at: str = ""
    updated_by: str = ""

    def __post_init__(self):
        if self.mode not in MODES:
            raise RegistryError(f"mode {self.mode!r} must be one of {', '.join(MODES)}")
        if not 0.0 <= self.share <= 1.0:
            raise RegistryError(f"share {self.share} must be between 0 and 1")
        if self.candidate is not None and self.candidate == self.active:
            raise RegistryError(f"{self.candidate} cannot be both the active version and the candidate")

    @classmethod
    def from_dict(cls, data: dict) -> "Roles":
        try:
            return cls(active=str(data["active"]), candidate=data.get("candidate") or None,
                       mode=data.get("mode", "shadow"), share=float(data.get("share", 0.0)),
                       updated_at=data.get("updated_at", ""), updated_by=data.get("updated_by", ""))
        except (KeyError, TypeError, ValueError) as error:
            raise RegistryError(f"registry.json is not a roles document ({error!r})") from None

    def to_dict(self) -> dict:
        return asdict(self)

    def with_overrides(self, active: str | None = None, candidate: str | None = None, mode: str | None = None,
                       share: float | None = None) -> "Roles":
        """Settings win over the document; candidate "none" (or mode "off") drops the candidate."""
        changes: dict = {}
        if active:
            changes["active"] = active
        if candidate:
            changes["candidate"] = None if candidate.lower() == "none" else candidate
        if mode == "off":
            changes["candidate"] = None
        elif mode:
            changes["mode"] = mode
        if share is not None:
            changes["share"] = share
        if changes.get("active") and changes["active"] == changes.get("candidate", self.candidate):
            changes["candidate"] = None
        return replace(self, **changes)

    @property
    def shadow(self) -> str | None:
        return self.candidate if self.mode == "shadow" else None

    def role_of(self, version: str) -> str:
        if version == self.active:
            return "active"
        if version == self.candidate:
            return self.mode  # "candidate" or "shadow"
        return "available"


def split_point(key: str, salt: str) -> float:
    """A stable number in [0, 1) for a routing key: the same on every host, process and day."""
    digest = hashlib.blake2b(f"{salt}\x1f{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def takes_candidate(roles: Roles, key: str) -> bool:
    """Whether ``key`` (a video or a tenant) is in the candidate's share of traffic."""
    return (roles.candidate is not None and roles.mode == "candidate"
            and split_point(key, roles.candidate) < roles.share)


@dataclass(frozen=True)
class ServingModels:
    """The loaded models and their roles, as the app serves them."""

    roles: Roles
    active: QuestionClassifier
    candidate: QuestionClassifier | None = None
    source: str = "bootstrap"  # "bootstrap" | "registry" (+ "settings" when overridden)

    def route(self, key: str) -> tuple[QuestionClassifier, QuestionClassifier | None]:
        """(the model whose answer users see, a shadow model that only predicts, if any)."""
        if self.candidate is None:
            return self.active, None
        if self.roles.mode == "shadow":
            return self.active, self.candidate
        return (self.candidate if takes_candidate(self.roles, key) else self.active), None


class ModelRegistry:
    def __init__(self, blobs: Blobs, bootstrap: Path = ARTIFACTS):
        self.blobs = blobs
        self.bootstrap = bootstrap
        self.bootstrap_card = json.loads((bootstrap / CARD_BLOB).read_text())

    @property
    def bootstrap_version(self) -> str:
        return self.bootstrap_card["version"]

    # --- versions ---------------------------------------------------------------------------

    def versions(self) -> list[str]:
        registered = {path.split("/")[1] for path in self.blobs.list(CONTAINER, f"{VERSIONS}/")
                      if path.endswith("/" + CARD_BLOB)}
        return [self.bootstrap_version, *sorted(registered - {self.bootstrap_version})]

    def has(self, version: str) -> bool:
        return version == self.bootstrap_version or self.blobs.exists(CONTAINER, _blob(version, CARD_BLOB))

    def card(self, version: str) -> dict:
        if version == self.bootstrap_version:
            return self.bootstrap_card
        self._require(version)
        return json.loads(self.blobs.get_bytes(CONTAINER, _blob(version, CARD_BLOB)))

    def load(self, version: str) -> QuestionClassifier:
        if version == self.bootstrap_version:
            return QuestionClassifier(self.bootstrap / MODEL_BLOB, self.bootstrap / CARD_BLOB)
        card = self.card(version)
        model = self.blobs.get_bytes(CONTAINER, _blob(version, MODEL_BLOB))
        if hashlib.sha256(model).hexdigest() != card.get("onnx_sha256"):
            raise RegistryError(f"{version}: the stored graph does not match its card's onnx_sha256")
        return QuestionClassifier.from_bytes(model, card, source=f"{CONTAINER}/{_blob(version, MODEL_BLOB)}")

    def register(self, model: bytes, card: dict, training_data: bytes | None = None) -> str:
        """Store a new version (graph first, card last: a card means the version is complete)."""
        version = card["version"]
        if self.has(version):
            raise RegistryError(f"{version} is already registered")
        if hashlib.sha256(model).hexdigest() != card.get("onnx_sha256"):
            raise RegistryError(f"{version}: the graph does not match its card's onnx_sha256")
        self.blobs.put_bytes(CONTAINER, _blob(version, MODEL_BLOB), model)
        if training_data is not None:
            self.blobs.put_bytes(CONTAINER, _blob(version, TRAINING_BLOB), training_data)
        self.blobs.put_bytes(CONTAINER, _blob(version, CARD_BLOB), json.dumps(card, indent=2).encode())
        return version

    # --- roles ------------------------------------------------------------------------------

    def document(self) -> bytes | None:
        """registry.json as stored (None while the registry is empty): what a refresh compares."""
        if not self.blobs.exists(CONTAINER, REGISTRY_BLOB):
            return None
        return self.blobs.get_bytes(CONTAINER, REGISTRY_BLOB)

    def roles(self, document: bytes | None = None) -> Roles:
        document = self.document() if document is None else document
        if document is None:
            return Roles(active=self.bootstrap_version)
        try:
            return Roles.from_dict(json.loads(document))
        except ValueError as error:
            raise RegistryError(f"registry.json is not JSON ({error})") from None

    def set_roles(self, roles: Roles, updated_by: str) -> Roles:
        for version in filter(None, (roles.active, roles.candidate)):
            self._require(version)
        roles = replace(roles, updated_by=updated_by,
                        updated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        self.blobs.put_bytes(CONTAINER, REGISTRY_BLOB, json.dumps(roles.to_dict(), indent=2).encode())
        return roles

    def add_candidate(self, version: str, mode: str, share: float, updated_by: str) -> Roles:
        current = self.roles()
        return self.set_roles(replace(current, candidate=version, mode=mode, share=share), updated_by)

    def serving(self, roles: Roles, source: str = "registry") -> ServingModels:
        active = self.load(roles.active)
        candidate = self.load(roles.candidate) if roles.candidate else None
        return ServingModels(roles=roles, active=active, candidate=candidate, source=source)

    def _require(self, version: str) -> None:
        if not self.has(version):
            known = ", ".join(self.versions())
            raise RegistryError(f"no model version {version!r} in the registry (known: {known})")


# Shadow predictions are the tenant's data: they live in the chunks container under the
# tenant (erasing the tenant erases them) and hold a digest of each text, never the text.
SHADOW_CONTAINER = "chunks"


def shadow_prefix(tenant_id: str) -> str:
    return f"{tenant_id}/shadow/"


def read_shadow_records(blobs: Blobs, tenant_id: str) -> list[dict]:
    records = []
    for path in blobs.list(SHADOW_CONTAINER, shadow_prefix(tenant_id)):
        try:
            records.append(json.loads(blobs.get_bytes(SHADOW_CONTAINER, path)))
        except (OSError, ValueError):  # deleted meanwhile, or torn: skip it
            continue
    return records


def _blob(version: str, name: str) -> str:
    if not version or "/" in version or version.startswith("."):
        raise RegistryError(f"{version!r} is not a model version")
    return f"{VERSIONS}/{version}/{name}"


def main(argv: list[str] | None = None) -> int:
    """python -m models.oeq_ceq.registry [list | activate VERSION | candidate VERSION --mode M --share S | drop]"""
    from services.settings import Settings, SettingsError, build_blobs  # the CLI runs beside the app

    parser = argparse.ArgumentParser(prog="python -m models.oeq_ceq.registry",
                                     description="show or change which OEQ/CEQ model version serves")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("list", help="versions, roles and split (default)")
    activate = commands.add_parser("activate", help="make VERSION the active model")
    activate.add_argument("version")
    candidate = commands.add_parser("candidate", help="try VERSION beside the active model")
    candidate.add_argument("version")
    candidate.add_argument("--mode", choices=MODES, default="shadow")
    candidate.add_argument("--share", type=float, default=0.0, help="share of traffic in candidate mode (0-1)")
    commands.add_parser("drop", help="remove the candidate")
    args = parser.parse_args(argv)
    try:
        registry = ModelRegistry(build_blobs(Settings.from_env()))
        roles = registry.roles()
        if args.command == "activate":
            demoted = roles.candidate if roles.candidate != args.version else None
            roles = registry.set_roles(replace(roles, active=args.version, candidate=demoted), "cli")
        elif args.command == "candidate":
            roles = registry.set_roles(replace(roles, candidate=args.version, mode=args.mode, share=args.share), "cli")
        elif args.command == "drop":
            roles = registry.set_roles(replace(roles, candidate=None), "cli")
    except (RegistryError, SettingsError) as error:
        print(f"registry: {error}", file=sys.stderr)
        return 2
    print(json.dumps({"roles": roles.to_dict(),
                      "versions": {v: roles.role_of(v) for v in registry.versions()}}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
