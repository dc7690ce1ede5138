"""Bulk Data ``$export`` of the audit trail (standards.md §4.4, §7 items 46-51): blueprint ``bp``.

Reads the registry's (:func:`service.http.registry.services`) ``settings`` (``export_token``,
``public_base_url``, ``export_min_poll_seconds``) and ``store`` (a
:class:`~service.audit.store.SqlAuditStore`). Jobs live in the database: any replica can
answer any poll.
"""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime, timedelta
from typing import cast

import orjson
from flask import Blueprint, Response, request, stream_with_context

from service.audit.export import (
    check_export_token,
    manifest,
    ndjson_lines,
    parse_kickoff,
    run_job,
)
from service.audit.jobs import COMPLETE, FAILED, IN_PROGRESS, ExportJob
from service.audit.store import SqlAuditStore
from service.config import Settings
from service.errors import Issue, NotFound, TooManyRequests
from service.http.registry import services
from service.http.web import outcome_response

bp = Blueprint("audit_export", __name__)

FHIR_JSON = "application/fhir+json"
NDJSON = "application/fhir+ndjson"
# A job still in progress this long after its kick-off lost its worker: the next poll runs it.
STALE_JOB = timedelta(seconds=30)
JOB_RETENTION = timedelta(days=1)


def _settings() -> Settings:
    return services().settings


def _store() -> SqlAuditStore:
    return cast(SqlAuditStore, services().store)  # the export jobs live in the SQL store


def _base_url() -> str:
    return str(_settings().public_base_url).rstrip("/")


def _min_poll_seconds() -> float:
    return _settings().export_min_poll_seconds


def _retry_after() -> int:
    return max(1, math.ceil(_min_poll_seconds()))


def _outcome(status: int, issues: tuple[Issue, ...], **headers: str) -> Response:
    resp = outcome_response(status, issues)
    for name, value in headers.items():
        resp.headers[name.replace("_", "-")] = value
    return resp


def _authorise() -> None:
    check_export_token(request.headers.get("Authorization"), str(_settings().export_token))


def _live_job(job_id: str) -> ExportJob:
    job = _store().export_jobs.get(job_id)
    if job is None or job.cancelled:
        raise NotFound(f"no export job {job_id} (unknown, expired or cancelled)")
    return job


@bp.get("/fhir/$export")
def kick_off() -> Response:
    _authorise()
    wanted = parse_kickoff(request.args.to_dict(flat=False), request.headers.get("Prefer", ""))
    store = _store()
    store.export_jobs.purge(JOB_RETENTION)
    query = request.query_string.decode()
    job = store.export_jobs.create(
        request=f"{_base_url()}{request.path}" + (f"?{query}" if query else ""),
        since=wanted.since,
        types=wanted.types,
        max_running=_settings().export_max_jobs,  # a flood of kick-offs: 429 (issue 12 item 11)
        running=STALE_JOB,
    )
    worker = threading.Thread(target=run_job, args=(store, job), name=f"export-{job.id}")
    worker.daemon = True
    worker.start()
    accepted = Issue("information", "informational", f"export {job.id} accepted")
    return _outcome(
        202, (accepted,), Content_Location=f"{_base_url()}/fhir/$export-status/{job.id}"
    )


@bp.get("/fhir/$export-status/<job_id>")
def poll(job_id: str) -> Response:
    _authorise()
    store = _store()
    job = _live_job(job_id)
    if not store.export_jobs.claim_poll(job_id, _min_poll_seconds()):
        raise TooManyRequests("polling too often", retry_after=_retry_after())
    if job.status == IN_PROGRESS and datetime.now(UTC) - job.created > STALE_JOB:
        run_job(store, job)
        job = _live_job(job_id)
    if job.status == IN_PROGRESS:
        headers = {"Retry-After": str(_retry_after()), "X-Progress": "counting records"}
        return Response(status=202, headers=headers)
    if job.status == FAILED:
        failure = Issue("error", "exception", job.error or "the export failed")
        return _outcome(500, (failure,))
    assert job.status == COMPLETE
    body = orjson.dumps(manifest(job, _base_url()))
    return Response(body, status=200, mimetype="application/json")


@bp.delete("/fhir/$export-status/<job_id>")
def cancel(job_id: str) -> Response:
    _authorise()
    if not _store().export_jobs.cancel(job_id):
        raise NotFound(f"no export job {job_id} (unknown, expired or cancelled)")
    return _outcome(202, (Issue("information", "informational", f"export {job_id} cancelled"),))


@bp.get("/fhir/$export-file/<job_id>/<resource_type>.ndjson")
def download(job_id: str, resource_type: str) -> Response:
    _authorise()
    job = _live_job(job_id)
    if job.status != COMPLETE or resource_type not in dict(job.output):
        raise NotFound(f"export {job_id} has no {resource_type} file")
    store = _store()
    lines = stream_with_context(ndjson_lines(store, job, resource_type))
    return Response(lines, status=200, mimetype=NDJSON)
