"""Server errors the schemathesis run found, pinned as deterministic regression tests."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient


@pytest.mark.parametrize("resource_type", [["Observation"], {"a": 1}])
def test_an_entry_whose_resource_type_is_not_a_string_is_not_a_server_error(
    client: FlaskClient, resource_type: object
) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": {"resourceType": resource_type, "id": "x"}}],
    }
    resp = client.post(
        "/fhir/Patient/p1/$hip-spine-evaluate",
        data=json.dumps(bundle),
        content_type="application/fhir+json",
    )
    assert resp.status_code < 500


# Issue 12 item 7: three more 500s on client input (tests/security/test_client_input_4xx.py
# holds the fuller probes, the fallback-fetch 412 included).


@pytest.mark.parametrize("resource_type", [["Patient"], {"a": 1}, 7])
def test_a_prefetch_resource_whose_resource_type_is_not_a_string_is_a_400(
    client: FlaskClient, resource_type: object
) -> None:
    body = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/example", "patientId": "p1"},
        "prefetch": {"patient": {"resourceType": resource_type, "id": "p1"}},
    }
    resp = client.post("/cds-services/hip-spine-patient-view", json=body)
    assert resp.status_code == 400


@pytest.mark.parametrize(
    "path",
    ["/cds-services/hip-spine-patient-view", "/cds-services/hip-spine-patient-view/feedback"],
)
def test_deeply_nested_json_on_the_cds_routes_is_a_400(client: FlaskClient, path: str) -> None:
    depth = 50_000
    body = b'{"a":' * depth + b"1" + b"}" * depth
    resp = client.post(path, data=body, content_type="application/json")
    assert resp.status_code == 400


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_an_export_since_outside_datetimes_range_is_a_400(app: Flask, since: str) -> None:
    svc = app.extensions["hipspine"]
    svc.settings = svc.settings.with_overrides(export_token="fuzz-token")
    resp = app.test_client().get(
        "/fhir/$export",
        query_string={"_since": since},
        headers={"Prefer": "respond-async", "Authorization": "Bearer fuzz-token"},
    )
    assert resp.status_code == 400
