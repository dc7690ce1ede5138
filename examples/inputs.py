"""Inputs the fourth edition added (clinical-spec.md §1.3, E4 rows), for the example charts.

Written with the chart's generic ``observation`` so the sample-data builder needs no change:
the red-flag screen (E4-4: its seven items), symptom duration (E4-13), myotomal weakness with
its MRC grade (E4-3), a prior hip–lumbar physiotherapy programme (E4-16), a sided pain NRS
(a groin or lateral hip pain on one side) and the avascular-necrosis Condition (E4-8, E4-22).
"""

from __future__ import annotations

from service.samples.chart import Chart
from service.samples.codes import LOINC, UCUM, body_site, component, concept, hsc

#: The seven items of RED_FLAG_SCREEN_COMPLETE (§2, Q4-31), as ``rf-…`` code suffixes.
SCREEN_ITEMS = (
    "saddle-anaesthesia",
    "bladder-dysfunction",
    "faecal-incontinence",
    "cancer-history",
    "fever",
    "weight-loss",
    "significant-trauma",
)
PAIN_NRS = (LOINC, "72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported")


def red_flag_screen(c: Chart, *present: str) -> None:
    """The red-flag screen recorded at the visit: the items in ``present`` true, the others
    asked and denied (recorded false)."""
    unknown = set(present) - set(SCREEN_ITEMS)
    assert not unknown, f"not a screen item: {unknown}"
    for item in SCREEN_ITEMS:
        c.sign(f"rf-{item}", item in present)


def sided_pain(c: Chart, site: str, side: str, nrs: int) -> None:
    """A pain NRS at ``HSC#site-…`` on one side (a pain series keyed by site and side, §1.1)."""
    where = body_site(hsc(site), side)
    c.observation("survey", concept(PAIN_NRS), {"valueInteger": nrs}, site=where)


def symptom_duration(c: Chart, weeks: float) -> None:
    """How long the current episode of back or leg pain has lasted (E4-13)."""
    value = {"valueQuantity": {"value": weeks, "unit": "wk", "system": UCUM, "code": "wk"}}
    c.observation("survey", concept(hsc("symptom-duration")), value)


def myotomal_weakness(c: Chart, mrc: int) -> None:
    """Myotomal weakness, the weakest muscle's MRC grade as a component (E4-3)."""
    grade = [component("mrc-grade", {"valueInteger": mrc})]
    value = {"valueBoolean": True}
    c.observation("exam", concept(hsc("myotomal-weakness")), value, components=grade)


def prior_physiotherapy(c: Chart, ended: str) -> None:
    """A hip–lumbar physiotherapy programme that ended on ``ended`` (E4-16)."""
    code = concept(hsc("prior-hip-lumbar-physiotherapy"))
    c.observation("procedure", code, {"valueBoolean": True}, when=ended)


AVN = hsc("condition-avn")
