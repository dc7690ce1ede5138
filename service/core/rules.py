"""Category rules R1–R12 (clinical-spec.md §4): the first rule whose condition is true wins.

A condition is evaluated in Kleene logic over the flags, with the readings of §0.2: ``X`` is the
flag itself, ``not X`` is its Kleene negation (true only when X is known false) and ``X not
true`` is always known. A rule fires only when its condition is TRUE; an UNKNOWN verdict in the
trace means the rule might fire once the missing data is recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from service.core.assessment import Category, Flag, Subtype, TraceStep
from service.core.classifications import DieboType
from service.core.tri import Tri, all_of, any_of, is_true, known_false, not_true


@dataclass(frozen=True, slots=True)
class RuleInputs:
    """What the rules read: the §2 flags and the Diebo type (R5, priority flags)."""

    flags: Mapping[str, Flag]
    diebo: DieboType | None

    def __getitem__(self, name: str) -> Tri:
        """``X``: the flag as it is."""
        if name == "DIEBO_HIP_SPINE":
            return Tri.UNKNOWN if self.diebo is None else Tri.of(self.diebo is DieboType.HIP_SPINE)
        if name == "IA_RELIEF_KNOWN":
            return Tri.of(self.flags["IA_POS"].value is not Tri.UNKNOWN)
        flag = self.flags.get(name)
        # A fourth-edition flag not derived (yet) reads as unknown (§0.2: missing is unknown).
        return flag.value if flag is not None else Tri.UNKNOWN

    def no(self, name: str) -> Tri:
        """``not X``: X is known false."""
        return ~self[name]

    def not_true(self, name: str) -> Tri:
        """``X not true``: X is false or unknown (always known)."""
        return Tri.of(not_true(self[name]))


@dataclass(frozen=True, slots=True)
class Decision:
    category: Category
    subtype: Subtype | None
    basis: str
    confidence_high: bool = False


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of §4: ``condition`` in Kleene logic, ``decide`` picks the category."""

    id: str
    condition: Callable[[RuleInputs], Tri]
    decide: Callable[[RuleInputs], Decision]
    reads: tuple[str, ...] = ()
    text: str = ""


def _fixed(category: Category, subtype: Subtype | None = None) -> Callable[[RuleInputs], Decision]:
    return lambda i: Decision(category, subtype, "")


def _r4(i: RuleInputs) -> Decision:
    if is_true(i["IA_POS"]):
        strong = is_true(i["IA_STRONG"])
        basis = "IA_POS" + (" and IA_STRONG: confidence high" if strong else "")
        return Decision(Category.SIMPLE_HIP_PRIMARY, None, basis, confidence_high=strong)
    if is_true(any_of((i["SPINE_PATH"], i["SPINE_SIGNS"]))):
        return Decision(
            Category.SIMPLE_SPINE_PRIMARY, None, "IA_NEG and (SPINE_PATH or SPINE_SIGNS)"
        )
    return Decision(Category.INDETERMINATE_NOT_HIP, None, "IA_NEG, no SPINE_PATH or SPINE_SIGNS")


def _r6(i: RuleInputs) -> Decision:
    if is_true(i["HIP_SIGNS"]) and known_false(i["SPINE_SIGNS"]):
        return Decision(Category.SIMPLE_HIP_PRIMARY, None, "HIP_SIGNS and not SPINE_SIGNS")
    if is_true(i["SPINE_SIGNS"]) and known_false(i["HIP_SIGNS"]):
        return Decision(Category.SIMPLE_SPINE_PRIMARY, None, "SPINE_SIGNS and not HIP_SIGNS")
    return Decision(Category.COMPLEX, None, "signs of both, or of neither known")


def _spine_signs_complex(otherwise: Subtype) -> Callable[[RuleInputs], Decision]:
    def decide(i: RuleInputs) -> Decision:
        if is_true(i["SPINE_SIGNS"]):
            return Decision(Category.COMPLEX, None, "SPINE_SIGNS")
        return Decision(Category.SECONDARY, otherwise, "SPINE_SIGNS not true")

    return decide


