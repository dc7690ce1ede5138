"""openapi.yaml is a valid OpenAPI 3.1 document and the app's answers match it."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_spec_validator import validate
from werkzeug.test import TestResponse

from service.app import create_app
from service.config import Settings
from service.errors import StoreUnavailable

REPO = Path(__file__).resolve().parents[2]
OPENAPI = REPO / "openapi.yaml"
WORKED = REPO / "examples" / "secondary-functional-worked-example.json"
HOOK = REPO / "examples" / "cds-hooks" / "patient-view-worked-example.json"
EXPORT_TOKEN = "export-test-token"
EVALUATE = "/fhir/$hip-spine-evaluate"
PATIENT_VIEW = "/cds-services/hip-spine-patient-view"
FHIR_JSON = "application/fhir+json"


class _AnsweredRequest(WerkzeugOpenAPIRequest):
    """The request of a test response: its body was consumed by the app (only the operation
    it names matters for validating the response)."""

    @property
    def body(self) -> bytes | None:
        return None


def check(openapi: OpenAPI, resp: TestResponse) -> None:
    """Raise unless ``resp`` is an answer openapi.yaml allows for its request."""
    openapi.validate_response(_AnsweredRequest(resp.request), WerkzeugOpenAPIResponse(resp))


def spec() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(OPENAPI.read_text())
    return data


@pytest.fixture(scope="module")
def openapi() -> OpenAPI:
    document = spec()
    # The test client calls http://localhost; the document names the default bind address.
    document["servers"] = [*document["servers"], {"url": "http://localhost"}]
    # FHIR's JSON media type is JSON: openapi-core knows only application/json by name.
    config = Config(extra_media_type_deserializers={"application/fhir+json": json.loads})
    return OpenAPI.from_dict(document, config=config)


@pytest.fixture
def contract_app(tmp_path: Path) -> Iterator[Flask]:
    settings = Settings.from_env({}).with_overrides(
        data_dir=tmp_path / "data",
        public_base_url="http://localhost",
        cds_auth_required=False,
        export_token=EXPORT_TOKEN,
    )
    app = create_app(settings)
    app.config["TESTING"] = True
    yield app
    app.extensions["hipspine"].store.close()


@pytest.fixture
def contract_client(contract_app: Flask) -> FlaskClient:
    return contract_app.test_client()


class _DownStore:
    def record_evaluation(self, record: Any) -> Any:
        raise StoreUnavailable("the audit store cannot record the evaluation (OperationalError)")

    def close(self) -> None:
        return None

    def ping(self) -> None:
        raise StoreUnavailable("the audit store cannot be reached (OperationalError)")


def _json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _evaluate(body: Any, **kw: Any) -> Callable[[FlaskClient], TestResponse]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    kw.setdefault("content_type", FHIR_JSON)
    return lambda c: c.post(EVALUATE, data=data, **kw)


def _feedback(c: FlaskClient) -> TestResponse:
    cards = c.post(PATIENT_VIEW, json=_json(HOOK)).get_json()["cards"]
    item = {
        "card": cards[0]["uuid"],
        "outcome": "overridden",
        "outcomeTimestamp": "2026-10-01T10:00:00Z",
    }
    return c.post(f"{PATIENT_VIEW}/feedback", json={"feedback": [item]})


def _export(c: FlaskClient) -> TestResponse:
    headers = {"Authorization": f"Bearer {EXPORT_TOKEN}", "Prefer": "respond-async"}
    return c.get("/fhir/$export", headers=headers)


def _store_down(call: Callable[[FlaskClient], TestResponse]) -> Callable[..., TestResponse]:
    def run(c: FlaskClient) -> TestResponse:
        assert isinstance(c.application, Flask)
        svc = c.application.extensions["hipspine"]
        svc.store = svc.pipeline.store = _DownStore()
        return call(c)

    return run


WORKED_BUNDLE = _json(WORKED)
TWO_PATIENTS = copy.deepcopy(WORKED_BUNDLE)
TWO_PATIENTS["entry"].append({"resource": {"resourceType": "Patient", "id": "someone-else"}})

CALLS: dict[str, tuple[Callable[[FlaskClient], TestResponse], int]] = {
    "evaluate": (_evaluate(WORKED_BUNDLE), 200),
    "evaluate, not JSON": (_evaluate(b"{not json"), 400),
    "evaluate, empty body": (_evaluate(b""), 400),
    "evaluate, a Patient instead of a Bundle": (_evaluate({"resourceType": "Patient"}), 400),
    "evaluate, unacceptable Accept": (
        _evaluate(WORKED_BUNDLE, headers={"Accept": "application/xml"}),
        406,
    ),
    "evaluate, too large": (
        _evaluate(b'{"resourceType":"Bundle","entry":[' + b" " * (6 << 20) + b"]}"),
        413,
    ),
    "evaluate, wrong content type": (_evaluate(WORKED_BUNDLE, content_type="text/plain"), 415),
    "evaluate, two patients": (_evaluate(TWO_PATIENTS), 422),
    "evaluate, store down": (_store_down(_evaluate(WORKED_BUNDLE)), 503),
    "evaluate for a patient, bad id": (
        lambda c: c.post(
            "/fhir/Patient/a_b/$hip-spine-evaluate",
            data=json.dumps(WORKED_BUNDLE),
            content_type=FHIR_JSON,
        ),
        400,
    ),
    "metadata": (lambda c: c.get("/fhir/metadata"), 200),
    "OperationDefinition": (lambda c: c.get("/fhir/OperationDefinition/hip-spine-evaluate"), 200),
    "healthz": (lambda c: c.get("/healthz"), 200),
    "readyz": (lambda c: c.get("/readyz"), 200),
    "readyz, store down": (_store_down(lambda c: c.get("/readyz")), 503),
    "metrics": (lambda c: c.get("/metrics"), 200),
    "discovery": (lambda c: c.get("/cds-services"), 200),
    "patient-view": (lambda c: c.post(PATIENT_VIEW, json=_json(HOOK)), 200),
    "patient-view, unknown service": (
        lambda c: c.post("/cds-services/nope", json=_json(HOOK)),
        404,
    ),
    "patient-view, no context": (
        lambda c: c.post(PATIENT_VIEW, json={"hook": "patient-view", "hookInstance": "x"}),
        400,
    ),
    "feedback": (_feedback, 200),
    "export kick-off": (_export, 202),
    "export kick-off, wrong token": (
        lambda c: c.get(
            "/fhir/$export", headers={"Authorization": "Bearer no", "Prefer": "respond-async"}
        ),
        401,
    ),
}


def test_openapi_yaml_is_a_valid_openapi_3_1_document() -> None:
    document = spec()
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises OpenAPIValidationError


@pytest.mark.parametrize("name", list(CALLS))
def test_the_answer_to_a_contract_call_matches_openapi_yaml(
    name: str, contract_client: FlaskClient, openapi: OpenAPI
) -> None:
    call, status = CALLS[name]
    resp = call(contract_client)
    assert resp.status_code == status, resp.get_data(as_text=True)[:500]
    check(openapi, resp)


def test_a_response_that_breaks_the_schema_is_caught(
    contract_client: FlaskClient, openapi: OpenAPI
) -> None:
    resp = contract_client.get("/healthz")
    resp.set_data(b'{"status": "sleeping"}')
    with pytest.raises(Exception, match="(?i)invalid|schema"):
        check(openapi, resp)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("get", EVALUATE, 405), ("get", "/fhir/nothing-here", 404), ("delete", "/healthz", 405)],
)
def test_answers_outside_any_documented_operation_are_documented_operation_outcomes(
    method: str, path: str, status: int, contract_client: FlaskClient
) -> None:
    resp = contract_client.open(path, method=method.upper())
    assert resp.status_code == status
    assert resp.mimetype == FHIR_JSON
    schema = spec()["components"]["schemas"]["OperationOutcome"]
    Draft202012Validator(schema).validate(resp.get_json())
