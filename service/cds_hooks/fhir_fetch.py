"""Fallback fetch from the EHR's ``fhirServer`` for prefetch the client did not supply.

A thin hook-shaped face on the one FHIR client (:mod:`service.fhir_server.client`): one
:class:`FhirFetcher` per hook call, the bearer token from ``fhirAuthorization`` (never
logged), (connect, read) timeouts each capped by what is left of one overall
:class:`Deadline` that also covers the status line, headers and body however slowly a server
sends them (:mod:`service.outbound`; standards.md §1.4, checklist items 13, 17, 18, 57), no
redirects, no retries (a hook must answer well under a second), ``next`` links followed, and
every URL checked against the allowlist before any byte is sent. Whatever goes wrong becomes a 412
(:class:`DataUnavailable`) in this module; a refused server stays :class:`FhirServerNotAllowed`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import requests

from service.config import Settings
from service.errors import FhirServerError, PreconditionFailed
from service.fhir_server.client import BearerToken, CallObserver, FhirServerClient, next_link
from service.fhir_server.policy import Deadline, FhirServerNotAllowed, on_allowlist


class DataUnavailable(PreconditionFailed):
    """Data the hook needs cannot be had from the fhirServer (412)."""


@contextmanager
def _as_412() -> Iterator[None]:
    """A FHIR server failure as :class:`DataUnavailable`; a refused server stays itself."""
    try:
        yield
    except FhirServerNotAllowed:
        raise
    except FhirServerError as exc:
        raise DataUnavailable(exc.diagnostics) from None


class FhirFetcher:
    """GETs FHIR JSON from one server within a deadline. Use it in a ``with`` block."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None,
        settings: Settings,
        deadline: Deadline,
        session: requests.Session | None = None,
        observe: CallObserver | None = None,
    ) -> None:
        self._client = FhirServerClient(
            base_url,
            allowlist=settings.fhir_server_allowlist,
            allow_http=settings.fhir_allow_http,
            auth=BearerToken(token) if token else None,
            connect_timeout=settings.fhir_connect_timeout,
            read_timeout=settings.fhir_read_timeout,
            deadline=deadline,
            max_retries=0,
            session=session,
            observe=observe,
        )

    def __enter__(self) -> FhirFetcher:
        self._client.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._client.__exit__(exc_type, exc, tb)

    def get(self, url: str, *, what: str) -> dict[str, Any]:
        """GET ``url`` (absolute, or relative to the server) as a JSON object.

        :raise FhirServerNotAllowed: the URL is not allowed (nothing is sent).
        :raise DataUnavailable: timeout, deadline, network error, non-2xx, or not JSON.
        """
        with _as_412():
            return self._client.get(url, what=f"the {what} request")

    def follow_pages(self, first: dict[str, Any], *, what: str) -> list[dict[str, Any]]:
        """Every page of a searchset Bundle, ``first`` included, following ``next`` links."""
        with _as_412():
            return list(self._client.pages(first, what=f"the {what} search"))

    def _timeouts(self, what: str) -> tuple[float, float]:
        with _as_412():
            return self._client.effective_timeouts(what)


__all__ = [
    "DataUnavailable",
    "Deadline",
    "FhirFetcher",
    "FhirServerNotAllowed",
    "next_link",
    "on_allowlist",
]