RULES: tuple[Rule, ...] = (
    Rule("R1", lambda i: i["RED_FLAG"], _fixed(Category.RED_FLAG), ("RED_FLAG",), "RED_FLAG"),
    Rule(
        "R2",
        lambda i: all_of((i["SPINE_TX_FAILED"], any_of((i["HIP_PATH"], i["HIP_SIGNS"])))),
        _fixed(Category.MISDIAGNOSED_HIP_MISSED),
        ("SPINE_TX_FAILED", "HIP_PATH", "HIP_SIGNS"),
        "SPINE_TX_FAILED and (HIP_PATH or HIP_SIGNS)",
    ),
    Rule(
        "R3",
        lambda i: all_of((i["HIP_TX_FAILED"], any_of((i["SPINE_PATH"], i["SPINE_SIGNS"])))),
        _fixed(Category.MISDIAGNOSED_SPINE_MISSED),
        ("HIP_TX_FAILED", "SPINE_PATH", "SPINE_SIGNS"),
        "HIP_TX_FAILED and (SPINE_PATH or SPINE_SIGNS)",
    ),
    Rule(
        "R4",
        lambda i: all_of(
            (
                i["IA_RELIEF_KNOWN"],
                any_of((i["HIP_PATH"], i["HIP_SIGNS"])),
                any_of((i["SPINE_PATH"], i["SPINE_SIGNS"], i["LBP"])),
            )
        ),
        _r4,
        (
            "IA_RELIEF_KNOWN",
            "HIP_PATH",
            "HIP_SIGNS",
            "SPINE_PATH",
            "SPINE_SIGNS",
            "LBP",
            "IA_POS",
            "IA_STRONG",
            "IA_NEG",
        ),
        "IA relief known and (HIP_PATH or HIP_SIGNS) and (SPINE_PATH or SPINE_SIGNS or LBP)",
    ),
    Rule(
        "R5",
        lambda i: any_of(
            (
                all_of(
                    (i["HIP_EXT_DEFICIT"], any_of((i["LBP"], i["SPINE_PATH"], i["SPINE_SIGNS"])))
                ),
                i["DIEBO_HIP_SPINE"],
            )
        ),
        _fixed(Category.SECONDARY, Subtype.STRUCTURAL),
        ("HIP_EXT_DEFICIT", "LBP", "SPINE_PATH", "SPINE_SIGNS", "DIEBO_HIP_SPINE"),
        "(HIP_EXT_DEFICIT and (LBP or SPINE_PATH or SPINE_SIGNS)) or Diebo type HIP_SPINE",
    ),
    Rule(
        "R6",
        lambda i: all_of((i["HIP_PATH"], i["SPINE_PATH"])),
        _r6,
        ("HIP_PATH", "SPINE_PATH", "HIP_SIGNS", "SPINE_SIGNS"),
        "HIP_PATH and SPINE_PATH",
    ),
    Rule(
        "R7",
        lambda i: all_of(
            (i["HIP_PATH"], i.not_true("SPINE_PATH"), any_of((i["LBP"], i["SPINE_SIGNS"])))
        ),
        _spine_signs_complex(Subtype.HIP_DRIVEN),
        ("HIP_PATH", "SPINE_PATH", "LBP", "SPINE_SIGNS"),
        "HIP_PATH and SPINE_PATH not true and (LBP or SPINE_SIGNS)",
    ),
    Rule(
        "R8",
        lambda i: all_of(
            (
                i.not_true("HIP_PATH"),
                i["HIP_SIGNS"],
                any_of((i["LBP"], i["SPINE_PATH"], i["SPINE_SIGNS"])),
            )
        ),
        _spine_signs_complex(Subtype.FUNCTIONAL),
        ("HIP_PATH", "HIP_SIGNS", "LBP", "SPINE_PATH", "SPINE_SIGNS"),
        "HIP_PATH not true and HIP_SIGNS and (LBP or SPINE_PATH or SPINE_SIGNS)",
    ),
    Rule(
        "R9",
        lambda i: all_of(
            (
                any_of((i["SPINE_PATH"], i["SPINE_SIGNS"], i["LBP"])),
                i.not_true("HIP_PATH"),
                i.no("HIP_SIGNS"),
                i.not_true("HIP_EXT_DEFICIT"),
            )
        ),
        _fixed(Category.NOT_HSS_SPINE),
        ("SPINE_PATH", "SPINE_SIGNS", "LBP", "HIP_PATH", "HIP_SIGNS", "HIP_EXT_DEFICIT"),
        "(SPINE_PATH or SPINE_SIGNS or LBP) and HIP_PATH not true and not HIP_SIGNS "
        "and HIP_EXT_DEFICIT not true",
    ),
    Rule(
        "R10",
        lambda i: all_of(
            (
                # Q4-22: lateral hip pain (GLUTEAL_SIGNS) alone is a hip problem too.
                any_of((i["HIP_PATH"], i["HIP_SIGNS"], i["GLUTEAL_SIGNS"])),
                i.no("LBP"),
                i.not_true("SPINE_PATH"),
                i.not_true("SPINE_SIGNS"),
            )
        ),
        _fixed(Category.NOT_HSS_HIP),
        ("HIP_PATH", "HIP_SIGNS", "GLUTEAL_SIGNS", "LBP", "SPINE_PATH", "SPINE_SIGNS"),
        "(HIP_PATH or HIP_SIGNS or GLUTEAL_SIGNS) and not LBP and SPINE_PATH not true and "
        "SPINE_SIGNS not true",
    ),
    Rule(
        "R11",
        lambda i: all_of(
            (
                i.no("LBP"),
                i.no("HIP_SIGNS"),
                i.no("SPINE_SIGNS"),
                i.not_true("HIP_PATH"),
                i.not_true("SPINE_PATH"),
                i.not_true("HIP_EXT_DEFICIT"),
                i.not_true("SIJ_SIGNS"),
                i.not_true("GLUTEAL_SIGNS"),  # E4-11 (Q4-36: it never decides, kept to read)
                i.no("ANY_PAIN"),
            )
        ),
        _fixed(Category.NO_FINDINGS),
        (
            "LBP",
            "HIP_SIGNS",
            "SPINE_SIGNS",
            "HIP_PATH",
            "SPINE_PATH",
            "HIP_EXT_DEFICIT",
            "SIJ_SIGNS",
            "GLUTEAL_SIGNS",
            "ANY_PAIN",
        ),
        "not LBP and not HIP_SIGNS and not SPINE_SIGNS and HIP_PATH, SPINE_PATH, "
        "HIP_EXT_DEFICIT, SIJ_SIGNS, GLUTEAL_SIGNS not true, and no pain series has a latest "
        "value ≥ 1",
    ),
    Rule("R12", lambda i: Tri.TRUE, _fixed(Category.INSUFFICIENT_DATA), (), "otherwise"),
)


def _read(i: RuleInputs, names: tuple[str, ...], seen: dict[str, str]) -> str:
    """``NAME=value, …`` of ``names``; ``seen`` keeps each name's words for the next rules (the
    rules read the same flags again and again)."""
    words = []
    for n in names:
        if (w := seen.get(n)) is None:
            w = seen[n] = f"{n}={i[n].value}"
        words.append(w)
    return ", ".join(words)


def classify(inputs: RuleInputs) -> tuple[Rule, Decision, tuple[TraceStep, ...]]:
    """Walk :data:`RULES` in order; the first rule whose condition is TRUE decides (§4)."""
    steps: list[TraceStep] = []
    seen: dict[str, str] = {}
    for rule in RULES:
        verdict = rule.condition(inputs)
        read = _read(inputs, rule.reads, seen)
        steps.append(
            TraceStep(rule.id, verdict.value, f"{rule.text}: {read}" if read else rule.text)
        )
        if is_true(verdict):
            decision = rule.decide(inputs)
            return rule, decision, tuple(steps)
    raise AssertionError("R12 always fires")  # pragma: no cover
