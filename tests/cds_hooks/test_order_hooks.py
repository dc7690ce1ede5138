"""order-select / order-sign: only draft lumbar orders; hip work-up first, per the category."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.conceptmap import ConceptMap
from flask.testing import FlaskClient

from service.cds_hooks.order_hooks import (
    hip_examined,
    lumbar_orders,
    order_cards,
    order_codes,
)
from service.core.assessment import Category
from service.core.findings import Findings
from service.core.tri import Tri
from service.fhir.concept_maps import ConceptMapIndex, default_mappings_dir

from .support import CODES, HIP_ROM, FakePipeline, draft_order, make_assessment, order_body

SIGN = "/cds-services/hip-spine-order-sign"
SELECT = "/cds-services/hip-spine-order-select"
LOINC = "http://loinc.org"


def bundle(*orders: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": o} for o in orders],
    }


def test_the_lumbar_order_concept_map_is_valid_r4() -> None:
    import json

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


def test_other_orders_non_drafts_and_unselected_orders_are_ignored() -> None:
    hip_xray = draft_order("s1", "73502")
    active = dict(draft_order("s2", "72148"), status="active")
    lumbar = draft_order("s3", "72148")
    assert lumbar_orders(bundle(hip_xray, active), None, CODES) == []
    assert lumbar_orders(bundle(lumbar), ["ServiceRequest/other"], CODES) == []
    assert len(lumbar_orders(bundle(lumbar), ["ServiceRequest/s3"], CODES)) == 1


def test_hip_examined_means_rom_or_a_hip_provocative_test() -> None:
    assert hip_examined(HIP_ROM) and not hip_examined(Findings())


ORDERS = lumbar_orders(bundle(draft_order("s1", "72148")), None, CODES)


@pytest.mark.parametrize(
    "category",
    [
        Category.RED_FLAG,
        Category.SIMPLE_SPINE_PRIMARY,
        Category.MISDIAGNOSED_SPINE_MISSED,
        Category.INDETERMINATE_NOT_HIP,
        Category.NOT_HSS_SPINE,
    ],
)
def test_no_hip_first_card_when_the_category_points_at_the_spine_or_is_a_red_flag(
    category: Category,
) -> None:
    assert order_cards(make_assessment(category), Findings(), ORDERS, hook_instance="h") == []


def test_no_card_when_the_hip_was_examined_and_shows_no_signs() -> None:
    assessment = make_assessment(Category.INSUFFICIENT_DATA, hip_signs=Tri.FALSE)
    assert order_cards(assessment, HIP_ROM, ORDERS, hook_instance="h") == []


def test_an_unexamined_hip_gets_a_warning_recommending_the_examination() -> None:
    assessment = make_assessment(
        Category.INSUFFICIENT_DATA,
        hip_signs=Tri.UNKNOWN,
        recs=(
            ("rec-collect-missing-data", "Collect missing data"),
            ("rec-imaging-hip-xray", "Hip X-ray"),
        ),
    )
    [card] = order_cards(assessment, Findings(), ORDERS, hook_instance="h")
    assert card["indicator"] == "warning" and "Examine the hip" in card["summary"]
    assert "FADIR" in card["detail"] and "Hip X-ray" in card["detail"]


def test_hip_signs_recommend_the_category_hip_work_up_with_delete_and_update_suggestions() -> None:
    assessment = make_assessment(
        Category.COMPLEX,
        recs=(
            ("rec-diagnostic-ia-hip-injection", "Diagnostic hip injection"),
            ("rec-combined-hip-lumbar-management", "Combined management"),
        ),
    )
    [card] = order_cards(assessment, HIP_ROM, ORDERS, hook_instance="h")
    assert "Hip signs present" in card["summary"] and "Diagnostic hip injection" in card["detail"]
    assert "Combined management" not in card["detail"]
    delete, update = (s["actions"][0] for s in card["suggestions"])
    assert (delete["type"], delete["resourceId"]) == ("delete", "ServiceRequest/s1")
    assert update["type"] == "update" and update["resource"]["status"] == "draft"
    assert update["resource"]["note"][-1]["text"].startswith("Hold until the hip work-up")


def test_order_hooks_answer_empty_cards_for_other_orders_without_evaluating(
    client: FlaskClient, auth: Any, pipeline: FakePipeline
) -> None:
    for path, hook in ((SIGN, "order-sign"), (SELECT, "order-select")):
        body = order_body(hook, draft_order("s1", "73502"))
        del body["prefetch"]  # nothing to fetch either: the order is not a lumbar one
        response = client.post(path, json=body, headers=auth(path))
        assert response.status_code == 200 and response.get_json() == {"cards": []}
    assert pipeline.calls == []


def test_order_select_speaks_about_a_selected_lumbar_order(
    client: FlaskClient, auth: Any, pipeline: FakePipeline
) -> None:
    body = order_body("order-select", draft_order("s1", "72148"))
    cards = client.post(SELECT, json=body, headers=auth(SELECT)).get_json()["cards"]
    assert (
        len(cards) == 1
        and cards[0]["suggestions"][0]["actions"][0]["resourceId"] == "ServiceRequest/s1"
    )
    assert pipeline.calls[0][1].service_id == "hip-spine-order-select"


def test_order_select_requires_selections_and_draft_orders(client: FlaskClient, auth: Any) -> None:
    body = order_body("order-select", draft_order("s1", "72148"))
    del body["context"]["selections"]
    assert client.post(SELECT, json=body, headers=auth(SELECT)).status_code == 400
    body = order_body("order-sign")
    body["context"]["draftOrders"] = {"resourceType": "Patient"}
    assert client.post(SIGN, json=body, headers=auth(SIGN)).status_code == 400


def test_a_sites_edited_lumbar_order_map_counts(tmp_path: Path) -> None:
    import json
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
