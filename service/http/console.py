"""``GET /console``: see what the service concludes for a Bundle, why, and what would change it
(issue 13).

One server-rendered page (Jinja) plus one plain script (``static/console.js``, no build step,
nothing fetched from elsewhere). The page posts a Bundle to ``POST /console/evaluate`` and
renders the JSON answer: the patient-view card as an EHR shows it, the lead and the plan with
sides, the ClinicalImpression and CarePlan in words, every §2 flag with the values behind it
(no resource ids), the rules tried in order, the missing data, and the warnings.

What-if: the page may send ``{"bundle": …, "overrides": {…}}``; the overrides replace findings
after extraction (a measurement, a test result, a red-flag item, the symptom duration) and the
answer names the flags that changed and the thresholds crossed.

Console evaluations are **never** written to the audit store (they are not recommendations for
a patient) and never call an EHR: they use :meth:`Pipeline.assess` and build the outputs and
the card without recording anything. Nothing of the input is logged.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, redirect, render_template

from service.cds_hooks.cards import ids_in_words, patient_view_cards, without_ids
from service.core import evaluate as evaluate_findings
from service.core import meanings
from service.core.assessment import Assessment
from service.core.classifications import pi_minus_ll
from service.core.findings import (
    BoolFinding,
    Findings,
    Measurement,
    Motion,
    Radiographic,
    RedFlag,
    Side,
    SidedTest,
    TestFinding,
    TestResult,
)
from service.core.red_flags import RED_FLAG_WORDS
from service.core.thresholds import PI_LL_MALALIGNMENT_DEG, RESTRICTED_IR_DEG
from service.errors import Forbidden, InvalidInput, NotFound
from service.fhir.extraction import Extraction
from service.fhir.outputs import build_outputs
from service.fhir_server.auth import BearerToken
from service.fhir_server.client import FhirServerClient
from service.fhir_server.records import fetch_patient_bundle
from service.http.registry import services
from service.http.smart import active_launch, console_access, frame_headers
from service.http.web import json_body
from service.metrics import observe_fhir_call

bp = Blueprint("console", __name__, template_folder="templates")

PATH = "/console"
TEMPLATE = "console.html"
_HERE = Path(__file__).parent
STYLESHEET = (_HERE / "templates" / "console.css").read_text(encoding="utf-8")
SCRIPT_PATH = "/console/console.js"
SCRIPT = (_HERE / "static" / "console.js").read_text(encoding="utf-8")  # read once
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLESHEET.encode("utf-8")).digest()).decode()
#: Script only from this service, by path; style only the page's own inline stylesheet (by
#: hash); the page's fetches go to this service only; nothing framed, nothing submitted away.
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; script-src 'self'; style-src 'sha256-{_STYLE_HASH}'; "
    "connect-src 'self'; img-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}
#: The findings the picture draws, and the lines it draws them against (§2, §7).
IR_LINE_DEG = RESTRICTED_IR_DEG
PI_LL_LINE_DEG = PI_LL_MALALIGNMENT_DEG
_EXAMPLE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")  # R4 id datatype
#: Seconds a console read of a FHIR server may spend waiting on 429/503 (a person is waiting).
PATIENT_RETRY_BUDGET = 5.0
WHAT_IF = "what-if"  # the source of every overridden finding


def examples_dir() -> Path:
    """The checkout's ``examples/`` folder (beside ``profiles/``, as the app finds those)."""
    return _HERE.parents[1] / "examples"


@cache
def example_names() -> tuple[str, ...]:
    """The bundled example Bundles, by file stem (``examples/*.json`` holding a Bundle)."""
    folder = examples_dir()
    if not folder.is_dir():
        return ()
    names = []
    # by stem: "complex" before "complex-avn" (by file name the ".json" sorts after "-")
    for path in sorted(folder.glob("*.json"), key=lambda p: p.stem):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("resourceType") == "Bundle":
            names.append(path.stem)
    return tuple(names)


def _enabled() -> None:
    if not services().settings.console_enabled:
        raise NotFound("the console is not enabled on this deployment (CONSOLE_ENABLED)")


def _headers(resp: Response) -> Response:
    resp.headers.update(SECURITY_HEADERS)
    return resp


