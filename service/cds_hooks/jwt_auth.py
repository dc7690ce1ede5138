"""Verification of the CDS client's JWT (standards.md §1.8; checklist items 31–35).

Order of checks (CDS Hooks best practices): header (``alg`` ES384/RS384 only, ``typ`` JWT,
``kid``) -> claims: ``aud`` = the exact URL invoked, ``exp``/``iat``/``jti``/``iss`` present,
``exp``/``nbf``/``iat`` against the clock with a 60 s leeway -> ``iss`` allowlisted -> key by
``kid`` from the configured JWKS file, the sandbox key set in development mode, or an
allowlisted ``jku`` (the only step that may go to the network) -> signature (claims checked
again) -> ``jti`` not seen (kept in the audit store, so it holds across workers and hosts).
Every failure is :class:`service.errors.Unauthorized` (401, no detail to the caller).

``CDS_JWKS_FILE`` format: a JSON object mapping each issuer to its JWK Set, e.g.
``{"https://ehr.example.org": {"keys": [{"kty": "EC", "crv": "P-384", "kid": "k1", ...}]}}``.
``CDS_JKU_ALLOWLIST`` entries are exact ``jku`` URLs, allowed for every allowlisted issuer, or
``{iss}|{jku}`` to allow that ``jku`` for one issuer only.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import jwt
import requests

from service.config import Settings
from service.errors import Unauthorized
from service.fhir_server.policy import is_loopback
from service.outbound import DeadlineGuard, mount_deadline_adapter

log = logging.getLogger("hipspine.auth")

ALGORITHMS = ("ES384", "RS384")
LEEWAY_SECONDS = 60
#: Tokens living longer than this are refused, which bounds how long a jti must be kept.
MAX_LIFETIME_SECONDS = 3600
SANDBOX_ISSUER = "https://sandbox.cds-hooks.org"
JKU_TIMEOUT = (1.0, 2.0)  # (connect, read) seconds, each capped by the deadline below
#: The whole fetch of a jku (connect, status line, headers, body): a trickling server is cut off.
JKU_DEADLINE_SECONDS = 2.0
#: A JWK Set larger than this is refused (a few keys are a few KiB).
JKU_MAX_BYTES = 64 * 1024
JKU_TTL_SECONDS = 600.0
JKU_REFRESH_SECONDS = 60.0  # an unknown kid refetches at most this often
#: After a failed fetch the jku is not fetched again for this long, doubled per further failure
#: up to JKU_BACKOFF_MAX_SECONDS (a negative cache: a jku that is down costs one fetch per
#: back-off period, not one per request).
JKU_BACKOFF_SECONDS = 5.0
JKU_BACKOFF_MAX_SECONDS = 300.0
#: While a jku cannot be fetched, keys of its last good set stay usable this long after it
#: was fetched (key rotation publishes new keys well before old ones go).
JKU_STALE_SECONDS = 3600.0
_CLAIM_CHECKS: Any = {
    "verify_exp": True,
    "verify_nbf": True,
    "verify_iat": True,
    "verify_aud": True,
    "require": ["exp", "iat", "jti", "iss", "aud"],
}
_UNSIGNED_CLAIM_CHECKS: Any = {"verify_signature": False, **_CLAIM_CHECKS}


class JtiStore(Protocol):
    def remember_jti(self, issuer: str, jti: str, expires_at: datetime) -> bool: ...


@dataclass(frozen=True, slots=True)
class Claims:
    """The verified claims the service keeps (never the token itself)."""

    issuer: str
    jti: str
    expires_at: datetime
    tenant: str | None = None
    subject: str | None = None

    @property
    def client(self) -> str:
        """The caller as recorded in the audit: ``iss`` or ``iss|tenant``."""
        return f"{self.issuer}|{self.tenant}" if self.tenant else self.issuer


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer …`` header; Unauthorized when absent."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("no-token: no Authorization: Bearer header")
    return token.strip()


@lru_cache(maxsize=1)
def sandbox_jwks() -> Mapping[str, Any]:
    """The public CDS Hooks sandbox's key set, shipped as package data."""
    text = resources.files("service").joinpath("data/cds-hooks-sandbox-jwks.json").read_text()
    loaded: Mapping[str, Any] = json.loads(text)
    return loaded


