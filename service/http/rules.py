"""``GET /rules``: the human-readable rules page (clinical-spec.md §6.2, E4-20).

Server-rendered HTML (Jinja, no JavaScript, nothing loaded from elsewhere), no login and no
patient data. It is generated from the definitions the core itself uses: the rules of
:mod:`service.core.rules`, the flags the core derives with their meanings
(:mod:`service.core.meanings`), the thresholds of :mod:`service.core.thresholds` with the values
this deployment runs with (settings may override the [P] ones), the recommendation catalogue of
:mod:`service.core.advice` and the sources of :mod:`service.core.sources`.

Every item has exactly one anchor; every link an output carries is
``{PUBLIC_BASE_URL}/rules#{anchor}`` (§6.2, Q4-46). :func:`rules_page_anchors` lists them and
:func:`rules_link_ok` checks a link, for the tests of every output.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag

from flask import Blueprint, Response, render_template, request

from service.core import advice, meanings, rules, sources, thresholds
from service.core.assessment import RuleSet
from service.core.evaluate import evaluate
from service.core.findings import Findings
from service.core.flag_names import FlagName
from service.core.thresholds import Thresholds
from service.http.registry import services

log = logging.getLogger("hipspine.http")

bp = Blueprint("rules", __name__, template_folder="templates")

PATH = "/rules"
TEMPLATE = "rules_page.html"
STYLESHEET = (Path(__file__).parent / "templates" / "rules_page.css").read_text(encoding="utf-8")
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLESHEET.encode("utf-8")).digest()).decode()
#: Only the page's own inline stylesheet may apply; nothing is fetched, framed or submitted.
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; img-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
}
#: The page changes only with a deployment or a settings change: cache for an hour, revalidate.
CACHE_CONTROL = "public, max-age=3600, must-revalidate"

_FLAG_WORD = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b|\b[A-Z]{3,}\b")
_SOURCE_ID = re.compile(r"\bS\d+\b")
_SPEC_IDS = re.compile(r"^((?:(?:E4|Q\d+)-\d+|§[\d.]+)(?:,\s*)?)+:?\s*")


# --- segments: text with some words linked to anchors ------------------------------------------
@dataclass(frozen=True, slots=True)
class Segment:
    """A run of text, linked to ``#anchor`` when ``anchor`` is set (rendered by the template)."""

    text: str
    anchor: str | None = None


def _link_words(
    text: str, pattern: re.Pattern[str], anchor_of: Mapping[str, str]
) -> tuple[Segment, ...]:
    out: list[Segment] = []
    pos = 0
    for m in pattern.finditer(text):
        anchor = anchor_of.get(m.group(0))
        if anchor is None:
            continue
        if m.start() > pos:
            out.append(Segment(text[pos : m.start()]))
        out.append(Segment(m.group(0), anchor))
        pos = m.end()
    if pos < len(text):
        out.append(Segment(text[pos:]))
    return tuple(out)


# --- flags --------------------------------------------------------------------------------------
@cache
def core_flag_names() -> tuple[str, ...]:
    """The names of the flags the core derives, in the §2 order (:class:`FlagName`), then any
    other name an evaluation of empty findings returns (the core derives every flag for any
    input: unknown when nothing is recorded). Pure; runs once."""
    names = [n.value for n in FlagName]
    assessment = evaluate(Findings(), RuleSet("urn:hipspine:rules-page", "0"))
    return tuple(names + [n for n in assessment.flags if n not in names])


@dataclass(frozen=True, slots=True)
class SourceLink:
    id: str
    anchor: str


def _source_links(ids: Iterable[str]) -> tuple[SourceLink, ...]:
    out = []
    for i in ids:
        try:
            found = sources.source(i)
            out.append(SourceLink(found.name, found.anchor))
        except KeyError:
            out.append(SourceLink(i, sources.source_anchor(i)))  # the test reports it
    return tuple(out)


@dataclass(frozen=True, slots=True)
class FlagRow:
    name: str
    anchor: str
    meaning: str
    derived: bool  # derived by the core as a flag (else a helper the rules or plan read)
    sources: tuple[SourceLink, ...] = ()


def flag_rows() -> tuple[FlagRow, ...]:
    """Every flag with a meaning, in §2 order, then any derived flag without one."""
    try:
        derived = core_flag_names()
    except Exception as exc:  # the page must answer (§6.2): fall back to the meanings' names
        log.error(
            "rules page: core flag names unavailable", extra={"error_type": type(exc).__name__}
        )
        derived = tuple(meanings.FLAG_MEANINGS)
    names = list(meanings.FLAG_MEANINGS) + [n for n in derived if n not in meanings.FLAG_MEANINGS]
    return tuple(
        FlagRow(
            n,
            meanings.flag_anchor(n),
            meanings.FLAG_MEANINGS.get(n, "(meaning not written yet)"),
            n in derived,
            _source_links(meanings.FLAG_SOURCES.get(n, ())),
        )
        for n in names
    )


