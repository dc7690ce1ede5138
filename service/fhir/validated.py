"""Make a built resource JSON-ready, and check it against its R4B model (tests, self-check).

Also what R4B leaves unchecked and an R4 validator does not: reference targets
(:func:`reference_violations`) and the narrative (:func:`narrative_problems`).

``Model.model_validate(body).model_dump()`` costs about three times the validation alone
(fhir_core's serializer walks every element), and the builders already produce the JSON we
want. So: drop empty elements (FHIR JSON has no null, ``[]`` or ``{}``), validate with the R4B
class (required elements, types, no unknown elements), and hand back the builder's own data
made JSON-ready (datetimes as FHIR instants, UTC as ``Z``, as R4B writes them).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree

import orjson
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.resource import Resource
from pydantic import BaseModel

#: The integers orjson writes (others it refuses).
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1


def _leaf(value: Any) -> Any:
    """A leaf as orjson writes and reads it back: the plain JSON values (exact ``str``, ``bool``,
    ``int`` in orjson's range, finite ``float``) as they are, anything else (a datetime: an
    instant, UTC as ``Z``) through orjson itself."""
    kind = type(value)
    if (
        kind is str
        or kind is bool
        or (kind is int and _INT_MIN <= value <= _INT_MAX)
        or (kind is float and math.isfinite(value))
    ):
        return value
    return orjson.loads(orjson.dumps(value, option=orjson.OPT_UTC_Z))


def _pruned_dict(node: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        if type(key) is not str:
            raise TypeError("Dict key must be str")  # as orjson refuses it
        if type(value) is str:  # the common leaf first: never a container, never empty-equal
            out[key] = value
        elif isinstance(value, dict):
            if value := _pruned_dict(value):
                out[key] = value
        elif isinstance(value, list):
            if value := _pruned_list(value):
                out[key] = value
        elif value is not None and value != [] and value != {}:
            out[key] = _leaf(value)
    return out


def _pruned_list(node: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in node:
        if type(value) is str:
            out.append(value)
        elif isinstance(value, dict):
            if value := _pruned_dict(value):
                out.append(value)
        elif isinstance(value, list):
            if value := _pruned_list(value):
                out.append(value)
        elif value is not None and value != [] and value != {}:
            out.append(_leaf(value))
    return out


def json_ready(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` as JSON-ready data, without R4B validation: what the builders return on the
    request path (issue 14 item 1). Their output is validated in the test suite (every example,
    the property tests' random charts, every card suggestion: :mod:`service.fhir.emitted`) and
    once per process at start-up (:mod:`service.selfcheck`).

    Empty elements (None, ``[]``, ``{}``, also once their own empty elements are gone) are
    dropped; every dict and list is a new one (nothing of ``body`` is shared with the result);
    leaves are as ``orjson.loads(orjson.dumps(leaf, option=OPT_UTC_Z))`` gives them, which only
    the rare leaf that is not a plain JSON value (a datetime) actually goes through. The same
    result as the pruning walk followed by that orjson round trip of the whole body, at a
    fraction of its cost (issue 14: the per-call cost of the outputs)."""
    return _pruned_dict(body)


def checked(model: type[Resource], body: dict[str, Any]) -> dict[str, Any]:
    """``body`` as JSON-ready data, after ``model`` (an R4B class) has accepted it.

    :raise pydantic.ValidationError: the builder produced an invalid resource (a bug).
    """
    result = json_ready(body)
    model.model_validate(result)
    return result


# --- what R4B does not check: reference targets and the narrative (issue 10 item 4) -------------

_TYPE_ID = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(?:/_history/[^/]+)?$")
#: HTML elements a FHIR narrative may hold (R4 narrative rules: basic HTML, no active content).
_NARRATIVE_ELEMENTS = frozenset(
    "a abbr acronym b big blockquote br caption cite code col colgroup dd dfn div dl dt em h1 h2 "
    "h3 h4 h5 h6 hr i img li ol p pre q samp small span strong sub sup table tbody td tfoot th "
    "thead tr tt ul var".split()
)


def reference_type(reference: str, local: Mapping[str, str] | None = None) -> str | None:
    """The resource type a reference points at: ``Type/id`` (relative or at the end of a URL),
    or an entry of ``local`` (e.g. Bundle ``fullUrl`` -> type); None when it cannot be told."""
    if local and reference in local:
        return local[reference]
    match = _TYPE_ID.search(reference)
    return match.group(1) if match else None


def reference_violations(
    resource: Mapping[str, Any], local: Mapping[str, str] | None = None
) -> list[str]:
    """``path -> Type`` for each reference of ``resource`` to a type its R4 element does not
    allow (R4B does not enforce ``Reference(...)`` targets; an independent R4 validator does).

    Walks the validated R4B model, so the allowed types are the model's element definitions.
    References whose type cannot be told (``urn:uuid`` not in ``local``) are not reported.
    """
    model = get_fhir_model_class(str(resource["resourceType"])).model_validate(resource)
    found: list[str] = []
    _walk(model, str(resource["resourceType"]), local or {}, found)
    return found


def _walk(node: BaseModel, path: str, local: Mapping[str, str], found: list[str]) -> None:
    for name, info in type(node).model_fields.items():
        value = getattr(node, name, None)
        if value is None or name.endswith("__ext"):
            continue
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        allowed = extra.get("enum_reference_types")
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, BaseModel):
                continue
            here = f"{path}.{name}"
            if isinstance(item, Reference) and isinstance(allowed, list):
                target = reference_type(item.reference or "", local)
                if target is not None and "Resource" not in allowed and target not in allowed:
                    found.append(f"{here} -> {target}")
            _walk(item, here, local, found)


def narrative_problems(text: Mapping[str, Any] | None) -> list[str]:
    """What makes ``text`` not an R4 generated narrative (empty list: fine): status, an XHTML
    ``div`` in the XHTML namespace with some text (txt-2), only basic HTML (txt-1), no attributes
    that run code."""
    if not text:
        return ["no text"]
    problems = [] if text.get("status") == "generated" else ["status is not generated"]
    try:
        root = ElementTree.fromstring(str(text.get("div", "")))
    except ElementTree.ParseError as exc:
        return [*problems, f"div is not XML: {exc}"]
    ns = "{http://www.w3.org/1999/xhtml}"
    if root.tag != f"{ns}div":
        problems.append("the root is not an XHTML div")
    if not "".join(root.itertext()).strip():
        problems.append("the div holds no text")
    for element in root.iter():
        local_name = element.tag.removeprefix(ns)
        if not element.tag.startswith(ns) or local_name not in _NARRATIVE_ELEMENTS:
            problems.append(f"element {element.tag} is not allowed")
        problems += [f"attribute {a} is not allowed" for a in element.attrib if a.startswith("on")]
    return problems
