"""The compiled input validator never accepts what fhir.resources R4B rejects in a read element.

Issue 14 item 2: each relevant entry is validated in the elements the mapping reads, by the
pydantic-core validator of :mod:`service.fhir.compiled`, not by the R4B model. These tests hold
it to R4B: a table of valid and invalid values per read element (both verdicts written down, so
the table also documents R4B), then a sweep over mutated real entries (every example, the
benchmark's synthetic charts): whenever R4B rejects an entry because of a read element, the
compiled validator rejects it naming that element, and it never rejects an entry R4B accepts.
"""

from __future__ import annotations

import copy
import importlib
import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.extension import Extension
from fhir.resources.R4B.observation import Observation, ObservationComponent
from pydantic import ValidationError

from service.fhir import compiled
from service.fhir.compiled import READ, READERS, CompiledReader, Complex, Element, r4b_path
from service.fhir.extract import read_input
from service.fhir.parse import CLINICAL_TYPES, scan, unwrap, validate
from service.fhir.profiles import HSC_SYSTEM
from tests.fhir.extract_builders import INDEX

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
#: The benchmark's chart generator (bench/synthetic.py).
synthetic_bundle: Callable[..., Json] = importlib.import_module("synthetic").synthetic_bundle


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"


DELETE = _Delete()
Json = dict[str, Any]

OBSERVATION: Json = {
    "resourceType": "Observation",
    "id": "obs-1",
    "meta": {"lastUpdated": "2024-03-06T09:00:00Z"},
    "status": "final",
    "code": {
        "coding": [{"system": "http://snomed.info/sct", "code": "364564000"}],
        "text": "Hip flexion",
    },
    "subject": {"reference": "Patient/p1"},
    "effectiveDateTime": "2024-03-05T10:00:00+01:00",
    "issued": "2024-03-05T11:00:00.123Z",
    "valueQuantity": {
        "value": 95.5,
        "unit": "deg",
        "system": "http://unitsofmeasure.org",
        "code": "deg",
    },
    "interpretation": [{"coding": [{"code": "N"}]}],
    "bodySite": {
        "coding": [{"system": "http://snomed.info/sct", "code": "24136001"}],
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/bodySite-laterality",
                "valueCodeableConcept": {"coding": [{"code": "7771000"}]},
            }
        ],
    },
    "method": {"text": "goniometer"},
    "component": [
        {
            "code": {"coding": [{"code": "slr-angle"}]},
            "valueQuantity": {"value": 45, "unit": "deg"},
        },
        {"code": {"text": "pain"}, "dataAbsentReason": {"text": "asked, unknown"}},
    ],
    "note": [{"text": "not read"}],
}
CONDITION: Json = {
    "resourceType": "Condition",
    "id": "c1",
    "clinicalStatus": {"coding": [{"code": "active"}]},
    "verificationStatus": {"coding": [{"code": "confirmed"}]},
    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "239872002"}]},
    "subject": {"reference": "Patient/p1"},
    "bodySite": [{"coding": [{"code": "24136001"}]}],
    "onsetDateTime": "2023-06",
    "recordedDate": "2023-07-01",
}
PROCEDURE: Json = {
    "resourceType": "Procedure",
    "id": "p1",
    "status": "completed",
    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "52734007"}]},
    "subject": {"reference": "Patient/p1"},
    "bodySite": [{"coding": [{"code": "24136001"}]}],
    "reasonCode": [{"text": "hip OA"}],
    "performedPeriod": {"start": "2020-01-01", "end": "2020-01-02T10:00:00Z"},
}
BASES = {"Observation": OBSERVATION, "Condition": CONDITION, "Procedure": PROCEDURE}
EXT = "bodySite.extension[0]"

