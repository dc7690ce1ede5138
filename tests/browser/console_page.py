"""Driving the console page in the browser tests: open it, choose an example, wait for answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import TIMEOUT_MS, ConsoleServer

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def example_bundle(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def open_console(page: Page, server: ConsoleServer, query: str = "") -> None:
    page.goto(f"{server.url}/console{query}")
    expect(page.locator("h1")).to_have_text("Hip–spine console")


def wait_done(page: Page) -> None:
    """Until the page's last request has been answered and rendered (``main[data-state]``)."""
    expect(page.locator("main")).to_have_attribute("data-state", "done", timeout=TIMEOUT_MS)


def choose_example(page: Page, name: str) -> None:
    page.select_option("#example", name)
    wait_done(page)
    expect(page.locator("#result")).to_be_visible()


def text(page: Page, selector: str) -> str:
    return page.locator(selector).inner_text()
