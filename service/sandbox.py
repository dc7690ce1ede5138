"""``hipspine sandbox``: a local CDS Hooks playground in one command (issue 11).

Starts a local FHIR R4 server (sekmet-fhir, the server the integration tests use), loads the
synthetic sample patients into it, then serves hipspine-cds with the settings the public CDS
Hooks sandbox needs (sandbox key trusted, its CORS origin, the exact PUBLIC_BASE_URL, the FHIR
server allowlisted), and prints the three things to paste into the sandbox. Ctrl-C stops both.
Development only: it trusts the sandbox's published key.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from service.config import Settings
from service.errors import ExitCode, FhirServerError, PreconditionFailed, fatal
from service.remote import Credentials, bundle_files, cli_client, load_bundles
from service.samples.data import write_sample_data

SANDBOX_ORIGIN = "https://sandbox.cds-hooks.org"
SAMPLE_SEED = 1
STARTUP_SECONDS = 30.0


def sekmet_binary() -> Path:
    return Path(sys.executable).parent / "sekmet"


def start_fhir_server(port: int, folder: Path) -> subprocess.Popen[bytes]:
    """sekmet-fhir on 127.0.0.1:``port`` with its data in ``folder``; ready when it returns."""
    binary = sekmet_binary()
    if not binary.exists():
        fatal(
            f"the local FHIR server (sekmet-fhir) is not installed in {binary.parent}: "
            "`make sandbox` (or `make fhir-server`) installs it",
            ExitCode.INPUT,
        )
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "settings.yaml"
    config.write_text(
        f"base_url: http://127.0.0.1:{port}/fhir\nhost: 127.0.0.1\nport: {port}\n"
        f"db_path: {folder / 'sekmet.db'}\ndata_dir: {folder / 'data'}\n"
        f"own_private_key_path: {folder / 'keys' / 'sekmet_private.pem'}\n"
        "simulator: {enabled: false}\nvalidation: {inbound: strict}\nlog_inbound: false\n",
        encoding="utf-8",
    )
    with (folder / "sekmet.log").open("wb") as log:
        process = subprocess.Popen(
            [str(binary), "serve", "--config", str(config)],
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "SEKMET_CONFIG": str(config)},
        )
    url = f"http://127.0.0.1:{port}/fhir/metadata"
    end = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < end:
        if process.poll() is not None:
            fatal(
                f"the local FHIR server stopped at start (port {port} in use?): see "
                f"{folder / 'sekmet.log'}",
                ExitCode.FHIR_SERVER,
            )
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return process
        except requests.RequestException:
            pass
        time.sleep(0.2)
    stop(process)
    fatal(
        f"the local FHIR server did not answer {url} within {STARTUP_SECONDS:.0f} s",
        ExitCode.FHIR_SERVER,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def sandbox_settings(base: Settings, port: int, fhir_url: str) -> Settings:
    """The settings the public CDS Hooks sandbox needs, on loopback."""
    return base.with_overrides(
        host="127.0.0.1",
        port=port,
        public_base_url=f"http://127.0.0.1:{port}",
        cds_trust_sandbox_key=True,
        cors_origins=(*base.cors_origins, SANDBOX_ORIGIN),
        fhir_server_allowlist=(*base.fhir_server_allowlist, fhir_url),
    )


def load_samples(settings: Settings, fhir_url: str, folder: Path, patients: int) -> str:
    """Write and load the sample patients; the id of one to try (and its category)."""
    manifest = write_sample_data(folder, seed=SAMPLE_SEED, patients=patients)
    try:
        with cli_client(fhir_url, settings, Credentials()) as client:
            load_bundles(client, bundle_files(folder))
    except (FhirServerError, PreconditionFailed) as exc:
        fatal(f"loading the samples into {fhir_url}: {exc.diagnostics}", ExitCode.FHIR_SERVER)
    rows = manifest["patients"]
    row = next((r for r in rows if r.get("subtype") == "FUNCTIONAL"), rows[0])
    expected = " ".join(str(v) for v in (row["category"], row.get("subtype")) if v)
    return f"{row['patient_id']} (expected: {expected})"


def run_sandbox(port: int, fhir_port: int, patients: int, threads: int = 4) -> None:
    from service.server import check_can_start, run

    base = Settings.from_env()
    fhir_url = f"http://127.0.0.1:{fhir_port}/fhir"
    settings = sandbox_settings(base, port, fhir_url)
    check_can_start(settings)  # the service's port and store before anything starts
    folder = base.data_dir / "sandbox"
    fhir = start_fhir_server(fhir_port, folder / "fhir-server")
    try:
        patient = load_samples(settings, fhir_url, folder / "samples", patients)
        print(
            "\nPaste into https://sandbox.cds-hooks.org (development only: the sandbox's key "
            "is trusted):\n"
            f"  FHIR server    {fhir_url}\n"
            f"  CDS services   http://127.0.0.1:{port}/cds-services\n"
            f"  Patient id     {patient}\n"
            "Ctrl-C stops the service and the FHIR server.\n",
            file=sys.stderr,
            flush=True,
        )
        run(settings, threads=threads)
    finally:
        stop(fhir)
