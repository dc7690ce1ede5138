"""The HTTP shell (cosmicpython's "entrypoints"): the Flask blueprints, request plumbing,
the one app-level error handler, API bearer auth and the service registry.

Only this package, ``service.app``, ``service.server`` and ``service.logs`` import Flask
(an import-linter contract); everything below the shell answers plain Python.
"""
