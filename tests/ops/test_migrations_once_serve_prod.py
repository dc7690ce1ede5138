"""``make serve-prod`` (gunicorn.conf.py) applies the audit store's migrations once, in the
master's ``on_starting``; the app each worker builds (``wsgi_app``) does not run them again.
Every run of alembic's ``command.upgrade`` is counted; gunicorn itself is not started."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from gunicorn.util import import_app

REPO = Path(__file__).resolve().parents[2]


def test_serve_prod_runs_the_migrations_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[str] = []
    real_upgrade = command.upgrade

    def counted(config: Any, revision: str, *args: Any, **kwargs: Any) -> None:
        runs.append(revision)
        real_upgrade(config, revision, *args, **kwargs)

    monkeypatch.setattr(command, "upgrade", counted)
    for name in ("DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR", "MAX_BODY_BYTES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WEB_CONCURRENCY", "1")  # no metrics folder of its own
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    config = runpy.run_path(str(REPO / "gunicorn.conf.py"))
    config["on_starting"](None)  # the master, before any worker
    assert runs == ["head"]
    app = import_app(config["wsgi_app"])  # what each worker builds
    try:
        assert runs == ["head"]
        assert app.test_client().get("/readyz").status_code == 200
    finally:
        app.extensions["hipspine"].store.close()
