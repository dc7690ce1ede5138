"""Hip flags (clinical-spec.md §2): KL_MAX, HIP_PATH, HIP_SEVERE, RESTRICTED_IR, ROT_ASYMMETRY,
HIP_PROVOCATIVE, HIP_SIGNS, HIP_EXT_DEFICIT; each at its threshold, missing input unknown."""

from __future__ import annotations

from decimal import Decimal

import pytest

from service.core import ConditionKind, Measurement, Motion, PainLocation, Side, SidedTest, Tri
from tests.core.builders import NEG, POS, F, assess, flag

T, FALSE, U = Tri.TRUE, Tri.FALSE, Tri.UNKNOWN
Grade = int | None


@pytest.mark.parametrize(
    ("left", "right", "kl_max"),
    [
        (1, 2, "2"),
        (0, 0, "0"),
        (3, None, "3"),
        (None, 4, "4"),
        (2, None, "unknown"),
        (None, None, "unknown"),
    ],
)
def test_kl_max_is_known_when_both_sides_are_recorded_or_a_side_is_3_or_more(
    left: Grade, right: Grade, kl_max: str
) -> None:
    assert assess(F().kl(left, right)).extra["kl-max"] == kl_max


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [(2, None, T), (1, 2, T), (1, 1, FALSE), (0, 1, FALSE), (1, None, U), (None, None, U)],
)
def test_hip_path_is_kl_2_or_more_on_a_recorded_side(
    left: Grade, right: Grade, expected: Tri
) -> None:
    assert flag(F().kl(left, right), "HIP_PATH") is expected


@pytest.mark.parametrize(
    "condition",
    [ConditionKind.HIP_OA, ConditionKind.FAI, ConditionKind.LABRAL_TEAR, ConditionKind.AVN],
)
def test_a_hip_condition_makes_hip_path_true_whatever_the_kl_grade(
    condition: ConditionKind,
) -> None:
    assert flag(F().condition(condition), "HIP_PATH") is T
    assert flag(F().kl(0, 1).condition(condition), "HIP_PATH") is T


def test_a_lumbar_condition_is_not_hip_pathology() -> None:
    assert flag(F().kl(1, 1).condition(ConditionKind.SPINAL_STENOSIS), "HIP_PATH") is FALSE


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [(3, None, T), (2, 4, T), (2, 2, FALSE), (0, 2, FALSE), (2, None, U), (None, None, U)],
)
def test_hip_severe_is_kl_3_or_more_on_a_recorded_side(
    left: Grade, right: Grade, expected: Tri
) -> None:
    assert flag(F().kl(left, right), "HIP_SEVERE") is expected


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("14.9", "30", T),
        ("30", "14.9", T),
        ("14.9", None, T),
        ("15", "15", FALSE),
        ("15.0", "40", FALSE),
        ("15", None, U),
        (None, None, U),
    ],
)
def test_restricted_ir_is_below_15_degrees_on_a_side(
    left: str | None, right: str | None, expected: Tri
) -> None:
    assert flag(F().ir(left, right), "RESTRICTED_IR") is expected


@pytest.mark.parametrize(
    ("ir", "er", "expected", "why"),
    [
        (("20", "30"), None, T, "IR differs by 10.0"),
        (("66.4", "56.4"), None, T, "exact decimals: 66.4 − 56.4 = 10.0"),
        (("20", "29.9"), None, FALSE, "IR differs by 9.9, no ER"),
        (("20", "25"), ("40", "45"), T, "IR 5 apart, total rotation 10 apart"),
        (("20", "25"), ("40", "44.9"), FALSE, "total rotation 9.9 apart"),
        (("20", None), None, U, "IR on one side only"),
        ((None, None), ("40", "60"), U, "ER alone is never compared"),
    ],
)
def test_rot_asymmetry_is_a_side_difference_of_10_degrees(
    ir: tuple[str | None, str | None],
    er: tuple[str, str] | None,
    expected: Tri,
    why: str,
) -> None:
    b = F().ir(*ir)
    if er is not None:
        b = b.er(*er)
    assert flag(b, "ROT_ASYMMETRY") is expected, why


def test_sides_measured_with_different_methods_are_not_compared() -> None:
    assert flag(F().ir("10", "40", method="seated", right_method="prone"), "ROT_ASYMMETRY") is U
    one_without = F().ir("20", method="seated")
    one_without.rom[(Motion.INTERNAL_ROTATION, Side.RIGHT)] = Measurement(Decimal("21"), "Obs/r")
    assert flag(one_without, "ROT_ASYMMETRY") is U
    assert flag(F().ir("10", "40", method="supine"), "ROT_ASYMMETRY") is T
    assert flag(F().ir("10", "40"), "ROT_ASYMMETRY") is T  # both without a method


