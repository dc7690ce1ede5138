"""Observations no ConceptMap recognises, named (issue 11 item 6).

A chart coded with local codes, and no site ConceptMap for them, used to evaluate as if those
Observations were never recorded. Each one is now a warning naming the resource (id or fullUrl),
its codes and where (``….code``), so the operator sees what was skipped and what to map.

"Not recognised" means: none of its codings is from a code system any loaded ConceptMap maps
(a local flowsheet code, or no coding at all). A LOINC heart rate is recognised as a code the
rules do not read and is not listed: a chart's vitals and labs would otherwise bury the card.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from service.errors import Issue
from service.fhir.concept_maps import ConceptMapIndex
from service.fhir.parse import Scan, Subject, known_systems

#: The words that mark an unrecognised-code warning (the card summarises them by these).
MARK = "not recognised by any ConceptMap"
_CODE_IN_TEXT = re.compile(r": code (.+?) " + re.escape(MARK))
#: At most this many are listed one by one; the rest are counted in one more issue.
LISTED_MAX = 50
_SHOWN_CODES = 3


def _systems(resource: Mapping[str, object]) -> set[object]:
    concept = resource.get("code")
    codings = concept.get("coding") if isinstance(concept, Mapping) else None
    return {
        c.get("system")
        for c in (codings if isinstance(codings, list) else ())
        if isinstance(c, Mapping) and isinstance(c.get("code"), str)
    }


def _codes(resource: Mapping[str, object]) -> str:
    concept = resource.get("code")
    codings = concept.get("coding") if isinstance(concept, Mapping) else None
    shown: list[str] = []
    for coding in codings if isinstance(codings, list) else ():
        if isinstance(coding, Mapping):
            system, code = coding.get("system"), coding.get("code")
            if isinstance(code, str):
                shown.append(f"{system}|{code}" if isinstance(system, str) else code)
    if not shown:
        return "(no coded code)"
    more = f" (+{len(shown) - _SHOWN_CODES} more)" if len(shown) > _SHOWN_CODES else ""
    return ", ".join(shown[:_SHOWN_CODES]) + more


def unrecognised_observations(found: Scan, index: ConceptMapIndex) -> tuple[Issue, ...]:
    """One warning per Observation whose code no ConceptMap recognises, in Bundle order."""
    known = known_systems(index)

    def recognised(subject: Subject) -> bool:
        if subject.recognised is not None:  # worked out by the scan
            return subject.recognised
        return bool(_systems(subject.entry.resource) & known)

    skipped = [
        s.entry
        for s in found.subjects
        if not s.relevant and s.entry.rtype == "Observation" and not recognised(s)
    ]
    issues = [
        Issue(
            "warning",
            "not-supported",
            f"{entry.name}: code {_codes(entry.resource)} {MARK}; "
            "skipped (map it in a site ConceptMap in MAPPINGS_DIR)",
            (f"{entry.expr}.code",),
        )
        for entry in skipped[:LISTED_MAX]
    ]
    if len(skipped) > LISTED_MAX:
        issues.append(
            Issue(
                "warning",
                "not-supported",
                f"and {len(skipped) - LISTED_MAX} more Observations with codes no ConceptMap "
                "recognises; skipped",
            )
        )
    return tuple(issues)


def card_notes(warnings: Sequence[Issue]) -> list[str]:
    """The warnings as card notes, the unrecognised codes summarised in ONE first line (count
    and the first codes): the card shows only its first few notes, and a result that skipped
    recorded findings must say so where the clinician looks."""
    skipped = [
        w for w in warnings if MARK in w.diagnostics or "ConceptMap recognises" in w.diagnostics
    ]
    rest = [w.diagnostics for w in warnings if w not in skipped]
    if not skipped:
        return rest
    codes: list[str] = []  # bare codes: the card clips a note at 160 characters
    for warning in skipped:
        found = _CODE_IN_TEXT.search(warning.diagnostics)
        for shown_code in found.group(1).split(", ") if found else ():
            bare = shown_code.rpartition("|")[2].split(" (+")[0]
            if bare not in codes:
                codes.append(bare)
    count = sum(1 for w in skipped if _CODE_IN_TEXT.search(w.diagnostics))
    extra = next((w for w in skipped if not _CODE_IN_TEXT.search(w.diagnostics)), None)
    if extra is not None:  # the "and N more" issue
        more = re.search(r"and (\d+) more", extra.diagnostics)
        count += int(more.group(1)) if more else 0
    shown = ", ".join(codes[:_SHOWN_CODES]) + (", …" if len(codes) > _SHOWN_CODES else "")
    line = (
        f"Not read: {count} observation(s) with local codes ({shown}); the result leaves them "
        "out until they are mapped (site ConceptMap)"
    )
    return [line, *rest]
