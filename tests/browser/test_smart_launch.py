"""The console launched from an EHR as a SMART app, in headless Chromium (issue 13 items 6, 9).

The real app (``hipspine serve``, production mode: FHIR_API_CLIENTS set, so only the launch
session opens the data), the OAuth2 authorisation server of tests/oauth_server.py in front of
the suite's real bearer-protected FHIR server (sekmet-fhir), and Debian's Chromium following
every redirect itself: launch → authorise → callback → the console for the launched patient,
top-level and framed by an "EHR" page. All on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, Request, expect

from tests.browser.conftest import SCREENSHOTS, TIMEOUT_MS, serve_console
from tests.integration.conftest import TOKEN, FhirServer
from tests.oauth_server import AuthServer, load_bundle, running_auth_server

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CLIENT_ID = "hipspine-console"


def _example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((REPO / "examples" / f"{name}.json").read_text())
    return data


@pytest.fixture(scope="module")
def launched_patient(secured_server: FhirServer) -> str:
    return load_bundle(secured_server.url, TOKEN, _example("secondary-hip-driven"))


@pytest.fixture
def ehr(
    tmp_path: Path, secured_server: FhirServer, launched_patient: str
) -> Iterator[tuple[str, AuthServer]]:
    """(the console's base URL, the EHR's authorisation server)."""
    with running_auth_server(
        fhir_upstream=secured_server.url,
        access_token=TOKEN,
        client_id=CLIENT_ID,
        redirect_uri="",  # known once the app has its port
        patient=launched_patient,
    ) as auth:
        settings = {
            "FHIR_SERVER_ALLOWLIST": auth.url,
            "SMART_CLIENT_ID": CLIENT_ID,
            "FHIR_API_CLIENTS": "portal=portal-api-token",  # production: no open console
            "CONSOLE_FRAME_ANCESTORS": auth.url,  # the EHR may frame the launched page
        }
        with serve_console(tmp_path, settings) as base:
            auth.redirect_uri = f"{base}/console/callback"
            yield base, auth


def _launch_url(base: str, auth: AuthServer, iss: str | None = None) -> str:
    return f"{base}/console/launch?{urlencode({'iss': iss or auth.iss, 'launch': auth.launch})}"


def _watch(page: Page) -> list[str]:
    urls: list[str] = []

    def seen(request: Request) -> None:
        urls.append(request.url)

    page.on("request", seen)
    return urls


def test_the_ehr_launch_opens_the_console_for_the_patient_in_context(
    ehr: tuple[str, AuthServer], new_page: Callable[..., Page]
) -> None:
    base, auth = ehr
    page = new_page()
    urls = _watch(page)
    page.goto(_launch_url(base, auth))
    expect(page).to_have_url(f"{base}/console")  # the code and state are gone from the URL
    expect(page.locator("#smart-launch")).to_contain_text(auth.patient)
    expect(page.locator("main")).to_have_attribute("data-state", "done", timeout=TIMEOUT_MS)
    expect(page.locator("#category")).to_have_text(re.compile("secondary", re.I))
    expect(page.locator("#cards .card")).to_have_count(1)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "smart-launch.png"), full_page=True)

    # the dance happened in the browser: authorise at the EHR, back to the callback
    assert any(u.startswith(f"{auth.url}/authorize?") for u in urls)
    assert any(u.startswith(f"{base}/console/callback?code=") for u in urls)
    assert auth.issued == 1
    assert ("GET", f"/fhir/Patient/{auth.patient}") in auth.requests  # read with the token
    # the token never reaches the browser: no URL, no page text, no readable cookie
    assert all(TOKEN not in u for u in urls)
    assert TOKEN not in page.content()
    assert page.evaluate("document.cookie") == ""  # the session cookie is HttpOnly
    [cookie] = [c for c in page.context.cookies() if c["name"] == "hipspine-smart"]
    assert cookie["httpOnly"] and TOKEN not in cookie["value"]


def test_the_launch_works_framed_by_the_ehr(
    ehr: tuple[str, AuthServer], new_page: Callable[..., Page]
) -> None:
    base, auth = ehr
    page = new_page()
    page.goto(f"{auth.url}/ehr?{urlencode({'app': _launch_url(base, auth)})}")
    app = page.frame_locator("#app")
    expect(app.locator("#smart-launch")).to_contain_text(auth.patient)
    expect(app.locator("main")).to_have_attribute("data-state", "done", timeout=TIMEOUT_MS)
    expect(app.locator("#category")).to_have_text(re.compile("secondary", re.I))


def test_a_launch_from_an_iss_off_the_allowlist_shows_why_and_sends_nothing(
    ehr: tuple[str, AuthServer], new_page: Callable[..., Page]
) -> None:
    base, auth = ehr
    page = new_page()
    answer = page.goto(_launch_url(base, auth, iss=auth.iss.replace("127.0.0.1", "127.0.0.2")))
    assert answer is not None and answer.status == 412
    expect(page.locator("#launch-error")).to_contain_text("allowlist")
    assert auth.requests == []


def test_without_a_launch_the_production_console_shows_no_patient_data(
    ehr: tuple[str, AuthServer], new_page: Callable[..., Page]
) -> None:
    base, auth = ehr
    page = new_page()
    page.goto(f"{base}/console")
    expect(page.locator("#smart-launch")).to_have_count(0)
    page.select_option("#example", "secondary-hip-driven")
    expect(page.locator("#status")).to_contain_text("Could not load", timeout=TIMEOUT_MS)
    assert auth.requests == []
