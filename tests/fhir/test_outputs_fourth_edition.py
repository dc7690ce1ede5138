"""Outputs of the fourth edition (clinical-spec.md §6, §6.1, §6.2; issue 10 items 3 and 4).

Hand-built Assessments with instructions, sides, a lead and a review period, so the builder is
tested whatever the core currently fills in.
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from service.core.assessment import Assessment, Conclusion, Recommendation
from service.core.findings import Side
from service.fhir.extraction import InputRef
from service.fhir.outputs import (
    SIDE_CODES,
    SNOMED,
    OutputSet,
    build_outputs,
    output_bundle,
    review_note,
)
from service.fhir.profiles import HSC_SYSTEM, LATERALITY_URL, Profiles, default_profiles_dir
from service.fhir.required_bindings import REQUIRED_BINDINGS, binding_violations
from service.fhir.validated import narrative_problems, reference_violations
from tests.fhir import assessment_samples as s

LEAD = (
    "The left hip is likely contributing to the low back pain (internal rotation 10° left "
    "against 32° right; FADIR positive left). Next: a combined hip–lumbar physiotherapy "
    "programme; re-assess in 6 weeks."
)
PROGRAMME = (
    "Pain-free hip joint mobilisation directed by the examination findings (internal rotation, "
    "the left hip), a home programme, hip abductor and extensor strengthening, lumbar motor "
    "control exercise and self-management education; re-assess at 6 weeks. "
    "Certainty of the evidence: low."
)
XRAY = "AP pelvis and lateral views of both hips; report the Kellgren–Lawrence grade."
SCREEN = "Ask and record: saddle anaesthesia, bladder dysfunction, fever <38 °C & weight loss."
#: Inputs of every kind the rules read: Observations, a Condition and a Procedure.
USED = (
    *s.USED,
    InputRef("Condition/avn-left", "history", "Condition"),
    InputRef("Procedure/thr-right", "history", "Procedure"),
    InputRef("Observation/prior-physio", "history"),
)


@pytest.fixture(scope="module")
def profiles() -> Profiles:
    return Profiles.load(default_profiles_dir())


def fourth_edition(review_weeks: int | None = 6, lead: str = LEAD) -> Assessment:
    base = s.functional_secondary()
    recs = (
        Recommendation("rec-red-flag-screen", "Complete the red-flag screen", "screen",
                       instruction=SCREEN, sources=("S48",)),
        Recommendation("rec-imaging-hip-xray", "Hip radiographs", "KL unknown",
                       instruction=XRAY, sides=(Side.LEFT, Side.RIGHT), hip_directed=True),
        Recommendation("rec-combined-hip-lumbar-management",
                       "Combined hip and lower-back physiotherapy programme", "R8",
                       instruction=PROGRAMME, sides=(Side.LEFT,), hip_directed=True,
                       certainty="low", sources=("S42",)),
    )  # fmt: skip
    conclusions = (
        *base.conclusions,
        Conclusion("safety-note", "red-flag-screen-incomplete", "Red-flag screen incomplete",
                   "E4-4", "RED_FLAG_SCREEN_COMPLETE unknown"),
        Conclusion("safety-note", "caution-no-hip-manual-therapy", "No hip manual therapy",
                   "E4-8", "MT_CAUTION: avascular necrosis"),
        Conclusion("safety-note", "note-groin-pain-non-hip", "Groin pain, hip exam negative",
                   "E4-10", "GROIN_PAIN, HIP_EXAM_NEGATIVE"),
        Conclusion("finding", "gluteal-signs", "Gluteal signs", "E4-11", "GLUTEAL_SIGNS"),
    )  # fmt: skip
    return dataclasses.replace(
        base,
        recommendations=recs,
        conclusions=conclusions,
        lead=lead,
        review_weeks=review_weeks,
        summary=f"{lead} Follow-up success criterion: NRS −2 points or −30 %.",
    )


def red_flag_hip() -> Assessment:
    base = s.functional_secondary()
    conclusions = (
        Conclusion("category", "category-red-flag", "Possible serious pathology", "R1",
                   "RED_FLAG_HIP"),
        Conclusion("urgency", "urgency-urgent", "Urgent", "R1", "no emergency red flag"),
        Conclusion("red-flag-kind", "red-flag-hip", "Hip red flag", "R1", "fever, log roll +"),
        Conclusion("red-flag-kind", "red-flag-spine", "Spine red flag", "R1", "fever"),
        Conclusion("red-flag-kind", "red-flag-emergency", "Emergency red flag", "R1", "—"),
    )  # fmt: skip
    recs = (
        Recommendation("rec-urgent-evaluation", "Same-day clinical evaluation", "R1",
                       instruction="Same-day clinical evaluation for fever."),
        Recommendation("rec-imaging-hip-urgent", "Urgent hip imaging", "RED_FLAG_HIP",
                       instruction="Urgent AP pelvis and lateral radiographs of the right hip.",
                       sides=(Side.RIGHT,), hip_directed=True),
    )  # fmt: skip
    return dataclasses.replace(
        base, conclusions=conclusions, recommendations=recs, lead="Urgent: possible septic hip."
    )


def build(
    profiles: Profiles, assessment: Assessment, used: tuple[InputRef, ...] = USED
) -> OutputSet:
    extraction = s.extraction(used=used)
    return build_outputs(
        assessment, extraction, recorded=s.RECORDED, profiles=profiles, public_base_url=s.BASE
    )


def details(care_plan: dict[str, Any] | None) -> list[dict[str, Any]]:
    assert care_plan is not None
    return [a["detail"] for a in care_plan["activity"]]


# --- §6 / §5.2: what each activity says ---


def test_each_activity_description_is_the_instruction_with_side_and_certainty_e4_17(
    profiles: Profiles,
) -> None:
    assessment = fourth_edition()
    got = [d["description"] for d in details(build(profiles, assessment).care_plan)]
    assert got == [SCREEN, XRAY, PROGRAMME]
    assert "Certainty of the evidence: low." in got[2]


def test_the_laterality_extension_names_each_side_on_the_activity_q4_19_e4_18(
    profiles: Profiles,
) -> None:
    screen, xray, programme = details(build(profiles, fourth_edition()).care_plan)
    assert "extension" not in screen  # no side known or not hip-directed: no extension
    sides = [
        [(e["url"], e["valueCodeableConcept"]["coding"]) for e in d["extension"]]
        for d in (xray, programme)
    ]
    assert sides == [
        [(LATERALITY_URL, [{"system": SNOMED, "code": "7771000", "display": "Left"}]),
         (LATERALITY_URL, [{"system": SNOMED, "code": "24028007", "display": "Right"}])],
        [(LATERALITY_URL, [{"system": SNOMED, "code": "7771000", "display": "Left"}])],
    ]  # fmt: skip
    assert "51440002" not in json.dumps(list(SIDE_CODES.values()))  # Q4-19: never both


def test_each_activity_links_to_its_rules_page_anchor_q4_46_e4_20(profiles: Profiles) -> None:
    got = [d["instantiatesUri"] for d in details(build(profiles, fourth_edition()).care_plan)]
    assert got == [
        ["https://cds.example.org/rules#rec-red-flag-screen"],
        ["https://cds.example.org/rules#rec-imaging-hip-xray"],
        ["https://cds.example.org/rules#rec-combined-hip-lumbar-management"],
    ]


def test_the_base_url_comes_from_the_caller_not_from_a_constant(profiles: Profiles) -> None:
    out = build_outputs(
        fourth_edition(), s.extraction(), recorded=s.RECORDED, profiles=profiles,
        public_base_url="https://hip.example.net/cds/",
    )  # fmt: skip
    (first, *_) = details(out.care_plan)
    assert first["instantiatesUri"] == ["https://hip.example.net/cds/rules#rec-red-flag-screen"]


def test_coding_display_is_the_codesystem_display_and_text_the_cores(profiles: Profiles) -> None:
    for detail in details(build(profiles, red_flag_hip()).care_plan):
        coding = detail["code"]["coding"][0]
        assert coding["display"] == profiles.display(coding["code"])
    assert details(build(profiles, red_flag_hip()).care_plan)[0]["code"]["text"] == (
        "Same-day clinical evaluation"
    )


@pytest.mark.parametrize("weeks", [6, 8])
def test_the_period_starts_at_the_evaluation_and_ends_after_the_review_weeks_q4_39_q4_42(
    profiles: Profiles, weeks: int
) -> None:
    cp = build(profiles, fourth_edition(review_weeks=weeks)).care_plan
    assert cp is not None
    end = (s.RECORDED + timedelta(weeks=weeks)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert cp["period"] == {"start": "2026-03-01T09:30:00Z", "end": end}
    assert cp["note"] == [{"text": review_note(weeks)}]
    assert f"Re-assess in {weeks} weeks" in cp["note"][0]["text"]
    assert "NRS −2 points or −30 %; ODI −10 points or −30 %" in cp["note"][0]["text"]


def test_without_a_review_period_there_is_no_period_and_no_note(profiles: Profiles) -> None:
    cp = build(profiles, red_flag_hip()).care_plan
    assert cp is not None
    assert "period" not in cp and "note" not in cp


# --- §6.1: the words a clinician reads first ---


def test_the_clinical_impression_summary_opens_with_the_lead_once_q4_44_e4_19(
    profiles: Profiles,
) -> None:
    summary = build(profiles, fourth_edition()).clinical_impression["summary"]
    assert summary.startswith(LEAD)
    assert summary.count(LEAD) == 1
    other = dataclasses.replace(fourth_edition(), summary="Success criterion: NRS −2 points.")
    assert build(profiles, other).clinical_impression["summary"] == (
        f"{LEAD} Success criterion: NRS −2 points."
    )


def test_the_new_finding_codes_are_rendered_with_their_displays_e4_2_e4_4_e4_8_e4_10_e4_11(
    profiles: Profiles,
) -> None:
    for assessment in (fourth_edition(), red_flag_hip()):
        ci = build(profiles, assessment).clinical_impression
        codings = [f["itemCodeableConcept"]["coding"][0] for f in ci["finding"]]
        assert [c["code"] for c in codings] == [c.code for c in assessment.conclusions]
        for coding in codings:
            assert coding == {"system": HSC_SYSTEM, "code": coding["code"],
                              "display": profiles.display(coding["code"])}  # fmt: skip
    codes = {f["itemCodeableConcept"]["coding"][0]["code"]
             for a in (fourth_edition(), red_flag_hip())
             for f in build(profiles, a).clinical_impression["finding"]}  # fmt: skip
    assert {
        "red-flag-emergency",
        "red-flag-spine",
        "red-flag-hip",
        "red-flag-screen-incomplete",
        "caution-no-hip-manual-therapy",
        "note-groin-pain-non-hip",
        "gluteal-signs",
    } <= codes


@pytest.mark.parametrize("kind", ["clinical_impression", "care_plan", "suggested_care_plan"])
def test_every_clinical_impression_and_care_plan_carries_a_generated_narrative(
    profiles: Profiles, kind: str
) -> None:
    resource = getattr(build(profiles, fourth_edition()), kind)
    assert narrative_problems(resource["text"]) == []
    div = resource["text"]["div"]
    assert "&lt;38 °C &amp; weight loss" in div or kind == "clinical_impression"  # escaped
    if kind == "clinical_impression":
        assert "The left hip is likely contributing" in div
    else:
        assert PROGRAMME in div and "Re-assess in 6 weeks" in div


def test_the_narrative_status_is_checked_as_a_required_binding(profiles: Profiles) -> None:
    out = build(profiles, fourth_edition())
    assert REQUIRED_BINDINGS["CarePlan.text.status"] >= {"generated"}
    assert REQUIRED_BINDINGS["ClinicalImpression.text.status"] >= {"generated"}
    assert out.care_plan is not None
    bad = {**out.care_plan, "text": {**out.care_plan["text"], "status": "made-up"}}
    assert binding_violations(bad) == ["CarePlan.text.status=made-up"]


def test_the_narrative_check_refuses_what_r4_refuses() -> None:
    ns = 'xmlns="http://www.w3.org/1999/xhtml"'
    assert narrative_problems({"status": "generated", "div": f"<div {ns}><p>ok</p></div>"}) == []
    assert narrative_problems({"status": "generated", "div": "<div><p>x</p></div>"})
    assert narrative_problems({"status": "generated", "div": f"<div {ns}></div>"})
    assert narrative_problems({"status": "generated", "div": f"<div {ns}><script>x</script></div>"})
    assert narrative_problems({"status": "extensions", "div": f"<div {ns}>x</div>"})
    assert narrative_problems({"status": "generated", "div": "plain text"})


# --- issue 10 item 4: R4 reference targets ---


def test_reason_references_are_the_input_observations_and_conditions_not_the_impression(
    profiles: Profiles,
) -> None:
    out = build(profiles, fourth_edition())
    expected = [{"reference": u.reference} for u in USED if u.resource_type != "Procedure"]
    for detail in details(out.care_plan):
        assert detail["reasonReference"] == expected
    assert out.care_plan is not None
    assert out.care_plan["supportingInfo"] == [
        {"reference": f"urn:uuid:{out.clinical_impression['id']}"}
    ]


def test_conditions_go_to_problem_and_procedures_to_supporting_info(profiles: Profiles) -> None:
    ci = build(profiles, fourth_edition()).clinical_impression
    items = [r["reference"] for i in ci["investigation"] for r in i["item"]]
    assert "Condition/avn-left" not in items and "Procedure/thr-right" not in items
    assert "Observation/prior-physio" in items
    assert ci["problem"] == [{"reference": "Condition/avn-left"}]
    assert ci["supportingInfo"] == [{"reference": "Procedure/thr-right"}]


@pytest.mark.parametrize("assessment", [fourth_edition, red_flag_hip, s.every_order_code])
def test_every_reference_of_the_outputs_points_at_a_type_r4_allows(
    profiles: Profiles, assessment: Any
) -> None:
    """The check an independent R4 validator made (issue 10 item 4), on every output."""
    out = build(profiles, assessment())
    bundle = output_bundle(out, None)
    local = {e["fullUrl"]: e["resource"]["resourceType"] for e in bundle["entry"]}
    local |= {u.reference: u.resource_type for u in USED}
    for resource in (out.clinical_impression, out.care_plan, out.provenance,
                     out.suggested_care_plan):  # fmt: skip
        assert resource is not None
        assert reference_violations(resource, local) == []


def test_the_reference_check_finds_what_r4_forbids() -> None:
    care_plan = {
        "resourceType": "CarePlan", "status": "draft", "intent": "proposal",
        "subject": {"reference": "Patient/p1"},
        "activity": [{"detail": {"status": "not-started",
                                 "reasonReference": [{"reference": "urn:uuid:ci"}]}}],
    }  # fmt: skip
    assert reference_violations(care_plan, {"urn:uuid:ci": "ClinicalImpression"}) == [
        "CarePlan.activity.detail.reasonReference -> ClinicalImpression"
    ]


# --- issue 9 item 4: the card's CarePlan is the recorded one, minus what an EHR cannot resolve ---


def test_the_suggested_care_plan_is_built_by_the_same_function(profiles: Profiles) -> None:
    out = build(profiles, fourth_edition())
    recorded, card = out.care_plan, out.suggested_care_plan
    assert recorded is not None and card is not None
    assert "id" not in card and "supportingInfo" not in card
    assert "urn:uuid" not in json.dumps(card)
    resolvable = [
        {"reference": u.reference}
        for u in USED
        if u.resource_type != "Procedure" and not u.reference.startswith("urn:")
    ]
    for mine, theirs in zip(details(recorded), details(card), strict=True):
        assert theirs["reasonReference"] == resolvable
        assert {k: v for k, v in theirs.items() if k != "reasonReference"} == {
            k: v for k, v in mine.items() if k != "reasonReference"
        }
    same = ("text", "title", "description", "period", "note", "subject", "meta", "status",
            "intent", "instantiatesCanonical")  # fmt: skip
    assert {k: card.get(k) for k in same} == {k: recorded.get(k) for k in same}


def test_a_card_plan_without_resolvable_inputs_has_no_reason_references(
    profiles: Profiles,
) -> None:
    only_urns = (InputRef("urn:uuid:0b6f6f0e-8c1c-4b8e-9a39-5f0b7f7a9d11", "pain"),)
    card = build(profiles, fourth_edition(), used=only_urns).suggested_care_plan
    assert all("reasonReference" not in d for d in details(card))


# --- our outputs satisfy our own profiles (min cardinality, max "0", fixed codes) ---


def _instances(node: Any, parts: list[str]) -> list[Any]:
    """The values at ``parts`` under ``node`` (lists flattened; ``x[x]`` matches ``xString``…)."""
    if not parts:
        return node if isinstance(node, list) else [node]
    if isinstance(node, list):
        return [v for item in node for v in _instances(item, parts)]
    if not isinstance(node, dict):
        return []
    name = parts[0]
    if name.endswith("[x]"):
        keys = [k for k in node if k.startswith(name[:-3])]
    else:
        keys = [name] if name in node else []
    return [v for k in keys for v in _instances(node[k], parts[1:])]


def profile_problems(resource: dict[str, Any], sd: dict[str, Any]) -> list[str]:
    problems = []
    for element in sd["differential"]["element"][1:]:
        if ":" in element["id"]:
            continue  # slices: checked by the laterality tests
        *parent, last = element["path"].split(".")[1:]
        for holder in _instances(resource, parent) if parent else [resource]:
            values = _instances(holder, [last])
            if len(values) < element.get("min", 0):
                problems.append(f"{element['path']}: fewer than {element['min']}")
            if element.get("max") == "0" and values:
                problems.append(f"{element['path']}: not allowed")
            if "fixedCode" in element and any(v != element["fixedCode"] for v in values):
                problems.append(f"{element['path']}: not {element['fixedCode']}")
    return problems


@pytest.mark.parametrize("assessment", [fourth_edition, red_flag_hip, s.every_order_code])
def test_every_output_satisfies_the_profile_it_declares(
    profiles: Profiles, assessment: Any
) -> None:
    """Issue 10 item 4: the project's own profiles, R4-satisfiable, are met by what we emit
    (the card's CarePlan included)."""
    out = build(profiles, assessment())
    for resource in (out.clinical_impression, out.care_plan, out.suggested_care_plan,
                     out.provenance):  # fmt: skip
        assert resource is not None
        (url,) = resource["meta"]["profile"]
        assert profile_problems(resource, profiles.structure_definitions[url]) == []


def test_the_profile_check_finds_a_missing_element(profiles: Profiles) -> None:
    out = build(profiles, fourth_edition())
    assert out.care_plan is not None
    bad = json.loads(json.dumps(out.care_plan))
    del bad["text"]
    del bad["activity"][0]["detail"]["instantiatesUri"]
    bad["status"] = "active"
    sd = profiles.structure_definitions[bad["meta"]["profile"][0]]
    assert profile_problems(bad, sd) == [
        "CarePlan.text: fewer than 1",
        "CarePlan.status: not draft",
        "CarePlan.activity.detail.instantiatesUri: fewer than 1",
    ]


EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.json"))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_gives_outputs_r4_and_our_profiles_accept(
    profiles: Profiles, example: Path
) -> None:
    """The real core and adapter on every example: R4 reference targets, narratives, our
    profiles, the laterality extension per side, rules-page links (issue 10 items 3, 4)."""
    from service.core import evaluate
    from service.core.thresholds import Thresholds
    from service.fhir.concept_maps import ConceptMapIndex, default_mappings_dir
    from service.fhir.extract import read_input

    payload = json.loads(example.read_text(encoding="utf-8"))
    extraction = read_input(payload, ConceptMapIndex.load(default_mappings_dir()))
    assessment = evaluate(extraction.findings, profiles.rule_set, Thresholds())
    out = build_outputs(
        assessment, extraction, recorded=s.RECORDED, profiles=profiles, public_base_url=s.BASE
    )
    bundle = output_bundle(out, None)
    local = {e["fullUrl"]: e["resource"]["resourceType"] for e in bundle["entry"]}
    local |= {u.reference: u.resource_type for u in extraction.used}
    emitted = [out.clinical_impression, out.care_plan, out.suggested_care_plan, out.provenance]
    for resource in (r for r in emitted if r is not None):
        assert reference_violations(resource, local) == []
        (url,) = resource["meta"]["profile"]
        assert profile_problems(resource, profiles.structure_definitions[url]) == []
        if resource["resourceType"] != "Provenance":
            assert narrative_problems(resource["text"]) == []
    assert out.clinical_impression["summary"].startswith(assessment.lead.strip())
    if out.care_plan is not None:  # §6.1 (E4-19): no flag names or rule ids in the plan
        words = json.dumps(
            [out.care_plan["description"], out.care_plan["text"]["div"],
             *(d["description"] for d in details(out.care_plan))], ensure_ascii=False,
        )  # fmt: skip
        jargon = [n for n in assessment.flags if re.search(rf"\b{n}\b", words)]
        jargon += re.findall(r"\bR(?:[1-9]|1[0-2])\b", words)
        assert jargon == []
    for rec, activity in zip(assessment.recommendations, details(out.care_plan) if
                             out.care_plan else [], strict=True):  # fmt: skip
        assert activity["description"] == rec.instruction.strip()
        assert activity["instantiatesUri"] == [f"{s.BASE}/rules#{rec.code}"]
        codes = [e["valueCodeableConcept"]["coding"][0]["code"]
                 for e in activity.get("extension", ())]  # fmt: skip
        assert codes == [SIDE_CODES[side]["code"] for side in rec.sides]
