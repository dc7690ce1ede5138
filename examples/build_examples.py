"""Write examples/*.json: one realistic input Bundle per clinical-spec §4 category, and variants.

Run ``python examples/build_examples.py [OUT_DIR]``; the output is deterministic. Each case's
docstring (cases_primary.py, cases_secondary.py) states the category it must give and why; the
same lines are in examples/README.md. The charts are built with the sample-data builder
(service/fhir/sample_chart.py); the worked example is also written as a CDS Hooks
``patient-view`` request (cds-hooks/patient-view-worked-example.json).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cases_secondary  # noqa: F401  (registers the R5–R12 cases)
from cases_primary import CASES

from service.samples.chart import Chart
from service.samples.codes import Json

HERE = Path(__file__).resolve().parent
WORKED_EXAMPLE = "secondary-functional-worked-example"
HOOK_FILE = "cds-hooks/patient-view-worked-example.json"
HOOK_INSTANCE = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"
#: When the example Bundles were last updated (their ``meta.lastUpdated`` and ``timestamp``).
BUILT_AT = "2025-03-14T12:00:00Z"


def render(bundle: Json) -> str:
    """The file text of one example: keys in build order, two-space indent, final newline."""
    return json.dumps(bundle, indent=2, ensure_ascii=False) + "\n"


README_HEAD = """\
# Example input Bundles

Realistic FHIR R4 (4.0.1) `collection` Bundles, one or more per clinical-spec.md §4 category.
Each file is named for the category (and subtype) it must produce; `tests/test_examples.py`
evaluates every file through `POST /fhir/$hip-spine-evaluate` and checks exactly that.

Do not edit the JSON by hand: change the cases in `cases_primary.py` / `cases_secondary.py`
(builders in `service/fhir/sample_chart.py`, shared with `hipspine sample-data`) and run
`.venv/bin/python examples/build_examples.py`, which rewrites every `*.json`, this file and
`cds-hooks/patient-view-worked-example.json` (the worked example as a CDS Hooks `patient-view`
request, everything prefetched). Each line below is the case's docstring: the category it must
give, then the findings that make it so (flags worked by hand from §2 and §4).

Realism on purpose: most files carry an irrelevant vital sign (heart rate, LOINC 8867-4) that
must be ignored; `no-findings.json` and `complex.json` hold an `entered-in-error` Observation
(ignored, listed as ignored); `no-findings.json`, `misdiagnosed-hip-missed.json`,
`secondary-hip-driven.json` and `not-hss-spine.json` hold remeasured values (latest wins);
`not-hss-spine.json` records hip ROM as `hip-rom-panel` components; the worked example
(§8) is exactly the spec's inputs and nothing else.

| File | Must give, and why |
|---|---|
"""


def readme() -> str:
    """examples/README.md: the head above and one table row per case (its docstring)."""
    rows = []
    for slug, example in CASES.items():
        why = example.why.replace("|", "\\|")
        rows.append(f"| `{slug}.json` | {why} |")
    return README_HEAD + "\n".join(rows) + "\n"


def patient_view_request(chart: Chart) -> Json:
    """A CDS Hooks ``patient-view`` request about ``chart``, everything in prefetch."""
    return {
        "hook": "patient-view",
        "hookInstance": HOOK_INSTANCE,
        "context": {"userId": "Practitioner/example", "patientId": chart.patient_id},
        "prefetch": {
            "patient": chart.patient,
            "observations": chart.searchset("Observation"),
            "conditions": chart.searchset("Condition"),
            "procedures": chart.searchset("Procedure"),
        },
    }


def build_all() -> dict[str, str]:
    """Every example's path (below examples/) and text, in registration order, then the
    worked example's CDS Hooks request and README.md."""
    files = {
        f"{slug}.json": render(example.chart().collection(f"example-{slug}", BUILT_AT))
        for slug, example in CASES.items()
    }
    files[HOOK_FILE] = render(patient_view_request(CASES[WORKED_EXAMPLE].chart()))
    files["README.md"] = readme()
    return files


def main(argv: list[str]) -> int:
    out_dir = Path(argv[0]) if argv else HERE
    for name, text in build_all().items():
        (out_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (out_dir / name).write_text(text, encoding="utf-8")
        print(f"wrote {out_dir / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
