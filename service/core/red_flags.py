"""Red flags by kind (clinical-spec.md §1.3, §2; E4-2 … E4-5; §11 Q4-03 … Q11-06).

Pure functions of :class:`Findings`. The adapter has already excluded stale episode red flags
(E4-5) and a replaced hip's examination (E4-9); the readers here check recency again against
``Findings.reference_time`` so that Findings built elsewhere obey the same contract.

Red flags are never false (§2: "not true" suffices): a kind that is not true is unknown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from service.core.assessment import Flag
from service.core.evidence import SIDES, is_positive, positive_sides, side_words
from service.core.findings import (
    LASTING_RED_FLAGS,
    BoolFinding,
    ConditionFinding,
    ConditionKind,
    Findings,
    NeuroSign,
    PainSite,
    RedFlag,
    Side,
    SidedTest,
    TestFinding,
    condition_records,
)
from service.core.thresholds import Thresholds
from service.core.tri import Tri
from service.core.wording import joined, number

#: Plain words of each red-flag input (the summary and instructions name them, §6.1).
RED_FLAG_WORDS: Mapping[RedFlag, str] = {
    RedFlag.SADDLE_ANAESTHESIA: "saddle anaesthesia",
    RedFlag.BLADDER_DYSFUNCTION: "bladder dysfunction",
    RedFlag.FAECAL_INCONTINENCE: "faecal incontinence",
    RedFlag.PROGRESSIVE_MOTOR_DEFICIT: "progressive motor deficit",
    RedFlag.CANCER_HISTORY: "cancer history",
    RedFlag.FEVER: "fever",
    RedFlag.WEIGHT_LOSS: "weight loss",
    RedFlag.IVDU_IMMUNOSUPPRESSION: "intravenous drug use or immunosuppression",
    RedFlag.SIGNIFICANT_TRAUMA: "significant trauma",
    RedFlag.UNABLE_TO_WEIGHT_BEAR: "unable to weight-bear",
    RedFlag.LONG_TERM_CORTICOSTEROIDS: "long-term corticosteroids",
}
#: §2 RED_FLAG_EMERGENCY inputs (plus a cauda equina Condition).
EMERGENCY_ITEMS = (
    RedFlag.SADDLE_ANAESTHESIA,
    RedFlag.BLADDER_DYSFUNCTION,
    RedFlag.FAECAL_INCONTINENCE,
    RedFlag.PROGRESSIVE_MOTOR_DEFICIT,
)
#: §2 RED_FLAG_SPINE Observation inputs besides cancer history (Q4-09).
SPINE_ITEMS = (
    RedFlag.FEVER,
    RedFlag.WEIGHT_LOSS,
    RedFlag.IVDU_IMMUNOSUPPRESSION,
    RedFlag.SIGNIFICANT_TRAUMA,
)
#: E4-4, Q4-31: the seven items of the red-flag screen, in the order the summary names them.
SCREEN_ITEMS = (
    RedFlag.SADDLE_ANAESTHESIA,
    RedFlag.BLADDER_DYSFUNCTION,
    RedFlag.FAECAL_INCONTINENCE,
    RedFlag.CANCER_HISTORY,
    RedFlag.FEVER,
    RedFlag.WEIGHT_LOSS,
    RedFlag.SIGNIFICANT_TRAUMA,
)


def current_red_flags(f: Findings, t: Thresholds) -> dict[RedFlag, BoolFinding]:
    """The red-flag Observations that are current (§1.3, E4-5, Q4-05, Q4-06, Q7-01).

    An episode red flag is current when untimed, when there is no reference time, or when its
    time is at most ``red_flag_recency_days`` (90 × 24 h) before the reference time; cancer
    history, IVDU/immunosuppression and long-term corticosteroids never go stale.
    """
    ref = f.reference_time
    limit = Thresholds.days(t.red_flag_recency_days)
    return {
        kind: b
        for kind, b in f.red_flags.items()
        if kind in LASTING_RED_FLAGS or b.time is None or ref is None or ref - b.time <= limit
    }


#: The current red flags of one evaluation (:func:`current_red_flags`).
Current = Mapping[RedFlag, BoolFinding]


def _true(rf: Mapping[RedFlag, BoolFinding], kind: RedFlag) -> BoolFinding | None:
    b = rf.get(kind)
    return b if b is not None and b.value else None


def cancer_history(f: Findings, t: Thresholds, current: Current | None = None) -> list[str]:
    """Q4-03, Q5-06, Q7-01, Q10-01: the latest ``rf-cancer-history`` true (whatever its age; a
    later false never erases a true, the adapter keeps it) or a malignancy Condition (any
    clinicalStatus but refuted / entered-in-error). The evidence, or [] when neither.

    ``current``: the evaluation's :func:`current_red_flags` when already read (so here and
    below: passed down, computed once per evaluation)."""
    out = []
    b = _true(current if current is not None else current_red_flags(f, t), RedFlag.CANCER_HISTORY)
    if b is not None:
        out.append(f"rf-cancer-history true ({b.source})")
    malignancy = f.conditions.get(ConditionKind.MALIGNANCY)
    if malignancy is not None:
        out.append(f"malignancy Condition ({malignancy.source})")
    return out


def age_years(f: Findings) -> int | None:
    """Q11-06: whole years from the birthDate to the reference date (UTC); None without either
    (then the age rule does not fire, Q10-08)."""
    if f.birth_date is None or f.reference_time is None:
        return None
    return _years(f.birth_date, f.reference_time)


def _years(born: date, at: datetime) -> int:
    day = at.date()
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def mrc_grade(f: Findings) -> int | None:
    """Q4-07: the MRC grade is read only when myotomal weakness is true."""
    weakness = f.neuro.get(NeuroSign.MYOTOMAL_WEAKNESS)
    if weakness is None or not weakness.value:
        return None
    return weakness.mrc_grade


def major_weakness(f: Findings, t: Thresholds) -> str | None:
    """E4-3, Q4-07: myotomal weakness with MRC ≤ 3 [P]; MRC 4 or 5 is weakness without a red flag.

    A weakness recorded without a grade is no red flag here (the spec's rule needs the grade);
    it still makes MOTOR_DEFICIT true, which always reaches a spine clinician (Q10-03).
    """
    grade = mrc_grade(f)
    if grade is None or grade > t.major_weakness_mrc:
        return None
    weakness = f.neuro[NeuroSign.MYOTOMAL_WEAKNESS]
    return f"myotomal weakness MRC {grade} ({weakness.source}; ≤ {number(t.major_weakness_mrc)})"


def fragility_fracture(f: Findings, t: Thresholds, current: Current | None = None) -> str | None:
    """Q10-08, Q11-06: an osteoporosis Condition or ``rf-long-term-corticosteroids`` true, with an
    age of at least 70 [P] from the birthDate at the reference time: a possible vertebral
    fragility fracture. Without a birthDate or a reference time the rule does not fire."""
    found = _fragility(f, t, current if current is not None else current_red_flags(f, t))
    return found[0] if found is not None else None


def _fragility(f: Findings, t: Thresholds, current: Current) -> tuple[str, str] | None:
    """:func:`fragility_fracture`'s trace text (with sources) and its plain words, or None."""
    causes: list[tuple[str, str]] = []  # (plain words, trace text)
    osteoporosis = f.conditions.get(ConditionKind.OSTEOPOROSIS)
    if osteoporosis is not None:
        causes.append(("osteoporosis", f"osteoporosis Condition ({osteoporosis.source})"))
    steroids = _true(current, RedFlag.LONG_TERM_CORTICOSTEROIDS)
    if steroids is not None:
        causes.append(
            ("long-term corticosteroids", f"rf-long-term-corticosteroids true ({steroids.source})")
        )
    age = age_years(f)
    if not causes or age is None or age < t.fragility_age_years:
        return None
    trace = f"{joined([c for _, c in causes])} at age {age} (≥ {number(t.fragility_age_years)})"
    return trace, f"{' and '.join(w for w, _ in causes)}, age {age}"


def _hip_test(f: Findings, test: SidedTest, side: Side) -> TestFinding | None:
    for found in (f.sided_tests.get((test, side)), f.replaced_hip_tests.get((test, side))):
        if found is not None and is_positive(found):
            return found
    return None


def _test_words(f: Findings, test: SidedTest, label: str, sides: Iterable[Side]) -> list[str]:
    out = []
    for side in sides:
        found = _hip_test(f, test, side)
        source = f" ({found.source})" if found is not None else ""
        out.append(f"{label} positive {side.value}{source}")
    return out


def groin_series(f: Findings) -> list[tuple[Side | None, int, str]]:
    """Every groin series' latest NRS with its side (Q5-02: a replaced side's included); a
    side-less groin pain counts as the replaced side's when exactly one hip is replaced
    (Q11-02)."""
    out = []
    for series in f.pain:
        if series.site is PainSite.GROIN and series.readings:
            side = series.side
            if side is None and len(f.replaced_sides) == 1:
                side = next(iter(f.replaced_sides))
            out.append((side, series.latest.value, series.latest.source))
    return out


def painful_replaced_sides(
    f: Findings, t: Thresholds, groin: Sequence[tuple[Side | None, int, str]] | None = None
) -> tuple[tuple[Side, ...], bool]:
    """Q10-06, Q11-02: groin NRS ≥ 1 on a replaced side. Returns the sides, and whether a
    side-less groin pain hurts while a hip is replaced without a known single side (two
    replaced sides, or an arthroplasty without side): conservatively a painful replaced hip,
    side not recorded (Q10-06: "or without side when a hip is replaced"). ``groin``: the
    evaluation's :func:`groin_series` when already read."""
    present = t.pain_present_nrs
    if groin is None:
        groin = groin_series(f)
    sides = {s for s, v, _ in groin if s is not None and s in f.replaced_sides and v >= present}
    unsided = any(s is None and v >= present for s, v, _ in groin) and bool(
        f.replaced_sides or f.arthroplasty_unsided
    )
    return tuple(s for s in SIDES if s in sides), unsided


@dataclass(frozen=True, slots=True)
class RedFlagItems:
    """The true red-flag items of each kind, plus what the recommendations need (§5.1 RED_FLAG
    row, Q4-09, Q4-18, Q4-41, Q10-02, Q10-08).

    ``emergency`` / ``spine`` / ``hip`` are the trace texts (with their sources, for the flag
    basis); ``*_words`` the same items in plain words for the lead and the instructions (§6.1:
    no Observation ids there), e.g. "saddle anaesthesia", "cancer history", "fever with groin
    pain NRS 8 (right)"."""

    emergency: tuple[str, ...]
    spine: tuple[str, ...]
    hip: tuple[str, ...]
    hip_sides: tuple[Side, ...]
    cancer_history: bool
    major_weakness: bool
    fragility_fracture: bool
    spine_mri_items: int  # Q4-09: cancer (one item), fever, weight loss, IVDU, trauma, MRC ≤ 3
    trauma_only: bool  # Q4-41: significant trauma is the only red-flag item
    #: §5.1 RED_FLAG row: emergency, cancer history, MRC ≤ 3, or ≥ 2 spine items [P; M S48].
    urgent_mri: bool
    emergency_words: tuple[str, ...] = ()
    spine_words: tuple[str, ...] = ()
    hip_words: tuple[str, ...] = ()
    #: Myotomal weakness is recorded true without an MRC grade: grade it (MRC ≤ 3 is a red flag).
    mrc_missing: bool = False


Item = tuple[str, str]  # (plain words, trace text with sources)


def red_flag_items(
    f: Findings,
    t: Thresholds,
    current: Current | None = None,
    groin: Sequence[tuple[Side | None, int, str]] | None = None,
    cancer: Sequence[str] | None = None,
) -> RedFlagItems:
    """The items of each kind; ``current``, ``groin`` and ``cancer``: the evaluation's
    :func:`current_red_flags`, :func:`groin_series` and :func:`cancer_history` when already
    read (:func:`service.core.readings.read`)."""
    rf = current if current is not None else current_red_flags(f, t)
    emergency: list[Item] = [
        (RED_FLAG_WORDS[k], f"{RED_FLAG_WORDS[k]} ({b.source})")
        for k in EMERGENCY_ITEMS
        if (b := _true(rf, k))
    ]
    ces = f.conditions.get(ConditionKind.CAUDA_EQUINA)
    if ces is not None:
        emergency.append(
            ("cauda equina syndrome recorded", f"cauda equina syndrome Condition ({ces.source})")
        )

    spine: list[Item] = []
    if cancer is None:
        cancer = cancer_history(f, t, rf)
    if cancer:
        spine.append(("cancer history", f"cancer history: {joined(list(cancer))}"))
    spine += [
        (RED_FLAG_WORDS[k], f"{RED_FLAG_WORDS[k]} ({b.source})")
        for k in SPINE_ITEMS
        if (b := _true(rf, k))
    ]
    weak = major_weakness(f, t)
    if weak is not None:
        spine.append((f"major leg weakness (MRC {mrc_grade(f)})", weak))
    counted = len(spine)  # Q4-09: the fragility rule is not one of the counted items
    fragile = _fragility(f, t, rf)
    if fragile is not None:
        spine.append(
            (
                f"possible vertebral fragility fracture ({fragile[1]})",
                f"possible vertebral fragility fracture: {fragile[0]}",
            )
        )

    hip, sides = _hip_items(f, t, rf, groin if groin is not None else groin_series(f))
    trauma = _true(rf, RedFlag.SIGNIFICANT_TRAUMA) is not None
    all_items = len(emergency) + len(spine) + len(hip)
    weakness = f.neuro.get(NeuroSign.MYOTOMAL_WEAKNESS)
    return RedFlagItems(
        emergency=tuple(trace for _, trace in emergency),
        spine=tuple(trace for _, trace in spine),
        hip=tuple(trace for _, trace in hip),
        hip_sides=sides,
        cancer_history=bool(cancer),
        major_weakness=weak is not None,
        fragility_fracture=fragile is not None,
        spine_mri_items=counted,
        trauma_only=trauma and all_items == 1 and not hip,
        urgent_mri=bool(emergency)
        or bool(cancer)
        or weak is not None
        or counted >= t.urgent_mri_spine_items,
        emergency_words=tuple(words for words, _ in emergency),
        spine_words=tuple(words for words, _ in spine),
        hip_words=tuple(words for words, _ in hip),
        mrc_missing=weakness is not None and weakness.value and weakness.mrc_grade is None,
    )


def _hip_items(
    f: Findings,
    t: Thresholds,
    rf: Mapping[RedFlag, BoolFinding],
    groin: Sequence[tuple[Side | None, int, str]],
) -> tuple[list[Item], tuple[Side, ...]]:
    """E4-2, Q4-08, Q4-14, Q5-02, Q5-05, Q6-02, Q10-06, Q11-02: suspected hip fracture or septic
    arthritis, with the sides of the signs that made it (Q4-18: none for weight-bearing alone)."""
    items: list[Item] = []
    sides: set[Side] = set()
    unable = _true(rf, RedFlag.UNABLE_TO_WEIGHT_BEAR)
    if unable is not None:
        items.append(("unable to weight-bear", f"unable to weight-bear ({unable.source})"))
    log_roll = positive_sides(f, SidedTest.LOG_ROLL, replaced=True)
    trauma = _true(rf, RedFlag.SIGNIFICANT_TRAUMA)
    if trauma is not None:
        hurting = [(s, v, src) for s, v, src in groin if v >= t.pain_present_nrs]
        if hurting or log_roll:
            signs = [_groin_words(s, v, src) for s, v, src in hurting]
            signs += _test_words(f, SidedTest.LOG_ROLL, "log roll", log_roll)
            plain = []
            if hurting:
                plain.append("groin pain")
            if log_roll:
                plain.append(f"a painful log roll ({side_words(log_roll)})")
            items.append(
                (
                    f"significant trauma with {' and '.join(plain)}: possible hip fracture",
                    f"significant trauma ({trauma.source}) with {joined(signs)}",
                )
            )
            sides |= {s for s, _, _ in hurting if s is not None} | set(log_roll)
    fever = _true(rf, RedFlag.FEVER)
    if fever is not None:
        severe = [(s, v, src) for s, v, src in groin if v >= t.septic_groin_nrs]
        ir_pain = positive_sides(f, SidedTest.PASSIVE_IR_PAIN, replaced=True)
        replaced_sides, replaced_unsided = painful_replaced_sides(f, t, groin)
        signs = [_groin_words(s, v, src) for s, v, src in severe]
        signs += _test_words(f, SidedTest.PASSIVE_IR_PAIN, "passive IR pain", ir_pain)
        signs += _test_words(f, SidedTest.LOG_ROLL, "log roll", log_roll)
        signs += [f"groin pain on the replaced {s.value} hip" for s in replaced_sides]
        plain = []
        if severe:
            plain.append(f"severe groin pain (NRS {max(v for _, v, _ in severe)})")
        if ir_pain:
            plain.append(f"painful passive internal rotation ({side_words(ir_pain)})")
        if log_roll:
            plain.append(f"a painful log roll ({side_words(log_roll)})")
        if replaced_sides:
            plain.append(f"groin pain on the replaced {side_words(replaced_sides)} hip")
        if replaced_unsided:
            # Q10-06 (conservative reading): a side-less groin pain with a replaced hip whose
            # side is not known counts as a painful replaced hip.
            signs.append("groin pain with a hip replacement (side not recorded)")
            plain.append("groin pain with a hip replacement")
        if signs:
            items.append(
                (
                    f"fever with {' and '.join(plain)}: possible septic arthritis",
                    f"fever ({fever.source}) with {joined(signs)}",
                )
            )
            sides |= {s for s, _, _ in severe if s is not None}
            sides |= set(ir_pain) | set(log_roll) | set(replaced_sides)
    recent = recent_fractures(f, t)
    if recent:
        listed = [
            f"{c.source}, {c.onset.date().isoformat() if c.onset else 'undated'}" for c in recent
        ]
        items.append(
            (
                "recent femoral neck fracture recorded",
                f"femoral-neck fracture Condition ({'; '.join(listed)})",
            )
        )
        # Q5-05, Q6-02, Q4-18: the sides of the recent fracture(s) only, a replaced side
        # included; an old healed fracture on the problem list names no side.
        for c in recent:
            sides |= c.sides
    return items, tuple(s for s in SIDES if s in sides)


def _groin_words(side: Side | None, value: int, source: str) -> str:
    where = f" {side.value}" if side is not None else ""
    return f"groin NRS{where} {value} ({source})"


def recent_fractures(f: Findings, t: Thresholds) -> tuple[ConditionFinding, ...]:
    """Q4-08, Q5-05: the femoral-neck fracture Conditions whose onset is undated, or at most
    90 days [P] before the reference time (all of them without a reference time)."""
    limit = Thresholds.days(t.femoral_neck_fracture_recent_days)
    return tuple(
        c
        for c in condition_records(f, ConditionKind.FEMORAL_NECK_FRACTURE)
        if c.onset is None or f.reference_time is None or f.reference_time - c.onset <= limit
    )


def unrecorded_screen_items(
    f: Findings, t: Thresholds, current: Current | None = None
) -> tuple[str, ...]:
    """E4-4, Q4-31: the screen items not recorded (true or false, current), in words.

    A malignancy Condition records the cancer history (it makes it true, Q4-03)."""
    rf = current if current is not None else current_red_flags(f, t)
    missing = []
    for item in SCREEN_ITEMS:
        if item in rf:
            continue
        if item is RedFlag.CANCER_HISTORY and ConditionKind.MALIGNANCY in f.conditions:
            continue
        missing.append(RED_FLAG_WORDS[item])
    return tuple(missing)


# --- the flags --------------------------------------------------------------------------------


def _kind(name: str, items: tuple[str, ...], recorded: str) -> Flag:
    if items:
        return Flag(name, Tri.TRUE, joined(list(items)))
    return Flag(name, Tri.UNKNOWN, f"none true ({recorded}); never false")


def _recorded(f: Findings, t: Thresholds, kinds: tuple[RedFlag, ...], rf: Current | None) -> str:
    if rf is None:
        rf = current_red_flags(f, t)
    return f"{sum(1 for k in kinds if k in rf)} of {len(kinds)} recorded"


def red_flag_emergency(
    f: Findings, t: Thresholds, items: RedFlagItems, current: Current | None = None
) -> Flag:
    """§2 RED_FLAG_EMERGENCY (E4-3): saddle anaesthesia, bladder dysfunction, faecal
    incontinence, progressive motor deficit or a cauda equina Condition. Evidence: [V2]/[P]."""
    return _kind("RED_FLAG_EMERGENCY", items.emergency, _recorded(f, t, EMERGENCY_ITEMS, current))


def red_flag_spine(
    f: Findings, t: Thresholds, items: RedFlagItems, current: Current | None = None
) -> Flag:
    """§2 RED_FLAG_SPINE (E4-3, Q4-09, Q10-08): cancer history (incl. a malignancy Condition),
    fever, weight loss, IVDU/immunosuppression, significant trauma, myotomal weakness MRC ≤ 3
    [P], or a possible fragility fracture (age ≥ 70 [P]). Evidence: [P; M S48]."""
    kinds = (RedFlag.CANCER_HISTORY, *SPINE_ITEMS)
    flag = _kind("RED_FLAG_SPINE", items.spine, _recorded(f, t, kinds, current))
    if items.mrc_missing and flag.value is not Tri.TRUE:
        # Conservative reading of E4-3/Q4-07: weakness without a grade is not a red flag by
        # itself (the rule needs MRC ≤ 3), but the trace says the grade would decide it.
        flag = Flag(
            flag.name,
            flag.value,
            f"{flag.basis}; myotomal weakness recorded without an MRC grade (≤ "
            f"{number(t.major_weakness_mrc)} would be a red flag)",
        )
    return flag


def red_flag_hip(
    f: Findings, t: Thresholds, items: RedFlagItems, current: Current | None = None
) -> Flag:
    """§2 RED_FLAG_HIP (E4-2, Q4-08, Q4-14, Q10-06): unable to weight-bear; trauma with groin
    pain or log roll +; fever with groin NRS ≥ 7 [P], passive IR pain + or log roll + (or groin
    pain on a replaced side); a recent femoral-neck fracture Condition. Evidence: [V S44; P]."""
    kinds = (RedFlag.UNABLE_TO_WEIGHT_BEAR, RedFlag.SIGNIFICANT_TRAUMA, RedFlag.FEVER)
    return _kind("RED_FLAG_HIP", items.hip, _recorded(f, t, kinds, current))


def red_flag(emergency: Flag, spine: Flag, hip: Flag) -> Flag:
    """§2 RED_FLAG: any kind true; never false."""
    true = [k.name for k in (emergency, spine, hip) if k.value is Tri.TRUE]
    if true:
        return Flag("RED_FLAG", Tri.TRUE, ", ".join(true))
    return Flag("RED_FLAG", Tri.UNKNOWN, "no red-flag kind true; never false")


def red_flag_screen_complete(
    f: Findings, t: Thresholds, unrecorded: tuple[str, ...] | None = None
) -> Flag:
    """§2 RED_FLAG_SCREEN_COMPLETE (E4-4, Q4-31): the seven screen items all recorded (true or
    false, current). False names the unrecorded items (``unrecorded``: the evaluation's
    :func:`unrecorded_screen_items` when already read). Evidence: [M S47, S48]."""
    missing = unrecorded if unrecorded is not None else unrecorded_screen_items(f, t)
    if missing:
        return Flag("RED_FLAG_SCREEN_COMPLETE", Tri.FALSE, f"not recorded: {', '.join(missing)}")
    return Flag(
        "RED_FLAG_SCREEN_COMPLETE",
        Tri.TRUE,
        "recorded: " + ", ".join(RED_FLAG_WORDS[k] for k in SCREEN_ITEMS),
    )
