"""GET /console and POST /console/evaluate (issue 13): the page, the evaluation view, what-if.

Through the real app (``create_app``). Console evaluations are never written to the audit store
and never call an EHR; flags and rules show values, never resource ids.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from service.app import create_app
from service.config import Settings
from service.core import meanings
from service.http.console import SCRIPT_PATH, STYLESHEET, example_names

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
HIP_DRIVEN = "secondary-hip-driven"
_RESOURCE_ID = re.compile(
    r"\b(?:Observation|Condition|Procedure|Patient)/[A-Za-z0-9\-.]+|urn:uuid:"
)


def _bundle(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def _evaluate(client: FlaskClient, body: Any) -> dict[str, Any]:
    resp = client.post("/console/evaluate", json=body)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    data: dict[str, Any] = resp.get_json()
    return data


def _count(app: Flask) -> int:
    return int(app.extensions["hipspine"].store.count_evaluations())


@pytest.fixture
def no_outbound(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Any HTTP call through requests fails the test: the console never calls an EHR."""
    calls: list[str] = []

    def refuse(self: requests.Session, method: str, url: str, *a: Any, **k: Any) -> Any:
        calls.append(url)
        raise AssertionError(f"the console called out: {method} {url}")

    monkeypatch.setattr(requests.Session, "request", refuse)
    yield calls


# --- the page ----------------------------------------------------------------------------------
def test_root_redirects_to_the_console(client: FlaskClient) -> None:
    resp = client.get("/")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/console")


def test_console_page_has_a_strict_csp_and_loads_nothing_from_elsewhere(
    client: FlaskClient,
) -> None:
    resp = client.get("/console")
    assert resp.status_code == 200
    assert resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    csp = resp.headers["Content-Security-Policy"]
    digest = base64.b64encode(hashlib.sha256(STYLESHEET.encode()).digest()).decode()
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert f"style-src 'sha256-{digest}'" in csp
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert f"<style>{STYLESHEET}</style>" in html
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts == [f'<script src="{SCRIPT_PATH}" defer>']
    assert not re.search(r"""(?:src|href)=["'](?:https?:)?//""", html)  # nothing from elsewhere
    assert 'href="/rules"' in html


def test_every_bundled_example_is_offered(client: FlaskClient) -> None:
    html = client.get("/console").get_data(as_text=True)
    bundles = sorted(
        p.stem
        for p in EXAMPLES.glob("*.json")
        if json.loads(p.read_text(encoding="utf-8")).get("resourceType") == "Bundle"
    )
    assert bundles and sorted(example_names()) == bundles
    for name in bundles:
        assert f'<option value="{name}">' in html


def test_an_example_is_served_by_name_and_nothing_else(client: FlaskClient) -> None:
    resp = client.get(f"/console/examples/{HIP_DRIVEN}")
    assert resp.status_code == 200
    assert resp.get_json() == _bundle(HIP_DRIVEN)
    for bad in ("no-such-example", "..%2Fpyproject", "README"):
        missing = client.get(f"/console/examples/{bad}")
        assert missing.status_code == 404
        assert missing.get_json()["resourceType"] == "OperationOutcome"


def test_script_is_plain_same_origin_javascript_that_never_injects_html(
    client: FlaskClient,
) -> None:
    resp = client.get(SCRIPT_PATH)
    assert resp.status_code == 200
    assert resp.mimetype == "text/javascript"
    js = resp.get_data(as_text=True)
    assert "innerHTML" not in js and "outerHTML" not in js and "eval(" not in js
    assert "document.write" not in js
    assert not re.search(r"""["'](?:https?:)?//""", js.replace("http://www.w3.org/2000/svg", ""))


def test_console_off_answers_404(tmp_path: Path) -> None:
    settings = Settings.from_env({"CONSOLE_ENABLED": "false"}).with_overrides(
        data_dir=tmp_path / "data"
    )
    assert settings.console_enabled is False
    app = create_app(settings)
    try:
        client = app.test_client()
        for path in ("/", "/console", SCRIPT_PATH, f"/console/examples/{HIP_DRIVEN}"):
            resp = client.get(path)
            assert resp.status_code == 404, path
            assert resp.get_json()["resourceType"] == "OperationOutcome"
        resp = client.post("/console/evaluate", json=_bundle(HIP_DRIVEN))
        assert resp.status_code == 404
    finally:
        app.extensions["hipspine"].store.close()


