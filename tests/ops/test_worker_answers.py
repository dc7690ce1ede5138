"""The buffering worker (service/workers.py): its body limit is the app's setting, read once at
worker start, and its own answers (408, 413, gunicorn's refusals) carry the OperationOutcome the
http layer answers: one definition (``service.http.web``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from service.app import create_app
from service.config import Settings
from service.fhir.outcome import operation_outcome
from service.http.web import too_large_issue
from service.workers import (
    TIMEOUT_ISSUE,
    max_body_bytes,
    outcome_answer,
    timeout_answer,
    too_large_answer,
)


@pytest.fixture
def small_app(tmp_path: Path) -> Iterator[Flask]:
    settings = Settings.from_env({}).with_overrides(
        data_dir=tmp_path / "data", cds_auth_required=False, max_body_bytes=1234
    )
    app = create_app(settings)
    yield app
    app.extensions["hipspine"].store.close()


def split(answer: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    assert int(headers["Content-Length"]) == len(body)
    assert headers["Connection"] == "close"
    assert headers["Content-Type"] == "application/fhir+json"
    return status, headers, body


def test_the_limit_is_the_apps_setting_not_the_environment(
    small_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_BODY_BYTES", "999999")
    assert max_body_bytes(small_app) == 1234
    assert max_body_bytes(None) == 999999  # no app settings: the environment's


def test_the_workers_413_is_the_apps_413(small_app: Flask) -> None:
    status, _, body = split(too_large_answer(1234))
    assert status == "HTTP/1.1 413 Content Too Large"
    assert json.loads(body) == operation_outcome((too_large_issue(1234),))
    # the app's own 413 (werkzeug's MAX_CONTENT_LENGTH) says the same words
    resp = small_app.test_client().post(
        "/fhir/$hip-spine-evaluate", data=b"{" + b" " * 2000 + b"}", content_type="application/json"
    )
    assert resp.status_code == 413
    assert resp.get_json() == json.loads(body)


def test_the_408_and_gunicorns_refusals_are_operation_outcomes() -> None:
    status, _, body = split(timeout_answer())
    assert status == "HTTP/1.1 408 Request Timeout"
    assert json.loads(body) == operation_outcome((TIMEOUT_ISSUE,))
    assert json.loads(body)["issue"][0]["code"] == "timeout"
    status, _, body = split(outcome_answer(431, "Request Header Fields Too Large"))
    assert status == "HTTP/1.1 431 Request Header Fields Too Large"
    [issue] = json.loads(body)["issue"]
    assert (issue["severity"], issue["code"]) == ("error", "too-long")
    _, _, body = split(outcome_answer(500, "Internal Server Error"))
    assert json.loads(body)["issue"][0]["severity"] == "fatal"
