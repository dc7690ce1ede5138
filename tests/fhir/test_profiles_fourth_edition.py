"""profiles/ for the fourth edition: terminology, the rule set 2.0.0, R4-satisfiable profiles
(clinical-spec.md §1.3, §5, §6, §6.2; issue 10 items 2 and 4)."""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from service.core import advice, conclusions
from service.core.assessment import Category
from service.fhir.profiles import (
    LATERALITY_URL,
    RETIRED,
    Profiles,
    core_displays,
    default_profiles_dir,
    rule_set_actions,
    rules_link,
    synced_code_system,
    synced_plan_definition,
)

R4B = "fhir.resources.R4B"
REGENERATE = 'run .venv/bin/python -c "from service.fhir.profiles import regenerate; regenerate()"'


@pytest.fixture(scope="module")
def profiles() -> Profiles:
    return Profiles.load(default_profiles_dir())


def concept(profiles: Profiles, code: str) -> dict[str, Any]:
    return next(c for c in profiles.code_system["concept"] if c["code"] == code)


# --- CodeSystem hsc ---


NEW_INPUT_CODES = [
    "rf-unable-to-weight-bear",  # E4-2
    "rf-long-term-corticosteroids",  # Q10-08
    "symptom-duration",  # E4-13
    "mrc-grade",  # E4-3
    "test-greater-trochanter-palpation",  # E4-11
    "test-single-leg-stance-30s",
    "test-fader-r",
    "prior-hip-lumbar-physiotherapy",  # E4-16
]
NEW_OUTPUT_CODES = [
    "rec-imaging-hip-urgent",  # E4-2
    "rec-red-flag-screen",  # E4-4
    "rec-gluteal-tendinopathy-care",  # E4-11
    "rec-hip-first-line-care",  # E4-21
    "rec-lbp-first-line-care",
    "red-flag-emergency",  # E4-2, E4-3
    "red-flag-spine",
    "red-flag-hip",
    "red-flag-screen-incomplete",  # E4-4
    "caution-no-hip-manual-therapy",  # E4-8
    "note-groin-pain-non-hip",  # E4-10
    "gluteal-signs",  # E4-11
]
OVERRIDE_REASONS = {  # Q4-32 (f): the §6.3 words
    "override-urgent-indication": "Urgent or red-flag indication",
    "override-hip-assessed": "Hip already assessed",
    "override-imaging-other-reason": "Imaging needed for another reason",
    "override-patient-preference": "Patient preference",
}


@pytest.mark.parametrize("code", NEW_INPUT_CODES + NEW_OUTPUT_CODES + list(OVERRIDE_REASONS))
def test_the_fourth_edition_codes_are_defined(profiles: Profiles, code: str) -> None:
    found = concept(profiles, code)
    assert found["display"].strip() and len(found["definition"]) > 20
    assert not profiles.is_retired(code)


def test_the_override_reasons_carry_the_words_of_section_6_3_q4_32(profiles: Profiles) -> None:
    assert {c: profiles.display(c) for c in OVERRIDE_REASONS} == OVERRIDE_REASONS


def test_retired_codes_are_kept_with_status_retired_e4_14_e4_15(profiles: Profiles) -> None:
    cs = profiles.code_system
    assert {"code": "status", "uri": "http://hl7.org/fhir/concept-properties#status",
            "type": "code"}.items() <= cs["property"][0].items()  # fmt: skip
    retired = {c["code"] for c in cs["concept"] if RETIRED in c.get("property", ())}
    assert retired == {"rec-diagnostic-lumbar-block", "rec-imaging-spinopelvic"}
    assert retired == set(advice.RETIRED_CODES)
    for code in retired:
        assert profiles.is_retired(code) and "Retired" in concept(profiles, code)["definition"]
    assert profiles.code_system["version"] == "2.0.0"


def test_every_recommendation_of_the_core_is_a_code_of_the_codesystem(profiles: Profiles) -> None:
    assert set(advice.CATALOGUE) <= profiles.codes


def test_every_codesystem_display_equals_the_cores_display_e4_24(profiles: Profiles) -> None:
    """One display everywhere (card, CarePlan, CodeSystem): the CodeSystem says what the core
    says for every code the core defines once (advice.py, conclusions.py)."""
    displays = core_displays()
    assert set(advice.CATALOGUE) <= set(displays)
    assert {c.value for c in Category} <= set(displays)
    drift = {
        code: (profiles.display(code), text)
        for code, text in displays.items()
        if profiles.display(code) != text
    }
    assert drift == {}, REGENERATE


