"""CORS for every CDS Hooks route, errors and preflight included (checklist items 36–38).

Registered as an app-wide ``after_request`` by the blueprint, so that it also answers for
responses the blueprint's own handlers never see (405, 404 from routing). Origins come from
``Settings.cors_origins``; credentials are never allowed, so ``*`` there is safe.
"""

from __future__ import annotations

from flask import Response, request

from service.config import Settings
from service.http.registry import settings as registry_settings

CDS_PREFIX = "/cds-services"
ALLOW_METHODS = "GET, POST, OPTIONS"
ALLOW_HEADERS = "Authorization, Content-Type"
MAX_AGE_SECONDS = "600"


def origin_allowed(origin: str, allowed: tuple[str, ...]) -> bool:
    normal = origin.rstrip("/").lower()
    return any(a == "*" or a.rstrip("/").lower() == normal for a in allowed)


def add_cors_headers(response: Response) -> Response:
    """Add CORS headers to a CDS Hooks response when the Origin is allowlisted."""
    if not (request.path == CDS_PREFIX or request.path.startswith(CDS_PREFIX + "/")):
        return response
    response.vary.add("Origin")
    origin = request.headers.get("Origin")
    settings: Settings = registry_settings()
    if not origin or not origin_allowed(origin, settings.cors_origins):
        return response
    wildcard = "*" in settings.cors_origins
    response.headers["Access-Control-Allow-Origin"] = "*" if wildcard else origin
    response.headers.pop("Access-Control-Allow-Credentials", None)
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
        response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        response.headers["Access-Control-Max-Age"] = MAX_AGE_SECONDS
        # Private Network Access: a public https page (the CDS Hooks sandbox) calling a
        # service on loopback or the LAN asks first; an allowlisted origin may (issue 11).
        if request.headers.get("Access-Control-Request-Private-Network", "").lower() == "true":
            response.headers["Access-Control-Allow-Private-Network"] = "true"
    return response
