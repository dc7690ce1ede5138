"""The ConceptMap index: loaded once from mappings/, immutable, strict about mistakes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from service.core.findings import Motion, PainSite, Side
from service.fhir.concept_maps import ConceptMapIndex, default_mappings_dir
from service.fhir.extract import read_input
from service.fhir.kinds import (
    DOMAINS,
    FINDING_KIND,
    IMAGING_FINDING,
    KINDS,
    PAIN_LOCATION,
    PAIN_SITE,
    SIDE,
    TEST_RESULT,
)
from tests.fhir.extract_builders import HSC, INDEX, LOINC, SCT, bundle, concept, nrs, obs, qty

LOCAL = "http://hospital.example.org/codes"


def _copy_mappings(tmp_path: Path) -> Path:
    target = tmp_path / "mappings"
    shutil.copytree(default_mappings_dir(), target)
    return target


def _edit(path: Path, change: Any) -> None:
    resource = json.loads(path.read_text())
    change(resource)
    path.write_text(json.dumps(resource))


def test_the_default_mappings_folder_is_the_repository_one() -> None:
    directory = default_mappings_dir()
    assert directory.name == "mappings"
    assert (directory.parent / "pyproject.toml").exists()


@pytest.mark.parametrize(
    ("domain", "system", "code", "target"),
    [
        (FINDING_KIND, LOINC, "72514-3", "pain-nrs"),
        (FINDING_KIND, LOINC, "97909-6", "odi"),
        (FINDING_KIND, LOINC, "97908-8", "odi-panel"),
        (FINDING_KIND, SCT, "299238003", "hip-rom"),
        (FINDING_KIND, SCT, "192970008", "cauda-equina"),
        (FINDING_KIND, SCT, "239872002", "hip-oa"),
        (FINDING_KIND, SCT, "18347007", "spinal-stenosis"),
        (FINDING_KIND, SCT, "279039007", "low-back-pain"),
        (FINDING_KIND, SCT, "52734007", "prior-hip-arthroplasty"),
        (FINDING_KIND, "http://hl7.org/fhir/sid/icd-10-cm", "M16.9", "hip-oa"),
        (FINDING_KIND, HSC, "hip-rom-internal-rotation", "hip-rom-internal-rotation"),
        (FINDING_KIND, HSC, "rf-saddle-anaesthesia", "rf-saddle-anaesthesia"),
        (PAIN_SITE, SCT, "24136001", "site-groin"),
        (PAIN_SITE, HSC, "site-leg-below-knee", "site-leg-below-knee"),
        (SIDE, SCT, "7771000", "left"),
        (SIDE, SCT, "24028007", "right"),
        (SIDE, SCT, "51440002", "both"),
        (TEST_RESULT, SCT, "10828004", "positive"),
        (TEST_RESULT, LOINC, "LA6577-6", "negative"),
        (
            TEST_RESULT,
            "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
            "POS",
            "positive",
        ),
        (PAIN_LOCATION, HSC, "location-below-knee", "location-below-knee"),
        (IMAGING_FINDING, HSC, "finding-spondylolisthesis", "finding-spondylolisthesis"),
    ],
)
def test_the_shipped_maps_recognise_the_codes_of_the_spec(
    domain: str, system: str, code: str, target: str
) -> None:
    assert INDEX.lookup(domain, system, code) == target


def test_every_hsc_input_code_of_the_spec_is_mapped() -> None:
    standard = {
        "pain-nrs",
        "odi",
        "odi-panel",
        "hip-rom",
        "cauda-equina",
        "hip-oa",
        "spinal-stenosis",
        "low-back-pain",
        # fourth edition: SNOMED / ICD-10-CM Conditions only (E4-3 malignancy, E4-9
        # artificial hip, E4-8 and Q4-24 manual-therapy precautions)
        "malignancy",
        "artificial-hip",
        "rheumatoid-arthritis",
        "osteoporosis",
        "femoral-neck-fracture",
    }
    for kind in set(KINDS) - standard:
        assert INDEX.lookup(FINDING_KIND, HSC, kind) == kind


def test_each_domain_target_is_a_known_code() -> None:
    for domain, mapping in INDEX.exact.items():
        assert set(mapping.values()) <= DOMAINS[domain]


def test_the_index_is_immutable() -> None:
    with pytest.raises(TypeError):
        INDEX.domain(FINDING_KIND)[(LOINC, "x")] = "odi"  # type: ignore[index]
    with pytest.raises(AttributeError):
        INDEX.exact = {}  # type: ignore[misc]


def test_a_prefix_matches_children_but_an_exact_code_wins(tmp_path: Path) -> None:
    mappings = _copy_mappings(tmp_path)
    _edit(
        mappings / "ConceptMap-standard-inputs.json",
        lambda r: r["group"][2]["element"].append(
            {"code": "M16.9", "target": [{"code": "low-back-pain", "equivalence": "inexact"}]}
        ),
    )
    index = ConceptMapIndex.load(mappings)
    icd = "http://hl7.org/fhir/sid/icd-10-cm"
    assert index.lookup(FINDING_KIND, icd, "M16.9") == "low-back-pain"
    assert index.lookup(FINDING_KIND, icd, "M16.1") == "hip-oa"
    assert index.lookup(FINDING_KIND, icd, "M1") is None


def test_a_site_adds_a_local_code_by_editing_a_concept_map(tmp_path: Path) -> None:
    mappings = _copy_mappings(tmp_path)

    def add_local(resource: dict[str, Any]) -> None:
        resource["group"].append(
            {
                "source": LOCAL,
                "target": FINDING_KIND,
                "element": [
                    {
                        "code": "IR-HIP",
                        "target": [
                            {"code": "hip-rom-internal-rotation", "equivalence": "equivalent"}
                        ],
                    }
                ],
            }
        )

    _edit(mappings / "ConceptMap-hsc-inputs.json", add_local)
    _edit(
        mappings / "ConceptMap-body-sites.json",
        lambda r: r["group"].append(
            {
                "source": LOCAL,
                "target": PAIN_SITE,
                "element": [
                    {
                        "code": "LENDEN",
                        "target": [{"code": "site-low-back", "equivalence": "equal"}],
                    }
                ],
            }
        ),
    )
    index = ConceptMapIndex.load(mappings)
    local_ir = obs(
        concept(LOCAL, "IR-HIP"),
        valueQuantity=qty(12),
        bodySite={"coding": [{"system": SCT, "code": "24028007"}]},
    )
    local_pain = nrs(4, None, bodySite=concept(LOCAL, "LENDEN"))
    payload = bundle(local_ir, local_pain)
    result = read_input(payload, index)
    assert result.findings.rom[(Motion.INTERNAL_ROTATION, Side.RIGHT)].value == 12
    assert result.findings.pain[0].site is PainSite.LOW_BACK
    assert read_input(payload, INDEX).relevant_count == 1  # the shipped maps do not know IR-HIP


def test_groups_for_other_target_systems_are_left_to_their_readers(tmp_path: Path) -> None:
    mappings = _copy_mappings(tmp_path)
    (mappings / "ConceptMap-orders.json").write_text(
        json.dumps(
            {
                "resourceType": "ConceptMap",
                "status": "active",
                "group": [
                    {
                        "source": HSC,
                        "target": "http://www.ama-assn.org/go/cpt",
                        "element": [
                            {
                                "code": "rec-mri-lumbar",
                                "target": [{"code": "72148", "equivalence": "equivalent"}],
                            }
                        ],
                    }
                ],
            }
        )
    )
    index = ConceptMapIndex.load(mappings)
    assert index.lookup(FINDING_KIND, HSC, "rec-mri-lumbar") is None


def test_unmatched_targets_map_nothing(tmp_path: Path) -> None:
    mappings = _copy_mappings(tmp_path)
    _edit(
        mappings / "ConceptMap-hsc-inputs.json",
        lambda r: r["group"][0]["element"].append(
            {"code": "old-code", "target": [{"equivalence": "unmatched"}]}
        ),
    )
    assert ConceptMapIndex.load(mappings).lookup(FINDING_KIND, HSC, "old-code") is None


def _broken(resource: dict[str, Any], how: str) -> None:
    element = resource["group"][0]["element"][0]
    if how == "unknown-target":
        element["target"][0]["code"] = "hip-rom-sideways"
    elif how == "two-targets":
        element["target"].append({"code": "odi", "equivalence": "equivalent"})
    elif how == "no-equivalence":
        del element["target"][0]["equivalence"]
    elif how == "unknown-element":
        element["colour"] = "blue"
    elif how == "no-source":
        del resource["group"][0]["source"]
    elif how == "conflict":
        resource["group"][0]["element"].append(
            {"code": element["code"], "target": [{"code": "odi", "equivalence": "equivalent"}]}
        )


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("unknown-target", "hip-rom-sideways"),
        ("two-targets", "several targets"),
        ("no-equivalence", "equivalence"),
        ("unknown-element", "colour"),
        ("no-source", "source"),
        ("conflict", "already maps"),
    ],
)
def test_an_invalid_concept_map_fails_loading_with_a_clear_value_error(
    tmp_path: Path, how: str, message: str
) -> None:
    mappings = _copy_mappings(tmp_path)
    _edit(mappings / "ConceptMap-hsc-inputs.json", lambda r: _broken(r, how))
    with pytest.raises(ValueError, match=message) as caught:
        ConceptMapIndex.load(mappings)
    assert "ConceptMap-hsc-inputs.json" in str(caught.value)


@pytest.mark.parametrize(
    "content", ["{not json", json.dumps({"resourceType": "CodeSystem"}), json.dumps([1])]
)
def test_a_file_that_is_not_a_concept_map_fails_loading(tmp_path: Path, content: str) -> None:
    mappings = _copy_mappings(tmp_path)
    (mappings / "zz-local.json").write_text(content)
    with pytest.raises(ValueError, match="zz-local.json"):
        ConceptMapIndex.load(mappings)


def test_an_empty_mappings_folder_fails_loading(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no ConceptMap"):
        ConceptMapIndex.load(tmp_path)
