"""Pain flags and failed treatments (clinical-spec.md §1.1 pain series, §2 LBP, GROIN_PAIN,
SPINE_TX_FAILED, HIP_TX_FAILED)."""

from __future__ import annotations

from datetime import datetime

import pytest

from service.core import ConditionKind, PainSite, Side, TreatmentKind, Tri
from tests.core.builders import F, assess, day, flag

T, FALSE, U = Tri.TRUE, Tri.FALSE, Tri.UNKNOWN


@pytest.mark.parametrize(("nrs", "expected"), [(0, FALSE), (1, T), (10, T)])
def test_lbp_is_true_from_a_latest_low_back_nrs_of_1(nrs: int, expected: Tri) -> None:
    assert flag(F().lbp(nrs), "LBP") is expected


def test_lbp_without_a_low_back_nrs_is_unknown_never_false() -> None:
    assert flag(F(), "LBP") is U


def test_lbp_reads_the_latest_value_of_the_series() -> None:
    assert flag(F().lbp(8, 0), "LBP") is FALSE
    assert flag(F().lbp(0, 3), "LBP") is T


def test_an_lbp_condition_makes_lbp_true_even_with_a_latest_nrs_of_0() -> None:
    assert flag(F().condition(ConditionKind.LOW_BACK_PAIN), "LBP") is T
    assert flag(F().lbp(0).condition(ConditionKind.LOW_BACK_PAIN), "LBP") is T


def test_a_site_flag_is_true_if_any_side_hurts_and_false_only_if_all_are_0() -> None:
    both = F().pain(PainSite.GROIN, 0, side=Side.LEFT).pain(PainSite.GROIN, 2, side=Side.RIGHT)
    assert flag(both, "GROIN_PAIN") is T
    calm = F().pain(PainSite.GROIN, 0, side=Side.LEFT).pain(PainSite.GROIN, 0, side=Side.RIGHT)
    assert flag(calm, "GROIN_PAIN") is FALSE


@pytest.mark.parametrize(("nrs", "expected"), [(0, FALSE), (1, T)])
def test_groin_pain_follows_the_latest_groin_nrs(nrs: int, expected: Tri) -> None:
    assert flag(F().groin(nrs), "GROIN_PAIN") is expected
    assert flag(F(), "GROIN_PAIN") is U


def test_site_less_and_unrecognised_pain_set_no_site_flag_but_count_as_pain() -> None:
    b = F().pain(None, 7).pain(None, 5, unrecognised="http://x|knee")
    a = assess(b)
    assert a.flags["LBP"].value is U
    assert a.flags["GROIN_PAIN"].value is U
    assert a.flags["ANY_PAIN"].value is T


def test_any_pain_is_false_when_every_latest_value_is_0() -> None:
    assert flag(F().lbp(0).groin(0).pain(None, 4, 0), "ANY_PAIN") is FALSE


# --- SPINE_TX_FAILED / HIP_TX_FAILED ----------------------------------------------------------

SURGERY = TreatmentKind.LUMBAR_SURGERY


def _lbp_series(*readings: tuple[int, datetime | None]) -> F:
    return F().lbp(*(v for v, _ in readings), times=tuple(t for _, t in readings))


@pytest.mark.parametrize(
    ("readings", "expected", "why"),
    [
        (((4, day(20)),), T, "NRS 4 after and none before"),
        (((3, day(20)),), FALSE, "NRS 3 after is not persistent pain"),
        (((7, day(1)), (6, day(20))), T, "improvement 1 is below the MIC"),
        (((5, day(1)), (4, day(20))), T, "improvement 1 (20 %) is below the MIC"),
        (((8, day(1)), (6, day(20))), FALSE, "improvement 2 points reaches the MIC"),
        (((0, day(1)), (5, day(20))), T, "baseline 0: only the 2-point test applies"),
        (((9, day(1)), (2, day(5)), (6, day(20))), FALSE, "the highest NRS before is the baseline"),
    ],
)
def test_a_dated_lumbar_treatment_fails_on_persistent_pain_without_mic_improvement(
    readings: tuple[tuple[int, datetime | None], ...], expected: Tri, why: str
) -> None:
    b = _lbp_series(*readings).treated(SURGERY, day(10))
    assert flag(b, "SPINE_TX_FAILED") is expected, why


