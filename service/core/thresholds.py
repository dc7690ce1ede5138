"""Threshold register (clinical-spec.md §7): every threshold the rules use, with its evidence tag.

[V] constants are fixed by their source. [P] engineering defaults are also fields of the frozen
:class:`Thresholds`, which the application fills from settings (``THRESHOLD_<FIELD>``) and passes
into :func:`service.core.evaluate`; the core never reads the environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import timedelta
from decimal import Decimal
from types import MappingProxyType

# --- Spinopelvic alignment -------------------------------------------------------------------
PI_LL_MALALIGNMENT_DEG = Decimal("10")  # [V S6, S9] malalignment is PI−LL > 10°
STIFF_DELTA_SS_DEG = Decimal("10")  # [V S9] stiff spine: ΔSS < 10°
PI_PT_SS_TOLERANCE_DEG = Decimal("5")  # [P] data-quality check |PI − (PT + SS)| > 5° (§2)

# --- Diebo 2019 radiographic type ------------------------------------------------------------
DIEBO_KL_NONE = Decimal("0")  # [V S6] KL 0: no hip OA
DIEBO_KL_OA_MIN = Decimal("3")  # [V S6] KL 3–4: hip OA; KL 1–2: unclassified

# --- Hip pathology ---------------------------------------------------------------------------
HIP_OA_KL_MIN = Decimal("2")  # [V S17] definite hip OA: KL ≥ 2
HIP_SEVERE_KL_MIN = Decimal("3")  # [V S6] severe hip OA: KL ≥ 3
RESTRICTED_IR_DEG = Decimal("15")  # [V S16] restricted internal rotation: IR < 15°
ROT_ASYMMETRY_DEG = Decimal("10")  # [P] rotation asymmetry: side difference ≥ 10°
EXT_DEFICIT_DEG = Decimal("0")  # [P; concept V S4, S19] extension deficit: extension ≤ 0°
CONTRACTURE_DEG = Decimal("10")  # [P; concept V S4, S19] flexion contracture angle ≥ 10°

# --- Sacroiliac joint ------------------------------------------------------------------------
SIJ_CLUSTER_MIN = 3  # [V S24] ≥ 3 of the five provocation tests

# --- Diagnostic intra-articular hip injection ------------------------------------------------
IA_POSITIVE_PCT = Decimal("50")  # [P; basis V S28–S33] positive: relief ≥ 50 %
IA_STRONG_PCT = Decimal("80")  # [P; basis V S28–S33] strong: relief ≥ 80 %

# --- Pain and minimal important change -------------------------------------------------------
PAIN_PRESENT_NRS = Decimal("1")  # [P] "LBP present NRS ≥ 1" (also groin, any pain in R11)
PERSISTENT_PAIN_NRS = Decimal("4")  # [P] persistent pain after a treatment: NRS ≥ 4
MIC_NRS_POINTS = Decimal("2")  # [V S25] MIC of NRS: 2 points
MIC_NRS_PCT = Decimal("30")  # [V S25] ... or 30 %
MIC_ODI_POINTS = Decimal("10")  # [V S25] MIC of ODI: 10 points
MIC_ODI_PCT = Decimal("30")  # [V S25] ... or 30 %

# --- SRS–Schwab sagittal modifiers: the + band includes both ends ----------------------------
SCHWAB_PI_LL_PLUS_DEG = Decimal("10")  # [V S8] PI−LL 0 < 10°, + 10–20°
SCHWAB_PI_LL_PLUS_PLUS_DEG = Decimal("20")  # [V S8] PI−LL ++ > 20°
SCHWAB_PT_PLUS_DEG = Decimal("20")  # [V S8] PT 0 < 20°, + 20–30°
SCHWAB_PT_PLUS_PLUS_DEG = Decimal("30")  # [V S8] PT ++ > 30°
SCHWAB_SVA_PLUS_MM = Decimal("40")  # [V S8] SVA 0 < 40 mm, + 40–95 mm
SCHWAB_SVA_PLUS_PLUS_MM = Decimal("95")  # [V S8] SVA ++ > 95 mm

# --- Priority flags (§4) ---------------------------------------------------------------------
HIP_FIRST_PI_LL_DEG = Decimal("10")  # [V S40] HIP_FIRST: PI−LL ≥ 10°
HIP_FIRST_SVA_MM = Decimal("40")  # [V S40] ... or SVA ≥ 40 mm

# --- Fourth edition (§7, §11) -----------------------------------------------------------------
RED_FLAG_RECENCY_DAYS = Decimal("90")  # [P] E4-5, Q4-05: an episode red flag is current ≤ 90 d
IA_RELIEF_STALE_DAYS = Decimal("365")  # [P] E4-12, Q4-29: relief stale after 365 d (365 current)
SEPTIC_GROIN_NRS = Decimal("7")  # [P] E4-2, Q4-08: fever with groin NRS ≥ 7
MAJOR_WEAKNESS_MRC = Decimal("3")  # [P] E4-3, Q4-07: myotomal weakness MRC ≤ 3 is a red flag
SHORT_EPISODE_WEEKS = Decimal("6")  # [M S43, S47] E4-13: SHORT_EPISODE < 6 weeks
LUMBAR_IMAGING_RECENT_DAYS = Decimal("365")  # [P] Q10-05, Q11-01: lumbar imaging known ≤ 365 d
FRAGILITY_AGE_YEARS = Decimal("70")  # [P] Q10-08: fragility-fracture rule, age ≥ 70
URGENT_MRI_SPINE_ITEMS = Decimal("2")  # [P; M S48] §5.1: ≥ 2 RED_FLAG_SPINE items → urgent MRI
FEMORAL_NECK_FRACTURE_RECENT_DAYS = Decimal("90")  # [P] Q4-08: a fracture Condition ≤ 90 d
REVIEW_WEEKS = Decimal("6")  # [P] E4-17: review interval
SLR_RADICULAR_MIN_DEG = Decimal("30")  # [V S23] E4-7, Q4-20: 30° is radicular
SLR_RADICULAR_MAX_DEG = Decimal("70")  # [V S23] E4-7, Q4-20: 70° is radicular
MRC_RANGE = (Decimal("0"), Decimal("5"))  # §1.4 MRC grade, integer 0–5
SYMPTOM_DURATION_RANGE_WK = (Decimal("0"), Decimal("520"))  # [P] §1.4, after d → wk (Q4-30)

# --- Bands (§3): upper bound of each band, inclusive -----------------------------------------
NRS_BANDS: tuple[tuple[Decimal, str], ...] = (  # [M]
    (Decimal("0"), "none"),
    (Decimal("3"), "mild"),
    (Decimal("6"), "moderate"),
    (Decimal("10"), "severe"),
)
ODI_BANDS: tuple[tuple[Decimal, str], ...] = (  # [M] 0–20, 21–40, 41–60, 61–80, 81–100 %
    (Decimal("20"), "minimal"),
    (Decimal("40"), "moderate"),
    (Decimal("60"), "severe"),
    (Decimal("80"), "crippling"),
    (Decimal("100"), "bed-bound"),
)


MAX_DAYS = Decimal("36500")  # bound of the *_days settings (a century)


@dataclass(frozen=True)
class Thresholds:
    """The [P] engineering defaults of §7, configurable per site (field name = setting name)."""

    rotation_asymmetry_deg: Decimal = ROT_ASYMMETRY_DEG
    extension_deficit_deg: Decimal = EXT_DEFICIT_DEG
    contracture_deg: Decimal = CONTRACTURE_DEG
    ia_positive_pct: Decimal = IA_POSITIVE_PCT
    ia_strong_pct: Decimal = IA_STRONG_PCT
    persistent_pain_nrs: Decimal = PERSISTENT_PAIN_NRS
    pain_present_nrs: Decimal = PAIN_PRESENT_NRS
    pi_pt_ss_tolerance_deg: Decimal = PI_PT_SS_TOLERANCE_DEG
    # Fourth edition [P] defaults (§7).
    red_flag_recency_days: Decimal = RED_FLAG_RECENCY_DAYS
    ia_relief_stale_days: Decimal = IA_RELIEF_STALE_DAYS
    septic_groin_nrs: Decimal = SEPTIC_GROIN_NRS
    major_weakness_mrc: Decimal = MAJOR_WEAKNESS_MRC
    short_episode_weeks: Decimal = SHORT_EPISODE_WEEKS
    lumbar_imaging_recent_days: Decimal = LUMBAR_IMAGING_RECENT_DAYS
    fragility_age_years: Decimal = FRAGILITY_AGE_YEARS
    urgent_mri_spine_items: Decimal = URGENT_MRI_SPINE_ITEMS
    femoral_neck_fracture_recent_days: Decimal = FEMORAL_NECK_FRACTURE_RECENT_DAYS
    review_weeks: Decimal = REVIEW_WEEKS

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, Decimal) or not value.is_finite():
                raise ValueError(f"threshold {f.name} must be a finite Decimal")
            if f.name.endswith("_days") and not 0 <= value <= MAX_DAYS:
                # a recency window is a duration: refused at start-up, never at evaluation
                raise ValueError(f"threshold {f.name} must be between 0 and {MAX_DAYS} days")

    @staticmethod
    def days(value: Decimal) -> timedelta:
        """A [P] number of days as a duration of 24 h days between instants (Q4-05)."""
        return timedelta(microseconds=int(value * 86_400_000_000))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Decimal]) -> Thresholds:
        """Build from ``{field name: value}``; raises ValueError on an unknown name."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown threshold(s): {', '.join(unknown)}")
        return cls(**values)


