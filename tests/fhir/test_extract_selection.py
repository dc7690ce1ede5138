"""§1.1 latest-value selection, pain series, lumbar imaging sets and history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from service.core.findings import (
    ConditionKind,
    ImagingFinding,
    Motion,
    PainSite,
    Side,
    TreatmentKind,
)
from tests.fhir.extract_builders import PATIENT, SCT, concept, extract, hsc, nrs, obs, rom

FLEX = (Motion.FLEXION, Side.LEFT)


def _winner(*observations: dict[str, Any]) -> str:
    return extract(*observations).findings.rom[FLEX].source.removeprefix("Observation/")


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ({"effectiveDateTime": "2024-01-01"}, {"effectiveDateTime": "2024-01-02"}),
        (
            {"effectiveInstant": "2024-01-01T10:00:00Z"},
            {"effectiveDateTime": "2024-01-01T11:00:00Z"},
        ),
        (
            {"effectivePeriod": {"start": "2024-01-01", "end": "2024-03-01"}},
            {"effectivePeriod": {"start": "2024-02-01", "end": "2024-04-01"}},
        ),
        (
            {"effectivePeriod": {"start": "2024-01-01"}},
            {"effectivePeriod": {"start": "2024-02-01"}},
        ),
        ({"issued": "2024-01-01T00:00:00Z"}, {"issued": "2024-02-01T00:00:00Z"}),
        ({"effectiveDateTime": "2024-01-01"}, {"issued": "2024-02-01T00:00:00Z"}),
        ({}, {"issued": "2000-01-01T00:00:00Z"}),
    ],
)
def test_the_latest_value_wins_whatever_the_bundle_order(
    older: dict[str, Any], newer: dict[str, Any]
) -> None:
    a, b = rom("flexion", 90, **older), rom("flexion", 100, **newer)
    assert _winner(a, b) == b["id"]
    assert _winner(b, a) == b["id"]


def test_period_end_beats_an_earlier_period_start() -> None:
    long = rom("flexion", 90, effectivePeriod={"start": "2024-01-01", "end": "2024-06-01"})
    short = rom("flexion", 100, effectivePeriod={"start": "2024-05-01"})
    assert _winner(short, long) == long["id"]


def test_effective_time_is_preferred_over_issued() -> None:
    a = rom("flexion", 90, effectiveDateTime="2024-03-01", issued="2024-01-01T00:00:00Z")
    b = rom("flexion", 100, effectiveDateTime="2024-02-01", issued="2024-12-01T00:00:00Z")
    assert _winner(a, b) == a["id"]


def test_ties_are_broken_by_last_updated_then_bundle_order() -> None:
    when = "2024-01-01T10:00:00Z"
    early = rom("flexion", 90, effectiveDateTime=when, meta={"lastUpdated": "2024-01-02T00:00:00Z"})
    late = rom("flexion", 100, effectiveDateTime=when, meta={"lastUpdated": "2024-01-03T00:00:00Z"})
    assert _winner(late, early) == late["id"]
    first, second = (
        rom("flexion", 90, effectiveDateTime=when),
        rom("flexion", 100, effectiveDateTime=when),
    )
    assert _winner(first, second) == second["id"]
    assert _winner(second, first) == first["id"]


def test_a_partial_date_stands_for_the_start_of_its_period_in_utc() -> None:
    month = rom("flexion", 90, effectiveDateTime="2024-03")
    first_day = rom("flexion", 100, effectiveDateTime="2024-03-01T00:00:00+00:00")
    assert _winner(first_day, month) == month["id"]  # equal times: Bundle order decides
    assert _winner(month, first_day) == first_day["id"]
    year = rom("flexion", 90, effectiveDateTime="2024")
    late_new_year = rom("flexion", 100, effectiveDateTime="2024-01-01T01:00:00+02:00")  # 2023 UTC
    assert _winner(late_new_year, year) == year["id"]


def test_an_untimed_value_sorts_before_any_timed_one() -> None:
    untimed = rom("flexion", 90, meta={"lastUpdated": "2030-01-01T00:00:00Z"})
    timed = rom("flexion", 100, effectiveDateTime="1990-01-01")
    assert _winner(timed, untimed) == timed["id"]


def test_method_is_not_part_of_the_key_but_is_kept() -> None:
    seated = rom("flexion", 90, effectiveDateTime="2024-01-01", method={"text": "seated"})
    supine = rom("flexion", 100, effectiveDateTime="2024-02-01", method={"text": "supine"})
    found = extract(seated, supine).findings.rom
    assert list(found) == [FLEX]
    assert found[FLEX].method == "supine"


def test_superseded_values_are_not_listed_as_used() -> None:
    old = rom("flexion", 90, effectiveDateTime="2024-01-01")
    new = rom("flexion", 100, effectiveDateTime="2024-02-01")
    assert [u.reference for u in extract(old, new).used] == [f"Observation/{new['id']}"]


def test_pain_series_are_keyed_by_site_and_ordered_oldest_first() -> None:
    late = nrs(2, "site-low-back", effectiveDateTime="2024-06-01")
    early = nrs(7, "site-low-back", effectiveDateTime="2024-01-01")
    untimed = nrs(5, "site-low-back")
    groin = nrs(0, None, bodySite=concept(SCT, "24136001"), effectiveDateTime="2024-06-01")
    pain = extract(late, early, untimed, groin).findings.pain
    by_site = {series.site: series for series in pain}
    back = by_site[PainSite.LOW_BACK]
    assert [r.value for r in back.readings] == [5, 7, 2]
    assert back.latest.value == 2
    assert back.readings[0].time is None
    assert back.readings[1].time == datetime(2024, 1, 1, tzinfo=UTC)
    assert by_site[PainSite.GROIN].latest.value == 0


def test_each_unrecognised_site_is_its_own_series_and_site_less_nrs_share_one() -> None:
    knee = nrs(3, None, bodySite=concept(SCT, "72696002"))
    ankle = nrs(4, None, bodySite=concept(SCT, "344001"))
    text_only = nrs(6, None, bodySite={"text": "shoulder"})
    none_a = nrs(1, None, effectiveDateTime="2024-01-01")
    none_b = nrs(2, None, effectiveDateTime="2024-02-01")
    pain = extract(knee, ankle, text_only, none_a, none_b).findings.pain
    unrecognised = {s.unrecognised_site for s in pain if s.unrecognised_site}
    assert unrecognised == {f"{SCT}|72696002", f"{SCT}|344001", "text:shoulder"}
    (site_less,) = [s for s in pain if s.site is None and s.unrecognised_site is None]
    assert [r.value for r in site_less.readings] == [1, 2]


def test_lumbar_imaging_findings_at_the_latest_imaging_time_count_together() -> None:
    old = obs(
        "lumbar-imaging-finding",
        valueCodeableConcept=hsc("finding-normal"),
        effectiveDateTime="2022-01-01",
    )
    stenosis = obs(
        "lumbar-imaging-finding",
        valueCodeableConcept=hsc("finding-stenosis"),
        effectiveDateTime="2024-05-01",
    )
    herniation = obs(
        "lumbar-imaging-finding",
        valueCodeableConcept=hsc("finding-disc-herniation"),
        effectiveDateTime="2024-05-01",
    )
    result = extract(old, stenosis, herniation)
    assert dict(result.findings.lumbar_imaging) == {
        ImagingFinding.STENOSIS: f"Observation/{stenosis['id']}",
        ImagingFinding.DISC_HERNIATION: f"Observation/{herniation['id']}",
    }
    assert {u.reference for u in result.used} == {
        f"Observation/{stenosis['id']}",
        f"Observation/{herniation['id']}",
    }


def test_an_unrecognised_imaging_finding_is_excluded() -> None:
    result = extract(obs("lumbar-imaging-finding", valueCodeableConcept=hsc("finding-tumour")))
    assert result.findings.lumbar_imaging == {}
    assert len(result.warnings) == 1


def test_a_prior_treatment_is_dated_by_its_effective_time_never_by_issued() -> None:
    dated = obs(
        "prior-lumbar-surgery",
        valueBoolean=True,
        effectiveDateTime="2021-05",
        issued="2024-01-01T00:00:00Z",
    )
    period = obs(
        "prior-lumbar-injection",
        valueBoolean=True,
        effectivePeriod={"start": "2022-01-10", "end": "2022-03-01"},
    )
    undated = obs("prior-hip-arthroscopy", valueBoolean=True, issued="2024-01-01T00:00:00Z")
    treatments = {t.kind: t.time for t in extract(dated, period, undated).findings.treatments}
    assert treatments == {
        TreatmentKind.LUMBAR_SURGERY: datetime(2021, 5, 1, tzinfo=UTC),
        TreatmentKind.LUMBAR_INJECTION: datetime(2022, 1, 10, tzinfo=UTC),
        TreatmentKind.HIP_ARTHROSCOPY: None,
    }


def test_every_recorded_treatment_is_kept() -> None:
    first = obs("prior-lumbar-injection", valueBoolean=True, effectiveDateTime="2021-01-01")
    second = obs("prior-lumbar-injection", valueBoolean=True, effectiveDateTime="2022-01-01")
    assert len(extract(first, second).findings.treatments) == 2


def test_a_false_treatment_means_no_such_treatment() -> None:
    denial = obs("prior-hip-arthroplasty", valueBoolean=False)
    result = extract(denial)
    assert result.findings.treatments == ()
    assert dict(result.findings.treatments_denied) == {
        TreatmentKind.HIP_ARTHROPLASTY: f"Observation/{denial['id']}"
    }


def test_a_recorded_treatment_beats_a_denial_with_a_warning() -> None:
    done = obs("prior-hip-arthroplasty", valueBoolean=True, effectiveDateTime="2020-01-01")
    denial = obs("prior-hip-arthroplasty", valueBoolean=False)
    result = extract(done, denial)
    assert [t.kind for t in result.findings.treatments] == [TreatmentKind.HIP_ARTHROPLASTY]
    assert result.findings.treatments_denied == {}
    assert len(result.warnings) == 1


def _procedure(status: str, **fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "id": f"proc-{status}",
        "status": status,
        "code": concept(SCT, "52734007"),
        "subject": {"reference": f"Patient/{PATIENT}"},
        **fields,
    }


def test_a_completed_total_hip_replacement_procedure_is_a_dated_treatment() -> None:
    result = extract(
        _procedure("completed", performedPeriod={"start": "2019-09-03"}),
        _procedure("in-progress", performedDateTime="2024-01-01"),
    )
    (treatment,) = result.findings.treatments
    assert treatment.kind is TreatmentKind.HIP_ARTHROPLASTY
    assert treatment.time == datetime(2019, 9, 3, tzinfo=UTC)
    assert treatment.source == "Procedure/proc-completed"
    (ignored,) = result.ignored
    assert "in-progress" in ignored.diagnostics
    assert result.used[0].group == "history"


def _condition(code: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "code": code,
        "subject": {"reference": f"Patient/{PATIENT}"},
        **fields,
    }


def _status(system: str, code: str) -> dict[str, Any]:
    return concept(f"http://terminology.hl7.org/CodeSystem/{system}", code)


@pytest.mark.parametrize(
    ("fields", "counts"),
    [
        ({}, True),
        ({"clinicalStatus": _status("condition-clinical", "active")}, True),
        ({"clinicalStatus": _status("condition-clinical", "recurrence")}, True),
        ({"clinicalStatus": _status("condition-clinical", "relapse")}, True),
        ({"clinicalStatus": _status("condition-clinical", "resolved")}, False),
        ({"clinicalStatus": _status("condition-clinical", "inactive")}, False),
        ({"verificationStatus": _status("condition-ver-status", "confirmed")}, True),
        ({"verificationStatus": _status("condition-ver-status", "refuted")}, False),
        ({"verificationStatus": _status("condition-ver-status", "entered-in-error")}, False),
    ],
)
def test_conditions_count_only_when_active_and_not_refuted(
    fields: dict[str, Any], counts: bool
) -> None:
    result = extract(_condition(concept(SCT, "18347007"), **fields))
    assert (ConditionKind.SPINAL_STENOSIS in result.findings.conditions) is counts
    assert len(result.ignored) == (0 if counts else 1)


@pytest.mark.parametrize("code", ["M16", "M16.0", "M16.11", "M16.7"])
def test_icd10cm_m16_and_its_children_are_hip_osteoarthritis(code: str) -> None:
    result = extract(_condition(concept("http://hl7.org/fhir/sid/icd-10-cm", code), id="oa"))
    assert result.findings.conditions[ConditionKind.HIP_OA].source == "Condition/oa"


def test_icd10cm_codes_that_only_look_alike_are_not_hip_osteoarthritis() -> None:
    result = extract(_condition(concept("http://hl7.org/fhir/sid/icd-10-cm", "M17.0")))
    assert result.findings.conditions == {}
    assert result.relevant_count == 0


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (concept(SCT, "192970008"), ConditionKind.CAUDA_EQUINA),
        (concept(SCT, "239872002"), ConditionKind.HIP_OA),
        (concept(SCT, "279039007"), ConditionKind.LOW_BACK_PAIN),
        (hsc("condition-fai"), ConditionKind.FAI),
        (hsc("condition-labral-tear"), ConditionKind.LABRAL_TEAR),
        (hsc("condition-avn"), ConditionKind.AVN),
    ],
)
def test_condition_codes_are_recognised(code: dict[str, Any], kind: ConditionKind) -> None:
    assert kind in extract(_condition(code)).findings.conditions


def test_a_condition_code_on_an_observation_is_not_relevant() -> None:
    result = extract(obs(concept(SCT, "192970008"), valueBoolean=True))
    assert result.relevant_count == 0
    assert result.findings.conditions == {}


def test_untimed_imaging_findings_count_together_only_without_a_timed_one() -> None:
    def finding(code: str, **fields: Any) -> dict[str, Any]:
        return obs("lumbar-imaging-finding", valueCodeableConcept=hsc(code), **fields)

    untimed = extract(finding("finding-stenosis"), finding("finding-spondylolisthesis"))
    assert set(untimed.findings.lumbar_imaging) == {
        ImagingFinding.STENOSIS,
        ImagingFinding.SPONDYLOLISTHESIS,
    }
    timed = finding("finding-normal", issued="2024-01-01T00:00:00Z")
    mixed = extract(finding("finding-stenosis"), timed)
    assert set(mixed.findings.lumbar_imaging) == {ImagingFinding.NORMAL}
