"""A small HTTP/1.1 server on the standard library that answers every request, however malformed.

The scoring server (`registry.serving.server`) and the web UI (`registry.ui.server`) each hand it an
application, ``app(request) -> response``; this module does everything between the socket and that call, so
that no client can crash it, starve it or leave it without an answer:

* **Every request gets an answer**, by default in MLflow's JSON error shape (``{"error_code": ..., "message": ...}``;
  the UI gives its own ``errors`` factory for HTML pages):
  400 for a garbage request line, a malformed header or length, or an unsupported HTTP version; 408 for a
  client too slow to send its request; 411 for a body without a length; 413 for a body over
  ``max_body_bytes``; 414 and 431 for a request line or headers over the limits; 500 if the application
  raises; 503 when ``max_connections`` are already open. Only a client that sent nothing at all (an idle
  keep-alive connection) is closed without a word.
* **An answer is read, not reset.** When the server answers before reading a body (413, 411) it stops
  writing and then reads and drops what the client is still sending, for a bounded time and number of
  bytes, before it closes: closing with unread data would make the kernel send a reset, and the client
  would see a broken pipe instead of the 413.
* **Slow clients are cut off.** The request line and headers must arrive within ``header_timeout`` seconds
  and the body within ``body_timeout``, each measured as a deadline over the whole phase (a socket timeout
  alone restarts with every byte, so a client sending one byte a minute would hold a thread forever). An
  idle keep-alive connection is closed after ``header_timeout``.
* **Connections are bounded.** At most ``max_connections`` are served at once, one thread each; a
  connection beyond that gets 503 from the accepting thread without blocking it, so a flood of stalled
  connections cannot exhaust threads, and it clears within ``header_timeout``.
* **An access log line per request** goes to stderr (or a given stream), in the combined log format followed
  by the duration and the application's tag (the model version)::

      127.0.0.1 - - [18/Jan/2026:10:00:00 +0000] "POST /invocations HTTP/1.1" 200 27 "-" "curl/8.5.0" 1.234ms m/3

  Text from the client is escaped, so a request cannot forge log lines.
* **Streams.** A response with a ``stream`` (the UI's Server-Sent Events) is sent as headers, then whatever
  the stream writes, until it returns or the client goes away; the connection closes after it.
"""

from __future__ import annotations

import email.utils
import logging
import math
import re
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any, TextIO

import attrs

from registry.errors import InvalidParameterValue

