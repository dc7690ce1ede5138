"""The console as a SMART on FHIR app, EHR launch (issue 13 items 6 and 7).

``GET /console/launch?iss=…&launch=…``: ``iss`` must be on the outbound allowlist; its
``.well-known/smart-configuration`` is read (the token endpoint must be on the allowlist too);
a launch session is stored server-side (random state, PKCE verifier, ``iss``, expiry), keyed by
a random value in an HttpOnly cookie, and the browser is sent to the EHR's authorisation
endpoint (code flow, PKCE S256, ``aud`` = ``iss``).

``GET /console/callback?code=…&state=…``: the cookie's launch must be pending, unexpired and
carry that state (used up by the first callback, whatever its outcome); the code is exchanged
for a token (with the verifier), which stays on the server, encrypted in the session row; the
browser is sent to ``/console``, which then shows the token's patient: the page reads the
patient's Observations, Conditions and Procedures from the EHR through ``/console/patient``
with the session (the token never reaches the page, a URL or a log).

The launched page is a review page, not a recommendation delivered: like every console
evaluation it is never written to the audit store.

Access (item 7), :func:`console_access`: in development mode (``Settings.console_open``:
``CONSOLE_ENABLED=development`` and no ``FHIR_API_CLIENTS``) the console's data endpoints are
open; otherwise they need an API client token (``Authorization: Bearer``,
service.http.api_auth) or an active launch session, which reads only its own patient on its own
EHR.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, redirect, request
from markupsafe import escape

from service.cds_hooks.cards import LAUNCH_PATH  # the path the cards' smart link names
from service.errors import Forbidden, HipSpineError, InvalidInput, NotFound, Unauthorized
from service.fhir_server.policy import check_url
from service.fhir_server.smart import (
    ActiveLaunch,
    LaunchProblem,
    LaunchSessions,
    Outbound,
    authorize_url,
    discover,
    exchange_code,
    pkce_pair,
)
from service.http.api_auth import authenticate
from service.http.registry import services
from service.http.web import outcome_response

bp = Blueprint("smart", __name__)
log = logging.getLogger("hipspine.smart")

CALLBACK_PATH = "/console/callback"
CONSOLE_PATH = "/console"
_LAUNCH_VALUE = re.compile(r"^[\x21-\x7e]{1,2048}$")  # an opaque, printable launch id
_ERROR_CODE = re.compile(r"^[\w.\-]{1,64}$")


class LaunchFailed(Forbidden):
    """A callback that matches no usable launch (no cookie, another state, used, expired)."""

    issue_code = "security"


def _settings_outbound() -> Outbound:
    s = services().settings
    return Outbound(
        allowlist=s.fhir_server_allowlist,
        allow_http=s.fhir_allow_http,
        connect_timeout=s.fhir_cli_connect_timeout,
        read_timeout=min(s.fhir_cli_read_timeout, 15.0),
    )


def sessions() -> LaunchSessions:
    """The launch sessions, on the audit store's engine (one database; table of migration 0003)."""
    found = current_app.extensions.get("hipspine-smart")
    if found is None:
        engine = getattr(services().store, "engine", None)
        if engine is None:  # a test's fake store: a store of the same database URL
            from service.audit.engine import make_engine

            engine = make_engine(services().settings.sqlalchemy_url)
        found = current_app.extensions["hipspine-smart"] = LaunchSessions(engine)
    return found


# --- the cookie --------------------------------------------------------------------------------
def _secure() -> bool:
    return services().settings.public_base_url.startswith("https://")


def cookie_name() -> str:
    """``__Host-`` (Secure, Path=/, no Domain: a sibling host cannot set it) when served over
    https; a plain name on a development http base URL."""
    return "__Host-hipspine-smart" if _secure() else "hipspine-smart"


