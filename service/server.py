"""Run the app under gunicorn from Python (``hipspine serve``), with the same factory."""

from __future__ import annotations

import errno
import socket
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from sqlalchemy.exc import ArgumentError

from service.audit.engine import describe_url
from service.audit.migrate import upgrade
from service.config import Settings
from service.errors import ExitCode, HipSpineError, fatal
from service.http.api_auth import warn_if_open
from service.http.startup import log_effective_settings, warn_development_settings
from service.logs import configure as configure_logging


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        from service.app import create_app

        # check_can_start has applied the migrations before gunicorn started: once is enough
        return create_app(self.settings, migrate=False)


def check_can_start(settings: Settings) -> None:
    """Exit with one line when the server cannot start: the port is taken (exit 2, with how
    to choose another) or the audit store cannot be reached or migrated (exit 3, naming where,
    never a password)."""
    family = socket.AF_INET6 if ":" in settings.host.strip("[]") else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind((settings.host.strip("[]"), settings.port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                fatal(
                    f"port {settings.port} on {settings.host} is already in use (another "
                    "hipspine serve or make run?): stop it, or choose another port, e.g. "
                    f"make run PORT={settings.port + 1} (or PORT={settings.port + 1} "
                    "hipspine serve)",
                    ExitCode.INPUT,
                )
            fatal(
                f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}", ExitCode.INPUT
            )
    try:
        upgrade(settings.sqlalchemy_url)
    except (HipSpineError, ArgumentError) as exc:
        reason = exc.diagnostics if isinstance(exc, HipSpineError) else "invalid URL"
        fatal(f"{reason}: {store_location(settings)}", ExitCode.STORE)


def store_location(settings: Settings) -> str:
    """Where the audit store is, for a message: host, port and database, never a password."""
    if not settings.database_url:
        return f"SQLite file {(settings.data_dir / 'hipspine.db').resolve()} (DATA_DIR)"
    return f"DATABASE_URL {describe_url(settings.database_url)}"


def run(settings: Settings, *, threads: int) -> None:
    """One gunicorn worker with ``threads`` threads (the embedded default, `make run`)."""
    configure_logging(settings.log_level)
    warn_if_open(settings.fhir_api_clients)
    log_effective_settings(settings)
    warn_development_settings(settings)
    options = {
        "bind": f"{settings.host}:{settings.port}",
        "workers": 1,
        "threads": threads,
        # requests read whole before a thread takes them: slow clients cost no thread
        "worker_class": "service.workers.BufferingWorker",
        "timeout": 30,
        "graceful_timeout": 10,
        "accesslog": None,  # the app logs each request as JSON itself
        "logger_class": "service.logs.GunicornLogger",  # JSON, no request lines or headers
        "control_socket_disable": True,  # its shared default path clashes between instances
    }
    _Gunicorn(settings, options).run()
