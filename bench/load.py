"""Load benchmark: gunicorn (gunicorn.conf.py) on loopback, driven by wrk.

Usage: ``.venv/bin/python bench/load.py [--seconds 10] [--workers N] [--concurrency 1,8,32]
[--client auto|wrk|python] [--no-peer]`` (``make bench-load``).

It starts gunicorn with the production configuration on a free 127.0.0.1 port, a throwaway
SQLite store (``DATA_DIR``) and ``CDS_AUTH_REQUIRED=false``; workers as gunicorn.conf.py
decides for this machine unless ``--workers`` says otherwise. Each cell runs wrk
(``-t min(2, c) -c c``, script bench/wrk/load.lua) for a fixed time at each concurrency c:

- patient-view with a complete prefetch of 50 Observations (bench/synthetic.py), the same
  chart re-sent (as when an EHR re-opens it: the service's validation cache is warm);
- the same with a never-seen chart on every call (fresh Observation ids and hookInstance in
  every request: cold cache);
- discovery (``GET /cds-services``);
- the peer, in the same run: the CDS Hooks sample service (Node, bench/peer, installed by
  ``make bench-peer-setup``) answering patient-greeting with a complete prefetch, on its own
  free loopback port; without Node or the install (or with ``--no-peer``) its row says it
  is absent and why.

Without wrk (``apt-get install wrk``) it says so and falls back to threaded Python clients
(one keep-alive ``requests.Session`` each), whose own CPU use distorts the figures.

Afterwards it checks: no error answers and no transport errors; no lost audit record (the
store holds one evaluation per 200 patient-view answer the server counted, which is every
2xx answer the client received plus at most the requests still in flight when a cell
stopped); the hash chain verifies; /metrics counts the same evaluations. Per cell it also
reports the server's CPU per answer (user + system CPU of gunicorn's master and workers, or of
the node process, from /proc/<pid>/stat before and after the cell, divided by the answers),
the time inside the app (from /metrics) and the client's own CPU: the client runs on the same
cores as the server. Last, issue 14's targets beside the measured figures, with the machine.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import requests

from service.audit.store import SqlAuditStore

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load_peer  # noqa: E402
import load_targets as goals  # noqa: E402
from load_clients import (  # noqa: E402
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
    sqlite_synchronous,
    start_gunicorn,
    tree_cpu_s,
    wait_ready,
)
from load_targets import machine  # noqa: E402
from synthetic import hook_request  # noqa: E402

PATIENT_VIEW = "/cds-services/hip-spine-patient-view"
DISCOVERY = "/cds-services"
OBSERVATIONS = 50
PATIENT_VIEW_RULE = "/cds-services/<service_id>"  # the endpoint label in /metrics
SAME = "patient-view, 50 Observations"
FRESH = "patient-view, 50 Observations, never-seen chart"
#: Each never-seen cell numbers its requests from its own block (see load_clients.TOKEN).
CELL_BLOCK = 1_000_000_000


def hook_body(fresh: bool = False) -> bytes:
    """A patient-view request whose prefetch holds the Patient and 50 Observations.

    ``fresh``: a template whose Observation ids and hookInstance end in TOKEN, for clients
    to replace with a number of their own on every request.
    """
    return hook_request(OBSERVATIONS, fresh=fresh)


def table(
    cells: list[Cell], server: list[ServerSide], header: list[str], absent: str | None = None
) -> str:
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
    if absent is not None:
        rows.append(f"| {load_peer.LABEL} | – | absent: {absent} | | | | | |")
    rows += [
        "",
        "| Request | Concurrency | Server CPU ms/answer | In app: mean ms | In app: <= 50 ms "
        "| Client CPU, % of one core |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for c, s in zip(cells, server, strict=True):
        n = max(s.answers, 1)
        in_app = "– | –"  # the peer has no /metrics
        if not math.isnan(s.app_s):
            in_app = f"{s.app_s * 1000 / n:.1f} | {100 * s.under_50ms / n:.0f} %"
        rows.append(
            f"| {c.label} | {c.concurrency} | {s.cpu_s * 1000 / n:.2f} | {in_app} "
            f"| {100 * c.client_cpu_s / c.seconds:.0f} % |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each cell")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers")
    parser.add_argument("--concurrency", default="1,8,32", help="connections per cell")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--no-peer", action="store_true", help="leave the Node peer out")
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
    peer_cells: list[Cell] = []
    peer_side: list[ServerSide] = []
    peer_absent = "not run (--no-peer)" if args.no_peer else load_peer.absent_reason()
    peer_version = ""

    def run(cell: Cell, target: Target, seconds: float) -> Cell:
        if use_wrk:
            return run_wrk(cell, target, seconds, data_dir)
        return run_threads(cell, target, seconds)

    try:
        wait_ready(base)
        same = Target(base + PATIENT_VIEW, hook_body())
        fresh = Target(base + PATIENT_VIEW, hook_body(fresh=True), fresh=True)
        discovery = Target(base + DISCOVERY)
        warm_s = min(2.0, args.seconds)  # shorter only for a smoke run
        warm = [run(Cell("warm-up", 4), same, warm_s), run(Cell("warm-up", 4), discovery, 1.0)]
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
        if peer_absent is None:
            with load_peer.running_peer(free_port(), data_dir) as peer:
                peer_version = peer.version
                greeting = Target(peer.base + load_peer.GREETING, load_peer.greeting_body())
                warm.append(run(Cell("warm-up", 4), greeting, warm_s))
                for concurrency in levels:
                    cpu_before = tree_cpu_s(peer.pid)
                    cell = run(Cell(load_peer.LABEL, concurrency), greeting, args.seconds)
                    cpu_s = tree_cpu_s(peer.pid) - cpu_before
                    peer_side.append(ServerSide(cpu_s, cell.ok, math.nan, math.nan))
                    peer_cells.append(cell)
                    print(f"  peer x{concurrency}: {cell.ok} ok", file=sys.stderr, flush=True)
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
        else "threaded Python requests (its own CPU use distorts the figures"
        + ("; wrk not installed)" if wrk is None else ")")
    )
    header = [
        f"Machine: {machine()}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"Load average (1, 5, 15 min) before: {_loads(load_before)}; after: {_loads(load_after)}",
        f"Server: gunicorn gunicorn.conf.py, {workers}, SQLite audit store "
        f"(synchronous={sqlite_synchronous()})",
        f"Client: {client}, {args.seconds:g} s per cell, on the same machine",
        "Peer: "
        + (
            f"{peer_version}, CDS Hooks sample service (bench/peer), patient-greeting with a "
            "complete prefetch, measured in this run"
            if peer_absent is None
            else f"absent, {peer_absent}"
        ),
    ]
    print(table([*cells, *peer_cells], [*server_side, *peer_side], header, peer_absent))

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
    errors = sum(sum(c.errors.values()) for c in [*cells, *peer_cells, *warm])
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
            f"Target p95 < 50 ms at concurrency 8 (issue 2), {label}: {p95:.1f} ms, "
            f"{'met' if p95 < 50 else 'NOT met'}"
        )
    targets(cells, server_side, peer_cells, peer_absent)
    none_lost = stored == served == counted and answered <= stored <= answered + in_flight
    if errors == 0 and none_lost and verified.ok:
        shutil.rmtree(data_dir, ignore_errors=True)
        return 0
    print(f"Store and gunicorn log kept in {data_dir}")
    return 1


def targets(
    cells: list[Cell], server: list[ServerSide], peer: list[Cell], peer_absent: str | None
) -> None:
    """Issue 14's load targets: CPU per call at concurrency 8 (else the lowest level), p95."""
    levels = sorted({c.concurrency for c in cells})
    level = 8 if 8 in levels else (levels[0] if levels else 0)

    def at(label: str, concurrency: int) -> tuple[Cell, ServerSide] | None:
        return next(
            (
                (c, s)
                for c, s in zip(cells, server, strict=True)
                if (c.label, c.concurrency) == (label, concurrency)
            ),
            None,
        )

    def cpu(label: str) -> float | None:
        found = at(label, level)
        return None if found is None else found[1].cpu_s * 1000 / max(found[1].answers, 1)

    cores = len(os.sched_getaffinity(0))
    where = f"concurrency {level}" + ("" if level == 8 else " (no concurrency-8 cell)")
    print()
    print(goals.header("bench/load.py"))
    print(goals.CPU_FRESH.line(cpu(FRESH), where))
    print(goals.CPU_SAME.line(cpu(SAME), where))
    fresh8 = at(FRESH, 8)
    peer8 = next((c for c in peer if c.concurrency == 8), None)
    notes = [f"{cores} cores here" + ("" if cores == 2 else ", not 2: not comparable")]
    if peer8 is not None:
        notes.append(f"peer row in this run: p95 {peer8.percentile(95):.1f} ms")
    else:
        notes.append(f"peer: {peer_absent or 'no concurrency-8 cell'}")
    p95 = None if fresh8 is None else fresh8[0].percentile(95)
    print(goals.P95_FRESH.line(p95, "; ".join(notes)))
    print("- in-process targets (×floor, linearity): measured by bench/evaluate.py (make bench)")


def _wrk_version(wrk: str) -> str:
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True)
    words = (done.stdout or done.stderr).split()
    return " ".join(words[:2]) if words else "wrk"


def _loads(loads: tuple[float, float, float]) -> str:
    return ", ".join(f"{x:.2f}" for x in loads)


if __name__ == "__main__":
    raise SystemExit(main())
