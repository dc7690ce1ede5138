"""Records made by the real app (pipeline + CDS Hooks adapter) on each database: what is kept."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from flask import Flask
from sqlalchemy import select

from service.app import create_app
from service.audit import tables as t
from service.audit.store import SqlAuditStore
from service.cds_hooks.mint import SANDBOX_KID, mint_jwt
from service.config import Settings

BASE = "http://127.0.0.1:8080"
PV = "/cds-services/hip-spine-patient-view"
HSC = "http://hipspine-cds.org/fhir/CodeSystem/hsc"
SANDBOX_ISS = "https://sandbox.cds-hooks.org"
KEY = Path(__file__).resolve().parents[1] / "cds_hooks" / "data" / "sandbox-ecprivkey.pem"
ACCESS_TOKEN = "fhir-access-token-SECRET-0b1c"
API_TOKEN = "api-client-token-SECRET-9f8e"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "complex.json"


@pytest.fixture
def app(store_url: str, tmp_path: Path) -> Iterator[Flask]:
    settings = Settings.from_env(
        {
            "PUBLIC_BASE_URL": BASE,
            "CDS_TRUST_SANDBOX_KEY": "true",
            "FHIR_API_CLIENTS": f"ris={API_TOKEN}",
        }
    ).with_overrides(data_dir=tmp_path / "data", database_url=store_url)
    app = create_app(settings)
    yield app
    app.extensions["hipspine"].store.close()


def _pain(oid: str, site: str, value: int) -> dict[str, Any]:
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


def _hook_call(app: Flask, hook_instance: str) -> tuple[int, str]:
    jwt = mint_jwt(KEY.read_bytes(), aud=BASE + PV, iss=SANDBOX_ISS, kid=SANDBOX_KID)
    entries = [{"resource": _pain("o1", "site-low-back", 6)},
               {"resource": _pain("o2", "site-groin", 3)}]  # fmt: skip
    body = {
        "hook": "patient-view",
        "hookInstance": hook_instance,
        "fhirServer": "https://fhir.example.org/r4",
        "fhirAuthorization": {
            "access_token": ACCESS_TOKEN,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "hipspine-cds",
        },
        "context": {"userId": "Practitioner/u1", "patientId": "p1"},
        "prefetch": {
            "patient": {"resourceType": "Patient", "id": "p1"},
            "observations": {"resourceType": "Bundle", "type": "searchset", "entry": entries},
            "conditions": None,
            "procedures": None,
        },
    }
    resp = app.test_client().post(PV, json=body, headers={"Authorization": f"Bearer {jwt}"})
    return resp.status_code, jwt


def _dump(store: SqlAuditStore) -> bytes:
    """Every value of every audit table, as text."""
    parts: list[bytes] = []
    with store.engine.connect() as conn:
        for table in t.metadata.sorted_tables:
            for row in conn.execute(select(table)).mappings():
                parts.append(orjson.dumps({str(k): v for k, v in row.items()}, default=str))
    return b"\n".join(parts)


def test_no_jwt_access_token_or_api_token_is_stored_by_a_real_hook_or_api_call(
    app: Flask,
) -> None:
    status, jwt = _hook_call(app, str(uuid.uuid4()))
    assert status == 200
    resp = app.test_client().post(
        "/fhir/$hip-spine-evaluate",
        data=EXAMPLE.read_bytes(),
        headers={"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/fhir+json"},
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    store: SqlAuditStore = app.extensions["hipspine"].store
    assert store.verify().count == 2
    dumped = _dump(store)
    header, claims, signature = jwt.split(".")
    for secret in (ACCESS_TOKEN, API_TOKEN, jwt, header, claims, signature):
        assert secret.encode() not in dumped
    assert b"access_token" not in dumped and b"eyJ" not in dumped


def test_a_hook_call_is_recorded_with_its_hook_instance_everywhere(app: Flask) -> None:
    hook_instance = str(uuid.uuid4())
    assert _hook_call(app, hook_instance)[0] == 200
    store: SqlAuditStore = app.extensions["hipspine"].store
    with store.engine.connect() as conn:
        row = conn.execute(select(t.evaluations)).mappings().one()
    assert row["hook_instance"] == hook_instance and row["caller"] == SANDBOX_ISS
    assert row["user"] == "Practitioner/u1" and row["patient_ref"] == "Patient/p1"
    resources = {r.resource_type: orjson.loads(r.json) for r in store.since()}
    assert resources["GuidanceResponse"]["requestIdentifier"]["value"] == hook_instance
    transaction = [e for e in resources["AuditEvent"]["entity"] if e.get("name") == "hookInstance"]
    assert transaction[0]["what"]["identifier"]["value"] == hook_instance


def test_when_the_record_cannot_be_written_no_recommendation_is_returned(app: Flask) -> None:
    store: SqlAuditStore = app.extensions["hipspine"].store
    store.execute_sql("ALTER TABLE audit_resources RENAME TO audit_resources_gone")
    status, _ = _hook_call(app, str(uuid.uuid4()))
    assert status == 503
    resp = app.test_client().post(
        "/fhir/$hip-spine-evaluate",
        data=EXAMPLE.read_bytes(),
        headers={"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/fhir+json"},
    )
    assert resp.status_code == 503
    outcome = resp.get_json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "transient"
    store.execute_sql("ALTER TABLE audit_resources_gone RENAME TO audit_resources")
    assert (store.head().seq, store.verify().ok) == (0, True)  # nothing half-written
