"""`make serve-prod` serves with gunicorn.conf.py on loopback, and stops cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"PROMETHEUS_MULTIPROC_DIR", "HOST"}}
    env.update(DATA_DIR=str(tmp_path / "data"), WEB_CONCURRENCY="2", PORT=str(port))
    log = (tmp_path / "serve.log").open("wb")
    # -o: never reinstall from the test (the stamp may be older than an edited pyproject.toml)
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "-o", ".venv/.runtime", "serve-prod"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or workers still booting
                time.sleep(0.2)
        else:
            pytest.fail("make serve-prod did not answer: " + (tmp_path / "serve.log").read_text())
        yield base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        _wait_until_closed(port)  # make exits first; gunicorn's master then drains its workers
        log.close()


def _wait_until_closed(port: int, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.2)


def _healthz_count(base: str) -> float:
    metrics = requests.get(f"{base}/metrics", timeout=5).text
    rows = [
        row
        for row in metrics.splitlines()
        if row.startswith("hipspine_http_requests_total{") and 'endpoint="/healthz"' in row
    ]
    return sum(float(row.rsplit(" ", 1)[1]) for row in rows)


def test_make_serve_prod_answers_healthz_readyz_and_metrics_on_loopback(served: str) -> None:
    assert requests.get(f"{served}/healthz", timeout=5).json() == {"status": "ok"}
    assert requests.get(f"{served}/readyz", timeout=5).status_code == 200
    before = _healthz_count(served)  # start-up probes (some may have timed out) included
    for _ in range(6):  # two workers: the scrape sums both (multiprocess mode)
        requests.get(f"{served}/healthz", timeout=5)
    assert _healthz_count(served) - before == 6.0
