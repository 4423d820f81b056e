"""The onnx, xgboost and lightgbm flavors against real MLflow, both ways, in the MLflow venv (tests/mlflow_venv.py).

The main test environment has no numpy, onnxruntime, xgboost or lightgbm (the core's no-numpy paths run there),
so everything here runs in three scripts inside the venv, sharing one folder:

1. MLflow only: fit small models (fixed seeds), save them with ``mlflow.<flavor>.save_model``.
2. This library only (``mlflow`` must never be imported): load MLflow's directories with ``registry.pyfunc`` and
   ``registry.<flavor>.load_model``, save the loaded models again with ``registry.<flavor>.save_model``, log one
   into a registry and load it back by ``models:/`` URI, and try directories that point outside their folder.
3. MLflow only: load this library's directories with ``mlflow.pyfunc.load_model`` and
   ``mlflow.<flavor>.load_model``.

Every prediction must equal every other for the same model. The tests skip with the reason when the venv
cannot be built; ``REGISTRY_SKIP_MLFLOW=1`` skips them outright.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
from mlflow_venv import MLFLOW_ENV

pytestmark = pytest.mark.mlflow

REPO = Path(__file__).resolve().parents[2]

MLFLOW_SAVES = """
import json, numpy as np, onnx, xgboost as xgb, lightgbm as lgb, mlflow
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(7)
X = rng.normal(size=(60, 3)).astype(np.float32)
y = X @ np.array([1.0, -2.0, 0.5], dtype=np.float32) + 0.25
json.dump(X[:8].tolist(), open("X.json", "w"))

# a two-layer linear graph whose weights (3x300 floats) are large enough to go to MLflow's external-data file
w1 = numpy_helper.from_array(rng.normal(size=(3, 300)).astype(np.float32), "w1")
w2 = numpy_helper.from_array(rng.normal(size=(300, 1)).astype(np.float32) / 30, "w2")
graph = helper.make_graph(
    [helper.make_node("MatMul", ["x", "w1"], ["h"]), helper.make_node("MatMul", ["h", "w2"], ["y"])],
    "linear",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])],
    [w1, w2],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
mlflow.onnx.save_model(model, "theirs/onnx")

booster = xgb.train({"max_depth": 3, "seed": 1}, xgb.DMatrix(X, y), 8)
mlflow.xgboost.save_model(booster, "theirs/xgb_booster")
labels = (y > 0).astype(int)
mlflow.xgboost.save_model(xgb.XGBClassifier(n_estimators=6, max_depth=2).fit(X, labels), "theirs/xgb_classifier")

params = {"verbose": -1, "seed": 1, "min_data_in_leaf": 5}
mlflow.lightgbm.save_model(lgb.train(params, lgb.Dataset(X, y), 8), "theirs/lgb_booster")
mlflow.lightgbm.save_model(
    lgb.LGBMRegressor(n_estimators=6, verbose=-1, min_child_samples=5).fit(X, y), "theirs/lgb_regressor"
)
print(json.dumps({"ok": True}))
"""

OURS = """
import json, shutil, sys, numpy as np
from registry import ArtifactVerificationError, InvalidParameterValue, Registry, pyfunc
from registry import lightgbm as rlgb, onnx as ronnx, xgboost as rxgb

X = np.asarray(json.load(open("X.json")), dtype=np.float32)
flat = lambda v: np.asarray(v, dtype=float).ravel().tolist()
out = {}

out["theirs_onnx"] = flat(pyfunc.load_model("theirs/onnx").predict(X)["y"])
out["theirs_onnx_lists"] = flat(pyfunc.load_model("theirs/onnx").predict(X.tolist())["y"])
onnx_model = ronnx.load_model("theirs/onnx")
out["onnx_native_type"] = type(onnx_model).__name__
ronnx.save_model(onnx_model, "ours/onnx")
ronnx.save_model(onnx_model, "ours/onnx_again")  # the caller's proto is left whole by the first save
out["ours_onnx"] = flat(pyfunc.load_model("ours/onnx").predict(X)["y"])
out["ours_onnx_again"] = flat(pyfunc.load_model("ours/onnx_again").predict(X)["y"])

