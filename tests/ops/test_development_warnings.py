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
