"""``hipspine serve`` applies the audit store's migrations once at start, not twice.

``check_can_start`` migrates (so an unreachable or unmigratable store is one clear line before
gunicorn starts); the app gunicorn's worker then builds must not run them again. Every run of
alembic's ``command.upgrade`` is counted; gunicorn's serving loop is replaced by building the
worker's app (``_Gunicorn.load``), so nothing listens and nothing waits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic import command
from click.testing import CliRunner
from flask import Flask

from service import server
from service.cli import main
from tests.processes import free_port


def test_hipspine_serve_runs_the_migrations_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[str] = []
    real_upgrade = command.upgrade

    def counted(config: Any, revision: str, *args: Any, **kwargs: Any) -> None:
        runs.append(revision)
        real_upgrade(config, revision, *args, **kwargs)

    built: list[Flask] = []

    def build_the_worker_app(self: Any) -> None:
        built.append(self.load())

    monkeypatch.setattr(command, "upgrade", counted)
    monkeypatch.setattr(server._Gunicorn, "run", build_the_worker_app)
    env = {
        "DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": None,
        "HOST": "127.0.0.1",
        "PORT": str(free_port()),
        "LOG_LEVEL": "WARNING",
    }
    try:
        result = CliRunner().invoke(main, ["serve"], env=env)
        assert result.exit_code == 0, result.output
        assert len(built) == 1
        assert runs == ["head"]
        # and the store the app uses is migrated (the app answers readiness)
        assert built[0].test_client().get("/readyz").status_code == 200
    finally:
        for app in built:
            app.extensions["hipspine"].store.close()


def test_create_app_still_migrates_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests, the CLI's evaluate and gunicorn.conf.py's worker build the app on a store nobody
    migrated for them: the factory's default keeps migrating."""
    from service.app import create_app
    from service.config import Settings

    runs: list[str] = []
    real_upgrade = command.upgrade

    def counted(config: Any, revision: str, *args: Any, **kwargs: Any) -> None:
        runs.append(revision)
        real_upgrade(config, revision, *args, **kwargs)

    monkeypatch.setattr(command, "upgrade", counted)
    app = create_app(Settings.from_env({}).with_overrides(data_dir=tmp_path / "data"))
    try:
        assert runs == ["head"]
    finally:
        app.extensions["hipspine"].store.close()
