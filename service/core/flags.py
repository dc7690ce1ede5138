"""Derived flags (clinical-spec.md §2), one pure function per flag, in the table's order.

Each returns ``Flag(name, value, basis)``: the true-condition is tested first (so a flag whose
true- and false-conditions both hold is true), then the false-condition, else UNKNOWN.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from service.core.assessment import Flag
from service.core.classifications import PiLl
from service.core.evidence import (
    ABNORMAL_IMAGING,
    SIDES,
    conditions_present,
    faber_with,
    native_hip_conditions,
    neuro_signs,
    positive_sides,
    recorded_sides,
    tests_with,
)
from service.core.findings import (
    SIJ_TESTS,
    ConditionKind,
    Findings,
    ImagingFinding,
    Motion,
    NeuroSign,
    PainLocation,
    PainSite,
    Side,
    SidedTest,
    TestFinding,
    TestResult,
    UnsidedTest,
)
from service.core.measures import KlMax, Relief
from service.core.pain import any_pain, site_pain
from service.core.precautions import mt_caution
from service.core.readings import Readings, read
from service.core.red_flags import (
    red_flag,
    red_flag_emergency,
    red_flag_hip,
    red_flag_screen_complete,
    red_flag_spine,
)
from service.core.thresholds import (
    HIP_OA_KL_MIN,
    HIP_SEVERE_KL_MIN,
    PI_LL_MALALIGNMENT_DEG,
    RESTRICTED_IR_DEG,
    SIJ_CLUSTER_MIN,
    SLR_RADICULAR_MAX_DEG,
    SLR_RADICULAR_MIN_DEG,
    Thresholds,
)
from service.core.treatment_failure import conservative_tx_failed, hip_tx_failed, spine_tx_failed
from service.core.tri import Tri, any_of, is_true, known_false, not_true
from service.core.wording import joined, measured, number

# Flags never named as "unknown" (summary, rec-collect-missing-data): the red flags are never
# false, IA_STRONG / IA_NEG repeat IA_POS's one input, ANY_PAIN is never unknown.
QUIET_WHEN_UNKNOWN = frozenset(
    {
        "RED_FLAG",
        "RED_FLAG_EMERGENCY",
        "RED_FLAG_SPINE",
        "RED_FLAG_HIP",
        "MT_CAUTION",
        "IA_STRONG",
        "IA_NEG",
        "ANY_PAIN",
    }
)


def lbp(f: Findings, t: Thresholds) -> Flag:
    """§2 LBP: latest low-back NRS ≥ 1 [P], or a low back pain Condition."""
    return site_pain("LBP", f, PainSite.LOW_BACK, t, f.conditions.get(ConditionKind.LOW_BACK_PAIN))


def groin_pain(f: Findings, t: Thresholds) -> Flag:
    """§2 GROIN_PAIN: latest groin NRS ≥ 1 (the row has no [P]; the value follows the tunable
    pain-present threshold, §7 "LBP present NRS ≥ 1 [P]", so one setting says when pain is
    present at any site: thresholds.py). Q4-13: the groin pain of a replaced side is not
    hip evidence (RED_FLAG_HIP and the painful-replaced-hip referral read it, Q5-02, Q10-06)."""
    return site_pain("GROIN_PAIN", f, PainSite.GROIN, t, excluded_sides=f.replaced_sides)


def hip_path(f: Findings, kl: KlMax) -> Flag:
    """§2 HIP_PATH: KL ≥ 2 on a recorded side [V S17], or a hip OA / FAI / labral / AVN
    Condition. Q4-12: a replaced side counts as KL < 2; Q4-13: its hip Condition is no evidence."""
    high = [measured(f"KL {s.value}", m) for s, m in kl.sides if m.value >= HIP_OA_KL_MIN]
    cond = native_hip_conditions(f)
    if high or cond:
        return Flag(
            "HIP_PATH", Tri.TRUE, f"{joined(high + cond)} (KL ≥ {HIP_OA_KL_MIN} or Condition)"
        )
    if kl.both_recorded:
        return Flag("HIP_PATH", Tri.FALSE, f"{kl.text} (< {HIP_OA_KL_MIN}), no hip Condition")
    return Flag("HIP_PATH", Tri.UNKNOWN, f"{kl.text}; KL not recorded on both sides")


def hip_severe(kl: KlMax) -> Flag:
    """§2 HIP_SEVERE: KL ≥ 3 on a recorded side [V S6]; a replaced side counts as < 3 (Q4-12)."""
    high = [measured(f"KL {s.value}", m) for s, m in kl.sides if m.value >= HIP_SEVERE_KL_MIN]
    if high:
        return Flag("HIP_SEVERE", Tri.TRUE, joined(high) + f" (≥ {HIP_SEVERE_KL_MIN})")
    if kl.both_recorded:
        return Flag("HIP_SEVERE", Tri.FALSE, f"{kl.text} (< {HIP_SEVERE_KL_MIN} on both sides)")
    return Flag("HIP_SEVERE", Tri.UNKNOWN, f"{kl.text}; KL not recorded on both sides")


def _replaced_text(f: Findings) -> list[str]:
    return [f"{s.value} hip replaced" for s in SIDES if s in f.replaced_sides]


def restricted_ir(f: Findings) -> Flag:
    """§2 RESTRICTED_IR: IR < 15° on a side [V S16]; false when ≥ 15° on both sides, a replaced
    side counting as ≥ 15° (Q4-12)."""
    ir = {
        s: m
        for s in SIDES
        if s not in f.replaced_sides and (m := f.rom.get((Motion.INTERNAL_ROTATION, s)))
    }
    parts = [measured(f"IR {s.value}", m, "°") for s, m in ir.items()] + _replaced_text(f)
    text = joined(parts, "IR not recorded")
    if any(m.value < RESTRICTED_IR_DEG for m in ir.values()):
        return Flag("RESTRICTED_IR", Tri.TRUE, f"{text} (< {RESTRICTED_IR_DEG}° on a side)")
    if len(set(ir) | f.replaced_sides) == 2:
        return Flag("RESTRICTED_IR", Tri.FALSE, f"{text} (≥ {RESTRICTED_IR_DEG}° on both sides)")
    return Flag("RESTRICTED_IR", Tri.UNKNOWN, f"{text}; IR not recorded on both sides")


def rot_asymmetry(f: Findings, t: Thresholds) -> Flag:
    """§2 ROT_ASYMMETRY [P]: sides compared only within one ``method``; total rotation only when
    all four share it. Q4-12: no side is compared with a replaced hip (false)."""
    if f.replaced_sides:
        return Flag(
            "ROT_ASYMMETRY",
            Tri.FALSE,
            f"{joined(_replaced_text(f))}: no side is compared with a replaced hip",
        )
    limit = t.rotation_asymmetry_deg
    irl, irr = (f.rom.get((Motion.INTERNAL_ROTATION, s)) for s in SIDES)
    erl, err = (f.rom.get((Motion.EXTERNAL_ROTATION, s)) for s in SIDES)
    ir_diff = None
    if irl is not None and irr is not None and irl.method == irr.method:
        ir_diff = abs(irl.value - irr.value)
    total_diff = None
    if irl is not None and irr is not None and erl is not None and err is not None:
        if len({irl.method, irr.method, erl.method, err.method}) == 1:
            total_diff = abs((irl.value + erl.value) - (irr.value + err.value))
    parts = []
    if ir_diff is not None:
        parts.append(f"|IR L − IR R| = {number(ir_diff)}°")
    if total_diff is not None:
        parts.append(f"|(IR+ER) L − (IR+ER) R| = {number(total_diff)}°")
    text = joined(parts, "sides not comparable (IR missing on a side or methods differ)")
    if (ir_diff is not None and ir_diff >= limit) or (
        total_diff is not None and total_diff >= limit
    ):
        return Flag("ROT_ASYMMETRY", Tri.TRUE, f"{text} (≥ {number(limit)}°)")
    if ir_diff is not None:
        return Flag("ROT_ASYMMETRY", Tri.FALSE, f"{text} (< {number(limit)}°)")
    return Flag("ROT_ASYMMETRY", Tri.UNKNOWN, text)


def hip_provocative(f: Findings) -> Flag:
    """§2 HIP_PROVOCATIVE [V S16, S17, S18, S22]. A replaced side's tests never reach here
    (E4-9). Conservative reading of Q4-12 (the false-condition is not a "both sides" rule): the
    native hip must itself be tested; only with both hips replaced is the flag false."""
    positive = [
        p
        for test in (
            SidedTest.FADIR,
            SidedTest.SCOUR,
            SidedTest.LOG_ROLL,
            SidedTest.PASSIVE_IR_PAIN,
        )
        for p in tests_with(f, test, TestResult.POSITIVE)
    ]
    groin_faber = faber_with(f, PainLocation.GROIN_ANTERIOR)
    if groin_faber is Tri.TRUE:
        positive.append("test-faber positive with groin/anterior pain")
    if positive:
        return Flag("HIP_PROVOCATIVE", Tri.TRUE, joined(positive))
    if len(f.replaced_sides) == 2:
        return Flag("HIP_PROVOCATIVE", Tri.FALSE, "both hips replaced: no native joint to provoke")
    fadir = recorded_sides(f, SidedTest.FADIR)
    faber = recorded_sides(f, SidedTest.FABER)
    if fadir and known_false(groin_faber):  # FADIR never +; FABER recorded, never + with groin
        negatives = tests_with(f, SidedTest.FADIR, TestResult.NEGATIVE)
        return Flag("HIP_PROVOCATIVE", Tri.FALSE, f"{joined(negatives)}; FABER without groin pain")
    missing = [n for n, c in (("FADIR", fadir), ("FABER", faber)) if not c]
    if faber and not known_false(groin_faber):
        missing.append("pain location of the positive FABER")
    return Flag(
        "HIP_PROVOCATIVE", Tri.UNKNOWN, f"none positive; not recorded: {', '.join(missing)}"
    )


def hip_exam_negative(restricted: Flag, asymmetry: Flag, provocative: Flag) -> Flag:
    """§2 HIP_EXAM_NEGATIVE (E4-10): RESTRICTED_IR, ROT_ASYMMETRY and HIP_PROVOCATIVE all false;
    false when any of them is true. Evidence: as its three parts."""
    parts = (restricted, asymmetry, provocative)
    text = ", ".join(f"{p.name} {p.value.value}" for p in parts)
    if any(is_true(p.value) for p in parts):
        return Flag("HIP_EXAM_NEGATIVE", Tri.FALSE, text)
    if all(known_false(p.value) for p in parts):
        return Flag("HIP_EXAM_NEGATIVE", Tri.TRUE, text)
    return Flag("HIP_EXAM_NEGATIVE", Tri.UNKNOWN, text)


def hip_signs(
    restricted: Flag, asymmetry: Flag, provocative: Flag, groin: Flag, exam_negative: Flag
) -> Flag:
    """§2 HIP_SIGNS (E4-10, Q10-09): RESTRICTED_IR, ROT_ASYMMETRY or HIP_PROVOCATIVE; or
    GROIN_PAIN when the hip was examined (at least one of the three known) and the examination
    is not negative. False when all three are false (groin pain with a negative hip exam is not
    a hip sign); with no hip examination at all, groin pain leaves it unknown."""
    exam = (restricted, asymmetry, provocative)
    text = ", ".join(f"{p.name} {p.value.value}" for p in (*exam, groin, exam_negative))
    if any(is_true(p.value) for p in exam):
        return Flag("HIP_SIGNS", Tri.TRUE, text)
    examined = any(p.value is not Tri.UNKNOWN for p in exam)
    if is_true(groin.value) and examined and not_true(exam_negative.value):
        return Flag("HIP_SIGNS", Tri.TRUE, f"{text} (groin pain with the hip examined)")
    if all(known_false(p.value) for p in exam):
        return Flag("HIP_SIGNS", Tri.FALSE, text)
    return Flag("HIP_SIGNS", Tri.UNKNOWN, text)


def hip_ext_deficit(f: Findings, t: Thresholds) -> Flag:
    """§2 HIP_EXT_DEFICIT [P; concept V S4, S19]. Q5-08: a replaced side counts as Thomas −
    and extension > 0° (its values never reach here, E4-9)."""
    replaced = f.replaced_sides
    ext = {s: m for s in SIDES if s not in replaced and (m := f.rom.get((Motion.EXTENSION, s)))}
    true_parts = tests_with(f, SidedTest.THOMAS, TestResult.POSITIVE)
    true_parts += [
        measured(f"extension {s.value}", m, "°")
        for s, m in ext.items()
        if m.value <= t.extension_deficit_deg
    ]
    true_parts += [
        measured(f"contracture angle {s.value}", m, "°")
        for s in SIDES
        if (m := f.contracture_angle.get(s)) is not None and m.value >= t.contracture_deg
    ]
    if true_parts:
        return Flag("HIP_EXT_DEFICIT", Tri.TRUE, joined(true_parts))
    thomas_neg = tests_with(f, SidedTest.THOMAS, TestResult.NEGATIVE)
    thomas_sides = {s for s in SIDES if (SidedTest.THOMAS, s) in f.sided_tests}
    if len(thomas_sides | replaced) == 2:  # every recorded Thomas is − here
        return Flag("HIP_EXT_DEFICIT", Tri.FALSE, joined(thomas_neg + _replaced_text(f)))
    if len(set(ext) | replaced) == 2:  # both > threshold, else a true-part above
        text = joined(
            [measured(f"extension {s.value}", m, "°") for s, m in ext.items()] + _replaced_text(f)
        )
        return Flag("HIP_EXT_DEFICIT", Tri.FALSE, f"{text} (> {number(t.extension_deficit_deg)}°)")
    return Flag(
        "HIP_EXT_DEFICIT", Tri.UNKNOWN, "Thomas test or extension not recorded on both sides"
    )


def spine_path(f: Findings, pi_ll: PiLl | None) -> Flag:
    """§2 SPINE_PATH [V S6]: imaging stenosis / herniation / spondylolisthesis, PI−LL > 10°, or
    a lumbar stenosis Condition. False: imaging normal and PI−LL not > 10° (≤ 10° or not
    measured, §0.2 "not true"). Q11-01: the findings count whatever their age."""
    true_parts = [
        f"imaging {k.value} ({f.lumbar_imaging[k]})"
        for k in ABNORMAL_IMAGING
        if k in f.lumbar_imaging
    ]
    if pi_ll is not None and pi_ll.value > PI_LL_MALALIGNMENT_DEG:
        true_parts.append(f"{pi_ll.basis} (> {PI_LL_MALALIGNMENT_DEG}°)")
    true_parts += conditions_present(f, [ConditionKind.SPINAL_STENOSIS])
    if true_parts:
        return Flag("SPINE_PATH", Tri.TRUE, joined(true_parts))
    pill = pi_ll.basis if pi_ll is not None else "PI−LL not measured"
    if ImagingFinding.NORMAL in f.lumbar_imaging:
        normal = f.lumbar_imaging[ImagingFinding.NORMAL]
        return Flag("SPINE_PATH", Tri.FALSE, f"lumbar imaging normal ({normal}); {pill}")
    return Flag("SPINE_PATH", Tri.UNKNOWN, f"no lumbar imaging; {pill}")


def slr_radicular(tf: TestFinding) -> bool:
    """E4-7, Q4-20: an SLR + is radicular unless any of its pain locations is groin/anterior or
    lateral and none is posterior or below the knee, or its angle is below 30° or above 70°
    [V S23] (30 and 70 are radicular; an unreadable angle was dropped by the adapter, so only
    the location rule applies; a location-less SLR + is radicular)."""
    locations = tf.pain_locations
    hip_like = {PainLocation.GROIN_ANTERIOR, PainLocation.LATERAL}
    leg = {PainLocation.POSTERIOR, PainLocation.BELOW_KNEE}
    if locations & hip_like and not locations & leg:
        return False
    angle = tf.slr_angle
    return angle is None or SLR_RADICULAR_MIN_DEG <= angle <= SLR_RADICULAR_MAX_DEG


def _slr_words(side: Side, tf: TestFinding) -> str:
    parts = []
    if tf.slr_angle is not None:
        parts.append(f"at {number(tf.slr_angle)}°")
    if tf.pain_locations:
        where = ", ".join(sorted(loc.value.removeprefix("location-") for loc in tf.pain_locations))
        parts.append(f"with {where} pain")
    return " ".join([f"SLR + {side.value}", *parts]) + f" ({tf.source})"


def radicular(f: Findings) -> Flag:
    """§2 RADICULAR (E4-7, E4-23): a radicular SLR + [V S23], crossed SLR +, slump + (any side
    key), neurogenic claudication, dermatomal sensory loss or reflex loss. A non-radicular SLR +
    counts as negative and is named in the basis."""
    slr = {s: tf for s in SIDES if (tf := f.sided_tests.get((SidedTest.SLR, s))) is not None}
    radicular_slr = {
        s: tf for s, tf in slr.items() if tf.result is TestResult.POSITIVE and slr_radicular(tf)
    }
    not_radicular = [
        f"{_slr_words(s, tf)}: not radicular"
        for s, tf in slr.items()
        if tf.result is TestResult.POSITIVE and s not in radicular_slr
    ]
    positive = [_slr_words(s, tf) for s, tf in radicular_slr.items()]
    positive += [
        f"{test.value} positive ({tf.source})"
        for test in (UnsidedTest.SLR_CROSSED, UnsidedTest.SLUMP)
        if (tf := f.unsided_tests.get(test)) is not None and tf.result is TestResult.POSITIVE
    ]
    signs = (
        NeuroSign.NEUROGENIC_CLAUDICATION,
        NeuroSign.DERMATOMAL_SENSORY_LOSS,
        NeuroSign.REFLEX_LOSS,
    )
    positive += neuro_signs(f, signs, True)
    if positive:
        return Flag("RADICULAR", Tri.TRUE, joined(positive + not_radicular))
    negative = tests_with(f, SidedTest.SLR, TestResult.NEGATIVE) + not_radicular
    if negative:  # SLR tested, negative (or non-radicular +) on every side tested
        return Flag("RADICULAR", Tri.FALSE, f"{joined(negative)}; no other radicular sign true")
    return Flag("RADICULAR", Tri.UNKNOWN, "SLR not recorded; no radicular sign true")


def motor_deficit(f: Findings) -> Flag:
    """§2 MOTOR_DEFICIT: myotomal weakness or myelopathy signs; false when both are recorded
    false. Evidence: clinical examination (no threshold)."""
    signs = (NeuroSign.MYOTOMAL_WEAKNESS, NeuroSign.MYELOPATHY_SIGNS)
    positive = neuro_signs(f, signs, True)
    if positive:
        return Flag("MOTOR_DEFICIT", Tri.TRUE, joined(positive))
    negative = neuro_signs(f, signs, False)
    if len(negative) == 2:
        return Flag("MOTOR_DEFICIT", Tri.FALSE, joined(negative))
    return Flag("MOTOR_DEFICIT", Tri.UNKNOWN, f"{joined(negative, 'neither')} recorded false")


def spine_signs(rad: Flag, motor: Flag) -> Flag:
    """§2 SPINE_SIGNS: RADICULAR or MOTOR_DEFICIT; false when RADICULAR is false and
    MOTOR_DEFICIT not true."""
    text = f"RADICULAR {rad.value.value}, MOTOR_DEFICIT {motor.value.value}"
    value = any_of((rad.value, motor.value))
    if value is Tri.TRUE:
        return Flag("SPINE_SIGNS", Tri.TRUE, text)
    if known_false(rad.value) and not_true(motor.value):
        return Flag("SPINE_SIGNS", Tri.FALSE, text)
    return Flag("SPINE_SIGNS", Tri.UNKNOWN, text)


def sij_signs(f: Findings, groin: Flag) -> Flag:
    """§2 SIJ_SIGNS [V S24]: ≥ 3 of the five SIJ tests + (each counted once, positive when the
    latest value of any side key is +, E4-23), or FABER + with posterior pain and GROIN_PAIN not
    true. The basis says which (Q10-12: "cluster" or "FABER with posterior pain")."""
    results = {t: tf.result for t in SIJ_TESTS if (tf := f.unsided_tests.get(t)) is not None}
    pos = sorted(t.value for t, r in results.items() if r is TestResult.POSITIVE)
    neg = sorted(t.value for t, r in results.items() if r is TestResult.NEGATIVE)
    posterior = faber_with(f, PainLocation.POSTERIOR)
    text = (
        f"{len(pos)} SIJ test(s) positive ({', '.join(pos) or '-'}), {len(neg)} negative; "
        f"FABER + with posterior pain {posterior.value}; GROIN_PAIN {groin.value.value}"
    )
    if len(pos) >= SIJ_CLUSTER_MIN:
        return Flag("SIJ_SIGNS", Tri.TRUE, f"cluster: {text}")
    if is_true(posterior) and not_true(groin.value):
        return Flag("SIJ_SIGNS", Tri.TRUE, f"FABER with posterior pain: {text}")
    if len(neg) >= SIJ_CLUSTER_MIN and known_false(posterior):
        return Flag("SIJ_SIGNS", Tri.FALSE, text)
    return Flag("SIJ_SIGNS", Tri.UNKNOWN, text)


def gluteal_signs(f: Findings, t: Thresholds) -> Flag:
    """§2 GLUTEAL_SIGNS (E4-11, Q4-21) [M S41, combination P]: lateral-hip NRS ≥ 1 (any side),
    and greater-trochanter palpation + with single-leg stance 30 s + or FADER-R + on the same
    side. False when at least one lateral-hip series exists and all are 0, or palpation is −
    on every recorded side with at least one side recorded. Not excluded on a replaced side
    (Q5-11)."""
    lateral = [s for s in f.pain if s.site is PainSite.LATERAL_HIP and s.readings]
    present = t.pain_present_nrs
    nrs = [f"lateral-hip NRS {s.latest.value} ({s.latest.source})" for s in lateral]
    hurting = any(s.latest.value >= present for s in lateral)
    palpation = set(positive_sides(f, SidedTest.GREATER_TROCHANTER_PALPATION))
    specific = {
        *positive_sides(f, SidedTest.SINGLE_LEG_STANCE),
        *positive_sides(f, SidedTest.FADER_R),
    }
    same = [s.value for s in SIDES if s in palpation and s in specific]
    recorded = [s for s in SIDES if (SidedTest.GREATER_TROCHANTER_PALPATION, s) in f.sided_tests]
    text = (
        f"{joined(nrs, 'no lateral-hip NRS')}; trochanter palpation + "
        f"{joined([s.value for s in SIDES if s in palpation])}; single-leg stance or FADER-R + "
        f"{joined([s.value for s in SIDES if s in specific])}"
    )
    if hurting and same:
        return Flag("GLUTEAL_SIGNS", Tri.TRUE, f"{text} (same side: {', '.join(same)})")
    if (lateral and not hurting) or (recorded and not palpation):
        return Flag("GLUTEAL_SIGNS", Tri.FALSE, text)
    return Flag("GLUTEAL_SIGNS", Tri.UNKNOWN, text)


def short_episode(f: Findings, t: Thresholds) -> Flag:
    """§2 SHORT_EPISODE (E4-13, Q4-30) [M S43]: the latest symptom duration plus the time from
    its Observation to the reference time is < 6 weeks (an untimed duration is taken as
    recorded); ≥ 6 weeks is false (6 weeks exactly is not short)."""
    duration = f.symptom_duration
    if duration is None:
        return Flag("SHORT_EPISODE", Tri.UNKNOWN, "symptom duration not recorded")
    weeks = duration.value
    text = measured("symptom duration", duration, " wk")
    if duration.time is not None and f.reference_time is not None:
        elapsed = f.reference_time - duration.time
        weeks = weeks + Decimal(elapsed.total_seconds()) / Decimal(7 * 86_400)
        text += f" + {number(Decimal(elapsed.days))} d to the reference time"
    limit = t.short_episode_weeks
    if weeks < limit:
        return Flag("SHORT_EPISODE", Tri.TRUE, f"{text} (< {number(limit)} weeks)")
    return Flag("SHORT_EPISODE", Tri.FALSE, f"{text} (≥ {number(limit)} weeks)")


def _ia(name: str, relief: Relief | None, positive_at: Decimal, below: bool) -> Flag:
    if relief is None:
        return Flag(name, Tri.UNKNOWN, "IA relief unknown")
    is_at_least = relief.value >= Fraction(positive_at)
    op = "<" if below else "≥"
    holds = not is_at_least if below else is_at_least
    text = f"{relief.basis} ({'' if holds else 'not '}{op} {number(positive_at)} %)"
    return Flag(name, Tri.of(holds), text)


def ia_pos(relief: Relief | None, t: Thresholds) -> Flag:
    """§2 IA_POS: relief ≥ 50 % [P; basis V S28–S33] (a stale relief never reaches here, E4-12)."""
    return _ia("IA_POS", relief, t.ia_positive_pct, below=False)


def ia_strong(relief: Relief | None, t: Thresholds) -> Flag:
    """§2 IA_STRONG: relief ≥ 80 % [P; basis V S28–S33]."""
    return _ia("IA_STRONG", relief, t.ia_strong_pct, below=False)


def ia_neg(relief: Relief | None, t: Thresholds) -> Flag:
    """§2 IA_NEG: relief < 50 % [P; basis V S28–S33]."""
    return _ia("IA_NEG", relief, t.ia_positive_pct, below=True)


def derive_flags(
    f: Findings,
    t: Thresholds,
    kl: KlMax,
    relief: Relief | None,
    pi_ll: PiLl | None,
    readings: Readings | None = None,
) -> dict[str, Flag]:
    """Every §2 flag, in the table's order (plus ANY_PAIN, which R11 reads). ``readings``: the
    evaluation's shared readings when already derived (:func:`service.core.readings.read`)."""
    r = readings if readings is not None else read(f, t)
    groin = groin_pain(f, t)
    ir, asym, prov = restricted_ir(f), rot_asymmetry(f, t), hip_provocative(f)
    exam_negative = hip_exam_negative(ir, asym, prov)
    rad, motor = radicular(f), motor_deficit(f)
    emergency = red_flag_emergency(f, t, r.items, r.red_flags)
    spine = red_flag_spine(f, t, r.items, r.red_flags)
    hip = red_flag_hip(f, t, r.items, r.red_flags)
    ordered = [
        lbp(f, t),
        groin,
        red_flag(emergency, spine, hip),
        emergency,
        spine,
        hip,
        red_flag_screen_complete(f, t, r.screen_unrecorded),
        hip_path(f, kl),
        hip_severe(kl),
        ir,
        asym,
        prov,
        exam_negative,
        hip_signs(ir, asym, prov, groin, exam_negative),
        hip_ext_deficit(f, t),
        spine_path(f, pi_ll),
        rad,
        motor,
        spine_signs(rad, motor),
        sij_signs(f, groin),
        gluteal_signs(f, t),
        mt_caution(f, t, r.precautions),
        ia_pos(relief, t),
        ia_strong(relief, t),
        ia_neg(relief, t),
        spine_tx_failed(f, t),
        hip_tx_failed(f, t),
        conservative_tx_failed(f, t),
        short_episode(f, t),
        any_pain(f, t),
    ]
    return {flag.name: flag for flag in ordered}
