"""``hipspine evaluate`` edge cases (issue 11 item 5): ``--pretty`` indents the output Bundle
(the default is compact JSON, one line); ``--patients-from`` mistakes are one line and the
README's exit status, never a traceback (the real FHIR server runs are in
``tests/integration/test_evaluate_many.py``)."""

from __future__ import annotations

from pathlib import Path

import orjson
import responses
from click.testing import CliRunner

from service.cli import main
from service.errors import ExitCode

WORKED = Path(__file__).resolve().parents[2] / "examples/secondary-functional-worked-example.json"
SERVER = "https://fhir.example.org/fhir"


def test_the_output_bundle_is_compact_by_default_and_indented_with_pretty(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path)}
    compact = CliRunner().invoke(main, ["evaluate", str(WORKED)], env=env)
    pretty = CliRunner().invoke(main, ["evaluate", "--pretty", str(WORKED)], env=env)
    assert compact.exit_code == 0 and pretty.exit_code == 0, (compact.output, pretty.output)
    assert len(compact.stdout.strip().splitlines()) == 1
    lines = pretty.stdout.splitlines()
    assert lines[0] == "{" and lines[1].startswith('  "resourceType": "Bundle"')
    first, second = orjson.loads(compact.stdout), orjson.loads(pretty.stdout)
    # the same Bundle, but for the ids and times each evaluation makes anew
    assert first["resourceType"] == second["resourceType"] == "Bundle"
    assert [e["resource"]["resourceType"] for e in first["entry"]] == [
        e["resource"]["resourceType"] for e in second["entry"]
    ]


def test_a_patients_file_with_only_comments_is_one_line_and_exit_2(tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("# nobody yet\n\n   \n", encoding="utf-8")
    env = {"DATA_DIR": str(tmp_path), "FHIR_SERVER_ALLOWLIST": SERVER}
    args = ["evaluate", "--fhir-server", SERVER, "--patients-from", str(ids)]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == ExitCode.INPUT
    assert result.stderr.strip() == f"{ids}: no patient id (one a line; # starts a comment)"


def test_patients_from_needs_a_fhir_server_and_no_single_patient(tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("p1\n", encoding="utf-8")
    env = {"DATA_DIR": str(tmp_path)}
    for extra in ([], ["--fhir-server", SERVER, "--patient", "p1"], [str(WORKED)]):
        result = CliRunner().invoke(
            main, ["evaluate", "--patients-from", str(ids), *extra], env=env
        )
        assert result.exit_code == ExitCode.INPUT, (extra, result.output)
        assert "--patients-from FILE needs --fhir-server URL" in result.output


@responses.activate
def test_a_server_off_the_allowlist_stops_at_once_with_exit_5_and_sends_nothing(
    tmp_path: Path,
) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("p1\np2\n", encoding="utf-8")
    env = {"DATA_DIR": str(tmp_path), "FHIR_SERVER_ALLOWLIST": "https://other.example.org/fhir"}
    args = ["evaluate", "--fhir-server", SERVER, "--patients-from", str(ids)]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == ExitCode.FHIR_SERVER, result.output
    assert result.stderr.strip().splitlines() == [
        f"FHIR server {SERVER} is not on the allowlist: set FHIR_SERVER_ALLOWLIST={SERVER} "
        "(comma-separate several servers)"
    ]
    assert "Traceback" not in result.output
    assert len(responses.calls) == 0


@responses.activate
def test_a_server_error_for_one_patient_is_its_line_and_the_others_are_evaluated(
    tmp_path: Path,
) -> None:
    patient = {"resourceType": "Patient", "id": "p2", "gender": "female"}
    responses.get(f"{SERVER}/Patient/p1", status=404, json={"resourceType": "OperationOutcome"})
    responses.get(f"{SERVER}/Patient/p2", json=patient)
    empty = {"resourceType": "Bundle", "type": "searchset", "entry": []}
    responses.get(f"{SERVER}/Observation", json=empty)
    responses.get(f"{SERVER}/Condition", json=empty)
    responses.get(f"{SERVER}/Procedure", json=empty)
    responses.get(f"{SERVER}/ServiceRequest", json=empty)
    responses.get(f"{SERVER}/MedicationStatement", json=empty)
    ids = tmp_path / "ids.txt"
    ids.write_text("p1  # gone\np2\n", encoding="utf-8")
    env = {"DATA_DIR": str(tmp_path), "FHIR_SERVER_ALLOWLIST": SERVER}
    args = ["evaluate", "--fhir-server", SERVER, "--patients-from", str(ids)]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == ExitCode.FHIR_SERVER, result.output
    rows = result.stdout.splitlines()
    assert rows[0].startswith("p1\t") and "404" in rows[0]
    assert rows[1] == "p2\tINSUFFICIENT_DATA"
    assert rows[-1].strip() == "1  evaluated, 1 failed"
