"""The README's FHIR-server section runs as written (issue 11 item 7): ``make fhir-server``
starts the local FHIR server, and the shell block after it (allowlist, sample-data, load,
evaluate --write-back) runs unchanged but for the port (a free one, not 8090) and the path of
``.venv/bin`` (the checkout's, from a temporary folder)."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import free_port, running

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")
MARK = "tests/integration/test_readme_fhir_server.py runs this block"


def _section() -> str:
    start = README.index("## FHIR servers and sample data")
    return README[start : README.index("\n## ", start + 1)]


def readme_block() -> str:
    section = _section()
    found = re.search(re.escape(MARK) + r".*?-->\n```sh\n(.*?)```", section, re.S)
    assert found is not None, "the README's FHIR-server block lost its test marker"
    return found.group(1)


@pytest.fixture(scope="module")
def fhir_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """``make fhir-server`` as the README says, on a free port and a fresh folder."""
    assert "make fhir-server" in _section()
    port = free_port()
    folder = tmp_path_factory.mktemp("fhir-server")
    with running(
        ["make", "--no-print-directory", "-o", ".venv/.runtime", "fhir-server",
         f"FHIR_PORT={port}", f"FHIR_DIR={folder / 'data'}"],
        ready_url=f"http://127.0.0.1:{port}/fhir/metadata",
        ready=lambda resp: resp.ok,
        log_path=folder / "make.log",
        what="make fhir-server",
        cwd=REPO,
    ):  # fmt: skip
        yield port


def _run(script: str, port: int, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = script.replace("8090", str(port)).replace(".venv/bin/", f"{REPO}/.venv/bin/")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FHIR_", "DATABASE_URL", "MAPPINGS_DIR"))
    }
    env["DATA_DIR"] = str(cwd / "data")
    return subprocess.run(
        ["bash", "-e", "-c", script], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip


def test_the_readme_fhir_server_block_runs_as_written(fhir_port: int, tmp_path: Path) -> None:
    done = _run(readme_block(), fhir_port, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "loaded 28 Bundles" in done.stdout
    # load names the patient the README evaluates, with the category it should give
    assert "--patient hs-1-0009 (expected: SECONDARY FUNCTIONAL" in done.stdout
    assert "Written to" in done.stdout or "Already on" in done.stdout


def test_without_the_allowlist_load_names_the_variable(fhir_port: int, tmp_path: Path) -> None:
    lines = [line for line in readme_block().splitlines() if "FHIR_SERVER_ALLOWLIST" not in line]
    done = _run("\n".join(lines), fhir_port, tmp_path)
    assert done.returncode == 5
    assert "FHIR_SERVER_ALLOWLIST=http://127.0.0.1:" in done.stderr
    assert "Traceback" not in done.stderr
