"""The FHIR operation's own clients (FHIR_API_CLIENTS): tokens required, the caller audited."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from service.app import create_app
from service.config import Settings, parse_clients
from service.errors import Unauthorized
from service.http.api_auth import ANONYMOUS, authenticate
from tests.contract.bundles import worked_example
from tests.contract.test_fhir_api import assert_outcome, post


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[Flask]:
    env = {"DATA_DIR": str(tmp_path / "data"), "FHIR_API_CLIENTS": "ris=ris-token-1,portal=p-2"}
    app = create_app(Settings.from_env(env))
    yield app
    app.extensions["hipspine"].store.close()


def _callers(app: Flask) -> list[str]:
    store = app.extensions["hipspine"].store
    with store.engine.connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT caller FROM evaluations ORDER BY seq"))]


def test_without_a_token_the_operation_answers_401(guarded: Flask) -> None:
    resp = post(guarded.test_client(), worked_example())
    assert_outcome(resp, 401, expression=False)
    assert _callers(guarded) == []


def test_a_wrong_token_answers_401_and_records_nothing(guarded: Flask) -> None:
    resp = post(guarded.test_client(), worked_example(), headers={"Authorization": "Bearer nope"})
    assert_outcome(resp, 401, expression=False)
    assert _callers(guarded) == []


def test_a_clients_token_is_accepted_and_the_audit_record_names_the_client(
    guarded: Flask,
) -> None:
    client: FlaskClient = guarded.test_client()
    resp = post(client, worked_example(), headers={"Authorization": "Bearer p-2"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert _callers(guarded) == ["fhir-api:portal"]


def test_metadata_stays_public(guarded: Flask) -> None:
    assert guarded.test_client().get("/fhir/metadata").status_code == 200


def test_without_configured_clients_the_caller_is_recorded_as_anonymous(app: Flask) -> None:
    assert post(app.test_client(), worked_example()).status_code == 200
    assert _callers(app) == [ANONYMOUS]


@pytest.mark.parametrize("value", ["ris", "=tok", "ris=", "a=1,a=2"])
def test_malformed_client_lists_stop_start_up(value: str) -> None:
    with pytest.raises(ValueError):
        parse_clients(value)


def test_a_token_is_matched_whole_not_by_prefix() -> None:
    clients = parse_clients("ris=abcdef")
    with pytest.raises(Unauthorized):
        authenticate("Bearer abc", clients)
    assert authenticate("Bearer abcdef", clients) == "fhir-api:ris"
