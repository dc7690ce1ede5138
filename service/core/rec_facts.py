"""What the recommendations and their words read about the patient beyond the §2 flags
(clinical-spec.md §5.1, §5.2, §5.4, §6.1): sides, red-flag items in words, precautions.

Pure functions of :class:`Findings` (and the flags). The red-flag and precaution readings follow
§1.3/§2 and §11 (E4-2, E4-3, E4-8, Q4-08, Q4-09, Q7-01, Q10-08) so that the instruction names
exactly the items that made the flag; the flags themselves (core-flags) decide the category.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from service.core.assessment import Flag
from service.core.findings import (
    SIJ_TESTS,
    ConditionKind,
    Findings,
    Motion,
    NeuroSign,
    PainLocation,
    PainSite,
    Side,
    SidedTest,
    TestFinding,
    TestResult,
    TreatmentKind,
    UnsidedTest,
)
from service.core.thresholds import Thresholds
from service.core.tri import Tri, is_true, not_true
from service.core.wording import number

SIDES = (Side.LEFT, Side.RIGHT)


def _th(t: Thresholds, name: str, default: str) -> Decimal:
    """A fourth-edition threshold field (core-flags adds them to :class:`Thresholds`)."""
    value = getattr(t, name, None)
    return Decimal(default) if value is None else Decimal(value)


def _fd(f: Findings, name: str, default: Any) -> Any:
    """A fourth-edition Findings field, or its default while the adapter does not fill it."""
    return getattr(f, name, default)


def _member(enum_type: Any, value: str) -> Any:
    return next((m for m in enum_type if m.value == value), None)


RF_WORDS: Mapping[str, str] = {
    "rf-saddle-anaesthesia": "saddle anaesthesia",
    "rf-bladder-dysfunction": "bladder dysfunction",
    "rf-faecal-incontinence": "faecal incontinence",
    "rf-progressive-motor-deficit": "progressive motor deficit",
    "rf-cancer-history": "cancer history",
    "rf-fever": "fever",
    "rf-weight-loss": "unexplained weight loss",
    "rf-ivdu-immunosuppression": "intravenous drug use or immunosuppression",
    "rf-significant-trauma": "significant trauma",
    "rf-unable-to-weight-bear": "unable to weight-bear",
    "rf-long-term-corticosteroids": "long-term corticosteroids",
}
#: Q4-31: the seven items of RED_FLAG_SCREEN_COMPLETE, in the order the screen names them.
SCREEN_ITEMS = (
    "rf-saddle-anaesthesia",
    "rf-bladder-dysfunction",
    "rf-faecal-incontinence",
    "rf-cancer-history",
    "rf-fever",
    "rf-weight-loss",
    "rf-significant-trauma",
)
#: Q7-01, Q10-08: history or lasting states, never stale.
LASTING = frozenset(
    {"rf-cancer-history", "rf-ivdu-immunosuppression", "rf-long-term-corticosteroids"}
)
CES_ITEMS = ("rf-saddle-anaesthesia", "rf-bladder-dysfunction", "rf-faecal-incontinence")

#: Plain meaning of the flags that rec-collect-missing-data may name when the minimum set is
#: complete (E4-25): never the flag name itself (§6.1, E4-19).
FLAG_WORDS: Mapping[str, str] = {
    "LBP": "low-back pain NRS",
    "GROIN_PAIN": "groin pain NRS",
    "HIP_PATH": "Kellgren–Lawrence grade of both hips, or a hip diagnosis",
    "HIP_SEVERE": "Kellgren–Lawrence grade of both hips",
    "RESTRICTED_IR": "hip internal rotation on both sides",
    "ROT_ASYMMETRY": "hip internal and external rotation on both sides, measured the same way",
    "HIP_PROVOCATIVE": "hip provocation tests (FADIR, FABER with pain location, scour, log roll)",
    "HIP_EXAM_NEGATIVE": "hip examination (rotation and provocation tests)",
    "HIP_SIGNS": "hip examination",
    "HIP_EXT_DEFICIT": "hip extension (Thomas test or extension range on both sides)",
    "SPINE_PATH": "lumbar imaging or pelvic incidence and lumbar lordosis",
    "RADICULAR": "radicular signs (SLR, neurological examination)",
    "MOTOR_DEFICIT": "motor examination (myotomal weakness, myelopathy signs)",
    "SPINE_SIGNS": "spinal signs (SLR, neurological examination)",
    "SIJ_SIGNS": "sacroiliac joint provocation tests",
    "GLUTEAL_SIGNS": "lateral hip tests (greater-trochanter palpation, single-leg stance)",
    "IA_POS": "response to a diagnostic hip injection",
    "SPINE_TX_FAILED": "pain NRS after the prior lumbar treatment",
    "HIP_TX_FAILED": "pain NRS after the prior hip treatment",
    "CONSERVATIVE_TX_FAILED": "pain NRS after the prior physiotherapy programme",
    "SHORT_EPISODE": "symptom duration",
}


def flag_words(flags: Mapping[str, Flag]) -> tuple[str, ...]:
    """The unknown flags of :data:`FLAG_WORDS` in words, each once, in the flags' order."""
    out: list[str] = []
    for name, flag in flags.items():
        words = FLAG_WORDS.get(name)
        if words and flag.value is Tri.UNKNOWN and words not in out:
            out.append(words)
    return tuple(out)


