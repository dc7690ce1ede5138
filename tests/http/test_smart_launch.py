"""The console launched from an EHR as a SMART app (issue 13 items 6, 7), end to end over HTTP.

Real components on loopback only: the app served in this process on 127.0.0.1 (so ``caplog``
sees every log record it writes), the suite's real bearer-protected FHIR server (sekmet-fhir,
``secured_server``), and the OAuth2 authorisation server of tests/oauth_server.py in front of
it. A ``requests.Session`` plays the browser and follows every redirect by hand.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests
from flask import Flask
from sqlalchemy import update
from werkzeug.serving import BaseWSGIServer, make_server

from service.app import create_app
from service.config import Settings
from service.fhir_server.smart import s256, sessions_table
from service.http.startup import development_settings
from tests.integration.conftest import (  # noqa: F401 (fixtures: the suite's real FHIR server)
    TOKEN,
    FhirServer,
    fhir_servers,
    secured_server,
    smart_keys,
)
from tests.oauth_server import AuthServer, load_bundle, running_auth_server
from tests.processes import free_port

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = "secondary-hip-driven"
CLIENT_ID = "hipspine-console"
API_TOKEN = "portal-api-token"
REFUSED_HOST = "127.0.0.2"  # not on the allowlist: the guard must refuse it, nothing is sent


def _example() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((REPO / "examples" / f"{EXAMPLE}.json").read_text())
    return data


@pytest.fixture(scope="module")
def ehr_patient(secured_server: FhirServer) -> str:  # noqa: F811 (the imported fixture)
    """The example patient's resources, PUT on the secured FHIR server (with its token)."""
    patient = load_bundle(secured_server.url, TOKEN, _example())
    assert requests.get(f"{secured_server.url}/Patient/{patient}", timeout=5).status_code == 401
    return patient


@dataclass
class Launchable:
    url: str  # the app's base URL (PUBLIC_BASE_URL)
    app: Flask
    auth: AuthServer
    patient: str

    def launch_url(self, **params: str) -> str:
        query = {"iss": self.auth.iss, "launch": self.auth.launch, **params}
        return f"{self.url}/console/launch?{urlencode(query)}"

    def evaluations(self) -> int:
        return int(self.app.extensions["hipspine"].store.count_evaluations())


def _serve(app: Flask, port: int) -> tuple[BaseWSGIServer, threading.Thread]:
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="app", daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def launchable(
    tmp_path: Path,
    secured_server: FhirServer,  # noqa: F811
    ehr_patient: str,
) -> Iterator[Launchable]:
    """The app in production mode (FHIR_API_CLIENTS set) with the console on and registered
    as a SMART app, the authorisation server on its allowlist."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running_auth_server(
        fhir_upstream=secured_server.url,
        access_token=TOKEN,
        client_id=CLIENT_ID,
        redirect_uri=f"{base}/console/callback",
        patient=ehr_patient,
    ) as auth:
        settings = Settings.from_env({}).with_overrides(
            data_dir=tmp_path / "data",
            public_base_url=base,
            cds_auth_required=False,
            console_enabled=True,
            smart_client_id=CLIENT_ID,
            fhir_server_allowlist=(auth.url,),
            fhir_api_clients=(("portal", API_TOKEN),),
        )
        app = create_app(settings)
        server, thread = _serve(app, port)
        try:
            yield Launchable(base, app, auth, ehr_patient)
        finally:
            server.shutdown()
            thread.join(timeout=10)
            app.extensions["hipspine"].store.close()


Seen = list[requests.Response]


def _get(browser: requests.Session, url: str, seen: Seen, **kw: Any) -> requests.Response:
    resp = browser.get(url, allow_redirects=False, timeout=20, **kw)
    seen.append(resp)
    return resp


def _to_authorize(env: Launchable, browser: requests.Session, seen: Seen) -> str:
    """Launch; the URL the browser is sent to at the EHR's authorisation endpoint."""
    resp = _get(browser, env.launch_url(), seen)
    assert resp.status_code == 302, resp.text
    location = resp.headers["Location"]
    assert location.startswith(f"{env.auth.url}/authorize?")
    return location


