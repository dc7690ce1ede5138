"""GET /metrics counts by route and category; GET /readyz answers 503 when the store is down."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from service.audit.store import SqlAuditStore
from service.metrics import observe_fhir_call, server_label

REPO = Path(__file__).resolve().parents[2]
WORKED = REPO / "examples" / "secondary-functional-worked-example.json"
PATIENT_ROUTE = "/fhir/Patient/<patient_id>/$hip-spine-evaluate"


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _evaluate_patient(client: FlaskClient, patient_id: str) -> int:
    body = WORKED.read_text().replace("Patient/pat-worked", f"Patient/{patient_id}")
    resp = client.post(
        f"/fhir/Patient/{patient_id}/$hip-spine-evaluate",
        data=body,
        content_type="application/fhir+json",
    )
    return resp.status_code


def test_metrics_are_prometheus_text_with_every_family(client: FlaskClient) -> None:
    client.get("/healthz")
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.mimetype == "text/plain"
    names = {family.name for family in text_string_to_metric_families(resp.get_data(True))}
    assert {
        "hipspine_http_requests",
        "hipspine_http_request_duration_seconds",
        "hipspine_evaluations",
        "hipspine_audit_write_duration_seconds",
        "hipspine_fhir_call_duration_seconds",
        "hipspine_fhir_call_errors",
    } <= names


def test_requests_are_counted_by_url_rule_never_by_raw_path(client: FlaskClient) -> None:
    before = _sample(
        "hipspine_http_requests_total", endpoint=PATIENT_ROUTE, method="POST", status="200"
    )
    assert _evaluate_patient(client, "pat-worked") == 200
    after = _sample(
        "hipspine_http_requests_total", endpoint=PATIENT_ROUTE, method="POST", status="200"
    )
    assert after == before + 1
    client.get("/no/such/path/pid-12345")
    exposition = client.get("/metrics").get_data(as_text=True)
    assert "pat-worked" not in exposition and "pid-12345" not in exposition
    assert 'endpoint="(unmatched)"' in exposition


def test_an_evaluation_counts_its_category_and_times_its_audit_write(client: FlaskClient) -> None:
    written = _sample("hipspine_audit_write_duration_seconds_count", outcome="ok")
    secondary = _sample("hipspine_evaluations_total", category="category-secondary")
    resp = client.post(
        "/fhir/$hip-spine-evaluate", data=WORKED.read_text(), content_type="application/fhir+json"
    )
    assert resp.status_code == 200
    assert _sample("hipspine_audit_write_duration_seconds_count", outcome="ok") == written + 1
    assert _sample("hipspine_evaluations_total", category="category-secondary") == secondary + 1


def test_outbound_fhir_calls_keep_only_the_server_origin_and_count_failures() -> None:
    url = "https://fhir.example.org/r4/Observation?patient=pid-999"
    assert server_label(url) == "https://fhir.example.org"
    origin = "https://fhir.example.org"
    ok = _sample("hipspine_fhir_call_duration_seconds_count", server=origin, status="200")
    errors = _sample("hipspine_fhir_call_errors_total", server=origin, status="timeout")
    observe_fhir_call(url, 200, 0.02)
    observe_fhir_call(url, "timeout", 1.5)
    assert _sample("hipspine_fhir_call_duration_seconds_count", server=origin, status="200") == (
        ok + 1
    )
    assert _sample("hipspine_fhir_call_errors_total", server=origin, status="timeout") == errors + 1
    assert _sample("hipspine_fhir_call_errors_total", server=origin, status="200") == 0.0


def test_readyz_is_ready_with_the_rule_set(client: FlaskClient) -> None:
    resp = client.get("/readyz")
    assert resp.status_code == 200
    assert resp.get_json()["status"] == "ready"
    assert "hip-spine-rules" in resp.get_json()["ruleSet"]


def test_readyz_answers_503_with_an_operation_outcome_when_the_store_is_down(
    client: FlaskClient,
) -> None:
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = SqlAuditStore(f"postgresql+psycopg://postgres@127.0.0.1:{port}/hipspine")
    assert isinstance(client.application.extensions, dict)
    services = client.application.extensions["hipspine"]
    services.store, real = down, services.store
    try:
        resp = client.get("/readyz")
    finally:
        services.store = real
        down.close()
    assert resp.status_code == 503
    assert resp.mimetype == "application/fhir+json"
    body = json.loads(resp.get_data())
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["severity"] in {"error", "fatal"}
    assert "store" in body["issue"][0]["diagnostics"]
