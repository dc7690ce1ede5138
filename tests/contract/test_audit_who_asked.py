"""The audit record says who asked and from where (issue 4; IHE BALP client agent network)."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask

from tests.contract.bundles import worked_example
from tests.contract.test_fhir_api import post


def _audit_events(app: Flask) -> list[dict[str, Any]]:
    store = app.extensions["hipspine"].store
    return [json.loads(r.json) for r in store.since(types=["AuditEvent"])]


def test_the_audit_event_names_the_clients_network_address(app: Flask) -> None:
    resp = post(app.test_client(), worked_example(), environ_base={"REMOTE_ADDR": "127.0.0.9"})
    assert resp.status_code == 200
    [event] = _audit_events(app)
    source = next(a for a in event["agent"] if a["type"]["coding"][0]["code"] == "110153")
    assert source["network"] == {"address": "127.0.0.9", "type": "2"}


def test_a_malformed_request_id_header_never_reaches_the_audit_record(app: Flask) -> None:
    headers = {"X-Request-Id": "<script>" + "x" * 100}
    resp = post(app.test_client(), worked_example(), headers=headers)
    assert resp.status_code == 200
    assert resp.headers["X-Request-Id"] != headers["X-Request-Id"]
    [event] = _audit_events(app)
    assert headers["X-Request-Id"] not in json.dumps(event)


def test_a_hook_call_with_a_malformed_request_id_is_recorded_under_its_hook_instance(
    app: Flask,
) -> None:
    from pathlib import Path

    from sqlalchemy import text

    example = Path(__file__).resolve().parents[2] / "examples" / "cds-hooks"
    body = (example / "patient-view-worked-example.json").read_bytes()
    resp = app.test_client().post(
        "/cds-services/hip-spine-patient-view",
        data=body,
        headers={"Content-Type": "application/json", "X-Request-Id": "bad id with spaces"},
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    store = app.extensions["hipspine"].store
    with store.engine.connect() as conn:
        [(request_id, hook_instance)] = conn.execute(
            text("SELECT request_id, hook_instance FROM evaluations")
        ).all()
    assert request_id == hook_instance == json.loads(body)["hookInstance"]
