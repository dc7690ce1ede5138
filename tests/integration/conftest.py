"""A real FHIR R4 server for the integration tests: sekmet-fhir, started once per session.

Two instances on free loopback ports, each with a fresh SQLite database in a temporary
directory, the simulator off and strict inbound validation on (components.md): one open, one
that demands a bearer token or a SMART Backend Services access token. Both are stopped by pid
at the end of the session.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SEKMET = Path(sys.executable).parent / "sekmet"
TOKEN = "integration-test-token"
SMART_CLIENT = "hipspine-integration"
STARTUP_SECONDS = 20.0


@dataclass(frozen=True)
class FhirServer:
    url: str  # the FHIR base, e.g. http://127.0.0.1:PORT/fhir
    directory: Path


@dataclass(frozen=True)
class SmartKeys:
    private_key_file: Path
    public_key_file: Path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _settings_yaml(port: int, directory: Path, auth: str) -> str:
    return (
        f"base_url: http://127.0.0.1:{port}/fhir\n"
        "host: 127.0.0.1\n"
        f"port: {port}\n"
        f"db_path: {directory / 'sekmet.db'}\n"
        f"data_dir: {directory / 'data'}\n"
        f"own_private_key_path: {directory / 'keys' / 'sekmet_private.pem'}\n"
        "simulator: {enabled: false}\n"
        "validation: {inbound: strict}\n"
        "log_inbound: false\n"
        f"{auth}"
    )


def _start(directory: Path, auth: str = "") -> tuple[subprocess.Popen[bytes], FhirServer]:
    if not SEKMET.exists():
        pytest.fail(f"sekmet-fhir is not installed at {SEKMET} (make venv installs it)")
    directory.mkdir(parents=True)
    port = _free_port()
    config = directory / "settings.yaml"
    config.write_text(_settings_yaml(port, directory, auth), encoding="utf-8")
    env = {**os.environ, "SEKMET_CONFIG": str(config)}
    with (directory / "sekmet.log").open("wb") as log:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [str(SEKMET), "serve", "--config", str(config)],
            cwd=directory,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return process, FhirServer(f"http://127.0.0.1:{port}/fhir", directory)


def _wait_until_up(process: subprocess.Popen[bytes], server: FhirServer) -> None:
    end = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < end:
        if process.poll() is not None:
            log = (server.directory / "sekmet.log").read_text(errors="replace")
            pytest.fail(f"sekmet exited with {process.returncode}:\n{log[-2000:]}")
        try:
            if requests.get(f"{server.url}/metadata", timeout=1).status_code in (200, 401):
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    pytest.fail(f"sekmet did not answer /metadata within {STARTUP_SECONDS} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@pytest.fixture(scope="session")
def smart_keys(tmp_path_factory: pytest.TempPathFactory) -> SmartKeys:
    directory = tmp_path_factory.mktemp("smart-keys")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = directory / "client.pem"
    public = directory / "client.pub.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return SmartKeys(private, public)


@pytest.fixture(scope="session")
def fhir_servers(
    tmp_path_factory: pytest.TempPathFactory, smart_keys: SmartKeys
) -> Iterator[tuple[FhirServer, FhirServer]]:
    """(open server, server requiring a bearer or SMART token), started in parallel."""
    root = tmp_path_factory.mktemp("sekmet")
    auth = (
        "server_auth:\n"
        "  types: [bearer, smart]\n"
        f"  tokens: [{TOKEN}]\n"
        "  smart_clients:\n"
        f"    - client_id: {SMART_CLIENT}\n"
        f"      public_key_path: {smart_keys.public_key_file}\n"
        "      scopes: system/*.read\n"
    )
    started = [_start(root / "open"), _start(root / "secured", auth)]
    try:
        for process, server in started:
            _wait_until_up(process, server)
        yield started[0][1], started[1][1]
    finally:
        for process, _ in started:
            _stop(process)


@pytest.fixture(scope="session")
def fhir_server(fhir_servers: tuple[FhirServer, FhirServer]) -> FhirServer:
    return fhir_servers[0]


@pytest.fixture(scope="session")
def secured_server(fhir_servers: tuple[FhirServer, FhirServer]) -> FhirServer:
    return fhir_servers[1]
