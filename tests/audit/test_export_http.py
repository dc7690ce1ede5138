"""Bulk Data ``$export`` of the audit trail through a small Flask app (standards.md §4.4)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, urlsplit

import orjson
import pytest
from fhir.resources.R4B import get_fhir_model_class
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from service.audit.store import SqlAuditStore
from service.config import Settings
from service.http.audit import bp
from service.http.web import register_error_handlers
from tests.audit.records import BASE_TIME, make_record, stored_times

TOKEN = "export-secret-token"
BASE = "http://audit.example.org"
ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}
AUTH = {"Authorization": f"Bearer {TOKEN}"}
N = 12  # evaluations: every 2nd one is a CDS Hooks call (GuidanceResponse)


@dataclass(frozen=True)
class ExportSettings(Settings):
    export_min_poll_seconds: float = 0.0


def _client(store: SqlAuditStore, **settings: object) -> FlaskClient:
    app = Flask(__name__)
    values = {"export_token": TOKEN, "public_base_url": BASE, **settings}
    app.config["SETTINGS"] = ExportSettings(**values)  # type: ignore[arg-type]
    app.extensions["hipspine"] = SimpleNamespace(store=store, settings=app.config["SETTINGS"])
    app.register_blueprint(bp)
    register_error_handlers(app)  # errors are answered app-level, for every surface
    return app.test_client()


@pytest.fixture
def filled(store: SqlAuditStore) -> SqlAuditStore:
    for i in range(1, N + 1):
        store.record_evaluation(make_record(i, hook=i % 2 == 0))
    return store


@pytest.fixture
def client(filled: SqlAuditStore) -> Iterator[FlaskClient]:
    yield _client(filled)


def _path(url: str) -> str:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == BASE
    return parts.path


def _kick_off(client: FlaskClient, query: str = "") -> str:
    resp = client.get(f"/fhir/$export{query}", headers={**ASYNC, **AUTH})
    assert resp.status_code == 202, resp.get_data(as_text=True)
    return resp.headers["Content-Location"]


def _poll_until_done(client: FlaskClient, status_url: str) -> TestResponse:
    for _ in range(200):
        resp = client.get(_path(status_url), headers=AUTH)
        if resp.status_code != 202:
            return resp
        assert resp.headers["Retry-After"].isdigit()
        time.sleep(0.02)
    raise AssertionError("the export never completed")


def _download(
    client: FlaskClient, manifest: dict[str, object]
) -> dict[str, list[dict[str, object]]]:
    files: dict[str, list[dict[str, object]]] = {}
    for output in manifest["output"]:  # type: ignore[attr-defined]
        resp = client.get(_path(output["url"]), headers=AUTH)
        assert resp.status_code == 200
        assert resp.mimetype == "application/fhir+ndjson"
        lines = [orjson.loads(line) for line in resp.get_data().splitlines()]
        assert {r["resourceType"] for r in lines} == {output["type"]}
        assert len(lines) == output["count"]
        files[output["type"]] = lines
    return files


def test_kick_off_answers_202_with_an_absolute_content_location(client: FlaskClient) -> None:
    status_url = _kick_off(client)
    assert status_url.startswith(f"{BASE}/fhir/$export-status/")
    _poll_until_done(client, status_url)


def test_a_full_export_round_trip_parses_with_r4b_and_the_counts_match(
    client: FlaskClient,
) -> None:
    resp = _poll_until_done(client, _kick_off(client))
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    manifest = resp.get_json()
    assert manifest["requiresAccessToken"] is True and manifest["error"] == []
    assert manifest["request"] == f"{BASE}/fhir/$export"
    assert manifest["transactionTime"].endswith("Z")
    files = _download(client, manifest)
    counts = {kind: len(items) for kind, items in files.items()}
    assert counts == {"AuditEvent": N, "CarePlan": N, "ClinicalImpression": N,
                      "GuidanceResponse": N // 2, "Provenance": N}  # fmt: skip
    for kind, items in files.items():
        for item in items:
            get_fhir_model_class(kind).model_validate(item)
    guidance: list[Any] = files["GuidanceResponse"]
    hook_instances = {g["requestIdentifier"]["value"] for g in guidance}
    assert "00000000-0000-4000-8000-000000000002" in hook_instances


def test_no_token_or_jwt_reaches_the_export(client: FlaskClient) -> None:
    manifest = _poll_until_done(client, _kick_off(client)).get_json()
    text = b"".join(
        client.get(_path(o["url"]), headers=AUTH).get_data() for o in manifest["output"]
    )
    assert TOKEN.encode() not in text and b"eyJ" not in text and b"access_token" not in text


def test_type_limits_the_export_to_the_types_asked_for(client: FlaskClient) -> None:
    resp = _poll_until_done(client, _kick_off(client, "?_type=GuidanceResponse,AuditEvent"))
    manifest = resp.get_json()
    assert sorted(o["type"] for o in manifest["output"]) == ["AuditEvent", "GuidanceResponse"]
    assert manifest["request"].endswith("?_type=GuidanceResponse,AuditEvent")


@pytest.mark.parametrize("zone", [UTC, timezone(timedelta(hours=2))])
def test_since_exports_only_what_was_recorded_in_the_store_after_it(
    client: FlaskClient, filled: SqlAuditStore, zone: timezone
) -> None:
    """``_since`` selects on when the store recorded an evaluation, strictly after it: the
    instant record 8 was stored (in any zone) exports records 9..12."""
    since = stored_times(filled)[7].astimezone(zone)
    manifest = _poll_until_done(client, _kick_off(client, f"?_since={quote(since.isoformat())}"))
    files = _download(client, manifest.get_json())
    assert len(files["AuditEvent"]) == N - 8
    assert [p["id"] for p in files["Provenance"]] == [f"prov-{i}" for i in range(9, N + 1)]


def test_since_ignores_the_evaluations_own_time(client: FlaskClient) -> None:
    """Records whose own ``recorded`` time is long past were still stored after this."""
    manifest = _poll_until_done(client, _kick_off(client, f"?_since={quote(str(BASE_TIME))}"))
    files = _download(client, manifest.get_json())
    assert len(files["ClinicalImpression"]) == N


def test_exports_chained_by_transaction_time_hold_every_record_exactly_once(
    client: FlaskClient, filled: SqlAuditStore
) -> None:
    """The tie rule: records up to the snapshot were stored at or before transactionTime,
    every later one strictly after it, so ``_since=<previous transactionTime>`` loses and
    repeats nothing, even when records are appended while each job runs."""
    seen: list[str] = []
    query, extra = "?_type=ClinicalImpression", N
    for _ in range(4):
        status_url = _kick_off(client, query)
        for _ in range(3):
            extra += 1
            filled.record_evaluation(make_record(extra, recorded=BASE_TIME))
        manifest = _poll_until_done(client, status_url).get_json()
        seen += [str(r["id"]) for r in _download(client, manifest).get("ClinicalImpression", [])]
        query = f"?_type=ClinicalImpression&_since={quote(manifest['transactionTime'])}"
    last = _poll_until_done(client, _kick_off(client, query)).get_json()
    seen += [str(r["id"]) for r in _download(client, last).get("ClinicalImpression", [])]
    assert sorted(seen) == sorted(f"ci-{i}" for i in range(1, extra + 1))


def test_a_record_appended_after_kick_off_is_not_in_that_export(
    client: FlaskClient, filled: SqlAuditStore
) -> None:
    status_url = _kick_off(client, "?_type=ClinicalImpression")
    filled.record_evaluation(make_record(N + 1))
    files = _download(client, _poll_until_done(client, status_url).get_json())
    assert len(files["ClinicalImpression"]) == N


@pytest.mark.parametrize(
    "query",
    ["?_type=Patient", "?_type=AuditEvent,Nonsense", "?_since=yesterday",
     "?_since=2026-01-01T00:00:00", "?_outputFormat=text/csv", "?_typeFilter=AuditEvent?x=1"],
)  # fmt: skip
def test_bad_parameters_are_refused_with_400_and_an_operation_outcome(
    client: FlaskClient, query: str
) -> None:
    resp = client.get(f"/fhir/$export{query}", headers={**ASYNC, **AUTH})
    assert resp.status_code == 400
    assert resp.mimetype == "application/fhir+json"
    assert resp.get_json()["resourceType"] == "OperationOutcome"


def test_kick_off_without_prefer_respond_async_is_refused(client: FlaskClient) -> None:
    resp = client.get("/fhir/$export", headers=AUTH)
    assert resp.status_code == 400 and "respond-async" in resp.get_data(as_text=True)


def test_delete_cancels_and_later_polls_answer_404(client: FlaskClient) -> None:
    status_url = _kick_off(client)
    resp = client.delete(_path(status_url), headers=AUTH)
    assert resp.status_code == 202
    resp = client.get(_path(status_url), headers=AUTH)
    assert resp.status_code == 404
    assert resp.get_json()["resourceType"] == "OperationOutcome"
    assert client.delete(_path(status_url), headers=AUTH).status_code == 404


def test_an_unknown_job_is_404(client: FlaskClient) -> None:
    resp = client.get("/fhir/$export-status/no-such-job", headers=AUTH)
    assert resp.status_code == 404


def test_polling_too_often_is_answered_429_with_retry_after(filled: SqlAuditStore) -> None:
    client = _client(filled, export_min_poll_seconds=30.0)
    status_url = _kick_off(client)
    assert client.get(_path(status_url), headers=AUTH).status_code in (200, 202)
    resp = client.get(_path(status_url), headers=AUTH)
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "30"
    assert resp.get_json()["issue"][0]["code"] == "throttled"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
     {"Authorization": "Bearer "}],
)  # fmt: skip
def test_a_missing_or_wrong_token_is_401_on_every_export_url(
    client: FlaskClient, headers: dict[str, str]
) -> None:
    status_url = _kick_off(client)
    manifest = _poll_until_done(client, status_url).get_json()
    for method, url in [
        ("GET", "/fhir/$export"),
        ("GET", _path(status_url)),
        ("DELETE", _path(status_url)),
        ("GET", _path(manifest["output"][0]["url"])),
    ]:
        resp = client.open(url, method=method, headers={**ASYNC, **headers})
        assert resp.status_code == 401, (method, url)
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        assert resp.get_json()["resourceType"] == "OperationOutcome"


def test_without_a_configured_token_the_export_is_disabled(filled: SqlAuditStore) -> None:
    client = _client(filled, export_token="")
    resp = client.get("/fhir/$export", headers={**ASYNC, "Authorization": "Bearer "})
    assert resp.status_code == 403
    assert resp.get_json()["issue"][0]["code"] == "forbidden"


def test_a_job_still_counting_answers_202_with_retry_after_and_progress(
    filled: SqlAuditStore,
) -> None:
    client = _client(filled)
    job = filled.export_jobs.create(request=f"{BASE}/fhir/$export", since=None, types=None)
    resp = client.get(f"/fhir/$export-status/{job.id}", headers=AUTH)
    assert resp.status_code == 202
    assert resp.headers["Retry-After"] == "1" and resp.headers["X-Progress"]


def test_a_job_whose_worker_vanished_is_finished_by_a_later_poll(filled: SqlAuditStore) -> None:
    client = _client(filled)
    job = filled.export_jobs.create(request=f"{BASE}/fhir/$export", since=None, types=None)
    filled.execute_sql(
        "UPDATE export_jobs SET created = :old WHERE id = :id",
        old=BASE_TIME, id=job.id,
    )  # fmt: skip
    resp = client.get(f"/fhir/$export-status/{job.id}", headers=AUTH)
    assert resp.status_code == 200
    assert {o["type"]: o["count"] for o in resp.get_json()["output"]}["AuditEvent"] == N


def test_an_evaluation_in_flight_at_kick_off_is_in_the_next_incremental_export(
    client: FlaskClient, filled: SqlAuditStore
) -> None:
    first = _poll_until_done(client, _kick_off(client, "?_type=ClinicalImpression")).get_json()
    started = datetime.fromisoformat(first["transactionTime"]) - timedelta(milliseconds=5)
    filled.record_evaluation(make_record(N + 1, recorded=started))  # began before, committed after
    query = f"?_type=ClinicalImpression&_since={quote(first['transactionTime'])}"
    time.sleep(0.01)
    second = _poll_until_done(client, _kick_off(client, query))
    exported = [o["count"] for o in second.get_json()["output"]]
    assert first["output"][0]["count"] + sum(exported) == N + 1