def sides_in_order(sides: Iterable[Side]) -> tuple[Side, ...]:
    chosen = set(sides)
    return tuple(s for s in SIDES if s in chosen)


def hip_words(sides: tuple[Side, ...]) -> str:
    """``the left hip``, ``both hips``, ``the hip (side not recorded)`` (§5.4)."""
    if len(sides) == 2:
        return "both hips"
    if len(sides) == 1:
        return f"the {sides[0].value} hip"
    return "the hip (side not recorded)"


def side_words(sides: Iterable[Side]) -> str:
    ordered = sides_in_order(sides)
    return " and ".join(s.value for s in ordered)


@dataclass(frozen=True)
class Facts:
    """The readings of one patient that the recommendations and the words need."""

    findings: Findings
    replaced: frozenset[Side] = frozenset()
    general_sides: tuple[Side, ...] = ()
    kl3_sides: tuple[Side, ...] = ()
    condition_sides: tuple[Side, ...] = ()
    trochanter_sides: tuple[Side, ...] = ()
    red_flag_hip_sides: tuple[Side, ...] = ()
    avn: bool = False
    fai_or_labral: str = ""
    myelopathy: bool = False
    myotomal_weakness: bool = False
    major_weakness: bool = False
    cancer: bool = False
    fragility: bool = False
    emergency_items: tuple[str, ...] = ()
    spine_items: tuple[str, ...] = ()
    hip_items: tuple[str, ...] = ()
    mri_spine_items: tuple[str, ...] = ()
    screen_unrecorded: tuple[str, ...] = ()
    precautions: tuple[str, ...] = ()
    sij_from_cluster: bool = True
    lumbar_imaging_known: bool = False
    prior_lumbar_surgery: bool = False
    radicular_findings: tuple[str, ...] = ()
    painful_replaced: tuple[Side, ...] | None = None
    hip_findings: tuple[str, ...] = field(default=())
    spine_findings: tuple[str, ...] = field(default=())

    # --- words ---------------------------------------------------------------------------------
    @property
    def ces(self) -> bool:
        return any("cauda equina" in i for i in self.emergency_items)

    @property
    def other_spine_items(self) -> tuple[str, ...]:
        """Spine items not already named by a hip item ("fever" in "fever with …")."""
        return tuple(i for i in self.spine_items if not any(i in h for h in self.hip_items))

    @property
    def urgent_evaluation_items(self) -> str:
        items = self.emergency_items + self.hip_items + self.other_spine_items
        return "; ".join(items) or "the red flags found"

    @property
    def urgent_evaluation_extras(self) -> tuple[str, ...]:
        out = []
        if any(i == "significant trauma" for i in self.spine_items):  # Q4-41
            out.append("Imaging for a vertebral or hip fracture as the examination indicates.")
        if self.fragility:  # Q10-08
            out.append("Possible vertebral fragility fracture.")
        return tuple(out)

    @property
    def urgent_mri_items(self) -> str:
        return "; ".join(self.emergency_items + self.spine_items) or "the red flags found"

    @property
    def red_flag_hip_items(self) -> str:
        return "; ".join(self.hip_items) or "a hip red flag"

    @property
    def mri_reason(self) -> str:
        return ", ".join(self.radicular_findings) or "the radicular or motor findings"

    @property
    def painful_replaced_words(self) -> str:
        sides = self.painful_replaced or ()
        return f"{side_words(sides)} side" if sides else "side not recorded"

    def minimum_set_missing(self, *, kl_needed: bool) -> tuple[str, ...]:
        """E4-25, Q4-12: the minimum set, each missing item named, in the spec's order."""
        f = self.findings
        native = [s for s in SIDES if s not in self.replaced]
        missing = []
        ir = [s.value for s in native if (Motion.INTERNAL_ROTATION, s) not in f.rom]
        if ir:
            missing.append(f"hip internal rotation ({', '.join(ir)})")
        tested = {test for test, _ in f.sided_tests}
        if native and SidedTest.FADIR not in tested:
            missing.append("FADIR test")
        if native and SidedTest.FABER not in tested:
            missing.append("FABER test")
        unlocated = [
            s.value
            for s in SIDES
            if (tf := f.sided_tests.get((SidedTest.FABER, s))) is not None
            and tf.result is TestResult.POSITIVE
            and not tf.pain_locations
        ]
        if unlocated:
            missing.append(f"pain location of the positive FABER test ({', '.join(unlocated)})")
        if SidedTest.SLR not in tested:
            missing.append("straight leg raise (SLR)")
        sites = {s.site for s in f.pain if s.readings}
        if PainSite.LOW_BACK not in sites:
            missing.append("low-back pain NRS")
        if PainSite.GROIN not in sites:
            missing.append("groin pain NRS")
        if kl_needed:
            kl_missing = [s for s in native if s not in f.kl_grade]
            if kl_missing:
                missing.append(f"Kellgren–Lawrence grade of {hip_words(tuple(kl_missing))}")
        return tuple(missing)