def _samesite() -> str:
    """SMART_COOKIE_SAMESITE; ``None`` needs ``Secure`` (browsers drop it otherwise), so an
    http base URL falls back to ``Lax`` (a top-level launch still works there)."""
    wanted = services().settings.smart_cookie_samesite
    return "Lax" if wanted == "None" and not _secure() else wanted


def _set_cookie(resp: Response, value: str, max_age: int) -> None:
    secure = _secure()
    samesite = _samesite()
    resp.set_cookie(
        cookie_name(),
        value,
        max_age=max_age,
        path="/",
        secure=secure,
        httponly=True,
        samesite=samesite,
        # CHIPS: in an EHR's iframe a third-party cookie lives in the EHR site's partition
        partitioned=secure and samesite == "None",
    )


def active_launch() -> ActiveLaunch | None:
    """The launched console of this browser (its cookie), or None."""
    settings = services().settings
    if not settings.smart_enabled:
        return None
    return sessions().active(request.cookies.get(cookie_name()))


# --- access (item 7) ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Access:
    how: Literal["open", "api", "smart"]
    launch: ActiveLaunch | None = None


def console_access() -> Access:
    """Who may read the console's data: anyone in development mode; else an API client token
    or this browser's SMART launch session.

    :raise Unauthorized: production, and neither a valid token nor an active launch.
    """
    settings = services().settings
    if settings.console_open:
        return Access("open", active_launch())
    # An API token only counts where tokens are configured: with no FHIR_API_CLIENTS,
    # authenticate() takes any caller, and production must not (issue 13 item 7).
    if settings.fhir_api_clients and request.headers.get("Authorization"):
        authenticate(request.headers.get("Authorization"), settings.fhir_api_clients)
        return Access("api")
    launch = active_launch()  # the session's database read only where it decides
    if launch is not None:
        _same_origin(settings.public_base_url)
        return Access("smart", launch)
    raise Unauthorized("the console's data need a SMART launch from the EHR or an API client token")


def _same_origin(public_base_url: str) -> None:
    """A request carried by the session cookie (SameSite=None in an EHR's frame) must come from
    the console's own page: a cross-site POST (a form or no-cors fetch elsewhere) is refused."""
    origin = request.headers.get("Origin")
    if request.method != "GET" and origin is not None:
        own = urlsplit(public_base_url)
        if origin.rstrip("/") != f"{own.scheme}://{own.netloc}":
            raise Forbidden("the console's launch session is used from the console's page only")


def frame_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """``headers`` for a page an EHR may frame: CSP ``frame-ancestors`` from
    CONSOLE_FRAME_ANCESTORS (still ``'none'`` when unset) and no ``X-Frame-Options``."""
    ancestors = " ".join(services().settings.console_frame_ancestors) or "'none'"
    out = {k: v for k, v in headers.items() if k != "X-Frame-Options"}
    csp = out.get("Content-Security-Policy", "default-src 'none'")
    csp = re.sub(r"frame-ancestors [^;]*", "", csp).strip().rstrip(";").strip()
    out["Content-Security-Policy"] = f"{csp}; frame-ancestors {ancestors}"
    if ancestors == "'none'":
        out["X-Frame-Options"] = "DENY"
    return out


_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _enabled() -> None:
    settings = services().settings
    if not settings.console_enabled:
        raise NotFound("the console is not enabled on this deployment (CONSOLE_ENABLED)")
    if not settings.smart_client_id:
        raise NotFound("the console is not registered as a SMART app here (SMART_CLIENT_ID)")


def redirect_uri() -> str:
    return services().settings.public_base_url + CALLBACK_PATH


