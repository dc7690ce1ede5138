"""The public CDS Hooks sandbox (an https page) calling a service on loopback: its browser
asks a Private Network Access preflight, answered for allowlisted origins only (issue 11)."""

from __future__ import annotations

from flask.testing import FlaskClient

from .support import ORIGIN

PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
    "Access-Control-Request-Private-Network": "true",
}


def test_private_network_preflight_is_allowed_for_an_allowlisted_origin(
    client: FlaskClient,
) -> None:
    for path in ("/cds-services", "/cds-services/", "/cds-services/hip-spine-patient-view"):
        resp = client.options(path, headers={**PREFLIGHT, "Origin": ORIGIN})
        assert resp.status_code in (200, 204), path
        assert resp.headers.get("Access-Control-Allow-Origin") == ORIGIN
        assert resp.headers.get("Access-Control-Allow-Private-Network") == "true"


def test_private_network_preflight_is_refused_for_another_origin(client: FlaskClient) -> None:
    resp = client.options(
        "/cds-services", headers={**PREFLIGHT, "Origin": "https://evil.example.org"}
    )
    assert "Access-Control-Allow-Private-Network" not in resp.headers
    assert "Access-Control-Allow-Origin" not in resp.headers
