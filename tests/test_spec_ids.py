"""Every change id of the fourth edition is named by a test (issue 10 item 8).

clinical-spec.md §10 lists the changes E4-1 … E4-26 and §11 the points settled after review
(Q4-… to Q11-…). A test that checks one of them names its id (TEAM.md: "Name the spec ids you
implement in the tests that check them"); this test reads §10 and §11 and fails, naming each
id that appears in no file under ``tests/`` other than this one. Ids that §11 marks "(no
effect)" (Q4-35, Q4-36) still need a test that names them: one that pins the clause that can
never decide.

Run ``.venv/bin/python tests/test_spec_ids.py`` to print the ids still unnamed.
"""

from __future__ import annotations

import re
import sys
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
CLINICAL_SPEC = REPO / "docs" / "clinical-spec.md"  # the repository copy (issue 11)
THIS = Path(__file__).resolve()

#: An E4 change id or a §11 settlement id (Q4-02, Q10-14, …).
SPEC_ID = re.compile(r"(?<![\w-])(E4-\d+|Q\d+-\d+)(?!\d)")
#: Level-2 headings of the sections that list the ids.
SECTION = re.compile(r"^## (\d+)\.", re.MULTILINE)


def spec_sections(text: str, numbers: set[str]) -> str:
    """The text of the ``## n.`` sections whose number is in ``numbers``, in order."""
    heads = list(SECTION.finditer(text))
    parts = []
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        if head.group(1) in numbers:
            parts.append(text[head.start() : end])
    return "\n".join(parts)


def spec_ids(text: str) -> list[str]:
    """The E4 and Q ids of §10 and §11, each once, in the order they first appear."""
    found = SPEC_ID.findall(spec_sections(text, {"10", "11"}))
    return list(dict.fromkeys(found))


@cache
def text_under_tests() -> str:
    """All text of every file under tests/ except this one (binary files skipped)."""
    chunks = []
    for path in sorted(TESTS.rglob("*")):
        if not path.is_file() or path.resolve() == THIS or "__pycache__" in path.parts:
            continue
        try:
            chunks.append(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, OSError):
            continue
    return "\n".join(chunks)


def named_in(text: str, spec_id: str) -> bool:
    """Whether ``spec_id`` occurs as a whole id (E4-1 is not named by E4-12)."""
    return re.search(rf"(?<![\w-]){re.escape(spec_id)}(?!\d)", text) is not None


def unnamed_ids(spec_text: str) -> list[str]:
    text = text_under_tests()
    return [spec_id for spec_id in spec_ids(spec_text) if not named_in(text, spec_id)]


@pytest.fixture(scope="module")
def spec_text() -> str:
    if not CLINICAL_SPEC.is_file():
        pytest.skip(f"clinical-spec.md not found at {CLINICAL_SPEC} (outside this checkout)")
    return CLINICAL_SPEC.read_text(encoding="utf-8")


def test_sections_10_and_11_list_the_fourth_edition_ids(spec_text: str) -> None:
    ids = spec_ids(spec_text)
    assert [i for i in ids if i.startswith("E4-")] == [f"E4-{n}" for n in range(1, 27)]
    for expected in ("Q4-02", "Q4-35", "Q4-36", "Q7-01", "Q10-01", "Q10-14", "Q11-06"):
        assert expected in ids


def test_whole_ids_only() -> None:
    assert named_in("checks E4-1 here", "E4-1")
    assert not named_in("checks E4-12 here", "E4-1")
    assert not named_in("checks QE4-1 here", "E4-1")
    assert named_in("(Q10-03)", "Q10-03") and not named_in("Q10-031", "Q10-03")


def test_every_fourth_edition_id_is_named_in_a_test(spec_text: str) -> None:
    missing = unnamed_ids(spec_text)
    assert not missing, f"{len(missing)} spec ids named in no test: {', '.join(missing)}"


if __name__ == "__main__":
    unnamed = unnamed_ids(CLINICAL_SPEC.read_text(encoding="utf-8"))
    print(f"{len(unnamed)} unnamed: {' '.join(unnamed)}")
    sys.exit(1 if unnamed else 0)
