"""The hook's FHIR deadline holds while the server trickles its status line and headers
(checklist item 57; issue 12, item 3)."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from service.cds_hooks.fhir_fetch import DataUnavailable, Deadline, FhirFetcher
from service.config import Settings
from service.errors import FhirServerUnavailable
from service.fhir_server.client import FhirServerClient

from .trickle import self_signed, slow_headers, trickling_server

# 2,000 header bytes at 0.05 s each: 100 s of headers, far beyond any deadline here.
ANSWER = slow_headers(padding=2000)


def _settings(url: str) -> Settings:
    return Settings.from_env({}).with_overrides(
        fhir_server_allowlist=(url,), fhir_connect_timeout=1.0, fhir_read_timeout=2.0
    )


def test_a_server_trickling_its_headers_is_cut_off_at_the_hook_deadline() -> None:
    with trickling_server(ANSWER) as server:
        fetcher = FhirFetcher(
            server.url, token="tok", settings=_settings(server.url), deadline=Deadline(0.5)
        )
        with fetcher, pytest.raises(DataUnavailable, match="in time"):
            fetcher.get("Patient/1", what="Patient")
        # The client hung up mid-headers: the deadline, not the end of the trickle, ended it.
        assert server.hung_up.wait(timeout=30)
        assert 0 < server.sent_at_hang_up < ANSWER.index(b"\r\n\r\n")
        assert server.connections == 1


def test_the_status_line_trickled_alone_is_cut_off_too() -> None:
    with trickling_server(b"HTTP/1.1 200 OK" + b" " * 2000 + b"\r\n\r\n") as server:
        client = FhirServerClient(
            server.url, allowlist=(server.url,), read_timeout=2.0, deadline=Deadline(0.5)
        )
        with client, pytest.raises(FhirServerUnavailable, match="in time"):
            client.read("Patient", "1")
        assert server.hung_up.wait(timeout=30)
        assert 0 < server.sent_at_hang_up < 1000


def test_a_tls_server_trickling_its_headers_is_cut_off_too(tmp_path: Path) -> None:
    context, ca_file = self_signed(tmp_path)
    with trickling_server(ANSWER, tls=context) as server:
        session = requests.Session()
        session.verify = str(ca_file)
        session.trust_env = False  # REQUESTS_CA_BUNDLE would replace the CA file
        client = FhirServerClient(
            server.url,
            allowlist=(server.url,),
            read_timeout=2.0,
            deadline=Deadline(0.5),
            session=session,
        )
        with client, pytest.raises(FhirServerUnavailable, match="in time"):
            client.read("Patient", "1")
        assert server.hung_up.wait(timeout=30)
        assert 0 < server.sent_at_hang_up < ANSWER.index(b"\r\n\r\n")


def test_an_answer_within_the_deadline_is_read_whole() -> None:
    with trickling_server(slow_headers(padding=10)) as server:
        server.release.set()  # everything at once
        fetcher = FhirFetcher(
            server.url, token=None, settings=_settings(server.url), deadline=Deadline(30)
        )
        with fetcher:
            assert fetcher.get("Patient/1", what="Patient") == {"resourceType": "Bundle"}
        assert not server.hung_up.is_set()