def test_total_rotation_needs_one_method_for_all_four_values() -> None:
    # IR compared (same method, 5 apart) but ER measured otherwise: total rotation ignored.
    b = F().ir("20", "25", method="supine").er("40", "60", method="seated")
    assert flag(b, "ROT_ASYMMETRY") is FALSE
    same = F().ir("20", "25", method="supine").er("40", "60", method="supine")
    assert flag(same, "ROT_ASYMMETRY") is T


@pytest.mark.parametrize(
    "test", [SidedTest.FADIR, SidedTest.SCOUR, SidedTest.LOG_ROLL, SidedTest.PASSIVE_IR_PAIN]
)
def test_a_positive_hip_provocation_test_on_either_side_is_hip_provocative(test: SidedTest) -> None:
    assert flag(F().test(test, right=POS), "HIP_PROVOCATIVE") is T


@pytest.mark.parametrize(
    ("locations", "expected"),
    [
        ((PainLocation.GROIN_ANTERIOR,), T),
        ((PainLocation.POSTERIOR, PainLocation.GROIN_ANTERIOR), T),
        ((PainLocation.POSTERIOR,), FALSE),
        ((PainLocation.LATERAL,), FALSE),
        ((), U),  # location missing: unknown, never false (§0.2, §5 minimum set)
    ],
)
def test_faber_counts_as_hip_provocative_only_with_groin_or_anterior_pain(
    locations: tuple[PainLocation, ...], expected: Tri
) -> None:
    b = F().fadir(NEG, NEG).faber(left=POS, locations=locations)
    assert flag(b, "HIP_PROVOCATIVE") is expected


@pytest.mark.parametrize(
    ("b", "expected"),
    [
        (F().fadir(NEG, NEG).faber(NEG, NEG), FALSE),
        (F().fadir(left=NEG).faber(right=NEG), FALSE),
        (F().fadir(NEG, NEG), U),
        (F().faber(NEG, NEG), U),
        (F(), U),
        (F().fadir(NEG, POS).faber(NEG, NEG), T),
    ],
)
def test_hip_provocative_is_false_only_with_fadir_and_faber_recorded(b: F, expected: Tri) -> None:
    assert flag(b, "HIP_PROVOCATIVE") is expected


@pytest.mark.parametrize(
    ("b", "expected"),
    [
        (F().ir(30, 30).fadir(NEG, NEG).faber(NEG, NEG).groin(0), FALSE),
        (F().ir(30, 30).fadir(NEG, NEG).faber(NEG, NEG), FALSE),  # GROIN_PAIN only "not true"
        # E4-10: groin pain with a negative hip examination is not a hip sign (3rd ed.: T)
        (F().ir(30, 30).fadir(NEG, NEG).faber(NEG, NEG).groin(3), FALSE),
        # Q10-09: groin pain counts when the hip was examined and the exam is not negative
        (F().ir(30, 30).fadir(NEG, NEG).groin(3), T),
        # Q10-09: with no hip examination at all, groin pain leaves HIP_SIGNS unknown
        (F().groin(3), U),
        (F().ir(30, 30).fadir(NEG, NEG), U),  # HIP_PROVOCATIVE unknown
        (F().ir(10, None), T),
        (F(), U),
    ],
)
def test_hip_signs_combine_ir_asymmetry_provocation_and_groin_pain(b: F, expected: Tri) -> None:
    assert flag(b, "HIP_SIGNS") is expected


@pytest.mark.parametrize(
    ("b", "expected", "why"),
    [
        (F().test(SidedTest.THOMAS, left=POS), T, "Thomas positive on a side"),
        (F().extension(0, 20), T, "extension 0° lacks neutral"),
        (F().extension("-5", None), T, "extension below 0°"),
        (F().contracture(None, 10), T, "contracture angle 10°"),
        (F().extension("0.1", "0.1"), FALSE, "extension above 0° on both sides"),
        (F().test(SidedTest.THOMAS, NEG, NEG), FALSE, "Thomas negative on both sides"),
        (
            F().test(SidedTest.THOMAS, NEG, NEG).contracture("9.9", "9.9"),
            FALSE,
            "9.9° is no deficit",
        ),
        (F().test(SidedTest.THOMAS, NEG, NEG).extension("-5", None), T, "true beats false"),
        (F().contracture("9.9", "9.9"), U, "contracture alone cannot exclude"),
        (F().test(SidedTest.THOMAS, left=NEG), U, "Thomas on one side only"),
        (F().extension("10", None), U, "extension on one side only"),
    ],
)
def test_hip_ext_deficit(b: F, expected: Tri, why: str) -> None:
    assert flag(b, "HIP_EXT_DEFICIT") is expected, why


def test_hip_flag_bases_name_the_values_and_their_sources() -> None:
    a = assess(F().ir("10", "32").kl(1, 3))
    assert "IR left 10° (Observation/internal-rotation-left)" in a.flags["RESTRICTED_IR"].basis
    assert "KL right 3 (Observation/kl-right)" in a.flags["HIP_SEVERE"].basis
    assert a.flags["ROT_ASYMMETRY"].basis.startswith("|IR L − IR R| = 22°")
