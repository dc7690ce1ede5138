"""Pain series (clinical-spec.md §1.1, §2): site flags, any pain, and failed prior treatments."""

from __future__ import annotations

from service.core.assessment import Flag
from service.core.findings import ConditionFinding, Findings, PainSite, Side
from service.core.thresholds import Thresholds
from service.core.treatment_failure import used_series
from service.core.tri import Tri
from service.core.wording import joined, series_label


def site_pain(
    name: str,
    findings: Findings,
    site: PainSite,
    thresholds: Thresholds,
    condition: ConditionFinding | None = None,
    excluded_sides: frozenset[Side] = frozenset(),
) -> Flag:
    """A site flag (§1.1, §2 LBP / GROIN_PAIN): true if any latest value of the site is
    ≥ the pain-present threshold (or the site's Condition is present), false if all are
    below it (= 0 with the default of 1) and there is no such Condition.

    Series of ``excluded_sides`` do not count (Q4-13: a replaced side's groin pain is not hip
    evidence); a side-less series counts as theirs when every hip that could be its side is
    excluded (Q11-02: one replaced hip takes the side-less groin pain)."""
    of_site = [s for s in used_series(findings) if s.site is site]
    latest = [(s, s.latest) for s in of_site if not _excluded(s.side, excluded_sides, findings)]
    left_out = [
        f"{series_label(s)} {s.latest.value} of a replaced hip, not counted"
        for s in of_site
        if _excluded(s.side, excluded_sides, findings)
    ]
    values = [f"{series_label(s)} {r.value} ({r.source})" for s, r in latest]
    cond = f"Condition ({condition.source})" if condition is not None else ""
    present = thresholds.pain_present_nrs
    if any(r.value >= present for _, r in latest) or condition is not None:
        return Flag(
            name, Tri.TRUE, f"latest {joined(values + ([cond] if cond else []))} (≥ {present})"
        )
    note = f"; {joined(left_out)} (Q4-13)" if left_out else ""
    if latest:
        return Flag(
            name, Tri.FALSE, f"latest {joined(values)} (all < {present}), no Condition{note}"
        )
    return Flag(name, Tri.UNKNOWN, f"no {site.value.removeprefix('site-')} NRS recorded{note}")


def _excluded(side: Side | None, excluded: frozenset[Side], findings: Findings) -> bool:
    if not excluded:
        return False
    if side is not None:
        return side in excluded
    return len(findings.replaced_sides) >= 1 and findings.replaced_sides <= excluded


def any_pain(findings: Findings, thresholds: Thresholds) -> Flag:
    """R11's "a pain series (any site, site-less or unrecognised) has a latest value ≥ 1"."""
    present = thresholds.pain_present_nrs
    used = used_series(findings)
    texts = [f"{series_label(s)} {s.latest.value}" for s in used]
    hurting = [text for s, text in zip(used, texts, strict=True) if s.latest.value >= present]
    if hurting:
        return Flag("ANY_PAIN", Tri.TRUE, f"latest {joined(hurting)} (≥ {present})")
    return Flag("ANY_PAIN", Tri.FALSE, f"latest {joined(texts, 'no NRS recorded')} (< {present})")