@lru_cache(maxsize=8)
def _jwks_file(path: str, mtime_ns: int, size: int) -> Mapping[str, Any]:
    loaded = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(loaded, dict):
        raise ValueError("CDS_JWKS_FILE must hold a JSON object: issuer -> JWK Set")
    return loaded


class _LastGoodJwks:
    """The last key set read whole from each ``CDS_JWKS_FILE`` (issue 12 item 10).

    A file rotated in place is, for a moment, half-written or missing: the last good set is
    used meanwhile, and the problem logged once per state of the file (no key material).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._good: dict[str, Mapping[str, Any]] = {}
        self._warned: dict[str, tuple[str, int, int]] = {}

    def read(self, path: str) -> Mapping[str, Any]:
        mtime_ns = size = 0
        try:
            st = Path(path).stat()
            mtime_ns, size = st.st_mtime_ns, st.st_size
            loaded = _jwks_file(path, mtime_ns, size)
        except (OSError, ValueError) as exc:  # missing, half-written (JSONDecodeError), wrong
            return self._fall_back(path, (type(exc).__name__, mtime_ns, size))
        with self._lock:
            self._good[path] = loaded
            self._warned.pop(path, None)
        return loaded

    def _fall_back(self, path: str, state: tuple[str, int, int]) -> Mapping[str, Any]:
        with self._lock:
            good = self._good.get(path)
            first = self._warned.get(path) != state
            self._warned[path] = state
        if first:
            log.warning(
                "CDS_JWKS_FILE unreadable: the last good key set is kept"
                if good is not None
                else "CDS_JWKS_FILE unreadable and no key set read yet: tokens are refused",
                extra={"jwks_file": path, "error_type": state[0]},
            )
        return good or {}


_LAST_GOOD_JWKS = _LastGoodJwks()


def configured_jwks(settings: Settings, issuer: str) -> list[dict[str, Any]]:
    """The pre-registered keys of ``issuer`` (JWKS file, plus the sandbox in development)."""
    keys: list[dict[str, Any]] = []
    if settings.cds_jwks_file:
        jwks = _LAST_GOOD_JWKS.read(str(Path(settings.cds_jwks_file))).get(issuer) or {}
        if isinstance(jwks, dict):
            keys += [k for k in jwks.get("keys", ()) or () if isinstance(k, dict)]
    if settings.cds_trust_sandbox_key and issuer == SANDBOX_ISSUER:
        keys += list(sandbox_jwks()["keys"])
    return keys


def jku_allowed(issuer: str, jku: str, allowlist: tuple[str, ...]) -> bool:
    for entry in allowlist:
        scoped, sep, url = entry.rpartition("|")
        if url == jku and (not sep or scoped == issuer):
            return True
    return False


@dataclass(slots=True)
class _JkuEntry:
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    fetched: float = float("-inf")  # last successful fetch
    attempted: float = float("-inf")  # last fetch, successful or not
    failures: int = 0  # consecutive failed fetches
    retry_at: float = float("-inf")  # no fetch before this (the negative cache)
    flight: threading.Event | None = None  # set when the fetch in flight ends


class JkuCache:
    """JWK Sets fetched from allowlisted ``jku`` URLs, cached by URL and ``kid``.

    Per URL: one fetch in flight at a time (other threads wait for it, at most the fetch's
    deadline); a failed fetch is not retried before a back-off that doubles per failure (5 s
    up to 5 min), and meanwhile the keys of the last good set stay usable for
    :data:`JKU_STALE_SECONDS`; each fetch has an overall deadline and a size cap.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        deadline_seconds: float = JKU_DEADLINE_SECONDS,
        max_bytes: int = JKU_MAX_BYTES,
    ) -> None:
        self._lock = threading.Lock()
        self._sets: dict[str, _JkuEntry] = {}
        self._clock = clock
        self.deadline_seconds = deadline_seconds
        self.max_bytes = max_bytes

    def clear(self) -> None:
        with self._lock:
            self._sets.clear()

    def key(self, jku: str, kid: str) -> dict[str, Any] | None:
        if not jku.startswith("https://") and not is_loopback(jku):
            raise Unauthorized("jku must be https")
        with self._lock:
            entry = self._sets.setdefault(jku, _JkuEntry())
            now = self._clock()
            fresh = now - entry.fetched <= JKU_TTL_SECONDS
            if kid in entry.keys and fresh:
                return entry.keys[kid]
            wanted = not fresh or now - entry.attempted > JKU_REFRESH_SECONDS
            if not wanted or now < entry.retry_at:
                return self._usable(entry, kid, now)
            flight = entry.flight
            if flight is None:
                entry.flight = threading.Event()
        if flight is not None:  # another thread is fetching this jku: wait for its result
            flight.wait(self.deadline_seconds)
            with self._lock:
                return self._usable(entry, kid, self._clock())
        keys: dict[str, dict[str, Any]] | None = None
        try:
            keys = self._fetch(jku)
        except Unauthorized as exc:
            reason = exc.diagnostics
        finally:
            with self._lock:
                now = self._clock()
                entry.attempted = now
                if keys is not None:
                    entry.keys, entry.fetched, entry.failures = keys, now, 0
                    entry.retry_at = float("-inf")
                else:
                    entry.failures += 1
                    backoff = JKU_BACKOFF_SECONDS * 2 ** min(entry.failures - 1, 16)
                    entry.retry_at = now + min(backoff, JKU_BACKOFF_MAX_SECONDS)
                flight, entry.flight = entry.flight, None
                if flight is not None:
                    flight.set()
        if keys is None:
            log.warning(
                "a jku could not be fetched; it is not fetched again before its back-off ends",
                extra={"reason": reason, "count": entry.failures},
            )
            with self._lock:
                return self._usable(entry, kid, self._clock())
        return keys.get(kid)

    @staticmethod
    def _usable(entry: _JkuEntry, kid: str, now: float) -> dict[str, Any] | None:
        """A key of the last good set while it is not too old (no fetch now)."""
        if now - entry.fetched <= JKU_STALE_SECONDS:
            return entry.keys.get(kid)
        return None

    def _fetch(self, jku: str) -> dict[str, dict[str, Any]]:
        timeout = (
            min(JKU_TIMEOUT[0], self.deadline_seconds),
            min(JKU_TIMEOUT[1], self.deadline_seconds),
        )
        try:
            with requests.Session() as session, DeadlineGuard(self.deadline_seconds) as guard:
                mount_deadline_adapter(session)
                response = session.get(jku, timeout=timeout, allow_redirects=False, stream=True)
                with response:
                    response.raise_for_status()
                    declared = response.headers.get("Content-Length", "")
                    if declared.isdigit() and int(declared) > self.max_bytes:
                        raise Unauthorized("jku answer too large")
                    data = bytearray()
                    for chunk in response.iter_content(chunk_size=16384):
                        data += chunk
                        if len(data) > self.max_bytes:
                            raise Unauthorized("jku answer too large")
                    if guard.fired:
                        raise requests.Timeout()
            body = json.loads(data)
        except (requests.RequestException, ValueError):
            raise Unauthorized("jku could not be fetched") from None
        keys = body.get("keys") if isinstance(body, dict) else None
        if not isinstance(keys, list):
            raise Unauthorized("jku holds no JWK Set")
        return {str(k["kid"]): k for k in keys if isinstance(k, dict) and "kid" in k}