#: (resource type, {path: value or DELETE}, valid in R4B). One row per element value.
TABLE: list[tuple[str, dict[str, Any], bool]] = [
    # status: code, 1..1
    ("Observation", {"status": "preliminary"}, True),
    ("Observation", {"status": "entered in error"}, True),  # a code may hold single spaces
    ("Observation", {"status": ""}, False),
    ("Observation", {"status": " final"}, False),
    ("Observation", {"status": "final  x"}, False),
    ("Observation", {"status": 7}, False),
    ("Observation", {"status": True}, False),
    ("Observation", {"status": ["final"]}, False),  # an array where one value is required
    ("Observation", {"status": None}, False),
    ("Observation", {"status": DELETE}, False),
    # code: CodeableConcept, 1..1
    ("Observation", {"code": {}}, True),
    ("Observation", {"code": DELETE}, False),
    ("Observation", {"code": None}, True),  # R4B: a null complex value passes (not relevant)
    ("Observation", {"code": [OBSERVATION["code"]]}, False),
    ("Observation", {"code": "364564000"}, False),
    ("Observation", {"code.coding": []}, True),
    ("Observation", {"code.coding": {"code": "x"}}, False),  # one value where 0..* is an array
    ("Observation", {"code.coding": [None]}, False),
    ("Observation", {"code.coding": [5]}, False),
    ("Observation", {"code.coding[0].system": ""}, True),  # uri is \S*
    ("Observation", {"code.coding[0].system": 5}, False),
    ("Observation", {"code.coding[0].system": ["http://snomed.info/sct"]}, False),
    ("Observation", {"code.coding[0].code": "a b"}, True),
    ("Observation", {"code.coding[0].code": ""}, False),
    ("Observation", {"code.coding[0].code": 364564000}, False),
    ("Observation", {"code.text": ""}, False),
    ("Observation", {"code.text": 12}, False),
    # id, meta.lastUpdated
    ("Observation", {"id": "a" * 64}, True),
    ("Observation", {"id": "obs_1"}, False),
    ("Observation", {"id": ""}, False),
    ("Observation", {"id": 12}, False),
    ("Observation", {"meta": []}, False),
    ("Observation", {"meta.lastUpdated": "2024-03-06T09:00:00.5-05:00"}, True),
    ("Observation", {"meta.lastUpdated": "2024-03-06"}, False),  # an instant needs a time
    ("Observation", {"meta.lastUpdated": "2024-03-06T09:00:00"}, False),  # and an offset
    # subject: Reference
    ("Observation", {"subject": DELETE}, True),
    ("Observation", {"subject": [{"reference": "Patient/p1"}]}, False),
    ("Observation", {"subject.reference": ""}, False),
    ("Observation", {"subject.reference": 5}, False),
    # effective[x] and issued
    ("Observation", {"effectiveDateTime": "2024"}, True),
    ("Observation", {"effectiveDateTime": "2024-03"}, True),
    ("Observation", {"effectiveDateTime": "2024-03-05"}, True),
    ("Observation", {"effectiveDateTime": "2016-12-31T23:59:60Z"}, True),  # a leap second
    ("Observation", {"effectiveDateTime": "2024-03-05T10:00:00"}, False),  # no offset
    ("Observation", {"effectiveDateTime": "2024-03-05T10:00Z"}, False),  # no seconds
    ("Observation", {"effectiveDateTime": "2024-13"}, False),
    ("Observation", {"effectiveDateTime": "2024-02-30"}, False),
    ("Observation", {"effectiveDateTime": "2024-03-05T24:00:00Z"}, False),
    ("Observation", {"effectiveDateTime": "05/03/2024"}, False),
    ("Observation", {"effectiveDateTime": ""}, False),
    ("Observation", {"effectiveDateTime": 20240305}, True),  # R4B: a Unix time; times.py
    # excludes it
    ("Observation", {"effectiveDateTime": ["2024"]}, False),
    (
        "Observation",
        {"effectiveDateTime": DELETE, "effectiveInstant": "2024-03-05T10:00:00Z"},
        True,
    ),
    ("Observation", {"effectiveDateTime": DELETE, "effectiveInstant": "2024-03-05"}, False),
    ("Observation", {"effectiveDateTime": DELETE, "effectivePeriod": {"end": "2024"}}, True),
    ("Observation", {"effectiveDateTime": DELETE, "effectivePeriod": {"start": "x"}}, False),
    ("Observation", {"effectiveDateTime": DELETE, "effectivePeriod": "2024"}, False),
    ("Observation", {"effectivePeriod": {"start": "2024"}}, False),  # two effective[x]
    ("Observation", {"effectiveTiming": {}}, False),  # two effective[x]
    ("Observation", {"effectiveDate": "2024"}, False),  # not an R4 effective[x] type
    ("Observation", {"issued": "2024-03-05"}, False),
    ("Observation", {"issued": "2024-03-05T10:00:00+15:00"}, False),
    # value[x]
    ("Observation", {"valueQuantity.value": 0}, True),
    ("Observation", {"valueQuantity.value": -1.5e2}, True),
    ("Observation", {"valueQuantity.value": "90"}, True),  # R4B reads a numeric string
    ("Observation", {"valueQuantity.value": "ninety"}, False),
    ("Observation", {"valueQuantity.value": "9 0"}, False),
    ("Observation", {"valueQuantity.value": ""}, False),
    ("Observation", {"valueQuantity.value": [90]}, False),
    ("Observation", {"valueQuantity.value": {"v": 1}}, False),
    ("Observation", {"valueQuantity.comparator": "<"}, True),
    ("Observation", {"valueQuantity.comparator": ""}, False),
    ("Observation", {"valueQuantity.unit": ""}, False),
    ("Observation", {"valueQuantity.unit": 5}, False),
    ("Observation", {"valueQuantity.system": 5}, False),
    ("Observation", {"valueQuantity.code": "d eg "}, False),
    ("Observation", {"valueQuantity": [{"value": 1}]}, False),
    ("Observation", {"valueQuantity": 95}, False),
    ("Observation", {"valueQuantity": DELETE, "valueInteger": 3}, True),
    ("Observation", {"valueQuantity": DELETE, "valueInteger": 3.5}, False),
    ("Observation", {"valueQuantity": DELETE, "valueInteger": 2**31}, False),
    ("Observation", {"valueQuantity": DELETE, "valueInteger": "three"}, False),
    ("Observation", {"valueQuantity": DELETE, "valueInteger": [3]}, False),
    ("Observation", {"valueQuantity": DELETE, "valueBoolean": False}, True),
    ("Observation", {"valueQuantity": DELETE, "valueBoolean": "maybe"}, False),
    ("Observation", {"valueQuantity": DELETE, "valueBoolean": [True]}, False),
    ("Observation", {"valueQuantity": DELETE, "valueCodeableConcept": {}}, True),
    ("Observation", {"valueQuantity": DELETE, "valueCodeableConcept": []}, False),
    ("Observation", {"valueQuantity": DELETE, "valueString": "yes"}, True),
    ("Observation", {"valueInteger": 3}, False),  # two value[x]
    ("Observation", {"valueString": "x"}, False),  # two value[x], the other one not read
    ("Observation", {"valueQuantity": DELETE, "valueNumber": 3}, False),  # no such type
    ("Observation", {"valueQuantity": None, "valueInteger": 3}, True),  # null is no value
    # dataAbsentReason, interpretation, method
    ("Observation", {"dataAbsentReason": {}}, True),
    ("Observation", {"dataAbsentReason": "unknown"}, False),
    ("Observation", {"interpretation": []}, True),
    ("Observation", {"interpretation": {"coding": [{"code": "N"}]}}, False),
    ("Observation", {"interpretation": [None]}, False),
    ("Observation", {"interpretation[0].coding[0].code": ""}, False),
    ("Observation", {"method": [{"text": "goniometer"}]}, False),
    ("Observation", {"method.text": ""}, False),
    # bodySite: CodeableConcept 0..1 on Observation, with the laterality extension
    ("Observation", {"bodySite": {}}, True),
    ("Observation", {"bodySite": [OBSERVATION["bodySite"]]}, False),
    ("Observation", {"bodySite.text": 3}, False),
    ("Observation", {"bodySite.extension": {"url": "x"}}, False),
    ("Observation", {"bodySite.extension": [None]}, False),
    ("Observation", {f"{EXT}.url": DELETE}, False),
    ("Observation", {f"{EXT}.url": 5}, False),
    ("Observation", {f"{EXT}.valueCodeableConcept": DELETE, f"{EXT}.valueCode": "left"}, True),
    ("Observation", {f"{EXT}.valueCodeableConcept": []}, False),
    ("Observation", {f"{EXT}.valueCodeableConcept.coding[0].code": ""}, False),
    ("Observation", {f"{EXT}.valueString": "left"}, False),  # two value[x]
    # component
    ("Observation", {"component": []}, True),
    ("Observation", {"component": {"code": {}}}, False),
    ("Observation", {"component": [None]}, False),
    ("Observation", {"component[0].code": DELETE}, False),
    ("Observation", {"component[0].code": None}, True),
    ("Observation", {"component[0].valueQuantity.value": "x"}, False),
    ("Observation", {"component[0].valueQuantity": DELETE, "component[0].valueInteger": 2}, True),
    ("Observation", {"component[0].valueInteger": 2}, False),  # two value[x]
    ("Observation", {"component[1].dataAbsentReason": []}, False),
    ("Observation", {"component[1].valueCodeableConcept": {"text": ""}}, False),
    # Condition
    ("Condition", {"subject": DELETE}, False),
    ("Condition", {"subject.reference": ""}, False),
    ("Condition", {"code": DELETE}, True),
    ("Condition", {"clinicalStatus": []}, False),
    ("Condition", {"verificationStatus": "confirmed"}, False),
    ("Condition", {"bodySite": {"coding": []}}, False),  # 0..* on Condition
    ("Condition", {"bodySite[0].extension": [{"url": "x", "valueCodeableConcept": 5}]}, False),
    ("Condition", {"onsetDateTime": "2023-06-31"}, False),
    ("Condition", {"onsetDateTime": DELETE, "onsetPeriod": {"start": "2023"}}, True),
    ("Condition", {"onsetDateTime": DELETE, "onsetPeriod": {"start": "2023-1"}}, False),
    ("Condition", {"onsetString": "as a child"}, False),  # two onset[x]
    ("Condition", {"recordedDate": "yesterday"}, False),
    ("Condition", {"abatementString": "gone"}, True),
    # Procedure
    ("Procedure", {"status": DELETE}, False),
    ("Procedure", {"status": "complete d"}, True),
    ("Procedure", {"subject": None}, True),
    ("Procedure", {"subject": "Patient/p1"}, False),
    ("Procedure", {"bodySite": [{}]}, True),
    ("Procedure", {"reasonCode": {"text": "hip OA"}}, False),
    ("Procedure", {"performedPeriod.end": "2020-01-02T10:00:00"}, False),
    ("Procedure", {"performedPeriod": DELETE, "performedDateTime": "2020"}, True),
    ("Procedure", {"performedDateTime": "2020"}, False),  # two performed[x]
    ("Procedure", {"performedPeriod": DELETE, "performedDateTime": "2020-01-01T00:00"}, False),
]

