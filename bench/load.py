"""Load benchmark: gunicorn (gunicorn.conf.py) on loopback, driven by wrk.

Usage: ``.venv/bin/python bench/load.py [--seconds 10] [--workers N] [--concurrency 1,8,32]
[--client auto|wrk|python]`` (``make bench-load``).

It starts gunicorn with the production configuration on a free 127.0.0.1 port, a throwaway
SQLite store (``DATA_DIR``) and ``CDS_AUTH_REQUIRED=false``; workers as gunicorn.conf.py
decides for this machine unless ``--workers`` says otherwise. Each cell runs wrk
(``-t min(2, c) -c c``, script bench/wrk/load.lua) for a fixed time at each concurrency c:

- patient-view with a complete prefetch of 50 Observations (bench/synthetic.py), the same
  chart re-sent (as when an EHR re-opens it: the service's validation cache is warm);
- the same with a never-seen chart on every call (fresh Observation ids and hookInstance in
  every request: cold cache);
- discovery (``GET /cds-services``).

Without wrk (``apt-get install wrk``) it says so and falls back to threaded Python clients
(one keep-alive ``requests.Session`` each), whose own CPU use distorts the figures.

Afterwards it checks: no error answers and no transport errors; no lost audit record (the
store holds one evaluation per 200 patient-view answer the server counted, which is every
2xx answer the client received plus at most the requests still in flight when a cell
stopped); the hash chain verifies; /metrics counts the same evaluations. Per cell it also
reports the server's CPU per answer, the time inside the app (from /metrics) and the
client's own CPU: the client runs on the same cores as the server.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import requests

from service.audit.store import SqlAuditStore

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_clients import (  # noqa: E402
    TOKEN,
    WRK_INSTALL,
    Cell,
    Target,
    run_threads,
    run_wrk,
    wrk_path,
)
from load_server import (  # noqa: E402
    ServerSide,
    app_time,
    free_port,
    sample,
    start_gunicorn,
    tree_cpu_s,
    wait_ready,
)
from synthetic import PATIENT_ID, synthetic_bundle  # noqa: E402

PATIENT_VIEW = "/cds-services/hip-spine-patient-view"
DISCOVERY = "/cds-services"
OBSERVATIONS = 50
PATIENT_VIEW_RULE = "/cds-services/<service_id>"  # the endpoint label in /metrics
SAME = "patient-view, 50 Observations"
FRESH = "patient-view, 50 Observations, never-seen chart"
#: Each never-seen cell numbers its requests from its own block (see load_clients.TOKEN).
CELL_BLOCK = 1_000_000_000


def _searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources],
    }


def hook_body(fresh: bool = False) -> bytes:
    """A patient-view request whose prefetch holds the Patient and 50 Observations.

    ``fresh``: a template whose Observation ids and hookInstance end in TOKEN, for clients
    to replace with a number of their own on every request.
    """
    token = TOKEN.decode()
    resources = [e["resource"] for e in synthetic_bundle(OBSERVATIONS)["entry"]]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    observations = [dict(r) for r in resources if r["resourceType"] == "Observation"]
    if fresh:
        for obs in observations:
            obs["id"] = f"{obs['id']}-{token}"
    body = {
        "hook": "patient-view",
        "hookInstance": f"5e1f0b9c-0000-4000-8000-{token}" if fresh else str(uuid.uuid4()),
        "context": {"userId": "Practitioner/bench", "patientId": PATIENT_ID},
        "prefetch": {
            "patient": patient,
            "observations": _searchset(observations),
            "conditions": _searchset([]),
            "procedures": _searchset([]),
        },
    }
    return orjson.dumps(body)


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


def table(cells: list[Cell], server: list[ServerSide], header: list[str]) -> str:
    rows = [
        *header,
        "",
        "| Request | Concurrency | Requests/s | p50 ms | p95 ms | p99 ms | OK | Errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in cells:
        rows.append(
            f"| {c.label} | {c.concurrency} | {c.ok / c.seconds:.0f} | {c.percentile(50):.1f} "
            f"| {c.percentile(95):.1f} | {c.percentile(99):.1f} | {c.ok} "
            f"| {sum(c.errors.values())} |"
        )
    rows += [
        "",
        "| Request | Concurrency | Server CPU ms/answer | In app: mean ms | In app: <= 50 ms "
        "| Client CPU, % of one core |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for c, s in zip(cells, server, strict=True):
        n = max(s.answers, 1)
        rows.append(
            f"| {c.label} | {c.concurrency} | {s.cpu_s * 1000 / n:.1f} "
            f"| {s.app_s * 1000 / n:.1f} | {100 * s.under_50ms / n:.0f} % "
            f"| {100 * c.client_cpu_s / c.seconds:.0f} % |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each cell")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers")
    parser.add_argument("--concurrency", default="1,8,32", help="connections per cell")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.concurrency.split(",")]
    wrk = wrk_path()
    use_wrk = args.client == "wrk" or (args.client == "auto" and wrk is not None)
    if args.client == "auto" and wrk is None:
        print(
            f"wrk not found: install it with `{WRK_INSTALL}`. Falling back to the threaded "
            "Python client, whose own CPU use distorts the figures.",
            file=sys.stderr,
        )

    data_dir = Path(tempfile.mkdtemp(prefix="hipspine-load-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    load_before = os.getloadavg()
    server = start_gunicorn(data_dir, port, args.workers)
    cells: list[Cell] = []
    server_side: list[ServerSide] = []

    def run(cell: Cell, target: Target, seconds: float) -> Cell:
        if use_wrk:
            return run_wrk(cell, target, seconds, data_dir)
        return run_threads(cell, target, seconds)

    try:
        wait_ready(base)
        same = Target(base + PATIENT_VIEW, hook_body())
        fresh = Target(base + PATIENT_VIEW, hook_body(fresh=True), fresh=True)
        discovery = Target(base + DISCOVERY)
        warm = [run(Cell("warm-up", 4), same, 2.0), run(Cell("warm-up", 4), discovery, 1.0)]
        plan = [
            *[(SAME, c, same) for c in levels],
            *[(FRESH, c, replace(fresh, first=(i + 1) * CELL_BLOCK)) for i, c in enumerate(levels)],
            *[("discovery", c, discovery) for c in levels],
        ]
        for label, concurrency, target in plan:
            endpoint, method = (
                (DISCOVERY, "GET") if target.body is None else (PATIENT_VIEW_RULE, "POST")
            )
            before = app_time(requests.get(f"{base}/metrics", timeout=10).text, endpoint, method)
            cpu_before = tree_cpu_s(server.pid)
            cell = run(Cell(label, concurrency), target, args.seconds)
            cpu_s = tree_cpu_s(server.pid) - cpu_before
            after = app_time(requests.get(f"{base}/metrics", timeout=10).text, endpoint, method)
            server_side.append(
                ServerSide(cpu_s, *(y - x for x, y in zip(before, after, strict=True)))
            )
            cells.append(cell)
            print(f"  {label} x{concurrency}: {cell.ok} ok", file=sys.stderr, flush=True)
        metrics = requests.get(f"{base}/metrics", timeout=10).text
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    load_after = os.getloadavg()

    store = SqlAuditStore(f"sqlite:///{data_dir / 'hipspine.db'}")
    try:
        stored = store.count_evaluations()
        verified = store.verify()
    finally:
        store.close()
    workers = f"{args.workers} workers" if args.workers else "workers from gunicorn.conf.py"
    client = (
        f"{_wrk_version(wrk)} (-t min(2, c) -c c, bench/wrk/load.lua)"
        if use_wrk and wrk
        else "threaded Python requests (wrk not installed: its own CPU use distorts the figures)"
    )
    header = [
        f"Machine: {machine()}",
        f"Load average (1, 5, 15 min) before: {_loads(load_before)}; after: {_loads(load_after)}",
        f"Server: gunicorn gunicorn.conf.py, {workers}, SQLite audit store (synchronous=FULL)",
        f"Client: {client}, {args.seconds:g} s per cell, on the same machine",
    ]
    print(table(cells, server_side, header))

    pv_cells = [c for c in [warm[0], *cells] if c.label != "discovery"]
    answered = sum(c.ok for c in pv_cells)
    in_flight = sum(c.in_flight for c in pv_cells)
    served = sample(
        metrics,
        "hipspine_http_requests_total",
        endpoint=PATIENT_VIEW_RULE,
        method="POST",
        status="200",
    )
    counted = sample(metrics, "hipspine_evaluations_total")
    errors = sum(sum(c.errors.values()) for c in [*cells, *warm])
    pending = (
        f" (+ at most {in_flight} requests in flight when a cell stopped, one per connection)"
        if in_flight
        else ""
    )
    print()
    print(f"Error answers and transport errors: {errors}")
    print(
        f"2xx patient-view answers received: {answered}{pending}; answered by the server "
        f"(/metrics): {served:.0f}; evaluations in the audit store: {stored}"
    )
    print(f"Audit chain verification: {'ok' if verified.ok else 'BROKEN: ' + verified.reason}")
    print(f"Evaluations counted by /metrics: {counted:.0f}")
    for label in (SAME, FRESH):
        p95 = next(
            (c.percentile(95) for c in cells if (c.label, c.concurrency) == (label, 8)), math.nan
        )
        print(
            f"Target p95 < 50 ms at concurrency 8, {label}: {p95:.1f} ms, "
            f"{'met' if p95 < 50 else 'NOT met'}"
        )
    none_lost = stored == served == counted and answered <= stored <= answered + in_flight
    if errors == 0 and none_lost and verified.ok:
        shutil.rmtree(data_dir, ignore_errors=True)
        return 0
    print(f"Store and gunicorn log kept in {data_dir}")
    return 1


def _wrk_version(wrk: str) -> str:
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True)
    words = (done.stdout or done.stderr).split()
    return " ".join(words[:2]) if words else "wrk"


def _loads(loads: tuple[float, float, float]) -> str:
    return ", ".join(f"{x:.2f}" for x in loads)


if __name__ == "__main__":
    raise SystemExit(main())
