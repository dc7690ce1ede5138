"""Real server processes for the tests: a free loopback port, and a command run in its own
session until a readiness URL answers, stopped (TERM, then KILL) when the block ends.

One helper for every test that starts `make serve-prod`, `hipspine serve` or `make fhir-server`,
so start-up, the failure message and the clean-up are the same everywhere."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(resp: requests.Response) -> bool:
    return resp.status_code == 200


@contextmanager
def running(
    command: list[str],
    *,
    ready_url: str,
    log_path: Path,
    what: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    start_timeout_s: float = 60,
    ready: Callable[[requests.Response], bool] = _healthy,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` (output to ``log_path``) until ``ready_url`` answers ``ready``; fail the
    test with the log when it exits or does not answer in time; stop its whole session after."""
    log = log_path.open("wb")
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + start_timeout_s
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if ready(requests.get(ready_url, timeout=2)):
                    break
            except requests.RequestException:  # not listening yet, or workers still booting
                time.sleep(0.2)
        else:
            pytest.fail(f"{what} did not answer: " + log_path.read_text(errors="replace"))
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        log.close()


def wait_until_closed(port: int, timeout_s: float = 20) -> None:
    """Until nothing listens on ``port`` (make exits first; gunicorn's master then drains its
    workers), so the next test never meets the last one's server."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.2)
