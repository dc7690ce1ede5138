"""The names of the §2 derived flags (clinical-spec.md §2; issue 9 item 4).

A :class:`FlagName` is a ``str``: ``flags["LBP"]`` and ``flags[FlagName.LBP]`` find the same flag,
so readers that still use string literals keep working.
"""

from __future__ import annotations

import enum


class FlagName(enum.StrEnum):
    """Every flag :func:`service.core.flags.derive_flags` returns, in the §2 table's order."""

    LBP = "LBP"
    GROIN_PAIN = "GROIN_PAIN"
    RED_FLAG = "RED_FLAG"
    RED_FLAG_EMERGENCY = "RED_FLAG_EMERGENCY"
    RED_FLAG_SPINE = "RED_FLAG_SPINE"
    RED_FLAG_HIP = "RED_FLAG_HIP"
    RED_FLAG_SCREEN_COMPLETE = "RED_FLAG_SCREEN_COMPLETE"
    HIP_PATH = "HIP_PATH"
    HIP_SEVERE = "HIP_SEVERE"
    RESTRICTED_IR = "RESTRICTED_IR"
    ROT_ASYMMETRY = "ROT_ASYMMETRY"
    HIP_PROVOCATIVE = "HIP_PROVOCATIVE"
    HIP_EXAM_NEGATIVE = "HIP_EXAM_NEGATIVE"
    HIP_SIGNS = "HIP_SIGNS"
    HIP_EXT_DEFICIT = "HIP_EXT_DEFICIT"
    SPINE_PATH = "SPINE_PATH"
    RADICULAR = "RADICULAR"
    MOTOR_DEFICIT = "MOTOR_DEFICIT"
    SPINE_SIGNS = "SPINE_SIGNS"
    SIJ_SIGNS = "SIJ_SIGNS"
    GLUTEAL_SIGNS = "GLUTEAL_SIGNS"
    MT_CAUTION = "MT_CAUTION"
    IA_POS = "IA_POS"
    IA_STRONG = "IA_STRONG"
    IA_NEG = "IA_NEG"
    SPINE_TX_FAILED = "SPINE_TX_FAILED"
    HIP_TX_FAILED = "HIP_TX_FAILED"
    CONSERVATIVE_TX_FAILED = "CONSERVATIVE_TX_FAILED"
    SHORT_EPISODE = "SHORT_EPISODE"
    ANY_PAIN = "ANY_PAIN"  # R11's "a pain series has a latest value ≥ 1" (not a §2 row)