def test_console_is_off_unless_enabled() -> None:
    """Issue 13 item 7: off unless a deployment enables it; `make run` (development) does."""
    assert Settings.from_env({}).console_enabled is False
    assert Settings.from_env({"CONSOLE_ENABLED": "true"}).console_enabled is True
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    assert "CONSOLE_ENABLED=$${CONSOLE_ENABLED:-development}" in makefile


# --- the evaluation ----------------------------------------------------------------------------
def test_evaluate_shows_the_card_lead_plan_and_outputs(client: FlaskClient) -> None:
    view = _evaluate(client, _bundle(HIP_DRIVEN))
    assert view["category"]["code"] == "category-secondary"
    assert view["category"]["rule"] == "R7"
    assert view["lead"].startswith("The left hip may be contributing")
    card = view["cards"][0]
    assert card["indicator"] in {"info", "warning", "critical"}
    assert card["summary"] and card["detail"]
    plan = {p["code"]: p for p in view["plan"]}
    assert plan["rec-ortho-hip-referral"]["sides"] == ["left"]
    assert plan["rec-ortho-hip-referral"]["link"] == "/rules#rec-ortho-hip-referral"
    assert plan["rec-ortho-hip-referral"]["instruction"]
    assert view["impression"]["status"] == "completed"
    assert view["impression"]["findings"]
    assert view["care_plan"]["status"] == "draft"
    assert [a["display"] for a in view["care_plan"]["activities"]] == [
        p["display"] for p in view["plan"]
    ]
    assert view["raw"]["clinicalImpression"]["resourceType"] == "ClinicalImpression"
    assert view["raw"]["carePlan"]["resourceType"] == "CarePlan"


def test_why_every_flag_with_values_and_link_no_resource_ids(client: FlaskClient) -> None:
    view = _evaluate(client, _bundle(HIP_DRIVEN))
    flags = {f["name"]: f for f in view["flags"]}
    assert set(meanings.FLAG_MEANINGS) <= set(flags) | set(meanings.FLAG_MEANINGS) - set(flags)
    assert {f["value"] for f in view["flags"]} <= {"true", "false", "unknown"}
    ir = flags["RESTRICTED_IR"]
    assert ir["value"] == "true"
    assert "IR left 14°" in ir["basis"] and "15°" in ir["basis"]
    assert ir["link"] == f"/rules#{meanings.flag_anchor('RESTRICTED_IR')}" == "/rules#restricted-ir"
    for part in ("flags", "rules", "trace"):
        for row in view[part]:
            assert not _RESOURCE_ID.search(row["basis"]), row
    for text in (*view["missing"], *view["warnings"], *view["ignored"]):
        assert not _RESOURCE_ID.search(text)


def test_why_rules_in_order_with_the_one_that_fired(client: FlaskClient) -> None:
    view = _evaluate(client, _bundle(HIP_DRIVEN))
    ids = [r["rule"] for r in view["rules"]]
    assert ids == sorted(ids, key=lambda r: int(r[1:]))
    assert ids[0] == "R1"
    fired = [r["rule"] for r in view["rules"] if r["fired"]]
    assert fired == ["R7"]
    assert view["rules"][0]["link"] == "/rules#r1"


def test_picture_numbers_against_the_lines(client: FlaskClient) -> None:
    picture = _evaluate(client, _bundle(HIP_DRIVEN))["picture"]
    assert picture["ir"] == {"left": 14.0, "right": 30.0}
    assert picture["ir_line"] == 15.0
    assert picture["asymmetry"] == 16.0 and picture["asymmetry_line"] == 10.0
    assert picture["pi_ll"] == 4.0 and picture["pi_ll_line"] == 10.0


@pytest.mark.parametrize("name", example_names())
def test_every_example_evaluates_unrecorded_and_offline(
    name: str, app: Flask, client: FlaskClient, no_outbound: list[str]
) -> None:
    before = _count(app)
    view = _evaluate(client, _bundle(name))
    assert view["category"]["code"].startswith("category-")
    assert view["flags"] and view["rules"]
    # What-if too: never recorded, never an EHR call.
    _evaluate(client, {"bundle": _bundle(name), "overrides": {"pi-ll": 30}})
    assert _count(app) == before
    assert no_outbound == []


def test_the_fhir_operation_still_records(app: Flask, client: FlaskClient) -> None:
    """The control: the same store counts a real evaluation (so the console's 0 means 0)."""
    before = _count(app)
    resp = client.post("/fhir/$hip-spine-evaluate", json=_bundle(HIP_DRIVEN))
    assert resp.status_code == 200
    assert _count(app) == before + 1


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ('{"resourceType": "Patient"}', "application/json", 400),
        ("[1, 2]", "application/json", 400),
        ('{"bundle": 5}', "application/json", 400),
        ("", "application/json", 400),
        ("hello", "text/plain", 415),
    ],
)
def test_bad_input_gets_an_operation_outcome(
    client: FlaskClient, body: str, content_type: str, status: int
) -> None:
    resp = client.post("/console/evaluate", data=body, content_type=content_type)
    assert resp.status_code == status
    outcome = resp.get_json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["diagnostics"]


