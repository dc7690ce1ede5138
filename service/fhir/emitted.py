"""Everything we check about a resource the service emits, in one call (issue 14 item 1).

The builders return their data without R4B validation on the request path
(:func:`service.fhir.validated.json_ready`); the test suite runs :func:`emitted_problems` on every
resource emitted for every example, every property-test chart and every card suggestion, and
:mod:`service.selfcheck` runs it once per process at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from service.fhir.required_bindings import binding_violations
from service.fhir.validated import narrative_problems, reference_violations

#: Resource types whose builders always write a narrative (the others write none).
NARRATED = frozenset({"ClinicalImpression", "CarePlan"})


def emitted_problems(
    resource: Mapping[str, Any], local: Mapping[str, str] | None = None
) -> list[str]:
    """What is wrong with ``resource`` (empty list: nothing): R4B validation (required elements,
    types, no unknown elements), reference targets, the narrative, required bindings. Walks the
    entries of a Bundle; ``local`` maps ``urn:uuid`` references to resource types (the Bundle's own
    ``fullUrl`` entries are added)."""
    rtype = str(resource.get("resourceType", ""))
    try:
        get_fhir_model_class(rtype).model_validate(resource)
    except (KeyError, ValidationError) as exc:
        return [f"{rtype}: not valid R4B: {exc}".replace("\n", " ")]
    problems = [f"{rtype}: binding {v}" for v in binding_violations(resource)]
    if rtype == "Bundle":
        entries = [e for e in resource.get("entry", []) if isinstance(e.get("resource"), Mapping)]
        inner = dict(local or {})
        inner |= {e["fullUrl"]: e["resource"]["resourceType"] for e in entries if "fullUrl" in e}
        for entry in entries:  # bindings of the entries were reported with the Bundle's
            problems += _own_problems(entry["resource"], inner)
        return problems
    return problems + _own_problems(resource, local or {})


def _own_problems(resource: Mapping[str, Any], local: Mapping[str, str]) -> list[str]:
    rtype = str(resource.get("resourceType", ""))
    try:
        get_fhir_model_class(rtype).model_validate(resource)
        problems = [f"{rtype}: reference {v}" for v in reference_violations(resource, local)]
    except (KeyError, ValidationError) as exc:
        return [f"{rtype}: not valid R4B: {exc}".replace("\n", " ")]
    if rtype in NARRATED or "text" in resource:
        problems += [f"{rtype}: narrative {p}" for p in narrative_problems(resource.get("text"))]
    return problems
