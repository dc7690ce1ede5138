"""The §5.2 catalogue (clinical-spec.md §5.1, §5.2, E4-17 … E4-20): one entry per ``HSC#rec-…``
code, and the single definition of the recommendation codes.

Every module that names a recommendation code imports it from here (the core, the FHIR outputs,
the CDS cards and order hooks, the rules page; issue 9 item 4). ``display`` is the plain-word
display of the code: the CodeSystem, the card and the CarePlan all show this one display.
``instruction`` holds the §5.2 instruction templates: the code's base text and its category or
precaution variants; :mod:`service.core.recommendations` fills in sides and reasons.
``certainty`` is the §5.2 certainty word, or ``None`` where §5.2 says "—" (Q4-47: state no
certainty for that code). ``sources`` are the §9 source ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# --- the codes (§5.1) ---------------------------------------------------------------------------
URGENT_EVALUATION = "rec-urgent-evaluation"
MRI_LUMBAR_URGENT = "rec-mri-lumbar-urgent"
HIP_IMAGING_URGENT = "rec-imaging-hip-urgent"
RED_FLAG_SCREEN = "rec-red-flag-screen"
COMBINED_MANAGEMENT = "rec-combined-hip-lumbar-management"
IA_HIP_INJECTION = "rec-diagnostic-ia-hip-injection"
HIP_XRAY = "rec-imaging-hip-xray"
MRI_LUMBAR = "rec-mri-lumbar"
ORTHO_HIP_REFERRAL = "rec-ortho-hip-referral"
SPINE_REFERRAL = "rec-spine-referral"
SIJ_WORKUP = "rec-sij-workup"
GLUTEAL_CARE = "rec-gluteal-tendinopathy-care"
HIP_FIRST_LINE = "rec-hip-first-line-care"
LBP_FIRST_LINE = "rec-lbp-first-line-care"
COLLECT_MISSING = "rec-collect-missing-data"
# Retired in the fourth edition (E4-14, E4-15): never emitted, kept so that old records resolve.
LUMBAR_BLOCK = "rec-diagnostic-lumbar-block"
SPINOPELVIC = "rec-imaging-spinopelvic"

#: The §5.3 order of the plan when SPINE_FIRST is not true (see ``recommendations.plan_order``).
PLAN_ORDER: tuple[str, ...] = (
    URGENT_EVALUATION,
    MRI_LUMBAR_URGENT,  # Q10-02: the urgent MRI before the urgent hip imaging
    HIP_IMAGING_URGENT,
    RED_FLAG_SCREEN,
    HIP_XRAY,  # Q4-33: the radiograph that grades the hip before the injection
    IA_HIP_INJECTION,
    ORTHO_HIP_REFERRAL,
    MRI_LUMBAR,
    SPINE_REFERRAL,
    COMBINED_MANAGEMENT,
    GLUTEAL_CARE,
    HIP_FIRST_LINE,
    LBP_FIRST_LINE,
    SIJ_WORKUP,
    COLLECT_MISSING,
)

#: The programme and care codes (§5.2 "Review", Q4-42; E4-16 escalation).
CARE_CODES = frozenset({COMBINED_MANAGEMENT, HIP_FIRST_LINE, LBP_FIRST_LINE})
REVIEW_CODES = frozenset({*CARE_CODES, GLUTEAL_CARE})


@dataclass(frozen=True, slots=True)
class Advice:
    """One §5.1/§5.2 entry.

    ``instruction`` maps a variant key to a template ("" is the base text; other keys are named
    where the code has variants, e.g. ``FUNCTIONAL``, ``FUNCTIONAL+MT_CAUTION``). Templates may
    hold ``{hip}`` (the side(s) in words, "the left hip"), ``{precaution}`` and ``{items}``.
    ``certainties`` maps the same variant keys to a certainty where it differs from
    ``certainty``; ``variant_sources`` likewise for sources.
    """

    code: str
    display: str
    definition: str
    instruction: Mapping[str, str]
    certainty: str | None
    sources: tuple[str, ...]
    hip_directed: bool = False
    retired: bool = False
    certainties: Mapping[str, str | None] = field(default_factory=dict)
    variant_sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def text(self, variant: str = "") -> str:
        return self.instruction.get(variant, self.instruction[""])

    def certainty_of(self, variant: str = "") -> str | None:
        return self.certainties.get(variant, self.certainty) if variant else self.certainty

    def sources_of(self, variant: str = "") -> tuple[str, ...]:
        return self.variant_sources.get(variant, self.sources) if variant else self.sources


REASSESS = "re-assess at 6 weeks."
NO_HIP_MT = "no hip joint mobilisation or manipulation (precaution: {precaution})"
#: Q10-05: every rec-lbp-first-line-care carries this safety-netting sentence.
LBP_SAFETY_NET = (
    "Return at once with numbness in the saddle area, new bladder or bowel change, "
    "or new or worsening leg weakness."
)
_FUNCTIONAL = (
    "Pain-free hip joint mobilisation directed by the examination findings (internal rotation, "
    "{hip}), a home programme to keep the range gained, hip abductor and extensor "
    "strengthening, lumbar motor control exercise and self-management education; " + REASSESS
)
_FUNCTIONAL_MT = (
    "Hip and lower-back exercise programme for {hip}, " + NO_HIP_MT + ": a home exercise "
    "programme, hip abductor and extensor strengthening within the limits the precaution "
    "allows, lumbar motor control exercise and self-management education; " + REASSESS
)

_CATALOGUE: tuple[Advice, ...] = (
    Advice(
        URGENT_EVALUATION,
        "Same-day clinical evaluation",
        "Same-day clinical evaluation (emergency department when an emergency red flag is "
        "present), naming the red flags found.",
        {
            "": "Same-day clinical evaluation for {items}.",
            # Q10-02: the emergency words.
            "EMERGENCY": "Emergency: refer now (emergency department) for {items}.",
        },
        None,
        ("S48",),
    ),
    Advice(
        MRI_LUMBAR_URGENT,
        "Urgent MRI of the spine",
        "Urgent MRI of the lumbar spine (emergency MRI with an emergency red flag; of the whole "
        "spine when a cancer history is among the reasons).",
        {
            "": "Urgent MRI of the lumbar spine for {items}.",
            "EMERGENCY": "Emergency MRI of the lumbar spine for {items}.",  # Q10-02
            # Q10-02, conservative reading: an emergency with a cancer history among the
            # reasons keeps the emergency words and still images the whole spine.
            "EMERGENCY_WHOLE_SPINE": "Emergency MRI of the lumbar spine, and of the whole spine "
            "(cancer history), for {items}.",
            "WHOLE_SPINE": "Urgent MRI of the whole spine for {items}.",  # Q10-02
        },
        None,
        ("S48",),
    ),
    Advice(
        HIP_IMAGING_URGENT,
        "Urgent hip imaging",
        "Urgent AP pelvis and lateral hip radiographs; MRI if they are negative and a fracture "
        "is still suspected; joint aspiration if septic arthritis is suspected.",
        {
            "": "Urgent AP pelvis and lateral radiographs of {hip} for {items}; MRI if they are "
            "negative and a fracture is still suspected; joint aspiration if septic arthritis "
            "is suspected."
        },
        None,
        ("S44",),
        hip_directed=True,
    ),
    Advice(
        RED_FLAG_SCREEN,
        "Complete the red-flag screen",
        "Complete the red-flag screen (each unrecorded item named) before treatment starts.",
        {"": "Before treatment starts, ask and record: {items}."},
        None,
        ("S48",),
    ),
    Advice(
        COMBINED_MANAGEMENT,
        "Combined hip and lower-back physiotherapy programme",
        "A combined hip–lumbar physiotherapy programme; its content depends on the subtype.",
        {
            "": _FUNCTIONAL,
            "FUNCTIONAL": _FUNCTIONAL,
            "STRUCTURAL": "Hip flexor lengthening and hip extension mobilisation of {hip}, "
            "gluteal strengthening, gait retraining for the anterior pelvic tilt, lumbar motor "
            "control; " + REASSESS,
            "HIP_DRIVEN": "Hip osteoarthritis first-line care for {hip} (education, "
            "strengthening and aerobic exercise, weight management where relevant) together "
            "with lumbar care; manual therapy only as an adjunct; " + REASSESS,
            # E4-8, Q4-43: with a manual-therapy precaution every variant drops the hip
            # mobilisation and names the precaution.
            "+MT_CAUTION": _FUNCTIONAL_MT,
            "FUNCTIONAL+MT_CAUTION": _FUNCTIONAL_MT,
            "STRUCTURAL+MT_CAUTION": "Hip and lower-back exercise programme for {hip}, "
            + NO_HIP_MT
            + ": hip flexor lengthening exercise within the limits the precaution allows, "
            "gluteal strengthening, gait retraining for the anterior pelvic tilt, lumbar motor "
            "control; " + REASSESS,
            "HIP_DRIVEN+MT_CAUTION": "Hip osteoarthritis first-line care for {hip} (education, "
            "strengthening and aerobic exercise, weight management where relevant) together "
            "with lumbar care; " + NO_HIP_MT + "; " + REASSESS,
        },
        "low",
        ("S42",),
        hip_directed=True,
        certainties={
            "FUNCTIONAL": "very low",  # Q10-11 (seed 001)
            "STRUCTURAL": "low",
            "HIP_DRIVEN": "moderate for exercise in hip osteoarthritis; low for manual therapy "
            "as an adjunct",
            # §5.2 gives "—" for the precaution variant (Q4-47: no certainty stated).
            "+MT_CAUTION": None,
            "FUNCTIONAL+MT_CAUTION": None,
            "STRUCTURAL+MT_CAUTION": None,
            "HIP_DRIVEN+MT_CAUTION": None,
        },
        variant_sources={
            "FUNCTIONAL": ("S42", "seed 001", "seed 002"),
            "STRUCTURAL": ("S19", "seed 001", "seed 004"),
            "HIP_DRIVEN": ("S46", "seed 003"),
            "FUNCTIONAL+MT_CAUTION": ("S42",),
            "STRUCTURAL+MT_CAUTION": ("S19",),
            "HIP_DRIVEN+MT_CAUTION": ("S46",),
        },
    ),
    Advice(
        IA_HIP_INJECTION,
        "Diagnostic hip joint injection",
        "Image-guided intra-articular hip anaesthetic injection; record the NRS before and "
        "15–30 minutes after.",
        {
            "": "Image-guided anaesthetic injection of {hip}; record pain (NRS 0–10) before and "
            "15–30 minutes after, on the provoking movement; ≥ 50 % relief points to the hip, "
            "≥ 80 % strongly; enter the result to re-evaluate.",
            # §5.2/§5.4, conservative reading: two sides are never injected together (the relief
            # could not say which hip hurts).
            "BOTH_SIDES": "Image-guided anaesthetic injection of one hip at a time (left and "
            "right: the more painful first), each result recorded separately; record pain (NRS "
            "0–10) before and 15–30 minutes after, on the provoking movement; ≥ 50 % relief "
            "points to the hip, ≥ 80 % strongly; enter the result to re-evaluate.",
        },
        "moderate",
        ("S28", "S29", "S32"),
        hip_directed=True,
    ),
    Advice(
        HIP_XRAY,
        "Hip radiographs",
        "AP pelvis and lateral hip radiograph; grade Kellgren–Lawrence.",
        {"": "AP pelvis and lateral view of {hip}; report the Kellgren–Lawrence grade."},
        None,
        ("S17",),
        hip_directed=True,
    ),
    Advice(
        MRI_LUMBAR,
        "Lumbar spine MRI",
        "Lumbar MRI without contrast (with and without contrast after lumbar surgery).",
        {
            "": "Lumbar MRI without contrast, for {items}.",
            "AFTER_SURGERY": "Lumbar MRI with and without contrast (prior lumbar surgery), "
            "for {items}.",  # Q10-05
        },
        None,
        ("S47",),
    ),
    Advice(
        ORTHO_HIP_REFERRAL,
        "Orthopaedic hip referral",
        "Orthopaedic hip referral for the named hip.",
        {"": "Orthopaedic hip referral for {hip}."},
        None,
        ("S10",),
        hip_directed=True,
    ),
    Advice(
        SPINE_REFERRAL,
        "Spine specialist referral",
        "Spine specialist referral; diagnostic nerve-root or medial-branch blocks at the "
        "specialist's discretion.",
        {
            # E4-14: the retired lumbar block lives on in the referral text.
            "": "Spine specialist referral; diagnostic selective nerve-root block (radicular "
            "pain) or medial-branch block (facet pain) at the specialist's discretion."
        },
        None,
        (),
    ),
    Advice(
        SIJ_WORKUP,
        "Sacroiliac joint assessment",
        "Sacroiliac joint assessment and care.",
        {
            "": "SIJ provocation cluster (≥ 3 of 5 positive) supports the sacroiliac joint as a "
            "source: SIJ-directed exercise and education; image-guided SIJ anaesthetic block if "
            "it persists.",
            # Q10-12: SIJ_SIGNS from FABER with posterior pain alone.
            "FABER": "Complete the SIJ provocation cluster (≥ 3 of 5); ask about inflammatory "
            "back pain (age under 45, morning stiffness, better with exercise) and consider "
            "axial spondyloarthritis (NICE NG65).",
        },
        "low",
        ("S24",),
    ),
    Advice(
        GLUTEAL_CARE,
        "Lateral hip pain care (gluteal tendinopathy)",
        "Lateral hip pain pathway: education and progressive loading exercise.",
        {
            "": "Lateral hip pain of {hip}: education on load management (avoid sustained hip "
            "adduction, side-lying on the painful side) and progressive abductor loading "
            "exercise for 8 weeks; corticosteroid injection gives short-term relief only."
        },
        "moderate",
        ("S41", "S45"),
        hip_directed=True,
    ),
    Advice(
        HIP_FIRST_LINE,
        "First-line hip care",
        "First-line hip care: education, exercise, weight management where relevant, analgesia.",
        {
            # Q10-11: the analgesia named per NICE NG226.
            "": "Hip first-line care for {hip}: education, exercise, weight management where "
            "relevant; for pain, paracetamol or a topical NSAID first, an oral NSAID with "
            "gastro-protection where suitable (NICE NG226); refer if symptoms persist despite "
            "it.",
            "+MT_CAUTION": "Hip first-line care for {hip}: education, exercise, weight "
            "management where relevant; " + NO_HIP_MT + "; for pain, paracetamol or a topical "
            "NSAID first, an oral NSAID with gastro-protection where suitable (NICE NG226); "
            "refer if symptoms persist despite it.",
        },
        "moderate",
        ("S46",),
        hip_directed=True,
    ),
    Advice(
        LBP_FIRST_LINE,
        "First-line low back pain care",
        "First-line low back pain care: reassurance and self-management, exercise, manual "
        "therapy only within a package that includes exercise, risk stratification.",
        {
            "": "Reassurance and self-management, exercise, manual therapy only within a package "
            "that includes exercise; consider risk stratification (for example STarT Back). "
            + LBP_SAFETY_NET,
            "+MT_CAUTION": "Reassurance and self-management, exercise; no manual therapy "
            "(precaution: {precaution}); consider risk stratification (for example STarT Back). "
            + LBP_SAFETY_NET,
            # Q10-14: after a physiotherapy programme without relief, with only low back pain.
            "ESCALATED": "Pain persists after the physiotherapy programme: a combined physical "
            "and psychological programme (NICE NG59). " + LBP_SAFETY_NET,
        },
        "moderate",
        ("S47",),
    ),
    Advice(
        COLLECT_MISSING,
        "Record the missing findings",
        "Measure and record what is missing (each missing item named).",
        {
            "": "Measure and record: {items}.",
            # Q4-34: nothing of the minimum set is missing and no flag is unknown.
            "NO_PATTERN": "The findings fit no hip–spine pattern: review the history and "
            "examination.",
        },
        None,
        (),
    ),
    Advice(
        LUMBAR_BLOCK,
        "Diagnostic lumbar block",
        "Retired (E4-14): the spine referral names the blocks the specialist may choose.",
        {"": "Retired: see the spine specialist referral."},
        None,
        (),
        retired=True,
    ),
    Advice(
        SPINOPELVIC,
        "Standing and seated spinopelvic radiographs",
        "Retired (E4-15): the orthopaedic referral names the spinopelvic films the surgeon may "
        "need for arthroplasty planning.",
        {"": "Retired: see the orthopaedic hip referral."},
        None,
        (),
        hip_directed=True,
        retired=True,
    ),
)

CATALOGUE: Mapping[str, Advice] = MappingProxyType({a.code: a for a in _CATALOGUE})
ACTIVE_CODES: tuple[str, ...] = tuple(a.code for a in _CATALOGUE if not a.retired)
RETIRED_CODES: frozenset[str] = frozenset(a.code for a in _CATALOGUE if a.retired)
HIP_DIRECTED_CODES: frozenset[str] = frozenset(
    a.code for a in _CATALOGUE if a.hip_directed and not a.retired
)
DISPLAY: Mapping[str, str] = MappingProxyType({a.code: a.display for a in _CATALOGUE})


# --- sentences added to an instruction in some cases (the rules page lists them, §6.2) ----------
AVN_REFERRAL = "Urgent, with hip MRI; no hip mobilisation (avascular necrosis)."  # E4-22
FAI_REFERRAL = (
    "Hip-preservation referral: pain persists after physiotherapist-led care ({items})."  # E4-22
)
PAINFUL_REPLACEMENT = (
    "Painful hip replacement ({items}): radiographs, ESR and CRP, review by the arthroplasty "
    "team."  # Q10-06
)
SPINOPELVIC_FILMS = (
    "Standing AP pelvis and standing and seated lateral spinopelvic radiographs may be needed "
    "for arthroplasty planning."  # E4-15
)
MOTOR_DEFICIT_REFERRAL = "A motor deficit is recorded: the referral should not wait."  # Q10-03
MYELOPATHY_REFERRAL = (
    "Myelopathy signs: MRI of the cervical and thoracic spine; not explained by the hip."  # Q10-04
)
TRAUMA_IMAGING = "Imaging for a vertebral or hip fracture as the examination indicates."  # Q4-41
#: Q10-05: lumbar imaging older than 365 days [P] is not "lumbar imaging known"; it is listed.
OLD_LUMBAR_IMAGING = (
    "The lumbar imaging on record ({date}) is older than 12 months: not counted as current."
)

#: ``{code: ((when, in words), text), …}``: the case sentences appended to an instruction.
ADDENDA: Mapping[str, tuple[tuple[str, str], ...]] = MappingProxyType(
    {
        ORTHO_HIP_REFERRAL: (
            ("an avascular necrosis is recorded (E4-22, Q10-13)", AVN_REFERRAL),
            (
                "femoroacetabular impingement or a labral tear, and pain persists after a "
                "physiotherapy programme (E4-22)",
                FAI_REFERRAL,
            ),
            ("a replaced hip is painful (groin pain; Q10-06)", PAINFUL_REPLACEMENT),
            (
                "severe hip osteoarthritis (Kellgren–Lawrence ≥ 3) and the Hip-Spine class "
                "unknown (E4-15)",
                SPINOPELVIC_FILMS,
            ),
        ),
        SPINE_REFERRAL: (
            ("a motor deficit is recorded (Q10-03)", MOTOR_DEFICIT_REFERRAL),
            ("myelopathy signs are recorded (Q10-04)", MYELOPATHY_REFERRAL),
        ),
        URGENT_EVALUATION: (("significant trauma (Q4-41)", TRAUMA_IMAGING),),
    }
)


def display(code: str) -> str:
    """The one plain-word display of a recommendation code (CodeSystem, card, CarePlan)."""
    return CATALOGUE[code].display


def certainty_words(certainty: str | None) -> str:
    """``Certainty of the evidence: low.``; "" when §5.2 states none (Q4-47)."""
    return f"Certainty of the evidence: {certainty}." if certainty else ""