def test_readings_at_the_treatment_time_are_neither_before_nor_after() -> None:
    b = _lbp_series((2, day(10)), (6, day(20))).treated(SURGERY, day(10))
    assert flag(b, "SPINE_TX_FAILED") is T  # the 2 on day 10 is no baseline
    only_at = _lbp_series((6, day(10))).treated(SURGERY, day(10))
    assert flag(only_at, "SPINE_TX_FAILED") is U  # no NRS strictly after


def test_untimed_readings_are_left_out_of_before_and_after() -> None:
    untimed_after = _lbp_series((9, None)).treated(SURGERY, day(10))
    assert flag(untimed_after, "SPINE_TX_FAILED") is U
    untimed_baseline = _lbp_series((9, None), (6, day(20))).treated(SURGERY, day(10))
    assert flag(untimed_baseline, "SPINE_TX_FAILED") is T


def test_after_a_treatment_each_series_contributes_its_latest_reading_then_the_highest() -> None:
    b = (
        F()
        .lbp(8, 2, times=(day(15), day(20)))  # latest after: 2 (not the 8)
        .groin(3, times=(day(15),))
        .treated(SURGERY, day(10))
    )
    assert flag(b, "SPINE_TX_FAILED") is FALSE
    worse = F().lbp(2, times=(day(20),)).pain(None, 5, times=(day(20),)).treated(SURGERY, day(10))
    assert flag(worse, "SPINE_TX_FAILED") is T  # site-less pain counts


@pytest.mark.parametrize(("latest", "expected"), [(5, T), (3, FALSE)])
def test_an_undated_treatment_uses_each_sites_latest_nrs(latest: int, expected: Tri) -> None:
    b = F().lbp(9, latest, times=(day(1), day(2))).treated(TreatmentKind.LUMBAR_INJECTION)
    assert flag(b, "SPINE_TX_FAILED") is expected


def test_a_treatment_not_followed_by_any_nrs_leaves_the_flag_unknown() -> None:
    assert flag(F().treated(SURGERY, day(10)), "SPINE_TX_FAILED") is U
    assert flag(F().treated(SURGERY), "SPINE_TX_FAILED") is U


def test_no_treatment_information_is_unknown_and_an_explicit_denial_is_false() -> None:
    assert flag(F().lbp(6), "SPINE_TX_FAILED") is U
    assert flag(F().lbp(6).denied(SURGERY), "SPINE_TX_FAILED") is FALSE
    # a denied hip treatment says nothing about the spine
    assert flag(F().lbp(6).denied(TreatmentKind.HIP_ARTHROPLASTY), "SPINE_TX_FAILED") is U


def test_any_one_failed_treatment_suffices_and_all_must_be_decided_for_false() -> None:
    series = _lbp_series((8, day(1)), (2, day(15)), (5, day(30)))
    helped = series.treated(SURGERY, day(2))  # 8 -> 5: improvement 3 reaches the MIC
    assert flag(helped, "SPINE_TX_FAILED") is FALSE
    failed_too = helped.treated(TreatmentKind.LUMBAR_INJECTION)  # undated: latest 5 >= 4
    assert flag(failed_too, "SPINE_TX_FAILED") is T
    undecided = _lbp_series((3, day(15))).treated(SURGERY, day(10)).treated(SURGERY, day(20))
    assert flag(undecided, "SPINE_TX_FAILED") is U
    ok = _lbp_series((3, day(15)), (2, day(25))).treated(SURGERY, day(10)).treated(SURGERY, day(20))
    assert flag(ok, "SPINE_TX_FAILED") is FALSE


@pytest.mark.parametrize(
    "kind",
    [
        TreatmentKind.HIP_ARTHROPLASTY,
        TreatmentKind.HIP_ARTHROSCOPY,
        TreatmentKind.HIP_INJECTION_THERAPEUTIC,
    ],
)
def test_hip_tx_failed_reads_only_hip_treatments(kind: TreatmentKind) -> None:
    b = _lbp_series((6, day(20))).treated(kind, day(10))
    a = assess(b)
    assert a.flags["HIP_TX_FAILED"].value is T
    assert a.flags["SPINE_TX_FAILED"].value is U
    assert "Procedure/" in a.flags["HIP_TX_FAILED"].basis
