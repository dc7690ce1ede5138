"""A user's mistakes get one clear line and a documented exit status, never a traceback
(issue 11 item 5; README "Exit statuses")."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from service.cli import main
from service.errors import ExitCode

REPO = Path(__file__).resolve().parents[2]
WORKED = REPO / "examples" / "secondary-functional-worked-example.json"
#: settings a developer's shell may hold that would change what is tested
CLEAN: dict[str, str | None] = {
    "DATA_DIR": None,
    "DATABASE_URL": None,
    "PORT": None,
    "HOST": None,
    "MAX_BODY_BYTES": None,
    "LOG_LEVEL": None,
}


def run(args: list[str], env: Mapping[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(main, args, env={**CLEAN, **(env or {})})


def _one_clear_line(result: Result, code: ExitCode, *words: str) -> str:
    assert result.exit_code == int(code), result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), repr(result.exception)
    for word in words:
        assert word in result.output
    return result.output


def test_audit_verify_from_another_folder_says_where_it_looked_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(["audit", "verify"])
    out = _one_clear_line(result, ExitCode.STORE, str(tmp_path / "data" / "hipspine.db"))
    assert "DATA_DIR" in out
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PORT": "abc"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"MAX_BODY_BYTES": "5MB"}, "MAX_BODY_BYTES"),
        ({"FHIR_DEADLINE": "soon"}, "FHIR_DEADLINE"),
        ({"THRESHOLD_PERSISTENT_PAIN_NRS": "four"}, "THRESHOLD_PERSISTENT_PAIN_NRS"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
        ({"FHIR_API_CLIENTS": "ris"}, "FHIR_API_CLIENTS"),
    ],
)
def test_a_bad_setting_names_the_variable_and_exits_2(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    result = run(["audit", "verify"], {**env, "DATA_DIR": str(tmp_path)})
    _one_clear_line(result, ExitCode.INPUT, f"configuration: {named}:")


def test_a_misspelt_threshold_is_named_with_the_valid_ones(tmp_path: Path) -> None:
    result = run(["audit", "verify"], {"THRESHOLD_IR_LIMT": "3", "DATA_DIR": str(tmp_path)})
    out = _one_clear_line(result, ExitCode.INPUT, "THRESHOLD_IR_LIMT")
    assert "THRESHOLD_PERSISTENT_PAIN_NRS" in out  # the valid names are listed


def test_an_unreachable_database_url_names_the_host_never_the_password() -> None:
    url = "postgresql://hipspine:s3cr3t-pw@127.0.0.1:1/audit"  # port 1: refused at once
    with socket.socket() as probe:  # a free port, so that serve gets as far as the store
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    for args in (["audit", "verify"], ["db", "upgrade"], ["serve"]):
        result = run(args, {"DATABASE_URL": url, "PORT": port, "HOST": "127.0.0.1"})
        out = _one_clear_line(result, ExitCode.STORE, "host 127.0.0.1 port 1")
        assert "s3cr3t-pw" not in out


def test_jwt_with_a_file_that_is_no_key_is_a_usage_error(tmp_path: Path) -> None:
    not_a_key = tmp_path / "notes.txt"
    not_a_key.write_text("hello\n")
    result = run(["jwt", "--key", str(not_a_key), "--aud", "http://127.0.0.1:8080/cds-services"])
    _one_clear_line(result, ExitCode.INPUT, "--key", "not a PEM private key")


def test_write_back_with_a_file_is_refused_not_ignored() -> None:
    result = run(["evaluate", str(WORKED), "--write-back"])
    _one_clear_line(result, ExitCode.INPUT, "--write-back", "--fhir-server")


def test_the_readme_type_example_with_format_csv_exports(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path / "data")}
    assert run(["db", "upgrade"], env).exit_code == 0
    # README: hipspine audit export --since … --type ClinicalImpression,CarePlan --out export/
    args = ["audit", "export", "--since", "2026-01-01T00:00:00Z"]
    args += ["--type", "ClinicalImpression,CarePlan", "--format", "csv"]
    result = run([*args, "--out", str(tmp_path / "export")], env)
    _one_clear_line(result, ExitCode.OK, "evaluations.csv")
    assert (tmp_path / "export" / "evaluations.csv").is_file()


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        yield int(taken.getsockname()[1])


def test_serve_on_a_busy_port_says_so_and_how_to_choose_another(
    tmp_path: Path, busy_port: int
) -> None:
    env = {"PORT": str(busy_port), "HOST": "127.0.0.1", "DATA_DIR": str(tmp_path)}
    result = run(["serve"], env)
    _one_clear_line(result, ExitCode.INPUT, f"port {busy_port}", "in use", "PORT=")
