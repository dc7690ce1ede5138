"""Exact decimal quantities and UCUM units (clinical-spec.md §1.1, §1.3).

FHIR decimals are exact: a JSON float is read back through its shortest ``repr`` (66.4 stays
66.4), and conversions run in a 60-digit decimal context, never rounded before comparison.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from service.fhir.exclusion import Excluded

UCUM = "http://unitsofmeasure.org"
SCORE = "{score}"
#: pi to 60 significant digits: rad -> deg stays exact far beyond any threshold comparison.
PI = Decimal("3.14159265358979323846264338327950288419716939937510582097494")
_CONTEXT = decimal.Context(prec=60)


@dataclass(frozen=True, slots=True)
class Unit:
    dimension: str  # "angle", "length", "percent", "duration"
    canonical: str  # the unit values are converted to
    numerator: Decimal  # canonical = value * numerator / denominator
    denominator: Decimal = Decimal(1)


#: Accepted UCUM codes (or ``Quantity.unit`` texts when no code is given).
UNITS: Mapping[str, Unit] = MappingProxyType(
    {
        "deg": Unit("angle", "deg", Decimal(1)),
        "rad": Unit("angle", "deg", Decimal(180), PI),
        "mm": Unit("length", "mm", Decimal(1)),
        "cm": Unit("length", "mm", Decimal(10)),
        "%": Unit("percent", "%", Decimal(1)),
        "wk": Unit("duration", "wk", Decimal(1)),  # symptom duration (E4-13)
        "d": Unit("duration", "wk", Decimal(1), Decimal(7)),  # days ÷ 7 (§1.3, Q4-30)
    }
)


def to_decimal(raw: object) -> Decimal | None:
    """A JSON number as an exact Decimal; None for anything else (bools, strings, NaN)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        return Decimal(repr(raw)) if math.isfinite(raw) else None
    if isinstance(raw, Decimal):
        return raw if raw.is_finite() else None
    return None


def unit_of(quantity: Mapping[str, object]) -> str | None:
    """``Quantity.code`` (UCUM or no system), else ``Quantity.unit``; None when neither."""
    code = quantity.get("code")
    if isinstance(code, str) and code:
        system = quantity.get("system")
        if system in (None, UCUM):
            return code
        return f"{system}|{code}"  # a non-UCUM code: never an accepted unit
    unit = quantity.get("unit")
    return unit if isinstance(unit, str) and unit else None


def quantity_value(container: Mapping[str, object], dimension: str) -> Decimal:
    """``valueQuantity`` of an Observation or component, converted to its canonical unit."""
    quantity = container.get("valueQuantity")
    if not isinstance(quantity, Mapping):
        raise Excluded("needs a valueQuantity", "value[x]")
    if quantity.get("comparator") is not None:
        raise Excluded(
            "a valueQuantity with a comparator is not an exact value", "valueQuantity.comparator"
        )
    value = to_decimal(quantity.get("value"))
    if value is None:
        raise Excluded("valueQuantity.value is missing or not a number", "valueQuantity.value")
    unit_text = unit_of(quantity)
    unit = UNITS.get(unit_text) if unit_text is not None else None
    if unit is None or unit.dimension != dimension:
        accepted = ", ".join(f"'{k}'" for k, u in UNITS.items() if u.dimension == dimension)
        field = "valueQuantity.code" if quantity.get("code") else "valueQuantity.unit"
        raise Excluded(f"unit {unit_text!r} is not accepted (expected {accepted})", field)
    if unit.numerator == 1 and unit.denominator == 1:
        return value
    return _CONTEXT.divide(_CONTEXT.multiply(value, unit.numerator), unit.denominator)


def integer_value(container: Mapping[str, object]) -> tuple[int, str]:
    """A type-I value: ``valueInteger``, or a unitless / ``{score}`` valueQuantity (§1.1)."""
    raw = container.get("valueInteger")
    if raw is not None:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise Excluded("valueInteger is not an integer", "valueInteger")
        return raw, "valueInteger"
    quantity = container.get("valueQuantity")
    if not isinstance(quantity, Mapping):
        raise Excluded("needs a valueInteger (or a valueQuantity in {score})", "value[x]")
    unit = unit_of(quantity)
    if unit not in (None, SCORE):
        raise Excluded(
            f"unit {unit!r} is not accepted for a score (no unit or '{{score}}')",
            "valueQuantity.code" if quantity.get("code") else "valueQuantity.unit",
        )
    if quantity.get("comparator") is not None:
        raise Excluded(
            "a valueQuantity with a comparator is not an exact value", "valueQuantity.comparator"
        )
    value = to_decimal(quantity.get("value"))
    if value is None:
        raise Excluded("valueQuantity.value is missing or not a number", "valueQuantity.value")
    if value != value.to_integral_value():
        raise Excluded(f"score {value} is not an integer", "valueQuantity.value")
    return int(value), "valueQuantity"


def check_range(
    value: Decimal, low: Decimal | None, high: Decimal | None, what: str, field: str
) -> None:
    """Raise Excluded when ``value`` is outside ``[low, high]`` (§1.4; both ends included)."""
    if low is not None and high is not None and not low <= value <= high:
        raise Excluded(f"{what} {value} is outside the plausible range {low} to {high}", field)
