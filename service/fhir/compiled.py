"""Compiled validation of exactly the elements the input mapping reads (issue 14 item 2).

The readers (:mod:`service.fhir.readers`, :mod:`~service.fhir.times`, :mod:`~service.fhir.sites`,
:mod:`~service.fhir.units`, :mod:`~service.fhir.extract`, :mod:`~service.fhir.parse`) read a
small part of each relevant Observation, Condition and Procedure. :data:`READ` lists those
elements with their R4 types and cardinalities; from it one pydantic-core ``SchemaValidator``
per resource type is compiled at import. Its primitive schemas are the very ones
``fhir.resources`` R4B builds (``fhir_core.types``: string, code, uri, id, decimal, integer,
boolean, dateTime, instant), so a value of a read element is accepted exactly when R4B accepts
it; the R4 rules R4B checks in Python are kept too: one value per choice element (``value[x]``,
``effective[x]``, ``onset[x]``, ``performed[x]``, an extension's ``value[x]``), no null inside a
list of complex values, required elements (``Observation.status``/``code``, ``component.code``,
``Extension.url``, ``Condition.subject``, ``Procedure.status``/``subject``). Elements nobody
reads are not validated: a vendor's odd ``note`` no longer costs the entry.

A resource carrying primitive extensions (``_status``) is rare and has R4 rules of its own
(an extension may stand in for a required value): it goes to the R4B model, and only R4B's
errors in read elements count (:func:`r4b_problems`).

The tests (``tests/fhir/test_compiled_input.py``) check this against R4B: a table of valid and
invalid values per element, and a sweep over mutated real examples.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import pydantic
from fhir_core import types as r4b_types
from pydantic_core import CoreSchema, SchemaValidator, ValidationError
from pydantic_core import core_schema as cs

#: ``(FHIRPaths, first message, error count)`` of an unusable resource; None when usable.
Problems = tuple[tuple[str, ...], str, int] | None


def _primitive(annotated: Any) -> CoreSchema:
    """The core schema fhir.resources R4B validates this FHIR primitive with."""
    return pydantic.TypeAdapter(annotated).core_schema


STRING = _primitive(r4b_types.StringType)
CODE = _primitive(r4b_types.CodeType)
URI = _primitive(r4b_types.UriType)
ID = _primitive(r4b_types.IdType)
DECIMAL = _primitive(r4b_types.DecimalType)
INTEGER = _primitive(r4b_types.IntegerType)
BOOLEAN = _primitive(r4b_types.BooleanType)
DATETIME = _primitive(r4b_types.DateTimeType)
INSTANT = _primitive(r4b_types.InstantType)


@dataclass(frozen=True, slots=True)
class Element:
    """One read element: its type (a primitive schema or a :class:`Complex`), ``many`` for
    0..*, ``required`` for a minimum cardinality of 1 (then null is no value either)."""

    type: CoreSchema | Complex
    many: bool = False
    required: bool = False


@dataclass(frozen=True, slots=True)
class Complex:
    """A complex type reduced to its read elements, plus its choice elements (prefix -> the
    R4 type names allowed; a key with that prefix and another suffix is not an R4 element)."""

    name: str
    elements: Mapping[str, Element]
    choices: Mapping[str, frozenset[str]] | None = None


def _e(kind: CoreSchema | Complex, many: bool = False, required: bool = False) -> Element:
    return Element(kind, many, required)


_OBSERVATION_VALUES = frozenset(
    {
        "Quantity",
        "CodeableConcept",
        "String",
        "Boolean",
        "Integer",
        "Range",
        "Ratio",
        "SampledData",
        "Time",
        "DateTime",
        "Period",
    }
)
#: Extension.value[x] as R4B has it (R4's open type list; R4B adds RatioRange, drops Meta).
EXTENSION_VALUES = frozenset(
    {
        "Base64Binary", "Boolean", "Canonical", "Code", "Date", "DateTime", "Decimal", "Id",
        "Instant", "Integer", "Markdown", "Oid", "PositiveInt", "String", "Time", "UnsignedInt",
        "Uri", "Url", "Uuid", "Address", "Age", "Annotation", "Attachment", "CodeableConcept",
        "Coding", "ContactPoint", "Count", "Distance", "Duration", "HumanName", "Identifier",
        "Money", "Period", "Quantity", "Range", "Ratio", "Reference", "SampledData", "Signature",
        "Timing", "ContactDetail", "Contributor", "DataRequirement", "Expression",
        "ParameterDefinition", "RelatedArtifact", "TriggerDefinition", "UsageContext", "Dosage",
        "RatioRange", "CodeableReference",
    }
)  # fmt: skip

CODING = Complex("Coding", {"system": _e(URI), "code": _e(CODE)})
CODEABLE_CONCEPT = Complex("CodeableConcept", {"coding": _e(CODING, True), "text": _e(STRING)})
#: The laterality extension on bodySite (sites.py reads url and valueCodeableConcept).
EXTENSION = Complex(
    "Extension",
    {"url": _e(URI, required=True), "valueCodeableConcept": _e(CODEABLE_CONCEPT)},
    {"value": EXTENSION_VALUES},
)
BODY_SITE = Complex(
    "CodeableConcept",
    {**CODEABLE_CONCEPT.elements, "extension": _e(EXTENSION, True)},
)
QUANTITY = Complex(
    "Quantity",
    {
        "value": _e(DECIMAL),
        "comparator": _e(CODE),
        "unit": _e(STRING),
        "system": _e(URI),
        "code": _e(CODE),
    },
)
PERIOD = Complex("Period", {"start": _e(DATETIME), "end": _e(DATETIME)})
REFERENCE = Complex("Reference", {"reference": _e(STRING)})
META = Complex("Meta", {"lastUpdated": _e(INSTANT)})
COMPONENT = Complex(
    "Observation.component",
    {
        "code": _e(CODEABLE_CONCEPT, required=True),
        "valueQuantity": _e(QUANTITY),
        "valueCodeableConcept": _e(CODEABLE_CONCEPT),
        "valueInteger": _e(INTEGER),
        "dataAbsentReason": _e(CODEABLE_CONCEPT),
    },
    {"value": _OBSERVATION_VALUES},
)
_RESOURCE = {"id": _e(ID), "meta": _e(META)}

#: What the mapping and the rules read, per resource type (and nothing else is validated).
READ: Mapping[str, Complex] = {
    "Observation": Complex(
        "Observation",
        {
            **_RESOURCE,
            "status": _e(CODE, required=True),
            "code": _e(CODEABLE_CONCEPT, required=True),
            "subject": _e(REFERENCE),
            "effectiveDateTime": _e(DATETIME),
            "effectiveInstant": _e(INSTANT),
            "effectivePeriod": _e(PERIOD),
            "issued": _e(INSTANT),
            "valueQuantity": _e(QUANTITY),
            "valueCodeableConcept": _e(CODEABLE_CONCEPT),
            "valueBoolean": _e(BOOLEAN),
            "valueInteger": _e(INTEGER),
            "dataAbsentReason": _e(CODEABLE_CONCEPT),
            "interpretation": _e(CODEABLE_CONCEPT, True),
            "bodySite": _e(BODY_SITE),
            "method": _e(CODEABLE_CONCEPT),
            "component": _e(COMPONENT, True),
        },
        {
            "value": _OBSERVATION_VALUES,
            "effective": frozenset({"DateTime", "Period", "Timing", "Instant"}),
        },
    ),
    "Condition": Complex(
        "Condition",
        {
            **_RESOURCE,
            "clinicalStatus": _e(CODEABLE_CONCEPT),
            "verificationStatus": _e(CODEABLE_CONCEPT),
            "code": _e(CODEABLE_CONCEPT),
            "subject": _e(REFERENCE, required=True),
            "bodySite": _e(BODY_SITE, True),
            "onsetDateTime": _e(DATETIME),
            "onsetPeriod": _e(PERIOD),
            "recordedDate": _e(DATETIME),
        },
        {"onset": frozenset({"DateTime", "Age", "Period", "Range", "String"})},
    ),
    "Procedure": Complex(
        "Procedure",
        {
            **_RESOURCE,
            "status": _e(CODE, required=True),
            "code": _e(CODEABLE_CONCEPT),
            "subject": _e(REFERENCE, required=True),
            "bodySite": _e(BODY_SITE, True),
            "reasonCode": _e(CODEABLE_CONCEPT, True),
            "performedDateTime": _e(DATETIME),
            "performedPeriod": _e(PERIOD),
        },
        {"performed": frozenset({"DateTime", "Period", "String", "Age", "Range"})},
    ),
}


def _schema(kind: CoreSchema | Complex) -> CoreSchema:
    if not isinstance(kind, Complex):
        return kind
    fields: dict[str, cs.TypedDictField] = {}
    for name, element in kind.elements.items():
        schema = _schema(element.type)
        if element.many:  # R4B: a null inside a list of complex values is an error
            schema = cs.list_schema(schema)
        if not element.required or isinstance(element.type, Complex):
            schema = cs.nullable_schema(schema)  # R4B: a required complex value may be null
        fields[name] = cs.typed_dict_field(schema, required=element.required)
    # Other keys are not read (the choice check looks at the resource itself).
    return cs.typed_dict_schema(fields, extra_behavior="ignore")


def leaves(kind: Complex, prefix: str = "") -> Iterable[str]:
    """FHIRPaths (no indexes) of every read element of ``kind`` (choices as ``value[x]``)."""
    for name, element in kind.elements.items():
        path = f"{prefix}{name}"
        yield path
        if isinstance(element.type, Complex):
            yield from leaves(element.type, f"{path}.")
    for choice in kind.choices or {}:
        yield f"{prefix}{choice}[x]"


_INDEX = re.compile(r"\[\d+\]")
_CHOICE_LIST = re.compile(r"from this list \['([a-z]+)[A-Z]")


def touches(path: str, read: frozenset[str]) -> bool:
    """Whether an element at ``path`` is read, holds a read element, or is part of a read
    primitive (its ``_x`` extension)."""
    bare = _INDEX.sub("", path)
    if not bare or bare in read:
        return True
    if any(p.startswith(f"{bare}.") for p in read):
        return True
    return any(bare.startswith(f"{p}.") for p in _primitives(read))


@functools.cache
def _primitives(read: frozenset[str]) -> frozenset[str]:
    return frozenset(p for p in read if not any(o.startswith(f"{p}.") for o in read))


def _choice_path(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


class CompiledReader:
    """The compiled validator of one resource type's read elements."""

    def __init__(self, rtype: str, spec: Complex | None = None) -> None:
        self.rtype = rtype
        self.spec = spec if spec is not None else READ[rtype]
        self.read = frozenset(leaves(self.spec))
        self._validator = SchemaValidator(_schema(self.spec))
        self._choices = _Choices.of(self.spec)
        self._model: Any = None  # the R4B class, for resources with primitive extensions

    def check(self, document: bytes, resource: Mapping[str, Any] | None = None) -> Problems:
        """Problems of the read elements of ``document`` (canonical JSON), None when usable.

        ``resource`` is ``document`` already parsed (else it is parsed here when needed)."""
        if b'"_' in document or b'__ext"' in document:
            return self.r4b_problems(document)
        try:
            self._validator.validate_json(document)
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_context=False, include_input=False)
            paths = tuple(dict.fromkeys(loc_path(e["loc"]) for e in errors))
            return paths[:MAX_EXPRESSIONS], str(errors[0]["msg"]), len(errors)
        if self._choices is None:
            return None
        if resource is None:
            resource = orjson.loads(document)
        found = choice_problems(self._choices, resource, "", [])
        if not found:
            return None
        paths = tuple(dict.fromkeys(p for problem in found for p in problem[0]))
        return paths[:MAX_EXPRESSIONS], found[0][1], len(found)

    def r4b_problems(self, document: bytes) -> Problems:
        """R4B's errors in read elements (errors elsewhere are not the mapping's concern)."""
        if self._model is None:
            from fhir.resources.R4B import get_fhir_model_class

            self._model = get_fhir_model_class(self.rtype)
        try:
            self._model.model_validate_json(document)
        except pydantic.ValidationError as exc:
            errors = [e for e in exc.errors() if touches(r4b_path(e), self.read)]
            if errors:
                paths = tuple(dict.fromkeys(r4b_path(e) for e in errors))
                return paths[:MAX_EXPRESSIONS], str(errors[0]["msg"]), len(errors)
        return None


