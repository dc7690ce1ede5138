"""A gunicorn worker that buffers each request whole before the application sees it.

gunicorn's sync worker reads a request with blocking calls: a client that sends one header
line every few seconds holds the worker, and as many slow clients as workers leave none for
anyone else, the health check included. :class:`BufferingWorker` reads every connection
without blocking (one selector per worker) until its request line, headers and body are all
in memory, and only then hands it to the application, as the sync worker would (or to a
thread pool when ``threads`` > 1: ``hipspine serve``). Slow clients therefore cost a buffer,
not a worker:

- a request must be complete within ``REQUEST_READ_TIMEOUT`` seconds (env
  ``GUNICORN_REQUEST_READ_TIMEOUT``, default 30) of its connection, or it is answered 408 and
  closed; at most ``MAX_PENDING`` connections and ``MAX_BUFFERED_BYTES`` per worker are
  buffered at once (the oldest connection goes first when more arrive);
- a body is buffered up to ``MAX_BODY_BYTES``; a head over gunicorn's header limits or a
  malformed head is handed over at once, and gunicorn refuses it (431, 400: JSON
  OperationOutcomes, see :func:`install_json_errors`) without waiting for the rest; a larger
  declared ``Content-Length`` is answered 413 here, after its body is read and thrown away
  without blocking (up to ``DISCARD_LIMIT``; at once with ``Expect: 100-continue``), so a
  client trickling an oversized body holds no worker; a chunked body is answered 413 here as
  soon as its chunk sizes pass the limit, and the rest is drained by the selector (up to
  ``DISCARD_LIMIT`` bytes and ``DISCARD_SECONDS``) before the connection is closed: never
  handed to the app, whose bounded drain (``service.http.web.drain_body``, 10 s) held a worker
  while a client trickled;
- after the answer the connection is half-closed and drained by the selector, not by the
  worker (gunicorn's graceful close otherwise lingers up to 2 s per connection in the worker).

TLS is not buffered (gunicorn's own TLS would need the handshake inside the worker): with
``certfile`` set this worker behaves as gunicorn's sync worker. Terminate TLS at a proxy
(README, "Security").
"""

from __future__ import annotations

import errno
import os
import queue
import selectors
import socket
import ssl
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson
from gunicorn import http, util
from gunicorn.workers.sync import SyncWorker

from service.errors import Issue

REQUEST_READ_TIMEOUT = float(os.environ.get("GUNICORN_REQUEST_READ_TIMEOUT", "30"))
#: Connections one worker buffers at once, and the bytes it holds for them in all; past
#: either bound the oldest connection is dropped.
MAX_PENDING = 512
MAX_BUFFERED_BYTES = 64 * 1024 * 1024
#: A lingering (half-closed) connection is drained at most this long and this much.
LINGER_SECONDS = 2.0
LINGER_BYTES = 65536
_READ_CHUNK = 65536
#: A declared body over MAX_BODY_BYTES is read and thrown away up to this many bytes (without
#: blocking, by the selector) before the 413 leaves: clients that send the whole body before
#: reading the answer otherwise meet a reset. Beyond it the 413 is sent and the connection
#: closed.
DISCARD_LIMIT = 64 * 1024 * 1024
#: A chunked body over MAX_BODY_BYTES is answered 413 at once; what the client still sends is
#: drained by the selector this long at most (so a client that sends the whole body before it
#: reads meets the 413, not a reset), then the connection is closed. No worker waits on it.
DISCARD_SECONDS = 5.0
#: The 408's issue: a request not read whole within REQUEST_READ_TIMEOUT.
TIMEOUT_ISSUE = Issue("error", "timeout", "the request was not received in time; send it again")


#: What gunicorn's own refusals say (never the request line or a header: they can carry
#: tokens and names). Status -> (OperationOutcome issue code, diagnostics).
_GUNICORN_REFUSALS = {
    400: ("invalid", "the request is not valid HTTP/1.1"),
    403: ("forbidden", "the request is forbidden"),
    414: ("too-long", "the request line is too long (at most 8190 bytes)"),
    417: ("not-supported", "the Expect header is not supported"),
    431: ("too-long", "the header fields are too large (at most 100 fields of 8190 bytes)"),
    500: ("exception", "internal error"),
    501: ("not-supported", "the transfer coding is not supported"),
}


