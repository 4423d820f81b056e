"""The scoring server over real HTTP on 127.0.0.1: every input format, bad inputs, hot reload under load."""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from registry import Registry, ResourceDoesNotExist, __version__, infer_signature
from registry.models.signature import DataType, ModelSignature, ParamSchema, ParamSpec
from registry.pyfunc import PythonModel
from registry.serving.server import ScoringServer

TIMEOUT = 10.0  # seconds: every wait in this module is bounded by it
HAS_PANDAS = importlib.util.find_spec("pandas") is not None


class Scaler(PythonModel):
    """Multiplies ``x`` by the factor in its artifact, so a prediction tells which version made it."""

    def load_context(self, context: Any) -> None:
        with open(context.artifacts["factor"]) as f:
            self.factor = json.load(f)["factor"]

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        offset = (params or {}).get("offset", 0)
        if hasattr(model_input, "to_dict"):
            model_input = model_input.to_dict(orient="records")
        if hasattr(model_input, "tolist"):
            model_input = model_input.tolist()
        if isinstance(model_input, dict):  # named tensors
            return {k: [v * self.factor for v in vs] for k, vs in model_input.items()}
        out = []
        for item in model_input:
            x = item["x"] if isinstance(item, dict) else item
            if x < 0:
                raise ValueError("negative amounts are not allowed")
            out.append(x * self.factor + offset)
        return out


def log_scaler(reg: Registry, tmp_path: Path, factor: Any, *, signature: bool = True, name: str = "m") -> int:
    """Log a Scaler; with ``signature``, one column ``x`` (double) and an optional ``offset`` parameter."""
    artifact = tmp_path / f"factor-{factor}-{time.monotonic_ns()}.json"
    artifact.write_text(json.dumps({"factor": factor}))
    mv = reg.log_model(
        Scaler(),
        registered_model_name=name,
        artifacts={"factor": str(artifact)},
        signature=infer_signature([{"x": 1.0}], params={"offset": 0}) if signature else None,
    )
    return mv.version


class Client:
    """One keep-alive HTTP connection to the server."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)

    def request(
        self, method: str, path: str, body: bytes | str | None = None, content_type: str | None = "application/json"
    ) -> tuple[int, dict[str, str], bytes]:
        headers = {"Content-Type": content_type} if content_type else {}
        if isinstance(body, str):
            body = body.encode()
        self.conn.request(method, path, body=body, headers=headers)
        resp = self.conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()

    def invoke(self, payload: Any, content_type: str = "application/json") -> tuple[int, Any, int]:
        body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
        status, headers, data = self.request("POST", "/invocations", body, content_type)
        return status, json.loads(data), int(headers["x-model-version"])

    def version(self) -> dict[str, Any]:
        status, _, data = self.request("GET", "/model")
        assert status == 200
        return json.loads(data)

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def folder(tmp_path: Path) -> str:
    return str(tmp_path / "registry")


@pytest.fixture
def reg(folder: str) -> Iterator[Registry]:
    registry = Registry(folder, policy="mlflow")
    yield registry
    registry.close()


@pytest.fixture
def serve(reg: Registry) -> Iterator[Callable[..., ScoringServer]]:
    servers: list[ScoringServer] = []

    def start(uri: str = "models:/m@champion", **options: Any) -> ScoringServer:
        options.setdefault("poll_interval", 0.05)
        options.setdefault("access_log", False)  # the access log has its own tests (test_http.py)
        server = ScoringServer(reg, uri, host="127.0.0.1", port=0, **options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()


@pytest.fixture
def client_for() -> Iterator[Callable[[ScoringServer], Client]]:
    clients: list[Client] = []

    def make(server: ScoringServer) -> Client:
        clients.append(Client(server.port))
        return clients[-1]

    yield make
    for c in clients:
        c.close()


def wait_for(predicate: Callable[[], bool], timeout: float = TIMEOUT) -> float:
    """Poll until ``predicate()`` holds; returns the seconds it took. Fails the test after ``timeout``."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(0.01)
    return time.monotonic() - start


