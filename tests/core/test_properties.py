"""Properties of evaluate() over generated Findings (clinical-spec.md §0.3, §0.4): determinism,
red flags override everything, and the invariants every Assessment keeps."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from service.core import (
    BoolFinding,
    Category,
    ConditionFinding,
    ConditionKind,
    Findings,
    ImagingFinding,
    Measurement,
    Motion,
    NeuroSign,
    PainLocation,
    PainReading,
    PainSeries,
    PainSite,
    Radiographic,
    RedFlag,
    Side,
    SidedTest,
    Treatment,
    TreatmentKind,
    Tri,
    UnsidedTest,
    evaluate,
)
from service.core import TestFinding as SpecialTest
from service.core import TestResult as Result
from service.core.summary import SUCCESS_CRITERION
from tests.core.builders import RULE_SET

SETTINGS = settings(max_examples=150, deadline=None)
# E4-3 (malignancy: cancer history) and Q4-08 (recent femoral-neck fracture) are red flags too.
RED_CONDITIONS = (
    ConditionKind.CAUDA_EQUINA,
    ConditionKind.MALIGNANCY,
    ConditionKind.FEMORAL_NECK_FRACTURE,
)
NON_RED_CONDITIONS = [k for k in ConditionKind if k not in RED_CONDITIONS]
#: Q10-08: long-term corticosteroids make a red flag only with age ≥ 70.
RED_FLAG_INPUTS = [r for r in RedFlag if r is not RedFlag.LONG_TERM_CORTICOSTEROIDS]


def decimals(low: int, high: int) -> st.SearchStrategy[Decimal]:
    return st.decimals(low, high, places=1, allow_nan=False, allow_infinity=False)


def measurements(low: int, high: int) -> st.SearchStrategy[Measurement]:
    return st.builds(
        Measurement,
        decimals(low, high),
        st.sampled_from(["Observation/a", "Observation/b"]),
        st.sampled_from([None, "supine", "seated"]),
    )


times = st.one_of(
    st.none(),
    st.integers(0, 60).map(lambda n: datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=n)),
)
readings = st.builds(PainReading, st.integers(0, 10), times, st.just("Observation/nrs"))
series = st.builds(
    PainSeries,
    st.one_of(st.none(), st.sampled_from(PainSite)),
    st.one_of(st.none(), st.sampled_from(Side)),
    st.lists(readings, min_size=1, max_size=3).map(tuple),
    st.one_of(st.none(), st.just("http://example.org|knee")),
)
tests_found = st.builds(
    SpecialTest,
    st.sampled_from(Result),
    st.just("Observation/t"),
    st.frozensets(st.sampled_from(PainLocation), max_size=2),
)
bools = st.builds(BoolFinding, st.booleans(), st.just("Observation/b"))
sides = st.sampled_from(Side)


@st.composite
def findings(draw: st.DrawFn) -> Findings:
    """Findings with no true red flag (red-flag inputs, when present, are all false)."""
    return Findings(
        rom=draw(st.dictionaries(st.tuples(st.sampled_from(Motion), sides), measurements(-20, 90))),
        contracture_angle=draw(st.dictionaries(sides, measurements(0, 90))),
        kl_grade=draw(
            st.dictionaries(
                sides, st.builds(Measurement, st.integers(0, 4).map(Decimal), st.just("O/kl"))
            )
        ),
        sided_tests=draw(
            st.dictionaries(st.tuples(st.sampled_from(SidedTest), sides), tests_found)
        ),
        unsided_tests=draw(st.dictionaries(st.sampled_from(UnsidedTest), tests_found)),
        pain=tuple(draw(st.lists(series, max_size=4))),
        odi=draw(st.one_of(st.none(), measurements(0, 100))),
        radiographic=draw(st.dictionaries(st.sampled_from(Radiographic), measurements(-30, 110))),
        lumbar_imaging=draw(
            st.dictionaries(st.sampled_from(ImagingFinding), st.just("Observation/img"))
        ),
        neuro=draw(st.dictionaries(st.sampled_from(NeuroSign), bools)),
        red_flags=draw(
            st.dictionaries(st.sampled_from(RedFlag), st.just(BoolFinding(False, "Observation/rf")))
        ),
        ia_nrs_pre=draw(st.one_of(st.none(), measurements(0, 10))),
        ia_nrs_post=draw(st.one_of(st.none(), measurements(0, 10))),
        ia_relief_pct=draw(st.one_of(st.none(), measurements(-100, 100))),
        treatments=tuple(
            draw(
                st.lists(
                    st.builds(Treatment, st.sampled_from(TreatmentKind), times, st.just("P/1")),
                    max_size=2,
                )
            )
        ),
        treatments_denied=draw(st.dictionaries(st.sampled_from(TreatmentKind), st.just("O/d"))),
        conditions={
            k: ConditionFinding(k, f"Condition/{k.value}")
            for k in draw(st.frozensets(st.sampled_from(NON_RED_CONDITIONS)))
        },
    )


@SETTINGS
@given(findings())
def test_evaluate_is_deterministic_equal_findings_give_equal_assessments(f: Findings) -> None:
    copy = dataclasses.replace(f)
    assert copy is not f and copy == f
    first, second = evaluate(f, RULE_SET), evaluate(copy, RULE_SET)
    assert first == second
    assert first.summary == second.summary
    assert first.trace == second.trace


@SETTINGS
@given(findings(), st.sampled_from(RED_FLAG_INPUTS))
def test_adding_a_true_red_flag_to_any_findings_yields_red_flag(f: Findings, red: RedFlag) -> None:
    flagged = dataclasses.replace(
        f, red_flags={**f.red_flags, red: BoolFinding(True, "Observation/red")}
    )
    a = evaluate(flagged, RULE_SET)
    assert a.category is Category.RED_FLAG
    assert a.rule == "R1"
    # E4-2, E4-3, Q4-09: the urgent evaluation first; the urgent MRI and hip imaging as the
    # red-flag kinds require; nothing else.
    codes = [r.code for r in a.recommendations]
    assert codes[0] == "rec-urgent-evaluation"
    assert set(codes) <= {
        "rec-urgent-evaluation",
        "rec-mri-lumbar-urgent",
        "rec-imaging-hip-urgent",
    }
    assert not any(c.kind == "priority" for c in a.conclusions)


@SETTINGS
@given(findings())
def test_every_assessment_keeps_the_output_invariants(f: Findings) -> None:
    a = evaluate(f, RULE_SET)
    assert a.category is not Category.RED_FLAG  # no true red flag was generated
    assert a.conclusions[0].kind == "category"
    assert a.conclusions[0].code == a.category.value
    assert (a.subtype is not None) == (a.category is Category.SECONDARY)
    codes = [r.code for r in a.recommendations]
    assert len(codes) == len(set(codes))
    assert all(flag.value in set(Tri) for flag in a.flags.values())
    assert a.flags["RED_FLAG"].value is Tri.UNKNOWN
    assert SUCCESS_CRITERION in a.summary
    # E4-21: no plan only for NO_FINDINGS, which says so (§5.1); never "no action".
    assert (not codes) == (a.category is Category.NO_FINDINGS)
    assert "no action" not in a.summary.lower()
    assert a.summary.startswith(a.lead)  # Q4-44
    # E4-14, E4-15: retired codes never; §5.3: rec-collect-missing-data last.
    assert not {"rec-diagnostic-lumbar-block", "rec-imaging-spinopelvic"} & set(codes)
    if a.category is Category.INSUFFICIENT_DATA:
        assert codes[-1] == "rec-collect-missing-data"
        assert a.recommendations[-1].missing or "no hip–spine pattern" in (
            a.recommendations[-1].instruction
        )


MAPPING_FIELDS = (
    "rom",
    "contracture_angle",
    "kl_grade",
    "sided_tests",
    "unsided_tests",
    "radiographic",
    "lumbar_imaging",
    "neuro",
    "red_flags",
    "treatments_denied",
    "conditions",
)


@SETTINGS
@given(findings())
def test_the_order_in_which_the_adapter_filled_a_mapping_does_not_matter(f: Findings) -> None:
    changes: dict[str, Any] = {
        name: dict(reversed(list(getattr(f, name).items()))) for name in MAPPING_FIELDS
    }
    reordered = dataclasses.replace(f, **changes)
    assert reordered == f
    assert evaluate(reordered, RULE_SET) == evaluate(f, RULE_SET)
