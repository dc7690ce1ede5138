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

from service.core import advice, conclusions
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
#: The rules page (clinical-spec.md §6.2), relative to PUBLIC_BASE_URL.
RULES_PAGE = "rules"
RULE_SET_FILE = "PlanDefinition-hip-spine-rules.json"
CODE_SYSTEM_FILE = "CodeSystem-hsc.json"
#: CodeSystem concept property of the retired recommendation codes (§5.1, E4-14, E4-15).
RETIRED = {"code": "status", "valueCode": "retired"}


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

    def is_retired(self, code: str) -> bool:
        """True for a code kept with concept property ``status`` = retired (never emitted)."""
        bare = code.removeprefix("HSC#")
        concepts: list[dict[str, Any]] = self.code_system["concept"]
        concept = next((c for c in concepts if c["code"] == bare), {})
        return RETIRED in concept.get("property", ())

    def plan_definition_at(self, public_base_url: str) -> dict[str, Any]:
        """The rule set with its rules-page links absolute (``{base}/rules#code``, §6.2)."""
        served: dict[str, Any] = _absolute_links(self.plan_definition, public_base_url.rstrip("/"))
        return served


def rules_link(public_base_url: str, anchor: str | None = None) -> str:
    """``{PUBLIC_BASE_URL}/rules#{anchor}`` (clinical-spec.md §6.2, Q4-46), or the page itself."""
    page = f"{public_base_url.rstrip('/')}/{RULES_PAGE}"
    return f"{page}#{anchor}" if anchor else page


def _absolute_links(node: Any, base: str) -> Any:
    if isinstance(node, dict):
        out = {k: _absolute_links(v, base) for k, v in node.items()}
        url = out.get("url")
        if out.get("type") == "documentation" and isinstance(url, str):
            if url == RULES_PAGE or url.startswith(f"{RULES_PAGE}#"):
                out["url"] = f"{base}/{url}"
        return out
    if isinstance(node, list):
        return [_absolute_links(v, base) for v in node]
    return node


# --- generated parts of profiles/: the core is the single definition (E4-20, E4-24) -----------


def _citation(source_id: str) -> dict[str, str]:
    from service.core.sources import SOURCES  # only when regenerating (not at start-up)

    source = SOURCES[source_id]
    citation = source.citation.strip()
    if not source.references and source.note:
        citation = f"{citation} {source.note}"
    artifact = {"type": "citation", "label": source.id, "citation": citation}
    link = next((r.link for r in source.references if r.link), "")
    if link:
        artifact["url"] = link
    return artifact


def _all_sources(entry: advice.Advice) -> list[str]:
    ids = list(entry.sources)
    for variant in entry.variant_sources.values():
        ids += [i for i in variant if i not in ids]
    return ids


def rule_set_actions() -> list[dict[str, Any]]:
    """One PlanDefinition action per active recommendation code (§5.1, Q4-46): the display, the
    definition, a link to its rules-page anchor (relative to PUBLIC_BASE_URL, see
    :meth:`Profiles.plan_definition_at`) and a citation of each §9 source of §5.2."""
    actions = []
    for code in advice.ACTIVE_CODES:
        entry = advice.CATALOGUE[code]
        page = {
            "type": "documentation",
            "label": "Rules page",
            "display": f"{entry.display}: instruction, certainty and sources",
            "url": f"{RULES_PAGE}#{code}",
        }
        actions.append(
            {
                "id": code,
                "title": entry.display,
                "description": entry.definition,
                "code": [
                    {"coding": [{"system": HSC_SYSTEM, "code": code, "display": entry.display}]}
                ],
                "documentation": [page, *(_citation(i) for i in _all_sources(entry))],
            }
        )
    return actions


def core_displays() -> dict[str, str]:
    """The display the core gives each code it defines once: recommendations (advice), categories,
    Offierski & MacNab groups and the §6 finding codes (conclusions). CodeSystem hsc must say the
    same (one display everywhere, E4-24)."""
    out = dict(advice.DISPLAY)
    out |= {category.value: text for category, text in conclusions.CATEGORY_DISPLAY.items()}
    out |= dict(conclusions.OFFIERSKI.values())
    finding_display: Mapping[str, str] = getattr(conclusions, "FINDING_DISPLAY", {})
    out |= {str(getattr(k, "value", k)): v for k, v in finding_display.items()}
    return out


def synced_code_system(code_system: Mapping[str, Any]) -> dict[str, Any]:
    """``code_system`` with the core's displays (:func:`core_displays`), the recommendations'
    definitions, and ``status`` = retired on the retired recommendation codes."""
    displays = core_displays()
    concepts = []
    for concept in code_system["concept"]:
        concept = dict(concept)
        code = concept["code"]
        concept["display"] = displays.get(code, concept["display"])
        entry = advice.CATALOGUE.get(code)
        if entry is not None:
            concept["definition"] = entry.definition
            others = [p for p in concept.get("property", ()) if p.get("code") != "status"]
            concept.pop("property", None)
            if entry.retired or others:
                concept["property"] = [*others, *([RETIRED] if entry.retired else [])]
        concepts.append(concept)
    return {**code_system, "concept": concepts, "count": len(concepts)}


def synced_plan_definition(plan: Mapping[str, Any]) -> dict[str, Any]:
    """``plan`` with :func:`rule_set_actions` as its actions."""
    return {**plan, "action": rule_set_actions()}


def regenerate(directory: Path | None = None) -> None:
    """Rewrite the generated parts of CodeSystem hsc and the rule set from the core (run it after
    changing a display, definition or source in ``service/core``; a test says when)."""
    folder = directory or default_profiles_dir()
    for name, sync in ((CODE_SYSTEM_FILE, synced_code_system),
                       (RULE_SET_FILE, synced_plan_definition)):  # fmt: skip
        path = folder / name
        data = sync(json.loads(path.read_text(encoding="utf-8")))
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def profile_url(resource_type: str) -> str:
    """Canonical URL of our StructureDefinition for an output resource type."""
    return f"{CANONICAL_BASE}/StructureDefinition/hipspine-{resource_type.lower()}"
