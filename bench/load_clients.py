"""Load generators of bench/load.py: wrk (bench/wrk/load.lua) or a threaded Python client."""

from __future__ import annotations

import math
import resource
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from synthetic import TOKEN as TEXT_TOKEN

WRK_SCRIPT = Path(__file__).resolve().parent / "wrk" / "load.lua"
#: In a never-seen body template, replaced on every request by a fresh 12-digit number.
TOKEN = TEXT_TOKEN.encode()
#: Numbers of one client thread in a never-seen cell (as bench/wrk/load.lua counts them).
THREAD_BLOCK = 10_000_000
WRK_INSTALL = "apt-get install wrk"


@dataclass(frozen=True)
class Target:
    """What a cell sends: GET ``url``, or POST ``body`` (``fresh``: a template with TOKENs)."""

    url: str
    body: bytes | None = None
    fresh: bool = False
    first: int = 0  # a never-seen cell's numbers start after this one


@dataclass
class Cell:
    """One load level of one request: what the client counted and measured."""

    label: str
    concurrency: int
    ok: int = 0  # 2xx answers received
    errors: dict[str, int] = field(default_factory=dict)
    in_flight: int = 0  # at most this many sent but unanswered when the cell ended
    seconds: float = 0.0
    percentiles_ms: dict[int, float] = field(default_factory=dict)
    client_cpu_s: float = 0.0

    def percentile(self, q: int) -> float:
        return self.percentiles_ms.get(q, math.nan)


def wrk_path() -> str | None:
    return shutil.which("wrk")


def fresh_body(template: bytes, number: int) -> bytes:
    return template.replace(TOKEN, b"%012d" % number)


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_wrk(cell: Cell, target: Target, seconds: float, workdir: Path) -> Cell:
    """Run wrk with ``-t min(2, c) -c c`` for ``seconds`` and read its WRK_RESULT line."""
    wrk = wrk_path()
    if wrk is None:
        raise SystemExit(f"wrk is not installed ({WRK_INSTALL})")
    command = [wrk, f"-t{min(2, cell.concurrency)}", f"-c{cell.concurrency}"]
    command += [f"-d{max(1, round(seconds))}s", "--timeout", "30s", "-s", str(WRK_SCRIPT)]
    command += [target.url, "--"]
    if target.body is None:
        command.append("get")
    else:
        body_file = workdir / ("template.json" if target.fresh else "body.json")
        body_file.write_bytes(target.body)
        command += ["fresh" if target.fresh else "post", str(body_file), str(target.first)]
    before = _children_cpu_s()
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    cell.client_cpu_s = _children_cpu_s() - before
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRK_RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    result = {k: int(v) for k, v in (pair.split("=", 1) for pair in line.split()[1:])}
    cell.ok = result["requests"] - result["non2xx"]
    for kind in ("non2xx", "connect", "read", "write", "timeout"):
        if result[kind]:
            cell.errors[kind] = result[kind]
    cell.in_flight = cell.concurrency  # wrk stops with at most one request per connection
    cell.seconds = result["duration_us"] / 1e6
    cell.percentiles_ms = {q: result[f"p{q}_us"] / 1000 for q in (50, 95, 99)}
    return cell


def run_threads(cell: Cell, target: Target, seconds: float) -> Cell:
    """The fallback: one thread and keep-alive ``requests.Session`` per connection."""
    stop = time.monotonic() + seconds
    lock = threading.Lock()
    latencies: list[float] = []

    def send(session: requests.Session, number: int) -> int:
        if target.body is None:
            return session.get(target.url).status_code
        body = fresh_body(target.body, number) if target.fresh else target.body
        headers = {"Content-Type": "application/json"}
        return session.post(target.url, data=body, headers=headers).status_code

    def client(index: int) -> None:
        session = requests.Session()
        number = target.first + index * THREAD_BLOCK
        ok = 0
        local_lat: list[float] = []
        local_err: dict[str, int] = {}
        while time.monotonic() < stop:
            number += 1
            started = time.perf_counter()
            try:
                status = send(session, number)
            except requests.RequestException as exc:
                key = type(exc).__name__
                local_err[key] = local_err.get(key, 0) + 1
                continue
            local_lat.append((time.perf_counter() - started) * 1000)
            if 200 <= status < 300:
                ok += 1
            else:
                local_err["non2xx"] = local_err.get("non2xx", 0) + 1
        session.close()
        with lock:
            cell.ok += ok
            latencies.extend(local_lat)
            for key, count in local_err.items():
                cell.errors[key] = cell.errors.get(key, 0) + count

    threads = [threading.Thread(target=client, args=(i,)) for i in range(cell.concurrency)]
    cpu_before, began = time.process_time(), time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cell.seconds = time.perf_counter() - began
    cell.client_cpu_s = time.process_time() - cpu_before
    ordered = sorted(latencies)
    if ordered:
        rank = {q: min(len(ordered), max(1, round(q / 100 * len(ordered)))) for q in (50, 95, 99)}
        cell.percentiles_ms = {q: ordered[r - 1] for q, r in rank.items()}
    return cell