@bp.get("/")
def root() -> Response:
    """``/`` leads to the console when it is enabled (404 otherwise)."""
    _enabled()
    return redirect(PATH, code=302)  # type: ignore[return-value]


@bp.get(PATH)
def console_page() -> Response:
    _enabled()
    svc = services()
    launch = active_launch()  # smart: opened from the EHR (SMART launch): that patient only
    html = render_template(
        TEMPLATE,
        stylesheet=STYLESHEET,
        script_path=SCRIPT_PATH,
        examples=() if launch else example_names(),
        fhir_servers=(launch.iss,) if launch else svc.settings.fhir_server_allowlist,
        needs_token=bool(svc.settings.fhir_api_clients) and launch is None,
        smart_patient=launch.patient if launch else None,
        rule_set=svc.profiles.rule_set,
        service_version=svc.version,
    )
    resp = _headers(Response(html, status=200, mimetype="text/html"))
    if launch is not None:  # an EHR may frame a launched page (CONSOLE_FRAME_ANCESTORS)
        resp.headers.pop("X-Frame-Options", None)
        resp.headers.update(frame_headers(SECURITY_HEADERS))
    return resp


@bp.get(SCRIPT_PATH)
def console_script() -> Response:
    _enabled()
    resp = Response(SCRIPT, status=200, mimetype="text/javascript")
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.get(f"{PATH}/examples/<name>")
def console_example(name: str) -> Response:
    """One bundled example Bundle, by name (only the names :func:`example_names` lists)."""
    _enabled()
    console_access()
    if not _EXAMPLE_NAME.match(name) or name not in example_names():
        raise NotFound(f"no bundled example named {name!r}")
    body = (examples_dir() / f"{name}.json").read_text(encoding="utf-8")
    return _headers(Response(body, status=200, mimetype="application/json"))


@bp.post(f"{PATH}/evaluate")
def console_evaluate() -> Response:
    """Evaluate a Bundle (or ``{"bundle": …, "overrides": {…}}``) without recording it."""
    _enabled()
    access = console_access()
    body = json_body()
    if isinstance(body, dict) and "bundle" in body and body.get("resourceType") is None:
        bundle = body["bundle"]
        overrides = body.get("overrides") or {}
    else:
        bundle, overrides = body, {}
    if not isinstance(bundle, dict):
        raise InvalidInput("send a FHIR Bundle (a JSON object)", ("Bundle",))
    if not isinstance(overrides, dict):
        raise InvalidInput("overrides must be a JSON object", ("overrides",))
    only = access.launch.patient if access.how == "smart" and access.launch else None
    answer = evaluate_view(bundle, overrides, only_patient=only)
    return _headers(Response(json.dumps(answer), status=200, mimetype="application/json"))


@bp.post(f"{PATH}/patient")
def console_patient() -> Response:
    """The Bundle of one patient read from a FHIR server on the allowlist
    (``{"fhirServer": url, "patientId": id}``): Patient, Observations, Conditions, Procedures.

    The page then evaluates it like a pasted Bundle (what-if included): nothing is recorded and
    nothing is written back. When ``FHIR_API_CLIENTS`` is set the caller needs one of its
    bearer tokens (the same as the FHIR operation) or a SMART launch session. A launched page
    reads its own patient on its own EHR with the session's token (kept on the server); a
    launch session reads nothing else. Neither the id nor the data is logged.
    """
    _enabled()
    settings = services().settings
    access = console_access()
    body = json_body()
    if not isinstance(body, dict):
        raise InvalidInput('send {"fhirServer": url, "patientId": id}', ("fhirServer",))
    server, patient_id = body.get("fhirServer"), body.get("patientId")
    if not isinstance(server, str) or not server.strip():
        raise InvalidInput("fhirServer: expects the base URL of a FHIR server", ("fhirServer",))
    if not isinstance(patient_id, str) or not _FHIR_ID.match(patient_id):
        raise InvalidInput("patientId: expects a FHIR id", ("patientId",))
    launch = access.launch
    launched = (
        launch is not None
        and server.strip().rstrip("/") == launch.iss
        and patient_id == launch.patient
    )
    if access.how == "smart" and not launched:
        raise Forbidden("a SMART launch reads only the patient it was launched for")
    client = FhirServerClient(
        server.strip(),
        auth=BearerToken(launch.access_token) if launched and launch else None,
        allowlist=settings.fhir_server_allowlist,  # checked before any request (412)
        allow_http=settings.fhir_allow_http,
        connect_timeout=settings.fhir_cli_connect_timeout,
        read_timeout=settings.fhir_cli_read_timeout,
        retry_budget=min(settings.fhir_retry_budget, PATIENT_RETRY_BUDGET),
        observe=observe_fhir_call,
    )
    with client:
        bundle = fetch_patient_bundle(client, patient_id)
    return _headers(Response(json.dumps(bundle), status=200, mimetype="application/json"))


