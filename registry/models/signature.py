"""Model signatures: what a model takes, returns and accepts as parameters, in MLflow's serialized form.

Pure: no IO, and numpy or pandas are only looked at (never imported) when the data handed in is one of
theirs. A signature is stored inside the ``MLmodel`` YAML as three JSON *strings*, exactly as MLflow writes
them, so signatures round-trip between this library and MLflow::

    signature:
      inputs: '[{"type": "double", "name": "amount", "required": true}]'
      outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1]}}]'
      params: '[{"name": "k", "default": 3, "shape": null, "type": "long"}]'

Predict-time enforcement lives in `registry.models.enforcement`.
"""

from __future__ import annotations

import datetime as _dt
import enum
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from registry.errors import InvalidParameterValue

__all__ = [
    "ColSpec",
    "ComplexType",
    "DataType",
    "ModelSignature",
    "ParamSchema",
    "ParamSpec",
    "Schema",
    "TensorSpec",
    "infer_param_schema",
    "infer_schema",
    "infer_signature",
]


class DataType(enum.StrEnum):
    """MLflow's scalar column types (the serialized ``type`` of a column)."""

    boolean = "boolean"
    integer = "integer"
    long = "long"
    float = "float"
    double = "double"
    string = "string"
    binary = "binary"
    datetime = "datetime"

    @classmethod
    def parse(cls, value: str) -> DataType:
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(t.value for t in cls)
            raise InvalidParameterValue(f"Unknown column type {value!r}; expected one of {names}.") from None


def _plain_dict(value: Mapping[str, Any]) -> dict[str, Any]:
    return dict(value)


@attrs.frozen
class ComplexType:
    """An ``array``, ``object`` or ``map`` type, kept as MLflow's JSON dict (e.g. ``{"type": "array",
    "items": {"type": "double"}}``) so that any nesting MLflow writes survives a round trip."""

    spec: Mapping[str, Any] = attrs.field(converter=_plain_dict)

    @property
    def kind(self) -> str:
        return str(self.spec["type"])

    def to_dict(self) -> dict[str, Any]:
        return dict(self.spec)


ColumnType = DataType | ComplexType


def _ints(value: Iterable[int]) -> tuple[int, ...]:
    return tuple(int(v) for v in value)


def _optional_ints(value: Iterable[int] | None) -> tuple[int, ...] | None:
    return _ints(value) if value is not None else None


def _column_type_to_dict(t: ColumnType) -> dict[str, Any]:
    return {"type": t.value} if isinstance(t, DataType) else t.to_dict()


def _column_type_from_dict(d: Mapping[str, Any]) -> ColumnType:
    if d.get("type") in ("array", "object", "map", "sparkml_vector", "any"):
        return ComplexType({k: v for k, v in d.items() if k not in ("name", "required")})
    return DataType.parse(str(d.get("type")))


@attrs.frozen
class ColSpec:
    """A column: a type, an optional name (unnamed for a single list of values) and whether it is required."""

    type: ColumnType
    name: str | None = None
    required: bool = True

    def to_dict(self) -> dict[str, Any]:
        d = _column_type_to_dict(self.type)
        if self.name is not None:
            d["name"] = self.name
        d["required"] = self.required
        return d


@attrs.frozen
class TensorSpec:
    """A tensor: a numpy dtype name, a shape (``-1`` for a variable dimension) and an optional name."""

    dtype: str
    shape: tuple[int, ...] = attrs.field(converter=_ints)
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name} if self.name is not None else {}
        d["type"] = "tensor"
        d["tensor-spec"] = {"dtype": self.dtype, "shape": list(self.shape)}
        return d


Spec = ColSpec | TensorSpec


