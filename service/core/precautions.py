"""Manual-therapy precautions (clinical-spec.md §1.3, §2 MT_CAUTION; E4-8, Q4-23, Q4-24)."""

from __future__ import annotations

from service.core.assessment import Flag
from service.core.findings import ConditionKind, Findings, TreatmentKind
from service.core.red_flags import cancer_history
from service.core.thresholds import Thresholds
from service.core.tri import Tri
from service.core.wording import joined

#: The precaution Conditions and their names in words (§5.2 "naming the precaution").
PRECAUTION_CONDITIONS = (
    (ConditionKind.AVN, "avascular necrosis"),
    (ConditionKind.RHEUMATOID_ARTHRITIS, "rheumatoid arthritis"),
    (ConditionKind.OSTEOPOROSIS, "osteoporosis"),
    (ConditionKind.FEMORAL_NECK_FRACTURE, "femoral neck fracture"),
)
HIP_REPLACEMENT = "hip replacement"
CANCER_HISTORY = "cancer history"


def _precautions(f: Findings, t: Thresholds) -> list[tuple[str, str]]:
    out = [
        (words, f"{kind.value} Condition ({c.source})")
        for kind, words in PRECAUTION_CONDITIONS
        if (c := f.conditions.get(kind)) is not None
    ]
    arthroplasty = [
        f"{tr.kind.value} ({tr.source})"
        for tr in f.treatments
        if tr.kind is TreatmentKind.HIP_ARTHROPLASTY
    ]
    artificial = f.conditions.get(ConditionKind.ARTIFICIAL_HIP)
    if artificial is not None:
        arthroplasty.append(f"artificial hip Condition ({artificial.source})")
    if arthroplasty or f.replaced_sides or f.arthroplasty_unsided:
        out.append((HIP_REPLACEMENT, joined(arthroplasty, "replaced hip")))
    cancer = cancer_history(f, t)
    if cancer:
        out.append((CANCER_HISTORY, joined(cancer)))
    return out


def mt_precautions(f: Findings, t: Thresholds) -> tuple[str, ...]:
    """The precaution names, in the order of §2: "avascular necrosis", "rheumatoid arthritis",
    "osteoporosis", "femoral neck fracture", "hip replacement", "cancer history" (Q4-23: with
    a cancer history the category is RED_FLAG, so it never shows on its own)."""
    return tuple(words for words, _ in _precautions(f, t))


def mt_caution(f: Findings, t: Thresholds) -> Flag:
    """§2 MT_CAUTION (E4-8): any manual-therapy precaution of §1.3 present; never false.
    Evidence: [V2] codes; the precaution itself is a safety default."""
    found = _precautions(f, t)
    if found:
        return Flag("MT_CAUTION", Tri.TRUE, joined([f"{w}: {src}" for w, src in found]))
    return Flag("MT_CAUTION", Tri.UNKNOWN, "no manual-therapy precaution recorded; never false")
