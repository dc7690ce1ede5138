"""Conclusions (clinical-spec.md §3, §4, §6 output codes): category, group, classifications."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from service.core.assessment import Category, Conclusion, Flag, Subtype, TraceStep
from service.core.classifications import (
    DieboType,
    HipSpineClass,
    PiLl,
    delta_ss,
    diebo_type,
    hip_spine_class,
    schwab_pi_ll,
    schwab_pt,
    schwab_sva,
)
from service.core.findings import Findings
from service.core.measures import KlMax
from service.core.rules import Decision, Rule, RuleInputs
from service.core.tri import is_true

CATEGORY_DISPLAY: Mapping[Category, str] = {
    Category.RED_FLAG: "Red flag: urgent evaluation needed",
    Category.NO_FINDINGS: "No hip–spine findings",
    Category.MISDIAGNOSED_HIP_MISSED: "Misdiagnosed hip–spine syndrome: hip missed",
    Category.MISDIAGNOSED_SPINE_MISSED: "Misdiagnosed hip–spine syndrome: spine missed",
    Category.SIMPLE_HIP_PRIMARY: "Simple hip–spine syndrome: hip primary",
    Category.SIMPLE_SPINE_PRIMARY: "Simple hip–spine syndrome: spine primary",
    Category.INDETERMINATE_NOT_HIP: "Indeterminate: hip not the pain generator",
    Category.SECONDARY: "Secondary hip–spine syndrome",
    Category.COMPLEX: "Complex hip–spine syndrome",
    Category.NOT_HSS_SPINE: "Not hip–spine syndrome: spine only",
    Category.NOT_HSS_HIP: "Not hip–spine syndrome: hip only",
    Category.INSUFFICIENT_DATA: "Insufficient data",
}
SUBTYPE_DISPLAY: Mapping[Subtype, str] = {
    Subtype.STRUCTURAL: "structural",
    Subtype.HIP_DRIVEN: "hip-driven",
    Subtype.FUNCTIONAL: "functional",
}
# Offierski & MacNab 1983 [V S1–S3]: the category's group, when it maps to one.
OFFIERSKI: Mapping[Category, tuple[str, str]] = {
    Category.SIMPLE_HIP_PRIMARY: ("offierski-simple", "Offierski & MacNab: simple"),
    Category.SIMPLE_SPINE_PRIMARY: ("offierski-simple", "Offierski & MacNab: simple"),
    Category.COMPLEX: ("offierski-complex", "Offierski & MacNab: complex"),
    Category.SECONDARY: ("offierski-secondary", "Offierski & MacNab: secondary"),
    Category.MISDIAGNOSED_HIP_MISSED: (
        "offierski-misdiagnosed",
        "Offierski & MacNab: misdiagnosed",
    ),
    Category.MISDIAGNOSED_SPINE_MISSED: (
        "offierski-misdiagnosed",
        "Offierski & MacNab: misdiagnosed",
    ),
}


def rule_basis(rule: Rule, decision: Decision, inputs: RuleInputs) -> str:
    """The rule, its condition, what it decided, and each flag it read with that flag's basis."""
    read = [
        f"{n} {inputs[n].value}" + (f" ({inputs.flags[n].basis})" if n in inputs.flags else "")
        for n in rule.reads
    ]
    outcome = decision.category.name
    if decision.subtype is not None:
        outcome += f" ({decision.subtype.name})"
    head = f"{rule.id}: {rule.text} → {outcome}"
    if decision.basis:
        head += f", because {decision.basis}"
    return f"{head}; " + "; ".join(read) if read else head


