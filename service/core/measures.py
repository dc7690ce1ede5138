"""Derived measures the flags read (clinical-spec.md §1.3, §2): KL_MAX and IA hip relief."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from service.core.evidence import SIDES
from service.core.findings import Findings, Measurement, Side
from service.core.thresholds import DIEBO_KL_OA_MIN
from service.core.wording import fraction, joined, measured, number


@dataclass(frozen=True, slots=True)
class KlMax:
    """§2 KL_MAX: the larger KL grade, known if both sides are recorded or any side is ≥ 3."""

    sides: tuple[tuple[Side, Measurement], ...]
    replaced: frozenset[Side] = frozenset()  # §1.2 E4-9: no native joint to grade

    @property
    def both_recorded(self) -> bool:
        """Q4-12: a replaced side counts as recorded (and < 2) in every "both sides" rule."""
        return len({s for s, _ in self.sides} | self.replaced) == 2

    @property
    def value(self) -> Decimal | None:
        """The grade, or None while KL_MAX is unknown ("KL unknown" in §5). Q4-12: the native
        side's grade alone (known when the native side is recorded); with both hips replaced
        there is nothing to grade and KL_MAX stays unknown (never ask for a radiograph of a
        replaced hip, Q4-13)."""
        if not self.sides:
            return None
        top = max(m.value for _, m in self.sides)
        return top if self.both_recorded or top >= DIEBO_KL_OA_MIN else None

    @property
    def text(self) -> str:
        parts = [measured(f"KL {s.value}", m) for s, m in self.sides]
        parts += [f"{s.value} hip replaced" for s in SIDES if s in self.replaced]
        return joined(parts, "KL not recorded")

    @property
    def basis(self) -> str:
        if self.value is None:
            return f"{self.text}: unknown (needs both sides, or a side ≥ {DIEBO_KL_OA_MIN})"
        return f"{self.text}: KL_MAX {number(self.value)}"


def kl_max(findings: Findings) -> KlMax:
    replaced = findings.replaced_sides
    return KlMax(
        tuple((s, m) for s in SIDES if s not in replaced and (m := findings.kl_grade.get(s))),
        replaced,
    )


@dataclass(frozen=True, slots=True)
class Relief:
    """Relief after the diagnostic IA hip injection in %, exact (a Fraction, never rounded)."""

    value: Fraction
    recorded: bool
    basis: str


def ia_relief(findings: Findings) -> Relief | None:
    """§1.3: a recorded percentage beats (pre − post)/pre × 100; pre = 0 gives unknown.

    A computed relief is not range-checked (§1.4), so it may be negative.
    """
    if findings.ia_relief_pct is not None:
        m = findings.ia_relief_pct
        return Relief(Fraction(m.value), True, measured("recorded relief", m, " %"))
    pre, post = findings.ia_nrs_pre, findings.ia_nrs_post
    if pre is None or post is None or pre.value == 0:
        return None
    value = Fraction(pre.value - post.value) / Fraction(pre.value) * 100
    return Relief(
        value,
        False,
        f"relief {fraction(value)} % = ({measured('NRS pre', pre)} − "
        f"{measured('NRS post', post)}) / pre × 100",
    )


def relief_missing(findings: Findings) -> str:
    """Why the IA relief is unknown, in words."""
    pre, post = findings.ia_nrs_pre, findings.ia_nrs_post
    if pre is not None and pre.value == 0 and post is not None:
        return f"IA relief unknown: {measured('NRS pre', pre)} is 0"
    return "IA relief unknown: no recorded relief and no NRS before and after the injection"
