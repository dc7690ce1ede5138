"""gunicorn configuration shared by the container and `make serve-prod`."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import sys
import tempfile
from typing import Any

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8080')}"
# One sync worker per core. Evaluation is CPU-bound Python: more processes than cores, or
# threads (gthread), only add contention; measured on 2 cores with wrk at concurrency 8
# (bench/load.py), 2 sync workers answered 257 patient-views/s with p95 45 ms, where 5
# workers x 2 threads answered 174/s with p95 284 ms (gthread pins keep-alive connections to
# one worker, so requests queue behind a busy one while another idles). Raise
# GUNICORN_THREADS only where hooks often wait on fallback FHIR fetches. In a container
# cpu_count() is the host's: set WEB_CONCURRENCY to the cores the container may use.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# The sync worker, fed only with requests already read whole: slow clients (one header line
# every few seconds) cost a buffer, not a worker (service/workers.py; README, "Security").
# GUNICORN_WORKER_CLASS=sync is gunicorn's plain sync worker (bench/load.py compares both).
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "service.workers.BufferingWorker")
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "10"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Heartbeat files on tmpfs when there is one (a container's /tmp may sit on overlayfs).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# Migrations run once in the master before workers start (see on_starting); each worker then
# builds its own app, engine and pool after the fork, without running them again.
wsgi_app = "service.app:create_app(migrate=False)"
preload_app = False
# No gunicornc control socket: nothing manages workers at run time, and a shared default
# path ($HOME/.gunicorn/gunicorn.ctl) would clash between instances on one host.
control_socket_disable = True
errorlog = "-"
# gunicorn's own log as JSON lines, without request lines or header values (service/logs.py).
logger_class = "service.logs.GunicornLogger"
loglevel = os.environ.get("LOG_LEVEL", "INFO").lower()
accesslog = "-"
# JSON access log. The raw path can carry a patient id, so it is not logged: the app's own
# request log (logger hipspine.access) names the Flask route instead. Same request id in both.
access_log_format = json.dumps(
    {
        "type": "access",
        "method": "%(m)s",
        "status": "%(s)s",
        "bytes": "%(B)s",
        "duration_us": "%(D)s",
        "request_id": "%({x-request-id}o)s",
    }
)

# Prometheus multiprocess mode: with several workers, each writes its samples to one folder
# and GET /metrics sums them. Set PROMETHEUS_MULTIPROC_DIR to choose the folder; otherwise a
# fresh temporary one is made here (before any worker imports prometheus_client).
_OWN_METRICS_DIR = ""
if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _OWN_METRICS_DIR = tempfile.mkdtemp(prefix="hipspine-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _OWN_METRICS_DIR


def on_starting(server: Any) -> None:
    from service.audit.migrate import upgrade
    from service.config import Settings

    metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if metrics_dir:  # stale samples of an earlier run would be summed in
        os.makedirs(metrics_dir, exist_ok=True)
        for name in os.listdir(metrics_dir):
            if name.endswith(".db"):
                os.remove(os.path.join(metrics_dir, name))
    from service.config import ConfigError

    try:
        settings = Settings.from_env()
    except ConfigError as exc:  # one line naming the variable, not a traceback
        print(f"configuration: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    upgrade(settings.sqlalchemy_url)
    from service.http.api_auth import warn_if_open
    from service.http.startup import log_effective_settings, warn_development_settings
    from service.logs import configure

    configure(settings.log_level)
    warn_if_open(settings.fhir_api_clients)
    log_effective_settings(settings)
    warn_development_settings(settings)


def post_worker_init(worker: Any) -> None:
    # gunicorn's own refusals (414, 431, 400) as JSON OperationOutcomes, whatever the
    # worker class (GUNICORN_WORKER_CLASS=sync included; issue 12 item 11)
    from service.workers import install_json_errors

    install_json_errors()

    # The app (mappings, profiles, fhir.resources models, SQLAlchemy) is built by now and lives
    # as long as the worker: move it out of the garbage collector's generations, so a full
    # collection no longer walks it (measured: a 60 ms pause about every 250 calls before,
    # under 1 ms after).
    import gc

    gc.collect()
    gc.freeze()


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    if _OWN_METRICS_DIR:
        shutil.rmtree(_OWN_METRICS_DIR, ignore_errors=True)
