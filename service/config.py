"""One settings object, read from the environment once, with safe defaults."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from service.core.thresholds import Thresholds


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _console(e: Mapping[str, str]) -> tuple[bool, bool]:
    """CONSOLE_ENABLED: ``(enabled, development)``; ``development`` turns the console on with
    no login (issue 13 item 7), a true value turns it on behind the API token / SMART launch."""
    raw = e.get("CONSOLE_ENABLED", "false").strip().lower()
    if raw == "development":
        return True, True
    return _bool(raw), False


def _list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


class ConfigError(ValueError):
    """A setting the service cannot use: the message names the variable and what it expects
    (the CLI prints it as one line and exits 2; a server refuses to start)."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(f"{variable}: {message}")
        self.variable = variable


def _int(e: Mapping[str, str], name: str, default: int, low: int, high: int, hint: str) -> int:
    raw = e.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(name, f"expects {hint}; got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(name, f"expects {hint} ({low} to {high}); got {value}")
    return value


def _float(e: Mapping[str, str], name: str, default: float) -> float:
    raw = e.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise ConfigError(
            name, f"expects a number of seconds, e.g. {default}; got {raw!r}"
        ) from None
    if not value >= 0:
        raise ConfigError(name, f"expects a number of seconds >= 0; got {raw!r}")
    return value


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _log_level(raw: str) -> str:
    level = raw.strip().upper() or "INFO"
    if level not in LOG_LEVELS:
        raise ConfigError("LOG_LEVEL", f"expects one of {', '.join(LOG_LEVELS)}; got {raw!r}")
    return level


def _thresholds(e: Mapping[str, str]) -> Thresholds:
    """``THRESHOLD_<FIELD>`` overrides; an unknown name or a bad value names the variable."""
    valid = sorted(f"THRESHOLD_{f.name.upper()}" for f in fields(Thresholds))
    values: dict[str, Decimal] = {}
    for key, raw in sorted(e.items()):
        if not key.startswith("THRESHOLD_"):
            continue
        if key not in valid:
            raise ConfigError(key, f"is not a threshold; the valid ones are {', '.join(valid)}")
        try:
            values[key.removeprefix("THRESHOLD_").lower()] = Decimal(raw.strip())
        except ArithmeticError:
            raise ConfigError(key, f"expects a number; got {raw!r}") from None
    try:
        return Thresholds.from_mapping(values)
    except (ValueError, TypeError) as exc:
        names = ", ".join(f"THRESHOLD_{k.upper()}" for k in values) or "THRESHOLD_*"
        raise ConfigError(names, str(exc)) from None


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


def _clients(value: str) -> tuple[tuple[str, str], ...]:
    try:
        return parse_clients(value)
    except ValueError as exc:
        raise ConfigError("FHIR_API_CLIENTS", str(exc).removeprefix("FHIR_API_CLIENTS ")) from None


_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-]+(?::\d{1,5})?$")


def _frame_ancestors(value: str) -> tuple[str, ...]:
    """``CONSOLE_FRAME_ANCESTORS``: origins (``https://ehr.example.org``) or ``'self'``,
    separated by spaces or commas; anything else (a path, a quote, a ``;``) is refused, as it
    goes into the Content-Security-Policy header as it is."""
    items = tuple(v for v in re.split(r"[\s,]+", value.strip()) if v)
    for item in items:
        if item != "'self'" and not _ORIGIN.match(item):
            raise ConfigError(
                "CONSOLE_FRAME_ANCESTORS",
                f"expects origins such as https://ehr.example.org or 'self'; got {item!r}",
            )
    return items