#: Elements nobody reads: R4B rejects these values, the compiled validator lets them be.
UNREAD: list[tuple[str, dict[str, Any]]] = [
    ("Observation", {"note": 5}),
    ("Observation", {"category": {"text": "exam"}}),
    ("Observation", {"code.coding[0].display": 7}),
    ("Observation", {"vendorQuirk": True}),
    ("Condition", {"abatementString": "gone", "abatementAge": {"value": 3}}),
    ("Procedure", {"performer": "Dr X"}),
]

_STEP = re.compile(r"([A-Za-z_]+)(?:\[(\d+)\])?")


def mutate(resource: Json, changes: dict[str, Any]) -> Json:
    """A deep copy of ``resource`` with each dotted path set (or deleted with DELETE)."""
    out = copy.deepcopy(resource)
    for path, value in changes.items():
        steps = [_STEP.fullmatch(s) for s in path.split(".")]
        node: Any = out
        for i, step in enumerate(steps):
            assert step is not None, path
            name, index = step.group(1), step.group(2)
            last = i == len(steps) - 1
            if index is None and last:
                if value is DELETE:
                    node.pop(name, None)
                else:
                    node[name] = value
            elif index is None:
                node = node.setdefault(name, {})
            elif last:
                node[name][int(index)] = value
            else:
                node = node[name][int(index)]
    return out


