"""``hipspine sample-data``: synthetic patients as transaction Bundles, plus a manifest.

Deterministic per seed: patient ``i`` uses template ``i mod len(TEMPLATES)`` (so every §4
category appears once before any appears twice) and a random stream of its own. Each chart
also carries the usual noise of real records: unrelated vital signs and labs, an older value
remeasured at the visit (the latest wins, §1.1), and an entered-in-error copy (ignored).
"""

from __future__ import annotations

import copy
import json
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from service.samples.cases import TEMPLATES, Template
from service.samples.chart import Chart
from service.samples.codes import Json

MANIFEST = "manifest.json"
_GIVEN = {
    "female": ["Anna", "Grace", "Ingrid", "Priya", "Elena", "Aiko", "Fatima", "Margaret", "Lucia"],
    "male": ["Robert", "Samuel", "Liam", "Tomas", "Jorge", "Daniel", "Kwame", "Walter", "Yusuf"],
}
_FAMILY = [
    "Meyer",
    "Okafor",
    "Berg",
    "Raman",
    "Ruiz",
    "Tanaka",
    "Haddad",
    "Evans",
    "Novak",
    "Lind",
    "Ng",
    "Fischer",
    "Alvarez",
    "Cohen",
    "Mensah",
    "Brandt",
    "Kowalski",
    "Osei",
]
_FIRST_VISIT = date(2024, 1, 8)
_REMEASURED_CODES = ("hip-rom-internal-rotation", "97909-6")


def build_patient(seed: int, index: int) -> tuple[Template, Chart]:
    """The ``index``-th synthetic patient of ``seed``, and the template it follows."""
    chosen = TEMPLATES[index % len(TEMPLATES)]
    rng = random.Random(f"hipspine-sample/{seed}/{index}")
    visit = _FIRST_VISIT + timedelta(days=rng.randint(0, 540))
    age = rng.randint(chosen.min_age, chosen.max_age)
    born = date(visit.year - age, 1, 1) - timedelta(days=rng.randint(0, 364))
    gender = rng.choice(["female", "male"])
    chart = Chart(
        patient_id=f"hs-{seed}-{index:04d}",
        given=rng.choice(_GIVEN[gender]),
        family=rng.choice(_FAMILY),
        gender=gender,
        birth_date=str(born),
        visit=f"{visit}T{rng.randint(8, 16):02d}:{rng.choice(['00', '15', '30', '45'])}:00Z",
    )
    _unrelated(chart, rng)
    chosen.fill(chart, rng, visit)
    _noise(chart, rng, visit)
    return chosen, chart


def _unrelated(c: Chart, rng: random.Random) -> None:
    """Vital signs and labs the rules do not read."""
    c.heart_rate(rng.randint(58, 96))
    c.vital("29463-7", "Body weight", round(rng.uniform(52, 110), 1), "kg")
    c.vital("8310-5", "Body temperature", round(rng.uniform(36.2, 37.3), 1), "Cel")
    c.lab(
        "1988-5",
        "C reactive protein [Mass/volume] in Serum or Plasma",
        round(rng.uniform(0.3, 8.0), 1),
        "mg/L",
    )
    c.lab("718-7", "Hemoglobin [Mass/volume] in Blood", round(rng.uniform(11.5, 16.5), 1), "g/dL")


def _noise(c: Chart, rng: random.Random, visit: date) -> None:
    """An older value of a measured input (remeasured at the visit) and an entered-in-error copy."""
    measured = next((r for r in c.resources if _code(r) in _REMEASURED_CODES), None)
    if measured is None:
        return
    older = _copy_with_value(measured, rng.randint(-6, 6))
    when = f"{visit - timedelta(days=rng.randint(45, 180))}T10:00:00Z"
    older["effectiveDateTime"] = older["issued"] = when
    wrong = _copy_with_value(measured, 25)
    wrong["status"] = "entered-in-error"
    wrong["note"] = [{"text": "Recorded on the wrong chart"}]
    for extra in (older, wrong):
        c.observation(
            extra["category"][0]["coding"][0]["code"],
            extra["code"],
            {"valueQuantity": extra["valueQuantity"]},
            when=extra["effectiveDateTime"],
            status=extra["status"],
            site=extra.get("bodySite"),
            note=(extra.get("note") or [{}])[0].get("text"),
        )


def _code(resource: Json) -> str | None:
    codings = (resource.get("code") or {}).get("coding") or [{}]
    code = codings[0].get("code")
    return code if isinstance(code, str) else None


def _copy_with_value(resource: Json, delta: int) -> Json:
    out = copy.deepcopy(resource)
    value = out["valueQuantity"]["value"]
    out["valueQuantity"]["value"] = max(0, min(85, value + delta))
    return out


def write_sample_data(out_dir: Path, *, seed: int, patients: int) -> dict[str, Any]:
    """Write ``patient-NNNN.json`` transaction Bundles and ``manifest.json``; the manifest."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for index in range(patients):
        chosen, chart = build_patient(seed, index)
        name = f"patient-{index:04d}.json"
        text = json.dumps(chart.transaction(), indent=2, ensure_ascii=False) + "\n"
        (out_dir / name).write_text(text, encoding="utf-8")
        rows.append(
            {
                "file": name,
                "patient_id": chart.patient_id,
                "template": chosen.name,
                "category": chosen.category,
                "subtype": chosen.subtype,
            }
        )
    manifest = {"seed": seed, "patients": rows}
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest
