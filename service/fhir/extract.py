"""The FHIR input adapter's entry point: a Bundle (or Parameters) in, an Extraction out (§1).

``read_input`` applies the whole input contract of clinical-spec.md §1: subject checks,
per-entry validation, status filtering, exclusion (data absent, unit, range, side) before
latest-value selection, and the digests the audit record and output ids derive from.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from datetime import date
from typing import Any

from service.core.findings import ConditionKind
from service.core.thresholds import Thresholds
from service.errors import Issue
from service.fhir.concept_maps import ConceptMapIndex
from service.fhir.exclusion import Excluded
from service.fhir.extraction import Extraction, InputRef
from service.fhir.parse import Entry, Scan, canonical_json, scan, unwrap, validate
from service.fhir.prefilter import prefilter
from service.fhir.readers import history_readings, observation_readings, read_observation
from service.fhir.selection import Reading, assemble
from service.fhir.subjects import patient_id_of, resolve_patient
from service.fhir.times import birth_date
from service.fhir.unrecognised import unrecognised_observations

#: Observation.status (§1.1): used; used with a warning; ignored and listed as ignored.
USED_STATUSES = frozenset({"final", "amended", "corrected"})
PRELIMINARY = "preliminary"
IGNORED_STATUSES = frozenset({"registered", "cancelled", "entered-in-error", "unknown"})
#: Condition statuses that count (clinicalStatus absent also counts) and that void it.
CONDITION_ACTIVE = frozenset({"active", "recurrence", "relapse"})
CONDITION_VOID = frozenset({"refuted", "entered-in-error"})
PROCEDURE_DONE = "completed"


def _codes(concept: object) -> set[str]:
    if not isinstance(concept, Mapping):
        return set()
    return {
        c["code"]
        for c in concept.get("coding") or ()
        if isinstance(c, Mapping) and isinstance(c.get("code"), str)
    }


def _ignore_reason(entry: Entry) -> tuple[str, str] | None:
    """``(reason, field)`` when the entry's status means it is ignored; Excluded if unknown."""
    resource = entry.resource
    if entry.rtype == "Observation":
        status = resource.get("status")
        if status in USED_STATUSES or status == PRELIMINARY:
            return None
        if status in IGNORED_STATUSES:
            return f"status '{status}'", "status"
        raise Excluded(f"status {status!r} is not an Observation status", "status", "code-invalid")
    if entry.rtype == "Condition":
        clinical = _codes(resource.get("clinicalStatus"))
        # Q10-01: a malignancy Condition counts whatever its clinicalStatus (inactive,
        # remission, resolved too): a history of cancer never goes stale (Q7-01).
        malignancy = entry.kinds[0].member is ConditionKind.MALIGNANCY
        if "clinicalStatus" in resource and not clinical & CONDITION_ACTIVE and not malignancy:
            return f"clinicalStatus '{', '.join(sorted(clinical)) or '?'}'", "clinicalStatus"
        void = _codes(resource.get("verificationStatus")) & CONDITION_VOID
        if void:
            return f"verificationStatus '{', '.join(sorted(void))}'", "verificationStatus"
        return None
    status = resource.get("status")
    if status != PROCEDURE_DONE:
        return f"status '{status}' (only completed Procedures count)", "status"
    return None


