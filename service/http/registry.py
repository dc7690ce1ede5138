"""The composition root's product: the collaborators every request uses, built once."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from service.audit.port import AuditStore
from service.config import Settings
from service.fhir.concept_maps import ConceptMapIndex
from service.fhir.profiles import Profiles
from service.pipeline import Pipeline


@dataclass
class Services:
    """Held in ``app.extensions["hipspine"]``; tests may swap ``store`` for a fake."""

    settings: Settings
    version: str
    index: ConceptMapIndex
    profiles: Profiles
    store: AuditStore
    pipeline: Pipeline


def services() -> Services:
    """The collaborators of the app handling this request: the one way the blueprints reach
    them, the settings included (never ``current_app.config``)."""
    svc: Services = current_app.extensions["hipspine"]
    return svc


def settings() -> Settings:
    """The app's :class:`Settings` (``services().settings``)."""
    return services().settings
