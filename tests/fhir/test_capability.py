"""The CapabilityStatement of GET /fhir/metadata (standards.md §4.1, §7 item 40)."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from service.fhir.capability import BULK_EXPORT_DEFINITION, capability_statement
from service.fhir.profiles import Profiles, default_profiles_dir


@pytest.fixture(scope="module")
def profiles() -> Profiles:
    return Profiles.load(default_profiles_dir())


@pytest.fixture(scope="module")
def statement(profiles: Profiles) -> dict[str, Any]:
    return capability_statement(
        profiles, base_url="https://cds.example.org/", software_version="0.1.0"
    )


def test_the_statement_reparses_as_an_r4b_capability_statement(statement: dict[str, Any]) -> None:
    assert CapabilityStatement.model_validate(statement).model_dump(mode="json") == statement


def test_the_statement_has_the_required_elements_of_item_40(statement: dict[str, Any]) -> None:
    assert statement["status"] == "active"
    assert statement["date"] == "2026-12-06"  # the rule set 2.0.0 publication date (E4-24)
    assert statement["kind"] == "instance"
    assert statement["fhirVersion"] == "4.0.1"
    assert statement["format"] == ["json", "application/fhir+json"]
    assert statement["software"] == {"name": "hipspine-cds", "version": "0.1.0"}
    assert statement["rest"][0]["mode"] == "server"


def test_the_implementation_url_is_the_fhir_base(statement: dict[str, Any]) -> None:
    assert statement["implementation"]["url"] == "https://cds.example.org/fhir"


def test_patient_offers_hip_spine_evaluate_with_its_definition(
    statement: dict[str, Any], profiles: Profiles
) -> None:
    patient = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Patient")
    assert patient["operation"] == [
        {"name": "hip-spine-evaluate", "definition": profiles.operation_definition["url"]}
    ]


def test_the_system_level_operations_are_evaluate_and_bulk_export(
    statement: dict[str, Any],
) -> None:
    operations = {o["name"]: o["definition"] for o in statement["rest"][0]["operation"]}
    assert operations == {
        "hip-spine-evaluate": "http://hipspine-cds.org/fhir/OperationDefinition/hip-spine-evaluate",
        "export": BULK_EXPORT_DEFINITION,
    }
    assert BULK_EXPORT_DEFINITION == "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"


def test_the_statement_is_the_same_on_every_call(profiles: Profiles) -> None:
    one = capability_statement(profiles, base_url="http://127.0.0.1:8080", software_version="1")
    two = capability_statement(profiles, base_url="http://127.0.0.1:8080", software_version="1")
    assert one == two
    assert one["implementation"]["url"] == "http://127.0.0.1:8080/fhir"