# --- readers ------------------------------------------------------------------------------------


def _positive(tf: TestFinding | None) -> bool:
    return tf is not None and tf.result is TestResult.POSITIVE


def _current_red_flags(f: Findings, t: Thresholds) -> dict[str, bool]:
    """Red-flag Observations by code: value, current per §1.3 (E4-5, Q4-05, Q4-06, Q7-01)."""
    ref: datetime | None = _fd(f, "reference_time", None)
    limit = _th(t, "red_flag_recency_days", "90")
    out: dict[str, bool] = {}
    for kind, b in f.red_flags.items():
        when: datetime | None = getattr(b, "time", None)
        if (
            kind.value not in LASTING
            and when is not None
            and ref is not None
            and (ref - when).total_seconds() > float(limit) * 86_400
        ):
            continue
        out[kind.value] = b.value
    return out


def _condition(f: Findings, value: str) -> Any:
    kind = _member(ConditionKind, value)
    return f.conditions.get(kind) if kind is not None else None


def _condition_sides(f: Findings, *values: str) -> set[Side]:
    out: set[Side] = set()
    for value in values:
        cond = _condition(f, value)
        if cond is not None:
            out |= set(getattr(cond, "sides", ()) or ())
    return out


def _groin_series(f: Findings, replaced: frozenset[Side]) -> list[tuple[Side | None, int]]:
    """Latest groin NRS per series with its side; Q11-02: a side-less groin pain counts as the
    replaced side's when exactly one hip is replaced."""
    out = []
    for s in f.pain:
        if s.site is PainSite.GROIN and s.readings:
            side = s.side
            if side is None and len(replaced) == 1:
                side = next(iter(replaced))
            out.append((side, s.latest.value))
    return out


def _age(f: Findings) -> int | None:
    """Q11-06: whole years from the birthDate to the reference date (UTC)."""
    birth = _fd(f, "birth_date", None)
    ref: datetime | None = _fd(f, "reference_time", None)
    if birth is None or ref is None:
        return None
    day = ref.date()
    return int(day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day)))


