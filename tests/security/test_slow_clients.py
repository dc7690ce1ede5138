"""Slow clients do not starve the workers of `make serve-prod` or `hipspine serve` (issue 12,
item 1): requests are read whole by the worker's selector before the application sees them."""

from __future__ import annotations

import selectors
import socket
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
import requests

from service import workers
from service.workers import RequestReader

from .servers import HIPSPINE_SERVE, SERVE_PROD, serve, slow_clients

WORKERS = 2
SLOW = WORKERS * 4  # the probe needed two for serve-prod, four for hipspine serve
HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
GENEROUS_S = 15  # no timing is asserted: only that an answer comes at all


def _healthz(base: str) -> int:
    return requests.get(f"{base}/healthz", timeout=GENEROUS_S).status_code


@pytest.mark.parametrize("command", [SERVE_PROD, HIPSPINE_SERVE], ids=["serve-prod", "hipspine"])
def test_healthz_answers_while_slow_clients_trickle_headers(
    command: list[str], tmp_path: Path
) -> None:
    with serve(command, tmp_path) as server:
        with slow_clients(server.port, SLOW, HEAD, b"X-Slow: 1\r\n"):
            for _ in range(3):
                assert _healthz(server.base) == 200


def test_healthz_answers_while_slow_clients_trickle_bodies(tmp_path: Path) -> None:
    head = (
        b"POST /fhir/$hip-spine-evaluate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/fhir+json\r\nContent-Length: 100000\r\n\r\n{"
    )
    with serve(SERVE_PROD, tmp_path) as server:
        with slow_clients(server.port, SLOW, head, b" "):
            assert _healthz(server.base) == 200


def test_a_request_not_read_in_time_is_answered_408_and_closed(tmp_path: Path) -> None:
    with serve(SERVE_PROD, tmp_path, GUNICORN_REQUEST_READ_TIMEOUT="2") as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=GENEROUS_S) as sock:
            sock.sendall(HEAD)  # and never the blank line
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert b'"code":"timeout"' in answer
        assert _healthz(server.base) == 200


def test_bodies_chunked_or_declared_or_over_the_cap_still_reach_the_app(tmp_path: Path) -> None:
    with serve(SERVE_PROD, tmp_path, MAX_BODY_BYTES="100000") as server:
        url = f"{server.base}/fhir/$hip-spine-evaluate"
        headers = {"Content-Type": "application/fhir+json"}
        body = b'{"resourceType": "Bundle", "type": "collection", "entry": []}'
        assert requests.post(url, data=body, headers=headers, timeout=GENEROUS_S).status_code < 500
        chunked = requests.post(
            url, data=iter([body[:10], body[10:]]), headers=headers, timeout=GENEROUS_S
        )
        assert chunked.status_code < 500
        too_large = requests.post(url, data=b" " * 200_000, headers=headers, timeout=GENEROUS_S)
        assert too_large.status_code == 413
        assert _healthz(server.base) == 200


def _reader(max_body: int = 1000) -> RequestReader:
    return RequestReader(max_head=8192, max_body=max_body)


def test_a_request_is_ready_only_when_its_head_and_body_are_all_there() -> None:
    reader = _reader()
    assert not reader.feed(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n")
    assert not reader.feed(b"\r\nabc")
    assert reader.feed(b"de")
    assert _reader().feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")


def test_a_chunked_body_is_ready_at_its_last_chunk_and_trailers() -> None:
    reader = _reader()
    assert not reader.feed(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert not reader.feed(b"3\r\nabc\r\n")
    assert not reader.feed(b"0\r\nX-Trailer: 1\r\n")
    assert reader.feed(b"\r\n")


@pytest.mark.parametrize(
    "data",
    [
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"POST / HTTP/1.1\r\nNo colon here\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n",  # 2000 > cap
        b"GET /" + b"a" * 9000,  # a head over gunicorn's limits
        b"GET / HTTP/1.1\nHost: x\n\n",  # bare LF line ends
    ],
)
def test_what_gunicorn_or_the_app_refuses_is_handed_over_at_once(data: bytes) -> None:
    assert _reader().feed(data)


def test_a_declared_body_over_the_cap_is_discarded_then_refused_here() -> None:
    # Changed by issue 12 item 9's follow-up: no longer handed to the app at once (its drain
    # held a worker while the client trickled); read and thrown away here, then 413.
    reader = _reader()
    assert not reader.feed(b"POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" + b"x" * 1000)
    assert reader.too_large and len(reader.data) < 100  # the head only is kept
    assert not reader.feed(b"x" * 3999)
    assert reader.feed(b"x")
    continued = _reader()
    head = b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n"
    assert continued.feed(head)
    assert continued.too_large  # refused before the client sends the body


def test_expect_100_continue_is_noted_for_a_body() -> None:
    reader = _reader()
    head = b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"
    assert not reader.feed(head)
    assert reader.expects_continue and reader.wants_body


def test_a_request_fed_a_byte_at_a_time_is_ready_exactly_at_its_end() -> None:
    head = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    request = head + b"1;ext=1\r\na\r\n" * 100 + b"0\r\n\r\n"
    reader = _reader()
    ready = [reader.feed(request[i : i + 1]) for i in range(len(request))]
    assert ready == [False] * (len(request) - 1) + [True]
    assert bytes(reader.data) == request


def test_a_proxy_protocol_line_is_skipped() -> None:
    reader = _reader()
    proxy = b"PROXY TCP4 10.0.0.1 10.0.0.2 5000 8080\r\n"
    assert not reader.feed(proxy + b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n")
    assert reader.feed(b"{}")


def _bare_worker() -> Any:
    """A BufferingWorker's buffering half, without gunicorn's process machinery."""
    worker = workers.BufferingWorker.__new__(workers.BufferingWorker)
    worker._max_head, worker._max_body = 8192, 100_000
    worker._pending = OrderedDict()
    worker._buffered = 0
    worker._selector = selectors.DefaultSelector()
    return worker


def _read_all_sent(worker: Any) -> None:
    """Let the worker read what its newest connection sent (loopback: there at once)."""
    newest = next(reversed(worker._pending.values()))
    for _ in range(50):
        if len(newest.reader.data) > 1000 or newest not in worker._pending.values():
            return
        for key, _ in worker._selector.select(0.1):
            worker._read(key.data[1])


@pytest.mark.parametrize("bound", ["MAX_PENDING", "MAX_BUFFERED_BYTES"])
def test_past_a_workers_bounds_the_oldest_connection_is_dropped(
    bound: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workers, bound, 2 if bound == "MAX_PENDING" else 2500)
    worker = _bare_worker()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        clients = []
        for _ in range(3):
            client = socket.create_connection(listener.getsockname(), timeout=GENEROUS_S)
            client.sendall(b"GET / HTTP/1.1\r\nX-Pad: " + b"a" * 1000)  # never complete
            clients.append(client)
            worker._accept(listener)
            _read_all_sent(worker)
        try:
            assert len(worker._pending) == 2
            assert worker._buffered == sum(len(p.reader.data) for p in worker._pending.values())
            assert worker._buffered <= 2500
            assert clients[0].recv(1) == b""  # the oldest was closed
        finally:
            for client in clients:
                client.close()
            for pending in list(worker._pending.values()):
                worker._drop(pending)
            worker._selector.close()
