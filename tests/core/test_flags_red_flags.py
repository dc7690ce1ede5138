"""Red flags by kind, the red-flag screen and MT_CAUTION (clinical-spec.md §1.3, §2; fourth
edition E4-2 … E4-5, E4-8; §11 Q4-03 … Q11-06). Boundaries: 90 days exactly and + 1 s,
MRC 3 and 4, age 70."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from service.core.assessment import Flag
from service.core.classifications import pi_minus_ll
from service.core.findings import (
    BoolFinding,
    ConditionFinding,
    ConditionKind,
    Findings,
    NeuroSign,
    PainReading,
    PainSeries,
    PainSite,
    RedFlag,
    Side,
    SidedTest,
    TestFinding,
    TestResult,
    Treatment,
    TreatmentKind,
)
from service.core.flags import derive_flags
from service.core.measures import ia_relief, kl_max
from service.core.precautions import mt_precautions
from service.core.red_flags import (
    age_years,
    red_flag_items,
    unrecorded_screen_items,
)
from service.core.thresholds import Thresholds
from service.core.tri import Tri

T, U, FALSE = Tri.TRUE, Tri.UNKNOWN, Tri.FALSE
REF = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
TH = Thresholds()


def findings(**fields: Any) -> Findings:
    return Findings(**fields)


def flags(f: Findings, t: Thresholds = TH) -> dict[str, Flag]:
    return derive_flags(f, t, kl_max(f), ia_relief(f), pi_minus_ll(f))


def value(f: Findings, name: str, t: Thresholds = TH) -> Tri:
    return flags(f, t)[name].value


def rf(kind: RedFlag, v: bool = True, time: datetime | None = None) -> dict[RedFlag, BoolFinding]:
    return {kind: BoolFinding(v, f"Observation/{kind.value}", time)}


def cond(
    kind: ConditionKind, sides: frozenset[Side] = frozenset(), onset: datetime | None = None
) -> dict[ConditionKind, ConditionFinding]:
    return {kind: ConditionFinding(kind, f"Condition/{kind.value}", sides, onset)}


def groin(v: int, side: Side | None = None) -> PainSeries:
    return PainSeries(PainSite.GROIN, side, (PainReading(v, REF, f"Observation/groin-{v}"),))


POS = TestFinding(TestResult.POSITIVE, "Observation/t")


# --- RED_FLAG_EMERGENCY, RED_FLAG_SPINE, RED_FLAG -------------------------------------------


@pytest.mark.parametrize(
    "kind",
    [
        RedFlag.SADDLE_ANAESTHESIA,
        RedFlag.BLADDER_DYSFUNCTION,
        RedFlag.FAECAL_INCONTINENCE,
        RedFlag.PROGRESSIVE_MOTOR_DEFICIT,
    ],
)
def test_e4_3_emergency_items_make_red_flag_emergency(kind: RedFlag) -> None:
    f = findings(red_flags=rf(kind))
    out = flags(f)
    assert out["RED_FLAG_EMERGENCY"].value is T
    assert out["RED_FLAG"].value is T
    assert out["RED_FLAG_SPINE"].value is U


@pytest.mark.parametrize(
    "kind",
    [
        RedFlag.CANCER_HISTORY,
        RedFlag.FEVER,
        RedFlag.WEIGHT_LOSS,
        RedFlag.IVDU_IMMUNOSUPPRESSION,
        RedFlag.SIGNIFICANT_TRAUMA,
    ],
)
def test_e4_3_spine_items_make_red_flag_spine(kind: RedFlag) -> None:
    out = flags(findings(red_flags=rf(kind)))
    assert out["RED_FLAG_SPINE"].value is T
    assert out["RED_FLAG"].value is T
    assert out["RED_FLAG_EMERGENCY"].value is U


def test_red_flag_kinds_are_never_false() -> None:
    f = findings(red_flags={k: BoolFinding(False, f"O/{k.value}") for k in RedFlag})
    out = flags(f)
    for name in ("RED_FLAG", "RED_FLAG_EMERGENCY", "RED_FLAG_SPINE", "RED_FLAG_HIP"):
        assert out[name].value is U


def test_cauda_equina_condition_is_an_emergency() -> None:
    assert value(findings(conditions=cond(ConditionKind.CAUDA_EQUINA)), "RED_FLAG_EMERGENCY") is T


def _weak(grade: int | None, weak: bool = True) -> Findings:
    return findings(
        neuro={NeuroSign.MYOTOMAL_WEAKNESS: BoolFinding(weak, "Observation/w", None, grade)}
    )


@pytest.mark.parametrize(("grade", "expected"), [(0, T), (3, T), (4, U), (5, U), (None, U)])
def test_e4_3_q4_07_mrc_3_is_a_red_flag_mrc_4_is_not(grade: int | None, expected: Tri) -> None:
    f = _weak(grade)
    assert value(f, "RED_FLAG_SPINE") is expected
    assert value(f, "MOTOR_DEFICIT") is T  # weakness without a red flag still counts (Q4-07)


def test_q4_07_mrc_grade_is_read_only_when_weakness_is_true() -> None:
    assert value(_weak(2, weak=False), "RED_FLAG_SPINE") is U


def test_major_weakness_threshold_is_overridable() -> None:
    assert value(_weak(4), "RED_FLAG_SPINE", Thresholds(major_weakness_mrc=Decimal(4))) is T


# --- recency (E4-5, §0.8, Q4-05, Q4-06, Q7-01) ----------------------------------------------


def _fever_at(age: timedelta) -> Findings:
    return findings(red_flags=rf(RedFlag.FEVER, True, REF - age), reference_time=REF)


def test_e4_5_q4_05_red_flag_90_days_exactly_is_current() -> None:
    assert value(_fever_at(90 * DAY), "RED_FLAG_SPINE") is T


def test_e4_5_q4_05_red_flag_90_days_and_1_second_is_stale() -> None:
    assert value(_fever_at(90 * DAY + SECOND), "RED_FLAG_SPINE") is U


def test_e4_6_no_reference_time_no_recency() -> None:
    f = findings(red_flags=rf(RedFlag.FEVER, True, REF - 400 * DAY))
    assert value(f, "RED_FLAG_SPINE") is T


def test_e4_5_recency_days_overridable() -> None:
    t = Thresholds(red_flag_recency_days=Decimal(30))
    assert value(_fever_at(31 * DAY), "RED_FLAG_SPINE", t) is U
    assert value(_fever_at(30 * DAY), "RED_FLAG_SPINE", t) is T


@pytest.mark.parametrize("kind", [RedFlag.CANCER_HISTORY, RedFlag.IVDU_IMMUNOSUPPRESSION])
def test_q7_01_q4_06_history_red_flags_never_go_stale(kind: RedFlag) -> None:
    f = findings(red_flags=rf(kind, True, REF - 3650 * DAY), reference_time=REF)
    assert value(f, "RED_FLAG_SPINE") is T


def test_q4_06_recency_does_not_apply_to_myotomal_weakness() -> None:
    f = findings(
        neuro={NeuroSign.MYOTOMAL_WEAKNESS: BoolFinding(True, "O/w", REF - 400 * DAY, 3)},
        reference_time=REF,
    )
    assert value(f, "RED_FLAG_SPINE") is T


# --- malignancy Conditions (E4-3, Q4-03, Q10-01) --------------------------------------------


def test_e4_3_q4_03_malignancy_condition_is_cancer_history_whatever_the_observation() -> None:
    f = findings(
        conditions=cond(ConditionKind.MALIGNANCY),
        red_flags=rf(RedFlag.CANCER_HISTORY, False),
    )
    out = flags(f)
    assert out["RED_FLAG_SPINE"].value is T
    assert "malignancy Condition" in out["RED_FLAG_SPINE"].basis
    assert red_flag_items(f, TH).cancer_history
    assert red_flag_items(f, TH).urgent_mri


# --- RED_FLAG_HIP (E4-2, Q4-08, Q4-14, Q5-02, Q5-05, Q6-02, Q10-06, Q11-02) -----------------


def test_e4_2_unable_to_weight_bear_is_a_hip_red_flag_without_side() -> None:
    f = findings(red_flags=rf(RedFlag.UNABLE_TO_WEIGHT_BEAR))
    assert value(f, "RED_FLAG_HIP") is T
    assert red_flag_items(f, TH).hip_sides == ()  # Q4-18


def test_q4_08_trauma_with_groin_pain_is_a_hip_red_flag_on_that_side() -> None:
    f = findings(red_flags=rf(RedFlag.SIGNIFICANT_TRAUMA), pain=(groin(2, Side.RIGHT),))
    assert value(f, "RED_FLAG_HIP") is T
    assert red_flag_items(f, TH).hip_sides == (Side.RIGHT,)


def test_q4_08_trauma_with_groin_0_and_no_log_roll_is_no_hip_red_flag() -> None:
    f = findings(red_flags=rf(RedFlag.SIGNIFICANT_TRAUMA), pain=(groin(0),))
    assert value(f, "RED_FLAG_HIP") is U
    assert value(f, "RED_FLAG_SPINE") is T
    assert red_flag_items(f, TH).trauma_only  # Q4-41


def test_q4_08_trauma_with_log_roll_positive() -> None:
    f = findings(
        red_flags=rf(RedFlag.SIGNIFICANT_TRAUMA),
        sided_tests={(SidedTest.LOG_ROLL, Side.LEFT): POS},
    )
    assert value(f, "RED_FLAG_HIP") is T
    assert red_flag_items(f, TH).hip_sides == (Side.LEFT,)


@pytest.mark.parametrize(("nrs", "expected"), [(6, U), (7, T), (10, T)])
def test_q4_08_fever_with_groin_nrs_7(nrs: int, expected: Tri) -> None:
    f = findings(red_flags=rf(RedFlag.FEVER), pain=(groin(nrs),))
    assert value(f, "RED_FLAG_HIP") is expected


def test_q4_08_fever_with_passive_ir_pain() -> None:
    f = findings(
        red_flags=rf(RedFlag.FEVER),
        sided_tests={(SidedTest.PASSIVE_IR_PAIN, Side.RIGHT): POS},
    )
    assert value(f, "RED_FLAG_HIP") is T
    assert red_flag_items(f, TH).hip_sides == (Side.RIGHT,)


def test_q4_14_q5_01_replaced_hip_log_roll_with_fever_is_a_hip_red_flag() -> None:
    f = findings(
        red_flags=rf(RedFlag.FEVER),
        replaced_sides=frozenset({Side.LEFT}),
        replaced_hip_tests={(SidedTest.LOG_ROLL, Side.LEFT): POS},
    )
    assert value(f, "RED_FLAG_HIP") is T
    assert red_flag_items(f, TH).hip_sides == (Side.LEFT,)
    assert value(f, "HIP_PROVOCATIVE") is not T  # never reaches the exam


def test_q10_06_fever_with_groin_pain_on_a_replaced_side() -> None:
    f = findings(
        red_flags=rf(RedFlag.FEVER),
        replaced_sides=frozenset({Side.LEFT}),
        pain=(groin(3, Side.LEFT),),
    )
    assert value(f, "RED_FLAG_HIP") is T
    assert value(f, "GROIN_PAIN") is U  # Q4-13: not hip evidence


def test_q11_02_side_less_groin_pain_with_one_replaced_hip_is_that_side() -> None:
    f = findings(
        red_flags=rf(RedFlag.FEVER),
        replaced_sides=frozenset({Side.RIGHT}),
        pain=(groin(3),),
    )
    assert value(f, "RED_FLAG_HIP") is T
    assert red_flag_items(f, TH).hip_sides == (Side.RIGHT,)


def _fracture(onset: datetime | None, ref: datetime | None = REF) -> Findings:
    return findings(
        conditions=cond(ConditionKind.FEMORAL_NECK_FRACTURE, frozenset({Side.LEFT}), onset),
        reference_time=ref,
    )


def test_q4_08_femoral_neck_fracture_90_days_exactly_is_recent() -> None:
    assert value(_fracture(REF - 90 * DAY), "RED_FLAG_HIP") is T
    assert red_flag_items(_fracture(REF - 90 * DAY), TH).hip_sides == (Side.LEFT,)


def test_q4_08_femoral_neck_fracture_90_days_and_1_second_is_not_a_red_flag() -> None:
    f = _fracture(REF - 90 * DAY - SECOND)
    assert value(f, "RED_FLAG_HIP") is U
    assert value(f, "MT_CAUTION") is T  # still a manual-therapy precaution


def test_q5_05_undated_fracture_or_no_reference_time_counts_as_recent() -> None:
    assert value(_fracture(None), "RED_FLAG_HIP") is T
    assert value(_fracture(REF - 900 * DAY, ref=None), "RED_FLAG_HIP") is T


def test_q6_02_periprosthetic_fracture_names_the_replaced_side() -> None:
    f = dataclasses.replace(_fracture(None), replaced_sides=frozenset({Side.LEFT}))
    assert red_flag_items(f, TH).hip_sides == (Side.LEFT,)


# --- fragility fracture (Q10-08, Q11-06) ------------------------------------------------------


def _fragile(born: date | None, **extra: Any) -> Findings:
    return findings(
        conditions=cond(ConditionKind.OSTEOPOROSIS), birth_date=born, reference_time=REF, **extra
    )


def test_q10_08_osteoporosis_at_age_70_is_a_spine_red_flag() -> None:
    f = _fragile(date(1955, 6, 1))  # 70th birthday on the reference date
    assert age_years(f) == 70
    assert value(f, "RED_FLAG_SPINE") is T
    assert red_flag_items(f, TH).fragility_fracture


def test_q10_08_osteoporosis_at_69_is_not() -> None:
    f = _fragile(date(1955, 6, 2))  # 70 tomorrow
    assert age_years(f) == 69
    assert value(f, "RED_FLAG_SPINE") is U


def test_q10_08_long_term_corticosteroids_at_70() -> None:
    f = findings(
        red_flags=rf(RedFlag.LONG_TERM_CORTICOSTEROIDS, True, REF - 2000 * DAY),
        birth_date=date(1950, 1, 1),
        reference_time=REF,
    )
    assert value(f, "RED_FLAG_SPINE") is T  # a lasting state: never stale


def test_q10_08_without_birth_date_or_reference_time_the_age_rule_does_not_fire() -> None:
    assert value(_fragile(None), "RED_FLAG_SPINE") is U
    f = dataclasses.replace(_fragile(date(1940, 1, 1)), reference_time=None)
    assert value(f, "RED_FLAG_SPINE") is U


def test_q10_08_corticosteroids_alone_are_not_a_red_flag() -> None:
    f = findings(red_flags=rf(RedFlag.LONG_TERM_CORTICOSTEROIDS))
    assert value(f, "RED_FLAG") is U


def test_fragility_age_overridable() -> None:
    t = Thresholds(fragility_age_years=Decimal(65))
    assert value(_fragile(date(1958, 1, 1)), "RED_FLAG_SPINE", t) is T


# --- urgent MRI items (§5.1, Q4-09) -----------------------------------------------------------


def test_q4_09_two_spine_items_make_the_urgent_mri() -> None:
    one = findings(red_flags=rf(RedFlag.FEVER))
    two = findings(red_flags={**rf(RedFlag.FEVER), **rf(RedFlag.WEIGHT_LOSS)})
    assert not red_flag_items(one, TH).urgent_mri
    assert red_flag_items(two, TH).urgent_mri
    assert red_flag_items(two, TH).spine_mri_items == 2


def test_q4_09_cancer_observation_and_condition_are_one_item() -> None:
    f = findings(red_flags=rf(RedFlag.CANCER_HISTORY), conditions=cond(ConditionKind.MALIGNANCY))
    assert red_flag_items(f, TH).spine_mri_items == 1


# --- RED_FLAG_SCREEN_COMPLETE (E4-4, Q4-31) ---------------------------------------------------

SCREEN = (
    RedFlag.SADDLE_ANAESTHESIA,
    RedFlag.BLADDER_DYSFUNCTION,
    RedFlag.FAECAL_INCONTINENCE,
    RedFlag.CANCER_HISTORY,
    RedFlag.FEVER,
    RedFlag.WEIGHT_LOSS,
    RedFlag.SIGNIFICANT_TRAUMA,
)


def test_e4_4_q4_31_screen_complete_with_the_seven_items_recorded_false() -> None:
    f = findings(red_flags={k: BoolFinding(False, f"O/{k.value}") for k in SCREEN})
    assert value(f, "RED_FLAG_SCREEN_COMPLETE") is T


def test_e4_4_screen_incomplete_names_the_unrecorded_items_in_words() -> None:
    f = findings(red_flags={k: BoolFinding(False, f"O/{k.value}") for k in SCREEN[:5]})
    flag = flags(f)["RED_FLAG_SCREEN_COMPLETE"]
    assert flag.value is FALSE
    assert unrecorded_screen_items(f, TH) == ("weight loss", "significant trauma")
    assert "weight loss, significant trauma" in flag.basis


def test_e4_4_nothing_recorded_names_all_seven() -> None:
    assert len(unrecorded_screen_items(findings(), TH)) == 7


def test_e4_5_a_stale_screen_item_is_not_recorded() -> None:
    items = {k: BoolFinding(False, f"O/{k.value}", REF) for k in SCREEN}
    items[RedFlag.FEVER] = BoolFinding(False, "O/fever", REF - 91 * DAY)
    f = findings(red_flags=items, reference_time=REF)
    assert unrecorded_screen_items(f, TH) == ("fever",)


def test_q7_01_old_cancer_history_counts_as_recorded_and_a_malignancy_condition_too() -> None:
    items = {k: BoolFinding(False, f"O/{k.value}", REF) for k in SCREEN}
    items[RedFlag.CANCER_HISTORY] = BoolFinding(False, "O/c", REF - 3000 * DAY)
    assert unrecorded_screen_items(findings(red_flags=items, reference_time=REF), TH) == ()
    del items[RedFlag.CANCER_HISTORY]
    f = findings(red_flags=items, conditions=cond(ConditionKind.MALIGNANCY), reference_time=REF)
    assert unrecorded_screen_items(f, TH) == ()


# --- MT_CAUTION (E4-8, Q4-23, Q4-24) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        (ConditionKind.AVN, "avascular necrosis"),
        (ConditionKind.RHEUMATOID_ARTHRITIS, "rheumatoid arthritis"),
        (ConditionKind.OSTEOPOROSIS, "osteoporosis"),
        (ConditionKind.FEMORAL_NECK_FRACTURE, "femoral neck fracture"),
        (ConditionKind.ARTIFICIAL_HIP, "hip replacement"),
    ],
)
def test_e4_8_precaution_conditions_set_mt_caution_and_are_named(
    kind: ConditionKind, words: str
) -> None:
    f = findings(conditions=cond(kind))
    assert value(f, "MT_CAUTION") is T
    assert words in mt_precautions(f, TH)


def test_e4_8_hip_arthroplasty_without_side_sets_mt_caution() -> None:
    f = findings(
        treatments=(Treatment(TreatmentKind.HIP_ARTHROPLASTY, None, "Procedure/thr"),),
        arthroplasty_unsided=True,
    )
    assert value(f, "MT_CAUTION") is T
    assert mt_precautions(f, TH) == ("hip replacement",)


def test_q4_23_cancer_history_is_a_precaution_and_a_red_flag() -> None:
    f = findings(red_flags=rf(RedFlag.CANCER_HISTORY))
    assert "cancer history" in mt_precautions(f, TH)
    assert value(f, "RED_FLAG") is T


def test_mt_caution_is_never_false() -> None:
    assert value(findings(), "MT_CAUTION") is U


def test_q4_09_urgent_mri_item_count_is_overridable() -> None:
    one = findings(red_flags=rf(RedFlag.FEVER))
    assert red_flag_items(one, Thresholds(urgent_mri_spine_items=Decimal(1))).urgent_mri


def test_e4_19_red_flag_items_in_plain_words_without_observation_ids() -> None:
    f = findings(
        red_flags={**rf(RedFlag.FEVER), **rf(RedFlag.SADDLE_ANAESTHESIA)},
        pain=(groin(8, Side.RIGHT),),
        conditions=cond(ConditionKind.MALIGNANCY),
    )
    items = red_flag_items(f, TH)
    assert items.emergency_words == ("saddle anaesthesia",)
    assert items.spine_words == ("cancer history", "fever")
    assert items.hip_words == ("fever with severe groin pain (NRS 8): possible septic arthritis",)
    assert items.hip_sides == (Side.RIGHT,)
    for words in items.emergency_words + items.spine_words + items.hip_words:
        assert "Observation/" not in words and "Condition/" not in words


def test_e4_3_weakness_without_a_grade_is_named_in_the_trace() -> None:
    f = _weak(None)
    assert red_flag_items(f, TH).mrc_missing
    assert "without an MRC grade" in flags(f)["RED_FLAG_SPINE"].basis


def test_q5_05_q4_18_only_the_recent_fractures_side_is_named() -> None:
    old = ConditionFinding(
        ConditionKind.FEMORAL_NECK_FRACTURE,
        "Condition/old",
        frozenset({Side.LEFT}),
        REF - 4000 * DAY,
    )
    new = ConditionFinding(
        ConditionKind.FEMORAL_NECK_FRACTURE,
        "Condition/new",
        frozenset({Side.RIGHT}),
        REF - 19 * DAY,
    )
    f = findings(
        conditions={ConditionKind.FEMORAL_NECK_FRACTURE: new},
        condition_records=(old, new),
        reference_time=REF,
    )
    assert value(f, "RED_FLAG_HIP") is T
    assert red_flag_items(f, TH).hip_sides == (Side.RIGHT,)
    only_old = findings(
        conditions={ConditionKind.FEMORAL_NECK_FRACTURE: old},
        condition_records=(old,),
        reference_time=REF,
    )
    assert value(only_old, "RED_FLAG_HIP") is U
