"""Every refused JWT says why in the server log (issue 11 item 1), never the token; the JSON
log formatter renders %-arguments everywhere (the audit export and engine lines were blank)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from flask.testing import FlaskClient

from service.logs import JsonFormatter

from .support import BASE, claims_for, hook_body, sign

PATH = "/cds-services/hip-spine-patient-view"


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The hipspine.http log lines as the JSON formatter writes them."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("hipspine.http")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield out
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def _lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def _record(msg: str, *args: Any) -> logging.LogRecord:
    return logging.LogRecord("service.audit.export", logging.ERROR, __file__, 1, msg, args, None)


def test_the_json_formatter_renders_percent_arguments() -> None:
    for msg, args, want in [
        ("export job %s failed: %s", ("j-1", "OperationalError"), "export job j-1 failed: Op"),
        ("audit store cannot %s: %s", ("write", "TimeoutError"), "audit store cannot write"),
        ("cds-hooks 401: %s", ("no-token",), "cds-hooks 401: no-token"),
    ]:
        line = json.loads(JsonFormatter().format(_record(msg, *args)))
        assert line["message"].startswith(want)
        assert "%s" not in line["message"]


def test_arguments_that_do_not_fit_never_break_the_log_line() -> None:
    line = json.loads(JsonFormatter().format(_record("two %s %s", "one")))
    assert line["message"].startswith("two %s %s")


def _token(keys: SimpleNamespace, **claims: Any) -> dict[str, str]:
    token = sign(keys.ec, claims_for(PATH, **claims), headers={"kid": "ec-1", "typ": "JWT"})
    return {"Authorization": f"Bearer {token}"}


def test_an_aud_mismatch_logs_the_expected_and_received_url_not_the_token(
    client: FlaskClient, keys: SimpleNamespace, json_log: io.StringIO
) -> None:
    sent_aud = "http://localhost:8080" + PATH  # the EHR typed localhost, we are 127.0.0.1
    headers = _token(keys, aud=sent_aud)
    resp = client.post(PATH, json=hook_body(), headers=headers)
    assert resp.status_code == 401
    assert "localhost" not in resp.get_data(as_text=True)  # the caller sees no detail
    (line,) = [r for r in _lines(json_log) if r["message"] == "401 unauthorized"]
    assert line["reason"].startswith("aud-mismatch")
    assert line["expected_aud"] == BASE + PATH
    assert line["received_aud"] == sent_aud
    token = headers["Authorization"].removeprefix("Bearer ")
    assert all(part not in json_log.getvalue() for part in token.split("."))
    assert "jti" not in line and "sub" not in line


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (lambda keys: {}, "no-token"),
        (lambda keys: _token(keys, exp=1, iat=0), "expired"),
        (lambda keys: _token(keys, iss="https://other.example.org"), "iss-not-allowed"),
        (lambda keys: {"Authorization": "Bearer not-a-jwt"}, "malformed"),
    ],
)
def test_each_refusal_logs_which_check_refused(
    client: FlaskClient,
    keys: SimpleNamespace,
    json_log: io.StringIO,
    headers: Callable[[SimpleNamespace], dict[str, str]],
    reason: str,
) -> None:
    resp = client.post(PATH, json=hook_body(), headers=headers(keys))
    assert resp.status_code == 401
    (line,) = [r for r in _lines(json_log) if r["message"] == "401 unauthorized"]
    assert line["reason"].split(":")[0] == reason


def test_a_replayed_jti_is_named(
    client: FlaskClient, keys: SimpleNamespace, json_log: io.StringIO
) -> None:
    headers = _token(keys)
    assert client.post(PATH, json=hook_body(), headers=headers).status_code == 200
    assert client.post(PATH, json=hook_body(), headers=headers).status_code == 401
    reasons = [r["reason"] for r in _lines(json_log) if r["message"] == "401 unauthorized"]
    assert reasons[0].startswith("replayed-jti")


def test_the_401_body_is_bare_in_production_and_says_why_in_development(
    keys: SimpleNamespace, settings: Any, store: Any, pipeline: Any
) -> None:
    from dataclasses import replace

    from .support import build_app

    sent = _token(keys, aud="http://localhost:8080" + PATH)
    bare = build_app(settings, store, pipeline).test_client()
    body = bare.post(PATH, json=hook_body(), headers=sent).get_json()
    assert [i["diagnostics"] for i in body["issue"]] == ["unauthorized"]
    dev = build_app(replace(settings, cds_trust_sandbox_key=True), store, pipeline).test_client()
    resp = dev.post(PATH, json=hook_body(), headers=_token(keys, aud="http://localhost:8080"))
    assert resp.status_code == 401
    (issue,) = resp.get_json()["issue"]
    assert issue["diagnostics"].startswith("unauthorized: aud-mismatch")


def test_a_fhir_server_off_the_allowlist_logs_why_the_hook_got_412(
    client: FlaskClient, auth: Callable[..., dict[str, str]], json_log: io.StringIO
) -> None:
    body = hook_body(fhirServer="https://other.example.org/fhir")
    del body["prefetch"]["observations"]  # forces a fetch from the unlisted server
    resp = client.post(PATH, json=body, headers=auth(PATH))
    assert resp.status_code == 412
    (line,) = [r for r in _lines(json_log) if r["message"] == "412 refused"]
    assert line["reason"].startswith("fhirServer-not-allowlisted")
    assert "FHIR_SERVER_ALLOWLIST" in line["reason"]
