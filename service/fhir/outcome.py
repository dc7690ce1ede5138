"""Errors, warnings and ignored inputs rendered as R4 OperationOutcomes (standards.md §3.6)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from service.errors import Issue
from service.fhir.extraction import Extraction
from service.fhir.validated import json_ready

#: R4 ``issue.severity`` (required binding IssueSeverity).
ISSUE_SEVERITIES = frozenset({"fatal", "error", "warning", "information"})
#: R4 ``issue.code`` (required binding IssueType, http://hl7.org/fhir/R4/valueset-issue-type.html).
ISSUE_TYPES = frozenset(
    {
        "invalid", "structure", "required", "value", "invariant",
        "security", "login", "unknown", "expired", "forbidden", "suppressed",
        "processing", "not-supported", "duplicate", "multiple-matches", "not-found",
        "deleted", "too-long", "code-invalid", "extension", "too-costly", "business-rule",
        "conflict", "transient", "lock-error", "no-store", "exception", "timeout",
        "incomplete", "throttled", "informational",
    }
)  # fmt: skip

_NO_ISSUES = Issue("information", "informational", "No issues.")


def _issue(issue: Issue) -> dict[str, Any]:
    # An error page must render even if a caller passed a code outside the bindings: fall
    # back to the most general valid codes instead of failing inside an error handler.
    severity = issue.severity if issue.severity in ISSUE_SEVERITIES else "error"
    code = issue.code if issue.code in ISSUE_TYPES else "exception"
    out: dict[str, Any] = {"severity": severity, "code": code}
    if issue.diagnostics:
        out["diagnostics"] = issue.diagnostics
    if issue.expression:
        out["expression"] = list(issue.expression)
    return out


def operation_outcome(issues: Sequence[Issue]) -> dict[str, Any]:
    """A valid R4 OperationOutcome with one ``issue`` per :class:`Issue`, in order.

    With no issues, one ``information``/``informational`` issue says so (``issue`` is 1..*).
    """
    body = {
        "resourceType": "OperationOutcome",
        "issue": [_issue(i) for i in (issues or (_NO_ISSUES,))],
    }
    return json_ready(body)


def warnings_outcome(extraction: Extraction) -> dict[str, Any] | None:
    """The excluded and doubtful inputs, then the ignored ones; ``None`` when there are none."""
    issues = (*extraction.warnings, *extraction.ignored)
    if not issues:
        return None
    return operation_outcome(issues)
