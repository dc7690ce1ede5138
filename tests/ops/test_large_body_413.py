"""A 15 MB body sent with Python's requests or urllib receives the 413 OperationOutcome, not a
connection reset (issue 11 item 3): the server reads and discards a too-large body (up to a
bound) before answering. Against a real ``hipspine serve`` (gunicorn) on 127.0.0.1: werkzeug's
development server drains bodies itself and never showed the reset."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from service.http.web import drain_body
from tests.processes import free_port, running

REPO = Path(__file__).resolve().parents[2]
HIPSPINE = REPO / ".venv" / "bin" / "hipspine"

BIG = b"{" + b" " * (15 * 1024 * 1024) + b"}"  # 15 MB, over the 5 MB default limit


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("serve413")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(DATA_DIR=str(tmp), HOST="127.0.0.1", PORT=str(port), CDS_AUTH_REQUIRED="false")
    env.pop("MAX_BODY_BYTES", None)  # the 5 MB default
    base = f"http://127.0.0.1:{port}"
    with running(
        [str(HIPSPINE), "serve"],
        ready_url=f"{base}/healthz",
        log_path=tmp / "serve.log",
        what="hipspine serve",
        env=env,
    ):
        yield base


def _assert_413_outcome(status: int, body: bytes) -> None:
    assert status == 413
    outcome = json.loads(body)
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "too-costly"


@pytest.mark.parametrize(
    "path", ["/fhir/$hip-spine-evaluate", "/cds-services/hip-spine-patient-view"]
)
def test_requests_gets_the_413_outcome_for_a_15_mb_body(base_url: str, path: str) -> None:
    resp = requests.post(
        base_url + path,
        data=BIG,
        headers={"Content-Type": "application/fhir+json"},
        timeout=60,
    )
    _assert_413_outcome(resp.status_code, resp.content)


def test_urllib_gets_the_413_outcome_for_a_15_mb_body(base_url: str) -> None:
    req = urllib.request.Request(
        base_url + "/fhir/$hip-spine-evaluate",
        data=BIG,
        headers={"Content-Type": "application/fhir+json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(req, timeout=60)  # noqa: S310 (loopback test server)
    _assert_413_outcome(caught.value.code, caught.value.read())


def test_the_drain_is_bounded() -> None:
    class Endless:
        read_bytes = 0

        def read(self, n: int) -> bytes:
            self.read_bytes += n
            return b" " * n

    stream = Endless()
    environ = {"wsgi.input": stream, "CONTENT_LENGTH": str(10**12)}
    assert drain_body(environ, limit=1024) is False and stream.read_bytes == 0
    environ = {"wsgi.input": stream, "CONTENT_LENGTH": "3000"}
    assert drain_body(environ, limit=4096) is True and stream.read_bytes == 3000
    stream.read_bytes = 0  # and in time: a trickling client is not waited for
    environ = {"wsgi.input": stream, "CONTENT_LENGTH": str(10**6)}
    assert drain_body(environ, seconds=-1) is False and stream.read_bytes == 0