def outcome_answer(status: int, reason: str, issue: Issue | None = None) -> bytes:
    """A whole HTTP answer (``Connection: close``) whose body is the OperationOutcome the http
    layer answers (``service.http.web.outcome_response``: one definition), for an answer sent
    before or without the app. Without ``issue``, gunicorn's refusal of ``status`` says why."""
    from service.fhir.outcome import operation_outcome  # in the worker (the master stays light)

    if issue is None:
        code, text = _GUNICORN_REFUSALS.get(status, ("processing", reason))
        issue = Issue("fatal" if status >= 500 else "error", code, text)
    body = orjson.dumps(operation_outcome((issue,)))
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/fhir+json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def write_error_outcome(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's ``util.write_error`` (HTML with the message) as an OperationOutcome."""
    util.write_nonblock(sock, outcome_answer(int(status_int), str(reason)))


def install_json_errors() -> None:
    """Make gunicorn's own error answers (400, 414, 431, 500, ...) JSON OperationOutcomes."""
    util.write_error = write_error_outcome


# gunicorn loads the worker class in the master before it forks the workers: every worker
# (and `hipspine serve`) answers its refusals in JSON (issue 12 item 11).
install_json_errors()


def timeout_answer() -> bytes:
    """The 408 sent when a request is not read whole in time."""
    return outcome_answer(408, "Request Timeout", TIMEOUT_ISSUE)


def too_large_answer(max_body: int) -> bytes:
    """The 413 sent for a body over ``max_body``: the app's 413 (``too_large_issue``)."""
    from service.http.web import too_large_issue  # the app's modules: in the worker only

    return outcome_answer(413, "Content Too Large", too_large_issue(max_body))


def max_body_bytes(app: Any = None) -> int:
    """The body size buffered at most: ``MAX_BODY_BYTES`` of the settings ``app`` was built
    with (its registry, ``service.http.registry``), read once when the worker starts; the
    environment's only for an app without them."""
    extensions = getattr(app, "extensions", None)
    settings = getattr(extensions.get("hipspine"), "settings", None) if extensions else None
    if settings is None:
        from service.config import Settings

        settings = Settings.from_env()
    return int(settings.max_body_bytes)


@dataclass(slots=True)
class RequestReader:
    """Decides, from the bytes read so far, when a request is ready for the worker."""

    max_head: int
    max_body: int
    data: bytearray = field(default_factory=bytearray)
    head_end: int = -1  # index just past the blank line, once seen
    length: int | None = None  # declared Content-Length
    chunked: bool = False
    expects_continue: bool = False
    handed_over: bool = False  # ready: complete, or to be refused by gunicorn or the app
    too_large: bool = False  # a body over max_body (declared or chunked): refused here (413)
    discarded: int = 0  # body bytes of a too-large request read and thrown away
    _next_chunk: int = -1  # where the next chunk-size line starts (chunked bodies)
    _chunk_total: int = 0  # chunk bytes so far

    def feed(self, chunk: bytes) -> bool:
        """Add bytes read; True once the request should go to the worker (or, when
        ``too_large``, once its body is discarded and the 413 can leave)."""
        if self.too_large:
            self.discarded += len(chunk)
            self.handed_over = self._discarded_enough()
            return self.handed_over
        searched = max(0, len(self.data) - 3)  # each byte is searched once, not per read
        self.data += chunk
        if self.head_end < 0:
            end = self.data.find(b"\r\n\r\n", searched)
            if end < 0:
                # a bare-LF head is gunicorn's to refuse, at once
                bare_lf = self.data.find(b"\n\n", max(0, searched - 1)) >= 0
                self.handed_over = bare_lf or len(self.data) > self.max_head
                return self.handed_over
            self.head_end = end + 4
            if self.head_end > self.max_head or not self._read_head(bytes(self.data[:end])):
                self.handed_over = True
                return True
            if self.too_large:  # keep the head only; the body is counted, not kept
                self.discarded = len(self.data) - self.head_end
                del self.data[self.head_end :]
                self.handed_over = self.expects_continue or self._discarded_enough()
                return self.handed_over
        self.handed_over = self._body_complete()
        return self.handed_over

    def _read_head(self, head: bytes) -> bool:
        """Framing of the body; False when the head is for gunicorn to refuse."""
        lines = head.split(b"\r\n")
        if lines[0].startswith(b"PROXY ") and len(lines) > 1:  # gunicorn's proxy_protocol
            lines = lines[1:]
        version = lines[0].rpartition(b" ")[2]
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep:
                return False
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                if not value.isdigit() or self.length is not None:
                    return False
                self.length = int(value)
            elif name == b"transfer-encoding":
                if value != b"chunked" or self.chunked:
                    return False
                self.chunked = True
            elif name == b"expect" and value == b"100-continue" and version == b"HTTP/1.1":
                self.expects_continue = True
        if self.chunked and self.length is not None:
            return False
        if self.length is not None and self.length > self.max_body:
            self.too_large = True  # refused here with 413 once its body is discarded
        return True

    def _discarded_enough(self) -> bool:
        return self.discarded >= (self.length or 0) or self.discarded > DISCARD_LIMIT

    @property
    def wants_body(self) -> bool:
        return self.chunked or bool(self.length)

    def _body_complete(self) -> bool:
        if self.chunked:
            return self._chunks_complete()
        return len(self.data) - self.head_end >= (self.length or 0)

    def _chunks_complete(self) -> bool:
        """Scans each chunk-size line once, however the body arrives (a read at a time)."""
        data = self.data
        if self._next_chunk < 0:
            self._next_chunk = self.head_end
        while True:
            pos = self._next_chunk
            eol = data.find(b"\r\n", pos)
            if eol < 0:
                return len(data) - pos > 1024  # a size line that long is refused by gunicorn
            size_text = bytes(data[pos:eol]).split(b";", 1)[0].strip()
            if not size_text or any(c not in b"0123456789abcdefABCDEF" for c in size_text):
                return True
            size = int(size_text, 16)
            if size == 0:  # the last chunk: trailer fields up to a blank line
                end = data.find(b"\r\n\r\n", eol)
                if end < 0:
                    return len(data) - eol > self.max_head
                return True
            self._chunk_total += size
            if self._chunk_total > self.max_body:
                self.too_large = True  # refused here (413) at once, the rest drained
                return True
            if len(data) < eol + 2 + size + 2:
                self._chunk_total -= size  # counted again when the chunk is whole
                return False
            self._next_chunk = eol + 2 + size + 2


class Prebuffered:
    """A client socket whose first reads return the bytes already buffered."""

    def __init__(self, sock: socket.socket, data: bytes) -> None:
        self._sock = sock
        self._data = data
        self._pos = 0

    def recv(self, size: int, flags: int = 0) -> bytes:
        if self._pos < len(self._data):
            chunk = self._data[self._pos : self._pos + size]
            self._pos += len(chunk)
            return chunk
        return self._sock.recv(size, flags)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


@dataclass(slots=True)
class _Pending:
    sock: socket.socket
    addr: Any
    listener: Any
    reader: RequestReader
    deadline: float


@dataclass(slots=True)
class _Lingering:
    sock: socket.socket
    deadline: float
    limit: int = LINGER_BYTES
    drained: int = 0


class BufferingWorker(SyncWorker):  # type: ignore[misc]
    """gunicorn's sync worker, fed only with requests already read whole (see the module)."""

    def run(self) -> None:
        if self.cfg.is_ssl:  # not buffered: see the module docstring
            super().run()
            return
        line = self.cfg.limit_request_line or 8190
        fields = self.cfg.limit_request_fields or 100
        size = self.cfg.limit_request_field_size or 8190
        self._max_head = line + 2 + fields * (size + 2) + 2
        # once, from the settings of the app this worker loaded (gunicorn's load_wsgi)
        self._max_body = max_body_bytes(self.wsgi)
        self._timeout_answer = timeout_answer()
        self._too_large_answer = too_large_answer(self._max_body)
        self._pending: OrderedDict[int, _Pending] = OrderedDict()
        self._buffered = 0  # bytes held for the pending connections
        self._lingering: dict[int, _Lingering] = {}
        self._selector = selectors.DefaultSelector()
        self._done: queue.SimpleQueue[socket.socket] = queue.SimpleQueue()
        threads = max(1, int(self.cfg.threads or 1))
        self._pool = ThreadPoolExecutor(threads) if threads > 1 else None
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        for listener in self.sockets:
            listener.setblocking(False)
            self._selector.register(listener, selectors.EVENT_READ, ("listen", listener))
        self._selector.register(self.PIPE[0], selectors.EVENT_READ, ("signal", None))
        self._selector.register(self._wake_r, selectors.EVENT_READ, ("wake", None))
        try:
            self._loop()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
            self._finish_done()
            for pending in list(self._pending.values()):
                self._forget(pending.sock)
                pending.sock.close()
            for lingering in list(self._lingering.values()):
                self._forget(lingering.sock)
                lingering.sock.close()

    def _loop(self) -> None:
        # Wake at least once a second: the heartbeat, the read deadlines, the parent check.
        tick = min(1.0, (self.timeout or 2.0) / 2)
        while self.alive:
            self.notify()
            try:
                events = self._selector.select(tick)
            except OSError as exc:
                if exc.errno == errno.EBADF:  # listeners closed: shutting down
                    return
                raise
            for key, _ in events:
                kind, obj = key.data
                if kind == "listen":
                    self._accept(obj)
                elif kind == "read":
                    self._read(obj)
                elif kind == "linger":
                    self._drain(obj)
                elif kind == "signal":
                    self._drain_pipe(self.PIPE[0])
                else:
                    self._drain_pipe(self._wake_r)
                    self._finish_done()
                if not self.alive:
                    return
            self._expire()
            if not self.is_parent_alive():
                return

    @staticmethod
    def _drain_pipe(fd: int) -> None:
        try:
            while os.read(fd, 4096):
                pass
        except OSError:
            pass

    # Reading --------------------------------------------------------------------------

    def _accept(self, listener: Any) -> None:
        # One connection per event, as the sync worker: with several workers, greedy accepts
        # would queue requests behind this worker while another one idles.
        try:
            sock, addr = listener.accept()
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                return
            raise
        util.close_on_exec(sock)
        sock.setblocking(False)
        if len(self._pending) >= MAX_PENDING:  # the oldest is the likeliest to be stalling
            self._drop(next(iter(self._pending.values())))
        reader = RequestReader(self._max_head, self._max_body)
        pending = _Pending(sock, addr, listener, reader, time.monotonic() + REQUEST_READ_TIMEOUT)
        self._pending[sock.fileno()] = pending
        self._selector.register(sock, selectors.EVENT_READ, ("read", pending))
        self._read(pending)  # the request is often there already

    def _read(self, pending: _Pending) -> None:
        reader = pending.reader
        while True:
            try:
                chunk = pending.sock.recv(_READ_CHUNK)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                chunk = b""
            if not chunk:  # closed before a whole request: nothing to answer
                self._drop(pending)
                return
            sent_continue = reader.expects_continue
            kept = len(reader.data)
            ready = reader.feed(chunk)
            self._buffered += len(reader.data) - kept  # a discarded body is not held
            while self._buffered > MAX_BUFFERED_BYTES:
                oldest = next(iter(self._pending.values()))
                if oldest is pending:
                    break
                self._drop(oldest)
            if ready:
                if reader.too_large:
                    self._refuse_too_large(pending)
                else:
                    self._hand_over(pending)
                return
            if reader.expects_continue and not sent_continue and reader.wants_body:
                try:  # the client waits for this before it sends the body (RFC 9110 §10.1.1)
                    pending.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
                except OSError:
                    self._drop(pending)
                    return
            if len(chunk) < _READ_CHUNK:
                return

    def _refuse_too_large(self, pending: _Pending) -> None:
        """413 without the app, so no worker waits on the body: a declared one was discarded
        here; a chunked one is drained after the answer, within the discard bounds."""
        self._release(pending)
        self._forget(pending.sock)
        try:
            pending.sock.send(self._too_large_answer)
        except OSError:
            pending.sock.close()
            return
        if pending.reader.chunked:
            self._linger(pending.sock, DISCARD_SECONDS, DISCARD_LIMIT)
            return
        self._done.put(pending.sock)  # half-closed and drained by the selector
        self._finish_done()

    def _expire(self) -> None:
        now = time.monotonic()
        while self._pending:
            pending = next(iter(self._pending.values()))
            if pending.deadline > now:
                break
            try:
                pending.sock.send(self._timeout_answer)
            except OSError:
                pass
            self._drop(pending)
        for lingering in [g for g in self._lingering.values() if g.deadline <= now]:
            self._close_lingering(lingering)

    def _drop(self, pending: _Pending) -> None:
        self._release(pending)
        self._forget(pending.sock)
        pending.sock.close()

    def _release(self, pending: _Pending) -> None:
        if self._pending.pop(pending.sock.fileno(), None) is not None:
            self._buffered -= len(pending.reader.data)

    def _forget(self, sock: socket.socket) -> None:
        try:
            self._selector.unregister(sock)
        except (KeyError, ValueError):
            pass

    # Serving --------------------------------------------------------------------------

    def _hand_over(self, pending: _Pending) -> None:
        self._release(pending)
        self._forget(pending.sock)
        pending.sock.setblocking(True)
        client = Prebuffered(pending.sock, bytes(pending.reader.data))
        if self._pool is None:
            self.notify()  # several requests of one select may be served back to back
            self._serve(pending.listener, client, pending.addr)
            self._finish_done()
        else:
            self._pool.submit(self._serve, pending.listener, client, pending.addr)

    def _serve(self, listener: Any, client: Prebuffered, addr: Any) -> None:
        """gunicorn's SyncWorker.handle, except that the close is left to the selector."""
        req = None
        try:
            parser = http.get_parser(self.cfg, client, addr)
            req = next(parser)
            self.handle_request(listener, req, client, addr)
        except http.errors.NoMoreData as e:
            self.log.debug("Ignored premature client disconnection. %s", e)
        except StopIteration as e:
            self.log.debug("Closing connection. %s", e)
        except ssl.SSLError as e:  # pragma: no cover - TLS is not buffered
            self.handle_error(req, client, addr, e)
        except OSError as e:
            if e.errno not in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN):
                self.log.exception("Socket error processing request.")
        except BaseException as e:
            self.handle_error(req, client, addr, e)
        finally:
            self._done.put(client._sock)
            if self._pool is not None:
                try:
                    os.write(self._wake_w, b".")
                except OSError:
                    pass

    def _finish_done(self) -> None:
        """Half-close the answered connections and drain them from the selector."""
        while True:
            try:
                sock = self._done.get_nowait()
            except queue.Empty:
                return
            self._linger(sock, LINGER_SECONDS, LINGER_BYTES)

    def _linger(self, sock: socket.socket, seconds: float, limit: int) -> None:
        """Half-close an answered connection; the selector drains it (``limit`` bytes and
        ``seconds`` at most), then closes it."""
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.setblocking(False)
        except OSError:
            sock.close()
            return
        lingering = _Lingering(sock, time.monotonic() + seconds, limit)
        if self._drain(lingering):
            self._lingering[sock.fileno()] = lingering
            self._selector.register(sock, selectors.EVENT_READ, ("linger", lingering))

    def _drain(self, lingering: _Lingering) -> bool:
        """Read what the client still sends; True while it has not closed."""
        while True:
            try:
                data = lingering.sock.recv(_READ_CHUNK)
            except (BlockingIOError, InterruptedError):
                return True
            except OSError:
                data = b""
            lingering.drained += len(data)
            if not data or lingering.drained >= lingering.limit:
                self._close_lingering(lingering)
                return False

    def _close_lingering(self, lingering: _Lingering) -> None:
        self._lingering.pop(lingering.sock.fileno(), None)
        self._forget(lingering.sock)
        lingering.sock.close()


__all__ = [
    "BufferingWorker",
    "Prebuffered",
    "RequestReader",
    "install_json_errors",
    "max_body_bytes",
    "outcome_answer",
    "timeout_answer",
    "too_large_answer",
]
