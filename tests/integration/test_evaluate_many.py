"""``hipspine evaluate --fhir-server URL --patients-from FILE`` against a real FHIR server
(issue 11 item 5): each id of the file (blank lines and ``#`` comments ignored) is evaluated with
the progress bar on a terminal, one line each, then the count per category, as ``evaluate DIR``
prints; a patient the server does not have is a line of the table, not a traceback, and the exit
status is the README's (5: the FHIR server refused or failed)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner, Result

from service import cli
from service.errors import ExitCode
from service.samples.data import MANIFEST

from .conftest import FhirServer

pytestmark = pytest.mark.integration


def run(args: list[str], server: FhirServer, data_dir: Path) -> Result:
    env = {"DATA_DIR": str(data_dir), "FHIR_SERVER_ALLOWLIST": server.url}
    return CliRunner().invoke(cli.main, args, env=env, catch_exceptions=False)


@pytest.fixture(scope="module")
def loaded(fhir_server: FhirServer, tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    """Ten sample patients (their own seed, so their ids are theirs), loaded through the CLI."""
    out = tmp_path_factory.mktemp("many")
    data = tmp_path_factory.mktemp("many-data")
    made = run(
        ["sample-data", "--out", str(out), "--seed", "11", "--patients", "10"], fhir_server, data
    )
    assert made.exit_code == 0, made.output
    done = run(["load", "--fhir-server", fhir_server.url, str(out)], fhir_server, data)
    assert done.exit_code == 0, done.output
    patients: list[Any] = orjson.loads((out / MANIFEST).read_bytes())["patients"]
    return patients


def _ids_file(path: Path, ids: list[str]) -> Path:
    lines = ["# patients to evaluate", ""]
    lines += [f"{pid}   # from the manifest" if i % 3 == 0 else pid for i, pid in enumerate(ids)]
    path.write_text("\n".join([*lines, "", "   "]) + "\n", encoding="utf-8")
    return path


def _table(output: str) -> tuple[dict[str, str], list[str]]:
    rows, _, counts = output.partition("\n\n")
    return dict(line.split("\t", 1) for line in rows.splitlines()), counts.splitlines()


def test_patients_from_a_file_are_each_evaluated_with_the_progress_bar_and_counted(
    fhir_server: FhirServer, loaded: list[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[list[str]] = []

    def progress(items: Any) -> Any:
        shown.append(list(items))
        return items

    monkeypatch.setattr(cli, "_progress", progress)
    ids = [p["patient_id"] for p in loaded]
    args = ["evaluate", "--fhir-server", fhir_server.url, "--patients-from"]
    result = run([*args, str(_ids_file(tmp_path / "ids.txt", ids))], fhir_server, tmp_path)
    assert result.exit_code == 0, result.output
    assert shown == [ids]  # the comments and blank lines are not patients
    rows, counts = _table(result.stdout)
    assert list(rows) == ids
    for patient in loaded:
        assert rows[patient["patient_id"]].split(" ")[0] == patient["category"], patient
    expected = Counter(p["category"] for p in loaded)
    table = {line.split()[1]: int(line.split()[0]) for line in counts[:-1]}
    assert table == dict(expected)
    assert counts[-1].strip() == f"{len(ids)}  evaluated"


def test_a_patient_the_server_lacks_is_a_line_of_the_table_and_the_exit_status_is_5(
    fhir_server: FhirServer, loaded: list[Any], tmp_path: Path
) -> None:
    ids = [loaded[0]["patient_id"], "no-such-patient", loaded[1]["patient_id"]]
    args = ["evaluate", "--fhir-server", fhir_server.url, "--patients-from"]
    result = run([*args, str(_ids_file(tmp_path / "ids.txt", ids))], fhir_server, tmp_path)
    assert result.exit_code == ExitCode.FHIR_SERVER, result.output
    assert "Traceback" not in result.output
    rows, counts = _table(result.stdout)
    assert list(rows) == ids
    assert "404" in rows["no-such-patient"]
    assert rows[ids[0]].split(" ")[0] == loaded[0]["category"]
    assert counts[-1].strip() == "2  evaluated, 1 failed"


def test_write_back_writes_each_patient_once_and_a_rerun_writes_nothing_new(
    fhir_server: FhirServer, loaded: list[Any], tmp_path: Path
) -> None:
    ids = [p["patient_id"] for p in loaded[2:4]]
    args = ["evaluate", "--fhir-server", fhir_server.url, "--write-back", "--patients-from"]
    args.append(str(_ids_file(tmp_path / "ids.txt", ids)))
    first, again = run(args, fhir_server, tmp_path), run(args, fhir_server, tmp_path)
    assert first.exit_code == 0 and again.exit_code == 0, (first.output, again.output)
    assert [row.rsplit("\t", 1)[1] for row in _table(first.stdout)[0].values()] == ["written"] * 2
    assert [row.rsplit("\t", 1)[1] for row in _table(again.stdout)[0].values()] == [
        "already written"
    ] * 2
