"""§1.1 units, §1.3 value types and §1.4 plausible ranges."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest

from service.core.findings import Motion, Radiographic, Side
from service.fhir.units import PI
from tests.fhir.extract_builders import concept, diagnostics, extract, nrs, obs, qty, rom


def _radiographic(code: str, quantity: dict[str, object]) -> dict[str, object]:
    return obs(code, valueQuantity=quantity)


@pytest.mark.parametrize(
    ("motion", "low", "high"),
    [
        ("flexion", "0", "150"),
        ("extension", "-40", "50"),
        ("abduction", "0", "90"),
        ("adduction", "0", "60"),
        ("internal-rotation", "-20", "90"),
        ("external-rotation", "-20", "100"),
    ],
)
def test_hip_rom_is_kept_at_both_range_edges_and_excluded_just_outside(
    motion: str, low: str, high: str
) -> None:
    key = (Motion(motion), Side.LEFT)
    for edge in (low, high):
        assert extract(rom(motion, float(edge))).findings.rom[key].value == Decimal(edge)
    for outside in (Decimal(low) - Decimal("0.1"), Decimal(high) + Decimal("0.1")):
        result = extract(rom(motion, float(outside)))
        assert key not in result.findings.rom
        (warning,) = result.warnings
        assert "plausible range" in warning.diagnostics
        assert warning.expression == ("Bundle.entry[1].resource.valueQuantity",)


@pytest.mark.parametrize(
    ("code", "low", "high"),
    [
        ("pelvic-incidence", "20", "110"),
        ("pelvic-tilt-standing", "-30", "60"),
        ("pelvic-tilt-seated", "-30", "60"),
        ("sacral-slope-standing", "-10", "80"),
        ("sacral-slope-seated", "-10", "80"),
        ("lumbar-lordosis", "-40", "110"),
        ("pi-ll-mismatch", "-60", "80"),
        ("t1-pelvic-angle", "-20", "70"),
    ],
)
def test_spinopelvic_angles_are_range_checked_at_the_edges(code: str, low: str, high: str) -> None:
    measure = Radiographic(code)
    for edge in (low, high):
        found = extract(_radiographic(code, qty(int(edge)))).findings.radiographic
        assert found[measure].value == Decimal(edge)
    for outside in (int(low) - 1, int(high) + 1):
        result = extract(_radiographic(code, qty(outside)))
        assert measure not in result.findings.radiographic
        assert "plausible range" in diagnostics(result)


def test_exact_decimal_values_survive_json_floats() -> None:
    result = extract(
        _radiographic("pelvic-incidence", qty(66.4)), _radiographic("lumbar-lordosis", qty(56.4))
    )
    found = result.findings.radiographic
    pi, ll = found[Radiographic.PELVIC_INCIDENCE], found[Radiographic.LUMBAR_LORDOSIS]
    assert pi.value - ll.value == Decimal("10.0")


def test_radians_are_converted_to_degrees_without_rounding() -> None:
    found = extract(_radiographic("lumbar-lordosis", qty(1, "rad"))).findings.radiographic
    value = found[Radiographic.LUMBAR_LORDOSIS].value
    with localcontext(prec=60):
        assert abs(value - Decimal(180) / PI) < Decimal("1e-50")
    half_pi = extract(rom("flexion", float(PI / 2), valueQuantity=qty(float(PI / 2), "rad")))
    assert abs(half_pi.findings.rom[(Motion.FLEXION, Side.LEFT)].value - 90) < Decimal("1e-12")


def test_a_converted_value_is_range_checked_after_conversion() -> None:
    result = extract(rom("flexion", 3, valueQuantity=qty(3, "rad")))  # 171.9 deg > 150
    assert result.findings.rom == {}
    assert "plausible range" in diagnostics(result)


def test_sva_in_centimetres_becomes_millimetres() -> None:
    found = extract(_radiographic("sva", qty(4.5, "cm"))).findings.radiographic
    assert found[Radiographic.SVA].value == Decimal("45.0")


@pytest.mark.parametrize(
    ("value", "kept"), [(-200, True), (400, True), (-201, False), (401, False)]
)
def test_sva_range_is_in_millimetres(value: int, kept: bool) -> None:
    found = extract(_radiographic("sva", qty(value, "mm"))).findings.radiographic
    assert (Radiographic.SVA in found) is kept


def test_unit_text_is_read_when_there_is_no_unit_code() -> None:
    result = extract(rom("flexion", 100, valueQuantity={"value": 100, "unit": "deg"}))
    assert result.findings.rom[(Motion.FLEXION, Side.LEFT)].value == 100


@pytest.mark.parametrize(
    "quantity",
    [
        {"value": 100},
        qty(100, "%"),
        qty(100, "mm"),
        {"value": 100, "unit": "degrees"},
        {"value": 100, "system": "http://example.org/units", "code": "deg"},
        qty(100, "deg", comparator=">"),
    ],
)
def test_an_angle_with_no_or_another_unit_is_excluded_with_a_warning(
    quantity: dict[str, object],
) -> None:
    result = extract(rom("flexion", 100, valueQuantity=quantity))
    assert result.findings.rom == {}
    (warning,) = result.warnings
    assert warning.severity == "warning"
    assert warning.expression[0].startswith("Bundle.entry[1].resource.valueQuantity")


def test_sva_in_degrees_is_excluded() -> None:
    result = extract(_radiographic("sva", qty(40, "deg")))
    assert result.findings.radiographic == {}
    assert "'mm', 'cm'" in diagnostics(result)


@pytest.mark.parametrize(("value", "kept"), [(0, True), (100, True), (-1, False), (101, False)])
def test_odi_needs_percent_and_zero_to_one_hundred(value: int, kept: bool) -> None:
    result = extract(obs(concept("http://loinc.org", "97909-6"), valueQuantity=qty(value, "%")))
    assert (result.findings.odi is not None) is kept


def test_odi_without_a_percent_unit_is_excluded() -> None:
    result = extract(obs(concept("http://loinc.org", "97909-6"), valueQuantity={"value": 40}))
    assert result.findings.odi is None
    assert "'%'" in diagnostics(result)


@pytest.mark.parametrize(
    ("value", "kept"), [(-100, True), (100, True), (-101, False), (101, False)]
)
def test_a_recorded_relief_percentage_is_range_checked(value: int, kept: bool) -> None:
    result = extract(obs("ia-hip-injection-relief-pct", valueQuantity=qty(value, "%")))
    assert (result.findings.ia_relief_pct is not None) is kept


@pytest.mark.parametrize(("value", "kept"), [(0, True), (10, True), (-1, False), (11, False)])
def test_nrs_is_an_integer_from_zero_to_ten(value: int, kept: bool) -> None:
    result = extract(nrs(value, "site-low-back"))
    assert bool(result.findings.pain) is kept


@pytest.mark.parametrize(
    "fields",
    [
        {"valueInteger": None, "valueQuantity": {"value": 7}},
        {"valueInteger": None, "valueQuantity": qty(7, "{score}")},
        {"valueInteger": None, "valueQuantity": {"value": 7.0, "unit": "{score}"}},
    ],
)
def test_integer_inputs_accept_unitless_or_score_quantities(fields: dict[str, object]) -> None:
    result = extract(nrs(7, "site-low-back", **fields))
    assert result.findings.pain[0].latest.value == 7


@pytest.mark.parametrize(
    "fields",
    [
        {"valueInteger": None, "valueQuantity": qty(7, "%")},
        {"valueInteger": None, "valueQuantity": {"value": 7.5}},
        {"valueInteger": None, "valueBoolean": True},
    ],
)
def test_integer_inputs_refuse_other_units_fractions_and_types(fields: dict[str, object]) -> None:
    result = extract(nrs(7, "site-low-back", **fields))
    assert result.findings.pain == ()
    assert len(result.warnings) == 1


@pytest.mark.parametrize(("grade", "kept"), [(0, True), (4, True), (5, False), (-1, False)])
def test_kl_grade_is_zero_to_four(grade: int, kept: bool) -> None:
    from tests.fhir.extract_builders import lateral

    result = extract(obs("kl-grade-hip", valueInteger=grade, bodySite=lateral("right")))
    assert (Side.RIGHT in result.findings.kl_grade) is kept


@pytest.mark.parametrize(("angle", "kept"), [(0, True), (90, True), (91, False)])
def test_contracture_angle_is_zero_to_ninety(angle: int, kept: bool) -> None:
    from tests.fhir.extract_builders import lateral

    result = extract(
        obs("hip-flexion-contracture-angle", valueQuantity=qty(angle), bodySite=lateral("left"))
    )
    assert (Side.LEFT in result.findings.contracture_angle) is kept


def test_ia_injection_scores_are_measurements() -> None:
    result = extract(
        obs("ia-hip-injection-nrs-pre", valueInteger=8),
        obs("ia-hip-injection-nrs-post", valueInteger=2),
    )
    assert result.findings.ia_nrs_pre is not None and result.findings.ia_nrs_pre.value == 8
    assert result.findings.ia_nrs_post is not None and result.findings.ia_nrs_post.value == 2


def test_a_boolean_input_needs_value_boolean() -> None:
    good = extract(obs("rf-fever", valueBoolean=True))
    bad = extract(obs("rf-fever", valueString="yes"))
    assert [f.value for f in good.findings.red_flags.values()] == [True]
    assert bad.findings.red_flags == {}
    assert "valueBoolean" in diagnostics(bad)


def _odi_panel(**fields: object) -> dict[str, object]:
    return obs(concept("http://loinc.org", "97908-8"), **fields)


def test_an_odi_panel_gives_its_value_or_its_score_component() -> None:
    score = {"code": concept("http://loinc.org", "97909-6"), "valueQuantity": qty(38, "%")}
    by_value = extract(_odi_panel(valueQuantity=qty(40, "%")))
    by_component = extract(_odi_panel(component=[score]))
    assert by_value.findings.odi is not None and by_value.findings.odi.value == 40
    assert by_component.findings.odi is not None and by_component.findings.odi.value == 38


def test_an_odi_panel_with_only_members_adds_nothing_and_warns_nothing() -> None:
    member = obs(concept("http://loinc.org", "97909-6"), valueQuantity=qty(30, "%"))
    panel = _odi_panel(hasMember=[{"reference": f"Observation/{member['id']}"}])
    result = extract(panel, member)
    assert result.findings.odi is not None and result.findings.odi.value == 30
    assert result.warnings == ()
    assert result.relevant_count == 2


def test_an_odi_panel_component_with_a_wrong_unit_is_excluded_with_its_path() -> None:
    score = {"code": concept("http://loinc.org", "97909-6"), "valueQuantity": qty(38, "deg")}
    result = extract(_odi_panel(component=[score]))
    assert result.findings.odi is None
    assert result.warnings[0].expression == (
        "Bundle.entry[1].resource.component[0].valueQuantity.code",
    )
