"""FHIR date/time reading and the times of §1.1: value time, treatment time, lastUpdated.

A partial date (``2024``, ``2024-03``, ``2024-03-05``) stands for the start of its period in
UTC; a time without an offset (not valid FHIR, but seen) is read as UTC; a leap second
(``23:59:60``) is the last microsecond of its minute. Every result is an aware UTC datetime.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from service.fhir.exclusion import Excluded

_DATETIME = re.compile(
    r"(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d+))?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?"
)


def parse_datetime(text: object, field: str) -> datetime:
    """A FHIR date, dateTime or instant as an aware UTC datetime; Excluded if unreadable."""
    match = _DATETIME.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise Excluded(f"{text!r} is not a FHIR dateTime", field, "invalid")
    part = match.groupdict()
    tz: timezone = UTC
    if part["tz"] and part["tz"] != "Z":
        sign = -1 if part["tz"][0] == "-" else 1
        hours, minutes = int(part["tz"][1:3]), int(part["tz"][4:6])
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    fraction = (part["f"] or "0")[:6].ljust(6, "0")
    second = int(part["S"] or 0)
    if second == 60:  # a leap second (valid FHIR): the last instant of its minute
        second, fraction = 59, "999999"
    try:
        value = datetime(
            int(part["y"]),
            int(part["m"] or 1),
            int(part["d"] or 1),
            int(part["H"] or 0),
            int(part["M"] or 0),
            second,
            int(fraction),
            tzinfo=tz,
        )
    except ValueError as exc:
        raise Excluded(f"{text!r} is not a valid date: {exc}", field, "invalid") from exc
    return value.astimezone(UTC)


def _optional(resource: Mapping[str, Any], name: str) -> datetime | None:
    raw = resource.get(name)
    return None if raw is None else parse_datetime(raw, name)


def _period(resource: Mapping[str, Any], name: str, *ends: str) -> datetime | None:
    period = resource.get(name)
    if not isinstance(period, Mapping):
        return None
    for end in ends:
        if period.get(end) is not None:
            return parse_datetime(period[end], f"{name}.{end}")
    return None


def value_time(observation: Mapping[str, Any]) -> datetime | None:
    """effectiveDateTime / effectiveInstant / effectivePeriod.end (else .start) / issued."""
    return (
        _optional(observation, "effectiveDateTime")
        or _optional(observation, "effectiveInstant")
        or _period(observation, "effectivePeriod", "end", "start")
        or _optional(observation, "issued")
    )


def treatment_time(resource: Mapping[str, Any]) -> datetime | None:
    """When a treatment happened; ``issued`` never dates it (§1.1).

    Observation: effectiveDateTime (or effectiveInstant), else effectivePeriod.start.
    Procedure: performedDateTime, else performedPeriod.start.
    """
    if resource.get("resourceType") == "Procedure":
        return _optional(resource, "performedDateTime") or _period(
            resource, "performedPeriod", "start"
        )
    return (
        _optional(resource, "effectiveDateTime")
        or _optional(resource, "effectiveInstant")
        or _period(resource, "effectivePeriod", "start")
    )


def last_updated(resource: Mapping[str, Any]) -> datetime | None:
    meta = resource.get("meta")
    if not isinstance(meta, Mapping) or meta.get("lastUpdated") is None:
        return None
    return parse_datetime(meta["lastUpdated"], "meta.lastUpdated")


def programme_time(resource: Mapping[str, Any]) -> datetime | None:
    """When a physiotherapy programme ended (Q4-25, overriding §1.1 for it).

    Observation: effectivePeriod.end, else its start, else effectiveDateTime (effectiveInstant).
    Procedure: performedPeriod.end, else its start, else performedDateTime.
    """
    if resource.get("resourceType") == "Procedure":
        return _period(resource, "performedPeriod", "end", "start") or _optional(
            resource, "performedDateTime"
        )
    return (
        _period(resource, "effectivePeriod", "end", "start")
        or _optional(resource, "effectiveDateTime")
        or _optional(resource, "effectiveInstant")
    )


def condition_onset(resource: Mapping[str, Any]) -> datetime | None:
    """onsetDateTime, else onsetPeriod.start, else recordedDate (Q5-05)."""
    return (
        _optional(resource, "onsetDateTime")
        or _period(resource, "onsetPeriod", "start")
        or _optional(resource, "recordedDate")
    )


_BIRTH_DATE = re.compile(r"(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2}))?)?")


def birth_date(text: object) -> date:
    """Patient.birthDate as a date; a partial date is its latest possible day (Q11-06)."""
    match = _BIRTH_DATE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise Excluded(f"{text!r} is not a FHIR date", "birthDate", "invalid")
    year = int(match["y"])
    try:
        if match["d"]:
            return date(year, int(match["m"]), int(match["d"]))
        if match["m"]:
            month = int(match["m"])
            return date(year, month, calendar.monthrange(year, month)[1])
        return date(year, 12, 31)
    except (ValueError, calendar.IllegalMonthError) as exc:
        raise Excluded(f"{text!r} is not a valid date: {exc}", "birthDate", "invalid") from exc
