"""Audit store benchmark: what one append adds to an evaluation, before and after the driver-level
append (issue 14 item 3), on SQLite (WAL with synchronous FULL and NORMAL) and PostgreSQL. Starts
its own PostgreSQL cluster (fsync on) when the binaries exist.

"before" is the old SQLAlchemy Core append (tests/audit/legacy.py), "after" the store's own
(service/audit/append.py), taking turns round by round in the same run, each on a fresh
database; on PostgreSQL also "after" with psycopg's statement preparation turned off. Records are
those the real pipeline makes for examples/*.json (about 40 kB of JSON each), or make_record's.

Usage: .venv/bin/python bench/audit_store.py [--records 300] [--rounds 3] [--threads 4]
       [--synthetic] [--profile sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from service.audit.port import EvaluationRecord  # noqa: E402
from service.audit.store import SqlAuditStore  # noqa: E402
from tests.audit.legacy import legacy_record_evaluation  # noqa: E402
from tests.audit.pg_cluster import PostgresCluster, find_bin_dir  # noqa: E402
from tests.audit.records import example_records, make_record  # noqa: E402

Append = Callable[[SqlAuditStore, EvaluationRecord], object]
PATHS: dict[str, Append] = {
    "before": lambda store, record: legacy_record_evaluation(store.engine, record),
    "after": lambda store, record: store.record_evaluation(record),
    # PostgreSQL only: the new append with psycopg's statement preparation turned off
    "after, not prepared": lambda store, record: store.record_evaluation(record),
}


COLUMNS = ("p50", "mean", "p95", "cpu", "rate", "verify")


def machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.processor() or "?",
    ) if Path("/proc/cpuinfo").exists() else platform.processor()  # fmt: skip
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{platform.node()}: {cpu}, {os.cpu_count()} CPUs, load {load}; {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}; SQLite "
            f"{sqlite3.sqlite_version}")  # fmt: skip


def sequential(
    store: SqlAuditStore, append: Append, records: list[EvaluationRecord]
) -> tuple[list[float], float]:
    """Each append's latency in µs (one writer), and this process's CPU µs per append."""
    latencies = []
    cpu = time.process_time()
    for record in records:
        t0 = time.perf_counter()
        append(store, record)
        latencies.append((time.perf_counter() - t0) * 1e6)
    return latencies, (time.process_time() - cpu) * 1e6 / len(records)


def concurrent(
    store: SqlAuditStore, append: Append, records: list[EvaluationRecord], threads: int
) -> float:
    """Records/second of ``threads`` writers appending ``records`` between them."""
    batches = [records[w::threads] for w in range(threads)]

    def work(batch: list[EvaluationRecord]) -> None:
        for record in batch:
            append(store, record)

    workers = [threading.Thread(target=work, args=(b,)) for b in batches]
    began = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return len(records) / (time.perf_counter() - began)


def _never_prepare(dbapi_conn: Any, _record: object) -> None:
    dbapi_conn.prepare_threshold = None  # psycopg then ignores prepare=True too


@contextmanager
def fresh_store(
    make_url: Callable[[str], str], name: str, *, prepared: bool = True
) -> Iterator[SqlAuditStore]:
    store = SqlAuditStore(make_url(name))
    if not prepared:
        event.listen(store.engine, "connect", _never_prepare)
    store.upgrade()
    try:
        yield store
    finally:
        store.close()


def measure_once(
    make_url: Callable[[str], str], path: str, name: str, records: list[EvaluationRecord],
    threads: int,
) -> dict[str, float]:  # fmt: skip
    """p50/mean/p95 µs and CPU µs of one writer, the writers' rate and verify's, on a fresh
    database."""
    append = PATHS[path]
    with fresh_store(make_url, name, prepared=path != "after, not prepared") as store:
        for record in records[:10]:  # warm the pool and the statement caches
            append(store, record)
        lat, cpu = sequential(store, append, records)
        rate = concurrent(store, append, records, threads)
        t0 = time.perf_counter()
        result = store.verify()
        assert result.ok, result.reason
        verify = result.count / (time.perf_counter() - t0)
    return {"p50": statistics.median(lat), "mean": statistics.fmean(lat),
            "p95": statistics.quantiles(lat, n=100)[94], "cpu": cpu, "rate": rate,
            "verify": verify}  # fmt: skip


def measure(
    make_url: Callable[[str], str], paths: list[str], records: list[EvaluationRecord],
    rounds: int, threads: int,
) -> dict[str, dict[str, float]]:  # fmt: skip
    """Each path's medians over ``rounds``, the paths taking turns round by round (a shared
    machine's load then weighs on each alike)."""
    runs: dict[str, list[dict[str, float]]] = {path: [] for path in paths}
    for r in range(rounds):
        for i, path in enumerate(paths):
            runs[path].append(measure_once(make_url, path, f"p{i}_r{r}", records, threads))
    return {path: {k: statistics.median(run[k] for run in got) for k in COLUMNS}
            for path, got in runs.items()}  # fmt: skip


