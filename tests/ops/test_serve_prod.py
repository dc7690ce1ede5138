"""`make serve-prod` serves with gunicorn.conf.py on loopback, and stops cleanly."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.processes import free_port, running, wait_until_closed

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"PROMETHEUS_MULTIPROC_DIR", "HOST"}}
    env.update(DATA_DIR=str(tmp_path / "data"), WEB_CONCURRENCY="2", PORT=str(port))
    base = f"http://127.0.0.1:{port}"
    try:
        # -o: never reinstall from the test (the stamp may be older than an edited pyproject.toml)
        with running(
            ["make", "--no-print-directory", "-o", ".venv/.runtime", "serve-prod"],
            ready_url=f"{base}/healthz",
            log_path=tmp_path / "serve.log",
            what="make serve-prod",
            cwd=REPO,
            env=env,
            start_timeout_s=START_TIMEOUT_S,
        ):
            yield base
    finally:
        wait_until_closed(port)  # make exits first; gunicorn's master then drains its workers


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