# -- the protocol ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "content_type", "expected"),
    [
        ({"dataframe_split": {"columns": ["x"], "data": [[1.0], [2.5]]}}, "application/json", [3.0, 7.5]),
        ({"dataframe_split": {"columns": ["x"], "data": [[1]], "index": [7]}}, "application/json", [3.0]),
        ({"dataframe_records": [{"x": 1.0}, {"x": 2.0}]}, "application/json; charset=utf-8", [3.0, 6.0]),
        ({"dataframe_records": [{"x": 2.0}], "params": {"offset": 1}}, "application/json", [7.0]),
        ("x\n1.0\n4\n", "text/csv", [3.0, 12.0]),
        ("x,unused\n2,a\n", "text/csv", [6.0]),
    ],
    ids=["split", "split-index", "records", "params", "csv", "csv-extra-column"],
)
def test_tabular_formats(
    reg: Registry, tmp_path: Path, serve: Any, client_for: Any, payload: Any, content_type: str, expected: Any
) -> None:
    log_scaler(reg, tmp_path, 3)
    reg.set_registered_model_alias("m", "champion", 1)
    client = client_for(serve())
    status, body, version = client.invoke(payload, content_type)
    assert (status, version) == (200, 1), body
    assert body == {"predictions": expected}


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"instances": [1, 2, 3]}, [2, 4, 6]),
        ({"inputs": [0.5]}, [1.0]),
        ({"inputs": {"a": [1, 2]}}, {"a": [2, 4]}),
    ],
    ids=["instances", "inputs", "named-inputs"],
)
def test_tensor_formats(
    reg: Registry, tmp_path: Path, serve: Any, client_for: Any, payload: Any, expected: Any
) -> None:
    log_scaler(reg, tmp_path, 2, signature=False)
    reg.set_registered_model_alias("m", "champion", 1)
    status, body, _ = client_for(serve()).invoke(payload)
    assert status == 200, body
    assert body == {"predictions": expected}


class Chat(PythonModel):
    """Says what it was given: a chat/completions/embeddings model takes the request object as it is."""

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return {"type": type(model_input).__name__, "keys": sorted(model_input), "params": params}


class Rows(PythonModel):
    """Says what shape it was given."""

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return {"type": type(model_input).__name__, "value": model_input}


def test_unified_payloads_reach_the_model_as_sent_with_declared_keys_as_params_and_come_back_unwrapped(
    reg: Registry, serve: Any, client_for: Any
) -> None:
    params = ParamSchema([ParamSpec("temperature", DataType.double, 0.5), ParamSpec("max_tokens", DataType.long, 8)])
    reg.log_model(Chat(), registered_model_name="chat", signature=ModelSignature(params=params))
    reg.log_model(Chat(), registered_model_name="plain")
    client = client_for(serve("models:/chat/1"))
    body = {"messages": [{"role": "user", "content": "hi"}], "temperature": 0.9, "stop": ["\n"]}
    status, answer, _ = client.invoke(body)
    assert (status, answer) == (200, {"type": "dict", "keys": ["messages", "stop"],
                                      "params": {"temperature": 0.9, "max_tokens": 8}})  # fmt: skip
    assert client.invoke({"prompt": "hi", "max_tokens": 3})[1]["params"] == {"temperature": 0.5, "max_tokens": 3}
    assert client.invoke({"input": ["a", "b"]})[1]["keys"] == ["input"]
    assert client.invoke({"messages": [], "inputs": [1]})[1]["keys"] == ["inputs", "messages"]  # unified wins
    status, answer, _ = client.invoke({"messages": [], "temperature": "hot"})
    assert (status, answer["error_code"]) == (400, "INVALID_PARAMETER_VALUE") and "temperature" in answer["message"]
    wrapped = client.invoke({"dataframe_records": [{"a": 1}]})[1]  # the protocol's own keys: answered wrapped
    assert wrapped["predictions"]["params"] == {"temperature": 0.5, "max_tokens": 8}
    plain = client_for(serve("models:/plain/1"))  # no parameter schema: every key goes to the model
    status, answer, _ = plain.invoke({"messages": [], "temperature": 1})
    assert (status, answer) == (200, {"type": "dict", "keys": ["messages", "temperature"], "params": {}})


