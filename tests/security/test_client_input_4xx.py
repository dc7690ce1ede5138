"""Issue 12 item 7: client input that used to answer 500 answers 4xx (fuzz cases pinned in
``tests/ops/test_found_by_fuzzing.py`` too)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient

from service.app import create_app
from service.config import Settings

REPO = Path(__file__).resolve().parents[2]
FHIR = "http://127.0.0.1:9/fhir"
PV = "/cds-services/hip-spine-patient-view"


def hook_body() -> dict[str, Any]:
    body: dict[str, Any] = json.loads(
        (REPO / "examples/cds-hooks/patient-view-worked-example.json").read_text()
    )
    return body


@pytest.fixture
def fetching_client(settings: Settings) -> Any:
    app: Flask = create_app(settings.with_overrides(fhir_server_allowlist=(FHIR,)))
    app.config["TESTING"] = True
    yield app.test_client()
    app.extensions["hipspine"].store.close()


def _outcome(resp: Any, status: int) -> None:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.get_json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("kind", [["Observation"], {"a": 1}, 7])
def test_a_prefetch_resource_type_that_is_not_a_string_is_a_400(
    client: FlaskClient, kind: object
) -> None:
    body = hook_body()
    body["prefetch"]["patient"] = {"resourceType": kind, "id": "x"}
    _outcome(client.post(PV, json=body), 400)


@pytest.mark.parametrize("kind", [["Observation"], {"a": 1}])
def test_a_prefetch_entry_whose_resource_type_is_not_a_string_is_a_400(
    client: FlaskClient, kind: object
) -> None:
    body = hook_body()
    body["prefetch"]["observations"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": {"resourceType": kind, "id": "x"}}],
    }
    _outcome(client.post(PV, json=body), 400)


@pytest.mark.parametrize("kind", [["Observation"], {"a": 1}])
def test_a_fallback_answer_whose_resource_type_is_not_a_string_is_a_412(
    fetching_client: FlaskClient, kind: object
) -> None:
    body = hook_body()
    body["fhirServer"] = FHIR
    del body["prefetch"]["observations"], body["prefetch"]["patient"]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{FHIR}/Patient/pat-worked", json={"resourceType": kind, "id": "x"})
        bundle = {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": {"resourceType": kind, "id": "y"}}],
        }
        mock.get(f"{FHIR}/Observation?patient=pat-worked", json=bundle)
        _outcome(fetching_client.post(PV, json=body), 412)


def deeply_nested(depth: int = 100_000) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize("path", [PV, PV + "/feedback"])
def test_deeply_nested_json_on_the_cds_routes_is_a_400(client: FlaskClient, path: str) -> None:
    resp = client.post(path, data=deeply_nested(), content_type="application/json")
    _outcome(resp, 400)


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_an_export_since_outside_datetimes_range_is_a_400(settings: Settings, since: str) -> None:
    app = create_app(settings.with_overrides(export_token="t0ken"))
    try:
        resp = app.test_client().get(
            "/fhir/$export",
            query_string={"_since": since},
            headers={"Prefer": "respond-async", "Authorization": "Bearer t0ken"},
        )
        _outcome(resp, 400)
    finally:
        app.extensions["hipspine"].store.close()