def _spec_from_dict(d: Mapping[str, Any]) -> Spec:
    if not isinstance(d, Mapping) or "type" not in d:
        raise InvalidParameterValue(f"Malformed signature entry {d!r}: each entry needs a 'type'.")
    if d["type"] == "tensor":
        ts = d.get("tensor-spec") or {}
        return TensorSpec(dtype=str(ts.get("dtype")), shape=tuple(ts.get("shape") or ()), name=d.get("name"))
    return ColSpec(type=_column_type_from_dict(d), name=d.get("name"), required=bool(d.get("required", True)))


def _specs(value: Iterable[Spec]) -> tuple[Spec, ...]:
    return tuple(value)


@attrs.frozen
class Schema:
    """An ordered list of column specs or of tensor specs (never a mix, as in MLflow)."""

    inputs: tuple[Spec, ...] = attrs.field(converter=_specs)

    def __attrs_post_init__(self) -> None:
        kinds = {type(s) for s in self.inputs}
        if len(kinds) > 1:
            raise InvalidParameterValue("A schema holds either column specs or tensor specs, not both.")
        names = [s.name for s in self.inputs]
        if len(self.inputs) > 1 and (None in names or len(set(names)) != len(names)):
            raise InvalidParameterValue(f"A schema with several entries needs unique names; got {names}.")

    def __iter__(self) -> Any:
        return iter(self.inputs)

    def __len__(self) -> int:
        return len(self.inputs)

    def is_tensor_spec(self) -> bool:
        return bool(self.inputs) and isinstance(self.inputs[0], TensorSpec)

    def has_input_names(self) -> bool:
        return bool(self.inputs) and all(s.name is not None for s in self.inputs)

    def input_names(self) -> list[str | None]:
        return [s.name for s in self.inputs]

    def required_input_names(self) -> list[str | None]:
        return [s.name for s in self.inputs if not isinstance(s, ColSpec) or s.required]

    def to_dict(self) -> list[dict[str, Any]]:
        return [s.to_dict() for s in self.inputs]

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> Schema:
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise InvalidParameterValue(f"Signature schema is not valid JSON: {exc}") from None
        if not isinstance(data, list):
            raise InvalidParameterValue("A signature schema must be a JSON list of specs.")
        return cls([_spec_from_dict(d) for d in data])


@attrs.frozen
class ParamSpec:
    """An inference parameter: a name, a scalar type, a default and a shape (``None`` or ``(-1,)``)."""

    name: str
    dtype: DataType
    default: Any
    shape: tuple[int, ...] | None = attrs.field(default=None, converter=_optional_ints)

    def to_dict(self) -> dict[str, Any]:
        default = self.default.isoformat() if isinstance(self.default, _dt.date) else self.default
        shape = list(self.shape) if self.shape is not None else None
        return {"name": self.name, "default": default, "shape": shape, "type": self.dtype.value}


def _param_specs(value: Iterable[ParamSpec]) -> tuple[ParamSpec, ...]:
    return tuple(value)


@attrs.frozen
class ParamSchema:
    """The inference parameters a model accepts (``predict(data, params=...)``)."""

    params: tuple[ParamSpec, ...] = attrs.field(converter=_param_specs)

    def __iter__(self) -> Any:
        return iter(self.params)

    def to_json(self) -> str:
        return json.dumps([p.to_dict() for p in self.params])

    @classmethod
    def from_json(cls, text: str) -> ParamSchema:
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise InvalidParameterValue(f"Signature params are not valid JSON: {exc}") from None
        return cls(
            [
                ParamSpec(
                    name=d["name"],
                    dtype=DataType.parse(d["type"]),
                    default=d.get("default"),
                    shape=d.get("shape"),
                )
                for d in data
            ]
        )


