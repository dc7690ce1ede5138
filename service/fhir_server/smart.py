"""SMART App Launch 2.x, EHR launch, for the console (issue 13 item 6): discovery, PKCE (S256),
the authorisation request, the code-for-token exchange, and the server-side launch sessions.

Every URL called from here (the ``.well-known/smart-configuration`` under ``iss`` and the
token endpoint it names) is checked against the outbound allowlist before a byte is sent
(:func:`service.fhir_server.policy.check_url`: an EHR cannot point the service at an internal
address); the authorisation endpoint is only shown to the browser, and must be https (or
loopback). Redirects are not followed. Access tokens are never logged, never put in an error
message, and stored only encrypted with a key derived from the browser's cookie value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import requests
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Engine, delete, select
from sqlalchemy import update as sql_update

from service.audit.engine import unavailable_on_error, write_transaction
from service.audit.tables import smart_launch_sessions
from service.errors import FhirServerRejected, FhirServerUnavailable
from service.fhir_server.policy import check_scheme, check_url

#: What the console asks for: the launch context, the user, and read/search of the three
#: resource types the rules use (SMART 2.x scope syntax).
SCOPE = "launch openid fhirUser patient/Observation.rs patient/Condition.rs patient/Procedure.rs"
WELL_KNOWN = "/.well-known/smart-configuration"
#: A SMART configuration or token response larger than this is refused.
MAX_ANSWER_BYTES = 256 * 1024
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


class LaunchRefused(FhirServerRejected):
    """The EHR's SMART configuration, authorisation or token answer cannot be used."""


@dataclass(frozen=True)
class SmartConfiguration:
    authorization_endpoint: str
    token_endpoint: str


@dataclass(frozen=True)
class Outbound:
    """How the launch may call out: the allowlist and the timeouts of the FHIR client."""

    allowlist: tuple[str, ...]
    allow_http: bool = False
    connect_timeout: float = 5.0
    read_timeout: float = 15.0


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def pkce_pair() -> tuple[str, str]:
    """``(code_verifier, code_challenge)``: 43+ unreserved characters and their S256."""
    verifier = secrets.token_urlsafe(48)  # 64 characters of [A-Za-z0-9_-]
    return verifier, s256(verifier)