def _to_callback(env: Launchable, browser: requests.Session, location: str, seen: Seen) -> str:
    """The EHR authorises (at once); the callback URL it sends the browser back to."""
    resp = _get(browser, location, seen)
    assert resp.status_code == 302, resp.text
    callback = resp.headers["Location"]
    assert callback.startswith(f"{env.url}/console/callback?"), callback
    return callback


def _dance(env: Launchable, browser: requests.Session, seen: Seen) -> str:
    """The whole launch up to the launched page; its URL."""
    callback = _to_callback(env, browser, _to_authorize(env, browser, seen), seen)
    resp = _get(browser, callback, seen)
    assert resp.status_code == 303, resp.text
    assert resp.headers["Location"] == "/console"
    return f"{env.url}/console"


def _with_query(url: str, **changes: str | None) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


def _outcome(resp: requests.Response) -> str:
    body = resp.json()
    assert body["resourceType"] == "OperationOutcome", body
    return " ".join(str(i.get("diagnostics", "")) for i in body["issue"])


# --- the whole dance ---------------------------------------------------------------------------
def test_the_ehr_launch_shows_the_launched_patient_read_with_the_granted_token(
    launchable: Launchable, caplog: pytest.LogCaptureFixture
) -> None:
    env = launchable
    seen: Seen = []
    caplog.set_level(logging.DEBUG)
    browser = requests.Session()
    location = _to_authorize(env, browser, seen)
    query = parse_qs(urlsplit(location).query)
    assert {k: v[0] for k, v in query.items() if k not in {"state", "code_challenge"}} == {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": f"{env.url}/console/callback",
        "launch": env.auth.launch,
        "scope": "launch openid fhirUser patient/Observation.rs patient/Condition.rs "
        "patient/Procedure.rs",
        "aud": env.auth.iss,
        "code_challenge_method": "S256",
    }
    assert len(query["state"][0]) >= 32 and len(query["code_challenge"][0]) == 43
    cookie = seen[0].headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie  # http base URL: Lax, see README
    page_url = _dance_from(env, browser, location, seen)

    page = _get(browser, page_url, seen)
    assert page.status_code == 200
    html = page.text
    assert 'data-smart-launch="1"' in html and 'id="smart-launch"' in html
    assert f'value="{env.patient}" readonly' in html
    assert f'<option value="{env.auth.iss}">' in html  # the EHR, not the whole allowlist

    # what the page's script does: read the patient (with the session), then evaluate it
    read = browser.post(
        f"{env.url}/console/patient",
        json={"fhirServer": env.auth.iss, "patientId": env.patient},
        timeout=30,
    )
    seen.append(read)
    assert read.status_code == 200, read.text
    bundle = read.json()
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert kinds >= {"Patient", "Observation", "Condition"}
    assert all(e["fullUrl"].startswith(env.auth.iss + "/") for e in bundle["entry"])
    view = browser.post(f"{env.url}/console/evaluate", json=bundle, timeout=30)
    seen.append(view)
    assert view.status_code == 200, view.text
    assert view.json()["category"]["code"] == "category-secondary"
    assert view.json()["category"]["subtype"] is not None
    # a what-if on the launched patient is allowed too
    what_if = browser.post(
        f"{env.url}/console/evaluate",
        json={"bundle": bundle, "overrides": {"rom.internal-rotation.left": 40}},
        timeout=30,
    )
    assert what_if.status_code == 200, what_if.text

    # the EHR's FHIR reads went through the authorisation server's proxy, with the token
    assert ("GET", f"/fhir/Patient/{env.patient}") in env.auth.requests
    assert env.auth.issued == 1
    # a review page, not a recommendation delivered: nothing in the audit store
    assert env.evaluations() == 0
    # the token is in no answer, no URL, no header and no log record
    for resp in [*seen, what_if]:
        assert TOKEN not in resp.text
        assert TOKEN not in resp.url
        assert all(TOKEN not in v for v in resp.headers.values())
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert all(TOKEN not in str(v) for v in record.__dict__.values())
    cookie_value = browser.cookies.get("hipspine-smart") or ""
    assert len(cookie_value) >= 40
    assert all(cookie_value not in str(v) for r in caplog.records for v in r.__dict__.values())