@attrs.frozen
class ModelSignature:
    """What a model takes (``inputs``), returns (``outputs``) and accepts as parameters (``params``)."""

    inputs: Schema | None = None
    outputs: Schema | None = None
    params: ParamSchema | None = None

    def to_dict(self) -> dict[str, str | None]:
        """MLflow's serialized form: each part a JSON string, or ``None``."""
        return {
            "inputs": self.inputs.to_json() if self.inputs is not None else None,
            "outputs": self.outputs.to_json() if self.outputs is not None else None,
            "params": self.params.to_json() if self.params is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelSignature:
        """Parse MLflow's serialized form (the ``signature`` mapping of an ``MLmodel`` file).

        Raises:
            InvalidParameterValue: the signature is malformed in any way (it comes from a file: untrusted).
        """
        inputs, outputs, params = data.get("inputs"), data.get("outputs"), data.get("params")
        try:
            return cls(
                inputs=Schema.from_json(inputs) if inputs else None,
                outputs=Schema.from_json(outputs) if outputs else None,
                params=ParamSchema.from_json(params) if params else None,
            )
        except InvalidParameterValue:
            raise
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            # A spec missing a key or of the wrong shape: say so, rather than leak the lookup that failed.
            raise InvalidParameterValue(f"The model's signature is malformed ({type(exc).__name__}: {exc}).") from None


# --- inference -------------------------------------------------------------------------------------------


def _module_of(value: Any) -> str:
    return type(value).__module__.split(".")[0]


def _is_ndarray(value: Any) -> bool:
    return _module_of(value) == "numpy" and type(value).__name__ == "ndarray"


def _is_dataframe(value: Any) -> bool:
    return _module_of(value) == "pandas" and type(value).__name__ == "DataFrame"


def _is_series(value: Any) -> bool:
    return _module_of(value) == "pandas" and type(value).__name__ == "Series"


_NUMPY_KIND_TO_TYPE = {
    "b": DataType.boolean,
    "U": DataType.string,
    "S": DataType.binary,
    "M": DataType.datetime,
}


def _type_of_numpy_dtype(dtype: Any) -> DataType | None:
    if dtype.kind in "iu":
        return DataType.integer if dtype.itemsize <= 4 and dtype.kind == "i" else DataType.long
    if dtype.kind == "f":
        return DataType.float if dtype.itemsize <= 4 else DataType.double
    return _NUMPY_KIND_TO_TYPE.get(dtype.kind)


def _type_of_value(value: Any, where: str) -> ColumnType:
    """The column type of one Python (or numpy scalar) value."""
    if isinstance(value, bool):
        return DataType.boolean
    if isinstance(value, int):
        return DataType.long
    if isinstance(value, float):
        return DataType.double
    if isinstance(value, str):
        return DataType.string
    if isinstance(value, bytes | bytearray):
        return DataType.binary
    if isinstance(value, _dt.date):
        return DataType.datetime
    if _module_of(value) == "numpy" and hasattr(value, "dtype") and not _is_ndarray(value):
        found = _type_of_numpy_dtype(value.dtype)
        if found is not None:
            return found
    if isinstance(value, Mapping):
        props: dict[str, Any] = {
            str(k): {**_column_type_to_dict(_type_of_value(v, where)), "required": True} for k, v in value.items()
        }
        return ComplexType({"type": "object", "properties": props})
    if isinstance(value, Sequence) or _is_ndarray(value):
        items = [_type_of_value(v, where) for v in value]
        if not items:
            raise InvalidParameterValue(f"Cannot infer the item type of the empty list in {where}.")
        return ComplexType({"type": "array", "items": _column_type_to_dict(_merge_types(items, where))})
    raise InvalidParameterValue(
        f"Cannot infer a signature type for {type(value).__name__} in {where}; pass an explicit signature."
    )


def _merge_types(types: Sequence[ColumnType], where: str) -> ColumnType:
    distinct = list(dict.fromkeys(json.dumps(_column_type_to_dict(t), sort_keys=True) for t in types))
    if len(distinct) == 1:
        return types[0]
    if set(types) <= {DataType.long, DataType.double, DataType.integer, DataType.float}:
        return DataType.double  # mixed ints and floats widen, as a numeric column would
    raise InvalidParameterValue(f"Values of different types in {where}; pass an explicit signature.")


def _infer_frame(df: Any) -> Schema:
    specs = []
    for name in df.columns:
        col = df[name]
        found: ColumnType | None = _type_of_numpy_dtype(col.dtype) if hasattr(col.dtype, "kind") else None
        if found is None:  # object / string / extension dtypes: look at the values
            values = [v for v in col.tolist() if v is not None]
            found = _merge_types([_type_of_value(v, f"column {name!r}") for v in values], f"column {name!r}")
        specs.append(ColSpec(type=found, name=str(name), required=not bool(col.isna().any())))
    return Schema(specs)


def infer_schema(data: Any) -> Schema | None:
    """Infer a `Schema` from example data, following MLflow's rules.

    A list of dicts gives named columns (optional where a key is missing in some row), a dict gives one named
    column per key (a list value makes an ``array`` column), a list of scalars or a scalar gives one unnamed
    column, a numpy array a tensor spec (first dimension variable), a dict of arrays named tensors, and a
    pandas DataFrame or Series columns from its dtypes.
    """
    if data is None:
        return None
    if _is_dataframe(data):
        return _infer_frame(data)
    if _is_series(data):
        return Schema([ColSpec(type=_infer_frame(data.to_frame()).inputs[0].type)])  # type: ignore[union-attr]
    if _is_ndarray(data):
        return Schema([TensorSpec(dtype=str(data.dtype), shape=(-1, *data.shape[1:]))])
    if isinstance(data, Mapping) and data and all(_is_ndarray(v) for v in data.values()):
        return Schema([TensorSpec(dtype=str(v.dtype), shape=(-1, *v.shape[1:]), name=str(k)) for k, v in data.items()])
    if isinstance(data, Mapping):
        return Schema([ColSpec(type=_type_of_value(v, f"key {k!r}"), name=str(k)) for k, v in data.items()])
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        if not data:
            raise InvalidParameterValue("Cannot infer a signature from an empty list; pass an example row.")
        if all(isinstance(row, Mapping) for row in data):
            names: dict[str, list[ColumnType]] = {}
            for row in data:
                for k, v in row.items():
                    if v is not None:
                        names.setdefault(str(k), []).append(_type_of_value(v, f"column {k!r}"))
            return Schema(
                [
                    ColSpec(
                        type=_merge_types(types, f"column {k!r}"),
                        name=k,
                        required=all(row.get(k) is not None for row in data),
                    )
                    for k, types in names.items()
                ]
            )
        return Schema([ColSpec(type=_merge_types([_type_of_value(v, "the list") for v in data], "the list"))])
    return Schema([ColSpec(type=_type_of_value(data, "the example"))])


def infer_param_schema(params: Mapping[str, Any] | None) -> ParamSchema | None:
    """Infer a `ParamSchema` from example parameters (a list value gives shape ``(-1,)``)."""
    if not params:
        return None
    specs = []
    for name, value in params.items():
        if isinstance(value, list | tuple):
            if not value:
                raise InvalidParameterValue(f"Cannot infer the type of parameter {name!r} from an empty list.")
            item_type = _merge_types([_type_of_value(v, f"parameter {name!r}") for v in value], name)
            shape: tuple[int, ...] | None = (-1,)
            default: Any = list(value)
        else:
            item_type, shape, default = _type_of_value(value, f"parameter {name!r}"), None, value
        if not isinstance(item_type, DataType):
            raise InvalidParameterValue(f"Parameter {name!r} must be a scalar or a list of scalars.")
        specs.append(ParamSpec(name=str(name), dtype=item_type, default=default, shape=shape))
    return ParamSchema(specs)


def infer_signature(
    model_input: Any = None, model_output: Any = None, params: Mapping[str, Any] | None = None
) -> ModelSignature:
    """Infer a `ModelSignature` from an example input, output and parameters (as MLflow does).

    Raises:
        InvalidParameterValue: when a value's type cannot be expressed in a signature; the message names it.
    """
    return ModelSignature(
        inputs=infer_schema(model_input),
        outputs=infer_schema(model_output),
        params=infer_param_schema(params),
    )
