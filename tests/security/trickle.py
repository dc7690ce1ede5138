"""A loopback HTTP server that trickles its answer a byte at a time (bounded in time)."""

from __future__ import annotations

import ipaddress
import select
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class Trickler:
    """What the server saw: connections accepted, and whether a client hung up mid-answer."""

    url: str
    connections: int = 0
    #: bytes sent before the client hung up (the last connection that did)
    sent_at_hang_up: int = -1
    hung_up: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@contextmanager
def trickling_server(
    answer: bytes,
    *,
    byte_seconds: float = 0.05,
    path: str = "/r4",
    tls: ssl.SSLContext | None = None,
) -> Iterator[Trickler]:
    """Serve ``answer`` one byte every ``byte_seconds`` to each connection, on 127.0.0.1.

    ``release`` sends the rest at once. The answer is long enough to outlast any deadline
    under test; each connection ends when the client hangs up (``hung_up`` is set) or the
    answer is sent (a client that hangs up after the whole answer counts too: compare
    ``sent_at_hang_up`` with the answer's length).
    """
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.1)
    scheme = "https" if tls is not None else "http"
    state = Trickler(f"{scheme}://127.0.0.1:{server.getsockname()[1]}{path}")
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def talk(raw: socket.socket) -> None:
        raw.settimeout(5)
        try:
            conn = tls.wrap_socket(raw, server_side=True) if tls is not None else raw
        except OSError:
            raw.close()
            return
        with conn:
            try:
                conn.recv(65536)
                for i in range(len(answer)):
                    if stop.is_set():
                        return
                    if state.release.is_set():
                        conn.sendall(answer[i:])
                        return
                    conn.sendall(answer[i : i + 1])
                    readable, _, _ = select.select([conn], [], [], byte_seconds)
                    if readable and not conn.recv(1):  # the client hung up
                        state.sent_at_hang_up = i + 1
                        state.hung_up.set()
                        return
            except OSError:
                state.hung_up.set()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            state.connections += 1
            thread = threading.Thread(target=talk, args=(conn,), daemon=True)
            thread.start()
            threads.append(thread)

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield state
    finally:
        stop.set()
        acceptor.join(timeout=5)
        for thread in threads:
            thread.join(timeout=5)
        server.close()


def slow_headers(body: bytes = b'{"resourceType": "Bundle"}', padding: int = 2000) -> bytes:
    """A 200 answer whose headers alone take ``padding`` bytes to send."""
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\n"
        + b"X-Padding: "
        + b"a" * padding
        + b"\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


def self_signed(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context for 127.0.0.1 and the CA file a client trusts it with."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file