def r4b_errors(resource: Json) -> list[str]:
    """R4B's error FHIRPaths for ``resource`` ([] when R4B accepts it)."""
    model = get_fhir_model_class(resource["resourceType"])
    try:
        model.model_validate_json(orjson.dumps(resource, option=orjson.OPT_SORT_KEYS))
    except ValidationError as exc:
        return [r4b_path(e) for e in exc.errors()]
    return []


def compiled_errors(resource: Json, reader: CompiledReader | None = None) -> list[str]:
    reader = reader or READERS[resource["resourceType"]]
    problems = reader.check(orjson.dumps(resource, option=orjson.OPT_SORT_KEYS))
    return [] if problems is None else list(problems[0])


_INDEXES = re.compile(r"\[\d+\]")


def related(a: str, b: str) -> bool:
    """Whether FHIRPaths ``a`` and ``b`` name the same element, or one holds the other
    (``value[x]`` stands for every ``value…`` element beside it)."""
    a, b = _INDEXES.sub("", a), _INDEXES.sub("", b)
    if not a or not b or a == b:
        return True
    for x, y in ((a, b), (b, a)):
        if y.startswith(f"{x}."):
            return True
        if x.endswith("[x]") and y.startswith(x[:-3]) and "." not in y[len(x) - 3 :]:
            return True
    return False


