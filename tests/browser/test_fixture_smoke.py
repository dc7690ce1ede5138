"""The browser fixture itself: Debian's Chromium under Playwright reaches the console."""

from __future__ import annotations

import subprocess

from playwright.sync_api import Browser, Page

from tests.browser.conftest import ConsoleServer, chromium_executable


def test_the_browser_is_the_machines_chromium(browser: Browser) -> None:
    said = subprocess.run(
        [chromium_executable(), "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert browser.version in said  # e.g. "Chromium 150.0.7871.100 built on Debian …"


def test_the_console_page_opens_in_the_browser(page: Page, console_server: ConsoleServer) -> None:
    page.goto(console_server.url + "/console")
    assert page.locator("h1").inner_text() == "Hip–spine console"
    assert console_server.fhir_server.url in page.locator("#fhir-server").inner_text()
