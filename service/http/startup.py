"""What a starting server says about itself: the effective settings in one line, and one loud
warning per development-only setting.

Called once per server (``hipspine serve``; gunicorn's master in ``gunicorn.conf.py``), never
per worker or per CLI command. Each warning is a JSON log line naming the variable
(``variable`` field), so a production log search for ``"development only"`` finds them all.
``hipspine config`` prints the same effective settings. Never a token, a password or a key.
"""

from __future__ import annotations

import logging
from dataclasses import fields
from typing import Any

from service.audit.engine import describe_url
from service.config import Settings
from service.core.thresholds import Thresholds

log = logging.getLogger("hipspine.app")

_ALL_INTERFACES = frozenset({"0.0.0.0", "::", "[::]"})  # noqa: S104 (we are naming them)


def development_settings(settings: Settings) -> list[tuple[str, str]]:
    """``(variable, warning)`` for each development-only setting in force."""
    found: list[tuple[str, str]] = []
    if settings.cds_trust_sandbox_key:
        found.append(
            (
                "CDS_TRUST_SANDBOX_KEY",
                "development only: CDS_TRUST_SANDBOX_KEY=true trusts the public CDS Hooks "
                "sandbox's signing key, whose private half is published: anyone can call the "
                "services as https://sandbox.cds-hooks.org",
            )
        )
    if not settings.cds_auth_required:
        found.append(
            (
                "CDS_AUTH_REQUIRED",
                "development only: CDS_AUTH_REQUIRED=false: CDS Hooks calls are answered "
                "without a JWT (any caller, audited as 'unauthenticated')",
            )
        )
    if settings.host in _ALL_INTERFACES:
        found.append(
            (
                "HOST",
                f"development only: HOST={settings.host} listens on every network interface "
                "(fine inside a container reached only through its TLS proxy; on a host, "
                "bind 127.0.0.1 behind the proxy)",
            )
        )
    if settings.console_open:
        found.append(
            (
                "CONSOLE_ENABLED",
                "development only: CONSOLE_ENABLED=development: the console's data endpoints "
                "(examples, pasted Bundles, patients on the allowlisted FHIR servers) take any "
                "caller; use CONSOLE_ENABLED=true in production (API token or SMART launch)",
            )
        )
    if "*" in settings.cors_origins:
        found.append(
            (
                "CORS_ORIGINS",
                "development only: CORS_ORIGINS=* lets any web page call the service from a "
                "browser; list the EHR's origins instead",
            )
        )
    return found


def effective_settings(settings: Settings) -> dict[str, Any]:
    """The settings an operator checks first, by variable name (no secret, no password)."""
    default = Thresholds()
    overridden = {
        f"THRESHOLD_{f.name.upper()}": str(getattr(settings.thresholds, f.name))
        for f in fields(Thresholds)
        if getattr(settings.thresholds, f.name) != getattr(default, f.name)
    }
    store = (
        f"DATABASE_URL {describe_url(settings.database_url)}"
        if settings.database_url
        else f"SQLite {(settings.data_dir / 'hipspine.db').resolve()}"
    )
    return {
        "HOST": settings.host,
        "PORT": settings.port,
        "PUBLIC_BASE_URL": settings.public_base_url,
        "store": store,
        "CDS_AUTH_REQUIRED": settings.cds_auth_required,
        "CDS_TRUST_SANDBOX_KEY": settings.cds_trust_sandbox_key,
        "CDS_ISSUERS": list(settings.cds_issuers),
        "CDS_JWKS_FILE": settings.cds_jwks_file or None,
        "CDS_JKU_ALLOWLIST": list(settings.cds_jku_allowlist),
        "FHIR_SERVER_ALLOWLIST": list(settings.fhir_server_allowlist),
        "CORS_ORIGINS": list(settings.cors_origins),
        "MAPPINGS_DIR": str(settings.mappings_dir) if settings.mappings_dir else None,
        "FHIR_API_CLIENTS": [name for name, _token in settings.fhir_api_clients],
        "EXPORT_TOKEN": "set" if settings.export_token else "unset (export off)",
        "EXPORT_MAX_JOBS": settings.export_max_jobs,
        "MAX_BODY_BYTES": settings.max_body_bytes,
        "thresholds_overridden": overridden,
    }


def log_effective_settings(settings: Settings) -> None:
    log.info("effective settings", extra={"settings": effective_settings(settings)})


def warn_development_settings(settings: Settings) -> int:
    """Log one warning per development-only setting; the number logged."""
    found = development_settings(settings)
    for variable, text in found:
        log.warning(text, extra={"variable": variable})
    return len(found)