@pytest.mark.parametrize(("rtype", "changes", "valid"), TABLE, ids=lambda v: repr(v)[:60])
def test_a_read_element_is_accepted_exactly_when_r4b_accepts_it(
    rtype: str, changes: dict[str, Any], valid: bool
) -> None:
    resource = mutate(BASES[rtype], changes)
    by_r4b, by_compiled = r4b_errors(resource), compiled_errors(resource)
    assert (not by_r4b) is valid, f"R4B: {by_r4b}"  # the table states R4B's verdict
    assert (not by_compiled) is valid, f"compiled: {by_compiled}"
    if not valid:  # the warning names the element that was changed
        changed = [p for p in changes if changes[p] is not DELETE] or list(changes)
        assert any(related(c, p) for c in by_compiled for p in changed), (by_compiled, changes)


@pytest.mark.parametrize("rtype", sorted(BASES))
def test_the_base_resources_are_valid_r4b(rtype: str) -> None:
    assert r4b_errors(BASES[rtype]) == [] and compiled_errors(BASES[rtype]) == []


@pytest.mark.parametrize(("rtype", "changes"), UNREAD, ids=lambda v: repr(v)[:60])
def test_an_element_nobody_reads_is_not_validated(rtype: str, changes: dict[str, Any]) -> None:
    resource = mutate(BASES[rtype], changes)
    assert r4b_errors(resource), "R4B rejects it"
    assert compiled_errors(resource) == []


def test_primitive_extensions_are_judged_by_r4b_in_read_elements_only() -> None:
    extension = {"extension": [{"url": "http://example.org/why", "valueString": "asked"}]}
    carried = mutate(OBSERVATION, {"status": DELETE, "_status": extension})
    assert r4b_errors(carried) == [] and compiled_errors(carried) == []
    broken = mutate(OBSERVATION, {"_status": {"extension": [{"url": 5}]}})
    assert compiled_errors(broken) == ["status.extension[0].url"]
    elsewhere = mutate(OBSERVATION, {"_issued": {"id": 5}, "note": 5})
    assert r4b_errors(elsewhere) and compiled_errors(elsewhere) == ["issued.id"]
    unread = mutate(OBSERVATION, {"_implicitRules": {"id": 5}})
    assert r4b_errors(unread) and compiled_errors(unread) == []