@pytest.mark.skipif(HAS_PANDAS, reason="checks the shapes without pandas; pandas is installed here")
@pytest.mark.parametrize(
    "payload",
    [
        {"inputs": {"x": [1, 2.5]}},
        {"instances": [{"x": 1}, {"x": 2.5}]},
        {"inputs": [{"x": 1}, {"x": 2.5}]},
        {"dataframe_split": {"columns": ["x"], "data": [[1], [2.5]]}},
    ],
    ids=["inputs-columns", "instances-rows", "inputs-rows", "split"],
)
def test_without_pandas_inputs_by_column_name_reach_the_model_as_row_dicts(
    reg: Registry, serve: Any, client_for: Any, payload: Any
) -> None:
    reg.log_model(Rows(), registered_model_name="rows", signature=infer_signature([{"x": 1.0}]))
    status, answer, _ = client_for(serve("models:/rows/1")).invoke(payload)
    assert (status, answer) == (200, {"predictions": {"type": "list", "value": [{"x": 1.0}, {"x": 2.5}]}})


def test_ping_health_version_and_unknown_paths(reg: Registry, tmp_path: Path, serve: Any, client_for: Any) -> None:
    log_scaler(reg, tmp_path, 1)
    reg.set_registered_model_alias("m", "champion", 1)
    server = serve()
    client = client_for(server)
    assert client.request("GET", "/ping")[0] == 200
    assert client.request("HEAD", "/ping")[0] == 200
    status, headers, data = client.request("GET", "/version")
    assert (status, data.decode(), headers["content-type"].split(";")[0]) == (200, __version__, "text/plain")
    status, _, data = client.request("GET", "/health")
    assert status == 200 and json.loads(data)["version"] == 1
    info = client.version()
    assert info["model_uri"] == "models:/m@champion"
    assert (info["name"], info["version"], info["aliases"]) == ("m", 1, ["champion"])
    assert info["digest"] == reg.get_model_version("m", 1).digest
    for method, path in (("GET", "/nope"), ("POST", "/predict")):
        status, _, data = client.request(method, path, b"{}")
        assert status == 404 and json.loads(data)["error_code"] == "ENDPOINT_NOT_FOUND"


@pytest.mark.parametrize(
    ("body", "content_type", "fragment"),
    [
        ("{not json", "application/json", "Malformed JSON"),
        ("[1, 2]", "application/json", "must be an object"),
        ('{"rows": []}', "application/json", "exactly one of the keys"),
        ('{"instances": [1], "inputs": [1]}', "application/json", "exactly one of the keys"),
        ('{"dataframe_split": {"columns": ["x"], "data": [[1, 2]]}}', "application/json", "has 2 values"),
        ('{"dataframe_split": [[1]]}', "application/json", "must be an object"),
        ('{"dataframe_records": [1, 2]}', "application/json", "not an object"),
        ('{"dataframe_records": [{"x": 1}], "params": [1]}', "application/json", "'params' must be"),
        ('{"dataframe_records": [{"y": 1}]}', "application/json", "missing required column 'x'"),
        ('{"dataframe_records": [{"x": "abc"}]}', "application/json", "'x'"),
        ("x\n1,2\n", "text/csv", "CSV row 2"),
        ("", "text/csv", "CSV input is empty"),
        ("x=1", "application/x-www-form-urlencoded", "Unsupported content type"),
        ('{"dataframe_records": [{"x": 1}]}', "application/json; something=x", "Unsupported content type"),
        ('{"dataframe_split": {"columns": ["x"], "data": [[1], [2]], "index": [0]}}', "application/json", "index"),
        (b"\xff\xfe", "application/json", "not UTF-8"),
    ],
    ids=[
        "malformed-json",
        "not-an-object",
        "no-key",
        "two-keys",
        "row-width",
        "split-shape",
        "records-shape",
        "params-shape",
        "missing-column",
        "wrong-type",
        "csv-width",
        "csv-empty",
        "content-type",
        "content-type-parameter",
        "split-index-length",
        "not-utf8",
    ],
)
def test_bad_requests_get_400_and_the_server_keeps_serving(
    reg: Registry, tmp_path: Path, serve: Any, client_for: Any, body: str | bytes, content_type: str, fragment: str
) -> None:
    log_scaler(reg, tmp_path, 2)
    reg.set_registered_model_alias("m", "champion", 1)
    client = client_for(serve())
    status, payload, _ = client.invoke(body, content_type)
    assert status == (415 if "Unsupported" in fragment else 400)  # 415 for a content type, as MLflow
    # as MLflow's server: what the signature's checks refuse is INVALID_PARAMETER_VALUE, the rest BAD_REQUEST
    assert payload["error_code"] == ("INVALID_PARAMETER_VALUE" if "missing required" in fragment else "BAD_REQUEST")
    assert fragment in payload["message"]
    assert client.invoke({"dataframe_records": [{"x": 1}]}) == (200, {"predictions": [2]}, 1)
    assert client.invoke({"dataframe_records": [{"x": 1}]}, "application/json; charset=utf-8")[0] == 200


