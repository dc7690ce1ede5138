"""Latest-value selection and assembly of Findings from the usable readings (§1.1).

Every reading has already passed exclusion (status, data absent, unit, range, side), so an
older valid value can win. Selection rules by slot: latest value per key (ties: lastUpdated,
then Bundle order, last wins; untimed before timed); pain keeps whole series, oldest first;
lumbar imaging keeps the set carrying the latest imaging time; treatments keep every event.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from service.core.findings import (
    BoolFinding,
    ConditionFinding,
    ConditionKind,
    Findings,
    ImagingFinding,
    Measurement,
    PainReading,
    PainSeries,
    PainSite,
    RedFlag,
    Side,
    TestFinding,
    Treatment,
    TreatmentKind,
)
from service.errors import Issue
from service.fhir.kinds import Slot
from service.fhir.parse import Entry

Payload = (
    Measurement
    | TestFinding
    | BoolFinding
    | PainReading
    | ImagingFinding
    | Treatment
    | ConditionFinding
)
Order = tuple[bool, datetime, bool, datetime, int]
T = TypeVar("T")
_FAR_PAST = datetime.min.replace(tzinfo=UTC)


def order_key(time: datetime | None, last_updated: datetime | None, index: int) -> Order:
    """Sort key of §1.1: untimed first, then time, then meta.lastUpdated, then Bundle order."""
    return (
        time is not None,
        time or _FAR_PAST,
        last_updated is not None,
        last_updated or _FAR_PAST,
        index,
    )


@dataclass(frozen=True, slots=True)
class Reading:
    """One usable value of one entry, keyed for selection within its slot."""

    entry: Entry
    group: str
    slot: Slot
    key: Hashable
    payload: Payload
    order: Order


@dataclass(frozen=True, slots=True)
class Selection:
    findings: Findings
    used: tuple[Entry, ...]  # in Bundle order, each once
    warnings: tuple[Issue, ...]


_SERIES = frozenset({Slot.PAIN, Slot.IMAGING, Slot.TREATMENT, Slot.CONDITION})


def _latest(readings: Iterable[Reading]) -> Reading:
    return max(readings, key=lambda r: r.order)


def _pick(winners: dict[Slot, dict[Hashable, Reading]], slot: Slot, cls: type[T]) -> dict[Any, T]:
    return {k: r.payload for k, r in winners.get(slot, {}).items() if isinstance(r.payload, cls)}


def _one(winners: dict[Slot, dict[Hashable, Reading]], slot: Slot, cls: type[T]) -> T | None:
    found = _pick(winners, slot, cls)
    return found.get(None)


def _pain(readings: list[Reading]) -> tuple[tuple[PainSeries, ...], list[Reading]]:
    series: dict[Hashable, list[Reading]] = {}
    for reading in readings:
        series.setdefault(reading.key, []).append(reading)
    out: list[tuple[tuple[int, str, str], PainSeries]] = []
    for key, members in series.items():
        site, side = key if isinstance(key, tuple) else (None, None)
        members.sort(key=lambda r: r.order)
        values = tuple(r.payload for r in members if isinstance(r.payload, PainReading))
        rank = 0 if isinstance(site, PainSite) else 1 if isinstance(site, str) else 2
        label = site.value if isinstance(site, PainSite) else site or ""
        side_label = side.value if isinstance(side, Side) else ""
        out.append(
            (
                (rank, label, side_label),
                PainSeries(
                    site if isinstance(site, PainSite) else None,
                    side if isinstance(side, Side) else None,
                    values,
                    site if isinstance(site, str) else None,
                ),
            )
        )
    out.sort(key=lambda pair: pair[0])
    return tuple(s for _, s in out), readings


def _imaging(
    readings: list[Reading],
) -> tuple[dict[ImagingFinding, str], list[Reading], datetime | None]:
    """The set carrying the latest imaging time, and that time (None: untimed)."""
    if not readings:
        return {}, [], None
    latest = max(r.order[:2] for r in readings)
    chosen = sorted((r for r in readings if r.order[:2] == latest), key=lambda r: r.order)
    found: dict[ImagingFinding, str] = {}
    for reading in chosen:
        if isinstance(reading.payload, ImagingFinding):
            found[reading.payload] = reading.entry.ref
    return found, chosen, latest[1] if latest[0] else None


def _conditions(readings: list[Reading]) -> dict[ConditionKind, ConditionFinding]:
    """Every counted Condition of a kind counts (§1.1): the sides are their union (Q4-17: the
    side of each AVN / FAI / labral Condition); the onset is the latest, or None when any is
    undated (Q5-05: an undated fracture counts as recent: the conservative merge)."""
    grouped: dict[ConditionKind, list[tuple[Reading, ConditionFinding]]] = {}
    for reading in sorted(readings, key=lambda r: r.order):
        if isinstance(reading.payload, ConditionFinding):
            grouped.setdefault(reading.payload.kind, []).append((reading, reading.payload))
    out: dict[ConditionKind, ConditionFinding] = {}
    for kind, members in grouped.items():
        onsets = [c.onset for _, c in members]
        onset = None if any(o is None for o in onsets) else max(o for o in onsets if o)
        sides = frozenset(s for _, c in members for s in c.sides)
        latest = members[-1][1]
        out[kind] = ConditionFinding(kind, latest.source, sides, onset)
    return out


def _cancer_history(
    group: list[Reading],
) -> tuple[Reading, list[Issue]]:
    """Q10-01: an ``rf-cancer-history`` true, once recorded, is not erased by a later false
    (only by the true Observation being entered-in-error, which never reaches here)."""
    latest = _latest(group)
    trues = [r for r in group if isinstance(r.payload, BoolFinding) and r.payload.value]
    if not trues or (isinstance(latest.payload, BoolFinding) and latest.payload.value):
        return latest, []
    kept = _latest(trues)
    issue = Issue(
        "warning",
        "business-rule",
        f"{latest.entry.name}: says no cancer history, but {kept.entry.name} records one; a "
        "recorded cancer history is not erased by a later 'no' (correct the earlier record "
        "as entered-in-error if it was wrong)",
        (f"{latest.entry.expr}.valueBoolean",),
    )
    return kept, [issue]


def assemble(readings: Iterable[Reading]) -> Selection:
    """Findings from usable readings, plus the entries that made it into them."""
    by_slot: dict[Slot, list[Reading]] = {}
    for reading in readings:
        by_slot.setdefault(reading.slot, []).append(reading)
    winners: dict[Slot, dict[Hashable, Reading]] = {}
    used: list[Reading] = []
    warnings: list[Issue] = []
    for slot, members in by_slot.items():
        if slot in _SERIES:
            continue
        grouped: dict[Hashable, list[Reading]] = {}
        for reading in members:
            grouped.setdefault(reading.key, []).append(reading)
        winners[slot] = {}
        for key, group in grouped.items():
            if slot is Slot.RED_FLAG and key is RedFlag.CANCER_HISTORY:
                winners[slot][key], issues = _cancer_history(group)
                warnings += issues
            else:
                winners[slot][key] = _latest(group)
        used.extend(winners[slot].values())
    condition_readings = by_slot.get(Slot.CONDITION, [])
    used += condition_readings  # every counted Condition is used (their sides are merged)
    pain, pain_used = _pain(by_slot.get(Slot.PAIN, []))
    imaging, imaging_used, imaging_time = _imaging(by_slot.get(Slot.IMAGING, []))
    used += pain_used + imaging_used
    treatments: list[Treatment] = []
    denied: dict[TreatmentKind, Reading] = {}
    for reading in sorted(by_slot.get(Slot.TREATMENT, []), key=lambda r: r.entry.index):
        if isinstance(reading.payload, Treatment):
            treatments.append(reading.payload)
            used.append(reading)
        elif isinstance(reading.key, TreatmentKind):
            previous = denied.get(reading.key)
            if previous is None or reading.order > previous.order:
                denied[reading.key] = reading
    done = {t.kind for t in treatments}
    for kind, reading in denied.items():
        if kind in done:
            warnings.append(
                Issue(
                    "warning",
                    "business-rule",
                    f"{reading.entry.name}: says no {kind.value.replace('-', ' ')}, but another "
                    "input records one; the recorded treatment counts",
                    (f"{reading.entry.expr}.valueBoolean",),
                )
            )
        else:
            used.append(reading)
    findings = Findings(
        rom=_pick(winners, Slot.ROM, Measurement),
        contracture_angle=_pick(winners, Slot.CONTRACTURE, Measurement),
        kl_grade=_pick(winners, Slot.KL, Measurement),
        sided_tests=_pick(winners, Slot.SIDED_TEST, TestFinding),
        unsided_tests_by_side=_pick(winners, Slot.UNSIDED_TEST, TestFinding),
        pain=pain,
        odi=_one(winners, Slot.ODI, Measurement),
        radiographic=_pick(winners, Slot.RADIOGRAPHIC, Measurement),
        lumbar_imaging=imaging,
        neuro=_pick(winners, Slot.NEURO, BoolFinding),
        red_flags=_pick(winners, Slot.RED_FLAG, BoolFinding),
        ia_nrs_pre=_one(winners, Slot.IA_PRE, Measurement),
        ia_nrs_post=_one(winners, Slot.IA_POST, Measurement),
        ia_relief_pct=_one(winners, Slot.IA_RELIEF, Measurement),
        treatments=tuple(treatments),
        treatments_denied={k: r.entry.ref for k, r in denied.items() if k not in done},
        conditions=_conditions(condition_readings),
        condition_records=tuple(
            r.payload
            for r in sorted(condition_readings, key=lambda r: r.entry.index)
            if isinstance(r.payload, ConditionFinding)
        ),
        symptom_duration=_one(winners, Slot.SYMPTOM_DURATION, Measurement),
        lumbar_imaging_time=imaging_time,
    )
    entries = {r.entry.index: r.entry for r in used}
    return Selection(findings, tuple(entries[i] for i in sorted(entries)), tuple(warnings))
