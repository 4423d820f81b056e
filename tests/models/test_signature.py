"""Signatures: inference as MLflow does it, MLflow's serialized form, and predict-time enforcement."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.errors import InvalidParameterValue
from registry.models.enforcement import enforce_params, enforce_schema
from registry.models.signature import (
    ColSpec,
    ComplexType,
    DataType,
    ModelSignature,
    ParamSchema,
    ParamSpec,
    Schema,
    TensorSpec,
    infer_signature,
)

PARAMS = {"temperature": 0.5, "k": 3, "name": "x", "flag": True}
# What MLflow 3 writes for the same calls (captured from mlflow.models.infer_signature).
MLFLOW_PARAMS = (
    '[{"name": "temperature", "default": 0.5, "shape": null, "type": "double"}, {"name": "k", "default": 3, '
    '"shape": null, "type": "long"}, {"name": "name", "default": "x", "shape": null, "type": "string"}, '
    '{"name": "flag", "default": true, "shape": null, "type": "boolean"}]'
)
MLFLOW_INPUTS = {
    "records": (
        [{"amount": 12.5, "country": "DE", "n": 3, "ok": True}],
        '[{"type": "double", "name": "amount", "required": true}, {"type": "string", "name": "country", '
        '"required": true}, {"type": "long", "name": "n", "required": true}, {"type": "boolean", "name": "ok", '
        '"required": true}]',
    ),
    "dict_cols": (
        {"a": [1.0, 2.0], "b": ["x", "y"]},
        '[{"type": "array", "items": {"type": "double"}, "name": "a", "required": true}, {"type": "array", '
        '"items": {"type": "string"}, "name": "b", "required": true}]',
    ),
    "dict_scalar": (
        {"a": 1.0, "b": "x"},
        '[{"type": "double", "name": "a", "required": true}, {"type": "string", "name": "b", "required": true}]',
    ),
    "list_str": (["a", "b"], '[{"type": "string", "required": true}]'),
    "list_float": ([1.0, 2.0], '[{"type": "double", "required": true}]'),
    "list_list": ([[1.0, 2.0], [3.0, 4.0]], '[{"type": "array", "items": {"type": "double"}, "required": true}]'),
    "str": ("hello", '[{"type": "string", "required": true}]'),
    "records_missing": (
        [{"a": 1.0}, {"a": 2.0, "b": "x"}],
        '[{"type": "double", "name": "a", "required": true}, {"type": "string", "name": "b", "required": false}]',
    ),
    "records_list": ([{"a": [1, 2]}], '[{"type": "array", "items": {"type": "long"}, "name": "a", "required": true}]'),
}


@pytest.mark.parametrize("case", sorted(MLFLOW_INPUTS))
def test_inference_matches_mlflow_byte_for_byte(case: str) -> None:
    data, expected = MLFLOW_INPUTS[case]
    sig = infer_signature(data, params=PARAMS)
    assert sig.to_dict() == {"inputs": expected, "outputs": None, "params": MLFLOW_PARAMS}


def test_list_params_get_a_shape() -> None:
    assert infer_signature([1.0], params={"l": [1, 2]}).to_dict()["params"] == (
        '[{"name": "l", "default": [1, 2], "shape": [-1], "type": "long"}]'
    )


def test_numpy_inference_matches_mlflow() -> None:
    np = pytest.importorskip("numpy")
    assert infer_signature(np.zeros((3, 2), dtype=np.float32)).to_dict()["inputs"] == (
        '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 2]}}]'
    )
    named = {"x": np.zeros((3, 2)), "y": np.zeros(3, dtype=np.int64)}
    assert infer_signature(named).to_dict()["inputs"] == (
        '[{"name": "x", "type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 2]}}, {"name": "y", '
        '"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
    )
    assert infer_signature([1.0], np.array([2.0])).to_dict()["outputs"] == (
        '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1]}}]'
    )


def test_pandas_inference_matches_mlflow() -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": [1, 2], "b": [1.5, 2.5], "c": ["x", "y"], "d": [True, False]})
    assert infer_signature(df).to_dict()["inputs"] == (
        '[{"type": "long", "name": "a", "required": true}, {"type": "double", "name": "b", "required": true}, '
        '{"type": "string", "name": "c", "required": true}, {"type": "boolean", "name": "d", "required": true}]'
    )


def test_inference_errors_name_the_value() -> None:
    with pytest.raises(InvalidParameterValue, match="empty list"):
        infer_signature([])
    with pytest.raises(InvalidParameterValue, match="object"):
        infer_signature([{"a": object()}])
    with pytest.raises(InvalidParameterValue, match="different types in column 'a'"):
        infer_signature([{"a": 1}, {"a": "x"}])


def test_mixed_ints_and_floats_widen_to_double() -> None:
    assert infer_signature([{"a": 1}, {"a": 2.5}]).inputs == Schema([ColSpec(DataType.double, "a")])


col_types = st.sampled_from(list(DataType)) | st.just(ComplexType({"type": "array", "items": {"type": "long"}}))
col_specs = st.builds(ColSpec, type=col_types, name=st.text(min_size=1, max_size=8), required=st.booleans())
tensor_specs = st.builds(
    TensorSpec,
    dtype=st.sampled_from(["float64", "float32", "int64", "bool"]),
    shape=st.lists(st.integers(-1, 5), max_size=3),
    name=st.text(min_size=1, max_size=8),
)
param_specs = st.builds(
    ParamSpec,
    name=st.text(min_size=1, max_size=8),
    dtype=st.just(DataType.long),
    default=st.integers(),
    shape=st.none() | st.just((-1,)),
)


def _unique(specs: list) -> list:  # type: ignore[type-arg]
    return list({s.name: s for s in specs}.values())


@given(
    inputs=st.lists(col_specs, max_size=4).map(_unique) | st.lists(tensor_specs, max_size=3).map(_unique),
    outputs=st.none() | st.lists(col_specs, min_size=1, max_size=1).map(Schema),
    params=st.none() | st.lists(param_specs, min_size=1, max_size=3).map(ParamSchema),
)
def test_serialized_form_round_trips(inputs: list, outputs: Schema | None, params: ParamSchema | None) -> None:  # type: ignore[type-arg]
    sig = ModelSignature(Schema(inputs) if inputs else None, outputs, params)
    data = sig.to_dict()
    assert all(v is None or isinstance(v, str) for v in data.values())  # JSON strings inside the YAML
    assert ModelSignature.from_dict(json.loads(json.dumps(data))) == sig


def test_schema_rejects_mixed_and_duplicate_specs() -> None:
    with pytest.raises(InvalidParameterValue, match="not both"):
        Schema([ColSpec(DataType.long, "a"), TensorSpec("float64", (-1,), "b")])
    with pytest.raises(InvalidParameterValue, match="unique names"):
        Schema([ColSpec(DataType.long, "a"), ColSpec(DataType.long, "a")])
    with pytest.raises(InvalidParameterValue, match="Unknown column type 'decimal'"):
        Schema.from_json('[{"type": "decimal", "name": "a"}]')
    with pytest.raises(InvalidParameterValue, match="not valid JSON"):
        Schema.from_json("[{")


SCHEMA = Schema(
    [ColSpec(DataType.double, "amount"), ColSpec(DataType.string, "country"), ColSpec(DataType.long, "n", False)]
)


def test_rows_are_checked_and_safely_converted() -> None:
    rows = [{"amount": 12, "country": "DE", "n": 3, "extra": 1}, {"amount": 1.5, "country": "FR"}]
    out = enforce_schema(rows, SCHEMA)
    assert out == [{"amount": 12.0, "country": "DE", "n": 3}, {"amount": 1.5, "country": "FR"}]
    assert isinstance(out[0]["amount"], float)


def test_columns_dict_and_single_row_dict() -> None:
    assert enforce_schema({"amount": [1, 2], "country": ["a", "b"]}, SCHEMA) == {
        "amount": [1.0, 2.0],
        "country": ["a", "b"],
    }
    assert enforce_schema({"amount": 1, "country": "a"}, SCHEMA) == {"amount": 1.0, "country": "a"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([{"amount": 1.0}], r"missing required column 'country' in row 0 \(expected string\)"),
        ([{"amount": "12", "country": "DE"}], r"column 'amount': expected double, got str '12'"),
        ([{"amount": 1.0, "country": "DE", "n": 2.5}], r"column 'n': expected long, got float 2.5"),
        ([{"amount": 1.0, "country": "DE", "n": 2.0}], r"column 'n': expected long, got float 2.0"),  # as MLflow
        ([{"amount": True, "country": "DE"}], r"column 'amount': expected double, got bool"),
        ({"amount": [1.0, 2.0], "country": ["a"]}, "different lengths"),
        (42, "does not match a column signature"),
    ],
)
def test_enforcement_errors_name_the_column(data: object, message: str) -> None:
    with pytest.raises(InvalidParameterValue, match=message):
        enforce_schema(data, SCHEMA)


def test_unnamed_column_and_datetime() -> None:
    assert enforce_schema([1, 2], Schema([ColSpec(DataType.double)])) == [1.0, 2.0]
    assert enforce_schema(["2024-01-02T03:04:05"], Schema([ColSpec(DataType.datetime)])) == [
        dt.datetime(2024, 1, 2, 3, 4, 5)
    ]
    with pytest.raises(InvalidParameterValue, match="expected integer"):
        enforce_schema([2**40], Schema([ColSpec(DataType.integer)]))


def test_frames_are_checked_when_pandas_is_installed() -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"amount": [1, 2], "country": ["a", "b"], "junk": [0, 0]})
    out = enforce_schema(df, SCHEMA)
    assert list(out.columns) == ["amount", "country"] and str(out["amount"].dtype) == "float64"
    with pytest.raises(InvalidParameterValue, match="missing required column"):
        enforce_schema(df[["amount"]], SCHEMA)
    with pytest.raises(InvalidParameterValue, match="column 'amount'"):
        enforce_schema(pd.DataFrame({"amount": ["x"], "country": ["a"]}), SCHEMA)


def test_tensors_need_numpy_and_check_dtype_and_shape() -> None:
    np = pytest.importorskip("numpy")
    schema = Schema([TensorSpec("float64", (-1, 2))])
    out = enforce_schema([[1, 2], [3, 4]], schema)
    assert out.dtype == np.float64 and out.shape == (2, 2)
    assert enforce_schema(np.ones((1, 2), dtype=np.float32), schema).dtype == np.float64
    with pytest.raises(InvalidParameterValue, match=r"expected \[-1, 2\] \(-1 = any\), got \[1, 3\]"):
        enforce_schema([[1, 2, 3]], schema)
    with pytest.raises(InvalidParameterValue, match="expected int32, got float64"):
        enforce_schema(np.ones((1, 2)), Schema([TensorSpec("int32", (-1, 2))]))
    named = Schema([TensorSpec("int64", (-1,), "x"), TensorSpec("int64", (-1,), "y")])
    with pytest.raises(InvalidParameterValue, match="missing tensor 'y'"):
        enforce_schema({"x": [1]}, named)


def test_params_defaults_conversion_and_errors(caplog: pytest.LogCaptureFixture) -> None:
    schema = infer_signature([1.0], params={"k": 3, "t": 0.5, "tags": ["a"]}).params
    assert enforce_params(None, schema) == {"k": 3, "t": 0.5, "tags": ["a"]}
    assert enforce_params({"t": 1, "tags": ("b", "c")}, schema) == {"k": 3, "t": 1.0, "tags": ["b", "c"]}
    with pytest.raises(InvalidParameterValue, match="parameter 'k': expected long, got str"):
        enforce_params({"k": "many"}, schema)
    with caplog.at_level(logging.WARNING, logger="registry"):
        assert enforce_params({"zzz": 1}, schema) == {"k": 3, "t": 0.5, "tags": ["a"]}
        assert enforce_params({"zzz": 1}, None) == {}  # as MLflow: given but declared by none, the model gets {}
        assert enforce_params(None, None) is None
    assert "zzz" in caplog.text
