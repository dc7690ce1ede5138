"""Benchmark: in-process evaluation time against the orjson loads + dumps floor (issue 2 §8).

Usage: ``.venv/bin/python bench/evaluate.py [--budget SECONDS]`` (default 30 s in total).

For each synthetic Bundle (bench/synthetic.py) it times, with ``time.perf_counter_ns``:

- floor: ``orjson.dumps(orjson.loads(raw))`` of the same bytes;
- evaluate: ``orjson.loads`` + ``Pipeline.evaluate`` (parse, rules, FHIR outputs, audit write to
  a throwaway SQLite store) + ``orjson.dumps`` of the answer Bundle;
- no audit: the same through a second ``Pipeline`` whose store discards the record (so the
  difference to *evaluate* is the audit append: hash chain + SQLite commit);
- assess: ``orjson.loads`` + ``Pipeline.assess``, the pure path (read + rules; no outputs, no
  audit write);
- cold: *no audit* with the R4B validation cache emptied first, i.e. a chart the service has
  never seen (the other paths re-send one payload, so their input validation is cached, as it
  is when an EHR re-sends the same chart on the next hook call).

It prints the median and p99 of each, and each path's median as a multiple of the floor's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import orjson

from service.app import create_app
from service.audit.port import EvaluationRecord, FeedbackItem, StoredRecord
from service.config import Settings
from service.fhir.parse import validation_cache_clear
from service.pipeline import Caller, Pipeline

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import synthetic_bundle  # noqa: E402

CALLER = Caller(kind="cli", client="bench", request_id="bench")
#: (label, relevant Observations, irrelevant Observations).
SCENARIOS = (
    ("10 relevant", 10, 0),
    ("50 relevant", 50, 0),
    ("200 relevant", 200, 0),
    ("50 relevant + 500 irrelevant", 50, 500),
)
#: Share of each scenario's budget per path: evaluate, no audit, assess, cold, floor.
SHARES = (0.3, 0.2, 0.15, 0.2, 0.15)
MIN_REPS = 20
MAX_REPS = 20_000


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


def measure(run: Callable[[], object], budget_ns: int) -> Timing:
    """Time ``run`` repeatedly for about ``budget_ns`` (at least MIN_REPS, at most 3× budget)."""
    for _ in range(3):
        run()  # warm caches, imports, the store's first transaction
    samples: list[int] = []
    clock = time.perf_counter_ns
    started = clock()
    soft, hard = started + budget_ns, started + 3 * budget_ns
    while len(samples) < MAX_REPS:
        now = clock()
        if now >= hard or (now >= soft and len(samples) >= MIN_REPS):
            break
        t0 = clock()
        run()
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


def scenario_paths(
    pipeline: Pipeline, unaudited: Pipeline, raw: bytes
) -> tuple[Callable[[], object], ...]:
    def evaluate() -> bytes:
        result = pipeline.evaluate(orjson.loads(raw), caller=CALLER)
        return orjson.dumps(result.bundle)

    def no_audit() -> bytes:
        result = unaudited.evaluate(orjson.loads(raw), caller=CALLER)
        return orjson.dumps(result.bundle)

    def assess() -> object:
        return pipeline.assess(orjson.loads(raw))

    def cold() -> bytes:
        validation_cache_clear()
        result = unaudited.evaluate(orjson.loads(raw), caller=CALLER)
        return orjson.dumps(result.bundle)

    def floor() -> bytes:
        return orjson.dumps(orjson.loads(raw))

    return evaluate, no_audit, assess, cold, floor


PATH_NAMES = ("evaluate", "no audit", "assess", "cold")


def cell(t: Timing) -> str:
    return f"{t.median_ns / 1000:,.0f} / {t.p99_ns / 1000:,.0f}"


def row(label: str, entries: str, kib: str, floor: str, paths: Sequence[tuple[str, str]]) -> str:
    cells = "".join(f" | {timing:>17}{ratio:>7}" for timing, ratio in paths)
    return f"{label:<29}{entries:>8}{kib:>6} | {floor:>15}{cells}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--budget", type=float, default=30.0, help="total seconds (about)")
    args = parser.parse_args(argv)
    per_scenario_ns = int(args.budget * 1e9 / len(SCENARIOS))
    reps: list[str] = []
    with tempfile.TemporaryDirectory(prefix="hipspine-bench-") as data_dir:
        settings = Settings.from_env({}).with_overrides(
            data_dir=Path(data_dir), cds_auth_required=False, log_level="WARNING"
        )
        app = create_app(settings)
        pipeline: Pipeline = app.extensions["hipspine"].pipeline
        unaudited = without_audit(pipeline)
        print("median / p99 in µs; ×floor = path median / floor median")
        header = row("bundle", "entries", "KiB", "floor", [(n, "×floor") for n in PATH_NAMES])
        print(header)
        print("-" * len(header))
        for label, relevant, irrelevant in SCENARIOS:
            raw = orjson.dumps(synthetic_bundle(relevant, irrelevant))
            runs = scenario_paths(pipeline, unaudited, raw)
            timings = [
                measure(run, int(per_scenario_ns * share))
                for run, share in zip(runs, SHARES, strict=True)
            ]
            *measured, floor = timings
            paths = [(cell(t), f"{t.median_ns / floor.median_ns:.1f}") for t in measured]
            entries = str(relevant + irrelevant + 1)
            print(row(label, entries, f"{len(raw) / 1024:.0f}", cell(floor), paths))
            reps.append(f"{label}: " + "/".join(str(t.reps) for t in timings))
        app.extensions["hipspine"].store.close()
    print("\nrepetitions (evaluate/no audit/assess/cold/floor): " + "; ".join(reps))
    print(f"python {sys.version.split()[0]}, time.perf_counter_ns, budget {args.budget:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
