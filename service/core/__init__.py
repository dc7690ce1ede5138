"""The clinical core: pure Python that a clinician can review beside clinical-spec.md.

Constraint: this package imports only the standard library and itself: no Flask, no
fhir.resources, no database, no HTTP, no clock, no environment. Time, ids and the rule-set
version come in as arguments, so equal inputs give equal outputs (clinical-spec.md §0.4).
An import-linter contract in pyproject.toml enforces it.

Public surface: :func:`evaluate` and the value types it takes and returns.
"""

from __future__ import annotations

from service.core.assessment import (
    Assessment,
    Category,
    Conclusion,
    Flag,
    Recommendation,
    RuleSet,
    Subtype,
    TraceStep,
)
from service.core.classifications import DieboType, HipSpineClass, SchwabGrade
from service.core.evaluate import evaluate
from service.core.findings import (
    HIP_TREATMENTS,
    LUMBAR_TREATMENTS,
    SIJ_TESTS,
    BoolFinding,
    ConditionFinding,
    ConditionKind,
    Findings,
    ImagingFinding,
    Measurement,
    Motion,
    NeuroSign,
    PainLocation,
    PainReading,
    PainSeries,
    PainSite,
    Radiographic,
    RedFlag,
    Side,
    SidedTest,
    TestFinding,
    TestResult,
    Treatment,
    TreatmentKind,
    UnsidedTest,
)
from service.core.thresholds import Thresholds
from service.core.tri import Tri, all_of, any_of, is_true, known_false, not_true

__all__ = [
    "HIP_TREATMENTS",
    "LUMBAR_TREATMENTS",
    "SIJ_TESTS",
    "Assessment",
    "BoolFinding",
    "Category",
    "Conclusion",
    "ConditionFinding",
    "ConditionKind",
    "DieboType",
    "Findings",
    "Flag",
    "HipSpineClass",
    "ImagingFinding",
    "Measurement",
    "Motion",
    "NeuroSign",
    "PainLocation",
    "PainReading",
    "PainSeries",
    "PainSite",
    "Radiographic",
    "Recommendation",
    "RedFlag",
    "RuleSet",
    "SchwabGrade",
    "Side",
    "SidedTest",
    "Subtype",
    "TestFinding",
    "TestResult",
    "Thresholds",
    "TraceStep",
    "Treatment",
    "TreatmentKind",
    "Tri",
    "UnsidedTest",
    "all_of",
    "any_of",
    "evaluate",
    "is_true",
    "known_false",
    "not_true",
]
