"""Minting of development JWTs that play a CDS client (``hipspine jwt``); never for production."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import click
import jwt

from service.cds_hooks.jwt_auth import ALGORITHMS, SANDBOX_ISSUER

SANDBOX_KID = "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"
SANDBOX_JKU = "https://sandbox.cds-hooks.org/.well-known/jwks.json"


def mint_jwt(
    key_pem: str | bytes,
    *,
    aud: str,
    iss: str,
    kid: str,
    alg: str = "ES384",
    lifetime: int = 300,
    jku: str | None = None,
    now: float | None = None,
) -> str:
    """A JWT as a CDS client signs it: header ``alg``/``typ``/``kid`` (+``jku``), claims
    ``iss``, ``aud`` (the exact URL to call), ``iat``, ``exp = iat + lifetime``, fresh ``jti``.

    :raise ValueError: an algorithm other than ES384 or RS384.
    """
    if alg not in ALGORITHMS:
        raise ValueError(f"alg must be one of {', '.join(ALGORITHMS)}")
    issued = int(time.time() if now is None else now)
    headers: dict[str, str] = {"typ": "JWT", "kid": kid}
    if jku:
        headers["jku"] = jku
    claims = {
        "iss": iss,
        "aud": aud,
        "iat": issued,
        "exp": issued + lifetime,
        "jti": str(uuid.uuid4()),
    }
    key = key_pem.encode() if isinstance(key_pem, str) else key_pem
    return jwt.encode(claims, key, algorithm=alg, headers=headers)


@click.command("jwt")
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM private key (EC P-384 for ES384, RSA for RS384).",
)
@click.option("--aud", required=True, help="The exact URL that will be called.")
@click.option("--iss", default=SANDBOX_ISSUER, show_default=True, help="Issuer.")
@click.option("--kid", default=SANDBOX_KID, show_default=True, help="Key id in the JWK Set.")
@click.option("--alg", type=click.Choice(ALGORITHMS), default="ES384", show_default=True)
@click.option("--lifetime", type=int, default=300, show_default=True, help="Seconds.")
def jwt_command(key_file: Path, aud: str, iss: str, kid: str, alg: str, lifetime: int) -> None:
    """Print a development JWT for calling a CDS endpoint (e.g. with curl)."""
    try:
        token = mint_jwt(
            key_file.read_bytes(), aud=aud, iss=iss, kid=kid, alg=alg, lifetime=lifetime
        )
    except (ValueError, TypeError, jwt.PyJWTError):
        kind = "an EC P-384" if alg == "ES384" else "an RSA"
        raise click.BadParameter(
            f"{key_file} is not a PEM private key usable for {alg} (give {kind} private key)",
            param_hint="--key",
        ) from None
    click.echo(token)
