"""Which patient the Bundle is about, and the check that every clinical entry is about them (§1.1).

Mixing patients is a caller bug that must be loud: a subject that is not the patient, a second
Patient entry, or a relevant resource without a subject raises :class:`UnprocessableInput`.
"""

from __future__ import annotations

import re

from service.errors import UnprocessableInput
from service.fhir.parse import Scan

#: ``Patient/{id}`` (optionally versioned) at the very end of the reference; anchored at the end
#: so that a base URL that itself holds ``/Patient/`` does not hide the real match.
_PATIENT_REF = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?\Z")


def patient_id_of(reference: str | None) -> str | None:
    """``123`` from ``Patient/123`` or a URL ending in ``/Patient/123``; else None."""
    if reference is None:
        return None
    match = _PATIENT_REF.search(reference)
    return match.group(1) if match else None


def resolve_patient(scan: Scan, base: str, patient_id: str | None = None) -> str:
    """``Patient/{id}`` for the evaluation, after checking every subject against it.

    The patient is the Patient entry, else ``patient_id`` (the ``/Patient/{id}/$op`` route),
    else the first subject in Bundle order; when both an entry and ``patient_id`` exist they
    must agree.
    """
    if len(scan.patients) > 1:
        raise UnprocessableInput(
            f"the Bundle has {len(scan.patients)} Patient entries; one evaluation is about "
            "one patient",
            [p.expr for p in scan.patients],
        )
    full_url: str | None = None
    pid: str | None
    if scan.patients:
        patient = scan.patients[0]
        full_url = patient.full_url
        raw_id = patient.resource.get("id")
        pid = raw_id if isinstance(raw_id, str) and raw_id else patient_id_of(full_url)
        if patient_id is not None and pid is not None and pid != patient_id:
            raise UnprocessableInput(
                f"the Patient entry is Patient/{pid}, but the request is for Patient/{patient_id}",
                [f"{patient.expr}.id"],
            )
        pid = pid or patient_id
        if pid is None:
            raise UnprocessableInput("the Patient entry has no id", [f"{patient.expr}.id"])
    elif patient_id is not None:
        pid = patient_id
    else:
        first = next((s for s in scan.subjects if s.reference is not None), None)
        if first is None:
            raise UnprocessableInput(
                "the Bundle names no patient: no Patient entry and no subject reference",
                [f"{base}.entry"],
            )
        pid = patient_id_of(first.reference)
        if pid is None:
            raise UnprocessableInput(
                f"{first.label}: subject {first.reference!r} is not a Patient reference",
                [f"{first.expr}.subject"],
            )
    own = f"Patient/{pid}"  # the usual reference: no pattern match needed
    for subject in scan.subjects:
        if subject.reference == own:
            continue
        if subject.reference is None:
            if subject.relevant:
                raise UnprocessableInput(
                    f"{subject.label} has no subject reference; every input must name the "
                    f"patient (Patient/{pid})",
                    [f"{subject.expr}.subject"],
                )
            continue
        if subject.reference != full_url and patient_id_of(subject.reference) != pid:
            raise UnprocessableInput(
                f"{subject.label}: subject {subject.reference!r} is not the patient being "
                f"evaluated (Patient/{pid})",
                [f"{subject.expr}.subject"],
            )
    return f"Patient/{pid}"
