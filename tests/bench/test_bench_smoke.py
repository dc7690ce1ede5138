"""The benchmarks in smoke mode: their requests are answered, they run end to end and print
issue 14's targets with a verdict. Nothing here is timed (the figures are the benchmarks')."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from flask.testing import FlaskClient

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"
sys.path.insert(0, str(BENCH))

import load_peer  # noqa: E402
import load_targets  # noqa: E402
from synthetic import TOKEN, curve, fresh_copy, hook_request  # noqa: E402

PATIENT_VIEW = "/cds-services/hip-spine-patient-view"


def _run(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_never_seen_copies_are_new_charts_the_service_answers(client: FlaskClient) -> None:
    template = hook_request(5, 3, fresh=True)
    first, second = fresh_copy(template, 1), fresh_copy(template, 2)
    assert TOKEN.encode() not in first and first != second
    ids = [e["resource"]["id"] for e in orjson.loads(first)["prefetch"]["observations"]["entry"]]
    assert len(ids) == 8 and all(i.endswith("-000000000001") for i in ids)
    for body in (first, second, hook_request(5, 3)):
        answer = client.post(PATIENT_VIEW, data=body, content_type="application/json")
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert "cards" in answer.get_json()


def test_the_curve_is_issue_14s_and_scales() -> None:
    assert [(r, i) for _, r, i in curve()] == [(10, 0), (50, 0), (200, 0), (1000, 0), (50, 5000)]
    assert [(r, i) for _, r, i in curve(0.1)] == [(1, 0), (5, 0), (20, 0), (100, 0), (5, 500)]


@pytest.mark.parametrize(
    ("goal", "measured", "verdict"),
    [
        (load_targets.CPU_FRESH, 5.0, ": met"),
        (load_targets.CPU_FRESH, 5.01, ": NOT met"),
        (load_targets.LINEAR, 0.7, ": met"),
        (load_targets.LINEAR, 0.6, ": NOT met"),
        (load_targets.LINEAR, 1.6, ": NOT met"),
        (load_targets.INPROC_SAME, None, ": not measured"),
    ],
)
def test_a_target_line_says_met_or_not(
    goal: load_targets.Goal, measured: float | None, verdict: str
) -> None:
    assert verdict in goal.line(measured)


def _peer_line(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("Peer: "))


def test_evaluate_runs_in_smoke_mode_with_the_peer_or_says_why_not() -> None:
    out = _run(
        "evaluate.py", "--budget", "0", "--min-reps", "1", "--call-seconds", "0.1",
        "--scale", "0.02",
    )  # fmt: skip
    assert "Issue 14 targets, bench/evaluate.py (machine: " in out
    assert out.count("met") >= 8 and "not issue 14's figures" in out
    reason = load_peer.absent_reason()
    if reason is None:
        assert "| peer: Node sample service, patient-greeting, complete prefetch | " in out
        assert "measured in this run" in _peer_line(out)
    else:
        assert _peer_line(out) == f"Peer: absent: {reason}"


def test_load_runs_in_smoke_mode_with_the_peer_or_says_why_not() -> None:
    out = _run("load.py", "--seconds", "1", "--concurrency", "1")
    assert "Issue 14 targets, bench/load.py (machine: " in out
    assert "Audit chain verification: ok" in out
    if load_peer.absent_reason() is None:
        assert "| peer: Node sample service, patient-greeting | 1 |" in out
    else:
        assert "Peer: absent, " in out


def test_an_uninstalled_peer_is_absent_with_the_command_that_installs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load_peer, "PEER_DIR", tmp_path)
    reason = load_peer.absent_reason()
    assert reason is not None
    assert "make bench-peer-setup" in reason
