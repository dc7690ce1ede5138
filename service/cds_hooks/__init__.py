"""The CDS Hooks 2.0 adapter: discovery, hook endpoints, prefetch, JWT, CORS, cards, feedback.

Layering (style-examples.md rule 11): ``schemas`` validate the non-FHIR JSON, ``prefetch`` and
``fhir_fetch`` turn prefetch plus fallback fetch into one Bundle for the shared pipeline,
``cards`` and ``order_hooks`` are pure ``Assessment -> cards`` functions, ``jwt_auth`` verifies
the caller, ``routes`` (blueprint ``bp``) wires them to Flask. The app factory registers ``bp``.
"""

from __future__ import annotations
