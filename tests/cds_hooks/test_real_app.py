"""The blueprint on the real app factory: real pipeline, real SQLite audit store."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.careplan import CarePlan
from flask import Flask
from sqlalchemy import select

from service.app import create_app
from service.audit.tables import feedback as feedback_table
from service.cds_hooks.cards import find_empty
from service.cds_hooks.mint import SANDBOX_KID, mint_jwt
from service.config import Settings
from service.http.cds_hooks import bp

from .support import DATA

BASE = "http://127.0.0.1:8080"
PV = "/cds-services/hip-spine-patient-view"
HSC = "http://hipspine-cds.org/fhir/CodeSystem/hsc"


@pytest.fixture
def real_app(tmp_path: Path) -> Iterator[Flask]:
    settings = Settings.from_env(
        {
            "PUBLIC_BASE_URL": BASE,
            "CDS_TRUST_SANDBOX_KEY": "true",
            "CORS_ORIGINS": "https://sandbox.cds-hooks.org",
        }
    ).with_overrides(data_dir=tmp_path / "data")
    app = create_app(settings)
    if "cds_hooks" not in app.blueprints:  # until the factory registers it
        app.register_blueprint(bp)
    yield app
    app.extensions["hipspine"].store.close()


def pain(oid: str, site: str, value: int) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2024-01-01",
        "valueInteger": value,
        "bodySite": {"coding": [{"system": HSC, "code": site}]},
    }


def call(app: Flask, path: str, body: dict[str, Any]) -> Any:
    token = mint_jwt(
        (DATA / "sandbox-ecprivkey.pem").read_bytes(),
        aud=BASE + path,
        iss="https://sandbox.cds-hooks.org",
        kid=SANDBOX_KID,
    )
    headers = {"Authorization": f"Bearer {token}", "Origin": "https://sandbox.cds-hooks.org"}
    return app.test_client().post(path, json=body, headers=headers)


def body(observations: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/u1", "patientId": "p1"},
        "prefetch": {
            "patient": {"resourceType": "Patient", "id": "p1"},
            "observations": observations,
            "conditions": None,
            "procedures": None,
        },
    }


def test_a_sandbox_signed_patient_view_gets_one_card_from_the_real_pipeline(
    real_app: Flask,
) -> None:
    entries = [
        {"resource": pain("o1", "site-low-back", 6)},
        {"resource": pain("o2", "site-groin", 3)},
    ]
    response = call(
        real_app, PV, body({"resourceType": "Bundle", "type": "searchset", "entry": entries})
    )
    assert response.status_code == 200, response.get_json()
    assert response.headers["Access-Control-Allow-Origin"] == "https://sandbox.cds-hooks.org"
    [card] = response.get_json()["cards"]
    assert find_empty(response.get_json()) == []
    # Q10-09: groin pain without any hip examination is no hip sign: not enough data to decide
    assert card["source"]["topic"]["code"] == "category-insufficient-data"
    plan = card["suggestions"][0]["actions"][0]["resource"]
    assert CarePlan.model_validate(plan).subject.reference == "Patient/p1"


def test_a_chart_without_inputs_gets_no_card(real_app: Flask) -> None:
    response = call(real_app, PV, body(None))
    assert response.status_code == 200 and response.get_json() == {"cards": []}


def test_feedback_and_jti_are_kept_in_the_real_store(real_app: Flask) -> None:
    path = f"{PV}/feedback"
    item = {"card": "c1", "outcome": "overridden", "outcomeTimestamp": "2021-12-11T10:05:31Z"}
    accepted = {**item, "card": "c2", "outcome": "accepted", "acceptedSuggestions": [{"id": "s1"}]}
    assert call(real_app, path, {"feedback": [item, accepted]}).status_code == 200
    assert call(real_app, path, {"feedback": [item]}).status_code == 200
    store = real_app.extensions["hipspine"].store
    with store.engine.connect() as conn:
        rows = conn.execute(select(feedback_table)).mappings().all()
    assert sorted((r["card_uuid"], r["outcome"]) for r in rows) == [
        ("c1", "overridden"),
        ("c2", "accepted"),
    ]
    assert all(r["service_id"] == "hip-spine-patient-view" for r in rows)
    assert store.remember_jti("https://sandbox.cds-hooks.org", "fresh", _future()) is True
    assert store.remember_jti("https://sandbox.cds-hooks.org", "fresh", _future()) is False


def _future() -> Any:
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) + timedelta(minutes=5)


def test_a_draft_lumbar_mri_on_an_unexamined_hip_gets_no_card_from_the_real_app_e4_1(
    real_app: Flask,
) -> None:
    """§6.3 step 2 (E4-1): without HIP_PATH or HIP_SIGNS true the order hook stays silent."""
    entries = [{"resource": pain("o1", "site-low-back", 6)}]
    sign = body({"resourceType": "Bundle", "type": "searchset", "entry": entries})
    sign["hook"] = "order-sign"
    mri = {
        "resourceType": "ServiceRequest",
        "id": "s1",
        "status": "draft",
        "intent": "order",
        "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "72148"}]},
        "subject": {"reference": "Patient/p1"},
    }
    sign["context"]["draftOrders"] = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": mri}],
    }
    response = call(real_app, "/cds-services/hip-spine-order-sign", sign)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"cards": []}
