"""The benchmarks' peer: the CDS Hooks sample services (Node, bench/peer), started on loopback.

``make bench-peer-setup`` installs its dependencies; without Node or without that install the
peer is absent and :func:`absent_reason` says why, for the benchmarks to print.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson
import requests

PEER_DIR = Path(__file__).resolve().parent / "peer"
SOURCE = PEER_DIR / "sandbox-cds-services"
SETUP = "make bench-peer-setup"
GREETING = "/cds-services/patient-greeting"
LABEL = "peer: Node sample service, patient-greeting"
#: The modules server.js needs (bench/peer/README.md).
MODULES = ("express", "body-parser", "axios", "uuid", "fhirpath", "array.prototype.flatmap")


@dataclass(frozen=True)
class Peer:
    base: str
    pid: int  # the node process (its threads are in its own /proc/<pid>/stat)
    version: str


def node_path() -> str | None:
    return shutil.which("node")


def absent_reason() -> str | None:
    """None when the peer can run; otherwise why not and how to fix it."""
    if node_path() is None:
        return "Node.js not found on PATH (install Node 20 and npm, then `make bench-peer-setup`)"
    missing = [m for m in MODULES if not (PEER_DIR / "node_modules" / m).is_dir()]
    if missing:
        return f"peer not installed ({', '.join(missing)} missing): run `{SETUP}`"
    return None


def greeting_body() -> bytes:
    """patient-greeting with a complete prefetch (the Patient), as the sandbox sends it."""
    body = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/1", "patientId": "1288992"},
        "prefetch": {
            "patient": {
                "resourceType": "Patient",
                "id": "1288992",
                "name": [{"given": ["Daniel"], "family": "Adams"}],
            }
        },
    }
    return orjson.dumps(body)


def _wait_ready(base: str, proc: subprocess.Popen[bytes], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the Node peer exited with {proc.returncode} (see its log)")
        try:
            if requests.get(f"{base}/cds-services", timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet
            pass
        time.sleep(0.1)
    raise SystemExit("the Node peer did not become ready")


@contextmanager
def running_peer(port: int, log_dir: Path) -> Iterator[Peer]:
    """``PORT=port node server.js`` on 127.0.0.1 (its own session), stopped on exit."""
    node = node_path()
    if node is None:
        raise SystemExit("Node.js not found")
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    env = {**os.environ, "PORT": str(port)}
    # Express listens on every interface when given only a port; a loopback-only wrapper
    # keeps the vendored server.js unchanged and the benchmark off the network.
    script = f"require('./index.js').listen({port}, '127.0.0.1');"
    with (log_dir / "peer.log").open("wb") as log:  # the child keeps its own copy
        proc = subprocess.Popen(
            [node, "-e", script],
            cwd=SOURCE,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, proc)
        yield Peer(base, proc.pid, f"Node {version}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
