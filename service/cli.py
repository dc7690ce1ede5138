"""The ``hipspine`` command line: serve, evaluate, and the audit/db/jwt command groups."""

from __future__ import annotations

import getpass
import sys
import uuid
from pathlib import Path
from typing import Any

import click
import orjson

from service.errors import HipSpineError

# Exit statuses: one place, never reused (cumulus-etl errors.py style).
EXIT_OK = 0
EXIT_INPUT_ERROR = 2  # click's own usage errors also exit 2
EXIT_STORE_ERROR = 3
EXIT_EVALUATION_ERROR = 4


@click.group()
@click.version_option(package_name="hipspine-cds")
def main() -> None:
    """hipspine-cds: hip-spine syndrome clinical decision support (FHIR R4, CDS Hooks 2.0)."""


@main.command()
@click.option("--workers", type=int, default=1, show_default=True, help="gunicorn workers")
@click.option("--threads", type=int, default=4, show_default=True, help="threads per worker")
def serve(workers: int, threads: int) -> None:
    """Serve the API with gunicorn on HOST:PORT (defaults 127.0.0.1:8080)."""
    from service.config import Settings
    from service.server import run

    settings = Settings.from_env()
    run(settings, workers=workers, threads=threads)


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--summary", is_flag=True, help="print the conclusion in plain words")
@click.option("--patient", "patient_id", default=None, help="require every subject to be this id")
def evaluate(file: Path, summary: bool, patient_id: str | None) -> None:
    """Evaluate a FHIR Bundle FILE (JSON) and print the output Bundle (recorded in the store)."""
    from service.app import create_app
    from service.pipeline import Caller

    try:
        payload = orjson.loads(file.read_bytes())
    except orjson.JSONDecodeError as exc:
        _fail(f"{file}: not valid JSON: {exc.msg} at line {exc.lineno}", EXIT_INPUT_ERROR)
    app = create_app()
    pipeline = app.extensions["hipspine"].pipeline
    caller = Caller(kind="cli", client=f"cli:{getpass.getuser()}", request_id=str(uuid.uuid4()))
    try:
        result = pipeline.evaluate(payload, caller=caller, patient_id=patient_id)
    except HipSpineError as exc:
        code = EXIT_STORE_ERROR if exc.status == 503 else EXIT_INPUT_ERROR
        _fail(_describe(exc), code)
    if summary:
        click.echo(format_summary(result.assessment, result.extraction))
    else:
        click.echo(orjson.dumps(result.bundle, option=orjson.OPT_INDENT_2).decode())


def format_summary(assessment: Any, extraction: Any) -> str:
    """The category, the recommendations and the reasoning, in plain words."""
    a = assessment
    lines = [f"Category: {a.category.name}" + (f" ({a.subtype.name})" if a.subtype else "")]
    lines.append(f"Decided by: rule {a.rule} of {a.rule_set.canonical}")
    lines.append("")
    lines.append(a.summary)
    lines.append("")
    lines.append("Recommendations:" if a.recommendations else "Recommendations: none")
    for rec in a.recommendations:
        extra = f" (missing: {', '.join(rec.missing)})" if rec.missing else ""
        lines.append(f"  - {rec.display}: {rec.reason}{extra}")
    lines.append("")
    lines.append("Reasoning:")
    for step in a.trace:
        lines.append(f"  {step.rule}: {step.verdict} ({step.basis})")
    notes = [*extraction.warnings, *extraction.ignored]
    if notes:
        lines.append("")
        lines.append("Inputs not used or doubtful:")
        lines.extend(f"  - {w.diagnostics}" for w in notes)
    return "\n".join(lines)


def _describe(exc: HipSpineError) -> str:
    parts = []
    for issue in exc.issues:
        where = f" at {', '.join(issue.expression)}" if issue.expression else ""
        parts.append(f"{issue.severity}: {issue.diagnostics}{where}")
    return "\n".join(parts)


def _fail(message: str, code: int) -> None:
    click.echo(message, err=True)
    sys.exit(code)


def _register_groups() -> None:
    from service.audit.cli import audit, db
    from service.cds_hooks.mint import jwt_command

    main.add_command(audit)
    main.add_command(db)
    main.add_command(jwt_command)


_register_groups()
