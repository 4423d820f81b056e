"""Predict-time checks of model input and parameters against a signature.

Inputs keep their shape: a pandas DataFrame stays a DataFrame, a list of row dicts stays a list of row dicts,
a dict of columns stays a dict of columns, so a model that does not need pandas never gets it imported.
Values are converted only where the conversion is safe (an ``int`` where a ``double`` is declared becomes a
``float``); anything else fails with an error that names the column (or tensor, or parameter) and says what
was expected. Columns the signature does not name are dropped, as MLflow does. Tensor specs need numpy, which
is imported only when such a signature is enforced.
"""

from __future__ import annotations

import datetime as _dt
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from registry.errors import InvalidParameterValue
from registry.models.signature import (
    ColSpec,
    ColumnType,
    DataType,
    ParamSchema,
    Schema,
    TensorSpec,
    _is_dataframe,
    _is_ndarray,
    _is_series,
)

__all__ = ["enforce_params", "enforce_schema"]

_log = logging.getLogger(__name__)

_INT32 = (-(2**31), 2**31 - 1)


def _incompatible(column: str | None, expected: Any, value: Any) -> InvalidParameterValue:
    where = f"column {column!r}" if column is not None else "the input"
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    exp = expected.value if isinstance(expected, DataType) else expected
    return InvalidParameterValue(
        f"Incompatible input type for {where}: expected {exp}, got {type(value).__name__} {shown}. "
        "Convert the value or pass data that matches the model's signature.",
        column=column,
    )


def _convert_value(value: Any, t: ColumnType, column: str | None) -> Any:
    """Convert one value to the declared type when that is safe; raise naming the column otherwise."""
    if not isinstance(t, DataType):
        kind = t.kind
        if kind == "array" and not isinstance(value, Sequence | set) and not _is_ndarray(value):
            raise _incompatible(column, "array", value)
        if kind in ("object", "map") and not isinstance(value, Mapping):
            raise _incompatible(column, kind, value)
        if kind == "array" and isinstance(value, str | bytes):
            raise _incompatible(column, "array", value)
        return value
    if hasattr(value, "item") and not _is_ndarray(value) and type(value).__module__ == "numpy":
        value = value.item()  # numpy scalar -> the Python scalar with the same value
    if t is DataType.boolean:
        if isinstance(value, bool):
            return value
    elif t in (DataType.long, DataType.integer):
        if isinstance(value, int) and not isinstance(value, bool):
            if t is DataType.integer and not _INT32[0] <= value <= _INT32[1]:
                raise _incompatible(column, "integer (32-bit)", value)
            return value
    elif t in (DataType.double, DataType.float):
        if isinstance(value, float):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return float(value)
    elif t is DataType.string:
        if isinstance(value, str):
            return value
    elif t is DataType.binary:
        if isinstance(value, bytes | bytearray):
            return bytes(value)
    elif t is DataType.datetime:
        if isinstance(value, _dt.date):
            return value
        if isinstance(value, str):
            try:
                return _dt.datetime.fromisoformat(value)
            except ValueError:
                pass
    raise _incompatible(column, t, value)


