"""One settings object, read from the environment once, with safe defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from service.core.thresholds import Thresholds


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def parse_clients(value: str) -> tuple[tuple[str, str], ...]:
    """``"ris=s3cret,portal=t0ken"`` -> ``(("ris", "s3cret"), ("portal", "t0ken"))``.

    :raise ValueError: a pair without ``=``, an empty name or token, or a name given twice.
    """
    clients: dict[str, str] = {}
    for pair in (p.strip() for p in value.split(",")):
        if not pair:
            continue
        name, sep, token = pair.partition("=")
        name, token = name.strip(), token.strip()
        if not sep or not name or not token:
            raise ValueError("FHIR_API_CLIENTS takes name=token pairs, comma-separated")
        if name in clients:
            raise ValueError(f"FHIR_API_CLIENTS names client {name!r} twice")
        clients[name] = token
    return tuple(clients.items())


@dataclass(frozen=True)
class Settings:
    """Every setting of the service. ``Settings.from_env()`` documents each variable."""

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("data")
    database_url: str = ""  # empty: SQLite file in data_dir
    max_body_bytes: int = 5 * 1024 * 1024
    public_base_url: str = "http://127.0.0.1:8080"
    log_level: str = "INFO"
    thresholds: Thresholds = field(default_factory=Thresholds)
    mappings_dir: Path | None = None  # None: the checkout's mappings/ (ConceptMaps)
    profiles_dir: Path | None = None  # None: the checkout's profiles/
    # CDS Hooks and outbound FHIR (issue 3 / 5).
    cds_auth_required: bool = True
    cds_trust_sandbox_key: bool = False
    cds_issuers: tuple[str, ...] = ()
    cds_jwks_file: str = ""
    cds_jku_allowlist: tuple[str, ...] = ()
    fhir_server_allowlist: tuple[str, ...] = ()
    fhir_allow_http: bool = False  # plain-http FHIR servers other than loopback (dev only)
    cors_origins: tuple[str, ...] = ()
    fhir_connect_timeout: float = 0.5
    fhir_read_timeout: float = 1.5
    fhir_deadline: float = 2.5
    # Audit export (issue 4).
    export_token: str = ""
    export_min_poll_seconds: float = 1.0
    # FHIR client for the CLI (issue 5): a batch tool may wait longer than a hook.
    fhir_cli_connect_timeout: float = 5.0
    fhir_cli_read_timeout: float = 30.0
    fhir_retry_budget: float = 30.0  # seconds spent waiting on 429/503 before giving up
    # Named clients of the FHIR operation, name -> bearer token (empty: the operation is open).
    fhir_api_clients: tuple[tuple[str, str], ...] = ()

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hipspine.db').resolve()}"

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        e = dict(os.environ if env is None else env)
        d = cls()
        port = int(e.get("PORT", d.port))
        host = e.get("HOST", d.host)
        return cls(
            host=host,
            port=port,
            data_dir=Path(e.get("DATA_DIR", str(d.data_dir))),
            database_url=e.get("DATABASE_URL", ""),
            max_body_bytes=int(e.get("MAX_BODY_BYTES", d.max_body_bytes)),
            public_base_url=e.get("PUBLIC_BASE_URL", f"http://{host}:{port}").rstrip("/"),
            log_level=e.get("LOG_LEVEL", d.log_level).upper(),
            thresholds=Thresholds.from_mapping(
                {
                    k.removeprefix("THRESHOLD_").lower(): Decimal(v)
                    for k, v in e.items()
                    if k.startswith("THRESHOLD_")
                }
            ),
            mappings_dir=Path(e["MAPPINGS_DIR"]) if e.get("MAPPINGS_DIR") else None,
            profiles_dir=Path(e["PROFILES_DIR"]) if e.get("PROFILES_DIR") else None,
            cds_auth_required=_bool(e.get("CDS_AUTH_REQUIRED", "true")),
            cds_trust_sandbox_key=_bool(e.get("CDS_TRUST_SANDBOX_KEY", "false")),
            cds_issuers=_list(e.get("CDS_ISSUERS", "")),
            cds_jwks_file=e.get("CDS_JWKS_FILE", ""),
            cds_jku_allowlist=_list(e.get("CDS_JKU_ALLOWLIST", "")),
            fhir_server_allowlist=_list(e.get("FHIR_SERVER_ALLOWLIST", "")),
            fhir_allow_http=_bool(e.get("FHIR_ALLOW_HTTP", "false")),
            cors_origins=_list(e.get("CORS_ORIGINS", "")),
            fhir_connect_timeout=float(e.get("FHIR_CONNECT_TIMEOUT", d.fhir_connect_timeout)),
            fhir_read_timeout=float(e.get("FHIR_READ_TIMEOUT", d.fhir_read_timeout)),
            fhir_deadline=float(e.get("FHIR_DEADLINE", d.fhir_deadline)),
            export_token=e.get("EXPORT_TOKEN", ""),
            export_min_poll_seconds=float(
                e.get("EXPORT_MIN_POLL_SECONDS", d.export_min_poll_seconds)
            ),
            fhir_cli_connect_timeout=float(
                e.get("FHIR_CLI_CONNECT_TIMEOUT", d.fhir_cli_connect_timeout)
            ),
            fhir_cli_read_timeout=float(e.get("FHIR_CLI_READ_TIMEOUT", d.fhir_cli_read_timeout)),
            fhir_retry_budget=float(e.get("FHIR_RETRY_BUDGET", d.fhir_retry_budget)),
            fhir_api_clients=parse_clients(e.get("FHIR_API_CLIENTS", "")),
        )