def read_input(
    payload: Mapping[str, Any],
    index: ConceptMapIndex,
    *,
    patient_id: str | None = None,
    thresholds: Thresholds | None = None,
) -> Extraction:
    """Read a FHIR R4 Bundle (or Parameters with ``observations``) into an Extraction.

    :raise InvalidInput: not a Bundle, no ``entry`` array, Parameters without ``observations``.
    :raise UnprocessableInput: a subject that is not the patient, two Patient entries, a
        relevant resource without subject, or a Patient that contradicts ``patient_id``.
    """
    bundle, base = unwrap(payload)
    found = scan(bundle, base, index)
    patient_ref = resolve_patient(found, base, patient_id)
    warnings: list[Issue] = []
    ignored: list[Issue] = []
    readings: list[Reading] = []
    documents: dict[int, bytes] = {}
    for entry in found.relevant:
        documents[entry.index] = canonical_json(entry.resource)
        problem = validate(entry, documents[entry.index])
        if problem is not None:
            warnings.append(problem)
            continue
        if len(entry.kinds) > 1:
            codes = ", ".join(spec.code for spec in entry.kinds)
            warnings.append(
                Issue(
                    "warning",
                    "code-invalid",
                    f"{entry.name}: its codes mean different inputs ({codes}); excluded",
                    (f"{entry.expr}.code",),
                )
            )
            continue
        spec = entry.kinds[0]
        try:
            reason = _ignore_reason(entry)
            if reason is not None:
                ignored.append(
                    Issue(
                        "information",
                        "informational",
                        f"{entry.name}: ignored, {reason[0]}",
                        (f"{entry.expr}.{reason[1]}",),
                    )
                )
                continue
            if entry.rtype == "Observation":
                context = read_observation(entry, spec, index)
                readings += observation_readings(context)
                warnings += context.warnings
            else:
                readings += history_readings(entry, spec, index)
        except Excluded as exc:
            warnings.append(
                Issue(
                    "warning",
                    exc.code,
                    f"{entry.name}: {exc.reason}; excluded",
                    (f"{entry.expr}.{exc.field}",),
                )
            )
    warnings += unrecognised_observations(found, index)  # issue 11 item 6 (integration)
    pre = prefilter(readings, thresholds if thresholds is not None else Thresholds())
    warnings += pre.warnings
    selection = assemble(pre.readings)
    warnings += selection.warnings
    born, born_warning = _birth_date(found, patient_ref)
    if born_warning is not None:
        warnings.append(born_warning)
    findings = dataclasses.replace(
        selection.findings,
        reference_time=pre.reference_time,
        birth_date=born,
        replaced_sides=pre.replaced_sides,
        arthroplasty_unsided=pre.arthroplasty_unsided,
        replaced_hip_tests=pre.replaced_hip_tests,
    )
    used: dict[str, InputRef] = {}
    for entry in selection.used:
        used.setdefault(entry.ref, InputRef(entry.ref, entry.kinds[0].group, entry.rtype))
        if entry.rtype == "Observation" and entry.resource.get("status") == PRELIMINARY:
            warnings.append(
                Issue(
                    "warning",
                    "informational",
                    f"{entry.name}: status is preliminary; used, but it may still change",
                    (f"{entry.expr}.status",),
                )
            )
    used_hash = hashlib.sha256(patient_ref.encode())
    for entry in sorted(selection.used, key=lambda e: (e.ref, e.index)):
        document = documents[entry.index]
        used_hash.update(b"\n%d:%s\n%d:" % (len(entry.ref), entry.ref.encode(), len(document)))
        used_hash.update(document)
    return Extraction(
        patient_ref=patient_ref,
        findings=findings,
        used=tuple(used.values()),
        warnings=tuple(warnings),
        ignored=tuple(ignored),
        input_digest=hashlib.sha256(canonical_json(payload)).hexdigest(),
        used_digest=used_hash.hexdigest(),
        relevant_count=len(found.relevant),
    )


def _birth_date(found: Scan, patient_ref: str) -> tuple[date | None, Issue | None]:
    """The evaluated Patient's ``birthDate`` (Q10-08, Q11-06), None when absent or unreadable."""
    wanted = patient_id_of(patient_ref)
    for entry in found.patients:
        if entry.resource.get("id") not in (None, wanted):
            continue
        raw = entry.resource.get("birthDate")
        if raw is None:
            return None, None
        try:
            return birth_date(raw), None
        except Excluded as exc:
            return None, Issue(
                "warning",
                exc.code,
                f"{entry.name}: birthDate {exc.reason}; age unknown",
                (f"{entry.expr}.birthDate",),
            )
    return None, None
