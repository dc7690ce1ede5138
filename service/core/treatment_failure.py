"""Pain that persists after a prior treatment (clinical-spec.md §2 *_TX_FAILED; E4-16, E4-24).

The trace and the outputs say "pain persists after the lumbar surgery", never "the treatment
failed" (E4-24): the flag names are internal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from service.core.assessment import Flag
from service.core.findings import (
    CONSERVATIVE_TREATMENTS,
    HIP_TREATMENTS,
    LUMBAR_TREATMENTS,
    Findings,
    PainReading,
    PainSeries,
    Treatment,
    TreatmentKind,
)
from service.core.thresholds import MIC_NRS_PCT, MIC_NRS_POINTS, Thresholds
from service.core.tri import Tri
from service.core.wording import joined, number

#: The treatment in words, for "pain persists after …" (E4-24).
TREATMENT_WORDS = {
    TreatmentKind.LUMBAR_SURGERY: "the lumbar surgery",
    TreatmentKind.LUMBAR_INJECTION: "the lumbar injection",
    TreatmentKind.HIP_ARTHROPLASTY: "the hip replacement",
    TreatmentKind.HIP_ARTHROSCOPY: "the hip arthroscopy",
    TreatmentKind.HIP_INJECTION_THERAPEUTIC: "the therapeutic hip injection",
    TreatmentKind.PHYSIOTHERAPY: "the hip–lumbar physiotherapy programme",
}


def used_series(findings: Findings) -> list[PainSeries]:
    """Series that hold at least one reading (an empty series is no evidence)."""
    return [s for s in findings.pain if s.readings]


@dataclass(frozen=True, slots=True)
class TreatmentOutcome:
    """Whether pain persists after one prior treatment (§2 *_TX_FAILED); UNKNOWN: no NRS after."""

    treatment: Treatment
    failed: Tri
    basis: str


def _below_mic(before: int, after: int) -> bool:
    """Improvement below the MIC: < 2 points and < 30 % [V S25]; baseline 0: points only."""
    improvement = Decimal(before - after)
    if improvement >= MIC_NRS_POINTS:
        return False
    return before == 0 or improvement * 100 < MIC_NRS_PCT * before


def _latest_after(series: PainSeries, when: datetime) -> PainReading | None:
    """The series' latest reading strictly after ``when`` (untimed readings left out)."""
    after = [r for r in series.readings if r.time is not None and r.time > when]
    return after[-1] if after else None


def treatment_outcome(
    treatment: Treatment, series: list[PainSeries], thresholds: Thresholds
) -> TreatmentOutcome:
    """§2: pain persists when the highest of each site's latest NRS strictly after the treatment
    (an undated treatment: each site's latest NRS) is ≥ 4 and either no NRS exists strictly
    before it (or it is undated) or the improvement from the highest NRS before it is below the
    MIC. Untimed readings are neither before nor after a dated treatment (§1.1)."""
    when = treatment.time.isoformat() if treatment.time else "undated"
    words = TREATMENT_WORDS[treatment.kind]
    head = f"{treatment.kind.value} {when} ({treatment.source})"
    if treatment.time is None:
        after = [s.latest for s in series]
        before: list[PainReading] = []
    else:
        t = treatment.time
        after = [r for r in (_latest_after(s, t) for s in series) if r is not None]
        before = [r for s in series for r in s.readings if r.time is not None and r.time < t]
    if not after:
        return TreatmentOutcome(treatment, Tri.UNKNOWN, f"{head}: no NRS after it")
    worst_after = max(after, key=lambda r: r.value)
    text = f"{head}: highest latest NRS after {worst_after.value} ({worst_after.source})"
    persistent = thresholds.persistent_pain_nrs
    if worst_after.value < persistent:
        return TreatmentOutcome(treatment, Tri.FALSE, f"{text} < {persistent}: not persistent")
    if not before:
        reason = "undated" if treatment.time is None else "no NRS before it"
        return TreatmentOutcome(
            treatment, Tri.TRUE, f"pain persists after {words}: {text} ≥ {persistent}, {reason}"
        )
    baseline = max(before, key=lambda r: r.value)
    change = f"highest NRS before {baseline.value} ({baseline.source})"
    if _below_mic(baseline.value, worst_after.value):
        return TreatmentOutcome(
            treatment,
            Tri.TRUE,
            f"pain persists after {words}: {text}, {change}: improvement "
            f"{baseline.value - worst_after.value} below the MIC "
            f"(< {number(MIC_NRS_POINTS)} points and < {number(MIC_NRS_PCT)} %)",
        )
    return TreatmentOutcome(
        treatment,
        Tri.FALSE,
        f"{text}, {change}: improvement {baseline.value - worst_after.value} reaches the MIC",
    )


def treatment_failed(
    name: str,
    findings: Findings,
    kinds: Iterable[TreatmentKind],
    thresholds: Thresholds,
) -> Flag:
    """§2 SPINE_TX_FAILED / HIP_TX_FAILED / CONSERVATIVE_TX_FAILED over the treatments of ``kinds``.

    True: pain persists after any one treatment. False: every recorded treatment is followed by
    an NRS and none failed, or none is recorded and a treatment of the group was explicitly
    denied. Unknown otherwise, including when no treatment information at all is recorded (the
    spec is silent there; missing input is unknown, §0.2).
    """
    group = frozenset(kinds)
    series = used_series(findings)
    outcomes = [
        treatment_outcome(t, series, thresholds) for t in findings.treatments if t.kind in group
    ]
    bases = [o.basis for o in outcomes]
    if any(o.failed is Tri.TRUE for o in outcomes):
        failed = [o.basis for o in outcomes if o.failed is Tri.TRUE]
        return Flag(name, Tri.TRUE, joined(failed))
    if outcomes and all(o.failed is Tri.FALSE for o in outcomes):
        return Flag(name, Tri.FALSE, joined(bases))
    if outcomes:
        return Flag(name, Tri.UNKNOWN, joined(bases))
    denied = sorted(
        f"{kind.value} denied ({src})"
        for kind, src in findings.treatments_denied.items()
        if kind in group
    )
    if denied:
        return Flag(name, Tri.FALSE, f"no such treatment: {joined(denied)}")
    return Flag(name, Tri.UNKNOWN, "no prior treatment of this kind recorded")


def spine_tx_failed(f: Findings, t: Thresholds) -> Flag:
    """§2 SPINE_TX_FAILED: pain persists after a prior lumbar surgery or injection.
    Evidence: [P] NRS ≥ 4; MIC [V S25]."""
    return treatment_failed("SPINE_TX_FAILED", f, LUMBAR_TREATMENTS, t)


def hip_tx_failed(f: Findings, t: Thresholds) -> Flag:
    """§2 HIP_TX_FAILED: pain persists after a prior hip arthroplasty, arthroscopy or
    therapeutic hip injection. Evidence: [P] NRS ≥ 4; MIC [V S25]."""
    return treatment_failed("HIP_TX_FAILED", f, HIP_TREATMENTS, t)


def conservative_tx_failed(f: Findings, t: Thresholds) -> Flag:
    """§2 CONSERVATIVE_TX_FAILED (E4-16): pain persists after a prior hip–lumbar physiotherapy
    programme (its time is when it ended, Q4-25). Evidence: [P] NRS ≥ 4; MIC [V S25]."""
    return treatment_failed("CONSERVATIVE_TX_FAILED", f, CONSERVATIVE_TREATMENTS, t)