def _check_row(row: Mapping[str, Any], specs: Sequence[ColSpec], index: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in specs:
        name = spec.name
        value = row.get(name) if name is not None else None
        if value is None:
            if spec.required:
                where = f" in row {index}" if index is not None else ""
                raise InvalidParameterValue(
                    f"Model input is missing required column {name!r}{where} "
                    f"(expected {_type_name(spec.type)}). Add it, or declare it optional in the signature.",
                    column=name,
                )
            if name in row:
                out[name] = None  # type: ignore[index]
            continue
        out[name] = _convert_value(value, spec.type, name)  # type: ignore[index]
    return out


def _type_name(t: ColumnType) -> str:
    return t.value if isinstance(t, DataType) else t.kind


def _enforce_columns(data: Any, schema: Schema) -> Any:
    specs = [s for s in schema.inputs if isinstance(s, ColSpec)]
    if _is_dataframe(data):
        return _enforce_frame(data, specs)
    if not schema.has_input_names():
        spec = specs[0]
        if _is_series(data):
            data = data.tolist()
        is_list = isinstance(data, Sequence) and not isinstance(data, str | bytes)
        # a list is many values of a scalar column; for an array column, only a list of lists is many values
        if is_list and (isinstance(spec.type, DataType) or (data and isinstance(data[0], Sequence | Mapping))):
            return [_convert_value(v, spec.type, None) for v in data]
        return _convert_value(data, spec.type, None)
    if isinstance(data, Mapping):
        columnar = all(
            isinstance(data.get(s.name), list | tuple)  # type: ignore[arg-type]
            and (isinstance(s.type, DataType) or _is_list_of_lists(data.get(s.name)))  # type: ignore[arg-type]
            for s in specs
            if s.name in data
        ) and any(s.name in data for s in specs)
        if columnar:
            lengths = {len(v) for k, v in data.items() if k in schema.input_names()}
            if len(lengths) > 1:
                raise InvalidParameterValue(f"Model input columns have different lengths: {sorted(lengths)}.")
            n = lengths.pop() if lengths else 0
            rows = [{k: data[k][i] for k in data if k in schema.input_names()} for i in range(n)]
            checked = [_check_row(r, specs, i) for i, r in enumerate(rows)]
            return {s.name: [r.get(s.name) for r in checked] for s in specs if s.name in data}  # type: ignore[arg-type]
        return _check_row(data, specs, None)
    if isinstance(data, Sequence) and not isinstance(data, str | bytes) and all(isinstance(r, Mapping) for r in data):
        return [_check_row(r, specs, i) for i, r in enumerate(data)]
    raise InvalidParameterValue(
        f"Model input of type {type(data).__name__} does not match a column signature "
        f"({', '.join(repr(n) for n in schema.input_names())}); pass a list of row dicts, a dict of columns "
        "or a pandas DataFrame."
    )


def _is_list_of_lists(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(v, list | tuple) for v in value)


_PANDAS_DTYPES = {
    DataType.boolean: "bool",
    DataType.integer: "int32",
    DataType.long: "int64",
    DataType.float: "float32",
    DataType.double: "float64",
}


def _frame_upcast(col: Any, want: Any) -> bool:
    """MLflow's rule for a DataFrame column: widen within a kind, small ints to double, 0/1 longs to floats."""
    have = col.dtype
    if have.kind == want.kind:
        return bool(have.itemsize <= want.itemsize)
    if have.kind == "u" and want.kind == "i":
        return bool(have.itemsize < want.itemsize)
    if have.kind in "iu" and want.kind == "f" and want.itemsize == 8 and have.itemsize <= 6:
        return True
    if have.kind == "i" and have.itemsize == 8 and want.kind == "f":
        return all(v in (0, 1) for v in col.dropna().tolist())
    return False


def _enforce_frame(df: Any, specs: Sequence[ColSpec]) -> Any:
    names = [s.name for s in specs]
    missing = [s.name for s in specs if s.required and s.name not in df.columns]
    if missing:
        raise InvalidParameterValue(
            f"Model input is missing required column(s) {missing}; the signature expects {names}.",
            column=missing[0],
        )
    present = [n for n in names if n in df.columns]
    out = df[present].copy()
    for spec in specs:
        if spec.name not in out.columns:
            continue
        col = out[spec.name]
        if spec.required and bool(col.isna().any()):
            raise InvalidParameterValue(
                f"Model input column {spec.name!r} has missing values but is required.", column=spec.name
            )
        target = _PANDAS_DTYPES.get(spec.type) if isinstance(spec.type, DataType) else None
        kind = getattr(col.dtype, "kind", "O")
        if target is None:
            if spec.type is DataType.string and kind == "O":
                continue  # MLflow's rule: a column of Python objects passes as a string column, values unchecked
            if isinstance(spec.type, DataType):
                for v in col.tolist():
                    if v is not None:
                        _convert_value(v, spec.type, spec.name)
            continue
        import numpy as np  # a DataFrame is here, so numpy is already imported by pandas

        want = np.dtype(target)
        if col.dtype == want:
            continue
        if kind == "O":  # objects: check each value, then let pandas build the column
            out[spec.name] = [_convert_value(v, spec.type, spec.name) for v in col.tolist()]
            out[spec.name] = out[spec.name].astype(want)
            continue
        if not _frame_upcast(col, want):
            raise InvalidParameterValue(
                f"Incompatible input type for column {spec.name!r}: expected {_type_name(spec.type)}, got dtype "
                f"{col.dtype}, which cannot be converted without changing values. Convert the column (for "
                "example with .astype) before predicting.",
                column=spec.name,
            )
        out[spec.name] = col.astype(want)
    return out


def _numpy() -> Any:
    try:
        import numpy  # a tensor signature means the model works on numpy arrays
    except ImportError:
        raise InvalidParameterValue(
            "This model's signature has tensor inputs, which are numpy arrays: install numpy to predict with it."
        ) from None
    return numpy


def _enforce_tensor(value: Any, spec: TensorSpec) -> Any:
    np = _numpy()

    label = f"tensor {spec.name!r}" if spec.name else "the input tensor"
    want = np.dtype(spec.dtype)
    if not _is_ndarray(value):
        try:
            value = np.asarray(value)
        except (TypeError, ValueError) as exc:
            raise InvalidParameterValue(f"Cannot convert {label} to an array: {exc}") from None
        if value.dtype != want and np.can_cast(value.dtype, want, casting="same_kind"):
            value = value.astype(want)  # plain Python lists carry no dtype of their own
    if value.dtype != want:
        if not np.can_cast(value.dtype, want, casting="safe"):
            raise InvalidParameterValue(
                f"Incompatible dtype for {label}: expected {want}, got {value.dtype}. Convert it with "
                f".astype({str(want)!r}) if that is intended.",
                column=spec.name,
            )
        value = value.astype(want)
    shape = spec.shape
    if len(shape) != value.ndim or any(d != -1 and d != a for d, a in zip(shape, value.shape, strict=True)):
        raise InvalidParameterValue(
            f"Shape of {label} does not match the signature: expected {list(shape)} (-1 = any), "
            f"got {list(value.shape)}.",
            column=spec.name,
        )
    return value


def _enforce_tensors(data: Any, schema: Schema) -> Any:
    specs = [s for s in schema.inputs if isinstance(s, TensorSpec)]
    if not schema.has_input_names():
        return _enforce_tensor(data, specs[0])
    if not isinstance(data, Mapping):
        if len(specs) == 1:
            return _enforce_tensor(data, specs[0])
        raise InvalidParameterValue(
            f"Model input must be a dict of arrays named {[s.name for s in specs]}; got {type(data).__name__}."
        )
    out = {}
    for spec in specs:
        if spec.name not in data:
            raise InvalidParameterValue(
                f"Model input is missing tensor {spec.name!r}; expected {[s.name for s in specs]}.",
                column=spec.name,
            )
        out[spec.name] = _enforce_tensor(data[spec.name], spec)
    return out


def enforce_schema(data: Any, schema: Schema | None) -> Any:
    """Check ``data`` against an input schema, converting safely; returns the data to hand to the model.

    Raises:
        InvalidParameterValue: naming the column, tensor or row at fault.
    """
    if schema is None or not schema.inputs:
        return data
    if schema.is_tensor_spec():
        return _enforce_tensors(data, schema)
    return _enforce_columns(data, schema)


def enforce_params(params: Mapping[str, Any] | None, schema: ParamSchema | None) -> dict[str, Any] | None:
    """Merge ``params`` over the schema's defaults, converting safely.

    As in MLflow, parameters are ignored (with a log message) when the model declares none (the model then gets
    ``{}`` when some were given, ``None`` when none were), and parameters the schema does not name are dropped.

    Raises:
        InvalidParameterValue: naming the parameter whose value has the wrong type or shape.
    """
    if schema is None:
        if params:
            _log.warning("Ignoring params %s: the model's signature declares no parameters.", sorted(params))
        return None if params is None else {}
    given = dict(params or {})
    unknown = sorted(set(given) - {p.name for p in schema})
    if unknown:
        _log.warning("Ignoring params %s: the model's signature does not declare them.", unknown)
    out: dict[str, Any] = {}
    for spec in schema:
        if spec.name not in given:
            out[spec.name] = spec.default
            continue
        value = given[spec.name]
        try:
            if spec.shape is None:
                out[spec.name] = _convert_value(value, spec.dtype, spec.name) if value is not None else None
            else:
                if not isinstance(value, list | tuple) and not _is_ndarray(value):
                    raise _incompatible(spec.name, f"a list of {spec.dtype.value}", value)
                out[spec.name] = [_convert_value(v, spec.dtype, spec.name) for v in value]
        except InvalidParameterValue as exc:
            raise InvalidParameterValue(exc.message.replace("for column", "for parameter"), param=spec.name) from None
    return out