# --- what-if -----------------------------------------------------------------------------------
def _what_if(client: FlaskClient, overrides: dict[str, Any]) -> dict[str, Any]:
    return _evaluate(client, {"bundle": _bundle(HIP_DRIVEN), "overrides": overrides})


def test_what_if_names_the_threshold_crossed(client: FlaskClient) -> None:
    view = _what_if(client, {"rom.internal-rotation.left": 30})
    assert view["overrides"] == ["rom.internal-rotation.left"]
    assert view["picture"]["ir"]["left"] == 30.0
    changed = "\n".join(view["changes"])
    assert "RESTRICTED_IR became false (was true): IR left 30°" in changed
    assert "≥ 15° on both sides" in changed
    assert "ROT_ASYMMETRY became false" in changed and "< 10°" in changed
    edited = {e["key"]: e["value"] for e in view["editable"]}
    assert edited["rom.internal-rotation.left"] == 30.0


def test_what_if_red_flag_changes_category_and_plan(client: FlaskClient) -> None:
    view = _what_if(client, {"red-flag.rf-fever": True})
    assert view["base"]["category"]["code"] == "category-secondary"
    assert view["category"]["code"] == "category-red-flag"
    changed = view["changes"]
    assert changed[0].startswith("Category: ") and "(rule R7 → R1)" in changed[0]
    assert any(c.startswith("Plan adds: ") for c in changed)
    assert any(c.startswith("RED_FLAG became true") for c in changed)


def test_what_if_pi_ll_crosses_the_10_degree_line(client: FlaskClient) -> None:
    view = _what_if(client, {"pi-ll": 25})
    assert view["picture"]["pi_ll"] == 25.0
    assert view["category"]["rule"] == "R5"
    assert view["changes"][0] == "Subtype: hip-driven → structural (rule R7 → R5)"
    assert any("SPINE_PATH became true" in c and "> 10°" in c for c in view["changes"])


def test_what_if_sides_change(client: FlaskClient) -> None:
    view = _what_if(client, {"rom.internal-rotation.left": 30, "rom.internal-rotation.right": 10})
    assert any(c.startswith("Sides of ") and "left → left and right" in c for c in view["changes"])


def test_what_if_test_result_and_duration(client: FlaskClient) -> None:
    view = _what_if(client, {"test.test-fadir.left": "negative", "symptom-duration": 2})
    changed = "\n".join(view["changes"])
    assert "HIP_PROVOCATIVE became" in changed
    assert "SHORT_EPISODE became true" in changed and "< 6 weeks" in changed


def test_what_if_removing_a_finding_makes_it_unknown(client: FlaskClient) -> None:
    view = _what_if(
        client, {"rom.internal-rotation.left": None, "rom.internal-rotation.right": None}
    )
    flags = {f["name"]: f["value"] for f in view["flags"]}
    assert flags["ROT_ASYMMETRY"] == "unknown"
    assert view["picture"]["ir"] == {"left": None, "right": None}


@pytest.mark.parametrize(
    "overrides",
    [
        {"no-such-item": 1},
        {"rom.internal-rotation.middle": 10},
        {"rom.flexion.left": 10},
        {"rom.internal-rotation.left": "ten"},
        {"rom.internal-rotation.left": "NaN"},
        {"pi-ll": 10**6},
        {"test.test-fadir.left": "maybe"},
        {"red-flag.rf-fever": "yes"},
        {"red-flag.rf-unknown": True},
    ],
)
def test_what_if_bad_overrides_are_400(client: FlaskClient, overrides: dict[str, Any]) -> None:
    resp = client.post(
        "/console/evaluate", json={"bundle": _bundle(HIP_DRIVEN), "overrides": overrides}
    )
    assert resp.status_code == 400
    assert resp.get_json()["resourceType"] == "OperationOutcome"


