"""The patient-view card's ``smart`` link to the console (issue 13 item 6), the SMART settings,
and the PKCE and session pieces of service.fhir_server.smart that need no EHR."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.app import create_app
from service.cds_hooks.cards import find_empty, smart_link
from service.config import ConfigError, Settings
from service.fhir_server.smart import (
    Grant,
    LaunchProblem,
    LaunchSessions,
    pkce_pair,
    s256,
)
from tests.cds_hooks.real_app import example_prefetch

PV = "/cds-services/hip-spine-patient-view"
BASE = "https://cds.example.org"


def _hook(client: FlaskClient) -> dict[str, Any]:
    body = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/u1", "patientId": "p1"},
        "prefetch": example_prefetch("secondary-hip-driven"),
    }
    resp = client.post(PV, json=body)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    data: dict[str, Any] = resp.get_json()
    return data


def _app(tmp_path: Path, **overrides: Any) -> Flask:
    settings = Settings.from_env({}).with_overrides(
        data_dir=tmp_path / "data", public_base_url=BASE, cds_auth_required=False, **overrides
    )
    return create_app(settings)


def test_a_card_links_to_the_console_launch_when_the_console_is_a_smart_app(
    tmp_path: Path,
) -> None:
    app = _app(tmp_path, console_enabled=True, smart_client_id="hipspine-console")
    try:
        answer = _hook(app.test_client())
    finally:
        app.extensions["hipspine"].store.close()
    [card] = answer["cards"]
    smart = [link for link in card["links"] if link["type"] == "smart"]
    assert smart == [
        {
            "label": "Why and what if: open the hip–spine console",
            "url": f"{BASE}/console/launch",
            "type": "smart",
        }
    ]
    assert all(link["type"] == "absolute" for link in card["links"] if link not in smart)
    assert find_empty(answer) == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"console_enabled": True, "smart_client_id": ""},
        {"console_enabled": False, "smart_client_id": "hipspine-console"},
    ],
)
def test_no_smart_link_unless_console_and_smart_client_are_configured(
    tmp_path: Path, overrides: dict[str, Any]
) -> None:
    app = _app(tmp_path, **overrides)
    try:
        [card] = _hook(app.test_client())["cards"]
    finally:
        app.extensions["hipspine"].store.close()
    assert [link["type"] for link in card["links"]] == ["absolute"] * len(card["links"])


def test_the_smart_link_needs_an_absolute_base_url() -> None:
    assert smart_link("") is None and smart_link("/relative") is None
    assert smart_link("https://x.example.org/")["url"] == (  # type: ignore[index]
        "https://x.example.org/console/launch"
    )


# --- settings ----------------------------------------------------------------------------------
def test_smart_settings_from_the_environment() -> None:
    s = Settings.from_env(
        {
            "CONSOLE_ENABLED": "true",
            "SMART_CLIENT_ID": " hipspine-console ",
            "SMART_CLIENT_SECRET": "s3cret",
            "CONSOLE_FRAME_ANCESTORS": "https://ehr.example.org, 'self' http://127.0.0.1:9000",
            "SMART_COOKIE_SAMESITE": "lax",
            "SMART_LAUNCH_SECONDS": "300",
            "SMART_SESSION_SECONDS": "1800",
        }
    )
    assert s.smart_client_id == "hipspine-console" and s.smart_enabled
    assert s.console_frame_ancestors == (
        "https://ehr.example.org",
        "'self'",
        "http://127.0.0.1:9000",
    )
    assert s.smart_cookie_samesite == "Lax"
    assert (s.smart_launch_seconds, s.smart_session_seconds) == (300, 1800)
    assert "s3cret" not in repr(s)
    d = Settings.from_env({})
    assert d.console_frame_ancestors == () and d.smart_cookie_samesite == "None"
    assert not d.smart_enabled


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"CONSOLE_FRAME_ANCESTORS": "https://ehr.example.org; script-src *"}, "FRAME"),
        ({"CONSOLE_FRAME_ANCESTORS": "https://ehr.example.org/path"}, "FRAME"),
        ({"CONSOLE_FRAME_ANCESTORS": "*"}, "FRAME"),
        ({"SMART_COOKIE_SAMESITE": "sometimes"}, "SAMESITE"),
        ({"SMART_LAUNCH_SECONDS": "5"}, "LAUNCH"),
    ],
)
def test_bad_smart_settings_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert variable in caught.value.variable


def test_development_mode_is_the_console_on_without_api_clients() -> None:
    on = Settings.from_env({"CONSOLE_ENABLED": "development"})
    assert on.console_open
    assert not Settings.from_env(
        {"CONSOLE_ENABLED": "development", "FHIR_API_CLIENTS": "a=b"}
    ).console_open
    assert not Settings.from_env({"CONSOLE_ENABLED": "true"}).console_open
    assert not Settings.from_env({}).console_open


# --- PKCE and the session store ----------------------------------------------------------------
def test_s256_is_rfc_7636s_example() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    made, challenge = pkce_pair()
    assert 43 <= len(made) <= 128 and challenge == s256(made)
    assert pkce_pair()[0] != made


def test_a_session_is_claimed_once_and_read_only_with_its_cookie(app: Flask) -> None:
    sessions = LaunchSessions(app.extensions["hipspine"].store.engine)
    cookie = LaunchSessions.new_cookie()
    sessions.start(
        cookie, state="st", iss="https://ehr", token_endpoint="https://ehr/t", verifier="v" * 50,
        lifetime=60,
    )  # fmt: skip
    claimed = sessions.claim(cookie, "st")
    assert claimed.verifier == "v" * 50 and "v" * 50 not in repr(claimed)
    with pytest.raises(LaunchProblem, match="already used"):
        sessions.claim(cookie, "st")
    sessions.activate(cookie, Grant("tok-123", "p1", 30.0), lifetime=3600)
    active = sessions.active(cookie)
    assert active is not None and active.patient == "p1" and active.access_token == "tok-123"
    assert "tok-123" not in repr(active) and "tok-123" not in repr(Grant("tok-123", "p1"))
    assert sessions.active(LaunchSessions.new_cookie()) is None
    later = datetime.now(UTC) + timedelta(seconds=31)  # the token's own expires_in caps it
    assert sessions.active(cookie, now=later) is None
    sessions.end(cookie)
    assert sessions.active(cookie) is None


def test_expired_sessions_are_deleted_when_a_launch_starts(app: Flask) -> None:
    engine = app.extensions["hipspine"].store.engine
    sessions = LaunchSessions(engine)
    old = LaunchSessions.new_cookie()
    for cookie, now in [
        (old, datetime.now(UTC) - timedelta(hours=2)),
        (LaunchSessions.new_cookie(), datetime.now(UTC)),
    ]:
        sessions.start(
            cookie, state="s", iss="https://e", token_endpoint="https://e/t", verifier="v",
            lifetime=60, now=now,
        )  # fmt: skip
    with pytest.raises(LaunchProblem, match="no launch session"):
        sessions.claim(old, "s")
