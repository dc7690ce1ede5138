"""Development-only settings say so at start (issue 11 item 4): one JSON warning each, naming
the variable. A real ``hipspine serve`` is started (its stderr is read), then stopped."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

from service.config import Settings
from service.http.startup import development_settings

REPO = Path(__file__).resolve().parents[2]
HIPSPINE = REPO / ".venv" / "bin" / "hipspine"
DEV_ENV = {
    "CDS_TRUST_SANDBOX_KEY": "true",
    "CDS_AUTH_REQUIRED": "false",
    "HOST": "0.0.0.0",  # noqa: S104 (the setting under test; the test calls 127.0.0.1)
    "CORS_ORIGINS": "*",
}


def test_production_defaults_warn_of_nothing() -> None:
    assert development_settings(Settings()) == []


def test_each_development_setting_is_named_once() -> None:
    named = [v for v, _ in development_settings(Settings.from_env(DEV_ENV))]
    assert named == ["CDS_TRUST_SANDBOX_KEY", "CDS_AUTH_REQUIRED", "HOST", "CORS_ORIGINS"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_hipspine_serve_logs_one_json_warning_per_development_setting(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    # Tests bind loopback only: HOST=0.0.0.0 is checked above, not by binding it here.
    served = {k: v for k, v in DEV_ENV.items() if k != "HOST"}
    env.update(served, HOST="127.0.0.1", DATA_DIR=str(tmp_path), PORT=str(port))
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(HIPSPINE), "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except requests.RequestException:
                    time.sleep(0.2)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
    lines = []
    for raw in log_path.read_text().splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue  # gunicorn's own lines
    warned = [
        line["variable"]
        for line in lines
        if isinstance(line, dict)
        and line.get("level") == "WARNING"
        and "development only" in line.get("message", "")
    ]
    assert sorted(warned) == sorted(served)
    (effective,) = [line for line in lines if line.get("message") == "effective settings"]
    assert effective["settings"]["CDS_AUTH_REQUIRED"] is False


def test_hipspine_config_prints_the_effective_settings_and_no_secret() -> None:
    from click.testing import CliRunner

    from service.cli import main

    env = {
        "CDS_TRUST_SANDBOX_KEY": "true",
        "FHIR_API_CLIENTS": "ris=s3cret-token",
        "EXPORT_TOKEN": "export-s3cret",
        "DATABASE_URL": "postgresql+psycopg://u:pg-s3cret@db.example.org:5432/hipspine",
        "THRESHOLD_PERSISTENT_PAIN_NRS": "5",
        "FHIR_SERVER_ALLOWLIST": "http://127.0.0.1:8090/fhir",
    }
    result = CliRunner().invoke(main, ["config"], env=env)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["FHIR_SERVER_ALLOWLIST"] == ["http://127.0.0.1:8090/fhir"]
    assert shown["FHIR_API_CLIENTS"] == ["ris"]
    assert shown["thresholds_overridden"] == {"THRESHOLD_PERSISTENT_PAIN_NRS": "5"}
    assert "host db.example.org port 5432" in shown["store"]
    assert "CDS_TRUST_SANDBOX_KEY" in result.stderr
    for secret in ("s3cret-token", "export-s3cret", "pg-s3cret"):
        assert secret not in result.output


def test_a_broken_site_concept_map_is_one_line_naming_mappings_dir(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from service.cli import main

    (tmp_path / "ConceptMap-bad.json").write_text("{not json")
    example = REPO / "examples" / "secondary-functional-worked-example.json"
    env = {"MAPPINGS_DIR": str(tmp_path), "DATA_DIR": str(tmp_path / "data")}
    result = CliRunner().invoke(main, ["evaluate", str(example)], env=env)
    assert result.exit_code == 2
    assert (
        "configuration: MAPPINGS_DIR:" in result.output and "ConceptMap-bad.json" in result.output
    )
