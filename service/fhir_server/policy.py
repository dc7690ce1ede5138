"""Rules for calling a FHIR server: the allowlist, plain-http refusal, deadlines, Retry-After.

Pure functions and one small clock-based class, shared by :mod:`service.fhir_server.client` (the one
FHIR client) and, through it, the CDS Hooks fallback fetch (standards.md §1.4, checklist 18, 39).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit, urlunsplit

from service.errors import PreconditionFailed

_LOOPBACK_NAMES = frozenset({"localhost"})


class FhirServerNotAllowed(PreconditionFailed):
    """The server is not on the allowlist, or is plain http outside loopback (nothing sent)."""

    issue_code = "security"


class Deadline:
    """An overall time budget in seconds, read with a monotonic clock."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._end = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self._end - self._clock())


_DOT = frozenset({".", "%2e"})
_DOT_DOT = frozenset({"..", ".%2e", "%2e.", "%2e%2e"})


def normalise_url(url: str) -> str:
    """``url`` with its path's dot segments resolved (RFC 3986 §5.2.4), as it will be sent.

    urllib3 removes ``.`` and ``..`` before sending, and servers decode ``%2e``: a ``next``
    link ``[base]/../admin`` is a request for ``/admin``. Percent-encoded dots count as dots.
    """
    parts = urlsplit(url)
    segments = parts.path.split("/")
    if not any(seg.lower() in _DOT or seg.lower() in _DOT_DOT for seg in segments):
        return url
    out: list[str] = []
    for seg in segments[1:] if parts.path.startswith("/") else segments:
        low = seg.lower()
        if low in _DOT:
            continue
        if low in _DOT_DOT:
            if out:
                out.pop()
            continue
        out.append(seg)
    last = segments[-1].lower()
    if last in _DOT or last in _DOT_DOT:
        out.append("")  # "a/b/.." is the folder "a/"
    path = "/" + "/".join(out)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def on_allowlist(url: str, prefixes: Sequence[str]) -> bool:
    """True when ``url`` starts with an allowlisted prefix at a path boundary.

    ``https://fhir.example.org`` allows ``https://fhir.example.org/r4/Patient/1`` but not
    ``https://fhir.example.org.evil.test/``; dot segments are resolved first
    (:func:`normalise_url`), so ``https://fhir.example.org/r4/../admin`` is not under ``/r4``.
    """
    url = normalise_url(url)
    for prefix in prefixes:
        p = prefix.rstrip("/")
        if not p:
            continue
        if url == p or url.startswith((p + "/", p + "?")):
            return True
    return False


def is_loopback(url: str) -> bool:
    """True when the URL's host is ``localhost`` or a loopback address."""
    host = (urlsplit(url).hostname or "").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_scheme(url: str, *, allow_http: bool, what: str = "fhirServer") -> None:
    """Refuse anything but https, except plain http on loopback or when ``allow_http``.

    :raise FhirServerNotAllowed: the URL must not be called.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme not in {"http", "https"}:
        raise FhirServerNotAllowed(f"{what} must be an http(s) URL", (what,))
    if scheme == "http" and not is_loopback(url) and not allow_http:
        raise FhirServerNotAllowed(f"{what} must use https", (what,))


def check_url(
    url: str, *, allowlist: Sequence[str], allow_http: bool, what: str = "fhirServer"
) -> None:
    """Refuse, before any request, a URL the service must not call.

    :raise FhirServerNotAllowed: not http(s), not on the allowlist, or plain http outside
        loopback without ``allow_http`` (development only).
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme not in {"http", "https"}:
        raise FhirServerNotAllowed(f"{what} must be an http(s) URL", (what,))
    if not on_allowlist(url, allowlist):
        raise FhirServerNotAllowed(
            f"{what} is not on the allowlist (FHIR_SERVER_ALLOWLIST)", (what,)
        )
    check_scheme(url, allow_http=allow_http, what=what)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP-date).

    A date in the past gives 0; an absent or unreadable value gives ``None`` (the caller
    then uses its own back-off).
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP-date is always GMT (RFC 9110 §5.6.7)
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds)
