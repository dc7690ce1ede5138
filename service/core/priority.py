"""Priority flags (clinical-spec.md §4, [V S40]): which to treat first, hip or spine."""

from __future__ import annotations

from service.core.assessment import Conclusion, TraceStep
from service.core.classifications import PiLl
from service.core.findings import ConditionKind, Findings, ImagingFinding, NeuroSign, Radiographic
from service.core.rules import RuleInputs
from service.core.thresholds import HIP_FIRST_PI_LL_DEG, HIP_FIRST_SVA_MM
from service.core.tri import Tri, is_true, not_true
from service.core.wording import joined, measured, number

RULE = "priority [V S40]"


def spine_first(i: RuleInputs) -> tuple[bool, str]:
    """MOTOR_DEFICIT → SPINE_FIRST."""
    motor = i.flags["MOTOR_DEFICIT"]
    return is_true(motor.value), f"MOTOR_DEFICIT {motor.value.value}: {motor.basis}"


def hip_first(i: RuleInputs, f: Findings, pi_ll: PiLl | None) -> tuple[bool, str]:
    """HIP_SEVERE and (PI−LL ≥ 10° or SVA ≥ 40 mm or Diebo HIP_SPINE) → HIP_FIRST."""
    severe = i.flags["HIP_SEVERE"]
    sva = f.radiographic.get(Radiographic.SVA)
    imbalance: list[str] = []
    if pi_ll is not None and pi_ll.value >= HIP_FIRST_PI_LL_DEG:
        imbalance.append(f"{pi_ll.basis} (≥ {number(HIP_FIRST_PI_LL_DEG)}°)")
    if sva is not None and sva.value >= HIP_FIRST_SVA_MM:
        imbalance.append(f"{measured('SVA', sva, ' mm')} (≥ {number(HIP_FIRST_SVA_MM)} mm)")
    if is_true(i["DIEBO_HIP_SPINE"]):
        imbalance.append("Diebo type HIP_SPINE")
    basis = f"HIP_SEVERE {severe.value.value}; {joined(imbalance, 'no sagittal imbalance known')}"
    return is_true(severe.value) and bool(imbalance), basis


def no_consensus(i: RuleInputs, f: Findings) -> tuple[bool, str]:
    """HIP_SEVERE and lumbar stenosis (imaging or Condition) and neurogenic claudication and
    MOTOR_DEFICIT not true → NO_CONSENSUS."""
    severe, motor = i.flags["HIP_SEVERE"], i.flags["MOTOR_DEFICIT"]
    stenosis = []
    if (src := f.lumbar_imaging.get(ImagingFinding.STENOSIS)) is not None:
        stenosis.append(f"imaging stenosis ({src})")
    if (cond := f.conditions.get(ConditionKind.SPINAL_STENOSIS)) is not None:
        stenosis.append(f"spinal stenosis Condition ({cond.source})")
    claudication = f.neuro.get(NeuroSign.NEUROGENIC_CLAUDICATION)
    claudicates = claudication is not None and claudication.value
    holds = is_true(severe.value) and bool(stenosis) and claudicates and not_true(motor.value)
    basis = (
        f"HIP_SEVERE {severe.value.value}; lumbar stenosis: {joined(stenosis, 'not recorded')}; "
        f"neurogenic claudication {'true' if claudicates else 'not true'}; "
        f"MOTOR_DEFICIT {motor.value.value}"
    )
    return holds, basis


def priority_flags(
    i: RuleInputs, f: Findings, pi_ll: PiLl | None
) -> tuple[tuple[Conclusion, ...], tuple[TraceStep, ...]]:
    """All three priority flags; the caller skips them for RED_FLAG."""
    checks = (
        ("SPINE_FIRST", "priority-spine-first", "Spine first", spine_first(i)),
        ("HIP_FIRST", "priority-hip-first", "Hip first", hip_first(i, f, pi_ll)),
        (
            "NO_CONSENSUS",
            "priority-no-consensus",
            "No consensus on which to treat first",
            no_consensus(i, f),
        ),
    )
    found = tuple(
        Conclusion("priority", code, display, RULE, basis)
        for _, code, display, (holds, basis) in checks
        if holds
    )
    steps = tuple(
        TraceStep(name, Tri.of(holds).value, basis) for name, _, _, (holds, basis) in checks
    )
    return found, steps
