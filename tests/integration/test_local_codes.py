"""docs/integration.md §4: a site's local codes mapped by adding a ConceptMap, no code change."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from service.app import create_app
from service.config import Settings

REPO = Path(__file__).resolve().parents[2]
LOCAL = "http://hospital.example.org/codes/flowsheet"
LOCAL_CODES = {"hip-rom-internal-rotation": "HIP-IR", "test-fadir": "FADIR"}


def documented_concept_map() -> dict[str, Any]:
    text = (REPO / "docs" / "integration.md").read_text(encoding="utf-8")
    block = re.search(
        r"test_local_codes\.py reads this JSON block -->\n```json\n(.*?)```", text, re.S
    )
    assert block is not None, "the worked example is missing from docs/integration.md"
    concept_map: dict[str, Any] = json.loads(block.group(1))
    return concept_map


def worked_example_with_local_codes() -> dict[str, Any]:
    out: dict[str, Any] = json.loads(
        (REPO / "examples" / "secondary-functional-worked-example.json").read_text()
    )
    for entry in out["entry"]:
        code = entry["resource"].get("code")
        if code and code["coding"][0]["code"] in LOCAL_CODES:
            code["coding"] = [{"system": LOCAL, "code": LOCAL_CODES[code["coding"][0]["code"]]}]
    return out


def category(settings: Settings, bundle: dict[str, Any]) -> tuple[str, str | None]:
    app = create_app(settings)
    try:
        _, assessment = app.extensions["hipspine"].pipeline.assess(bundle)
    finally:
        app.extensions["hipspine"].store.close()
    return assessment.category.name, assessment.subtype.name if assessment.subtype else None


def test_a_local_code_mapped_in_a_copied_mappings_folder_is_read_like_the_standard_one(
    tmp_path: Path,
) -> None:
    mappings = tmp_path / "mappings"
    shutil.copytree(REPO / "mappings", mappings)
    (mappings / "ConceptMap-site-local.json").write_text(json.dumps(documented_concept_map()))
    base = Settings.from_env({}).with_overrides(data_dir=tmp_path / "data")
    bundle = worked_example_with_local_codes()
    assert category(base, bundle) == ("INSUFFICIENT_DATA", None)
    assert category(base.with_overrides(mappings_dir=mappings), bundle) == (
        "SECONDARY",
        "FUNCTIONAL",
    )
