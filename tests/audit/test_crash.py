"""A writer killed with SIGKILL mid-load leaves a chain that verifies and holds every record
whose append had returned (the stand-in for "whose response was sent")."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from sqlalchemy import select

from service.audit import tables as t
from service.audit.store import SqlAuditStore
from tests.audit.pg_cluster import free_port

REPO = Path(__file__).resolve().parents[2]
WRITER = """
import sys
from service.audit.store import SqlAuditStore
from tests.audit.records import make_record

store = SqlAuditStore(sys.argv[1])
i = 0
while True:
    i += 1
    stored = store.record_evaluation(make_record(i))
    print(stored.seq, flush=True)
"""
KILL_AFTER = 60


def test_a_writer_killed_mid_load_loses_no_returned_record_and_breaks_no_link(
    store: SqlAuditStore, store_url: str
) -> None:
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, store_url],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None and writer.stderr is not None
    printed: list[int] = []
    try:
        for line in writer.stdout:
            printed.append(int(line))
            if len(printed) == KILL_AFTER:
                os.kill(writer.pid, signal.SIGKILL)
                break
        printed += [int(line) for line in writer.stdout if line.strip()]
    finally:
        writer.kill()
        writer.wait(timeout=30)
        writer.stdout.close()
        stderr = writer.stderr.read()
        writer.stderr.close()
    assert writer.returncode == -signal.SIGKILL, stderr
    assert len(printed) >= KILL_AFTER
    result = store.verify()
    assert result.ok, result.reason
    assert set(printed) <= set(range(1, result.count + 1))
    assert result.count >= max(printed)


SERVER_KILL_AFTER = 40
CLIENTS = 4


def _wait_ready(port: int, server: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"gunicorn exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn never became ready")


def test_a_gunicorn_server_killed_mid_load_keeps_every_answered_evaluation(
    store: SqlAuditStore, store_url: str, tmp_path: Path
) -> None:
    """Two worker processes, four clients; SIGKILL to the whole server once 40 answers are in."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": store_url, "PORT": str(port), "HOST": "127.0.0.1",
           "WEB_CONCURRENCY": "2", "DATA_DIR": str(tmp_path), "LOG_LEVEL": "warning",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}  # fmt: skip
    env.pop("FHIR_API_CLIENTS", None)
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--config", "gunicorn.conf.py"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    answered: list[str] = []
    cut: list[float] = []  # when each request that got no answer was sent
    lock = threading.Lock()
    stop = threading.Event()
    body = (REPO / "examples" / "complex.json").read_bytes()

    def client(n: int) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            rid = f"crash-{n}-{i}"
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/fhir/$hip-spine-evaluate", data=body, method="POST",
                headers={"Content-Type": "application/fhir+json", "X-Request-Id": rid},
            )  # fmt: skip
            sent = time.monotonic()
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:
                    resp.read()
                    ok = resp.status == 200
            except (OSError, http.client.HTTPException):
                # the server died under us (a reset, or a status line or body cut short):
                # this answer was never returned whole
                with lock:
                    cut.append(sent)
                continue
            if ok:
                with lock:
                    answered.append(rid)

    try:
        _wait_ready(port, server, time.monotonic() + 60)
        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120
        while len(answered) < SERVER_KILL_AFTER and time.monotonic() < deadline:
            time.sleep(0.01)
        killed_at = time.monotonic()
        os.killpg(server.pid, signal.SIGKILL)  # master and workers, mid-load
        with lock:
            returned = list(answered)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
    assert len(returned) >= SERVER_KILL_AFTER
    assert any(sent < killed_at for sent in cut), "no request was in flight at the kill"
    result = store.verify()
    assert result.ok, result.reason
    with store.engine.connect() as conn:
        stored = set(conn.execute(select(t.evaluations.c.request_id)).scalars())
    assert set(returned) <= stored
