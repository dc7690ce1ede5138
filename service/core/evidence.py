"""Readers of Findings for the flags (clinical-spec.md §2): the evidence, in words, with sources."""

from __future__ import annotations

from collections.abc import Iterable

from service.core.assessment import Flag
from service.core.findings import (
    SIJ_TESTS,
    ConditionFinding,
    ConditionKind,
    Findings,
    ImagingFinding,
    NeuroSign,
    PainLocation,
    Side,
    SidedTest,
    TestFinding,
    TestResult,
    TreatmentKind,
    condition_records,
)
from service.core.thresholds import SIJ_CLUSTER_MIN, Thresholds
from service.core.tri import Tri

SIDES = (Side.LEFT, Side.RIGHT)
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


def positive_sides(f: Findings, test: SidedTest, *, replaced: bool = False) -> tuple[Side, ...]:
    """The sides (left first) where ``test`` is positive; ``replaced``: a replaced hip's tests
    count too (Q4-14: log roll and passive IR pain for the hip red flags)."""
    return tuple(
        s
        for s in SIDES
        if is_positive(f.sided_tests.get((test, s)))
        or (replaced and is_positive(f.replaced_hip_tests.get((test, s))))
    )


def is_positive(tf: TestFinding | None) -> bool:
    """A recorded test whose result is positive."""
    return tf is not None and tf.result is TestResult.POSITIVE


def sides_in_order(sides: Iterable[Side]) -> tuple[Side, ...]:
    """``sides`` left first, each once."""
    chosen = set(sides)
    return tuple(s for s in SIDES if s in chosen)


def side_words(sides: Iterable[Side]) -> str:
    """``left``, ``right``, ``left and right`` (§5.4)."""
    return " and ".join(s.value for s in sides_in_order(sides))


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


def native_hip_conditions(f: Findings) -> list[str]:
    """Hip Conditions that are hip evidence: Q4-13, a hip Condition of a replaced side is not
    (one without a side still counts: it may concern the native hip)."""
    return [
        f"{k.value} Condition ({c.source})" for k in HIP_CONDITIONS for c in native_conditions(f, k)
    ]


def native_conditions(f: Findings, kind: ConditionKind) -> tuple[ConditionFinding, ...]:
    """The Conditions of ``kind`` that are not a replaced side's (Q4-13), each on its own: a
    Condition without side counts (it may concern the native hip)."""
    return tuple(
        c for c in condition_records(f, kind) if not (c.sides and c.sides <= f.replaced_sides)
    )


def conditions_present(f: Findings, kinds: Iterable[ConditionKind]) -> list[str]:
    return [f"{k.value} Condition ({c.source})" for k in kinds if (c := f.conditions.get(k))]


# --- Facts the recommendations read (core-flags → core-recs, TEAM-interfaces.md) --------------


def avn_present(f: Findings) -> bool:
    """An AVN Condition of a native hip is present (E4-22, Q10-13; Q4-13: not a replaced
    side's). MT_CAUTION still names any AVN Condition (precautions.py)."""
    return bool(native_conditions(f, ConditionKind.AVN))


def fai_or_labral_present(f: Findings) -> bool:
    """An FAI or labral-tear Condition of a native hip is present (E4-22, Q4-13)."""
    return bool(
        native_conditions(f, ConditionKind.FAI) or native_conditions(f, ConditionKind.LABRAL_TEAR)
    )


def _sign(f: Findings, sign: NeuroSign) -> Tri:
    b = f.neuro.get(sign)
    return Tri.UNKNOWN if b is None else Tri.of(b.value)


def myelopathy(f: Findings) -> Tri:
    """``myelopathy-signs`` as recorded (Q10-04)."""
    return _sign(f, NeuroSign.MYELOPATHY_SIGNS)


def myotomal_weakness(f: Findings) -> Tri:
    """``myotomal-weakness`` as recorded (E4-3, Q11-03)."""
    return _sign(f, NeuroSign.MYOTOMAL_WEAKNESS)


def sij_reason(f: Findings, groin: Flag) -> str | None:
    """Why SIJ_SIGNS is true (Q10-12): "cluster" (≥ 3 of the five tests +) or "faber-posterior"
    (FABER + with posterior pain and GROIN_PAIN not true); None when neither holds."""
    positive = [
        t for t in SIJ_TESTS if (tf := f.unsided_tests.get(t)) and tf.result is TestResult.POSITIVE
    ]
    if len(positive) >= SIJ_CLUSTER_MIN:
        return "cluster"
    if faber_with(f, PainLocation.POSTERIOR) is Tri.TRUE and groin.value is not Tri.TRUE:
        return "faber-posterior"
    return None


def prior_lumbar_surgery(f: Findings) -> bool:
    """A prior lumbar surgery is recorded (Q10-05: rec-mri-lumbar "with and without contrast")."""
    return any(t.kind is TreatmentKind.LUMBAR_SURGERY for t in f.treatments)


def lumbar_imaging_known(f: Findings, t: Thresholds) -> bool:
    """§1.1, Q10-05, Q11-01: at least one lumbar imaging finding is used and it is at most
    365 days [P] before the reference time; an untimed finding, or any finding when there is
    no reference time, counts as known. SPINE_PATH reads the findings whatever their age."""
    if not f.lumbar_imaging:
        return False
    if f.lumbar_imaging_time is None or f.reference_time is None:
        return True
    age = f.reference_time - f.lumbar_imaging_time
    return age <= Thresholds.days(t.lumbar_imaging_recent_days)


def old_lumbar_imaging(f: Findings, t: Thresholds) -> bool:
    """Lumbar imaging is recorded but older than 365 days (Q10-05: "listed as old imaging")."""
    return bool(f.lumbar_imaging) and not lumbar_imaging_known(f, t)
