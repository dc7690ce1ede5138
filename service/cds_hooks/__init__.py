"""The CDS Hooks 2.0 adapter: discovery, hook answers, prefetch, JWT, cards, feedback.

Layering (style-examples.md rule 11): ``schemas`` validate the non-FHIR JSON, ``prefetch`` and
``fhir_fetch`` turn prefetch plus fallback fetch into one Bundle for the shared pipeline,
``cards`` and ``order_hooks`` are pure ``Assessment -> cards`` functions, ``jwt_auth`` verifies
the caller. The Flask blueprint that wires them to HTTP lives in the shell,
:mod:`service.http.cds_hooks`; nothing here imports Flask.
"""

from __future__ import annotations
