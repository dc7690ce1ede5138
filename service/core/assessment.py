"""What the clinical core concludes (clinical-spec.md §2–§6): plain values, no FHIR.

``service.fhir.outputs`` turns an :class:`Assessment` into ClinicalImpression, CarePlan and
Provenance; ``service.cds_hooks.cards`` turns it into cards. Codes are the ``HSC`` codes of §6.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from service.core.findings import Side
from service.core.tri import Tri


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The rule set's canonical URL and semantic version (§0.4): carried by every output."""

    url: str
    version: str

    @property
    def canonical(self) -> str:
        return f"{self.url}|{self.version}"


class Category(enum.Enum):
    """§4 categories; the value is the ``HSC`` output code."""

    RED_FLAG = "category-red-flag"
    NO_FINDINGS = "category-no-findings"
    MISDIAGNOSED_HIP_MISSED = "category-misdiagnosed-hip-missed"
    MISDIAGNOSED_SPINE_MISSED = "category-misdiagnosed-spine-missed"
    SIMPLE_HIP_PRIMARY = "category-simple-hip-primary"
    SIMPLE_SPINE_PRIMARY = "category-simple-spine-primary"
    INDETERMINATE_NOT_HIP = "category-indeterminate-not-hip"
    SECONDARY = "category-secondary"
    COMPLEX = "category-complex"
    NOT_HSS_SPINE = "category-not-hss-spine"
    NOT_HSS_HIP = "category-not-hss-hip"
    INSUFFICIENT_DATA = "category-insufficient-data"


class Subtype(enum.Enum):
    """Subtypes of SECONDARY (§4)."""

    STRUCTURAL = "subtype-structural"
    HIP_DRIVEN = "subtype-hip-driven"
    FUNCTIONAL = "subtype-functional"


@dataclass(frozen=True, slots=True)
class Flag:
    """A derived flag (§2) with the basis that decided it, in words a clinician reads."""

    name: str
    value: Tri
    basis: str


@dataclass(frozen=True, slots=True)
class Conclusion:
    """One ClinicalImpression ``finding`` (§6): an ``HSC`` code and the rule and values behind it.

    ``kind`` is one of: category, subtype, offierski, diebo, hip-spine-class, schwab-pill,
    schwab-pt, schwab-sva, priority, confidence, urgency, band, red-flag-kind (RED_FLAG only:
    red-flag-emergency / -spine / -hip, E4-2, E4-3) and safety-note (red-flag-screen-incomplete,
    caution-no-hip-manual-therapy, note-groin-pain-non-hip, gluteal-signs; §6).
    """

    kind: str
    code: str
    display: str
    rule: str
    basis: str


@dataclass(frozen=True, slots=True)
class Recommendation:
    """A §5 recommendation: ``code`` is the ``HSC#rec-…`` code, ``reason`` says why (trace only:
    flag names allowed there, clinical-spec.md §6.1).

    ``missing`` names the missing items for rec-collect-missing-data. ``instruction`` is the
    §5.2 instruction in plain words (category variant, side(s), certainty in words, E4-17 …
    E4-20): it is ``CarePlan.activity.detail.description`` and the card's plan line.
    ``sides`` are the sides a hip-directed code names (§5.4, Q4-17, Q4-18; empty: none known);
    ``hip_directed`` says whether the code is hip-directed at all (§5.1 last column).
    ``certainty`` is the §5.2 certainty word ("low", "moderate", "very low") or None (Q4-47);
    ``sources`` the §9 source ids ("S42", "seed 001") it rests on.
    """

    code: str
    display: str
    reason: str
    missing: tuple[str, ...] = ()
    instruction: str = ""
    sides: tuple[Side, ...] = ()
    hip_directed: bool = False
    certainty: str | None = None
    sources: tuple[str, ...] = ()

    @property
    def anchor(self) -> str:
        """The rules-page anchor (§6.2, Q4-46): ``{PUBLIC_BASE_URL}/rules#{anchor}``."""
        return self.code


@dataclass(frozen=True, slots=True)
class TraceStep:
    """One step of the reasoning: a rule (R1–R12, a flag, a classification) and its verdict."""

    rule: str
    verdict: str
    basis: str


@dataclass(frozen=True)
class Assessment:
    """The whole conclusion for one patient (§4–§6)."""

    rule_set: RuleSet
    category: Category
    subtype: Subtype | None
    rule: str  # the §4 rule that decided, "R1".."R12"
    conclusions: tuple[Conclusion, ...]  # in output order: category first
    recommendations: tuple[Recommendation, ...]
    flags: Mapping[str, Flag]
    missing: tuple[str, ...]  # inputs missing for classifications / the minimum set, in words
    trace: tuple[TraceStep, ...]
    summary: str  # plain words: category, recommendations, what is missing, success criterion
    data_quality: tuple[str, ...] = ()  # e.g. the PI = PT + SS check (§2)
    extra: Mapping[str, str] = field(default_factory=dict)
    # §6.1 / Q4-44: the plain lead (conclusion with side and findings, then "Next: …"; two
    # sentences at most, no flag names). It opens ClinicalImpression.summary, --summary, cards.
    lead: str = ""
    # §5.2 "Review" / Q4-42: weeks from the evaluation to CarePlan.period.end (6, or 8 when
    # gluteal-tendinopathy care is the only programme or care code); None: no review period.
    review_weeks: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "flags", MappingProxyType(dict(self.flags)))
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))

    @property
    def urgency_emergency(self) -> bool:
        return any(c.code == "urgency-emergency" for c in self.conclusions)
