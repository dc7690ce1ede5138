"""The logs carry a request id and no patient data, no tokens and no JWTs, whatever happens."""

from __future__ import annotations

import io
import json
import logging
import socket
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.app import create_app
from service.audit.port import EvaluationRecord, FeedbackItem, StoredRecord
from service.config import Settings
from service.logs import JsonFormatter
from service.metrics import InstrumentedStore

REPO = Path(__file__).resolve().parents[2]
WORKED = REPO / "examples" / "secondary-functional-worked-example.json"
HOOK = REPO / "examples" / "cds-hooks" / "patient-view-worked-example.json"
FHIR_JSON = "application/fhir+json"

NAME_FAMILY, NAME_GIVEN = "Quixwrightson", "Zebulonia"
BIRTH_DATE = "1937-04-23"
MRN = "MRN-884213377"
FREE_TEXT = "fell off a hay baler near Tewkesbury"
PATIENT_ID = "pid-7741-zq"
ACCESS_TOKEN = "at-5531-xyzzy-plover-access-token"
JWT = jwt.encode(
    {"iss": "https://ehr.example.org", "sub": MRN, "name": f"{NAME_GIVEN} {NAME_FAMILY}"},
    "a-signing-secret-of-at-least-32-bytes!!",
    algorithm="HS256",
)
SECRETS: tuple[str, ...] = (
    NAME_FAMILY,
    NAME_GIVEN,
    BIRTH_DATE,
    MRN,
    FREE_TEXT,
    PATIENT_ID,
    ACCESS_TOKEN,
    JWT,
)
SECRETS += tuple(JWT.split("."))


def _patient() -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": PATIENT_ID,
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.19.5", "value": MRN}],
        "name": [{"family": NAME_FAMILY, "given": [NAME_GIVEN]}],
        "birthDate": BIRTH_DATE,
        "text": {"status": "generated", "div": f"<div>{FREE_TEXT}</div>"},
    }


