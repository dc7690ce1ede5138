"""Plain-language meanings of the derived flags (clinical-spec.md §2) and the category rules
R1–R12 (§4), keyed by the names the core uses. The rules page (``GET /rules``, §6.2) shows
them next to the definitions; a test checks that every flag the core derives and every rule of
:data:`service.core.rules.RULES` has one.

Every flag is three-valued (§0.2): true, false or unknown; missing input is unknown, never
false. Thresholds named here are the defaults of §7; the rules page shows the values in force.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

#: §2 flags, in the table's order, then the helpers the rules and recommendations read.
FLAG_MEANINGS: Mapping[str, str] = MappingProxyType(
    {
        "LBP": "Low back pain is present: the latest low-back pain score is 1 or more out of 10, "
        "or low back pain is on the problem list.",
        "GROIN_PAIN": "Groin pain is present: the latest groin pain score is 1 or more out of 10.",
        "RED_FLAG": "At least one red flag of any kind (emergency, spine or hip) is present. "
        "Red flags override everything else: the patient needs urgent evaluation first.",
        "RED_FLAG_EMERGENCY": "Signs of possible cauda equina syndrome: saddle anaesthesia, "
        "bladder dysfunction, faecal incontinence, a progressive motor deficit, or a recorded "
        "cauda equina diagnosis. Emergency referral now.",
        "RED_FLAG_SPINE": "A possible serious spinal cause (cancer, infection, fracture): a "
        "history of cancer, fever, unexplained weight loss, intravenous drug use or "
        "immunosuppression, significant trauma, major muscle weakness (MRC grade 3 or less), "
        "or osteoporosis or long-term corticosteroids at age 70 or over.",
        "RED_FLAG_HIP": "A possible hip emergency (fracture or septic arthritis): unable to "
        "bear weight; significant trauma with groin pain or a positive log roll; or fever "
        "with severe groin pain (7 or more), pain on passive internal rotation or a positive "
        "log roll; or a recent femoral-neck fracture.",
        "RED_FLAG_SCREEN_COMPLETE": "All seven core red-flag questions are recorded (saddle "
        "anaesthesia, bladder dysfunction, faecal incontinence, cancer history, fever, weight "
        "loss, significant trauma). When not, the unasked questions are named and the screen "
        "is proposed before treatment starts.",
        "KL_MAX": "The worse Kellgren–Lawrence grade of the two hips on radiographs (0 normal "
        "to 4 severe osteoarthritis).",
        "HIP_PATH": "Hip pathology: definite hip osteoarthritis on radiographs (KL grade 2 or "
        "more) or a recorded hip osteoarthritis, impingement (FAI), labral tear or avascular "
        "necrosis.",
        "HIP_SEVERE": "Severe hip osteoarthritis on radiographs (KL grade 3 or more on a side).",
        "RESTRICTED_IR": "Restricted hip internal rotation: less than 15° on a side.",
        "ROT_ASYMMETRY": "The hips rotate differently: internal rotation, or total rotation, "
        "differs between the sides by 10° or more (measured the same way on both sides).",
        "HIP_PROVOCATIVE": "A hip provocation test reproduces the pain: FADIR, scour, log roll, "
        "pain on passive internal rotation, or FABER with groin or front-of-hip pain.",
        "HIP_EXAM_NEGATIVE": "The hip examination is negative: internal rotation normal, the "
        "sides alike, and no provocation test positive.",
        "HIP_SIGNS": "Examination signs point at the hip: restricted or asymmetric rotation or "
        "a positive provocation test; groin pain counts only when the hip was examined and "
        "the examination was not negative.",
        "HIP_EXT_DEFICIT": "The hip does not extend fully: a positive Thomas test, extension "
        "of 0° or less, or a flexion contracture of 10° or more.",
        "SPINE_PATH": "Spinal pathology: lumbar imaging shows stenosis, a disc herniation or "
        "spondylolisthesis, lumbar stenosis is on the problem list, or the pelvic incidence "
        "exceeds the lumbar lordosis by more than 10° (flatback).",
        "RADICULAR": "Nerve-root (radicular) signs: a straight-leg raise reproducing leg pain "
        "between 30° and 70° (not groin or lateral hip pain), a crossed straight-leg raise, a "
        "positive slump test, neurogenic claudication, or dermatomal sensory or reflex loss.",
        "MOTOR_DEFICIT": "A motor deficit: myotomal weakness or signs of myelopathy.",
        "SPINE_SIGNS": "Examination signs point at the spine: radicular signs or a motor deficit.",
        "SIJ_SIGNS": "Signs point at the sacroiliac joint: 3 or more of the 5 provocation tests "
        "positive, or FABER with pain at the back of the pelvis and no groin pain.",
        "GLUTEAL_SIGNS": "Signs of gluteal tendinopathy (lateral hip pain): lateral hip pain, "
        "tenderness over the greater trochanter, and pain within 30 s of single-leg stance or "
        "a positive FADER-R test on the same side.",
        "MT_CAUTION": "A precaution against hip manual therapy: avascular necrosis, rheumatoid "
        "arthritis, osteoporosis, a femoral-neck fracture, a hip replacement, or a cancer "
        "history. Programmes are then proposed without hip mobilisation or manipulation.",
        "IA_POS": "A diagnostic hip injection relieved 50 % or more of the pain: the hip is "
        "likely a pain source.",
        "IA_STRONG": "A diagnostic hip injection relieved 80 % or more of the pain: the hip is "
        "very likely a pain source.",
        "IA_NEG": "A diagnostic hip injection relieved less than 50 % of the pain: the hip is "
        "unlikely to be the main pain source.",
        "SPINE_TX_FAILED": "Pain persists after lumbar surgery or a lumbar injection: pain 4 or "
        "more afterwards, without the minimal important improvement (2 points or 30 %).",
        "HIP_TX_FAILED": "Pain persists after hip replacement, hip arthroscopy or a therapeutic "
        "hip injection: pain 4 or more afterwards, without the minimal important improvement.",
        "CONSERVATIVE_TX_FAILED": "Pain persists after a hip–lumbar physiotherapy programme: "
        "the next step escalates instead of repeating the programme.",
        "SHORT_EPISODE": "The symptoms started less than 6 weeks ago.",
        "ANY_PAIN": "Any recorded pain score, at any site, is 1 or more out of 10.",
        "MRI_INDICATED": "A lumbar MRI is indicated: radicular signs or a motor deficit and no "
        "recent lumbar imaging, unless the episode is known to be under 6 weeks old and the "
        "motor examination is normal (then first-line care comes first).",
        "SPINE_FIRST": "Priority: a motor deficit; the spine is addressed first.",
        "HIP_FIRST": "Priority: severe hip osteoarthritis with spinal malalignment; the hip is "
        "addressed first.",
        "NO_CONSENSUS": "Priority: severe hip osteoarthritis with lumbar stenosis and "
        "neurogenic claudication, no motor deficit; there is no consensus on which comes first.",
    }
)

#: §4 rules: what the condition means and which category (subtype) it gives.
RULE_MEANINGS: Mapping[str, str] = MappingProxyType(
    {
        "R1": "Any red flag: possible serious pathology. Urgent evaluation comes first and "
        "nothing else is proposed.",
        "R2": "Pain persists after spine treatment while the hip shows pathology or signs: the "
        "hip has not been addressed (Offierski & MacNab: misdiagnosed).",
        "R3": "Pain persists after hip treatment while the spine shows pathology or signs: the "
        "spine has not been addressed (Offierski & MacNab: misdiagnosed).",
        "R4": "A diagnostic hip injection result is known, with hip and back findings: relief "
        "of 50 % or more makes the hip the main source (simple, high confidence at 80 %); "
        "less relief with spine findings makes the spine the main source; otherwise the hip "
        "is unlikely to be the source.",
        "R5": "The hip does not extend fully while there is back pain or spine findings, or "
        "radiographs show both hip osteoarthritis and spinal malalignment: the hip may be "
        "contributing to the back pain (secondary, structural).",
        "R6": "Pathology of both hip and spine: the side whose examination signs are positive "
        "is the main source (simple); signs of both, or of neither, make it complex.",
        "R7": "Hip pathology with back pain or spine signs, spine pathology not shown: with "
        "spine signs it is complex, otherwise the hip may be driving the back pain "
        "(secondary, hip-driven).",
        "R8": "Hip signs without hip pathology, with back pain or spine findings: with spine "
        "signs it is complex, otherwise the hip may be contributing functionally "
        "(secondary, functional).",
        "R9": "Spine findings or back pain, and a hip examination that shows no hip problem: a "
        "spine problem, no hip involvement found.",
        "R10": "Hip findings (or lateral hip signs) without back pain or spine findings: a hip "
        "problem, no back involvement found.",
        "R11": "No back pain, no hip or spine signs or pathology, and no pain recorded "
        "anywhere: no hip or spine problem found in the recorded data.",
        "R12": "None of the rules above applies: not enough data to decide; the missing items "
        "are named.",
    }
)


#: §7 thresholds, keyed by the ``Thresholds`` field (configurable) or the constant's name in
#: ``core/thresholds.py`` (fixed). The value is not repeated here: the rules page shows the value
#: in force next to it (a site may change the configurable ones).
THRESHOLD_MEANINGS: Mapping[str, str] = MappingProxyType(
    {
        "PI_LL_MALALIGNMENT_DEG": "Spinal malalignment (flatback): pelvic incidence minus "
        "lumbar lordosis (PI−LL) above this value.",
        "STIFF_DELTA_SS_DEG": "A stiff spine: the sacral slope changes by less than this "
        "between standing and sitting (Hip-Spine Classification B).",
        "pi_pt_ss_tolerance_deg": "Data-quality check: a warning when PI differs from PT + SS "
        "by more than this (PI = PT + SS is a geometric identity).",
        "DIEBO_KL_NONE": "Diebo type: this KL grade counts as no hip osteoarthritis.",
        "DIEBO_KL_OA_MIN": "Diebo type: KL grades from this one up count as hip osteoarthritis; "
        "grades 1–2 leave the type unclassified.",
        "HIP_OA_KL_MIN": "Definite hip osteoarthritis (hip pathology): KL grade at least this.",
        "HIP_SEVERE_KL_MIN": "Severe hip osteoarthritis: KL grade at least this.",
        "RESTRICTED_IR_DEG": "Restricted hip internal rotation: less than this on a side.",
        "rotation_asymmetry_deg": "The hips rotate differently: the side difference in internal "
        "(or total) rotation is at least this.",
        "extension_deficit_deg": "The hip does not extend fully: extension at most this.",
        "contracture_deg": "A hip flexion contracture: a contracture angle of at least this.",
        "SIJ_CLUSTER_MIN": "The sacroiliac joint is a likely source: at least this many of the "
        "five provocation tests positive.",
        "ia_positive_pct": "A diagnostic hip injection points to the hip: pain relief of at "
        "least this.",
        "ia_strong_pct": "A diagnostic hip injection points strongly to the hip: pain relief of "
        "at least this.",
        "pain_present_nrs": "Pain counts as present (low back, groin, any site): a pain score "
        "(0–10) of at least this.",
        "persistent_pain_nrs": "Pain persists after a treatment: a pain score afterwards of at "
        "least this.",
        "MIC_NRS_POINTS": "Minimal important change of a pain score (0–10), in points.",
        "MIC_NRS_PCT": "Minimal important change of a pain score, as a share of the baseline.",
        "MIC_ODI_POINTS": "Minimal important change of the Oswestry Disability Index, in points.",
        "MIC_ODI_PCT": "Minimal important change of the Oswestry Disability Index, as a share of "
        "the baseline.",
        "SCHWAB_PI_LL_PLUS_DEG": "SRS–Schwab PI−LL modifier: from this value it is + (moderate).",
        "SCHWAB_PI_LL_PLUS_PLUS_DEG": "SRS–Schwab PI−LL modifier: above this value it is ++ "
        "(marked).",
        "SCHWAB_PT_PLUS_DEG": "SRS–Schwab pelvic tilt modifier: from this value it is + "
        "(moderate).",
        "SCHWAB_PT_PLUS_PLUS_DEG": "SRS–Schwab pelvic tilt modifier: above this value it is ++ "
        "(marked).",
        "SCHWAB_SVA_PLUS_MM": "SRS–Schwab sagittal vertical axis modifier: from this value it "
        "is + (moderate).",
        "SCHWAB_SVA_PLUS_PLUS_MM": "SRS–Schwab sagittal vertical axis modifier: above this "
        "value it is ++ (marked).",
        "HIP_FIRST_PI_LL_DEG": "Severe hip osteoarthritis with PI−LL of at least this: the hip "
        "is addressed first.",
        "HIP_FIRST_SVA_MM": "Severe hip osteoarthritis with a sagittal vertical axis of at "
        "least this: the hip is addressed first.",
        "red_flag_recency_days": "An episode red flag (saddle anaesthesia, bladder or bowel "
        "change, progressive motor deficit, fever, weight loss, trauma, unable to bear weight) "
        "counts only when recorded at most this long before the latest observation. A cancer "
        "history never goes stale.",
        "ia_relief_stale_days": "A diagnostic hip injection result older than this is no "
        "longer used.",
        "septic_groin_nrs": "Possible septic hip: fever with a groin pain score of at least this.",
        "major_weakness_mrc": "Major muscle weakness, a spine red flag: MRC grade at most this.",
        "short_episode_weeks": "A short episode: symptoms for less than this. Radicular "
        "symptoms of a short episode with a normal motor examination get first-line care before "
        "an MRI.",
        "lumbar_imaging_recent_days": "Lumbar imaging counts as known (no new MRI proposed) "
        "when at most this old.",
        "fragility_age_years": "Possible fragility fracture: osteoporosis or long-term "
        "corticosteroids at this age or older.",
        "urgent_mri_spine_items": "An urgent spine MRI when at least this many spine red flags "
        "are present (a single one is weak evidence).",
        "femoral_neck_fracture_recent_days": "A femoral-neck fracture on the problem list is a "
        "hip red flag when its onset is at most this long ago.",
        "review_weeks": "Re-assess a programme or care plan after this long, against the "
        "success criterion (pain −2 points or −30 %; ODI −10 points or −30 %).",
        "SLR_RADICULAR_MIN_DEG": "A positive straight-leg raise is radicular from this angle "
        "of hip flexion.",
        "SLR_RADICULAR_MAX_DEG": "A positive straight-leg raise is radicular up to this angle "
        "of hip flexion.",
        "SYMPTOM_DURATION_RANGE_WK": "Plausible symptom duration: a value outside this range "
        "is excluded with a warning.",
        "NRS_BANDS": "Pain score (0–10) bands used in the summary.",
        "ODI_BANDS": "Oswestry Disability Index bands used in the summary.",
    }
)


_IA = ("S28", "S29", "S30", "S31", "S32", "S33")
_OM = ("Offierski-MacNab-1983", "S1", "S2", "S3")

#: The §9 sources each flag rests on, as §2 tags them (none: an engineering default [P] or a
#: plain reading of the record).
FLAG_SOURCES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "RED_FLAG_EMERGENCY": ("S48",),
        "RED_FLAG_SPINE": ("S48",),
        "RED_FLAG_HIP": ("S44",),
        "RED_FLAG_SCREEN_COMPLETE": ("S47", "S48"),
        "HIP_PATH": ("S17",),
        "HIP_SEVERE": ("S6",),
        "RESTRICTED_IR": ("S16",),
        "HIP_PROVOCATIVE": ("S16", "S17", "S18", "S22"),
        "HIP_EXAM_NEGATIVE": ("S50",),
        "HIP_EXT_DEFICIT": ("S4", "S19"),
        "SPINE_PATH": ("S6",),
        "RADICULAR": ("S23",),
        "SIJ_SIGNS": ("S24",),
        "GLUTEAL_SIGNS": ("S41",),
        "IA_POS": _IA,
        "IA_STRONG": _IA,
        "IA_NEG": _IA,
        "SPINE_TX_FAILED": ("S25",),
        "HIP_TX_FAILED": ("S25",),
        "CONSERVATIVE_TX_FAILED": ("S25",),
        "SHORT_EPISODE": ("S43",),
        "MRI_INDICATED": ("S43", "S47"),
        "SPINE_FIRST": ("S40",),
        "HIP_FIRST": ("S40",),
        "NO_CONSENSUS": ("S40",),
    }
)

#: The §9 sources each rule rests on (§4: the categories map onto Offierski & MacNab [V S1–S3]).
RULE_SOURCES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "R1": ("S44", "S48"),
        "R2": _OM,
        "R3": _OM,
        "R4": _IA,
        "R5": ("S6", "S4", "S19"),
        "R6": _OM,
        "R7": _OM,
        "R8": _OM,
        "R10": ("S41",),
    }
)


def flag_anchor(name: str) -> str:
    """The rules-page anchor of a flag: ``RED_FLAG_HIP`` -> ``red-flag-hip``."""
    return name.lower().replace("_", "-")


def rule_anchor(rule_id: str) -> str:
    """The rules-page anchor of a rule: ``R1`` -> ``r1``."""
    return rule_id.lower()