for name, module in [("xgb_booster", rxgb), ("xgb_classifier", rxgb), ("lgb_booster", rlgb)]:
    out[f"theirs_{name}"] = flat(pyfunc.load_model(f"theirs/{name}").predict(X))
    native = module.load_model(f"theirs/{name}")
    out[f"{name}_native_type"] = type(native).__name__
    module.save_model(native, f"ours/{name}")
    out[f"ours_{name}"] = flat(pyfunc.load_model(f"ours/{name}").predict(X))
    reloaded = module.load_model(f"ours/{name}")
    if type(reloaded).__module__ == "xgboost.core":  # a Booster predicts on a DMatrix
        import xgboost
        out[f"ours_{name}_native"] = flat(reloaded.predict(xgboost.DMatrix(X)))
    else:
        out[f"ours_{name}_native"] = flat(reloaded.predict(X))

# MLflow pickles a scikit-learn LGBMRegressor; it loads here (trusted input), and is saved back as its booster
out["theirs_lgb_regressor"] = flat(pyfunc.load_model("theirs/lgb_regressor").predict(X))
regressor = rlgb.load_model("theirs/lgb_regressor")
out["lgb_regressor_native_type"] = type(regressor).__name__
try:
    rlgb.save_model(regressor, "ours/refused")
except InvalidParameterValue as exc:
    out["lgb_sklearn_refused"] = str(exc)
rlgb.save_model(regressor.booster_, "ours/lgb_regressor")
out["ours_lgb_regressor"] = flat(pyfunc.load_model("ours/lgb_regressor").predict(X))

reg = Registry("registry")
info = rxgb.log_model(rxgb.load_model("theirs/xgb_booster"), name="boosted", registry=reg)
out["registered"] = {"uri": info.model_uri, "flavors": sorted(info.flavors)}
out["registered_xgb"] = flat(pyfunc.load_model(info.model_uri, registry=reg).predict(X))
info = ronnx.log_model(onnx_model, name="edge", registry=reg, onnx_execution_providers=["CPUExecutionProvider"])
out["registered_onnx"] = flat(pyfunc.load_model(info.model_uri, registry=reg).predict(X)["y"])
out["registered_onnx_native"] = type(ronnx.load_model(info.model_uri, registry=reg)).__name__

# an external-data location that climbs out of the model folder is refused before onnxruntime opens it
import onnx
shutil.copytree("ours/onnx", "evil/onnx")
proto = onnx.load("evil/onnx/model.onnx", load_external_data=False)
for tensor in proto.graph.initializer:
    for entry in tensor.external_data:
        if entry.key == "location":
            entry.value = "../../outside.data"
onnx.save_model(proto, "evil/onnx/model.onnx")
try:
    pyfunc.load_model("evil/onnx")
except ArtifactVerificationError as exc:
    out["onnx_escape"] = exc.field
# a model_class that is not one of XGBoost's is never imported
shutil.copytree("ours/xgb_booster", "evil/xgb")
text = open("evil/xgb/MLmodel").read().replace("model_class: xgboost.core.Booster", "model_class: os.system")
open("evil/xgb/MLmodel", "w").write(text)
try:
    pyfunc.load_model("evil/xgb")
except InvalidParameterValue as exc:
    out["xgb_class_refused"] = str(exc)

out["mlflow_imported"] = any(m == "mlflow" or m.startswith("mlflow.") for m in sys.modules)
print(json.dumps(out))
"""

MLFLOW_LOADS = """
import json, numpy as np, mlflow

X = np.asarray(json.load(open("X.json")), dtype=np.float32)
flat = lambda v: np.asarray(v, dtype=float).ravel().tolist()
out = {}
out["onnx_pyfunc"] = flat(mlflow.pyfunc.load_model("ours/onnx").predict(X)["y"])
out["onnx_native_type"] = type(mlflow.onnx.load_model("ours/onnx")).__name__
out["theirs_onnx"] = flat(mlflow.pyfunc.load_model("theirs/onnx").predict(X)["y"])
for name, flavor in [
    ("xgb_booster", mlflow.xgboost),
    ("xgb_classifier", mlflow.xgboost),
    ("lgb_booster", mlflow.lightgbm),
    ("lgb_regressor", mlflow.lightgbm),
]:
    out[f"{name}_pyfunc"] = flat(mlflow.pyfunc.load_model(f"ours/{name}").predict(X))
    native = flavor.load_model(f"ours/{name}")
    out[f"{name}_native_type"] = type(native).__name__
    if name.startswith("xgb") and type(native).__name__ == "Booster":
        import xgboost
        out[f"{name}_native"] = flat(native.predict(xgboost.DMatrix(X)))
    else:
        out[f"{name}_native"] = flat(native.predict(X))
    out[f"theirs_{name}"] = flat(mlflow.pyfunc.load_model(f"theirs/{name}").predict(X))
