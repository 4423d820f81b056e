"""MLflow's flavor-module calls, unchanged: ``registry.pyfunc.log_model``, ``registry.sklearn.log_model`` /
``save_model`` / ``load_model`` returning MLflow's ``ModelInfo``, into the default registry or ``registry=``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from registry import InvalidParameterValue, MlflowClient, Registry, pyfunc, sklearn
from registry.models.model_dir import read_mlmodel
from registry.testing import use_registry


class Scaled(pyfunc.PythonModel):
    def load_context(self, context: pyfunc.PythonModelContext) -> None:
        with open(context.artifacts["cfg"]) as f:
            self.k = json.load(f)["k"]

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> list[float]:
        return [row["a"] * self.k for row in model_input]


class Linear:
    """A scikit-learn-style model: anything with .predict."""

    def __init__(self, w: list[float]) -> None:
        self.w = w

    def predict(self, rows: Any) -> list[float]:
        return [sum(a * b for a, b in zip(row, self.w, strict=True)) for row in rows]


@pytest.fixture
def reg(tmp_path: Path) -> Any:
    with Registry(str(tmp_path / "reg")) as r, use_registry(r):
        yield r


def test_pyfunc_log_model_with_mlflows_arguments(reg: Registry, tmp_path: Path) -> None:
    (tmp_path / "cfg.json").write_text('{"k": 3}')
    (tmp_path / "helpers").mkdir()
    (tmp_path / "helpers" / "scaling.py").write_text("FACTOR = 3\n")
    info = pyfunc.log_model(
        name="model",
        python_model=Scaled(),
        artifacts={"cfg": str(tmp_path / "cfg.json")},
        registered_model_name="scaler",
        input_example=[{"a": 1.0}],
        pip_requirements=["numpy"],
        code_paths=[str(tmp_path / "helpers")],
        metadata={"team": "fraud"},
    )
    assert isinstance(info, pyfunc.ModelInfo)
    assert (info.name, info.artifact_path, info.registered_model_version) == ("model", "model", 1)
    assert info.model_uri == "models:/scaler/1" and info.run_id is None
    assert info.metadata == {"team": "fraud"} and "python_function" in info.flavors
    assert info.signature is not None and info.signature.inputs.input_names() == ["a"]
    assert pyfunc.load_model(info.model_uri).predict([{"a": 2.0}]) == [6.0]
    assert reg.get_model_version("scaler", 1).current_stage == "None"
    again = pyfunc.log_model(
        "model", Scaled(), artifacts={"cfg": str(tmp_path / "cfg.json")}, registered_model_name="scaler"
    )
    assert again.model_uri == "models:/scaler/2"  # positional name and python_model, as MLflow 3 allows


def test_sklearn_log_save_and_load(reg: Registry, tmp_path: Path) -> None:
    info = sklearn.log_model(Linear([2.0, 1.0]), name="lin", registered_model_name="linear", input_example=[[1.0, 1.0]])
    assert info.model_uri == "models:/linear/1" and set(info.flavors) == {"python_function", "sklearn"}
    assert sklearn.load_model(info.model_uri).w == [2.0, 1.0]
    assert pyfunc.load_model("models:/linear/latest").predict([[1.0, 3.0]]) == [5.0]
    mlflow2 = sklearn.log_model(Linear([1.0]), artifact_path="lin", registered_model_name="linear")  # MLflow 2
    assert (mlflow2.registered_model_version, mlflow2.artifact_path) == (2, "lin")
    implicit = sklearn.log_model(Linear([1.0]), name="just-a-name")  # no run here: registers under the name
    assert implicit.model_uri == "models:/just-a-name/1"
    saved = sklearn.save_model(Linear([4.0]), tmp_path / "saved")
    assert "sklearn" in saved.flavors and sklearn.load_model(str(tmp_path / "saved")).w == [4.0]


def test_log_model_into_an_explicit_registry(tmp_path: Path) -> None:
    other = MlflowClient(registry_uri=str(tmp_path / "other"))
    info = sklearn.log_model(Linear([1.0]), name="m", registered_model_name="m", registry=other)
    assert other.get_model_version("m", info.registered_model_version).source.startswith(str(tmp_path / "other"))
    assert pyfunc.load_model(info.model_uri, registry=other).predict([[2.0]]) == [2.0]
    assert not (tmp_path / "mlregistry").exists()
    other.close()


def test_log_model_refuses_what_it_cannot_name(reg: Registry) -> None:
    with pytest.raises(InvalidParameterValue, match="needs name="):
        sklearn.log_model(Linear([1.0]))
    with pytest.raises(InvalidParameterValue, match="same thing"):
        sklearn.log_model(Linear([1.0]), name="a", artifact_path="b")
    assert reg.search_registered_models() == []


def test_registry_log_model_takes_a_model_positionally(reg: Registry, tmp_path: Path) -> None:
    (tmp_path / "cfg.json").write_text('{"k": 2}')
    sk = reg.log_model(Linear([3.0]), registered_model_name="sk")
    assert "sklearn" in read_mlmodel(sk.storage_location or "").flavors
    py = reg.log_model(Scaled(), registered_model_name="py", artifacts={"cfg": str(tmp_path / "cfg.json")})
    assert "sklearn" not in read_mlmodel(py.storage_location or "").flavors
    assert reg.load_model("models:/py/1").predict([{"a": 1.0}]) == [2.0]
    with pytest.raises(InvalidParameterValue):
        reg.log_model(object(), registered_model_name="nothing-to-predict")
