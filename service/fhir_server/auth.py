"""Authorization for the FHIR client: a static bearer token, or SMART Backend Services.

SMART Backend Services (client-credentials grant with a JWT assertion signed by the client's
private key, SMART App Launch 2.x "Backend Services"): the token endpoint comes from the
server's ``.well-known/smart-configuration`` unless given; the access token is cached until
shortly before it expires. Tokens are never logged nor put in error messages.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from service.errors import FhirServerRejected, FhirServerUnavailable

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: SMART caps the assertion's lifetime at five minutes.
ASSERTION_LIFETIME = 300
#: A cached token is renewed this many seconds before it expires (clock skew, slow calls).
EXPIRY_MARGIN = 30.0
#: Used when the token response has no ``expires_in``.
DEFAULT_TOKEN_LIFETIME = 300.0


class TokenTransport(Protocol):
    """What an auth needs from the client: JSON GET and form POST under its rules."""

    base_url: str

    def get_absolute(self, url: str, *, what: str) -> dict[str, Any]: ...

    def post_form(self, url: str, form: dict[str, str], *, what: str) -> dict[str, Any]: ...


class Auth(Protocol):
    def header(self, transport: TokenTransport) -> str:
        """The ``Authorization`` header value."""
        ...

    def invalidate(self) -> bool:
        """Forget a cached credential (after a 401); True when a fresh one can be had."""
        ...


@dataclass(frozen=True)
class BearerToken:
    """A static bearer token (for example a sandbox's test token)."""

    token: str

    def header(self, transport: TokenTransport) -> str:
        return f"Bearer {self.token}"

    def invalidate(self) -> bool:
        return False

    def __repr__(self) -> str:  # never print the token
        return "BearerToken(***)"


class SmartBackendAuth:
    """SMART Backend Services: client_credentials with a signed JWT assertion.

    :param client_id: the client id registered with the EHR (the assertion's iss and sub).
    :param private_key: the PEM private key (RSA for RS384, EC P-384 for ES384).
    :param token_url: the token endpoint; discovered from ``.well-known/smart-configuration``
        at the FHIR base when ``None``.
    """

    def __init__(
        self,
        client_id: str,
        private_key: str,
        *,
        token_url: str | None = None,
        scope: str = "system/Patient.read system/Observation.read system/Condition.read "
        "system/Procedure.read",
        algorithm: str = "RS384",
        kid: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client_id = client_id
        self._key = private_key
        self.token_url = token_url
        self.scope = scope
        self.algorithm = algorithm
        self.kid = kid
        self._clock = clock
        self._token: str | None = None
        self._expires = 0.0
        self.fetches = 0  # how many tokens were requested (for tests and logs)

    def __repr__(self) -> str:
        return f"SmartBackendAuth(client_id={self.client_id!r})"

    def header(self, transport: TokenTransport) -> str:
        if self._token is None or self._clock() >= self._expires - EXPIRY_MARGIN:
            self._fetch(transport)
        return f"Bearer {self._token}"

    def invalidate(self) -> bool:
        self._token = None
        return True

    def assertion(self, token_url: str) -> str:
        """The signed client assertion JWT for ``token_url``."""
        now = int(self._clock())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": token_url,
            "exp": now + ASSERTION_LIFETIME,
            "iat": now,
            "jti": str(uuid.uuid4()),
        }
        headers = {"typ": "JWT", **({"kid": self.kid} if self.kid else {})}
        try:
            return jwt.encode(claims, self._key, algorithm=self.algorithm, headers=headers)
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise FhirServerRejected(
                f"cannot sign the SMART client assertion with the given key "
                f"({type(exc).__name__}; algorithm {self.algorithm})"
            ) from None

    def _endpoint(self, transport: TokenTransport) -> str:
        if self.token_url is None:
            config = transport.get_absolute(
                transport.base_url.rstrip("/") + "/.well-known/smart-configuration",
                what="the SMART configuration",
            )
            url = config.get("token_endpoint")
            if not isinstance(url, str) or not url:
                raise FhirServerRejected("the SMART configuration names no token_endpoint")
            self.token_url = url
        return self.token_url

    def _fetch(self, transport: TokenTransport) -> None:
        url = self._endpoint(transport)
        form = {
            "grant_type": "client_credentials",
            "scope": self.scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(url),
        }
        answer = transport.post_form(url, form, what="the SMART token request")
        token = answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise FhirServerUnavailable("the SMART token endpoint returned no access_token")
        lifetime = answer.get("expires_in")
        seconds = (
            float(lifetime)
            if isinstance(lifetime, int | float) and not isinstance(lifetime, bool)
            else DEFAULT_TOKEN_LIFETIME
        )
        self._token = token
        self._expires = self._clock() + seconds
        self.fetches += 1


def signing_algorithm(key_pem: str) -> str:
    """ES384 for an EC key, else RS384, from the key itself (PKCS#1, SEC1 or PKCS#8 PEM).

    :raise ValueError: the text is not a PEM private key.
    """
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except TypeError:  # encrypted: the command line has no way to ask for a password
        raise ValueError(
            "the SMART private key is encrypted; give an unencrypted PEM key"
        ) from None
    return "ES384" if isinstance(key, ec.EllipticCurvePrivateKey) else "RS384"


def read_private_key(path: str) -> str:
    """The PEM text of a private key file.

    :raise FhirServerRejected: the file cannot be read.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise FhirServerRejected(
            f"cannot read the SMART private key {path}: {exc.strerror}"
        ) from None


__all__ = [
    "Auth",
    "signing_algorithm",
    "BearerToken",
    "SmartBackendAuth",
    "TokenTransport",
    "read_private_key",
]
