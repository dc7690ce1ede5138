"""Fourth-edition exclusions that need the whole input: replaced hips, reference time, recency.

Order (clinical-spec.md §1.2, §0.8, §1.3; Q4-02, Q5-09): first the replaced-hip exclusion (a
replaced side's native-joint exam never reaches the flags, E4-9), then the reference time (the
latest §1.1 time of any Observation still used: so an excluded value never sets it), then the
recency rules measured against it (E4-5 episode red flags, E4-12 injection relief). A value
excluded here is as if absent (§1.1, Q4-05), so an older untimed value of the same key is used.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime

from service.core.findings import (
    LASTING_RED_FLAGS,
    NATIVE_HIP_TESTS,
    REPLACED_HIP_RED_FLAG_TESTS,
    ConditionFinding,
    ConditionKind,
    RedFlag,
    Side,
    SidedTest,
    TestFinding,
    Treatment,
    TreatmentKind,
)
from service.core.thresholds import Thresholds
from service.errors import Issue
from service.fhir.kinds import Slot
from service.fhir.selection import Reading

#: Slots whose per-side values describe the native hip joint (§1.2 E4-9).
_NATIVE_SLOTS = frozenset({Slot.KL, Slot.ROM, Slot.CONTRACTURE})


@dataclass(frozen=True, slots=True)
class Prefiltered:
    readings: tuple[Reading, ...]
    replaced_sides: frozenset[Side]
    arthroplasty_unsided: bool
    replaced_hip_tests: dict[tuple[SidedTest, Side], TestFinding]
    reference_time: datetime | None
    warnings: tuple[Issue, ...]


def _side_of_key(reading: Reading) -> Side | None:
    key: Hashable = reading.key
    if isinstance(key, Side):
        return key
    if isinstance(key, tuple) and len(key) == 2 and isinstance(key[1], Side):
        return key[1]
    return None


def replaced(readings: Iterable[Reading]) -> tuple[frozenset[Side], bool]:
    """Sides with a hip arthroplasty (§1.2): a ``prior-hip-arthroplasty`` true or a completed
    THR Procedure with that side, or an artificial-hip Condition with that side; and whether an
    arthroplasty without a side is recorded (it excludes nothing, but sets MT_CAUTION)."""
    sides: set[Side] = set()
    unsided = False
    for reading in readings:
        payload = reading.payload
        if isinstance(payload, Treatment) and payload.kind is TreatmentKind.HIP_ARTHROPLASTY:
            sides |= payload.sides
            unsided |= not payload.sides
        elif isinstance(payload, ConditionFinding) and payload.kind is ConditionKind.ARTIFICIAL_HIP:
            sides |= payload.sides
            unsided |= not payload.sides
    return frozenset(sides), unsided


def _latest_time(readings: Iterable[Reading]) -> datetime | None:
    """Q4-02: the latest §1.1 time of any used Observation (Conditions, Procedures never)."""
    times = [r.order[1] for r in readings if r.entry.rtype == "Observation" and r.order[0]]
    return max(times) if times else None


def prefilter(readings: Iterable[Reading], thresholds: Thresholds) -> Prefiltered:
    readings = list(readings)
    warnings: list[Issue] = []
    sides, unsided = replaced(readings)
    kept: list[Reading] = []
    replaced_tests: dict[tuple[SidedTest, Side], Reading] = {}
    warned: set[tuple[int, Side]] = set()
    for reading in readings:
        side = _side_of_key(reading)
        member = reading.key[0] if isinstance(reading.key, tuple) else None
        native = reading.slot in _NATIVE_SLOTS or (
            reading.slot is Slot.SIDED_TEST and member in NATIVE_HIP_TESTS
        )
        if side is None or side not in sides or not native:
            kept.append(reading)
            continue
        # §1.2 E4-9, Q4-11: every value of a replaced side is excluded, whatever its date.
        if (reading.entry.index, side) not in warned:
            warned.add((reading.entry.index, side))
            warnings.append(
                Issue(
                    "warning",
                    "business-rule",
                    f"{reading.entry.name} excluded: the {side.value} hip is replaced",
                    (f"{reading.entry.expr}.bodySite",),
                )
            )
        if member in REPLACED_HIP_RED_FLAG_TESTS and isinstance(reading.payload, TestFinding):
            key = (member, side)
            previous = replaced_tests.get(key)
            if previous is None or reading.order > previous.order:
                replaced_tests[key] = reading
    reference = _latest_time(kept)  # Q5-09: replaced-hip exclusions never set it
    current: list[Reading] = []
    for reading in kept:
        stale = _stale(reading, reference, thresholds)
        if stale is None:
            current.append(reading)
        else:
            warnings.append(stale)
    return Prefiltered(
        tuple(current),
        sides,
        unsided,
        {k: r.payload for k, r in replaced_tests.items() if isinstance(r.payload, TestFinding)},
        reference,
        tuple(warnings),
    )


def _stale(reading: Reading, reference: datetime | None, t: Thresholds) -> Issue | None:
    """The warning when ``reading`` is older than its recency limit (E4-5, E4-12), else None.

    Untimed values and inputs without a reference time are current (§0.8).
    """
    if reference is None or not reading.order[0]:
        return None
    time = reading.order[1]
    age = reference - time
    name, expr = reading.entry.name, reading.entry.expr
    when = time.date().isoformat()
    if (
        reading.slot is Slot.RED_FLAG
        and isinstance(reading.key, RedFlag)
        and reading.key not in LASTING_RED_FLAGS  # Q7-01, Q4-06: histories never go stale
        and age > Thresholds.days(t.red_flag_recency_days)
    ):
        limit = _number(t.red_flag_recency_days)
        return Issue(
            "warning",
            "business-rule",
            f"{name}: {reading.key.value} recorded {when}, older than {limit} days: screen again",
            (f"{expr}.{_time_field(reading)}",),
        )
    if reading.slot in (Slot.IA_RELIEF, Slot.IA_POST) and age > Thresholds.days(
        t.ia_relief_stale_days
    ):
        # Q4-29: a computed relief takes the time of its post-injection NRS; exactly 365 days
        # is current.
        limit = _number(t.ia_relief_stale_days)
        span = "12 months" if limit == "365" else f"{limit} days"
        return Issue(
            "warning",
            "business-rule",
            f"{name}: injection on {when} is older than {span}: repeat it if the hip is still "
            "in question",
            (f"{expr}.{_time_field(reading)}",),
        )
    return None


def _time_field(reading: Reading) -> str:
    """The element that carried the §1.1 time (for the warning's FHIRPath)."""
    resource = reading.entry.resource
    for name in ("effectiveDateTime", "effectiveInstant", "effectivePeriod", "issued"):
        if name in resource:
            return name
    return "effective"


def _number(value: object) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
