"""The clinical core's one public entry: Findings in, Assessment out (clinical-spec.md §2–§6)."""

from __future__ import annotations

from decimal import localcontext

from service.core.assessment import (
    Assessment,
    Category,
    Conclusion,
    Recommendation,
    RuleSet,
    TraceStep,
)
from service.core.classifications import (
    PiLl,
    nrs_band,
    odi_band,
    pelvic_identity_warning,
    pi_minus_ll,
)
from service.core.conclusions import (
    NEED_PI_LL,
    classify_radiographic,
    decision_conclusions,
    safety_notes,
)
from service.core.findings import Findings
from service.core.flags import derive_flags
from service.core.measures import ia_relief, kl_max, relief_missing
from service.core.priority import priority_flags
from service.core.readings import read
from service.core.rec_facts import facts_of
from service.core.recommendations import (
    COLLECT_MISSING,
    RecContext,
    minimum_set_missing,
    recommend,
)
from service.core.red_flags import mrc_grade
from service.core.rules import RuleInputs, classify
from service.core.summary import lead, review_weeks, summarise
from service.core.thresholds import Thresholds
from service.core.treatment_failure import used_series
from service.core.tri import Tri
from service.core.wording import fraction, measured, number, series_label


def _bands(findings: Findings) -> tuple[dict[str, str], list[str]]:
    """§3 NRS and ODI bands [M]: for ``extra`` and for the summary."""
    extra: dict[str, str] = {}
    words: list[str] = []
    for series in used_series(findings):
        label, latest = series_label(series), series.latest
        band = nrs_band(latest.value)
        extra[f"nrs-band {label}"] = band
        words.append(f"{label} {latest.value} ({band})")
    if findings.odi is not None:
        band = odi_band(findings.odi.value)
        extra["odi-band"] = band
        words.append(f"ODI {number(findings.odi.value)} % ({band})")
    return extra, words


#: E4-26: myotomal weakness without its MRC grade (E4-3: MRC ≤ 3 is a spine red flag).
MRC_GRADE_MISSING = "MRC grade of the weakest muscle (MRC 3 or less is a red flag)"


def _missing(
    category: Category,
    c: RecContext,
    classified_missing: tuple[str, ...],
    recommendations: tuple[Recommendation, ...],
    pi_ll: PiLl | None,
) -> tuple[str, ...]:
    """§6.1 "Missing" (E4-26, Q4-40): what would change the conclusion, most important first:
    the red-flag screen items, then the examination items of the minimum set, then the rest;
    radiographic parameters only when HIP_SEVERE is true (arthroplasty planning) or when PI and
    LL would decide SPINE_PATH (or the Diebo type, which needs HIP_SEVERE)."""
    out: list[str] = []
    if category is not Category.NO_FINDINGS and c.not_true("RED_FLAG_SCREEN_COMPLETE"):
        out += [f"{item} (red-flag screen)" for item in c.facts.screen_unrecorded]
    if c.facts.myotomal_weakness and mrc_grade(c.findings) is None:
        out.append(MRC_GRADE_MISSING)  # E4-3, E4-26: MRC ≤ 3 would make it a red flag
    for r in recommendations:
        if r.code == COLLECT_MISSING:
            out += [m for m in r.missing if m not in out]
    if category is Category.RED_FLAG:
        return tuple(out)  # no arthroplasty planning before the red flag is worked up
    # E4-26: a missing examination item of the minimum set could change any category.
    out += [m for m in minimum_set_missing(c) if m not in out]
    if c.true("HIP_SEVERE"):
        out += [m for m in classified_missing if m not in out]
    elif pi_ll is None and c.value("SPINE_PATH") is Tri.UNKNOWN:
        out.append(NEED_PI_LL)
    return tuple(out)


#: Significant digits of the decimal context: far above any input's (60 for converted angles).
EXACT_PRECISION = 200


