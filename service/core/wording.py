"""Plain-words rendering of values for bases, trace and summary: deterministic, never rounding."""

from __future__ import annotations

from decimal import Decimal, localcontext
from fractions import Fraction

from service.core.findings import Measurement, PainSeries


def number(value: Decimal | int) -> str:
    """A Decimal as written (no exponent): ``Decimal("10.0")`` -> ``10.0``."""
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def fraction(value: Fraction) -> str:
    """An exact ratio in decimals; a non-terminating one is marked ``≈`` (display only)."""
    den = value.denominator
    for prime in (2, 5):
        while den % prime == 0:
            den //= prime
    with localcontext() as ctx:
        ctx.prec = 60
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        if den == 1:
            text = format(exact.normalize(), "f")
            return "0" if text in ("-0", "0") else text
        return "≈" + format(round(exact, 2), "f")


def measured(label: str, m: Measurement, unit: str = "") -> str:
    """``IR left 10° (Observation/a, supine)``."""
    extra = f", {m.method}" if m.method else ""
    return f"{label} {number(m.value)}{unit} ({m.source}{extra})"


def series_label(series: PainSeries) -> str:
    """E.g. ``low-back NRS``, ``groin NRS (left)``, ``NRS (no site)``."""
    if series.site is not None:
        base = series.site.value.removeprefix("site-") + " NRS"
    elif series.unrecognised_site is not None:
        base = f"NRS at unrecognised site {series.unrecognised_site}"
    else:
        base = "NRS (no site)"
    return f"{base} ({series.side.value})" if series.side is not None else base


def joined(items: list[str] | tuple[str, ...], empty: str = "none") -> str:
    return "; ".join(items) if items else empty
