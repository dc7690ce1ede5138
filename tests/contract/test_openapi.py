"""openapi.yaml stays true: every Flask route is documented and every documented path exists."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from flask import Flask

OPENAPI = Path(__file__).resolve().parents[2] / "openapi.yaml"


def _spec() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(OPENAPI.read_text())
    return data


def _flask_routes(app: Flask) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods or ():
            if method in {"HEAD", "OPTIONS"}:
                continue
            routes.add((path, method.lower()))
    return routes


def _documented(spec: dict[str, Any]) -> set[tuple[str, str]]:
    methods = {"get", "post", "put", "delete", "patch"}
    return {(p, m) for p, ops in spec["paths"].items() for m in ops if m in methods}


def _normalise(pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
    return {(re.sub(r"\{[^}]+\}", "{}", p), m) for p, m in pairs}


def test_every_flask_route_is_in_openapi_and_every_openapi_path_is_a_route(app: Flask) -> None:
    assert _normalise(_flask_routes(app)) == _normalise(_documented(_spec()))


def test_openapi_declares_version_3_1() -> None:
    assert str(_spec()["openapi"]).startswith("3.1")
