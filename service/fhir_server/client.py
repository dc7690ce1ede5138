"""The one FHIR REST client: allowlist first, (connect, read) timeouts, retries, failures by kind.

Used by the CLI (fetch a patient, write results back) and by the CDS Hooks fallback fetch.
Every URL is checked against the allowlist before a byte is sent; redirects are not followed;
429 and 503 are retried with back-off honouring ``Retry-After`` while the retry budget and the
caller's deadline allow. Failures are :class:`FhirServerUnavailable` (timeouts, network, 408,
429, 5xx: may be retried later) or :class:`FhirServerRejected` (other 4xx, redirects, answers
that are not FHIR JSON), each quoting the server's OperationOutcome.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import urlencode, urljoin

import requests

from service.errors import FhirServerRejected, FhirServerUnavailable
from service.fhir_server.auth import Auth, BearerToken, SmartBackendAuth
from service.fhir_server.policy import (
    Deadline,
    FhirServerNotAllowed,
    check_scheme,
    check_url,
    normalise_url,
    parse_retry_after,
)
from service.outbound import DeadlineGuard, mount_deadline_adapter

FHIR_JSON = "application/fhir+json"
#: A response larger than this is refused (a patient's record is far smaller).
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
#: ``next`` links followed per search, at most (a loop guard).
MAX_PAGES = 50
#: Statuses retried after a wait: throttled and "come back later" (RFC 9110 §15.6.4).
RETRY_STATUSES = frozenset({429, 503})
#: Statuses that mean "try again later" without retrying here: timeouts and server errors.
UNAVAILABLE_STATUSES = frozenset({408, 429})
#: First back-off when the server gives no Retry-After; doubled per attempt.
BACKOFF_SECONDS = 0.5

#: Told of every call: ``(base URL, HTTP status or failure kind, seconds)``; the composition
#: root passes the metrics' recorder, so this package needs no metrics module.
CallObserver = Callable[[str, int | str, float], None]


def _ignore_call(server: str, status: int | str, seconds: float) -> None:
    """The default observer: calls go unrecorded."""


class ResourceNotFound(FhirServerRejected):
    """404 or 410: the resource read is not on the server."""


class FhirServerClient:
    """A FHIR R4 server over one pooled ``requests.Session``. Use it in a ``with`` block.

    :param allowlist: URL prefixes that may be called; the base URL must be on it.
    :param allow_http: allow plain http outside loopback (development only).
    :param deadline: the caller's overall budget; each timeout and wait is capped by it.
    :param retry_budget: seconds that may be spent waiting before retries, in all.
    :param observe: told of every HTTP call made (metrics); ignored by default.
    """

    def __init__(
        self,
        base_url: str,
        *,
        allowlist: Sequence[str],
        allow_http: bool = False,
        auth: Auth | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        deadline: Deadline | None = None,
        retry_budget: float = 30.0,
        max_retries: int = 4,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        observe: CallObserver | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.allowlist = tuple(allowlist)
        self.allow_http = allow_http
        self.auth = auth
        self.timeouts = (connect_timeout, read_timeout)
        self.deadline = deadline
        self.retry_budget = retry_budget
        self.max_retries = max_retries
        self._session = session or requests.Session()
        mount_deadline_adapter(self._session)
        self._session.headers["Accept"] = FHIR_JSON
        self._sleep = sleep
        self._observe = observe or _ignore_call
        self._open = False

    def __enter__(self) -> FhirServerClient:
        self._open = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._open = False
        self._session.close()

    # Reads ------------------------------------------------------------------------------

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        """``GET [base]/Type/id``."""
        return self.get(f"{resource_type}/{resource_id}", what=f"the {resource_type} read")

    def search(self, resource_type: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Every resource matched by a search, across all pages (``search.mode`` match)."""
        what = f"the {resource_type} search"
        first = self.get(f"{resource_type}?{urlencode(params)}", what=what)
        found: list[dict[str, Any]] = []
        for page in self.pages(first, what=what):
            for entry in page.get("entry") or ():
                search = entry.get("search") if isinstance(entry, dict) else None
                if isinstance(search, dict) and search.get("mode") not in (None, "match"):
                    continue
                resource = entry.get("resource") if isinstance(entry, dict) else None
                if isinstance(resource, dict) and resource.get("resourceType") == resource_type:
                    found.append(resource)
        return found

    def pages(self, first: dict[str, Any], *, what: str) -> Iterator[dict[str, Any]]:
        """``first`` and each page after it, following ``next`` links (on the allowlist)."""
        if first.get("resourceType") != "Bundle":
            raise FhirServerRejected(f"the answer to {what} is not a Bundle")
        yield first
        url, count = next_link(first), 1
        while url is not None:
            if count >= MAX_PAGES:
                raise FhirServerRejected(f"{what} has more than {MAX_PAGES} pages")
            page = self.get(url, what=what)
            if page.get("resourceType") != "Bundle":
                raise FhirServerRejected(f"a page of {what} is not a Bundle")
            yield page
            url, count = next_link(page), count + 1

    def get(self, url: str, *, what: str) -> dict[str, Any]:
        """GET ``url`` (absolute, or relative to the base) as a JSON object."""
        return self.request("GET", url, what=what)

    # Writes -----------------------------------------------------------------------------

    def transaction(self, bundle: Mapping[str, Any]) -> dict[str, Any]:
        """POST a ``transaction`` Bundle to the base; the transaction-response Bundle."""
        if bundle.get("type") != "transaction":
            raise ValueError("transaction() needs a Bundle of type transaction")
        answer = self.request("POST", "", body=bundle, what="the transaction")
        if answer.get("resourceType") != "Bundle":
            raise FhirServerRejected("the answer to the transaction is not a Bundle")
        return answer

    # Transport --------------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        what: str,
        body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send one FHIR request (retrying 429/503 up to ``max_retries``); the JSON answered.

        :raise FhirServerNotAllowed: the URL is refused (nothing is sent).
        :raise FhirServerUnavailable: timeout, network error, 408, 429, 5xx, deadline.
        :raise FhirServerRejected: other 4xx, a redirect, or an answer that is not JSON.
        """
        if not self._open:
            raise RuntimeError("FhirServerClient must be used inside a `with` block")
        # Checked and sent as resolved: a "next" link's "/../" cannot leave the allowlisted path.
        absolute = normalise_url(urljoin(self.base_url + "/", url) if url else self.base_url)
        check_url(absolute, allowlist=self.allowlist, allow_http=self.allow_http)
        headers = {"Content-Type": FHIR_JSON} if body is not None else {}
        data = json.dumps(body).encode() if body is not None else None
        waited, attempt, refreshed = 0.0, 0, False
        while True:
            if self.auth is not None:
                headers["Authorization"] = self.auth.header(self)
            status, payload, retry_after = self._send(method, absolute, headers, data, what)
            if status == 401 and self.auth is not None and not refreshed:
                refreshed = True  # an expired cached token: one more try with a fresh one
                if self.auth.invalidate():
                    continue
            if status in RETRY_STATUSES and attempt < self.max_retries:
                wait = parse_retry_after(retry_after)
                wait = BACKOFF_SECONDS * 2**attempt if wait is None else wait
                if waited + wait > self.retry_budget or wait >= self._remaining():
                    over = f"; a retry in {wait:g} s is over the budget"
                    raise self._error(status, payload, what, over)
                self._sleep(wait)
                waited, attempt = waited + wait, attempt + 1
                continue
            if 200 <= status < 300:
                return self._json(payload, what)
            raise self._error(status, payload, what)

    def get_absolute(self, url: str, *, what: str) -> dict[str, Any]:
        """GET a URL outside the allowlist's FHIR paths (SMART discovery), https or loopback."""
        return self._plain("GET", url, {"Accept": "application/json"}, None, what)

    def post_form(self, url: str, form: dict[str, str], *, what: str) -> dict[str, Any]:
        """POST a form (the SMART token request), https or loopback only."""
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        return self._plain("POST", url, headers, urlencode(form).encode(), what)

    def _plain(
        self, method: str, url: str, headers: dict[str, str], data: bytes | None, what: str
    ) -> dict[str, Any]:
        """One unretried request outside the allowlist (https or loopback only); its JSON."""
        check_scheme(url, allow_http=self.allow_http, what=what)
        status, payload, _ = self._send(method, url, headers, data, what)
        if not 200 <= status < 300:
            raise self._error(status, payload, what)
        return self._json(payload, what)

    def effective_timeouts(self, what: str) -> tuple[float, float]:
        """(connect, read) timeouts, each capped by what is left of the deadline."""
        remaining = self._remaining()
        if remaining <= 0.0:
            raise FhirServerUnavailable(f"no time left for {what} on the FHIR server")
        return (min(self.timeouts[0], remaining), min(self.timeouts[1], remaining))

    def _remaining(self) -> float:
        return float("inf") if self.deadline is None else self.deadline.remaining()

    def _send(
        self, method: str, url: str, headers: dict[str, str], data: bytes | None, what: str
    ) -> tuple[int, bytes, str | None]:
        timeout = self.effective_timeouts(what)
        started = time.perf_counter()
        # One guard from before the connect to the last body byte: the read timeout bounds
        # each socket read only, and a server trickling its status line, headers or body a
        # byte at a time is cut off when the deadline passes (checklist item 57).
        with DeadlineGuard(self._remaining()) as guard:
            try:
                response = self._session.request(
                    method,
                    url,
                    headers=headers,
                    data=data,
                    timeout=timeout,
                    stream=True,
                    allow_redirects=False,
                )
                with response:
                    body = b"".join(self._chunks(response, what))
                    if guard.fired:  # cut off: whatever was read is not the answer
                        raise requests.Timeout()
                    status = response.status_code
                    self._observe(self.base_url, status, self._since(started))
                    return status, body, response.headers.get("Retry-After")
            except requests.RequestException as exc:
                if guard.fired or isinstance(exc, requests.Timeout):
                    self._observe(self.base_url, "timeout", self._since(started))
                    raise FhirServerUnavailable(
                        f"the FHIR server did not answer {what} in time"
                    ) from None
                self._observe(self.base_url, "connection", self._since(started))
                raise FhirServerUnavailable(
                    f"{what} to the FHIR server failed ({type(exc).__name__})"
                ) from None

    @staticmethod
    def _since(started: float) -> float:
        return time.perf_counter() - started

    def _chunks(self, response: requests.Response, what: str) -> Iterator[bytes]:
        # The guard in _send cuts a trickling server off inside a read; this stops between reads.
        size = 0
        for chunk in response.iter_content(chunk_size=65536):
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise FhirServerRejected(f"the FHIR server's answer to {what} is too large")
            if self._remaining() <= 0.0:
                raise FhirServerUnavailable(f"the FHIR server did not answer {what} in time")
            yield chunk

    @staticmethod
    def _json(payload: bytes, what: str) -> dict[str, Any]:
        try:
            parsed = json.loads(payload)
        except ValueError:
            raise FhirServerRejected(f"the FHIR server's answer to {what} is not JSON") from None
        if not isinstance(parsed, dict):
            raise FhirServerRejected(f"the FHIR server's answer to {what} is not a JSON object")
        return parsed

    @staticmethod
    def _error(status: int, payload: bytes, what: str, extra: str = "") -> Exception:
        text = outcome_text(payload)
        message = f"the FHIR server answered {status} to {what}{extra}"
        if text:
            message = f"{message}: {text}"
        if status in UNAVAILABLE_STATUSES or status >= 500:
            return FhirServerUnavailable(message)
        if status in (404, 410):
            return ResourceNotFound(message)
        return FhirServerRejected(message)


def outcome_text(payload: bytes) -> str:
    """The readable text of an OperationOutcome body: each issue's details.text or
    diagnostics, joined; empty when the body is not an OperationOutcome."""
    try:
        parsed = json.loads(payload)
    except ValueError:
        return ""
    if not isinstance(parsed, dict) or parsed.get("resourceType") != "OperationOutcome":
        return ""
    texts = []
    for issue in parsed.get("issue") or ():
        if not isinstance(issue, dict):
            continue
        details = issue.get("details")
        text = details.get("text") if isinstance(details, dict) else None
        text = text or issue.get("diagnostics")
        if isinstance(text, str) and text:
            texts.append(text)
    return "; ".join(texts)


def next_link(bundle: Mapping[str, Any]) -> str | None:
    """The ``link[relation=next].url`` of a Bundle, if any."""
    links = bundle.get("link")
    if not isinstance(links, list):
        return None
    for link in links:
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            if isinstance(url, str) and url:
                return url
    return None


__all__ = [
    "BearerToken",
    "Deadline",
    "FhirServerClient",
    "FhirServerNotAllowed",
    "ResourceNotFound",
    "SmartBackendAuth",
    "check_url",
    "next_link",
    "outcome_text",
    "parse_retry_after",
]
