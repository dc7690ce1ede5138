"""Classifications (clinical-spec.md §2 PI−LL, §3): Diebo type, Hip-Spine class, Schwab, bands."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from service.core.findings import Findings, Measurement, Radiographic
from service.core.thresholds import (
    DIEBO_KL_NONE,
    DIEBO_KL_OA_MIN,
    NRS_BANDS,
    ODI_BANDS,
    PI_LL_MALALIGNMENT_DEG,
    SCHWAB_PI_LL_PLUS_DEG,
    SCHWAB_PI_LL_PLUS_PLUS_DEG,
    SCHWAB_PT_PLUS_DEG,
    SCHWAB_PT_PLUS_PLUS_DEG,
    SCHWAB_SVA_PLUS_MM,
    SCHWAB_SVA_PLUS_PLUS_MM,
    STIFF_DELTA_SS_DEG,
    Thresholds,
)
from service.core.wording import measured, number


class DieboType(enum.Enum):
    """Diebo 2019 radiographic type [V S6]; the value is the ``HSC`` output code."""

    NON_HISS = "diebo-non-hiss"
    HIP = "diebo-hip"
    SPINE = "diebo-spine"
    HIP_SPINE = "diebo-hip-spine"
    UNCLASSIFIED = "diebo-unclassified"


class HipSpineClass(enum.Enum):
    """Hip-Spine Classification (Luthringer & Vigdorchik 2019) [V S9, S10]."""

    C1A = "hip-spine-class-1a"
    C1B = "hip-spine-class-1b"
    C2A = "hip-spine-class-2a"
    C2B = "hip-spine-class-2b"


class SchwabGrade(enum.Enum):
    """SRS–Schwab modifier grade [V S8]; the value is the code suffix."""

    ZERO = "0"
    PLUS = "plus"
    PLUS_PLUS = "plus-plus"


@dataclass(frozen=True, slots=True)
class PiLl:
    """PI−LL in degrees: a measured ``pi-ll-mismatch`` beats PI − LL (§1.3, §2)."""

    value: Decimal
    measured: bool
    basis: str


@dataclass(frozen=True, slots=True)
class Graded:
    """One computed classification: its code, display and the values behind it."""

    code: str
    display: str
    basis: str


def _radio(findings: Findings, kind: Radiographic) -> Measurement | None:
    return findings.radiographic.get(kind)


def pi_minus_ll(findings: Findings) -> PiLl | None:
    """§2: a measured PI−LL, else PI − LL (exact decimal, never rounded); None if neither."""
    measured_mismatch = _radio(findings, Radiographic.PI_LL_MISMATCH)
    if measured_mismatch is not None:
        return PiLl(
            measured_mismatch.value, True, measured("measured PI−LL", measured_mismatch, "°")
        )
    pi = _radio(findings, Radiographic.PELVIC_INCIDENCE)
    ll = _radio(findings, Radiographic.LUMBAR_LORDOSIS)
    if pi is None or ll is None:
        return None
    value = pi.value - ll.value
    return PiLl(
        value,
        False,
        f"PI−LL {number(value)}° = {measured('PI', pi, '°')} − {measured('LL', ll, '°')}",
    )


def pelvic_identity_warning(findings: Findings, thresholds: Thresholds) -> str | None:
    """§2 data-quality check: PI = PT + SS (standing); a difference > 5° [P] is a warning."""
    pi = _radio(findings, Radiographic.PELVIC_INCIDENCE)
    pt = _radio(findings, Radiographic.PELVIC_TILT_STANDING)
    ss = _radio(findings, Radiographic.SACRAL_SLOPE_STANDING)
    if pi is None or pt is None or ss is None:
        return None
    gap = abs(pi.value - (pt.value + ss.value))
    if gap <= thresholds.pi_pt_ss_tolerance_deg:
        return None
    return (
        f"PI ≠ PT + SS: {measured('PI', pi, '°')}, {measured('PT standing', pt, '°')}, "
        f"{measured('SS standing', ss, '°')} differ by {number(gap)}° "
        f"(> {number(thresholds.pi_pt_ss_tolerance_deg)}°); check the measurements"
    )


def diebo_type(pi_ll: PiLl, kl_max: Decimal) -> DieboType:
    """Diebo 2019 [V S6]: malalignment PI−LL > 10° (10.0 is "≤ 10"); KL 0, 1–2, 3–4."""
    malaligned = pi_ll.value > PI_LL_MALALIGNMENT_DEG
    if kl_max >= DIEBO_KL_OA_MIN:
        return DieboType.HIP_SPINE if malaligned else DieboType.HIP
    if kl_max == DIEBO_KL_NONE:
        return DieboType.SPINE if malaligned else DieboType.NON_HISS
    return DieboType.UNCLASSIFIED


def delta_ss(findings: Findings) -> tuple[Decimal, str] | None:
    """ΔSS = SS standing − SS seated, with its basis; None if either is missing."""
    standing = _radio(findings, Radiographic.SACRAL_SLOPE_STANDING)
    seated = _radio(findings, Radiographic.SACRAL_SLOPE_SEATED)
    if standing is None or seated is None:
        return None
    value = standing.value - seated.value
    basis = (
        f"ΔSS {number(value)}° = {measured('SS standing', standing, '°')} − "
        f"{measured('SS seated', seated, '°')}"
    )
    return value, basis


def hip_spine_class(pi_ll: PiLl, delta: Decimal) -> HipSpineClass:
    """[V S9, S10]: 1 = PI−LL ≤ 10°, 2 = > 10°; A = ΔSS ≥ 10°, B = ΔSS < 10° (stiff)."""
    flat = pi_ll.value > PI_LL_MALALIGNMENT_DEG
    stiff = delta < STIFF_DELTA_SS_DEG
    if flat:
        return HipSpineClass.C2B if stiff else HipSpineClass.C2A
    return HipSpineClass.C1B if stiff else HipSpineClass.C1A


def schwab_grade(value: Decimal, plus: Decimal, plus_plus: Decimal) -> SchwabGrade:
    """[V S8]: 0 below ``plus``; + from ``plus`` to ``plus_plus`` inclusive; ++ above."""
    if value < plus:
        return SchwabGrade.ZERO
    if value <= plus_plus:
        return SchwabGrade.PLUS
    return SchwabGrade.PLUS_PLUS


_SCHWAB_DISPLAY = {SchwabGrade.ZERO: "0", SchwabGrade.PLUS: "+", SchwabGrade.PLUS_PLUS: "++"}


def schwab_pi_ll(pi_ll: PiLl) -> Graded:
    grade = schwab_grade(pi_ll.value, SCHWAB_PI_LL_PLUS_DEG, SCHWAB_PI_LL_PLUS_PLUS_DEG)
    return Graded(
        f"schwab-pill-{grade.value}", f"SRS–Schwab PI−LL {_SCHWAB_DISPLAY[grade]}", pi_ll.basis
    )


def schwab_pt(findings: Findings) -> Graded | None:
    pt = _radio(findings, Radiographic.PELVIC_TILT_STANDING)
    if pt is None:
        return None
    grade = schwab_grade(pt.value, SCHWAB_PT_PLUS_DEG, SCHWAB_PT_PLUS_PLUS_DEG)
    return Graded(
        f"schwab-pt-{grade.value}",
        f"SRS–Schwab PT {_SCHWAB_DISPLAY[grade]}",
        measured("PT standing", pt, "°"),
    )


def schwab_sva(findings: Findings) -> Graded | None:
    sva = _radio(findings, Radiographic.SVA)
    if sva is None:
        return None
    grade = schwab_grade(sva.value, SCHWAB_SVA_PLUS_MM, SCHWAB_SVA_PLUS_PLUS_MM)
    return Graded(
        f"schwab-sva-{grade.value}",
        f"SRS–Schwab SVA {_SCHWAB_DISPLAY[grade]}",
        measured("SVA", sva, " mm"),
    )


def _band(value: Decimal, bands: tuple[tuple[Decimal, str], ...]) -> str:
    for upper, name in bands:
        if value <= upper:
            return name
    return bands[-1][1]


def nrs_band(value: Decimal | int) -> str:
    """NRS 0 none, 1–3 mild, 4–6 moderate, 7–10 severe [M]."""
    return _band(Decimal(value), NRS_BANDS)


def odi_band(value: Decimal) -> str:
    """ODI 0–20 minimal, 21–40 moderate, 41–60 severe, 61–80 crippling, 81–100 bed-bound [M];
    a fractional ODI between bands (20.5) belongs to the higher band (upper bounds inclusive)."""
    return _band(value, ODI_BANDS)
