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
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
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

ALGORITHMS = ("ES384", "RS384")
LEEWAY_SECONDS = 60
#: Tokens living longer than this are refused, which bounds how long a jti must be kept.
MAX_LIFETIME_SECONDS = 3600
SANDBOX_ISSUER = "https://sandbox.cds-hooks.org"
JKU_TIMEOUT = (1.0, 2.0)  # (connect, read) seconds
JKU_TTL_SECONDS = 600.0
JKU_REFRESH_SECONDS = 60.0  # an unknown kid refetches at most this often
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
def _jwks_file(path: str, mtime: float) -> Mapping[str, Any]:
    loaded = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(loaded, dict):
        raise ValueError("CDS_JWKS_FILE must hold a JSON object: issuer -> JWK Set")
    return loaded


def configured_jwks(settings: Settings, issuer: str) -> list[dict[str, Any]]:
    """The pre-registered keys of ``issuer`` (JWKS file, plus the sandbox in development)."""
    keys: list[dict[str, Any]] = []
    if settings.cds_jwks_file:
        path = Path(settings.cds_jwks_file)
        jwks = _jwks_file(str(path), path.stat().st_mtime).get(issuer) or {}
        keys += [k for k in jwks.get("keys", ()) if isinstance(k, dict)]
    if settings.cds_trust_sandbox_key and issuer == SANDBOX_ISSUER:
        keys += list(sandbox_jwks()["keys"])
    return keys


def jku_allowed(issuer: str, jku: str, allowlist: tuple[str, ...]) -> bool:
    for entry in allowlist:
        scoped, sep, url = entry.rpartition("|")
        if url == jku and (not sep or scoped == issuer):
            return True
    return False


class JkuCache:
    """JWK Sets fetched from allowlisted ``jku`` URLs, cached by URL and ``kid``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sets: dict[str, tuple[float, dict[str, dict[str, Any]]]] = {}

    def key(self, jku: str, kid: str) -> dict[str, Any] | None:
        now = time.monotonic()
        with self._lock:
            fetched, keys = self._sets.get(jku, (float("-inf"), {}))
        stale = now - fetched > JKU_TTL_SECONDS
        if kid in keys and not stale:
            return keys[kid]
        if stale or now - fetched > JKU_REFRESH_SECONDS:
            keys = self._fetch(jku)
            with self._lock:
                self._sets[jku] = (now, keys)
        return keys.get(kid)

    @staticmethod
    def _fetch(jku: str) -> dict[str, dict[str, Any]]:
        if not jku.startswith("https://") and not is_loopback(jku):
            raise Unauthorized("jku must be https")
        try:
            response = requests.get(jku, timeout=JKU_TIMEOUT, allow_redirects=False)
            response.raise_for_status()
            body = response.json()
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