def decision_conclusions(
    rule: Rule, decision: Decision, inputs: RuleInputs, flags: Mapping[str, Flag]
) -> list[Conclusion]:
    """Category, subtype, Offierski group, confidence (R4 + IA_STRONG), urgency (RED_FLAG)."""
    basis = rule_basis(rule, decision, inputs)
    category = decision.category
    out = [Conclusion("category", category.value, CATEGORY_DISPLAY[category], rule.id, basis)]
    if decision.subtype is not None:
        display = f"Subtype: {SUBTYPE_DISPLAY[decision.subtype]}"
        out.append(Conclusion("subtype", decision.subtype.value, display, rule.id, basis))
    if category in OFFIERSKI:
        code, display = OFFIERSKI[category]
        out.append(Conclusion("offierski", code, display, rule.id, f"{category.name} [V S1–S3]"))
    if decision.confidence_high:
        ia = flags["IA_STRONG"]
        out.append(
            Conclusion("confidence", "confidence-high", "Confidence high", rule.id, ia.basis)
        )
    if category is Category.RED_FLAG:
        emergency = flags["RED_FLAG_EMERGENCY"]
        if is_true(emergency.value):
            out.append(
                Conclusion("urgency", "urgency-emergency", "Emergency", rule.id, emergency.basis)
            )
        else:
            basis = f"no emergency red flag true; {flags['RED_FLAG'].basis}"
            out.append(Conclusion("urgency", "urgency-urgent", "Urgent", rule.id, basis))
    return out


@dataclass(frozen=True, slots=True)
class Classified:
    """§3 classifications that could be computed, and the missing inputs of the others."""

    conclusions: tuple[Conclusion, ...]
    missing: tuple[str, ...]
    trace: tuple[TraceStep, ...]
    diebo: DieboType | None
    hip_spine: HipSpineClass | None


_NEED_PI_LL = "PI−LL (pelvic incidence and lumbar lordosis, or a measured PI−LL)"


def classify_radiographic(findings: Findings, pi_ll: PiLl | None, kl: KlMax) -> Classified:
    """Diebo type, Hip-Spine class and the three Schwab modifiers, each when computable."""
    out: list[Conclusion] = []
    missing: list[str] = []
    trace: list[TraceStep] = []

    def left_out(name: str, needs: list[str]) -> None:
        missing.append(f"{name}: needs {' and '.join(needs)}")
        trace.append(TraceStep(name, "unknown", f"not computed: needs {' and '.join(needs)}"))

    diebo = None
    if pi_ll is not None and kl.value is not None:
        diebo = diebo_type(pi_ll, kl.value)
        basis = f"{pi_ll.basis}; {kl.basis}"
        display = f"Diebo type {diebo.name}"
        out.append(Conclusion("diebo", diebo.value, display, "Diebo 2019 [V S6]", basis))
        trace.append(TraceStep("Diebo type", diebo.name, basis))
    else:
        needs = ([_NEED_PI_LL] if pi_ll is None else []) + (
            ["KL grade of both hips (or one ≥ 3)"] if kl.value is None else []
        )
        left_out("Diebo type", needs)

    hip_spine = None
    delta = delta_ss(findings)
    if pi_ll is not None and delta is not None:
        hip_spine = hip_spine_class(pi_ll, delta[0])
        basis = f"{pi_ll.basis}; {delta[1]}"
        display = f"Hip-Spine class {hip_spine.value.removeprefix('hip-spine-class-').upper()}"
        rule = "Hip-Spine Classification [V S9, S10]"
        out.append(Conclusion("hip-spine-class", hip_spine.value, display, rule, basis))
        trace.append(TraceStep("Hip-Spine class", display, basis))
    else:
        needs = ([_NEED_PI_LL] if pi_ll is None else []) + (
            ["sacral slope standing and seated"] if delta is None else []
        )
        left_out("Hip-Spine class", needs)

    schwab = (
        ("schwab-pill", "SRS–Schwab PI−LL", schwab_pi_ll(pi_ll) if pi_ll else None, _NEED_PI_LL),
        ("schwab-pt", "SRS–Schwab PT", schwab_pt(findings), "pelvic tilt (standing)"),
        ("schwab-sva", "SRS–Schwab SVA", schwab_sva(findings), "SVA"),
    )
    for kind, name, graded, need in schwab:
        if graded is None:
            left_out(name, [need])
            continue
        out.append(Conclusion(kind, graded.code, graded.display, "SRS–Schwab [V S8]", graded.basis))
        trace.append(TraceStep(name, graded.code, graded.basis))
    return Classified(tuple(out), tuple(missing), tuple(trace), diebo, hip_spine)