def s256(verifier: str) -> str:
    """The S256 code challenge of ``verifier`` (RFC 7636 §4.2)."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def _read_json(response: requests.Response, what: str) -> tuple[int, Any]:
    size, chunks = 0, []
    for chunk in response.iter_content(chunk_size=16384):
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise LaunchRefused(f"{what}: the answer is too large")
        chunks.append(chunk)
    try:
        return response.status_code, json.loads(b"".join(chunks))
    except ValueError:
        return response.status_code, None


def _call(
    outbound: Outbound,
    method: str,
    url: str,
    *,
    what: str,
    form: dict[str, str] | None = None,
    basic: tuple[str, str] | None = None,
) -> tuple[int, Any]:
    """One request, after the allowlist check; ``(status, JSON or None)``; no redirects."""
    check_url(url, allowlist=outbound.allowlist, allow_http=outbound.allow_http, what=what)
    headers = {"Accept": "application/json"}
    data = None
    if form is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        data = urlencode(form)
    try:
        with requests.Session() as session:
            response = session.request(
                method,
                url,
                headers=headers,
                data=data,
                auth=basic,
                timeout=(outbound.connect_timeout, outbound.read_timeout),
                allow_redirects=False,
                stream=True,
            )
            with response:
                return _read_json(response, what)
    except requests.Timeout:
        raise FhirServerUnavailable(f"{what} did not answer in time") from None
    except requests.RequestException as exc:
        raise FhirServerUnavailable(f"{what} failed ({type(exc).__name__})") from None


def discover(iss: str, outbound: Outbound) -> SmartConfiguration:
    """The EHR's SMART configuration at ``{iss}/.well-known/smart-configuration``.

    :raise FhirServerNotAllowed: ``iss`` or the token endpoint is not on the allowlist.
    :raise LaunchRefused: no authorization/token endpoint, or PKCE S256 not offered.
    """
    what = "the SMART configuration (iss)"
    status, config = _call(outbound, "GET", iss.rstrip("/") + WELL_KNOWN, what=what)
    if status != 200 or not isinstance(config, dict):
        raise LaunchRefused(f"{what} answered {status}, not a JSON object")
    endpoints = {}
    for name in ("authorization_endpoint", "token_endpoint"):
        value = config.get(name)
        if not isinstance(value, str) or not value.strip():
            raise LaunchRefused(f"the SMART configuration names no {name}")
        endpoints[name] = value.strip()
    methods = config.get("code_challenge_methods_supported")
    if methods is not None and (not isinstance(methods, list) or "S256" not in methods):
        raise LaunchRefused("the EHR does not offer PKCE S256 (code_challenge_methods_supported)")
    # The browser is sent to the authorisation endpoint: https (or loopback) only. The token
    # endpoint is called from here: it must be on the allowlist too (checked before the call
    # and here, so a launch is refused before the user is sent anywhere).
    check_scheme(
        endpoints["authorization_endpoint"],
        allow_http=outbound.allow_http,
        what="authorization_endpoint",
    )
    check_url(
        endpoints["token_endpoint"],
        allowlist=outbound.allowlist,
        allow_http=outbound.allow_http,
        what="token_endpoint",
    )
    return SmartConfiguration(endpoints["authorization_endpoint"], endpoints["token_endpoint"])


def authorize_url(
    config: SmartConfiguration,
    *,
    client_id: str,
    redirect_uri: str,
    launch: str,
    state: str,
    aud: str,
    code_challenge: str,
) -> str:
    """The authorisation request (response_type=code, PKCE S256, ``aud`` = the FHIR base)."""
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "launch": launch,
        "scope": SCOPE,
        "state": state,
        "aud": aud,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
    }
    joiner = "&" if "?" in config.authorization_endpoint else "?"
    return config.authorization_endpoint + joiner + urlencode(params)


@dataclass(frozen=True)
class Grant:
    """What the token endpoint granted: the token (kept server-side), the patient, its life."""

    access_token: str = ""
    patient: str = ""
    expires_in: float | None = None

    def __repr__(self) -> str:  # never print the token
        return f"Grant(patient=***, expires_in={self.expires_in})"


def exchange_code(
    token_endpoint: str,
    *,
    code: str,
    verifier: str,
    redirect_uri: str,
    client_id: str,
    client_secret: str,
    outbound: Outbound,
) -> Grant:
    """Trade the authorisation code for a token (with the PKCE verifier).

    A confidential client (``client_secret`` set) authenticates with HTTP Basic; a public
    client sends its ``client_id`` in the form. The answer must be a Bearer token with a
    ``patient`` (the launch context).
    """
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    basic = (client_id, client_secret) if client_secret else None
    if basic is None:
        form["client_id"] = client_id
    what = "the EHR's token endpoint"
    status, answer = _call(outbound, "POST", token_endpoint, what=what, form=form, basic=basic)
    if status != 200 or not isinstance(answer, dict):
        error = answer.get("error") if isinstance(answer, dict) else None
        shown = f" ({error})" if isinstance(error, str) and re.fullmatch(r"[\w.\-]+", error) else ""
        raise LaunchRefused(f"{what} refused the authorisation code: {status}{shown}")
    token, kind, patient = (answer.get(k) for k in ("access_token", "token_type", "patient"))
    if not isinstance(token, str) or not token:
        raise LaunchRefused(f"{what} returned no access_token")
    if not isinstance(kind, str) or kind.lower() != "bearer":
        raise LaunchRefused(f"{what} returned a token_type other than Bearer")
    if not isinstance(patient, str) or not _FHIR_ID.match(patient):
        raise LaunchRefused(f"{what} returned no patient in context (a patient launch is needed)")
    lifetime = answer.get("expires_in")
    seconds = (
        float(lifetime)
        if isinstance(lifetime, int | float) and not isinstance(lifetime, bool) and lifetime > 0
        else None
    )
    return Grant(token, patient, seconds)


# --- launch sessions ---------------------------------------------------------------------------
sessions_table = smart_launch_sessions  # the table of migration 0003
PENDING, EXCHANGING, ACTIVE = "pending", "exchanging", "active"


class LaunchProblem(Exception):
    """A callback that matches no usable launch: ``reason`` says which way (no secrets)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PendingLaunch:
    state: str
    iss: str
    token_endpoint: str
    verifier: str = ""

    def __repr__(self) -> str:
        return f"PendingLaunch(iss={self.iss!r})"


@dataclass(frozen=True)
class ActiveLaunch:
    """A launched console: the EHR's FHIR base, the patient in context, the token."""

    iss: str
    patient: str
    access_token: str = ""

    def __repr__(self) -> str:
        return f"ActiveLaunch(iss={self.iss!r})"


def _row_id(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


def _cipher(cookie: str) -> AESGCM:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"hipspine smart launch session"
    ).derive(cookie.encode())
    return AESGCM(key)


def _seal(cookie: str, secret: dict[str, str]) -> str:
    nonce = secrets.token_bytes(12)
    sealed = _cipher(cookie).encrypt(nonce, json.dumps(secret).encode(), _row_id(cookie).encode())
    return base64.b64encode(nonce + sealed).decode("ascii")


def _open(cookie: str, sealed: str) -> dict[str, str]:
    raw = base64.b64decode(sealed)
    try:
        plain = _cipher(cookie).decrypt(raw[:12], raw[12:], _row_id(cookie).encode())
    except InvalidTag:
        raise LaunchProblem("the launch session cannot be read") from None
    data: dict[str, str] = json.loads(plain)
    return data