def _radicular_slr(tf: TestFinding) -> bool:
    """Q4-20: an SLR + is radicular unless its pain is only groin/anterior or lateral, or its
    angle is below 30° or above 70°."""
    locs = tf.pain_locations
    leg = {PainLocation.POSTERIOR, PainLocation.BELOW_KNEE}
    if locs & {PainLocation.GROIN_ANTERIOR, PainLocation.LATERAL} and not locs & leg:
        return False
    angle = tf.slr_angle
    return angle is None or Decimal(30) <= angle <= Decimal(70)


def _radicular_findings(f: Findings, weakness: Any) -> tuple[str, ...]:
    out = []
    slr = [
        s.value
        for s in SIDES
        if _positive(tf := f.sided_tests.get((SidedTest.SLR, s)))
        and tf is not None
        and _radicular_slr(tf)
    ]
    if slr:
        out.append(f"straight leg raise positive {' and '.join(slr)}")
    if _positive(f.unsided_tests.get(UnsidedTest.SLR_CROSSED)):
        out.append("crossed straight leg raise positive")
    if _positive(f.unsided_tests.get(UnsidedTest.SLUMP)):
        out.append("slump test positive")
    for sign, words in (
        (NeuroSign.NEUROGENIC_CLAUDICATION, "neurogenic claudication"),
        (NeuroSign.DERMATOMAL_SENSORY_LOSS, "dermatomal sensory loss"),
        (NeuroSign.REFLEX_LOSS, "reflex loss"),
    ):
        if (b := f.neuro.get(sign)) is not None and b.value:
            out.append(words)
    if weakness is not None and weakness.value:
        grade = getattr(weakness, "mrc_grade", None)
        out.append("myotomal weakness" + (f" (MRC {grade})" if grade is not None else ""))
    return tuple(out)


def _hip_sign_sides(f: Findings, flags: Mapping[str, Flag], replaced: frozenset[Side]) -> set[Side]:
    """§5.4 with Q4-15, Q4-16: the sides with a hip sign."""
    out: set[Side] = set()
    ir = {s: m.value for s in SIDES if (m := f.rom.get((Motion.INTERNAL_ROTATION, s)))}
    out |= {s for s, v in ir.items() if v < Decimal(15)}
    asym = flags.get("ROT_ASYMMETRY")
    if asym is not None and is_true(asym.value) and len(ir) == 2:
        left, right = ir[Side.LEFT], ir[Side.RIGHT]
        if left != right:
            out.add(Side.LEFT if left < right else Side.RIGHT)
        else:  # Q4-16: equal IR → the lower total rotation
            er = {s: m.value for s in SIDES if (m := f.rom.get((Motion.EXTERNAL_ROTATION, s)))}
            if len(er) == 2 and er[Side.LEFT] != er[Side.RIGHT]:
                out.add(Side.LEFT if er[Side.LEFT] < er[Side.RIGHT] else Side.RIGHT)
    for test in (SidedTest.FADIR, SidedTest.SCOUR, SidedTest.LOG_ROLL, SidedTest.PASSIVE_IR_PAIN):
        out |= {s for s in SIDES if _positive(f.sided_tests.get((test, s)))}
    for s in SIDES:
        tf = f.sided_tests.get((SidedTest.FABER, s))
        if _positive(tf) and tf is not None and PainLocation.GROIN_ANTERIOR in tf.pain_locations:
            out.add(s)
    negative_exam = flags.get("HIP_EXAM_NEGATIVE")
    if negative_exam is None or not_true(negative_exam.value):  # Q4-15
        out |= {s for s, v in _groin_series(f, frozenset()) if s is not None and v >= 1}
    return out - replaced  # Q4-13


def with_fallbacks(flags: Mapping[str, Flag], facts: Facts) -> dict[str, Flag]:
    """The flags, plus RED_FLAG_SCREEN_COMPLETE and MT_CAUTION read from the facts where the
    flag derivation does not provide them (yet); the derived flags always win."""
    out = dict(flags)
    if "RED_FLAG_SCREEN_COMPLETE" not in out:
        missing = facts.screen_unrecorded
        value = Tri.FALSE if missing else Tri.TRUE
        basis = f"not recorded: {', '.join(missing)}" if missing else "all seven recorded"
        out["RED_FLAG_SCREEN_COMPLETE"] = Flag("RED_FLAG_SCREEN_COMPLETE", value, basis)
    if "MT_CAUTION" not in out:
        value = Tri.TRUE if facts.precautions else Tri.UNKNOWN
        basis = ", ".join(facts.precautions) or "no precaution recorded; never false"
        out["MT_CAUTION"] = Flag("MT_CAUTION", value, basis)
    return out