def test_a_model_exception_is_a_bad_request_without_a_traceback_and_the_server_keeps_serving(
    reg: Registry, tmp_path: Path, serve: Any, client_for: Any
) -> None:
    log_scaler(reg, tmp_path, 2)
    reg.set_registered_model_alias("m", "champion", 1)
    client = client_for(serve())
    status, payload, _ = client.invoke({"dataframe_records": [{"x": -1.0}]})
    assert status == 400  # as MLflow's server: the input did not suit the model
    assert payload["error_code"] == "BAD_REQUEST"
    assert "ValueError: negative amounts are not allowed" in payload["message"]
    assert set(payload) == {"error_code", "message"} and "Traceback" not in payload["message"]
    assert client.invoke({"dataframe_records": [{"x": 1.0}]})[0] == 200


def test_a_request_without_content_length_is_refused(
    reg: Registry, tmp_path: Path, serve: Any, client_for: Any
) -> None:
    log_scaler(reg, tmp_path, 2)
    reg.set_registered_model_alias("m", "champion", 1)
    server = serve()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    conn.putrequest("POST", "/invocations")
    conn.putheader("Content-Type", "application/json")
    conn.endheaders()
    resp = conn.getresponse()
    assert resp.status == 411
    conn.close()
    assert client_for(server).invoke({"dataframe_records": [{"x": 1}]})[0] == 200


def test_starting_needs_a_model(reg: Registry, tmp_path: Path, serve: Any) -> None:
    log_scaler(reg, tmp_path, 1)
    with pytest.raises(ResourceDoesNotExist, match="champion"):
        serve("models:/m@champion")
    with pytest.raises(ResourceDoesNotExist):
        serve("models:/m/Production")


# -- hot reload --------------------------------------------------------------------------------------------------


def test_moving_the_alias_from_another_process_swaps_the_model(
    reg: Registry, folder: str, tmp_path: Path, serve: Any, client_for: Any
) -> None:
    for factor in (1, 2):
        log_scaler(reg, tmp_path, factor)
    reg.set_registered_model_alias("m", "champion", 1)
    client = client_for(serve())
    assert client.invoke({"dataframe_records": [{"x": 5}]}) == (200, {"predictions": [5]}, 1)
    code = f"from registry import Registry; Registry({folder!r}).set_registered_model_alias('m', 'champion', 2)"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    wait_for(lambda: client.version()["version"] == 2)
    assert client.invoke({"dataframe_records": [{"x": 5}]}) == (200, {"predictions": [10]}, 2)
    assert client.version()["reloads"] == 1


def test_following_a_stage(reg: Registry, tmp_path: Path, serve: Any, client_for: Any) -> None:
    for factor in (1, 2):
        log_scaler(reg, tmp_path, factor)
    reg.transition_model_version_stage("m", 1, "Production")
    client = client_for(serve("models:/m/Production"))
    assert client.version()["version"] == 1
    reg.transition_model_version_stage("m", 2, "Production", archive_existing_versions=True)
    wait_for(lambda: client.version()["version"] == 2)


def test_a_fixed_version_is_never_reloaded(reg: Registry, tmp_path: Path, serve: Any, client_for: Any) -> None:
    log_scaler(reg, tmp_path, 1)
    server = serve("models:/m/1")
    assert server.reload_if_moved() is False
    assert client_for(server).version()["version"] == 1


def test_a_tampered_version_is_not_swapped_in(reg: Registry, tmp_path: Path, serve: Any, client_for: Any) -> None:
    for factor in (1, 2, 3):
        log_scaler(reg, tmp_path, factor)
    reg.set_registered_model_alias("m", "champion", 1)
    client = client_for(serve())
    location = reg.get_model_version("m", 2).storage_location
    assert location is not None
    with open(os.path.join(location, "MLmodel"), "a") as f:
        f.write("# edited after registration\n")
    reg.set_registered_model_alias("m", "champion", 2)
    wait_for(lambda: client.version()["last_reload_error"] is not None)
    info = client.version()
    assert info["version"] == 1
    assert "version 2 was not loaded: ArtifactVerificationError" in info["last_reload_error"]
    assert client.invoke({"dataframe_records": [{"x": 1}]}) == (200, {"predictions": [1]}, 1)
    reg.set_registered_model_alias("m", "champion", 3)  # a good version is taken, and the error clears
    wait_for(lambda: client.version()["version"] == 3)
    assert client.version()["last_reload_error"] is None


