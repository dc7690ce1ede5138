"""Against a real FHIR server: load sample patients, evaluate them by id, write back, re-run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests
from click.testing import CliRunner, Result

from service.app import create_app
from service.cli import main
from service.config import Settings
from service.core.assessment import Category
from service.errors import ExitCode
from service.samples.cases import TEMPLATES
from service.samples.data import MANIFEST

from .conftest import SMART_CLIENT, TOKEN, FhirServer, SmartKeys

pytestmark = pytest.mark.integration
# The category and rule are in the trace (§6.1, E4-19): the runs pass --trace.
CATEGORY_LINE = re.compile(r"^Category: (\w+)(?: \((\w+)\))?$", re.MULTILINE)


def run(args: list[str], server: FhirServer, data_dir: Path) -> Result:
    env = {"DATA_DIR": str(data_dir), "FHIR_SERVER_ALLOWLIST": server.url}
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


def category_of(output: str) -> tuple[str, str | None]:
    match = CATEGORY_LINE.search(output)
    assert match is not None, output
    return match.group(1), match.group(2)


def count(server: FhirServer, resource_type: str) -> int:
    answer = requests.get(f"{server.url}/{resource_type}", params={"_summary": "count"}, timeout=5)
    total: int = answer.json()["total"]
    return total


@pytest.fixture(scope="session")
def samples(fhir_server: FhirServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two patients per template, generated and loaded through the CLI."""
    out = tmp_path_factory.mktemp("samples")
    data = tmp_path_factory.mktemp("data")
    made = run(
        ["sample-data", "--out", str(out), "--seed", "7", "--patients", str(2 * len(TEMPLATES))],
        fhir_server,
        data,
    )
    assert made.exit_code == 0, made.output
    loaded = run(["load", "--fhir-server", fhir_server.url, str(out)], fhir_server, data)
    assert loaded.exit_code == 0, loaded.output
    manifest: dict[str, Any] = orjson.loads((out / MANIFEST).read_bytes())
    return manifest


def test_the_sample_data_covers_every_category_of_section_4_several_times(
    samples: dict[str, Any],
) -> None:
    categories = [p["category"] for p in samples["patients"]]
    assert set(categories) == {c.name for c in Category}
    assert min(categories.count(c) for c in set(categories)) >= 2


def test_every_loaded_patient_evaluates_by_id_through_the_cli_to_its_expected_category(
    fhir_server: FhirServer, samples: dict[str, Any], tmp_path: Path
) -> None:
    for patient in samples["patients"]:
        args = ["evaluate", "--trace", "--fhir-server", fhir_server.url]
        args += ["--patient", patient["patient_id"]]
        result = run(args, fhir_server, tmp_path)
        assert result.exit_code == 0, result.output
        expected = (patient["category"], patient["subtype"])
        assert category_of(result.output) == expected, (patient, result.output)


def test_the_cds_hook_without_prefetch_fetches_from_the_server_and_answers_the_category(
    fhir_server: FhirServer, samples: dict[str, Any], tmp_path: Path
) -> None:
    settings = Settings.from_env({}).with_overrides(
        data_dir=tmp_path, cds_auth_required=False, fhir_server_allowlist=(fhir_server.url,)
    )
    app = create_app(settings)
    client = app.test_client()
    try:
        for patient in samples["patients"]:
            body = {
                "hook": "patient-view",
                "hookInstance": f"hook-{patient['patient_id']}",
                "fhirServer": fhir_server.url,
                "context": {"userId": "Practitioner/p1", "patientId": patient["patient_id"]},
            }
            answer = client.post("/cds-services/hip-spine-patient-view", json=body)
            assert answer.status_code == 200, answer.get_data(as_text=True)
            cards = answer.get_json()["cards"]
            if patient["category"] == "NO_FINDINGS":
                assert cards == []
            else:
                expected = Category[patient["category"]].value
                assert cards[0]["source"]["topic"]["code"] == expected, patient
    finally:
        app.extensions["hipspine"].store.close()


