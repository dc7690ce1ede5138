"""Realistic input Bundles (tests/fhir/fixtures) read end to end, and the cost of noise."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from service.core.findings import (
    ConditionKind,
    ImagingFinding,
    Motion,
    NeuroSign,
    PainSite,
    Radiographic,
    Side,
    SidedTest,
    TreatmentKind,
    UnsidedTest,
)
from service.fhir import parse
from service.fhir.extract import read_input
from service.fhir.extraction import INVESTIGATION_GROUPS
from tests.fhir.extract_builders import INDEX, concept, nrs, obs, rom

FIXTURES = Path(__file__).parent / "fixtures"


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return loaded


def test_the_worked_example_of_the_spec_reads_as_section_8_says() -> None:
    result = read_input(_load("bundle-worked-example.json"), INDEX)
    f = result.findings
    assert result.patient_ref == "Patient/hss-001"
    latest = {s.site: s.latest.value for s in f.pain}
    assert latest == {PainSite.LOW_BACK: 6, PainSite.GROIN: 0}
    assert f.rom[(Motion.INTERNAL_ROTATION, Side.LEFT)].value == 10
    assert f.rom[(Motion.INTERNAL_ROTATION, Side.RIGHT)].value == 32
    assert f.sided_tests[(SidedTest.FADIR, Side.LEFT)].result.value == "positive"
    assert {k for k in f.sided_tests if k[0] is SidedTest.FABER} == {
        (SidedTest.FABER, Side.LEFT),
        (SidedTest.FABER, Side.RIGHT),
    }
    assert all(f.sided_tests[(SidedTest.SLR, s)].result.value == "negative" for s in Side)
    assert {s: m.value for s, m in f.kl_grade.items()} == {Side.LEFT: 1, Side.RIGHT: 1}
    assert set(f.lumbar_imaging) == {ImagingFinding.NORMAL}
    assert result.relevant_count == 11 and len(result.used) == 11
    assert result.warnings == () and result.ignored == ()


def test_the_history_fixture_reads_treatments_series_and_conditions() -> None:
    result = read_input(_load("bundle-history.json"), INDEX)
    f = result.findings
    assert {t.kind for t in f.treatments} == {
        TreatmentKind.LUMBAR_SURGERY,
        TreatmentKind.HIP_ARTHROPLASTY,
    }
    assert set(f.treatments_denied) == {TreatmentKind.LUMBAR_INJECTION}
    back = next(s for s in f.pain if s.site is PainSite.LOW_BACK)
    assert [r.value for r in back.readings] == [7, 6]
    assert len(f.pain) == 4  # low back, groin (SNOMED hip), unrecognised knee, site-less
    assert set(f.conditions) == {ConditionKind.HIP_OA, ConditionKind.SPINAL_STENOSIS}
    assert len(result.ignored) == 2  # planned arthroscopy, refuted cauda equina


def test_the_spinopelvic_fixture_converts_units_and_reads_panels() -> None:
    result = read_input(_load("bundle-spinopelvic.json"), INDEX)
    f = result.findings
    assert len([k for k in f.rom if k[1] is Side.LEFT]) == 6
    assert f.rom[(Motion.INTERNAL_ROTATION, Side.RIGHT)].value == 25
    assert (Motion.EXTERNAL_ROTATION, Side.RIGHT) not in f.rom  # dataAbsentReason
    ll = f.radiographic[Radiographic.LUMBAR_LORDOSIS].value
    assert abs(ll - Decimal("56.4")) < Decimal("0.001")
    assert f.radiographic[Radiographic.SVA].value == Decimal("45.0")
    assert f.odi is not None and f.odi.value == 44
    assert f.contracture_angle[Side.LEFT].value == 15
    assert [w.expression for w in result.warnings] == [("Bundle.entry[13].resource.status",)]


def test_the_parameters_fixture_ignores_noise_and_lists_the_cancelled_input() -> None:
    result = read_input(_load("parameters-wrapped.json"), INDEX)
    f = result.findings
    assert set(f.neuro) == {NeuroSign.NEUROGENIC_CLAUDICATION}
    assert set(f.unsided_tests) == {UnsidedTest.SLUMP}
    assert result.relevant_count == 4
    (ignored,) = result.ignored
    assert ignored.expression == ("Parameters.parameter[0].resource.entry[5].resource.status",)


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.json")))
def test_every_used_input_belongs_to_an_investigation_group(name: str) -> None:
    result = read_input(_load(name), INDEX)
    assert result.used
    assert {u.group for u in result.used} <= set(INVESTIGATION_GROUPS)
    assert len({u.reference for u in result.used}) == len(result.used)


def _chart(relevant: int, irrelevant: int) -> dict[str, Any]:
    entries: list[dict[str, Any]] = [{"resource": {"resourceType": "Patient", "id": "p1"}}]
    templates = [
        rom("internal-rotation", 20, "both"),
        nrs(4, "site-low-back"),
        obs(
            "test-fadir",
            valueCodeableConcept=concept("http://snomed.info/sct", "10828004"),
            bodySite={"coding": [{"system": "http://snomed.info/sct", "code": "7771000"}]},
        ),
    ]
    for i in range(relevant):
        resource = copy.deepcopy(templates[i % len(templates)])
        resource.update(id=f"r{i}", effectiveDateTime=f"2024-01-{1 + i % 28:02d}")
        entries.append({"fullUrl": f"urn:uuid:r{i}", "resource": resource})
    for i in range(irrelevant):
        vital = obs(
            concept("http://loinc.org", "8867-4"),
            id=f"v{i}",
            valueQuantity={"value": 60 + i % 40, "unit": "/min"},
        )
        entries.append({"fullUrl": f"urn:uuid:v{i}", "resource": vital})
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


def test_irrelevant_entries_are_never_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    validated: list[str] = []
    real: Callable[..., Any] = parse._errors

    def spy(rtype: str, document: bytes, resource: Any = None) -> Any:
        validated.append(rtype)
        return real(rtype, document, resource)

    monkeypatch.setattr(parse, "_errors", spy)
    result = read_input(_chart(50, 500), INDEX)
    assert len(validated) == 50
    assert result.relevant_count == 50