def test_the_choice_lists_are_r4bs() -> None:
    def r4b(model: Any) -> dict[str, frozenset[str]]:
        found = model.get_one_of_many_fields(model.model_construct())
        return {k: frozenset(n.removeprefix(k) for n in v) for k, v in found.items()}

    assert READ["Observation"].choices == r4b(Observation)
    assert compiled.COMPONENT.choices == r4b(ObservationComponent)
    assert compiled.EXTENSION.choices == r4b(Extension)
    for rtype in ("Condition", "Procedure"):
        wanted = r4b(get_fhir_model_class(rtype))
        wanted.pop("abatement", None)  # Condition.abatement[x] is not read
        assert READ[rtype].choices == wanted


def test_every_element_the_readers_name_is_validated() -> None:
    """The element names the input modules read from a resource are in READ (a new reader of
    a new element needs a row there)."""
    sources = " ".join(
        (ROOT / "service" / "fhir" / f"{name}.py").read_text()
        for name in ("readers", "times", "sites", "units", "extract", "prefilter")
    )
    reads = r"""(?:get\(|in |_optional\(resource, |_period\(\s*resource, )"([a-z][A-Za-z]+)\""""
    named = set(re.findall(reads, sources))
    everything = {p.split(".")[-1] for rtype in READ for p in compiled.leaves(READ[rtype])}
    not_elements = {"resourceType", "tz", "m", "d", "y", "f", "entry", "resource", "fullUrl"}
    not_elements |= {"birthDate"}  # the Patient's, read by extract (the Patient is not checked)
    assert named - everything - not_elements == set()


# --- the sweep over mutated real entries -------------------------------------------------

BAD_VALUES: tuple[Any, ...] = (7, 1.5, True, "", " x ", "not a date", None, [], {}, [None])


def _examples() -> Iterator[tuple[str, Json]]:
    for path in sorted((ROOT / "examples").glob("*.json")):
        yield path.name, json.loads(path.read_text())
    for path in sorted((ROOT / "examples" / "cds-hooks").glob("*.json")):
        request = json.loads(path.read_text())
        for key, value in (request.get("prefetch") or {}).items():
            if isinstance(value, dict) and value.get("resourceType") == "Bundle":
                yield f"{path.name}:{key}", {"type": "collection", **value}
    for relevant in (12, 50):
        yield f"synthetic-{relevant}", synthetic_bundle(relevant, 3)


def relevant_resources() -> list[Json]:
    """Every distinct relevant entry of the examples and synthetic charts."""
    seen: set[bytes] = set()
    found: list[Json] = []
    for _name, payload in _examples():
        if payload.get("resourceType") not in ("Bundle", None):
            continue
        payload = {"resourceType": "Bundle", **payload}
        bundle, base = unwrap(payload)
        for entry in scan(bundle, base, INDEX).relevant:
            key = orjson.dumps(entry.resource, option=orjson.OPT_SORT_KEYS)
            if key not in seen:
                seen.add(key)
                found.append(dict(entry.resource))
    return found