def test_the_new_finding_codes_take_the_cores_displays_when_it_has_them(profiles: Profiles) -> None:
    finding_display = getattr(conclusions, "FINDING_DISPLAY", None)
    if finding_display is None:
        pytest.skip("service.core.conclusions.FINDING_DISPLAY is not written yet")
    keys = {str(getattr(k, "value", k)) for k in finding_display}
    assert set(NEW_OUTPUT_CODES) - {c for c in NEW_OUTPUT_CODES if c.startswith("rec-")} <= keys


def test_the_generated_parts_of_profiles_are_up_to_date(profiles: Profiles) -> None:
    assert synced_code_system(profiles.code_system) == profiles.code_system, REGENERATE
    pytest.importorskip("service.core.sources", reason="the §9 sources are not written yet")
    assert synced_plan_definition(profiles.plan_definition) == profiles.plan_definition, REGENERATE


# --- the rule set (PlanDefinition) ---


def test_the_rule_set_has_one_action_per_recommendation_with_its_sources_q4_46_e4_20(
    profiles: Profiles,
) -> None:
    sources = pytest.importorskip("service.core.sources")
    actions = profiles.plan_definition["action"]
    assert [a["id"] for a in actions] == list(advice.ACTIVE_CODES)
    assert actions == rule_set_actions()
    for action in actions:
        entry = advice.CATALOGUE[action["id"]]
        (coding,) = action["code"][0]["coding"]
        assert (coding["code"], coding["display"]) == (entry.code, profiles.display(entry.code))
        page, *cited = action["documentation"]
        assert (page["type"], page["url"]) == ("documentation", f"rules#{entry.code}")
        assert all(c["type"] == "citation" and c["citation"].strip() for c in cited)
        ids = [c["label"] for c in cited]
        assert set(entry.sources) <= set(ids)
        for variant in entry.variant_sources.values():
            assert set(variant) <= set(ids)
        for c in cited:
            assert c["citation"].startswith(sources.SOURCES[c["label"]].citation.strip())
    ia = next(a for a in actions if a["id"] == "rec-diagnostic-ia-hip-injection")
    assert [c["label"] for c in ia["documentation"][1:]] == ["S28", "S29", "S32"]  # §5.2


def test_the_rule_set_links_to_the_rules_page_of_the_deployment(profiles: Profiles) -> None:
    served = profiles.plan_definition_at("https://cds.example.org/")
    links = [
        d["url"]
        for d in [*served["relatedArtifact"], *(x for a in served["action"]
                                               for x in a["documentation"])]
        if d["type"] == "documentation" and "url" in d
    ]  # fmt: skip
    assert "https://cds.example.org/rules" in links
    assert "https://cds.example.org/rules#rec-red-flag-screen" in links
    assert all(u.startswith("https://cds.example.org/rules") for u in links if "rules" in u)
    assert profiles.plan_definition["action"][0]["documentation"][0]["url"].startswith("rules#")
    assert rules_link("https://x.org/", "rec-mri-lumbar") == "https://x.org/rules#rec-mri-lumbar"
    assert rules_link("https://x.org") == "https://x.org/rules"


def test_every_rules_page_anchor_the_rule_set_uses_exists(profiles: Profiles) -> None:
    rules = pytest.importorskip("service.http.rules", reason="the rules page is not written yet")
    base = "https://cds.example.org"
    served = profiles.plan_definition_at(base)
    for action in served["action"]:
        url = action["documentation"][0]["url"]
        assert rules.rules_link_ok(url, base), url


# --- issue 10 item 4: our profiles must be satisfiable by R4 ---


def _element_class(path: str) -> Any:
    """The R4B class of the element that holds ``path``'s last part (``CarePlan.activity.detail
    .reasonReference`` -> CarePlanActivityDetail; ``CarePlan.text.status`` -> Narrative)."""
    head, *parts = path.split(".")
    cls = get_fhir_model_class(head)
    for part in parts[:-1]:
        annotation = str(cls.model_fields[part].annotation)
        match = re.search(r"abc\.([A-Za-z]+)Type", annotation)
        assert match, (path, annotation)
        name = match.group(1)
        module = importlib.import_module(f"{R4B}.{head.lower()}")
        cls = getattr(module, name, None) or get_fhir_model_class(name)
    return cls