def _flag_anchors(flags: tuple[FlagRow, ...] | None = None) -> dict[str, str]:
    return {row.name: row.anchor for row in (flag_rows() if flags is None else flags)}


# --- rules --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RuleRow:
    id: str
    anchor: str
    condition: tuple[Segment, ...]
    meaning: str
    sources: tuple[SourceLink, ...] = ()


def rule_rows(flags: tuple[FlagRow, ...] | None = None) -> tuple[RuleRow, ...]:
    """``flags``: the page's flag rows when already built (they give the anchors)."""
    flag_anchors = _flag_anchors(flags)
    return tuple(
        RuleRow(
            r.id,
            meanings.rule_anchor(r.id),
            _link_words(r.text, _FLAG_WORD, flag_anchors),
            meanings.RULE_MEANINGS.get(r.id, "(meaning not written yet)"),
            _source_links(meanings.RULE_SOURCES.get(r.id, ())),
        )
        for r in rules.RULES
    )


# --- thresholds ---------------------------------------------------------------------------------
_CONSTANT_LINE = re.compile(
    r"^(?P<name>[A-Z][A-Z0-9_]*)\s*(?::[^=]*)?=\s*(?P<value>.*?)\s*#\s*\[(?P<tag>[^\]]+)\]\s*"
    r"(?P<text>.*)$"
)
_SECTION_LINE = re.compile(r"^#\s*---\s*(?P<title>.+?)\s*-*\s*$")
_FIELD_LINE = re.compile(
    r"^\s+(?P<field>[a-z][a-z0-9_]*)\s*:\s*\w+\s*=\s*(?P<const>[A-Z][A-Z0-9_]*)"
)
_UNITS = {
    "deg": "°",
    "pct": " %",
    "mm": " mm",
    "days": " days",
    "weeks": " weeks",
    "years": " years",
    "wk": " weeks",
}


@dataclass(frozen=True, slots=True)
class ThresholdRow:
    name: str  # the Thresholds field name, else the constant's name
    anchor: str
    section: str
    value: str  # the value in force
    default: str  # the built-in default ("" for fixed constants)
    overridden: bool
    configurable: bool
    tag: str  # the full tag, e.g. "P; basis V S28–S33"
    tag_kind: str  # "V", "P", "M" or "V2"
    text: tuple[Segment, ...]
    tag_text: tuple[Segment, ...]  # the tag with its source ids linked
    spec_ids: str
    setting: str  # the environment setting that overrides it ("" for fixed constants)


def _number(value: Any) -> str:
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text
    if isinstance(value, tuple):
        if all(isinstance(v, tuple) and len(v) == 2 for v in value):
            return ", ".join(f"≤ {_number(v[0])} {v[1]}" for v in value)
        return "–".join(_number(v) for v in value)
    return str(value)


def _with_unit(name: str, value: Any) -> str:
    text = _number(value)
    unit = _UNITS.get(name.lower().rsplit("_", 1)[-1], "")
    return f"{text}{unit}" if isinstance(value, Decimal) else text


def _anchor(name: str) -> str:
    return name.lower().replace("_", "-")


@cache
def _sections() -> Mapping[str, str]:
    """Constant name -> the ``# --- Section ---`` heading it sits under in core/thresholds.py."""
    out: dict[str, str] = {}
    section = ""
    for line in inspect.getsource(thresholds).splitlines():
        if m := _SECTION_LINE.match(line):
            section = m.group("title")
        elif m := re.match(r"^([A-Z][A-Z0-9_]*)\b", line):
            out.setdefault(m.group(1), section)
    return out


@cache
def _register() -> tuple[tuple[str, str, str, str], ...]:
    """(section, constant name, tag, text) of every tagged constant, in file order (§0.5: every
    threshold is a named constant with its source tag, in one place): ``thresholds.REGISTER``,
    plus any ``# [TAG] text`` comment it does not list (the annotated bands)."""
    sections = _sections()
    found: dict[str, tuple[str, str]] = {}
    for line in inspect.getsource(thresholds).splitlines():
        if m := _CONSTANT_LINE.match(line):
            found[m.group("name")] = (m.group("tag").strip(), m.group("text"))
    register: Mapping[str, tuple[str, str]] = getattr(thresholds, "REGISTER", {})
    merged = {**found, **register}
    order = {name: i for i, name in enumerate(sections)}
    names = sorted(merged, key=lambda n: order.get(n, len(order)))
    return tuple((sections.get(n, ""), n, merged[n][0], merged[n][1]) for n in names)


