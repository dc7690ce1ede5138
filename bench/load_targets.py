"""Issue 14's targets beside the measured figures, and the machine they were measured on."""

from __future__ import annotations

import math
import os
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


def machine() -> str:
    """Cores, CPU model, Python and kernel of this machine."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores (nproc {len(os.sched_getaffinity(0))}), {model}, " + (
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def stamp() -> str:
    """The machine, the date and the load average, for a figure's header."""
    loads = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{machine()}; {now}; load average (1, 5, 15 min) {loads}"


@dataclass(frozen=True)
class Goal:
    """One target of issue 14: ``measured`` must be at most ``limit`` (in ``unit``)."""

    text: str
    limit: float
    unit: str  # "ms" or "×"
    #: ``limit`` bounds a ratio from both sides (within limit× means 1/limit .. limit).
    two_sided: bool = False

    @property
    def _gap(self) -> str:
        return "" if self.unit == "×" else " "

    def met(self, measured: float) -> bool:
        if self.two_sided:
            return 1 / self.limit <= measured <= self.limit
        return measured <= self.limit

    def line(self, measured: float | None, note: str = "") -> str:
        if self.two_sided:
            bound = f"within {self.limit:g}×"
        else:
            bound = f"≤ {self.limit:g}{self._gap}{self.unit}"
        if measured is None or math.isnan(measured):
            figure, verdict = "not measured", "not measured"
        else:
            figure = f"{measured:.2f}{self._gap}{self.unit}"
            verdict = "met" if self.met(measured) else "NOT met"
        tail = f" ({note})" if note else ""
        return f"- {self.text}: target {bound}, measured {figure}: {verdict}{tail}"


CPU_FRESH = Goal("never-seen 50-Observation patient-view, server CPU per call", 5.0, "ms")
CPU_SAME = Goal("re-sent 50-Observation patient-view, server CPU per call", 3.0, "ms")
P95_FRESH = Goal("p95 at concurrency 8 on 2 cores, never-seen 50-Observation chart", 20.0, "ms")
INPROC_SAME = Goal("in process, 50 Observations with the audit append, re-sent chart", 10.0, "×")
INPROC_FRESH = Goal("in process, 50 Observations with the audit append, never-seen chart", 20, "×")
IRRELEVANT = Goal("in process, what 5,000 irrelevant entries add, against their floor", 3.0, "×")
LINEAR = Goal("linearity: 1,000-row ratio to floor / 50-row ratio", 1.5, "×", two_sided=True)


def header(where: str) -> str:
    return f"Issue 14 targets, {where} (machine: {stamp()}):"