# --- the evaluation, never recorded ------------------------------------------------------------
def evaluate_view(
    bundle: Mapping[str, Any], overrides: Mapping[str, Any], *, only_patient: str | None = None
) -> dict[str, Any]:
    """The page's view of one evaluation; with overrides, also the base and what changed.

    ``only_patient`` (a SMART launch session): the Bundle must be that patient's (403)."""
    svc = services()
    pipeline = svc.pipeline
    extraction, base = pipeline.assess(bundle)
    if only_patient is not None and extraction.patient_ref.rpartition("/")[2] != only_patient:
        raise Forbidden("a SMART launch evaluates only the patient it was launched for")
    view = _view(extraction, base)
    if overrides:
        changed = apply_overrides(extraction.findings, overrides)
        what_if_extraction = replace(extraction, findings=changed)
        after = evaluate_findings(changed, svc.profiles.rule_set, pipeline.thresholds)
        what_if = _view(what_if_extraction, after)
        what_if["editable"] = editable(changed)
        what_if["changes"] = changes(base, after)
        what_if["overrides"] = sorted(overrides)
        what_if["base"] = {
            "category": view["category"],
            "lead": view["lead"],
            "plan": view["plan"],
        }
        return what_if
    view["editable"] = editable(extraction.findings)  # the what-if answer carries its own
    return view


def _view(extraction: Extraction, assessment: Assessment) -> dict[str, Any]:
    svc = services()
    base_url = svc.settings.public_base_url
    outputs = build_outputs(
        assessment,
        extraction,
        recorded=datetime.now(UTC),
        profiles=svc.profiles,
        public_base_url=base_url,
    )
    notes = [w.diagnostics for w in extraction.warnings]
    notes += [f"Ignored: {i.diagnostics}" for i in extraction.ignored]
    patient_id = extraction.patient_ref.partition("/")[2] or "unknown"
    cards = patient_view_cards(
        assessment,
        patient_id=patient_id,
        hook_instance="console",
        relevant_count=extraction.relevant_count,
        warnings=notes,
        care_plan=outputs.suggested_care_plan,
        base_url=base_url,
    )
    rules_page = "/rules"
    return {
        "category": {
            "code": assessment.category.value,
            "subtype": assessment.subtype.value if assessment.subtype else None,
            "rule": assessment.rule,
            "display": _category_words(assessment),
        },
        "lead": assessment.lead,
        "summary": assessment.summary,
        "plan": [
            {
                "code": r.code,
                "display": r.display,
                "instruction": r.instruction,
                "sides": [s.value for s in r.sides],
                "certainty": r.certainty,
                "link": f"{rules_page}#{r.anchor}",
            }
            for r in assessment.recommendations
        ],
        "cards": cards,
        "flags": [
            {
                "name": f.name,
                "value": f.value.value if hasattr(f.value, "value") else str(f.value),
                "basis": words(f.basis),
                "link": f"{rules_page}#{meanings.flag_anchor(f.name)}",
                "meaning": meanings.FLAG_MEANINGS.get(f.name, ""),
            }
            for f in assessment.flags.values()
        ],
        "rules": [
            {
                "rule": t.rule,
                "verdict": t.verdict,
                "basis": words(t.basis),
                "fired": t.rule == assessment.rule,
                "link": f"{rules_page}#{meanings.rule_anchor(t.rule)}",
            }
            for t in assessment.trace
            if re.fullmatch(r"R\d+", t.rule)
        ],
        "trace": [
            {"step": t.rule, "verdict": t.verdict, "basis": words(t.basis)}
            for t in assessment.trace
            if not re.fullmatch(r"R\d+", t.rule) and t.rule not in assessment.flags
        ],
        "missing": list(assessment.missing),
        "data_quality": [words(d) for d in assessment.data_quality],
        "warnings": [words(w.diagnostics) for w in extraction.warnings],
        "ignored": [words(i.diagnostics) for i in extraction.ignored],
        "used_count": len(extraction.used),
        "relevant_count": extraction.relevant_count,
        "impression": readable_impression(outputs.clinical_impression),
        "care_plan": readable_care_plan(outputs.care_plan),
        "picture": picture(extraction.findings),
        "raw": {
            "clinicalImpression": outputs.clinical_impression,
            "carePlan": outputs.care_plan,
            "cards": cards,
        },
    }


