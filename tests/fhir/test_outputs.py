"""ClinicalImpression, CarePlan, Provenance and the output Bundle (clinical-spec.md §6)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from service.core.assessment import Assessment, Category, Conclusion, RuleSet, Subtype
from service.errors import HipSpineError
from service.fhir.outcome import warnings_outcome
from service.fhir.outputs import CPT, SNOMED, OutputSet, build_outputs, output_bundle
from service.fhir.profiles import HSC_SYSTEM, Profiles, default_profiles_dir
from service.fhir.required_bindings import REQUIRED_BINDINGS, binding_violations
from tests.fhir import assessment_samples as s


@pytest.fixture(scope="module")
def profiles() -> Profiles:
    return Profiles.load(default_profiles_dir())


def build(profiles: Profiles, assessment: Assessment, **kw: Any) -> OutputSet:
    recorded = kw.pop("recorded", s.RECORDED)
    return build_outputs(
        assessment, s.extraction(**kw), recorded=recorded, profiles=profiles, public_base_url=s.BASE
    )


def resources(out: OutputSet) -> list[dict[str, Any]]:
    return [r for r in (out.clinical_impression, out.care_plan, out.provenance) if r is not None]


def codings(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if "system" in node and "code" in node:
            yield node
        for value in node.values():
            yield from codings(value)
    elif isinstance(node, list):
        for item in node:
            yield from codings(item)


def without_times(resource: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in resource.items()
        if k not in {"effectiveDateTime", "date", "recorded", "created", "timestamp"}
    }


SAMPLES = [s.functional_secondary, s.every_order_code, s.no_findings]


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_output_resource_reparses_as_r4b(profiles: Profiles, sample: Any) -> None:
    out = build(profiles, sample(), warnings=(s.WARNING,), ignored=(s.IGNORED,))
    bundle = output_bundle(out, warnings_outcome(s.extraction(warnings=(s.WARNING,))))
    for resource in [*resources(out), bundle]:
        model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        assert json.dumps(model.model_dump(mode="json")) == json.dumps(resource)  # order too


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_output_code_is_within_its_required_binding(profiles: Profiles, sample: Any) -> None:
    out = build(profiles, sample(), warnings=(s.WARNING,))
    bundle = output_bundle(out, warnings_outcome(s.extraction(warnings=(s.WARNING,))))
    assert binding_violations(bundle) == []
    for resource in resources(out):
        assert binding_violations(resource) == []


def test_the_binding_check_reports_a_code_outside_the_value_set(profiles: Profiles) -> None:
    care_plan = build(profiles, s.functional_secondary()).care_plan
    assert care_plan is not None
    bad = {**care_plan, "intent": "suggestion"}
    bad["activity"] = [{"detail": {**care_plan["activity"][0]["detail"], "kind": "Referral"}}]
    assert binding_violations(bad) == [
        "CarePlan.intent=suggestion",
        "CarePlan.activity.detail.kind=Referral",
    ]


def test_the_emitted_status_intent_and_kind_values_are_the_ones_section_6_fixes() -> None:
    assert "completed" in REQUIRED_BINDINGS["ClinicalImpression.status"]
    assert "draft" in REQUIRED_BINDINGS["CarePlan.status"]
    assert "proposal" in REQUIRED_BINDINGS["CarePlan.intent"]
    assert "ServiceRequest" in REQUIRED_BINDINGS["CarePlan.activity.detail.kind"]
    assert "not-started" in REQUIRED_BINDINGS["CarePlan.activity.detail.status"]
    assert "source" in REQUIRED_BINDINGS["Provenance.entity.role"]
    assert "collection" in REQUIRED_BINDINGS["Bundle.type"]


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_hsc_code_in_the_outputs_is_defined_with_its_display(
    profiles: Profiles, sample: Any
) -> None:
    out = build(profiles, sample())
    hsc = [c for r in resources(out) for c in codings(r) if c["system"] == HSC_SYSTEM]
    assert hsc
    for coding in hsc:
        assert coding["display"] == profiles.display(coding["code"])


def test_every_category_and_subtype_of_the_core_is_a_code_of_the_codesystem(
    profiles: Profiles,
) -> None:
    assert {c.value for c in Category} <= profiles.codes
    assert {t.value for t in Subtype} <= profiles.codes


def test_the_clinical_impression_carries_what_section_6_asks(profiles: Profiles) -> None:
    ci = build(profiles, s.functional_secondary()).clinical_impression
    assert ci["status"] == "completed"
    assert ci["subject"] == {"reference": "Patient/p1"}
    assert ci["effectiveDateTime"] == ci["date"] == "2026-03-01T09:30:00Z"
    assert ci["code"]["coding"] == [
        {"system": HSC_SYSTEM, "code": "hip-spine-assessment",
         "display": profiles.display("hip-spine-assessment")}
    ]  # fmt: skip
    assert ci["protocol"] == [f"{s.RULE_SET.url}|2.0.0"]
    assert ci["summary"].startswith("Secondary (functional)")
    assert ci["meta"]["profile"] == [
        "http://hipspine-cds.org/fhir/StructureDefinition/hipspine-clinicalimpression"
    ]


def test_there_is_one_finding_per_conclusion_in_order_with_rule_and_basis(
    profiles: Profiles,
) -> None:
    assessment = s.functional_secondary()
    findings = build(profiles, assessment).clinical_impression["finding"]
    assert [f["itemCodeableConcept"]["coding"][0]["code"] for f in findings] == [
        c.code for c in assessment.conclusions
    ]
    first = findings[0]
    assert first["itemCodeableConcept"]["text"] == "Secondary hip–spine syndrome"
    assert first["basis"] == (
        "R8: HIP_PATH false (KL 1/1), HIP_SIGNS true (IR 10° left), LBP true (NRS 6)"
    )


def test_investigations_group_the_used_inputs_in_section_6_order(profiles: Profiles) -> None:
    ci = build(profiles, s.functional_secondary()).clinical_impression
    groups = [(i["code"]["coding"][0]["code"], [r["reference"] for r in i["item"]])
              for i in ci["investigation"]]  # fmt: skip
    assert groups == [
        ("investigation-hip-rom", ["Observation/ir-left", "Observation/ir-right"]),
        ("investigation-special-tests", ["Observation/fadir-left"]),
        ("investigation-pain", ["urn:uuid:0b6f6f0e-8c1c-4b8e-9a39-5f0b7f7a9d11"]),
        ("investigation-radiographic", ["Observation/kl-left"]),
    ]


def test_each_warning_ignored_input_and_data_quality_check_becomes_a_note(
    profiles: Profiles,
) -> None:
    out = build(profiles, s.every_order_code(), warnings=(s.WARNING,), ignored=(s.IGNORED,))
    notes = [n["text"] for n in out.clinical_impression["note"]]
    assert notes == [
        "Warning: hip internal rotation 200 deg is outside 0–90; excluded "
        "(Bundle.entry[4].resource.valueQuantity)",
        "Ignored input: Observation/old has status cancelled; ignored "
        "(Bundle.entry[5].resource.status)",
        "Data quality: |PI − (PT + SS)| = 7° > 5°",
    ]


def test_without_warnings_the_clinical_impression_has_no_note(profiles: Profiles) -> None:
    assert "note" not in build(profiles, s.functional_secondary()).clinical_impression


def test_the_care_plan_proposes_one_activity_per_recommendation(profiles: Profiles) -> None:
    out = build(profiles, s.every_order_code())
    cp, ci = out.care_plan, out.clinical_impression
    assert cp is not None
    assert (cp["status"], cp["intent"]) == ("draft", "proposal")
    assert cp["subject"] == {"reference": "Patient/p1"}
    assert cp["title"] and cp["description"]
    assert cp["supportingInfo"] == [{"reference": f"urn:uuid:{ci['id']}"}]
    assert cp["instantiatesCanonical"] == [f"{s.RULE_SET.url}|2.0.0"]
    details = [a["detail"] for a in cp["activity"]]
    assert len(details) == 6
    for detail in details:
        assert detail["kind"] == "ServiceRequest"
        assert detail["status"] == "not-started"
        # issue 10 item 4: R4 allows no ClinicalImpression in reasonReference; the inputs instead
        assert detail["reasonReference"] == [{"reference": u.reference} for u in s.USED]
        assert detail["description"]
        assert detail["code"]["coding"][0]["system"] == HSC_SYSTEM


def test_recommendations_carry_the_other_codes_of_section_5(profiles: Profiles) -> None:
    cp = build(profiles, s.every_order_code()).care_plan
    assert cp is not None
    extra = {
        a["detail"]["code"]["coding"][0]["code"]: [
            (c["system"], c["code"]) for c in a["detail"]["code"]["coding"][1:]
        ]
        for a in cp["activity"]
    }
    assert extra == {
        "rec-diagnostic-ia-hip-injection": [(CPT, "20611")],
        "rec-mri-lumbar": [(CPT, "72148")],
        "rec-mri-lumbar-urgent": [(CPT, "72148")],
        "rec-imaging-hip-urgent": [(CPT, "73502")],
        "rec-combined-hip-lumbar-management": [(SNOMED, "91251008")],
        "rec-collect-missing-data": [],
    }


def test_collect_missing_data_names_each_missing_item(profiles: Profiles) -> None:
    cp = build(profiles, s.every_order_code()).care_plan
    assert cp is not None
    description = cp["activity"][-1]["detail"]["description"]
    assert description == "Collect missing data: R12. Missing: bilateral hip IR; FADIR."


def test_no_recommendation_means_no_care_plan_and_a_summary_that_says_so(
    profiles: Profiles,
) -> None:
    out = build(profiles, s.no_findings())
    assert out.care_plan is None and out.suggested_care_plan is None
    # §5.1 (E4-21): the core's summary says why, in words that fit; never a bare "no action"
    assert out.clinical_impression["summary"] == "No hip or spine findings."
    assert "no hip–spine action" not in out.clinical_impression["summary"].lower()
    assert out.provenance["target"] == [{"reference": f"urn:uuid:{out.clinical_impression['id']}"}]
    bundle = output_bundle(out, None)
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == [
        "ClinicalImpression",
        "Provenance",
    ]


def test_the_provenance_names_the_service_the_inputs_and_the_rule_set(profiles: Profiles) -> None:
    out = build(profiles, s.functional_secondary())
    prov, cp = out.provenance, out.care_plan
    assert cp is not None
    assert prov["target"] == [
        {"reference": f"urn:uuid:{out.clinical_impression['id']}"},
        {"reference": f"urn:uuid:{cp['id']}"},
    ]
    assert prov["recorded"] == "2026-03-01T09:30:00Z"
    assert prov["policy"] == [f"{s.RULE_SET.url}|2.0.0"]
    (agent,) = prov["agent"]
    assert agent["who"]["reference"] == "Device/hipspine-cds"
    assert "2.0.0" in agent["who"]["display"]
    assert agent["type"]["coding"][0]["code"] == "author"
    assert [(e["role"], e["what"]["reference"]) for e in prov["entity"]] == [
        ("source", u.reference) for u in s.USED
    ]


def test_every_output_declares_a_profile_that_exists_in_profiles(profiles: Profiles) -> None:
    for resource in resources(build(profiles, s.functional_secondary())):
        (url,) = resource["meta"]["profile"]
        sd = profiles.structure_definitions[url]
        assert sd["type"] == resource["resourceType"]


def test_equal_inputs_and_version_give_equal_json_apart_from_timestamps(
    profiles: Profiles,
) -> None:
    first = build(profiles, s.every_order_code(), warnings=(s.WARNING,))
    later = build(profiles, s.every_order_code(), warnings=(s.WARNING,),
                  recorded=s.RECORDED + timedelta(days=3))  # fmt: skip
    again = build(profiles, s.every_order_code(), warnings=(s.WARNING,))
    assert json.dumps(resources(first)) == json.dumps(resources(again))
    for a, b in zip(resources(first), resources(later), strict=True):
        assert a["id"] == b["id"]
        assert json.dumps(without_times(a)) == json.dumps(without_times(b))
        assert a != b


def test_other_inputs_or_another_rule_set_version_give_other_ids(profiles: Profiles) -> None:
    base = build(profiles, s.functional_secondary()).clinical_impression["id"]
    other_inputs = build(profiles, s.functional_secondary(), used_digest="c" * 64)
    other_version = build(profiles, s.functional_secondary(RuleSet(s.RULE_SET.url, "1.1.0")))
    assert other_inputs.clinical_impression["id"] != base
    assert other_version.clinical_impression["id"] != base
    assert other_version.clinical_impression["protocol"] == [f"{s.RULE_SET.url}|1.1.0"]


def test_a_recorded_time_without_timezone_is_refused(profiles: Profiles) -> None:
    with pytest.raises(ValueError, match="timezone"):
        build(profiles, s.functional_secondary(), recorded=datetime(2026, 3, 1, 9, 30))


def test_a_recorded_time_in_another_timezone_keeps_its_offset(profiles: Profiles) -> None:
    cet = timezone(timedelta(hours=1))
    out = build(
        profiles, s.functional_secondary(), recorded=datetime(2026, 3, 1, 10, 30, tzinfo=cet)
    )
    assert out.provenance["recorded"] == "2026-03-01T10:30:00+01:00"


def test_a_conclusion_code_outside_the_codesystem_fails_loudly(profiles: Profiles) -> None:
    base = s.no_findings()
    bad = Assessment(
        rule_set=base.rule_set, category=base.category, subtype=None, rule="R11",
        conclusions=(Conclusion("band", "nrs-band-tiny", "x", "§3", "y"),),
        recommendations=(), flags={}, missing=(), trace=(), summary="",
    )  # fmt: skip
    with pytest.raises(HipSpineError, match="nrs-band-tiny"):
        build(profiles, bad)


def test_the_bundle_is_a_collection_whose_references_resolve_inside_it(
    profiles: Profiles,
) -> None:
    extraction = s.extraction(warnings=(s.WARNING,), ignored=(s.IGNORED,))
    out = build_outputs(
        s.every_order_code(), extraction, recorded=s.RECORDED, profiles=profiles,
        public_base_url=s.BASE,
    )  # fmt: skip
    bundle = output_bundle(out, warnings_outcome(extraction))
    assert bundle["type"] == "collection"
    assert bundle["timestamp"] == "2026-03-01T09:30:00Z"
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds == ["ClinicalImpression", "CarePlan", "Provenance", "OperationOutcome"]
    full_urls = {e["fullUrl"] for e in bundle["entry"]}
    assert all(e["fullUrl"] == f"urn:uuid:{e['resource']['id']}" for e in bundle["entry"])
    internal = {
        ref["reference"]
        for r in resources(out)
        for key in ("supportingInfo", "target")
        for ref in r.get(key, [])
    }
    assert internal and internal <= full_urls
    outcome = bundle["entry"][-1]["resource"]
    assert [i["severity"] for i in outcome["issue"]] == ["warning", "information"]


def test_the_bundle_is_deterministic_for_equal_inputs(profiles: Profiles) -> None:
    one = output_bundle(build(profiles, s.functional_secondary()), None)
    two = output_bundle(build(profiles, s.functional_secondary()), None)
    assert json.dumps(one) == json.dumps(two)


def test_a_basis_that_already_names_its_rule_is_not_prefixed_twice(profiles: Profiles) -> None:
    base = s.no_findings()
    conclusion = Conclusion(
        "category", "category-no-findings", "No findings", "R11", "R11: no pain, no signs"
    )
    assessment = Assessment(
        rule_set=base.rule_set, category=base.category, subtype=None, rule="R11",
        conclusions=(conclusion,), recommendations=(), flags={}, missing=(), trace=(),
        summary="No findings.",
    )  # fmt: skip
    (finding,) = build(profiles, assessment).clinical_impression["finding"]
    assert finding["basis"] == "R11: no pain, no signs"