def evaluate(
    findings: Findings, rule_set: RuleSet, thresholds: Thresholds | None = None
) -> Assessment:
    """Derive the §2 flags, the §3 classifications, the §4 category and priority flags and the
    §5 recommendations, with a trace of every step. Pure and deterministic: no clock, no ids.

    Arithmetic runs in a decimal context wide enough that no sum or difference of inputs is
    rounded (§1.1: converted values, e.g. from radians, carry up to 60 digits).
    """
    with localcontext() as ctx:
        ctx.prec = EXACT_PRECISION
        return _evaluate(findings, rule_set, thresholds)


def _evaluate(findings: Findings, rule_set: RuleSet, thresholds: Thresholds | None) -> Assessment:
    t = thresholds if thresholds is not None else Thresholds()
    kl, relief, pi_ll = kl_max(findings), ia_relief(findings), pi_minus_ll(findings)
    readings = read(findings, t)  # shared by the flags and the facts: derived once
    flags = derive_flags(findings, t, kl, relief, pi_ll, readings)
    trace = [TraceStep(f.name, f.value.value, f.basis) for f in flags.values()]
    trace.append(
        TraceStep("KL_MAX", number(kl.value) if kl.value is not None else "unknown", kl.basis)
    )
    trace.append(
        TraceStep("IA_RELIEF", fraction(relief.value), relief.basis)
        if relief is not None
        else TraceStep("IA_RELIEF", "unknown", relief_missing(findings))
    )
    trace.append(
        TraceStep("PI_LL", number(pi_ll.value), pi_ll.basis)
        if pi_ll is not None
        else TraceStep("PI_LL", "unknown", "no measured PI−LL, and PI or LL missing")
    )
    if findings.odi is not None:
        trace.append(
            TraceStep("ODI", number(findings.odi.value), measured("ODI", findings.odi, " %"))
        )
    classified = classify_radiographic(findings, pi_ll, kl)
    trace += classified.trace

    inputs = RuleInputs(flags, classified.diebo)
    rule, decision, rule_steps = classify(inputs)
    trace += rule_steps
    conclusions: list[Conclusion] = decision_conclusions(rule, decision, inputs, flags)
    conclusions += classified.conclusions
    if decision.category is not Category.RED_FLAG:
        priorities, priority_steps = priority_flags(inputs, findings, pi_ll)
        conclusions += priorities
        trace += priority_steps

    facts = facts_of(findings, flags, t, readings)
    context = RecContext(
        findings, flags, kl, relief is not None, classified.hip_spine is not None, t, facts
    )
    recommendations = recommend(decision.category, decision.subtype, context)
    trace += [TraceStep(r.code, "recommended", r.reason) for r in recommendations]
    notes = safety_notes(decision.category, flags, (r.code for r in recommendations))
    conclusions += notes
    trace += [TraceStep(c.code, "noted", f"{c.rule}: {c.basis}") for c in notes]

    missing = _missing(decision.category, context, classified.missing, recommendations, pi_ll)
    warning = pelvic_identity_warning(findings, t)
    data_quality = (warning,) if warning is not None else ()
    extra, pain_words = _bands(findings)
    extra["kl-max"] = number(kl.value) if kl.value is not None else "unknown"
    extra["ia-relief-pct"] = fraction(relief.value) if relief is not None else "unknown"
    extra["pi-ll"] = number(pi_ll.value) if pi_ll is not None else "unknown"
    if classified.diebo is not None:
        extra["diebo"] = classified.diebo.value

    weeks = review_weeks(recommendations, int(t.review_weeks))
    lead_text = lead(
        decision.category, decision.subtype, context.facts, flags, recommendations, extra, weeks
    )
    summary = summarise(
        lead_text,
        decision.category,
        tuple(conclusions),
        recommendations,
        missing,
        data_quality,
        tuple(pain_words),
        weeks,
        classified.missing,
    )
    return Assessment(
        rule_set=rule_set,
        category=decision.category,
        subtype=decision.subtype,
        rule=rule.id,
        conclusions=tuple(conclusions),
        recommendations=recommendations,
        flags=flags,
        missing=tuple(missing),
        trace=tuple(trace),
        summary=summary,
        data_quality=data_quality,
        extra=extra,
        lead=lead_text,
        review_weeks=weeks,
    )
