"""MLflow's own scoring-server tests, ported: the same requests against ``mlflow models serve`` and ``registry
serve``, serving the same model directories, with the same expectations (issue 15, item 4).

MLflow 3.17.2 lives in its own venv (tests/mlflow_venv.py). A script there saves the models with MLflow
(scikit-learn ones in its cloudpickle format, custom ones as MLflow ``PythonModel``s) and registers the same
directories in a registry folder; then, for each model, ``mlflow models serve --env-manager local`` and
``registry serve`` (this library, run in that venv so that pandas, numpy and scikit-learn are there as they are
for MLflow) start side by side. Every case in :data:`CASES` is the behaviour one of MLflow's tests
(``tests/pyfunc/test_scoring_server.py`` and its unified-payload tests) asserts, plus the behaviours issue 15
names; ``test_ported_behaviour`` checks it on each server, and ``test_both_servers_answer_alike`` checks that
the two answers agree (the status, the error code, and a success's whole body).

Where this library differs on purpose, the case says so in ``deliberate`` (the reason) and ``ours`` (what this
server answers instead, asserted just as strictly); docs/guides/serving.md lists the same differences. MLflow's tests
of its internals (the gunicorn/uvicorn command line, a JSON helper on its own) have no HTTP behaviour to port
beyond what the cases below cover.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from mlflow_venv import MLFLOW_ENV

pytestmark = [pytest.mark.mlflow, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 300.0  # ten servers starting at once on a shared machine
REQUEST_TIMEOUT_S = 60.0
MLFLOW_VERSION = "3.17.2"

MAKE_MODELS = '''
import json, sys, warnings
warnings.simplefilter("ignore")
import numpy as np
import mlflow
from mlflow.models import ModelSignature, infer_signature
from mlflow.types import ColSpec, DataType, ParamSchema, ParamSpec, Schema
from sklearn.datasets import load_iris
from sklearn.neighbors import KNeighborsClassifier
from registry import Registry

out = sys.argv[1]
iris = load_iris()
features = iris.data[:, :2]
knn = KNeighborsClassifier().fit(features, iris.target)
mlflow.sklearn.save_model(knn, f"{out}/knn", serialization_format="cloudpickle")
signature = infer_signature(features)
signature.params = ParamSchema([ParamSpec("param1", DataType.datetime, np.datetime64("2023-07-01"))])
mlflow.sklearn.save_model(knn, f"{out}/knn_params", signature=signature, serialization_format="cloudpickle")


class Dtypes(mlflow.pyfunc.PythonModel):
    """Answers the dtype of each column it was given."""

    def predict(self, context, model_input, params=None):
        return [[name, str(dtype)] for name, dtype in model_input.dtypes.items()]


TYPES = ["boolean", "integer", "long", "float", "double", "binary", "datetime", "string"]
schema = Schema([ColSpec(t, t) for t in TYPES])
mlflow.pyfunc.save_model(f"{out}/dtypes", python_model=Dtypes(), signature=ModelSignature(schema))
csv_schema = Schema([ColSpec(t, t) for t in TYPES if t not in ("binary", "datetime")])  # what CSV can carry
mlflow.pyfunc.save_model(f"{out}/csv_types", python_model=Dtypes(), signature=ModelSignature(csv_schema))


def shape_of(value):
    if hasattr(value, "dtypes") and hasattr(value, "columns"):
        return {"frame": [[str(c), str(d)] for c, d in value.dtypes.items()], "rows": len(value)}
    if isinstance(value, dict):
        return {"dict": {str(k): shape_of(v) for k, v in value.items()}}
    if isinstance(value, np.ndarray):
        return {"array": [str(value.dtype.kind), list(value.shape)]}
    return {type(value).__name__: None}


class Echo(mlflow.pyfunc.PythonModel):
    """No signature: answers the shape of what it was given, and its params."""

    def predict(self, context, model_input, params=None):
        if hasattr(model_input, "columns") and "strings" in model_input.columns:
            return np.array([["a", "b", "c"], ["e", "f", "g"]])  # a numpy array of text, as JSON
        return {"given": shape_of(model_input), "params": params}


mlflow.pyfunc.save_model(f"{out}/echo", python_model=Echo())


class Chat(mlflow.pyfunc.PythonModel):
    """A parameter schema and no input schema, as chat, completions and embeddings models have."""

    def predict(self, context, model_input, params=None):
        return {"keys": sorted(model_input), "type": type(model_input).__name__, "params": params}


params = ParamSchema([ParamSpec("temperature", DataType.double, 0.5), ParamSpec("max_tokens", DataType.long, 10)])
mlflow.pyfunc.save_model(f"{out}/chat", python_model=Chat(), signature=ModelSignature(inputs=None, params=params))

reg = Registry(f"{out}/registry", policy="mlflow")
for name in ("knn", "knn_params", "dtypes", "csv_types", "echo", "chat"):
    reg.register_model(f"{out}/{name}", name)
print(json.dumps({"expected_knn": [int(v) for v in knn.predict(np.array(json.loads(sys.argv[2])))]}))
'''

MODELS = ("knn", "knn_params", "dtypes", "csv_types", "echo", "chat")

# -- the two servers ---------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _venv_env(mlflow_python: Path) -> dict[str, str]:
    env = {**os.environ, **MLFLOW_ENV, "PYTHONPATH": str(REPO)}
    env["PATH"] = f"{mlflow_python.parent}{os.pathsep}{env.get('PATH', '')}"  # mlflow starts uvicorn from PATH
    return env


def _answers(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    try:
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        conn.request("GET", "/ping")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


@attrs.frozen
class Servers:
    urls: dict[tuple[str, str], str]  # (server, model) -> base URL
    expected_knn: list[int]
    mlflow_python: Path
    root: Path


@pytest.fixture(scope="module")
def servers(mlflow_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    root = tmp_path_factory.mktemp("parity")
    env = _venv_env(mlflow_python)
    made = subprocess.run(
        [str(mlflow_python), "-c", textwrap.dedent(MAKE_MODELS), str(root), json.dumps(FEATURES)],
        cwd=root, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    if made.returncode != 0:
        raise AssertionError(f"making the models failed:\n{made.stderr[-4000:]}")
    expected_knn = json.loads(made.stdout.strip().splitlines()[-1])["expected_knn"]
    procs: list[tuple[subprocess.Popen[bytes], Any]] = []
    urls: dict[tuple[str, str], str] = {}
    try:
        for model in MODELS:
            for server in ("mlflow", "registry"):
                port = _free_port()
                if server == "mlflow":
                    command = [
                        str(mlflow_python.parent / "mlflow"),
                        "models",
                        "serve",
                        "-m",
                        str(root / model),
                        "--env-manager",
                        "local",
                        "-h",
                        "127.0.0.1",
                        "-p",
                        str(port),
                    ]
                else:
                    command = [
                        str(mlflow_python),
                        "-m",
                        "registry",
                        "--registry",
                        str(root / "registry"),
                        "serve",
                        f"models:/{model}/1",
                        "-h",
                        "127.0.0.1",
                        "-p",
                        str(port),
                        "--no-access-log",
                    ]
                log = open(root / f"{server}-{model}.log", "wb")  # noqa: SIM115 - closed in the finally below
                proc = subprocess.Popen(
                    command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
                procs.append((proc, log))
                urls[(server, model)] = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT_S
        waiting = dict(urls)
        while waiting:
            for key, url in list(waiting.items()):
                if _answers(url):
                    del waiting[key]
            for proc, log in procs:
                if proc.poll() is not None:
                    raise AssertionError(f"a server exited: {Path(log.name).read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"not answering within {START_TIMEOUT_S} s: {sorted(waiting)}")
            time.sleep(0.5)
        yield Servers(urls, expected_knn, mlflow_python, root)
    finally:
        for proc, _ in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc, log in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)  # uvicorn's workers too: they are in its group
                proc.wait(timeout=20)
            log.close()


@attrs.frozen
class Answer:
    status: int
    content_type: str
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)


def call(url: str, method: str, path: str, body: Any, content_type: str | None) -> Answer:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=REQUEST_TIMEOUT_S)
    try:
        data = body if body is None or isinstance(body, str) else json.dumps(body)
        conn.request(method, path, body=data, headers={"Content-Type": content_type} if content_type else {})
        resp = conn.getresponse()
        return Answer(resp.status, (resp.getheader("content-type") or "").split(";")[0], resp.read().decode())
    finally:
        conn.close()


# -- the cases ---------------------------------------------------------------------------------------------------


@attrs.frozen
class Expect:
    """What a server answers: the status, the error code of a JSON error, and checks of the body."""

    status: int
    code: str | None = None
    says: str | None = None  # a fragment of the error message
    body: Any = None  # the whole JSON body, when given
    check: Callable[[Answer], bool] | None = None
    stack_trace: bool | None = None  # whether the error body carries one


@attrs.frozen
class Case:
    id: str
    model: str
    body: Any
    expect: Expect  # what MLflow's test asserts, which both servers must do
    content_type: str | None = "application/json"
    method: str = "POST"
    path: str = "/invocations"
    deliberate: str | None = None  # why this library answers otherwise on purpose
    ours: Expect | None = None  # ... and what it answers (asserted as strictly)
    same_code: bool = True  # whether the error codes must agree between the servers


NO_TRACE = "never a stack trace to a client: it shows the server's code and paths; the log has it"
FEATURES = [[5.1, 3.5], [4.9, 3.0], [6.2, 3.4]]
SPLIT = {"dataframe_split": {"columns": [0, 1], "data": FEATURES}}
TYPES = ["boolean", "integer", "long", "float", "double", "binary", "datetime", "string"]
ROW = {
    "boolean": True,
    "integer": 1,
    "long": 1,
    "float": 3.14,
    "double": 3.14,
    "binary": "AQID",
    "datetime": "2021-01-01T00:00:00",
    "string": "a",
}
AS_DECLARED = [
    ["boolean", "bool"],
    ["integer", "int32"],
    ["long", "int64"],
    ["float", "float32"],
    ["double", "float64"],
    ["binary", "object"],
    ["datetime", "datetime64[ns]"],
    ["string", "str"],
]
CSV_TYPES = ["boolean", "integer", "long", "float", "double", "string"]


def _one_word(text: str) -> str | None:
    return text if text and text.split() == [text] else None


def _bad_json(body: Any, says: str) -> Case:
    return Case(f"not-a-request-object-{json.dumps(body)}", "knn", json.dumps(body), Expect(400, "BAD_REQUEST", says))


CASES: list[Case] = [
    # -- requests that cannot be read ------------------------------------------------------------------------------
    Case("malformed-json", "knn", "this is,,,, not valid json", Expect(400, "BAD_REQUEST")),
    _bad_json(1, "exactly one of"),
    _bad_json("1", "exactly one of"),
    _bad_json([1], "exactly one of"),
    Case("no-input-key", "knn", {"not": "a serialized dataframe"}, Expect(400, "BAD_REQUEST", "exactly one of")),
    Case(
        "two-input-keys",
        "knn",
        {"dataframe_records": [], "dataframe_split": {"data": []}},
        Expect(400, "BAD_REQUEST", "exactly one of"),
    ),
    Case(
        "split-given-records",
        "knn",
        {"dataframe_split": [{"0": 5.1, "1": 3.5}]},
        Expect(400, "BAD_REQUEST", "dataframe_split"),
    ),
    Case(
        "records-given-split",
        "knn",
        {"dataframe_records": SPLIT["dataframe_split"]},
        Expect(400, "BAD_REQUEST", "dataframe_records"),
    ),
    Case(
        "split-index-of-another-length",
        "knn",
        {"dataframe_split": {"index": [1, 2], "data": [[1], [2], [3]]}},
        Expect(400, "BAD_REQUEST", "not a valid"),
    ),
    Case(
        "frame-the-model-cannot-take",
        "knn",
        {"dataframe_split": {"columns": [0], "data": [[i] for i in range(10)]}},
        Expect(400, "BAD_REQUEST", stack_trace=True),
        deliberate=NO_TRACE,
        ours=Expect(400, "BAD_REQUEST", "KNeighborsClassifier is expecting 2 features", stack_trace=False),
    ),
    Case(
        "empty-csv",
        "knn",
        "",
        Expect(400, "BAD_REQUEST", stack_trace=True),
        content_type="text/csv",
        deliberate=NO_TRACE,
        ours=Expect(400, "BAD_REQUEST", "CSV input is empty", stack_trace=False),
    ),
    # -- content types ---------------------------------------------------------------------------------------------
    Case(
        "unsupported-content-type",
        "knn",
        SPLIT,
        Expect(415),
        content_type="not_a_supported_content_type",
        deliberate="an error is JSON with an error code, as every other error (MLflow answers text/plain here)",
        ours=Expect(415, "BAD_REQUEST", "Unsupported content type"),
    ),
    Case(
        "unknown-content-type-parameter",
        "knn",
        SPLIT,
        Expect(415),
        content_type="application/json; something=something",
        deliberate="an error is JSON with an error code, as every other error (MLflow answers text/plain here)",
        ours=Expect(415, "BAD_REQUEST", "something"),
    ),
    # -- scikit-learn, every input format ---------------------------------------------------------------------------
    Case("records", "knn", {"dataframe_records": [{"0": a, "1": b} for a, b in FEATURES]}, Expect(200)),
    Case(
        "records-charset",
        "knn",
        {"dataframe_records": [{"0": a, "1": b} for a, b in FEATURES]},
        Expect(200),
        content_type="application/json; charset=UTF-8",
    ),
    Case("split", "knn", SPLIT, Expect(200)),
    Case("split-charset", "knn", SPLIT, Expect(200), content_type="application/json; charset=UTF-8"),
    Case("split-with-index", "knn", {"dataframe_split": {**SPLIT["dataframe_split"], "index": [7, 8, 9]}}, Expect(200)),
    Case("instances", "knn", {"instances": FEATURES}, Expect(200)),
    Case("csv", "knn", "0,1\n5.1,3.5\n4.9,3.0\n6.2,3.4\n", Expect(200), content_type="text/csv"),
    # -- named tensors (MLflow's test uses a two-input Keras model; a model that reports what it got here) ------
    Case(
        "instances-as-rows-of-named-inputs",
        "echo",
        {"instances": [{"a": [1.0, 2.0], "b": [3.0, 4.0]}, {"a": [5.0, 6.0], "b": [7.0, 8.0]}]},
        Expect(
            200,
            body={
                "predictions": {
                    "given": {"dict": {"a": {"array": ["f", [2, 2]]}, "b": {"array": ["f", [2, 2]]}}},
                    "params": None,
                }
            },
        ),
    ),
    Case(
        "inputs-as-named-inputs",
        "echo",
        {"inputs": {"a": [[1.0, 2.0], [5.0, 6.0]], "b": [[3.0, 4.0], [7.0, 8.0]]}},
        Expect(
            200,
            body={
                "predictions": {
                    "given": {"dict": {"a": {"array": ["f", [2, 2]]}, "b": {"array": ["f", [2, 2]]}}},
                    "params": None,
                }
            },
        ),
    ),
    # -- how JSON becomes a frame ----------------------------------------------------------------------------------
    Case(
        "records-keep-text-that-looks-like-numbers",
        "echo",
        {
            "dataframe_records": [
                {"zip": "95120", "cost": 10.45, "score": 8},
                {"zip": "95128", "cost": 23.0, "score": 0},
                {"zip": "95128", "cost": 12.1, "score": 10},
            ]
        },
        Expect(
            200,
            check=lambda a: (
                dict(a.json["predictions"]["given"]["frame"])["cost"] == "float64"
                and dict(a.json["predictions"]["given"]["frame"])["score"] == "int64"
                and dict(a.json["predictions"]["given"]["frame"])["zip"] in ("object", "str")
            ),
        ),
    ),
    Case(
        "split-keeps-text-that-looks-like-numbers",
        "echo",
        {
            "dataframe_split": {
                "columns": ["zip", "cost", "count"],
                "index": [0, 1, 2],
                "data": [["95120", 10.45, -8], ["95128", 23.0, -1], ["95128", 12.1, 1000]],
            }
        },
        Expect(
            200,
            check=lambda a: (
                dict(a.json["predictions"]["given"]["frame"])["count"] == "int64"
                and dict(a.json["predictions"]["given"]["frame"])["zip"] in ("object", "str")
            ),
        ),
    ),
    Case(
        "text-with-colons-and-slashes",
        "echo",
        {
            "dataframe_split": {
                "columns": ["url", "bad_protocol"],
                "data": [["http://foo.com", "aaa://bbb"], ["https://bar.com", "address:/path"]],
            }
        },
        Expect(200),
    ),
    Case(
        "a-numpy-array-of-text-as-json",
        "echo",
        {"dataframe_records": [{"strings": 1}]},
        Expect(200, body={"predictions": [["a", "b", "c"], ["e", "f", "g"]]}),
    ),
    # -- the signature's column types ------------------------------------------------------------------------------
    Case(
        "split-read-as-declared-types",
        "dtypes",
        {"dataframe_split": {"columns": TYPES, "data": [[ROW[t] for t in TYPES]]}},
        Expect(200, body={"predictions": AS_DECLARED}),
    ),
    Case(
        "records-read-as-declared-types",
        "dtypes",
        {"dataframe_records": [ROW, ROW]},
        Expect(200, body={"predictions": AS_DECLARED}),
    ),
    Case(
        "inputs-by-column-read-as-declared-types",
        "dtypes",
        {"inputs": {t: [ROW[t]] for t in TYPES}},
        Expect(200, body={"predictions": AS_DECLARED}),
    ),
    Case(
        "instances-as-rows-read-as-declared-types",
        "dtypes",
        {"instances": [ROW]},
        Expect(200, body={"predictions": AS_DECLARED}),
    ),
    Case(
        "integers-for-float-columns",
        "dtypes",
        {"dataframe_records": [{**ROW, "float": 2, "double": 0}]},
        Expect(200, body={"predictions": AS_DECLARED}),
    ),
    Case(
        "csv-read-as-declared-types",
        "csv_types",
        ",".join(reversed(CSV_TYPES)) + "\na,3.14,3.14,1,1,True\nb,6.28,6.28,2,2,False\n",
        # MLflow reads a CSV's string columns as Python objects (pandas' dtype=object), JSON's as pandas strings
        Expect(
            200,
            body={
                "predictions": [
                    t if t[0] != "string" else ["string", "object"] for t in AS_DECLARED if t[0] in CSV_TYPES
                ]
            },
        ),
        content_type="text/csv",
    ),
    Case(
        "csv-without-a-signature",
        "echo",
        "b,i,f,s,mixed\nTrue,1,1.5,a,1\nFalse,2,2.5,b,x\n",
        Expect(200, check=lambda a: dict(a.json["predictions"]["given"]["frame"])["b"] == "bool"),
        content_type="text/csv",
    ),
    Case(
        "numbers-for-a-string-column",
        "dtypes",
        {"dataframe_records": [{**ROW, "string": 5}, {**ROW, "string": 2.5}]},
        Expect(200, body={"predictions": [*AS_DECLARED[:-1], ["string", "object"]]}),
    ),
    Case(
        "values-a-cast-would-change",
        "dtypes",
        {
            "dataframe_split": {
                "columns": TYPES,
                "data": [[1.5, 9007199254740991.0, 1, 1.1, 1.0, "AQID", "2021-01-01", 1]],
            }
        },
        Expect(200, body={"predictions": [*AS_DECLARED[:-1], ["string", "object"]]}),
        deliberate="a value is never silently changed: MLflow casts 1.5 to True and wraps an integer that does "
        "not fit in 32 bits around to -2147483648; here they are refused, naming the column",
        ours=Expect(400, "BAD_REQUEST", "column 'boolean'"),
    ),
    Case(
        "a-value-no-cast-can-read",
        "dtypes",
        {"dataframe_records": [{**ROW, "integer": "abc"}]},
        Expect(400, "BAD_REQUEST", "integer"),
    ),
    Case(
        "a-missing-column",
        "dtypes",
        {"dataframe_records": [{k: v for k, v in ROW.items() if k != "long"}]},
        Expect(400, "INVALID_PARAMETER_VALUE", "long"),
    ),
    Case(
        "a-tensor-of-the-wrong-shape",
        "knn_params",
        {"dataframe_split": {"columns": [0, 1, 2], "data": [[1, 2, 3]]}},
        Expect(400, "INVALID_PARAMETER_VALUE"),
    ),
    # -- parameters ------------------------------------------------------------------------------------------------
    Case(
        "no-params-with-a-param-schema",
        "knn_params",
        SPLIT,
        Expect(200),
        content_type="application/json; charset=UTF-8",
    ),
    Case(
        "a-param-of-the-wrong-type",
        "knn_params",
        {**SPLIT, "params": {"param1": "invalid_value1"}},
        Expect(400, "INVALID_PARAMETER_VALUE", "param1"),
        content_type="application/json; charset=UTF-8",
    ),
    Case(
        "an-undeclared-param-is-ignored",
        "knn_params",
        {**SPLIT, "params": {"invalid_param": "value"}},
        Expect(200),
        content_type="application/json; charset=UTF-8",
    ),
    Case(
        "params-to-a-model-declaring-none",
        "echo",
        {"dataframe_records": [{"a": 1}], "params": {"t": 2}},
        Expect(200, body={"predictions": {"given": {"frame": [["a", "int64"]], "rows": 1}, "params": {}}}),
    ),
    # -- unified payloads for chat, completions and embeddings -----------------------------------------------------
    Case(
        "chat-messages",
        "chat",
        {"messages": [{"role": "user", "content": "hi"}], "temperature": 0.9, "stop": ["\n"]},
        Expect(
            200, body={"keys": ["messages", "stop"], "type": "dict", "params": {"temperature": 0.9, "max_tokens": 10}}
        ),
    ),
    Case(
        "completions-prompt",
        "chat",
        {"prompt": "hi", "max_tokens": 3},
        Expect(200, body={"keys": ["prompt"], "type": "dict", "params": {"temperature": 0.5, "max_tokens": 3}}),
    ),
    Case(
        "embeddings-input",
        "chat",
        {"input": ["a", "b"]},
        Expect(200, body={"keys": ["input"], "type": "dict", "params": {"temperature": 0.5, "max_tokens": 10}}),
    ),
    Case(
        "unified-wins-over-inputs",
        "chat",
        {"messages": [], "inputs": [1], "params": {"temperature": 2}},
        Expect(
            200,
            body={
                "keys": ["inputs", "messages", "params"],
                "type": "dict",
                "params": {"temperature": 0.5, "max_tokens": 10},
            },
        ),
    ),
    Case(
        "unified-without-a-param-schema",
        "echo",
        {"messages": [{"role": "user", "content": "hi"}], "temperature": 1},
        Expect(200, body={"given": {"dict": {"messages": {"list": None}, "temperature": {"int": None}}}, "params": {}}),
    ),
    Case(
        "unified-param-of-the-wrong-type",
        "chat",
        {"messages": [], "temperature": "hot"},
        Expect(400, "INVALID_PARAMETER_VALUE", "temperature"),
    ),
    Case(
        "wrapped-payload-to-a-chat-model",
        "chat",
        {"dataframe_records": [{"a": 1}], "params": {"temperature": 2}},
        Expect(
            200,
            body={
                "predictions": {"keys": ["a"], "type": "DataFrame", "params": {"temperature": 2.0, "max_tokens": 10}}
            },
        ),
    ),
    # -- the other endpoints ---------------------------------------------------------------------------------------
    Case(
        "ping", "knn", None, Expect(200, check=lambda a: a.text == "\n"), method="GET", path="/ping", content_type=None
    ),
    Case(
        "health",
        "knn",
        None,
        Expect(200, check=lambda a: a.text == "\n"),
        method="GET",
        path="/health",
        content_type=None,
        deliberate="/health describes the served version and the last reload error (JSON)",
        ours=Expect(200, check=lambda a: a.json["status"] == "OK" and a.json["name"] == "knn"),
    ),
    Case(
        "version",
        "knn",
        None,
        Expect(200, check=lambda a: a.text == MLFLOW_VERSION),
        method="GET",
        path="/version",
        content_type=None,
        deliberate="/version is this library's version (a plain string, as MLflow's scoring client reads it)",
        # the version as the installed metadata says ("0+unknown" from a source tree without it)
        ours=Expect(
            200, check=lambda a: a.content_type == "text/plain" and _one_word(a.text) not in (None, MLFLOW_VERSION)
        ),
    ),
    Case(
        "head-ping",
        "knn",
        None,
        Expect(405),
        method="HEAD",
        path="/ping",
        content_type=None,
        deliberate="HEAD is answered wherever GET is (load balancers probe with HEAD)",
        ours=Expect(200, check=lambda a: a.text == ""),
    ),
    Case(
        "get-invocations",
        "knn",
        None,
        Expect(405),
        method="GET",
        path="/invocations",
        content_type=None,
        same_code=False,  # MLflow's framework answers {"detail": ...}; here MLflow's error shape
    ),
    Case("no-such-endpoint", "knn", None, Expect(404), method="GET", path="/nope", content_type=None, same_code=False),
]

SERVERS = ("mlflow", "registry")


def _assert_expected(answer: Answer, expect: Expect) -> None:
    assert answer.status == expect.status, answer.text[:500]
    if expect.code is not None or expect.says is not None or expect.stack_trace is not None:
        body = answer.json
        if expect.code is not None:
            assert body["error_code"] == expect.code, body
        if expect.says is not None:  # "dataframe_split" and "Dataframe split" alike
            assert expect.says.lower().replace("_", " ") in body["message"].lower().replace("_", " "), body
        if expect.stack_trace is not None:
            assert ("stack_trace" in body) is expect.stack_trace, body
    if expect.body is not None:
        assert answer.json == expect.body
    if expect.check is not None:
        assert expect.check(answer), answer.text[:500]


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_ported_behaviour(servers: Servers, case: Case, server: str) -> None:
    answer = call(servers.urls[(server, case.model)], case.method, case.path, case.body, case.content_type)
    if server == "registry" and case.deliberate is not None:
        assert case.ours is not None, f"a deliberate difference needs what this server answers: {case.deliberate}"
        _assert_expected(answer, case.ours)
    else:
        _assert_expected(answer, case.expect)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_both_servers_answer_alike(servers: Servers, case: Case) -> None:
    if case.deliberate is not None:
        pytest.skip(f"a deliberate difference (docs/guides/serving.md): {case.deliberate}")
    theirs, ours = (
        call(servers.urls[(s, case.model)], case.method, case.path, case.body, case.content_type) for s in SERVERS
    )
    assert ours.status == theirs.status, (theirs.text[:300], ours.text[:300])
    if theirs.status == 200 and case.path == "/invocations":
        assert ours.json == theirs.json  # the whole answer: predictions, dtypes the model saw, params
    elif theirs.status >= 400 and case.same_code:
        assert ours.json["error_code"] == theirs.json["error_code"], (theirs.text[:300], ours.text[:300])


def test_knn_predictions_are_the_models(servers: Servers) -> None:
    for server in SERVERS:
        answer = call(servers.urls[(server, "knn")], "POST", "/invocations", SPLIT, "application/json")
        assert answer.json == {"predictions": servers.expected_knn}


CLIENT = """
import json, sys, warnings
warnings.simplefilter("ignore")
import pandas as pd
from mlflow.pyfunc.scoring_server.client import ScoringServerClient

