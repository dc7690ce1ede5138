"""Write examples/*.json: one realistic input Bundle per clinical-spec §4 category, and variants.

Run ``python examples/build_examples.py [OUT_DIR]``; the output is deterministic. Each case
(cases_primary.py, cases_secondary.py) states the category, the plan (in order, with sides) and
the findings it must give, and its docstring says why; examples/README.md has one table line per
case with the same. The charts are built with the sample-data builder (service/samples/chart.py)
and the fourth-edition inputs of inputs.py; the worked example is also written as CDS Hooks
requests: ``patient-view``, ``order-sign`` with a draft lumbar MRI at STAT and at routine
priority, and ``order-select`` with the routine one selected (cds-hooks/).
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
#: order-sign requests on the worked-example chart: a draft lumbar MRI (CPT 72148) at each
#: priority, and what the service must answer (§6.3, E4-1).
ORDER_SIGN_FILES = {
    "stat": (
        "cds-hooks/order-sign-stat-lumbar-mri-worked-example.json",
        "0b6f4f0e-5e8e-4d0a-8f61-3c1f4a7e2b90",
        "no card: a STAT order is never questioned (§6.3 step 1)",
    ),
    "routine": (
        "cds-hooks/order-sign-routine-lumbar-mri-worked-example.json",
        "6c1d2a4b-93f7-4e55-a0d8-7e2b5c9f1a34",
        "one card (hip findings); every suggestion a `create` of the hip work-up, none `delete`"
        " or `update`; override reasons offered",
    ),
}
#: order-select requests on the worked-example chart: the draft lumbar MRI at ``priority``,
#: named in ``context.selections`` (Q4-32h), and what the service must answer (§6.3, E4-1).
ORDER_SELECT_FILES = {
    "routine": (
        "cds-hooks/order-select-routine-lumbar-mri-worked-example.json",
        "3f8e2c71-5b4d-4a9e-9c06-2d7b1e8f4a55",
        "one card (hip findings), as at order-sign: every suggestion a `create` of the hip "
        "work-up, none `delete` or `update`; override reasons offered",
    ),
}
#: When the example Bundles were last updated (their ``meta.lastUpdated`` and ``timestamp``).
BUILT_AT = "2025-03-14T12:00:00Z"


def render(bundle: Json) -> str:
    """The file text of one example: keys in build order, two-space indent, final newline."""
    return json.dumps(bundle, indent=2, ensure_ascii=False) + "\n"


README_HEAD = """\
# Example input Bundles

Realistic FHIR R4 (4.0.1) `collection` Bundles, one or more per clinical-spec.md §4 category
and one for each new path of the fourth edition (rule set 2.0.0). Each file is named for the
category (and subtype) it must produce. `tests/test_examples.py` evaluates every file through
`POST /fhir/$hip-spine-evaluate` of the real app and checks that it gives exactly the category,
the plan (the recommendation codes in this order, each naming exactly these sides) and the
findings its line below says: those columns are the contract, read by the test.

Do not edit the JSON by hand: change the cases in `cases_primary.py` / `cases_secondary.py`
(builders in `service/samples/chart.py`, shared with `hipspine sample-data`, and the
fourth-edition inputs in `inputs.py`) and run `.venv/bin/python examples/build_examples.py`,
which rewrites every `*.json`, this file and the CDS Hooks requests in `cds-hooks/`. The "Why"
column is the case's docstring: the findings that make it so (flags worked by hand from §2,
§4 and §5 of the spec).

The red-flag screen: every chart records the seven screen items of RED_FLAG_SCREEN_COMPLETE
(saddle anaesthesia, bladder dysfunction, faecal incontinence, cancer history, fever, weight
loss, significant trauma; E4-4), denied unless the story says otherwise, so it keeps its plan
without rec-red-flag-screen. Two do not, on purpose: the worked example is exactly §8's inputs
and therefore gets rec-red-flag-screen first (§8), and `insufficient-data.json` shows the
screen asked for with the missing items. The RED_FLAG examples give their own plan whatever
the screen (§5.1).

Realism on purpose: most files carry an irrelevant vital sign (heart rate, LOINC 8867-4) that
must be ignored; `no-findings.json` and `complex.json` hold an `entered-in-error` Observation
(ignored, listed as ignored); `no-findings.json`, `misdiagnosed-hip-missed.json`,
`secondary-hip-driven.json` and `not-hss-spine.json` hold remeasured values (latest wins);
`not-hss-spine.json` records hip ROM as `hip-rom-panel` components; the worked example
(§8) is exactly the spec's inputs and nothing else.

