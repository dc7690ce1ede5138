"""End to end from Findings: the real core's Assessment through the output builders."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from service.core.findings import (
    BoolFinding,
    Findings,
    ImagingFinding,
    Measurement,
    Motion,
    PainReading,
    PainSeries,
    PainSite,
    Radiographic,
    RedFlag,
    Side,
    SidedTest,
)
from service.core.findings import (
    TestFinding as SpecialTest,
)
from service.core.findings import (
    TestResult as Result,
)
from service.fhir.outputs import build_outputs, output_bundle
from service.fhir.profiles import HSC_SYSTEM, Profiles, default_profiles_dir
from service.fhir.required_bindings import binding_violations
from tests.fhir import assessment_samples as s

core = pytest.importorskip("service.core.evaluate", reason="the clinical core is not written yet")

L, R = Side.LEFT, Side.RIGHT
POS, NEG = Result.POSITIVE, Result.NEGATIVE


def m(value: str, source: str) -> Measurement:
    return Measurement(Decimal(value), source)


def pain(site: PainSite, value: int) -> PainSeries:
    return PainSeries(site, None, (PainReading(value, None, f"Observation/nrs-{site.value}"),))


WORKED_EXAMPLE = Findings(  # clinical-spec.md §8
    pain=(pain(PainSite.LOW_BACK, 6), pain(PainSite.GROIN, 0)),
    rom={(Motion.INTERNAL_ROTATION, L): m("10", "Observation/ir-l"),
         (Motion.INTERNAL_ROTATION, R): m("32", "Observation/ir-r")},
    sided_tests={(SidedTest.FADIR, L): SpecialTest(POS, "Observation/fadir-l"),
                 (SidedTest.FABER, L): SpecialTest(NEG, "Observation/faber-l"),
                 (SidedTest.FABER, R): SpecialTest(NEG, "Observation/faber-r"),
                 (SidedTest.SLR, L): SpecialTest(NEG, "Observation/slr-l"),
                 (SidedTest.SLR, R): SpecialTest(NEG, "Observation/slr-r")},
    kl_grade={L: m("1", "Observation/kl-l"), R: m("1", "Observation/kl-r")},
    lumbar_imaging={ImagingFinding.NORMAL: "Observation/mri"},
)  # fmt: skip

SEVERE_HIP_FLATBACK = Findings(
    pain=(pain(PainSite.LOW_BACK, 7), pain(PainSite.GROIN, 8)),
    kl_grade={L: m("3", "Observation/kl-l"), R: m("4", "Observation/kl-r")},
    radiographic={
        Radiographic.PELVIC_INCIDENCE: m("62", "Observation/pi"),
        Radiographic.LUMBAR_LORDOSIS: m("38", "Observation/ll"),
        Radiographic.PELVIC_TILT_STANDING: m("27", "Observation/pt"),
        Radiographic.SACRAL_SLOPE_STANDING: m("35", "Observation/ss"),
        Radiographic.SACRAL_SLOPE_SEATED: m("30", "Observation/ss-seated"),
        Radiographic.SVA: m("60", "Observation/sva"),
    },
)

EMERGENCY = Findings(
    red_flags={RedFlag.SADDLE_ANAESTHESIA: BoolFinding(True, "Observation/saddle")},
)

CASES = {
    "worked example": WORKED_EXAMPLE,
    "severe hip with flatback": SEVERE_HIP_FLATBACK,
    "emergency red flag": EMERGENCY,
    "nothing known": Findings(),
}


@pytest.fixture(scope="module")
def profiles() -> Profiles:
    return Profiles.load(default_profiles_dir())


def hsc_codes(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["code"]] if node.get("system") == HSC_SYSTEM and "code" in node else []
        return own + [c for v in node.values() for c in hsc_codes(v)]
    if isinstance(node, list):
        return [c for item in node for c in hsc_codes(item)]
    return []


@pytest.mark.parametrize("findings", CASES.values(), ids=CASES.keys())
def test_the_cores_assessment_becomes_valid_outputs_with_defined_codes(
    profiles: Profiles, findings: Findings
) -> None:
    assessment = core.evaluate(findings, profiles.rule_set)
    out = build_outputs(
        assessment, s.extraction(), recorded=s.RECORDED, profiles=profiles, public_base_url=s.BASE
    )
    bundle = output_bundle(out, None)
    assert get_fhir_model_class("Bundle").model_validate(bundle).model_dump(mode="json") == bundle
    assert binding_violations(bundle) == []
    codes = hsc_codes(bundle)
    assert set(codes) <= profiles.codes
    assert {c.code.removeprefix("HSC#") for c in assessment.conclusions} <= set(codes)
    assert (out.care_plan is None) == (not assessment.recommendations)


def test_the_worked_example_proposes_the_combined_programme(profiles: Profiles) -> None:
    assessment = core.evaluate(WORKED_EXAMPLE, profiles.rule_set)
    out = build_outputs(
        assessment, s.extraction(), recorded=s.RECORDED, profiles=profiles, public_base_url=s.BASE
    )
    findings = [f["itemCodeableConcept"]["coding"][0]["code"]
                for f in out.clinical_impression["finding"]]  # fmt: skip
    assert findings[:2] == ["category-secondary", "subtype-functional"]
    assert out.care_plan is not None
    # §8, fourth edition (E4-4): no red-flag item is recorded, so the screen comes first
    assert [a["detail"]["code"]["coding"][0]["code"] for a in out.care_plan["activity"]] == [
        "rec-red-flag-screen",
        "rec-combined-hip-lumbar-management",
    ]
    finding_codes = {f["itemCodeableConcept"]["coding"][0]["code"]
                     for f in out.clinical_impression["finding"]}  # fmt: skip
    assert "red-flag-screen-incomplete" in finding_codes  # §6 safety note, E4-4
