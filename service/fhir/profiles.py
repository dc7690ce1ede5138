"""The project's conformance resources in ``profiles/``, loaded and validated once at start-up."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from service.core.assessment import RuleSet
from service.errors import HipSpineError

#: The local CodeSystem of clinical-spec.md §1 (``HSC#code``).
HSC_SYSTEM = "http://hipspine-cds.org/fhir/CodeSystem/hsc"
#: Canonical base of profiles, extensions, the OperationDefinition and the rule set (§1).
CANONICAL_BASE = "http://hipspine-cds.org/fhir"
RULE_SET_URL = f"{CANONICAL_BASE}/PlanDefinition/hip-spine-rules"
OPERATION_URL = f"{CANONICAL_BASE}/OperationDefinition/hip-spine-evaluate"
LATERALITY_URL = f"{CANONICAL_BASE}/StructureDefinition/laterality"

#: Resource types whose outputs declare one of our StructureDefinitions in ``meta.profile``.
PROFILED_TYPES = ("ClinicalImpression", "CarePlan", "Provenance")


class InvalidProfiles(HipSpineError):
    """``profiles/`` is missing a resource or holds one that is not valid R4 (a deployment bug)."""

    status = 500
    issue_code = "exception"


def default_profiles_dir() -> Path:
    """The repository's ``profiles/`` folder."""
    return Path(__file__).parents[2] / "profiles"


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidProfiles(f"{path.name}: cannot read JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        raise InvalidProfiles(f"{path.name}: not a FHIR resource (no resourceType)")
    try:
        model = get_fhir_model_class(data["resourceType"])
        model.model_validate(data)
    except (ValueError, ValidationError) as exc:
        raise InvalidProfiles(f"{path.name}: not a valid R4 {data['resourceType']}: {exc}") from exc
    return data


def _one(resources: list[dict[str, Any]], resource_type: str, url: str) -> dict[str, Any]:
    found = [r for r in resources if r["resourceType"] == resource_type and r.get("url") == url]
    if len(found) != 1:
        raise InvalidProfiles(f"expected exactly one {resource_type} {url}, found {len(found)}")
    return found[0]


@dataclass(frozen=True)
class Profiles:
    """Everything in ``profiles/``: the rule set, the OperationDefinition, the CodeSystem hsc.

    Build it with :meth:`load`; the dictionaries are served as they are (treat as read-only).
    """

    rule_set: RuleSet
    plan_definition: dict[str, Any]
    operation_definition: dict[str, Any]
    code_system: dict[str, Any]
    structure_definitions: Mapping[str, dict[str, Any]]  # by url
    _displays: Mapping[str, str]

    @classmethod
    def load(cls, directory: Path) -> Profiles:
        """Read and validate every ``*.json`` of ``directory``.

        :raise InvalidProfiles: unreadable or invalid resource, or one of ours missing.
        """
        paths = sorted(directory.glob("*.json"))
        if not paths:
            raise InvalidProfiles(f"no FHIR resources in {directory}")
        resources = [_read(p) for p in paths]
        plan = _one(resources, "PlanDefinition", RULE_SET_URL)
        version = plan.get("version")
        if not isinstance(version, str) or not version:
            raise InvalidProfiles(f"PlanDefinition {RULE_SET_URL} has no version")
        if not plan.get("date"):
            raise InvalidProfiles(f"PlanDefinition {RULE_SET_URL} has no date")
        code_system = _one(resources, "CodeSystem", HSC_SYSTEM)
        displays: dict[str, str] = {}
        for concept in code_system.get("concept", []):
            if concept["code"] in displays or not concept.get("display"):
                raise InvalidProfiles(f"CodeSystem hsc: duplicate or undisplayed {concept['code']}")
            displays[concept["code"]] = concept["display"]
        sds = {r["url"]: r for r in resources if r["resourceType"] == "StructureDefinition"}
        for rtype in PROFILED_TYPES:
            _one(resources, "StructureDefinition", profile_url(rtype))
        return cls(
            rule_set=RuleSet(url=RULE_SET_URL, version=version),
            plan_definition=plan,
            operation_definition=_one(resources, "OperationDefinition", OPERATION_URL),
            code_system=code_system,
            structure_definitions=MappingProxyType(sds),
            _displays=MappingProxyType(displays),
        )

    def display(self, code: str) -> str:
        """The CodeSystem hsc display of ``code`` (``HSC#`` prefix allowed).

        :raise HipSpineError: the code is not in the CodeSystem (a bug in the caller: every
            code the service emits must be defined there).
        """
        bare = code.removeprefix("HSC#")
        try:
            return self._displays[bare]
        except KeyError:
            raise HipSpineError(f"code {bare!r} is not in CodeSystem {HSC_SYSTEM}") from None

    def has_code(self, code: str) -> bool:
        return code.removeprefix("HSC#") in self._displays

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(self._displays)

    @property
    def published(self) -> str:
        """The rule set's publication date (PlanDefinition.date), e.g. for CapabilityStatement."""
        return str(self.plan_definition["date"])


def profile_url(resource_type: str) -> str:
    """Canonical URL of our StructureDefinition for an output resource type."""
    return f"{CANONICAL_BASE}/StructureDefinition/hipspine-{resource_type.lower()}"