def _with_phi(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The resources re-pointed at the PHI patient, each Observation with a free-text note."""
    out = []
    for resource in resources:
        resource = json.loads(
            json.dumps(resource).replace("Patient/pat-worked", f"Patient/{PATIENT_ID}")
        )
        if resource["resourceType"] == "Patient":
            resource = _patient()
        elif resource["resourceType"] == "Observation":
            resource["note"] = [{"text": f"{FREE_TEXT}; {NAME_GIVEN} {NAME_FAMILY}, {MRN}"}]
        out.append(resource)
    return out


def phi_bundle() -> dict[str, Any]:
    bundle: dict[str, Any] = json.loads(WORKED.read_text())
    resources = _with_phi([e["resource"] for e in bundle["entry"]])
    if not any(r["resourceType"] == "Patient" for r in resources):
        resources.insert(0, _patient())
    bundle["entry"] = [{"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": r} for r in resources]
    return bundle


def phi_hook(*, fhir_server: str | None = None) -> dict[str, Any]:
    hook: dict[str, Any] = json.loads(HOOK.read_text())
    hook["context"]["patientId"] = PATIENT_ID
    prefetch = hook["prefetch"]
    prefetch["patient"] = _patient()
    for key in ("observations", "conditions", "procedures"):
        page = prefetch.get(key) or {}
        for entry in page.get("entry", []):
            entry["resource"] = _with_phi([entry["resource"]])[0]
    if fhir_server:
        hook["fhirServer"] = fhir_server
        hook["fhirAuthorization"] = {
            "access_token": ACCESS_TOKEN,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/Observation.read",
            "subject": "hipspine-cds",
        }
        del prefetch["observations"]  # forces a fallback fetch, which carries the token
    return hook


class _ExplodingStore:
    """A store failing in a way nobody planned for, its message full of patient data."""

    def record_evaluation(self, record: EvaluationRecord) -> StoredRecord:
        raise RuntimeError(f"{NAME_GIVEN} {NAME_FAMILY} born {BIRTH_DATE} ({MRN}): {FREE_TEXT}")

    def record_feedback(self, items: Sequence[FeedbackItem]) -> int:
        return len(items)

    def remember_jti(self, issuer: str, jti: str, expires_at: datetime) -> bool:
        return True

    def ping(self) -> None:
        return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def closed_fhir_server() -> str:
    return f"http://127.0.0.1:{_free_port()}/fhir"


def _app(tmp_path: Path, name: str, **overrides: Any) -> Flask:
    settings = Settings.from_env({}).with_overrides(
        data_dir=tmp_path / name,
        public_base_url="http://localhost",
        log_level="DEBUG",
        **overrides,
    )
    app = create_app(settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def apps(tmp_path: Path, closed_fhir_server: str) -> Iterator[tuple[Flask, Flask]]:
    open_app = _app(
        tmp_path, "open", cds_auth_required=False, fhir_server_allowlist=(closed_fhir_server,)
    )
    guarded_app = _app(tmp_path, "guarded", cds_issuers=("https://ehr.example.org",))
    yield open_app, guarded_app
    for app in (open_app, guarded_app):
        app.extensions["hipspine"].store.close()


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Every line the service's JSON formatter writes, whatever sys.stderr is meanwhile."""
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(JsonFormatter())
    loggers = [logging.getLogger(n) for n in ("hipspine", "service", "")]
    for logger in loggers:
        logger.addHandler(handler)
    yield sink
    for logger in loggers:
        logger.removeHandler(handler)


def _exercise(open_client: FlaskClient, guarded_client: FlaskClient, fhir_server: str) -> None:
    auth = {"Authorization": f"Bearer {JWT}"}
    evaluate = "/fhir/$hip-spine-evaluate"
    patient_view = "/cds-services/hip-spine-patient-view"
    body = json.dumps(phi_bundle())
    # evaluate: happy path, bad JSON quoting PHI, a 422, the patient route
    assert (
        open_client.post(evaluate, data=body, content_type=FHIR_JSON, headers=auth).status_code
        == 200
    )
    broken = body[: len(body) // 2]
    assert open_client.post(evaluate, data=broken, content_type=FHIR_JSON).status_code == 400
    other = "/fhir/Patient/someone-else/$hip-spine-evaluate"
    assert open_client.post(other, data=body, content_type=FHIR_JSON).status_code == 422
    # CDS Hooks: a full prefetch, a fallback fetch with the access token, a refused JWT
    assert open_client.post(patient_view, json=phi_hook(), headers=auth).status_code == 200
    fetching = phi_hook(fhir_server=fhir_server)
    assert open_client.post(patient_view, json=fetching, headers=auth).status_code == 412
    assert guarded_client.post(patient_view, json=phi_hook(), headers=auth).status_code == 401
    # an unexpected failure: 500 without the exception's message anywhere
    assert isinstance(open_client.application, Flask)
    pipeline = open_client.application.extensions["hipspine"].pipeline
    pipeline.store = InstrumentedStore(_ExplodingStore())
    assert open_client.post(evaluate, data=body, content_type=FHIR_JSON).status_code == 500


def test_no_patient_data_token_or_jwt_reaches_the_logs(
    apps: tuple[Flask, Flask],
    closed_fhir_server: str,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    json_lines: io.StringIO,
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="hipspine")
    logging.getLogger("hipspine").addHandler(caplog.handler)  # it does not propagate
    try:
        open_app, guarded_app = apps
        _exercise(open_app.test_client(), guarded_app.test_client(), closed_fhir_server)
    finally:
        logging.getLogger("hipspine").removeHandler(caplog.handler)
    out, err = capfd.readouterr()
    records = "\n".join(f"{r.getMessage()} {r.args!r} {r.__dict__!r}" for r in caplog.records)
    everything = "\n".join((caplog.text, records, json_lines.getvalue(), out, err))
    assert "unhandled error" in everything  # the 500 was logged, and the request lines too
    assert everything.count('"route"') >= 7
    leaked = [secret for secret in SECRETS if secret in everything]
    assert leaked == []


def test_every_request_log_line_is_json_with_the_request_id_of_its_answer(
    apps: tuple[Flask, Flask], json_lines: io.StringIO
) -> None:
    client = apps[0].test_client()
    resp = client.get("/healthz", headers={"X-Request-Id": "req-abc.123"})
    assert resp.headers["X-Request-Id"] == "req-abc.123"
    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    access = [line for line in lines if line["logger"] == "hipspine.access"]
    assert access and access[-1]["request_id"] == "req-abc.123"
    assert access[-1]["route"] == "/healthz" and access[-1]["status"] == 200
