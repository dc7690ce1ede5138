"""``hipspine sandbox`` (``make sandbox``): a local FHIR server with the sample patients and the
service set up for the public CDS Hooks sandbox, in one command; it prints what to paste, and
Ctrl-C stops both (issue 11). Driven here as the sandbox's browser would: a JWT signed with the
sandbox's published key, its Origin, no prefetch (the service fetches from the FHIR server)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

from service.cds_hooks.mint import mint_jwt

REPO = Path(__file__).resolve().parents[2]
SANDBOX_KEY = REPO / "tests" / "cds_hooks" / "data" / "sandbox-ecprivkey.pem"
ORIGIN = "https://sandbox.cds-hooks.org"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _closed(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_the_sandbox_serves_a_card_for_the_printed_patient_and_ctrl_c_stops_all(
    tmp_path: Path,
) -> None:
    port, fhir_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FHIR_", "CDS_", "CORS"))}
    env.update(DATA_DIR=str(tmp_path / "data"), HOST="127.0.0.1")
    err = (tmp_path / "sandbox.err").open("wb")
    proc = subprocess.Popen(
        [str(REPO / ".venv" / "bin" / "hipspine"), "sandbox", "--port", str(port),
         "--fhir-port", str(fhir_port), "--patients", "14"],
        env=env, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        text = ""
        while time.monotonic() < deadline and proc.poll() is None:
            text = (tmp_path / "sandbox.err").read_text(errors="replace")
            if "Listening at" in text or "Booting worker" in text:
                try:
                    requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except requests.RequestException:
                    pass
            time.sleep(0.3)
        else:
            pytest.fail("hipspine sandbox did not start:\n" + text[-3000:])
        fhir_url = re.search(r"FHIR server\s+(\S+)", text)
        discovery = re.search(r"CDS services\s+(\S+)", text)
        patient = re.search(r"Patient id\s+(\S+)", text)
        assert fhir_url and discovery and patient, text
        assert fhir_url.group(1) == f"http://127.0.0.1:{fhir_port}/fhir"
        service_url = discovery.group(1) + "/hip-spine-patient-view"
        token = mint_jwt(SANDBOX_KEY.read_bytes(), aud=service_url,
                         iss=ORIGIN, kid="44823f3d-0b01-4a6c-a80e-b9d3e8a7226f")  # fmt: skip
        body = {
            "hook": "patient-view",
            "hookInstance": str(uuid.uuid4()),
            "fhirServer": fhir_url.group(1),
            "context": {"userId": "Practitioner/p1", "patientId": patient.group(1)},
        }
        answer = requests.post(
            service_url,
            json=body,
            headers={"Authorization": f"Bearer {token}", "Origin": ORIGIN},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers.get("Access-Control-Allow-Origin") == ORIGIN
        cards = answer.json()["cards"]
        assert cards and cards[0]["source"]["topic"]["code"].endswith("secondary")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        err.close()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (_closed(port) and _closed(fhir_port)):
        time.sleep(0.2)
    assert _closed(port) and _closed(fhir_port)


def test_the_readmes_by_hand_settings_are_the_ones_hipspine_sandbox_uses() -> None:
    """README "Point the CDS Hooks sandbox at the service": the `make run` block's variables
    give the same settings as ``hipspine sandbox`` (so the two ways cannot drift apart)."""
    from service.config import Settings
    from service.sandbox import sandbox_settings

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Point the CDS Hooks sandbox at the service") :]
    block = re.search(r"By hand.*?```sh\n(.*?)```", section, re.S)
    assert block is not None
    env = dict(re.findall(r"^([A-Z_]+)=(\S+) \\$", block.group(1), re.M))
    assert set(env) == {
        "CDS_TRUST_SANDBOX_KEY", "CORS_ORIGINS", "PUBLIC_BASE_URL", "FHIR_SERVER_ALLOWLIST",
    }  # fmt: skip
    by_hand = Settings.from_env(env)
    one_command = sandbox_settings(Settings.from_env({}), 8080, "http://127.0.0.1:8090/fhir")
    assert by_hand == one_command
