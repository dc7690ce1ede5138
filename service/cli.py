"""The ``hipspine`` command line: serve, evaluate, and the audit/db/jwt command groups."""

from __future__ import annotations

import getpass
import os
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import orjson

from service.errors import ExitCode, HipSpineError, StoreUnavailable, exit_code, fatal

if TYPE_CHECKING:
    from collections import Counter

    from service.core.assessment import Assessment
    from service.fhir.extraction import Extraction
    from service.pipeline import Caller
    from service.remote import Credentials

# Exit statuses: the one table is service.errors.ExitCode (README "Exit statuses").


class _Main(click.Group):
    """The ``hipspine`` group: a wrong setting is one line naming the variable, exit 2."""

    def invoke(self, ctx: click.Context) -> Any:
        from service.config import ConfigError
        from service.logs import configure as configure_logging

        try:
            # JSON log lines (one each, never a traceback); the command's own message says it.
            level = os.environ.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
            configure_logging(level)
        except ValueError:
            fatal(
                f"configuration: LOG_LEVEL: expects DEBUG, INFO, WARNING, ERROR or CRITICAL; "
                f"got {os.environ.get('LOG_LEVEL')!r}",
                ExitCode.INPUT,
            )
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            fatal(f"configuration: {exc}", ExitCode.INPUT)
        except StoreUnavailable as exc:  # e.g. an unreachable DATABASE_URL at start-up
            from service.config import Settings
            from service.server import store_location

            fatal(f"{exc.diagnostics}: {store_location(Settings.from_env())}", ExitCode.STORE)


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``--version``: the package and the rule-set version every output carries."""
    if not value or ctx.resilient_parsing:
        return
    from importlib.metadata import version

    from service.config import Settings
    from service.fhir.profiles import Profiles, default_profiles_dir

    profiles_dir = Settings.from_env().profiles_dir or default_profiles_dir()
    rule_set = Profiles.load(profiles_dir).rule_set
    click.echo(
        f"hipspine-cds {version('hipspine-cds')}, rule set {rule_set.version} ({rule_set.url})"
    )
    ctx.exit()


@click.group(cls=_Main)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and the rule-set version, and exit.",
)
def main() -> None:
    """hipspine-cds: hip-spine syndrome clinical decision support (FHIR R4, CDS Hooks 2.0)."""


@main.command()
@click.option("--threads", type=int, default=4, show_default=True, help="worker threads")
def serve(threads: int) -> None:
    """Serve the API with gunicorn on HOST:PORT (defaults 127.0.0.1:8080), one process.

    For several worker processes use gunicorn with gunicorn.conf.py (``make serve-prod``,
    the container): it also sets up the metrics of all workers.
    """
    from service.config import Settings
    from service.server import check_can_start, run

    settings = Settings.from_env()
    check_can_start(settings)  # a busy port or an unreachable store: one line, not a traceback
    run(settings, threads=threads)


@main.command()
@click.argument("file", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--summary", is_flag=True, help="print the conclusion in plain words")
@click.option("--trace", is_flag=True, help="with --summary: add the flag-by-flag reasoning")
@click.option("--patient", "patient_id", default=None, help="require every subject to be this id")
@click.option("--fhir-server", default=None, help="fetch the --patient from this FHIR R4 base URL")
@click.option(
    "--patients-from",
    "patients_from",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="with --fhir-server: evaluate each patient id of this file (one a line; # comments)",
)
@click.option("--write-back", is_flag=True, help="write the outputs to the FHIR server")
@click.option("--token", default=None, envvar="FHIR_TOKEN", help="bearer token for the server")
@click.option("--smart-client-id", default=None, help="SMART Backend Services client id")
@click.option("--smart-key", default=None, type=click.Path(exists=True, dir_okay=False))
@click.option("--smart-token-url", default=None, help="token endpoint (default: discovered)")
@click.option("--pretty", is_flag=True, help="indent the output Bundle (default: compact JSON)")
def evaluate(
    file: Path | None,
    summary: bool,
    trace: bool,
    patient_id: str | None,
    fhir_server: str | None,
    patients_from: Path | None,
    write_back: bool,
    token: str | None,
    smart_client_id: str | None,
    smart_key: str | None,
    smart_token_url: str | None,
    pretty: bool,
) -> None:
    """Evaluate a FHIR Bundle FILE (JSON), or --patient on --fhir-server; recorded in the store.

    With FILE it prints the output Bundle as compact JSON (--pretty: indented; --summary: plain
    words). FILE may be a folder: each *.json Bundle in it is evaluated, one line each, then the
    count per category. With --fhir-server it prints the summary; --write-back then stores
    ClinicalImpression, CarePlan and Provenance on the server in one transaction (a re-run for
    the same inputs creates nothing new). --patients-from FILE evaluates each patient id of FILE
    on --fhir-server: one line each, then the count per category, as for a folder.
    """
    from service.app import create_app

    if write_back and file is not None:
        raise click.UsageError(
            "--write-back writes to a FHIR server: use it with --fhir-server URL --patient ID, "
            "not with FILE"
        )
    if fhir_server is not None or file is None or patients_from is not None:
        if patients_from is not None and (
            file is not None or fhir_server is None or patient_id is not None
        ):
            raise click.UsageError(
                "--patients-from FILE needs --fhir-server URL, without --patient or a Bundle FILE"
            )
        one_patient = file is None and fhir_server is not None and patient_id is not None
        if patients_from is None and not one_patient:
            raise click.UsageError(
                "give either FILE, or --fhir-server URL with --patient ID or --patients-from FILE"
            )
        from service.remote import Credentials

        assert fhir_server is not None
        creds = Credentials(token, smart_client_id, smart_key, smart_token_url)
        if patients_from is not None:
            ids = _patient_ids(patients_from)
            _evaluate_remote_many(fhir_server, ids, write_back, creds)
        else:
            assert patient_id is not None
            _evaluate_remote(fhir_server, patient_id, write_back, creds, trace)
        return
    if file.is_dir():
        _evaluate_folder(file, patient_id)
        return
    try:
        payload = orjson.loads(file.read_bytes())
    except orjson.JSONDecodeError as exc:
        fatal(f"{file}: not valid JSON: {exc.msg} at line {exc.lineno}", ExitCode.INPUT)
    pipeline = create_app().extensions["hipspine"].pipeline
    try:
        result = pipeline.evaluate(payload, caller=_cli_caller(), patient_id=patient_id)
    except HipSpineError as exc:
        fatal(_describe(exc), exit_code(exc))
    if summary:
        click.echo(format_summary(result.assessment, result.extraction, trace))
    else:
        option = orjson.OPT_INDENT_2 if pretty else 0
        click.echo(orjson.dumps(result.bundle, option=option).decode())


def _evaluate_folder(folder: Path, patient_id: str | None) -> None:
    """Each ``*.json`` Bundle of ``folder`` (a ``manifest.json`` is skipped): one line each,
    then the count per category; exit 2 if any could not be evaluated."""
    from collections import Counter

    from service.app import create_app

    files = sorted(p for p in folder.glob("*.json") if p.name != "manifest.json")
    if not files:
        fatal(f"{folder}: no *.json Bundle in this folder", ExitCode.INPUT)
    pipeline = create_app().extensions["hipspine"].pipeline
    counts: Counter[str] = Counter()
    failed = 0
    for path in _progress(files):
        try:
            payload = orjson.loads(path.read_bytes())
            result = pipeline.evaluate(payload, caller=_cli_caller(), patient_id=patient_id)
        except orjson.JSONDecodeError as exc:
            failed += 1
            click.echo(f"{path.name}\tnot valid JSON: {exc.msg} at line {exc.lineno}")
            continue
        except HipSpineError as exc:
            failed += 1
            click.echo(f"{path.name}\t{_describe(exc).splitlines()[0]}")
            continue
        click.echo(f"{path.name}\t{_count(counts, result.assessment)}")
    _print_counts(counts, failed)
    if failed:
        raise SystemExit(int(ExitCode.INPUT))


def _count(counts: Counter[str], assessment: Assessment) -> str:
    """Count ``assessment``'s category; its label for a row ("SECONDARY (FUNCTIONAL)")."""
    label = assessment.category.name
    if assessment.subtype is not None:
        label += f" ({assessment.subtype.name})"
    counts[assessment.category.name] += 1
    return label