__all__ = ["App", "ErrorFactory", "HttpServer", "Request", "Response", "ServerLimits", "error_body", "error_response"]

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_REQUEST_LINE = re.compile(r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([^\x00-\x20\x7f]+) HTTP/([0-9])\.([0-9])")
_LENGTH = re.compile(r"[0-9]{1,18}")
# A POST without a length is refused (411); another method without one has no body (RFC 9112) and goes on to the
# application, which answers 405 where it does not take that method.
_BODY_METHODS = frozenset({"POST"})
_LINGER_BYTES = 1 << 30  # the most an answered-but-unread body is drained before the connection is closed
_LINGER_SECONDS = 5.0  # ... and for how long, while the client is still sending one
_DRAIN_SECONDS = 0.1  # after any other early answer: time for bytes already in flight to arrive


def _positive(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise InvalidParameterValue(f"The server limit {attribute.name} must be a positive number, got {value!r}.")


@attrs.frozen
class ServerLimits:
    """What one client may cost the server (see the module docstring).

    Attributes:
        max_body_bytes: the largest request body accepted (413 beyond).
        header_timeout: seconds for the request line and headers to arrive (408 beyond); also how long an idle
            keep-alive connection is kept.
        body_timeout: seconds for the body to arrive (408 beyond), and for a response to be taken by the client.
        max_connections: connections served at once (503 beyond).
        max_header_bytes: the request line and headers together (414 / 431 beyond).
        max_headers: the number of header lines (431 beyond).
    """

    max_body_bytes: int = attrs.field(default=64 * 1024 * 1024, validator=_positive)
    header_timeout: float = attrs.field(default=10.0, validator=_positive)
    body_timeout: float = attrs.field(default=30.0, validator=_positive)
    max_connections: int = attrs.field(default=64, validator=_positive)
    max_header_bytes: int = attrs.field(default=64 * 1024, validator=_positive)
    max_headers: int = attrs.field(default=100, validator=_positive)


@attrs.frozen
class Request:
    """One parsed request: ``headers`` has lower-case names (repeated headers joined with ``", "``)."""

    method: str
    target: str
    version: str
    headers: Mapping[str, str]
    body: bytes
    client: str

    @property
    def path(self) -> str:
        """The target without its query string."""
        return self.target.split("?", 1)[0]


Write = Callable[[bytes], None]


@attrs.frozen
class Response:
    """What the application answers. ``tag`` is shown in the access log (the model version that answered).

    With ``stream``, the body is not ``body`` but what ``stream(write)`` writes, sent as it is written, without
    a Content-Length; the connection closes when the stream returns (or its client goes away, which makes
    ``write`` raise ``OSError``).
    """

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    close: bool = False
    tag: str | None = None
    stream: Callable[[Write], None] | None = None


App = Callable[[Request], Response]
ErrorFactory = Callable[[int, str, str], Response]
"""``errors(status, error_code, message) -> Response``: how the server words the answers it gives itself."""


def error_body(code: str, message: str) -> bytes:
    """MLflow's JSON error body."""
    import json

    return json.dumps({"error_code": code, "message": message}).encode()


def error_response(
    status: int, code: str, message: str, *, headers: tuple[tuple[str, str], ...] = (), close: bool = False
) -> Response:
    return Response(status, error_body(code, message), headers=headers, close=close)


def _escape(text: str) -> str:
    return text.encode("unicode_escape").decode("ascii").replace('"', '\\"')


class _Reader:
    """Buffered socket reads under a deadline: each ``recv`` waits only for the time left in the current phase.

    (A socket timeout alone restarts with every byte received.) ``received`` counts the bytes that arrived
    since `start()`, ``pending`` those already buffered (a pipelined next request).
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.deadline = math.inf
        self.received = 0
        self._scanned = 0  # how far the buffer is known to hold no newline: long lines are scanned once

    def start(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.received = 0

    @property
    def pending(self) -> int:
        return len(self.buffer)

    def _wait(self) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("deadline passed")
        self.sock.settimeout(remaining)

    def _fill(self) -> bool:
        self._wait()
        data = self.sock.recv(65536)
        self.received += len(data)
        self.buffer += data
        return bool(data)

    def _take(self, n: int) -> bytes:
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        self._scanned = 0
        return data

    def readline(self, limit: int) -> bytes:
        """A line with its newline; at most ``limit`` bytes (then without one); what is left at end of stream."""
        while True:
            end = self.buffer.find(b"\n", self._scanned, limit)
            if end >= 0:
                return self._take(end + 1)
            if len(self.buffer) >= limit:
                return self._take(limit)
            self._scanned = len(self.buffer)
            if not self._fill():
                return self._take(len(self.buffer))

    def read(self, n: int) -> bytes:
        """Exactly ``n`` bytes, or fewer at end of stream. Memory grows with what arrives, not with what the
        client announced: a Content-Length alone costs nothing."""
        if len(self.buffer) >= n:
            return self._take(n)
        chunks = [self._take(len(self.buffer))]
        have = len(chunks[0])
        while have < n:
            self._wait()
            chunk = self.sock.recv(min(n - have, 1 << 20))
            if not chunk:
                break
            self.received += len(chunk)
            have += len(chunk)
            chunks.append(chunk)
        return b"".join(chunks)

    def discard(self, budget: int) -> None:
        """Read and drop up to ``budget`` bytes, until the end of the stream or the deadline."""
        budget -= len(self.buffer)
        self.buffer.clear()
        self._scanned = 0
        while budget > 0:
            self._wait()
            data = self.sock.recv(min(budget, 65536))
            if not data:
                return
            budget -= len(data)


class _Failure(Exception):
    """A request that cannot be served: answer it (``status``, ``code``, ``message``) and close the connection."""

    def __init__(self, status: int, code: str, message: str, *, unread: int | None = 0) -> None:
        super().__init__(status)
        self.status = status
        self.code = code
        self.message = message
        self.unread = unread  # bytes of body the client may still send; None when unknown


def _fail(status: int, message: str, *, code: str = "BAD_REQUEST", unread: int | None = 0) -> _Failure:
    return _Failure(status, code, message, unread=unread)


class _Clock:
    """The ``Date`` header and the log's timestamp, formatted once a second rather than once a request."""

    def __init__(self) -> None:
        self._second = -1
        self._date = ""
        self._log_time = ""

    def now(self) -> tuple[str, str]:
        second = int(time.time())
        if second != self._second:
            self._date = email.utils.formatdate(second, usegmt=True)
            self._log_time = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(second))
            self._second = second
        return self._date, self._log_time


class HttpServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """Serve ``app`` on ``address`` (see the module docstring), one daemon thread per connection.

    Args:
        address: ``(host, port)``; port 0 picks a free one.
        app: ``app(request) -> Response``; an exception it raises becomes a 500.
        limits: the `ServerLimits`.
        access_log: ``True`` for stderr, ``False`` for none, or a text stream.
        errors: how the answers the server gives itself are worded (default: MLflow's JSON error shape).
        name: the ``Server`` header.
    """

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        app: App,
        *,
        limits: ServerLimits | None = None,
        access_log: bool | TextIO = True,
        errors: ErrorFactory = error_response,
        name: str = "registry-serve",
    ) -> None:
        self.app = app
        self.errors = errors
        self.name = name
        self.limits = limits or ServerLimits()
        self._access_log = access_log
        self._log_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.limits.max_connections)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self.clock = _Clock()
        super().__init__(address, socketserver.BaseRequestHandler)

    # -- connections ----------------------------------------------------------------------------------------------

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self._reject(request, client_address)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            # The thread could not be started, so it will not release its slot. (Only Exception: a Ctrl-C while
            # the thread starts must not release a slot that the running thread releases again.)
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def finish_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        try:
            _Connection(self, request, client_address).serve()
        except Exception:  # a bug here must cost one connection, never the server
            log.exception("registry serve: connection from %s failed", client_address[0])
        finally:
            with self._open_lock:
                self._open.discard(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.exception("registry serve: connection from %s failed", client_address[0])

    def server_close(self) -> None:
        """Close the listening socket and every open connection (their threads then end at once)."""
        super().server_close()
        with self._open_lock:
            for sock in list(self._open):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _reject(self, sock: socket.socket, client_address: Any) -> None:
        # Runs on the accepting thread, so it must never block: the answer fits in the socket's send buffer.
        started = time.monotonic()
        response = self.error(
            503,
            "TEMPORARILY_UNAVAILABLE",
            f"The server is at its limit of {self.limits.max_connections} connections; retry shortly.",
            headers=(("Retry-After", "1"),),
        )
        data = self.encode(response, keep_alive=False, head=False)
        try:
            sock.setblocking(False)
            sock.send(data)
            sock.shutdown(socket.SHUT_WR)
            try:  # drop what already arrived, so closing sends a FIN rather than a reset
                while sock.recv(65536):
                    pass
            except OSError:
                pass
        except OSError:
            pass
        finally:
            sock.close()
        self.access(str(client_address[0]), "-", 503, len(response.body), started, None, None, None)

    # -- responses and the access log -----------------------------------------------------------------------------

    def error(self, status: int, code: str, message: str, *, headers: tuple[tuple[str, str], ...] = ()) -> Response:
        """An answer the server gives itself, worded by ``errors``; the connection closes after it."""
        try:
            response = self.errors(status, code, message)
        except Exception:  # the wording must never cost the answer
            log.exception("registry: the error page for %s failed", status)
            response = error_response(status, code, message)
        return attrs.evolve(response, headers=(*response.headers, *headers), close=True)

    def encode(self, response: Response, *, keep_alive: bool, head: bool) -> bytes:
        """The response as bytes: status line, headers and (unless answering HEAD) body, for one write."""
        date, _ = self.clock.now()
        try:
            phrase = HTTPStatus(response.status).phrase
        except ValueError:
            phrase = "Unknown"
        lines = [
            f"HTTP/1.1 {response.status} {phrase}",
            f"Server: {self.name}",
            f"Date: {date}",
            f"Content-Type: {response.content_type}",
            *([] if response.stream is not None else [f"Content-Length: {len(response.body)}"]),
            *(f"{key}: {value}" for key, value in response.headers),
        ]
        if not keep_alive:
            lines.append("Connection: close")
        head_bytes = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        return head_bytes if head else head_bytes + response.body

    def access(
        self,
        client: str,
        request_line: str,
        status: int,
        size: int,
        started: float,
        referer: str | None,
        agent: str | None,
        tag: str | None,
    ) -> None:
        stream = sys.stderr if self._access_log is True else self._access_log
        if not stream:
            return
        _, stamp = self.clock.now()
        millis = (time.monotonic() - started) * 1000.0
        line = (
            f'{client} - - [{stamp}] "{_escape(request_line)}" {status} {size if size else "-"} '
            f'"{_escape(referer or "-")}" "{_escape(agent or "-")}" {millis:.3f}ms {_escape(tag or "-")}\n'
        )
        with self._log_lock:
            try:
                stream.write(line)
            except (OSError, ValueError):
                pass  # a closed or broken log stream must not cost the request its answer


class _Connection:
    """One client connection: requests read under deadlines, answered in order, until either side closes."""

    def __init__(self, server: HttpServer, sock: socket.socket, client_address: Any) -> None:
        self.server = server
        self.limits = server.limits
        self.sock = sock
        self.client = str(client_address[0])
        self.rfile = _Reader(sock)
        try:  # a stream's small writes (the UI's events) go out at once rather than waiting on the last ACK
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def serve(self) -> None:
        try:
            while self._one():
                pass
        except OSError:
            pass  # the client went away; nobody is left to answer

    def _send(self, response: Response, *, keep_alive: bool, head: bool = False) -> None:
        # A client that does not read its response cannot hold the thread longer than a body may take.
        self.sock.settimeout(self.limits.body_timeout)
        self.sock.sendall(self.server.encode(response, keep_alive=keep_alive, head=head))

    def _one(self) -> bool:
        """Serve one request; returns whether the connection stays open for another."""
        self.rfile.start(self.limits.header_timeout)
        pipelined = self.rfile.pending
        started = time.monotonic()
        request_line = "-"
        headers: dict[str, str] = {}
        try:
            try:
                line = self._request_line()
                if line is None:
                    return False
                request_line = line
                method, target, version = self._parse_request_line(line)
                headers = self._headers()
                keep_alive = self._keep_alive(version, headers)
                body = self._body(method, headers)
            except TimeoutError:
                if request_line == "-" and self.rfile.received == 0 and not pipelined:
                    return False  # an idle keep-alive connection: nothing was asked, nothing is owed
                raise _fail(
                    408,
                    f"The request did not arrive in time (headers within {self.limits.header_timeout} s, the "
                    f"body within {self.limits.body_timeout} s).",
                    code="DEADLINE_EXCEEDED",
                ) from None
        except _Failure as failure:
            response = self.server.error(failure.status, failure.code, failure.message)
            self._send(response, keep_alive=False)
            self.server.access(
                self.client, request_line, response.status, len(response.body), started,
                headers.get("referer"), headers.get("user-agent"), None,
            )  # fmt: skip
            self._linger(failure.unread)
            return False
        request = Request(method, target, version, headers, body, self.client)
        try:
            response = self.server.app(request)
        except Exception as exc:
            log.exception("registry serve: the application failed on %s %s", method, target)
            response = self.server.error(500, "INTERNAL_ERROR", f"The server failed on this request: {exc!r}.")
            response = attrs.evolve(response, close=False)
        if response.stream is not None and method != "HEAD":
            self._stream(response, request_line, started, headers)
            return False
        keep_alive = keep_alive and not response.close
        self._send(response, keep_alive=keep_alive, head=method == "HEAD" or response.stream is not None)
        self.server.access(
            self.client, request_line, response.status, len(response.body), started,
            headers.get("referer"), headers.get("user-agent"), response.tag,
        )  # fmt: skip
        return keep_alive

    def _stream(self, response: Response, request_line: str, started: float, headers: Mapping[str, str]) -> None:
        """Send the headers, then what the stream writes as it writes it, until it returns or the client leaves."""
        self._send(response, keep_alive=False, head=True)
        sent = 0

        def write(data: bytes) -> None:
            nonlocal sent
            self.sock.sendall(data)  # under the send timeout _send set: a client that stops reading is dropped
            sent += len(data)

        assert response.stream is not None
        try:
            response.stream(write)
        except OSError:
            pass  # the client went away (or stopped reading): the stream is over
        finally:
            self.server.access(
                self.client, request_line, response.status, sent, started,
                headers.get("referer"), headers.get("user-agent"), response.tag,
            )  # fmt: skip

    def _request_line(self) -> str | None:
        for _ in range(4):  # RFC 9112 asks servers to ignore an empty line or two before a request
            raw = self.rfile.readline(self.limits.max_header_bytes + 1)
            if not raw:
                return None
            if len(raw) > self.limits.max_header_bytes:
                raise _fail(414, f"The request line is longer than {self.limits.max_header_bytes} bytes.")
            if raw not in (b"\r\n", b"\n"):
                if not raw.endswith(b"\n"):  # the client stopped sending mid-line: it may still read the answer
                    raise _fail(400, f"The request line {_escape(raw[:80].decode('latin-1'))!r} was cut off.")
                return raw.decode("latin-1").rstrip("\r\n")
        raise _fail(400, "Malformed request: expected a request line such as 'POST /invocations HTTP/1.1'.")

    def _parse_request_line(self, line: str) -> tuple[str, str, str]:
        match = _REQUEST_LINE.fullmatch(line)
        if match is None:
            shown = _escape(line[:80])
            raise _fail(400, f"Malformed request line {shown!r}: expected METHOD TARGET HTTP/1.1.")
        method, target, major, minor = match.groups()
        if (major, minor) not in (("1", "0"), ("1", "1")):
            raise _fail(400, f"HTTP/{major}.{minor} is not supported: send HTTP/1.1 (or 1.0).")
        return method, target, f"HTTP/{major}.{minor}"

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        total = 0
        for _ in range(self.limits.max_headers + 1):
            raw = self.rfile.readline(self.limits.max_header_bytes + 1)
            total += len(raw)
            if total > self.limits.max_header_bytes:
                raise _fail(431, f"The headers are longer than {self.limits.max_header_bytes} bytes.")
            if not raw.endswith(b"\n"):
                raise _fail(400, "The request ended inside its headers.")
            if raw in (b"\r\n", b"\n"):
                return headers
            if raw[:1] in (b" ", b"\t"):
                raise _fail(400, "Folded header lines are not accepted; send each header on one line.")
            name, sep, value = raw.decode("latin-1").partition(":")
            if not sep or not _TOKEN.fullmatch(name):
                raise _fail(400, f"Malformed header line {_escape(raw[:60].decode('latin-1'))!r}.")
            key = name.lower()
            value = value.strip(" \t\r\n")
            if key in headers:
                if key == "content-length":
                    if headers[key] != value:
                        raise _fail(400, "The request has two different Content-Length headers.")
                    continue
                value = f"{headers[key]}, {value}"
            headers[key] = value
        raise _fail(431, f"The request has more than {self.limits.max_headers} headers.")

    @staticmethod
    def _keep_alive(version: str, headers: Mapping[str, str]) -> bool:
        tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
        return "close" not in tokens if version == "HTTP/1.1" else "keep-alive" in tokens

    def _body(self, method: str, headers: Mapping[str, str]) -> bytes:
        if "transfer-encoding" in headers:
            if "content-length" in headers:
                raise _fail(400, "The request has both Transfer-Encoding and Content-Length.")
            raise _fail(411, "Chunked request bodies are not accepted: send a Content-Length header.", unread=None)
        text = headers.get("content-length")
        if text is None:
            if method in _BODY_METHODS:
                raise _fail(411, "Send a Content-Length header with the request body.")
            return b""
        if not _LENGTH.fullmatch(text):
            raise _fail(400, f"Malformed Content-Length {_escape(text[:40])!r}.")
        length = int(text)
        if length > self.limits.max_body_bytes:
            raise _fail(
                413,
                f"The request body has {length} bytes; the limit is {self.limits.max_body_bytes}.",
                unread=length,
            )
        if length == 0:
            return b""
        if headers.get("expect", "").lower() == "100-continue":
            self.sock.settimeout(self.limits.body_timeout)
            self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.rfile.start(self.limits.body_timeout)
        body = self.rfile.read(length)
        if len(body) < length:
            raise _fail(400, f"The request body ended after {len(body)} of {length} bytes.")
        return body

    def _linger(self, unread: int | None) -> None:
        """After an answer given before the request was read to its end: stop writing, then drain what the
        client still sends, so that closing sends a FIN rather than a reset (which could destroy the answer
        before the client reads it). ``unread`` is the body still in flight (``None``: of unknown length);
        the drain is bounded in bytes and time either way."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            return
        if unread == 0:
            budget, seconds = 65536, _DRAIN_SECONDS
        else:
            budget = _LINGER_BYTES if unread is None else min(unread + 65536, _LINGER_BYTES)
            seconds = min(self.limits.body_timeout, _LINGER_SECONDS)
        self.rfile.start(seconds)
        try:
            self.rfile.discard(budget)
        except OSError:
            pass
