"""Readers of Findings for the flags (clinical-spec.md §2): the evidence, in words, with sources."""

from __future__ import annotations

from collections.abc import Iterable

from service.core.findings import (
    ConditionKind,
    Findings,
    ImagingFinding,
    NeuroSign,
    PainLocation,
    RedFlag,
    Side,
    SidedTest,
    TestResult,
)
from service.core.tri import Tri

SIDES = (Side.LEFT, Side.RIGHT)
EMERGENCY_RED_FLAGS = frozenset(
    {
        RedFlag.SADDLE_ANAESTHESIA,
        RedFlag.BLADDER_DYSFUNCTION,
        RedFlag.FAECAL_INCONTINENCE,
        RedFlag.PROGRESSIVE_MOTOR_DEFICIT,
    }
)
HIP_CONDITIONS = (
    ConditionKind.HIP_OA,
    ConditionKind.FAI,
    ConditionKind.LABRAL_TEAR,
    ConditionKind.AVN,
)
ABNORMAL_IMAGING = (
    ImagingFinding.STENOSIS,
    ImagingFinding.DISC_HERNIATION,
    ImagingFinding.SPONDYLOLISTHESIS,
)


def tests_with(f: Findings, test: SidedTest, result: TestResult) -> list[str]:
    return [
        f"{test.value} {result.value} {s.value} ({tf.source})"
        for s in SIDES
        if (tf := f.sided_tests.get((test, s))) is not None and tf.result is result
    ]


def recorded_sides(f: Findings, test: SidedTest) -> int:
    return sum(1 for s in SIDES if (test, s) in f.sided_tests)


def faber_with(f: Findings, location: PainLocation) -> Tri:
    """FABER + with ``location`` pain on a side: true; FABER recorded and never so: false.

    A FABER + without a recorded pain location leaves it unknown (§0.2: missing input is never
    false; §5 lists "FABER (with pain location when positive)" as a minimum-set item).
    """
    recorded = [tf for s in SIDES if (tf := f.sided_tests.get((SidedTest.FABER, s))) is not None]
    positive = [tf for tf in recorded if tf.result is TestResult.POSITIVE]
    if any(location in tf.pain_locations for tf in positive):
        return Tri.TRUE
    if not recorded or any(not tf.pain_locations for tf in positive):
        return Tri.UNKNOWN
    return Tri.FALSE


def neuro_signs(f: Findings, signs: Iterable[NeuroSign], value: bool) -> list[str]:
    return [
        f"{sign.value} {str(value).lower()} ({b.source})"
        for sign in signs
        if (b := f.neuro.get(sign)) is not None and b.value is value
    ]


def conditions_present(f: Findings, kinds: Iterable[ConditionKind]) -> list[str]:
    return [f"{k.value} Condition ({c.source})" for k in kinds if (c := f.conditions.get(k))]
