"""Finding kinds: what each ConceptMap target means and how its Observation is read (§1.3, §1.4).

The ConceptMaps in ``mappings/`` translate input codes into the target codes of a handful of
*domains* (one CodeSystem URL each). This module defines those domains and, for the main domain
``finding-kind``, one :class:`KindSpec` per target code: the resource types it applies to, how
its value is read, its plausible range and where it lands in ``Findings``.
The table is built from the core's enums, so a new code is a row, never an ``if`` branch.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import TypeAlias

from service.core.findings import (
    ConditionKind,
    ImagingFinding,
    Motion,
    NeuroSign,
    PainLocation,
    PainSite,
    Radiographic,
    RedFlag,
    Side,
    SidedTest,
    TestResult,
    TreatmentKind,
    UnsidedTest,
)
from service.fhir.profiles import CANONICAL_BASE, HSC_SYSTEM

# ConceptMap target systems ("domains").
FINDING_KIND = f"{CANONICAL_BASE}/CodeSystem/finding-kind"
FINDING_COMPONENT = f"{CANONICAL_BASE}/CodeSystem/finding-component"
PAIN_SITE = f"{CANONICAL_BASE}/CodeSystem/pain-site"
SIDE = f"{CANONICAL_BASE}/CodeSystem/side"
TEST_RESULT = f"{CANONICAL_BASE}/CodeSystem/test-result"
PAIN_LOCATION = f"{CANONICAL_BASE}/CodeSystem/pain-location"
IMAGING_FINDING = f"{CANONICAL_BASE}/CodeSystem/imaging-finding"
BODY_REGION = f"{CANONICAL_BASE}/CodeSystem/body-region"  # Q5-04: what a physiotherapy names
REGIONS = frozenset({"hip", "lumbar"})

#: Lumbar draft-order kinds: the HSC targets of ConceptMap lumbar-orders (read by CDS Hooks).
ORDER_KINDS = frozenset(
    {"order-lumbar-imaging", "order-lumbar-injection", "order-lumbar-surgery-referral"}
)

COMPONENT_PAIN_LOCATION = "pain-location"
COMPONENT_SLR_ANGLE = "slr-angle"
COMPONENT_MRC_GRADE = "mrc-grade"  # E4-3: on myotomal-weakness, I 0–5

#: Side-domain target code -> the sides it stands for ("right and left" counts for each, §1.2).
SIDES: Mapping[str, frozenset[Side]] = MappingProxyType(
    {
        "left": frozenset({Side.LEFT}),
        "right": frozenset({Side.RIGHT}),
        "both": frozenset({Side.LEFT, Side.RIGHT}),
    }
)


class Reader(enum.Enum):
    """How an Observation's value is read (§1.3 value types)."""

    ANGLE = "Q deg"
    LENGTH = "Q mm"
    PERCENT = "Q %"
    INTEGER = "I"
    TEST = "C test result"
    IMAGING = "C imaging finding"
    BOOLEAN = "B"
    ROM_PANEL = "panel of hip ROM components"
    ODI_PANEL = "ODI panel"
    DURATION = "Q wk"
    CONDITION = "Condition"


class Slot(enum.Enum):
    """Where a value lands in Findings; the selection rule depends on it (§1.1)."""

    ROM = "rom"
    CONTRACTURE = "contracture_angle"
    KL = "kl_grade"
    SIDED_TEST = "sided_tests"
    UNSIDED_TEST = "unsided_tests"
    PAIN = "pain"
    ODI = "odi"
    RADIOGRAPHIC = "radiographic"
    IMAGING = "lumbar_imaging"
    NEURO = "neuro"
    RED_FLAG = "red_flags"
    IA_PRE = "ia_nrs_pre"
    IA_POST = "ia_nrs_post"
    IA_RELIEF = "ia_relief_pct"
    TREATMENT = "treatments"
    CONDITION = "conditions"
    SYMPTOM_DURATION = "symptom_duration"


Member: TypeAlias = (
    Motion
    | SidedTest
    | UnsidedTest
    | Radiographic
    | NeuroSign
    | RedFlag
    | TreatmentKind
    | ConditionKind
    | None
)


@dataclass(frozen=True, slots=True)
class KindSpec:
    """One ``finding-kind`` target code."""

    code: str
    label: str
    resource_types: frozenset[str]
    reader: Reader
    slot: Slot
    group: str  # Extraction investigation group
    member: Member = None
    per_side: bool = False
    low: Decimal | None = None  # plausible range, both ends included (§1.4) [P]
    high: Decimal | None = None
    generic: bool = False  # yields to a more specific code on the same resource