def _dance_from(env: Launchable, browser: requests.Session, location: str, seen: Seen) -> str:
    callback = _to_callback(env, browser, location, seen)
    resp = _get(browser, callback, seen)
    assert resp.status_code == 303, resp.text
    return f"{env.url}{resp.headers['Location']}"


def test_the_token_is_stored_encrypted_and_keyed_by_a_hash_of_the_cookie(
    launchable: Launchable,
) -> None:
    browser = requests.Session()
    _dance(launchable, browser, [])
    engine = launchable.app.extensions["hipspine"].store.engine
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(sessions_table.select()).mappings()]
    assert len(rows) == 1
    cookie = browser.cookies.get("hipspine-smart") or ""
    assert rows[0]["status"] == "active" and rows[0]["patient"] == launchable.patient
    assert cookie not in json.dumps(rows, default=str)
    assert TOKEN not in json.dumps(rows, default=str)


# --- access (item 7) ---------------------------------------------------------------------------
def test_in_production_the_data_need_a_launch_or_the_api_token(launchable: Launchable) -> None:
    env = launchable
    anonymous = requests.Session()
    body = {"fhirServer": env.auth.iss, "patientId": env.patient}
    assert anonymous.post(f"{env.url}/console/evaluate", json=_example()).status_code == 401
    assert anonymous.post(f"{env.url}/console/patient", json=body).status_code == 401
    assert anonymous.get(f"{env.url}/console/examples/{EXAMPLE}").status_code == 401
    api = {"Authorization": f"Bearer {API_TOKEN}"}
    assert anonymous.post(f"{env.url}/console/evaluate", json=_example(), headers=api).ok
    assert anonymous.get(f"{env.url}/console/examples/{EXAMPLE}", headers=api).ok
    assert not any(path.startswith("/fhir/") for _, path in env.auth.requests)


def test_in_development_mode_a_launched_page_still_reads_with_its_token(
    launchable: Launchable,
) -> None:
    """Development mode (no FHIR_API_CLIENTS): the console is open, and a launched page's read
    of its own patient still goes to the EHR with the granted token (sekmet refuses without)."""
    env = launchable
    services = env.app.extensions["hipspine"]
    services.settings = services.settings.with_overrides(
        fhir_api_clients=(), console_development=True
    )
    assert services.settings.console_open
    browser = requests.Session()
    _dance(env, browser, [])
    body = {"fhirServer": env.auth.iss, "patientId": env.patient}
    assert browser.post(f"{env.url}/console/patient", json=body).status_code == 200
    # without the launch the same read reaches the EHR without a token, which refuses it
    assert requests.post(f"{env.url}/console/patient", json=body).status_code == 502


def test_a_launch_session_reads_and_evaluates_only_its_own_patient(
    launchable: Launchable,
) -> None:
    env = launchable
    browser = requests.Session()
    _dance(env, browser, [])
    other = {"fhirServer": env.auth.iss, "patientId": "someone-else"}
    assert browser.post(f"{env.url}/console/patient", json=other).status_code == 403
    other_bundle = json.loads((REPO / "examples" / "complex.json").read_text())
    assert browser.post(f"{env.url}/console/evaluate", json=other_bundle).status_code == 403
    assert not any("someone-else" in path for _, path in env.auth.requests)


