"""Classifications (clinical-spec.md §2 PI−LL and its data-quality check, §3): Diebo type,
Hip-Spine class, SRS–Schwab modifiers at both ends of each band, NRS and ODI bands."""

from __future__ import annotations

from decimal import Decimal

import pytest

from service.core import Radiographic
from service.core.classifications import nrs_band, odi_band
from tests.core.builders import F, assess, codes

PT, SVA = Radiographic.PELVIC_TILT_STANDING, Radiographic.SVA


def test_pi_minus_ll_is_exact_decimal_arithmetic() -> None:
    assert assess(F().pi_ll("66.4", "56.4")).extra["pi-ll"] == "10.0"


def test_a_measured_pi_ll_beats_pi_minus_ll() -> None:
    a = assess(F().pi_ll("70", "40").radio(Radiographic.PI_LL_MISMATCH, "4.5"))
    assert a.extra["pi-ll"] == "4.5"


@pytest.mark.parametrize(("ss", "warned"), [("35", False), ("35.1", True), ("24.9", True)])
def test_pi_is_checked_against_pt_plus_ss_with_a_5_degree_tolerance(ss: str, warned: bool) -> None:
    b = F().radio(Radiographic.PELVIC_INCIDENCE, "50").radio(PT, "20")
    b.radio(Radiographic.SACRAL_SLOPE_STANDING, ss)
    a = assess(b)
    assert bool(a.data_quality) is warned
    if warned:
        assert "PI ≠ PT + SS" in a.data_quality[0]
        assert "Observation/pelvic-incidence" in a.data_quality[0]
        assert "Data quality" in a.summary


def test_the_identity_check_needs_all_three_measurements() -> None:
    assert assess(F().radio(Radiographic.PELVIC_INCIDENCE, "80").radio(PT, "5")).data_quality == ()


@pytest.mark.parametrize(
    ("pi", "ll", "kl", "diebo"),
    [
        ("66.4", "56.4", (0, 0), "diebo-non-hiss"),
        ("66.5", "56.4", (0, 0), "diebo-spine"),
        ("66.4", "56.4", (3, 0), "diebo-hip"),
        ("60", "40", (4, 1), "diebo-hip-spine"),
        ("50", "45", (1, 2), "diebo-unclassified"),
        ("80", "40", (2, 2), "diebo-unclassified"),
        ("50", "45", (3, None), "diebo-hip"),  # one side ≥ 3 makes KL_MAX known
    ],
)
def test_diebo_type_follows_the_table_with_10_0_counted_as_aligned(
    pi: str, ll: str, kl: tuple[int, int | None], diebo: str
) -> None:
    a = assess(F().pi_ll(pi, ll).kl(*kl))
    assert codes(a, "diebo") == [diebo]
    assert not any(m.startswith("Diebo type") for m in a.missing)


@pytest.mark.parametrize(
    ("b", "needs"),
    [
        (F().kl(0, 0), "PI−LL"),
        (F().pi_ll("50", "45").kl(2, None), "KL grade"),
        (F(), "PI−LL"),
    ],
)
def test_diebo_is_left_out_not_guessed_when_an_input_is_missing(b: F, needs: str) -> None:
    a = assess(b)
    assert codes(a, "diebo") == []
    # §6: named in the summary; Q4-40: in "Missing" only with HIP_SEVERE (or to decide a rule).
    assert f"Diebo type: needs {needs}" in a.summary or (
        "Diebo type: needs" in a.summary and needs in a.summary
    )
    assert not any(m.startswith("Diebo type") for m in a.missing)


@pytest.mark.parametrize(
    ("pi", "ll", "standing", "seated", "klass"),
    [
        ("66.4", "56.4", "40", "30", "hip-spine-class-1a"),
        ("66.4", "56.4", "40", "30.1", "hip-spine-class-1b"),
        ("66.5", "56.4", "40.0", "30.0", "hip-spine-class-2a"),
        ("66.5", "56.4", "35", "30", "hip-spine-class-2b"),
    ],
)
def test_hip_spine_class_groups_pi_ll_and_delta_ss_at_10_degrees(
    pi: str, ll: str, standing: str, seated: str, klass: str
) -> None:
    a = assess(F().pi_ll(pi, ll).ss(standing, seated))
    assert codes(a, "hip-spine-class") == [klass]


