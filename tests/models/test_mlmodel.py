"""The MLmodel document: MLflow's YAML in, the same meaning out."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from registry.errors import InvalidParameterValue
from registry.models.mlmodel import MLmodel, format_utc_time
from registry.models.signature import ColSpec, DataType, ModelSignature, Schema

# Written by mlflow.pyfunc.save_model (MLflow 3) for a PythonModel with one artifact.
MLFLOW_PYFUNC = """\
flavors:
  python_function:
    artifacts:
      cfg:
        path: artifacts/cfg.json
        uri: /home/someone/cfg.json
    cloudpickle_version: 3.1.2
    code: null
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.pyfunc.model
    python_model: python_model.pkl
    python_version: 3.11.7
    streamable: false
is_signature_from_type_hint: false
mlflow_version: 3.17.2
model_id: null
model_size_bytes: 2293
model_uuid: 7cb42af2bb0948e38fa01eec2300b6ef
prompts: null
saved_input_example_info:
  artifact_path: input_example.json
  pandas_orient: split
  serving_input_path: serving_input_example.json
  type: dataframe
signature:
  inputs: '[{"type": "double", "name": "a", "required": true}, {"type": "string",
    "name": "b", "required": true}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1]}}]'
  params: '[{"name": "p", "default": 1, "shape": null, "type": "long"}]'
type_hint_from_example: false
utc_time_created: '2026-11-21 21:30:12.528938'
"""


def test_parses_mlflow_output() -> None:
    doc = MLmodel.from_yaml(MLFLOW_PYFUNC)
    assert doc.model_uuid == "7cb42af2bb0948e38fa01eec2300b6ef"
    assert doc.utc_time_created == "2026-11-21 21:30:12.528938"
    assert doc.model_size_bytes == 2293
    assert doc.flavor("python_function")["loader_module"] == "mlflow.pyfunc.model"
    assert doc.signature is not None and doc.signature.inputs is not None
    assert doc.signature.inputs.input_names() == ["a", "b"]
    assert doc.signature.params is not None and next(iter(doc.signature.params)).default == 1
    assert doc.saved_input_example_info == {
        "artifact_path": "input_example.json",
        "pandas_orient": "split",
        "serving_input_path": "serving_input_example.json",
        "type": "dataframe",
    }
    assert doc.extra["mlflow_version"] == "3.17.2"


def test_round_trip_keeps_every_field_mlflow_wrote() -> None:
    original = yaml.safe_load(MLFLOW_PYFUNC)
    assert yaml.safe_load(MLmodel.from_yaml(MLFLOW_PYFUNC).to_yaml()) == original
    assert MLmodel.from_yaml(MLmodel.from_yaml(MLFLOW_PYFUNC).to_yaml()) == MLmodel.from_yaml(MLFLOW_PYFUNC)


def test_built_document_serializes_signature_as_json_strings() -> None:
    sig = ModelSignature(inputs=Schema([ColSpec(DataType.double, "x")]))
    doc = MLmodel(flavors={"python_function": {"loader_module": "mlflow.sklearn"}}, signature=sig, model_uuid="u")
    data = yaml.safe_load(doc.to_yaml())
    assert data["signature"] == {
        "inputs": '[{"type": "double", "name": "x", "required": true}]',
        "outputs": None,
        "params": None,
    }
    assert "metadata" not in data and "saved_input_example_info" not in data
    assert doc.with_flavor("sklearn", pickled_model="model.pkl").flavors.keys() == {"python_function", "sklearn"}


def test_format_utc_time_is_mlflows_spelling() -> None:
    moment = dt.datetime(2024, 5, 6, 7, 8, 9, 123, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert format_utc_time(moment) == "2024-05-06 05:08:09.000123"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("flavors: [", "not valid YAML"),
        ("- a\n- b\n", "must be a YAML mapping"),
        ("model_uuid: x\n", "needs a 'flavors' mapping"),
        ("flavors: {python_function: 3}\n", "needs a 'flavors' mapping"),
        ("flavors: {}\nsignature: nope\n", "'signature' must be a mapping"),
        ("flavors: {}\nmetadata: [1]\n", "'metadata' must be a mapping"),
        ("flavors: {}\nsignature: {inputs: '[{'}\n", "not valid JSON"),
    ],
)
def test_malformed_documents_say_why(text: str, message: str) -> None:
    with pytest.raises(InvalidParameterValue, match=message):
        MLmodel.from_yaml(text)


def test_missing_flavor_lists_the_present_ones() -> None:
    with pytest.raises(InvalidParameterValue, match=r"no 'sklearn' flavor \(it has: python_function\)"):
        MLmodel.from_yaml(MLFLOW_PYFUNC).flavor("sklearn")
