"""Request values read as the types a model's signature declares, as MLflow's scoring server reads them.

JSON has numbers, strings and booleans; CSV has only text. MLflow's server casts each column named in the
model's signature to the declared type before the model sees it, so ``1`` reaches a ``double`` column as
``1.0``, ``"True"`` from a CSV reaches a ``boolean`` column as ``True``, a base64 string reaches a ``binary``
column as bytes and an ISO 8601 string reaches a ``datetime`` column as a datetime. This module does the same,
with one difference: where MLflow's cast would change a value (``2.5`` into a ``long`` column becomes ``2``,
``"yes"`` into a ``boolean`` becomes ``True``, ``3000000000`` into an ``integer`` wraps around), the value is
refused, naming the column, instead of silently replaced. Numbers sent to a ``string`` column reach the model
unchanged, as in MLflow (in a column of Python objects when pandas is used).

Pure, except that it touches pandas when it is handed a DataFrame.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import math
import re
from typing import Any

from registry.errors import InvalidParameterValue
from registry.models.signature import ColSpec, DataType, Schema

__all__ = ["declared_types", "read_frame_columns", "read_records", "read_value", "text_for_strings"]

_INT32 = (-(2**31), 2**31 - 1)
_FLOAT32_MAX = 3.4028234663852886e38
_INTEGER = re.compile(r"[+-]?[0-9]{1,30}")
_NUMBERS = (DataType.double, DataType.float)
_INTEGERS = (DataType.integer, DataType.long)


def declared_types(schema: Schema | None) -> dict[str, DataType]:
    """The scalar column types a schema names (tensor specs and array/object columns are left alone)."""
    if schema is None or schema.is_tensor_spec():
        return {}
    return {
        s.name: s.type
        for s in schema.inputs
        if isinstance(s, ColSpec) and s.name is not None and isinstance(s.type, DataType)
    }


def _refuse(column: str, t: DataType, value: Any, why: str = "") -> InvalidParameterValue:
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return InvalidParameterValue(
        f"Data is not compatible with the model's signature: column {column!r} is declared {t.value}, and "
        f"{shown} cannot be read as one{why}. Send a value of that type.",
        column=column,
    )


def read_value(value: Any, t: DataType, column: str) -> Any:
    """One JSON or CSV value read as the declared type, or refused when that would change it.

    Raises:
        InvalidParameterValue: the value cannot be read as ``t`` without changing it.
    """
    if value is None or t is DataType.string:
        return value  # a missing value is the signature's business; anything reaches a string column as sent
    if isinstance(value, list | dict):
        raise _refuse(column, t, value)
    if t is DataType.boolean:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise _refuse(column, t, value, " (send true or false)")
    if t in _INTEGERS:
        number: Any = value
        if isinstance(value, bool):
            raise _refuse(column, t, value)
        if isinstance(value, str):
            if not _INTEGER.fullmatch(value.strip()):
                raise _refuse(column, t, value)
            number = int(value.strip())
        elif isinstance(value, float):
            if not value.is_integer():
                raise _refuse(column, t, value, " without losing its fraction")
            number = int(value)
        if t is DataType.integer and not _INT32[0] <= number <= _INT32[1]:
            raise _refuse(column, t, value, " (it does not fit in 32 bits; declare the column long)")
        if t is DataType.long and not -(2**63) <= number < 2**63:
            raise _refuse(column, t, value, " (it does not fit in 64 bits)")
        return number
    if t in _NUMBERS:
        if isinstance(value, bool):
            raise _refuse(column, t, value)
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            raise _refuse(column, t, value) from None
        if t is DataType.float and math.isfinite(number) and abs(number) > _FLOAT32_MAX:
            raise _refuse(column, t, value, " (it is beyond the range of a 32-bit float; declare it double)")
        return number
    if t is DataType.binary:
        if isinstance(value, bytes):
            return value
        if isinstance(value, str):
            try:
                return base64.b64decode(value, validate=True)  # MLflow's protocol sends bytes as base64
            except (binascii.Error, ValueError):
                pass
        raise _refuse(column, t, value, " (send bytes as base64 text)")
    if t is DataType.datetime:
        if isinstance(value, str):
            try:
                return _dt.datetime.fromisoformat(value.strip())
            except ValueError:
                pass
        raise _refuse(column, t, value, " (send an ISO 8601 date or time, such as 2026-01-31T12:00:00)")
    return value


def read_records(records: list[dict[Any, Any]], schema: Schema | None) -> list[dict[Any, Any]]:
    """Row dicts with the values of declared columns read as their types (see `read_value()`).

    Raises:
        InvalidParameterValue: a value that cannot be read as its column's type, naming the column.
    """
    declared = declared_types(schema)
    if not declared:
        return [dict(r) for r in records]
    return [{k: read_value(v, declared[k], k) if k in declared else v for k, v in r.items()} for r in records]


def text_for_strings(
    records: list[dict[Any, Any]], text: list[dict[Any, str | None]], schema: Schema | None
) -> list[dict[Any, Any]]:
    """CSV rows with the cells of every column declared ``string`` as written (``007`` stays ``"007"``), as
    MLflow's server reads CSV with the signature's types; other columns as typed from their text."""
    strings = [name for name, t in declared_types(schema).items() if t is DataType.string]
    if not strings:
        return records
    return [{**row, **{k: cells[k] for k in strings if k in cells}} for row, cells in zip(records, text, strict=True)]


_FRAME_DTYPES = {DataType.integer: "int32", DataType.float: "float32", DataType.boolean: "bool"}


def read_frame_columns(frame: Any, schema: Schema | None, *, from_csv: bool = False) -> Any:
    """A DataFrame built from `read_records()` output, with the dtypes MLflow's server gives its columns:
    ``integer`` as int32, ``float`` as float32, ``boolean`` as bool, ``datetime`` as datetime64[ns], and a
    ``string`` column holding anything but text (or any ``string`` column of a CSV, which MLflow reads with
    ``dtype=object``) as Python objects. A column with missing values keeps the dtype pandas chose, for the
    signature's checks to judge."""
    import pandas as pd

    for name, t in declared_types(schema).items():
        if name not in frame.columns:
            continue
        col = frame[name]
        if bool(col.isna().any()):
            continue
        if t in _FRAME_DTYPES:
            frame[name] = col.astype(_FRAME_DTYPES[t])
        elif t is DataType.datetime:
            try:
                parsed = pd.to_datetime(col)
            except (TypeError, ValueError) as exc:  # mixed time zones, say
                raise _refuse(name, t, col.iloc[0], f" ({exc})") from None
            if getattr(getattr(parsed, "dt", None), "tz", None) is None and hasattr(parsed.dt, "as_unit"):
                parsed = parsed.dt.as_unit("ns")
            frame[name] = parsed
        elif t is DataType.string and (from_csv or col.dtype.kind in "biufc"):  # objects, as MLflow casts them
            frame[name] = col.astype(object)
    return frame
