"""A client that sends a chunked body over ``MAX_BODY_BYTES`` and then trickles holds no worker:
the BufferingWorker answers 413 as soon as the chunk sizes pass the limit and drains the rest
in its selector (bounded), instead of handing the request to the app, whose drain blocked a
worker thread up to 10 s per connection. Against a real ``hipspine serve`` (gunicorn, the
BufferingWorker with two threads) on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from service.workers import RequestReader
from tests.processes import free_port, running

REPO = Path(__file__).resolve().parents[2]
HIPSPINE = REPO / ".venv" / "bin" / "hipspine"
LIMIT = 20_000
THREADS = 2
#: the chunked head, then a chunk that declares 1 MiB (over the limit) and sends 100 bytes of it
HEAD = (
    b"POST /fhir/$hip-spine-evaluate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/fhir+json\r\nTransfer-Encoding: chunked\r\n\r\n"
)
FIRST = HEAD + b"100000\r\n" + b" " * 100


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    tmp = tmp_path_factory.mktemp("chunked-trickle")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(
        DATA_DIR=str(tmp),
        HOST="127.0.0.1",
        PORT=str(port),
        CDS_AUTH_REQUIRED="false",
        MAX_BODY_BYTES=str(LIMIT),
    )
    base = f"http://127.0.0.1:{port}"
    with running(
        [str(HIPSPINE), "serve", "--threads", str(THREADS)],
        ready_url=f"{base}/healthz",
        log_path=tmp / "serve.log",
        what="hipspine serve",
        env=env,
    ):
        yield base, port


def _answer(sock: socket.socket) -> bytes:
    """What the server sent, up to its close (socket timeout: the test's bound, not a timer)."""
    out = bytearray()
    while chunk := sock.recv(65536):
        out += chunk
    return bytes(out)


def test_the_reader_refuses_a_chunked_body_once_its_sizes_pass_the_limit() -> None:
    reader = RequestReader(max_head=65536, max_body=LIMIT)
    assert reader.feed(HEAD) is False
    assert reader.feed(b"100000\r\n" + b" " * 10) is True
    assert reader.too_large and reader.chunked


def test_trickling_over_limit_chunked_bodies_get_413_and_leave_the_threads_free(
    base_url: tuple[str, int],
) -> None:
    base, port = base_url
    socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(THREADS + 1)]
    try:
        for sock in socks:
            sock.sendall(FIRST)
        # more clients than threads are still sending: the service answers others
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
        for sock in socks:
            sock.sendall(b" ")  # the trickle goes on; the 413 is there already
            answer = sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 413 "), answer[:100]
            body = json.loads(answer.partition(b"\r\n\r\n")[2])
            assert body["issue"][0]["code"] == "too-costly"
            assert f"larger than {LIMIT} bytes" in body["issue"][0]["diagnostics"]
    finally:
        for sock in socks:
            sock.close()
    assert requests.get(f"{base}/healthz", timeout=5).status_code == 200


def test_a_client_that_sends_the_whole_chunked_body_first_reads_the_413(
    base_url: tuple[str, int],
) -> None:
    base, port = base_url
    payload = b" " * (LIMIT * 5)
    body = b"".join(
        f"{len(payload[i : i + 8192]):x}\r\n".encode() + payload[i : i + 8192] + b"\r\n"
        for i in range(0, len(payload), 8192)
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            HEAD.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n") + body + b"0\r\n\r\n"
        )
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:100]
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["resourceType"] == "OperationOutcome"
    assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