# --- a patient on a FHIR server (the allowlist applies) ------------------------------------------
class _TinyFhirServer:
    """A FHIR server on 127.0.0.1 in a thread, serving one example Bundle's resources:
    ``GET /fhir/Patient/{id}`` and ``GET /fhir/{Type}?patient={id}`` (searchset)."""

    def __init__(self, bundle: dict[str, Any]) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class Quiet(WSGIRequestHandler):  # the stand-in server's own lines are not ours
            def log(self, type: str, message: str, *args: Any) -> None:
                pass

        self.resources = [e["resource"] for e in bundle["entry"]]
        self.requests: list[str] = []
        self.server = make_server("127.0.0.1", 0, self._app, request_handler=Quiet)
        self.url = f"http://127.0.0.1:{self.server.server_port}/fhir"
        import threading

        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        from urllib.parse import parse_qs

        path = environ["PATH_INFO"].removeprefix("/fhir/")
        query = parse_qs(environ.get("QUERY_STRING", ""))
        self.requests.append(path)
        kind, _, rid = path.partition("/")
        if rid:
            found = [r for r in self.resources if r["resourceType"] == kind and r["id"] == rid]
            status, body = ("200 OK", found[0]) if found else ("404 Not Found", {})
        else:
            patient = query.get("patient", [""])[0]
            matches = [
                r
                for r in self.resources
                if r["resourceType"] == kind
                and (r.get("subject") or r.get("patient") or {})
                .get("reference", "")
                .endswith(f"Patient/{patient}")
            ]
            status = "200 OK"
            body = {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": r, "search": {"mode": "match"}} for r in matches],
            }
        start_response(status, [("Content-Type", "application/fhir+json")])
        return [json.dumps(body).encode()]

    def __enter__(self) -> _TinyFhirServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


def _patient_app(tmp_path: Path, **overrides: Any) -> Flask:
    settings = Settings.from_env({"CONSOLE_ENABLED": "development"}).with_overrides(
        data_dir=tmp_path / "data", public_base_url="http://127.0.0.1:8080", **overrides
    )
    return create_app(settings)


def test_a_patient_is_read_from_an_allowlisted_server_and_evaluated_unrecorded(
    tmp_path: Path,
) -> None:
    bundle = _bundle(HIP_DRIVEN)
    patient = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    with _TinyFhirServer(bundle) as fhir:
        app = _patient_app(tmp_path, fhir_server_allowlist=(fhir.url,))
        try:
            client = app.test_client()
            html = client.get("/console").get_data(as_text=True)
            assert f'<option value="{fhir.url}">' in html and 'id="patient-id"' in html
            before = _count(app)
            resp = client.post(
                "/console/patient", json={"fhirServer": fhir.url, "patientId": patient["id"]}
            )
            assert resp.status_code == 200, resp.get_data(as_text=True)
            read = resp.get_json()
            assert read["resourceType"] == "Bundle"
            assert fhir.requests[0] == f"Patient/{patient['id']}"
            view = _evaluate(client, read)
            assert view["category"]["code"] == _evaluate(client, bundle)["category"]["code"]
            assert _count(app) == before  # read and evaluated, never recorded
        finally:
            app.extensions["hipspine"].store.close()


def test_a_server_off_the_allowlist_is_refused_before_any_request(tmp_path: Path) -> None:
    with _TinyFhirServer(_bundle(HIP_DRIVEN)) as fhir:
        app = _patient_app(tmp_path, fhir_server_allowlist=("https://fhir.example.org",))
        try:
            client = app.test_client()
            resp = client.post("/console/patient", json={"fhirServer": fhir.url, "patientId": "p1"})
            assert resp.status_code == 412
            assert "FHIR_SERVER_ALLOWLIST" in resp.get_json()["issue"][0]["diagnostics"]
            assert fhir.requests == []
        finally:
            app.extensions["hipspine"].store.close()


def test_without_an_allowlist_the_page_says_so(client: FlaskClient) -> None:
    html = client.get("/console").get_data(as_text=True)
    assert 'id="no-fhir-server"' in html and "FHIR_SERVER_ALLOWLIST" in html