out = {}
for name, url in json.loads(sys.argv[1]).items():
    host, port = url.removeprefix("http://").split(":")
    client = ScoringServerClient(host=host, port=int(port))
    client.wait_server_ready(timeout=60)
    frame = pd.DataFrame([[5.1, 3.5], [4.9, 3.0], [6.2, 3.4]])
    predictions = client.invoke(frame).get_predictions()
    out[name] = {"predictions": [int(v) for v in predictions.to_numpy()[:, 0]], "version": client.get_version()}
print(json.dumps(out))
"""


def test_mlflows_scoring_client_works_with_both(servers: Servers) -> None:
    """MLflow's own ScoringServerClient (what ``mlflow.pyfunc.spark_udf`` and its tests use) against each server."""
    urls = {s: servers.urls[(s, "knn")] for s in SERVERS}
    proc = subprocess.run(
        [str(servers.mlflow_python), "-c", textwrap.dedent(CLIENT), json.dumps(urls)],
        env=_venv_env(servers.mlflow_python), capture_output=True, text=True, timeout=300, cwd=servers.root,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    for server in SERVERS:
        assert got[server]["predictions"] == servers.expected_knn
    assert got["mlflow"]["version"] == MLFLOW_VERSION
    # a deliberate difference: this server names its own version, in the same plain-string form
    assert got["registry"]["version"] and got["registry"]["version"] != MLFLOW_VERSION
