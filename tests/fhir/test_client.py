"""The one FHIR client: retries and Retry-After, failures by kind, paging, allowlist, SMART."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import jwt
import pytest
import requests
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from service.errors import FhirServerRejected, FhirServerUnavailable
from service.fhir_server.client import (
    BearerToken,
    Deadline,
    FhirServerClient,
    FhirServerNotAllowed,
    ResourceNotFound,
    SmartBackendAuth,
    parse_retry_after,
)

BASE = "https://fhir.example.org/r4"
OUTCOME = {
    "resourceType": "OperationOutcome",
    "issue": [{"severity": "error", "code": "invalid", "diagnostics": "Unknown patient p9"}],
}


class Sleeper:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeper() -> Sleeper:
    return Sleeper()


@pytest.fixture
def client(sleeper: Sleeper) -> Iterator[FhirServerClient]:
    with FhirServerClient(BASE, allowlist=(BASE,), retry_budget=10, sleep=sleeper) as c:
        yield c


def bundle(*ids: str, next_url: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": {"resourceType": "Observation", "id": i}} for i in ids],
    }
    if next_url:
        body["link"] = [{"relation": "next", "url": next_url}]
    return body


@pytest.mark.parametrize(
    "value, seconds",
    [
        ("7", 7.0),
        ("0", 0.0),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # in the past
        ("soon", None),
        ("-3", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(
    value: str | None, seconds: float | None
) -> None:
    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)
    assert parse_retry_after(value, now=now) == seconds


@pytest.mark.parametrize("status", [429, 503])
@responses.activate
def test_429_and_503_are_retried_after_the_servers_retry_after(
    client: FhirServerClient, sleeper: Sleeper, status: int
) -> None:
    responses.get(f"{BASE}/Patient/p1", status=status, headers={"Retry-After": "2"})
    responses.get(f"{BASE}/Patient/p1", json={"resourceType": "Patient", "id": "p1"})
    assert client.read("Patient", "p1")["id"] == "p1"
    assert sleeper.waits == [2.0]
    assert len(responses.calls) == 2


@responses.activate
def test_without_retry_after_the_client_backs_off_exponentially(
    client: FhirServerClient, sleeper: Sleeper
) -> None:
    for _ in range(3):
        responses.get(f"{BASE}/Patient/p1", status=503)
    responses.get(f"{BASE}/Patient/p1", json={"resourceType": "Patient", "id": "p1"})
    client.read("Patient", "p1")
    assert sleeper.waits == [0.5, 1.0, 2.0]


@responses.activate
def test_a_retry_after_beyond_the_budget_gives_up_at_once_as_unavailable(
    client: FhirServerClient, sleeper: Sleeper
) -> None:
    responses.get(f"{BASE}/Patient/p1", status=429, headers={"Retry-After": "60"}, json=OUTCOME)
    with pytest.raises(FhirServerUnavailable) as caught:
        client.read("Patient", "p1")
    assert sleeper.waits == []
    assert "429" in caught.value.diagnostics and "budget" in caught.value.diagnostics


@responses.activate
def test_retries_stop_when_the_budget_is_spent(sleeper: Sleeper) -> None:
    responses.get(f"{BASE}/Patient/p1", status=503, headers={"Retry-After": "4"})
    with FhirServerClient(BASE, allowlist=(BASE,), retry_budget=10, sleep=sleeper) as client:
        with pytest.raises(FhirServerUnavailable):
            client.read("Patient", "p1")
    assert sleeper.waits == [4.0, 4.0]  # a third wait would pass 10 s


@responses.activate
def test_a_retry_never_outlives_the_callers_deadline(sleeper: Sleeper) -> None:
    responses.get(f"{BASE}/Patient/p1", status=503, headers={"Retry-After": "1"})
    deadline = Deadline(0.8)
    with FhirServerClient(BASE, allowlist=(BASE,), deadline=deadline, sleep=sleeper) as client:
        with pytest.raises(FhirServerUnavailable):
            client.read("Patient", "p1")
    assert sleeper.waits == []


@pytest.mark.parametrize(
    "status, kind",
    [
        (400, FhirServerRejected),
        (403, FhirServerRejected),
        (404, ResourceNotFound),
        (422, FhirServerRejected),
        (408, FhirServerUnavailable),
        (500, FhirServerUnavailable),
        (502, FhirServerUnavailable),
    ],
)
@responses.activate
def test_errors_come_by_kind_and_quote_the_operation_outcome(
    client: FhirServerClient, status: int, kind: type[Exception]
) -> None:
    responses.get(f"{BASE}/Patient/p9", status=status, json=OUTCOME)
    with pytest.raises(kind) as caught:
        client.read("Patient", "p9")
    message = str(caught.value)
    assert str(status) in message and "Unknown patient p9" in message
    assert len(responses.calls) == 1


@responses.activate
def test_details_text_is_preferred_to_diagnostics(client: FhirServerClient) -> None:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [
            {"severity": "error", "code": "x", "details": {"text": "Bad"}, "diagnostics": "d"}
        ],
    }
    responses.get(f"{BASE}/Patient/p9", status=400, json=outcome)
    with pytest.raises(FhirServerRejected, match="Bad$"):
        client.read("Patient", "p9")


@pytest.mark.parametrize(
    "error", [requests.ConnectTimeout(), requests.ReadTimeout(), requests.ConnectionError()]
)
@responses.activate
def test_timeouts_and_network_errors_are_unavailable(
    client: FhirServerClient, error: Exception
) -> None:
    responses.get(f"{BASE}/Patient/p1", body=error)
    with pytest.raises(FhirServerUnavailable):
        client.read("Patient", "p1")


def test_each_timeout_is_capped_by_the_deadline() -> None:
    now = [0.0]
    deadline = Deadline(2.0, clock=lambda: now[0])
    client = FhirServerClient(
        BASE, allowlist=(BASE,), connect_timeout=5, read_timeout=30, deadline=deadline
    )
    assert client.effective_timeouts("x") == (2.0, 2.0)
    now[0] = 2.0
    with pytest.raises(FhirServerUnavailable):
        client.effective_timeouts("x")


@responses.activate
def test_a_search_follows_next_links_and_skips_outcome_entries(client: FhirServerClient) -> None:
    first = bundle("o1", next_url=f"{BASE}/Observation?page=2")
    first["entry"].append(
        {"resource": {"resourceType": "OperationOutcome"}, "search": {"mode": "outcome"}}
    )
    responses.get(f"{BASE}/Observation?patient=p1&_count=100", json=first)
    responses.get(f"{BASE}/Observation?page=2", json=bundle("o2"))
    found = client.search("Observation", {"patient": "p1", "_count": "100"})
    assert [r["id"] for r in found] == ["o1", "o2"]
    assert all(c.request.headers["Accept"] == "application/fhir+json" for c in responses.calls)


@responses.activate
def test_a_next_link_off_the_allowlist_is_refused_unsent(client: FhirServerClient) -> None:
    responses.get(
        f"{BASE}/Observation?patient=p1", json=bundle("o1", next_url="https://evil.test/2")
    )
    responses.get("https://evil.test/2", json=bundle("o2"))
    with pytest.raises(FhirServerNotAllowed):
        client.search("Observation", {"patient": "p1"})
    assert [c.request.url for c in responses.calls] == [f"{BASE}/Observation?patient=p1"]


@pytest.mark.parametrize(
    "url, allowlist",
    [
        ("https://other.example.org/r4", (BASE,)),
        ("https://fhir.example.org.evil.test/r4", ("https://fhir.example.org",)),
        ("http://fhir.example.org/r4", ("http://fhir.example.org/r4",)),  # plain http
        ("ftp://fhir.example.org/r4", ("ftp://fhir.example.org/r4",)),
    ],
)
@responses.activate
def test_a_refused_server_gets_zero_calls(url: str, allowlist: tuple[str, ...]) -> None:
    responses.get(f"{url}/Patient/p1", json={"resourceType": "Patient"})
    with FhirServerClient(url, allowlist=allowlist) as client:
        with pytest.raises(FhirServerNotAllowed):
            client.read("Patient", "p1")
    assert len(responses.calls) == 0


def test_the_client_refuses_to_work_outside_a_with_block() -> None:
    with pytest.raises(RuntimeError):
        FhirServerClient(BASE, allowlist=(BASE,)).read("Patient", "p1")


@responses.activate
def test_a_transaction_is_posted_to_the_base_as_fhir_json(client: FhirServerClient) -> None:
    answer = {"resourceType": "Bundle", "type": "transaction-response", "entry": []}
    responses.post(BASE, json=answer)
    tx = {"resourceType": "Bundle", "type": "transaction", "entry": []}
    assert client.transaction(tx) == answer
    assert responses.calls[0].request.headers["Content-Type"] == "application/fhir+json"


@responses.activate
def test_a_static_bearer_token_is_sent_and_never_shown(sleeper: Sleeper) -> None:
    responses.get(f"{BASE}/Patient/p1", json={"resourceType": "Patient", "id": "p1"})
    auth = BearerToken("s3cret")
    with FhirServerClient(BASE, allowlist=(BASE,), auth=auth) as client:
        client.read("Patient", "p1")
    assert responses.calls[0].request.headers["Authorization"] == "Bearer s3cret"
    assert "s3cret" not in repr(auth)


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@responses.activate
def test_smart_backend_services_discovers_the_endpoint_signs_and_caches_the_token(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    token_url = "https://auth.example.org/token"
    responses.get(f"{BASE}/.well-known/smart-configuration", json={"token_endpoint": token_url})
    responses.post(token_url, json={"access_token": "at-1", "expires_in": 300})
    responses.get(f"{BASE}/Patient/p1", json={"resourceType": "Patient", "id": "p1"})
    now = [1000.0]
    auth = SmartBackendAuth("client-1", pem(rsa_key), clock=lambda: now[0])
    with FhirServerClient(BASE, allowlist=(BASE,), auth=auth) as client:
        client.read("Patient", "p1")
        client.read("Patient", "p1")
        now[0] += 280  # within 30 s of expiry: a new token
        client.read("Patient", "p1")
    assert auth.fetches == 2
    body = responses.calls[1].request.body
    form = parse_qs(body.decode() if isinstance(body, bytes) else str(body))
    assert form["grant_type"] == ["client_credentials"]
    claims = jwt.decode(
        form["client_assertion"][0],
        rsa_key.public_key(),
        algorithms=["RS384"],
        audience=token_url,
        options={"verify_exp": False},
    )
    assert claims["iss"] == claims["sub"] == "client-1"
    reads = [c for c in responses.calls if c.request.url == f"{BASE}/Patient/p1"]
    assert {c.request.headers["Authorization"] for c in reads} == {"Bearer at-1"}
    discovery = [c for c in responses.calls if "smart-configuration" in (c.request.url or "")]
    assert len(discovery) == 1


@responses.activate
def test_a_401_with_a_cached_smart_token_fetches_a_fresh_one_once(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    token_url = "https://auth.example.org/token"
    responses.post(token_url, json={"access_token": "at-1", "expires_in": 300})
    responses.get(f"{BASE}/Patient/p1", status=401, json=OUTCOME)
    responses.get(f"{BASE}/Patient/p1", json={"resourceType": "Patient", "id": "p1"})
    auth = SmartBackendAuth("client-1", pem(rsa_key), token_url=token_url)
    with FhirServerClient(BASE, allowlist=(BASE,), auth=auth) as client:
        assert client.read("Patient", "p1")["id"] == "p1"
    assert auth.fetches == 2


def test_the_smart_signing_algorithm_follows_the_key_in_any_pem_form() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    from service.fhir_server.auth import signing_algorithm

    ec_key = ec.generate_private_key(ec.SECP384R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for fmt in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL):
        for key, expected in ((ec_key, "ES384"), (rsa_key, "RS384")):
            pem = key.private_bytes(
                serialization.Encoding.PEM, fmt, serialization.NoEncryption()
            ).decode()
            assert signing_algorithm(pem) == expected


@responses.activate
def test_every_call_is_told_to_the_injected_observer_not_to_a_metrics_module() -> None:
    # Issue 9: the client reports through the callback its builder passes (the metrics recorder
    # in the app and the CLI); the fhir_server package imports no metrics module.
    seen: list[tuple[str, int | str]] = []

    def observe(server: str, status: int | str, seconds: float) -> None:
        assert seconds >= 0
        seen.append((server, status))

    responses.get(f"{BASE}/Patient/p1", json={"resourceType": "Patient", "id": "p1"})
    responses.get(f"{BASE}/Patient/p2", body=requests.ConnectionError())
    with FhirServerClient(BASE, allowlist=(BASE,), max_retries=0, observe=observe) as client:
        client.read("Patient", "p1")
        with pytest.raises(FhirServerUnavailable):
            client.read("Patient", "p2")
    assert seen == [(BASE, 200), (BASE, "connection")]