def _print_counts(counts: Counter[str], failed: int) -> None:
    """The summary table: the count per category, then how many were evaluated and failed."""
    click.echo("")
    for category, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        click.echo(f"{count:5d}  {category}")
    click.echo(f"{sum(counts.values()):5d}  evaluated" + (f", {failed} failed" if failed else ""))


def _patient_ids(path: Path) -> list[str]:
    """The patient ids of ``path``: one a line; blank lines and ``#`` comments ignored."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fatal(f"{path}: cannot read the patient ids: {exc}", ExitCode.INPUT)
    ids = []
    for line in text.splitlines():
        patient_id = line.split("#", 1)[0].strip()
        if patient_id:
            ids.append(patient_id)
    if not ids:
        fatal(f"{path}: no patient id (one a line; # starts a comment)", ExitCode.INPUT)
    return ids


def _evaluate_remote_many(
    url: str, patient_ids: list[str], write: bool, credentials: Credentials
) -> None:
    """Each patient id on the FHIR server: one line each (its category, or why it failed), then
    the count per category. Exit 5 if any failed on the server, else 2 if any input was wrong;
    a server off the allowlist or an unwritable store stops at once (5, 3)."""
    from collections import Counter

    from service.app import create_app
    from service.fhir_server.policy import FhirServerNotAllowed
    from service.remote import cli_client, evaluate_patient

    services = create_app().extensions["hipspine"]
    counts: Counter[str] = Counter()
    failures: list[ExitCode] = []
    try:
        with cli_client(url, services.settings, credentials) as client:
            for patient_id in _progress(patient_ids):
                try:
                    done = evaluate_patient(
                        client, services.pipeline, patient_id, caller=_cli_caller(), write=write
                    )
                except (FhirServerNotAllowed, StoreUnavailable):
                    raise  # the same for every patient: one line, below
                except HipSpineError as exc:
                    failures.append(exit_code(exc))
                    click.echo(f"{patient_id}\t{_describe(exc).splitlines()[0]}")
                    continue
                label = _count(counts, done.result.assessment)
                if done.written is not None:
                    label += "\twritten" if done.written.created else "\talready written"
                click.echo(f"{patient_id}\t{label}")
    except FhirServerNotAllowed as exc:
        fatal(_fhir_server_problem(url, exc), ExitCode.FHIR_SERVER)
    except StoreUnavailable as exc:
        fatal(_describe(exc), ExitCode.STORE)
    except ValueError as exc:  # e.g. an unreadable SMART key
        fatal(str(exc), ExitCode.INPUT)
    _print_counts(counts, len(failures))
    if failures:
        worst = ExitCode.FHIR_SERVER if ExitCode.FHIR_SERVER in failures else max(failures)
        raise SystemExit(int(worst))


def _evaluate_remote(
    url: str, patient_id: str, write: bool, credentials: Credentials, trace: bool = False
) -> None:
    from service.app import create_app
    from service.errors import FhirServerError, PreconditionFailed
    from service.remote import cli_client, evaluate_patient

    services = create_app().extensions["hipspine"]
    try:
        with cli_client(url, services.settings, credentials) as client:
            done = evaluate_patient(
                client, services.pipeline, patient_id, caller=_cli_caller(), write=write
            )
    except (FhirServerError, PreconditionFailed) as exc:
        fatal(_fhir_server_problem(url, exc), ExitCode.FHIR_SERVER)
    except HipSpineError as exc:
        fatal(_describe(exc), exit_code(exc))
    except ValueError as exc:  # e.g. an unreadable SMART key
        fatal(str(exc), ExitCode.INPUT)
    click.echo(format_summary(done.result.assessment, done.result.extraction, trace))
    if done.written is not None:
        verb = "Written to" if done.written.created else "Already on (nothing written)"
        click.echo("")
        click.echo(f"{verb} {url}: {', '.join(done.written.references)}")


@main.command()
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--fhir-port", type=click.IntRange(1, 65535), default=8090, show_default=True)
@click.option("--patients", type=click.IntRange(min=1), default=28, show_default=True)
def sandbox(port: int, fhir_port: int, patients: int) -> None:
    """A local CDS Hooks playground (development only): a local FHIR server with the sample
    patients, and the service set up for https://sandbox.cds-hooks.org; prints what to paste.
    Ctrl-C stops both."""
    from service.sandbox import run_sandbox

    run_sandbox(port, fhir_port, patients)


@main.command("config")
def config_command() -> None:
    """Print the effective settings as JSON (what a server logs at start; no secrets)."""
    from service.config import Settings
    from service.http.startup import development_settings, effective_settings

    settings = Settings.from_env()
    click.echo(orjson.dumps(effective_settings(settings), option=orjson.OPT_INDENT_2).decode())
    for _variable, warning in development_settings(settings):
        click.echo(f"warning: {warning}", err=True)


@main.command("sample-data")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--patients", type=click.IntRange(min=1), default=36, show_default=True)
def sample_data(out_dir: Path, seed: int, patients: int) -> None:
    """Write synthetic patients as transaction Bundles and manifest.json (expected categories)."""
    from service.samples.data import write_sample_data

    manifest = write_sample_data(out_dir, seed=seed, patients=patients)
    click.echo(f"wrote {len(manifest['patients'])} patients and manifest.json to {out_dir}")


@main.command()
@click.option("--fhir-server", required=True, help="FHIR R4 base URL (on FHIR_SERVER_ALLOWLIST)")
@click.option("--token", default=None, envvar="FHIR_TOKEN", help="bearer token for the server")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def load(fhir_server: str, token: str | None, directory: Path) -> None:
    """POST each transaction Bundle of DIRECTORY (from sample-data) to the FHIR server."""
    from service.config import Settings
    from service.errors import FhirServerError, PreconditionFailed
    from service.remote import Credentials, bundle_files, cli_client, load_bundles

    files = bundle_files(directory)
    try:
        with cli_client(fhir_server, Settings.from_env(), Credentials(token)) as client:
            count = load_bundles(client, files, progress=_progress)
    except (FhirServerError, PreconditionFailed) as exc:
        fatal(_fhir_server_problem(fhir_server, exc), ExitCode.FHIR_SERVER)
    except ValueError as exc:
        fatal(str(exc), ExitCode.INPUT)
    click.echo(f"loaded {count} Bundles into {fhir_server}")
    _suggest_patient(directory, fhir_server)


def _fhir_server_problem(url: str, exc: HipSpineError) -> str:
    """The FHIR-server failure in one line; off the allowlist: the variable to set."""
    from service.fhir_server.policy import FhirServerNotAllowed

    if isinstance(exc, FhirServerNotAllowed) and "FHIR_SERVER_ALLOWLIST" in exc.diagnostics:
        return (
            f"FHIR server {url} is not on the allowlist: set "
            f"FHIR_SERVER_ALLOWLIST={url} (comma-separate several servers)"
        )
    return f"FHIR server {url}: {exc.diagnostics}"


def _suggest_patient(directory: Path, fhir_server: str) -> None:
    """Name a loaded patient to try (from the sample manifest), so nobody digs for an id."""
    try:
        rows = orjson.loads((directory / "manifest.json").read_bytes())["patients"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    for wanted in ("FUNCTIONAL", None):
        for row in rows:
            if not isinstance(row, dict) or "patient_id" not in row:
                continue
            if wanted is None or row.get("subtype") == wanted:
                expected = " ".join(str(v) for v in (row.get("category"), row.get("subtype")) if v)
                click.echo(
                    f"try: hipspine evaluate --fhir-server {fhir_server} "
                    f"--patient {row['patient_id']} (expected: {expected}; every id and "
                    f"category is in {directory / 'manifest.json'})"
                )
                return


def _progress(items: Any) -> Any:
    """A tqdm progress bar on a terminal; the items unchanged otherwise."""
    if not sys.stderr.isatty():
        return items
    from tqdm import tqdm  # type: ignore[import-untyped]

    return tqdm(items, unit="patient", file=sys.stderr)


def format_summary(assessment: Assessment, extraction: Extraction, trace: bool = False) -> str:
    """§6.1: the lead, the plan, what is missing and the warnings in plain words; ``trace``
    adds the flag-by-flag reasoning (``--summary --trace``)."""
    from service.core.summary import render_text

    notes = tuple(w.diagnostics for w in [*extraction.warnings, *extraction.ignored])
    return render_text(assessment, notes, trace)


def _cli_caller() -> Caller:
    """Who asked, for the audit record: the operating-system user running the command."""
    from service.pipeline import Caller

    return Caller(kind="cli", client=f"cli:{getpass.getuser()}", request_id=str(uuid.uuid4()))


def _describe(exc: HipSpineError) -> str:
    parts = []
    for issue in exc.issues:
        where = f" at {', '.join(issue.expression)}" if issue.expression else ""
        parts.append(f"{issue.severity}: {issue.diagnostics}{where}")
    return "\n".join(parts)


def _register_groups() -> None:
    from service.audit.cli import audit, db
    from service.cds_hooks.mint import jwt_command

    main.add_command(audit)
    main.add_command(db)
    main.add_command(jwt_command)


_register_groups()