def test_the_patient_read_needs_the_api_token_when_clients_are_set(tmp_path: Path) -> None:
    bundle = _bundle(HIP_DRIVEN)
    patient_id = next(
        e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    with _TinyFhirServer(bundle) as fhir:
        app = _patient_app(
            tmp_path,
            fhir_server_allowlist=(fhir.url,),
            fhir_api_clients=(("portal", "s3cret-token"),),
        )
        try:
            client = app.test_client()
            assert 'id="api-token"' in client.get("/console").get_data(as_text=True)
            body = {"fhirServer": fhir.url, "patientId": patient_id}
            assert client.post("/console/patient", json=body).status_code == 401
            wrong = {"Authorization": "Bearer nope"}
            assert client.post("/console/patient", json=body, headers=wrong).status_code == 401
            assert fhir.requests == []
            right = {"Authorization": "Bearer s3cret-token"}
            assert client.post("/console/patient", json=body, headers=right).status_code == 200
        finally:
            app.extensions["hipspine"].store.close()


@pytest.mark.parametrize(
    "body",
    [
        {"fhirServer": "https://fhir.example.org", "patientId": "../admin"},
        {"fhirServer": "", "patientId": "p1"},
        {"patientId": "p1"},
        {"fhirServer": "https://fhir.example.org", "patientId": 5},
        [1],
    ],
)
def test_the_patient_read_refuses_bad_input(client: FlaskClient, body: Any) -> None:
    resp = client.post("/console/patient", json=body)
    assert resp.status_code == 400
    assert resp.get_json()["resourceType"] == "OperationOutcome"


def test_no_patient_data_reaches_the_logs(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The console logs routes and statuses only: no patient id, resource id or value."""
    import io
    import logging

    from service.logs import JsonFormatter

    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(JsonFormatter())
    loggers = [logging.getLogger(n) for n in ("hipspine", "service", "")]
    for logger in loggers:
        logger.addHandler(handler)
    bundle = _bundle(HIP_DRIVEN)
    patient_id = next(
        e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    ids = [e["resource"]["id"] for e in bundle["entry"]]
    try:
        with _TinyFhirServer(bundle) as fhir:
            app = _patient_app(tmp_path, fhir_server_allowlist=(fhir.url,))
            try:
                client = app.test_client()
                body = {"fhirServer": fhir.url, "patientId": patient_id}
                assert client.post("/console/patient", json=body).status_code == 200
                _evaluate(client, bundle)
                _evaluate(client, {"bundle": bundle, "overrides": {"pi-ll": 25}})
                bad = {"bundle": bundle, "overrides": {"rom.internal-rotation.left": patient_id}}
                assert client.post("/console/evaluate", json=bad).status_code == 400
            finally:
                app.extensions["hipspine"].store.close()
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    out, err = capfd.readouterr()
    everything = "\n".join((sink.getvalue(), out, err))
    assert '"route": "/console/patient"' in everything or "/console/patient" in everything
    leaked = [i for i in ids if i in everything]
    assert leaked == []


def test_every_control_of_the_page_has_a_label(client: FlaskClient) -> None:
    """Accessible names: each input, select and textarea is named by a <label for=…>."""
    from html.parser import HTMLParser

    class Controls(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.ids: list[str] = []
            self.labelled: set[str] = set()

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = dict(attrs)
            if tag in {"input", "select", "textarea"}:
                self.ids.append(str(a.get("id")))
            if tag == "label" and a.get("for"):
                self.labelled.add(str(a["for"]))

    page = Controls()
    page.feed(client.get("/console").get_data(as_text=True))
    assert page.ids and set(page.ids) <= page.labelled
    js = client.get(SCRIPT_PATH).get_data(as_text=True)
    assert '"for": id' in js  # the what-if controls the script builds are labelled too


def test_without_an_examples_folder_the_page_says_so(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from service.http import console

    monkeypatch.setattr(console, "examples_dir", lambda: tmp_path / "absent")
    console.example_names.cache_clear()
    try:
        html = client.get("/console").get_data(as_text=True)
        assert 'id="no-examples"' in html
        assert client.get(f"/console/examples/{HIP_DRIVEN}").status_code == 404
    finally:
        console.example_names.cache_clear()


def test_an_unknown_patient_or_a_dead_server_is_an_operation_outcome(tmp_path: Path) -> None:
    with _TinyFhirServer(_bundle(HIP_DRIVEN)) as fhir:
        dead = f"http://127.0.0.1:{fhir.server.server_port}/gone"
        app = _patient_app(tmp_path, fhir_server_allowlist=(fhir.url,))
        try:
            client = app.test_client()
            body = {"fhirServer": fhir.url, "patientId": "nobody"}
            resp = client.post("/console/patient", json=body)
            assert resp.status_code in {404, 502}
            assert resp.get_json()["resourceType"] == "OperationOutcome"
            before = _count(app)
            assert (
                client.post("/console/patient", json={**body, "fhirServer": dead}).status_code
                == 412
            )
            assert _count(app) == before
        finally:
            app.extensions["hipspine"].store.close()


def test_examples_are_listed_by_name_a_base_example_before_its_variants() -> None:
    names = list(example_names())
    assert names == sorted(names)
    assert names.index("not-hss-spine") < names.index("not-hss-spine-replaced-hip")
