"""The fallback fetch: allowlist, timeouts, FHIR server errors, paging, the deadline."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import responses

from service.cds_hooks.discovery import service_by_id
from service.cds_hooks.fhir_fetch import (
    DataUnavailable,
    Deadline,
    FhirFetcher,
    FhirServerNotAllowed,
    on_allowlist,
)
from service.cds_hooks.prefetch import gather_bundle, resolve_template
from service.config import Settings

from .support import FHIR, PATIENT, hook_body, observation, searchset

PATIENT_VIEW = service_by_id("hip-spine-patient-view")
AUTHZ = {
    "access_token": "tok",
    "token_type": "Bearer",
    "expires_in": 300,
    "scope": "s",
    "subject": "c",
}


def request_without(*keys: str, **extra: Any) -> dict[str, Any]:
    body = hook_body(**{"fhirServer": FHIR, "fhirAuthorization": AUTHZ, **extra})
    for key in keys:
        del body["prefetch"][key]
    return body


def gather(body: dict[str, Any], settings: Settings, seconds: float = 2.5) -> dict[str, Any]:
    assert PATIENT_VIEW is not None
    return gather_bundle(body, PATIENT_VIEW, settings=settings, deadline=Deadline(seconds))


@pytest.mark.parametrize(
    "url, allowed",
    [
        (f"{FHIR}/Patient/1", True),
        (f"{FHIR}?x=1", True),
        (FHIR, True),
        ("https://fhir.example.org/r4x/Patient/1", False),
        ("https://fhir.example.org.evil.test/r4/Patient/1", False),
        ("https://fhir.example.org/r3/Patient/1", False),
    ],
)
def test_allowlist_matches_prefixes_only_at_a_path_boundary(url: str, allowed: bool) -> None:
    assert on_allowlist(url, (FHIR + "/",)) is allowed


def test_context_tokens_are_filled_url_encoded() -> None:
    ctx = {"patientId": "a b", "userId": "Practitioner/u1"}
    assert (
        resolve_template("Observation?patient={{context.patientId}}", ctx)
        == "Observation?patient=a%20b"
    )
    assert resolve_template("Practitioner/{{userPractitionerId}}", ctx) == "Practitioner/u1"
    with pytest.raises(DataUnavailable):
        resolve_template("Encounter/{{context.encounterId}}", ctx)


@responses.activate
def test_complete_prefetch_makes_zero_outbound_calls(settings: Settings) -> None:
    bundle = gather(hook_body(fhirServer=FHIR, fhirAuthorization=AUTHZ), settings)
    assert len(responses.calls) == 0
    assert bundle["type"] == "collection"
    assert [e["resource"]["resourceType"] for e in bundle["entry"]][0] == "Patient"
    assert bundle["entry"][0]["fullUrl"] == f"{FHIR}/Patient/p1"


@responses.activate
def test_missing_keys_are_fetched_with_the_bearer_token_and_pages_followed(
    settings: Settings,
) -> None:
    responses.get(f"{FHIR}/Patient/p1", json=PATIENT)
    responses.get(
        f"{FHIR}/Observation?patient=p1",
        json=searchset(observation("o1"), next_url=f"{FHIR}/Observation?page=2"),
    )
    responses.get(f"{FHIR}/Observation?page=2", json=searchset(observation("o2")))
    bundle = gather(request_without("patient", "observations"), settings)
    assert [c.request.headers["Authorization"] for c in responses.calls] == ["Bearer tok"] * 3
    assert all(c.request.headers["Accept"] == "application/fhir+json" for c in responses.calls)
    ids = [e["resource"]["id"] for e in bundle["entry"]]
    assert ids == ["p1", "o1", "o2"]


@responses.activate
def test_outcome_entries_of_a_searchset_are_skipped(settings: Settings) -> None:
    page = searchset(observation("o1"))
    page["entry"].append(
        {"resource": {"resourceType": "OperationOutcome"}, "search": {"mode": "outcome"}}
    )
    responses.get(f"{FHIR}/Observation?patient=p1", json=page)
    bundle = gather(request_without("observations"), settings)
    assert "OperationOutcome" not in {e["resource"]["resourceType"] for e in bundle["entry"]}


@pytest.mark.parametrize("status", [401, 403, 404, 500, 503])
@responses.activate
def test_fhir_server_errors_become_412(settings: Settings, status: int) -> None:
    responses.get(
        f"{FHIR}/Observation?patient=p1", status=status, json={"resourceType": "OperationOutcome"}
    )
    with pytest.raises(DataUnavailable) as caught:
        gather(request_without("observations"), settings)
    assert caught.value.status == 412
    assert str(status) in caught.value.diagnostics


@pytest.mark.parametrize(
    "error", [requests.ConnectTimeout(), requests.ReadTimeout(), requests.ConnectionError()]
)
@responses.activate
def test_timeouts_and_network_errors_become_412(settings: Settings, error: Exception) -> None:
    responses.get(f"{FHIR}/Observation?patient=p1", body=error)
    with pytest.raises(DataUnavailable):
        gather(request_without("observations"), settings)


@responses.activate
def test_a_non_json_answer_becomes_412(settings: Settings) -> None:
    responses.get(f"{FHIR}/Observation?patient=p1", body="<html>")
    with pytest.raises(DataUnavailable):
        gather(request_without("observations"), settings)


@responses.activate
def test_a_next_link_off_the_allowlist_is_never_followed(settings: Settings) -> None:
    body = request_without()
    body["prefetch"]["observations"] = searchset(
        observation("o1"), next_url="https://evil.test/page2"
    )
    responses.get("https://evil.test/page2", json=searchset())
    with pytest.raises(FhirServerNotAllowed):
        gather(body, settings)
    assert len(responses.calls) == 0


@responses.activate
def test_a_non_allowlisted_server_is_never_contacted(settings: Settings) -> None:
    body = request_without("observations", fhirServer="https://other.example.org/r4")
    responses.get("https://other.example.org/r4/Observation?patient=p1", json=searchset())
    with pytest.raises(FhirServerNotAllowed):
        gather(body, settings)
    assert len(responses.calls) == 0


@responses.activate
def test_redirects_are_not_followed(settings: Settings) -> None:
    responses.get(
        f"{FHIR}/Observation?patient=p1", status=302, headers={"Location": "https://evil.test/"}
    )
    with pytest.raises(DataUnavailable):
        gather(request_without("observations"), settings)
    assert len(responses.calls) == 1


@responses.activate
def test_an_exhausted_deadline_sends_nothing(settings: Settings) -> None:
    with pytest.raises(DataUnavailable):
        gather(request_without("observations"), settings, seconds=0.0)
    assert len(responses.calls) == 0


def test_each_request_timeout_is_capped_by_the_remaining_deadline(settings: Settings) -> None:
    now = [100.0]
    deadline = Deadline(0.7, clock=lambda: now[0])
    fetcher = FhirFetcher(FHIR, token=None, settings=settings, deadline=deadline)
    assert fetcher._timeouts("x") == pytest.approx((0.5, 0.7))
    now[0] += 0.6
    assert fetcher._timeouts("x") == pytest.approx((0.1, 0.1))


def test_missing_prefetch_without_fhir_server_is_412(settings: Settings) -> None:
    body = hook_body()
    del body["prefetch"]["conditions"]
    with pytest.raises(DataUnavailable) as caught:
        gather(body, settings)
    assert "conditions" in caught.value.diagnostics