def _category_words(assessment: Assessment) -> str:
    """The category's display, with the subtype's when there is one."""
    shown = {c.kind: c.display for c in assessment.conclusions if c.kind in {"category", "subtype"}}
    text = shown.get("category", assessment.category.value)
    return f"{text}; {shown['subtype']}" if "subtype" in shown else text


def words(text: str) -> str:
    """``text`` with no resource id (``Observation/…``, ``urn:uuid:…``): the values stay."""
    text = re.sub(r"urn:uuid:[0-9a-fA-F-]+", "", text)
    return ids_in_words(without_ids(text)).replace("()", "").strip()


def readable_impression(ci: Mapping[str, Any]) -> dict[str, Any]:
    findings = []
    for f in ci.get("finding") or []:
        concept = f.get("itemCodeableConcept") or {}
        coding = (concept.get("coding") or [{}])[0]
        findings.append(
            {
                "display": coding.get("display") or concept.get("text") or coding.get("code"),
                "basis": words(str(f.get("basis") or "")),
            }
        )
    return {
        "status": ci.get("status"),
        "description": ci.get("description"),
        "summary": ci.get("summary"),
        "findings": findings,
    }


def readable_care_plan(cp: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if cp is None:
        return None
    activities = []
    for a in cp.get("activity") or []:
        detail = a.get("detail") or {}
        code = detail.get("code") or {}
        coding = (code.get("coding") or [{}])[0]
        activities.append(
            {
                "display": coding.get("display") or code.get("text"),
                "description": detail.get("description"),
                "status": detail.get("status"),
            }
        )
    period = cp.get("period") or {}
    return {
        "title": cp.get("title"),
        "status": cp.get("status"),
        "intent": cp.get("intent"),
        "description": cp.get("description"),
        "period_end": period.get("end"),
        "activities": activities,
    }


# --- the picture -------------------------------------------------------------------------------
def _deg(m: Measurement | None) -> float | None:
    return float(m.value) if m is not None else None


def picture(f: Findings) -> dict[str, Any]:
    """The numbers the page draws: IR/ER per side against the 15° line, their asymmetry,
    PI−LL against the 10° line."""
    pill = pi_minus_ll(f)
    ir = {s.value: _deg(f.rom.get((Motion.INTERNAL_ROTATION, s))) for s in Side}
    er = {s.value: _deg(f.rom.get((Motion.EXTERNAL_ROTATION, s))) for s in Side}
    left, right = ir["left"], ir["right"]
    return {
        "ir": ir,
        "er": er,
        "ir_line": float(IR_LINE_DEG),
        "asymmetry": abs(left - right) if left is not None and right is not None else None,
        "asymmetry_line": float(services().pipeline.thresholds.rotation_asymmetry_deg),
        "pi_ll": float(pill.value) if pill is not None else None,
        "pi_ll_line": float(PI_LL_LINE_DEG),
    }


# --- what-if -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Editable:
    key: str
    label: str
    kind: str  # "number" | "test" | "bool"
    value: Any
    unit: str = ""


_ROM = (Motion.INTERNAL_ROTATION, Motion.EXTERNAL_ROTATION)
_WHAT_IF_TESTS = (SidedTest.FADIR, SidedTest.FABER, SidedTest.SLR, SidedTest.THOMAS)
_TEST_WORDS = {
    SidedTest.FADIR: "FADIR test",
    SidedTest.FABER: "FABER test",
    SidedTest.SLR: "Straight leg raise",
    SidedTest.THOMAS: "Thomas test",
}


def _words_of(enum_value: str) -> str:
    return enum_value.removeprefix("test-").removeprefix("rf-").replace("-", " ")


def editable(f: Findings) -> list[dict[str, Any]]:
    """The findings the page offers to change, with their current values (None: not recorded)."""
    items: list[Editable] = []
    for motion in _ROM:
        for side in Side:
            m = f.rom.get((motion, side))
            items.append(
                Editable(
                    f"rom.{motion.value}.{side.value}",
                    f"Hip {_words_of(motion.value)}, {side.value}",
                    "number",
                    _deg(m),
                    "°",
                )
            )
    pill = pi_minus_ll(f)
    items.append(Editable("pi-ll", "PI−LL", "number", float(pill.value) if pill else None, "°"))
    weeks = f.symptom_duration
    items.append(Editable("symptom-duration", "Symptom duration", "number", _deg(weeks), "weeks"))
    for test in _WHAT_IF_TESTS:
        for side in Side:
            t = f.sided_tests.get((test, side))
            label = f"{_TEST_WORDS.get(test, _words_of(test.value))}, {side.value}"
            items.append(
                Editable(
                    f"test.{test.value}.{side.value}",
                    label,
                    "test",
                    t.result.value if t else None,
                )
            )
    for kind in RedFlag:
        b = f.red_flags.get(kind)
        items.append(
            Editable(
                f"red-flag.{kind.value}",
                f"Red flag: {RED_FLAG_WORDS.get(kind, _words_of(kind.value))}",
                "bool",
                b.value if b else None,
            )
        )
    return [
        {"key": e.key, "label": e.label, "kind": e.kind, "value": e.value, "unit": e.unit}
        for e in items
    ]


def _number(key: str, raw: Any) -> Decimal:
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise InvalidInput(f"what-if {key}: expects a number; got {raw!r}", (key,)) from None
    if not value.is_finite() or abs(value) > 1000:
        raise InvalidInput(f"what-if {key}: expects a number between -1000 and 1000", (key,))
    return value


def _set(mapping: Mapping[Any, Any], key: Any, value: Any) -> dict[Any, Any]:
    out = dict(mapping)
    if value is None:
        out.pop(key, None)
    else:
        out[key] = value
    return out


def apply_overrides(f: Findings, overrides: Mapping[str, Any]) -> Findings:
    """``f`` with each override applied (``None`` removes the finding); the source of every
    changed finding is ``"what-if"``. An unknown key or a bad value is a 400."""
    for key, raw in overrides.items():
        parts = str(key).split(".")
        setter = _SETTERS.get(parts[0])
        if setter is None:
            raise InvalidInput(f"what-if: unknown item {key!r}", (str(key),))
        f = setter(f, parts[1:], raw, str(key))
    return f


def _side(key: str, value: str) -> Side:
    try:
        return Side(value)
    except ValueError:
        raise InvalidInput(f"what-if {key}: side must be left or right", (key,)) from None


def _rom(f: Findings, parts: list[str], raw: Any, key: str) -> Findings:
    if len(parts) != 2 or parts[0] not in {m.value for m in _ROM}:
        raise InvalidInput(f"what-if: unknown item {key!r}", (key,))
    where = (Motion(parts[0]), _side(key, parts[1]))
    value = None if raw is None else Measurement(_number(key, raw), WHAT_IF)
    return replace(f, rom=_set(f.rom, where, value))


def _pi_ll(f: Findings, parts: list[str], raw: Any, key: str) -> Findings:
    if parts:
        raise InvalidInput(f"what-if: unknown item {key!r}", (key,))
    radio = dict(f.radiographic)
    if raw is None:
        for kind in (
            Radiographic.PI_LL_MISMATCH,
            Radiographic.PELVIC_INCIDENCE,
            Radiographic.LUMBAR_LORDOSIS,
        ):
            radio.pop(kind, None)
    else:  # a measured PI−LL is read before PI − LL (§2)
        radio[Radiographic.PI_LL_MISMATCH] = Measurement(_number(key, raw), WHAT_IF)
    return replace(f, radiographic=radio)


def _duration(f: Findings, parts: list[str], raw: Any, key: str) -> Findings:
    if parts:
        raise InvalidInput(f"what-if: unknown item {key!r}", (key,))
    value = None if raw is None else Measurement(_number(key, raw), WHAT_IF, time=f.reference_time)
    return replace(f, symptom_duration=value)


def _test(f: Findings, parts: list[str], raw: Any, key: str) -> Findings:
    if len(parts) != 2 or parts[0] not in {t.value for t in SidedTest}:
        raise InvalidInput(f"what-if: unknown item {key!r}", (key,))
    where = (SidedTest(parts[0]), _side(key, parts[1]))
    if raw is None:
        return replace(f, sided_tests=_set(f.sided_tests, where, None))
    try:
        result = TestResult(raw)
    except ValueError:
        raise InvalidInput(f"what-if {key}: expects positive or negative", (key,)) from None
    old = f.sided_tests.get(where)
    found = (
        replace(old, result=result, source=WHAT_IF)
        if old is not None
        else TestFinding(result, WHAT_IF)
    )
    return replace(f, sided_tests=_set(f.sided_tests, where, found))


def _red_flag(f: Findings, parts: list[str], raw: Any, key: str) -> Findings:
    if len(parts) != 1 or parts[0] not in {r.value for r in RedFlag}:
        raise InvalidInput(f"what-if: unknown item {key!r}", (key,))
    if raw is not None and not isinstance(raw, bool):
        raise InvalidInput(f"what-if {key}: expects true, false or null", (key,))
    value = None if raw is None else BoolFinding(raw, WHAT_IF, f.reference_time)
    return replace(f, red_flags=_set(f.red_flags, RedFlag(parts[0]), value))


_SETTERS: Mapping[str, Callable[[Findings, list[str], Any, str], Findings]] = {
    "rom": _rom,
    "pi-ll": _pi_ll,
    "symptom-duration": _duration,
    "test": _test,
    "red-flag": _red_flag,
}


def changes(before: Assessment, after: Assessment) -> list[str]:
    """What the what-if changed, in words: category, plan and sides, each flag that changed
    with the values and the threshold behind its new value."""
    out: list[str] = []
    if before.category == after.category and before.subtype != after.subtype:
        out.append(
            f"Subtype: {_subtype_words(before)} → {_subtype_words(after)} "
            f"(rule {before.rule} → {after.rule})"
        )
    elif before.category != after.category:
        out.append(
            f"Category: {_category_words(before)} → {_category_words(after)} "
            f"(rule {before.rule} → {after.rule})"
        )
    elif before.rule != after.rule:
        out.append(f"Deciding rule: {before.rule} → {after.rule}")
    plan_before = {r.code: r for r in before.recommendations}
    plan_after = {r.code: r for r in after.recommendations}
    for code, r in plan_after.items():
        if code not in plan_before:
            out.append(f"Plan adds: {r.display}{_sides(r.sides)}")
        elif plan_before[code].sides != r.sides:
            out.append(
                f"Sides of {r.display}: {_sides(plan_before[code].sides, bare=True)} → "
                f"{_sides(r.sides, bare=True)}"
            )
    for code, r in plan_before.items():
        if code not in plan_after:
            out.append(f"Plan drops: {r.display}")
    for name, flag in after.flags.items():
        old = before.flags.get(name)
        if old is None or old.value != flag.value:
            was = old.value.value if old is not None else "absent"
            out.append(f"{name} became {flag.value.value} (was {was}): {words(flag.basis)}")
    return out


def _subtype_words(assessment: Assessment) -> str:
    for c in assessment.conclusions:
        if c.kind == "subtype":
            return c.display.removeprefix("Subtype: ")
    return "none"


def _sides(sides: tuple[Side, ...], *, bare: bool = False) -> str:
    if not sides:
        return "no side" if bare else ""
    text = " and ".join(s.value for s in sides)
    return text if bare else f" ({text})"
