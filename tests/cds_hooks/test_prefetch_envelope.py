"""Issue 14 item 4: marshmallow checks the hook request's envelope, the FHIR reader the prefetch.

Marshmallow stays the schema of record of the request (hook, hookInstance, context, prefetch as
an object); the prefetch resources are read once, by the prefetch gatherer (a resourceType that
is not a string is a 400 naming the prefetch key) and the FHIR reader (each relevant entry
validated once, in the elements it reads; a malformed one is a warning, never a 400).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from service.app import create_app
from service.cds_hooks.schemas import HOOK_REQUEST_SCHEMA, load_hook_request
from service.config import Settings
from service.errors import InvalidInput
from service.fhir import parse
from service.fhir.compiled import READERS, CompiledReader, Problems
from service.pipeline import EvaluationResult

REPO = Path(__file__).resolve().parents[2]
PV = "/cds-services/hip-spine-patient-view"


def worked_example() -> dict[str, Any]:
    body: dict[str, Any] = json.loads(
        (REPO / "examples/cds-hooks/patient-view-worked-example.json").read_text()
    )
    return body


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    settings = Settings.from_env({}).with_overrides(
        data_dir=tmp_path / "data", cds_auth_required=False
    )
    app = create_app(settings)
    yield app
    app.extensions["hipspine"].store.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def outcome(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.get_data(as_text=True)
    body: dict[str, Any] = resp.get_json()
    assert body["resourceType"] == "OperationOutcome"
    (issue,) = body["issue"]
    return issue  # type: ignore[no-any-return]


@pytest.mark.parametrize("prefetch", [[], "patient", 7, None])
def test_a_prefetch_that_is_not_an_object_is_a_400_naming_it(
    client: FlaskClient, prefetch: object
) -> None:
    body = worked_example()
    body["prefetch"] = prefetch
    issue = outcome(client.post(PV, json=body), 400)
    assert issue["expression"] == ["prefetch"]


@pytest.mark.parametrize(
    ("change", "expression", "words"),
    [
        (lambda b: b.pop("hookInstance"), "hookInstance", "required"),
        (lambda b: b.update(hook="order-sign"), "hook", "patient-view"),
        (lambda b: b["context"].pop("patientId"), "context.patientId", "required"),
        (lambda b: b["context"].update(patientId="a/b"), "context.patientId", "match"),
        (lambda b: b.update(fhirServer="ftp://x"), "fhirServer", "URL"),
        (lambda b: b.update(context=[]), "context", "mapping"),
    ],
)
def test_envelope_errors_keep_their_field_and_message(
    client: FlaskClient, change: Any, expression: str, words: str
) -> None:
    body = worked_example()
    change(body)
    for _ in range(2):  # the schemas are built once: a second call says the same
        issue = outcome(client.post(PV, json=body), 400)
        assert issue["expression"] == [expression]
        assert words.lower() in issue["diagnostics"].lower()


def test_a_prefetch_resource_type_that_is_not_a_string_is_a_400_naming_the_key(
    client: FlaskClient,
) -> None:
    body = worked_example()
    body["prefetch"]["patient"] = {"resourceType": ["Patient"], "id": "pat-worked"}
    issue = outcome(client.post(PV, json=body), 400)
    assert issue["expression"] == ["prefetch.patient"]


def test_the_envelope_leaves_the_prefetch_values_as_they_are() -> None:
    body = worked_example()
    body["prefetch"]["vendorExtra"] = ["not", {"a": "resource"}]
    sent = copy.deepcopy(body["prefetch"])
    loaded = load_hook_request(body, "patient-view")
    assert loaded["prefetch"] == sent
    assert loaded["prefetch"]["observations"] is body["prefetch"]["observations"]  # not copied
    with pytest.raises(InvalidInput) as raised:
        load_hook_request({**body, "prefetch": []}, "patient-view")
    assert raised.value.expression == ("prefetch",)
    assert set(HOOK_REQUEST_SCHEMA.fields) >= {"hook", "hookInstance", "context", "prefetch"}


class _Counting:
    def __init__(self, inner: CompiledReader, seen: list[bytes]) -> None:
        self.inner, self.seen = inner, seen

    def check(self, document: bytes, resource: Any = None) -> Problems:
        self.seen.append(document)
        return self.inner.check(document, resource)


def test_each_relevant_prefetch_entry_is_validated_once_and_a_bad_one_is_a_warning(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bytes] = []
    monkeypatch.setattr(parse, "_MODELS", {k: _Counting(v, seen) for k, v in READERS.items()})
    parse.validation_cache_clear()
    results: list[EvaluationResult] = []
    pipeline = app.extensions["hipspine"].pipeline
    evaluate = pipeline.evaluate

    def spy(*args: Any, **kwargs: Any) -> EvaluationResult:
        result: EvaluationResult = evaluate(*args, **kwargs)
        results.append(result)
        return result

    monkeypatch.setattr(pipeline, "evaluate", spy)
    body = worked_example()
    entries = body["prefetch"]["observations"]["entry"]
    bad = copy.deepcopy(entries[0]["resource"])
    bad["id"] = "bad-one"
    bad["effectiveDateTime"] = "2024-02-30"
    entries.append({"resource": bad})
    resp = client.post(PV, json=body)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    (result,) = results
    assert len(seen) == len(set(seen)) == result.extraction.relevant_count
    (warning,) = [w for w in result.extraction.warnings if "Observation/bad-one" in w.diagnostics]
    assert warning.code == "invalid"
    assert warning.expression[0].endswith(".effectiveDateTime")
