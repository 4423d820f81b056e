"""Interop with real MLflow, both ways, through subprocesses into a separate venv (see tests/mlflow_venv.py).

* Directories this library writes load with ``mlflow.pyfunc.load_model`` (and ``mlflow.sklearn.load_model``)
  and predict the same values.
* Directories MLflow writes (a PythonModel with artifacts; scikit-learn in the pickle, cloudpickle and skops
  formats; signatures and input examples) load here and predict the same values: in this process where the
  model's own libraries are installed, and always in the MLflow venv with this library on ``sys.path``
  (checking that loading never imported MLflow).

The venv is built on first use (about a minute or two with a warm pip cache) and reused; the tests skip with
the reason when it cannot be built (no network, no index). ``REGISTRY_SKIP_MLFLOW=1`` skips them outright.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import pytest
from mlflow_venv import MLFLOW_ENV

from registry import Registry, pyfunc
from registry.models.signature import ColSpec, DataType, ModelSignature, ParamSchema, ParamSpec, Schema, TensorSpec

pytestmark = pytest.mark.mlflow

REPO = Path(__file__).resolve().parents[2]


def run(python: Path, script: str, cwd: Path, *, ours: bool = False) -> Any:
    """Run ``script`` in the venv; it prints one JSON document last. ``ours`` puts this library on sys.path."""
    env = {**os.environ, **MLFLOW_ENV}
    env.pop("PYTHONPATH", None)
    if ours:
        env["PYTHONPATH"] = str(REPO)
    proc = subprocess.run(
        [str(python), "-c", textwrap.dedent(script)], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    if proc.returncode != 0:
        raise AssertionError(f"venv script failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- models this library writes ----------------------------------------------------------------------------------


class Scaled(pyfunc.PythonModel):
    """column a * k (from an artifact) * params['mult']; takes MLflow's DataFrame or our list of rows."""

    def load_context(self, context: Any) -> None:
        with open(context.artifacts["cfg"]) as f:
            self.k = json.load(f)["k"]

    def predict(self, context: Any, model_input: Any, params: Any = None) -> list[float]:
        rows = model_input.to_dict("records") if hasattr(model_input, "to_dict") else model_input
        mult = (params or {}).get("mult", 1)
        return [float(r["a"]) * self.k * mult + len(r["b"]) for r in rows]


class Linear:
    """An object with .predict: rows (lists or a numpy array) times fixed weights."""

    def __init__(self, w: list[float]) -> None:
        self.w = w

    def predict(self, rows: Any) -> list[float]:
        return [float(sum(a * b for a, b in zip(row, self.w, strict=True))) for row in rows]


@contextlib.contextmanager
def by_value() -> Iterator[None]:
    """Pickle this module's classes by value, as for classes defined in a notebook or __main__."""
    module = sys.modules[__name__]
    cloudpickle.register_pickle_by_value(module)
    try:
        yield
    finally:
        cloudpickle.unregister_pickle_by_value(module)


ROWS = [{"a": 1.0, "b": "xy"}, {"a": 2.5, "b": "z"}]
MATRIX = [[1.0, 2.0], [3.0, 4.0]]


@pytest.fixture(scope="session")
def our_dirs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ours")
    (root / "cfg.json").write_text('{"k": 3}')
    columns = ModelSignature(
        inputs=Schema([ColSpec(DataType.double, "a"), ColSpec(DataType.string, "b")]),
        outputs=Schema([ColSpec(DataType.double)]),
        params=ParamSchema([ParamSpec("mult", DataType.long, 1)]),
    )
    tensors = ModelSignature(
        inputs=Schema([TensorSpec("float64", (-1, 2))]), outputs=Schema([TensorSpec("float64", (-1,))])
    )
    with by_value():
        pyfunc.save_model(
            root / "pf",
            python_model=Scaled(),
            artifacts={"cfg": str(root / "cfg.json")},
            signature=columns,
            input_example=ROWS,
        )
        pyfunc.save_model(root / "sk", sk_model=Linear([1.0, 2.0]), signature=tensors)
        pyfunc.save_model(root / "sk_nosig", sk_model=Linear([0.5, -1.0]))
    os.remove(root / "cfg.json")  # MLflow must use the copy inside the model, not the path at save time
    return root