def test_hip_spine_class_is_left_out_without_seated_sacral_slope() -> None:
    b = F().pi_ll("50", "45").radio(Radiographic.SACRAL_SLOPE_STANDING, "40")
    a = assess(b)
    assert codes(a, "hip-spine-class") == []
    assert "Hip-Spine class: needs sacral slope standing and seated" in a.summary  # §6, Q4-40


@pytest.mark.parametrize(
    ("pi_ll", "code"),
    [
        ("-15", "schwab-pill-0"),
        ("9.9", "schwab-pill-0"),
        ("10", "schwab-pill-plus"),
        ("20", "schwab-pill-plus"),
        ("20.1", "schwab-pill-plus-plus"),
    ],
)
def test_schwab_pi_ll_modifier_bands(pi_ll: str, code: str) -> None:
    assert codes(assess(F().radio(Radiographic.PI_LL_MISMATCH, pi_ll)), "schwab-pill") == [code]


@pytest.mark.parametrize(
    ("pt", "code"),
    [
        ("19.9", "schwab-pt-0"),
        ("20", "schwab-pt-plus"),
        ("30", "schwab-pt-plus"),
        ("30.1", "schwab-pt-plus-plus"),
    ],
)
def test_schwab_pelvic_tilt_modifier_bands(pt: str, code: str) -> None:
    assert codes(assess(F().radio(PT, pt)), "schwab-pt") == [code]


@pytest.mark.parametrize(
    ("sva", "code"),
    [
        ("-50", "schwab-sva-0"),
        ("39.9", "schwab-sva-0"),
        ("40", "schwab-sva-plus"),
        ("95", "schwab-sva-plus"),
        ("95.1", "schwab-sva-plus-plus"),
    ],
)
def test_schwab_sva_modifier_bands(sva: str, code: str) -> None:
    assert codes(assess(F().radio(SVA, sva)), "schwab-sva") == [code]


def test_each_missing_schwab_input_is_named() -> None:
    a = assess(F().radio(PT, "25"))
    assert codes(a, "schwab-pt") == ["schwab-pt-plus"]
    # §6 names them in the summary; Q4-40: not in "Missing" without severe hip OA.
    assert "SRS–Schwab SVA: needs SVA" in a.summary
    assert "SRS–Schwab PI−LL: needs PI−LL" in a.summary
    assert "SRS–Schwab PT: needs" not in a.summary
    assert not any(m.startswith("SRS–Schwab") for m in a.missing)
    severe = assess(F().radio(PT, "25").kl(3, 3))
    assert any(m.startswith("SRS–Schwab SVA") for m in severe.missing)


@pytest.mark.parametrize(
    ("nrs", "band"),
    [
        (0, "none"),
        (1, "mild"),
        (3, "mild"),
        (4, "moderate"),
        (6, "moderate"),
        (7, "severe"),
        (10, "severe"),
    ],
)
def test_nrs_bands(nrs: int, band: str) -> None:
    assert nrs_band(nrs) == band


@pytest.mark.parametrize(
    ("odi", "band"),
    [
        ("0", "minimal"),
        ("20", "minimal"),
        ("20.5", "moderate"),
        ("21", "moderate"),
        ("40", "moderate"),
        ("41", "severe"),
        ("60", "severe"),
        ("61", "crippling"),
        ("80", "crippling"),
        ("81", "bed-bound"),
        ("100", "bed-bound"),
    ],
)
def test_odi_bands(odi: str, band: str) -> None:
    assert odi_band(Decimal(odi)) == band


def test_bands_are_reported_in_extra_and_summary() -> None:
    a = assess(F().lbp(5).odi("30"))
    assert a.extra["nrs-band low-back NRS"] == "moderate"
    assert a.extra["odi-band"] == "moderate"
    assert "low-back NRS 5 (moderate)" in a.summary
    assert "ODI 30 % (moderate)" in a.summary
