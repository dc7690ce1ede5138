"""The console in a real browser (issue 13 items 8, 9): a real server of the app and Debian's
headless Chromium driven by Playwright (no browser download: ``executable_path`` is the
machine's ``chromium``; ``make test`` and ``.ci/run`` install it when absent).

Fixtures (see also /work/TEAM-interfaces.md):

- ``console_server`` (package: stopped when tests/browser is done): ``hipspine serve`` on
  127.0.0.1 with ``CONSOLE_ENABLED=development``, its own ``DATA_DIR``, and the suite's real FHIR
  server (``fhir_server`` of tests/integration/conftest.py) on ``FHIR_SERVER_ALLOWLIST``;
  yields a :class:`ConsoleServer`.
- ``browser`` (package): a Playwright ``Browser`` on Debian's Chromium; Playwright gives it a
  fresh temporary profile (``--user-data-dir``). The browser failing to start fails the tests.
- ``new_page`` (function): ``new_page(width=1280, height=800)`` opens a page in a fresh browser
  context (no cookies or storage from another test); every one is closed after the test.
- ``page`` (function): ``new_page()`` at 1280×800.
- :func:`serve_console` starts another server of the app with extra settings (a context manager).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from tests.integration.conftest import (  # noqa: F401 (fixtures: the suite's real FHIR server)
    FhirServer,
    fhir_server,
    fhir_servers,
    secured_server,
    smart_keys,
)
from tests.processes import free_port, running

REPO = Path(__file__).resolve().parents[2]
HIPSPINE = REPO / ".venv" / "bin" / "hipspine"
#: Debian's Chromium as components.md runs it headless (the sandbox needs no root setuid here).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Where screenshots go (a test artefact, gitignored); HIPSPINE_SCREENSHOTS overrides it.
SCREENSHOTS = Path(os.environ.get("HIPSPINE_SCREENSHOTS", REPO / "artifacts" / "screenshots"))
#: How long a page may take to show an answer (the machine is small and shared).
TIMEOUT_MS = 20_000


@dataclass(frozen=True)
class ConsoleServer:
    url: str  # e.g. http://127.0.0.1:PORT (the console is at url + "/console")
    fhir_server: FhirServer  # on the server's FHIR_SERVER_ALLOWLIST
    data_dir: Path


@contextmanager
def serve_console(directory: Path, extra_env: Mapping[str, str] | None = None) -> Iterator[str]:
    """``hipspine serve`` on a free loopback port with the console on and its own DATA_DIR in
    ``directory``; ``extra_env`` adds or overrides settings. Yields the base URL."""
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PROMETHEUS_MULTIPROC_DIR", "FHIR_API_CLIENTS", "PUBLIC_BASE_URL"}
    }
    env.update(
        DATA_DIR=str(directory / "data"),
        HOST="127.0.0.1",
        PORT=str(port),
        CONSOLE_ENABLED="development",
        CDS_AUTH_REQUIRED="false",
    )
    env.update(extra_env or {})
    base = f"http://127.0.0.1:{port}"
    with running(
        [str(HIPSPINE), "serve"],
        ready_url=f"{base}/healthz",
        log_path=directory / "serve.log",
        what="hipspine serve (console)",
        env=env,
    ):
        yield base


@pytest.fixture(scope="package")
def console_server(
    tmp_path_factory: pytest.TempPathFactory,
    fhir_server: FhirServer,  # noqa: F811 (the fixture imported above)
) -> Iterator[ConsoleServer]:
    directory = tmp_path_factory.mktemp("console-server")
    with serve_console(directory, {"FHIR_SERVER_ALLOWLIST": fhir_server.url}) as url:
        yield ConsoleServer(url, fhir_server, directory / "data")


def chromium_executable() -> str:
    """Debian's ``chromium`` (CHROMIUM overrides the path); a clear failure when it is absent."""
    path = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not path or not Path(path).exists():
        pytest.fail(
            "Debian's chromium is not installed (the browser tests need it): "
            "apt-get install chromium (make test and .ci/run install it as root)"
        )
    return path


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    executable = chromium_executable()
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_ARGS
            )
        except PlaywrightError as exc:
            pytest.fail(f"Chromium ({executable}) did not start under Playwright: {exc}")
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    contexts: list[BrowserContext] = []

    def make(width: int = 1280, height: int = 800) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    return new_page()
