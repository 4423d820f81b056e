"""Raw-socket HTTP helpers for the server tests: send exactly the bytes a hostile client would, read the answer."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import attrs


@attrs.frozen
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class NoAnswer(AssertionError):
    """The server closed the connection (or went silent) without an HTTP response."""


def read_answer(sock: socket.socket, *, timeout: float = 10.0, head: bool = False) -> Answer:
    """Read one HTTP response from ``sock`` (skipping ``100 Continue``); raises NoAnswer if none comes.

    Reads exactly one response and nothing past it, so pipelined answers can be read one by one.
    """
    deadline = time.monotonic() + timeout
    while True:
        data = b""
        while not data.endswith(b"\r\n\r\n"):
            data += _recv(sock, deadline, data, 1)
        lines = data[:-4].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise NoAnswer(f"not an HTTP response: {data[:80]!r}")
        status = int(parts[1])
        if status != 100:
            break
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    length = 0 if head else int(headers.get("content-length", "0"))
    body = b""
    while len(body) < length:
        body += _recv(sock, deadline, body, length - len(body))
    return Answer(status, headers, body)


def _recv(sock: socket.socket, deadline: float, sofar: bytes, n: int) -> bytes:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise NoAnswer(f"no complete answer in time; got {sofar[:80]!r}")
    sock.settimeout(remaining)
    try:
        chunk = sock.recv(n)
    except TimeoutError:
        raise NoAnswer(f"no complete answer in time; got {sofar[:80]!r}") from None
    except ConnectionResetError:
        raise NoAnswer(f"connection reset; got {sofar[:80]!r}") from None
    if not chunk:
        raise NoAnswer(f"connection closed; got {sofar[:80]!r}")
    return chunk


def exchange(port: int, data: bytes, *, timeout: float = 10.0, head: bool = False) -> Answer:
    """Open a connection, send ``data`` as it is, and read one answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        return read_answer(sock, timeout=timeout, head=head)


def request_bytes(
    method: str, path: str, body: bytes = b"", content_type: str | None = "application/json", **headers: str
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    lines += [f"{key.replace('_', '-')}: {value}" for key, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def closed_by_peer(sock: socket.socket, timeout: float) -> bool:
    """Whether the server closes ``sock`` within ``timeout`` seconds (reading whatever it sends first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            if not sock.recv(65536):
                return True
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True
    return False
