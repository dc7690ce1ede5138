"""Three-valued logic of clinical-spec.md §0.2: every derived flag is true, false or unknown."""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Tri(enum.Enum):
    """A Kleene truth value. Missing input is UNKNOWN, never FALSE."""

    TRUE = "true"
    FALSE = "false"
    UNKNOWN = "unknown"

    @property
    def value(self) -> str:
        """The member's value, as Enum's own, read through a plain property (cheaper per read
        on Python 3.11; the trace writes a few hundred of them per evaluation, issue 14)."""
        return self._value_

    def __bool__(self) -> bool:
        # `if flag:` would silently read UNKNOWN as false; force the reader to say which
        # reading of §0.2 it means.
        raise TypeError("Tri has no truth value: use is_true, known_false or not_true")

    def __invert__(self) -> Tri:
        if self is Tri.TRUE:
            return Tri.FALSE
        if self is Tri.FALSE:
            return Tri.TRUE
        return Tri.UNKNOWN

    @classmethod
    def of(cls, value: bool) -> Tri:
        return cls.TRUE if value else cls.FALSE


def is_true(x: Tri) -> bool:
    """§0.2 "X": X is true."""
    return x is Tri.TRUE


def known_false(x: Tri) -> bool:
    """§0.2 "not X": X is known false."""
    return x is Tri.FALSE


def not_true(x: Tri) -> bool:
    """§0.2 "X not true": X is false or unknown."""
    return x is not Tri.TRUE


def any_of(values: Iterable[Tri]) -> Tri:
    """Kleene OR: true if any is true, false if all are false, else unknown."""
    seen_unknown = False
    for v in values:
        if v is Tri.TRUE:
            return Tri.TRUE
        if v is Tri.UNKNOWN:
            seen_unknown = True
    return Tri.UNKNOWN if seen_unknown else Tri.FALSE


def all_of(values: Iterable[Tri]) -> Tri:
    """Kleene AND: false if any is false, true if all are true, else unknown."""
    seen_unknown = False
    for v in values:
        if v is Tri.FALSE:
            return Tri.FALSE
        if v is Tri.UNKNOWN:
            seen_unknown = True
    return Tri.UNKNOWN if seen_unknown else Tri.TRUE