#: Field of :class:`Thresholds` -> the module constant that is its default.
FIELD_CONSTANTS: Mapping[str, str] = MappingProxyType(
    {
        "rotation_asymmetry_deg": "ROT_ASYMMETRY_DEG",
        "extension_deficit_deg": "EXT_DEFICIT_DEG",
        "contracture_deg": "CONTRACTURE_DEG",
        "ia_positive_pct": "IA_POSITIVE_PCT",
        "ia_strong_pct": "IA_STRONG_PCT",
        "persistent_pain_nrs": "PERSISTENT_PAIN_NRS",
        "pain_present_nrs": "PAIN_PRESENT_NRS",
        "pi_pt_ss_tolerance_deg": "PI_PT_SS_TOLERANCE_DEG",
        "red_flag_recency_days": "RED_FLAG_RECENCY_DAYS",
        "ia_relief_stale_days": "IA_RELIEF_STALE_DAYS",
        "septic_groin_nrs": "SEPTIC_GROIN_NRS",
        "major_weakness_mrc": "MAJOR_WEAKNESS_MRC",
        "short_episode_weeks": "SHORT_EPISODE_WEEKS",
        "lumbar_imaging_recent_days": "LUMBAR_IMAGING_RECENT_DAYS",
        "fragility_age_years": "FRAGILITY_AGE_YEARS",
        "urgent_mri_spine_items": "URGENT_MRI_SPINE_ITEMS",
        "femoral_neck_fracture_recent_days": "FEMORAL_NECK_FRACTURE_RECENT_DAYS",
        "review_weeks": "REVIEW_WEEKS",
    }
)

