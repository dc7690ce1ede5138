"""Each §4 rule reads only the flags its ``reads`` lists (issue 9 item 4): the trace prints
exactly those values as the rule's basis, so a rule that read an unlisted flag would decide on
something the trace never shows a clinician."""

from __future__ import annotations

import random

import pytest

from service.core.rules import RULES, Rule
from service.core.tri import Tri, not_true

#: Every name any rule may read: the §2 flags the rules use and the two derived readings.
NAMES = sorted({name for rule in RULES for name in rule.reads} | {"IA_RELIEF_KNOWN"})
VALUES = (Tri.TRUE, Tri.FALSE, Tri.UNKNOWN)


class RecordingInputs:
    """Quacks like :class:`service.core.rules.RuleInputs` and notes every name read."""

    def __init__(self, values: dict[str, Tri]) -> None:
        self.values = values
        self.read: set[str] = set()

    def __getitem__(self, name: str) -> Tri:
        self.read.add(name)
        return self.values.get(name, Tri.UNKNOWN)

    def no(self, name: str) -> Tri:
        return ~self[name]

    def not_true(self, name: str) -> Tri:
        return Tri.of(not_true(self[name]))


def _assignments(count: int) -> list[dict[str, Tri]]:
    rng = random.Random(20261206)
    fixed = [{n: v for n in NAMES} for v in VALUES]
    return fixed + [{n: rng.choice(VALUES) for n in NAMES} for _ in range(count)]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_each_rule_reads_only_the_flags_it_lists(rule: Rule) -> None:
    for values in _assignments(3000):
        inputs = RecordingInputs(values)
        verdict = rule.condition(inputs)  # type: ignore[arg-type]
        if verdict is Tri.TRUE:
            rule.decide(inputs)  # type: ignore[arg-type]
        unlisted = inputs.read - set(rule.reads)
        assert not unlisted, f"{rule.id} read {sorted(unlisted)} (reads lists {rule.reads})"


def test_a_rule_reading_an_unlisted_flag_is_caught() -> None:
    """The check above can fail: a rule that reads LBP without listing it is found."""
    sneaky = Rule("RX", lambda i: i["LBP"], RULES[0].decide, ("RED_FLAG",), "sneaky")
    inputs = RecordingInputs({"LBP": Tri.TRUE})
    sneaky.condition(inputs)  # type: ignore[arg-type]
    assert inputs.read - set(sneaky.reads) == {"LBP"}
