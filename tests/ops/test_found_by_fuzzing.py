"""Server errors the schemathesis run found, pinned as deterministic regression tests."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient


@pytest.mark.parametrize("resource_type", [["Observation"], {"a": 1}])
def test_an_entry_whose_resource_type_is_not_a_string_is_not_a_server_error(
    client: FlaskClient, resource_type: object
) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": {"resourceType": resource_type, "id": "x"}}],
    }
    resp = client.post(
        "/fhir/Patient/p1/$hip-spine-evaluate",
        data=json.dumps(bundle),
        content_type="application/fhir+json",
    )
    assert resp.status_code < 500
