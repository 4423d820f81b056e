"""Fuzzing the scoring server's request handling: every request gets 200 or a 4xx, never a 5xx or silence.

Two levels (issue 11): the scoring path itself (``ScoringServer.invoke``: parsing, conversion, signature
enforcement) with many examples, and whole requests (methods, targets, headers, content types, bodies, raw
bytes) sent over real sockets to a running server, each answer read from the socket. The models never raise
on input that reaches them, so any 5xx is the server's fault; one model has a signature, so enforcement is
fuzzed too.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, event, given, settings

from registry import Registry, infer_signature
from registry.errors import InvalidParameterValue
from registry.pyfunc import PythonModel
from registry.serving import scoring
from registry.serving.server import ScoringServer
from registry.web.http import ServerLimits


class Count(PythonModel):
    """Answers how many rows (or entries) it got, whatever it got."""

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        try:
            return len(model_input)
        except TypeError:
            return 1


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ScoringServer]]:
    reg = Registry(str(tmp_path_factory.mktemp("http-fuzz") / "registry"))
    reg.log_model(Count(), registered_model_name="plain")
    reg.log_model(
        Count(),
        registered_model_name="typed",
        signature=infer_signature([{"x": 1.0, "s": "a", "n": 1}], params={"k": 1, "mode": "fast"}),
    )
    limits = ServerLimits(max_body_bytes=256 * 1024, header_timeout=2.0, body_timeout=2.0, max_connections=16)
    started = {
        name: ScoringServer(reg, f"models:/{name}/1", port=0, limits=limits, access_log=False).start()
        for name in ("plain", "typed")
    }
    yield started
    for server in started.values():
        server.shutdown()
    reg.close()


# -- bodies ----------------------------------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["x", "s", "n", "k", "1", "1.5", "", "NaN", "2024-01-01"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(["x", "s", "n", "a", ""]) | st.text(max_size=4), inner, max_size=4),
    ),
    max_leaves=20,
)
columns = st.lists(st.sampled_from(["x", "s", "n", "a", "b"]) | st.text(max_size=3), max_size=4)
rows = st.lists(st.lists(json_scalars, max_size=4), max_size=4)
params = st.one_of(
    st.none(),
    st.dictionaries(st.sampled_from(["k", "mode", "other"]), json_values, max_size=3),
    json_values,
)
tensors = st.one_of(
    st.lists(st.lists(st.integers(-5, 5) | st.floats(allow_nan=False), min_size=2, max_size=2), min_size=1, max_size=3),
    st.lists(json_scalars, min_size=1, max_size=5),
    st.dictionaries(st.sampled_from(["x", "a"]), st.lists(json_scalars, max_size=3), min_size=1, max_size=2),
    json_values,
)


@st.composite
def payloads(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["dataframe_split", "dataframe_records", "instances", "inputs", "none", "many"]))
    doc: dict[str, Any] = {}
    if kind == "dataframe_split":
        split: dict[str, Any] = {"data": draw(st.one_of(rows, json_values))}
        if draw(st.booleans()):
            split["columns"] = draw(st.one_of(columns, json_values))
        if draw(st.booleans()):
            split["index"] = draw(json_values)
        doc[kind] = draw(st.one_of(st.just(split), json_values))
    elif kind == "dataframe_records":
        doc[kind] = draw(
            st.one_of(
                st.lists(st.dictionaries(st.sampled_from(["x", "s", "n", "z"]), json_scalars), max_size=4), json_values
            )
        )
    elif kind in ("instances", "inputs"):
        doc[kind] = draw(tensors)
    elif kind == "many":
        doc = draw(st.dictionaries(st.sampled_from([*scoring.INPUT_KEYS, "params", "junk"]), json_values, max_size=3))
    p = draw(params)
    if p is not None and draw(st.booleans()):
        doc["params"] = p
    return doc


def deep(depth: int, opener: str = "[", closer: str = "]") -> str:
    return '{"inputs": ' + opener * depth + "1" + closer * depth + "}"


bodies = st.one_of(
    payloads().map(lambda d: json.dumps(d).encode()),
    payloads().map(lambda d: json.dumps(d).encode()),
    json_values.map(lambda d: json.dumps(d).encode()),
    st.integers(1, 3000).map(lambda n: deep(n).encode()),
    st.integers(1, 3000).map(lambda n: ('{"inputs": [1], "params": ' + '{"a": ' * n + "1" + "}" * n + "}").encode()),
    st.integers(1, 6000).map(lambda n: ('{"dataframe_records": [{"x": ' + "9" * n + "}]}").encode()),
    st.lists(st.lists(st.text(max_size=6), max_size=4), max_size=5).map(
        lambda table: "\n".join(",".join(row) for row in table).encode()
    ),
    st.text(max_size=60).map(str.encode),
    st.binary(max_size=60),
)
content_types = st.one_of(
    st.sampled_from([None, "application/json", "text/csv"]),
    st.sampled_from([None, "application/json", "text/csv"]),
    st.sampled_from(
        [
            None,
            "application/json",
            "application/json; charset=utf-8",
            "text/csv",
            "text/csv; charset=latin-1",
            "application/*",
            "*/*",
            "",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "APPLICATION/JSON",
            ";;;",
        ]
    ),
    st.text(max_size=20),
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies, content_type=content_types, which=st.sampled_from(["plain", "typed"]))
def test_the_scoring_path_answers_200_or_4xx(
    servers: dict[str, ScoringServer], body: bytes, content_type: str | None, which: str
) -> None:
    status, payload, _ = servers[which].invoke(body, content_type)
    event(f"status {status}")
    doc = json.loads(payload)
    assert status in (200, 400, 415), doc
    assert set(doc) == ({"predictions"} if status == 200 else {"error_code", "message"}), doc


@settings(max_examples=400, deadline=None)
@given(body=bodies, content_type=content_types, input_format=st.sampled_from(scoring.INPUT_FORMATS))
def test_parsing_raises_only_invalid_parameter_value(body: bytes, content_type: str | None, input_format: str) -> None:
    try:
        scoring.to_model_input(scoring.parse_request(body, content_type), input_format)
    except InvalidParameterValue:
        pass


# -- whole requests over sockets ------------------------------------------------------------------------------------

methods = st.one_of(
    st.just("POST"),
    st.just("POST"),
    st.sampled_from(["GET", "POST", "POST", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "get"]),
    st.from_regex(r"[A-Z]{1,8}", fullmatch=True),
    st.text(max_size=6),
)
targets = st.one_of(
    st.just("/invocations"),
    st.just("/invocations"),
    st.just("/invocations"),
    st.sampled_from(["/invocations", "/invocations?x=1", "/ping", "/health", "/version", "/", "*", "//", "/../etc"]),
    st.text(max_size=20),
    st.integers(60_000, 70_000).map(lambda n: "/" + "a" * n),
)
versions = st.one_of(
    st.just("HTTP/1.1"),
    st.just("HTTP/1.1"),
    st.sampled_from(["HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/0.9", "http/1.1", ""]),
    st.text(max_size=8),
)
header_names = st.one_of(
    st.sampled_from(["Content-Type", "Content-Length", "Transfer-Encoding", "Expect", "Connection", "Host", "X-A"]),
    st.text(max_size=10),
)
header_values = st.one_of(
    content_types.map(lambda v: v or ""),
    st.sampled_from(["0", "5", "-1", "abc", "99999999999999999999", "chunked", "100-continue", "close", "keep-alive"]),
    st.text(max_size=20),
)


@st.composite
def raw_requests(draw: st.DrawFn) -> bytes:
    """Mostly well-formed requests with a fuzzed body and content type; some with one part fuzzed; a few noise."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200))
    spoiled = draw(st.sampled_from(["nothing"] * 5 + ["method", "target", "version", "headers", "length", "ending"]))
    method = draw(methods) if spoiled == "method" else draw(st.sampled_from(["POST", "POST", "POST", "GET", "HEAD"]))
    target = draw(targets) if spoiled == "target" else draw(st.sampled_from(["/invocations", "/ping", "/version"]))
    version = draw(versions) if spoiled == "version" else "HTTP/1.1"
    body = draw(bodies)
    lines = [f"{method} {target} {version}"]
    if spoiled != "length" or draw(st.booleans()):
        lines.append(f"Content-Length: {len(body)}")
    content_type = draw(content_types)
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    if spoiled in ("headers", "length"):
        names = header_names if spoiled == "headers" else st.just("Content-Length")
        lines += [f"{n}: {v}" for n, v in draw(st.lists(st.tuples(names, header_values), min_size=1, max_size=4))]
    end = draw(st.sampled_from(["\r\n", "\n", "\r", "\n\r"])) if spoiled == "ending" else "\r\n"
    head = end.join(lines) + end + end
    return head.encode("utf-8", "surrogatepass") + body


