"""The readings several flags, the recommendation facts and the words share, derived once per
evaluation (issue 14: per-call cost).

The red-flag items, the unrecorded screen items and the precautions used to be derived once for
the §2 flags and again for the recommendation facts, and the current red flags up to ten times.
:func:`read` derives each once; :func:`service.core.evaluate.evaluate` passes the result to
:func:`service.core.flags.derive_flags` and :func:`service.core.rec_facts.facts_of`. Immutable
and built from the Findings and Thresholds of one evaluation only (no cache outlives it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from service.core.findings import BoolFinding, Findings, RedFlag, Side
from service.core.precautions import Precaution, precautions
from service.core.red_flags import (
    RedFlagItems,
    cancer_history,
    current_red_flags,
    groin_series,
    red_flag_items,
    unrecorded_screen_items,
)
from service.core.thresholds import Thresholds


@dataclass(frozen=True, slots=True)
class Readings:
    """One evaluation's shared readings (see the module docstring)."""

    #: The current red-flag Observations (:func:`current_red_flags`).
    red_flags: Mapping[RedFlag, BoolFinding]
    #: Every groin series' latest NRS with its side (:func:`groin_series`).
    groin: tuple[tuple[Side | None, int, str], ...]
    items: RedFlagItems
    screen_unrecorded: tuple[str, ...]
    precautions: tuple[Precaution, ...]


def read(f: Findings, t: Thresholds) -> Readings:
    """Derive the shared readings of ``f`` once."""
    current = MappingProxyType(current_red_flags(f, t))
    groin = tuple(groin_series(f))
    cancer = tuple(cancer_history(f, t, current))
    return Readings(
        red_flags=current,
        groin=groin,
        items=red_flag_items(f, t, current, groin, cancer),
        screen_unrecorded=unrecorded_screen_items(f, t, current),
        precautions=precautions(f, t, cancer),
    )
