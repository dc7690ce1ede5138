"""Load benchmark: gunicorn (gunicorn.conf.py) on loopback under a threaded Python client.

Usage: ``.venv/bin/python bench/load.py [--seconds 10] [--workers N]`` (``make bench-load``).

It starts gunicorn with the production configuration on a free 127.0.0.1 port, a throwaway
SQLite store (``DATA_DIR``) and ``CDS_AUTH_REQUIRED=false``; workers as gunicorn.conf.py
decides for this machine unless ``--workers`` says otherwise. Each cell runs for a fixed time
with N client threads, each with its own keep-alive ``requests.Session``:

- patient-view with a complete prefetch of 50 Observations (bench/synthetic.py), the same
  chart re-sent (as when an EHR re-opens it: the service's validation cache is warm);
- the same with a never-seen chart on every call (every Observation id fresh: cold cache);
- discovery (``GET /cds-services``).

Afterwards it checks: no error answers, no transport errors, and no lost audit record (the
store holds exactly one evaluation per 200 patient-view answer and its hash chain verifies).
The client runs on the same cores as the server: its own CPU use is part of the figures.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import requests

from service.audit.store import SqlAuditStore

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import PATIENT_ID, synthetic_bundle  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PATIENT_VIEW = "/cds-services/hip-spine-patient-view"
DISCOVERY = "/cds-services"
OBSERVATIONS = 50
FRESH_BODIES = 2000


@dataclass
class Cell:
    label: str
    concurrency: int
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def _searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources],
    }


def hook_body(suffix: str = "") -> bytes:
    """A patient-view request whose prefetch holds the Patient and 50 Observations."""
    resources = [e["resource"] for e in synthetic_bundle(OBSERVATIONS)["entry"]]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    observations = [dict(r) for r in resources if r["resourceType"] == "Observation"]
    if suffix:
        for obs in observations:
            obs["id"] = f"{obs['id']}-{suffix}"
    body = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/bench", "patientId": PATIENT_ID},
        "prefetch": {
            "patient": patient,
            "observations": _searchset(observations),
            "conditions": _searchset([]),
            "procedures": _searchset([]),
        },
    }
    return orjson.dumps(body)


def _free_port() -> int:
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
    return subprocess.Popen(
        command,
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(data_dir / "gunicorn.log").open("wb"),
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


def run_cell(cell: Cell, seconds: float, send: Callable[[requests.Session, int], int]) -> Cell:
    stop = time.monotonic() + seconds
    lock = threading.Lock()

    def client(worker: int) -> None:
        session = requests.Session()
        n = 0
        local_ok = 0
        local_lat: list[float] = []
        local_err: dict[str, int] = {}
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                status = send(session, worker * 1_000_000 + n)
            except requests.RequestException as exc:
                key = type(exc).__name__
                local_err[key] = local_err.get(key, 0) + 1
                continue
            finally:
                n += 1
            elapsed = (time.perf_counter() - started) * 1000
            if status == 200:
                local_ok += 1
                local_lat.append(elapsed)
            else:
                local_err[str(status)] = local_err.get(str(status), 0) + 1
        session.close()
        with lock:
            cell.ok += local_ok
            cell.latencies_ms.extend(local_lat)
            for key, count in local_err.items():
                cell.errors[key] = cell.errors.get(key, 0) + count

    threads = [threading.Thread(target=client, args=(i,)) for i in range(cell.concurrency)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cell.seconds = time.perf_counter() - began
    return cell


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores (nproc {len(os.sched_getaffinity(0))}), {model}, " + (
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def table(cells: list[Cell], workers: str) -> str:
    rows = [
        f"Machine: {machine()}",
        f"Server: gunicorn gunicorn.conf.py, {workers}, SQLite audit store (synchronous=FULL)",
        "",
        "| Request | Concurrency | Requests/s | p50 ms | p95 ms | p99 ms | OK | Errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in cells:
        errors = sum(c.errors.values())
        rows.append(
            f"| {c.label} | {c.concurrency} | {c.ok / c.seconds:.0f} | {c.percentile(50):.1f} "
            f"| {c.percentile(95):.1f} | {c.percentile(99):.1f} | {c.ok} | {errors} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each cell")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers")
    parser.add_argument("--concurrency", default="1,8,32", help="client threads per cell")
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.concurrency.split(",")]

    data_dir = Path(tempfile.mkdtemp(prefix="hipspine-load-"))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_gunicorn(data_dir, port, args.workers)
    cells: list[Cell] = []
    try:
        wait_ready(base)
        same = hook_body()
        headers = {"Content-Type": "application/json"}
        fresh = [hook_body(f"n{i}") for i in range(FRESH_BODIES)]

        def patient_view(session: requests.Session, n: int) -> int:
            return session.post(base + PATIENT_VIEW, data=same, headers=headers).status_code

        def patient_view_fresh(session: requests.Session, n: int) -> int:
            body = fresh[(n % 1_000_000 * 7 + n // 1_000_000) % FRESH_BODIES]
            return session.post(base + PATIENT_VIEW, data=body, headers=headers).status_code

        def discovery(session: requests.Session, n: int) -> int:
            return session.get(base + DISCOVERY).status_code

        warm = run_cell(Cell("warm-up", 4), 2.0, patient_view)
        warm_d = run_cell(Cell("warm-up", 4), 1.0, discovery)
        evaluations = warm.ok
        plan: list[tuple[str, int, Callable[[requests.Session, int], int]]] = [
            *[("patient-view, 50 Observations", c, patient_view) for c in levels],
            ("patient-view, 50 Observations, never-seen chart", 8, patient_view_fresh),
            *[("discovery", c, discovery) for c in levels],
        ]
        for label, concurrency, send in plan:
            cell = run_cell(Cell(label, concurrency), args.seconds, send)
            cells.append(cell)
            if send is not discovery:
                evaluations += cell.ok
            print(f"  {label} x{concurrency}: {cell.ok} ok", file=sys.stderr, flush=True)
        metrics = requests.get(f"{base}/metrics", timeout=10).text
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    store = SqlAuditStore(f"sqlite:///{data_dir / 'hipspine.db'}")
    try:
        stored = store.count_evaluations()
        verified = store.verify()
    finally:
        store.close()
    workers = f"{args.workers} workers" if args.workers else "workers from gunicorn.conf.py"
    print(table(cells, workers))
    errors = sum(sum(c.errors.values()) for c in [*cells, warm, warm_d])
    print()
    print(f"Error answers and transport errors: {errors}")
    print(f"200 patient-view answers: {evaluations}; evaluations in the audit store: {stored}")
    print(f"Audit chain verification: {'ok' if verified.ok else 'BROKEN: ' + verified.reason}")
    print(f"Evaluations counted by /metrics: {_evaluations_metric(metrics):.0f}")
    p95_8 = next((c.percentile(95) for c in cells if c.concurrency == 8), float("nan"))
    print(
        f"Target p95 < 50 ms at concurrency 8 (same chart): {p95_8:.1f} ms, "
        f"{'met' if p95_8 < 50 else 'NOT met'}"
    )
    good = errors == 0 and stored == evaluations and verified.ok
    return 0 if good else 1


def _evaluations_metric(exposition: str) -> float:
    return math.fsum(
        float(line.rsplit(" ", 1)[1])
        for line in exposition.splitlines()
        if line.startswith("hipspine_evaluations_total{")
    )


if __name__ == "__main__":
    raise SystemExit(main())