def profile(make_url: Callable[[str], str], records: list[EvaluationRecord]) -> None:
    with fresh_store(make_url, "profile") as store:
        for record in records[:10]:
            store.record_evaluation(record)
        profiler = cProfile.Profile()
        profiler.enable()
        for record in records:
            store.record_evaluation(record)
        profiler.disable()
    print(f"cProfile of {len(records)} appends (store.record_evaluation), by own time:")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(18)


def backends(tmp: str) -> Iterator[tuple[str, Callable[[str], str]]]:
    yield "SQLite WAL, synchronous=FULL", lambda n: f"sqlite:///{tmp}/{n}-full.db"
    yield (
        "SQLite WAL, synchronous=NORMAL",
        lambda n: f"sqlite:///{tmp}/{n}-normal.db?synchronous=normal",
    )
    bin_dir = find_bin_dir()
    if bin_dir is None:
        print("PostgreSQL skipped: no server binaries under /usr/lib/postgresql")
        return
    cluster = PostgresCluster(bin_dir).start(durable=True)
    counter = iter(range(10**6))
    try:
        yield (f"PostgreSQL {bin_dir.parts[-2]} (fsync on)",
               lambda n: cluster.create_database(f"b_{n}_{next(counter)}"))  # fmt: skip
    finally:
        cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--synthetic", action="store_true", help="make_record's small records")
    parser.add_argument("--profile", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    pool = [make_record(i) for i in range(1, 50)] if args.synthetic else example_records()
    records = [pool[i % len(pool)] for i in range(args.records)]
    kind = "make_record's" if args.synthetic else f"the {len(pool)} examples'"
    print(machine())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, make_url in backends(tmp):
            if args.profile:
                if name.startswith("PostgreSQL" if args.profile == "postgresql" else "SQLite"):
                    profile(make_url, records)
                    break
                continue
            paths = [p for p in PATHS if name.startswith("PostgreSQL") or "prepared" not in p]
            for path, m in measure(make_url, paths, records, args.rounds, args.threads).items():
                rows.append([name, path, *(f"{m[k]:,.0f}" for k in COLUMNS)])
    if args.profile:
        return
    header = ["store", "append", "p50 µs", "mean µs", "p95 µs", "CPU µs",
              f"rec/s {args.threads} writers",
              "verify rec/s"]  # fmt: skip
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).rjust(widths[i]) for i, cell in enumerate(row)))
    print(f"\n{args.records} appends of {kind} records per database, median of {args.rounds} "
          "fresh databases; an append is what the audit write adds to one evaluation (1 "
          "evaluation + its 4-5 FHIR resources, one transaction, committed). CPU µs: this "
          "process's CPU per append (PostgreSQL's own server CPU not included).")  # fmt: skip


if __name__ == "__main__":
    main()
