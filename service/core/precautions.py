"""Manual-therapy precautions (clinical-spec.md §1.3, §2 MT_CAUTION; E4-8, Q4-23, Q4-24)."""

from __future__ import annotations

from collections.abc import Sequence

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


#: (precaution in words, trace text with sources), in the order of §2.
Precaution = tuple[str, str]


def precautions(
    f: Findings, t: Thresholds, cancer: Sequence[str] | None = None
) -> tuple[Precaution, ...]:
    """The precautions found, each as (words, trace text). ``cancer``: the evaluation's
    :func:`service.core.red_flags.cancer_history` when already read."""
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
    if cancer is None:
        cancer = cancer_history(f, t)
    if cancer:
        out.append((CANCER_HISTORY, joined(list(cancer))))
    return tuple(out)


def mt_precautions(
    f: Findings, t: Thresholds, found: tuple[Precaution, ...] | None = None
) -> tuple[str, ...]:
    """The precaution names, in the order of §2: "avascular necrosis", "rheumatoid arthritis",
    "osteoporosis", "femoral neck fracture", "hip replacement", "cancer history" (Q4-23: with
    a cancer history the category is RED_FLAG, so it never shows on its own)."""
    if found is None:
        found = precautions(f, t)
    return tuple(words for words, _ in found)


def mt_caution(f: Findings, t: Thresholds, found: tuple[Precaution, ...] | None = None) -> Flag:
    """§2 MT_CAUTION (E4-8): any manual-therapy precaution of §1.3 present; never false.
    Evidence: [V2] codes; the precaution itself is a safety default. ``found``: the
    evaluation's :func:`precautions` when already read."""
    if found is None:
        found = precautions(f, t)
    if found:
        return Flag("MT_CAUTION", Tri.TRUE, joined([f"{w}: {src}" for w, src in found]))
    return Flag("MT_CAUTION", Tri.UNKNOWN, "no manual-therapy precaution recorded; never false")
