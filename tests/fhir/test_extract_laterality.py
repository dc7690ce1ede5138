"""§1.2 laterality, §1.3 special tests, components and the hip ROM panel."""

from __future__ import annotations

from decimal import Decimal

import pytest

from service.core.findings import (
    Motion,
    PainLocation,
    PainSite,
    Side,
    SidedTest,
    UnsidedTest,
)
from service.core.findings import (
    TestResult as Result,
)
from tests.fhir.extract_builders import (
    HSC,
    LATERALITY,
    NEGATIVE,
    POSITIVE,
    SCT,
    SIDES,
    V3,
    concept,
    diagnostics,
    extract,
    hsc,
    lateral,
    nrs,
    obs,
    qty,
    rom,
)

IR = Motion.INTERNAL_ROTATION


def test_side_is_read_from_the_laterality_extension_on_body_site() -> None:
    assert (IR, Side.RIGHT) in extract(rom("internal-rotation", 30, "right")).findings.rom


def test_side_is_read_from_a_body_site_coding_that_is_a_side_qualifier() -> None:
    body = {"coding": [{"system": SCT, "code": "24136001"}, {"system": SCT, "code": "7771000"}]}
    result = extract(rom("internal-rotation", 30, None, bodySite=body))
    assert (IR, Side.LEFT) in result.findings.rom


def test_the_extension_wins_over_a_side_coding() -> None:
    body = lateral("right", {"coding": [{"system": SCT, "code": SIDES["left"]}]})
    assert list(extract(rom("internal-rotation", 30, None, bodySite=body)).findings.rom) == [
        (IR, Side.RIGHT)
    ]


def test_right_and_left_counts_for_each_side() -> None:
    observation = rom("internal-rotation", 30, "both")
    result = extract(observation)
    assert set(result.findings.rom) == {(IR, Side.LEFT), (IR, Side.RIGHT)}
    assert len(result.used) == 1


@pytest.mark.parametrize(
    "observation",
    [
        rom("internal-rotation", 30, None),
        obs("kl-grade-hip", valueInteger=2),
        obs("hip-flexion-contracture-angle", valueQuantity=qty(10)),
        obs("test-fadir", valueCodeableConcept=POSITIVE),
        obs("test-slr", valueCodeableConcept=NEGATIVE),
        obs(
            "hip-rom-internal-rotation",
            valueQuantity=qty(30),
            bodySite={
                "extension": [{"url": LATERALITY, "valueCodeableConcept": hsc("not-a-side")}]
            },
        ),
    ],
)
def test_per_side_inputs_without_a_side_are_excluded_with_a_warning(
    observation: dict[str, object],
) -> None:
    result = extract(observation)
    assert result.used == ()
    (warning,) = result.warnings
    assert "no side" in warning.diagnostics
    assert warning.code == "required"
    assert warning.expression == ("Bundle.entry[1].resource.bodySite",)


@pytest.mark.parametrize("code", ["test-slr-crossed", "test-slump", "test-sij-gaenslen"])
def test_unsided_tests_need_no_side(code: str) -> None:
    result = extract(obs(code, valueCodeableConcept=POSITIVE))
    assert result.findings.unsided_tests[UnsidedTest(code)].result is Result.POSITIVE


def test_pain_sites_need_no_side_but_keep_one_when_given() -> None:
    result = extract(
        nrs(3, "site-groin"), nrs(5, "site-groin", bodySite=lateral("left", hsc("site-groin")))
    )
    keys = {(s.site, s.side) for s in result.findings.pain}
    assert keys == {(PainSite.GROIN, None), (PainSite.GROIN, Side.LEFT)}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (concept(SCT, "10828004"), Result.POSITIVE),
        (concept(SCT, "260385009"), Result.NEGATIVE),
        (concept("http://loinc.org", "LA6576-8"), Result.POSITIVE),
        (concept("http://loinc.org", "LA6577-6"), Result.NEGATIVE),
    ],
)
def test_test_results_are_read_from_snomed_or_loinc_answers(
    value: dict[str, object], expected: Result
) -> None:
    result = extract(obs("test-faber", valueCodeableConcept=value, bodySite=lateral("left")))
    assert result.findings.sided_tests[(SidedTest.FABER, Side.LEFT)].result is expected


@pytest.mark.parametrize(("code", "expected"), [("POS", Result.POSITIVE), ("NEG", Result.NEGATIVE)])
def test_interpretation_decides_a_test_without_a_value(code: str, expected: Result) -> None:
    result = extract(
        obs("test-thomas", interpretation=[concept(V3, code)], bodySite=lateral("right"))
    )
    assert result.findings.sided_tests[(SidedTest.THOMAS, Side.RIGHT)].result is expected


def test_the_value_decides_a_test_even_when_interpretation_disagrees() -> None:
    result = extract(
        obs(
            "test-thomas",
            valueCodeableConcept=NEGATIVE,
            interpretation=[concept(V3, "POS")],
            bodySite=lateral("right"),
        )
    )
    assert result.findings.sided_tests[(SidedTest.THOMAS, Side.RIGHT)].result is (Result.NEGATIVE)


