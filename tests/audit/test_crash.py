"""A writer killed with SIGKILL mid-load leaves a chain that verifies and holds every record
whose append had returned (the stand-in for "whose response was sent")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from service.audit.store import SqlAuditStore

REPO = Path(__file__).resolve().parents[2]
WRITER = """
import sys
from service.audit.store import SqlAuditStore
from tests.audit.records import make_record

store = SqlAuditStore(sys.argv[1])
i = 0
while True:
    i += 1
    stored = store.record_evaluation(make_record(i))
    print(stored.seq, flush=True)
"""
KILL_AFTER = 60


def test_a_writer_killed_mid_load_loses_no_returned_record_and_breaks_no_link(
    store: SqlAuditStore, store_url: str
) -> None:
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, store_url],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None and writer.stderr is not None
    printed: list[int] = []
    try:
        for line in writer.stdout:
            printed.append(int(line))
            if len(printed) == KILL_AFTER:
                os.kill(writer.pid, signal.SIGKILL)
                break
        printed += [int(line) for line in writer.stdout if line.strip()]
    finally:
        writer.kill()
        writer.wait(timeout=30)
        writer.stdout.close()
        stderr = writer.stderr.read()
        writer.stderr.close()
    assert writer.returncode == -signal.SIGKILL, stderr
    assert len(printed) >= KILL_AFTER
    result = store.verify()
    assert result.ok, result.reason
    assert set(printed) <= set(range(1, result.count + 1))
    assert result.count >= max(printed)