def facts_of(f: Findings, flags: Mapping[str, Flag], t: Thresholds) -> Facts:
    replaced: frozenset[Side] = frozenset(_fd(f, "replaced_sides", frozenset()))
    rf = _current_red_flags(f, t)
    true_rf = {code for code, value in rf.items() if value}

    # Red-flag items by kind (E4-2, E4-3, Q4-08, Q4-09, Q10-08).
    emergency: list[str] = []
    ces = [RF_WORDS[c] for c in CES_ITEMS if c in true_rf]
    if _condition(f, "cauda-equina") is not None:
        emergency.append(
            "cauda equina syndrome (recorded diagnosis" + "".join(f"; {c}" for c in ces) + ")"
        )
    elif ces:
        emergency.append(f"possible cauda equina syndrome ({', '.join(ces)})")
    if "rf-progressive-motor-deficit" in true_rf:
        emergency.append("progressive motor deficit")

    cancer = "rf-cancer-history" in true_rf or _condition(f, "malignancy") is not None
    weakness = f.neuro.get(NeuroSign.MYOTOMAL_WEAKNESS)
    grade = getattr(weakness, "mrc_grade", None) if weakness is not None else None
    major = bool(
        weakness is not None
        and weakness.value
        and grade is not None
        and grade <= _th(t, "major_weakness_mrc", "3")
    )
    mri_items: list[str] = []  # Q4-09: the items counted for the urgent MRI
    if cancer:
        mri_items.append("cancer history")
    for code in (
        "rf-fever",
        "rf-weight-loss",
        "rf-ivdu-immunosuppression",
        "rf-significant-trauma",
    ):
        if code in true_rf:
            mri_items.append(RF_WORDS[code])
    if major:
        mri_items.append(f"major leg weakness (MRC {grade})")
    age = _age(f)
    fragile_cause = [
        w
        for present, w in (
            (_condition(f, "osteoporosis") is not None, "osteoporosis"),
            ("rf-long-term-corticosteroids" in true_rf, "long-term corticosteroids"),
        )
        if present
    ]
    fragility = bool(
        fragile_cause and age is not None and age >= _th(t, "fragility_age_years", "70")
    )
    spine = list(mri_items)
    if fragility:
        spine.append(f"{' and '.join(fragile_cause)} at age {age}")

    # Hip red flags and their sides (Q4-08, Q4-14, Q4-18, Q5-01, Q5-02, Q5-05, Q6-02, Q11-02).
    hip: list[str] = []
    hip_sides: set[Side] = set()
    groin = _groin_series(f, replaced)
    extra_tests: Mapping[Any, TestFinding] = _fd(f, "replaced_hip_tests", {})

    def positive_sides(test: SidedTest) -> set[Side]:
        return {
            s
            for s in SIDES
            if _positive(f.sided_tests.get((test, s))) or _positive(extra_tests.get((test, s)))
        }

    if "rf-unable-to-weight-bear" in true_rf:
        hip.append("unable to weight-bear")
    log_roll = positive_sides(SidedTest.LOG_ROLL)

    def groin_words(series: list[tuple[Side | None, int]]) -> list[str]:
        return [f"groin pain {v}/10" + (f" {s.value}" if s else "") for s, v in series]

    def test_words(name: str, sides: set[Side]) -> list[str]:
        return [f"{name} {side_words(sides)}"] if sides else []

    if "rf-significant-trauma" in true_rf:
        hurting = [(s, v) for s, v in groin if v >= 1]
        if hurting or log_roll:
            signs = groin_words(hurting) + test_words("painful log roll", log_roll)
            hip.append(f"significant trauma with {' and '.join(signs)}")
            hip_sides |= {s for s, _ in hurting if s is not None} | log_roll
    if "rf-fever" in true_rf:
        septic = _th(t, "septic_groin_nrs", "7")
        severe_groin = [(s, v) for s, v in groin if v >= septic]
        ir_pain = positive_sides(SidedTest.PASSIVE_IR_PAIN)
        if severe_groin or ir_pain or log_roll:
            signs = (
                groin_words(severe_groin)
                + test_words("painful passive internal rotation", ir_pain)
                + test_words("painful log roll", log_roll)
            )
            hip.append(f"fever with {' and '.join(signs)}")
            hip_sides |= {s for s, _ in severe_groin if s is not None} | ir_pain | log_roll
    fracture = _condition(f, "femoral-neck-fracture")
    if fracture is not None and is_true(flags.get("RED_FLAG_HIP", Flag("", Tri.TRUE, "")).value):
        hip.append("femoral-neck fracture recorded")
        hip_sides |= set(getattr(fracture, "sides", ()) or ())
    if hip and not is_true(flags.get("RED_FLAG_HIP", Flag("", Tri.TRUE, "")).value):
        hip, hip_sides = [], set()

    # Sides (§5.4, Q4-13, Q4-17).
    kl_sides = {s for s, m in f.kl_grade.items() if m.value >= Decimal(2)}
    path_sides = (
        kl_sides
        | _condition_sides(f, "hip-oa", "condition-fai", "condition-labral-tear", "condition-avn")
    ) - replaced
    sign_sides = _hip_sign_sides(f, flags, replaced)
    general = sign_sides or path_sides
    kl3 = {s for s, m in f.kl_grade.items() if m.value >= Decimal(3)} - replaced
    cond_sides = _condition_sides(f, "condition-avn", "condition-fai", "condition-labral-tear")
    trochanter = {
        s
        for s in SIDES
        if (test := _member(SidedTest, "test-greater-trochanter-palpation")) is not None
        and _positive(f.sided_tests.get((test, s)))
    }

    # Precautions (E4-8, §1.3).
    arthroplasty = bool(
        replaced
        or _fd(f, "arthroplasty_unsided", False)
        or _condition(f, "artificial-hip") is not None
        or any(tr.kind is TreatmentKind.HIP_ARTHROPLASTY for tr in f.treatments)
    )
    precautions = [
        w
        for present, w in (
            (_condition(f, "condition-avn") is not None, "avascular necrosis"),
            (_condition(f, "rheumatoid-arthritis") is not None, "rheumatoid arthritis"),
            (_condition(f, "osteoporosis") is not None, "osteoporosis"),
            (_condition(f, "femoral-neck-fracture") is not None, "femoral-neck fracture"),
            (arthroplasty, "hip replacement"),
            (cancer, "cancer history"),
        )
        if present
    ]

    # Painful replaced hip (Q10-06, Q11-02).
    painful: tuple[Side, ...] | None = None
    if replaced or _fd(f, "arthroplasty_unsided", False):
        hurting = [(s, v) for s, v in groin if v >= 1 and (s is None or s in replaced)]
        if hurting:
            painful = sides_in_order(s for s, _ in hurting if s is not None)

    screen = [
        RF_WORDS[c]
        for c in SCREEN_ITEMS
        if c not in rf and not (c == "rf-cancer-history" and _condition(f, "malignancy"))
    ]
    ref: datetime | None = _fd(f, "reference_time", None)
    when: datetime | None = _fd(f, "lumbar_imaging_time", None)
    recent = _th(t, "lumbar_imaging_recent_days", "365")
    imaging_known = bool(f.lumbar_imaging) and (
        when is None or ref is None or (ref - when).total_seconds() <= float(recent) * 86_400
    )
    sij_positive = sum(1 for k in SIJ_TESTS if _positive(f.unsided_tests.get(k)))
    fai = [
        w
        for value, w in (
            ("condition-fai", "femoroacetabular impingement"),
            ("condition-labral-tear", "labral tear"),
        )
        if _condition(f, value) is not None
    ]
    myelopathy = f.neuro.get(NeuroSign.MYELOPATHY_SIGNS)
    return Facts(
        findings=f,
        replaced=replaced,
        general_sides=sides_in_order(general),
        kl3_sides=sides_in_order(kl3),
        condition_sides=sides_in_order(cond_sides - replaced),
        trochanter_sides=sides_in_order(trochanter),
        red_flag_hip_sides=sides_in_order(hip_sides),
        avn=_condition(f, "condition-avn") is not None,
        fai_or_labral=" and ".join(fai),
        myelopathy=myelopathy is not None and myelopathy.value,
        myotomal_weakness=weakness is not None and weakness.value,
        major_weakness=major,
        cancer=cancer,
        fragility=fragility,
        emergency_items=tuple(emergency),
        spine_items=tuple(spine),
        hip_items=tuple(hip),
        mri_spine_items=tuple(mri_items),
        screen_unrecorded=tuple(screen),
        precautions=tuple(precautions),
        sij_from_cluster=sij_positive >= 3,
        lumbar_imaging_known=imaging_known,
        prior_lumbar_surgery=any(tr.kind is TreatmentKind.LUMBAR_SURGERY for tr in f.treatments),
        radicular_findings=_radicular_findings(f, weakness),
        painful_replaced=painful,
        hip_findings=hip_finding_words(f, flags, replaced),
        spine_findings=spine_finding_words(f, weakness),
    )