def _type_elements(sd: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for element in sd["differential"]["element"]:
        for t in element.get("type", ()):
            yield element["path"], t


def _field(path: str) -> Any:
    cls = _element_class(path)
    name = path.rsplit(".", 1)[-1].replace("[x]", "")
    fields = {n: f for n, f in cls.model_fields.items() if n == name or n.startswith(name)}
    assert fields, f"{path} is not an R4 element"
    return next(iter(fields.values()))


@pytest.mark.parametrize("rtype", ["ClinicalImpression", "CarePlan", "Provenance"])
def test_every_target_profile_is_a_type_r4_allows_there(profiles: Profiles, rtype: str) -> None:
    """An R4 profile may only narrow a reference's targets: a ClinicalImpression in
    CarePlan.activity.detail.reasonReference made ours unsatisfiable (issue 10 item 4)."""
    from service.fhir.profiles import profile_url

    sd = profiles.structure_definitions[profile_url(rtype)]
    checked = 0
    for path, t in _type_elements(sd):
        if t["code"] != "Reference" or "targetProfile" not in t:
            continue
        extra = _field(path).json_schema_extra or {}
        allowed = set(extra.get("enum_reference_types", ()))
        targets = {p.rsplit("/", 1)[-1] for p in t["targetProfile"]}
        assert "Resource" in allowed or targets <= allowed, (path, targets, allowed)
        checked += 1
    assert checked


def test_every_element_our_profiles_constrain_exists_in_r4(profiles: Profiles) -> None:
    for sd in profiles.structure_definitions.values():
        if sd["kind"] != "resource":
            continue
        for element in sd["differential"]["element"][1:]:
            _field(element["path"])


def test_every_laterality_context_is_an_r4_element(profiles: Profiles) -> None:
    sd = profiles.structure_definitions[LATERALITY_URL]
    for context in sd["context"]:
        assert context["type"] == "element"
        _field(context["expression"])


def _laterality_paths(node: Any, path: str) -> Iterator[str]:
    if isinstance(node, dict):
        for ext in node.get("extension", ()):
            if ext.get("url") == LATERALITY_URL:
                yield path
        for key, value in node.items():
            if key != "extension":
                yield from _laterality_paths(value, f"{path}.{key}")
    elif isinstance(node, list):
        for item in node:
            yield from _laterality_paths(item, path)


def test_sample_data_puts_the_laterality_extension_only_where_its_context_allows(
    profiles: Profiles,
) -> None:
    """Issue 10 item 4: generated sample data must conform to the extension's context."""
    data = pytest.importorskip("service.samples.data")
    cases = pytest.importorskip("service.samples.cases")
    contexts = {c["expression"] for c in profiles.structure_definitions[LATERALITY_URL]["context"]}
    seen: set[str] = set()
    for index in range(2 * len(cases.TEMPLATES)):
        _, chart = data.build_patient(7, index)
        for entry in chart.transaction()["entry"]:
            resource = entry["resource"]
            seen |= set(_laterality_paths(resource, resource["resourceType"]))
    assert seen, "no sample puts a side anywhere"
    assert seen <= contexts, seen - contexts


def test_the_laterality_extension_on_an_activity_is_valid_against_its_definition(
    profiles: Profiles,
) -> None:
    sd = profiles.structure_definitions[LATERALITY_URL]
    value = next(e for e in sd["differential"]["element"] if e["path"] == "Extension.value[x]")
    assert [t["code"] for t in value["type"]] == ["CodeableConcept"]
    assert value["binding"]["valueSet"] == "http://hipspine-cds.org/fhir/ValueSet/laterality"
    careplan = json.dumps(profiles.structure_definitions[
        "http://hipspine-cds.org/fhir/StructureDefinition/hipspine-careplan"])  # fmt: skip
    assert LATERALITY_URL in careplan


def test_the_examples_put_the_laterality_extension_only_where_its_context_allows(
    profiles: Profiles,
) -> None:
    """Issue 10 item 4, for the shipped example Bundles too (inputs and order-hook requests)."""
    from pathlib import Path

    contexts = {c["expression"] for c in profiles.structure_definitions[LATERALITY_URL]["context"]}
    examples = Path(__file__).resolve().parents[2] / "examples"
    seen: set[str] = set()
    for path in sorted(examples.rglob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for node in _resources(data):
            seen |= set(_laterality_paths(node, node["resourceType"]))
    assert seen <= contexts, seen - contexts


def _resources(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if isinstance(node.get("resourceType"), str) and node["resourceType"] not in (
            "Bundle",
            "Parameters",
        ):
            yield node
            return
        for value in node.values():
            yield from _resources(value)
    elif isinstance(node, list):
        for item in node:
            yield from _resources(item)
