"""Fixtures for the CDS Hooks tests (defined in support.py)."""

from __future__ import annotations

from .support import _fresh_jku_cache, app, auth, client, keys, pipeline, settings, store

__all__ = ["_fresh_jku_cache", "app", "auth", "client", "keys", "pipeline", "settings", "store"]