def answers(port: int, data: bytes) -> bytes:
    """Send ``data``, close our side, and read until the server closes: every byte it answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server answered and closed before taking everything: its answer is still readable
        received = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
        return received


def first_response(data: bytes) -> tuple[int, dict[str, str], bytes]:
    while data.startswith(b"HTTP/1.1 100 "):  # an interim answer to Expect: 100-continue
        data = data.partition(b"\r\n\r\n")[2]
    head, sep, rest = data.partition(b"\r\n\r\n")
    assert sep, f"no HTTP response: {data[:100]!r}"
    lines = head.decode("latin-1").split("\r\n")
    version, status, _ = (lines[0] + " ").split(" ", 2)
    assert version == "HTTP/1.1" and status.isdigit(), lines[0]
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(status), headers, rest[: int(headers.get("content-length", "0"))]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=raw_requests(), which=st.sampled_from(["plain", "typed"]))
def test_every_request_over_a_socket_gets_200_or_4xx(
    servers: dict[str, ScoringServer], data: bytes, which: str
) -> None:
    received = answers(servers[which].port, data)
    if not data.strip(b"\r\n"):
        return  # nothing was asked (only empty lines, or nothing): closing without a word is right
    status, _headers, body = first_response(received)
    event(f"status {status}")
    assert status == 200 or 400 <= status < 500, (status, body[:200])
    if status != 200 and body:
        assert set(json.loads(body)) == {"error_code", "message"}
