"""A failing ``jku`` is not re-fetched on every request (issue 12, item 2): a negative cache
with back-off per jku, one fetch in flight per URL, an overall deadline and a size cap."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import jwt
import pytest
import requests
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from service.cds_hooks.jwt_auth import (
    JKU_BACKOFF_SECONDS,
    JKU_STALE_SECONDS,
    JKU_TTL_SECONDS,
    JkuCache,
    verify,
)
from service.config import Settings
from service.errors import Unauthorized

from .trickle import slow_headers, trickling_server

JKU = "https://ehr.example.org/jwks.json"
ISS = "https://ehr.example.org"
BASE = "http://127.0.0.1:8080"
PATH = "/cds-services/hip-spine-patient-view"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _jwk(kid: str) -> dict[str, Any]:
    public = ec.generate_private_key(ec.SECP384R1()).public_key()
    found: dict[str, Any] = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public))
    return dict(found, kid=kid, alg="ES384")


def test_a_failing_jku_is_fetched_once_per_back_off_not_per_request(clock: Clock) -> None:
    cache = JkuCache(clock=clock)
    with responses.RequestsMock() as mock:
        mock.get(JKU, status=503)
        for _ in range(50):  # random kids while the jku is down
            assert cache.key(JKU, uuid.uuid4().hex) is None
        assert len(mock.calls) == 1
        clock.now += JKU_BACKOFF_SECONDS + 0.1  # back-off over: one more try, which fails
        assert cache.key(JKU, "k") is None
        assert len(mock.calls) == 2
        clock.now += JKU_BACKOFF_SECONDS + 0.1  # the back-off doubled: not yet
        assert cache.key(JKU, "k") is None
        assert len(mock.calls) == 2
        clock.now += JKU_BACKOFF_SECONDS
        mock.replace(responses.GET, JKU, json={"keys": [_jwk("k")]})
        assert cache.key(JKU, "k") is not None  # up again: fetched, and the back-off reset
        assert len(mock.calls) == 3


def test_a_connection_error_is_negatively_cached_too(clock: Clock) -> None:
    cache = JkuCache(clock=clock)
    with responses.RequestsMock() as mock:
        mock.get(JKU, body=requests.ConnectionError("refused"))
        for _ in range(10):
            assert cache.key(JKU, "k") is None
        assert len(mock.calls) == 1


def test_the_last_good_keys_stay_usable_while_the_jku_is_down(clock: Clock) -> None:
    cache = JkuCache(clock=clock)
    with responses.RequestsMock() as mock:
        mock.get(JKU, json={"keys": [_jwk("k")]})
        assert cache.key(JKU, "k") is not None
        mock.replace(responses.GET, JKU, status=500)
        clock.now += JKU_TTL_SECONDS + 1  # stale: refetched, which fails
        assert cache.key(JKU, "k") is not None
        assert cache.key(JKU, "k") is not None
        assert len(mock.calls) == 2
        clock.now += JKU_STALE_SECONDS  # too old to trust any longer
        assert cache.key(JKU, "k") is None


def test_a_trickling_jku_is_cut_off_at_the_deadline_and_then_backed_off() -> None:
    cache = JkuCache(deadline_seconds=0.5)
    answer = slow_headers(body=b'{"keys": []}', padding=2000)  # 100 s of headers
    with trickling_server(answer, path="/jwks.json") as server:
        assert cache.key(server.url, "k") is None
        assert server.hung_up.wait(timeout=30)
        assert 0 < server.sent_at_hang_up < answer.index(b"\r\n\r\n")
        assert cache.key(server.url, "k") is None
        assert server.connections == 1


def test_one_fetch_in_flight_per_jku() -> None:
    cache = JkuCache(deadline_seconds=2.0)
    answer = slow_headers(body=b'{"keys": []}', padding=2000)
    with trickling_server(answer, path="/jwks.json") as server:
        results: list[Any] = []
        threads = [
            threading.Thread(target=lambda: results.append(cache.key(server.url, "k")))
            for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert results == [None] * 8
        assert server.connections == 1


def test_a_jwk_set_over_the_size_cap_is_refused() -> None:
    big = {"keys": [_jwk("k")], "padding": "x" * 200_000}
    with responses.RequestsMock() as mock:  # declared length over the cap
        mock.get(JKU, json=big)
        assert JkuCache().key(JKU, "k") is None
    body = json.dumps(big).encode()
    answer = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body  # no length: read to the cap
    with trickling_server(answer, path="/jwks.json") as server:
        server.release.set()
        assert JkuCache().key(server.url, "k") is None
        assert server.connections == 1


def test_random_kids_for_an_allowlisted_jku_cost_one_fetch(tmp_path: Any) -> None:
    settings = Settings(
        data_dir=tmp_path,
        public_base_url=BASE,
        cds_issuers=(ISS,),
        cds_jku_allowlist=(JKU,),
    )
    key = ec.generate_private_key(ec.SECP384R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    cache = JkuCache()
    with responses.RequestsMock() as mock:
        mock.get(JKU, body=requests.ConnectTimeout("slow"))
        for _ in range(20):
            now = int(time.time())
            claims = {"iss": ISS, "aud": BASE + PATH, "iat": now, "exp": now + 300}
            claims["jti"] = uuid.uuid4().hex
            head = {"kid": uuid.uuid4().hex, "typ": "JWT", "jku": JKU}
            token = jwt.encode(claims, pem, algorithm="ES384", headers=head)
            with pytest.raises(Unauthorized):
                verify(
                    token,
                    audience_url=BASE + PATH,
                    settings=settings,
                    store=_NoStore(),
                    jku_cache=cache,
                )
        assert len(mock.calls) == 1


class _NoStore:
    def remember_jti(self, issuer: str, jti: str, expires_at: Any) -> bool:
        raise AssertionError("no token may get this far")