def _walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _walk(child, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _walk(child, f"{path}[{i}]")
    if path:
        yield path, value


def mutations(resource: Json, read: frozenset[str]) -> Iterator[dict[str, Any]]:
    """Changes to the read elements ``resource`` has: bad values, wrapped and unwrapped
    arrays, deletions, a second choice value."""
    for path, value in _walk(resource, ""):
        if not compiled.touches(path, read) or path == "resourceType":
            continue
        for bad in BAD_VALUES:
            yield {path: bad}
        yield {path: DELETE} if not path.endswith("]") else {path: None}
        yield {path: [value]}
        if isinstance(value, list) and value:
            yield {path: value[0]}
        if isinstance(value, dict):
            yield {f"{path}.valueString": "x"}  # a second value[x] where one is allowed
    for prefix in ("value", "effective", "onset", "performed"):
        yield {f"{prefix}String": "x"}
    yield {"valueDecimal": 1}


def counterexamples(
    resources: list[Json], reader_for: Callable[[str], CompiledReader], limit: int = 3
) -> list[str]:
    """Mutations where the compiled validator disagrees with R4B on a read element: R4B
    rejects it there and the compiled one accepts it or names another element, or the
    compiled one rejects what R4B accepts. Each (type, path shape, bad value) is tried on
    at most ``limit`` resources, which keeps the sweep to a few thousand validations."""
    tried: dict[tuple[str, str, str], int] = {}
    found: list[str] = []
    for resource in resources:
        rtype = resource["resourceType"]
        reader = reader_for(rtype)
        for changes in mutations(resource, reader.read):
            ((path, value),) = changes.items()
            shape = (rtype, _INDEXES.sub("", path), repr(value)[:20])
            if tried.get(shape, 0) >= limit:
                continue
            tried[shape] = tried.get(shape, 0) + 1
            try:
                mutated = mutate(resource, changes)
            except (KeyError, IndexError, TypeError, AttributeError):
                continue
            by_r4b = [p for p in r4b_errors(mutated) if compiled.touches(p, reader.read)]
            by_compiled = compiled_errors(mutated, reader)
            where = f"{rtype}/{resource.get('id')} {changes}"
            if by_r4b and not any(related(c, r) for c in by_compiled for r in by_r4b):
                found.append(f"{where}: R4B rejects {by_r4b}, compiled says {by_compiled}")
            if by_compiled and not r4b_errors(mutated):
                found.append(f"{where}: R4B accepts, compiled rejects {by_compiled}")
    return found


RESOURCES = relevant_resources()


def test_the_sweep_covers_every_relevant_resource_type() -> None:
    assert {r["resourceType"] for r in RESOURCES} == set(CLINICAL_TYPES)
    assert len(RESOURCES) > 100


def test_no_mutation_of_a_real_entry_is_judged_otherwise_than_by_r4b() -> None:
    assert counterexamples(RESOURCES, READERS.__getitem__) == []


def _sabotaged(rtype: str) -> CompiledReader:
    """The compiled reader with Quantity.value and Extension.url unchecked (any value)."""
    from pydantic_core import core_schema

    def loosen(kind: Complex) -> Complex:
        elements = {}
        for name, element in kind.elements.items():
            inner = element.type
            if isinstance(inner, Complex):
                inner = loosen(inner)
            elif (kind.name, name) in {("Quantity", "value"), ("Extension", "url")}:
                inner = core_schema.any_schema()
            elements[name] = Element(inner, element.many, False)
        return Complex(kind.name, elements, kind.choices)

    return CompiledReader(rtype, loosen(READ[rtype]))


def test_the_sweep_finds_a_validator_that_accepts_too_much() -> None:
    found = counterexamples(RESOURCES, _sabotaged, limit=1)
    assert any("valueQuantity.value" in f for f in found), found[:5]
    assert any(".url" in f for f in found), found[:5]


def test_an_unusable_entry_is_a_warning_naming_its_full_url_and_element() -> None:
    bad = mutate(OBSERVATION, {"id": DELETE, "component[0].valueQuantity.value": "x"})
    bad["code"] = {"coding": [{"system": HSC_SYSTEM, "code": "hip-rom-flexion"}]}
    payload = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": "urn:uuid:bad-one", "resource": bad}],
    }
    bundle, base = unwrap(payload)
    (entry,) = scan(bundle, base, INDEX).relevant
    issue = validate(entry, orjson.dumps(bad, option=orjson.OPT_SORT_KEYS))
    assert issue is not None and issue.severity == "warning" and issue.code == "invalid"
    assert issue.diagnostics.startswith("urn:uuid:bad-one: component[0].valueQuantity.value")
    assert issue.expression == ("Bundle.entry[0].resource.component[0].valueQuantity.value",)
    result = read_input(payload, INDEX, patient_id="p1")
    assert issue in result.warnings and result.used == ()
