"""Deterministic synthetic input for the benchmarks: Bundles of relevant and irrelevant entries,
and the patient-view hook requests that carry them as a complete prefetch."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import orjson

from service.fhir.profiles import HSC_SYSTEM as HSC
from service.samples.codes import (
    HIP_JOINT,
    LOINC,
    OBS_CATEGORY,
    SNOMED,
    UCUM,
    Json,
    angle,
    body_site,
    concept,
)

PATIENT_ID = "bench-patient"
#: In a never-seen template, replaced by a number no earlier request used (bench/wrk/load.lua
#: and load_clients.fresh_body: 12 digits), so every Observation id is new: cold caches.
TOKEN = "@N@"
#: The cost curve of issue 14: (relevant Observations, irrelevant Observations). The targets
#: read its 2nd (50), 4th (1,000) and 5th (50 + 5,000) charts.
CURVE = ((10, 0), (50, 0), (200, 0), (1000, 0), (50, 5000))


def curve(scale: float = 1.0) -> list[tuple[str, int, int]]:
    """(label, relevant, irrelevant) of each chart of CURVE, counts times ``scale`` (a quick
    look; at least one relevant Observation)."""
    charts = []
    for relevant, irrelevant in CURVE:
        r, i = max(1, round(relevant * scale)), round(irrelevant * scale)
        label = f"{r:,} relevant" + (f" + {i:,} irrelevant" if i else "")
        charts.append((label, r, i))
    return charts


START = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)

SIDES = ("left", "right")
PAIN_SITES = ("site-low-back", "site-groin", "site-buttock", "site-thigh")
ROM = (("internal-rotation", 20), ("external-rotation", 35), ("flexion", 100), ("extension", 8))
TESTS = ("test-fadir", "test-faber", "test-slr", "test-thomas")
RADIOGRAPHIC = (("pelvic-incidence", 55), ("lumbar-lordosis", 48), ("sacral-slope-standing", 35))
#: Irrelevant labs and vitals: (LOINC code, display, category, UCUM unit, value).
IRRELEVANT = (
    ("8867-4", "Heart rate", "vital-signs", "/min", 72),
    ("8480-6", "Systolic blood pressure", "vital-signs", "mm[Hg]", 128),
    ("8462-4", "Diastolic blood pressure", "vital-signs", "mm[Hg]", 81),
    ("8310-5", "Body temperature", "vital-signs", "Cel", 36.8),
    ("29463-7", "Body weight", "vital-signs", "kg", 78.5),
    ("2345-7", "Glucose [Mass/volume] in Serum or Plasma", "laboratory", "mg/dL", 97),
    ("718-7", "Hemoglobin [Mass/volume] in Blood", "laboratory", "g/dL", 13.9),
    ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "laboratory", "mg/dL", 0.92),
    ("6690-2", "Leukocytes [#/volume] in Blood", "laboratory", "10*3/uL", 6.4),
    ("1988-5", "C reactive protein [Mass/volume] in Serum or Plasma", "laboratory", "mg/L", 3.1),
)


def _concept(system: str, code: str, display: str) -> Json:
    return concept((system, code, display))


def _hip(side: int) -> Json:
    return body_site(HIP_JOINT, SIDES[side])


def _observation(n: int, category: str, code: Json, value: Json, site: Json | None) -> Json:
    when = (START + timedelta(hours=n)).isoformat().replace("+00:00", "Z")
    resource: Json = {
        "resourceType": "Observation",
        "id": f"obs-{n}",
        "status": "final",
        "category": [_concept(OBS_CATEGORY, category, category)],
        "code": code,
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "effectiveDateTime": when,
        **value,
    }
    if site is not None:
        resource["bodySite"] = site
    return resource


def _pain(n: int) -> Json:
    site = PAIN_SITES[n % len(PAIN_SITES)]
    code = _concept(LOINC, "72514-3", "Pain severity - 0-10 verbal numeric rating")
    return _observation(n, "survey", code, {"valueInteger": n % 8}, _concept(HSC, site, site))


def _rom(n: int) -> Json:
    motion, base = ROM[n % len(ROM)]
    code = _concept(HSC, f"hip-rom-{motion}", f"Hip {motion}")
    return _observation(n, "exam", code, angle(base + n % 7), _hip(n % 2))


def _test(n: int) -> Json:
    name = TESTS[n % len(TESTS)]
    answer = ("260385009", "Negative") if n % 3 else ("10828004", "Positive")
    value = {"valueCodeableConcept": _concept(SNOMED, *answer)}
    return _observation(n, "exam", _concept(HSC, name, name), value, _hip(n % 2))


def _radiographic(n: int) -> Json:
    if n % 4 == 0:
        code = _concept(HSC, "kl-grade-hip", "Kellgren-Lawrence grade, hip")
        return _observation(n, "imaging", code, {"valueInteger": n % 3}, _hip(n % 2))
    name, base = RADIOGRAPHIC[n % len(RADIOGRAPHIC)]
    return _observation(n, "imaging", _concept(HSC, name, name), angle(base + n % 5), None)


RELEVANT: tuple[Callable[[int], Json], ...] = (_pain, _rom, _test, _radiographic)


def _irrelevant(n: int) -> Json:
    code, display, category, unit, value = IRRELEVANT[n % len(IRRELEVANT)]
    quantity = {"value": value, "unit": unit, "system": UCUM, "code": unit}
    code_concept = _concept(LOINC, code, display)
    return _observation(n, category, code_concept, {"valueQuantity": quantity}, None)


def _entries(relevant: int, irrelevant: int) -> Iterator[Json]:
    yield {
        "resourceType": "Patient",
        "id": PATIENT_ID,
        "name": [{"family": "Bench", "given": ["Synthetic"]}],
        "gender": "unknown",
        "birthDate": "1960-01-01",
    }
    kinds = itertools.cycle(RELEVANT)
    for n in range(relevant):
        yield next(kinds)(n)
    for n in range(relevant, relevant + irrelevant):
        yield _irrelevant(n)


def synthetic_bundle(relevant: int, irrelevant: int = 0, fresh: bool = False) -> Json:
    """A collection Bundle: one Patient, ``relevant`` hip–spine inputs mixing pain, ROM, tests
    and radiographic values over a time series, then ``irrelevant`` labs and vitals (LOINC).

    ``fresh``: a template whose Observation ids end in TOKEN (see :func:`fresh_copy`).
    """
    entries = list(_entries(relevant, irrelevant))
    if fresh:
        for resource in entries[1:]:
            resource["id"] = f"{resource['id']}-{TOKEN}"
    return {
        "resourceType": "Bundle",
        "id": f"bench-{relevant}-{irrelevant}",
        "type": "collection",
        "entry": [
            {"fullUrl": f"urn:uuid:00000000-0000-4000-8000-{i:012d}", "resource": resource}
            for i, resource in enumerate(entries)
        ],
    }


def fresh_copy(template: bytes, number: int) -> bytes:
    """``template`` with every TOKEN replaced by ``number`` (12 digits): a never-seen chart."""
    return template.replace(TOKEN.encode(), b"%012d" % number)


def _searchset(resources: list[Json]) -> Json:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources],
    }


def hook_request(relevant: int, irrelevant: int = 0, fresh: bool = False) -> bytes:
    """A patient-view request whose complete prefetch holds the Patient and the Observations of
    :func:`synthetic_bundle` (the irrelevant ones too, as a broad Observation query returns).

    ``fresh``: a template whose Observation ids and hookInstance end in TOKEN, for clients to
    replace with a number of their own on every request.
    """
    resources = [e["resource"] for e in synthetic_bundle(relevant, irrelevant, fresh)["entry"]]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    observations = [r for r in resources if r["resourceType"] == "Observation"]
    body = {
        "hook": "patient-view",
        "hookInstance": f"5e1f0b9c-0000-4000-8000-{TOKEN}" if fresh else str(uuid.uuid4()),
        "context": {"userId": "Practitioner/bench", "patientId": PATIENT_ID},
        "prefetch": {
            "patient": patient,
            "observations": _searchset(observations),
            "conditions": _searchset([]),
            "procedures": _searchset([]),
        },
    }
    return orjson.dumps(body)