def test_a_version_that_fails_to_load_is_not_swapped_in(
    reg: Registry, tmp_path: Path, serve: Any, client_for: Any
) -> None:
    log_scaler(reg, tmp_path, 1)
    log_scaler(reg, tmp_path, "not-a-number-but-loads")  # loads fine, then fails on predict: still swapped
    broken = tmp_path / "broken.json"
    broken.write_text("{ this is not json")
    reg.log_model(Scaler(), registered_model_name="m", artifacts={"factor": str(broken)}, input_example=[{"x": 1.0}])
    reg.set_registered_model_alias("m", "champion", 1)
    client = client_for(serve())
    reg.set_registered_model_alias("m", "champion", 3)
    wait_for(lambda: client.version()["last_reload_error"] is not None)
    assert client.version()["version"] == 1
    assert "JSONDecodeError" in client.version()["last_reload_error"]
    assert client.invoke({"dataframe_records": [{"x": 4}]})[0] == 200


def test_a_deleted_alias_keeps_the_last_model_serving(
    reg: Registry, tmp_path: Path, serve: Any, client_for: Any
) -> None:
    log_scaler(reg, tmp_path, 1)
    reg.set_registered_model_alias("m", "champion", 1)
    client = client_for(serve())
    reg.delete_registered_model_alias("m", "champion")
    wait_for(lambda: client.version()["last_reload_error"] is not None)
    assert "does not resolve" in client.version()["last_reload_error"]
    status, _, data = client.request("GET", "/health")  # still answering, and saying the URI names nothing now
    assert status == 200 and "does not resolve" in json.loads(data)["last_reload_error"]
    assert client.invoke({"dataframe_records": [{"x": 4}]}) == (200, {"predictions": [4]}, 1)
    reg.set_registered_model_alias("m", "champion", 1)
    wait_for(lambda: client.version()["last_reload_error"] is None)


def test_concurrent_clients_see_no_failure_while_the_champion_moves_twice(
    reg: Registry, tmp_path: Path, serve: Any
) -> None:
    for factor in (1, 2, 3):
        log_scaler(reg, tmp_path, factor)
    reg.set_registered_model_alias("m", "champion", 1)
    server = serve()
    clients, per_client = 8, 150
    stop = threading.Event()
    results: list[list[tuple[int, int, Any]]] = [[] for _ in range(clients)]
    errors: list[BaseException] = []

    def work(i: int) -> None:
        client = Client(server.port)
        try:
            n = 0
            while n < per_client or not stop.is_set():
                x = i * 1000 + n
                status, body, version = client.invoke({"dataframe_split": {"columns": ["x"], "data": [[x]]}})
                results[i].append((status, version, body["predictions"][0] / x if x else version))
                n += 1
                if n > 20 * per_client:
                    break  # bounded even if the main thread failed to set stop
        except BaseException as exc:
            errors.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: sum(map(len, results)) >= 200)
        probe = Client(server.port)
        for target in (2, 3):
            reg.set_registered_model_alias("m", "champion", target)
            delay = wait_for(lambda t=target: probe.version()["version"] == t)  # type: ignore[misc]
            assert delay < TIMEOUT
            count = sum(map(len, results))
            wait_for(lambda c=count: sum(map(len, results)) >= c + 100)  # type: ignore[misc]
        probe.close()
    finally:
        stop.set()
        for t in threads:
            t.join(TIMEOUT * 3)
    assert not errors
    assert not any(t.is_alive() for t in threads)
    flat = [r for per in results for r in per]
    assert len(flat) >= 1000
    assert all(status == 200 for status, _, _ in flat)
    # Every answer came whole from one version: the factor in the prediction is the version in the header.
    assert all(ratio == version for _, version, ratio in flat)
    assert {version for _, version, _ in flat} == {1, 2, 3}
    for per in results:  # a client never goes back to an older model once it has seen a newer one
        versions = [version for _, version, _ in per]
        assert versions == sorted(versions)
    assert server.reloads == 2