_OBS = frozenset({"Observation"})
_COND = frozenset({"Condition"})
_OBS_OR_PROC = frozenset({"Observation", "Procedure"})


def _d(text: str) -> Decimal:
    return Decimal(text)


# §1.4 plausible ranges [P] (deg unless stated).
ROM_RANGES: Mapping[Motion, tuple[Decimal, Decimal]] = MappingProxyType(
    {
        Motion.FLEXION: (_d("0"), _d("150")),
        Motion.EXTENSION: (_d("-40"), _d("50")),
        Motion.ABDUCTION: (_d("0"), _d("90")),
        Motion.ADDUCTION: (_d("0"), _d("60")),
        Motion.INTERNAL_ROTATION: (_d("-20"), _d("90")),
        Motion.EXTERNAL_ROTATION: (_d("-20"), _d("100")),
    }
)
RADIOGRAPHIC_RANGES: Mapping[Radiographic, tuple[Decimal, Decimal]] = MappingProxyType(
    {
        Radiographic.PELVIC_INCIDENCE: (_d("20"), _d("110")),
        Radiographic.PELVIC_TILT_STANDING: (_d("-30"), _d("60")),
        Radiographic.PELVIC_TILT_SEATED: (_d("-30"), _d("60")),
        Radiographic.SACRAL_SLOPE_STANDING: (_d("-10"), _d("80")),
        Radiographic.SACRAL_SLOPE_SEATED: (_d("-10"), _d("80")),
        Radiographic.LUMBAR_LORDOSIS: (_d("-40"), _d("110")),
        Radiographic.PI_LL_MISMATCH: (_d("-60"), _d("80")),
        Radiographic.SVA: (_d("-200"), _d("400")),  # mm
        Radiographic.T1_PELVIC_ANGLE: (_d("-20"), _d("70")),
    }
)
CONTRACTURE_RANGE = (_d("0"), _d("90"))
NRS_RANGE = (_d("0"), _d("10"))
ODI_RANGE = (_d("0"), _d("100"))
KL_RANGE = (_d("0"), _d("4"))
SYMPTOM_DURATION_RANGE = (_d("0"), _d("520"))  # weeks, checked after d -> wk (Q4-30)
RELIEF_RANGE = (_d("-100"), _d("100"))  # a recorded relief; a computed one is not checked


_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "test-greater-trochanter-palpation": "greater-trochanter palpation",
        "test-single-leg-stance-30s": "single-leg stance (30 s) test",
        "test-fader-r": "FADER-R test",
    }
)


