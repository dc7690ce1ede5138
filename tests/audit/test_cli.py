"""``hipspine audit verify|export`` and ``hipspine db upgrade`` through click's CliRunner."""

from __future__ import annotations

import csv
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from fhir.resources.R4B import get_fhir_model_class

from service.audit.cli import EXIT_CHAIN_BROKEN, EXIT_STORE_ERROR, audit, db
from service.audit.store import SqlAuditStore
from tests.audit.pg_cluster import free_port
from tests.audit.records import make_record

N = 9


@pytest.fixture
def filled(store: SqlAuditStore) -> SqlAuditStore:
    for i in range(1, N + 1):
        store.record_evaluation(make_record(i, hook=i % 3 == 0))
    return store


def test_db_upgrade_creates_the_schema_and_says_its_revision(store_url: str) -> None:
    result = CliRunner().invoke(db, ["upgrade"], env={"DATABASE_URL": store_url})
    assert result.exit_code == 0, result.output
    assert "0001" in result.output
    assert CliRunner().invoke(audit, ["verify"], env={"DATABASE_URL": store_url}).exit_code == 0


def test_verify_reports_an_intact_chain(filled: SqlAuditStore, store_url: str) -> None:
    result = CliRunner().invoke(audit, ["verify"], env={"DATABASE_URL": store_url})
    assert result.exit_code == 0
    assert f"chain OK: {N} records" in result.output


def test_verify_names_the_altered_record_and_exits_non_zero(
    filled: SqlAuditStore, store_url: str
) -> None:
    filled.execute_sql("UPDATE evaluations SET patient_ref = 'Patient/other' WHERE seq = 4")
    result = CliRunner().invoke(audit, ["verify"], env={"DATABASE_URL": store_url})
    assert result.exit_code == EXIT_CHAIN_BROKEN
    assert "BROKEN at record 4" in result.output


def test_verify_on_an_unreachable_database_exits_with_the_store_error_status() -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/hipspine"
    result = CliRunner().invoke(audit, ["verify"], env={"DATABASE_URL": url})
    assert result.exit_code == EXIT_STORE_ERROR
    assert "audit store cannot" in result.output


def test_export_ndjson_writes_one_parseable_file_per_type(
    filled: SqlAuditStore, store_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "export"
    result = CliRunner().invoke(
        audit, ["export", "--out", str(out)], env={"DATABASE_URL": store_url}
    )
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["AuditEvent.ndjson", "CarePlan.ndjson", "ClinicalImpression.ndjson",
                     "GuidanceResponse.ndjson", "Provenance.ndjson"]  # fmt: skip
    for path in out.iterdir():
        kind = path.name.removesuffix(".ndjson")
        lines = path.read_bytes().splitlines()
        assert len(lines) == (N // 3 if kind == "GuidanceResponse" else N)
        for line in lines:
            get_fhir_model_class(kind).model_validate(orjson.loads(line))
    assert f"AuditEvent.ndjson: {N} resources" in result.output


def test_export_honours_since_until_and_type(
    filled: SqlAuditStore, store_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "export"
    args = ["export", "--out", str(out), "--type", "AuditEvent", "--type", "Provenance",
            "--since", "2026-03-01T08:02:30Z", "--until", "2026-03-01T08:06:00+00:00"]  # fmt: skip
    result = CliRunner().invoke(audit, args, env={"DATABASE_URL": store_url})
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["AuditEvent.ndjson", "Provenance.ndjson"]
    assert len((out / "AuditEvent.ndjson").read_bytes().splitlines()) == 4  # minutes 3..6


def test_export_csv_writes_one_row_per_evaluation(
    filled: SqlAuditStore, store_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "csv"
    result = CliRunner().invoke(
        audit, ["export", "--format", "csv", "--out", str(out)], env={"DATABASE_URL": store_url}
    )
    assert result.exit_code == 0, result.output
    with (out / "evaluations.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["seq"]) for r in rows] == list(range(1, N + 1))
    recommendations = orjson.loads(rows[0]["recommendations"])
    assert recommendations == ["rec-mri-lumbar", "rec-diagnostic-ia-hip-injection"]
    assert rows[0]["recorded"] == "2026-03-01T08:01:00.000000Z"
    assert len(rows[0]["record_hash"]) == 64


@pytest.mark.parametrize(
    "args",
    [["--type", "Patient"], ["--since", "yesterday"], ["--since", "2026-01-01T00:00:00"],
     ["--format", "csv", "--type", "AuditEvent"]],
)  # fmt: skip
def test_export_refuses_bad_options_with_a_usage_error(
    store: SqlAuditStore, store_url: str, tmp_path: Path, args: list[str]
) -> None:
    result = CliRunner().invoke(
        audit, ["export", "--out", str(tmp_path), *args], env={"DATABASE_URL": store_url}
    )
    assert result.exit_code == 2
