"""``hipspine audit verify|export`` and ``hipspine db upgrade`` through click's CliRunner."""

from __future__ import annotations

import csv
from datetime import timedelta, timezone
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from fhir.resources.R4B import get_fhir_model_class

from service.audit.chain import utc_instant
from service.audit.cli import audit, db
from service.audit.store import SqlAuditStore
from service.errors import ExitCode
from tests.audit.pg_cluster import free_port
from tests.audit.records import make_record, stored_times

N = 9


@pytest.fixture
def filled(store: SqlAuditStore) -> SqlAuditStore:
    for i in range(1, N + 1):
        store.record_evaluation(make_record(i, hook=i % 3 == 0))
    return store


def test_db_upgrade_creates_the_schema_and_says_its_revision(store_url: str) -> None:
    result = CliRunner().invoke(db, ["upgrade"], env={"DATABASE_URL": store_url})
    assert result.exit_code == 0, result.output
    assert "0003" in result.output  # the head: 0003 adds the SMART launch sessions
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
    assert result.exit_code == ExitCode.CHAIN_BROKEN
    assert "BROKEN at record 4" in result.output


def test_verify_on_an_unreachable_database_exits_with_the_store_error_status() -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/hipspine"
    result = CliRunner().invoke(audit, ["verify"], env={"DATABASE_URL": url})
    assert result.exit_code == ExitCode.STORE
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
    """--since and --until select on when the store recorded each evaluation (stored_at):
    after --since, up to and including --until; not on the evaluation's own time."""
    stored = stored_times(filled)
    since = utc_instant(stored[1])  # record 2: excluded, exactly at --since
    until = stored[5].astimezone(timezone(timedelta(hours=2))).isoformat()  # record 6: included
    out = tmp_path / "export"
    args = ["export", "--out", str(out), "--type", "AuditEvent", "--type", "Provenance",
            "--since", since, "--until", until]  # fmt: skip
    result = CliRunner().invoke(audit, args, env={"DATABASE_URL": store_url})
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["AuditEvent.ndjson", "Provenance.ndjson"]
    assert len((out / "AuditEvent.ndjson").read_bytes().splitlines()) == 4
    lines = (out / "Provenance.ndjson").read_bytes().splitlines()
    assert [orjson.loads(x)["id"] for x in lines] == ["prov-3", "prov-4", "prov-5", "prov-6"]


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
    assert [r["stored_at"] for r in rows] == [utc_instant(m) for m in stored_times(filled)]
    assert len(rows[0]["record_hash"]) == 64


@pytest.mark.parametrize(
    "args",
    [["--type", "Patient"], ["--since", "yesterday"], ["--since", "2026-01-01T00:00:00"],
     ["--format", "csv", "--type", "Patient"]],
)  # fmt: skip
# issue 11 item 5: --format csv with a valid --type (the README's example) now exports with a
# note; an invalid --type is still refused with csv too.
def test_export_refuses_bad_options_with_a_usage_error(
    store: SqlAuditStore, store_url: str, tmp_path: Path, args: list[str]
) -> None:
    result = CliRunner().invoke(
        audit, ["export", "--out", str(tmp_path), *args], env={"DATABASE_URL": store_url}
    )
    assert result.exit_code == 2


def _export_with_stderr_on(stderr_tty: bool, store_url: str, out: Path) -> bytes:
    """Run ``hipspine audit export`` in a child process, its stderr a pty or a pipe."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import sys
    import termios

    code = "from service.audit.cli import audit; audit(['export', '--out', sys.argv[1]])"
    env = {**os.environ, "DATABASE_URL": store_url}
    cmd = [sys.executable, "-c", f"import sys; {code}", str(out)]
    repo = Path(__file__).resolve().parents[2]
    if not stderr_tty:
        done = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stderr
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a width
    try:
        proc = subprocess.Popen(cmd, cwd=repo, env=env, stdout=subprocess.DEVNULL,
                                stderr=follower)  # fmt: skip
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=60) == 0
    finally:
        os.close(leader)
    return b"".join(chunks)


def test_export_shows_a_progress_bar_on_a_terminal_and_none_otherwise(
    filled: SqlAuditStore, store_url: str, tmp_path: Path
) -> None:
    assert b" resources" in _export_with_stderr_on(True, store_url, tmp_path / "a")
    assert _export_with_stderr_on(False, store_url, tmp_path / "b") == b""


def test_the_export_reads_through_a_streaming_cursor(filled: SqlAuditStore, tmp_path: Path) -> None:
    from sqlalchemy import event

    from service.audit.export import write_csv, write_ndjson

    seen: list[tuple[str, bool, str]] = []

    def spy(conn: object, cursor: object, statement: str, *rest: object) -> None:
        context = rest[1]
        streaming = bool(context.execution_options.get("stream_results"))  # type: ignore[attr-defined]
        seen.append((statement.split("FROM", 1)[-1].split()[0], streaming, type(cursor).__name__))

    event.listen(filled.engine, "before_cursor_execute", spy)
    try:
        write_ndjson(filled, tmp_path / "n", since=None, until=None, types=None)
        write_csv(filled, tmp_path / "c", since=None, until=None)
    finally:
        event.remove(filled.engine, "before_cursor_execute", spy)
    reads = [s for s in seen if s[0] in {"audit_resources", "evaluations"}]
    assert {s[0] for s in reads} == {"audit_resources", "evaluations"}
    assert all(streaming for _, streaming, _ in reads)
    if filled.engine.dialect.name == "postgresql":
        assert all(kind == "ServerCursor" for _, _, kind in reads)
