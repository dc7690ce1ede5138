"""The application factory: the one composition root (no module-level app, engine or client)."""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

from service import __version__
from service.audit.store import SqlAuditStore
from service.config import ConfigError, Settings
from service.fhir.profiles import Profiles, default_profiles_dir
from service.fhir.site_maps import load_index
from service.http.registry import Services
from service.http.web import (
    StreamedBodyLimit,
    register_error_handlers,
    register_request_metrics,
    request_id,
)
from service.logs import configure as configure_logging
from service.metrics import InstrumentedStore
from service.pipeline import Pipeline
from service.selfcheck import self_check_once

log = logging.getLogger("hipspine.access")


def create_app(settings: Settings | None = None, *, migrate: bool = True) -> Flask:
    """Build the Flask app: settings, mappings, profiles, store, pipeline, blueprints.

    ``migrate=False`` when the caller has just applied the store's migrations itself
    (``hipspine serve`` does before gunicorn starts: they run once, not twice)."""
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    app = Flask(__name__)
    app.config.update(
        SETTINGS=settings,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
    )
    # chunked bodies over the limit: 413, never cut at it (issue 12 item 9)
    limited = StreamedBodyLimit(app.wsgi_app, settings.max_body_bytes)
    app.wsgi_app = limited  # type: ignore[method-assign]
    store = SqlAuditStore(settings.sqlalchemy_url)
    if migrate:
        store.upgrade()
    try:
        index = load_index(settings.mappings_dir).index  # shipped + MAPPINGS_DIR (issue 11)
    except ValueError as exc:  # a site map's mistake: one line naming the file
        if settings.mappings_dir is None:
            raise
        raise ConfigError("MAPPINGS_DIR", str(exc)) from None
    profiles = Profiles.load(settings.profiles_dir or default_profiles_dir())
    pipeline = Pipeline(
        index=index,
        profiles=profiles,
        thresholds=settings.thresholds,
        store=InstrumentedStore(store),  # times audit writes, counts categories
        public_base_url=settings.public_base_url,
    )
    # builders no longer validate per call (issue 14 item 1): validate one evaluation of each
    # built-in chart once per process; a failure is one log line and no app (the process exits)
    self_check_once(pipeline)
    app.extensions["hipspine"] = Services(
        settings=settings,
        version=__version__,
        index=index,
        profiles=profiles,
        store=store,
        pipeline=pipeline,
    )

    from service.http.audit import bp as audit_bp
    from service.http.cds_hooks import bp as cds_bp
    from service.http.console import bp as console_bp
    from service.http.fhir import bp as fhir_bp
    from service.http.ops import bp as ops_bp
    from service.http.rules import bp as rules_bp
    from service.http.smart import bp as smart_bp

    app.register_blueprint(ops_bp)
    app.register_blueprint(fhir_bp)
    app.register_blueprint(cds_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(rules_bp)
    app.register_blueprint(console_bp)
    app.register_blueprint(smart_bp)  # the console's SMART launch (issue 13 item 6)
    register_error_handlers(app)
    register_request_metrics(app)
    _register_request_log(app)
    return app


def _register_request_log(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        request_id()

    @app.after_request
    def _finish(resp: Response) -> Response:
        resp.headers["X-Request-Id"] = request_id()
        rule = request.url_rule.rule if request.url_rule else "(unmatched)"
        log.info(
            "request",
            extra={
                "method": request.method,
                "route": rule,  # the rule, not the path: paths can carry patient ids
                "status": resp.status_code,
                "duration_ms": round((time.perf_counter() - g.get("started", 0)) * 1000, 2),
            },
        )
        return resp
