"""Fixtures shared by the whole suite: the app on a throwaway SQLite store, its clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from service.app import create_app
from service.config import Settings

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({}).with_overrides(
        data_dir=tmp_path / "data",
        public_base_url="http://127.0.0.1:8080",
        cds_auth_required=False,
        console_enabled=True,
        console_development=True,
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings)
    app.config["TESTING"] = True
    yield app
    app.extensions["hipspine"].store.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()
