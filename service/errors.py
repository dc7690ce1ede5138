"""The service's one exception family; each adapter translates its libraries' errors into it.

Every error carries what an OperationOutcome needs (HTTP status, ``issue.code``, diagnostics,
FHIRPath ``expression``) and the HTTP headers its answer needs (``WWW-Authenticate``,
``Retry-After``), so one app-level Flask handler answers for the whole family, on every surface
(FHIR, CDS Hooks, audit export, ops). Errors caused by
the caller's input also subclass :class:`ValueError`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum, unique
from typing import NoReturn


@dataclass(frozen=True, slots=True)
class Issue:
    """One OperationOutcome issue, free of FHIR classes.

    ``code`` is a FHIR IssueType code (``invalid``, ``required``, ``value``, ``not-found``,
    ``processing``, ``not-supported``, ``too-costly``, ``security``, ``timeout``, ``exception``,
    ``informational``, ``transient``). ``expression`` holds FHIRPath locations.
    """

    severity: str
    code: str
    diagnostics: str
    expression: tuple[str, ...] = ()


class HipSpineError(Exception):
    """Root of the family. Subclasses set ``status`` and ``issue_code``."""

    status: int = 500
    issue_code: str = "exception"
    severity: str = "error"

    def __init__(
        self,
        diagnostics: str,
        expression: Sequence[str] = (),
        *,
        issues: Sequence[Issue] = (),
    ) -> None:
        super().__init__(diagnostics)
        self.diagnostics = diagnostics
        self.expression = tuple(expression)
        self._extra = tuple(issues)

    @property
    def issues(self) -> tuple[Issue, ...]:
        first = Issue(self.severity, self.issue_code, self.diagnostics, self.expression)
        return (first, *self._extra)

    @property
    def public_issues(self) -> tuple[Issue, ...]:
        """The issues the HTTP caller sees (all of them, unless a subclass hides detail)."""
        return self.issues

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers the answer must carry (none by default)."""
        return {}


class InvalidInput(HipSpineError, ValueError):
    """The request is not usable as sent (400)."""

    status = 400
    issue_code = "invalid"


class UnprocessableInput(HipSpineError, ValueError):
    """Well-formed, but violates the input contract, e.g. two patients in one Bundle (422)."""

    status = 422
    issue_code = "processing"


class NotFound(HipSpineError, LookupError):
    status = 404
    issue_code = "not-found"


class UnsupportedMediaType(HipSpineError, ValueError):
    status = 415
    issue_code = "not-supported"


class NotAcceptable(HipSpineError, ValueError):
    status = 406
    issue_code = "not-supported"


class PayloadTooLarge(HipSpineError, ValueError):
    status = 413
    issue_code = "too-costly"


class Unauthorized(HipSpineError):
    """401 with no detail (CDS Hooks best practice): the diagnostics are for the log only.

    :param challenge: the ``WWW-Authenticate`` value (RFC 9110 §11.6.1).
    """

    status = 401
    issue_code = "login"

    def __init__(
        self, diagnostics: str, expression: Sequence[str] = (), *, challenge: str = "Bearer"
    ) -> None:
        super().__init__(diagnostics, expression)
        self.challenge = challenge

    @property
    def public_issues(self) -> tuple[Issue, ...]:
        return (Issue("error", self.issue_code, "unauthorized"),)

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": self.challenge}


class Forbidden(HipSpineError):
    status = 403
    issue_code = "forbidden"


class PreconditionFailed(HipSpineError):
    """CDS Hooks: data the service needs cannot be had (412)."""

    status = 412
    issue_code = "incomplete"


class TooManyRequests(HipSpineError):
    status = 429
    issue_code = "throttled"

    def __init__(self, diagnostics: str, retry_after: int, expression: Sequence[str] = ()) -> None:
        super().__init__(diagnostics, expression)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class StoreUnavailable(HipSpineError):
    """The audit store cannot record: the recommendation must not be returned (503)."""

    status = 503
    issue_code = "transient"


class FhirServerError(HipSpineError):
    """A FHIR server the service called failed; subclasses say whether to retry."""

    status = 502
    issue_code = "exception"


class FhirServerUnavailable(FhirServerError):
    """Timeouts, 408, 429, 5xx: retryable."""

    issue_code = "transient"


class FhirServerRejected(FhirServerError):
    """Other 4xx: the request itself was refused."""

    issue_code = "processing"


@unique
class ExitCode(IntEnum):
    """The exit statuses of every ``hipspine`` command: one meaning per number, never reused
    (cumulus-etl ``errors.py`` style). The README's "Exit statuses" table lists them."""

    OK = 0
    #: an unexpected error (Python's own status for an uncaught exception)
    UNEXPECTED = 1
    #: the command line or the input is wrong (click's own usage errors also exit 2)
    INPUT = 2
    #: the audit store cannot be reached or written
    STORE = 3
    #: the FHIR server refused, failed, or is not on the allowlist
    FHIR_SERVER = 5
    #: ``hipspine audit verify`` found a broken hash chain
    CHAIN_BROKEN = 6


def fatal(message: str, code: ExitCode) -> NoReturn:
    """Print ``message`` to stderr and leave the command with ``code``: the CLIs' one way out."""
    print(message, file=sys.stderr)
    raise SystemExit(int(code))


def exit_code(exc: HipSpineError) -> ExitCode:
    """The exit status for an error of the family."""
    if isinstance(exc, FhirServerError | PreconditionFailed):
        return ExitCode.FHIR_SERVER
    return ExitCode.STORE if exc.status == 503 else ExitCode.INPUT
