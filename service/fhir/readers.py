"""Read one validated relevant entry into usable readings, or exclude it with a reason (§1.1–§1.4).

One reader per value type (:class:`~service.fhir.kinds.Reader`), chosen from the kind table.
A reader raises :class:`Excluded` to drop the whole entry (the caller turns it into a warning);
a bad component of a usable test or panel is only warned about.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from service.core.findings import (
    BoolFinding,
    ConditionFinding,
    ConditionKind,
    ImagingFinding,
    Measurement,
    NeuroSign,
    PainLocation,
    PainReading,
    Side,
    TestFinding,
    TestResult,
    Treatment,
    TreatmentKind,
    UnsidedTest,
)
from service.errors import Issue
from service.fhir.concept_maps import ConceptMapIndex
from service.fhir.exclusion import Excluded
from service.fhir.kinds import (
    BODY_REGION,
    COMPONENT_MRC_GRADE,
    COMPONENT_PAIN_LOCATION,
    COMPONENT_SLR_ANGLE,
    FINDING_COMPONENT,
    FINDING_KIND,
    IMAGING_FINDING,
    KINDS,
    PAIN_LOCATION,
    TEST_RESULT,
    KindSpec,
    Reader,
    Slot,
)
from service.fhir.parse import Entry
from service.fhir.selection import Order, Payload, Reading, order_key
from service.fhir.sites import method_of, region_codings, sides_of, sides_of_any, site_of
from service.fhir.times import (
    condition_onset,
    last_updated,
    programme_time,
    treatment_time,
    value_time,
)
from service.fhir.units import check_range, integer_value, quantity_value

#: §1.4: MRC grade, integer 0–5 (a bad grade excludes the component only, Q4-07).
MRC_RANGE = (Decimal(0), Decimal(5))
#: Hip and lumbar Conditions of §1.3 whose code, as a physiotherapy reasonCode, names the hip or
#: the lumbar spine (Q5-04).
_REGION_CONDITIONS = frozenset(
    {
        ConditionKind.HIP_OA,
        ConditionKind.FAI,
        ConditionKind.LABRAL_TEAR,
        ConditionKind.AVN,
        ConditionKind.SPINAL_STENOSIS,
        ConditionKind.LOW_BACK_PAIN,
    }
)

_DIMENSION = {
    Reader.ANGLE: "angle",
    Reader.LENGTH: "length",
    Reader.PERCENT: "percent",
    Reader.DURATION: "duration",
}
_UNIT = {"angle": "deg", "length": "mm", "percent": "%", "duration": "wk"}


@dataclass
class Context:
    """What a reader needs about one entry; collects warnings about its parts."""

    entry: Entry
    spec: KindSpec
    index: ConceptMapIndex
    time: datetime | None
    order: Order
    warnings: list[Issue] = field(default_factory=list)

    @property
    def resource(self) -> Mapping[str, Any]:
        return self.entry.resource

    def warn(self, reason: str, path: str, code: str = "value") -> None:
        self.warnings.append(
            Issue("warning", code, f"{self.entry.name}: {reason}", (f"{self.entry.expr}.{path}",))
        )

    def readings(self, payload: Payload, keys: list[Hashable]) -> list[Reading]:
        return [
            Reading(self.entry, self.spec.group, self.spec.slot, key, payload, self.order)
            for key in keys
        ]


def _keys(ctx: Context) -> list[Hashable]:
    member = ctx.spec.member
    if isinstance(member, UnsidedTest):
        # E4-23 (§1.1): the side is part of the key when one is given, also for the tests
        # that need no side: left, right and no side are three keys.
        keyed: list[Side | None] = [
            *sorted(sides_of(ctx.resource, ctx.index), key=lambda s: s.value)
        ]
        return [(member, side) for side in keyed or [None]]
    if not ctx.spec.per_side:
        return [member]
    sides = sides_of(ctx.resource, ctx.index)
    if not sides:
        raise Excluded(
            f"{ctx.spec.label} has no side (laterality); per-side inputs need one",
            "bodySite",
            "required",
        )
    ordered = sorted(sides, key=lambda s: s.value)
    return [(member, side) if member is not None else side for side in ordered]


def _measure(ctx: Context, dimension: str | None = None) -> list[Reading]:
    dimension = dimension or _DIMENSION[ctx.spec.reader]
    value = quantity_value(ctx.resource, dimension)
    check_range(
        value,
        ctx.spec.low,
        ctx.spec.high,
        f"{ctx.spec.label} ({_UNIT[dimension]})",
        "valueQuantity",
    )
    time = ctx.time if ctx.spec.slot is Slot.SYMPTOM_DURATION else None
    measurement = Measurement(value, ctx.entry.ref, method_of(ctx.resource), time)
    return ctx.readings(measurement, _keys(ctx))


def _integer(ctx: Context) -> list[Reading]:
    value, path = integer_value(ctx.resource)
    check_range(Decimal(value), ctx.spec.low, ctx.spec.high, ctx.spec.label, path)
    if ctx.spec.slot is not Slot.PAIN:
        return ctx.readings(Measurement(Decimal(value), ctx.entry.ref), _keys(ctx))
    site = site_of(ctx.resource, ctx.index)
    sides: list[Side | None] = [*sorted(sides_of(ctx.resource, ctx.index), key=lambda s: s.value)]
    keys: list[Hashable] = [(site, side) for side in sides or [None]]
    return ctx.readings(PainReading(value, ctx.time, ctx.entry.ref), keys)


def _test_result(ctx: Context) -> TestResult:
    resource = ctx.resource
    if "valueCodeableConcept" in resource:
        target = ctx.index.lookup_codings(TEST_RESULT, resource["valueCodeableConcept"])
        if target is None:
            raise Excluded(
                "the test result is not a recognised positive/negative answer",
                "valueCodeableConcept",
            )
        return TestResult(target)
    other = [k for k in resource if k.startswith("value")]
    if other:
        raise Excluded(f"a test result must be a valueCodeableConcept, not {other[0]}", other[0])
    for concept in resource.get("interpretation") or ():
        target = ctx.index.lookup_codings(TEST_RESULT, concept)
        if target is not None:
            return TestResult(target)
    raise Excluded("no test result: no value and no POS/NEG interpretation", "value[x]", "required")


def _test(ctx: Context) -> list[Reading]:
    result = _test_result(ctx)
    locations: set[PainLocation] = set()
    angle: Decimal | None = None
    for k, component in enumerate(ctx.resource.get("component") or ()):
        role = ctx.index.lookup_codings(FINDING_COMPONENT, component.get("code"))
        if role is None or "dataAbsentReason" in component:
            continue
        path = f"component[{k}]"
        if role == COMPONENT_PAIN_LOCATION:
            target = ctx.index.lookup_codings(PAIN_LOCATION, component.get("valueCodeableConcept"))
            if target is None:
                ctx.warn("pain location not recognised; ignored", f"{path}.value")
            else:
                locations.add(PainLocation(target))
        elif role == COMPONENT_SLR_ANGLE:
            try:
                angle = quantity_value(component, "angle")
            except Excluded as exc:
                ctx.warn(f"SLR angle: {exc.reason}; ignored", f"{path}.{exc.field}", exc.code)
    finding = TestFinding(result, ctx.entry.ref, frozenset(locations), angle)
    return ctx.readings(finding, _keys(ctx))


def _imaging(ctx: Context) -> list[Reading]:
    target = ctx.index.lookup_codings(IMAGING_FINDING, ctx.resource.get("valueCodeableConcept"))
    if target is None:
        raise Excluded(
            "the lumbar imaging finding is missing or not recognised", "valueCodeableConcept"
        )
    finding = ImagingFinding(target)
    return ctx.readings(finding, [finding])


def _boolean(ctx: Context) -> list[Reading]:
    value = ctx.resource.get("valueBoolean")
    if not isinstance(value, bool):
        raise Excluded(f"{ctx.spec.label} needs a valueBoolean", "value[x]")
    member = ctx.spec.member
    if isinstance(member, TreatmentKind) and value:
        when = (
            programme_time(ctx.resource)
            if member is TreatmentKind.PHYSIOTHERAPY
            else treatment_time(ctx.resource)
        )
        sides = sides_of(ctx.resource, ctx.index)
        return ctx.readings(Treatment(member, when, ctx.entry.ref, sides), [member])
    mrc = _mrc_grade(ctx) if member is NeuroSign.MYOTOMAL_WEAKNESS and value else None
    return ctx.readings(BoolFinding(value, ctx.entry.ref, ctx.time, mrc), [member])


def _mrc_grade(ctx: Context) -> int | None:
    """The ``HSC#mrc-grade`` component of a true myotomal weakness (E4-3; Q4-07: a grade
    outside 0–5 excludes the component only, with a warning)."""
    for k, component in enumerate(ctx.resource.get("component") or ()):
        if not isinstance(component, Mapping) or "dataAbsentReason" in component:
            continue
        if ctx.index.lookup_codings(FINDING_COMPONENT, component.get("code")) != (
            COMPONENT_MRC_GRADE
        ):
            continue
        try:
            value, path = integer_value(component)
            check_range(Decimal(value), *MRC_RANGE, "MRC grade", path)
        except Excluded as exc:
            ctx.warn(
                f"MRC grade: {exc.reason}; this component was excluded",
                f"component[{k}].{exc.field}",
                exc.code,
            )
            continue
        return value
    return None


def _rom_panel(ctx: Context) -> list[Reading]:
    components = ctx.resource.get("component") or []
    if not components:
        raise Excluded(
            f"{ctx.spec.label}: the motion is not identified (no HSC motion code and "
            "no components)",
            "code",
            "required",
        )
    sides = _keys(ctx)  # side check first: a panel without a side is excluded whole
    method = method_of(ctx.resource)
    readings: list[Reading] = []
    for k, component in enumerate(components):
        target = ctx.index.lookup_codings(FINDING_KIND, component.get("code"))
        spec = KINDS.get(target) if target is not None else None
        if spec is None or spec.reader is not Reader.ANGLE or spec.slot is not Slot.ROM:
            continue
        if "dataAbsentReason" in component:
            continue
        try:
            value = quantity_value(component, "angle")
            check_range(value, spec.low, spec.high, f"{spec.label} (deg)", "valueQuantity")
        except Excluded as exc:
            ctx.warn(
                f"{exc.reason}; this component was excluded",
                f"component[{k}].{exc.field}",
                exc.code,
            )
            continue
        measurement = Measurement(value, ctx.entry.ref, method)
        readings += [
            Reading(ctx.entry, spec.group, Slot.ROM, (spec.member, side), measurement, ctx.order)
            for side in sides
        ]
    return readings


def _odi_panel(ctx: Context) -> list[Reading]:
    if "valueQuantity" in ctx.resource:
        return _measure(ctx, "percent")
    for k, component in enumerate(ctx.resource.get("component") or ()):
        target = ctx.index.lookup_codings(FINDING_KIND, component.get("code"))
        if target == "odi" and "dataAbsentReason" not in component:
            try:
                value = quantity_value(component, "percent")
                check_range(value, ctx.spec.low, ctx.spec.high, "ODI (%)", "valueQuantity")
            except Excluded as exc:
                raise Excluded(exc.reason, f"component[{k}].{exc.field}", exc.code) from exc
            return ctx.readings(Measurement(value, ctx.entry.ref), [None])
    return []  # the score lives in a member Observation (hasMember), read on its own


_READERS: Mapping[Reader, Callable[[Context], list[Reading]]] = {
    Reader.ANGLE: _measure,
    Reader.LENGTH: _measure,
    Reader.PERCENT: _measure,
    Reader.DURATION: _measure,
    Reader.INTEGER: _integer,
    Reader.TEST: _test,
    Reader.IMAGING: _imaging,
    Reader.BOOLEAN: _boolean,
    Reader.ROM_PANEL: _rom_panel,
    Reader.ODI_PANEL: _odi_panel,
}


def read_observation(entry: Entry, spec: KindSpec, index: ConceptMapIndex) -> Context:
    """Context with ``time``/``order`` set; raises Excluded for unreadable times."""
    time = value_time(entry.resource)
    order = order_key(time, last_updated(entry.resource), entry.index)
    return Context(entry, spec, index, time, order)


def observation_readings(ctx: Context) -> list[Reading]:
    if "dataAbsentReason" in ctx.resource:
        return []  # not evidence: counts as missing (§1.1)
    return _READERS[ctx.spec.reader](ctx)


def history_readings(entry: Entry, spec: KindSpec, index: ConceptMapIndex) -> list[Reading]:
    """A counted Condition or completed Procedure (statuses already checked)."""
    order = order_key(None, last_updated(entry.resource), entry.index)
    member = spec.member
    payload: Payload
    sides = sides_of_any(entry.resource, index)
    if isinstance(member, ConditionKind):
        payload = ConditionFinding(member, entry.ref, sides, condition_onset(entry.resource))
    elif isinstance(member, TreatmentKind):
        if member is TreatmentKind.PHYSIOTHERAPY:
            _check_programme_region(entry, index)
            when = programme_time(entry.resource)
        else:
            when = treatment_time(entry.resource)
        payload = Treatment(member, when, entry.ref, sides)
    else:
        raise Excluded(f"{spec.label} cannot be read from a {entry.rtype}", "code")
    return [Reading(entry, spec.group, spec.slot, member, payload, order)]


def _names_region(coding: Mapping[str, Any], index: ConceptMapIndex, reason: bool) -> bool:
    system, code = coding.get("system"), coding.get("code")
    if index.lookup(BODY_REGION, system, code) is not None:
        return True
    if reason:
        target = index.lookup(FINDING_KIND, system, code)
        spec = KINDS.get(target) if target is not None else None
        return spec is not None and spec.member in _REGION_CONDITIONS
    return False


def _check_programme_region(entry: Entry, index: ConceptMapIndex) -> None:
    """Q4-26, Q5-04, Q6-01, Q8-02, Q8-03, Q9-01, Q9-02: a physiotherapy Procedure counts as a
    hip–lumbar programme when a ``bodySite`` or ``reasonCode`` coding names the hip, groin or
    lumbar spine, or when it has no such coding (a side alone names nothing); otherwise it is
    a programme for another region and is excluded."""
    body, reasons = region_codings(entry.resource, index)
    if not body and not reasons:
        return
    if any(_names_region(c, index, False) for c in body) or any(
        _names_region(c, index, True) for c in reasons
    ):
        return
    field = "bodySite" if body else "reasonCode"
    raise Excluded(
        "a physiotherapy Procedure whose bodySite/reasonCode names neither the hip, groin nor "
        "the lumbar spine is not a hip–lumbar programme (Q8-02)",
        field,
        "business-rule",
    )