@cache
def _field_constants() -> Mapping[str, str]:
    """Module constant -> the :class:`Thresholds` field it is the default of."""
    published: Mapping[str, str] | None = getattr(thresholds, "FIELD_CONSTANTS", None)
    if published is not None:
        return {const: field for field, const in published.items()}
    source = inspect.getsource(Thresholds)
    lines = map(_FIELD_LINE.match, source.splitlines())
    return {m.group("const"): m.group("field") for m in lines if m}


def threshold_rows(current: Thresholds) -> tuple[ThresholdRow, ...]:
    """Every threshold of §7, with the value in force (``current``) for the configurable ones."""
    by_constant = _field_constants()
    source_anchors = {s: sources.source_anchor(s) for s in sources.SOURCES if _SOURCE_ID.match(s)}
    rows: list[ThresholdRow] = []
    seen: set[str] = set()
    for section, constant, tag, text in _register():
        field_name = by_constant.get(constant)
        default_value = getattr(thresholds, constant)
        if field_name is not None:
            value = getattr(current, field_name)
            name = field_name
        else:
            value = default_value
            name = constant
        anchor = _anchor(name)
        if anchor in seen:
            continue
        seen.add(anchor)
        ids = _SPEC_IDS.match(text)
        spec_ids = ids.group(0).rstrip(": ").strip() if ids else ""
        plain = text[ids.end() :] if ids else text
        rows.append(
            ThresholdRow(
                name=name,
                anchor=anchor,
                section=section,
                value=_with_unit(name, value),
                default=_with_unit(name, default_value) if field_name else "",
                overridden=field_name is not None and value != default_value,
                configurable=field_name is not None,
                tag=tag,
                tag_kind=re.split(r"[;\s]", tag, maxsplit=1)[0],
                text=_link_words(
                    meanings.THRESHOLD_MEANINGS.get(name) or plain.lstrip(". "),
                    _SOURCE_ID,
                    source_anchors,
                ),
                tag_text=_link_words(tag, _SOURCE_ID, source_anchors),
                spec_ids=spec_ids,
                setting=f"THRESHOLD_{field_name.upper()}" if field_name else "",
            )
        )
    # A configurable field whose default is not a tagged constant still shows (tag unknown).
    for f in fields(Thresholds):
        anchor = _anchor(f.name)
        if anchor in seen:
            continue
        seen.add(anchor)
        value = getattr(current, f.name)
        rows.append(
            ThresholdRow(
                name=f.name,
                anchor=anchor,
                section="Other configurable thresholds",
                value=_with_unit(f.name, value),
                default=_with_unit(f.name, f.default),
                overridden=value != f.default,
                configurable=True,
                tag="P",
                tag_kind="P",
                text=(Segment(meanings.THRESHOLD_MEANINGS.get(f.name, f.name.replace("_", " "))),),
                tag_text=(Segment("P"),),
                spec_ids="",
                setting=f"THRESHOLD_{f.name.upper()}",
            )
        )
    return tuple(rows)


# --- recommendations ----------------------------------------------------------------------------
_VARIANT_WORDS = {
    "FUNCTIONAL": "secondary, functional",
    "STRUCTURAL": "secondary, structural",
    "HIP_DRIVEN": "secondary, hip-driven",
    "MT_CAUTION": "with a manual-therapy precaution",
    "EMERGENCY": "with an emergency red flag",
    "WHOLE_SPINE": "with a cancer history among the reasons",
    "AFTER_SURGERY": "after lumbar surgery",
    "FABER": "from FABER with posterior pain alone",
    "ESCALATED": "after a physiotherapy programme without relief",
    "NO_PATTERN": "nothing of the minimum set missing",
}
_PLACEHOLDERS = {
    "{hip}": "the named hip",
    "{items}": "the items named",
    "{precaution}": "the precaution named",
}


def _variant_label(key: str, keys: Iterable[str]) -> str:
    """Plain words for a variant key; the base ("") is "other cases" when named variants exist."""
    named = any(k and not k.startswith("+") for k in keys)
    if not key:
        return "Other cases" if any(keys) else ""
    parts = [p for p in key.split("+") if p]
    words = [_VARIANT_WORDS.get(p, p.replace("_", " ").lower()) for p in parts]
    if key.startswith("+") and named:
        words.insert(0, "other cases")
    label = ", ".join(words)
    return label[:1].upper() + label[1:]


def _fill(template: str) -> str:
    for placeholder, words in _PLACEHOLDERS.items():
        template = template.replace(placeholder, words)
    return template


@dataclass(frozen=True, slots=True)
class Variant:
    label: str
    instruction: str
    certainty: str | None
    sources: tuple[SourceLink, ...]


@dataclass(frozen=True, slots=True)
class RecRow:
    code: str
    anchor: str
    display: str
    definition: str
    hip_directed: bool
    retired: bool
    variants: tuple[Variant, ...]