# --- the findings that carry a conclusion (§6.1 lead, Q4-44) ------------------------------------


def hip_finding_words(
    f: Findings, flags: Mapping[str, Flag], replaced: frozenset[Side]
) -> tuple[str, ...]:
    """The hip findings in words, strongest first: rotation, provocation tests, KL, Conditions."""
    out: list[str] = []
    ir = {s: m for s in SIDES if (m := f.rom.get((Motion.INTERNAL_ROTATION, s))) is not None}
    restricted = flags.get("RESTRICTED_IR")
    asym = flags.get("ROT_ASYMMETRY")
    if (restricted is not None and is_true(restricted.value)) or (
        asym is not None and is_true(asym.value)
    ):
        if len(ir) == 2:
            left, right = ir[Side.LEFT], ir[Side.RIGHT]
            out.append(
                f"internal rotation {number(left.value)}° left against {number(right.value)}° right"
            )
        elif ir:
            s, m = next(iter(ir.items()))
            out.append(f"internal rotation {number(m.value)}° {s.value}")
    for test, name in (
        (SidedTest.FADIR, "FADIR"),
        (SidedTest.SCOUR, "scour test"),
        (SidedTest.LOG_ROLL, "log roll"),
        (SidedTest.PASSIVE_IR_PAIN, "passive internal rotation"),
    ):
        pos = [s.value for s in SIDES if _positive(f.sided_tests.get((test, s)))]
        if pos:
            out.append(f"{name} positive {' and '.join(pos)}")
    faber = [
        s.value
        for s in SIDES
        if _positive(tf := f.sided_tests.get((SidedTest.FABER, s)))
        and tf is not None
        and PainLocation.GROIN_ANTERIOR in tf.pain_locations
    ]
    if faber:
        out.append(f"FABER positive with groin pain {' and '.join(faber)}")
    kl = [(s, m) for s, m in f.kl_grade.items() if m.value >= Decimal(2) and s not in replaced]
    for s, m in sorted(kl, key=lambda sm: (-sm[1].value, SIDES.index(sm[0]))):
        out.append(f"Kellgren–Lawrence grade {number(m.value)} {s.value}")
    for value, words in (
        ("condition-avn", "avascular necrosis"),
        ("hip-oa", "hip osteoarthritis"),
        ("condition-fai", "femoroacetabular impingement"),
        ("condition-labral-tear", "labral tear"),
    ):
        if _condition(f, value) is not None:
            out.append(f"{words} recorded")
    return tuple(out)


def spine_finding_words(f: Findings, weakness: Any) -> tuple[str, ...]:
    out = list(_radicular_findings(f, weakness))
    for finding in sorted(f.lumbar_imaging, key=lambda k: k.value):
        if finding.value != "finding-normal":
            out.append(f"{finding.value.removeprefix('finding-').replace('-', ' ')} on imaging")
    return tuple(out)
