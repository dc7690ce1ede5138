"""The http blueprints read their settings one way: the service registry
(``service.http.registry.services().settings``), never ``current_app.config["SETTINGS"]``.

Each test changes only the registry's settings and sees the blueprint follow them; before the
blueprints read the registry, the FHIR, export and error surfaces kept the config's copy.
"""

from __future__ import annotations

from flask import Flask

from service.http.registry import Services


def _swap(app: Flask, **overrides: object) -> None:
    svc: Services = app.extensions["hipspine"]
    svc.settings = svc.settings.with_overrides(**overrides)


def test_metadata_names_the_registry_base_url(app: Flask) -> None:
    _swap(app, public_base_url="https://registry.example.org")
    body = app.test_client().get("/fhir/metadata").get_json()
    assert body["implementation"]["url"] == "https://registry.example.org/fhir"


def test_the_fhir_api_clients_are_the_registry_ones(app: Flask) -> None:
    _swap(app, fhir_api_clients=(("ehr", "registry-token"),))
    client = app.test_client()
    path = "/fhir/$hip-spine-evaluate"
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": []}
    assert client.post(path, json=bundle).status_code == 401
    authorised = client.post(path, json=bundle, headers={"Authorization": "Bearer registry-token"})
    assert authorised.status_code != 401


def test_the_export_token_is_the_registry_one(app: Flask) -> None:
    _swap(app, export_token="registry-export-token")
    headers = {"Prefer": "respond-async", "Accept": "application/fhir+json"}
    client = app.test_client()
    assert client.get("/fhir/$export", headers=headers).status_code == 401
    kicked = client.get(
        "/fhir/$export", headers={**headers, "Authorization": "Bearer registry-export-token"}
    )
    assert kicked.status_code == 202
    assert kicked.headers["Content-Location"].startswith("http://127.0.0.1:8080/")
