"""Issue 12 item 9: a chunked body over ``MAX_BODY_BYTES`` is refused with 413, never cut at
the limit and evaluated: against `make serve-prod` (the BufferingWorker), `hipspine serve`
(its threaded form) and the Flask app as the development server runs it."""

from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from service.app import create_app
from service.config import Settings
from tests.security.servers import HIPSPINE_SERVE, SERVE_PROD, serve

REPO = Path(__file__).resolve().parents[2]
LIMIT = 200_000
PV = "/cds-services/hip-spine-patient-view"


def over_the_limit() -> bytes:
    """A valid hook request within the limit, then spaces far past it: cut at the limit, it
    would still be a request the service evaluates."""
    body = (REPO / "examples/cds-hooks/patient-view-worked-example.json").read_bytes()
    assert len(body) < LIMIT
    return body + b" " * (LIMIT * 2)


def chunked(body: bytes, size: int = 16384) -> bytes:
    out = bytearray()
    for i in range(0, len(body), size):
        piece = body[i : i + size]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    return bytes(out + b"0\r\n\r\n")


def send_chunked(port: int, path: str, body: bytes) -> tuple[int, bytes]:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.settimeout(15)
        try:
            sock.sendall(head + chunked(body))
        except OSError:  # the server may answer and close before the whole body is sent
            pass
        answer = bytearray()
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    return status, bytes(answer.partition(b"\r\n\r\n")[2])


@pytest.fixture(scope="module", params=["serve-prod", "hipspine-serve", "werkzeug-dev"])
def port(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    tmp = tmp_path_factory.mktemp(request.param)
    if request.param == "werkzeug-dev":  # `flask run`: werkzeug's server dechunks itself
        settings = Settings.from_env({}).with_overrides(
            data_dir=tmp, cds_auth_required=False, max_body_bytes=LIMIT
        )
        app = create_app(settings)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server.server_port
        finally:
            server.shutdown()
            thread.join(timeout=10)
            app.extensions["hipspine"].store.close()
        return
    command = SERVE_PROD if request.param == "serve-prod" else HIPSPINE_SERVE
    with serve(command, tmp, MAX_BODY_BYTES=str(LIMIT)) as served:
        yield served.port


def test_a_chunked_body_within_the_limit_is_evaluated(port: int) -> None:
    body = (REPO / "examples/cds-hooks/patient-view-worked-example.json").read_bytes()
    status, _ = send_chunked(port, PV, body)
    assert status == 200


def test_a_chunked_body_over_the_limit_is_a_413_operation_outcome(port: int) -> None:
    status, answer = send_chunked(port, PV, over_the_limit())
    assert status == 413, answer[:300]
    assert json.loads(answer)["resourceType"] == "OperationOutcome"


def test_the_app_refuses_a_chunked_body_over_the_limit(client: FlaskClient) -> None:
    # As werkzeug's development server (`flask run`) hands it over: no length, a terminated
    # stream (the app's MAX_CONTENT_LENGTH is the default 5 MB here).
    body = b'{"hook":"patient-view"}' + b" " * (6 * 1024 * 1024)
    resp = client.post(
        PV,
        input_stream=io.BytesIO(body),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
    )
    assert resp.status_code == 413