#: Process-wide cache of public keys (a cache of public data, not security state).
JKU_CACHE = JkuCache()


def verify(
    token: str,
    *,
    audience_url: str,
    settings: Settings,
    store: JtiStore,
    jku_cache: JkuCache = JKU_CACHE,
) -> Claims:
    """Verify a CDS client's JWT for ``audience_url`` (the exact URL invoked).

    :raise service.errors.Unauthorized: any failure (the diagnostics are for the log only).
    :raise service.errors.StoreUnavailable: the jti cannot be recorded.
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise Unauthorized("malformed: the bearer token is not a JWT") from None
    alg, kid, typ = header.get("alg"), header.get("kid"), header.get("typ")
    if alg not in ALGORITHMS:
        raise Unauthorized("alg-not-allowed: JWT alg must be ES384 or RS384")
    if not isinstance(typ, str) or typ.upper() != "JWT":
        raise Unauthorized("bad-typ: JWT typ must be JWT")
    if not isinstance(kid, str) or not kid:
        raise Unauthorized("missing-kid: the JWT header has no kid")
    try:
        # The claims (aud, exp, nbf, iat, the required ones) before the key: a token refused
        # on its claims never costs a key lookup, let alone a jku fetch (best-practice order).
        unverified = jwt.decode(
            token,
            options=_UNSIGNED_CLAIM_CHECKS,
            audience=audience_url,
            leeway=LEEWAY_SECONDS,
        )
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise _claims_refused(exc, token, audience_url) from None
    issuer = unverified.get("iss")
    allowed = set(settings.cds_issuers)
    if settings.cds_trust_sandbox_key:
        allowed.add(SANDBOX_ISSUER)
    if not isinstance(issuer, str) or issuer not in allowed:
        raise Unauthorized(f"iss-not-allowed: issuer {_shown(issuer)} is not in CDS_ISSUERS")
    jwk = _find_key(issuer, kid, header.get("jku"), settings, jku_cache)
    if jwk.get("alg") not in (None, alg):
        raise Unauthorized("JWT alg does not match the key")
    try:
        key = jwt.PyJWK(jwk, algorithm=alg)
        claims = jwt.decode(
            token,
            key=key,
            algorithms=[alg],
            audience=audience_url,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options=_CLAIM_CHECKS,
        )
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        raise Unauthorized("bad-signature: the JWT signature or claims do not verify") from None
    return _remember(claims, issuer, store)


class AudienceMismatch(Unauthorized):
    """The token was minted for another URL: the log names both (URLs, never the token)."""

    def __init__(self, expected: str, received: str) -> None:
        super().__init__(
            f"aud-mismatch: the JWT aud is {received}, the URL invoked is {expected} "
            "(check PUBLIC_BASE_URL and the host name the EHR calls, e.g. localhost vs 127.0.0.1)"
        )
        self.log_fields = {"expected_aud": expected, "received_aud": received}


def _shown(value: Any, limit: int = 200) -> str:
    """A claim value fit for the log: a string, cut to ``limit`` characters."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _claims_refused(exc: Exception, token: str, audience_url: str) -> Unauthorized:
    """Which claim check refused the token (aud, exp, nbf, iat, a required claim)."""
    if isinstance(exc, jwt.InvalidAudienceError):
        try:
            aud = jwt.decode(token, options={"verify_signature": False}).get("aud")
        except (jwt.PyJWTError, ValueError, TypeError):
            aud = None
        return AudienceMismatch(audience_url, _shown(aud))
    if isinstance(exc, jwt.ExpiredSignatureError):
        return Unauthorized("expired: the JWT exp is past (60 s leeway)")
    if isinstance(exc, jwt.ImmatureSignatureError):
        return Unauthorized("not-yet-valid: the JWT nbf or iat is in the future (60 s leeway)")
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return Unauthorized(f"missing-claim: the JWT has no {exc.claim}")
    return Unauthorized(f"claims-rejected: {type(exc).__name__}")


