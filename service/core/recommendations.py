"""Recommendations (clinical-spec.md §5): one function per category row, in the row's order,
then the cross-category spinopelvic-imaging rule, applied once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from service.core.assessment import Category, Flag, Recommendation, Subtype
from service.core.evidence import SIDES
from service.core.findings import (
    Findings,
    Motion,
    PainSite,
    Radiographic,
    SidedTest,
    TestResult,
)
from service.core.flags import QUIET_WHEN_UNKNOWN
from service.core.measures import KlMax
from service.core.pain import used_series
from service.core.tri import Tri, is_true, not_true

URGENT_EVALUATION = "rec-urgent-evaluation"
MRI_LUMBAR_URGENT = "rec-mri-lumbar-urgent"
COMBINED_MANAGEMENT = "rec-combined-hip-lumbar-management"
IA_HIP_INJECTION = "rec-diagnostic-ia-hip-injection"
HIP_XRAY = "rec-imaging-hip-xray"
MRI_LUMBAR = "rec-mri-lumbar"
SPINOPELVIC = "rec-imaging-spinopelvic"
ORTHO_HIP_REFERRAL = "rec-ortho-hip-referral"
SPINE_REFERRAL = "rec-spine-referral"
LUMBAR_BLOCK = "rec-diagnostic-lumbar-block"
SIJ_WORKUP = "rec-sij-workup"
COLLECT_MISSING = "rec-collect-missing-data"

DISPLAY: Mapping[str, str] = {
    URGENT_EVALUATION: "Same-day clinical evaluation",
    MRI_LUMBAR_URGENT: "Urgent lumbar MRI",
    COMBINED_MANAGEMENT: "Combined hip–lumbar physiotherapy programme",
    IA_HIP_INJECTION: "Diagnostic intra-articular hip injection",
    HIP_XRAY: "Hip radiographs with KL grading",
    MRI_LUMBAR: "Lumbar MRI without contrast",
    SPINOPELVIC: "Standing and seated spinopelvic radiographs",
    ORTHO_HIP_REFERRAL: "Orthopaedic hip referral",
    SPINE_REFERRAL: "Spine specialist referral",
    LUMBAR_BLOCK: "Diagnostic lumbar block",
    SIJ_WORKUP: "Sacroiliac joint work-up",
    COLLECT_MISSING: "Collect missing data",
}
EMERGENCY_DISPLAY = "Emergency clinical evaluation"


@dataclass(frozen=True)
class RecContext:
    """What the §5 conditions read: flags, and whether KL, IA relief, imaging are known."""

    findings: Findings
    flags: Mapping[str, Flag]
    kl: KlMax
    relief_known: bool
    hip_spine_class_known: bool

    def true(self, name: str) -> bool:
        return is_true(self.flags[name].value)

    @property
    def kl_known(self) -> bool:
        return self.kl.value is not None

    @property
    def lumbar_imaging_known(self) -> bool:
        return bool(self.findings.lumbar_imaging)


def rec(code: str, reason: str, missing: tuple[str, ...] = ()) -> Recommendation:
    return Recommendation(code, DISPLAY[code], reason, missing)


def red_flag(c: RecContext) -> list[Recommendation]:
    emergency = c.true("RED_FLAG_EMERGENCY")
    why = f"RED_FLAG: {c.flags['RED_FLAG'].basis}" + ("; emergency" if emergency else "")
    first = rec(URGENT_EVALUATION, why)
    if emergency:
        first = Recommendation(URGENT_EVALUATION, EMERGENCY_DISPLAY, why)
    return [first, rec(MRI_LUMBAR_URGENT, why)]


def misdiagnosed_hip_missed(c: RecContext) -> list[Recommendation]:
    out = []
    if not c.kl_known:
        out.append(rec(HIP_XRAY, "KL grade unknown"))
    if not c.relief_known and not_true(c.flags["HIP_SEVERE"].value):
        out.append(rec(IA_HIP_INJECTION, "IA relief unknown and HIP_SEVERE not true"))
    if c.true("HIP_SEVERE") or c.true("IA_POS"):
        out.append(rec(ORTHO_HIP_REFERRAL, "HIP_SEVERE or IA_POS"))
    elif c.kl_known and c.relief_known:
        out.append(
            rec(
                ORTHO_HIP_REFERRAL,
                "KL and IA relief both known (a negative injection can be "
                "falsely negative after failed spine surgery) [P, S38]",
            )
        )
    return out


def _mri_if_no_imaging(c: RecContext, because: str = "") -> list[Recommendation]:
    if c.lumbar_imaging_known:
        return []
    return [rec(MRI_LUMBAR, f"{because} and no lumbar imaging" if because else "no lumbar imaging")]


def misdiagnosed_spine_missed(c: RecContext) -> list[Recommendation]:
    return [
        *_mri_if_no_imaging(c),
        rec(LUMBAR_BLOCK, "hip treatment failed with spine pathology or signs"),
        rec(SPINE_REFERRAL, "hip treatment failed with spine pathology or signs"),
    ]


def simple_hip_primary(c: RecContext) -> list[Recommendation]:
    out = [
        rec(ORTHO_HIP_REFERRAL, "hip is the primary pain generator"),
        rec(COMBINED_MANAGEMENT, "hip is the primary pain generator"),
    ]
    if c.true("MOTOR_DEFICIT"):
        out.append(rec(MRI_LUMBAR, "MOTOR_DEFICIT"))
    return out


def simple_spine_primary(c: RecContext) -> list[Recommendation]:
    return [
        *_mri_if_no_imaging(c),
        rec(SPINE_REFERRAL, "spine is the primary pain generator"),
        rec(LUMBAR_BLOCK, "spine is the primary pain generator"),
    ]


def _sij(c: RecContext) -> list[Recommendation]:
    return [rec(SIJ_WORKUP, "SIJ_SIGNS")] if c.true("SIJ_SIGNS") else []


def indeterminate_not_hip(c: RecContext) -> list[Recommendation]:
    out = []
    if c.true("LBP") or c.true("RADICULAR"):
        out += _mri_if_no_imaging(c, "LBP or RADICULAR")
    return out + _sij(c)


def secondary_structural(c: RecContext) -> list[Recommendation]:
    out = [rec(COMBINED_MANAGEMENT, "secondary (structural) hip–spine syndrome")]
    if c.true("HIP_SEVERE"):
        out.append(rec(ORTHO_HIP_REFERRAL, "HIP_SEVERE"))
        unknown = [
            label
            for kind, label in (
                (Radiographic.PELVIC_INCIDENCE, "PI"),
                (Radiographic.LUMBAR_LORDOSIS, "LL"),
                (Radiographic.SACRAL_SLOPE_SEATED, "SS seated"),
            )
            if kind not in c.findings.radiographic
        ]
        if unknown:
            out.append(rec(SPINOPELVIC, f"HIP_SEVERE and {', '.join(unknown)} unknown"))
    if c.true("SPINE_SIGNS"):
        out.append(rec(IA_HIP_INJECTION, "SPINE_SIGNS"))
    return out


def complex_(c: RecContext) -> list[Recommendation]:
    out = [rec(IA_HIP_INJECTION, "complex: hip and spine both possible pain generators")]
    if c.true("RADICULAR"):
        out.append(rec(LUMBAR_BLOCK, "RADICULAR"))
    out.append(rec(COMBINED_MANAGEMENT, "complex hip–spine syndrome"))
    if not c.kl_known:
        out.append(rec(HIP_XRAY, "KL grade unknown"))
    if c.true("SPINE_SIGNS"):
        out += _mri_if_no_imaging(c, "SPINE_SIGNS")
    return out


def secondary_hip_driven(c: RecContext) -> list[Recommendation]:
    out = [rec(COMBINED_MANAGEMENT, "secondary (hip-driven) hip–spine syndrome")]
    if c.true("HIP_SEVERE"):
        out.append(rec(ORTHO_HIP_REFERRAL, "HIP_SEVERE"))
    return out


def secondary_functional(c: RecContext) -> list[Recommendation]:
    out = [rec(COMBINED_MANAGEMENT, "secondary (functional) hip–spine syndrome")]
    if c.true("HIP_PROVOCATIVE") and not c.kl_known:
        out.append(rec(HIP_XRAY, "HIP_PROVOCATIVE and KL grade unknown"))
    return out


def not_hss_spine(c: RecContext) -> list[Recommendation]:
    out = []
    if c.true("RADICULAR") or c.true("MOTOR_DEFICIT"):
        out += _mri_if_no_imaging(c, "RADICULAR or MOTOR_DEFICIT")
    return out + _sij(c)


def not_hss_hip(c: RecContext) -> list[Recommendation]:
    out = []
    if not c.kl_known:
        out.append(rec(HIP_XRAY, "KL grade unknown"))
    if c.true("HIP_SEVERE") or c.true("IA_POS"):
        out.append(rec(ORTHO_HIP_REFERRAL, "HIP_SEVERE or IA_POS"))
    return out


def no_findings(c: RecContext) -> list[Recommendation]:
    return []


def minimum_set_missing(c: RecContext) -> tuple[str, ...]:
    """The §5 minimum set, each missing item named, in the spec's order."""
    f = c.findings
    missing = []
    ir = [s.value for s in SIDES if (Motion.INTERNAL_ROTATION, s) not in f.rom]
    if ir:
        missing.append(f"hip internal rotation ({', '.join(ir)})")
    tested = {test for test, _ in f.sided_tests}
    if SidedTest.FADIR not in tested:
        missing.append("FADIR test")
    if SidedTest.FABER not in tested:
        missing.append("FABER test")
    unlocated = [
        side.value
        for (test, side), tf in sorted(f.sided_tests.items(), key=lambda kv: kv[0][1].value)
        if test is SidedTest.FABER and tf.result is TestResult.POSITIVE and not tf.pain_locations
    ]
    if unlocated:
        missing.append(f"pain location of the positive FABER test ({', '.join(unlocated)})")
    if SidedTest.SLR not in tested:
        missing.append("straight leg raise (SLR)")
    sites = {s.site for s in used_series(f)}
    if PainSite.LOW_BACK not in sites:
        missing.append("low-back pain NRS")
    if PainSite.GROIN not in sites:
        missing.append("groin pain NRS")
    if not c.kl_known:
        missing.append("Kellgren–Lawrence grade of both hips")
    if not c.lumbar_imaging_known:
        missing.append("lumbar imaging")
    return tuple(missing)


