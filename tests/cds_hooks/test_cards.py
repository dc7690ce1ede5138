"""Pure patient-view cards (clinical-spec §6.1, §6.2; E4-18, E4-19, E4-20; Q4-32e, Q4-44).

Constructed Assessments; the real pipeline over every example is in ``test_cards_examples.py``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from service.cds_hooks.cards import (
    DETAIL_MAX,
    SUGGESTION_SYSTEM,
    clip,
    find_empty,
    md,
    offered_override_reason,
    patient_view_cards,
    suggested_care_plan,
    without_ids,
)
from service.core.assessment import Assessment, Category, Flag, Recommendation, TraceStep
from service.core.findings import Side
from service.core.tri import Tri

from .support import make_assessment

BASE = "https://cds.example.org"
LEAD = (
    "The left hip is likely contributing to the low back pain (internal rotation 10° left "
    "against 32° right; FADIR positive left). Next: a combined hip–lumbar physiotherapy "
    "programme; re-assess in 6 weeks."
)
PROGRAMME = Recommendation(
    "rec-combined-hip-lumbar-management",
    "Combined hip–lumbar physiotherapy programme",
    "secondary (functional)",
    instruction=(
        "Pain-free hip joint mobilisation of the left hip, a home programme, hip abductor "
        "strengthening; re-assess at 6 weeks. Certainty of the evidence: low."
    ),
    sides=(Side.LEFT,),
    hip_directed=True,
)
INJECTION = Recommendation(
    "rec-diagnostic-ia-hip-injection",
    "Diagnostic hip injection",
    "r",
    sides=(Side.LEFT, Side.RIGHT),
    hip_directed=True,
)
RECORDED_PLAN: dict[str, Any] = {
    "resourceType": "CarePlan",
    "id": "cp1",
    "status": "draft",
    "intent": "proposal",
    "subject": {"reference": "Patient/p1"},
    "supportingInfo": [
        {"reference": "ClinicalImpression/ci1"},
        {"reference": "urn:uuid:0b1f6c1e-6b8a-5d2e-9a51-0c0f6c8f4a11"},
    ],
    "activity": [
        {
            "detail": {
                "kind": "ServiceRequest",
                "code": {"coding": [{"code": "rec-combined-hip-lumbar-management"}]},
                "status": "not-started",
                "reasonReference": [
                    {"reference": "ClinicalImpression/ci1"},
                    {"reference": "Observation/o1"},
                ],
            }
        }
    ],
}


def worked(**changes: Any) -> Assessment:
    base = make_assessment()
    flags = {
        "RESTRICTED_IR": Flag(
            "RESTRICTED_IR", Tri.TRUE, "IR left 10° (Observation/118223fb-959f) (< 15° on a side)"
        ),
        "HIP_SIGNS": Flag("HIP_SIGNS", Tri.TRUE, "RESTRICTED_IR true"),
        "ANY_PAIN": Flag("ANY_PAIN", Tri.TRUE, "latest low-back NRS 6"),
        "HIP_PATH": Flag("HIP_PATH", Tri.FALSE, "KL left 1 (Observation/a55ac9b3)"),
    }
    trace = (
        TraceStep("R1", "unknown", "RED_FLAG=unknown"),
        TraceStep("R8", "true", "HIP_PATH not true and HIP_SIGNS: HIP_SIGNS=true"),
    )
    values: dict[str, Any] = {
        "lead": LEAD,
        "recommendations": (PROGRAMME, INJECTION),
        "flags": flags,
        "trace": trace,
    }
    values.update(changes)
    return dataclasses.replace(base, **values)


def card_of(a: Assessment, **kw: Any) -> dict[str, Any]:
    kw.setdefault("base_url", BASE)
    kw.setdefault("care_plan", RECORDED_PLAN)
    [card] = patient_view_cards(a, patient_id="p1", hook_instance="h1", relevant_count=3, **kw)
    return card


def cards_for(category: Category, **kw: object) -> list[dict[str, object]]:
    assessment = make_assessment(category, subtype=None, **kw)  # type: ignore[arg-type]
    return patient_view_cards(assessment, patient_id="p1", hook_instance="h1", relevant_count=3)


@pytest.mark.parametrize(
    "category, indicator",
    [
        (Category.RED_FLAG, "critical"),
        (Category.MISDIAGNOSED_HIP_MISSED, "warning"),
        (Category.MISDIAGNOSED_SPINE_MISSED, "warning"),
        (Category.SIMPLE_HIP_PRIMARY, "warning"),
        (Category.SIMPLE_SPINE_PRIMARY, "warning"),
        (Category.SECONDARY, "warning"),
        (Category.COMPLEX, "warning"),
        (Category.INSUFFICIENT_DATA, "info"),
        (Category.NOT_HSS_HIP, "info"),
        (Category.NOT_HSS_SPINE, "info"),
        (Category.INDETERMINATE_NOT_HIP, "info"),
    ],
)
def test_indicator_follows_the_category(category: Category, indicator: str) -> None:
    [card] = cards_for(category)
    assert card["indicator"] == indicator
    assert find_empty({"cards": [card]}) == []


def test_no_findings_or_no_relevant_input_gives_no_card() -> None:
    assert cards_for(Category.NO_FINDINGS) == []
    assessment = make_assessment(Category.SECONDARY)
    assert (
        patient_view_cards(assessment, patient_id="p1", hook_instance="h", relevant_count=0) == []
    )


def test_summary_and_detail_open_with_the_lead_e4_19_q4_44() -> None:
    card = card_of(worked())
    assert card["summary"] == clip(LEAD.split(". Next")[0] + ".")
    assert len(card["summary"]) < 140
    assert card["detail"].startswith("The left hip is likely contributing")
    first_lines = card["detail"].split("**Reasoning**")[0]
    for flag in ("RESTRICTED_IR", "HIP_SIGNS", "R8"):
        assert flag not in first_lines  # §6.1: flag names and rule ids only in the reasoning


def test_the_plan_names_each_side_and_the_instruction_e4_18() -> None:
    detail = card_of(worked())["detail"]
    plan = detail.split("**Plan**")[1].split("**")[0]
    assert "(left hip): Pain-free hip joint mobilisation of the left hip" in plan
    assert "(both hips)" in plan
    assert plan.index("Combined hip") < plan.index("Diagnostic hip injection")


def test_the_reasoning_comes_last_names_findings_and_values_and_no_observation_id() -> None:
    detail = card_of(worked())["detail"]
    reasoning = detail.split("**Reasoning**")[1]
    assert "Rule R8: HIP\\_SIGNS=true" in reasoning
    assert "RESTRICTED\\_IR: IR left 10° (\\< 15° on a side)" in reasoning  # Markdown-escaped
    assert "HIP\\_PATH" not in reasoning.split("Rule R8")[1].split("\n", 1)[1]  # true flags only
    assert "Observation/" not in detail and "ANY_PAIN" not in reasoning
    assert detail.index("**Plan**") < detail.index("**Reasoning**")


def test_without_ids_strips_resource_references() -> None:
    assert without_ids("KL left 1 (Observation/a-1.b); KL right 1 (Observation/c)") == (
        "KL left 1; KL right 1"
    )


def test_the_detail_stays_under_1500_characters_whatever_the_input() -> None:
    many = tuple(
        dataclasses.replace(PROGRAMME, code=f"rec-x{i}", instruction="long words " * 40)
        for i in range(8)
    )
    flags = {f"F{i}": Flag(f"F{i}", Tri.TRUE, "basis " * 20) for i in range(20)}
    card = card_of(worked(recommendations=many, flags=flags, missing=("item " * 200,)))
    assert len(card["detail"]) <= DETAIL_MAX < 1500
    assert "**Plan**" in card["detail"]


def test_links_are_absolute_to_the_rules_page_and_never_escaped_e4_20() -> None:
    card = card_of(worked())
    assert card["links"] == [
        {"label": "Hip–spine rules 1.0.0", "url": f"{BASE}/rules", "type": "absolute"},
        {"label": "Why: rule R8", "url": f"{BASE}/rules#r8", "type": "absolute"},
        {
            "label": "Combined hip–lumbar physiotherapy programme",
            "url": f"{BASE}/rules#rec-combined-hip-lumbar-management",
            "type": "absolute",
        },
        {
            "label": "Diagnostic hip injection",
            "url": f"{BASE}/rules#rec-diagnostic-ia-hip-injection",
            "type": "absolute",
        },
    ]
    assert card["source"]["url"] == f"{BASE}/rules"
    detail = card["detail"]
    assert f"]({BASE}/rules#rec-combined-hip-lumbar-management)" in detail
    assert f"]({BASE}/rules)" in detail
    assert "\\|" not in detail  # the old escaped "canonical\|version" link


def test_without_an_absolute_base_url_there_are_no_links() -> None:
    card = card_of(worked(), base_url="")
    assert "links" not in card and "url" not in card["source"] and "](" not in card["detail"]


def test_the_suggested_care_plan_is_the_recorded_one_marked_as_a_suggestion_q4_32e() -> None:
    card = card_of(worked())
    [suggestion] = card["suggestions"]
    [action] = suggestion["actions"]
    plan = action["resource"]
    assert action["type"] == "create" and plan["id"] == "cp1"
    assert plan["identifier"] == [
        {"system": SUGGESTION_SYSTEM, "value": f"urn:uuid:{suggestion['uuid']}"}
    ]
    assert "supportingInfo" not in plan  # the EHR has no ClinicalImpression to point at
    assert plan["activity"][0]["detail"]["reasonReference"] == [{"reference": "Observation/o1"}]
    assert RECORDED_PLAN["supportingInfo"][0] == {"reference": "ClinicalImpression/ci1"}
    assert suggested_care_plan(RECORDED_PLAN, "u")["activity"] == plan["activity"]
    assert find_empty(plan) == []


def test_without_a_recorded_care_plan_there_is_no_suggestion() -> None:
    card = card_of(worked(), care_plan=None)
    assert "suggestions" not in card and "selectionBehavior" not in card


def test_without_a_lead_the_summary_falls_back_to_the_category_and_first_step() -> None:
    long = (("rec-x", "a very long recommendation " * 10),)
    [card] = cards_for(Category.COMPLEX, recs=long)
    assert len(str(card["summary"])) == 139 and str(card["summary"]).endswith("…")
    assert clip("short") == "short"


def test_warnings_are_escaped_and_capped() -> None:
    card = card_of(worked(), warnings=["Obs <b> excluded", "w2", "w3", "w4", "w5"])
    detail = card["detail"]
    assert "\\<b\\>" in detail and "<b>" not in detail
    assert "and 2 more" in detail


def test_markdown_special_characters_are_escaped() -> None:
    assert md("a*b_c [x](y) <i>\nnext") == "a\\*b\\_c \\[x\\](y) \\<i\\> next"


def test_uuids_are_stable_for_one_hook_instance_and_differ_across_instances() -> None:
    assessment = make_assessment()
    one = patient_view_cards(assessment, patient_id="p1", hook_instance="h1", relevant_count=1)
    two = patient_view_cards(assessment, patient_id="p1", hook_instance="h1", relevant_count=1)
    three = patient_view_cards(assessment, patient_id="p1", hook_instance="h2", relevant_count=1)
    assert one == two and one[0]["uuid"] != three[0]["uuid"]


def test_an_override_reason_sent_by_code_only_is_completed_q4_32f() -> None:
    hsc = "http://hipspine-cds.org/fhir/CodeSystem/hsc"
    assert offered_override_reason("override-hip-assessed") == {
        "system": hsc,
        "code": "override-hip-assessed",
        "display": "Hip already assessed",
    }
    assert offered_override_reason("override-hip-assessed", "http://other") is None
    assert offered_override_reason("something-else") is None


def test_truncate_cuts_at_a_line_end_and_keeps_the_lines() -> None:
    from service.cds_hooks.cards import truncate

    text = "line one\nline two\nline three"
    assert truncate(text, 100) == text
    assert truncate(text, 15) == "line one…"


def test_url_like_words_go_in_a_code_span_so_no_renderer_links_them_e4_20() -> None:
    assert md("see http://www.ama-assn.org/go/cpt|72148 (ServiceRequest/s1)") == (
        "see `http://www.ama-assn.org/go/cpt|72148` (ServiceRequest/s1)"
    )
    assert md("a www.example.org b_c") == "a `www.example.org` b\\_c"


def test_the_suggested_care_plan_is_a_copy_that_leaves_the_recorded_one_untouched() -> None:
    """The card's CarePlan drops references to the ClinicalImpression from a copy: the recorded
    CarePlan (the audit record's) keeps them, whatever containers it is built of."""
    recorded = {
        "resourceType": "CarePlan",
        "identifier": ({"value": "a"},),
        "supportingInfo": [{"reference": "ClinicalImpression/ci"}, {"reference": "Observation/o"}],
        "activity": (
            {"detail": {"reasonReference": [{"reference": "urn:uuid:ci"}]}},
            {"detail": {"reasonReference": [{"reference": "Observation/o"}]}},
        ),
    }
    before = repr(recorded)
    plan = suggested_care_plan(recorded, "11111111-1111-1111-1111-111111111111")
    assert repr(recorded) == before
    assert plan["supportingInfo"] == [{"reference": "Observation/o"}]
    assert "reasonReference" not in plan["activity"][0]["detail"]
    assert plan["activity"][1]["detail"]["reasonReference"] == [{"reference": "Observation/o"}]
    assert len(plan["identifier"]) == 2
