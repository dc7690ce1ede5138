"""``hipspine audit verify|export`` and ``hipspine db upgrade`` (click groups ``audit``, ``db``)."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm  # type: ignore[import-untyped]

from service.audit.engine import describe_url
from service.audit.export import parse_instant, parse_types, write_csv, write_ndjson
from service.audit.migrate import upgrade
from service.audit.store import SqlAuditStore
from service.config import Settings
from service.errors import ExitCode, HipSpineError, fatal


def _url() -> str:
    return Settings.from_env().sqlalchemy_url


def _location() -> str:
    """Where the store is, for a message (never a password)."""
    settings = Settings.from_env()
    if settings.database_url:
        return f"DATABASE_URL {describe_url(settings.database_url)}"
    return f"SQLite file {(settings.data_dir / 'hipspine.db').resolve()}"


def _existing_url() -> str:
    """The store's URL for a command that only reads: a SQLite file must already exist (the
    command never creates ``data/`` in whatever folder it was run from)."""
    settings = Settings.from_env()
    if settings.database_url:
        return settings.database_url
    path = (settings.data_dir / "hipspine.db").resolve()
    if not path.is_file():
        how = (
            f"DATA_DIR={os.environ['DATA_DIR']}"
            if os.environ.get("DATA_DIR")
            else "DATA_DIR is not set: looked in ./data of the current folder"
        )
        fatal(
            f"no audit database at {path} ({how}): run from the folder the service runs in, "
            "or set DATA_DIR (or DATABASE_URL) to the service's",
            ExitCode.STORE,
        )
    return settings.sqlalchemy_url


def _instant(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_instant(value, name)
    except HipSpineError as exc:
        raise click.BadParameter(exc.diagnostics, param_hint=name) from None


@click.group()
def db() -> None:
    """The audit database (DATABASE_URL, else a SQLite file in DATA_DIR)."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the schema migrations (also done at start-up)."""
    try:
        revision = upgrade(_url())
    except HipSpineError as exc:
        fatal(f"{exc.diagnostics}: {_location()}", ExitCode.STORE)
    click.echo(f"audit database at revision {revision}")


@click.group()
def audit() -> None:
    """The audit trail: verify its hash chain, export it."""


@audit.command()
def verify() -> None:
    """Walk the hash chain; name the first broken record and exit non-zero if there is one."""
    store = SqlAuditStore(_existing_url())
    try:
        result = store.verify()
    except HipSpineError as exc:
        fatal(f"{exc.diagnostics}: {_location()}", ExitCode.STORE)
    finally:
        store.close()
    if not result.ok:
        broken = f"chain BROKEN at record {result.first_broken_seq}: {result.reason}"
        fatal(broken, ExitCode.CHAIN_BROKEN)
    click.echo(f"chain OK: {result.count} records verified")


@audit.command()
@click.option(
    "--since",
    "since_text",
    help="records stored after this FHIR instant, e.g. 2026-01-01T00:00:00Z (not inclusive)",
)
@click.option("--until", "until_text", help="records stored up to this FHIR instant (inclusive)")
@click.option("--type", "types", multiple=True, help="resource type(s), repeat or comma-separate")
@click.option(
    "--format", "fmt", type=click.Choice(["ndjson", "csv"]), default="ndjson", show_default=True
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="directory for the files",
)
def export(
    since_text: str | None, until_text: str | None, types: tuple[str, ...], fmt: str, out_dir: Path
) -> None:
    """Export FHIR resources as one <Type>.ndjson per type, or evaluations.csv (--format csv,
    with feedback.csv: the CDS Hooks feedback and override reasons received in the window).

    --since and --until select on when the store recorded each evaluation (its stored_at),
    not on the evaluation's own time. Streams from the database: the export is never held in
    memory. A progress bar is shown when stderr is a terminal.
    """
    since, until = _instant(since_text, "--since"), _instant(until_text, "--until")
    try:
        wanted = parse_types(types)
    except HipSpineError as exc:
        raise click.BadParameter(exc.diagnostics, param_hint="--type") from None
    if fmt == "csv" and types:  # the README's --type example with --format csv: say, go on
        click.echo(
            "note: --type selects ndjson files; --format csv writes every evaluation "
            "(evaluations.csv, feedback.csv)",
            err=True,
        )
    store = SqlAuditStore(_existing_url())
    counting = sys.stderr.isatty()  # the total only feeds the progress bar
    try:
        if fmt == "csv":
            total = store.count_evaluations(since, until=until) if counting else None
            with _bar(total, "evaluations") as bar:
                count = write_csv(store, out_dir, since=since, until=until, progress=bar)
            click.echo(f"evaluations.csv: {count} evaluations")
        else:
            by_type = store.count_by_type(since, until=until, types=wanted) if counting else None
            total = None if by_type is None else sum(by_type.values())
            with _bar(total, "resources") as bar:
                counts = write_ndjson(
                    store, out_dir, since=since, until=until, types=wanted, progress=bar
                )
            for kind, count in sorted(counts.items()):
                click.echo(f"{kind}.ndjson: {count} resources")
            if not counts:
                click.echo("nothing to export")
    except HipSpineError as exc:
        fatal(f"{exc.diagnostics}: {_location()}", ExitCode.STORE)
    finally:
        store.close()


@audit.command()
@click.option("--since", "since_text", help="feedback received after this FHIR instant")
@click.option("--until", "until_text", help="feedback received up to this FHIR instant")
def feedback(since_text: str | None, until_text: str | None) -> None:
    """List the CDS Hooks card feedback received: what clinicians did with each card (accepted
    or overridden, and the override reason chosen), one tab-separated line each."""
    since, until = _instant(since_text, "--since"), _instant(until_text, "--until")
    store = SqlAuditStore(_existing_url())
    try:
        rows = store.feedback_rows(since, until=until)
    except HipSpineError as exc:
        fatal(f"{exc.diagnostics}: {_location()}", ExitCode.STORE)
    finally:
        store.close()
    click.echo("received\tservice\toutcome\toverride reason\tcard")
    for row in rows:
        received = row["received"]
        when = received.isoformat() if isinstance(received, datetime) else str(received)
        click.echo(
            f"{when}\t{row['service_id']}\t{row['outcome']}\t"
            f"{_reason(row['override_reason'])}\t{row['card_uuid']}"
        )
    if not rows:
        click.echo("no feedback received", err=True)


def _reason(value: Any) -> str:
    """The override reason's display (code); a clinician's free-text comment is not printed."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return "?"
    if not isinstance(value, dict):
        return "-"
    found = value.get("reason")
    reason: dict[str, Any] = found if isinstance(found, dict) else {}
    text = f"{reason.get('display') or '?'} ({reason.get('code') or '?'})"
    return text + (" + comment" if value.get("userComment") else "")


def _bar(total: int | None, unit: str) -> Any:
    """A progress bar on stderr; none without a ``total`` (stderr is not a terminal)."""
    return tqdm(total=total, unit=f" {unit}", file=sys.stderr, disable=total is None, leave=False)