print(json.dumps(out))
"""


def run(python: Path, script: str, cwd: Path, *, ours: bool) -> Any:
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


@pytest.fixture(scope="module")
def results(mlflow_python: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("flavor-interop")
    run(mlflow_python, MLFLOW_SAVES, folder, ours=False)
    ours = run(mlflow_python, OURS, folder, ours=True)
    theirs = run(mlflow_python, MLFLOW_LOADS, folder, ours=False)
    return {"ours": ours, "mlflow": theirs}


def same(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) > 0 and all(abs(x - y) <= 1e-5 * max(1.0, abs(x)) for x, y in zip(a, b, strict=True))


def test_our_loader_never_imports_mlflow(results: dict[str, dict[str, Any]]) -> None:
    assert results["ours"]["mlflow_imported"] is False


def test_onnx_both_ways(results: dict[str, dict[str, Any]]) -> None:
    ours, theirs = results["ours"], results["mlflow"]
    reference = theirs["theirs_onnx"]  # MLflow predicting on the directory MLflow wrote
    for got in (
        ours["theirs_onnx"],  # MLflow's directory, our loader
        ours["theirs_onnx_lists"],  # the same, given plain nested lists
        ours["ours_onnx"],  # our directory, our loader
        ours["ours_onnx_again"],
        theirs["onnx_pyfunc"],  # our directory, mlflow.pyfunc
        ours["registered_onnx"],  # logged into a registry, loaded by models:/ URI
    ):
        assert same(got, reference)
    assert ours["onnx_native_type"] == theirs["onnx_native_type"] == ours["registered_onnx_native"] == "ModelProto"


@pytest.mark.parametrize("name", ["xgb_booster", "xgb_classifier", "lgb_booster", "lgb_regressor"])
def test_boosted_trees_both_ways(results: dict[str, dict[str, Any]], name: str) -> None:
    ours, theirs = results["ours"], results["mlflow"]
    reference = theirs[f"theirs_{name}"]
    assert same(ours[f"theirs_{name}"], reference)  # MLflow's directory, our loader
    assert same(ours[f"ours_{name}"], reference)  # our directory, our loader
    assert same(theirs[f"{name}_pyfunc"], reference)  # our directory, mlflow.pyfunc.load_model
    if name != "lgb_regressor":  # saved back as its booster, whose native predict is the same regression
        assert same(ours[f"ours_{name}_native"], theirs[f"{name}_native"])
        assert ours[f"{name}_native_type"] == theirs[f"{name}_native_type"]
    assert same(theirs[f"{name}_native"], reference)


def test_xgboost_log_model_registers_a_loadable_version(results: dict[str, dict[str, Any]]) -> None:
    ours = results["ours"]
    assert ours["registered"] == {"uri": "models:/boosted/1", "flavors": ["python_function", "xgboost"]}
    assert same(ours["registered_xgb"], results["mlflow"]["theirs_xgb_booster"])


def test_lightgbm_sklearn_models_load_but_save_only_as_boosters(results: dict[str, dict[str, Any]]) -> None:
    ours = results["ours"]
    assert ours["lgb_regressor_native_type"] == "LGBMRegressor"
    assert "model.booster_" in ours["lgb_sklearn_refused"]
    assert results["mlflow"]["lgb_regressor_native_type"] == "Booster"


def test_files_outside_the_model_folder_and_foreign_classes_are_refused(results: dict[str, dict[str, Any]]) -> None:
    ours = results["ours"]
    assert ours["onnx_escape"] == "onnx external data location"
    assert "'os.system', which is not one of XGBoost's model classes" in ours["xgb_class_refused"]