| File | Category | Plan, in order (sides) | Findings | Why |
|---|---|---|---|---|
"""

HOOKS_HEAD = """
## CDS Hooks requests (`cds-hooks/`)

The worked-example chart, everything prefetched. `tests/test_examples.py` posts each to the
real app's CDS service and checks the answer below.

| File | Hook | Must answer |
|---|---|---|
"""


def plan_cell(plan: tuple[str, ...]) -> str:
    """``rec-a left right`` → ```rec-a` (left and right)``, joined by ``; ``; none: "none"."""
    cells = []
    for item in plan:
        code, *sides = item.split()
        cells.append(f"`{code}`" + (f" ({' and '.join(sides)})" if sides else ""))
    return "; ".join(cells) or "none"


def readme() -> str:
    """examples/README.md: the head above, one table row per case, then the hook requests."""
    rows = []
    for slug, example in CASES.items():
        why = example.why.replace("|", "\\|")
        findings = ", ".join(f"`{f}`" for f in example.findings) or "—"
        rows.append(
            f"| `{slug}.json` | {example.gives} | {plan_cell(example.plan)} | {findings} | {why} |"
        )
    hooks = [
        f"| `{HOOK_FILE.removeprefix('cds-hooks/')}` | patient-view | one card: the plan of "
        f"`{WORKED_EXAMPLE}.json` |"
    ]
    for name, _instance, answer in ORDER_SIGN_FILES.values():
        hooks.append(f"| `{name.removeprefix('cds-hooks/')}` | order-sign | {answer} |")
    for name, _instance, answer in ORDER_SELECT_FILES.values():
        hooks.append(f"| `{name.removeprefix('cds-hooks/')}` | order-select | {answer} |")
    return README_HEAD + "\n".join(rows) + "\n" + HOOKS_HEAD + "\n".join(hooks) + "\n"


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


def lumbar_mri_order(chart: Chart, priority: str) -> Json:
    """A draft lumbar MRI (CPT 72148) for ``chart``'s patient, at ``priority``."""
    return {
        "resourceType": "ServiceRequest",
        "id": f"lumbar-mri-{priority}",
        "status": "draft",
        "intent": "order",
        "priority": priority,
        "code": {
            "coding": [
                {
                    "system": "http://www.ama-assn.org/go/cpt",
                    "code": "72148",
                    "display": "MRI lumbar spine without contrast",
                }
            ],
            "text": "MRI lumbar spine",
        },
        "subject": {"reference": f"Patient/{chart.patient_id}"},
        "authoredOn": "2025-03-14T09:45:00Z",
    }


def order_sign_request(chart: Chart, priority: str, hook_instance: str) -> Json:
    """A CDS Hooks ``order-sign`` request: one draft lumbar MRI at ``priority``."""
    request = patient_view_request(chart)
    request["hook"] = "order-sign"
    request["hookInstance"] = hook_instance
    request["context"]["draftOrders"] = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": lumbar_mri_order(chart, priority)}],
    }
    return request


def order_select_request(chart: Chart, priority: str, hook_instance: str) -> Json:
    """A CDS Hooks ``order-select`` request: one draft lumbar MRI at ``priority``, the order
    just selected (named in ``context.selections``)."""
    request = order_sign_request(chart, priority, hook_instance)
    request["hook"] = "order-select"
    order = request["context"]["draftOrders"]["entry"][0]["resource"]
    context = request["context"]
    request["context"] = {
        "userId": context["userId"],
        "patientId": context["patientId"],
        "selections": [f"ServiceRequest/{order['id']}"],
        "draftOrders": context["draftOrders"],
    }
    return request


def build_all() -> dict[str, str]:
    """Every example's path (below examples/) and text, in registration order, then the
    worked example's CDS Hooks requests and README.md."""
    files = {
        f"{slug}.json": render(example.chart().collection(f"example-{slug}", BUILT_AT))
        for slug, example in CASES.items()
    }
    worked = CASES[WORKED_EXAMPLE].chart()
    files[HOOK_FILE] = render(patient_view_request(worked))
    for priority, (name, instance, _answer) in ORDER_SIGN_FILES.items():
        files[name] = render(order_sign_request(worked, priority, instance))
    for priority, (name, instance, _answer) in ORDER_SELECT_FILES.items():
        files[name] = render(order_select_request(worked, priority, instance))
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
