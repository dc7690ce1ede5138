"""clinical-spec.md §1 read sentence by sentence: the sentences the other extraction tests miss."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from service.core.classifications import pi_minus_ll
from service.core.measures import ia_relief
from service.core.thresholds import PI_LL_MALALIGNMENT_DEG
from service.fhir.concept_maps import default_mappings_dir
from service.fhir.extract import read_input
from service.fhir.kinds import (
    FINDING_COMPONENT,
    FINDING_KIND,
    IMAGING_FINDING,
    PAIN_LOCATION,
    PAIN_SITE,
    SIDE,
    TEST_RESULT,
)
from tests.fhir.extract_builders import (
    HSC,
    INDEX,
    LOINC,
    PATIENT,
    SCT,
    V3,
    bundle,
    concept,
    extract,
    obs,
    qty,
)

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"


def _subject(resource: dict[str, Any], reference: str) -> dict[str, Any]:
    return {**resource, "subject": {"reference": reference}}


# §1.1 subject checks --------------------------------------------------------------------------


def test_a_reference_matches_as_a_url_ending_in_patient_id_even_if_its_base_holds_patient() -> None:
    url = f"https://ehr.example.org/Patient/fhir/Patient/{PATIENT}"
    result = extract(_subject(obs("rf-fever", valueBoolean=True), url))
    assert result.patient_ref == f"Patient/{PATIENT}"
    assert result.findings.red_flags


def test_without_a_patient_entry_a_url_ending_in_patient_id_defines_the_patient() -> None:
    url = "https://ehr.example.org/Patient/fhir/Patient/zz"
    payload = bundle(_subject(obs("rf-fever", valueBoolean=True), url), patient=False)
    assert read_input(payload, INDEX).patient_ref == "Patient/zz"


# §1.1 latest-value ordering -------------------------------------------------------------------


def test_a_leap_second_is_a_valid_fhir_time_and_orders_within_its_minute() -> None:
    leap = obs("rf-fever", valueBoolean=True, effectiveDateTime="2016-12-31T23:59:60Z")
    before = obs("rf-fever", valueBoolean=False, effectiveDateTime="2016-12-31T23:59:59Z")
    after = obs("rf-fever", valueBoolean=False, effectiveDateTime="2017-01-01T00:00:00Z")
    result = extract(leap, before)
    assert result.warnings == ()
    assert [f.source for f in result.findings.red_flags.values()] == [f"Observation/{leap['id']}"]
    later = extract(after, leap).findings.red_flags
    assert [f.source for f in later.values()] == [f"Observation/{after['id']}"]


# §1.1 treatment time ---------------------------------------------------------------------------


def test_an_observation_treatment_with_only_a_period_end_is_undated() -> None:
    found = extract(
        obs("prior-lumbar-injection", valueBoolean=True, effectivePeriod={"end": "2024-01-01"})
    ).findings
    (treatment,) = found.treatments
    assert treatment.time is None


def test_a_procedure_is_dated_by_performed_date_time_and_never_by_its_period_end() -> None:
    def procedure(**fields: Any) -> dict[str, Any]:
        return {
            "resourceType": "Procedure",
            "status": "completed",
            "code": concept(SCT, "52734007"),
            "subject": {"reference": f"Patient/{PATIENT}"},
            **fields,
        }

    dated = extract(procedure(performedDateTime="2020-05")).findings.treatments
    assert [t.time for t in dated] == [datetime(2020, 5, 1, tzinfo=UTC)]
    undated = extract(procedure(performedPeriod={"end": "2020-05-01"})).findings.treatments
    assert [t.time for t in undated] == [None]


@pytest.mark.parametrize(
    "status",
    ["preparation", "in-progress", "not-done", "on-hold", "stopped", "entered-in-error", "unknown"],
)
def test_procedures_count_only_when_completed_and_others_are_listed_as_ignored(
    status: str,
) -> None:
    result = extract(
        {
            "resourceType": "Procedure",
            "status": status,
            "code": concept(SCT, "52734007"),
            "subject": {"reference": f"Patient/{PATIENT}"},
        }
    )
    assert result.findings.treatments == ()
    (ignored,) = result.ignored
    assert status in ignored.diagnostics


# §1.1 lumbar imaging, §1.4 ranges, exact arithmetic ---------------------------------------------


def test_spinopelvic_measurements_do_not_count_as_lumbar_imaging() -> None:
    found = extract(
        obs("pelvic-incidence", valueQuantity=qty(50)), obs("sva", valueQuantity=qty(10, "mm"))
    ).findings
    assert found.radiographic
    assert found.lumbar_imaging == {}


@pytest.mark.parametrize("code", ["ia-hip-injection-nrs-pre", "ia-hip-injection-nrs-post"])
@pytest.mark.parametrize(("value", "kept"), [(0, True), (10, True), (-1, False), (11, False)])
def test_ia_injection_nrs_is_an_integer_from_zero_to_ten(code: str, value: int, kept: bool) -> None:
    found = extract(obs(code, valueInteger=value)).findings
    score = found.ia_nrs_pre if code.endswith("pre") else found.ia_nrs_post
    assert (score is not None) is kept


def test_66_4_minus_56_4_is_exactly_10_0_which_is_at_most_10() -> None:
    found = extract(
        obs("pelvic-incidence", valueQuantity=qty(66.4)),
        obs("lumbar-lordosis", valueQuantity=qty(56.4)),
    ).findings
    pi_ll = pi_minus_ll(found)
    assert pi_ll is not None and not pi_ll.measured
    assert pi_ll.value == Decimal("10.0")
    assert pi_ll.value <= PI_LL_MALALIGNMENT_DEG


def test_a_measured_pi_ll_beats_a_computed_one_and_only_it_is_range_checked() -> None:
    found = extract(
        obs("pelvic-incidence", valueQuantity=qty(110)),
        obs("lumbar-lordosis", valueQuantity=qty(-40)),
        obs("pi-ll-mismatch", valueQuantity=qty(12)),
    ).findings
    pi_ll = pi_minus_ll(found)
    assert pi_ll is not None and pi_ll.measured and pi_ll.value == 12
    computed = extract(
        obs("pelvic-incidence", valueQuantity=qty(110)),
        obs("lumbar-lordosis", valueQuantity=qty(-40)),
    ).findings
    assert pi_minus_ll(computed) is not None  # 150: beyond −60–80, yet not range-checked


def test_a_recorded_relief_beats_a_computed_one_and_pre_zero_gives_unknown() -> None:
    pre, post = (
        obs("ia-hip-injection-nrs-pre", valueInteger=8),
        obs("ia-hip-injection-nrs-post", valueInteger=2),
    )
    recorded = obs("ia-hip-injection-relief-pct", valueQuantity=qty(40, "%"))
    relief = ia_relief(extract(pre, post, recorded).findings)
    assert relief is not None and relief.recorded and relief.value == 40
    computed = ia_relief(extract(pre, post).findings)
    assert computed is not None and computed.value == Fraction(75)
    zero = obs("ia-hip-injection-nrs-pre", valueInteger=0)
    assert (
        ia_relief(extract(zero, obs("ia-hip-injection-nrs-post", valueInteger=0)).findings) is None
    )


# §1.3 codes: every code of the table is in the shipped ConceptMaps ------------------------------

_HSC_KINDS = [
    *(
        f"hip-rom-{m}"
        for m in (
            "flexion",
            "extension",
            "abduction",
            "adduction",
            "internal-rotation",
            "external-rotation",
        )
    ),
    "hip-rom-panel",
    "hip-flexion-contracture-angle",
    *(
        f"test-{t}"
        for t in (
            "faber",
            "fadir",
            "scour",
            "log-roll",
            "passive-ir-pain",
            "thomas",
            "slr",
            "slr-crossed",
            "slump",
            "sij-distraction",
            "sij-thigh-thrust",
            "sij-compression",
            "sij-sacral-thrust",
            "sij-gaenslen",
        )
    ),
    "kl-grade-hip",
    "lumbar-imaging-finding",
    "pelvic-incidence",
    "pelvic-tilt-standing",
    "pelvic-tilt-seated",
    "sacral-slope-standing",
    "sacral-slope-seated",
    "lumbar-lordosis",
    "pi-ll-mismatch",
    "sva",
    "t1-pelvic-angle",
    "neurogenic-claudication",
    "dermatomal-sensory-loss",
    "reflex-loss",
    "myotomal-weakness",
    "myelopathy-signs",
    *(
        f"rf-{f}"
        for f in (
            "saddle-anaesthesia",
            "bladder-dysfunction",
            "faecal-incontinence",
            "progressive-motor-deficit",
            "cancer-history",
            "fever",
            "weight-loss",
            "ivdu-immunosuppression",
            "significant-trauma",
        )
    ),
    "ia-hip-injection-nrs-pre",
    "ia-hip-injection-nrs-post",
    "ia-hip-injection-relief-pct",
    "prior-lumbar-surgery",
    "prior-lumbar-injection",
    "prior-hip-arthroplasty",
    "prior-hip-arthroscopy",
    "prior-hip-injection-therapeutic",
    "condition-fai",
    "condition-labral-tear",
    "condition-avn",
]

_TABLE = [
    *((FINDING_KIND, HSC, code, code) for code in _HSC_KINDS),
    (FINDING_KIND, LOINC, "72514-3", "pain-nrs"),
    (FINDING_KIND, LOINC, "97909-6", "odi"),
    (FINDING_KIND, LOINC, "97908-8", "odi-panel"),
    (FINDING_KIND, SCT, "299238003", "hip-rom"),
    (FINDING_KIND, SCT, "192970008", "cauda-equina"),
    (FINDING_KIND, SCT, "52734007", "prior-hip-arthroplasty"),
    (FINDING_KIND, SCT, "239872002", "hip-oa"),
    (FINDING_KIND, ICD10CM, "M16", "hip-oa"),
    (FINDING_KIND, ICD10CM, "M16.12", "hip-oa"),
    (FINDING_KIND, SCT, "18347007", "spinal-stenosis"),
    (FINDING_KIND, SCT, "279039007", "low-back-pain"),
    (FINDING_COMPONENT, HSC, "pain-location", "pain-location"),
    (FINDING_COMPONENT, HSC, "slr-angle", "slr-angle"),
    *(
        (PAIN_SITE, HSC, f"site-{s}", f"site-{s}")
        for s in ("low-back", "buttock", "groin", "lateral-hip", "thigh", "leg-below-knee")
    ),
    (PAIN_SITE, SCT, "24136001", "site-groin"),
    *(
        (PAIN_LOCATION, HSC, f"location-{loc}", f"location-{loc}")
        for loc in ("groin-anterior", "posterior", "lateral", "below-knee")
    ),
    *(
        (IMAGING_FINDING, HSC, f"finding-{f}", f"finding-{f}")
        for f in ("normal", "stenosis", "disc-herniation", "spondylolisthesis")
    ),
    (TEST_RESULT, SCT, "10828004", "positive"),
    (TEST_RESULT, SCT, "260385009", "negative"),
    (TEST_RESULT, LOINC, "LA6576-8", "positive"),
    (TEST_RESULT, LOINC, "LA6577-6", "negative"),
    (TEST_RESULT, V3, "POS", "positive"),
    (TEST_RESULT, V3, "NEG", "negative"),
    (SIDE, SCT, "7771000", "left"),
    (SIDE, SCT, "24028007", "right"),
    (SIDE, SCT, "51440002", "both"),
]


@pytest.mark.parametrize(("domain", "system", "code", "target"), _TABLE)
def test_every_code_of_the_section_1_3_table_is_in_the_concept_maps(
    domain: str, system: str, code: str, target: str
) -> None:
    assert INDEX.lookup(domain, system, code) == target


def _targets() -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path in sorted(default_mappings_dir().glob("*.json")):
        resource = json.loads(path.read_text(encoding="utf-8"))
        for group in resource.get("group") or ():
            for element in group.get("element") or ():
                for target in element.get("target") or ():
                    found.append((path.name, element["code"], target))
    return found


def test_every_narrower_or_inexact_mapping_carries_a_comment_as_r4_cmd_1_requires() -> None:
    missing = [
        (name, code)
        for name, code, target in _targets()
        if target.get("equivalence") in ("narrower", "inexact") and not target.get("comment")
    ]
    assert missing == []


def test_total_hip_replacement_maps_to_the_wider_prior_hip_arthroplasty() -> None:
    (equivalence,) = [t.get("equivalence") for name, code, t in _targets() if code == "52734007"]
    assert equivalence == "wider"  # the target (any hip arthroplasty) is wider than the source
