"""Run the app under gunicorn from Python (``hipspine serve``), with the same factory."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from service.config import Settings
from service.fhir.api_auth import warn_if_open
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

        return create_app(self.settings)


def run(settings: Settings, *, threads: int) -> None:
    """One gunicorn worker with ``threads`` threads (the embedded default, `make run`)."""
    configure_logging(settings.log_level)
    warn_if_open(settings.fhir_api_clients)
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
