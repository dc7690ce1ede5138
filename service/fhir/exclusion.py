"""The one internal signal of §1.1 exclusion: an input is as if absent, with a reason."""

from __future__ import annotations


class Excluded(Exception):
    """Raised by the readers; the extractor turns it into a warning Issue for the entry.

    ``field`` is the FHIRPath of the offending element relative to the resource (or component),
    ``code`` the OperationOutcome issue type.
    """

    def __init__(self, reason: str, field: str, code: str = "value") -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.code = code
