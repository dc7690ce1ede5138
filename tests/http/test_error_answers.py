"""One error answer for every HTTP surface (issue 9): the app-level handler, headers from the
error itself, the same 401 body on the FHIR API, CDS Hooks and the audit export."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from service.app import create_app
from service.config import Settings
from service.errors import TooManyRequests, Unauthorized

UNAUTHORIZED = {
    "resourceType": "OperationOutcome",
    "issue": [{"severity": "error", "code": "login", "diagnostics": "unauthorized"}],
}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    settings = Settings(
        data_dir=tmp_path,
        fhir_api_clients=(("ris", "ris-token"),),
        export_token="export-token",
        cds_auth_required=True,
    )
    app = create_app(settings)
    yield app
    app.extensions["hipspine"].store.close()


@pytest.mark.parametrize(
    ("method", "path", "challenge"),
    [
        ("post", "/fhir/$hip-spine-evaluate", "Bearer"),
        ("get", "/cds-services", "Bearer"),
        ("post", "/cds-services/hip-spine-patient-view", "Bearer"),
        ("get", "/fhir/$export", 'Bearer realm="hipspine-audit-export"'),
    ],
)
def test_every_surface_answers_401_with_one_body_and_the_errors_own_challenge(
    app: Flask, method: str, path: str, challenge: str
) -> None:
    response = getattr(app.test_client(), method)(
        path, json={}, headers={"Prefer": "respond-async"}
    )
    assert response.status_code == 401
    assert response.mimetype == "application/fhir+json"
    assert response.get_json() == UNAUTHORIZED  # the reason goes to the log only
    assert response.headers["WWW-Authenticate"] == challenge


def test_errors_carry_their_own_headers() -> None:
    assert Unauthorized("why").headers == {"WWW-Authenticate": "Bearer"}
    assert Unauthorized("why", challenge='Bearer realm="x"').headers == {
        "WWW-Authenticate": 'Bearer realm="x"'
    }
    assert TooManyRequests("slow down", retry_after=7).headers == {"Retry-After": "7"}
    assert [i.diagnostics for i in Unauthorized("secret reason").public_issues] == ["unauthorized"]
