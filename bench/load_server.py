"""The server side of bench/load.py: gunicorn under test, its CPU use and its /metrics."""

from __future__ import annotations

import importlib
import math
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
LABELS = re.compile(r'(\w+)="([^"]*)"')


@dataclass
class ServerSide:
    """What the server spent on one cell: CPU of gunicorn's processes, time inside the app."""

    cpu_s: float
    answers: float  # requests the app answered on the cell's endpoint (/metrics)
    app_s: float  # their summed time inside the app (before_request to after_request)
    under_50ms: float  # how many of them took at most 50 ms inside the app


def sqlite_synchronous() -> str:
    """The audit store's default ``PRAGMA synchronous`` (service.audit.engine), as a label."""
    try:
        engine = importlib.import_module("service.audit.engine")
    except ImportError:
        return "unknown"
    return str(getattr(engine, "DEFAULT_SQLITE_SYNCHRONOUS", "unknown")).upper()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_gunicorn(data_dir: Path, port: int, workers: int | None) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        DATA_DIR=str(data_dir),
        CDS_AUTH_REQUIRED="false",
        LOG_LEVEL="WARNING",
    )
    if workers:
        env["WEB_CONCURRENCY"] = str(workers)
    gunicorn = Path(sys.executable).parent / "gunicorn"
    command = [str(gunicorn), "--config", "gunicorn.conf.py", "--access-logfile", "/dev/null"]
    with (data_dir / "gunicorn.log").open("wb") as log:  # the child keeps its own copy
        return subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )


def wait_ready(base: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/readyz", timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or workers still booting
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not become ready")


def tree_cpu_s(root: int) -> float:
    """User + system CPU seconds of ``root`` and its living descendants (/proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    parent: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        parent[int(entry.name)] = int(fields[1])
        cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    tree, frontier = {root}, [root]
    while frontier:
        children = [pid for pid, ppid in parent.items() if ppid in frontier]
        tree.update(children)
        frontier = children
    return math.fsum(cpu.get(pid, 0.0) for pid in tree)


def sample(exposition: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    total = 0.0
    for line in exposition.splitlines():
        if line.startswith(name + "{"):
            head, value = line.rsplit(" ", 1)
            found = dict(LABELS.findall(head))
            if all(found.get(k) == v for k, v in labels.items()):
                total += float(value)
    return total


def app_time(exposition: str, endpoint: str, method: str) -> tuple[float, float, float]:
    """Count, summed seconds and count within 50 ms of the app's request-time histogram."""
    name = "hipspine_http_request_duration_seconds"
    where = {"endpoint": endpoint, "method": method}
    return (
        sample(exposition, f"{name}_count", **where),
        sample(exposition, f"{name}_sum", **where),
        sample(exposition, f"{name}_bucket", le="0.05", **where),
    )
