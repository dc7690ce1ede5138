"""gunicorn's own error log is JSON and never quotes a request line or a header (issue 12,
item 6)."""

from __future__ import annotations

import json
import logging
import socket
import sys
from pathlib import Path

import requests

from service.logs import GunicornJsonFormatter

from .servers import GUNICORN, serve

TOKEN = "access-token-6f1e2d3c4b5a"
PATIENT = "pid-secret-4711"
PROBES = [
    # an invalid header line carrying a token (the probe's finding)
    f"GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization Bearer {TOKEN}\r\n\r\n",
    # an invalid header value
    f"GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\x01\r\n\r\n",
    # an invalid request line naming a patient
    f"GET /fhir/Patient/{PATIENT} HTTP/1.1 {TOKEN}\r\n\r\n",
    f"GET /fhir/Patient/{PATIENT}?t={TOKEN} HTTP/9.9\r\n\r\n",
    # a header name that is not a token
    f"GET /healthz HTTP/1.1\r\nHost: x\r\nX(Token): {TOKEN}\r\n\r\n",
    # over the header limits
    f"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Token: {TOKEN}{'a' * 9000}\r\n\r\n",
]


def _send(port: int, raw: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(raw.encode("latin-1"))
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
        return answer


def test_invalid_requests_leave_no_token_or_request_line_in_serve_prods_logs(
    tmp_path: Path,
) -> None:
    with serve(GUNICORN, tmp_path, LOG_LEVEL="DEBUG") as server:
        for raw in PROBES:
            assert _send(server.port, raw).startswith(b"HTTP/1.1 4")
        # a HEAD answer's body is dropped by gunicorn.http, which logs on its own
        assert requests.head(f"{server.base}/healthz", timeout=15).status_code == 200
    text = server.log_text()
    assert TOKEN not in text
    assert PATIENT not in text
    lines = [line for line in text.splitlines() if line.strip()]
    assert any('"Invalid request refused"' in line for line in lines)
    assert any("Starting gunicorn" in line for line in lines)
    for line in lines:
        assert isinstance(json.loads(line), dict), line


def _record(msg: object, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("gunicorn.error", logging.ERROR, __file__, 1, msg, args, exc_info)


def test_the_formatter_keeps_safe_arguments_and_drops_the_rest() -> None:
    fmt = GunicornJsonFormatter()
    safe = json.loads(fmt.format(_record("Booting worker with pid: %s", 42)))
    assert safe["message"] == "Booting worker with pid: 42"
    unknown = json.loads(fmt.format(_record("Error handling request %s", f"/Patient/{PATIENT}")))
    assert unknown["message"] == "Error handling request %s"
    quoted = fmt.format(_record(f"Invalid request from ip=1.2.3.4: Invalid HTTP Header: {TOKEN}"))
    assert TOKEN not in quoted and "1.2.3.4" not in quoted


def test_an_exception_is_written_as_its_type_and_frames_only() -> None:
    try:
        raise ValueError(f"bad header {TOKEN}")
    except ValueError as exc:
        line = json.loads(GunicornJsonFormatter().format(_record("Error", exc=exc)))
        as_object = json.loads(GunicornJsonFormatter().format(_record(exc)))
    assert line["error_type"] == "ValueError"
    assert any("test_gunicorn_log.py" in frame for frame in line["trace"])
    assert TOKEN not in json.dumps(line)
    assert as_object["message"] == "ValueError"
    assert sys.exc_info()[0] is None
