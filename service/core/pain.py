"""Pain series (clinical-spec.md §1.1, §2): site flags, any pain, and failed prior treatments."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from service.core.assessment import Flag
from service.core.findings import (
    ConditionFinding,
    Findings,
    PainReading,
    PainSeries,
    PainSite,
    Treatment,
    TreatmentKind,
)
from service.core.thresholds import MIC_NRS_PCT, MIC_NRS_POINTS, Thresholds
from service.core.tri import Tri
from service.core.wording import joined, number, series_label


def used_series(findings: Findings) -> list[PainSeries]:
    """Series that hold at least one reading (an empty series is no evidence)."""
    return [s for s in findings.pain if s.readings]


def site_pain(
    name: str,
    findings: Findings,
    site: PainSite,
    thresholds: Thresholds,
    condition: ConditionFinding | None = None,
) -> Flag:
    """A site flag (§1.1, §2 LBP / GROIN_PAIN): true if any latest value of the site is
    ≥ the pain-present threshold (or the site's Condition is present), false if all are
    below it (= 0 with the default of 1) and there is no such Condition."""
    latest = [(s, s.latest) for s in used_series(findings) if s.site is site]
    values = [f"{series_label(s)} {r.value} ({r.source})" for s, r in latest]
    cond = f"Condition ({condition.source})" if condition is not None else ""
    present = thresholds.pain_present_nrs
    if any(r.value >= present for _, r in latest) or condition is not None:
        return Flag(
            name, Tri.TRUE, f"latest {joined(values + ([cond] if cond else []))} (≥ {present})"
        )
    if latest:
        return Flag(name, Tri.FALSE, f"latest {joined(values)} (all < {present}), no Condition")
    return Flag(name, Tri.UNKNOWN, f"no {site.value.removeprefix('site-')} NRS recorded")


def any_pain(findings: Findings, thresholds: Thresholds) -> Flag:
    """R11's "a pain series (any site, site-less or unrecognised) has a latest value ≥ 1"."""
    present = thresholds.pain_present_nrs
    used = used_series(findings)
    texts = [f"{series_label(s)} {s.latest.value}" for s in used]
    hurting = [text for s, text in zip(used, texts, strict=True) if s.latest.value >= present]
    if hurting:
        return Flag("ANY_PAIN", Tri.TRUE, f"latest {joined(hurting)} (≥ {present})")
    return Flag("ANY_PAIN", Tri.FALSE, f"latest {joined(texts, 'no NRS recorded')} (< {present})")


@dataclass(frozen=True, slots=True)
class TreatmentOutcome:
    """Whether one prior treatment failed (§2 *_TX_FAILED); UNKNOWN: no NRS after it."""

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
    """§2: failed when the highest of each site's latest NRS strictly after the treatment (an
    undated treatment: each site's latest NRS) is ≥ 4 and either no NRS exists strictly before
    it (or it is undated) or the improvement from the highest NRS before it is below the MIC.
    Untimed readings are neither before nor after a dated treatment (§1.1)."""
    when = treatment.time.isoformat() if treatment.time else "undated"
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
    if worst_after.value < thresholds.persistent_pain_nrs:
        return TreatmentOutcome(
            treatment, Tri.FALSE, f"{text} < {thresholds.persistent_pain_nrs}: not persistent"
        )
    if not before:
        reason = "undated" if treatment.time is None else "no NRS before it"
        return TreatmentOutcome(
            treatment, Tri.TRUE, f"{text} ≥ {thresholds.persistent_pain_nrs}, {reason}"
        )
    baseline = max(before, key=lambda r: r.value)
    change = f"highest NRS before {baseline.value} ({baseline.source})"
    if _below_mic(baseline.value, worst_after.value):
        return TreatmentOutcome(
            treatment,
            Tri.TRUE,
            f"{text}, {change}: improvement {baseline.value - worst_after.value} below the MIC "
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
    """§2 SPINE_TX_FAILED / HIP_TX_FAILED over the treatments of ``kinds``.

    True: any one treatment failed. False: every recorded treatment is followed by an NRS and
    none failed, or none is recorded and a treatment of the group was explicitly denied.
    Unknown otherwise, including when no treatment information at all is recorded (the spec
    is silent there; missing input is unknown, §0.2).
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
