"""What a starting server says about itself: one loud warning per development-only setting.

Called once per server (``hipspine serve``; gunicorn's master in ``gunicorn.conf.py``), never
per worker or per CLI command. Each warning is a JSON log line naming the variable
(``variable`` field), so a production log search for ``"development only"`` finds them all.
"""

from __future__ import annotations

import logging

from service.config import Settings

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
    if "*" in settings.cors_origins:
        found.append(
            (
                "CORS_ORIGINS",
                "development only: CORS_ORIGINS=* lets any web page call the service from a "
                "browser; list the EHR's origins instead",
            )
        )
    return found


def warn_development_settings(settings: Settings) -> int:
    """Log one warning per development-only setting; the number logged."""
    found = development_settings(settings)
    for variable, text in found:
        log.warning(text, extra={"variable": variable})
    return len(found)
