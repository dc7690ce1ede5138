"""A discovery or service URL with a trailing slash answers like the one without (issue 11
item 2): a sandbox or EHR configured with ``…/cds-services/`` got a 404."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient

from .support import hook_body

SERVICE = "/cds-services/hip-spine-patient-view"


def test_discovery_with_a_trailing_slash_answers_the_same_document(
    client: FlaskClient, auth: Callable[..., dict[str, str]]
) -> None:
    plain = client.get("/cds-services", headers=auth("/cds-services"))
    slashed = client.get("/cds-services/", headers=auth("/cds-services/"))
    assert plain.status_code == slashed.status_code == 200
    assert slashed.get_json() == plain.get_json()


def test_a_service_url_with_a_trailing_slash_is_invoked_not_404(
    client: FlaskClient, auth: Callable[..., dict[str, str]]
) -> None:
    resp = client.post(SERVICE + "/", json=hook_body(), headers=auth(SERVICE + "/"))
    assert resp.status_code == 200
    assert "cards" in resp.get_json()
    feedback = client.post(
        SERVICE + "/feedback/", json={"feedback": []}, headers=auth(SERVICE + "/feedback/")
    )
    assert feedback.status_code != 404
