"""Conclusions (clinical-spec.md §3, §4, §6 output codes): category, group, classifications."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from service.core.advice import CARE_CODES
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
from service.core.tri import Tri, is_true, not_true

#: §6.1 category displays, one format (Q4-45, amended by Q10-10 and Q10-11; E4-24). The codes
#: do not change; these are the CodeSystem displays (outputs copies them).
CATEGORY_DISPLAY: Mapping[Category, str] = {
    Category.RED_FLAG: "Possible serious pathology: urgent evaluation first",
    Category.NO_FINDINGS: "No hip or spine problem found in the recorded data",
    Category.MISDIAGNOSED_HIP_MISSED: "Pain persists after spine treatment; the hip has not been "
    "addressed (Offierski & MacNab: misdiagnosed)",
    Category.MISDIAGNOSED_SPINE_MISSED: "Pain persists after hip treatment; the spine has not "
    "been addressed (Offierski & MacNab: misdiagnosed)",
    Category.SIMPLE_HIP_PRIMARY: "The hip is the main pain source (Offierski & MacNab: simple)",
    Category.SIMPLE_SPINE_PRIMARY: "The spine is the main pain source (Offierski & MacNab: simple)",
    Category.INDETERMINATE_NOT_HIP: "The hip injection did not relieve the pain; the hip is "
    "unlikely to be the source",  # Q10-11
    Category.SECONDARY: "The hip may be contributing to the back pain (Offierski & MacNab: "
    "secondary — functional / structural / hip-driven)",  # Q10-11
    Category.COMPLEX: "Hip and spine both possible pain sources (Offierski & MacNab: complex)",
    Category.NOT_HSS_SPINE: "Spine problem; no hip involvement found",  # Q10-10
    Category.NOT_HSS_HIP: "Hip problem; no back involvement found",  # Q10-11
    Category.INSUFFICIENT_DATA: "Not enough data to decide",
}
#: Q10-02: the emergency words (urgency-emergency display, the lead, rec-urgent-evaluation).
EMERGENCY_WORDS = "Emergency: refer now (emergency department)"
#: §6 finding codes of the fourth edition and the urgency codes, with their displays.
NOTE_GROIN_PAIN_NON_HIP = (
    "Groin pain with a negative hip examination: consider upper lumbar radiculopathy, inguinal "
    "hernia, adductor-related groin pain, stress fracture, osteonecrosis or a bone lesion; "
    "consider an AP pelvis radiograph and a femoral nerve stretch test"  # E4-10, Q10-10 [M S50]
)
FINDING_DISPLAY: Mapping[str, str] = {
    "urgency-emergency": EMERGENCY_WORDS,
    "urgency-urgent": "Urgent: same-day clinical evaluation",
    "red-flag-emergency": "Emergency red flag: possible cauda equina syndrome or progressive "
    "motor deficit",
    "red-flag-spine": "Spine red flag: possible cancer, infection or fracture of the spine",
    "red-flag-hip": "Hip red flag: possible hip fracture or septic arthritis",
    "red-flag-screen-incomplete": "Red-flag screen incomplete",
    "caution-no-hip-manual-therapy": "No hip mobilisation or manipulation: manual-therapy "
    "precaution",
    "note-groin-pain-non-hip": NOTE_GROIN_PAIN_NON_HIP,
    "gluteal-signs": "Lateral hip signs of gluteal tendinopathy",
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
            code = "urgency-emergency"
            out.append(Conclusion("urgency", code, FINDING_DISPLAY[code], rule.id, emergency.basis))
        else:
            basis = f"no emergency red flag true; {flags['RED_FLAG'].basis}"
            code = "urgency-urgent"
            out.append(Conclusion("urgency", code, FINDING_DISPLAY[code], rule.id, basis))
        # E4-2, E4-3: one red-flag kind for each kind that is true.
        for name, code in (
            ("RED_FLAG_EMERGENCY", "red-flag-emergency"),
            ("RED_FLAG_SPINE", "red-flag-spine"),
            ("RED_FLAG_HIP", "red-flag-hip"),
        ):
            kind = flags.get(name)
            if kind is not None and is_true(kind.value):
                out.append(
                    Conclusion("red-flag-kind", code, FINDING_DISPLAY[code], name, kind.basis)
                )
    return out


def safety_notes(
    category: Category, flags: Mapping[str, Flag], rec_codes: Iterable[str]
) -> list[Conclusion]:
    """§6 safety notes, any category except RED_FLAG: red-flag-screen-incomplete (E4-4; not in
    NO_FINDINGS, Q4-10), caution-no-hip-manual-therapy (E4-8; only when the plan holds a
    programme or care code, Q4-37), note-groin-pain-non-hip (E4-10, Q10-10), gluteal-signs
    (E4-11)."""
    if category is Category.RED_FLAG:
        return []

    def value(name: str) -> Tri:
        flag = flags.get(name)
        return flag.value if flag is not None else Tri.UNKNOWN

    def basis(*names: str) -> str:
        return "; ".join(f"{n} {value(n).value}: {flags[n].basis}" for n in names if n in flags)

    codes = set(rec_codes)
    out: list[Conclusion] = []

    def note(code: str, rule: str, *names: str) -> None:
        out.append(Conclusion("safety-note", code, FINDING_DISPLAY[code], rule, basis(*names)))

    if not_true(value("RED_FLAG_SCREEN_COMPLETE")) and category is not Category.NO_FINDINGS:
        note("red-flag-screen-incomplete", "E4-4", "RED_FLAG_SCREEN_COMPLETE")
    if is_true(value("MT_CAUTION")) and codes & CARE_CODES:
        note("caution-no-hip-manual-therapy", "E4-8", "MT_CAUTION")
    if is_true(value("GROIN_PAIN")) and is_true(value("HIP_EXAM_NEGATIVE")):
        note("note-groin-pain-non-hip", "E4-10", "GROIN_PAIN", "HIP_EXAM_NEGATIVE")
    if is_true(value("GLUTEAL_SIGNS")):
        note("gluteal-signs", "E4-11", "GLUTEAL_SIGNS")
    return out


#: Diebo 2019 types in plain words (the enum names stay in the trace).
DIEBO_DISPLAY: Mapping[DieboType, str] = {
    DieboType.NON_HISS: "Diebo type non-HISS (no hip or spine involvement)",
    DieboType.HIP: "Diebo type hip",
    DieboType.SPINE: "Diebo type spine",
    DieboType.HIP_SPINE: "Diebo type hip–spine",
    DieboType.UNCLASSIFIED: "Diebo type unclassified",
}


@dataclass(frozen=True, slots=True)
class Classified:
    """§3 classifications that could be computed, and the missing inputs of the others."""

    conclusions: tuple[Conclusion, ...]
    missing: tuple[str, ...]
    trace: tuple[TraceStep, ...]
    diebo: DieboType | None
    hip_spine: HipSpineClass | None


NEED_PI_LL = "PI−LL (pelvic incidence and lumbar lordosis, or a measured PI−LL)"


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
        display = DIEBO_DISPLAY[diebo]  # plain words (§6.1, E4-19)
        out.append(Conclusion("diebo", diebo.value, display, "Diebo 2019 [V S6]", basis))
        trace.append(TraceStep("Diebo type", diebo.name, basis))
    else:
        needs = ([NEED_PI_LL] if pi_ll is None else []) + (
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
        needs = ([NEED_PI_LL] if pi_ll is None else []) + (
            ["sacral slope standing and seated"] if delta is None else []
        )
        left_out("Hip-Spine class", needs)

    schwab = (
        ("schwab-pill", "SRS–Schwab PI−LL", schwab_pi_ll(pi_ll) if pi_ll else None, NEED_PI_LL),
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
