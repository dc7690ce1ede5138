"""Who may call the FHIR operation: named API clients, each with its own bearer token.

``FHIR_API_CLIENTS`` lists ``name=token`` pairs. When it is set, ``$hip-spine-evaluate`` needs
``Authorization: Bearer <token>`` and the audit record names the client ("who asked"); when it
is empty the operation is open (development, or behind a gateway that authenticates) and the
app warns at start-up. Tokens are compared in constant time and never logged or stored.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Sequence

from service.errors import Unauthorized

ANONYMOUS = "fhir-api:anonymous"


def authenticate(authorization: str | None, clients: Sequence[tuple[str, str]]) -> str:
    """The calling client's audit name (``fhir-api:<name>``).

    :raise Unauthorized: clients are configured and the bearer token matches none of them.
    """
    if not clients:
        return ANONYMOUS
    scheme, _, sent = (authorization or "").partition(" ")
    token = sent.strip().encode()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("the FHIR operation needs Authorization: Bearer <client token>")
    found = None
    for name, expected in clients:  # no early exit: same time whichever matches
        if hmac.compare_digest(token, expected.encode()):
            found = name
    if found is None:
        raise Unauthorized("the FHIR API token matches no configured client")
    return f"fhir-api:{found}"


def warn_if_open(clients: Sequence[tuple[str, str]]) -> None:
    """Say once, when a server starts, that the FHIR operation takes any caller."""
    if not clients:
        logging.getLogger("hipspine.app").warning(
            "the FHIR operation is open to any caller: set FHIR_API_CLIENTS to require tokens"
        )
