"""Three-valued logic (clinical-spec.md §0.2): Tri, Kleene AND/OR and the three readings."""

from __future__ import annotations

import pytest

from service.core import Tri, all_of, any_of, is_true, known_false, not_true

T, F, U = Tri.TRUE, Tri.FALSE, Tri.UNKNOWN


@pytest.mark.parametrize("value", list(Tri))
def test_a_tri_has_no_truth_value_so_if_flag_cannot_read_unknown_as_false(value: Tri) -> None:
    with pytest.raises(TypeError):
        bool(value)
    with pytest.raises(TypeError):
        if value:  # pragma: no cover - the condition itself raises
            pass


@pytest.mark.parametrize(("value", "inverted"), [(T, F), (F, T), (U, U)])
def test_negation_keeps_unknown_unknown(value: Tri, inverted: Tri) -> None:
    assert ~value is inverted


@pytest.mark.parametrize(
    ("value", "x", "not_x", "x_not_true"),
    [(T, True, False, False), (F, False, True, True), (U, False, False, True)],
)
def test_the_three_readings_of_section_0_2(
    value: Tri, x: bool, not_x: bool, x_not_true: bool
) -> None:
    assert is_true(value) is x
    assert known_false(value) is not_x
    assert not_true(value) is x_not_true


@pytest.mark.parametrize(
    ("values", "expected"),
    [((), F), ((F, F), F), ((F, U), U), ((U, T), T), ((T, F), T), ((U, U), U)],
)
def test_any_of_is_kleene_or(values: tuple[Tri, ...], expected: Tri) -> None:
    assert any_of(values) is expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [((), T), ((T, T), T), ((T, U), U), ((U, F), F), ((F, T), F), ((U, U), U)],
)
def test_all_of_is_kleene_and(values: tuple[Tri, ...], expected: Tri) -> None:
    assert all_of(values) is expected


def test_tri_of_a_bool_is_always_known() -> None:
    assert Tri.of(True) is T
    assert Tri.of(False) is F