def test_a_launch_session_is_not_usable_from_another_site(launchable: Launchable) -> None:
    """The cookie may be SameSite=None (an EHR's frame): a cross-site POST with it is refused."""
    env = launchable
    browser = requests.Session()
    _dance(env, browser, [])
    body = {"fhirServer": env.auth.iss, "patientId": env.patient}
    elsewhere = {"Origin": "https://evil.example.org"}
    assert browser.post(f"{env.url}/console/patient", json=body, headers=elsewhere).status_code == (
        403
    )
    own = {"Origin": env.url}
    assert browser.post(f"{env.url}/console/patient", json=body, headers=own).status_code == 200


# --- refusals ----------------------------------------------------------------------------------
def test_an_iss_off_the_allowlist_is_refused_before_anything_is_sent(
    launchable: Launchable,
) -> None:
    env = launchable
    refused_iss = env.auth.iss.replace("127.0.0.1", REFUSED_HOST)
    resp = requests.get(env.launch_url(iss=refused_iss), allow_redirects=False, timeout=10)
    assert resp.status_code == 412
    assert "allowlist" in _outcome(resp)
    assert "Set-Cookie" not in resp.headers
    assert env.auth.requests == []


def test_a_token_endpoint_off_the_allowlist_is_refused_at_the_launch(
    launchable: Launchable,
) -> None:
    env = launchable
    env.auth.config["token_endpoint"] = f"http://{REFUSED_HOST}:{free_port()}/token"
    resp = requests.get(env.launch_url(), allow_redirects=False, timeout=10)
    assert resp.status_code == 412
    assert "token_endpoint" in _outcome(resp)
    assert env.auth.requests == [("GET", "/fhir/.well-known/smart-configuration")]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"code_challenge_methods_supported": ["plain"]}, "S256"),
        ({"authorization_endpoint": None}, "authorization_endpoint"),
        ({"token_endpoint": None}, "token_endpoint"),
    ],
)
def test_a_smart_configuration_without_what_the_launch_needs_is_refused(
    launchable: Launchable, change: dict[str, Any], words: str
) -> None:
    launchable.auth.config.update(change)
    resp = requests.get(
        launchable.launch_url(),
        allow_redirects=False,
        timeout=10,
        headers={"Accept": "text/html,*/*;q=0.8"},  # a browser: a page it can show
    )
    assert resp.status_code == 502
    assert resp.headers["Content-Type"].startswith("text/html")
    assert words in resp.text
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]


@pytest.mark.parametrize("params", [{"iss": ""}, {"launch": ""}])
def test_a_launch_without_iss_or_launch_is_a_400(
    launchable: Launchable, params: dict[str, str]
) -> None:
    resp = requests.get(launchable.launch_url(**params), allow_redirects=False, timeout=10)
    assert resp.status_code == 400
    assert launchable.auth.requests == []


@pytest.mark.parametrize("state", ["wrong-state", None])
def test_a_wrong_or_missing_state_is_refused_and_uses_the_launch_up(
    launchable: Launchable, state: str | None
) -> None:
    env = launchable
    browser = requests.Session()
    callback = _to_callback(env, browser, _to_authorize(env, browser, []), [])
    resp = browser.get(_with_query(callback, state=state), allow_redirects=False)
    assert resp.status_code == 403
    assert resp.json()["issue"][0]["code"] == "security"
    # the right state afterwards finds the launch used up: no token is ever asked for
    again = browser.get(callback, allow_redirects=False)
    assert again.status_code == 403
    assert "already used" in _outcome(again)
    assert env.auth.issued == 0 and ("POST", "/token") not in env.auth.requests


def test_a_callback_replayed_after_a_launch_is_refused(launchable: Launchable) -> None:
    env = launchable
    browser = requests.Session()
    callback = _to_callback(env, browser, _to_authorize(env, browser, []), [])
    assert browser.get(callback, allow_redirects=False).status_code == 303
    replay = browser.get(callback, allow_redirects=False)
    assert replay.status_code == 403
    assert "already used" in _outcome(replay)
    assert env.auth.issued == 1