#: Every tagged constant -> (evidence tag, meaning), as its comment above says (§7 register for
#: the rules page). tests/core/test_flags_fourth_edition.py checks it against the comments.
REGISTER: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "PI_LL_MALALIGNMENT_DEG": ("V S6, S9", "malalignment is PI−LL > 10°"),
        "STIFF_DELTA_SS_DEG": ("V S9", "stiff spine: ΔSS < 10°"),
        "PI_PT_SS_TOLERANCE_DEG": ("P", "data-quality check |PI − (PT + SS)| > 5° (§2)"),
        "DIEBO_KL_NONE": ("V S6", "KL 0: no hip OA"),
        "DIEBO_KL_OA_MIN": ("V S6", "KL 3–4: hip OA; KL 1–2: unclassified"),
        "HIP_OA_KL_MIN": ("V S17", "definite hip OA: KL ≥ 2"),
        "HIP_SEVERE_KL_MIN": ("V S6", "severe hip OA: KL ≥ 3"),
        "RESTRICTED_IR_DEG": ("V S16", "restricted internal rotation: IR < 15°"),
        "ROT_ASYMMETRY_DEG": ("P", "rotation asymmetry: side difference ≥ 10°"),
        "EXT_DEFICIT_DEG": ("P; concept V S4, S19", "extension deficit: extension ≤ 0°"),
        "CONTRACTURE_DEG": ("P; concept V S4, S19", "flexion contracture angle ≥ 10°"),
        "SIJ_CLUSTER_MIN": ("V S24", "≥ 3 of the five provocation tests"),
        "IA_POSITIVE_PCT": ("P; basis V S28–S33", "positive: relief ≥ 50 %"),
        "IA_STRONG_PCT": ("P; basis V S28–S33", "strong: relief ≥ 80 %"),
        "PAIN_PRESENT_NRS": ("P", '"LBP present NRS ≥ 1" (also groin, any pain in R11)'),
        "PERSISTENT_PAIN_NRS": ("P", "persistent pain after a treatment: NRS ≥ 4"),
        "MIC_NRS_POINTS": ("V S25", "MIC of NRS: 2 points"),
        "MIC_NRS_PCT": ("V S25", "... or 30 %"),
        "MIC_ODI_POINTS": ("V S25", "MIC of ODI: 10 points"),
        "MIC_ODI_PCT": ("V S25", "... or 30 %"),
        "SCHWAB_PI_LL_PLUS_DEG": ("V S8", "PI−LL 0 < 10°, + 10–20°"),
        "SCHWAB_PI_LL_PLUS_PLUS_DEG": ("V S8", "PI−LL ++ > 20°"),
        "SCHWAB_PT_PLUS_DEG": ("V S8", "PT 0 < 20°, + 20–30°"),
        "SCHWAB_PT_PLUS_PLUS_DEG": ("V S8", "PT ++ > 30°"),
        "SCHWAB_SVA_PLUS_MM": ("V S8", "SVA 0 < 40 mm, + 40–95 mm"),
        "SCHWAB_SVA_PLUS_PLUS_MM": ("V S8", "SVA ++ > 95 mm"),
        "HIP_FIRST_PI_LL_DEG": ("V S40", "HIP_FIRST: PI−LL ≥ 10°"),
        "HIP_FIRST_SVA_MM": ("V S40", "... or SVA ≥ 40 mm"),
        "RED_FLAG_RECENCY_DAYS": ("P", "E4-5, Q4-05: an episode red flag is current ≤ 90 d"),
        "IA_RELIEF_STALE_DAYS": ("P", "E4-12, Q4-29: relief stale after 365 d (365 current)"),
        "SEPTIC_GROIN_NRS": ("P", "E4-2, Q4-08: fever with groin NRS ≥ 7"),
        "MAJOR_WEAKNESS_MRC": ("P", "E4-3, Q4-07: myotomal weakness MRC ≤ 3 is a red flag"),
        "SHORT_EPISODE_WEEKS": ("M S43, S47", "E4-13: SHORT_EPISODE < 6 weeks"),
        "LUMBAR_IMAGING_RECENT_DAYS": ("P", "Q10-05, Q11-01: lumbar imaging known ≤ 365 d"),
        "FRAGILITY_AGE_YEARS": ("P", "Q10-08: fragility-fracture rule, age ≥ 70"),
        "URGENT_MRI_SPINE_ITEMS": ("P; M S48", "§5.1: ≥ 2 RED_FLAG_SPINE items → urgent MRI"),
        "FEMORAL_NECK_FRACTURE_RECENT_DAYS": ("P", "Q4-08: a fracture Condition ≤ 90 d"),
        "REVIEW_WEEKS": ("P", "E4-17: review interval"),
        "SLR_RADICULAR_MIN_DEG": ("V S23", "E4-7, Q4-20: 30° is radicular"),
        "SLR_RADICULAR_MAX_DEG": ("V S23", "E4-7, Q4-20: 70° is radicular"),
        "SYMPTOM_DURATION_RANGE_WK": ("P", "§1.4, after d → wk (Q4-30)"),
    }
)

#: Every tagged constant and every :class:`Thresholds` field -> its evidence tag ("P",
#: "V S6, S9", "M S43, S47", "P; basis V S28–S33").
THRESHOLD_TAGS: Mapping[str, str] = MappingProxyType(
    {name: tag for name, (tag, _) in REGISTER.items()}
    | {field: REGISTER[const][0] for field, const in FIELD_CONSTANTS.items()}
)
#: The same keys -> the comment's plain meaning ("an episode red flag is current ≤ 90 d").
THRESHOLD_MEANINGS: Mapping[str, str] = MappingProxyType(
    {name: meaning for name, (_, meaning) in REGISTER.items()}
    | {field: REGISTER[const][1] for field, const in FIELD_CONSTANTS.items()}
)
