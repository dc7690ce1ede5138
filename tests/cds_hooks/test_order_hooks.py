"""order-select / order-sign (clinical-spec §6.3, E4-1; Q4-32 a–h, Q5-10, Q6-03, Q8-04, Q10-07).

Pure functions with constructed Assessments; the HTTP surface with the fake pipeline. The real
pipeline on the worked example is in ``test_order_hooks_real_app.py``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.conceptmap import ConceptMap
from fhir.resources.R4B.servicerequest import ServiceRequest
from flask.testing import FlaskClient

from service.cds_hooks.cards import find_empty
from service.cds_hooks.order_hooks import (
    SUGGESTION_SYSTEM,
    SUMMARY,
    decide,
    hook_notes,
    lumbar_orders,
    order_cards,
    order_codes,
    order_display,
)
from service.core.assessment import Assessment, Category, Conclusion, Flag, Recommendation
from service.core.findings import Side
from service.core.tri import Tri
from service.fhir.concept_maps import ConceptMapIndex, default_mappings_dir

from .support import CODES, FakePipeline, draft_order, make_assessment, order_body

SIGN = "/cds-services/hip-spine-order-sign"
SELECT = "/cds-services/hip-spine-order-select"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
HSC = "http://hipspine-cds.org/fhir/CodeSystem/hsc"
BASE = "https://cds.example.org"

PROGRAMME = Recommendation(
    "rec-combined-hip-lumbar-management",
    "Combined hip–lumbar physiotherapy programme",
    "because",
    instruction="Pain-free hip mobilisation of the left hip; re-assess at 6 weeks.",
    sides=(Side.LEFT,),
    hip_directed=True,
)
SCREEN = Recommendation("rec-red-flag-screen", "Complete the red-flag screen", "because")


def bundle(*orders: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": o} for o in orders],
    }


def assessment(
    category: Category = Category.SECONDARY,
    *,
    recs: tuple[Recommendation, ...] = (PROGRAMME,),
    lead: str = "The left hip is likely contributing to the low back pain (IR 10° left).",
    spine_first: bool = False,
    **flags: Tri,
) -> Assessment:
    values = {"HIP_SIGNS": Tri.TRUE, "RED_FLAG_SCREEN_COMPLETE": Tri.TRUE, **flags}
    base = make_assessment(category)
    conclusions = base.conclusions
    if spine_first:
        conclusions += (Conclusion("priority", "priority-spine-first", "Spine first", "", ""),)
    return dataclasses.replace(
        base,
        recommendations=recs,
        flags={k: Flag(k, v, "basis") for k, v in values.items()},
        conclusions=conclusions,
        lead=lead,
    )


def orders(*resources: dict[str, Any], prefetch: dict[str, Any] | None = None) -> list[Any]:
    return lumbar_orders(bundle(*resources), None, CODES, prefetch)


def cards(a: Assessment, *resources: dict[str, Any], **kw: Any) -> list[dict[str, Any]]:
    return order_cards(
        a,
        orders(*resources, **kw),
        hook_instance="h",
        patient_id="p1",
        base_url=BASE,
    )


MRI = draft_order("s1", "72148")


def with_(order: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {**order, **fields}


# -- which orders are considered ----------------------------------------------------------


def test_the_lumbar_order_concept_map_is_valid_r4() -> None:
    ConceptMap.model_validate(
        json.loads((default_mappings_dir() / "ConceptMap-lumbar-orders.json").read_text())
    )


@pytest.mark.parametrize(
    "code, system, kind",
    [
        ("72148", "http://www.ama-assn.org/go/cpt", "order-lumbar-imaging"),
        ("72100", "http://www.ama-assn.org/go/cpt", "order-lumbar-imaging"),
        ("62323", "http://www.ama-assn.org/go/cpt", "order-lumbar-injection"),
        ("63047", "http://www.ama-assn.org/go/cpt", "order-lumbar-surgery-referral"),
        ("24531-6", LOINC, "order-lumbar-imaging"),
    ],
)
def test_lumbar_orders_are_recognised_by_code(code: str, system: str, kind: str) -> None:
    [order] = lumbar_orders(bundle(draft_order("s1", code, system)), None, CODES)
    assert (order.kind, order.reference) == (kind, "ServiceRequest/s1")


def test_other_orders_non_drafts_and_unselected_orders_are_ignored_q4_32h() -> None:
    hip_xray = draft_order("s1", "73502")
    active = dict(draft_order("s2", "72148"), status="active")
    lumbar = draft_order("s3", "72148")
    assert lumbar_orders(bundle(hip_xray, active), None, CODES) == []
    assert lumbar_orders(bundle(lumbar), ["ServiceRequest/other"], CODES) == []
    assert len(lumbar_orders(bundle(lumbar), ["ServiceRequest/s3"], CODES)) == 1


def test_an_order_the_service_suggested_never_triggers_a_card_q4_32e() -> None:
    marked = with_(MRI, identifier=[{"system": SUGGESTION_SYSTEM, "value": "urn:uuid:x"}])
    assert orders(marked) == []
    assert cards(assessment(), marked) == []


CPT = "http://www.ama-assn.org/go/cpt"


@pytest.mark.parametrize(
    "code, display",
    [
        ({"coding": [{"system": "s", "code": "c", "display": "MRI"}], "text": "t"}, "MRI"),
        ({"coding": [{"system": "s", "code": "c"}], "text": "Lumbar MRI"}, "Lumbar MRI"),
        ({"coding": [{"system": CPT, "code": "72148"}]}, f"{CPT}|72148"),
    ],
)
def test_an_orders_display_is_the_first_coding_display_then_text_then_system_code_q6_03_q8_04(
    code: dict[str, Any], display: str
) -> None:
    assert order_display({"code": code}) == display


# -- §6.3 step 1: silent for urgent orders, red flags, red-flag reasons, own recommendations --


@pytest.mark.parametrize("priority", ["urgent", "asap", "stat"])
def test_an_urgent_order_gets_no_card_e4_1(priority: str) -> None:
    order = with_(MRI, priority=priority)
    assert cards(assessment(), order) == []
    decision = decide(assessment(), orders(order))
    assert decision.concerned == () and f"priority {priority}" in decision.notes[0]
    assert len(cards(assessment(), with_(MRI, priority="routine"))) == 1


def test_red_flag_true_silences_every_order_e4_1() -> None:
    assert cards(assessment(Category.RED_FLAG, RED_FLAG=Tri.TRUE), MRI) == []
    assert cards(assessment(RED_FLAG=Tri.TRUE), MRI) == []


@pytest.mark.parametrize(
    "coding",
    [
        {"system": SNOMED, "code": "192970008"},  # cauda equina syndrome
        {"system": SNOMED, "code": "363346000"},  # malignant neoplastic disease (Q4-04)
        {"system": ICD10CM, "code": "C50.912"},  # breast cancer (Q4-04)
        {"system": ICD10CM, "code": "C7B.00"},  # secondary neuroendocrine tumour (Q4-04)
        {"system": HSC, "code": "rf-saddle-anaesthesia"},  # Q4-32b
        {"system": HSC, "code": "rf-cancer-history"},
    ],
)
def test_a_red_flag_reason_code_silences_the_order_q4_32_b_c(coding: dict[str, str]) -> None:
    order = with_(MRI, reasonCode=[{"coding": [coding]}])
    assert cards(assessment(), order) == []
    assert "red-flag reason" in decide(assessment(), orders(order)).notes[0]


def test_non_melanoma_skin_cancer_is_no_red_flag_reason_q7_02() -> None:
    order = with_(MRI, reasonCode=[{"coding": [{"system": ICD10CM, "code": "C44.91"}]}])
    assert len(cards(assessment(), order)) == 1


CES = {
    "resourceType": "Condition",
    "id": "ces",
    "code": {"coding": [{"system": SNOMED, "code": "192970008"}]},
    "subject": {"reference": "Patient/p1"},
}


def test_a_reason_reference_is_resolved_from_prefetch_or_contained_only_q4_32a() -> None:
    by_ref = with_(MRI, reasonReference=[{"reference": "Condition/ces"}])
    prefetch = {"conditions": {"resourceType": "Bundle", "entry": [{"resource": CES}]}}
    assert cards(assessment(), by_ref, prefetch=prefetch) == []
    absolute = with_(MRI, reasonReference=[{"reference": "https://ehr.example/r4/Condition/ces"}])
    assert cards(assessment(), absolute, prefetch=prefetch) == []
    contained = with_(MRI, contained=[CES], reasonReference=[{"reference": "#ces"}])
    assert cards(assessment(), contained) == []
    # not in prefetch nor contained: not fetched, so the order is considered as it stands
    assert len(cards(assessment(), by_ref, prefetch={})) == 1


def test_a_refuted_red_flag_condition_does_not_silence_q10_01() -> None:
    refuted = {
        **CES,
        "verificationStatus": {"coding": [{"code": "refuted"}]},
    }
    order = with_(MRI, contained=[refuted], reasonReference=[{"reference": "#ces"}])
    assert len(cards(assessment(), order)) == 1


def test_a_sites_malignancy_code_added_to_the_concept_map_counts_q10_01(tmp_path: Path) -> None:
    import shutil

    site = tmp_path / "site"
    shutil.copytree(default_mappings_dir(), site)
    path = site / "ConceptMap-malignancy.json"
    edited = json.loads(path.read_text())
    group = next(g for g in edited["group"] if g["source"] == SNOMED)
    group["element"].append(
        {"code": "1234567", "target": [{"code": "malignancy", "equivalence": "equivalent"}]}
    )
    path.write_text(json.dumps(edited))
    codes = order_codes(ConceptMapIndex.load(site))
    order = with_(MRI, reasonCode=[{"coding": [{"system": SNOMED, "code": "1234567"}]}])
    assert len(cards(assessment(), order)) == 1  # the shipped map does not know the code
    found = lumbar_orders(bundle(order), None, codes)
    assert order_cards(assessment(), found, hook_instance="h", patient_id="p1") == []


@pytest.mark.parametrize(
    "rec, code, silent",
    [
        ("rec-mri-lumbar", "72148", True),
        ("rec-mri-lumbar-urgent", "72148", True),
        ("rec-spine-referral", "72148", False),
        ("rec-spine-referral", "62323", True),  # lumbar injection: a lumbar procedure
        ("rec-spine-referral", "63047", True),
        ("rec-mri-lumbar", "62323", False),
    ],
)
def test_an_order_the_patients_own_evaluation_recommends_is_silent_e4_1(
    rec: str, code: str, silent: bool
) -> None:
    a = assessment(recs=(PROGRAMME, Recommendation(rec, rec, "because")))
    assert (cards(a, draft_order("s1", code)) == []) is silent


def test_spine_first_silences_the_order_e4_1() -> None:
    assert cards(assessment(spine_first=True), MRI) == []
    assert cards(assessment(SPINE_FIRST=Tri.TRUE), MRI) == []


# -- §6.3 step 2: silent without hip evidence, or when the hip is worked up or excluded --------


def test_no_card_when_neither_hip_path_nor_hip_signs_is_true() -> None:
    assert cards(assessment(HIP_SIGNS=Tri.UNKNOWN), MRI) == []
    assert cards(assessment(HIP_SIGNS=Tri.FALSE), MRI) == []
    assert len(cards(assessment(HIP_SIGNS=Tri.FALSE, HIP_PATH=Tri.TRUE), MRI)) == 1


@pytest.mark.parametrize(
    "category",
    [
        Category.SIMPLE_SPINE_PRIMARY,
        Category.INDETERMINATE_NOT_HIP,
        Category.NOT_HSS_SPINE,
        Category.NO_FINDINGS,
    ],
)
def test_no_card_when_the_hip_is_already_worked_up_or_excluded(category: Category) -> None:
    assert cards(assessment(category), MRI) == []


def test_the_reason_for_silence_is_a_note_for_the_audit_record_q4_32g(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="service.cds_hooks.order_hooks")
    decision = decide(assessment(HIP_SIGNS=Tri.FALSE), orders(with_(MRI, priority="stat")))
    notes = hook_notes(decision)
    assert notes == [
        "order hook silent for ServiceRequest/s1 (order-lumbar-imaging): priority stat"
    ]
    logged = [r for r in caplog.records if r.getMessage() == "order hook silent"]
    assert [r.__dict__["reason"] for r in logged] == ["priority stat"]  # no order id logged


# -- §6.3 step 3: the one card --------------------------------------------------------------


def test_one_card_per_call_lists_the_orders_by_display_and_id_q4_32d_q5_10() -> None:
    ct = draft_order("s2", "72131")
    ct["code"] = {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "72131"}]}
    ct["code"]["text"] = "CT lumbar spine"
    stat = with_(draft_order("s3", "72148"), priority="stat")
    [card] = cards(assessment(), MRI, ct, stat)
    first_line = card["detail"].splitlines()[0]
    assert "code 72148 (ServiceRequest/s1)" in first_line
    assert "CT lumbar spine (ServiceRequest/s2)" in first_line
    assert "s3" not in card["detail"]


def test_the_card_says_alongside_and_opens_with_the_lead_and_the_hip_plan_q10_07() -> None:
    [card] = cards(assessment(), MRI)
    assert card["summary"] == SUMMARY
    assert "alongside" in card["summary"] and "before" not in card["summary"]
    detail = card["detail"]
    assert "The left hip is likely contributing" in detail
    assert "(left hip): Pain-free hip mobilisation of the left hip" in detail
    assert find_empty({"cards": [card]}) == []


@pytest.mark.parametrize(
    "category, screen, expected",
    [
        (Category.SECONDARY, Tri.TRUE, "warning"),
        (Category.SIMPLE_HIP_PRIMARY, Tri.TRUE, "warning"),
        (Category.MISDIAGNOSED_HIP_MISSED, Tri.TRUE, "warning"),
        (Category.NOT_HSS_HIP, Tri.TRUE, "warning"),
        (Category.COMPLEX, Tri.TRUE, "info"),
        (Category.INSUFFICIENT_DATA, Tri.TRUE, "info"),
        (Category.SECONDARY, Tri.UNKNOWN, "info"),  # Q10-07: screen not complete
        (Category.SECONDARY, Tri.FALSE, "info"),
    ],
)
def test_indicator_warning_for_hip_categories_info_while_the_screen_is_incomplete_q10_07(
    category: Category, screen: Tri, expected: str
) -> None:
    [card] = cards(assessment(category, RED_FLAG_SCREEN_COMPLETE=screen), MRI)
    assert card["indicator"] == expected


def test_suggestions_only_create_hip_directed_draft_service_requests_e4_1_q4_32e() -> None:
    a = assessment(recs=(SCREEN, PROGRAMME, Recommendation("rec-imaging-hip-xray", "X", "b")))
    [card] = cards(a, MRI)
    actions = [act for s in card["suggestions"] for act in s["actions"]]
    assert {act["type"] for act in actions} == {"create"}
    assert all("resourceId" not in act for act in actions)
    codes = [act["resource"]["code"]["coding"][0]["code"] for act in actions]
    assert codes == ["rec-combined-hip-lumbar-management", "rec-imaging-hip-xray"]
    for act in actions:
        request = act["resource"]
        ServiceRequest.model_validate(request)
        assert (request["status"], request["subject"]["reference"]) == ("draft", "Patient/p1")
        [ident] = request["identifier"]
        assert ident["system"] == SUGGESTION_SYSTEM
        assert lumbar_orders(bundle({**request, "id": "x"}), None, CODES) == []
    assert card["selectionBehavior"] == "any"
    assert len({s["uuid"] for s in card["suggestions"]}) == 2


def test_override_reasons_are_the_four_hsc_codings_of_section_6_3_q4_32f() -> None:
    [card] = cards(assessment(), MRI)
    assert card["overrideReasons"] == [
        {"system": HSC, "code": f"override-{code}", "display": display}
        for code, display in (
            ("urgent-indication", "Urgent or red-flag indication"),
            ("hip-assessed", "Hip already assessed"),
            ("imaging-other-reason", "Imaging needed for another reason"),
            ("patient-preference", "Patient preference"),
        )
    ]


def test_every_link_is_absolute_to_the_rules_page_without_an_escaped_bar() -> None:
    [card] = cards(assessment(), MRI)
    urls = [link["url"] for link in card["links"]] + [card["source"]["url"]]
    assert urls[0] == f"{BASE}/rules"
    assert f"{BASE}/rules#rec-combined-hip-lumbar-management" in urls
    assert all(u.startswith(f"{BASE}/rules") and "|" not in u and "\\" not in u for u in urls)


def test_no_suggestion_when_no_hip_directed_recommendation() -> None:
    [card] = cards(assessment(recs=(SCREEN,)), MRI)
    assert "suggestions" not in card and "selectionBehavior" not in card


# -- the HTTP surface (fake pipeline) --------------------------------------------------------


def _hip_assessment(pipeline: FakePipeline) -> None:
    pipeline.assessment = assessment()


def test_order_hooks_answer_empty_cards_for_other_orders_without_evaluating(
    client: FlaskClient, auth: Any, pipeline: FakePipeline
) -> None:
    for path, hook in ((SIGN, "order-sign"), (SELECT, "order-select")):
        body = order_body(hook, draft_order("s1", "73502"))
        del body["prefetch"]  # nothing to fetch either: the order is not a lumbar one
        response = client.post(path, json=body, headers=auth(path))
        assert response.status_code == 200 and response.get_json() == {"cards": []}
    assert pipeline.calls == []


def test_order_select_considers_only_the_selected_orders_q4_32h(
    client: FlaskClient, auth: Any, pipeline: FakePipeline
) -> None:
    _hip_assessment(pipeline)
    body = order_body("order-select", draft_order("s1", "72148"), draft_order("s2", "72131"))
    body["context"]["selections"] = ["ServiceRequest/s2"]
    [card] = client.post(SELECT, json=body, headers=auth(SELECT)).get_json()["cards"]
    assert "ServiceRequest/s2" in card["detail"] and "ServiceRequest/s1" not in card["detail"]
    assert pipeline.calls[0][1].service_id == "hip-spine-order-select"


def test_order_sign_considers_every_draft_order_q4_32h(
    client: FlaskClient, auth: Any, pipeline: FakePipeline
) -> None:
    _hip_assessment(pipeline)
    body = order_body("order-sign", draft_order("s1", "72148"), draft_order("s2", "72131"))
    body["context"]["selections"] = ["ServiceRequest/s2"]  # not an order-sign field: ignored
    [card] = client.post(SIGN, json=body, headers=auth(SIGN)).get_json()["cards"]
    assert "ServiceRequest/s1" in card["detail"] and "ServiceRequest/s2" in card["detail"]


def test_a_stat_order_gets_no_card_and_the_reason_goes_to_the_audit_record_q4_32g(
    client: FlaskClient, auth: Any, pipeline: FakePipeline
) -> None:
    _hip_assessment(pipeline)
    body = order_body("order-sign", with_(MRI, priority="stat"))
    response = client.post(SIGN, json=body, headers=auth(SIGN))
    assert response.status_code == 200 and response.get_json() == {"cards": []}
    assert pipeline.notes == [
        ["order hook silent for ServiceRequest/s1 (order-lumbar-imaging): priority stat"]
    ]


def test_order_select_requires_selections_and_draft_orders(client: FlaskClient, auth: Any) -> None:
    body = order_body("order-select", draft_order("s1", "72148"))
    del body["context"]["selections"]
    assert client.post(SELECT, json=body, headers=auth(SELECT)).status_code == 400
    body = order_body("order-sign")
    body["context"]["draftOrders"] = {"resourceType": "Patient"}
    assert client.post(SIGN, json=body, headers=auth(SIGN)).status_code == 400


def test_a_sites_edited_lumbar_order_map_counts(tmp_path: Path) -> None:
    import shutil

    site = tmp_path / "site"
    shutil.copytree(default_mappings_dir(), site)
    path = site / "ConceptMap-lumbar-orders.json"
    edited = json.loads(path.read_text())
    edited["group"] = [g for g in edited["group"] if g["source"] == LOINC]
    path.write_text(json.dumps(edited))
    codes = order_codes(ConceptMapIndex.load(site))
    assert ("http://www.ama-assn.org/go/cpt", "72148") not in codes
    assert codes[(LOINC, "24531-6")] == "order-lumbar-imaging"


def test_the_order_cards_detail_stays_under_1500_characters() -> None:
    long = tuple(
        dataclasses.replace(PROGRAMME, code=f"rec-x{i}", instruction="long words " * 40)
        for i in range(6)
    )
    [card] = cards(assessment(recs=long), MRI)
    assert len(card["detail"]) < 1500 and "**Hip-directed plan**" in card["detail"]
    assert "long words" not in card["detail"]  # the instruction stays in the suggestion
    assert all(
        "long words" in s["actions"][0]["resource"]["note"][0]["text"] for s in card["suggestions"]
    )


def test_the_order_services_are_described_as_alongside_never_before_q10_07() -> None:
    from service.cds_hooks.discovery import SERVICES

    for service in SERVICES:
        if service.hook in {"order-select", "order-sign"}:
            words = f"{service.title} {service.description}".lower()
            assert "alongside" in words and "before" not in words
            assert "never removes or changes the order" in words  # E4-1
