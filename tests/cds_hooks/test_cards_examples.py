"""Every example's card through the real app (issue 10 item 7; clinical-spec §6.1, §6.2, E4-20).

Each chart of ``examples/*.json`` is sent as a patient-view call (and as an order-sign call with
a routine lumbar MRI), and each request of ``examples/cds-hooks/*.json`` as it is: the card's
detail is under 1,500 characters, names no Observation id, and every link it carries
(``links``, ``source.url``, the Markdown links of ``detail``) is absolute, under
``{PUBLIC_BASE_URL}/rules``, and answers 200 through the real app with its anchor on the page.
The link-following test runs once the rules page (``GET /rules``) is served.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag

import pytest
from flask import Flask

from service.app import create_app
from service.cds_hooks.cards import DETAIL_MAX, find_empty
from service.cds_hooks.mint import SANDBOX_KID, mint_jwt
from service.config import Settings

from .support import DATA

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*.json"))
#: The example CDS Hooks requests (examples/cds-hooks/*.json), sent as they are.
HOOK_REQUESTS = sorted((REPO / "examples" / "cds-hooks").glob("*.json"))
SERVICE_OF = {
    "patient-view": "/cds-services/hip-spine-patient-view",
    "order-select": "/cds-services/hip-spine-order-select",
    "order-sign": "/cds-services/hip-spine-order-sign",
}
BASE = "http://127.0.0.1:8080"
PV = "/cds-services/hip-spine-patient-view"
SIGN = "/cds-services/hip-spine-order-sign"
MD_LINK = re.compile(r"\]\((https?://[^)\s]+)\)")
RESOURCE_ID = re.compile(r"\b(?:Observation|Condition|Procedure)/[A-Za-z0-9\-.]+")


@pytest.fixture(scope="module")
def real_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    settings = Settings.from_env(
        {"PUBLIC_BASE_URL": BASE, "CDS_TRUST_SANDBOX_KEY": "true"}
    ).with_overrides(data_dir=tmp_path_factory.mktemp("data"))
    app = create_app(settings)
    yield app
    app.extensions["hipspine"].store.close()


def call(app: Flask, path: str, body: dict[str, Any]) -> Any:
    token = mint_jwt(
        (DATA / "sandbox-ecprivkey.pem").read_bytes(),
        aud=BASE + path,
        iss="https://sandbox.cds-hooks.org",
        kid=SANDBOX_KID,
    )
    return app.test_client().post(path, json=body, headers={"Authorization": f"Bearer {token}"})


def _searchset(resources: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not resources:
        return None
    entries = [{"resource": r, "search": {"mode": "match"}} for r in resources]
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


def hook_request(example: Path, hook: str) -> dict[str, Any]:
    resources = [e["resource"] for e in json.loads(example.read_text()).get("entry", ())]
    patients = [r for r in resources if r["resourceType"] == "Patient"]
    patient = patients[0] if patients else {"resourceType": "Patient", "id": "p1"}

    def of(kind: str) -> dict[str, Any] | None:
        return _searchset([r for r in resources if r["resourceType"] == kind])

    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/u1", "patientId": patient["id"]},
        "prefetch": {
            "patient": patient,
            "observations": of("Observation"),
            "conditions": of("Condition"),
            "procedures": of("Procedure"),
        },
    }
    if hook == "order-sign":
        mri = {
            "resourceType": "ServiceRequest",
            "id": "mri-1",
            "status": "draft",
            "intent": "order",
            "priority": "routine",
            "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "72148"}]},
            "subject": {"reference": f"Patient/{patient['id']}"},
        }
        body["context"]["draftOrders"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": mri}],
        }
    return body


def cards_of(app: Flask, example: Path) -> list[dict[str, Any]]:
    if example.parent.name == "cds-hooks":  # an example hook request: sent as it is
        body = json.loads(example.read_text())
        response = call(app, SERVICE_OF[body["hook"]], body)
        assert response.status_code == 200, (example.name, response.get_json())
        return list(response.get_json()["cards"])
    cards: list[dict[str, Any]] = []
    for path, hook in ((PV, "patient-view"), (SIGN, "order-sign")):
        response = call(app, path, hook_request(example, hook))
        assert response.status_code == 200, (example.name, response.get_json())
        cards += response.get_json()["cards"]
    return cards


def card_links(card: dict[str, Any]) -> list[str]:
    urls = [link["url"] for link in card.get("links", ())]
    if "url" in card.get("source", {}):
        urls.append(card["source"]["url"])
    return urls + MD_LINK.findall(card.get("detail", ""))


@pytest.mark.parametrize("example", EXAMPLES + HOOK_REQUESTS, ids=lambda p: p.stem)
def test_every_examples_card_is_short_and_names_no_resource_id(
    real_app: Flask, example: Path
) -> None:
    for card in cards_of(real_app, example):
        detail = card.get("detail", "")
        assert len(detail) <= DETAIL_MAX < 1500, (example.name, len(detail))
        assert len(card["summary"]) < 140 and find_empty({"cards": [card]}) == []
        # no bare URL a renderer would autolink: links are [text](url), code systems in `code`
        bare = re.sub(r"`[^`]*`", "", MD_LINK.sub("]", detail))
        assert "http" not in bare and "www." not in bare, (example.name, bare)
        assert not RESOURCE_ID.findall(detail.split("**Lumbar order")[-1].split("\n", 1)[-1])
        for url in card_links(card):
            assert url.startswith(f"{BASE}/rules"), url
            assert "|" not in url and "\\" not in url, url


def _rules_page_served(app: Flask) -> bool:
    return bool(app.test_client().get("/rules").status_code == 200)


@pytest.mark.parametrize("example", EXAMPLES + HOOK_REQUESTS, ids=lambda p: p.stem)
def test_every_link_of_every_examples_card_answers_200_with_its_anchor_e4_20(
    real_app: Flask, example: Path
) -> None:
    if not _rules_page_served(real_app):
        pytest.skip("GET /rules is not served yet (issue 10 item 6): runs once it is")
    client = real_app.test_client()
    pages: dict[str, str] = {}
    followed = 0
    for card in cards_of(real_app, example):
        for url in card_links(card):
            page, anchor = urldefrag(url)
            path = page.removeprefix(BASE) or "/"
            if path not in pages:
                response = client.get(path)
                assert response.status_code == 200, url
                pages[path] = response.get_data(as_text=True)
            if anchor:
                assert f'id="{anchor}"' in pages[path], url
            followed += 1
    assert followed > 0 or example.stem == "no-findings" or "stat" in example.stem


def test_the_suggested_care_plan_is_the_recorded_one_q4_32e(tmp_path: Path) -> None:
    """The card's CarePlan is built by the function that built the recorded CarePlan
    (``outputs.care_plan(..., for_card=True)``): the same activities, marked as a suggestion,
    with no reference the EHR cannot resolve."""
    settings = Settings.from_env(
        {"PUBLIC_BASE_URL": BASE, "CDS_TRUST_SANDBOX_KEY": "true"}
    ).with_overrides(data_dir=tmp_path / "data")
    app = create_app(settings)
    try:
        worked = REPO / "examples" / "secondary-functional-worked-example.json"
        response = call(app, PV, hook_request(worked, "patient-view"))
        [card] = response.get_json()["cards"]
        plan = card["suggestions"][0]["actions"][0]["resource"]
        [stored] = app.extensions["hipspine"].store.since(types=("CarePlan",))
        recorded = json.loads(stored.json)
    finally:
        app.extensions["hipspine"].store.close()
    assert "id" not in plan  # the EHR gives the created CarePlan its id
    for mine, kept in zip(plan["activity"], recorded["activity"], strict=True):
        assert mine["detail"]["code"] == kept["detail"]["code"]
        assert mine["detail"]["description"] == kept["detail"]["description"]
    assert plan["identifier"][-1]["system"] == "http://hipspine-cds.org/fhir/sid/suggestion"
    references = re.findall(r'"reference": "([^"]+)"', json.dumps(plan))
    assert references and all(r.startswith(("Patient/", "Observation/")) for r in references)
