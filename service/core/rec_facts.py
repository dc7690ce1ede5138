"""What the recommendations and their words read about the patient beyond the §2 flags
(clinical-spec.md §5.1, §5.2, §5.4, §6.1): sides, red-flag items in words, precautions.

One source per reading: the red-flag items, the screen, the precautions and the other facts
come from the modules that derive the flags (:mod:`service.core.red_flags`,
:mod:`service.core.precautions`, :mod:`service.core.evidence`), so that an instruction names
exactly the items that made the flag. This module adds the §5.4 sides and the words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from service.core.advice import TRAUMA_IMAGING
from service.core.assessment import Flag
from service.core.evidence import (
    HIP_CONDITIONS,
    SIDES,
    avn_present,
    fai_or_labral_present,
    is_positive,
    lumbar_imaging_known,
    myelopathy,
    myotomal_weakness,
    native_conditions,
    old_lumbar_imaging,
    positive_sides,
    prior_lumbar_surgery,
    side_words,
    sides_in_order,
    sij_reason,
)
from service.core.findings import (
    HIP_TREATMENTS,
    LUMBAR_TREATMENTS,
    ConditionKind,
    Findings,
    Motion,
    NeuroSign,
    PainLocation,
    PainSite,
    Side,
    SidedTest,
    TestResult,
    TreatmentKind,
    UnsidedTest,
)
from service.core.flags import slr_radicular
from service.core.precautions import mt_precautions
from service.core.readings import Readings, read
from service.core.red_flags import groin_series, painful_replaced_sides
from service.core.thresholds import HIP_OA_KL_MIN, HIP_SEVERE_KL_MIN, RESTRICTED_IR_DEG, Thresholds
from service.core.tri import Tri, is_true, not_true
from service.core.wording import number

AVN_FAI_LABRAL = (ConditionKind.AVN, ConditionKind.FAI, ConditionKind.LABRAL_TEAR)

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


#: The treatments whose follow-up NRS a ``*_TX_FAILED`` flag reads.
_TX_FLAG_KINDS: Mapping[str, frozenset[TreatmentKind]] = {
    "SPINE_TX_FAILED": LUMBAR_TREATMENTS,
    "HIP_TX_FAILED": HIP_TREATMENTS,
    "CONSERVATIVE_TX_FAILED": frozenset({TreatmentKind.PHYSIOTHERAPY}),
}


def flag_words(flags: Mapping[str, Flag], findings: Findings | None = None) -> tuple[str, ...]:
    """The unknown flags of :data:`FLAG_WORDS` in words, each once, in the flags' order.

    E4-26 ("what would change the conclusion"), §0.7: never a diagnostic hip injection while
    neither HIP_PATH nor HIP_SIGNS is true (R4 needs them), and never the NRS after a prior
    treatment that is not recorded."""
    hip_evidence = any(
        (flag := flags.get(n)) is not None and flag.value is Tri.TRUE
        for n in ("HIP_PATH", "HIP_SIGNS")
    )
    given = {t.kind for t in findings.treatments} if findings is not None else None
    out: list[str] = []
    for name, flag in flags.items():
        words = FLAG_WORDS.get(name)
        if name == "IA_POS" and not hip_evidence:
            continue
        if given is not None and name in _TX_FLAG_KINDS and not given & _TX_FLAG_KINDS[name]:
            continue
        if words and flag.value is Tri.UNKNOWN and words not in out:
            out.append(words)
    return tuple(out)


def hip_words(sides: tuple[Side, ...]) -> str:
    """``the left hip``, ``both hips``, ``the hip (side not recorded)`` (§5.4)."""
    if len(sides) == 2:
        return "both hips"
    if len(sides) == 1:
        return f"the {sides[0].value} hip"
    return "the hip (side not recorded)"


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
    urgent_mri: bool = False
    screen_unrecorded: tuple[str, ...] = ()
    precautions: tuple[str, ...] = ()
    sij_from_cluster: bool = True
    lumbar_imaging_known: bool = False
    old_lumbar_imaging: str = ""  # Q10-05: the date of imaging older than 365 days
    prior_lumbar_surgery: bool = False
    radicular_findings: tuple[str, ...] = ()
    painful_replaced: tuple[Side, ...] | None = None
    hip_findings: tuple[str, ...] = ()
    spine_findings: tuple[str, ...] = ()

    # --- words ---------------------------------------------------------------------------------
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
        if "significant trauma" in self.spine_items:  # Q4-41
            out.append(TRAUMA_IMAGING)
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


def _native(f: Findings, kind: ConditionKind) -> bool:
    """Q4-13: a hip Condition of a replaced side is not hip evidence (one without a side still
    counts: it may concern the native hip); each Condition on its own (core-flags)."""
    return bool(native_conditions(f, kind))


def _condition_sides(f: Findings, kinds: Iterable[ConditionKind]) -> set[Side]:
    return {s for k in kinds if (c := f.conditions.get(k)) is not None for s in c.sides}


def _emergency_words(words: tuple[str, ...]) -> tuple[str, ...]:
    """§6.1 example, Q10-02: "possible cauda equina syndrome (saddle anaesthesia)"."""
    recorded = "cauda equina syndrome recorded"
    ces = [w for w in words if w not in (recorded, "progressive motor deficit")]
    out = []
    if recorded in words:
        out.append(
            "cauda equina syndrome (recorded diagnosis" + "".join(f"; {w}" for w in ces) + ")"
        )
    elif ces:
        out.append(f"possible cauda equina syndrome ({', '.join(ces)})")
    if "progressive motor deficit" in words:
        out.append("progressive motor deficit")
    return tuple(out)


def _radicular_findings(f: Findings) -> tuple[str, ...]:
    out = []
    slr = [
        s.value
        for s in SIDES
        if (tf := f.sided_tests.get((SidedTest.SLR, s))) is not None
        and tf.result is TestResult.POSITIVE
        and slr_radicular(tf)
    ]
    if slr:
        out.append(f"straight leg raise positive {' and '.join(slr)}")
    if is_positive(f.unsided_tests.get(UnsidedTest.SLR_CROSSED)):
        out.append("crossed straight leg raise positive")
    if is_positive(f.unsided_tests.get(UnsidedTest.SLUMP)):
        out.append("slump test positive")
    for sign, words in (
        (NeuroSign.NEUROGENIC_CLAUDICATION, "neurogenic claudication"),
        (NeuroSign.DERMATOMAL_SENSORY_LOSS, "dermatomal sensory loss"),
        (NeuroSign.REFLEX_LOSS, "reflex loss"),
    ):
        if (b := f.neuro.get(sign)) is not None and b.value:
            out.append(words)
    weakness = f.neuro.get(NeuroSign.MYOTOMAL_WEAKNESS)
    if weakness is not None and weakness.value:
        grade = weakness.mrc_grade
        out.append("myotomal weakness" + (f" (MRC {grade})" if grade is not None else ""))
    return tuple(out)


def _hip_sign_sides(
    f: Findings,
    flags: Mapping[str, Flag],
    t: Thresholds,
    groin: Sequence[tuple[Side | None, int, str]],
) -> set[Side]:
    """§5.4 with Q4-15, Q4-16: the sides with a hip sign; never a replaced side (Q4-13). A
    groin pain is present at NRS ≥ ``t.pain_present_nrs`` (§7, 1 by default)."""
    out: set[Side] = set()
    ir = {s: m.value for s in SIDES if (m := f.rom.get((Motion.INTERNAL_ROTATION, s)))}
    out |= {s for s, v in ir.items() if v < RESTRICTED_IR_DEG}
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
        out |= {s for s in SIDES if is_positive(f.sided_tests.get((test, s)))}
    for s in SIDES:
        tf = f.sided_tests.get((SidedTest.FABER, s))
        if is_positive(tf) and tf is not None and PainLocation.GROIN_ANTERIOR in tf.pain_locations:
            out.add(s)
    negative_exam = flags.get("HIP_EXAM_NEGATIVE")
    if negative_exam is None or not_true(negative_exam.value):  # Q4-15
        present = t.pain_present_nrs
        out |= {s for s, v, _ in groin if s is not None and v >= present}
    return out - f.replaced_sides  # Q4-13


def facts_of(
    f: Findings, flags: Mapping[str, Flag], t: Thresholds, readings: Readings | None = None
) -> Facts:
    """The facts of ``f``; ``readings``: the evaluation's shared readings when already derived
    (:func:`service.core.readings.read`, also read by the flags)."""
    r = readings if readings is not None else read(f, t)
    replaced = frozenset(f.replaced_sides)
    items = r.items
    # Sides (§5.4, Q4-13, Q4-17).
    kl_sides = {s for s, m in f.kl_grade.items() if m.value >= HIP_OA_KL_MIN}
    path_sides = (kl_sides | _condition_sides(f, HIP_CONDITIONS)) - replaced
    general = _hip_sign_sides(f, flags, t, r.groin) or path_sides
    kl3 = {s for s, m in f.kl_grade.items() if m.value >= HIP_SEVERE_KL_MIN} - replaced
    trochanter = positive_sides(f, SidedTest.GREATER_TROCHANTER_PALPATION)
    painful_sides, painful_unsided = painful_replaced_sides(f, t, r.groin)
    fai = [
        w
        for kind, w in (
            (ConditionKind.FAI, "femoroacetabular impingement"),
            (ConditionKind.LABRAL_TEAR, "labral tear"),
        )
        if _native(f, kind)
    ]
    groin = flags.get("GROIN_PAIN") or Flag("GROIN_PAIN", Tri.UNKNOWN, "")
    return Facts(
        findings=f,
        replaced=replaced,
        general_sides=sides_in_order(general),
        kl3_sides=sides_in_order(kl3),
        condition_sides=sides_in_order(_condition_sides(f, AVN_FAI_LABRAL) - replaced),
        trochanter_sides=sides_in_order(trochanter),
        red_flag_hip_sides=items.hip_sides,
        avn=avn_present(f),
        fai_or_labral=" and ".join(fai) if fai_or_labral_present(f) else "",
        myelopathy=is_true(myelopathy(f)),
        myotomal_weakness=is_true(myotomal_weakness(f)),
        major_weakness=items.major_weakness,
        cancer=items.cancer_history,
        fragility=items.fragility_fracture,
        emergency_items=_emergency_words(items.emergency_words),
        spine_items=items.spine_words,
        hip_items=items.hip_words,
        urgent_mri=items.urgent_mri,
        screen_unrecorded=r.screen_unrecorded,
        precautions=mt_precautions(f, t, r.precautions),
        sij_from_cluster=sij_reason(f, groin) == "cluster",
        lumbar_imaging_known=lumbar_imaging_known(f, t),
        old_lumbar_imaging=_old_imaging_date(f, t),
        prior_lumbar_surgery=prior_lumbar_surgery(f),
        radicular_findings=_radicular_findings(f),
        painful_replaced=painful_sides if painful_sides or painful_unsided else None,
        hip_findings=hip_finding_words(f, flags, replaced, t, r.groin),
        spine_findings=spine_finding_words(f),
    )


def _old_imaging_date(f: Findings, t: Thresholds) -> str:
    """Q10-05: lumbar imaging older than 365 days is "listed as old imaging": its date."""
    if not old_lumbar_imaging(f, t) or f.lumbar_imaging_time is None:
        return ""
    return f.lumbar_imaging_time.date().isoformat()


# --- the findings that carry a conclusion (§6.1 lead, Q4-44) ------------------------------------


def _groin_sign_words(
    flags: Mapping[str, Flag],
    replaced: frozenset[Side],
    t: Thresholds,
    groin_readings: Sequence[tuple[Side | None, int, str]],
) -> list[str]:
    """Q4-44, Q10-09, Q4-15: a groin pain that is a hip sign (GROIN_PAIN with the hip examined
    and HIP_EXAM_NEGATIVE not true) carries the conclusion: "groin pain 5/10 right"; present at
    NRS ≥ ``t.pain_present_nrs`` (§7, 1 by default)."""
    groin, negative = flags.get("GROIN_PAIN"), flags.get("HIP_EXAM_NEGATIVE")
    if groin is None or not is_true(groin.value) or (negative and is_true(negative.value)):
        return []
    if not any(
        (flag := flags.get(n)) is not None and flag.value is not Tri.UNKNOWN
        for n in ("RESTRICTED_IR", "ROT_ASYMMETRY", "HIP_PROVOCATIVE")
    ):
        return []
    out = []
    present = t.pain_present_nrs
    for side, value, _ in groin_readings:
        if value >= present and side not in replaced:
            out.append(f"groin pain {value}/10" + (f" {side.value}" if side else ""))
    return out


def hip_finding_words(
    f: Findings,
    flags: Mapping[str, Flag],
    replaced: frozenset[Side],
    t: Thresholds,
    groin: Sequence[tuple[Side | None, int, str]] | None = None,
) -> tuple[str, ...]:
    """The hip findings in words, strongest first: rotation, provocation tests, KL, Conditions.
    ``groin``: the evaluation's :func:`groin_series` when already read."""
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
        pos = [s.value for s in SIDES if is_positive(f.sided_tests.get((test, s)))]
        if pos:
            out.append(f"{name} positive {' and '.join(pos)}")
    faber = [
        s.value
        for s in SIDES
        if is_positive(tf := f.sided_tests.get((SidedTest.FABER, s)))
        and tf is not None
        and PainLocation.GROIN_ANTERIOR in tf.pain_locations
    ]
    if faber:
        out.append(f"FABER positive with groin pain {' and '.join(faber)}")
    out += _groin_sign_words(flags, replaced, t, groin if groin is not None else groin_series(f))
    kl = [(s, m) for s, m in f.kl_grade.items() if m.value >= HIP_OA_KL_MIN and s not in replaced]
    for s, m in sorted(kl, key=lambda sm: (-sm[1].value, SIDES.index(sm[0]))):
        out.append(f"Kellgren–Lawrence grade {number(m.value)} {s.value}")
    for kind, words in (
        (ConditionKind.AVN, "avascular necrosis"),
        (ConditionKind.HIP_OA, "hip osteoarthritis"),
        (ConditionKind.FAI, "femoroacetabular impingement"),
        (ConditionKind.LABRAL_TEAR, "labral tear"),
    ):
        if _native(f, kind):
            out.append(f"{words} recorded")
    return tuple(out)


def spine_finding_words(f: Findings) -> tuple[str, ...]:
    out = list(_radicular_findings(f))
    for finding in sorted(f.lumbar_imaging, key=lambda k: k.value):
        if finding.value != "finding-normal":
            out.append(f"{finding.value.removeprefix('finding-').replace('-', ' ')} on imaging")
    return tuple(out)
