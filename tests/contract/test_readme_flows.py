"""The README's examples work as written: the worked example and the signed patient-view call."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.app import create_app
from service.cds_hooks.mint import mint_jwt
from service.config import Settings
from service.errors import StoreUnavailable

REPO = Path(__file__).resolve().parents[2]
KEY = REPO / "tests" / "cds_hooks" / "data" / "sandbox-ecprivkey.pem"
BASE = "http://127.0.0.1:8080"


@pytest.fixture
def dev_app(tmp_path: Path) -> Iterator[Flask]:
    """The app as `CDS_TRUST_SANDBOX_KEY=true make run` starts it."""
    settings = Settings.from_env(
        {"CDS_TRUST_SANDBOX_KEY": "true", "DATA_DIR": str(tmp_path / "data")}
    )
    app = create_app(settings)
    yield app
    app.extensions["hipspine"].store.close()


def test_readme_signed_patient_view_call_answers_one_card(dev_app: Flask) -> None:
    url = f"{BASE}/cds-services/hip-spine-patient-view"
    token = mint_jwt(
        KEY.read_bytes(),
        aud=url,
        iss="https://sandbox.cds-hooks.org",
        kid="44823f3d-0b01-4a6c-a80e-b9d3e8a7226f",
    )
    body = (REPO / "examples" / "cds-hooks" / "patient-view-worked-example.json").read_bytes()
    client = dev_app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    resp = client.post("/cds-services/hip-spine-patient-view", data=body, headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    [card] = resp.get_json()["cards"]
    # E4-19: the card opens with the plain lead; the category is the card's source topic
    assert card["detail"].startswith("The left hip may be contributing to the low back pain")
    assert card["source"]["topic"]["code"] == "category-secondary"
    # the README says a token is good for one call
    again = client.post("/cds-services/hip-spine-patient-view", data=body, headers=headers)
    assert again.status_code == 401


def test_without_development_mode_the_sandbox_key_is_refused(app: Flask) -> None:
    url = f"{BASE}/cds-services"
    token = mint_jwt(
        KEY.read_bytes(),
        aud=url,
        iss="https://sandbox.cds-hooks.org",
        kid="44823f3d-0b01-4a6c-a80e-b9d3e8a7226f",
    )
    settings = app.config["SETTINGS"]
    strict = create_app(settings.with_overrides(cds_auth_required=True))
    try:
        resp = strict.test_client().get(
            "/cds-services", headers={"Authorization": f"Bearer {token}"}
        )
        assert resp.status_code == 401
    finally:
        strict.extensions["hipspine"].store.close()


class BrokenStore:
    """A store that cannot write (disk full, database down)."""

    def record_evaluation(self, record: Any) -> Any:
        raise StoreUnavailable("the audit store cannot be written")


def test_a_recommendation_is_never_returned_unrecorded(app: Flask, client: FlaskClient) -> None:
    app.extensions["hipspine"].pipeline.store = BrokenStore()
    example = REPO / "examples" / "secondary-functional-worked-example.json"
    resp = client.post(
        "/fhir/$hip-spine-evaluate",
        data=example.read_bytes(),
        content_type="application/fhir+json",
    )
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["resourceType"] == "OperationOutcome"
    assert "CarePlan" not in orjson.dumps(body).decode()


def test_readme_signed_order_hook_calls_answer_as_the_readme_says(dev_app: Flask) -> None:
    """E4-1, Q4-32 (d, f, h): the README's order-sign / order-select loop, run as written (each
    FILE signed for its own URL): STAT no card; routine, signed or selected, one card that only
    creates."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n(for FILE in ([^;]+); do\n.*?)```", readme, re.DOTALL)
    assert block is not None
    assert "hipspine jwt --key tests/cds_hooks/data/sandbox-ecprivkey.pem --aud $URL" in block[1]
    url_line = re.search(r"URL=(\S+)\$\{FILE%-\*\}", block[1])
    data = re.search(r"--data-binary @(\S+)\$FILE([^\s;]+)", block[1])
    assert url_line is not None and data is not None
    client = dev_app.test_client()
    answers = {}
    for name in block[2].split():
        url = url_line[1] + name.rsplit("-", 1)[0]  # ${FILE%-*}
        token = mint_jwt(
            KEY.read_bytes(),
            aud=url,
            iss="https://sandbox.cds-hooks.org",
            kid="44823f3d-0b01-4a6c-a80e-b9d3e8a7226f",
        )
        body = (REPO / f"{data[1]}{name}{data[2]}").read_bytes()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        resp = client.post(url.removeprefix(BASE), data=body, headers=headers)
        assert resp.status_code == 200, (name, resp.get_data(as_text=True))
        answers[name] = resp.get_json()["cards"]
    assert set(answers) == {"order-sign-stat", "order-sign-routine", "order-select-routine"}
    assert answers.pop("order-sign-stat") == []
    for name, cards in answers.items():
        (card,) = cards
        actions = [a for s in card.get("suggestions", []) for a in s.get("actions", [])]
        assert actions and {a["type"] for a in actions} == {"create"}, name