MAX_EXPRESSIONS = 5


def loc_path(loc: Sequence[int | str]) -> str:
    """A pydantic error location as a FHIRPath (``_status`` is the extension of ``status``)."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            name = part.removesuffix("__ext").lstrip("_")
            parts.append(f".{name}" if parts else name)
    return "".join(parts)


def r4b_path(error: Mapping[str, Any]) -> str:
    """The FHIRPath an R4B error is about; a choice error names its ``value[x]``."""
    path = loc_path(error["loc"])
    found = _CHOICE_LIST.search(str(error.get("msg", "")))
    if found is not None:
        return f"{path}.{found.group(1)}[x]" if path else f"{found.group(1)}[x]"
    return path


@dataclass(frozen=True, slots=True)
class _Choices:
    """Where the choice rules apply inside one complex type (precomputed once)."""

    choices: tuple[tuple[str, frozenset[str]], ...]
    children: tuple[tuple[str, bool, _Choices], ...]  # (element, many, its plan)
    prefixes: tuple[str, ...]  # every choice prefix here, for one str.startswith per key

    @classmethod
    def of(cls, kind: Complex) -> _Choices | None:
        children = []
        for name, element in kind.elements.items():
            if isinstance(element.type, Complex):
                plan = cls.of(element.type)
                if plan is not None:
                    children.append((name, element.many, plan))
        choices = tuple((kind.choices or {}).items())
        if not choices and not children:
            return None
        return cls(choices, tuple(children), tuple(prefix for prefix, _ in choices))


Found = list[tuple[tuple[str, ...], str]]


def choice_problems(plan: _Choices | None, value: Any, where: str, found: Found) -> Found:
    """R4 choice rules in the resource (its read elements already valid): one value per choice
    element, no type name R4 does not have. Appends ``(FHIRPaths, message)`` to ``found``."""
    if plan is None or not isinstance(value, dict | Mapping):
        return found
    if plan.prefixes:
        given = [k for k, v in value.items() if k.startswith(plan.prefixes) and v is not None]
        if given:
            _check_choices(plan, given, where, found)
    for name, many, child_plan in plan.children:
        child = value.get(name)
        if child is None:
            continue
        path = _choice_path(where, name)
        if many and isinstance(child, list):
            for i, item in enumerate(child):
                choice_problems(child_plan, item, f"{path}[{i}]", found)
        elif not many:
            choice_problems(child_plan, child, path, found)
    return found


def _check_choices(plan: _Choices, keys: list[str], where: str, found: Found) -> None:
    for prefix, types in plan.choices:
        given = [k for k in keys if k.startswith(prefix)]
        unknown = [k for k in given if k[len(prefix) :] not in types]
        if unknown:
            found.append(
                (
                    tuple(_choice_path(where, k) for k in unknown),
                    f"{unknown[0]} is not an R4 element ({prefix}[x] allows "
                    f"{', '.join(sorted(types))[:120]}…)",
                )
            )
        elif len(given) > 1:
            found.append(
                (
                    tuple(_choice_path(where, k) for k in given),
                    f"{prefix}[x] has {len(given)} values ({', '.join(given)}); R4 allows one",
                )
            )


#: One compiled reader per relevant resource type.
READERS: Mapping[str, CompiledReader] = {rtype: CompiledReader(rtype) for rtype in READ}