def test_mlflow_loads_what_we_write(mlflow_python: Path, our_dirs: Path) -> None:
    got = run(
        mlflow_python,
        """
        import json, mlflow, numpy as np, pandas as pd
        pf = mlflow.pyfunc.load_model("pf")
        sk = mlflow.pyfunc.load_model("sk")
        out = {
            "pf": [float(v) for v in pf.predict(pd.DataFrame({"a": [1.0, 2.5], "b": ["xy", "z"]}), params={"mult": 2})],
            "pf_default": [float(v) for v in pf.predict(pd.DataFrame({"a": [1.0], "b": ["q"]}))],
            "pf_example": pf.input_example,
            "pf_sig": pf.metadata.signature.to_dict(),
            "sk": [float(v) for v in sk.predict(np.array([[1.0, 2.0], [3.0, 4.0]]))],
            "sk_native": mlflow.sklearn.load_model("sk_nosig").predict([[1.0, 2.0], [3.0, 4.0]]),
            "sk_sig": sk.metadata.signature.to_dict(),
        }
        print(json.dumps(out))
        """,
        our_dirs,
    )
    ours_pf = pyfunc.load_model(our_dirs / "pf")
    assert got["pf"] == ours_pf.predict(ROWS, params={"mult": 2}) == [8.0, 16.0]
    assert got["pf_default"] == ours_pf.predict([{"a": 1.0, "b": "q"}]) == [4.0]
    assert got["pf_example"] == ROWS
    assert got["pf_sig"] == ours_pf.metadata.signature.to_dict()  # type: ignore[union-attr]
    assert got["sk"] == [5.0, 11.0]
    assert got["sk_native"] == pyfunc.load_model(our_dirs / "sk_nosig").predict(MATRIX) == [-1.5, -2.5]
    assert got["sk_sig"] == pyfunc.load_model(our_dirs / "sk").metadata.signature.to_dict()  # type: ignore[union-attr]
    try:
        import numpy  # noqa: F401
    except ImportError:
        return
    assert pyfunc.load_model(our_dirs / "sk").predict(MATRIX) == got["sk"]


# -- models MLflow writes ----------------------------------------------------------------------------------------

WRITE_WITH_MLFLOW = """
import json, os, mlflow, numpy as np, pandas as pd
from mlflow.models import infer_signature
from sklearn.linear_model import LinearRegression

class Scaled(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        with open(context.artifacts["cfg"]) as f:
            self.k = json.load(f)["k"]
    def predict(self, context, model_input, params=None):
        mult = (params or {}).get("mult", 1)
        return [float(a) * self.k * mult for a in model_input["a"]]

with open("cfg.json", "w") as f:
    json.dump({"k": 3}, f)
df = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
sig = infer_signature(df, [1.0, 2.0], params={"mult": 1})
mlflow.pyfunc.save_model("pf", python_model=Scaled(), artifacts={"cfg": os.path.abspath("cfg.json")},
                         signature=sig, input_example=df)
X = np.array([[1.0, 2.0], [3.0, 5.0], [4.0, 4.0]]); y = np.array([1.0, 2.0, 4.0])
lr = LinearRegression().fit(X, y)
sk_sig = infer_signature(X, lr.predict(X))
mlflow.sklearn.save_model(lr, "sk_pickle", serialization_format="pickle", signature=sk_sig, input_example=X)
mlflow.sklearn.save_model(lr, "sk_cloudpickle", serialization_format="cloudpickle")
mlflow.sklearn.save_model(lr, "sk_skops", input_example=X)  # MLflow 3's default: skops
pf = mlflow.pyfunc.load_model("pf")
out = {
    "pf": [float(v) for v in pf.predict(pd.DataFrame({"a": [1.0, 4.0], "b": ["p", "q"]}), params={"mult": 2})],
    "sk": [float(v) for v in lr.predict(np.array([[1.0, 1.0], [2.0, 0.5]]))],
    "sk_format": {d: mlflow.models.Model.load(d).flavors["sklearn"]["serialization_format"]
                  for d in ("sk_pickle", "sk_cloudpickle", "sk_skops")},
}
print(json.dumps(out))
"""


