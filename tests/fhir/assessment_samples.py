"""Hand-built Assessment and Extraction values for the output builder tests."""

from __future__ import annotations

from datetime import UTC, datetime

from service.core.assessment import (
    Assessment,
    Category,
    Conclusion,
    Recommendation,
    RuleSet,
    Subtype,
)
from service.core.findings import Findings
from service.errors import Issue
from service.fhir.extraction import Extraction, InputRef

RULE_SET = RuleSet("http://hipspine-cds.org/fhir/PlanDefinition/hip-spine-rules", "2.0.0")
BASE = "https://cds.example.org"  # PUBLIC_BASE_URL
RECORDED = datetime(2026, 3, 1, 9, 30, 0, tzinfo=UTC)
USED = (
    InputRef("Observation/ir-left", "hip-rom"),
    InputRef("Observation/ir-right", "hip-rom"),
    InputRef("Observation/fadir-left", "special-tests"),
    InputRef("urn:uuid:0b6f6f0e-8c1c-4b8e-9a39-5f0b7f7a9d11", "pain"),
    InputRef("Observation/kl-left", "radiographic"),
)


def extraction(
    *,
    used: tuple[InputRef, ...] = USED,
    used_digest: str = "a" * 64,
    warnings: tuple[Issue, ...] = (),
    ignored: tuple[Issue, ...] = (),
    patient_ref: str = "Patient/p1",
) -> Extraction:
    return Extraction(
        patient_ref=patient_ref,
        findings=Findings(),
        used=used,
        warnings=warnings,
        ignored=ignored,
        input_digest="b" * 64,
        used_digest=used_digest,
        relevant_count=len(used),
    )


def functional_secondary(rule_set: RuleSet = RULE_SET) -> Assessment:
    """clinical-spec.md §8: SECONDARY (FUNCTIONAL), one recommendation."""
    return Assessment(
        rule_set=rule_set,
        category=Category.SECONDARY,
        subtype=Subtype.FUNCTIONAL,
        rule="R8",
        conclusions=(
            Conclusion(
                "category",
                "category-secondary",
                "Secondary hip–spine syndrome",
                "R8",
                "HIP_PATH false (KL 1/1), HIP_SIGNS true (IR 10° left), LBP true (NRS 6)",
            ),
            Conclusion("subtype", "subtype-functional", "Functional", "R8", "HIP_PATH not true"),
            Conclusion(
                "offierski",
                "offierski-secondary",
                "Offierski & MacNab: secondary",
                "R8",
                "category SECONDARY",
            ),
            Conclusion(
                "band", "nrs-band-moderate", "Low-back pain moderate", "§3", "low-back NRS 6"
            ),
        ),
        recommendations=(
            Recommendation(
                "rec-combined-hip-lumbar-management",
                "Combined hip–lumbar programme",
                "secondary functional hip–spine syndrome",
            ),
        ),
        flags={},
        missing=(),
        trace=(),
        summary="Secondary (functional) hip–spine syndrome: combined hip–lumbar programme.",
    )


def every_order_code(rule_set: RuleSet = RULE_SET) -> Assessment:
    """COMPLEX with the recommendations that carry §5 "other codes", plus a missing-data one."""
    base = functional_secondary(rule_set)
    recs = (
        Recommendation("rec-diagnostic-ia-hip-injection", "Diagnostic IA hip injection", "hip?"),
        Recommendation("rec-mri-lumbar", "Lumbar MRI", "spine signs, no lumbar imaging"),
        Recommendation("rec-mri-lumbar-urgent", "Urgent lumbar MRI", "red flag"),
        Recommendation("rec-imaging-hip-urgent", "Urgent hip imaging", "fever, log roll +"),
        Recommendation("rec-combined-hip-lumbar-management", "Combined programme", "complex"),
        Recommendation(
            "HSC#rec-collect-missing-data",
            "Collect missing data",
            "R12",
            missing=("bilateral hip IR", "FADIR"),
        ),
    )
    return Assessment(
        rule_set=rule_set,
        category=Category.COMPLEX,
        subtype=None,
        rule="R6",
        conclusions=(
            Conclusion("category", "category-complex", "Complex", "R6", "HIP_PATH and SPINE_PATH"),
            Conclusion(
                "diebo", "diebo-hip-spine", "Diebo hip-spine", "Diebo 2019", "PI−LL 14°, KL_MAX 3"
            ),
            Conclusion("schwab-pill", "schwab-pill-plus", "PI−LL +", "SRS–Schwab", "PI−LL 14°"),
            Conclusion(
                "priority",
                "priority-hip-first",
                "Hip first",
                "§4 priority",
                "HIP_SEVERE and PI−LL 14°",
            ),
        ),
        recommendations=recs,
        flags=base.flags,
        missing=("SS seated",),
        trace=(),
        summary="Complex hip–spine syndrome.",
        data_quality=("|PI − (PT + SS)| = 7° > 5°",),
    )


def no_findings(rule_set: RuleSet = RULE_SET) -> Assessment:
    return Assessment(
        rule_set=rule_set,
        category=Category.NO_FINDINGS,
        subtype=None,
        rule="R11",
        conclusions=(
            Conclusion("category", "category-no-findings", "No findings", "R11", "no pain"),
        ),
        recommendations=(),
        flags={},
        missing=(),
        trace=(),
        summary="No hip or spine findings.",
    )


WARNING = Issue(
    "warning",
    "value",
    "hip internal rotation 200 deg is outside 0–90; excluded",
    ("Bundle.entry[4].resource.valueQuantity",),
)
IGNORED = Issue(
    "information",
    "informational",
    "Observation/old has status cancelled; ignored",
    ("Bundle.entry[5].resource.status",),
)
