"""Issue 12 item 10: rotating ``CDS_JWKS_FILE`` in place (a half-written or missing file)
keeps the last good key set: valid calls still answer 200, the problem is logged once per
state of the file, without key material."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask.testing import FlaskClient

from service.config import Settings
from tests.cds_hooks import support
from tests.cds_hooks.support import EHR_ISS

# the CDS Hooks tests' fixtures: an app with the blueprint, CDS_JWKS_FILE in tmp_path
_fresh_jku_cache, app, auth, client = (
    support._fresh_jku_cache,
    support.app,
    support.auth,
    support.client,
)
keys, pipeline, settings, store = support.keys, support.pipeline, support.settings, support.store

Auth = Callable[..., dict[str, str]]


def _touch_later(path: Path, step: int) -> None:
    """A new mtime even on coarse file systems (an editor's rewrite)."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + step * 1_000_000_000))


def test_a_half_written_or_missing_jwks_file_keeps_the_last_good_keys(
    client: FlaskClient,
    auth: Auth,
    settings: Settings,
    keys: SimpleNamespace,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = Path(str(settings.cds_jwks_file))
    whole = path.read_text()
    assert client.get("/cds-services", headers=auth("/cds-services")).status_code == 200

    caplog.set_level(logging.WARNING, logger="hipspine.auth")
    path.write_text(whole[: len(whole) // 2])  # the rotation, half-way through
    _touch_later(path, 1)
    for _ in range(3):
        assert client.get("/cds-services", headers=auth("/cds-services")).status_code == 200
    path.write_text(json.dumps(["not", "an", "object"]))
    _touch_later(path, 2)
    assert client.get("/cds-services", headers=auth("/cds-services")).status_code == 200
    path.unlink()
    assert client.get("/cds-services", headers=auth("/cds-services")).status_code == 200

    warnings = [r for r in caplog.records if r.name == "hipspine.auth"]
    assert 1 <= len(warnings) <= 3, [r.getMessage() for r in warnings]  # once per state
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in warnings)
    assert "CDS_JWKS_FILE" in logged
    for secret in (keys.ec_jwk["x"], keys.ec_jwk["y"], keys.rsa_jwk["n"][:40], whole[:40]):
        assert secret not in logged

    # the new file, once whole, is read: a key set without ec-1 refuses ec-1's tokens
    path.write_text(json.dumps({EHR_ISS: {"keys": [keys.rsa_jwk]}}))
    _touch_later(path, 3)
    assert client.get("/cds-services", headers=auth("/cds-services")).status_code == 401


def test_a_jwks_file_never_readable_refuses_with_401_not_500(
    client: FlaskClient, auth: Auth, settings: Settings
) -> None:
    Path(str(settings.cds_jwks_file)).write_text("{half")
    assert client.get("/cds-services", headers=auth("/cds-services")).status_code == 401
