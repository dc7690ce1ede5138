"""The HTTP shell (cosmicpython's "entrypoints"): the Flask blueprints, request plumbing,
API bearer auth and the service registry. Only this package, ``service.app``, ``service.server``
and ``service.metrics``/``service.logs`` import Flask; everything below answers plain Python.
"""
