"""Issue 12 item 8: a ``next`` link with dot segments cannot leave a path-scoped allowlist
entry (and take the bearer token with it): the allowlist sees the URL that is sent."""

from __future__ import annotations

import pytest
import responses

from service.fhir_server.client import BearerToken, FhirServerClient
from service.fhir_server.policy import FhirServerNotAllowed, normalise_url, on_allowlist

HOST = "http://127.0.0.1:9"
FHIR = f"{HOST}/fhir"
TOKEN = "bearer-token-for-fhir-only"

ESCAPES = [
    f"{FHIR}/../admin/steal",
    f"{FHIR}/Observation/../../admin/steal",
    f"{FHIR}/%2e%2e/admin/steal",
    f"{FHIR}/.%2E/admin/steal",
    f"{FHIR}/./../admin/steal?x=1",
    "../admin/steal",
    "/admin/steal",
]


@pytest.mark.parametrize("url", ESCAPES[:5])
def test_dot_segments_are_resolved_before_the_allowlist_check(url: str) -> None:
    assert not on_allowlist(url, (FHIR,))
    assert normalise_url(url).startswith(f"{HOST}/admin/steal")


@pytest.mark.parametrize(
    "url, expected",
    [
        (f"{FHIR}/./Observation?x=../y", f"{FHIR}/Observation?x=../y"),
        (f"{FHIR}/a/b/../Observation", f"{FHIR}/a/Observation"),
        (f"{FHIR}/Observation", f"{FHIR}/Observation"),
        (f"{FHIR}/a/%2e/b", f"{FHIR}/a/b"),
    ],
)
def test_normalising_keeps_the_rest_of_the_url(url: str, expected: str) -> None:
    assert normalise_url(url) == expected
    assert on_allowlist(url, (FHIR,))


@pytest.mark.parametrize("next_url", ESCAPES)
def test_a_next_link_leaving_the_allowlisted_path_is_refused_and_no_token_leaves(
    next_url: str,
) -> None:
    first = {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": [{"relation": "next", "url": next_url}],
    }
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{FHIR}/Observation?patient=p1", json=first)
        mock.get(f"{HOST}/admin/steal", json={"resourceType": "Bundle", "type": "searchset"})
        with FhirServerClient(FHIR, allowlist=(FHIR,), auth=BearerToken(TOKEN)) as client:
            with pytest.raises(FhirServerNotAllowed):
                client.search("Observation", {"patient": "p1"})
        assert [c.request.url for c in mock.calls] == [f"{FHIR}/Observation?patient=p1"]
