"""Prefetch resolution (standards.md §1.4): prefetch plus fallback fetch -> one input Bundle.

Per template key: a resource or Bundle is used (its ``next`` pages followed); ``null`` means
the client has no such data (no refetch); an OperationOutcome, a non-object or an absent key
is fetched from ``fhirServer``. When data is still unobtainable the hook answers 412. The
result is one ``collection`` Bundle (Patient, Observations, Conditions, Procedures) for the
pipeline shared with ``$hip-spine-evaluate``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

from service.cds_hooks.discovery import CdsService
from service.cds_hooks.fhir_fetch import DataUnavailable, Deadline, FhirFetcher, next_link
from service.config import Settings
from service.errors import InvalidInput
from service.fhir_server.client import CallObserver

#: The resource types the rules read (clinical-spec.md §1).
INPUT_TYPES = frozenset({"Patient", "Observation", "Condition", "Procedure"})
_TOKEN = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")
_USER_TOKENS = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}


def resource_type(value: Mapping[str, Any], *, where: str, fetched: bool) -> str | None:
    """``value``'s resourceType: a string or absent (None).

    :raise InvalidInput: anything else in the client's prefetch (400).
    :raise DataUnavailable: anything else in the FHIR server's answer (412).
    """
    kind = value.get("resourceType")
    if kind is None or isinstance(kind, str):
        return kind
    if fetched:
        raise DataUnavailable(
            f"the FHIR server's {where} answer has a resourceType that is not a string"
        )
    raise InvalidInput(f"prefetch {where}: resourceType must be a string", (f"prefetch.{where}",))


@dataclass
class _Gathered:
    where: str = "prefetch"
    fetched: bool = False  # the resources come from the FHIR server (bad ones are a 412)
    resources: list[dict[str, Any]] = field(default_factory=list)
    seen: set[tuple[str, str]] = field(default_factory=set)

    def add_resource(self, resource: Any) -> None:
        if not isinstance(resource, dict):
            return
        if resource_type(resource, where=self.where, fetched=self.fetched) not in INPUT_TYPES:
            return
        rid = resource.get("id")
        if isinstance(rid, str):
            key = (str(resource["resourceType"]), rid)
            if key in self.seen:
                return
            self.seen.add(key)
        self.resources.append(resource)

    def add_page(self, page: Mapping[str, Any]) -> None:
        for entry in page.get("entry") or ():
            if not isinstance(entry, dict):
                continue
            search = entry.get("search")
            if isinstance(search, dict) and search.get("mode") == "outcome":
                continue
            self.add_resource(entry.get("resource"))

    def add(self, value: Mapping[str, Any]) -> None:
        if resource_type(value, where=self.where, fetched=self.fetched) == "Bundle":
            self.add_page(value)
        else:
            self.add_resource(value)


def resolve_template(template: str, context: Mapping[str, Any]) -> str:
    """Fill ``{{context.x}}`` and ``{{userPractitionerId}}``-style tokens (URL-encoded).

    :raise DataUnavailable: a token the context cannot fill.
    """

    def fill(match: re.Match[str]) -> str:
        token = match.group(1)
        value: Any = None
        if token.startswith("context."):
            value = context.get(token.removeprefix("context."))
        elif token in _USER_TOKENS:
            kind, _, ident = str(context.get("userId", "")).partition("/")
            value = ident if kind == _USER_TOKENS[token] and ident else None
        if not isinstance(value, str | int) or isinstance(value, bool) or value == "":
            raise DataUnavailable(f"the prefetch token {token} cannot be filled")
        return quote(str(value), safe="")

    return _TOKEN.sub(fill, template)


def gather_bundle(
    request: Mapping[str, Any],
    service: CdsService,
    *,
    settings: Settings,
    deadline: Deadline,
    session: requests.Session | None = None,
    observe: CallObserver | None = None,
) -> dict[str, Any]:
    """The input Bundle for one hook call (request already validated).

    ``observe`` is told of every call to the FHIR server (the shell passes the metrics').

    :raise DataUnavailable: required data is unobtainable (412).
    :raise FhirServerNotAllowed: the data would have to come from a refused server (412).
    """
    prefetch = request.get("prefetch") or {}
    context = request["context"]
    gathered = _Gathered()
    to_fetch: list[str] = []
    to_page: list[tuple[str, Mapping[str, Any]]] = []
    for key in service.prefetch:
        if key not in prefetch:
            to_fetch.append(key)
            continue
        value = prefetch[key]
        if value is None:  # the client has no such data: treat as empty, do not refetch
            continue
        if not isinstance(value, dict) or resource_type(value, where=key, fetched=False) in {
            None,
            "OperationOutcome",
        }:
            to_fetch.append(key)
            continue
        gathered.where, gathered.fetched = key, False
        gathered.add(value)
        if value.get("resourceType") == "Bundle" and next_link(value) is not None:
            to_page.append((key, value))
    if to_fetch or to_page:
        _fetch(
            request,
            service,
            context,
            gathered,
            to_fetch,
            to_page,
            settings,
            deadline,
            session,
            observe,
        )
    return _bundle(gathered.resources, request.get("fhirServer"))


def _fetch(
    request: Mapping[str, Any],
    service: CdsService,
    context: Mapping[str, Any],
    gathered: _Gathered,
    to_fetch: list[str],
    to_page: list[tuple[str, Mapping[str, Any]]],
    settings: Settings,
    deadline: Deadline,
    session: requests.Session | None,
    observe: CallObserver | None,
) -> None:
    server = request.get("fhirServer")
    if not server:
        missing = ", ".join(to_fetch + [key for key, _ in to_page])
        raise DataUnavailable(
            f"prefetch {missing} is incomplete and no fhirServer was given", ("prefetch",)
        )
    authorization = request.get("fhirAuthorization") or {}
    token = authorization.get("access_token")
    with FhirFetcher(
        server,
        token=token,
        settings=settings,
        deadline=deadline,
        session=session,
        observe=observe,
    ) as fetcher:
        gathered.fetched = True
        for key, first in to_page:
            gathered.where = key
            for page in fetcher.follow_pages(dict(first), what=key)[1:]:
                gathered.add_page(page)
        for key in to_fetch:
            query = resolve_template(service.prefetch[key], context)
            result = fetcher.get(query, what=key)
            gathered.where = key
            kind = resource_type(result, where=key, fetched=True)
            if kind == "Bundle":
                for page in fetcher.follow_pages(result, what=key):
                    gathered.add_page(page)
            elif kind in INPUT_TYPES:
                gathered.add_resource(result)
            else:
                raise DataUnavailable(f"the FHIR server's {key} answer is a {kind}")


def _bundle(resources: list[dict[str, Any]], server: Any) -> dict[str, Any]:
    # The Patient first, then the rest in the order received.
    ordered = sorted(resources, key=lambda r: r.get("resourceType") != "Patient")
    entries = []
    for resource in ordered:
        entry: dict[str, Any] = {"resource": resource}
        rid = resource.get("id")
        if isinstance(server, str) and server and isinstance(rid, str):
            entry["fullUrl"] = f"{server.rstrip('/')}/{resource['resourceType']}/{rid}"
        entries.append(entry)
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "collection"}
    if entries:
        bundle["entry"] = entries
    return bundle
