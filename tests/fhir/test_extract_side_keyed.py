"""E4-23 (§1.1, §2): side-optional tests are keyed by side; positive when any key's latest is +.

Third edition read a crossed SLR (or SIJ test) positive on one side and negative, later in the
Bundle, on the other as negative: the later value of the other side overwrote it.
"""

from __future__ import annotations

from service.core.findings import Side, UnsidedTest
from service.core.findings import TestResult as Result
from tests.fhir.extract_builders import NEGATIVE, POSITIVE, extract, hsc, lateral, obs


def _test(code: str, side: str | None, positive: bool, when: str) -> dict[str, object]:
    fields: dict[str, object] = {
        "valueCodeableConcept": POSITIVE if positive else NEGATIVE,
        "effectiveDateTime": when,
    }
    if side is not None:
        fields["bodySite"] = lateral(side, hsc("site-leg-below-knee"))
    return obs(code, **fields)


def test_e4_23_crossed_slr_positive_left_then_negative_right_is_positive() -> None:
    result = extract(
        _test("test-slr-crossed", "left", True, "2024-03-01"),
        _test("test-slr-crossed", "right", False, "2024-03-02"),
    )
    assert result.findings.unsided_tests[UnsidedTest.SLR_CROSSED].result is Result.POSITIVE
    by_side = result.findings.unsided_tests_by_side
    assert by_side[(UnsidedTest.SLR_CROSSED, Side.LEFT)].result is Result.POSITIVE
    assert by_side[(UnsidedTest.SLR_CROSSED, Side.RIGHT)].result is Result.NEGATIVE


def test_e4_23_three_keys_left_right_and_no_side() -> None:
    result = extract(
        _test("test-sij-gaenslen", None, False, "2024-03-03"),
        _test("test-sij-gaenslen", "right", True, "2024-03-01"),
        _test("test-sij-gaenslen", "left", False, "2024-03-02"),
    )
    keys = {k for k in result.findings.unsided_tests_by_side if k[0] is UnsidedTest.SIJ_GAENSLEN}
    assert keys == {
        (UnsidedTest.SIJ_GAENSLEN, None),
        (UnsidedTest.SIJ_GAENSLEN, Side.LEFT),
        (UnsidedTest.SIJ_GAENSLEN, Side.RIGHT),
    }
    assert result.findings.unsided_tests[UnsidedTest.SIJ_GAENSLEN].result is Result.POSITIVE


def test_e4_23_same_key_latest_wins() -> None:
    result = extract(
        _test("test-slump", "left", True, "2024-03-01"),
        _test("test-slump", "left", False, "2024-03-02"),
    )
    assert result.findings.unsided_tests[UnsidedTest.SLUMP].result is Result.NEGATIVE


def test_e4_23_negative_only_when_every_key_is_negative() -> None:
    result = extract(
        _test("test-slump", "left", False, "2024-03-01"),
        _test("test-slump", None, False, "2024-03-02"),
    )
    assert result.findings.unsided_tests[UnsidedTest.SLUMP].result is Result.NEGATIVE
