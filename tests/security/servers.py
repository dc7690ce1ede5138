"""Real servers for the probes: `make serve-prod` and `hipspine serve` on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.processes import free_port, running, wait_until_closed

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60


@dataclass(frozen=True)
class Served:
    base: str
    port: int
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextmanager
def serve(command: list[str], tmp_path: Path, **env_overrides: str) -> Iterator[Served]:
    """Run ``command`` (a server reading HOST/PORT) until the block ends; its output in a file."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"PROMETHEUS_MULTIPROC_DIR", "HOST"}}
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        DATA_DIR=str(tmp_path / "data"),
        WEB_CONCURRENCY="2",
        CDS_AUTH_REQUIRED="false",
    )
    env.update(env_overrides)
    log_path = tmp_path / "server.log"
    base = f"http://127.0.0.1:{port}"
    try:
        with running(
            command,
            ready_url=f"{base}/healthz",
            log_path=log_path,
            what="the server",
            cwd=REPO,
            env=env,
            start_timeout_s=START_TIMEOUT_S,
        ):
            yield Served(base, port, log_path)
    finally:
        wait_until_closed(port)


SERVE_PROD = ["make", "--no-print-directory", "-o", ".venv/.runtime", "serve-prod"]
HIPSPINE_SERVE = [str(Path(sys.executable).parent / "hipspine"), "serve", "--threads", "2"]


@contextmanager
def slow_clients(port: int, count: int, first: bytes, drip: bytes) -> Iterator[list[socket.socket]]:
    """``count`` connections that send ``first``, then ``drip`` every 0.5 s until the end."""
    socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)]
    stop = threading.Event()

    def dripping() -> None:
        while not stop.wait(0.5):
            for sock in socks:
                try:
                    sock.sendall(drip)
                except OSError:
                    pass

    for sock in socks:
        sock.sendall(first)
    thread = threading.Thread(target=dripping, daemon=True)
    thread.start()
    try:
        yield socks
    finally:
        stop.set()
        thread.join(timeout=5)
        for sock in socks:
            sock.close()


#: the container's CMD
GUNICORN = [str(Path(sys.executable).parent / "gunicorn"), "--config", "gunicorn.conf.py"]
