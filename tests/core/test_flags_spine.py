"""Spine, SIJ, red-flag and injection flags (clinical-spec.md §2): SPINE_PATH, RADICULAR,
MOTOR_DEFICIT, SPINE_SIGNS, SIJ_SIGNS, RED_FLAG(_EMERGENCY), IA_POS / IA_STRONG / IA_NEG."""

from __future__ import annotations

import pytest

from service.core import (
    ConditionKind,
    ImagingFinding,
    NeuroSign,
    PainLocation,
    Radiographic,
    RedFlag,
    Tri,
    UnsidedTest,
)
from tests.core.builders import NEG, POS, F, assess, flag

T, FALSE, U = Tri.TRUE, Tri.FALSE, Tri.UNKNOWN
NORMAL = ImagingFinding.NORMAL


@pytest.mark.parametrize(
    "finding",
    [ImagingFinding.STENOSIS, ImagingFinding.DISC_HERNIATION, ImagingFinding.SPONDYLOLISTHESIS],
)
def test_an_abnormal_lumbar_imaging_finding_is_spine_pathology(finding: ImagingFinding) -> None:
    assert flag(F().imaging(finding), "SPINE_PATH") is T
    assert flag(F().imaging(NORMAL, finding), "SPINE_PATH") is T


@pytest.mark.parametrize(
    ("pi", "ll", "expected"),
    [("66.4", "56.4", FALSE), ("66.5", "56.4", T), ("50", "45", FALSE), ("40", "60", FALSE)],
)
def test_spine_path_pi_ll_is_malaligned_only_above_10_degrees_exactly(
    pi: str, ll: str, expected: Tri
) -> None:
    assert flag(F().imaging(NORMAL).pi_ll(pi, ll), "SPINE_PATH") is expected


def test_a_measured_pi_ll_beats_the_computed_one() -> None:
    b = F().imaging(NORMAL).pi_ll("70", "40").radio(Radiographic.PI_LL_MISMATCH, "5")
    assert flag(b, "SPINE_PATH") is FALSE
    assert flag(F().pi_ll("50", "45").radio(Radiographic.PI_LL_MISMATCH, "10.1"), "SPINE_PATH") is T


def test_a_spinal_stenosis_condition_is_spine_pathology() -> None:
    assert flag(F().condition(ConditionKind.SPINAL_STENOSIS), "SPINE_PATH") is T


@pytest.mark.parametrize(
    ("b", "expected"),
    [
        (F(), U),
        (F().pi_ll("50", "45"), U),  # aligned, but no lumbar imaging
        (F().imaging(NORMAL), FALSE),  # PI−LL not measured is "not > 10°"
        (F().pi_ll("70", "45"), T),
    ],
)
def test_spine_path_needs_normal_imaging_to_be_false(b: F, expected: Tri) -> None:
    assert flag(b, "SPINE_PATH") is expected


@pytest.mark.parametrize(
    "b",
    [
        F().slr(left=POS),
        F().slr(NEG, POS),
        F().unsided(UnsidedTest.SLR_CROSSED, POS),
        F().unsided(UnsidedTest.SLUMP, POS),
        F().sign(NeuroSign.NEUROGENIC_CLAUDICATION),
        F().sign(NeuroSign.DERMATOMAL_SENSORY_LOSS),
        F().slr(NEG, NEG).sign(NeuroSign.REFLEX_LOSS),
    ],
)
def test_any_radicular_sign_makes_radicular_true(b: F) -> None:
    assert flag(b, "RADICULAR") is T


@pytest.mark.parametrize(
    ("b", "expected"),
    [
        (F().slr(NEG, NEG), FALSE),
        (F().slr(right=NEG), FALSE),  # tested on one side, negative there
        (F().slr(NEG, NEG).sign(NeuroSign.REFLEX_LOSS, False), FALSE),
        (F().unsided(UnsidedTest.SLUMP, NEG), U),  # SLR not tested
        (F(), U),
    ],
)
def test_radicular_is_false_only_with_slr_tested_and_negative(b: F, expected: Tri) -> None:
    assert flag(b, "RADICULAR") is expected


@pytest.mark.parametrize(
    ("b", "expected"),
    [
        (F().sign(NeuroSign.MYOTOMAL_WEAKNESS), T),
        (F().sign(NeuroSign.MYELOPATHY_SIGNS), T),
        (
            F().sign(NeuroSign.MYOTOMAL_WEAKNESS, False).sign(NeuroSign.MYELOPATHY_SIGNS, False),
            FALSE,
        ),
        (F().sign(NeuroSign.MYOTOMAL_WEAKNESS, False), U),
        (F(), U),
    ],
)
def test_motor_deficit_is_false_only_when_both_signs_are_recorded_false(
    b: F, expected: Tri
) -> None:
    assert flag(b, "MOTOR_DEFICIT") is expected


@pytest.mark.parametrize(
    ("b", "expected"),
    [
        (F().slr(NEG, NEG), FALSE),  # MOTOR_DEFICIT unknown is "not true"
        (F().slr(NEG, NEG).sign(NeuroSign.MYELOPATHY_SIGNS), T),
        (F().slr(POS, NEG), T),
        (F().sign(NeuroSign.MYOTOMAL_WEAKNESS, False).sign(NeuroSign.MYELOPATHY_SIGNS, False), U),
    ],
)
def test_spine_signs_combine_radicular_and_motor_deficit(b: F, expected: Tri) -> None:
    assert flag(b, "SPINE_SIGNS") is expected


