"""Issue 12 item 11: an export kick-off flood meets 429 (``Retry-After``, an OperationOutcome)
once ``EXPORT_MAX_JOBS`` jobs are running; the count lives in the database, so replicas
(here: two workers of `make serve-prod`) share it."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from service.audit.jobs import ExportJobs, TooManyExportJobs
from service.audit.store import SqlAuditStore
from tests.security.servers import SERVE_PROD, serve

TOKEN = "export-flood-token"
HEADERS = {"Prefer": "respond-async", "Authorization": f"Bearer {TOKEN}"}


def kick_off_30(url: str) -> list[requests.Response]:
    with ThreadPoolExecutor(30) as pool:
        return list(pool.map(lambda _: requests.get(url, headers=HEADERS, timeout=20), range(30)))


def test_thirty_concurrent_kick_offs_meet_429_while_the_limit_is_running(tmp_path: Path) -> None:
    with serve(SERVE_PROD, tmp_path, EXPORT_TOKEN=TOKEN, EXPORT_MAX_JOBS="3") as served:
        url = f"{served.base}/fhir/$export"
        # Three jobs in progress, as another replica would have them: the rows are the state.
        store = SqlAuditStore(f"sqlite:///{tmp_path / 'data' / 'hipspine.db'}")
        try:
            running = [
                store.export_jobs.create(request="elsewhere", since=None, types=None)
                for _ in range(3)
            ]
            answers = kick_off_30(url)
            assert sorted(a.status_code for a in answers) == [429] * 30
            refused = answers[0]
            assert int(refused.headers["Retry-After"]) >= 1
            outcome = json.loads(refused.content)
            assert outcome["resourceType"] == "OperationOutcome"
            assert outcome["issue"][0]["code"] == "throttled"

            store.export_jobs.cancel(running[0].id)  # a place frees: kick-offs go through
            answers = kick_off_30(url)
            assert 202 in {a.status_code for a in answers}
            assert {a.status_code for a in answers} <= {202, 429}
        finally:
            store.close()


def test_the_limit_counts_running_jobs_in_the_database(tmp_path: Path) -> None:
    store = SqlAuditStore(f"sqlite:///{tmp_path / 'a.db'}")
    store.upgrade()
    try:
        jobs, other_replica = ExportJobs(store.engine), ExportJobs(store.engine)
        running = timedelta(seconds=30)
        first = jobs.create(request="r", since=None, types=None, max_running=2, running=running)
        other_replica.create(request="r", since=None, types=None, max_running=2, running=running)
        with pytest.raises(TooManyExportJobs) as refused:
            jobs.create(request="r", since=None, types=None, max_running=2, running=running)
        assert refused.value.status == 429 and refused.value.headers["Retry-After"]
        jobs.complete(first.id, [])  # a finished job frees its place
        third = jobs.create(request="r", since=None, types=None, max_running=2, running=running)
        assert jobs.cancel(third.id)  # so does a cancelled one
        jobs.create(request="r", since=None, types=None, max_running=2, running=running)
        # jobs older than the window (a lost worker, an old export) no longer count
        jobs.create(request="r", since=None, types=None, max_running=1, running=timedelta(0))
    finally:
        store.close()
