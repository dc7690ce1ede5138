"""Issue 12 item 11: gunicorn's own refusals (414 request line too long, 431 header fields
too large, 400 malformed) are OperationOutcomes in JSON, not HTML, on `make serve-prod` and
`hipspine serve`; they echo nothing the client sent."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from tests.security.servers import HIPSPINE_SERVE, SERVE_PROD, serve

TOKEN = "Bearer access-token-must-not-echo"


def exchange(port: int, head: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.settimeout(10)
        try:
            sock.sendall(head)
        except OSError:
            pass
        answer = bytearray()
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
    top, _, body = bytes(answer).partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    return status, headers, body


@pytest.fixture(scope="module", params=["serve-prod", "hipspine-serve"])
def port(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    command = SERVE_PROD if request.param == "serve-prod" else HIPSPINE_SERVE
    with serve(command, tmp_path_factory.mktemp(request.param)) as served:
        yield served.port


CASES = {
    "414": (414, b"GET /fhir/" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
    "431-field": (
        431,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: "
        + TOKEN.encode()
        + b"x" * 9000
        + b"\r\n\r\n",
    ),
    "431-count": (
        431,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
        + b"".join(b"X-F%d: %s\r\n" % (i, TOKEN.encode()) for i in range(120))
        + b"\r\n",
    ),
    "400": (
        400,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization " + TOKEN.encode() + b"\r\n\r\n",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_gunicorn_refusals_are_operation_outcomes(port: int, case: str) -> None:
    expected, head = CASES[case]
    status, headers, body = exchange(port, head)
    assert status == expected
    assert headers["content-type"] == "application/fhir+json"
    assert int(headers["content-length"]) == len(body)
    outcome = json.loads(body)
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["severity"] == "error"
    assert b"access-token" not in body and b"aaaa" not in body
