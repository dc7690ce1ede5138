"""Every examples/*.json gives, through the HTTP API, the category its file name says."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from flask.testing import FlaskClient

from service.app import create_app
from service.config import Settings
from service.core.assessment import Category, Subtype

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
EXAMPLE_FILES = sorted(EXAMPLES_DIR.glob("*.json"))
HSC = "http://hipspine-cds.org/fhir/CodeSystem/hsc"
WORKED_EXAMPLE = "secondary-functional-worked-example"

#: Findings some examples must also carry; other findings of the same kind must be absent.
EXTRA_FINDINGS: dict[str, frozenset[str]] = {
    "red-flag-cauda-equina": frozenset({"urgency-emergency"}),
    "red-flag-urgent": frozenset({"urgency-urgent"}),
    "simple-hip-primary-ia-positive": frozenset({"confidence-high"}),
    "secondary-structural-diebo-hip-spine": frozenset({"diebo-hip-spine"}),
}


def expected_for(stem: str) -> tuple[Category, Subtype | None]:
    """The category (and SECONDARY subtype) a file name says: the longest category prefix."""
    by_length = sorted(Category, key=lambda c: len(c.value), reverse=True)
    for category in by_length:
        slug = category.value.removeprefix("category-")
        if stem == slug or stem.startswith(f"{slug}-"):
            rest = stem.removeprefix(slug).removeprefix("-")
            subtypes = [s for s in Subtype if rest.startswith(s.value.removeprefix("subtype-"))]
            return category, (subtypes[0] if subtypes else None)
    raise AssertionError(f"{stem}.json is not named for a category of clinical-spec §4")


@pytest.fixture(scope="module")
def examples_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    settings = Settings.from_env({}).with_overrides(
        data_dir=tmp_path_factory.mktemp("examples-data"), cds_auth_required=False
    )
    app = create_app(settings)
    app.config["TESTING"] = True
    yield app.test_client()
    app.extensions["hipspine"].store.close()


def evaluate(client: FlaskClient, path: Path) -> dict[str, Any]:
    response = client.post(
        "/fhir/$hip-spine-evaluate",
        data=path.read_bytes(),
        content_type="application/fhir+json",
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json(force=True)
    assert body["resourceType"] == "Bundle" and body["type"] == "collection"
    return body


def resources_of(bundle: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type
    ]


def finding_codes(bundle: dict[str, Any]) -> list[str]:
    """Every HSC code in the ClinicalImpression's finding[].itemCodeableConcept."""
    (impression,) = resources_of(bundle, "ClinicalImpression")
    return [
        coding["code"]
        for finding in impression.get("finding", [])
        for coding in finding.get("itemCodeableConcept", {}).get("coding", [])
        if coding.get("system") == HSC
    ]


def recommendation_codes(bundle: dict[str, Any]) -> list[str]:
    return [
        coding["code"]
        for plan in resources_of(bundle, "CarePlan")
        for activity in plan.get("activity", [])
        for coding in activity["detail"]["code"]["coding"]
        if coding.get("system") == HSC
    ]


def test_the_library_holds_at_least_one_example_per_category() -> None:
    named = {expected_for(path.stem)[0] for path in EXAMPLE_FILES}
    assert named == set(Category)


def test_the_library_holds_an_example_per_secondary_subtype() -> None:
    named = {expected_for(path.stem)[1] for path in EXAMPLE_FILES}
    assert set(Subtype) <= named


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_each_example_gives_the_category_its_file_name_says(
    examples_client: FlaskClient, path: Path
) -> None:
    category, subtype = expected_for(path.stem)
    codes = finding_codes(evaluate(examples_client, path))
    assert [c for c in codes if c.startswith("category-")] == [category.value]
    expected_subtypes = [subtype.value] if subtype else []
    assert [c for c in codes if c.startswith("subtype-")] == expected_subtypes
    for extra in EXTRA_FINDINGS.get(path.stem, frozenset()):
        kind = extra.split("-")[0] + "-"
        assert {c for c in codes if c.startswith(kind)} == {extra}


def test_the_worked_example_recommends_only_combined_hip_lumbar_management(
    examples_client: FlaskClient,
) -> None:
    bundle = evaluate(examples_client, EXAMPLES_DIR / f"{WORKED_EXAMPLE}.json")
    assert recommendation_codes(bundle) == ["rec-combined-hip-lumbar-management"]


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_each_example_is_a_valid_collection_bundle_about_one_patient(path: Path) -> None:
    payload = json.loads(path.read_bytes())
    Bundle.model_validate(payload)
    assert payload["type"] == "collection"
    (patient,) = [
        e["resource"] for e in payload["entry"] if e["resource"]["resourceType"] == "Patient"
    ]
    for entry in payload["entry"]:
        assert entry["fullUrl"].startswith("urn:uuid:")
        if entry["resource"]["resourceType"] != "Patient":
            assert entry["resource"]["subject"] == {"reference": f"Patient/{patient['id']}"}


def test_the_committed_examples_are_what_the_build_script_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLES_DIR))
    build_examples = importlib.import_module("build_examples")
    built: dict[str, str] = build_examples.build_all()
    on_disk = {
        p.relative_to(EXAMPLES_DIR).as_posix()
        for p in EXAMPLES_DIR.rglob("*")
        if p.suffix in {".json", ".md"}
    }
    assert set(built) == on_disk
    for name, text in built.items():
        assert (EXAMPLES_DIR / name).read_text(encoding="utf-8") == text, name
