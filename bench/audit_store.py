"""Audit store benchmark: records/second on SQLite and PostgreSQL, and the latency one append
adds to an evaluation. Starts its own PostgreSQL cluster (fsync on) when the binaries exist.

Usage: .venv/bin/python bench/audit_store.py [--records 500] [--threads 4]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.audit.store import SqlAuditStore  # noqa: E402
from tests.audit.pg_cluster import PostgresCluster, find_bin_dir  # noqa: E402
from tests.audit.records import make_record  # noqa: E402


def sequential(store: SqlAuditStore, n: int, start: int) -> tuple[float, list[float]]:
    """Records/second of one writer, and each append's latency in ms."""
    records = [make_record(start + i) for i in range(n)]
    latencies = []
    began = time.perf_counter()
    for record in records:
        t0 = time.perf_counter()
        store.record_evaluation(record)
        latencies.append((time.perf_counter() - t0) * 1000)
    return n / (time.perf_counter() - began), latencies


def concurrent(store: SqlAuditStore, n: int, threads: int, start: int) -> float:
    """Records/second of ``threads`` writers appending ``n`` records between them."""
    per = n // threads
    batches = [[make_record(start + w * per + i) for i in range(per)] for w in range(threads)]

    def work(batch: list[object]) -> None:
        for record in batch:
            store.record_evaluation(record)  # type: ignore[arg-type]

    workers = [threading.Thread(target=work, args=(b,)) for b in batches]
    began = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return per * threads / (time.perf_counter() - began)


def measure(name: str, url: str, n: int, threads: int) -> list[str]:
    store = SqlAuditStore(url)
    store.upgrade()
    try:
        store.record_evaluation(make_record(0))  # warm the pool
        rate, lat = sequential(store, n, 1)
        rate_mt = concurrent(store, n, threads, n + 1)
        verified = store.verify()
        assert verified.ok, verified.reason
        t0 = time.perf_counter()
        store.verify()
        verify_rate = verified.count / (time.perf_counter() - t0)
    finally:
        store.close()
    q = statistics.quantiles(lat, n=100)
    return [name, f"{rate:,.0f}", f"{rate_mt:,.0f}", f"{statistics.median(lat):.2f}",
            f"{q[94]:.2f}", f"{q[98]:.2f}", f"{verify_rate:,.0f}"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(measure("SQLite (WAL, sync=FULL)", f"sqlite:///{tmp}/bench.db",
                            args.records, args.threads))  # fmt: skip
    bin_dir = find_bin_dir()
    if bin_dir is None:
        rows.append(["PostgreSQL", "skipped: no server binaries under /usr/lib/postgresql"])
    else:
        cluster = PostgresCluster(bin_dir).start(durable=True)
        try:
            url = cluster.create_database("bench")
            rows.append(measure(f"PostgreSQL {bin_dir.parts[-2]} (fsync on)", url,
                                args.records, args.threads))  # fmt: skip
        finally:
            cluster.stop()
    header = ["store", "rec/s 1 writer", f"rec/s {args.threads} writers", "append p50 ms",
              "p95 ms", "p99 ms", "verify rec/s"]  # fmt: skip
    widths = [max(len(str(r[i])) for r in [header, *rows] if i < len(r)) for i in range(7)]
    for row in [header, *rows]:
        print("  ".join(str(cell).rjust(widths[i]) for i, cell in enumerate(row)))
    print(f"\n{args.records} records per run; each record = 1 evaluation + 5 FHIR resources;"
          " the append latency is what the audit write adds to one evaluation.")  # fmt: skip


if __name__ == "__main__":
    main()