SIJ = [
    UnsidedTest.SIJ_DISTRACTION,
    UnsidedTest.SIJ_THIGH_THRUST,
    UnsidedTest.SIJ_COMPRESSION,
    UnsidedTest.SIJ_SACRAL_THRUST,
    UnsidedTest.SIJ_GAENSLEN,
]


def _sij(positive: int, negative: int) -> F:
    b = F()
    for test in SIJ[:positive]:
        b.unsided(test, POS)
    for test in SIJ[positive : positive + negative]:
        b.unsided(test, NEG)
    return b


@pytest.mark.parametrize(
    ("positive", "negative", "faber_recorded", "expected"),
    [
        (3, 0, False, T),
        (3, 2, True, T),
        (2, 3, True, FALSE),
        (2, 2, True, U),
        (0, 3, True, FALSE),
        (0, 3, False, U),  # "FABER not + with posterior pain" needs FABER recorded
        (0, 0, False, U),
    ],
)
def test_sij_signs_is_a_cluster_of_3_provocation_tests(
    positive: int, negative: int, faber_recorded: bool, expected: Tri
) -> None:
    b = _sij(positive, negative)
    if faber_recorded:
        b.faber(NEG, NEG)
    assert flag(b, "SIJ_SIGNS") is expected


def test_faber_with_posterior_pain_is_sij_signs_unless_there_is_groin_pain() -> None:
    posterior = (PainLocation.POSTERIOR,)
    assert flag(F().faber(left=POS, locations=posterior), "SIJ_SIGNS") is T
    assert flag(F().faber(left=POS, locations=posterior).groin(0), "SIJ_SIGNS") is T
    with_groin = _sij(0, 3).faber(left=POS, locations=posterior).groin(5)
    assert flag(with_groin, "SIJ_SIGNS") is U


# Q10-08: long-term corticosteroids are a red flag only with age ≥ 70 (test_flags_red_flags.py)
@pytest.mark.parametrize("red", [r for r in RedFlag if r is not RedFlag.LONG_TERM_CORTICOSTEROIDS])
def test_any_true_red_flag_input_makes_red_flag_true(red: RedFlag) -> None:
    a = assess(F().red(red))
    assert a.flags["RED_FLAG"].value is T
    emergency = red in {
        RedFlag.SADDLE_ANAESTHESIA,
        RedFlag.BLADDER_DYSFUNCTION,
        RedFlag.FAECAL_INCONTINENCE,
        RedFlag.PROGRESSIVE_MOTOR_DEFICIT,
    }
    assert a.flags["RED_FLAG_EMERGENCY"].value is (T if emergency else U)


def test_red_flags_are_never_false_even_when_all_are_recorded_negative() -> None:
    b = F()
    for red in RedFlag:
        b.red(red, False)
    a = assess(b)
    assert a.flags["RED_FLAG"].value is U
    assert a.flags["RED_FLAG_EMERGENCY"].value is U


def test_a_cauda_equina_condition_is_an_emergency_red_flag() -> None:
    a = assess(F().condition(ConditionKind.CAUDA_EQUINA))
    assert a.flags["RED_FLAG"].value is T
    assert a.flags["RED_FLAG_EMERGENCY"].value is T


@pytest.mark.parametrize(
    ("pct", "pos", "strong", "neg"),
    [
        ("50", T, FALSE, FALSE),
        ("49.9", FALSE, FALSE, T),
        ("80", T, T, FALSE),
        ("79.9", T, FALSE, FALSE),
        ("-20", FALSE, FALSE, T),
    ],
)
def test_ia_flags_at_their_thresholds(pct: str, pos: Tri, strong: Tri, neg: Tri) -> None:
    flags = assess(F().injection(pct=pct)).flags
    assert (flags["IA_POS"].value, flags["IA_STRONG"].value, flags["IA_NEG"].value) == (
        pos,
        strong,
        neg,
    )


@pytest.mark.parametrize(
    ("pre", "post", "relief", "pos"),
    [
        (6, 3, "50", T),
        (10, 2, "80", T),
        (3, 2, "≈33.33", FALSE),
        (3, 1, "≈66.67", T),
        (4, 6, "-50", FALSE),  # a computed relief is not range-checked
    ],
)
def test_ia_relief_is_computed_exactly_from_nrs_before_and_after(
    pre: int, post: int, relief: str, pos: Tri
) -> None:
    a = assess(F().injection(pre=pre, post=post))
    assert a.extra["ia-relief-pct"] == relief
    assert a.flags["IA_POS"].value is pos


def test_a_recorded_relief_beats_the_computed_one() -> None:
    a = assess(F().injection(pre=10, post=0, pct="20"))
    assert a.flags["IA_NEG"].value is T
    assert "recorded relief 20 %" in a.flags["IA_NEG"].basis


@pytest.mark.parametrize("b", [F().injection(pre=0, post=0), F().injection(pre=5), F()])
def test_ia_relief_is_unknown_without_a_usable_pre_value_or_a_percentage(b: F) -> None:
    flags = assess(b).flags
    assert {flags[n].value for n in ("IA_POS", "IA_STRONG", "IA_NEG")} == {U}
