"""The scoring server against hostile clients, over real sockets: every request gets an HTTP answer (issue 11).

Each attack the issue lists is a test here: bodies that used to make the handler raise (and the connection
drop), garbage request lines, unknown methods, oversized bodies, slow clients and floods of stalled
connections. Answers are read from raw sockets, so a dropped connection is a failure, never a retry.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from http_support import Answer, NoAnswer, closed_by_peer, exchange, read_answer, request_bytes

from registry import Registry
from registry.pyfunc import PythonModel
from registry.serving.server import ScoringServer
from registry.web.http import ServerLimits


class Count(PythonModel):
    """Answers the number of rows (or tensor entries) it got: any well-formed input gives a 200."""

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return len(model_input)


@pytest.fixture(scope="module")
def registry_with_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    reg = Registry(str(tmp_path_factory.mktemp("serving-http") / "registry"))
    reg.log_model(Count(), registered_model_name="m")
    reg.set_registered_model_alias("m", "champion", 1)
    yield reg
    reg.close()


@pytest.fixture
def start(registry_with_model: Registry) -> Iterator[Callable[..., ScoringServer]]:
    servers: list[ScoringServer] = []

    def make(**options: Any) -> ScoringServer:
        options.setdefault("access_log", False)
        server = ScoringServer(registry_with_model, "models:/m@champion", port=0, **options).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.shutdown()


@pytest.fixture
def port(start: Callable[..., ScoringServer]) -> int:
    return start(limits=ServerLimits(header_timeout=2.0, body_timeout=2.0)).port


def post(port: int, body: bytes | str, content_type: str = "application/json") -> Answer:
    data = body.encode() if isinstance(body, str) else body
    return exchange(port, request_bytes("POST", "/invocations", data, content_type))


def assert_error(answer: Answer, status: int, fragment: str = "") -> None:
    assert answer.status == status, (answer.status, answer.body[:300])
    payload = answer.json()
    assert set(payload) == {"error_code", "message"}, payload
    assert fragment in payload["message"], payload["message"]


def test_well_formed_requests_still_answer(port: int) -> None:
    answer = post(port, '{"inputs": [[1, 2], [3, 4]]}')
    assert (answer.status, answer.json()) == (200, {"predictions": 2})
    assert answer.headers["x-model-version"] == "1"


# -- bodies that used to drop the connection ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "fragment"),
    [
        ('{"dataframe_records": [{"x": ' + "7" * 5000 + "}]}", "application/json", "digits"),
        ('{"inputs": ' + "[" * 100_000 + "]" * 100_000 + "}", "application/json", "nests deeper"),
        (
            '{"inputs": [1], "params": ' + '{"p": ' * 100_000 + "1" + "}" * 100_000 + "}",
            "application/json",
            "nests deeper",
        ),
        ("x\n" + "1" * 131_073 + "\n", "text/csv", "field"),
        ('{"instances": [[1], [1, 2]]}', "application/json", "ragged"),
        ('{"inputs": {"a": [[1], [1, 2]]}}', "application/json", "ragged"),
        ('{"instances": ["a", 1, "b"]}', "application/json", "mixes"),
    ],
    ids=["long-int", "deep-inputs", "deep-params", "csv-field", "ragged", "ragged-named", "mixed"],
)
def test_hostile_bodies_get_400(port: int, body: str, content_type: str, fragment: str) -> None:
    assert_error(post(port, body, content_type), 400, fragment)
    assert post(port, '{"inputs": [1]}').status == 200  # and the server keeps serving


# -- the request line, methods, headers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(32)) + b"\r\n\r\n",  # a TLS hello
        b"GET\r\n\r\n",
        b"GET /\r\n\r\n",  # HTTP/0.9
        b"GET / HTTP/2.0\r\n\r\n",
        b"GET / HTTP/1.1 extra\r\n\r\n",
        b"G\x00T /ping HTTP/1.1\r\n\r\n",
        b"\r\n\r\n\r\n\r\n\r\n\r\n",
        b"GET /ping HTTP/1.1\r\nno colon here\r\n\r\n",
        b"GET /ping HTTP/1.1\r\n folded: header\r\n\r\n",
        b"POST /invocations HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        b"POST /invocations HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"POST /invocations HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}",
        b"POST /invocations HTTP/1.1\r\nContent-Length: " + b"9" * 40 + b"\r\n\r\n",
    ],
    ids=[
        "tls",
        "no-target",
        "http09",
        "http2",
        "extra-word",
        "nul-method",
        "blank-lines",
        "no-colon",
        "folded",
        "length-text",
        "length-negative",
        "length-twice",
        "length-huge",
    ],
)
def test_garbage_gets_400(port: int, data: bytes) -> None:
    assert_error(exchange(port, data), 400)


def test_long_request_lines_and_headers_get_414_and_431(start: Callable[..., ScoringServer]) -> None:
    port = start(limits=ServerLimits(max_header_bytes=4096, max_headers=20)).port
    assert_error(exchange(port, b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\n\r\n"), 414)
    assert_error(exchange(port, b"GET /ping HTTP/1.1\r\nX: " + b"a" * 5000 + b"\r\n\r\n"), 431)
    many = b"".join(b"X-%d: y\r\n" % i for i in range(30))
    assert_error(exchange(port, b"GET /ping HTTP/1.1\r\n" + many + b"\r\n"), 431)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/invocations"),
        ("PUT", "/ping"),
        ("FOO", "/invocations"),
        ("GET", "/invocations"),
        ("POST", "/ping"),
        ("OPTIONS", "/version"),
    ],
)
def test_methods_a_path_does_not_take_get_405(port: int, method: str, path: str) -> None:
    answer = exchange(port, request_bytes(method, path, b"{}"))
    assert_error(answer, 405, method)
    assert answer.headers["allow"] in ("POST", "GET, HEAD")


def test_unknown_paths_get_404(port: int) -> None:
    assert_error(exchange(port, request_bytes("DELETE", "/nope")), 404)


def test_head_answers_without_a_body_and_keeps_the_connection(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"HEAD /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = read_answer(sock, head=True)
        assert answer.status == 200 and answer.headers["content-length"] == "1"
        sock.sendall(request_bytes("POST", "/invocations", b'{"inputs": [1, 2, 3]}'))
        assert read_answer(sock).json() == {"predictions": 3}


def test_pipelined_requests_are_answered_in_order(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        one = request_bytes("POST", "/invocations", b'{"inputs": [0]}')
        sock.sendall(one * 3 + request_bytes("GET", "/ping", content_type=None))
        assert [read_answer(sock).status for _ in range(4)] == [200, 200, 200, 200]


def test_chunked_bodies_are_refused_with_411_and_the_answer_is_read(port: int) -> None:
    data = b'POST /invocations HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"in"\r\n0\r\n\r\n'
    assert_error(exchange(port, data), 411, "Content-Length")


def test_expect_100_continue(port: int) -> None:
    body = b'{"inputs": [1, 2]}'
    with socket.create_connection(("127.0.0.1", port)) as sock:
        head = request_bytes("POST", "/invocations", body, Expect="100-continue")[: -len(body)]
        sock.sendall(head)
        sock.settimeout(5)
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        assert read_answer(sock).json() == {"predictions": 2}


# -- bodies over the limit: the client reads the 413 -------------------------------------------------------------


def test_a_body_over_the_limit_gets_413_not_a_broken_pipe(start: Callable[..., ScoringServer]) -> None:
    server = start(limits=ServerLimits(max_body_bytes=1024 * 1024))
    body = b'{"inputs": [' + b"1, " * (3 * 1024 * 1024) + b"1]}"
    for _ in range(3):  # a fresh connection each time, as clients retrying would
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("POST", "/invocations", body, {"Content-Type": "application/json"})  # sends it all
        resp = conn.getresponse()
        assert resp.status == 413
        payload = json.loads(resp.read())
        assert payload["error_code"] == "BAD_REQUEST" and "limit is 1048576" in payload["message"]
        conn.close()
    assert post(server.port, '{"inputs": [1]}').status == 200


def test_a_body_over_the_limit_with_expect_is_refused_before_it_is_sent(start: Callable[..., ScoringServer]) -> None:
    server = start(limits=ServerLimits(max_body_bytes=1000))
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"POST /invocations HTTP/1.1\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n")
        assert_error(read_answer(sock), 413)


# -- slow clients and floods ------------------------------------------------------------------------------------------


def test_a_client_trickling_its_headers_is_cut_off_with_408(start: Callable[..., ScoringServer]) -> None:
    server = start(limits=ServerLimits(header_timeout=0.5))
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        began = time.monotonic()
        answer: Answer | None = None
        for byte in b"GET /ping HTTP/1.1\r\nX-Slow: " + b"z" * 100:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.05)  # each byte arrives well within any per-recv timeout; the whole is too slow
            if time.monotonic() - began > 0.6:
                break
        answer = read_answer(sock, timeout=5)
        assert_error(answer, 408)
        assert time.monotonic() - began < 3


def test_a_client_stalling_its_body_is_cut_off_with_408(start: Callable[..., ScoringServer]) -> None:
    server = start(limits=ServerLimits(body_timeout=0.5))
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b'POST /invocations HTTP/1.1\r\nContent-Length: 100\r\n\r\n{"inputs"')
        began = time.monotonic()
        assert_error(read_answer(sock, timeout=5), 408)
        assert time.monotonic() - began < 3


def test_an_idle_keep_alive_connection_is_closed_quietly(start: Callable[..., ScoringServer]) -> None:
    server = start(limits=ServerLimits(header_timeout=0.3))
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(request_bytes("GET", "/ping", content_type=None))
        assert read_answer(sock).status == 200
        sock.settimeout(3)
        assert sock.recv(100) == b""  # closed without a word: the client asked nothing more


def test_stalled_connections_cannot_exhaust_threads(start: Callable[..., ScoringServer]) -> None:
    server = start(limits=ServerLimits(header_timeout=1.0, max_connections=8))
    before = threading.active_count()
    stalled = []
    for _ in range(150):
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"POST /invocations HTTP/1.1\r\n")  # and then nothing
        stalled.append(sock)
    try:
        time.sleep(0.2)
        assert threading.active_count() <= before + 8
        began = time.monotonic()
        answered: list[int] = []
        while time.monotonic() - began < 5:  # a newcomer is answered at once: 503 now, 200 once the stalled go
            try:
                answer = post(server.port, '{"inputs": [1]}')
            except NoAnswer:
                pytest.fail("a connection beyond the limit got no answer")
            answered.append(answer.status)
            if answer.status == 200:
                break
            assert_error(answer, 503, "limit of 8 connections")
            assert answer.headers["retry-after"] == "1"
            time.sleep(0.1)
        assert answered[-1] == 200 and time.monotonic() - began < 3, answered
        assert all(closed_by_peer(sock, 0.5) for sock in stalled[:8])  # the ones served got a 408 and a close
    finally:
        for sock in stalled:
            sock.close()


# -- the access log --------------------------------------------------------------------------------------------------


def test_an_access_log_line_per_request(start: Callable[..., ScoringServer]) -> None:
    stream = io.StringIO()
    server = start(access_log=stream)

    def logged(count: int) -> None:
        # A line is written just after its answer is sent, by the connection's own thread: wait for it before
        # the next request, or a loaded machine may schedule the next connection's thread first and the lines
        # arrive in another order (the flake this wait removes).
        deadline = time.monotonic() + 30
        while len(stream.getvalue().splitlines()) < count and time.monotonic() < deadline:
            time.sleep(0.01)

    post(server.port, '{"inputs": [1]}')
    logged(1)
    exchange(server.port, b'GET /nope HTTP/1.1\r\nUser-Agent: evil"\t\x1b[31m\r\n\r\n')
    logged(2)
    exchange(server.port, b"\x16\x03garbage\r\n\r\n")
    logged(3)
    time.sleep(0.05)  # a fourth line, if a bug wrote one, has time to show
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3, lines
    first, second, third = lines
    assert first.startswith("127.0.0.1 - - [") and '] "POST /invocations HTTP/1.1" 200 ' in first
    assert first.endswith(" m/1") and "ms m/1" in first
    assert '"GET /nope HTTP/1.1" 404 ' in second and '"evil\\"\\t\\x1b[31m"' in second  # escaped
    assert '"\\x16\\x03garbage" 400 ' in third


def test_the_access_log_can_be_switched_off(
    start: Callable[..., ScoringServer], capsys: pytest.CaptureFixture[str]
) -> None:
    server = start(access_log=False)
    post(server.port, '{"inputs": [1]}')
    server.shutdown()
    assert capsys.readouterr().err == ""


def test_the_access_log_goes_to_stderr_by_default(
    start: Callable[..., ScoringServer], capfd: pytest.CaptureFixture[str]
) -> None:
    server = start(access_log=True)
    post(server.port, '{"inputs": [1]}')
    server.shutdown()
    assert '"POST /invocations HTTP/1.1" 200' in capfd.readouterr().err


def test_serve_cli_has_the_switches(tmp_path: Path) -> None:
    from registry.cli import build_parser

    args = build_parser().parse_args(
        [
            "serve",
            "models:/m@x",
            "--no-access-log",
            "--max-connections",
            "7",
            "--max-body-bytes",
            "99",
            "--timeout",
            "3",
        ]
    )
    assert (args.access_log, args.max_connections, args.max_body_bytes, args.timeout) == (False, 7, 99, 3.0)


def test_ctrl_c_while_a_connection_thread_starts_is_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Ctrl-C landing in Thread.start must reach the serving loop (it used to turn into a ValueError from a
    second release of the connection's slot, which socketserver logged and ignored: the server kept serving)."""
    from registry.web.http import HttpServer, Response

    server = HttpServer(
        ("127.0.0.1", 0), lambda request: Response(200, b"{}"), limits=ServerLimits(max_connections=2), access_log=False
    )
    original_start = threading.Thread.start

    def start_then_interrupt(thread: threading.Thread) -> None:
        original_start(thread)
        thread.join(5)  # the connection is served and its slot released before the signal lands
        raise KeyboardInterrupt

    client = socket.create_connection(server.server_address)  # type: ignore[arg-type]
    try:
        accepted, address = server.socket.accept()
        client.close()
        monkeypatch.setattr(threading.Thread, "start", start_then_interrupt)
        with pytest.raises(KeyboardInterrupt):
            server.process_request(accepted, address)
        monkeypatch.undo()
        assert all(server._slots.acquire(blocking=False) for _ in range(2))  # both slots free, no more
        assert not server._slots.acquire(blocking=False)
    finally:
        server.server_close()


def test_limits_are_checked() -> None:
    from registry.errors import InvalidParameterValue

    for bad in ({"max_connections": 0}, {"header_timeout": -1.0}, {"max_body_bytes": True}, {"body_timeout": "5"}):
        with pytest.raises(InvalidParameterValue, match="must be a positive number"):
            ServerLimits(**bad)  # type: ignore[arg-type]
