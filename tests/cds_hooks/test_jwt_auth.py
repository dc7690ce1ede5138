"""JWT verification with generated EC P-384 and RSA keys, and the sandbox key in development."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
from click.testing import CliRunner

from service.cds_hooks.jwt_auth import SANDBOX_ISSUER, bearer_token, verify
from service.cds_hooks.mint import SANDBOX_KID, jwt_command, mint_jwt
from service.config import Settings
from service.errors import Unauthorized

from .support import BASE, DATA, EHR_ISS, FakeStore, claims_for, sign

PATH = "/cds-services/hip-spine-patient-view"
AUD = BASE + PATH


def check(token: str, settings: Settings, store: FakeStore | None = None) -> Any:
    return verify(token, audience_url=AUD, settings=settings, store=store or FakeStore())


def ec_token(keys: SimpleNamespace, **claims: Any) -> str:
    return sign(keys.ec, claims_for(PATH, **claims), headers={"kid": "ec-1", "typ": "JWT"})


def test_a_valid_es384_token_gives_its_claims(keys: SimpleNamespace, settings: Settings) -> None:
    claims = check(ec_token(keys, tenant="t1"), settings)
    assert claims.issuer == EHR_ISS and claims.client == f"{EHR_ISS}|t1"


def test_a_valid_rs384_token_is_accepted(keys: SimpleNamespace, settings: Settings) -> None:
    token = sign(keys.rsa, claims_for(PATH), alg="RS384", headers={"kid": "rsa-1", "typ": "JWT"})
    assert check(token, settings).issuer == EHR_ISS


def _now_plus(**offsets: int) -> dict[str, int]:
    """Time claims relative to the moment the test runs, not to when pytest collected it (a
    slow suite once let a "not yet valid" nbf, fixed at collection, become valid)."""
    now = int(time.time())
    return {name: now + offset for name, offset in offsets.items()}


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": -120, "iat": -420},  # expired beyond leeway
        {"nbf": 300},  # not yet valid
        {"aud": BASE + "/cds-services"},  # another endpoint
        {"aud": "https://evil.test" + PATH},
        {"iss": "https://unknown.example.org"},
        {"exp": 7200},  # lives longer than an hour
        {"jti": ""},
    ],
)
def test_bad_claims_are_refused(
    keys: SimpleNamespace, settings: Settings, claims: dict[str, Any]
) -> None:
    timed = {k: v for k, v in claims.items() if k in ("exp", "iat", "nbf")}
    claims = {**claims, **_now_plus(**timed)}
    with pytest.raises(Unauthorized):
        check(ec_token(keys, **claims), settings)


def test_a_token_just_expired_within_the_leeway_is_accepted(
    keys: SimpleNamespace, settings: Settings
) -> None:
    now = int(time.time())
    assert check(ec_token(keys, exp=now - 30, iat=now - 330), settings)


def test_alg_none_is_refused(settings: Settings) -> None:
    token = jwt.encode(claims_for(PATH), None, algorithm="none", headers={"kid": "ec-1"})  # type: ignore[arg-type]
    with pytest.raises(Unauthorized):
        check(token, settings)


def test_hs256_signed_with_the_public_key_text_is_refused(
    keys: SimpleNamespace, settings: Settings
) -> None:
    token = jwt.encode(claims_for(PATH), "k" * 32, algorithm="HS256", headers={"kid": "ec-1"})
    with pytest.raises(Unauthorized):
        check(token, settings)


def test_es256_is_not_an_allowed_algorithm(settings: Settings) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    from .support import _pem

    token = sign(
        _pem(ec.generate_private_key(ec.SECP256R1())),
        claims_for(PATH),
        alg="ES256",
        headers={"kid": "ec-1"},
    )
    with pytest.raises(Unauthorized):
        check(token, settings)


def test_a_replayed_jti_is_refused(keys: SimpleNamespace, settings: Settings) -> None:
    store = FakeStore()
    token = ec_token(keys)
    check(token, settings, store)
    with pytest.raises(Unauthorized):
        check(token, settings, store)
    assert len(store.jtis) == 1


def test_an_unknown_kid_is_refused(keys: SimpleNamespace, settings: Settings) -> None:
    token = sign(keys.ec, claims_for(PATH), headers={"kid": "nope", "typ": "JWT"})
    with pytest.raises(Unauthorized):
        check(token, settings)


def test_a_key_of_the_wrong_type_for_the_kid_is_refused(
    keys: SimpleNamespace, settings: Settings
) -> None:
    token = sign(keys.ec, claims_for(PATH), headers={"kid": "rsa-1", "typ": "JWT"})
    with pytest.raises(Unauthorized):
        check(token, settings)


def test_a_tampered_signature_or_payload_is_refused(
    keys: SimpleNamespace, settings: Settings
) -> None:
    header, payload, signature = ec_token(keys).split(".")
    flipped = ("A" if signature[5] != "A" else "B").join((signature[:5], signature[6:]))
    other = ec_token(keys, sub="someone-else").split(".")[1]
    for token in (f"{header}.{payload}.{flipped}", f"{header}.{other}.{signature}"):
        with pytest.raises(Unauthorized):
            check(token, settings)


def test_a_token_signed_by_another_key_is_refused(
    keys: SimpleNamespace, settings: Settings
) -> None:
    token = sign(keys.other, claims_for(PATH), headers={"kid": "ec-1", "typ": "JWT"})
    with pytest.raises(Unauthorized):
        check(token, settings)


@pytest.mark.parametrize("value", [None, "", "Basic abc", "Bearer ", "Bearer"])
def test_a_missing_or_non_bearer_authorization_is_refused(value: str | None) -> None:
    with pytest.raises(Unauthorized):
        bearer_token(value)


def sandbox_token(**claims: Any) -> str:
    return mint_jwt(
        (DATA / "sandbox-ecprivkey.pem").read_bytes(),
        aud=AUD,
        iss=SANDBOX_ISSUER,
        kid=SANDBOX_KID,
        **claims,
    )


def test_the_sandbox_key_is_trusted_in_development_mode_only(settings: Settings) -> None:
    assert Settings().cds_trust_sandbox_key is False
    with pytest.raises(Unauthorized):
        check(sandbox_token(), settings)
    development = replace(settings, cds_trust_sandbox_key=True)
    assert check(sandbox_token(), development).issuer == SANDBOX_ISSUER


def test_the_shipped_sandbox_key_set_is_the_published_one() -> None:
    shipped = Path(__file__).parents[2] / "service" / "data" / "cds-hooks-sandbox-jwks.json"
    keys = json.loads(shipped.read_text())["keys"]
    assert [(k["kid"], k["crv"], k["alg"]) for k in keys] == [(SANDBOX_KID, "P-384", "ES384")]


def test_the_jwt_command_prints_a_token_for_the_audience(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        jwt_command, ["--key", str(DATA / "sandbox-ecprivkey.pem"), "--aud", AUD]
    )
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert jwt.get_unverified_header(token)["kid"] == SANDBOX_KID
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == AUD and claims["exp"] - claims["iat"] == 300 and claims["jti"]


def test_minting_refuses_hmac() -> None:
    with pytest.raises(ValueError):
        mint_jwt(b"k", aud=AUD, iss=EHR_ISS, kid="k", alg="HS256")