@pytest.mark.parametrize(
    "fields",
    [
        {"valueCodeableConcept": concept(SCT, "373067005")},  # "No" is not an answer we read
        {"valueBoolean": True},
        {},
    ],
)
def test_a_test_without_a_readable_result_is_excluded(fields: dict[str, object]) -> None:
    result = extract(obs("test-scour", bodySite=lateral("left"), **fields))
    assert result.findings.sided_tests == {}
    assert len(result.warnings) == 1


def test_test_components_carry_pain_location_and_slr_angle() -> None:
    components = [
        {"code": hsc("pain-location"), "valueCodeableConcept": hsc("location-groin-anterior")},
        {"code": hsc("pain-location"), "valueCodeableConcept": hsc("location-posterior")},
        {"code": hsc("slr-angle"), "valueQuantity": qty(45)},
    ]
    result = extract(
        obs(
            "test-slr",
            valueCodeableConcept=POSITIVE,
            bodySite=lateral("left"),
            component=components,
        )
    )
    finding = result.findings.sided_tests[(SidedTest.SLR, Side.LEFT)]
    assert finding.pain_locations == {PainLocation.GROIN_ANTERIOR, PainLocation.POSTERIOR}
    assert finding.slr_angle == Decimal(45)


def test_a_bad_component_is_warned_about_but_the_test_still_counts() -> None:
    components = [
        {"code": hsc("pain-location"), "valueCodeableConcept": hsc("location-elbow")},
        {"code": hsc("slr-angle"), "valueQuantity": qty(45, "%")},
    ]
    result = extract(
        obs(
            "test-slr",
            valueCodeableConcept=POSITIVE,
            bodySite=lateral("left"),
            component=components,
        )
    )
    finding = result.findings.sided_tests[(SidedTest.SLR, Side.LEFT)]
    assert finding.result is Result.POSITIVE
    assert finding.pain_locations == frozenset() and finding.slr_angle is None
    expressions = [w.expression[0] for w in result.warnings]
    assert expressions == [
        "Bundle.entry[1].resource.component[0].value",
        "Bundle.entry[1].resource.component[1].valueQuantity.code",
    ]


def _panel(code: dict[str, object], side: str | None, **values: object) -> dict[str, object]:
    components = [
        {"code": hsc(f"hip-rom-{motion.replace('_', '-')}"), "valueQuantity": qty(value)}
        for motion, value in values.items()
    ]
    fields: dict[str, object] = {"component": components, "method": {"text": "supine"}}
    if side:
        fields["bodySite"] = lateral(side)
    return obs(code, **fields)


def test_a_hip_rom_panel_counts_as_single_observations() -> None:
    panel = _panel(hsc("hip-rom-panel"), "right", flexion=110, internal_rotation=12)
    result = extract(panel)
    rom_found = result.findings.rom
    assert rom_found[(Motion.FLEXION, Side.RIGHT)].value == 110
    assert rom_found[(IR, Side.RIGHT)].value == 12
    assert rom_found[(IR, Side.RIGHT)].method == "supine"
    assert [(u.reference, u.group) for u in result.used] == [
        (f"Observation/{panel['id']}", "hip-rom")
    ]


def test_a_snomed_hip_rom_observation_with_components_is_a_panel() -> None:
    panel = _panel(concept(SCT, "299238003"), "left", external_rotation=35)
    assert extract(panel).findings.rom[(Motion.EXTERNAL_ROTATION, Side.LEFT)].value == 35


def test_an_hsc_motion_code_beats_the_generic_snomed_code_on_one_observation() -> None:
    code = {
        "coding": [
            {"system": SCT, "code": "299238003"},
            {"system": HSC, "code": "hip-rom-abduction"},
        ]
    }
    result = extract(obs(code, valueQuantity=qty(40), bodySite=lateral("left")))
    assert result.findings.rom[(Motion.ABDUCTION, Side.LEFT)].value == 40


def test_a_generic_hip_rom_observation_without_a_motion_is_excluded() -> None:
    result = extract(
        obs(concept(SCT, "299238003"), valueQuantity=qty(40), bodySite=lateral("left"))
    )
    assert result.findings.rom == {}
    assert "motion is not identified" in diagnostics(result)


def test_a_panel_component_outside_its_range_is_excluded_alone() -> None:
    result = extract(_panel(hsc("hip-rom-panel"), "left", flexion=200, adduction=20))
    assert set(result.findings.rom) == {(Motion.ADDUCTION, Side.LEFT)}
    (warning,) = result.warnings
    assert warning.expression == ("Bundle.entry[1].resource.component[0].valueQuantity",)


def test_a_panel_without_a_side_is_excluded_whole() -> None:
    result = extract(_panel(hsc("hip-rom-panel"), None, flexion=100))
    assert result.findings.rom == {}
    assert "no side" in diagnostics(result)


def test_a_newer_single_observation_beats_an_older_panel_component() -> None:
    panel = _panel(hsc("hip-rom-panel"), "left", internal_rotation=12)
    panel["effectiveDateTime"] = "2024-01-01"
    single = rom("internal-rotation", 20, "left", effectiveDateTime="2024-02-01")
    assert extract(panel, single).findings.rom[(IR, Side.LEFT)].value == 20
