"""Order hooks when the chart cannot be had (clinical-spec §6.3 step 1, E4-1, §0.3).

A STAT (urgent, asap) lumbar order, or one whose reason is a red flag, stays silent whatever the
chart says, so an order-sign call holding only such orders answers ``{"cards": []}`` even with no
prefetch and the FHIR server unreachable: no 412 the EHR would show while the order is signed, and
no card about a technical failure (standards.md §1.7). A call holding any other lumbar order
needs the chart and still answers 412 (CDS Hooks 2.0, standards.md §1.4).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from service.app import create_app
from service.cds_hooks.order_hooks import answer_without_chart, lumbar_orders
from service.config import Settings
from tests.processes import free_port

from .support import CODES, draft_order
from .test_order_hooks_real_app import BASE, SIGN, call, mri


@pytest.fixture
def unreachable() -> str:
    """A loopback FHIR base nothing listens on (connection refused at once, no timer)."""
    return f"http://127.0.0.1:{free_port()}/fhir"


@pytest.fixture
def app(tmp_path: Path, unreachable: str) -> Iterator[Flask]:
    settings = Settings.from_env(
        {
            "PUBLIC_BASE_URL": BASE,
            "CDS_TRUST_SANDBOX_KEY": "true",
            "FHIR_SERVER_ALLOWLIST": unreachable,
        }
    ).with_overrides(data_dir=tmp_path / "data")
    app = create_app(settings)
    yield app
    app.extensions["hipspine"].store.close()


def sign_without_prefetch(*orders: dict[str, Any], fhir_server: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": "order-sign",
        "hookInstance": "5b8f0b1c-7c1e-4a8e-9d51-0d0c3f5d9a01",
        "context": {
            "userId": "Practitioner/u1",
            "patientId": "pat-1",
            "draftOrders": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": o} for o in orders],
            },
        },
    }
    if fhir_server is not None:
        body["fhirServer"] = fhir_server
        body["fhirAuthorization"] = {
            "access_token": "secret-access-token",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "hipspine",
        }
    return body


def red_flag_reason_order(oid: str) -> dict[str, Any]:
    order = mri("routine", "pat-1", oid)
    hsc = "http://hipspine-cds.org/fhir/CodeSystem/hsc"
    order["reasonCode"] = [{"coding": [{"system": hsc, "code": "rf-saddle-anaesthesia"}]}]
    return order


# -- the decision (pure) -------------------------------------------------------------------------


@pytest.mark.parametrize("priority", ["stat", "asap", "urgent"])
def test_only_self_silenced_orders_are_answered_without_the_chart(
    priority: str, caplog: pytest.LogCaptureFixture
) -> None:
    orders = lumbar_orders(
        sign_without_prefetch(
            mri(priority, "pat-1"), red_flag_reason_order("mri-2"), fhir_server=None
        )["context"]["draftOrders"],
        None,
        CODES,
    )
    assert [o.silenced for o in orders] == [(f"priority {priority}",), ("red-flag reason",)]
    with caplog.at_level(logging.INFO, logger="service.cds_hooks.order_hooks"):
        assert answer_without_chart(orders, "h1") == {"cards": []}
    # Q4-32g: the reasons are logged (reason codes only, no order id, no patient)
    reasons = [getattr(r, "reason", None) for r in caplog.records]
    assert reasons == [f"priority {priority}", "red-flag reason"]
    assert "mri-1" not in caplog.text and "pat-1" not in caplog.text


def test_a_routine_order_beside_a_stat_one_still_needs_the_chart() -> None:
    draft = sign_without_prefetch(
        mri("stat", "pat-1"), mri("routine", "pat-1", "mri-2"), fhir_server=None
    )
    orders = lumbar_orders(draft["context"]["draftOrders"], None, CODES)
    assert answer_without_chart(orders) is None
    assert answer_without_chart([]) is None
    # a non-lumbar order is not considered at all (answered before any fetch)
    assert lumbar_orders({"entry": [{"resource": draft_order("x", "0000")}]}, None, CODES) == []


# -- the real app --------------------------------------------------------------------------------


@pytest.mark.parametrize("with_server", [True, False], ids=["server-unreachable", "no-server"])
def test_a_stat_order_sign_without_the_chart_answers_no_card_not_412(
    app: Flask, unreachable: str, with_server: bool
) -> None:
    body = sign_without_prefetch(
        mri("stat", "pat-1"), fhir_server=unreachable if with_server else None
    )
    response = call(app, SIGN, body)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"cards": []}


def test_a_routine_order_sign_without_the_chart_answers_412(app: Flask, unreachable: str) -> None:
    body = sign_without_prefetch(
        mri("stat", "pat-1"), mri("routine", "pat-1", "mri-2"), fhir_server=unreachable
    )
    response = call(app, SIGN, body)
    assert response.status_code == 412, response.get_json()
    assert response.get_json()["resourceType"] == "OperationOutcome"


def test_a_stat_order_with_a_refused_fhir_server_is_still_refused(app: Flask) -> None:
    """A server off the allowlist is a configuration fault the EHR must see (412 security)."""
    body = sign_without_prefetch(mri("stat", "pat-1"), fhir_server="http://127.0.0.2:9/fhir")
    response = call(app, SIGN, body)
    assert response.status_code == 412
    assert response.get_json()["issue"][0]["code"] == "security"