def test_an_expired_launch_is_refused(launchable: Launchable) -> None:
    env = launchable
    browser = requests.Session()
    callback = _to_callback(env, browser, _to_authorize(env, browser, []), [])
    engine = env.app.extensions["hipspine"].store.engine
    with engine.begin() as conn:  # as if the clinician had left the login page for an hour
        past = datetime.now(UTC) - timedelta(seconds=1)
        conn.execute(update(sessions_table).values(expires_at=past))
    resp = browser.get(callback, allow_redirects=False)
    assert resp.status_code == 403
    assert "expired" in _outcome(resp)
    assert env.auth.issued == 0


def test_an_expired_launched_session_no_longer_reads_the_ehr(launchable: Launchable) -> None:
    env = launchable
    browser = requests.Session()
    _dance(env, browser, [])
    engine = env.app.extensions["hipspine"].store.engine
    with engine.begin() as conn:
        past = datetime.now(UTC) - timedelta(seconds=1)
        conn.execute(update(sessions_table).values(expires_at=past))
    body = {"fhirServer": env.auth.iss, "patientId": env.patient}
    assert browser.post(f"{env.url}/console/patient", json=body).status_code == 401
    assert 'data-smart-launch="1"' not in browser.get(f"{env.url}/console").text


def test_a_callback_without_the_cookie_is_refused(launchable: Launchable) -> None:
    env = launchable
    browser = requests.Session()
    callback = _to_callback(env, browser, _to_authorize(env, browser, []), [])
    stranger = requests.Session()  # e.g. a code injected into another browser
    resp = stranger.get(callback, allow_redirects=False)
    assert resp.status_code == 403
    assert "no launch cookie" in _outcome(resp)
    assert env.auth.issued == 0


def test_a_pkce_verifier_that_does_not_match_the_challenge_gets_no_token(
    launchable: Launchable,
) -> None:
    env = launchable
    browser = requests.Session()
    location = _to_authorize(env, browser, [])
    forged = _with_query(location, code_challenge=s256("a-verifier-the-service-never-made" * 2))
    callback = _to_callback(env, browser, forged, [])
    resp = browser.get(callback, allow_redirects=False)
    assert resp.status_code == 502
    assert "invalid_grant" in _outcome(resp)
    assert env.auth.token_errors == ["code_verifier"] and env.auth.issued == 0
    assert 'data-smart-launch="1"' not in browser.get(f"{env.url}/console").text


@pytest.mark.parametrize(("status", "error"), [(400, "invalid_client"), (500, "server_error")])
def test_a_token_endpoint_error_ends_the_launch(
    launchable: Launchable, status: int, error: str
) -> None:
    env = launchable
    env.auth.token_error = (status, error)
    browser = requests.Session()
    callback = _to_callback(env, browser, _to_authorize(env, browser, []), [])
    resp = browser.get(callback, allow_redirects=False)
    assert resp.status_code == 502
    assert error in _outcome(resp)
    body = {"fhirServer": env.auth.iss, "patientId": env.patient}
    assert browser.post(f"{env.url}/console/patient", json=body).status_code == 401


def test_an_authorisation_refused_by_the_ehr_ends_the_launch(launchable: Launchable) -> None:
    env = launchable
    browser = requests.Session()
    _to_authorize(env, browser, [])
    resp = browser.get(
        f"{env.url}/console/callback?error=access_denied&state=x", allow_redirects=False
    )
    assert resp.status_code == 403
    assert "access_denied" in _outcome(resp)


