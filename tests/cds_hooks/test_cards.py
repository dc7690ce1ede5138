"""Pure cards: indicator by category, short summary, Markdown detail, the draft CarePlan."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.careplan import CarePlan

from service.cds_hooks.cards import care_plan, clip, find_empty, md, patient_view_cards
from service.core.assessment import Category

from .support import make_assessment


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


def test_without_recommendations_there_is_no_care_plan_suggestion() -> None:
    [card] = cards_for(Category.NOT_HSS_HIP, recs=())
    assert "suggestions" not in card and "selectionBehavior" not in card


def test_summary_is_clipped_below_140_characters() -> None:
    long = (("rec-x", "a very long recommendation " * 10),)
    [card] = cards_for(Category.COMPLEX, recs=long)
    assert len(str(card["summary"])) == 139 and str(card["summary"]).endswith("…")
    assert clip("short") == "short"


def test_detail_holds_the_trace_the_missing_items_and_the_warnings() -> None:
    assessment = make_assessment()
    [card] = patient_view_cards(
        assessment,
        patient_id="p1",
        hook_instance="h",
        relevant_count=1,
        warnings=["Obs <b> excluded"],
    )
    detail = str(card["detail"])
    for text in ("**Reasoning**", "R8: true", "**Missing**", "KL grade", "**Warnings**"):
        assert text in detail
    assert "\\<b\\>" in detail and "<b>" not in detail


def test_markdown_special_characters_are_escaped() -> None:
    assert md("a*b_c [x](y) <i>\nnext") == "a\\*b\\_c \\[x\\](y) \\<i\\> next"


def test_uuids_are_stable_for_one_hook_instance_and_differ_across_instances() -> None:
    assessment = make_assessment()
    one = patient_view_cards(assessment, patient_id="p1", hook_instance="h1", relevant_count=1)
    two = patient_view_cards(assessment, patient_id="p1", hook_instance="h1", relevant_count=1)
    three = patient_view_cards(assessment, patient_id="p1", hook_instance="h2", relevant_count=1)
    assert one == two and one[0]["uuid"] != three[0]["uuid"]


def test_the_care_plan_is_an_r4_draft_proposal_for_the_patient() -> None:
    plan = care_plan(make_assessment(), "p1")
    parsed = CarePlan.model_validate(plan)
    assert (parsed.status, parsed.intent, parsed.subject.reference) == (
        "draft",
        "proposal",
        "Patient/p1",
    )
    assert (
        plan["activity"][0]["detail"]["code"]["coding"][0]["code"]
        == "rec-combined-hip-lumbar-management"
    )
    assert find_empty(plan) == []
