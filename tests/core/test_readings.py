"""The shared readings are derived once per evaluation (issue 14: per-call cost), and what the
flags and the facts read from them is what each reader derives on its own."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from service.core import Flag, RedFlag, Side, SidedTest, Thresholds
from service.core import precautions as precautions_module
from service.core import readings as readings_module
from service.core import rec_facts as rec_facts_module
from service.core import red_flags as red_flags_module
from service.core.classifications import pi_minus_ll
from service.core.findings import ConditionKind, PainSite
from service.core.flags import derive_flags
from service.core.measures import ia_relief, kl_max
from service.core.precautions import mt_precautions
from service.core.rec_facts import facts_of
from service.core.red_flags import red_flag_items, unrecorded_screen_items
from tests.core.builders import POS, F, assess, worked_example

#: The readers :func:`service.core.readings.read` derives once, by module that holds them.
COUNTED = {
    red_flags_module: ("current_red_flags", "groin_series", "cancer_history", "red_flag_items"),
    readings_module: (
        "current_red_flags",
        "groin_series",
        "cancer_history",
        "red_flag_items",
        "unrecorded_screen_items",
        "precautions",
    ),
    precautions_module: ("cancer_history", "precautions"),
    rec_facts_module: ("groin_series",),
}


def _chart() -> F:
    return (
        worked_example()
        .red(RedFlag.FEVER)
        .red(RedFlag.SIGNIFICANT_TRAUMA)
        .red(RedFlag.LONG_TERM_CORTICOSTEROIDS)
        .pain(PainSite.GROIN, 8, side=Side.RIGHT)
        .test(SidedTest.LOG_ROLL, right=POS)
        .condition(ConditionKind.OSTEOPOROSIS)
    )


def test_one_evaluation_derives_each_shared_reading_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: Counter[str] = Counter()

    def counting(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return real(*args, **kwargs)

        return wrapper

    real = {n: getattr(m, n) for m, names in COUNTED.items() for n in names}  # before patching
    for module, names in COUNTED.items():
        for name in names:
            monkeypatch.setattr(module, name, counting(name, real[name]))
    a = assess(_chart())
    assert a.category.name == "RED_FLAG"
    assert calls == {
        "current_red_flags": 1,
        "groin_series": 1,
        "cancer_history": 1,
        "red_flag_items": 1,
        "unrecorded_screen_items": 1,
        "precautions": 1,
    }


@pytest.mark.parametrize("chart", [_chart, worked_example, F])
def test_the_shared_readings_are_what_each_reader_gives_alone(chart: Callable[[], F]) -> None:
    f, t = chart().build(), Thresholds()
    r = readings_module.read(f, t)
    assert r.red_flags == red_flags_module.current_red_flags(f, t)
    assert r.items == red_flag_items(f, t)
    assert r.screen_unrecorded == unrecorded_screen_items(f, t)
    assert tuple(w for w, _ in r.precautions) == mt_precautions(f, t)
    kl, relief, pi_ll = kl_max(f), ia_relief(f), pi_minus_ll(f)
    flags = derive_flags(f, t, kl, relief, pi_ll)
    assert derive_flags(f, t, kl, relief, pi_ll, r) == flags
    named = {n: Flag(n, v.value, v.basis) for n, v in flags.items()}
    assert facts_of(f, named, t, r) == facts_of(f, named, t)