# --- framing and cookies -----------------------------------------------------------------------
def test_a_launched_page_may_be_framed_by_the_configured_ehr_only(
    launchable: Launchable,
) -> None:
    env = launchable
    services = env.app.extensions["hipspine"]
    services.settings = services.settings.with_overrides(
        console_frame_ancestors=("https://ehr.example.org",)
    )
    browser = requests.Session()
    page = browser.get(_dance(env, browser, []))
    csp = page.headers["Content-Security-Policy"]
    assert csp.endswith("frame-ancestors https://ehr.example.org")
    assert csp.count("frame-ancestors") == 1
    assert "X-Frame-Options" not in page.headers
    plain = requests.get(f"{env.url}/console")  # not launched: never framed
    assert "frame-ancestors 'none'" in plain.headers["Content-Security-Policy"]
    assert plain.headers["X-Frame-Options"] == "DENY"


def test_the_launch_cookie_is_secure_samesite_none_and_partitioned_over_https(
    launchable: Launchable, tmp_path: Path
) -> None:
    """Behind https (PUBLIC_BASE_URL), for an EHR that frames the app: the test client speaks
    to the same app with an https base URL (the cookie's attributes only)."""
    env = launchable
    services = env.app.extensions["hipspine"]
    services.settings = services.settings.with_overrides(
        public_base_url="https://console.example.org"
    )
    resp = env.app.test_client().get(
        f"/console/launch?{urlencode({'iss': env.auth.iss, 'launch': env.auth.launch})}"
    )
    assert resp.status_code == 302
    assert (
        "redirect_uri=https%3A%2F%2Fconsole.example.org%2Fconsole%2Fcallback"
        in (resp.headers["Location"])
    )
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith("__Host-hipspine-smart=")
    for attribute in ("Secure", "HttpOnly", "SameSite=None", "Partitioned", "Path=/"):
        assert attribute in cookie
    assert "Domain" not in cookie


def test_without_a_smart_client_id_there_is_no_launch(launchable: Launchable) -> None:
    env = launchable
    services = env.app.extensions["hipspine"]
    services.settings = services.settings.with_overrides(smart_client_id="")
    resp = requests.get(env.launch_url(), allow_redirects=False, timeout=10)
    assert resp.status_code == 404
    assert env.auth.requests == []


def test_an_enabled_console_without_api_clients_is_not_open_outside_development_mode(
    tmp_path: Path,
) -> None:
    """Issue 13 item 7: in production (CONSOLE_ENABLED=true) the console is reached only through
    a SMART launch or with the API client token, even when no FHIR_API_CLIENTS are set; only
    CONSOLE_ENABLED=development opens it (and says so at start-up)."""
    production = Settings.from_env({"CONSOLE_ENABLED": "true"})
    development = Settings.from_env({"CONSOLE_ENABLED": "development"})
    assert production.console_enabled and not production.console_open
    assert development.console_enabled and development.console_open
    assert (
        not Settings.from_env({"CONSOLE_ENABLED": "development"})
        .with_overrides(fhir_api_clients=(("portal", "t"),))
        .console_open
    )
    assert "CONSOLE_ENABLED" in [v for v, _ in development_settings(development)]
    assert "CONSOLE_ENABLED" not in [v for v, _ in development_settings(production)]
    app = create_app(production.with_overrides(data_dir=tmp_path / "data", cds_auth_required=False))
    try:
        client = app.test_client()
        assert client.get("/console").status_code == 200
        for answer in (
            client.get(f"/console/examples/{EXAMPLE}"),
            client.post("/console/evaluate", json={"bundle": {"resourceType": "Bundle"}}),
            client.post(
                "/console/patient", json={"fhirServer": "http://127.0.0.1:1/fhir", "patientId": "p"}
            ),
        ):
            assert answer.status_code == 401, answer.get_data(as_text=True)
            assert answer.get_json()["resourceType"] == "OperationOutcome"
        # with no FHIR_API_CLIENTS there is no token to match: any Authorization is refused
        forged = {"Authorization": "Bearer anything"}
        assert client.get(f"/console/examples/{EXAMPLE}", headers=forged).status_code == 401
    finally:
        app.extensions["hipspine"].store.close()
