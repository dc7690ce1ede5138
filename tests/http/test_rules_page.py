"""GET /rules: the rules page of clinical-spec.md §6.2 (E4-20, Q4-46).

Every rule, flag, threshold, recommendation and source has exactly one anchor; the page is
HTML from the definitions the core runs with, loads nothing from elsewhere and shows the
threshold values in force. Other tests use :func:`service.http.rules.rules_page_anchors` and
:func:`service.http.rules.rules_link_ok` to check that every link an output carries exists.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import fields
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.app import create_app
from service.config import Settings
from service.core import advice, meanings, sources, thresholds
from service.core.rules import RULES
from service.core.thresholds import Thresholds
from service.http.rules import (
    core_flag_names,
    rules_link_ok,
    rules_page_anchors,
    threshold_rows,
)

BASE = "http://127.0.0.1:8080"  # tests/conftest.py's PUBLIC_BASE_URL

#: §5.1 of the fourth edition: every code, and the two retired ones (E4-14, E4-15).
SPEC_REC_CODES = (
    "rec-urgent-evaluation",
    "rec-mri-lumbar-urgent",
    "rec-imaging-hip-urgent",
    "rec-red-flag-screen",
    "rec-combined-hip-lumbar-management",
    "rec-diagnostic-ia-hip-injection",
    "rec-imaging-hip-xray",
    "rec-mri-lumbar",
    "rec-ortho-hip-referral",
    "rec-spine-referral",
    "rec-sij-workup",
    "rec-gluteal-tendinopathy-care",
    "rec-hip-first-line-care",
    "rec-lbp-first-line-care",
    "rec-collect-missing-data",
)
SPEC_RETIRED_CODES = ("rec-diagnostic-lumbar-block", "rec-imaging-spinopelvic")
#: §2 of the fourth edition: the flag table (E4-2, E4-3, E4-4, E4-8, E4-10, E4-11, E4-13, E4-16).
SPEC_FLAGS = (
    "LBP", "GROIN_PAIN", "RED_FLAG", "RED_FLAG_EMERGENCY", "RED_FLAG_SPINE", "RED_FLAG_HIP",
    "RED_FLAG_SCREEN_COMPLETE", "KL_MAX", "HIP_PATH", "HIP_SEVERE", "RESTRICTED_IR",
    "ROT_ASYMMETRY", "HIP_PROVOCATIVE", "HIP_EXAM_NEGATIVE", "HIP_SIGNS", "HIP_EXT_DEFICIT",
    "SPINE_PATH", "RADICULAR", "MOTOR_DEFICIT", "SPINE_SIGNS", "SIJ_SIGNS", "GLUTEAL_SIGNS",
    "MT_CAUTION", "IA_POS", "IA_STRONG", "IA_NEG", "SPINE_TX_FAILED", "HIP_TX_FAILED",
    "CONSERVATIVE_TX_FAILED", "SHORT_EPISODE",
)  # fmt: skip
#: §9: every source id the spec names, the seeds of §5.2, and Offierski & MacNab 1983.
SPEC_SOURCES = (
    "Offierski-MacNab-1983", "S1", "S2", "S3", "S4", "S6", "S8", "S9", "S10", "S16", "S17",
    "S18", "S19", "S22", "S23", "S24", "S25", "S28", "S29", "S30", "S31", "S32", "S33", "S40",
    "S41", "S42", "S43", "S44", "S45", "S46", "S47", "S48", "S49", "S50",
    "seed 001", "seed 002", "seed 003", "seed 004",
)  # fmt: skip


class _Page(HTMLParser):
    """Every id, every href, every tag name and the inline stylesheet of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: Counter[str] = Counter()
        self.hrefs: list[str] = []
        self.tags: Counter[str] = Counter()
        self.attrs: list[tuple[str, str, str]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self._in_style = tag == "style"
        for name, value in attrs:
            self.attrs.append((tag, name, value or ""))
            if name == "id" and value:
                self.ids[value] += 1
            if name == "href" and value is not None:
                self.hrefs.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def _row(html: str, anchor: str) -> str:
    """The HTML of the element that carries ``id=anchor`` (up to its end tag)."""
    m = re.search(rf'<(tr|section|li)[^>]*\bid="{re.escape(anchor)}"', html)
    assert m, anchor
    end = html.find(f"</{m.group(1)}>", m.end())
    return html[m.start() : end]


@pytest.fixture
def page(client: FlaskClient) -> str:
    resp = client.get("/rules")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


@pytest.fixture
def overridden(settings: Settings) -> Iterator[Flask]:
    custom = Thresholds(rotation_asymmetry_deg=Decimal("12"), red_flag_recency_days=Decimal("60"))
    app = create_app(settings.with_overrides(thresholds=custom))
    app.config["TESTING"] = True
    yield app
    app.extensions["hipspine"].store.close()


def test_e4_20_rules_page_answers_html_with_security_and_cache_headers(
    client: FlaskClient,
) -> None:
    resp = client.get("/rules")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "max-age" in resp.headers["Cache-Control"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src" not in csp and "unsafe-inline" not in csp
    body = resp.get_data(as_text=True)
    assert body.startswith("<!DOCTYPE html>")
    assert "Decision support, not a diagnosis" in body


def test_the_csp_admits_exactly_the_inline_stylesheet(client: FlaskClient) -> None:
    resp = client.get("/rules")
    styles = _parse(resp.get_data(as_text=True)).styles
    assert len(styles) == 1
    digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in resp.headers["Content-Security-Policy"]


def test_head_answers_the_headers_without_a_body(client: FlaskClient) -> None:
    resp = client.head("/rules")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    assert resp.data == b""


def test_a_repeated_request_with_the_etag_answers_304(client: FlaskClient) -> None:
    etag = client.get("/rules").headers["ETag"]
    assert client.get("/rules", headers={"If-None-Match": etag}).status_code == 304


def test_no_login_and_no_patient_data(client: FlaskClient) -> None:
    resp = client.get("/rules")  # no Authorization header
    assert resp.status_code == 200
    assert "Patient/" not in resp.get_data(as_text=True)


def test_e4_20_every_anchor_exists_exactly_once(page: str) -> None:
    ids = _parse(page).ids
    expected = (
        list(SPEC_REC_CODES)
        + list(SPEC_RETIRED_CODES)
        + [f"r{n}" for n in range(1, 13)]
        + [meanings.flag_anchor(f) for f in (*SPEC_FLAGS, *core_flag_names())]
        + [f.name.replace("_", "-") for f in fields(Thresholds)]
        + [sources.source_anchor(s) for s in SPEC_SOURCES]
    )
    assert {a: ids[a] for a in expected if ids[a] != 1} == {}
    # The helper lists exactly the item anchors the page serves (section headings aside).
    items = {i for i in ids if not i.startswith(("section-", "h-"))}
    assert items == rules_page_anchors()
    assert set(expected) <= rules_page_anchors()
    assert all(n == 1 for n in ids.values())


def test_the_anchors_are_the_ones_outputs_use() -> None:
    anchors = rules_page_anchors()
    assert {"rec-diagnostic-ia-hip-injection", "r1", "r12", "red-flag-hip", "s42"} <= anchors
    assert {"seed-001", "rotation-asymmetry-deg", "offierski-macnab-1983"} <= anchors
    assert {a.code for a in advice.CATALOGUE.values()} <= anchors  # Recommendation.anchor


def test_retired_codes_are_listed_and_marked_retired(page: str) -> None:
    for code in SPEC_RETIRED_CODES:
        assert "retired" in _row(page, code)
    for code in SPEC_REC_CODES:
        assert "retired" not in _row(page, code)


def test_every_recommendation_shows_instruction_certainty_and_linked_sources(page: str) -> None:
    for a in advice.CATALOGUE.values():
        row = _row(page, a.code)
        assert a.display.replace("'", "&#39;") in row
        if a.retired:
            continue
        for key in a.instruction:
            for source_id in a.sources_of(key):
                assert f'href="#{sources.source(source_id).anchor}"' in row, (a.code, key)
            certainty = a.certainty_of(key)
            assert (certainty or "not stated") in row, (a.code, key)
    # Q10-11: the FUNCTIONAL programme's certainty is "very low" (seed 001).
    assert "very low" in _row(page, "rec-combined-hip-lumbar-management")


def test_every_source_a_recommendation_cites_is_written_out() -> None:
    cited = {s for a in advice.CATALOGUE.values() for k in a.instruction for s in a.sources_of(k)}
    assert sorted(s for s in cited if s not in sources.SOURCES) == []


def test_rules_and_flags_link_the_sources_they_rest_on(page: str) -> None:
    """§6.2: every rule and flag with its sources (§2 and §4 tags), linked to the source."""
    for table, anchor in ((meanings.RULE_SOURCES, meanings.rule_anchor),
                          (meanings.FLAG_SOURCES, meanings.flag_anchor)):  # fmt: skip
        for name, ids in table.items():
            row = _row(page, anchor(name))
            for source_id in ids:
                assert source_id in sources.SOURCES, (name, source_id)
                assert f'href="#{sources.source_anchor(source_id)}"' in row, (name, source_id)
    assert 'href="#s16"' in _row(page, "restricted-ir")  # [V S16]


def test_every_link_on_the_page_points_at_an_anchor_on_it(page: str) -> None:
    parsed = _parse(page)
    internal = [h for h in parsed.hrefs if h.startswith("#")]
    assert internal
    assert sorted({h for h in internal if parsed.ids[h[1:]] != 1}) == []


def test_nothing_is_loaded_from_anywhere(page: str) -> None:
    parsed = _parse(page)
    assert parsed.tags["script"] == 0
    assert parsed.tags["link"] == 0
    assert parsed.tags["img"] == 0 and parsed.tags["iframe"] == 0
    assert [a for a in parsed.attrs if a[1] == "src"] == []
    assert not re.search(r"<script|<link[^>]+href=\"?http|@import|url\(", page, re.I)
    # External addresses appear only as links a reader may follow (DOIs, guidelines).
    external = [(t, v) for t, n, v in parsed.attrs if n == "href" and not v.startswith("#")]
    assert all(t == "a" and v.startswith("https://") for t, v in external)


def test_rules_and_flags_each_have_a_plain_meaning() -> None:
    assert [r.id for r in RULES] == [f"R{n}" for n in range(1, 13)]
    assert sorted(r.id for r in RULES if r.id not in meanings.RULE_MEANINGS) == []
    derived = set(core_flag_names()) | set(SPEC_FLAGS)
    assert sorted(f for f in derived if f not in meanings.FLAG_MEANINGS) == []


def test_every_rule_and_flag_is_on_the_page_with_its_meaning(page: str) -> None:
    for r in RULES:
        assert meanings.RULE_MEANINGS[r.id].replace("&", "&amp;") in _row(page, r.id.lower())
    for name, meaning in meanings.FLAG_MEANINGS.items():
        row = _row(page, meanings.flag_anchor(name))
        assert name in row and meaning.replace("&", "&amp;") in row


def test_every_threshold_shows_its_tag_and_current_value(page: str) -> None:
    rows = threshold_rows(Thresholds())
    assert {f.name for f in fields(Thresholds)} <= {r.name for r in rows}
    for r in rows:
        html = _row(page, r.anchor)
        assert r.tag_kind in {"V", "V2", "P", "M"}, r
        assert f"tag-{r.tag_kind}" in html and r.value in html
    # §7 [V] constants are listed too, with their tag; every entry of the core's register shows.
    assert "tag-V" in _row(page, "restricted-ir-deg")
    field_of = {c: f for f, c in getattr(thresholds, "FIELD_CONSTANTS", {}).items()}
    register = getattr(thresholds, "REGISTER", {})
    assert {field_of.get(n, n) for n in register} <= {r.name for r in rows}


def test_a_threshold_overridden_by_a_setting_shows_its_new_value(overridden: Flask) -> None:
    html = overridden.test_client().get("/rules").get_data(as_text=True)
    row = _row(html, "rotation-asymmetry-deg")
    assert "12°" in row and "default 10°" in row
    row = _row(html, "red-flag-recency-days")
    assert "60 days" in row and "default 90 days" in row
    assert "set by this site" not in _row(html, "ia-positive-pct")


def test_the_rule_set_version_and_experimental_status_are_stated(app: Flask, page: str) -> None:
    profiles = app.extensions["hipspine"].profiles
    assert profiles.rule_set.canonical in page
    assert f"version {profiles.rule_set.version}" in page
    if profiles.plan_definition.get("experimental"):  # E4-24: 2.0.0 is experimental
        assert "Experimental" in page


def test_sources_are_written_out_with_confirmed_identifiers_only() -> None:
    assert set(SPEC_SOURCES) <= set(sources.SOURCES)
    for s in sources.SOURCES.values():
        assert s.tag.split()[0].rstrip(";") in {"V", "M", "V2"}, s.id
        assert s.references or s.note, s.id
        for r in s.references:
            assert not r.doi or re.fullmatch(r"10\.\d{4,9}/\S+", r.doi), s.id
            assert not r.url or r.url.startswith("https://"), s.id
    # §9: the fourth-edition additions are [M] until checked; S42 and S44 were checked.
    assert sources.SOURCES["S41"].tag == "M" and sources.SOURCES["S42"].tag == "V"
    assert sources.SOURCES["S42"].references[0].doi == "10.1111/jep.12705"


def test_rules_link_ok_accepts_only_served_anchors() -> None:
    assert rules_link_ok(f"{BASE}/rules", BASE)
    assert rules_link_ok(f"{BASE}/rules#rec-diagnostic-ia-hip-injection", BASE)
    assert rules_link_ok(f"{BASE}/rules#s42", f"{BASE}/")
    assert not rules_link_ok(f"{BASE}/rules#no-such-anchor", BASE)
    assert not rules_link_ok("http://elsewhere.example/rules#r1", BASE)
    assert not rules_link_ok(f"{BASE}/rules%7C2.0.0", BASE)


def test_the_template_ships_as_package_data() -> None:
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert '"http/templates/*"' in pyproject


def _strings(node: object) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.json"))


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_e4_20_every_rules_link_in_an_evaluation_points_at_an_anchor(
    client: FlaskClient, example: Path
) -> None:
    """§6.2: "No link in any output may point to a page that does not answer" (Q4-46)."""
    resp = client.post(
        "/fhir/$hip-spine-evaluate",
        data=example.read_bytes(),
        content_type="application/fhir+json",
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    links = {s for s in _strings(resp.get_json()) if re.match(rf"{re.escape(BASE)}/rules\b", s)}
    assert sorted(u for u in links if not rules_link_ok(u, BASE)) == []
    for url in links:  # and the page answers
        assert client.get(url.removeprefix(BASE).split("#")[0]).status_code == 200


def test_case_sentences_the_catalogue_publishes_are_shown(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """§5.2: e.g. the orthopaedic referral with AVN "urgent, with hip MRI; no mobilisation"."""
    addenda = {"rec-ortho-hip-referral": (("an AVN Condition", "Urgent, with hip MRI."),)}
    monkeypatch.setattr(advice, "ADDENDA", addenda, raising=False)
    row = _row(client.get("/rules").get_data(as_text=True), "rec-ortho-hip-referral")
    assert "Added when an AVN Condition" in row and "Urgent, with hip MRI." in row
