"""The conformance resources in profiles/ and their loader (clinical-spec.md §1, §5, §6)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from fhir.resources.R4B import get_fhir_model_class

from service.core import advice
from service.core.assessment import Category, Subtype
from service.errors import HipSpineError
from service.fhir.extraction import INVESTIGATION_GROUPS
from service.fhir.profiles import (
    HSC_SYSTEM,
    LATERALITY_URL,
    InvalidProfiles,
    Profiles,
    default_profiles_dir,
    profile_url,
)

REPO = Path(__file__).resolve().parents[2]
CLINICAL_SPEC = REPO / "docs" / "clinical-spec.md"  # the repository copy (issue 11)


@pytest.fixture(scope="module")
def profiles() -> Profiles:
    return Profiles.load(default_profiles_dir())


@pytest.fixture(scope="module")
def spec_text() -> str:
    if not CLINICAL_SPEC.is_file():
        pytest.skip(f"clinical-spec.md not found at {CLINICAL_SPEC} (outside this checkout)")
    return CLINICAL_SPEC.read_text(encoding="utf-8")


def test_the_default_directory_is_the_repositorys_profiles_folder() -> None:
    assert default_profiles_dir() == REPO / "profiles"


@pytest.mark.parametrize("path", sorted((REPO / "profiles").glob("*.json")), ids=lambda p: p.name)
def test_every_file_in_profiles_is_a_valid_r4b_resource(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    get_fhir_model_class(data["resourceType"]).model_validate(data)
    assert path.stem == f"{data['resourceType']}-{data['id']}"


def test_the_rule_set_comes_from_the_plan_definition(profiles: Profiles) -> None:
    assert profiles.rule_set.url == "http://hipspine-cds.org/fhir/PlanDefinition/hip-spine-rules"
    # fourth edition: rule set 2.0.0, experimental until validated against adjudicated cases (E4-24)
    assert profiles.rule_set.version == "2.0.0"
    assert profiles.rule_set.canonical.endswith("hip-spine-rules|2.0.0")
    assert profiles.plan_definition["status"] == "active"
    assert profiles.plan_definition["experimental"] is True
    assert "clinical-spec.md" in profiles.plan_definition["description"]


def test_the_operation_definition_describes_hip_spine_evaluate(profiles: Profiles) -> None:
    od = profiles.operation_definition
    assert od["url"] == "http://hipspine-cds.org/fhir/OperationDefinition/hip-spine-evaluate"
    assert (od["status"], od["kind"], od["code"]) == ("active", "operation", "hip-spine-evaluate")
    assert (od["system"], od["type"], od["instance"]) == (True, False, True)
    assert od["resource"] == ["Patient"]
    assert od["affectsState"] is False
    params = {(p["name"], p["use"]): (p["min"], p["max"], p["type"]) for p in od["parameter"]}
    assert params == {("observations", "in"): (1, "1", "Bundle"),
                      ("return", "out"): (1, "1", "Bundle")}  # fmt: skip


@pytest.mark.parametrize("rtype", ["ClinicalImpression", "CarePlan", "Provenance"])
def test_each_output_profile_constrains_its_r4_base(profiles: Profiles, rtype: str) -> None:
    sd = profiles.structure_definitions[profile_url(rtype)]
    assert sd["url"].endswith(f"/StructureDefinition/hipspine-{rtype.lower()}")
    assert (sd["kind"], sd["derivation"], sd["fhirVersion"]) == ("resource", "constraint", "4.0.1")
    assert sd["type"] == rtype
    assert sd["baseDefinition"] == f"http://hl7.org/fhir/StructureDefinition/{rtype}"
    paths = [e["path"] for e in sd["differential"]["element"]]
    assert paths[0] == rtype
    assert all(p.startswith(f"{rtype}.") for p in paths[1:])


def test_the_profiles_fix_the_codes_section_6_names(profiles: Profiles) -> None:
    fixed = {
        e["path"]: e["fixedCode"]
        for sd in profiles.structure_definitions.values()
        for e in sd["differential"]["element"]
        if "fixedCode" in e
    }
    assert fixed == {
        "ClinicalImpression.text.status": "generated",  # issue 10 item 3: a narrative
        "CarePlan.text.status": "generated",
        "ClinicalImpression.status": "completed",
        "CarePlan.status": "draft",
        "CarePlan.intent": "proposal",
        "CarePlan.activity.detail.kind": "ServiceRequest",
        "CarePlan.activity.detail.status": "not-started",
        "Provenance.entity.role": "source",
    }


def test_the_laterality_extension_has_the_url_of_section_1_2(profiles: Profiles) -> None:
    sd = profiles.structure_definitions[LATERALITY_URL]
    assert (sd["type"], sd["kind"]) == ("Extension", "complex-type")
    # E4-18 (§1.2, §5.4, §6): also the history inputs' body sites and the proposed activities
    assert sd["context"] == [
        {"type": "element", "expression": e}
        for e in ("Observation.bodySite", "Procedure.bodySite", "Condition.bodySite",
                  "CarePlan.activity.detail")
    ]  # fmt: skip
    url = next(e for e in sd["differential"]["element"] if e["path"] == "Extension.url")
    assert url["fixedUri"] == "http://hipspine-cds.org/fhir/StructureDefinition/laterality"


def test_the_codesystem_is_complete_and_every_concept_is_defined(profiles: Profiles) -> None:
    cs = profiles.code_system
    assert (cs["url"], cs["content"], cs["status"]) == (HSC_SYSTEM, "complete", "active")
    assert cs["count"] == len(cs["concept"]) == len(profiles.codes)
    for concept in cs["concept"]:
        assert concept["display"].strip() and concept["definition"].strip(), concept["code"]
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", concept["code"]), concept["code"]


def test_every_hsc_code_the_clinical_spec_mentions_is_in_the_codesystem(
    profiles: Profiles, spec_text: str
) -> None:
    explicit = {c for c in re.findall(r"HSC#([a-z0-9-]+)", spec_text) if not c.endswith("-")}
    explicit.discard("code")  # §1: "write it `HSC#code`", a placeholder; `HSC#category-…` skipped
    shorthand = set(re.findall(r"`#([a-z0-9][a-z0-9-]*[a-z0-9])`", spec_text))
    unwrapped = re.sub(r"-\n\s*", "-", spec_text)  # "rec-gluteal-\ntendinopathy-care" (§5.2)
    recommendations = set(re.findall(r"\brec-[a-z0-9-]*[a-z0-9]", unwrapped))
    section6 = spec_text[spec_text.index("Output codes (all in `HSC`)") :]
    outputs = {
        c for c in re.findall(r"`([a-z0-9][a-z0-9-]*[a-z0-9])`", section6)
        if re.match(r"(category|subtype|offierski|diebo|hip-spine-class|schwab|priority"
                    r"|confidence|urgency|rec)-", c)
    }  # fmt: skip
    mentioned = explicit | shorthand | recommendations | outputs
    assert len(mentioned) > 100
    assert sorted(mentioned - profiles.codes) == []


def test_the_codes_the_spec_abbreviates_are_spelled_out(profiles: Profiles) -> None:
    motions = ["flexion", "extension", "abduction", "adduction", "internal-rotation",
               "external-rotation"]  # fmt: skip
    abbreviated = {f"hip-rom-{m}" for m in motions}
    abbreviated |= {f"hip-spine-class-{g}" for g in ("1a", "1b", "2a", "2b")}
    abbreviated |= {
        f"schwab-{m}-{b}" for m in ("pill", "pt", "sva") for b in ("0", "plus", "plus-plus")
    }
    abbreviated |= {f"nrs-band-{b}" for b in ("none", "mild", "moderate", "severe")}
    abbreviated |= {
        f"odi-band-{b}" for b in ("minimal", "moderate", "severe", "crippling", "bed-bound")
    }
    abbreviated |= {f"investigation-{g}" for g in INVESTIGATION_GROUPS}
    abbreviated |= {c.value for c in Category} | {t.value for t in Subtype}
    assert sorted(abbreviated - profiles.codes) == []


def test_display_reads_the_codesystem_with_or_without_the_hsc_prefix(profiles: Profiles) -> None:
    assert profiles.display("rec-mri-lumbar") == advice.display("rec-mri-lumbar")
    assert profiles.display("HSC#rec-mri-lumbar") == advice.display("rec-mri-lumbar")
    assert profiles.has_code("HSC#category-complex")
    assert not profiles.has_code("category-simple")


def test_display_of_an_unknown_code_raises(profiles: Profiles) -> None:
    with pytest.raises(HipSpineError, match="not in CodeSystem"):
        profiles.display("rec-acupuncture")


def _copy_profiles(tmp_path: Path) -> Path:
    target = tmp_path / "profiles"
    shutil.copytree(default_profiles_dir(), target)
    return target


def test_loading_refuses_a_resource_that_is_not_valid_r4(tmp_path: Path) -> None:
    directory = _copy_profiles(tmp_path)
    path = directory / "PlanDefinition-hip-spine-rules.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["statusx"] = data.pop("status")
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InvalidProfiles, match="PlanDefinition-hip-spine-rules.json"):
        Profiles.load(directory)


def test_loading_refuses_a_folder_without_the_rule_set(tmp_path: Path) -> None:
    directory = _copy_profiles(tmp_path)
    (directory / "PlanDefinition-hip-spine-rules.json").unlink()
    with pytest.raises(InvalidProfiles, match="PlanDefinition"):
        Profiles.load(directory)


def test_loading_refuses_a_rule_set_without_version(tmp_path: Path) -> None:
    directory = _copy_profiles(tmp_path)
    path = directory / "PlanDefinition-hip-spine-rules.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["version"]
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InvalidProfiles, match="no version"):
        Profiles.load(directory)


def test_loading_refuses_a_duplicate_code(tmp_path: Path) -> None:
    directory = _copy_profiles(tmp_path)
    path = directory / "CodeSystem-hsc.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["concept"].append(dict(data["concept"][0]))
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InvalidProfiles, match="duplicate"):
        Profiles.load(directory)


def test_loading_refuses_broken_json(tmp_path: Path) -> None:
    directory = _copy_profiles(tmp_path)
    (directory / "Broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(InvalidProfiles, match="Broken.json"):
        Profiles.load(directory)


def test_loading_refuses_an_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(InvalidProfiles, match="no FHIR resources"):
        Profiles.load(tmp_path)


def test_every_hsc_code_the_concept_maps_use_is_in_the_codesystem(profiles: Profiles) -> None:
    maps = sorted((REPO / "mappings").glob("ConceptMap-*.json"))
    if not maps:
        pytest.skip("no ConceptMaps in mappings/ yet")
    used = set()
    for path in maps:
        for group in json.loads(path.read_text(encoding="utf-8")).get("group", []):
            for element in group.get("element", []):
                if group.get("source") == HSC_SYSTEM:
                    used.add(element["code"])
                if group.get("target") == HSC_SYSTEM:
                    used |= {t["code"] for t in element.get("target", []) if "code" in t}
    assert sorted(used - profiles.codes) == []
