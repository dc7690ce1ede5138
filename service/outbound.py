"""Outbound HTTP with one overall deadline that covers connect, status line, headers and body.

``requests`` bounds each socket operation only: a server that sends its status line and
headers one byte a second never trips the read timeout, and ``requests`` returns no response
to cut off until the headers are complete. Mount :class:`DeadlineAdapter` on a session and
send inside ``with DeadlineGuard(seconds) as guard:``: every connection the adapter uses on
this thread while the guard is open is registered with it, and when the time is up a timer
shuts the socket down, which ends any blocking read at once. The caller then sees a
``requests`` exception, or a response cut short (``http.client`` takes an end of file inside
the headers for their end): it must check ``guard.fired`` after reading the body and treat
the answer as a timeout when it is set. The connect phase itself is bounded by the
connect timeout the caller passes (capped by what is left of the deadline); a TLS handshake
is bounded per socket operation only, as its socket is not reachable before it completes.
"""

from __future__ import annotations

import math
import socket
import threading
from types import TracebackType
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_local = threading.local()


class DeadlineGuard:
    """Shuts down the sockets used on this thread inside the ``with`` block once
    ``seconds`` have passed. Infinite ``seconds``: no timer, nothing is cut off."""

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._lock = threading.Lock()
        self._connections: list[HTTPConnection] = []
        self._timer: threading.Timer | None = None
        self._outer: DeadlineGuard | None = None
        if math.isfinite(seconds):
            self._timer = threading.Timer(max(seconds, 0.0), self.fire)
            self._timer.daemon = True

    def __enter__(self) -> DeadlineGuard:
        self._outer = getattr(_local, "guard", None)
        _local.guard = self
        if self._timer is not None:
            self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._timer is not None:
            self._timer.cancel()
        _local.guard = self._outer
        with self._lock:
            self._connections.clear()

    def fire(self) -> None:
        """The deadline passed: shut down every socket registered so far (and later ones)."""
        with self._lock:
            self.fired = True
            for connection in self._connections:
                _shutdown(connection.sock)

    def attach(self, connection: HTTPConnection) -> None:
        with self._lock:
            if connection not in self._connections:
                self._connections.append(connection)
            if self.fired:
                _shutdown(connection.sock)


def _shutdown(sock: socket.socket | None) -> None:
    if sock is None:
        return
    try:
        # socket.socket's own shutdown, also for a TLS socket: it wakes a blocked read without
        # touching the TLS object the reading thread is using.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:  # already closed
        pass


def _attach(connection: HTTPConnection) -> None:
    guard: DeadlineGuard | None = getattr(_local, "guard", None)
    if guard is not None:
        guard.attach(connection)


class _GuardedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _attach(self)  # a deadline that passed while connecting ends it now

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)  # a kept-alive connection is reused without connect()
        super().request(*args, **kwargs)


class _GuardedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _attach(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)
        super().request(*args, **kwargs)


class _GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


_POOLS = {"http": _GuardedHTTPConnectionPool, "https": _GuardedHTTPSConnectionPool}


class DeadlineAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose connections obey the thread's open :class:`DeadlineGuard`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager


def mount_deadline_adapter(session: Any) -> None:
    """Route a ``requests.Session``'s http and https through :class:`DeadlineAdapter`."""
    session.mount("https://", DeadlineAdapter())
    session.mount("http://", DeadlineAdapter())