def test_write_back_stores_the_outputs_readable_by_id_and_a_rerun_creates_nothing_new(
    fhir_server: FhirServer, samples: dict[str, Any], tmp_path: Path
) -> None:
    patient = next(p for p in samples["patients"] if p["category"] == "COMPLEX")
    args = ["evaluate", "--trace", "--fhir-server", fhir_server.url]
    args += ["--patient", patient["patient_id"]]
    first = run([*args, "--write-back"], fhir_server, tmp_path)
    assert first.exit_code == 0, first.output
    written = re.search(r"^Written to \S+: (.+)$", first.output, re.MULTILINE)
    assert written is not None, first.output
    references = written.group(1).split(", ")
    assert [r.split("/")[0] for r in references] == [
        "ClinicalImpression",
        "CarePlan",
        "Provenance",
    ]
    read = {r: requests.get(f"{fhir_server.url}/{r}", timeout=5).json() for r in references}
    impression, care_plan, provenance = read.values()
    assert impression["subject"]["reference"] == f"Patient/{patient['patient_id']}"
    assert impression["finding"][0]["itemCodeableConcept"]["coding"][0]["code"] == (
        Category.COMPLEX.value
    )
    assert care_plan["supportingInfo"] == [{"reference": references[0]}]
    assert sorted(t["reference"] for t in provenance["target"]) == sorted(references[:2])
    assert all(e["what"]["reference"].startswith("Observation/") for e in provenance["entity"][:1])
    before = {t: count(fhir_server, t) for t in ("ClinicalImpression", "CarePlan", "Provenance")}
    again = run([*args, "--write-back"], fhir_server, tmp_path)
    assert again.exit_code == 0, again.output
    assert "Already on" in again.output and references[0] in again.output
    after = {t: count(fhir_server, t) for t in before}
    assert after == before
    history = requests.get(f"{fhir_server.url}/{references[0]}/_history", timeout=5).json()
    assert history["total"] == 1


def test_an_unknown_patient_is_a_clear_fhir_server_error(
    fhir_server: FhirServer, tmp_path: Path
) -> None:
    args = ["evaluate", "--trace", "--fhir-server", fhir_server.url, "--patient", "no-such-patient"]
    result = CliRunner().invoke(
        main,
        args,
        env={"DATA_DIR": str(tmp_path), "FHIR_SERVER_ALLOWLIST": fhir_server.url},
    )
    assert result.exit_code == ExitCode.FHIR_SERVER
    assert "404" in result.output and "no-such-patient" in result.output


def test_a_server_off_the_allowlist_is_refused_before_any_request(
    fhir_server: FhirServer, tmp_path: Path
) -> None:
    args = ["evaluate", "--trace", "--fhir-server", fhir_server.url, "--patient", "x"]
    result = CliRunner().invoke(
        main, args, env={"DATA_DIR": str(tmp_path), "FHIR_SERVER_ALLOWLIST": "https://other.test"}
    )
    assert result.exit_code == ExitCode.FHIR_SERVER
    assert "allowlist" in result.output


def test_the_secured_server_refuses_without_a_token_and_answers_with_one(
    secured_server: FhirServer, fhir_server: FhirServer, samples: dict[str, Any], tmp_path: Path
) -> None:
    source = requests.get(f"{fhir_server.url}/Patient/{samples['patients'][0]['patient_id']}")
    patient = source.json()
    del patient["meta"]
    auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/fhir+json"}
    put = requests.put(
        f"{secured_server.url}/Patient/{patient['id']}", json=patient, headers=auth, timeout=5
    )
    assert put.status_code in (200, 201), put.text
    args = ["evaluate", "--trace", "--fhir-server", secured_server.url, "--patient", patient["id"]]
    refused = run(args, secured_server, tmp_path)
    assert refused.exit_code == ExitCode.FHIR_SERVER
    assert "401" in refused.output and "Authentication required" in refused.output
    accepted = run([*args, "--token", TOKEN], secured_server, tmp_path)
    assert accepted.exit_code == 0, accepted.output
    assert category_of(accepted.output)[0] == "INSUFFICIENT_DATA"  # the Patient alone


def test_smart_backend_services_gets_a_token_from_the_secured_server(
    secured_server: FhirServer, smart_keys: SmartKeys, tmp_path: Path
) -> None:
    patient = {"resourceType": "Patient", "id": "smart-patient", "gender": "female"}
    auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/fhir+json"}
    requests.put(f"{secured_server.url}/Patient/smart-patient", json=patient, headers=auth)
    args = [
        "evaluate",
        "--trace",  # §6.1: the category line lives in the trace
        "--fhir-server",
        secured_server.url,
        "--patient",
        "smart-patient",
        "--smart-client-id",
        SMART_CLIENT,
        "--smart-key",
        str(smart_keys.private_key_file),
    ]
    result = run(args, secured_server, tmp_path)
    assert result.exit_code == 0, result.output
    assert category_of(result.output)[0] == "INSUFFICIENT_DATA"
