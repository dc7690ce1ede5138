"""Derived flags (clinical-spec.md §2), one pure function per flag, in the table's order.

Each returns ``Flag(name, value, basis)``: the true-condition is tested first (so a flag whose
true- and false-conditions both hold is true), then the false-condition, else UNKNOWN.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction

from service.core.assessment import Flag
from service.core.classifications import PiLl
from service.core.evidence import (
    ABNORMAL_IMAGING,
    EMERGENCY_RED_FLAGS,
    HIP_CONDITIONS,
    SIDES,
    conditions_present,
    faber_with,
    neuro_signs,
    recorded_sides,
    tests_with,
)
from service.core.findings import (
    HIP_TREATMENTS,
    LUMBAR_TREATMENTS,
    SIJ_TESTS,
    ConditionKind,
    Findings,
    ImagingFinding,
    Motion,
    NeuroSign,
    PainLocation,
    PainSite,
    RedFlag,
    SidedTest,
    TestResult,
    UnsidedTest,
)
from service.core.measures import KlMax, Relief
from service.core.pain import any_pain, site_pain, treatment_failed
from service.core.thresholds import (
    HIP_OA_KL_MIN,
    HIP_SEVERE_KL_MIN,
    PI_LL_MALALIGNMENT_DEG,
    RESTRICTED_IR_DEG,
    SIJ_CLUSTER_MIN,
    Thresholds,
)
from service.core.tri import Tri, any_of, is_true, known_false, not_true
from service.core.wording import joined, measured, number

# Flags never named as "unknown" (summary, rec-collect-missing-data): the red flags are never
# false, IA_STRONG / IA_NEG repeat IA_POS's one input, ANY_PAIN is never unknown.
QUIET_WHEN_UNKNOWN = frozenset(
    {"RED_FLAG", "RED_FLAG_EMERGENCY", "IA_STRONG", "IA_NEG", "ANY_PAIN"}
)


def lbp(f: Findings, t: Thresholds) -> Flag:
    return site_pain("LBP", f, PainSite.LOW_BACK, t, f.conditions.get(ConditionKind.LOW_BACK_PAIN))


def groin_pain(f: Findings, t: Thresholds) -> Flag:
    return site_pain("GROIN_PAIN", f, PainSite.GROIN, t)


def _red(name: str, f: Findings, kinds: Iterable[RedFlag]) -> Flag:
    kinds = list(kinds)
    positive = [
        f"{k.value} ({b.source})" for k in kinds if (b := f.red_flags.get(k)) and b.value
    ] + conditions_present(f, [ConditionKind.CAUDA_EQUINA])
    if positive:
        return Flag(name, Tri.TRUE, joined(positive))
    recorded = sum(1 for k in kinds if k in f.red_flags)
    return Flag(name, Tri.UNKNOWN, f"none true ({recorded} of {len(kinds)} recorded); never false")


def red_flag(f: Findings) -> Flag:
    """Any red-flag input true or a cauda equina Condition; never false (§2)."""
    return _red("RED_FLAG", f, RedFlag)


def red_flag_emergency(f: Findings) -> Flag:
    return _red("RED_FLAG_EMERGENCY", f, sorted(EMERGENCY_RED_FLAGS, key=lambda r: r.value))


def hip_path(f: Findings, kl: KlMax) -> Flag:
    high = [measured(f"KL {s.value}", m) for s, m in kl.sides if m.value >= HIP_OA_KL_MIN]
    cond = conditions_present(f, HIP_CONDITIONS)
    if high or cond:
        return Flag(
            "HIP_PATH", Tri.TRUE, f"{joined(high + cond)} (KL ≥ {HIP_OA_KL_MIN} or Condition)"
        )
    if kl.both_recorded:
        return Flag("HIP_PATH", Tri.FALSE, f"{kl.text} (< {HIP_OA_KL_MIN}), no hip Condition")
    return Flag("HIP_PATH", Tri.UNKNOWN, f"{kl.text}; KL not recorded on both sides")


def hip_severe(kl: KlMax) -> Flag:
    high = [measured(f"KL {s.value}", m) for s, m in kl.sides if m.value >= HIP_SEVERE_KL_MIN]
    if high:
        return Flag("HIP_SEVERE", Tri.TRUE, joined(high) + f" (≥ {HIP_SEVERE_KL_MIN})")
    if kl.both_recorded:
        return Flag("HIP_SEVERE", Tri.FALSE, f"{kl.text} (< {HIP_SEVERE_KL_MIN} on both sides)")
    return Flag("HIP_SEVERE", Tri.UNKNOWN, f"{kl.text}; KL not recorded on both sides")


def restricted_ir(f: Findings) -> Flag:
    ir = {s: m for s in SIDES if (m := f.rom.get((Motion.INTERNAL_ROTATION, s))) is not None}
    text = joined([measured(f"IR {s.value}", m, "°") for s, m in ir.items()], "IR not recorded")
    if any(m.value < RESTRICTED_IR_DEG for m in ir.values()):
        return Flag("RESTRICTED_IR", Tri.TRUE, f"{text} (< {RESTRICTED_IR_DEG}° on a side)")
    if len(ir) == 2:
        return Flag("RESTRICTED_IR", Tri.FALSE, f"{text} (≥ {RESTRICTED_IR_DEG}° on both sides)")
    return Flag("RESTRICTED_IR", Tri.UNKNOWN, f"{text}; IR not recorded on both sides")


def rot_asymmetry(f: Findings, t: Thresholds) -> Flag:
    """Sides compared only within one ``method``; total rotation only when all four share it."""
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


def hip_signs(restricted: Flag, asymmetry: Flag, provocative: Flag, groin: Flag) -> Flag:
    parts = [restricted, asymmetry, provocative, groin]
    text = ", ".join(f"{p.name} {p.value.value}" for p in parts)
    if any(is_true(p.value) for p in parts):
        return Flag("HIP_SIGNS", Tri.TRUE, text)
    if all(known_false(p.value) for p in parts[:3]) and not_true(groin.value):
        return Flag("HIP_SIGNS", Tri.FALSE, text)
    return Flag("HIP_SIGNS", Tri.UNKNOWN, text)


def hip_ext_deficit(f: Findings, t: Thresholds) -> Flag:
    ext = {s: m for s in SIDES if (m := f.rom.get((Motion.EXTENSION, s))) is not None}
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
    if len(thomas_neg) == 2:
        return Flag("HIP_EXT_DEFICIT", Tri.FALSE, joined(thomas_neg))
    if len(ext) == 2:  # both > threshold, else a true-part above
        text = joined([measured(f"extension {s.value}", m, "°") for s, m in ext.items()])
        return Flag("HIP_EXT_DEFICIT", Tri.FALSE, f"{text} (> {number(t.extension_deficit_deg)}°)")
    return Flag(
        "HIP_EXT_DEFICIT", Tri.UNKNOWN, "Thomas test or extension not recorded on both sides"
    )


def spine_path(f: Findings, pi_ll: PiLl | None) -> Flag:
    """False: imaging normal and PI−LL not > 10° (≤ 10° or not measured, §0.2 "not true")."""
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


def radicular(f: Findings) -> Flag:
    positive = tests_with(f, SidedTest.SLR, TestResult.POSITIVE)
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
        return Flag("RADICULAR", Tri.TRUE, joined(positive))
    negative = tests_with(f, SidedTest.SLR, TestResult.NEGATIVE)
    if negative:  # SLR tested, negative on every side tested (a + would be true above)
        return Flag("RADICULAR", Tri.FALSE, f"{joined(negative)}; no other radicular sign true")
    return Flag("RADICULAR", Tri.UNKNOWN, "SLR not recorded; no radicular sign true")


def motor_deficit(f: Findings) -> Flag:
    signs = (NeuroSign.MYOTOMAL_WEAKNESS, NeuroSign.MYELOPATHY_SIGNS)
    positive = neuro_signs(f, signs, True)
    if positive:
        return Flag("MOTOR_DEFICIT", Tri.TRUE, joined(positive))
    negative = neuro_signs(f, signs, False)
    if len(negative) == 2:
        return Flag("MOTOR_DEFICIT", Tri.FALSE, joined(negative))
    return Flag("MOTOR_DEFICIT", Tri.UNKNOWN, f"{joined(negative, 'neither')} recorded false")


def spine_signs(rad: Flag, motor: Flag) -> Flag:
    text = f"RADICULAR {rad.value.value}, MOTOR_DEFICIT {motor.value.value}"
    value = any_of((rad.value, motor.value))
    if value is Tri.TRUE:
        return Flag("SPINE_SIGNS", Tri.TRUE, text)
    if known_false(rad.value) and not_true(motor.value):
        return Flag("SPINE_SIGNS", Tri.FALSE, text)
    return Flag("SPINE_SIGNS", Tri.UNKNOWN, text)


def sij_signs(f: Findings, groin: Flag) -> Flag:
    results = {t: tf.result for t in SIJ_TESTS if (tf := f.unsided_tests.get(t)) is not None}
    pos = sorted(t.value for t, r in results.items() if r is TestResult.POSITIVE)
    neg = sorted(t.value for t, r in results.items() if r is TestResult.NEGATIVE)
    posterior = faber_with(f, PainLocation.POSTERIOR)
    text = (
        f"{len(pos)} SIJ test(s) positive ({', '.join(pos) or '-'}), {len(neg)} negative; "
        f"FABER + with posterior pain {posterior.value}; GROIN_PAIN {groin.value.value}"
    )
    if len(pos) >= SIJ_CLUSTER_MIN or (is_true(posterior) and not_true(groin.value)):
        return Flag("SIJ_SIGNS", Tri.TRUE, text)
    if len(neg) >= SIJ_CLUSTER_MIN and known_false(posterior):
        return Flag("SIJ_SIGNS", Tri.FALSE, text)
    return Flag("SIJ_SIGNS", Tri.UNKNOWN, text)


def spine_tx_failed(f: Findings, t: Thresholds) -> Flag:
    return treatment_failed("SPINE_TX_FAILED", f, LUMBAR_TREATMENTS, t)


def hip_tx_failed(f: Findings, t: Thresholds) -> Flag:
    return treatment_failed("HIP_TX_FAILED", f, HIP_TREATMENTS, t)


def _ia(name: str, relief: Relief | None, positive_at: Decimal, below: bool) -> Flag:
    if relief is None:
        return Flag(name, Tri.UNKNOWN, "IA relief unknown")
    is_at_least = relief.value >= Fraction(positive_at)
    op = "<" if below else "≥"
    holds = not is_at_least if below else is_at_least
    text = f"{relief.basis} ({'' if holds else 'not '}{op} {number(positive_at)} %)"
    return Flag(name, Tri.of(holds), text)


def ia_pos(relief: Relief | None, t: Thresholds) -> Flag:
    return _ia("IA_POS", relief, t.ia_positive_pct, below=False)


def ia_strong(relief: Relief | None, t: Thresholds) -> Flag:
    return _ia("IA_STRONG", relief, t.ia_strong_pct, below=False)


def ia_neg(relief: Relief | None, t: Thresholds) -> Flag:
    return _ia("IA_NEG", relief, t.ia_positive_pct, below=True)


def derive_flags(
    f: Findings, t: Thresholds, kl: KlMax, relief: Relief | None, pi_ll: PiLl | None
) -> dict[str, Flag]:
    """Every §2 flag, in the table's order (plus ANY_PAIN, which R11 reads)."""
    groin = groin_pain(f, t)
    ir, asym, prov = restricted_ir(f), rot_asymmetry(f, t), hip_provocative(f)
    rad, motor = radicular(f), motor_deficit(f)
    ordered = [
        lbp(f, t),
        groin,
        red_flag(f),
        red_flag_emergency(f),
        hip_path(f, kl),
        hip_severe(kl),
        ir,
        asym,
        prov,
        hip_signs(ir, asym, prov, groin),
        hip_ext_deficit(f, t),
        spine_path(f, pi_ll),
        rad,
        motor,
        spine_signs(rad, motor),
        sij_signs(f, groin),
        ia_pos(relief, t),
        ia_strong(relief, t),
        ia_neg(relief, t),
        spine_tx_failed(f, t),
        hip_tx_failed(f, t),
        any_pain(f, t),
    ]
    return {flag.name: flag for flag in ordered}