def _addenda(code: str) -> tuple[tuple[str, str], ...]:
    """Sentences the plan adds to a code's instruction in a given case (AVN, myelopathy, a
    painful hip replacement …), when the catalogue publishes them as ``advice.ADDENDA``:
    ``{code: ((when, text), …)}`` or items with ``.when`` and ``.text``."""
    out = []
    for item in getattr(advice, "ADDENDA", {}).get(code, ()):
        when, text = (item.when, item.text) if hasattr(item, "when") else item
        out.append((str(when), str(text)))
    return tuple(out)


def recommendation_rows() -> tuple[RecRow, ...]:
    """Every code of the catalogue (§5.1), active ones in plan order, then the retired ones."""
    order = {code: i for i, code in enumerate(advice.PLAN_ORDER)}
    catalogue = sorted(
        advice.CATALOGUE.values(), key=lambda a: (a.retired, order.get(a.code, len(order)))
    )
    rows = []
    for a in catalogue:
        # The named variants, then the base ("other cases"), then the precaution variants.
        keys = sorted(enumerate(a.instruction), key=lambda ik: ("+" in ik[1], ik[1] == "", ik[0]))
        variants = tuple(
            Variant(
                _variant_label(key, tuple(a.instruction)),
                _fill(a.text(key)),
                a.certainty_of(key),
                _source_links(a.sources_of(key)),
            )
            for _, key in keys
        )
        variants += tuple(
            Variant(f"Added when {when}", _fill(text), None, ()) for when, text in _addenda(a.code)
        )
        rows.append(
            RecRow(a.code, a.code, a.display, a.definition, a.hip_directed, a.retired, variants)
        )
    return tuple(rows)


def review_words(current: Thresholds) -> str:
    """§5.2 "Review" (E4-17, Q4-42) and the success criterion [V S25], with the values in force."""
    weeks = _number(getattr(current, "review_weeks", Decimal(6)))
    return (
        f"A plan with a programme or care code is reviewed after {weeks} weeks "
        f"(8 weeks when lateral hip pain care is its only programme). Success: pain "
        f"−{_number(thresholds.MIC_NRS_POINTS)} points or −{_number(thresholds.MIC_NRS_PCT)} %, "
        f"Oswestry Disability Index −{_number(thresholds.MIC_ODI_POINTS)} points or "
        f"−{_number(thresholds.MIC_ODI_PCT)} %."
    )


# --- sources ------------------------------------------------------------------------------------
def source_rows() -> tuple[sources.Source, ...]:
    return tuple(sources.SOURCES.values())


# --- anchors ------------------------------------------------------------------------------------
@cache
def rules_page_anchors() -> frozenset[str]:
    """Every anchor ``GET /rules`` serves (the page's ids, whatever the configured values)."""
    return frozenset(
        [r.anchor for r in recommendation_rows()]
        + [r.anchor for r in rule_rows()]
        + [f.anchor for f in flag_rows()]
        + [t.anchor for t in threshold_rows(Thresholds())]
        + [s.anchor for s in source_rows()]
    )


def rules_link_ok(url: str, public_base_url: str) -> bool:
    """True when ``url`` is ``{base}/rules`` or ``{base}/rules#{anchor}`` with a served anchor."""
    page, fragment = urldefrag(url)
    if page != public_base_url.rstrip("/") + PATH:
        return False
    return not fragment or fragment in rules_page_anchors()


# --- the page -----------------------------------------------------------------------------------
def _grouped(rows: Iterable[ThresholdRow]) -> list[tuple[str, list[ThresholdRow]]]:
    grouped: dict[str, list[ThresholdRow]] = {}
    for row in rows:
        grouped.setdefault(row.section, []).append(row)
    return list(grouped.items())


@bp.get(PATH)
def rules_page() -> Response:
    """The rules page (HEAD answers the same headers, no body)."""
    svc = services()
    plan = svc.profiles.plan_definition
    flags = flag_rows()
    html = render_template(
        TEMPLATE,
        stylesheet=STYLESHEET,
        rule_set=svc.profiles.rule_set,
        rule_set_title=str(plan.get("title") or "Hip-spine syndrome rules"),
        experimental=bool(plan.get("experimental")),
        published=svc.profiles.published,
        service_version=svc.version,
        rules=rule_rows(flags),
        flags=flags,
        threshold_sections=_grouped(threshold_rows(svc.settings.thresholds)),
        recommendations=recommendation_rows(),
        review=review_words(svc.settings.thresholds),
        review_anchor="review-weeks" if hasattr(svc.settings.thresholds, "review_weeks") else "",
        sources=source_rows(),
    )
    resp = Response(html, status=200, mimetype="text/html")
    resp.headers["Cache-Control"] = CACHE_CONTROL
    resp.headers.update(SECURITY_HEADERS)
    resp.add_etag()
    resp.make_conditional(request)
    return resp
