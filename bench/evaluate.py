"""Benchmark: one evaluation in process against the orjson floor, and server CPU per call.

Usage: ``.venv/bin/python bench/evaluate.py [--budget SECONDS] [--call-seconds SECONDS]
[--workers N] [--no-server] [--no-peer] [--min-reps N] [--scale F]`` (``make bench``).

**In process**, for each chart of the cost curve (bench/synthetic.py ``CURVE``: 10, 50, 200 and
1,000 relevant Observations; 50 relevant + 5,000 irrelevant entries) it times, with
``time.perf_counter_ns`` (``--budget`` seconds in total, about):

- floor: ``orjson.dumps(orjson.loads(raw))`` of the same bytes;
- evaluate: ``orjson.loads`` + ``Pipeline.evaluate`` (parse, rules, FHIR outputs, audit write to
  a throwaway SQLite store) + ``orjson.dumps`` of the answer Bundle, the same chart re-sent (as
  when an EHR re-sends a chart on the next hook: the service's caches are warm);
- no audit: the same through a second ``Pipeline`` whose store discards the record (so the
  difference to *evaluate* is the audit append: hash chain + SQLite commit);
- assess: ``orjson.loads`` + ``Pipeline.assess``, the pure path (read + rules; no outputs, no
  audit write);
- never-seen: *evaluate* of a chart the service has never seen: fresh Observation ids on every
  call (made, and the input validation cache emptied, outside the timed region);
- never-seen no audit: the same without the audit append (the former *cold* path).

**Per call** (unless ``--no-server``): gunicorn (gunicorn.conf.py, ``--workers``, default 1) on
a free 127.0.0.1 port with a throwaway SQLite store and CDS auth off, sent one request at a
time for ``--call-seconds`` per row: patient-view with each chart of the curve as its complete
prefetch, re-sent and never-seen; then, in the same run, the Node CDS Hooks sample service
(bench/peer, ``make bench-peer-setup``) answering patient-greeting with a complete prefetch,
or a row saying why it is absent. Server CPU per call is the user + system CPU of the server's
processes (gunicorn's master and workers; node) read from /proc/<pid>/stat before and after
the row, divided by the answers.

Last, issue 14's targets beside the measured figures, with the machine they ran on.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import itertools
import math
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import orjson
import requests

from service.app import create_app
from service.audit.port import EvaluationRecord, FeedbackItem, StoredRecord
from service.config import Settings
from service.pipeline import Caller, Pipeline

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load_peer  # noqa: E402
import load_targets as goals  # noqa: E402
from load_clients import Target, fresh_body  # noqa: E402
from load_server import (  # noqa: E402
    free_port,
    sqlite_synchronous,
    start_gunicorn,
    tree_cpu_s,
    wait_ready,
)
from synthetic import curve, fresh_copy, hook_request, synthetic_bundle  # noqa: E402

CALLER = Caller(kind="cli", client="bench", request_id="bench")
PATIENT_VIEW = "/cds-services/hip-spine-patient-view"
#: Path names, and each one's share of a chart's budget (the floor is last).
PATH_NAMES = ("evaluate", "no audit", "assess", "never-seen", "never-seen no audit")
SHARES = (0.2, 0.15, 0.1, 0.2, 0.15, 0.2)
MIN_REPS = 20
MAX_REPS = 20_000
#: Each never-seen row numbers its requests from its own block (see synthetic.TOKEN).
ROW_BLOCK = 1_000_000_000


@dataclass(frozen=True)
class Timing:
    median_ns: float
    p99_ns: float
    reps: int

    @classmethod
    def of(cls, samples: list[int]) -> Timing:
        ordered = sorted(samples)
        p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        return cls(statistics.median(ordered), p99, len(ordered))


def measure(
    run: Callable[[bytes], object],
    source: Callable[[], bytes],
    budget_ns: int,
    min_reps: int = MIN_REPS,
) -> Timing:
    """Time ``run(source())`` repeatedly for about ``budget_ns`` (at least ``min_reps``, at most
    3× budget); ``source`` is outside the timed region."""
    for _ in range(3):
        run(source())  # warm caches, imports, the store's first transaction
    samples: list[int] = []
    clock = time.perf_counter_ns
    started = clock()
    soft, hard = started + budget_ns, started + 3 * budget_ns
    while len(samples) < MAX_REPS:
        now = clock()
        if (now >= hard and samples) or (now >= soft and len(samples) >= min_reps):
            break
        data = source()
        t0 = clock()
        run(data)
        samples.append(clock() - t0)
    return Timing.of(samples)


class DiscardingStore:
    """An AuditStore that keeps nothing: isolates the cost of the audit append."""

    def record_evaluation(self, record: EvaluationRecord) -> StoredRecord:
        return StoredRecord(seq=0, record_hash="", prev_hash="")

    def record_feedback(self, items: Sequence[FeedbackItem]) -> int:
        return 0

    def remember_jti(self, issuer: str, jti: str, expires_at: datetime) -> bool:
        return True

    def ping(self) -> None:
        return None


def without_audit(pipeline: Pipeline) -> Pipeline:
    return Pipeline(
        index=pipeline.index,
        profiles=pipeline.profiles,
        thresholds=pipeline.thresholds,
        store=DiscardingStore(),
        public_base_url=pipeline.public_base_url,
    )


def _cache_clear() -> Callable[[], None]:
    """The input validation cache's clear(), where the service has one (a fresh chart misses
    it anyway: this only keeps its memory from growing during the run)."""
    try:
        parse = importlib.import_module("service.fhir.parse")
    except ImportError:
        return lambda: None
    clear = getattr(parse, "validation_cache_clear", None)
    return clear if callable(clear) else (lambda: None)


def scenario_paths(
    pipeline: Pipeline, unaudited: Pipeline, raw: bytes, template: bytes
) -> list[tuple[Callable[[bytes], object], Callable[[], bytes]]]:
    """(run, source) of each path of PATH_NAMES, then of the floor."""
    numbers = itertools.count(1)
    clear = _cache_clear()

    def same() -> bytes:
        return raw

    def fresh() -> bytes:
        clear()
        return fresh_copy(template, next(numbers))

    def evaluate(data: bytes) -> bytes:
        return orjson.dumps(pipeline.evaluate(orjson.loads(data), caller=CALLER).bundle)

    def no_audit(data: bytes) -> bytes:
        return orjson.dumps(unaudited.evaluate(orjson.loads(data), caller=CALLER).bundle)

    def assess(data: bytes) -> object:
        return pipeline.assess(orjson.loads(data))

    def floor(data: bytes) -> bytes:
        return orjson.dumps(orjson.loads(data))

    return [
        (evaluate, same),
        (no_audit, same),
        (assess, same),
        (evaluate, fresh),
        (no_audit, fresh),
        (floor, same),
    ]


def cell(t: Timing) -> str:
    return f"{t.median_ns / 1000:,.0f} / {t.p99_ns / 1000:,.0f}"


def row(label: str, entries: str, kib: str, floor: str, paths: Sequence[tuple[str, str]]) -> str:
    cells = "".join(f" | {timing:>19}{ratio:>7}" for timing, ratio in paths)
    return f"{label:<31}{entries:>8}{kib:>6} | {floor:>15}{cells}"


@dataclass(frozen=True)
class Curve:
    """The in-process medians of one chart: the floor, then each path of PATH_NAMES."""

    floor_ns: float
    paths_ns: dict[str, float]

    def ratio(self, path: str) -> float:
        return self.paths_ns[path] / self.floor_ns


Chart = tuple[str, int, int]


def in_process(charts: list[Chart], budget_s: float, min_reps: int) -> list[Curve]:
    """The in-process table; the medians of each chart, in the order of ``charts``."""
    per_chart_ns = int(budget_s * 1e9 / len(charts))
    reps: list[str] = []
    curves: list[Curve] = []
    with tempfile.TemporaryDirectory(prefix="hipspine-bench-") as data_dir:
        settings = Settings.from_env({}).with_overrides(
            data_dir=Path(data_dir), cds_auth_required=False, log_level="WARNING"
        )
        app = create_app(settings)
        # As each gunicorn worker does (gunicorn.conf.py): freeze the start-up heap, or every
        # full collection walks it and big payloads' floors measure the collector, not orjson.
        gc.collect()
        gc.freeze()
        pipeline: Pipeline = app.extensions["hipspine"].pipeline
        unaudited = without_audit(pipeline)
        print("In process: median / p99 in µs; ×floor = path median / floor median")
        header = row("bundle", "entries", "KiB", "floor", [(n, "×floor") for n in PATH_NAMES])
        print(header)
        print("-" * len(header))
        for label, relevant, irrelevant in charts:
            raw = orjson.dumps(synthetic_bundle(relevant, irrelevant))
            template = orjson.dumps(synthetic_bundle(relevant, irrelevant, fresh=True))
            runs = scenario_paths(pipeline, unaudited, raw, template)
            timings = [
                measure(run, source, int(per_chart_ns * share), min_reps)
                for (run, source), share in zip(runs, SHARES, strict=True)
            ]
            *measured, floor = timings
            paths = [(cell(t), f"{t.median_ns / floor.median_ns:.1f}") for t in measured]
            entries = str(relevant + irrelevant + 1)
            print(row(label, entries, f"{len(raw) / 1024:.0f}", cell(floor), paths), flush=True)
            reps.append(f"{label}: " + "/".join(str(t.reps) for t in timings))
            medians = {n: t.median_ns for n, t in zip(PATH_NAMES, measured, strict=True)}
            curves.append(Curve(floor.median_ns, medians))
        app.extensions["hipspine"].store.close()
    print(
        "repetitions (evaluate/no audit/assess/never-seen/never-seen no audit/floor): "
        + "; ".join(reps)
    )
    print(f"python {sys.version.split()[0]}, time.perf_counter_ns, budget {budget_s:g} s")
    return curves


@dataclass(frozen=True)
class CallRow:
    label: str
    calls: int
    seconds: float
    p50_ms: float
    cpu_ms: float  # server CPU per call
    errors: int
    chart: int = -1  # index in the charts of the run (-1: the peer)
    kind: str = ""  # "re-sent" or "never-seen"

    def line(self, peer_cpu_ms: float) -> str:
        times = "–" if math.isnan(peer_cpu_ms) else f"{self.cpu_ms / peer_cpu_ms:.0f}"
        return (
            f"| {self.label} | {self.calls} | {self.calls / self.seconds:.0f} | "
            f"{self.p50_ms:.1f} | {self.cpu_ms:.2f} | {times} | {self.errors} |"
        )


def call_row(
    label: str, target: Target, seconds: float, pid: int, chart: int = -1, kind: str = ""
) -> CallRow:
    """One keep-alive connection, one request at a time, for ``seconds`` and at least one
    answer. Every request sent is answered before the row ends, so the server's CPU (pid and
    its descendants, /proc) divides by an exact count."""
    session = requests.Session()
    headers = {"Content-Type": "application/json"}
    numbers = itertools.count(target.first + 1)
    latencies: list[float] = []
    errors = 0
    cpu_before = tree_cpu_s(pid)
    began = time.perf_counter()
    stop = began + seconds
    while (not latencies and errors < 3) or time.perf_counter() < stop:
        body = target.body or b""
        if target.fresh:
            body = fresh_body(body, next(numbers))
        t0 = time.perf_counter()
        try:
            status = session.post(target.url, data=body, headers=headers, timeout=60).status_code
        except requests.RequestException:
            errors += 1
            continue
        if 200 <= status < 300:
            latencies.append((time.perf_counter() - t0) * 1000)
        else:
            errors += 1
    elapsed = time.perf_counter() - began
    cpu_s = tree_cpu_s(pid) - cpu_before
    session.close()
    p50 = statistics.median(latencies) if latencies else math.nan
    calls = len(latencies)
    return CallRow(label, calls, elapsed, p50, cpu_s * 1000 / max(calls, 1), errors, chart, kind)


def per_call(
    charts: list[Chart], seconds: float, workers: int, peer_wanted: bool
) -> tuple[list[CallRow], str]:
    """Server CPU per call of our service along the curve, then of the peer (same run)."""
    rows: list[CallRow] = []
    data_dir = Path(tempfile.mkdtemp(prefix="hipspine-calls-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_gunicorn(data_dir, port, workers)
    try:
        wait_ready(base)
        call_row("warm-up", Target(base + PATIENT_VIEW, hook_request(50)), 1.0, server.pid)
        for i, (label, relevant, irrelevant) in enumerate(charts):
            same = Target(base + PATIENT_VIEW, hook_request(relevant, irrelevant))
            fresh = Target(
                base + PATIENT_VIEW,
                hook_request(relevant, irrelevant, fresh=True),
                fresh=True,
                first=(i + 1) * ROW_BLOCK,
            )
            for kind, target in (("re-sent", same), ("never-seen", fresh)):
                name = f"patient-view, {label}, {kind}"
                rows.append(call_row(name, target, seconds, server.pid, i, kind))
                print(f"  {name}: {rows[-1].calls} calls", file=sys.stderr, flush=True)
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # its own session: master and workers
        server.wait(timeout=30)
    peer_note = _peer_rows(rows, seconds, data_dir) if peer_wanted else "not run (--no-peer)"
    if not any(r.errors for r in rows):
        shutil.rmtree(data_dir, ignore_errors=True)
    else:
        print(f"Server logs kept in {data_dir}", file=sys.stderr)
    return rows, peer_note


def _peer_rows(rows: list[CallRow], seconds: float, log_dir: Path) -> str:
    reason = load_peer.absent_reason()
    if reason is not None:
        return f"absent: {reason}"
    with load_peer.running_peer(free_port(), log_dir) as peer:
        target = Target(peer.base + load_peer.GREETING, load_peer.greeting_body())
        call_row("warm-up", target, 1.0, peer.pid)
        rows.append(call_row(load_peer.LABEL + ", complete prefetch", target, seconds, peer.pid))
        return f"{peer.version}, bench/peer (sandbox-cds-services), measured in this run"


def targets(
    charts: list[Chart], curves: list[Curve], rows: list[CallRow], server_note: str
) -> None:
    """Issue 14's targets from CURVE's 50, 1,000 and 50 + 5,000 charts (synthetic.CURVE)."""
    cpu = {(r.chart, r.kind): r.cpu_ms for r in rows}
    (name50, *_), (name1000, *_), (name_big, *_) = charts[1], charts[3], charts[4]
    fifty, thousand, big = curves[1], curves[3], curves[4]
    print()
    print(goals.header("bench/evaluate.py"))
    if charts != curve():
        print(f"(charts scaled: {name50}, {name1000}, {name_big}: not issue 14's figures)")
    print(goals.CPU_FRESH.line(cpu.get((1, "never-seen")), server_note))
    print(goals.CPU_SAME.line(cpu.get((1, "re-sent")), server_note))
    print(goals.INPROC_SAME.line(fifty.ratio("evaluate")))
    print(goals.INPROC_FRESH.line(fifty.ratio("never-seen")))
    extra_floor = big.floor_ns - fifty.floor_ns
    for path, kind in (("evaluate", "re-sent"), ("never-seen", "never-seen")):
        added = (big.paths_ns[path] - fifty.paths_ns[path]) / extra_floor
        print(goals.IRRELEVANT.line(added, f"{kind}, with the audit append"))
    for path, kind in (("evaluate", "re-sent"), ("never-seen", "never-seen")):
        linear = thousand.ratio(path) / fifty.ratio(path)
        note = f"{kind}: {thousand.ratio(path):.1f}× / {fifty.ratio(path):.1f}×"
        print(goals.LINEAR.line(linear, note))
    print(f"- {goals.P95_FRESH.text}: measured by bench/load.py (make bench-load)")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--budget", type=float, default=30.0, help="in-process seconds (about)")
    parser.add_argument(
        "--call-seconds", type=float, default=3.0, help="seconds of each per-call row"
    )
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers (per call)")
    parser.add_argument("--no-server", action="store_true", help="in process only")
    parser.add_argument("--no-peer", action="store_true", help="leave the Node peer out")
    parser.add_argument(
        "--min-reps", type=int, default=MIN_REPS, help="in-process repetitions at least"
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="chart sizes times this (a quick look)"
    )
    args = parser.parse_args(argv)
    charts = curve(args.scale)
    print(f"Machine: {goals.stamp()}")
    curves = in_process(charts, args.budget, max(1, args.min_reps))
    rows: list[CallRow] = []
    if args.no_server:
        server_note = "not run (--no-server)"
    else:
        rows, peer_note = per_call(charts, args.call_seconds, args.workers, not args.no_peer)
        workers = f"{args.workers} worker{'s' if args.workers != 1 else ''}"
        print()
        print(
            f"Per call: gunicorn gunicorn.conf.py, {workers}, SQLite audit store "
            f"(synchronous={sqlite_synchronous()}); one "
            f"connection, one request at a time (a Python requests.Session on the same cores), "
            f"{args.call_seconds:g} s per row; server CPU = user + system of the server's "
            "processes (/proc) / calls"
        )
        peer_cpu = next((r.cpu_ms for r in rows if r.chart < 0), math.nan)
        print("| Request | Calls | Calls/s | p50 ms | Server CPU ms/call | × peer | Errors |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(r.line(peer_cpu))
        if math.isnan(peer_cpu):
            print(f"| {load_peer.LABEL}, complete prefetch | {peer_note} | | | | | |")
        print(f"Peer: {peer_note}")
        server_note = f"sequential calls, {workers}"
        if any(r.errors for r in rows):
            targets(charts, curves, rows, server_note)
            print("Errors in the per-call rows", file=sys.stderr)
            return 1
    targets(charts, curves, rows, server_note)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
