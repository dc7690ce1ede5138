"""OperationOutcomes for errors, warnings and ignored inputs (standards.md §3.6, §7 item 44)."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from service import errors
from service.errors import HipSpineError, Issue
from service.fhir.outcome import (
    ISSUE_SEVERITIES,
    ISSUE_TYPES,
    operation_outcome,
    warnings_outcome,
)
from tests.fhir import assessment_samples as s


def test_each_issue_keeps_severity_code_diagnostics_and_expression() -> None:
    outcome = operation_outcome(
        [Issue("error", "invalid", "entry 2 is not an Observation", ("Bundle.entry[2]",))]
    )
    assert outcome == {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "invalid",
                "diagnostics": "entry 2 is not an Observation",
                "expression": ["Bundle.entry[2]"],
            }
        ],
    }
    assert OperationOutcome.model_validate(outcome).model_dump(mode="json") == outcome


def test_an_issue_without_expression_has_no_expression_element() -> None:
    (issue,) = operation_outcome([Issue("error", "not-found", "no such patient")])["issue"]
    assert "expression" not in issue


def test_an_empty_list_still_gives_a_valid_outcome_with_one_informational_issue() -> None:
    outcome = operation_outcome([])
    assert outcome["issue"] == [
        {"severity": "information", "code": "informational", "diagnostics": "No issues."}
    ]


def test_codes_outside_the_required_bindings_fall_back_to_general_ones() -> None:
    (issue,) = operation_outcome([Issue("bad", "oops", "x")])["issue"]
    assert (issue["severity"], issue["code"]) == ("error", "exception")


def _all_error_classes() -> list[type[HipSpineError]]:
    found: list[type[HipSpineError]] = []
    pending: list[type[HipSpineError]] = [HipSpineError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("cls", _all_error_classes(), ids=lambda c: c.__name__)
def test_every_error_class_renders_with_valid_issue_codes(cls: type[HipSpineError]) -> None:
    assert cls.issue_code in ISSUE_TYPES
    assert cls.severity in ISSUE_SEVERITIES
    error = errors.TooManyRequests("slow down", 5) if cls is errors.TooManyRequests else None
    issues = error.issues if error else cls("boom", ["Bundle.entry[0]"]).issues
    (issue,) = operation_outcome(issues)["issue"]
    assert (issue["severity"], issue["code"]) == (cls.severity, cls.issue_code)


def test_no_warnings_and_no_ignored_inputs_means_no_outcome() -> None:
    assert warnings_outcome(s.extraction()) is None


def test_warnings_come_first_then_ignored_inputs() -> None:
    outcome = warnings_outcome(s.extraction(warnings=(s.WARNING,), ignored=(s.IGNORED,)))
    assert outcome is not None
    assert [i["diagnostics"] for i in outcome["issue"]] == [
        s.WARNING.diagnostics,
        s.IGNORED.diagnostics,
    ]
    assert outcome["issue"][0]["expression"] == list(s.WARNING.expression)
