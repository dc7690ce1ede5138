"""Unrecognised codes are named (issue 11 item 6): an Observation coded with a local code no
ConceptMap maps is listed as a warning (id or fullUrl, its code, FHIRPath of ``code``), in the
output OperationOutcome, the card's warnings and ``--summary``; ``MAPPINGS_DIR`` ADDS a site's
ConceptMaps to the shipped ones and says at start what it loaded."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from service.app import create_app
from service.cli import main
from service.config import Settings
from service.fhir.concept_maps import ConceptMapIndex, default_mappings_dir
from service.fhir.extract import read_input
from service.fhir.site_maps import load_index

from .test_local_codes import LOCAL, documented_concept_map, worked_example_with_local_codes

REPO = Path(__file__).resolve().parents[2]
SHIPPED = ConceptMapIndex.load(default_mappings_dir())


def _unrecognised(warnings: Any) -> list[Any]:
    return [w for w in warnings if "not recognised" in w.diagnostics]


def test_each_locally_coded_observation_is_named_with_its_code_and_where() -> None:
    bundle = worked_example_with_local_codes()
    extraction = read_input(bundle, SHIPPED)
    named = _unrecognised(extraction.warnings)
    local = [
        (i, e) for i, e in enumerate(bundle["entry"]) if e["resource"].get("code", {}).get(
            "coding", [{}])[0].get("system") == LOCAL
    ]  # fmt: skip
    assert len(named) == len(local) > 0
    for issue, (i, entry) in zip(named, local, strict=True):
        rid = f"Observation/{entry['resource']['id']}"
        code = entry["resource"]["code"]["coding"][0]["code"]
        assert issue.severity == "warning"
        assert issue.diagnostics.startswith(rid)
        assert f"{LOCAL}|{code}" in issue.diagnostics and "MAPPINGS_DIR" in issue.diagnostics
        assert issue.expression == (f"Bundle.entry[{i}].resource.code",)


def test_standard_codes_the_rules_do_not_read_are_not_listed() -> None:
    """A LOINC heart rate (every example carries one) is a known system: not noise on a card."""
    worked = json.loads((REPO / "examples" / "complex.json").read_text())
    assert _unrecognised(read_input(worked, SHIPPED).warnings) == []


def test_the_skipped_codes_reach_the_outcome_and_the_summary(tmp_path: Path) -> None:
    bundle_file = tmp_path / "local.json"
    bundle_file.write_text(json.dumps(worked_example_with_local_codes()))
    env = {"DATA_DIR": str(tmp_path / "data"), "MAPPINGS_DIR": None, "DATABASE_URL": None}
    summary = CliRunner().invoke(main, ["evaluate", str(bundle_file), "--summary"], env=env)
    assert summary.exit_code == 0, summary.output
    assert f"{LOCAL}|HIP-IR" in summary.output
    full = CliRunner().invoke(main, ["evaluate", str(bundle_file)], env=env)
    assert full.exit_code == 0
    assert f"{LOCAL}|FADIR" in full.stdout  # in the output OperationOutcome / notes


def _site(tmp_path: Path) -> Path:
    site = tmp_path / "site-maps"
    site.mkdir()
    (site / "ConceptMap-site-local.json").write_text(json.dumps(documented_concept_map()))
    return site


def test_mappings_dir_adds_the_site_maps_to_the_shipped_ones(tmp_path: Path) -> None:
    site = _site(tmp_path)  # ONLY the site's map: the shipped ones must still be in force
    settings = Settings.from_env({}).with_overrides(data_dir=tmp_path / "data", mappings_dir=site)
    app = create_app(settings)
    try:
        pipeline = app.extensions["hipspine"].pipeline
        _, local = pipeline.assess(worked_example_with_local_codes())
        standard = json.loads(
            (REPO / "examples" / "secondary-functional-worked-example.json").read_text()
        )
        _, shipped = pipeline.assess(standard)
    finally:
        app.extensions["hipspine"].store.close()
    assert (local.category.name, shipped.category.name) == ("SECONDARY", "SECONDARY")


def test_start_up_says_which_maps_it_loaded_and_names_each_override(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    site = _site(tmp_path)
    shipped_code = next(iter(SHIPPED.domain(next(iter(SHIPPED.exact)))))
    domain = next(iter(SHIPPED.exact))
    old = SHIPPED.exact[domain][shipped_code]
    other = next(
        t for t in {v for v in SHIPPED.exact[domain].values()} if t != old
    )  # another target of the same domain
    override = {
        "resourceType": "ConceptMap",
        "status": "active",
        "group": [
            {
                "source": shipped_code[0],
                "target": domain,
                "element": [
                    {"code": shipped_code[1],
                     "target": [{"code": other, "equivalence": "equivalent"}]}
                ],
            }
        ],
    }  # fmt: skip
    (site / "ConceptMap-site-override.json").write_text(json.dumps(override))
    hipspine = logging.getLogger("hipspine")
    propagated = hipspine.propagate
    with caplog.at_level(logging.INFO, logger="hipspine.mappings"):
        hipspine.propagate = True  # the JSON set-up stops hipspine.* short of caplog's root
        try:
            loaded = load_index(site)
        finally:
            hipspine.propagate = propagated
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "ConceptMap-site-local.json" in text and "MAPPINGS_DIR" in text
    assert f"{shipped_code[0]}|{shipped_code[1]} {old} -> {other}" in text
    assert loaded.index.lookup(domain, *shipped_code) == other


def test_the_patient_view_card_summarises_the_skipped_codes(tmp_path: Path) -> None:
    hook = json.loads((REPO / "examples/cds-hooks/patient-view-worked-example.json").read_text())
    local = {e["resource"]["id"]: e["resource"] for e in worked_example_with_local_codes()["entry"]}
    for entry in hook["prefetch"]["observations"]["entry"]:
        entry["resource"] = local.get(entry["resource"].get("id"), entry["resource"])
    settings = Settings.from_env({}).with_overrides(
        data_dir=tmp_path / "data", cds_auth_required=False
    )
    app = create_app(settings)
    try:
        resp = app.test_client().post("/cds-services/hip-spine-patient-view", json=hook)
    finally:
        app.extensions["hipspine"].store.close()
    assert resp.status_code == 200, resp.get_data(as_text=True)
    details = " ".join(card["detail"] for card in resp.get_json()["cards"])
    assert "Not read: " in details and "HIP-IR" in details and "FADIR" in details


def test_the_card_summarises_many_skipped_observations_in_one_first_note() -> None:
    from service.errors import Issue
    from service.fhir.parse import Entry, Scan, Subject
    from service.fhir.unrecognised import LISTED_MAX, card_notes, unrecognised_observations

    entries = [
        Entry(i, f"Bundle.entry[{i}].resource", None, {
            "resourceType": "Observation", "id": f"o{i}",
            "code": {"coding": [{"system": LOCAL, "code": f"C{i % 4}"}]}}, "Observation")
        for i in range(LISTED_MAX + 7)
    ]  # fmt: skip
    found = Scan((), (), tuple(Subject(e, "Patient/p", False) for e in entries))
    issues = unrecognised_observations(found, SHIPPED)
    assert len(issues) == LISTED_MAX + 1 and "and 7 more" in issues[-1].diagnostics
    other = Issue("warning", "value", "Observation/x excluded: out of range")
    notes = card_notes((other, *issues))
    assert len(notes) == 2 and notes[1] == other.diagnostics
    assert notes[0].startswith(f"Not read: {LISTED_MAX + 7} observation(s) with local codes")
    assert "(C0, C1, C2, …)" in notes[0] and len(notes[0]) <= 160