def insufficient_data(c: RecContext) -> list[Recommendation]:
    missing = minimum_set_missing(c)
    if missing:
        reason = "minimum data set incomplete"
    else:
        missing = tuple(
            f"{name}: {flag.basis}"
            for name, flag in c.flags.items()
            if flag.value is Tri.UNKNOWN and name not in QUIET_WHEN_UNKNOWN
        )
        reason = "minimum data set complete; these flags are still unknown"
    out = [rec(COLLECT_MISSING, reason, missing)]
    if not c.kl_known:
        out.append(rec(HIP_XRAY, "KL grade unknown"))
    return out


ROWS: Mapping[tuple[Category, Subtype | None], Callable[[RecContext], list[Recommendation]]] = {
    (Category.RED_FLAG, None): red_flag,
    (Category.MISDIAGNOSED_HIP_MISSED, None): misdiagnosed_hip_missed,
    (Category.MISDIAGNOSED_SPINE_MISSED, None): misdiagnosed_spine_missed,
    (Category.SIMPLE_HIP_PRIMARY, None): simple_hip_primary,
    (Category.SIMPLE_SPINE_PRIMARY, None): simple_spine_primary,
    (Category.INDETERMINATE_NOT_HIP, None): indeterminate_not_hip,
    (Category.SECONDARY, Subtype.STRUCTURAL): secondary_structural,
    (Category.COMPLEX, None): complex_,
    (Category.SECONDARY, Subtype.HIP_DRIVEN): secondary_hip_driven,
    (Category.SECONDARY, Subtype.FUNCTIONAL): secondary_functional,
    (Category.NOT_HSS_SPINE, None): not_hss_spine,
    (Category.NOT_HSS_HIP, None): not_hss_hip,
    (Category.NO_FINDINGS, None): no_findings,
    (Category.INSUFFICIENT_DATA, None): insufficient_data,
}


def spinopelvic_for_arthroplasty(
    category: Category, c: RecContext, recs: list[Recommendation]
) -> list[Recommendation]:
    """§5 cross-category rule [V S10]: not RED_FLAG, HIP_SEVERE, Hip-Spine class unknown and an
    orthopaedic hip referral recommended → rec-imaging-spinopelvic (once, never twice)."""
    codes = {r.code for r in recs}
    if (
        category is Category.RED_FLAG
        or not c.true("HIP_SEVERE")
        or c.hip_spine_class_known
        or ORTHO_HIP_REFERRAL not in codes
        or SPINOPELVIC in codes
    ):
        return recs
    reason = "HIP_SEVERE with a hip referral and the Hip-Spine class unknown (arthroplasty work-up)"
    return [*recs, rec(SPINOPELVIC, reason)]


def recommend(
    category: Category, subtype: Subtype | None, c: RecContext
) -> tuple[Recommendation, ...]:
    """The §5 row of the category, then the cross-category rule."""
    return tuple(spinopelvic_for_arthroplasty(category, c, ROWS[(category, subtype)](c)))
