"""The input side of the fourth edition (clinical-spec.md §0.8, §1.1–§1.3; E4-2 … E4-16;
§11 Q4-02 … Q11-06): reference time, recency, malignancy, replaced hips, new input codes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from service.core.findings import (
    ConditionKind,
    NeuroSign,
    RedFlag,
    Side,
    SidedTest,
    TreatmentKind,
)
from service.core.thresholds import Thresholds
from tests.fhir.extract_builders import (
    HSC,
    POSITIVE,
    SCT,
    concept,
    diagnostics,
    extract,
    hsc,
    lateral,
    nrs,
    obs,
    qty,
)

ICD = "http://hl7.org/fhir/sid/icd-10-cm"
PATIENT_REF = {"reference": "Patient/p1"}


def rf(code: str, value: bool, when: str | None) -> dict[str, Any]:
    return obs(code, valueBoolean=value, effectiveDateTime=when)


def condition(system: str, code: str, **fields: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": f"c-{code.replace('.', '-')}",
        "code": concept(system, code),
        "subject": PATIENT_REF,
    }
    resource.update(fields)
    return resource


def procedure(system: str, code: str, **fields: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Procedure",
        "id": f"p-{code}",
        "status": "completed",
        "code": concept(system, code),
        "subject": PATIENT_REF,
    }
    resource.update(fields)
    return resource


def status(code: str) -> dict[str, Any]:
    return concept("http://terminology.hl7.org/CodeSystem/condition-clinical", code)


def verification(code: str) -> dict[str, Any]:
    return concept("http://terminology.hl7.org/CodeSystem/condition-ver-status", code)


def kl(side: str, grade: int, when: str = "2025-05-01") -> dict[str, Any]:
    return obs("kl-grade-hip", valueInteger=grade, bodySite=lateral(side), effectiveDateTime=when)


def anchor(when: str = "2025-06-01") -> dict[str, Any]:
    """A low-back NRS that sets the reference time."""
    return nrs(3, "site-low-back", effectiveDateTime=when)


# --- reference time (§0.8, E4-6, Q4-02, Q5-09) ------------------------------------------------


def test_e4_6_q4_02_reference_time_is_the_latest_used_observation_time() -> None:
    result = extract(
        anchor("2025-06-01T10:00:00Z"), nrs(2, "site-groin", effectiveDateTime="2025-01-01")
    )
    assert result.findings.reference_time == datetime(2025, 6, 1, 10, tzinfo=UTC)


def test_q4_02_conditions_and_excluded_observations_do_not_set_it() -> None:
    result = extract(
        anchor("2025-01-01"),
        condition(SCT, "239872002", recordedDate="2025-12-01"),
        nrs(11, "site-groin", effectiveDateTime="2025-11-01"),  # out of range: excluded
    )
    assert result.findings.reference_time == datetime(2025, 1, 1, tzinfo=UTC)


def test_e4_6_no_timed_observation_no_reference_time() -> None:
    assert extract(nrs(3, "site-low-back")).findings.reference_time is None


def test_q5_09_replaced_hip_exclusions_never_set_the_reference_time() -> None:
    result = extract(
        anchor("2025-01-01"),
        procedure(SCT, "52734007", bodySite=[lateral("left")], performedDateTime="2020-01-01"),
        kl("left", 3, "2025-06-01"),
    )
    assert result.findings.reference_time == datetime(2025, 1, 1, tzinfo=UTC)


# --- recency of red flags (E4-5, Q4-05, Q4-06, Q7-01) -----------------------------------------


def test_e4_5_a_red_flag_90_days_old_is_current() -> None:
    result = extract(anchor("2025-06-01T00:00:00Z"), rf("rf-fever", True, "2025-03-03T00:00:00Z"))
    assert result.findings.red_flags[RedFlag.FEVER].value is True


def test_e4_5_a_red_flag_older_than_90_days_is_excluded_with_the_warning() -> None:
    result = extract(anchor("2025-06-01T00:00:00Z"), rf("rf-fever", True, "2025-03-02T23:59:59Z"))
    assert RedFlag.FEVER not in result.findings.red_flags
    text = diagnostics(result)
    assert "rf-fever recorded 2025-03-02, older than 90 days: screen again" in text
    warning = next(w for w in result.warnings if "screen again" in w.diagnostics)
    assert warning.expression[0].endswith(".effectiveDateTime")
    assert warning.diagnostics.startswith("Observation/")


def test_q4_05_a_stale_value_gives_way_to_an_older_untimed_one() -> None:
    result = extract(
        anchor("2025-06-01"),
        obs("rf-fever", valueBoolean=False),
        rf("rf-fever", True, "2024-01-01"),
    )
    assert result.findings.red_flags[RedFlag.FEVER].value is False


def test_recency_threshold_comes_from_the_thresholds() -> None:
    result = extract(
        anchor("2025-06-01"),
        rf("rf-fever", True, "2025-05-01"),
        thresholds=Thresholds(red_flag_recency_days=Decimal(20)),
    )
    assert RedFlag.FEVER not in result.findings.red_flags


def test_q7_01_q5_06_q8_01_cancer_history_never_goes_stale() -> None:
    # Q5-06 and Q8-01 (latest value decides, whatever its age) as revised by Q10-01.
    result = extract(anchor("2025-06-01"), rf("rf-cancer-history", True, "2010-01-01"))
    assert result.findings.red_flags[RedFlag.CANCER_HISTORY].value is True


def test_q10_01_a_later_false_does_not_erase_a_recorded_cancer_history() -> None:
    result = extract(
        anchor("2025-06-01"),
        rf("rf-cancer-history", True, "2020-01-01"),
        rf("rf-cancer-history", False, "2025-05-01"),
    )
    assert result.findings.red_flags[RedFlag.CANCER_HISTORY].value is True
    assert "not erased" in diagnostics(result)


def test_q10_01_an_entered_in_error_true_is_erased() -> None:
    wrong = rf("rf-cancer-history", True, "2020-01-01")
    wrong["status"] = "entered-in-error"
    result = extract(anchor(), wrong, rf("rf-cancer-history", False, "2025-05-01"))
    assert result.findings.red_flags[RedFlag.CANCER_HISTORY].value is False


def test_e4_2_q10_08_new_red_flag_codes_are_read() -> None:
    result = extract(
        rf("rf-unable-to-weight-bear", True, None),
        rf("rf-long-term-corticosteroids", True, None),
    )
    assert set(result.findings.red_flags) == {
        RedFlag.UNABLE_TO_WEIGHT_BEAR,
        RedFlag.LONG_TERM_CORTICOSTEROIDS,
    }


# --- malignancy (E4-3, Q4-04, Q7-02, Q10-01, Q11-05) ------------------------------------------


@pytest.mark.parametrize(
    ("system", "code", "counts"),
    [
        (SCT, "363346000", True),
        (ICD, "C00", True),
        (ICD, "C50.911", True),
        (ICD, "C4A.0", True),
        (ICD, "C7A.00", True),
        (ICD, "C7B.01", True),
        (ICD, "C96.9", True),
        (ICD, "C44.91", False),  # Q7-02: non-melanoma skin cancer
        (ICD, "C44", False),
        (ICD, "C97", False),
        (ICD, "D03.9", False),
        (SCT, "372087000", False),  # a specific SNOMED code: no subsumption (Q4-04)
    ],
)
def test_q4_04_q7_02_malignancy_codes(system: str, code: str, counts: bool) -> None:
    result = extract(condition(system, code))
    assert (ConditionKind.MALIGNANCY in result.findings.conditions) is counts


@pytest.mark.parametrize("clinical", ["active", "inactive", "remission", "resolved", "relapse"])
def test_q10_01_malignancy_counts_whatever_its_clinical_status(clinical: str) -> None:
    result = extract(condition(ICD, "C61", clinicalStatus=status(clinical)))
    assert ConditionKind.MALIGNANCY in result.findings.conditions


@pytest.mark.parametrize("ver", ["refuted", "entered-in-error"])
def test_q10_01_refuted_malignancy_does_not_count(ver: str) -> None:
    result = extract(condition(ICD, "C61", verificationStatus=verification(ver)))
    assert ConditionKind.MALIGNANCY not in result.findings.conditions


def test_other_conditions_still_need_an_active_clinical_status() -> None:
    result = extract(condition(SCT, "239872002", clinicalStatus=status("resolved")))
    assert ConditionKind.HIP_OA not in result.findings.conditions


# --- manual-therapy precautions and fractures (E4-8, Q4-24, Q5-05) ----------------------------


@pytest.mark.parametrize(
    ("system", "code", "kind"),
    [
        (SCT, "69896004", ConditionKind.RHEUMATOID_ARTHRITIS),
        (ICD, "M05.79", ConditionKind.RHEUMATOID_ARTHRITIS),
        (ICD, "M06.9", ConditionKind.RHEUMATOID_ARTHRITIS),
        (SCT, "64859006", ConditionKind.OSTEOPOROSIS),
        (ICD, "M81.0", ConditionKind.OSTEOPOROSIS),
        (ICD, "M80.08XA", ConditionKind.OSTEOPOROSIS),
        (SCT, "5913000", ConditionKind.FEMORAL_NECK_FRACTURE),
        (ICD, "S72.001A", ConditionKind.FEMORAL_NECK_FRACTURE),
        (SCT, "429376005", ConditionKind.ARTIFICIAL_HIP),
    ],
)
def test_q4_24_precaution_conditions(system: str, code: str, kind: ConditionKind) -> None:
    assert kind in extract(condition(system, code)).findings.conditions


def test_q5_05_fracture_onset_and_side() -> None:
    result = extract(
        condition(
            SCT,
            "5913000",
            onsetPeriod={"start": "2025-05-01"},
            recordedDate="2025-05-20",
            bodySite=[lateral("right")],
        )
    )
    fracture = result.findings.conditions[ConditionKind.FEMORAL_NECK_FRACTURE]
    assert fracture.onset == datetime(2025, 5, 1, tzinfo=UTC)
    assert fracture.sides == frozenset({Side.RIGHT})


# --- replaced hips (§1.2 E4-9, Q4-11, Q4-14) --------------------------------------------------


def test_e4_9_a_replaced_sides_kl_is_excluded_with_the_warning() -> None:
    result = extract(
        procedure(SCT, "52734007", bodySite=[concept(SCT, "24136001"), lateral("left")]),
        kl("left", 4),
        kl("right", 1),
    )
    f = result.findings
    assert f.replaced_sides == frozenset({Side.LEFT})
    assert set(f.kl_grade) == {Side.RIGHT}
    warning = next(w for w in result.warnings if "replaced" in w.diagnostics)
    assert warning.diagnostics.endswith("excluded: the left hip is replaced")
    assert warning.diagnostics.startswith("Observation/")
    assert warning.expression[0].endswith(".bodySite")


@pytest.mark.parametrize(
    "source",
    [
        obs("prior-hip-arthroplasty", valueBoolean=True, bodySite=lateral("left")),
        condition(SCT, "429376005", bodySite=[lateral("left")]),
    ],
)
def test_e4_9_every_way_of_recording_a_replaced_hip(source: dict[str, Any]) -> None:
    result = extract(
        source, obs("test-fadir", valueCodeableConcept=POSITIVE, bodySite=lateral("left"))
    )
    assert result.findings.replaced_sides == frozenset({Side.LEFT})
    assert result.findings.sided_tests == {}


def test_q4_14_log_roll_of_a_replaced_hip_is_kept_for_the_hip_red_flag() -> None:
    result = extract(
        procedure(SCT, "52734007", bodySite=[lateral("right")]),
        obs("test-log-roll", valueCodeableConcept=POSITIVE, bodySite=lateral("right")),
    )
    f = result.findings
    assert (SidedTest.LOG_ROLL, Side.RIGHT) not in f.sided_tests
    assert (SidedTest.LOG_ROLL, Side.RIGHT) in f.replaced_hip_tests


def test_e4_9_an_arthroplasty_without_side_excludes_nothing() -> None:
    result = extract(procedure(SCT, "52734007"), kl("left", 4))
    assert result.findings.replaced_sides == frozenset()
    assert result.findings.arthroplasty_unsided
    assert Side.LEFT in result.findings.kl_grade


def test_q5_11_lateral_hip_tests_are_not_excluded_on_a_replaced_side() -> None:
    result = extract(
        procedure(SCT, "52734007", bodySite=[lateral("left")]),
        obs(
            "test-greater-trochanter-palpation",
            valueCodeableConcept=POSITIVE,
            bodySite=lateral("left"),
        ),
    )
    assert (SidedTest.GREATER_TROCHANTER_PALPATION, Side.LEFT) in result.findings.sided_tests


# --- MRC grade (E4-3, Q4-07) ------------------------------------------------------------------


def _weakness(grade: Any) -> dict[str, Any]:
    return obs(
        "myotomal-weakness",
        valueBoolean=True,
        component=[{"code": hsc("mrc-grade"), "valueInteger": grade}],
    )


def test_e4_3_mrc_grade_component_is_read() -> None:
    result = extract(_weakness(3))
    assert result.findings.neuro[NeuroSign.MYOTOMAL_WEAKNESS].mrc_grade == 3


def test_q4_07_an_mrc_grade_outside_0_to_5_excludes_the_component_only() -> None:
    result = extract(_weakness(6))
    weakness = result.findings.neuro[NeuroSign.MYOTOMAL_WEAKNESS]
    assert weakness.value is True
    assert weakness.mrc_grade is None
    assert "MRC grade" in diagnostics(result)


# --- symptom duration (E4-13, Q4-30) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "weeks"),
    [(qty(6, "wk"), Decimal(6)), (qty(42, "d"), Decimal(6)), (qty(3640, "d"), Decimal(520))],
)
def test_e4_13_symptom_duration_in_weeks_or_days(quantity: dict[str, Any], weeks: Decimal) -> None:
    result = extract(
        obs("symptom-duration", valueQuantity=quantity, effectiveDateTime="2025-06-01")
    )
    duration = result.findings.symptom_duration
    assert duration is not None
    assert duration.value == weeks
    assert duration.time == datetime(2025, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize("quantity", [qty(3641, "d"), qty(2, "a"), qty(6, None)])
def test_q4_30_duration_range_after_conversion_and_other_units_excluded(
    quantity: dict[str, Any],
) -> None:
    result = extract(obs("symptom-duration", valueQuantity=quantity))
    assert result.findings.symptom_duration is None
    assert result.warnings


# --- stale injection relief (E4-12, Q4-29) ----------------------------------------------------


def _ia(code: str, value: Any, when: str) -> dict[str, Any]:
    if code.endswith("pct"):
        return obs(
            f"ia-hip-injection-{code}", valueQuantity=qty(value, "%"), effectiveDateTime=when
        )
    return obs(f"ia-hip-injection-{code}", valueInteger=value, effectiveDateTime=when)


def test_e4_12_relief_365_days_old_is_current() -> None:
    result = extract(anchor("2025-06-01"), _ia("relief-pct", 80, "2024-06-01"))
    assert result.findings.ia_relief_pct is not None


def test_e4_12_relief_older_than_365_days_is_stale_with_the_warning() -> None:
    result = extract(anchor("2025-06-01T00:00:01Z"), _ia("relief-pct", 80, "2024-06-01"))
    assert result.findings.ia_relief_pct is None
    assert (
        "injection on 2024-06-01 is older than 12 months: repeat it if the hip is still in question"
    ) in diagnostics(result)


def test_q4_29_a_stale_recorded_percentage_gives_way_to_a_current_computed_relief() -> None:
    result = extract(
        anchor("2025-06-01"),
        _ia("relief-pct", 80, "2023-01-01"),
        _ia("nrs-pre", 8, "2025-05-01"),
        _ia("nrs-post", 2, "2025-05-01"),
    )
    f = result.findings
    assert f.ia_relief_pct is None
    assert f.ia_nrs_pre is not None and f.ia_nrs_post is not None


def test_q4_29_a_computed_relief_takes_the_time_of_its_post_nrs() -> None:
    result = extract(
        anchor("2025-06-01"), _ia("nrs-pre", 8, "2025-05-01"), _ia("nrs-post", 2, "2024-01-01")
    )
    assert result.findings.ia_nrs_post is None


# --- prior physiotherapy (E4-16, Q4-25, Q4-26, Q5-04, Q6-01, Q8-02, Q8-03, Q9-01, Q9-02) -----


def test_q4_25_physiotherapy_observation_time_is_when_it_ended() -> None:
    result = extract(
        obs(
            "prior-hip-lumbar-physiotherapy",
            valueBoolean=True,
            effectivePeriod={"start": "2025-01-01", "end": "2025-03-01"},
        )
    )
    (treatment,) = result.findings.treatments
    assert treatment.kind is TreatmentKind.PHYSIOTHERAPY
    assert treatment.time == datetime(2025, 3, 1, tzinfo=UTC)


def test_q4_25_physiotherapy_procedure_period_end_else_start() -> None:
    ended = procedure(SCT, "91251008", performedPeriod={"start": "2025-01-01", "end": "2025-02-01"})
    started = procedure(SCT, "91251008", performedPeriod={"start": "2025-01-01"})
    started["id"] = "p-started"
    times = {t.source: t.time for t in extract(ended, started).findings.treatments}
    assert times == {
        "Procedure/p-91251008": datetime(2025, 2, 1, tzinfo=UTC),
        "Procedure/p-started": datetime(2025, 1, 1, tzinfo=UTC),
    }


@pytest.mark.parametrize(
    ("fields", "counts"),
    [
        ({}, True),  # names neither: counts (Q4-26)
        ({"bodySite": [concept(SCT, "24136001")]}, True),
        ({"bodySite": [concept(SCT, "122496007")]}, True),
        ({"bodySite": [hsc("site-lateral-hip")]}, True),  # Q6-01
        ({"bodySite": [concept(SCT, "72696002")]}, False),  # knee: another region
        ({"bodySite": [concept(SCT, "7771000")]}, True),  # Q9-01: only a side
        ({"bodySite": [concept(SCT, "72696002"), concept(SCT, "24136001")]}, True),  # Q8-02
        ({"reasonCode": [concept(ICD, "M54.50")]}, True),  # Q8-03
        ({"reasonCode": [concept(ICD, "M54.16")]}, True),  # Q9-02
        ({"reasonCode": [concept(ICD, "M47.817")]}, True),  # Q9-02
        ({"reasonCode": [concept(ICD, "M16.11")]}, True),  # Q8-03
        ({"reasonCode": [concept(SCT, "279039007")]}, True),  # Q5-04 low back pain
        ({"reasonCode": [concept(ICD, "M17.11")]}, False),  # knee OA
        ({"reasonCode": [concept(ICD, "M54.2")]}, False),  # cervicalgia
    ],
)
def test_q5_04_q8_02_which_physiotherapy_procedures_count(
    fields: dict[str, Any], counts: bool
) -> None:
    result = extract(procedure(SCT, "91251008", **fields))
    kinds = [t.kind for t in result.findings.treatments]
    assert (kinds == [TreatmentKind.PHYSIOTHERAPY]) is counts
    if not counts:
        assert "not a hip–lumbar programme" in diagnostics(result)


# --- Patient.birthDate (Q10-08, Q11-06) -------------------------------------------------------


def _with_birth(birth: str) -> dict[str, Any]:
    from tests.fhir.extract_builders import bundle

    payload = bundle(anchor())
    payload["entry"][0]["resource"]["birthDate"] = birth
    return payload


@pytest.mark.parametrize(
    ("birth", "expected"),
    [
        ("1950-03-15", date(1950, 3, 15)),
        ("1950-02", date(1950, 2, 28)),  # Q11-06: the latest possible day
        ("1952-02", date(1952, 2, 29)),
        ("1950", date(1950, 12, 31)),
    ],
)
def test_q11_06_birth_date_partial_dates_are_their_latest_day(birth: str, expected: date) -> None:
    from service.fhir.extract import read_input
    from tests.fhir.extract_builders import INDEX

    assert read_input(_with_birth(birth), INDEX).findings.birth_date == expected


def test_q11_06_unreadable_birth_date_is_a_warning_and_no_age() -> None:
    from service.fhir.extract import read_input
    from tests.fhir.extract_builders import INDEX

    result = read_input(_with_birth("15/03/1950"), INDEX)
    assert result.findings.birth_date is None
    assert any(w.expression[0].endswith(".birthDate") for w in result.warnings)


def test_lumbar_imaging_time_is_the_latest_imaging_time() -> None:
    result = extract(
        obs(
            "lumbar-imaging-finding",
            valueCodeableConcept=hsc("finding-stenosis"),
            effectiveDateTime="2024-01-01",
        )
    )
    assert result.findings.lumbar_imaging_time == datetime(2024, 1, 1, tzinfo=UTC)
    assert HSC  # the HSC CodeSystem is the source of the codes above


def test_q5_05_each_condition_keeps_its_own_side_and_onset() -> None:
    old = condition(SCT, "5913000", onsetDateTime="2015-01-01", bodySite=[lateral("left")])
    new = condition(SCT, "5913000", onsetDateTime="2026-11-01", bodySite=[lateral("right")])
    new["id"] = "c-new"
    records = extract(old, new).findings.condition_records
    assert [(c.sides, c.onset) for c in records] == [
        (frozenset({Side.LEFT}), datetime(2015, 1, 1, tzinfo=UTC)),
        (frozenset({Side.RIGHT}), datetime(2026, 11, 1, tzinfo=UTC)),
    ]
