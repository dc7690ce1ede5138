"""The console is accessible (issue 13 item 8), checked in headless Chromium with a result shown:
axe-core (4.12.1, bundled by the pinned axe-playwright-python) finds no violation of impact
serious or critical at 1280×800 nor at 400 px wide (an EHR side panel), no rule excluded;
every control is reached with Tab and shows where the focus is; the example chooser and the
what-if work with the keyboard alone; every input has a label; nothing scrolls sideways at
400 px."""

from __future__ import annotations

import importlib.resources
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS, TIMEOUT_MS, ConsoleServer
from tests.browser.console_page import choose_example, open_console, wait_done

WIDTHS = [(1280, 800), (400, 800)]
#: Impacts that fail the test (axe's scale: minor, moderate, serious, critical).
FAILING_IMPACTS = {"serious", "critical"}
#: What the keyboard can reach (disabled controls are skipped by the browser itself).
FOCUSABLE = (
    "a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), "
    "textarea:not([disabled]), summary, [tabindex]:not([tabindex='-1'])"
)


@cache
def axe_script() -> str:
    return (
        importlib.resources.files("axe_playwright_python")
        .joinpath("axe.min.js")
        .read_text(encoding="utf-8")
    )


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core run in the page over the whole document (every rule, WCAG 2.x A/AA and best
    practices); the violations, each with its impact and the elements it names."""
    page.evaluate(axe_script())
    results: dict[str, Any] = page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations']})"
    )
    violations: list[dict[str, Any]] = results["violations"]
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{v['impact']}: {v['id']} ({v['help']}): "
        + "; ".join(" ".join(n["target"]) for n in v["nodes"][:5])
        for v in violations
    )


def show_a_what_if_result(page: Page, server: ConsoleServer) -> None:
    """The page in its fullest state: an example's result with a what-if change shown."""
    open_console(page, server)
    choose_example(page, "secondary-hip-driven")
    page.fill("#wi-pi-ll", "25")
    page.press("#wi-pi-ll", "Tab")
    expect(page.locator("#changes")).to_contain_text("SPINE_PATH", timeout=TIMEOUT_MS)
    wait_done(page)
    page.locator("#raw-details summary").click()  # the raw JSON open too


@pytest.mark.parametrize(("width", "height"), WIDTHS, ids=["1280x800", "400px"])
def test_axe_finds_no_serious_or_critical_violation(
    new_page: Callable[..., Page], console_server: ConsoleServer, width: int, height: int
) -> None:
    page = new_page(width, height)
    open_console(page, console_server)
    before = [v for v in axe_violations(page) if v["impact"] in FAILING_IMPACTS]
    assert not before, "the empty console:\n" + describe(before)
    show_a_what_if_result(page, console_server)
    after = [v for v in axe_violations(page) if v["impact"] in FAILING_IMPACTS]
    assert not after, "the console with a what-if result:\n" + describe(after)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)  # the page as checked, to look at
    page.screenshot(path=str(SCREENSHOTS / f"what-if-{width}px.png"), full_page=True)


def test_axe_catches_a_missing_label(page: Page, console_server: ConsoleServer) -> None:
    """The check can fail: an input without a label is a critical violation."""
    open_console(page, console_server)
    page.evaluate("document.querySelector('label[for=patient-id]').remove()")
    ids = {v["id"] for v in axe_violations(page) if v["impact"] in FAILING_IMPACTS}
    assert "label" in ids


def test_no_sideways_scrolling_at_400_px(
    new_page: Callable[..., Page], console_server: ConsoleServer
) -> None:
    page = new_page(400, 800)
    open_console(page, console_server)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 400
    for name in ("secondary-hip-driven", "red-flag-cauda-equina", "complex-avn"):
        choose_example(page, name)
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= 400, f"{name}: the page is {width} px wide at 400 px"
    show_a_what_if_result(page, console_server)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 400


def test_every_input_has_a_label(page: Page, console_server: ConsoleServer) -> None:
    show_a_what_if_result(page, console_server)
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter(e => !e.labels || e.labels.length === 0
                         || ![...e.labels].some(l => l.textContent.trim()))
            .map(e => e.id || e.outerHTML)"""
    )
    assert unlabelled == []
    assert page.locator("#whatif input, #whatif select").count() > 20


def _focused(page: Page) -> dict[str, Any]:
    info: dict[str, Any] = page.evaluate(
        """() => {
            const e = document.activeElement;
            const s = getComputedStyle(e);
            const r = e.getBoundingClientRect();
            return {key: e.id || e.dataset.key || (e.tagName + ':' + e.textContent.trim()),
                    tag: e.tagName, body: e === document.body,
                    outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2,
                    onScreen: r.width > 0 && r.height > 0};
        }"""
    )
    return info


def test_every_control_is_reached_with_tab_and_shows_its_focus(
    page: Page, console_server: ConsoleServer
) -> None:
    show_a_what_if_result(page, console_server)
    expected = page.evaluate(
        f"""() => [...document.querySelectorAll("{FOCUSABLE}")]
            .filter(e => e.getClientRects().length > 0)
            .map(e => e.id || e.dataset.key || (e.tagName + ':' + e.textContent.trim()))"""
    )
    page.locator("h1").click()  # Tab from the top of the page
    reached: list[str] = []
    not_shown: list[str] = []
    for _ in range(len(expected) + 5):
        page.keyboard.press("Tab")
        info = _focused(page)
        if info["body"] or (reached and info["key"] == reached[0]):
            break
        reached.append(info["key"])
        if not (info["outline"] and info["onScreen"]):
            not_shown.append(info["key"])
    assert set(expected) <= set(reached), sorted(set(expected) - set(reached))
    assert not_shown == [], f"no visible focus on {not_shown}"
    # in the order of the page: the input first, the what-if before the flags
    assert reached.index("example") < reached.index("wi-pi-ll") < reached.index("whatif-reset")


def test_the_example_chooser_and_the_what_if_work_with_the_keyboard_alone(
    page: Page, console_server: ConsoleServer
) -> None:
    open_console(page, console_server)
    for _ in range(10):  # Tab from the top of the page to the example chooser
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "example":
            break
    else:
        pytest.fail("Tab never reached the example chooser")
    page.keyboard.type("not-hss-spine")  # type-ahead in the closed select, then arrows
    for _ in range(6):
        if page.locator("#example").input_value() == "not-hss-spine":
            break
        page.keyboard.press("ArrowDown")  # each choice is evaluated; the last one is shown
    expect(page.locator("#example")).to_have_value("not-hss-spine")
    wait_done(page)
    expect(page.locator("#category")).to_have_text("Spine problem; no hip involvement found")
    for _ in range(60):  # on to the right hip's internal rotation in the what-if
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "wi-rom-internal-rotation-right":
            break
    else:
        pytest.fail("Tab never reached the what-if field")
    page.keyboard.press("Control+A")
    page.keyboard.type("10")
    page.keyboard.press("Enter")
    expect(page.locator("#category")).to_contain_text(
        "Hip and spine both possible pain sources", timeout=TIMEOUT_MS
    )
    expect(page.locator("#changes")).to_contain_text("(< 15° on a side)")
    # beside the fields, and told to a screen reader: the result now
    outcome = page.locator("#whatif-outcome")
    expect(outcome).to_have_attribute("aria-live", "polite")
    expect(outcome).to_contain_text("What-if result: Hip and spine both possible pain sources")
    expect(outcome).to_contain_text("before: Spine problem; no hip involvement found")
    expect(outcome).to_be_in_viewport()
    # the keyboard user is still where they were
    assert page.evaluate("document.activeElement.id") == "wi-rom-internal-rotation-right"
