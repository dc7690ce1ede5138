"""HTTP contract of the FHIR surface: happy paths and every bad-input case of issue 2."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationdefinition import OperationDefinition
from fhir.resources.R4B.operationoutcome import OperationOutcome
from flask.testing import FlaskClient

from tests.contract.bundles import bundle, obs, with_entry, worked_example

FHIR_JSON = "application/fhir+json"
EVALUATE = "/fhir/$hip-spine-evaluate"


def post(client: FlaskClient, body: Any, path: str = EVALUATE, **kw: Any) -> Any:
    data = body if isinstance(body, bytes | str) else orjson.dumps(body)
    kw.setdefault("content_type", FHIR_JSON)
    return client.post(path, data=data, **kw)


def resources(resp: Any) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for entry in resp.get_json()["entry"]:
        out.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    return out


def finding_codes(ci: dict[str, Any]) -> set[str]:
    return {f["itemCodeableConcept"]["coding"][0]["code"] for f in ci.get("finding", [])}


def assert_outcome(resp: Any, status: int, *, expression: bool = True) -> dict[str, Any]:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == FHIR_JSON
    body = resp.get_json()
    OperationOutcome.model_validate(body)
    issue = body["issue"][0]
    assert issue["severity"] in {"error", "fatal"}
    assert issue["diagnostics"]
    if expression:
        assert issue.get("expression"), body
    return dict(body)


def test_the_worked_example_answers_a_collection_bundle_with_the_three_outputs(
    client: FlaskClient,
) -> None:
    resp = post(client, worked_example())
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.mimetype == FHIR_JSON
    Bundle.model_validate(resp.get_json())
    assert resp.get_json()["type"] == "collection"
    found = resources(resp)
    assert set(found) >= {"ClinicalImpression", "CarePlan", "Provenance"}
    ci = found["ClinicalImpression"][0]
    assert {"category-secondary", "subtype-functional"} <= finding_codes(ci)
    codes = [a["detail"]["code"]["coding"][0]["code"] for a in found["CarePlan"][0]["activity"]]
    # §8, fourth edition (E4-4): no red-flag item recorded, so the screen comes before the programme
    assert codes == ["rec-red-flag-screen", "rec-combined-hip-lumbar-management"]


def test_a_parameters_resource_with_observations_is_accepted(client: FlaskClient) -> None:
    params = {
        "resourceType": "Parameters",
        "parameter": [{"name": "observations", "resource": worked_example()}],
    }
    resp = post(client, params)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert "category-secondary" in finding_codes(resources(resp)["ClinicalImpression"][0])


def test_the_patient_route_evaluates_that_patient(client: FlaskClient) -> None:
    resp = post(client, worked_example(), path="/fhir/Patient/p1/$hip-spine-evaluate")
    assert resp.status_code == 200
    ci = resources(resp)["ClinicalImpression"][0]
    assert ci["subject"]["reference"] == "Patient/p1"


def test_the_patient_route_refuses_another_patients_bundle(client: FlaskClient) -> None:
    resp = post(client, worked_example(), path="/fhir/Patient/other/$hip-spine-evaluate")
    assert_outcome(resp, 422)


def test_identical_inputs_give_identical_outputs_apart_from_times(client: FlaskClient) -> None:
    def stable(resp: Any) -> bytes:
        found = resources(resp)
        for kind in found.values():
            for r in kind:
                # Q4-39: CarePlan.period runs from the time of the evaluation (a timestamp)
                r.pop("period", None)
                for key in ("date", "effectiveDateTime", "recorded", "created"):
                    r.pop(key, None)
        return orjson.dumps(found, option=orjson.OPT_SORT_KEYS)

    assert stable(post(client, worked_example())) == stable(post(client, worked_example()))


def test_warnings_come_back_as_an_operation_outcome_in_the_bundle(client: FlaskClient) -> None:
    wrong_unit = obs(
        "ir-cm",
        "hip-rom-external-rotation",
        side="left",
        valueQuantity={"value": 3, "unit": "cm", "system": "http://unitsofmeasure.org"},
    )
    resp = post(client, with_entry(worked_example(), wrong_unit))
    assert resp.status_code == 200
    outcome = resources(resp)["OperationOutcome"][0]
    assert any(i["severity"] == "warning" and i.get("expression") for i in outcome["issue"])


def test_non_json_is_400(client: FlaskClient) -> None:
    assert_outcome(post(client, b"{not json"), 400)


def test_an_empty_body_is_400(client: FlaskClient) -> None:
    assert_outcome(post(client, b""), 400)


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"resourceType": "Patient", "id": "p1"},
        {"resourceType": "Bundle", "type": "collection", "entry": "nope"},
        {"resourceType": "Parameters", "parameter": [{"name": "other", "valueString": "x"}]},
        {"no": "resourceType"},
    ],
    ids=["array", "patient", "entry-not-array", "parameters-without-observations", "no-type"],
)
def test_json_that_is_not_a_usable_bundle_is_400_or_422(client: FlaskClient, body: Any) -> None:
    resp = post(client, body)
    assert resp.status_code in (400, 422)
    assert_outcome(resp, resp.status_code)


def test_two_patients_in_one_bundle_is_422(client: FlaskClient) -> None:
    b = with_entry(worked_example(), {"resourceType": "Patient", "id": "p2"})
    assert_outcome(post(client, b), 422)


def test_an_observation_of_another_patient_is_422(client: FlaskClient) -> None:
    stray = obs("x", "hip-rom-flexion", side="left", patient="p2", valueQuantity={"value": 90})
    assert_outcome(post(client, with_entry(worked_example(), stray)), 422)


def test_wrong_content_type_is_415(client: FlaskClient) -> None:
    assert_outcome(post(client, worked_example(), content_type="text/plain"), 415, expression=False)


def test_an_unacceptable_accept_header_is_406(client: FlaskClient) -> None:
    resp = post(client, worked_example(), headers={"Accept": "application/xml"})
    assert_outcome(resp, 406, expression=False)


def test_a_body_over_the_limit_is_413(client: FlaskClient) -> None:
    limit = client.application.config["MAX_CONTENT_LENGTH"]
    big = b'{"resourceType":"Bundle","type":"collection","entry":[' + b" " * limit + b"]}"
    assert_outcome(post(client, big), 413, expression=False)


def test_an_unknown_route_is_an_operation_outcome_404(client: FlaskClient) -> None:
    assert_outcome(client.get("/fhir/nothing-here"), 404, expression=False)


def test_a_wrong_method_is_an_operation_outcome_405(client: FlaskClient) -> None:
    resp = client.get(EVALUATE)
    assert_outcome(resp, 405, expression=False)
    assert "POST" in resp.headers["Allow"]


def test_a_malformed_irrelevant_entry_does_not_fail_the_evaluation(client: FlaskClient) -> None:
    vendor_lab = {
        "resourceType": "Observation",
        "id": "lab",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7"}]},
        "subject": {"reference": "Patient/p1"},
        "valueQuantity": {"value": "not-a-number", "vendorQuirk": True},
    }
    resp = post(client, with_entry(worked_example(), vendor_lab))
    assert resp.status_code == 200, resp.get_data(as_text=True)


def test_metadata_is_an_r4_capability_statement(client: FlaskClient) -> None:
    resp = client.get("/fhir/metadata")
    assert resp.status_code == 200
    assert resp.mimetype == FHIR_JSON
    body = resp.get_json()
    CapabilityStatement.model_validate(body)
    assert body["fhirVersion"] == "4.0.1"
    assert body["kind"] == "instance"


def test_the_operation_definition_is_served(client: FlaskClient) -> None:
    resp = client.get("/fhir/OperationDefinition/hip-spine-evaluate")
    assert resp.status_code == 200
    body = resp.get_json()
    OperationDefinition.model_validate(body)
    assert body["code"] == "hip-spine-evaluate"
    assert body["instance"] is True


def test_healthz_answers_200(client: FlaskClient) -> None:
    assert client.get("/healthz").status_code == 200


def test_every_answer_carries_a_request_id(client: FlaskClient) -> None:
    resp = client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert resp.headers["X-Request-Id"] == "abc-123"


def test_an_input_only_of_irrelevant_entries_gives_no_findings_or_insufficient_data(
    client: FlaskClient,
) -> None:
    hr = obs(
        "hr",
        "8867-4",
        system="http://loinc.org",
        valueQuantity={"value": 70, "unit": "/min", "system": "http://unitsofmeasure.org"},
    )
    resp = post(client, bundle(hr))
    assert resp.status_code == 200
    codes = finding_codes(resources(resp)["ClinicalImpression"][0])
    assert "category-insufficient-data" in codes
