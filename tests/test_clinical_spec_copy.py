"""The clinical contract lives in the repository (issue 11): ``docs/clinical-spec.md`` is the
project's copy, so the README link and every "§N" lead somewhere in a fresh clone. Where the
team's shared original exists (``../shared/clinical-spec.md``), the copy must equal it: a new
edition fails here until the copy is refreshed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COPY = REPO / "docs" / "clinical-spec.md"
SHARED = REPO / ".." / "shared" / "clinical-spec.md"


def test_the_repository_holds_the_clinical_contract_with_its_fourth_edition_sections() -> None:
    text = COPY.read_text(encoding="utf-8")
    assert text.startswith("# Hip–spine syndrome rules: the clinical contract")
    for heading in ("## 4. Category rules", "## 10. Fourth edition", "## 11. Settled after"):
        assert heading in text


def test_the_copy_equals_the_shared_original_where_that_exists() -> None:
    if not SHARED.is_file():
        pytest.skip(f"no shared original at {SHARED}: the repository's copy is the contract")
    assert COPY.read_bytes() == SHARED.read_bytes(), (
        f"docs/clinical-spec.md differs from {SHARED.resolve()}: copy the new edition in"
    )


def test_the_readme_links_the_contract_to_the_repository_copy_and_names_its_source() -> None:
    """The README's first link to the clinical contract leads somewhere in a fresh clone."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    first = re.search(r"\[[^\]]*clinical-spec\.md[^\]]*\]\(([^)]+)\)", readme)
    assert first is not None
    assert first.group(1) == "docs/clinical-spec.md"
    assert (REPO / first.group(1)).is_file()
    paragraph = readme[first.start() :].split("\n\n", 1)[0]
    assert "`../shared/clinical-spec.md`" in paragraph and "source" in paragraph