def _samesite(value: str) -> str:
    for choice in ("None", "Lax", "Strict"):
        if value.strip().lower() == choice.lower():
            return choice
    raise ConfigError("SMART_COOKIE_SAMESITE", f"expects None, Lax or Strict; got {value!r}")


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
    export_max_jobs: int = 4  # export jobs running at once, all replicas (429 past it)
    # FHIR client for the CLI (issue 5): a batch tool may wait longer than a hook.
    fhir_cli_connect_timeout: float = 5.0
    fhir_cli_read_timeout: float = 30.0
    fhir_retry_budget: float = 30.0  # seconds spent waiting on 429/503 before giving up
    # Named clients of the FHIR operation, name -> bearer token (empty: the operation is open).
    fhir_api_clients: tuple[tuple[str, str], ...] = ()
    # The console page (issue 13): GET /console, / redirects to it; off: both answer 404.
    # Off unless enabled (issue 13 item 7: in production it is reached only when a deployment
    # turns it on); `make run`, the development entry point, turns it on in development mode.
    console_enabled: bool = False
    # CONSOLE_ENABLED=development (issue 13 item 7): the console's data endpoints take any
    # caller while FHIR_API_CLIENTS is empty. Never inferred from other settings: with
    # CONSOLE_ENABLED=true (production) they need the API client token or a SMART launch.
    console_development: bool = False
    # SMART on FHIR EHR launch of the console (issue 13 item 6): the client id registered with
    # the EHR (empty: no launch, and cards carry no smart link), an optional secret (a
    # confidential symmetric client: HTTP Basic at the token endpoint), the origins that may
    # frame a launched page (CSP frame-ancestors; empty: 'none'), the launch cookie's SameSite
    # ("None" so an EHR iframe gets it; it falls back to Lax when PUBLIC_BASE_URL is not https,
    # as browsers drop SameSite=None cookies without Secure), and how long a launch may take
    # and how long a launched page may read the EHR.
    smart_client_id: str = ""
    smart_client_secret: str = field(default="", repr=False)
    console_frame_ancestors: tuple[str, ...] = ()
    smart_cookie_samesite: str = "None"
    smart_launch_seconds: int = 600
    smart_session_seconds: int = 3600

    @property
    def console_open(self) -> bool:
        """Development mode of the console (issue 13 item 7): CONSOLE_ENABLED=development and no
        FHIR_API_CLIENTS (the app warns at start-up). Then the console's data endpoints need no
        login; otherwise (CONSOLE_ENABLED=true, production) only the API client token or a
        SMART launch session opens them: enabling the console never opens it by itself."""
        return self.console_enabled and self.console_development and not self.fhir_api_clients

    @property
    def smart_enabled(self) -> bool:
        """The console can be launched from an EHR (and cards carry the smart link)."""
        return self.console_enabled and bool(self.smart_client_id)

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
        port = _int(e, "PORT", d.port, 1, 65535, "a TCP port number, e.g. 8080")
        host = e.get("HOST", d.host)
        console = _console(e)
        return cls(
            host=host,
            port=port,
            data_dir=Path(e.get("DATA_DIR", str(d.data_dir))),
            database_url=e.get("DATABASE_URL", ""),
            max_body_bytes=_int(
                e,
                "MAX_BODY_BYTES",
                d.max_body_bytes,
                1,
                2**31,
                f"a whole number of bytes, e.g. {d.max_body_bytes} for 5 MB (no unit)",
            ),
            public_base_url=e.get("PUBLIC_BASE_URL", f"http://{host}:{port}").rstrip("/"),
            log_level=_log_level(e.get("LOG_LEVEL", d.log_level)),
            thresholds=_thresholds(e),
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
            fhir_connect_timeout=_float(e, "FHIR_CONNECT_TIMEOUT", d.fhir_connect_timeout),
            fhir_read_timeout=_float(e, "FHIR_READ_TIMEOUT", d.fhir_read_timeout),
            fhir_deadline=_float(e, "FHIR_DEADLINE", d.fhir_deadline),
            export_token=e.get("EXPORT_TOKEN", ""),
            export_min_poll_seconds=_float(e, "EXPORT_MIN_POLL_SECONDS", d.export_min_poll_seconds),
            export_max_jobs=_int(
                e, "EXPORT_MAX_JOBS", d.export_max_jobs, 1, 1000, "a whole number of jobs, e.g. 4"
            ),
            fhir_cli_connect_timeout=_float(
                e, "FHIR_CLI_CONNECT_TIMEOUT", d.fhir_cli_connect_timeout
            ),
            fhir_cli_read_timeout=_float(e, "FHIR_CLI_READ_TIMEOUT", d.fhir_cli_read_timeout),
            fhir_retry_budget=_float(e, "FHIR_RETRY_BUDGET", d.fhir_retry_budget),
            fhir_api_clients=_clients(e.get("FHIR_API_CLIENTS", "")),
            console_enabled=console[0],
            console_development=console[1],
            smart_client_id=e.get("SMART_CLIENT_ID", "").strip(),
            smart_client_secret=e.get("SMART_CLIENT_SECRET", "").strip(),
            console_frame_ancestors=_frame_ancestors(e.get("CONSOLE_FRAME_ANCESTORS", "")),
            smart_cookie_samesite=_samesite(e.get("SMART_COOKIE_SAMESITE", "None")),
            smart_launch_seconds=_int(
                e, "SMART_LAUNCH_SECONDS", d.smart_launch_seconds, 30, 3600, "seconds, e.g. 600"
            ),
            smart_session_seconds=_int(
                e, "SMART_SESSION_SECONDS", d.smart_session_seconds, 60, 86400, "seconds, e.g. 3600"
            ),
        )
