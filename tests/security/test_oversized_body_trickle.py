"""Clients that declare a body over ``MAX_BODY_BYTES`` and then trickle it cost no worker: the
BufferingWorker discards such a body itself, without blocking, and answers 413; the app never
waits on it (found while checking issue 12 item 9: the app's bounded drain held a worker up
to 10 s per connection, so four such clients left `make serve-prod` without `/healthz`)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest
import requests

from tests.security.servers import HIPSPINE_SERVE, SERVE_PROD, Served, serve, slow_clients

HEAD = (
    b"POST /fhir/$hip-spine-evaluate HTTP/1.1\r\nHost: x\r\n"
    b"Content-Type: application/fhir+json\r\nContent-Length: 6000000\r\n\r\n"
)


@pytest.fixture(scope="module", params=["serve-prod", "hipspine-serve"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    command = SERVE_PROD if request.param == "serve-prod" else HIPSPINE_SERVE
    with serve(command, tmp_path_factory.mktemp(request.param)) as s:
        yield s


def test_trickling_oversized_bodies_leave_the_workers_free(served) -> None:  # type: ignore[no-untyped-def]
    with slow_clients(served.port, 6, HEAD, b"x"):
        time.sleep(1.5)  # the trickle goes on: a worker that waited on it would be held now
        for _ in range(3):
            # the bound is the request's own (a timeout fails the test), not a timer
            assert requests.get(f"{served.base}/healthz", timeout=1.0).status_code == 200


def test_an_oversized_body_sent_whole_gets_the_413_outcome(served) -> None:  # type: ignore[no-untyped-def]
    body = b"{" + b" " * (15 * 1024 * 1024) + b"}"
    resp = requests.post(
        f"{served.base}/fhir/$hip-spine-evaluate",
        data=body,
        headers={"Content-Type": "application/fhir+json"},
        timeout=30,
    )
    assert resp.status_code == 413
    outcome = resp.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "too-costly"


def test_an_oversized_body_with_expect_continue_is_refused_before_it_is_sent(served) -> None:  # type: ignore[no-untyped-def]
    head = HEAD.replace(b"\r\n\r\n", b"\r\nExpect: 100-continue\r\n\r\n")
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
        sock.sendall(head)
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["resourceType"] == "OperationOutcome"
