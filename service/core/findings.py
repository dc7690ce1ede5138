"""Typed findings (clinical-spec.md §1): what the FHIR adapter extracts and the rules read.

The FHIR adapter (``service.fhir.extract``) has already applied every rule of §1.1–§1.4 by the
time a value lands here: status filtering, dataAbsentReason, plausible ranges, unit conversion,
laterality and latest-value selection. A field that is ``None`` (or an empty mapping) means the
input is missing, which the flags read as *unknown*, never as *false*.

Every value carries ``source``: the reference of the input it came from (``Observation/abc`` or
the entry's ``fullUrl``), so that the trace can name the data behind each conclusion.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType


class Code(enum.Enum):
    """The base of the core's input enums (str values): hashed by identity (``object.__hash__``,
    in C) rather than by Enum's ``hash(self._name_)`` (a Python call). Members are singletons
    compared by identity, so equality is unchanged; these members key every Findings mapping,
    and the rules look them up a few hundred times per evaluation (issue 14: per-call cost). No
    output depends on a hash (tests/core/test_evaluate.py: the same under any hash seed)."""

    _value_: str
    __hash__ = object.__hash__

    @property
    def value(self) -> str:
        """The member's value, as Enum's own (read through a plain property: Enum's descriptor
        costs about three times as much per read on Python 3.11, and the rules and their words
        read these values a few hundred times per evaluation)."""
        return self._value_


class Side(Code):
    LEFT = "left"
    RIGHT = "right"


class TestResult(Code):
    __test__ = False  # not a pytest test class, despite its name

    POSITIVE = "positive"
    NEGATIVE = "negative"


class Motion(Code):
    """Hip range-of-motion motions (§1.3, ``HSC#hip-rom-*``)."""

    FLEXION = "flexion"
    EXTENSION = "extension"
    ABDUCTION = "abduction"
    ADDUCTION = "adduction"
    INTERNAL_ROTATION = "internal-rotation"
    EXTERNAL_ROTATION = "external-rotation"


class SidedTest(Code):
    """Special tests recorded per side (§1.2): without a side they are excluded."""

    THOMAS = "test-thomas"
    FABER = "test-faber"
    FADIR = "test-fadir"
    SCOUR = "test-scour"
    LOG_ROLL = "test-log-roll"
    PASSIVE_IR_PAIN = "test-passive-ir-pain"
    SLR = "test-slr"
    # Lateral hip tests (E4-11, §1.3): per side; not excluded on a replaced side (Q5-11).
    GREATER_TROCHANTER_PALPATION = "test-greater-trochanter-palpation"
    SINGLE_LEG_STANCE = "test-single-leg-stance-30s"
    FADER_R = "test-fader-r"


#: Tests of the native hip joint: on a replaced side they are excluded (§1.2 E4-9, Q4-11).
NATIVE_HIP_TESTS: frozenset[SidedTest] = frozenset(
    {
        SidedTest.THOMAS,
        SidedTest.FABER,
        SidedTest.FADIR,
        SidedTest.SCOUR,
        SidedTest.LOG_ROLL,
        SidedTest.PASSIVE_IR_PAIN,
    }
)
#: Tests of a replaced hip that RED_FLAG_HIP still reads (Q4-14: prosthetic infection or
#: periprosthetic fracture).
REPLACED_HIP_RED_FLAG_TESTS: frozenset[SidedTest] = frozenset(
    {SidedTest.LOG_ROLL, SidedTest.PASSIVE_IR_PAIN}
)


class UnsidedTest(Code):
    """Special tests that need no side (§1.2)."""

    SLR_CROSSED = "test-slr-crossed"
    SLUMP = "test-slump"
    SIJ_DISTRACTION = "test-sij-distraction"
    SIJ_THIGH_THRUST = "test-sij-thigh-thrust"
    SIJ_COMPRESSION = "test-sij-compression"
    SIJ_SACRAL_THRUST = "test-sij-sacral-thrust"
    SIJ_GAENSLEN = "test-sij-gaenslen"


SIJ_TESTS: frozenset[UnsidedTest] = frozenset(
    {
        UnsidedTest.SIJ_DISTRACTION,
        UnsidedTest.SIJ_THIGH_THRUST,
        UnsidedTest.SIJ_COMPRESSION,
        UnsidedTest.SIJ_SACRAL_THRUST,
        UnsidedTest.SIJ_GAENSLEN,
    }
)


class PainLocation(Code):
    """Component ``HSC#pain-location`` of a special test (§1.3)."""

    GROIN_ANTERIOR = "location-groin-anterior"
    POSTERIOR = "location-posterior"
    LATERAL = "location-lateral"
    BELOW_KNEE = "location-below-knee"


class PainSite(Code):
    """Recognised pain sites (§1.3, ``HSC#site-*``; SNOMED 24136001 hip = groin)."""

    LOW_BACK = "site-low-back"
    BUTTOCK = "site-buttock"
    GROIN = "site-groin"
    LATERAL_HIP = "site-lateral-hip"
    THIGH = "site-thigh"
    LEG_BELOW_KNEE = "site-leg-below-knee"


class Radiographic(Code):
    """Spinopelvic measures (§1.3); all in degrees except SVA in millimetres."""

    PELVIC_INCIDENCE = "pelvic-incidence"
    PELVIC_TILT_STANDING = "pelvic-tilt-standing"
    PELVIC_TILT_SEATED = "pelvic-tilt-seated"
    SACRAL_SLOPE_STANDING = "sacral-slope-standing"
    SACRAL_SLOPE_SEATED = "sacral-slope-seated"
    LUMBAR_LORDOSIS = "lumbar-lordosis"
    PI_LL_MISMATCH = "pi-ll-mismatch"
    SVA = "sva"
    T1_PELVIC_ANGLE = "t1-pelvic-angle"


class NeuroSign(Code):
    NEUROGENIC_CLAUDICATION = "neurogenic-claudication"
    DERMATOMAL_SENSORY_LOSS = "dermatomal-sensory-loss"
    REFLEX_LOSS = "reflex-loss"
    MYOTOMAL_WEAKNESS = "myotomal-weakness"
    MYELOPATHY_SIGNS = "myelopathy-signs"


class RedFlag(Code):
    SADDLE_ANAESTHESIA = "rf-saddle-anaesthesia"
    BLADDER_DYSFUNCTION = "rf-bladder-dysfunction"
    FAECAL_INCONTINENCE = "rf-faecal-incontinence"
    PROGRESSIVE_MOTOR_DEFICIT = "rf-progressive-motor-deficit"
    CANCER_HISTORY = "rf-cancer-history"
    FEVER = "rf-fever"
    WEIGHT_LOSS = "rf-weight-loss"
    IVDU_IMMUNOSUPPRESSION = "rf-ivdu-immunosuppression"
    SIGNIFICANT_TRAUMA = "rf-significant-trauma"
    UNABLE_TO_WEIGHT_BEAR = "rf-unable-to-weight-bear"  # E4-2
    LONG_TERM_CORTICOSTEROIDS = "rf-long-term-corticosteroids"  # Q10-08, a lasting state


#: Red flags that record a history or a lasting state: never stale (Q7-01, Q10-08). Every other
#: ``rf-*`` code is an episode red flag, current for 90 days [P] (E4-5, Q4-06).
LASTING_RED_FLAGS: frozenset[RedFlag] = frozenset(
    {
        RedFlag.CANCER_HISTORY,
        RedFlag.IVDU_IMMUNOSUPPRESSION,
        RedFlag.LONG_TERM_CORTICOSTEROIDS,
    }
)


class ConditionKind(Code):
    """Active Conditions the rules read (§1.3)."""

    CAUDA_EQUINA = "cauda-equina"
    HIP_OA = "hip-oa"
    FAI = "condition-fai"
    LABRAL_TEAR = "condition-labral-tear"
    AVN = "condition-avn"
    SPINAL_STENOSIS = "spinal-stenosis"
    LOW_BACK_PAIN = "low-back-pain"
    # Fourth edition (§1.3; E4-2, E4-3, E4-8, E4-9, Q4-24, Q10-01).
    MALIGNANCY = "malignancy"
    ARTIFICIAL_HIP = "artificial-hip"
    RHEUMATOID_ARTHRITIS = "rheumatoid-arthritis"
    OSTEOPOROSIS = "osteoporosis"
    FEMORAL_NECK_FRACTURE = "femoral-neck-fracture"


class ImagingFinding(Code):
    NORMAL = "finding-normal"
    STENOSIS = "finding-stenosis"
    DISC_HERNIATION = "finding-disc-herniation"
    SPONDYLOLISTHESIS = "finding-spondylolisthesis"


class TreatmentKind(Code):
    LUMBAR_SURGERY = "prior-lumbar-surgery"
    LUMBAR_INJECTION = "prior-lumbar-injection"
    HIP_ARTHROPLASTY = "prior-hip-arthroplasty"
    HIP_ARTHROSCOPY = "prior-hip-arthroscopy"
    HIP_INJECTION_THERAPEUTIC = "prior-hip-injection-therapeutic"
    PHYSIOTHERAPY = "prior-hip-lumbar-physiotherapy"  # E4-16


LUMBAR_TREATMENTS = frozenset({TreatmentKind.LUMBAR_SURGERY, TreatmentKind.LUMBAR_INJECTION})
HIP_TREATMENTS = frozenset(
    {
        TreatmentKind.HIP_ARTHROPLASTY,
        TreatmentKind.HIP_ARTHROSCOPY,
        TreatmentKind.HIP_INJECTION_THERAPEUTIC,
    }
)
CONSERVATIVE_TREATMENTS = frozenset({TreatmentKind.PHYSIOTHERAPY})


@dataclass(frozen=True, slots=True)
class Measurement:
    """A number in its canonical unit (deg, mm, %, or a score), exact decimal (§1.1)."""

    value: Decimal
    source: str
    method: str | None = None  # e.g. ROM position (seated/supine/prone); compared only within one
    time: datetime | None = None  # set where a rule reads it (symptom duration, Q4-30)


@dataclass(frozen=True, slots=True)
class TestFinding:
    """A special test's result; its components inform the flags that name them (§1.3)."""

    __test__ = False  # not a pytest test class, despite its name

    result: TestResult
    source: str
    pain_locations: frozenset[PainLocation] = frozenset()
    slr_angle: Decimal | None = None


@dataclass(frozen=True, slots=True)
class BoolFinding:
    value: bool
    source: str
    time: datetime | None = None  # the §1.1 time (red flags: recency, E4-5)
    mrc_grade: int | None = None  # myotomal weakness: the weakest muscle's MRC grade (E4-3)


@dataclass(frozen=True, slots=True)
class PainReading:
    """One usable NRS value; ``time`` is None when the Observation carries no time."""

    value: int
    time: datetime | None
    source: str


@dataclass(frozen=True, slots=True)
class PainSeries:
    """All usable NRS readings of one site and side (§1.1 "pain series"), oldest first.

    ``site`` is a recognised :class:`PainSite`, or ``None`` for site-less readings; an
    unrecognised site gets its own series with ``site=None`` and ``unrecognised_site`` set
    (``system|code``). The last reading is the latest (the adapter has ordered them).
    """

    site: PainSite | None
    side: Side | None
    readings: tuple[PainReading, ...]
    unrecognised_site: str | None = None

    @property
    def latest(self) -> PainReading:
        return self.readings[-1]


@dataclass(frozen=True, slots=True)
class Treatment:
    """A prior treatment; ``time`` None means undated (§1.1: ``issued`` does not date it)."""

    kind: TreatmentKind
    time: datetime | None
    source: str
    sides: frozenset[Side] = frozenset()  # §1.2 (a hip arthroplasty's side, Q4-11)


@dataclass(frozen=True, slots=True)
class ConditionFinding:
    kind: ConditionKind
    source: str
    sides: frozenset[Side] = frozenset()  # from any bodySite element (Q4-11)
    onset: datetime | None = None  # onsetDateTime, else onsetPeriod.start, else recordedDate


def aggregate_unsided(
    by_side: Mapping[tuple[UnsidedTest, Side | None], TestFinding],
) -> dict[UnsidedTest, TestFinding]:
    """E4-23 (§1.1, §2): a side-optional test is positive when the latest value of any of its
    side keys (left, right, no side) is positive, and negative when every key's is negative."""
    order = {None: 0, Side.LEFT: 1, Side.RIGHT: 2}
    out: dict[UnsidedTest, TestFinding] = {}
    ranked = sorted(by_side.items(), key=lambda kv: (kv[0][0].value, order[kv[0][1]]))
    for (test, _side), finding in ranked:
        current = out.get(test)
        if current is None or (
            current.result is not TestResult.POSITIVE and finding.result is TestResult.POSITIVE
        ):
            out[test] = finding
    return out


def condition_records(f: Findings, kind: ConditionKind) -> tuple[ConditionFinding, ...]:
    """The counted Conditions of ``kind``, one per resource (the merged one when Findings were
    built without records)."""
    records = tuple(c for c in f.condition_records if c.kind is kind)
    if records:
        return records
    merged = f.conditions.get(kind)
    return (merged,) if merged is not None else ()


def _frozen(mapping: Mapping | None) -> Mapping:  # type: ignore[type-arg]
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Findings:
    """Everything the rules read about one patient. Missing means unknown."""

    # Per-side examination (§1.2: per-side inputs without a side never reach here).
    rom: Mapping[tuple[Motion, Side], Measurement] = field(default_factory=dict)
    contracture_angle: Mapping[Side, Measurement] = field(default_factory=dict)
    kl_grade: Mapping[Side, Measurement] = field(default_factory=dict)
    sided_tests: Mapping[tuple[SidedTest, Side], TestFinding] = field(default_factory=dict)
    # The aggregate per test (E4-23): positive when the latest value of any side key is
    # positive, else negative. The adapter fills it from ``unsided_tests_by_side``.
    unsided_tests: Mapping[UnsidedTest, TestFinding] = field(default_factory=dict)
    unsided_tests_by_side: Mapping[tuple[UnsidedTest, Side | None], TestFinding] = field(
        default_factory=dict
    )
    # Pain: every series, recognised site or not (§1.1).
    pain: tuple[PainSeries, ...] = ()
    odi: Measurement | None = None
    # Imaging.
    radiographic: Mapping[Radiographic, Measurement] = field(default_factory=dict)
    lumbar_imaging: Mapping[ImagingFinding, str] = field(default_factory=dict)  # finding -> source
    # Booleans.
    neuro: Mapping[NeuroSign, BoolFinding] = field(default_factory=dict)
    red_flags: Mapping[RedFlag, BoolFinding] = field(default_factory=dict)
    # Diagnostic intra-articular hip injection.
    ia_nrs_pre: Measurement | None = None
    ia_nrs_post: Measurement | None = None
    ia_relief_pct: Measurement | None = None  # a recorded percentage
    # History.
    treatments: tuple[Treatment, ...] = ()
    treatments_denied: Mapping[TreatmentKind, str] = field(default_factory=dict)  # B false
    conditions: Mapping[ConditionKind, ConditionFinding] = field(default_factory=dict)
    # Fourth edition.
    # Every counted Condition, one per resource, in Bundle order (``conditions`` merges them per
    # kind). Rules that need one Condition's own side or onset read these (Q5-05, Q4-13, Q4-18).
    condition_records: tuple[ConditionFinding, ...] = ()
    reference_time: datetime | None = None  # §0.8, Q4-02, Q5-09 (set by the adapter)
    birth_date: date | None = None  # Q11-06: a partial birthDate is its latest possible day
    replaced_sides: frozenset[Side] = frozenset()  # §1.2 E4-9: sides with a hip arthroplasty
    arthroplasty_unsided: bool = False  # a hip arthroplasty without side (MT_CAUTION only)
    # Log roll / passive IR pain of a replaced side: excluded from the exam, read only by
    # RED_FLAG_HIP (Q4-14).
    replaced_hip_tests: Mapping[tuple[SidedTest, Side], TestFinding] = field(default_factory=dict)
    symptom_duration: Measurement | None = None  # weeks, with its time (E4-13, Q4-30)
    lumbar_imaging_time: datetime | None = None  # time of the latest imaging set (Q10-05)

    def __post_init__(self) -> None:
        if self.unsided_tests_by_side and not self.unsided_tests:
            object.__setattr__(self, "unsided_tests", aggregate_unsided(self.unsided_tests_by_side))
        for name in (
            "rom",
            "contracture_angle",
            "kl_grade",
            "sided_tests",
            "unsided_tests",
            "unsided_tests_by_side",
            "replaced_hip_tests",
            "radiographic",
            "lumbar_imaging",
            "neuro",
            "red_flags",
            "treatments_denied",
            "conditions",
        ):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    def __hash__(self) -> int:  # mappings are read-only; identity is enough for caching
        return id(self)
