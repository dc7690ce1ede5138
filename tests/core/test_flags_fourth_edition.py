"""Fourth-edition flags other than the red flags (clinical-spec.md §1.2, §2; E4-7, E4-9 … E4-13,
E4-16, E4-23, E4-24; §11 Q4-12, Q4-13, Q4-20, Q4-21, Q5-08, Q10-05, Q10-09, Q11-01).
Boundaries: SLR 29/30/70/71°, 6 weeks, 365 days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from service.core.assessment import Flag
from service.core.classifications import pi_minus_ll
from service.core.evidence import lumbar_imaging_known, old_lumbar_imaging, sij_reason
from service.core.findings import (
    ConditionFinding,
    ConditionKind,
    Findings,
    ImagingFinding,
    Measurement,
    Motion,
    PainLocation,
    PainReading,
    PainSeries,
    PainSite,
    Side,
    SidedTest,
    TestFinding,
    TestResult,
    Treatment,
    TreatmentKind,
    UnsidedTest,
)
from service.core.flags import derive_flags
from service.core.measures import ia_relief, kl_max
from service.core.thresholds import Thresholds
from service.core.tri import Tri

T, U, FALSE = Tri.TRUE, Tri.UNKNOWN, Tri.FALSE
L, R = Side.LEFT, Side.RIGHT
REF = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
TH = Thresholds()
POS, NEG = TestResult.POSITIVE, TestResult.NEGATIVE


def flags(f: Findings, t: Thresholds = TH) -> dict[str, Flag]:
    return derive_flags(f, t, kl_max(f), ia_relief(f), pi_minus_ll(f))


def value(f: Findings, name: str, t: Thresholds = TH) -> Tri:
    return flags(f, t)[name].value


def m(v: int | str, time: datetime | None = None) -> Measurement:
    return Measurement(Decimal(str(v)), "Observation/m", None, time)


def tf(result: TestResult, *locations: PainLocation, angle: int | None = None) -> TestFinding:
    return TestFinding(
        result,
        "Observation/t",
        frozenset(locations),
        Decimal(angle) if angle is not None else None,
    )


def series(
    site: PainSite, v: int, side: Side | None = None, time: datetime | None = None
) -> PainSeries:
    return PainSeries(site, side, (PainReading(v, time, f"Observation/{site.value}"),))


def F(**fields: Any) -> Findings:  # noqa: N802
    return Findings(**fields)


# --- replaced hips (E4-9, Q4-12, Q4-13, Q5-08) -----------------------------------------------

LEFT_REPLACED = frozenset({L})


def test_q4_12_a_replaced_side_counts_as_ir_15_or_more() -> None:
    f = F(rom={(Motion.INTERNAL_ROTATION, R): m(30)}, replaced_sides=LEFT_REPLACED)
    assert value(f, "RESTRICTED_IR") is FALSE
    f = F(rom={(Motion.INTERNAL_ROTATION, R): m(10)}, replaced_sides=LEFT_REPLACED)
    assert value(f, "RESTRICTED_IR") is T
    assert value(F(replaced_sides=LEFT_REPLACED), "RESTRICTED_IR") is U  # native not recorded


def test_q4_12_no_side_is_compared_with_a_replaced_hip() -> None:
    f = F(
        rom={(Motion.INTERNAL_ROTATION, R): m(30), (Motion.INTERNAL_ROTATION, L): m(5)},
        replaced_sides=LEFT_REPLACED,
    )
    assert value(f, "ROT_ASYMMETRY") is FALSE
    assert value(f, "RESTRICTED_IR") is FALSE  # the replaced side's IR never counts


def test_q4_12_kl_of_the_native_side_alone() -> None:
    f = F(kl_grade={R: m(1)}, replaced_sides=LEFT_REPLACED)
    out = flags(f)
    assert out["HIP_PATH"].value is FALSE
    assert out["HIP_SEVERE"].value is FALSE
    assert kl_max(f).value == Decimal(1)
    assert kl_max(F(replaced_sides=LEFT_REPLACED)).value is None


def test_q4_12_both_hips_replaced_kl_max_unknown_hip_path_false() -> None:
    f = F(replaced_sides=frozenset({L, R}))
    assert kl_max(f).value is None  # never ask for a radiograph of a replaced hip
    assert value(f, "HIP_PATH") is FALSE
    assert value(f, "HIP_PROVOCATIVE") is FALSE
    assert value(f, "HIP_EXAM_NEGATIVE") is T


def test_q5_08_replaced_side_counts_as_thomas_negative_and_extension_above_0() -> None:
    thomas = F(sided_tests={(SidedTest.THOMAS, R): tf(NEG)}, replaced_sides=LEFT_REPLACED)
    assert value(thomas, "HIP_EXT_DEFICIT") is FALSE
    ext = F(rom={(Motion.EXTENSION, R): m(10)}, replaced_sides=LEFT_REPLACED)
    assert value(ext, "HIP_EXT_DEFICIT") is FALSE


def test_q4_13_hip_condition_of_a_replaced_side_is_not_hip_evidence() -> None:
    oa = {
        ConditionKind.HIP_OA: ConditionFinding(ConditionKind.HIP_OA, "Condition/oa", frozenset({L}))
    }
    assert value(F(conditions=oa, replaced_sides=LEFT_REPLACED), "HIP_PATH") is U
    assert value(F(conditions=oa), "HIP_PATH") is T


def test_q4_13_groin_pain_of_a_replaced_side_is_not_groin_pain() -> None:
    f = F(pain=(series(PainSite.GROIN, 5, L),), replaced_sides=LEFT_REPLACED)
    assert value(f, "GROIN_PAIN") is U
    assert "of a replaced hip, not counted" in flags(f)["GROIN_PAIN"].basis
    f = F(pain=(series(PainSite.GROIN, 5, R),), replaced_sides=LEFT_REPLACED)
    assert value(f, "GROIN_PAIN") is T


# --- HIP_EXAM_NEGATIVE and HIP_SIGNS (E4-10, Q10-09) -----------------------------------------

NEG_EXAM: dict[str, Any] = {
    "rom": {(Motion.INTERNAL_ROTATION, L): m(30), (Motion.INTERNAL_ROTATION, R): m(32)},
    "sided_tests": {
        (SidedTest.FADIR, L): tf(NEG),
        (SidedTest.FADIR, R): tf(NEG),
        (SidedTest.FABER, L): tf(NEG),
        (SidedTest.FABER, R): tf(NEG),
    },
}


def test_e4_10_hip_exam_negative_and_groin_pain_is_not_a_hip_sign() -> None:
    f = F(pain=(series(PainSite.GROIN, 6),), **NEG_EXAM)
    out = flags(f)
    assert out["HIP_EXAM_NEGATIVE"].value is T
    assert out["GROIN_PAIN"].value is T
    assert out["HIP_SIGNS"].value is FALSE


def test_e4_10_hip_exam_negative_false_when_a_sign_is_true() -> None:
    f = F(rom={(Motion.INTERNAL_ROTATION, L): m(10)})
    assert value(f, "HIP_EXAM_NEGATIVE") is FALSE
    assert value(F(), "HIP_EXAM_NEGATIVE") is U


def test_q10_09_groin_pain_without_any_hip_examination_leaves_hip_signs_unknown() -> None:
    assert value(F(pain=(series(PainSite.GROIN, 6),)), "HIP_SIGNS") is U


# --- radicular SLR (E4-7, Q4-20) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("angle", "expected"), [(29, FALSE), (30, T), (50, T), (70, T), (71, FALSE), (None, T)]
)
def test_e4_7_q4_20_slr_angle_30_to_70_is_radicular(angle: int | None, expected: Tri) -> None:
    f = F(sided_tests={(SidedTest.SLR, R): tf(POS, angle=angle)})
    assert value(f, "RADICULAR") is expected


@pytest.mark.parametrize(
    ("locations", "expected"),
    [
        ((PainLocation.GROIN_ANTERIOR,), FALSE),
        ((PainLocation.LATERAL,), FALSE),
        ((PainLocation.GROIN_ANTERIOR, PainLocation.BELOW_KNEE), T),
        ((PainLocation.LATERAL, PainLocation.POSTERIOR), T),
        ((PainLocation.BELOW_KNEE,), T),
        ((), T),  # Q4-20: a location-less SLR + is radicular
    ],
)
def test_q4_20_slr_pain_location(locations: tuple[PainLocation, ...], expected: Tri) -> None:
    f = F(sided_tests={(SidedTest.SLR, L): tf(POS, *locations)})
    assert value(f, "RADICULAR") is expected


def test_e4_7_non_radicular_slr_is_named_in_the_basis() -> None:
    f = F(sided_tests={(SidedTest.SLR, R): tf(POS, PainLocation.GROIN_ANTERIOR, angle=80)})
    flag = flags(f)["RADICULAR"]
    assert flag.value is FALSE
    assert "SLR + right at 80° with groin-anterior pain" in flag.basis
    assert "not radicular" in flag.basis


# --- side-keyed side-optional tests (E4-23) ---------------------------------------------------


def test_e4_23_crossed_slr_positive_on_one_side_key_is_radicular() -> None:
    f = F(
        unsided_tests_by_side={
            (UnsidedTest.SLR_CROSSED, L): tf(POS),
            (UnsidedTest.SLR_CROSSED, R): tf(NEG),
        }
    )
    assert value(f, "RADICULAR") is T


def test_e4_23_sij_cluster_counts_each_code_once_positive_on_any_key() -> None:
    by_side = {
        (UnsidedTest.SIJ_DISTRACTION, L): tf(POS),
        (UnsidedTest.SIJ_DISTRACTION, R): tf(NEG),
        (UnsidedTest.SIJ_THIGH_THRUST, None): tf(POS),
        (UnsidedTest.SIJ_COMPRESSION, R): tf(POS),
        (UnsidedTest.SIJ_COMPRESSION, L): tf(POS),
    }
    f = F(unsided_tests_by_side=by_side)
    out = flags(f)
    assert out["SIJ_SIGNS"].value is T
    assert out["SIJ_SIGNS"].basis.startswith("cluster:")
    assert sij_reason(f, out["GROIN_PAIN"]) == "cluster"


def test_q10_12_sij_reason_faber_posterior() -> None:
    f = F(sided_tests={(SidedTest.FABER, L): tf(POS, PainLocation.POSTERIOR)})
    out = flags(f)
    assert out["SIJ_SIGNS"].value is T
    assert sij_reason(f, out["GROIN_PAIN"]) == "faber-posterior"


# --- GLUTEAL_SIGNS (E4-11, Q4-21, Q5-11) ------------------------------------------------------

PALP, SLS, FADER = (
    SidedTest.GREATER_TROCHANTER_PALPATION,
    SidedTest.SINGLE_LEG_STANCE,
    SidedTest.FADER_R,
)


def test_e4_11_gluteal_signs_need_palpation_and_a_specific_test_on_the_same_side() -> None:
    lateral = (series(PainSite.LATERAL_HIP, 5, L),)
    same = F(pain=lateral, sided_tests={(PALP, L): tf(POS), (SLS, L): tf(POS)})
    assert value(same, "GLUTEAL_SIGNS") is T
    other = F(pain=lateral, sided_tests={(PALP, L): tf(POS), (FADER, R): tf(POS)})
    assert value(other, "GLUTEAL_SIGNS") is U
    fader = F(pain=lateral, sided_tests={(PALP, R): tf(POS), (FADER, R): tf(POS)})
    assert value(fader, "GLUTEAL_SIGNS") is T


def test_q4_21_gluteal_signs_false() -> None:
    zero = F(
        pain=(series(PainSite.LATERAL_HIP, 0),), sided_tests={(PALP, L): tf(POS), (SLS, L): tf(POS)}
    )
    assert value(zero, "GLUTEAL_SIGNS") is FALSE
    palpation_negative = F(sided_tests={(PALP, L): tf(NEG)})
    assert value(palpation_negative, "GLUTEAL_SIGNS") is FALSE
    assert value(F(), "GLUTEAL_SIGNS") is U


def test_q5_11_lateral_hip_tests_of_a_replaced_side_still_count() -> None:
    f = F(
        pain=(series(PainSite.LATERAL_HIP, 4, L),),
        sided_tests={(PALP, L): tf(POS), (SLS, L): tf(POS)},
        replaced_sides=LEFT_REPLACED,
    )
    assert value(f, "GLUTEAL_SIGNS") is T


# --- SHORT_EPISODE (E4-13, Q4-30) -------------------------------------------------------------


@pytest.mark.parametrize(("weeks", "expected"), [("5.9", T), ("6", FALSE), ("6.1", FALSE)])
def test_e4_13_short_episode_is_under_6_weeks(weeks: str, expected: Tri) -> None:
    assert value(F(symptom_duration=m(weeks)), "SHORT_EPISODE") is expected


def test_q4_30_duration_ages_to_the_reference_time() -> None:
    six_days = F(symptom_duration=m(5, REF - 6 * DAY), reference_time=REF)
    assert value(six_days, "SHORT_EPISODE") is T
    seven_days = F(symptom_duration=m(5, REF - 7 * DAY), reference_time=REF)
    assert value(seven_days, "SHORT_EPISODE") is FALSE  # 5 wk + 7 d = 6 weeks exactly


def test_short_episode_unknown_without_duration_and_overridable() -> None:
    assert value(F(), "SHORT_EPISODE") is U
    t = Thresholds(short_episode_weeks=Decimal(4))
    assert value(F(symptom_duration=m(5)), "SHORT_EPISODE", t) is FALSE


# --- CONSERVATIVE_TX_FAILED (E4-16) and wording (E4-24) ---------------------------------------


def _physio(after: int, before: int | None = None) -> Findings:
    ended = REF - 30 * DAY
    readings = []
    if before is not None:
        readings.append(PainReading(before, ended - 60 * DAY, "Observation/nrs-before"))
    readings.append(PainReading(after, REF, "Observation/nrs-after"))
    return F(
        pain=(PainSeries(PainSite.LOW_BACK, None, tuple(readings)),),
        treatments=(Treatment(TreatmentKind.PHYSIOTHERAPY, ended, "Procedure/pt"),),
    )


def test_e4_16_pain_persists_after_physiotherapy() -> None:
    flag = flags(_physio(6, 7))["CONSERVATIVE_TX_FAILED"]
    assert flag.value is T
    assert "pain persists after the hip–lumbar physiotherapy programme" in flag.basis  # E4-24
    assert "failed" not in flag.basis


def test_e4_16_improvement_reaching_the_mic_is_false() -> None:
    assert value(_physio(4, 7), "CONSERVATIVE_TX_FAILED") is FALSE
    assert value(_physio(3), "CONSERVATIVE_TX_FAILED") is FALSE


def test_e4_16_denied_programme_and_nothing_recorded() -> None:
    denied = F(treatments_denied={TreatmentKind.PHYSIOTHERAPY: "Observation/pt-no"})
    assert value(denied, "CONSERVATIVE_TX_FAILED") is FALSE
    assert value(F(), "CONSERVATIVE_TX_FAILED") is U


def test_e4_24_spine_tx_failed_says_pain_persists_after_the_lumbar_surgery() -> None:
    f = F(
        pain=(series(PainSite.LOW_BACK, 7, time=REF),),
        treatments=(Treatment(TreatmentKind.LUMBAR_SURGERY, REF - 100 * DAY, "Procedure/s"),),
    )
    flag = flags(f)["SPINE_TX_FAILED"]
    assert flag.value is T
    assert "pain persists after the lumbar surgery" in flag.basis


# --- lumbar imaging known within 365 days (Q10-05, Q11-01) ------------------------------------


def _imaging(age: timedelta | None, ref: datetime | None = REF) -> Findings:
    return F(
        lumbar_imaging={ImagingFinding.STENOSIS: "Observation/img"},
        lumbar_imaging_time=REF - age if age is not None else None,
        reference_time=ref,
    )


def test_q10_05_lumbar_imaging_365_days_exactly_is_known() -> None:
    assert lumbar_imaging_known(_imaging(365 * DAY), TH)
    assert not old_lumbar_imaging(_imaging(365 * DAY), TH)


def test_q10_05_lumbar_imaging_365_days_and_1_second_is_old() -> None:
    f = _imaging(365 * DAY + SECOND)
    assert not lumbar_imaging_known(f, TH)
    assert old_lumbar_imaging(f, TH)
    assert value(f, "SPINE_PATH") is T  # Q11-01: SPINE_PATH reads findings whatever their age


def test_q11_01_untimed_or_no_reference_time_counts_as_known() -> None:
    assert lumbar_imaging_known(_imaging(None), TH)
    assert lumbar_imaging_known(_imaging(900 * DAY, ref=None), TH)
    assert not lumbar_imaging_known(F(), TH)


def test_lumbar_imaging_recency_overridable() -> None:
    t = Thresholds(lumbar_imaging_recent_days=Decimal(180))
    assert not lumbar_imaging_known(_imaging(181 * DAY), t)


def test_thresholds_of_the_fourth_edition_come_from_settings_names() -> None:
    t = Thresholds.from_mapping({"septic_groin_nrs": Decimal(8), "review_weeks": Decimal(8)})
    assert t.septic_groin_nrs == Decimal(8)
    assert Thresholds.days(Decimal(90)) == 90 * DAY


def test_threshold_register_tags_every_field_and_new_constant() -> None:
    from dataclasses import fields

    from service.core.thresholds import THRESHOLD_TAGS

    for f in fields(Thresholds):
        assert THRESHOLD_TAGS[f.name]
    assert THRESHOLD_TAGS["red_flag_recency_days"] == "P"
    assert THRESHOLD_TAGS["SLR_RADICULAR_MIN_DEG"] == "V S23"
    assert THRESHOLD_TAGS["short_episode_weeks"] == "M S43, S47"


def test_issue_9_flag_names_are_one_str_enum_in_the_table_order() -> None:
    from service.core.flag_names import FlagName

    out = flags(F())
    assert list(out) == [n.value for n in FlagName]
    assert out[FlagName.HIP_EXAM_NEGATIVE] is out["HIP_EXAM_NEGATIVE"]


def test_threshold_register_matches_the_comments_of_thresholds_py() -> None:
    import re
    from pathlib import Path

    import service.core.thresholds as module

    text = Path(module.__file__).read_text(encoding="utf-8")
    tagged = re.findall(r"^([A-Z][A-Z0-9_]*) = .*?#\s*\[([^\]]+)\]\s*(.*)$", text, re.MULTILINE)
    assert {name: (tag, meaning) for name, tag, meaning in tagged} == dict(module.REGISTER)


@pytest.mark.parametrize("days", ["-1", "36501", "1E+12"])
def test_recency_windows_outside_0_to_a_century_are_refused_at_start_up(days: str) -> None:
    with pytest.raises(ValueError, match="red_flag_recency_days"):
        Thresholds(red_flag_recency_days=Decimal(days))


def test_q4_13_an_unsided_hip_condition_still_counts_beside_a_replaced_sides_one() -> None:
    from service.core.evidence import avn_present

    left = ConditionFinding(ConditionKind.AVN, "Condition/avn-left", frozenset({L}))
    unsided = ConditionFinding(ConditionKind.AVN, "Condition/avn")
    f = F(
        conditions={ConditionKind.AVN: left},
        condition_records=(left, unsided),
        replaced_sides=LEFT_REPLACED,
    )
    assert avn_present(f)
    assert value(f, "HIP_PATH") is T
    only_replaced = F(
        conditions={ConditionKind.AVN: left},
        condition_records=(left,),
        replaced_sides=LEFT_REPLACED,
    )
    assert not avn_present(only_replaced)
    assert value(only_replaced, "MT_CAUTION") is T  # still a manual-therapy precaution