class LaunchSessions:
    """Launch sessions in the service's database (table ``smart_launch_sessions``, created by
    the audit store's migration 0003), keyed by the SHA-256 of the cookie value."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @staticmethod
    def new_cookie() -> str:
        return secrets.token_urlsafe(32)

    def start(
        self,
        cookie: str,
        *,
        state: str,
        iss: str,
        token_endpoint: str,
        verifier: str,
        lifetime: float,
        now: datetime | None = None,
    ) -> None:
        """Record a pending launch (and delete every expired one)."""
        now = now or datetime.now(UTC)
        row = {
            "id": _row_id(cookie),
            "status": PENDING,
            "state": state,
            "iss": iss,
            "token_endpoint": token_endpoint,
            "patient": None,
            "secret": _seal(cookie, {"verifier": verifier}),
            "created": now,
            "expires_at": now + timedelta(seconds=lifetime),
        }
        with unavailable_on_error("start a SMART launch"), write_transaction(self.engine) as c:
            c.execute(delete(sessions_table).where(sessions_table.c.expires_at <= now))
            c.execute(sessions_table.insert().values(**row))

    def claim(self, cookie: str, state: str, now: datetime | None = None) -> PendingLaunch:
        """The pending launch of this cookie, used up: a second callback finds nothing.

        :raise LaunchProblem: no such launch, already used, expired, or another state.
        """
        now = now or datetime.now(UTC)
        key = _row_id(cookie)
        t = sessions_table
        with unavailable_on_error("read a SMART launch"), write_transaction(self.engine) as c:
            row = c.execute(select(t).where(t.c.id == key)).mappings().first()
            if row is None:
                raise LaunchProblem("no launch session matches this browser (start from the EHR)")
            if row["status"] != PENDING:
                raise LaunchProblem("this launch was already used (start again from the EHR)")
            # Used up whatever follows: a wrong state or an expired launch is not retried.
            c.execute(
                sql_update(t).where(t.c.id == key, t.c.status == PENDING).values(status=EXCHANGING)
            )
        if _aware(row["expires_at"]) <= now:
            raise LaunchProblem("the launch expired (start again from the EHR)")
        if not hmac.compare_digest(str(row["state"]).encode(), state.encode()):
            raise LaunchProblem("the state does not match this browser's launch")
        verifier = _open(cookie, row["secret"]).get("verifier", "")
        return PendingLaunch(row["state"], row["iss"], row["token_endpoint"], verifier)

    def activate(
        self, cookie: str, grant: Grant, lifetime: float, now: datetime | None = None
    ) -> None:
        """Keep the granted token (encrypted) for the launched page, for ``lifetime`` at most."""
        now = now or datetime.now(UTC)
        seconds = min(lifetime, grant.expires_in) if grant.expires_in else lifetime
        t = sessions_table
        with unavailable_on_error("keep a SMART launch"), write_transaction(self.engine) as c:
            c.execute(
                sql_update(t)
                .where(t.c.id == _row_id(cookie), t.c.status == EXCHANGING)
                .values(
                    status=ACTIVE,
                    patient=grant.patient,
                    secret=_seal(cookie, {"access_token": grant.access_token}),
                    expires_at=now + timedelta(seconds=seconds),
                )
            )

    def active(self, cookie: str | None, now: datetime | None = None) -> ActiveLaunch | None:
        """The launched console of this cookie, if it is active and not expired."""
        if not cookie:
            return None
        now = now or datetime.now(UTC)
        t = sessions_table
        with unavailable_on_error("read a SMART launch"), self.engine.connect() as c:
            row = c.execute(select(t).where(t.c.id == _row_id(cookie))).mappings().first()
        if row is None or row["status"] != ACTIVE or _aware(row["expires_at"]) <= now:
            return None
        try:
            token = _open(cookie, row["secret"]).get("access_token", "")
        except LaunchProblem:
            return None
        return ActiveLaunch(row["iss"], row["patient"], token)

    def end(self, cookie: str) -> None:
        with unavailable_on_error("end a SMART launch"), write_transaction(self.engine) as c:
            c.execute(delete(sessions_table).where(sessions_table.c.id == _row_id(cookie)))


def _aware(when: datetime) -> datetime:
    """SQLite gives naive datetimes back (stored as UTC)."""
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


__all__ = [
    "SCOPE",
    "ActiveLaunch",
    "Grant",
    "LaunchProblem",
    "LaunchRefused",
    "LaunchSessions",
    "Outbound",
    "PendingLaunch",
    "SmartConfiguration",
    "authorize_url",
    "discover",
    "exchange_code",
    "pkce_pair",
    "s256",
]