def _find_key(
    issuer: str, kid: str, jku: Any, settings: Settings, jku_cache: JkuCache
) -> dict[str, Any]:
    for jwk in configured_jwks(settings, issuer):
        if jwk.get("kid") == kid:
            return jwk
    if isinstance(jku, str) and jku_allowed(issuer, jku, settings.cds_jku_allowlist):
        found = jku_cache.key(jku, kid)
        if found is not None:
            return found
    raise Unauthorized(f"untrusted-key: no key of issuer {_shown(issuer)} has this kid")


def _remember(claims: Mapping[str, Any], issuer: str, store: JtiStore) -> Claims:
    jti, exp, iat = claims.get("jti"), claims.get("exp"), claims.get("iat")
    if not isinstance(jti, str) or not jti:
        raise Unauthorized("JWT jti missing")
    if not isinstance(exp, int | float) or not isinstance(iat, int | float):
        raise Unauthorized("JWT exp/iat not numbers")
    if exp - iat > MAX_LIFETIME_SECONDS:
        raise Unauthorized("lifetime-too-long: JWT exp - iat is over an hour")
    expires_at = datetime.fromtimestamp(exp + LEEWAY_SECONDS, UTC)
    if not store.remember_jti(issuer, jti, expires_at):
        raise Unauthorized("replayed-jti: this jti was seen before")
    tenant, subject = claims.get("tenant"), claims.get("sub")
    return Claims(
        issuer=issuer,
        jti=jti,
        expires_at=expires_at,
        tenant=tenant if isinstance(tenant, str) and tenant else None,
        subject=subject if isinstance(subject, str) and subject else None,
    )
