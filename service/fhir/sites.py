"""Where an Observation was taken: side (§1.2), pain site (§1.1, §1.3) and method text.

Sides come from the laterality extension on ``bodySite``, else from a ``bodySite`` coding that
is itself a side qualifier; both are looked up in the ConceptMap ``side`` domain.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.core.findings import PainSite, Side
from service.fhir.concept_maps import ConceptMapIndex
from service.fhir.kinds import PAIN_SITE, SIDE, SIDES
from service.fhir.profiles import LATERALITY_URL


def sides_of(resource: Mapping[str, Any], index: ConceptMapIndex) -> frozenset[Side]:
    """Laterality extension on bodySite first, then a bodySite coding that is a side (§1.2)."""
    body = resource.get("bodySite")
    if not isinstance(body, Mapping):
        return frozenset()
    for extension in body.get("extension") or ():
        if isinstance(extension, Mapping) and extension.get("url") == LATERALITY_URL:
            target = index.lookup_codings(SIDE, extension.get("valueCodeableConcept"))
            if target is not None:
                return SIDES[target]
    target = index.lookup_codings(SIDE, body)
    return SIDES[target] if target is not None else frozenset()


def sides_of_any(resource: Mapping[str, Any], index: ConceptMapIndex) -> frozenset[Side]:
    """The sides of a Procedure or Condition: §1.2 read from any ``bodySite`` element (Q4-11)."""
    body = resource.get("bodySite")
    elements = body if isinstance(body, list) else [body] if isinstance(body, Mapping) else []
    found: set[Side] = set()
    for element in elements:
        if isinstance(element, Mapping):
            found |= sides_of({"bodySite": element}, index)
    return frozenset(found)


def region_codings(
    resource: Mapping[str, Any], index: ConceptMapIndex
) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """The ``bodySite`` and ``reasonCode`` codings of a Procedure that are not side qualifiers
    (Q6-01, Q9-01: a coding that only gives a side names nothing)."""

    def codings(name: str) -> list[Mapping[str, Any]]:
        raw = resource.get(name)
        concepts = raw if isinstance(raw, list) else [raw] if isinstance(raw, Mapping) else []
        return [
            coding
            for concept in concepts
            if isinstance(concept, Mapping)
            for coding in concept.get("coding") or ()
            if isinstance(coding, Mapping)
            and index.lookup(SIDE, coding.get("system"), coding.get("code")) is None
        ]

    return codings("bodySite"), codings("reasonCode")


def site_of(resource: Mapping[str, Any], index: ConceptMapIndex) -> PainSite | str | None:
    """A recognised pain site, else ``system|code`` (or ``text:...``) of an unknown one."""
    body = resource.get("bodySite")
    if not isinstance(body, Mapping):
        return None
    target = index.lookup_codings(PAIN_SITE, body)
    if target is not None:
        return PainSite(target)
    for coding in body.get("coding") or ():
        if not isinstance(coding, Mapping):
            continue
        system, code = coding.get("system"), coding.get("code")
        if index.lookup(SIDE, system, code) is None and (system or code):
            return f"{system or ''}|{code or ''}"
    text = body.get("text")
    return f"text:{text}" if isinstance(text, str) and text else None


def method_of(resource: Mapping[str, Any]) -> str | None:
    """``system|code`` of the first method coding, else its text (compared for equality)."""
    method = resource.get("method")
    if not isinstance(method, Mapping):
        return None
    for coding in method.get("coding") or ():
        if isinstance(coding, Mapping) and coding.get("code"):
            return f"{coding.get('system') or ''}|{coding['code']}"
    text = method.get("text")
    return text if isinstance(text, str) and text else None
