"""No log line keeps an unrendered ``%s`` (issue 11 item 1): the JSON formatter used to drop
%-arguments, blanking the audit store's and the export's error lines."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from service.app import create_app
from service.audit.engine import unavailable_on_error
from service.config import Settings
from service.errors import StoreUnavailable
from service.logs import NAMESPACES, JsonFormatter

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def every_line() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.DEBUG)
    loggers = [logging.getLogger(n) for n in NAMESPACES]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    yield out
    for lg, level in zip(loggers, levels, strict=True):
        lg.removeHandler(handler)
        lg.setLevel(level)


def test_the_audit_store_error_line_names_the_action_and_the_cause(
    every_line: io.StringIO,
) -> None:
    with pytest.raises(StoreUnavailable), unavailable_on_error("write"):
        raise OperationalError("INSERT …", {}, ConnectionRefusedError())
    (line,) = [json.loads(raw) for raw in every_line.getvalue().splitlines()]
    assert line["message"] == "audit store cannot write: ConnectionRefusedError"


def test_no_line_of_a_busy_app_keeps_a_percent_placeholder(
    tmp_path: Path, every_line: io.StringIO
) -> None:
    app = create_app(Settings(data_dir=tmp_path, export_token="t0ken"))
    client = app.test_client()
    try:
        worked = (REPO / "examples" / "secondary-functional-worked-example.json").read_bytes()
        client.post(
            "/fhir/$hip-spine-evaluate",
            data=worked,
            headers={"Content-Type": "application/fhir+json"},
        )
        client.post("/cds-services/hip-spine-patient-view", json={})  # 401
        client.get("/no-such-route")
        client.get("/fhir/$export", headers={"Authorization": "Bearer wrong"})
    finally:
        app.extensions["hipspine"].store.close()
    lines = [json.loads(raw) for raw in every_line.getvalue().splitlines()]
    assert lines
    for line in lines:
        assert "%s" not in line["message"] and "%d" not in line["message"], line