@pytest.fixture(scope="session")
def mlflow_dirs(mlflow_python: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("theirs")
    expected = run(mlflow_python, WRITE_WITH_MLFLOW, root)
    assert expected["sk_format"] == {"sk_pickle": "pickle", "sk_cloudpickle": "cloudpickle", "sk_skops": "skops"}
    return root, expected


def test_we_load_mlflows_python_model_with_artifacts(mlflow_dirs: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    root, expected = mlflow_dirs
    # Move the model and delete the artifact's original: the recorded absolute 'uri' must not be used.
    moved = tmp_path / "elsewhere"
    shutil.copytree(root / "pf", moved)
    model = pyfunc.load_model(moved)
    assert model.predict({"a": [1.0, 4.0], "b": ["p", "q"]}, params={"mult": 2}) == expected["pf"]
    assert model.unwrap_python_model().k == 3
    assert type(model.unwrap_python_model()).__mro__[1] is pyfunc.PythonModel
    assert model.metadata.extra["mlflow_version"]
    assert model.signature is not None and model.signature.inputs.input_names() == ["a", "b"]  # type: ignore[union-attr]
    example = model.input_example
    if isinstance(example, dict):  # no pandas here: the split form
        assert example == {"columns": ["a", "b"], "data": [[1.0, "x"], [2.0, "y"]]}
    else:
        assert example.to_dict("list") == {"a": [1.0, 2.0], "b": ["x", "y"]}
    assert "mlflow" not in sys.modules


def test_mlflow_written_dirs_register_and_load_by_uri(mlflow_dirs: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    root, expected = mlflow_dirs
    with Registry(str(tmp_path / "reg")) as reg:
        mv = reg.register_model(str(root / "pf"), "from-mlflow")
        reg.set_registered_model_alias("from-mlflow", "champion", mv.version)
        model = reg.load_model("models:/from-mlflow@champion")
        assert model.predict({"a": [1.0, 4.0], "b": ["p", "q"]}, params={"mult": 2}) == expected["pf"]


@pytest.mark.parametrize("name", ["sk_pickle", "sk_cloudpickle", "sk_skops"])
def test_we_load_mlflows_sklearn_models_next_to_sklearn(
    mlflow_python: Path, mlflow_dirs: tuple[Path, dict[str, Any]], name: str
) -> None:
    """Our loader, run in the venv (which has scikit-learn and skops), never importing MLflow."""
    root, expected = mlflow_dirs
    got = run(
        mlflow_python,
        f"""
        import json, sys
        from registry import pyfunc
        from registry.flavors import sklearn as sk_flavor
        model = pyfunc.load_model({name!r})
        native = sk_flavor.load_model({name!r})
        X = [[1.0, 1.0], [2.0, 0.5]]
        out = {{
            "pyfunc": [float(v) for v in model.predict(X)],
            "native": [float(v) for v in native.predict(X)],
            "type": type(native).__name__,
            "mlflow_imported": "mlflow" in sys.modules,
            "example": None if model.input_example is None else model.input_example.tolist(),
        }}
        print(json.dumps(out))
        """,
        root,
        ours=True,
    )
    assert got["pyfunc"] == pytest.approx(expected["sk"]) and got["native"] == pytest.approx(expected["sk"])
    assert got["type"] == "LinearRegression" and got["mlflow_imported"] is False
    if name != "sk_cloudpickle":
        assert got["example"] == [[1.0, 2.0], [3.0, 5.0], [4.0, 4.0]]


@pytest.mark.parametrize("name", ["sk_pickle", "sk_cloudpickle"])
def test_we_load_mlflows_sklearn_models_in_process(mlflow_dirs: tuple[Path, dict[str, Any]], name: str) -> None:
    pytest.importorskip("sklearn")
    root, expected = mlflow_dirs
    assert pyfunc.load_model(root / name).predict([[1.0, 1.0], [2.0, 0.5]]).tolist() == pytest.approx(expected["sk"])


def test_skops_in_process_needs_skops(mlflow_dirs: tuple[Path, dict[str, Any]]) -> None:
    root, _ = mlflow_dirs
    try:
        import skops  # noqa: F401
    except ImportError:
        with pytest.raises(Exception, match="install skops"):
            pyfunc.load_model(root / "sk_skops")
    else:
        pytest.skip("skops is installed in this environment; the venv test covers loading it")


def test_signature_inference_agrees_with_mlflow(mlflow_python: Path, tmp_path: Path) -> None:
    """The same DataFrames, arrays and records, inferred by MLflow and by us (with pandas and numpy present)."""
    got = run(
        mlflow_python,
        """
        import datetime, json, numpy as np, pandas as pd, warnings
        warnings.simplefilter("ignore")
        from mlflow.models import infer_signature as theirs
        from registry.models.signature import infer_signature as ours
        from registry.models.enforcement import enforce_schema
        cases = [
            pd.DataFrame({"i": [1, 2], "f": [1.5, 2.5], "s": ["x", "y"], "b": [True, False],
                          "f32": np.array([1, 2], dtype=np.float32), "i32": np.array([1, 2], dtype=np.int32)}),
            np.zeros((4, 3, 2), dtype=np.float32),
            {"x": np.zeros((2, 2)), "y": np.arange(3)},
            [{"a": 1, "b": "x"}, {"a": 2}],
            pd.Series([1.0, 2.0]),
        ]
        results = [[ours(c, params={"t": 0.1}).to_dict(), theirs(c, params={"t": 0.1}).to_dict()] for c in cases]
        from mlflow.models.utils import _enforce_schema as their_enforce
        schemas = {enforce_schema: ours(cases[0]).inputs, their_enforce: theirs(cases[0]).inputs}
        frames = [
            pd.DataFrame({"i": [1], "f": [2.0], "s": ["z"], "b": [True], "f32": np.array([1.0], dtype=np.float32),
                          "i32": np.array([3], dtype=np.int32), "extra": [0]}),
            pd.DataFrame({"i": np.array([1], dtype=np.int32), "f": np.array([2], dtype=np.int32), "s": ["z"],
                          "b": [True], "f32": [1], "i32": np.array([3], dtype=np.int8)}),
            pd.DataFrame({"i": [1], "f": [7], "s": ["z"], "b": [True], "f32": [1.0], "i32": [3]}),
            pd.DataFrame({"i": [1], "f": [2.0], "s": ["z"], "b": [True], "f32": [1.0], "i32": [3]}),
            pd.DataFrame({"i": [1.0], "f": [2.0], "s": ["z"], "b": [True], "f32": np.array([1.0], dtype=np.float32),
                          "i32": np.array([3], dtype=np.int32)}),
            pd.DataFrame({"i": [1], "f": ["x"], "s": ["z"], "b": [True], "f32": np.array([1.0], dtype=np.float32),
                          "i32": np.array([3], dtype=np.int32)}),
        ]
        def outcome(fn, df):
            try:
                out = fn(df, schemas[fn])
            except Exception as exc:
                return "error " + type(exc).__name__
            return [[str(c) for c in out.columns], [str(t) for t in out.dtypes]]
        enforced = [[outcome(enforce_schema, df), outcome(their_enforce, df)] for df in frames]
        print(json.dumps({"results": results, "enforced": enforced}))
        """,
        tmp_path,
        ours=True,
    )
    for ours_sig, their_sig in got["results"]:
        assert ours_sig == their_sig
    ours_ok, theirs_ok = got["enforced"][0]
    assert ours_ok == theirs_ok and ours_ok[0] == ["i", "f", "s", "b", "f32", "i32"]  # extra column dropped
    assert got["enforced"][1][0] == got["enforced"][1][1]  # small ints widen, 0/1 longs become floats
    # int64 -> double, float64 -> float32, float -> long, str -> double: refused by both
    for ours_outcome, their_outcome in got["enforced"][2:]:
        assert ours_outcome == "error InvalidParameterValue" and their_outcome == "error MlflowException"