def _build() -> dict[str, KindSpec]:
    rows: list[KindSpec] = []
    for motion in Motion:
        low, high = ROM_RANGES[motion]
        label = f"hip {motion.value.replace('-', ' ')}"
        rows.append(
            KindSpec(
                f"hip-rom-{motion.value}",
                label,
                _OBS,
                Reader.ANGLE,
                Slot.ROM,
                "hip-rom",
                motion,
                True,
                low,
                high,
            )
        )
    rows.append(
        KindSpec(
            "hip-rom-panel",
            "hip ROM panel",
            _OBS,
            Reader.ROM_PANEL,
            Slot.ROM,
            "hip-rom",
            per_side=True,
        )
    )
    rows.append(
        KindSpec(
            "hip-rom",
            "hip range of movement",
            _OBS,
            Reader.ROM_PANEL,
            Slot.ROM,
            "hip-rom",
            per_side=True,
            generic=True,
        )
    )
    rows.append(
        KindSpec(
            "hip-flexion-contracture-angle",
            "flexion contracture angle",
            _OBS,
            Reader.ANGLE,
            Slot.CONTRACTURE,
            "hip-rom",
            None,
            True,
            *CONTRACTURE_RANGE,
        )
    )
    for sided in SidedTest:
        label = _LABELS.get(sided.value, sided.value.removeprefix("test-").upper() + " test")
        rows.append(
            KindSpec(
                sided.value, label, _OBS, Reader.TEST, Slot.SIDED_TEST, "special-tests", sided, True
            )
        )
    for unsided in UnsidedTest:
        rows.append(
            KindSpec(
                unsided.value,
                unsided.value.removeprefix("test-") + " test",
                _OBS,
                Reader.TEST,
                Slot.UNSIDED_TEST,
                "special-tests",
                unsided,
            )
        )
    rows.append(
        KindSpec(
            "kl-grade-hip",
            "hip KL grade",
            _OBS,
            Reader.INTEGER,
            Slot.KL,
            "radiographic",
            None,
            True,
            *KL_RANGE,
        )
    )
    rows.append(
        KindSpec(
            "lumbar-imaging-finding",
            "lumbar imaging finding",
            _OBS,
            Reader.IMAGING,
            Slot.IMAGING,
            "radiographic",
        )
    )
    for measure in Radiographic:
        reader = Reader.LENGTH if measure is Radiographic.SVA else Reader.ANGLE
        rows.append(
            KindSpec(
                measure.value,
                measure.value.replace("-", " "),
                _OBS,
                reader,
                Slot.RADIOGRAPHIC,
                "radiographic",
                measure,
                False,
                *RADIOGRAPHIC_RANGES[measure],
            )
        )
    for sign in NeuroSign:
        rows.append(
            KindSpec(
                sign.value,
                sign.value.replace("-", " "),
                _OBS,
                Reader.BOOLEAN,
                Slot.NEURO,
                "special-tests",
                sign,
            )
        )
    for flag in RedFlag:
        rows.append(
            KindSpec(
                flag.value,
                "red flag " + flag.value.removeprefix("rf-"),
                _OBS,
                Reader.BOOLEAN,
                Slot.RED_FLAG,
                "history",
                flag,
            )
        )
    rows += [
        KindSpec(
            "pain-nrs", "pain NRS", _OBS, Reader.INTEGER, Slot.PAIN, "pain", None, False, *NRS_RANGE
        ),
        KindSpec("odi", "ODI", _OBS, Reader.PERCENT, Slot.ODI, "pain", None, False, *ODI_RANGE),
        KindSpec(
            "odi-panel",
            "ODI panel",
            _OBS,
            Reader.ODI_PANEL,
            Slot.ODI,
            "pain",
            None,
            False,
            *ODI_RANGE,
            generic=True,
        ),
        KindSpec(
            "symptom-duration",
            "symptom duration",
            _OBS,
            Reader.DURATION,
            Slot.SYMPTOM_DURATION,
            "history",
            None,
            False,
            *SYMPTOM_DURATION_RANGE,
        ),
        KindSpec(
            "ia-hip-injection-nrs-pre",
            "IA injection NRS before",
            _OBS,
            Reader.INTEGER,
            Slot.IA_PRE,
            "pain",
            None,
            False,
            *NRS_RANGE,
        ),
        KindSpec(
            "ia-hip-injection-nrs-post",
            "IA injection NRS after",
            _OBS,
            Reader.INTEGER,
            Slot.IA_POST,
            "pain",
            None,
            False,
            *NRS_RANGE,
        ),
        KindSpec(
            "ia-hip-injection-relief-pct",
            "IA injection relief",
            _OBS,
            Reader.PERCENT,
            Slot.IA_RELIEF,
            "pain",
            None,
            False,
            *RELIEF_RANGE,
        ),
    ]
    for treatment in TreatmentKind:
        rows.append(
            KindSpec(
                treatment.value,
                treatment.value.replace("-", " "),
                _OBS_OR_PROC,
                Reader.BOOLEAN,
                Slot.TREATMENT,
                "history",
                treatment,
            )
        )
    for condition in ConditionKind:
        rows.append(
            KindSpec(
                condition.value,
                condition.value.replace("-", " ") + " condition",
                _COND,
                Reader.CONDITION,
                Slot.CONDITION,
                "history",
                condition,
            )
        )
    return {row.code: row for row in rows}


#: ``finding-kind`` target code -> its specification.
KINDS: Mapping[str, KindSpec] = MappingProxyType(_build())

#: Every domain and its allowed target codes (the ConceptMap loader checks targets against it).
DOMAINS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        FINDING_KIND: frozenset(KINDS),
        FINDING_COMPONENT: frozenset(
            {COMPONENT_PAIN_LOCATION, COMPONENT_SLR_ANGLE, COMPONENT_MRC_GRADE}
        ),
        PAIN_SITE: frozenset(site.value for site in PainSite),
        SIDE: frozenset(SIDES),
        TEST_RESULT: frozenset(result.value for result in TestResult),
        PAIN_LOCATION: frozenset(location.value for location in PainLocation),
        IMAGING_FINDING: frozenset(finding.value for finding in ImagingFinding),
        BODY_REGION: REGIONS,
        HSC_SYSTEM: ORDER_KINDS,
    }
)
