"""docs/clinical-safety.md: every test the hazard log names as a control exists (issue 10 item 9).

The hazard log names each control's test by its pytest node id, ``tests/…py::test_name`` (or
``tests/…py::TestClass::test_name``), parametrised tests without their brackets. A control whose
test was renamed or deleted no longer holds anything: this test fails naming it. Test files are
parsed (``ast``), not imported, so the check is fast and independent of fixtures.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAFETY_CASE = REPO / "docs" / "clinical-safety.md"
#: A pytest node id as the hazard log writes it: path, then one or two ``::`` names.
NODE_ID = re.compile(r"\b(tests/[\w/]+\.py)((?:::\w+){1,2})")
#: A hazard row or heading id: H1, H2 … (the first column of the hazard log).
HAZARD_ID = re.compile(r"^### (H\d+)\b", re.MULTILINE)


def node_ids(text: str) -> list[str]:
    """Every node id the document names, each once, in order."""
    found = (path + names for path, names in NODE_ID.findall(text))
    return list(dict.fromkeys(found))


@cache
def defined_tests(path: Path) -> frozenset[str]:
    """``name`` and ``Class::name`` of every test function a test file defines."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    for node in tree.body:
        if isinstance(node, functions) and node.name.startswith("test"):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for item in node.body:
                if isinstance(item, functions) and item.name.startswith("test"):
                    names.add(f"{node.name}::{item.name}")
    return frozenset(names)


def exists(node_id: str) -> bool:
    path, _, names = node_id.partition("::")
    file = REPO / path
    return file.is_file() and names in defined_tests(file)


def test_the_node_id_pattern_reads_plain_and_class_ids() -> None:
    text = "held by `tests/core/test_x.py::test_a` and tests/y.py::TestB::test_c[1]."
    assert node_ids(text) == ["tests/core/test_x.py::test_a", "tests/y.py::TestB::test_c"]


def test_the_safety_case_names_a_test_for_every_hazard() -> None:
    text = SAFETY_CASE.read_text(encoding="utf-8")
    hazards = HAZARD_ID.split(text)[1:]
    assert len(hazards) >= 2 * 4, "the four hazards of issue 10 and the E4 controls"
    for hazard_id, body in zip(hazards[::2], hazards[1::2], strict=True):
        assert node_ids(body), f"{hazard_id} names no test that holds its control"


def test_every_test_the_safety_case_names_exists() -> None:
    ids = node_ids(SAFETY_CASE.read_text(encoding="utf-8"))
    assert ids
    gone = [node_id for node_id in ids if not exists(node_id)]
    assert not gone, "docs/clinical-safety.md names tests that no longer exist:\n" + "\n".join(gone)


SEVERITIES = ("Minor", "Significant", "Considerable", "Major", "Catastrophic")
LIKELIHOODS = ("Very high", "High", "Medium", "Low", "Very low")
#: "Major × Very low = 2": a severity, a likelihood and the rating the document gives them.
RATING = re.compile(rf"({'|'.join(SEVERITIES)}) × ({'|'.join(LIKELIHOODS)}) = (\d)")


def risk_matrix(text: str) -> dict[tuple[str, str], int]:
    """The document's own 5 × 5 matrix: (severity, likelihood) → rating."""
    matrix = {}
    for likelihood in LIKELIHOODS:
        row = re.search(rf"^\| {likelihood} \|((?: \d \|){{5}})$", text, re.MULTILINE)
        assert row, f"the risk matrix has no row {likelihood!r}"
        ratings = [int(cell) for cell in row.group(1).split("|") if cell.strip()]
        for severity, rating in zip(SEVERITIES, ratings, strict=True):
            matrix[severity, likelihood] = rating
    return matrix


def test_every_risk_rating_is_the_matrix_cell_of_its_severity_and_likelihood() -> None:
    """DCB0129: the initial and residual ratings follow the 5 × 5 matrix the document states."""
    text = SAFETY_CASE.read_text(encoding="utf-8")
    matrix = risk_matrix(text)
    ratings = RATING.findall(text)
    assert len(ratings) >= 2 * 16
    wrong = [
        f"{s} × {lk} = {r} (the matrix says {matrix[s, lk]})"
        for s, lk, r in ratings
        if matrix[s, lk] != int(r)
    ]
    assert not wrong, wrong
