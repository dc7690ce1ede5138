"""The EHR side of a SMART App Launch, for the tests: a small OAuth2 authorisation server on
127.0.0.1 in front of the suite's real, bearer-protected FHIR server (sekmet-fhir).

``{url}/fhir`` is the EHR's FHIR base (the launch's ``iss``):

- ``GET {url}/fhir/.well-known/smart-configuration``: the SMART configuration (``config``
  replaces or removes fields: ``None`` removes one);
- ``GET {url}/fhir/...``: forwarded to sekmet with the caller's ``Authorization`` header as
  it came (sekmet decides), the sekmet base in the answer rewritten to this one (``next``
  links, ``fullUrl``);
- ``GET {url}/authorize``: checks the client, the registered redirect URI, the launch id, the
  scope, ``aud`` (= the FHIR base), state and the PKCE S256 challenge, then redirects back
  with a one-time code (the user "approves" at once);
- ``GET {url}/ehr?app=URL``: an "EHR screen" framing ``URL`` in an iframe (embedded launch);
- ``POST {url}/token``: checks the code (once), the redirect URI, the client and the PKCE
  verifier, and answers the bearer token sekmet accepts with ``patient`` in context.

A compact, standard-library implementation of exactly this flow (test code: authlib is not a
dependency of the project). Every request is recorded in ``requests`` (method and path only,
never a token). ``token_error`` makes the token endpoint refuse; ``issued`` counts tokens.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

SCOPES_NEEDED = ("launch", "patient/Observation.rs", "patient/Condition.rs")


@dataclass
class AuthServer:
    """State of one fixture server (tests change ``config``, ``token_error`` and read the rest)."""

    url: str
    fhir_upstream: str  # the real FHIR server's base
    access_token: str  # what the token endpoint hands out (sekmet accepts it)
    client_id: str
    redirect_uri: str
    patient: str
    launch: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    config: dict[str, Any] = field(default_factory=dict)
    token_error: tuple[int, str] | None = None
    requests: list[tuple[str, str]] = field(default_factory=list)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    issued: int = 0
    authorize_errors: list[str] = field(default_factory=list)
    token_errors: list[str] = field(default_factory=list)

    @property
    def iss(self) -> str:
        return f"{self.url}/fhir"

    def smart_configuration(self) -> dict[str, Any]:
        base: dict[str, Any] = {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "grant_types_supported": ["authorization_code"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["launch", "openid", "fhirUser", "patient/*.rs"],
            "response_types_supported": ["code"],
            "capabilities": ["launch-ehr", "client-public", "context-ehr-patient", "pkce"],
        }
        for key, value in self.config.items():
            if value is None:
                base.pop(key, None)
            else:
                base[key] = value
        return base


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _handler(server: AuthServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet (and no tokens)
            return

        def _send(
            self,
            status: int,
            body: bytes = b"",
            ctype: str = "application/json",
            headers: dict[str, str] | None = None,
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, data: Any) -> None:
            self._send(status, json.dumps(data).encode())

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            parts = urlsplit(self.path)
            server.requests.append(("GET", parts.path))
            if parts.path == "/fhir/.well-known/smart-configuration":
                self._json(200, server.smart_configuration())
            elif parts.path == "/authorize":
                self._authorize({k: v[0] for k, v in parse_qs(parts.query).items()})
            elif parts.path == "/ehr":  # the EHR's screen, framing the app it launches
                app = parse_qs(parts.query).get("app", [""])[0]
                page = (
                    "<!DOCTYPE html><html lang=en><head><title>EHR</title></head><body>"
                    f'<iframe id="app" title="hip-spine console" src="{html.escape(app)}"'
                    ' width="1000" height="700"></iframe></body></html>'
                )
                self._send(200, page.encode(), "text/html; charset=utf-8")
            elif parts.path.startswith("/fhir/"):
                self._proxy(self.path.removeprefix("/fhir"))
            else:
                self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            server.requests.append(("POST", parts.path))
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            if parts.path != "/token":
                self._json(404, {"error": "not_found"})
                return
            form = {k: v[0] for k, v in parse_qs(raw).items()}
            self._token(form)

        # -- the authorisation endpoint ---------------------------------------------------
        def _authorize(self, q: dict[str, str]) -> None:
            problems = []
            if q.get("client_id") != server.client_id:
                problems.append("client_id")
            if q.get("redirect_uri") != server.redirect_uri:
                problems.append("redirect_uri")
            if problems:  # never redirect to an unregistered URI (RFC 6749 §4.1.2.1)
                server.authorize_errors += problems
                self._json(400, {"error": "invalid_request", "wrong": problems})
                return
            scope = (q.get("scope") or "").split()
            checks = {
                "response_type": q.get("response_type") == "code",
                "launch": q.get("launch") == server.launch,
                "aud": q.get("aud") == server.iss,
                "scope": all(s in scope for s in SCOPES_NEEDED),
                "state": bool(q.get("state")),
                "code_challenge_method": q.get("code_challenge_method") == "S256",
                "code_challenge": len(q.get("code_challenge") or "") == 43,
            }
            failed = [name for name, ok in checks.items() if not ok]
            back: dict[str, str]
            if failed:
                server.authorize_errors += failed
                back = {"error": "invalid_request", "error_description": ",".join(failed)}
            else:
                code = secrets.token_urlsafe(24)
                server.codes[code] = {
                    "challenge": q["code_challenge"],
                    "redirect_uri": q["redirect_uri"],
                    "client_id": q["client_id"],
                }
                back = {"code": code}
            if q.get("state"):
                back["state"] = q["state"]
            self._send(302, headers={"Location": f"{server.redirect_uri}?{urlencode(back)}"})

        # -- the token endpoint -----------------------------------------------------------
        def _token(self, form: dict[str, str]) -> None:
            if server.token_error is not None:
                status, error = server.token_error
                self._json(status, {"error": error})
                return
            client = form.get("client_id")
            auth = self.headers.get("Authorization") or ""
            if auth.startswith("Basic "):
                client = base64.b64decode(auth[6:]).decode().partition(":")[0]
            grant = server.codes.pop(form.get("code", ""), None)  # one use
            checks = {
                "grant_type": form.get("grant_type") == "authorization_code",
                "code": grant is not None,
                "client_id": client == server.client_id,
                "redirect_uri": grant is not None
                and form.get("redirect_uri") == grant["redirect_uri"],
                "code_verifier": grant is not None
                and _s256(form.get("code_verifier", "")) == grant["challenge"],
            }
            failed = [name for name, ok in checks.items() if not ok]
            if failed:
                server.token_errors += failed
                self._json(400, {"error": "invalid_grant", "error_description": ",".join(failed)})
                return
            server.issued += 1
            self._json(
                200,
                {
                    "access_token": server.access_token,
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "scope": "launch openid fhirUser patient/Observation.rs "
                    "patient/Condition.rs patient/Procedure.rs",
                    "patient": server.patient,
                },
            )

        # -- the FHIR server, forwarded ---------------------------------------------------
        def _proxy(self, rest: str) -> None:
            headers = {"Accept": self.headers.get("Accept") or "application/fhir+json"}
            if self.headers.get("Authorization"):
                headers["Authorization"] = self.headers["Authorization"]
            answer = requests.get(
                server.fhir_upstream + rest, headers=headers, timeout=10, allow_redirects=False
            )
            body = answer.content.replace(
                server.fhir_upstream.encode(), server.iss.encode()
            )  # next links and fullUrls point here, as an EHR's would
            ctype = answer.headers.get("Content-Type", "application/fhir+json")
            self._send(answer.status_code, body, ctype)

    return Handler


def load_bundle(fhir_base: str, token: str, bundle: dict[str, Any]) -> str:
    """PUT every resource of ``bundle`` on the FHIR server (with ``token``); the Patient's id."""
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    patient = ""
    for entry in bundle["entry"]:
        r = entry["resource"]
        url = f"{fhir_base}/{r['resourceType']}/{r['id']}"
        resp = requests.put(url, json=r, headers=auth, timeout=10)
        if resp.status_code not in (200, 201):
            raise AssertionError(f"PUT {r['resourceType']}: {resp.status_code} {resp.text[:300]}")
        if r["resourceType"] == "Patient":
            patient = r["id"]
    return patient


@contextmanager
def running_auth_server(
    *,
    fhir_upstream: str,
    access_token: str,
    client_id: str,
    redirect_uri: str,
    patient: str,
) -> Iterator[AuthServer]:
    """An :class:`AuthServer` on a free 127.0.0.1 port, stopped at the end of the block."""
    state = AuthServer(
        url="",
        fhir_upstream=fhir_upstream.rstrip("/"),
        access_token=access_token,
        client_id=client_id,
        redirect_uri=redirect_uri,
        patient=patient,
    )
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, name="oauth-server", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