# --- the routes --------------------------------------------------------------------------------
@bp.get(LAUNCH_PATH)
def launch() -> Response:
    _enabled()
    settings = services().settings
    iss = (request.args.get("iss") or "").strip()
    launch_id = request.args.get("launch") or ""
    if not iss:
        raise InvalidInput("iss: the EHR's FHIR base URL is missing (an EHR launch)", ("iss",))
    if not _LAUNCH_VALUE.match(launch_id):
        raise InvalidInput("launch: the EHR's launch id is missing or not printable", ("launch",))
    outbound = _settings_outbound()
    check_url(iss, allowlist=outbound.allowlist, allow_http=outbound.allow_http, what="iss")
    config = discover(iss, outbound)
    cookie = LaunchSessions.new_cookie()
    state = secrets.token_urlsafe(32)
    verifier, challenge = pkce_pair()
    sessions().start(
        cookie,
        state=state,
        iss=iss.rstrip("/"),
        token_endpoint=config.token_endpoint,
        verifier=verifier,
        lifetime=settings.smart_launch_seconds,
    )
    target = authorize_url(
        config,
        client_id=settings.smart_client_id,
        redirect_uri=redirect_uri(),
        launch=launch_id,
        state=state,
        aud=iss,
        code_challenge=challenge,
    )
    resp: Response = redirect(target, code=302)  # type: ignore[assignment]
    resp.headers.update(frame_headers(_PAGE_HEADERS))
    _set_cookie(resp, cookie, settings.smart_launch_seconds + settings.smart_session_seconds)
    log.info("smart launch started")  # no iss, launch, state or cookie in the log
    return resp


@bp.get(CALLBACK_PATH)
def callback() -> Response:
    _enabled()
    settings = services().settings
    cookie = request.cookies.get(cookie_name())
    error = request.args.get("error")
    if error is not None:
        if cookie:  # the launch is over either way
            _burn(cookie)
        code = error if _ERROR_CODE.match(error) else "error"
        raise LaunchFailed(f"the EHR did not authorise the console ({code})")
    code, state = request.args.get("code") or "", request.args.get("state") or ""
    if not cookie:
        raise LaunchFailed(
            "this browser sent no launch cookie: start from the EHR (a framed app needs "
            "SameSite=None over https, see SMART_COOKIE_SAMESITE)"
        )
    if not state:
        _burn(cookie)
        raise LaunchFailed("the callback carries no state")
    try:
        pending = sessions().claim(cookie, state)
    except LaunchProblem as problem:
        raise LaunchFailed(problem.reason) from None
    if not code:
        raise LaunchFailed("the callback carries no authorisation code")
    grant = exchange_code(
        pending.token_endpoint,
        code=code,
        verifier=pending.verifier,
        redirect_uri=redirect_uri(),
        client_id=settings.smart_client_id,
        client_secret=settings.smart_client_secret,
        outbound=_settings_outbound(),
    )
    sessions().activate(cookie, grant, settings.smart_session_seconds)
    log.info("smart launch authorised")
    resp: Response = redirect(CONSOLE_PATH, code=303)  # type: ignore[assignment]
    resp.headers.update(frame_headers(_PAGE_HEADERS))
    return resp


def _burn(cookie: str) -> None:
    try:
        sessions().claim(cookie, "")
    except LaunchProblem:
        pass


@bp.errorhandler(HipSpineError)
def _launch_error(exc: HipSpineError) -> Response:
    """A launch that fails ends on a page the clinician can read (in the EHR's frame too), or
    an OperationOutcome for a client that asks for JSON. Nothing secret is in the message."""
    log.info("smart launch refused", extra={"status": exc.status, "reason": exc.diagnostics})
    wants_html = request.accept_mimetypes.best_match(["application/json", "text/html"]) == (
        "text/html"
    )
    if not wants_html or exc.status == 401:
        resp = outcome_response(exc.status, exc.public_issues)
        resp.headers.update(exc.headers)
        return resp
    body = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>The hip–spine console could not be launched</title></head><body>"
        "<h1>The hip–spine console could not be launched</h1>"
        f'<p id="launch-error">{escape(exc.diagnostics)}</p>'
        "<p>Open the patient's chart in the EHR and launch the console again.</p>"
        "</body></html>"
    )
    resp = Response(body, status=exc.status, mimetype="text/html")
    resp.headers.update(frame_headers(_PAGE_HEADERS))
    return resp
