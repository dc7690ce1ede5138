"""Order hooks on the real app factory (real pipeline, real SQLite store): issue 10 acceptance.

"An order-sign call with a STAT lumbar MRI on the worked-example chart answers no card; the same
order at routine priority answers one card whose suggestions are all ``create``" (E4-1, §6.3),
the reason for silence in the audit record (Q4-32g), the override reason stored (Q4-32f).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.servicerequest import ServiceRequest
from flask import Flask
from sqlalchemy import select

from service.app import create_app
from service.audit.tables import feedback as feedback_table
from service.cds_hooks.cards import find_empty
from service.cds_hooks.mint import SANDBOX_KID, mint_jwt
from service.cds_hooks.order_hooks import SUGGESTION_SYSTEM, SUMMARY
from service.config import Settings

from .support import DATA

REPO = Path(__file__).resolve().parents[2]
WORKED = REPO / "examples" / "secondary-functional-worked-example.json"
BASE = "http://127.0.0.1:8080"
SIGN = "/cds-services/hip-spine-order-sign"
SELECT = "/cds-services/hip-spine-order-select"
HSC = "http://hipspine-cds.org/fhir/CodeSystem/hsc"


@pytest.fixture
def real_app(tmp_path: Path) -> Iterator[Flask]:
    settings = Settings.from_env(
        {"PUBLIC_BASE_URL": BASE, "CDS_TRUST_SANDBOX_KEY": "true"}
    ).with_overrides(data_dir=tmp_path / "data")
    app = create_app(settings)
    yield app
    app.extensions["hipspine"].store.close()


def call(app: Flask, path: str, body: dict[str, Any]) -> Any:
    token = mint_jwt(
        (DATA / "sandbox-ecprivkey.pem").read_bytes(),
        aud=BASE + path,
        iss="https://sandbox.cds-hooks.org",
        kid=SANDBOX_KID,
    )
    return app.test_client().post(path, json=body, headers={"Authorization": f"Bearer {token}"})


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not resources:
        return None
    entries = [{"resource": r, "search": {"mode": "match"}} for r in resources]
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


def chart_hook(
    hook: str, example: Path, *orders: dict[str, Any], hook_instance: str | None = None
) -> dict[str, Any]:
    """A hook request whose prefetch holds an example chart (as an EHR would send it)."""
    resources = [e["resource"] for e in json.loads(example.read_text())["entry"]]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    of = {t: [r for r in resources if r["resourceType"] == t] for t in ("Observation",)}
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": hook_instance or str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/u1",
            "patientId": patient["id"],
            "draftOrders": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": o} for o in orders],
            },
        },
        "prefetch": {
            "patient": patient,
            "observations": searchset(of["Observation"]),
            "conditions": searchset([r for r in resources if r["resourceType"] == "Condition"]),
            "procedures": searchset([r for r in resources if r["resourceType"] == "Procedure"]),
        },
    }
    if hook == "order-select":
        body["context"]["selections"] = [f"ServiceRequest/{o['id']}" for o in orders]
    return body


def mri(priority: str, patient_id: str = "pat-worked", oid: str = "mri-1") -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "id": oid,
        "status": "draft",
        "intent": "order",
        "priority": priority,
        "code": {
            "coding": [
                {
                    "system": "http://www.ama-assn.org/go/cpt",
                    "code": "72148",
                    "display": "MRI lumbar spine without contrast",
                }
            ]
        },
        "subject": {"reference": f"Patient/{patient_id}"},
    }


def _patient_id() -> str:
    resources = [e["resource"] for e in json.loads(WORKED.read_text())["entry"]]
    return str(next(r for r in resources if r["resourceType"] == "Patient")["id"])


def guidance_notes(app: Flask) -> list[str]:
    store = app.extensions["hipspine"].store
    notes: list[str] = []
    for item in store.since(types=("GuidanceResponse",)):
        notes += [n["text"] for n in json.loads(item.json).get("note", ())]
    return notes


def test_a_stat_lumbar_mri_on_the_worked_example_gets_no_card_e4_1(real_app: Flask) -> None:
    pid = _patient_id()
    response = call(real_app, SIGN, chart_hook("order-sign", WORKED, mri("stat", pid)))
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"cards": []}
    # Q4-32g: the reason is in the audit record (and its export), not in the answer
    assert guidance_notes(real_app) == [
        "order hook silent for ServiceRequest/mri-1 (order-lumbar-imaging): priority stat"
    ]


def test_the_same_order_at_routine_priority_gets_one_card_of_create_suggestions_e4_1(
    real_app: Flask,
) -> None:
    pid = _patient_id()
    body = chart_hook("order-sign", WORKED, mri("routine", pid))
    response = call(real_app, SIGN, body)
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert find_empty(answer) == []
    [card] = answer["cards"]
    assert card["summary"] == SUMMARY  # Q10-07
    assert "MRI lumbar spine without contrast (ServiceRequest/mri-1)" in card["detail"]  # Q5-10
    assert card["suggestions"]
    for suggestion in card["suggestions"]:
        for action in suggestion["actions"]:
            assert action["type"] == "create"
            request = action["resource"]
            ServiceRequest.model_validate(request)
            assert request["identifier"][0]["system"] == SUGGESTION_SYSTEM
            assert request["subject"] == {"reference": f"Patient/{pid}"}
    codes = {
        a["resource"]["code"]["coding"][0]["code"]
        for s in card["suggestions"]
        for a in s["actions"]
    }
    assert "rec-combined-hip-lumbar-management" in codes
    assert [o["code"] for o in card["overrideReasons"]] == [
        "override-urgent-indication",
        "override-hip-assessed",
        "override-imaging-other-reason",
        "override-patient-preference",
    ]
    # the card's uuid is in the audit record, so feedback on it finds the evaluation
    assert guidance_notes(real_app) == [f"order hook card {card['uuid']} for ServiceRequest/mri-1"]


def test_a_suggested_order_sent_back_never_triggers_a_card_q4_32e(real_app: Flask) -> None:
    pid = _patient_id()
    [card] = call(real_app, SIGN, chart_hook("order-sign", WORKED, mri("routine", pid))).get_json()[
        "cards"
    ]
    suggested = [
        {**a["resource"], "id": f"sugg-{i}"}
        for i, s in enumerate(card["suggestions"])
        for a in s["actions"]
    ]
    marked = {**mri("routine", pid), "identifier": suggested[0]["identifier"]}
    response = call(real_app, SIGN, chart_hook("order-sign", WORKED, *suggested, marked))
    assert response.get_json() == {"cards": []}


def test_order_select_speaks_only_of_the_selected_order_q4_32h(real_app: Flask) -> None:
    pid = _patient_id()
    body = chart_hook("order-select", WORKED, mri("routine", pid), mri("routine", pid, "mri-2"))
    body["context"]["selections"] = ["ServiceRequest/mri-2"]
    [card] = call(real_app, SELECT, body).get_json()["cards"]
    assert "ServiceRequest/mri-2" in card["detail"] and "ServiceRequest/mri-1" not in card["detail"]


def test_the_chosen_override_reason_is_stored_with_its_coding_q4_32f(real_app: Flask) -> None:
    item = {
        "card": "c1",
        "outcome": "overridden",
        "outcomeTimestamp": "2026-12-06T07:00:00Z",
        "overrideReason": {"reason": {"code": "override-hip-assessed"}, "userComment": "seen"},
    }
    response = call(real_app, f"{SIGN}/feedback", {"feedback": [item]})
    assert response.status_code == 200
    store = real_app.extensions["hipspine"].store
    with store.engine.connect() as conn:
        [row] = conn.execute(select(feedback_table)).mappings().all()
    assert row["override_reason"] == {
        "reason": {
            "system": HSC,
            "code": "override-hip-assessed",
            "display": "Hip already assessed",
        },
        "userComment": "seen",
    }
    assert (row["card_uuid"], row["service_id"]) == ("c1", "hip-spine-order-sign")


def test_the_override_reason_is_in_the_audit_csv_export_q4_32f(
    real_app: Flask, tmp_path: Path
) -> None:
    import csv

    from service.audit.export import write_csv

    item = {
        "card": "c2",
        "outcome": "overridden",
        "outcomeTimestamp": "2026-12-06T07:01:00Z",
        "overrideReason": {"reason": {"system": HSC, "code": "override-urgent-indication"}},
    }
    assert call(real_app, f"{SIGN}/feedback", {"feedback": [item]}).status_code == 200
    write_csv(real_app.extensions["hipspine"].store, tmp_path, since=None, until=None)
    with (tmp_path / "feedback.csv").open(newline="", encoding="utf-8") as handle:
        [row] = list(csv.DictReader(handle))
    assert (row["card_uuid"], row["outcome"]) == ("c2", "overridden")
    assert json.loads(row["override_reason"])["reason"] == {
        "system": HSC,
        "code": "override-urgent-indication",
        "display": "Urgent or red-flag indication",
    }


def test_override_reason_displays_are_the_codesystem_displays_q4_32f() -> None:
    from service.cds_hooks.cards import order_override_reasons

    codesystem = json.loads((REPO / "profiles" / "CodeSystem-hsc.json").read_text())
    displays = {c["code"]: c["display"] for c in codesystem["concept"]}
    for coding in order_override_reasons():
        assert coding["system"] == codesystem["url"]
        assert displays[coding["code"]] == coding["display"]
