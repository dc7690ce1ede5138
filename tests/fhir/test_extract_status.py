"""§1.1 status filtering and dataAbsentReason."""

from __future__ import annotations

import pytest

from service.core.findings import Motion, Side
from tests.fhir.extract_builders import concept, extract, rom


@pytest.mark.parametrize("status", ["final", "amended", "corrected"])
def test_final_amended_and_corrected_observations_are_used(status: str) -> None:
    result = extract(rom("flexion", 100, status=status))
    assert result.findings.rom[(Motion.FLEXION, Side.LEFT)].value == 100
    assert result.warnings == ()
    assert result.ignored == ()


def test_a_preliminary_observation_is_used_and_the_output_says_so() -> None:
    observation = rom("flexion", 100, status="preliminary")
    result = extract(observation)
    assert result.findings.rom[(Motion.FLEXION, Side.LEFT)].value == 100
    assert [u.reference for u in result.used] == [f"Observation/{observation['id']}"]
    (warning,) = result.warnings
    assert "preliminary" in warning.diagnostics
    assert warning.expression == ("Bundle.entry[1].resource.status",)


def test_a_superseded_preliminary_observation_raises_no_warning() -> None:
    old = rom("flexion", 90, status="preliminary", effectiveDateTime="2024-01-01")
    new = rom("flexion", 100, effectiveDateTime="2024-02-01")
    result = extract(old, new)
    assert result.findings.rom[(Motion.FLEXION, Side.LEFT)].value == 100
    assert result.warnings == ()


@pytest.mark.parametrize("status", ["registered", "cancelled", "entered-in-error", "unknown"])
def test_ignored_statuses_are_listed_as_ignored_and_never_used(status: str) -> None:
    observation = rom("flexion", 100, status=status)
    result = extract(observation)
    assert result.findings.rom == {}
    assert result.used == ()
    (ignored,) = result.ignored
    assert status in ignored.diagnostics
    assert ignored.severity == "information"
    assert ignored.expression == ("Bundle.entry[1].resource.status",)
    assert result.relevant_count == 1


def test_an_unknown_status_code_is_excluded_with_a_warning() -> None:
    result = extract(rom("flexion", 100, status="draft"))
    assert result.findings.rom == {}
    assert "draft" in result.warnings[0].diagnostics


def test_an_ignored_newer_value_lets_the_older_valid_value_win() -> None:
    old = rom("flexion", 90, effectiveDateTime="2024-01-01")
    new = rom("flexion", 120, status="entered-in-error", effectiveDateTime="2024-06-01")
    result = extract(old, new)
    assert result.findings.rom[(Motion.FLEXION, Side.LEFT)].source == f"Observation/{old['id']}"


def test_data_absent_reason_counts_as_missing_and_an_older_value_wins() -> None:
    old = rom("flexion", 90, effectiveDateTime="2024-01-01")
    absent = rom(
        "flexion",
        None,
        valueQuantity=None,
        effectiveDateTime="2024-06-01",
        dataAbsentReason=concept(
            "http://terminology.hl7.org/CodeSystem/data-absent-reason", "not-performed"
        ),
    )
    result = extract(old, absent)
    assert result.findings.rom[(Motion.FLEXION, Side.LEFT)].value == 90
    assert result.warnings == ()
    assert [u.reference for u in result.used] == [f"Observation/{old['id']}"]
