"""MLflow's scoring protocol, as data: request bodies in, model input out; predictions in, response body out.

The scoring server (`registry.serving.server`) and ``registry load-predict`` share this module, so a file that
works with one works with the other. A JSON request holds exactly one of::

    {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3, 4]]}}
    {"dataframe_records": [{"a": 1, "b": 2}, {"a": 3, "b": 4}]}
    {"instances": [[1, 2], [3, 4]]}            (tensor input; "inputs" is a synonym)

plus an optional ``"params": {...}``, or is MLflow's unified payload for chat, completions and embeddings
models (top-level ``messages``, ``prompt`` or ``input``: see `LLM_KEYS`); a CSV body is a header row and
data rows. Values are read as the model's signature declares its columns (`registry.serving.columns`).
Tabular input reaches the model as a pandas DataFrame when pandas is installed (what MLflow's server gives
models), else as a list of row dicts (what this library's pyfunc models accept without pandas);
``input_format`` forces one or the other.

Everything here is pure: no sockets, no files. Malformed input raises
`InvalidParameterValue` with a message that names the problem, and nothing else: the
input is bounded before it reaches code that could fail in other ways. JSON may nest at most
`MAX_JSON_DEPTH` levels and hold integers of at most `MAX_NUMBER_DIGITS` digits; a CSV field may
hold at most ``csv.field_size_limit()`` characters (131,072 by default); a tensor (``instances``, ``inputs``)
must be rectangular (every row of a level the same length) and must not mix text, numbers and objects.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import math
from collections.abc import Collection, Mapping
from typing import Any

import attrs

from registry.errors import InvalidParameterValue
from registry.models.signature import Schema
from registry.serving import columns

__all__ = [
    "INPUT_FORMATS",
    "INPUT_KEYS",
    "LLM_KEYS",
    "MAX_JSON_DEPTH",
    "MAX_NUMBER_DIGITS",
    "ScoringInput",
    "encode_predictions",
    "jsonable",
    "model_input_schema",
    "model_param_names",
    "parse_csv",
    "parse_json",
    "parse_request",
    "to_model_input",
]

INPUT_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
"""The keys of a JSON scoring request, one of which must be present."""

LLM_KEYS = ("messages", "prompt", "input")
"""Top-level keys that make a JSON request MLflow's unified payload for chat, completions and embeddings models:
the request goes to the model as it is, minus the keys its parameter schema names (those become ``params``),
and the model's output is answered unwrapped (no ``predictions`` key)."""

INPUT_FORMATS = ("auto", "pandas", "records")
"""How tabular input reaches the model: ``auto`` (pandas when installed), ``pandas``, or ``records``."""

MAX_JSON_DEPTH = 64
"""The deepest nesting of arrays and objects a JSON request may have (the request object itself is level 1)."""

MAX_NUMBER_DIGITS = 100
"""The most digits an integer in a request may have (converting a longer one costs time quadratic in its size)."""


@attrs.frozen
class ScoringInput:
    """A parsed scoring request.

    ``kind`` is the request key (``dataframe_split``, ``dataframe_records``, ``instances``, ``inputs``),
    ``csv``, or ``llm`` for MLflow's unified chat/completions/embeddings payload. Tabular kinds hold ``columns``
    (in request order) and ``records`` (row dicts); tensor kinds hold ``tensor`` (the JSON value as sent), and
    ``llm`` holds the request object there, without the keys that became ``params``. ``params`` are the
    inference parameters, or ``None``.
    """

    kind: str
    columns: list[Any] = attrs.field(factory=list)
    records: list[dict[Any, Any]] = attrs.field(factory=list)
    tensor: Any = None
    params: dict[str, Any] | None = None
    text: list[dict[Any, str | None]] | None = None  # CSV only: the cells as written

    @property
    def tabular(self) -> bool:
        return self.kind in ("dataframe_split", "dataframe_records", "csv")

    @property
    def unwrapped(self) -> bool:
        """Whether the answer is the model's output as it is (unified payloads), not ``{"predictions": ...}``."""
        return self.kind == "llm"


def _bad(message: str) -> InvalidParameterValue:
    return InvalidParameterValue(message)


_JSON_TYPES = ("application/json", "application/*", "*/*", "")


def media_type(content_type: str | None) -> str:
    """The media type of a Content-Type header, lower case, without parameters (none means JSON)."""
    return (content_type or "application/json").split(";", 1)[0].strip().lower()


def is_supported(content_type: str | None) -> bool:
    """Whether requests of this Content-Type can be scored: JSON or CSV, with no parameter but ``charset``
    (as MLflow's server: ``application/json; format=pandas-split`` is refused, not guessed at)."""
    media = media_type(content_type)
    for parameter in (content_type or "").split(";")[1:]:
        if parameter.strip() and parameter.split("=", 1)[0].strip().lower() != "charset":
            return False
    return media == "text/csv" or media in _JSON_TYPES


def unsupported(content_type: str | None) -> str:
    """What is wrong with a Content-Type `is_supported()` refuses, and what to send instead."""
    media = media_type(content_type)
    extra = [
        p.split("=", 1)[0].strip()
        for p in (content_type or "").split(";")[1:]
        if p.strip() and p.split("=", 1)[0].strip().lower() != "charset"
    ]
    if extra and (media == "text/csv" or media in _JSON_TYPES):
        return (
            f"Unsupported content type parameter(s) {', '.join(extra)} in {content_type!r}: JSON and CSV take "
            "no parameter but charset."
        )
    return f"Unsupported content type {media!r}: send application/json or text/csv."


def parse_request(body: bytes, content_type: str | None, *, param_names: Collection[str] = ()) -> ScoringInput:
    """Parse a request body by its content type (``application/json`` or ``text/csv``; none means JSON).

    ``param_names`` are the parameters the model's signature declares: in a unified payload (see
    `LLM_KEYS`) those top-level keys become ``params``.

    Raises:
        InvalidParameterValue: an unsupported content type, or a malformed body.
    """
    media = media_type(content_type)
    if media == "text/csv":
        return parse_csv(_decode(body))
    if media in _JSON_TYPES:
        return parse_json(_decode(body), param_names=param_names)
    raise _bad(f"Unsupported content type {media!r}: send application/json or text/csv.")


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad(f"The request body is not UTF-8 text ({exc.reason} at byte {exc.start}).") from None


class _NumberTooLong(Exception):
    pass


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _NumberTooLong(text)
    return int(text)


def _check_depth(payload: Any, text: str) -> None:
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return  # cannot nest deeper than it has brackets: most requests never pay for the walk
    pending: list[tuple[Any, int]] = [(payload, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise _bad(f"The JSON input nests deeper than {MAX_JSON_DEPTH} levels of arrays and objects.")
        children = value.values() if isinstance(value, dict) else value
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def _load_json(text: str) -> Any:
    try:
        payload = json.loads(text, parse_int=_bounded_int)
    except json.JSONDecodeError as exc:
        raise _bad(f"Malformed JSON input: {exc.msg} at line {exc.lineno} column {exc.colno}.") from None
    except _NumberTooLong as exc:
        raise _bad(
            f"The JSON input holds an integer of {len(str(exc))} digits; at most {MAX_NUMBER_DIGITS} are accepted."
        ) from None
    except RecursionError:
        raise _bad(f"The JSON input nests deeper than {MAX_JSON_DEPTH} levels of arrays and objects.") from None
    if isinstance(payload, dict | list):
        _check_depth(payload, text)
    return payload


def parse_json(text: str, *, param_names: Collection[str] = ()) -> ScoringInput:
    """Parse a JSON scoring request (see the module docstring for the accepted shapes, and `LLM_KEYS`
    for the unified payload, whose top-level keys named in ``param_names`` become ``params``)."""
    payload = _load_json(text)
    if not isinstance(payload, dict):
        raise _bad(
            f"The JSON input must be an object with exactly one of the keys {', '.join(INPUT_KEYS)}; got a "
            f"{type(payload).__name__}."
        )
    if any(key in payload for key in LLM_KEYS):
        # As MLflow's server: a unified payload wins over the other keys, which go to the model with it.
        names = set(param_names)
        data = {k: v for k, v in payload.items() if k not in names}
        return ScoringInput("llm", tensor=data, params={k: v for k, v in payload.items() if k in names})
    present = [k for k in INPUT_KEYS if k in payload]
    unknown = sorted(set(payload) - set(INPUT_KEYS) - {"params"})
    if len(present) != 1 or unknown:
        found = ", ".join(sorted(payload)) or "none"
        raise _bad(
            f"The JSON input must have exactly one of the keys {', '.join(INPUT_KEYS)} (and optionally "
            f"'params'); it has: {found}."
        )
    params = payload.get("params")
    if params is not None and not isinstance(params, dict):
        raise _bad(f"'params' must be a JSON object of parameter names to values, not a {type(params).__name__}.")
    kind = present[0]
    value = payload[kind]
    if kind == "dataframe_split":
        columns, records = _split(value)
        return ScoringInput(kind, columns=columns, records=records, params=params)
    if kind == "dataframe_records":
        columns, records = _records(value)
        return ScoringInput(kind, columns=columns, records=records, params=params)
    if not isinstance(value, list | dict) or not value:
        raise _bad(f"'{kind}' must be a non-empty list (or an object of named lists) of values.")
    if isinstance(value, list) and all(isinstance(row, dict) and set(row) == set(value[0]) for row in value):
        value = _columns_of_rows(value)  # rows naming the same inputs: one named input each, as MLflow's server
    if isinstance(value, dict):
        for name, tensor in value.items():
            _check_tensor(tensor, f"{kind}.{name}")
    else:
        _check_tensor(value, kind)
    return ScoringInput(kind, tensor=value, params=params)


def _columns_of_rows(rows: list[dict[Any, Any]]) -> dict[Any, list[Any]]:
    """``[{"a": [1, 2], "b": 3}, {"a": [3, 4], "b": 5}]`` (rows naming the same inputs) as
    ``{"a": [[1, 2], [3, 4]], "b": [3, 5]}``; rows naming different ones stay a list of objects."""
    return {name: [row[name] for row in rows] for name in rows[0]}


def _element_kind(value: Any) -> str | None:
    if value is None:
        return None  # a missing value fits any tensor
    if isinstance(value, bool | int | float):
        return "numbers"
    if isinstance(value, str):
        return "text"
    return "objects"


def _check_tensor(value: Any, where: str) -> None:
    """Refuse a ragged tensor (rows of one level of different lengths) or one mixing text, numbers, objects."""
    level = [value]
    depth = 0
    while True:
        lists = [item for item in level if isinstance(item, list)]
        if not lists:
            break
        if len(lists) != len(level):
            raise _bad(f"'{where}' is ragged: at depth {depth} it mixes lists and single values.")
        lengths = sorted({len(item) for item in lists})
        if len(lengths) > 1:
            raise _bad(
                f"'{where}' is ragged: at depth {depth + 1} its rows have different lengths "
                f"({', '.join(map(str, lengths[:5]))}); a tensor needs rows of one length."
            )
        level = [element for item in lists for element in item]
        depth += 1
    kinds = sorted({kind for kind in map(_element_kind, level) if kind is not None})
    if len(kinds) > 1:
        raise _bad(f"'{where}' mixes {' and '.join(kinds)}; a tensor holds values of one kind.")


def _split(value: Any) -> tuple[list[Any], list[dict[Any, Any]]]:
    if not isinstance(value, dict):
        raise _bad("'dataframe_split' must be an object with 'columns' and 'data' (and optionally 'index').")
    extra = sorted(set(value) - {"columns", "data", "index"})
    if extra:
        raise _bad(f"'dataframe_split' has unexpected keys {extra}; it takes 'columns', 'data' and 'index'.")
    data = value.get("data")
    if not isinstance(data, list):
        raise _bad("'dataframe_split.data' must be a list of rows (each a list of values).")
    width = len(data[0]) if data and isinstance(data[0], list) else 0
    columns = value.get("columns", list(range(width)))
    if not isinstance(columns, list) or not all(isinstance(c, str | int) for c in columns):
        raise _bad("'dataframe_split.columns' must be a list of column names.")
    if len(set(columns)) != len(columns):
        raise _bad(f"'dataframe_split.columns' names a column twice: {columns}.")
    records = []
    for i, row in enumerate(data):
        if not isinstance(row, list):
            raise _bad(f"Row {i} of 'dataframe_split.data' is a {type(row).__name__}, not a list of values.")
        if len(row) != len(columns):
            raise _bad(
                f"Row {i} of 'dataframe_split.data' has {len(row)} values but there are {len(columns)} columns "
                f"({', '.join(map(str, columns))})."
            )
        records.append(dict(zip(columns, row, strict=True)))
    index = value.get("index")
    if index is not None and (not isinstance(index, list) or len(index) != len(data)):
        length = len(index) if isinstance(index, list) else type(index).__name__
        raise _bad(
            f"'dataframe_split.index' must list one label per row: {length} labels for {len(data)} rows, so "
            "this is not a valid frame."
        )
    return columns, records


def _records(value: Any) -> tuple[list[Any], list[dict[Any, Any]]]:
    if not isinstance(value, list):
        raise _bad("'dataframe_records' must be a list of objects, one per row.")
    columns: dict[Any, None] = {}
    for i, row in enumerate(value):
        if not isinstance(row, dict):
            raise _bad(f"Row {i} of 'dataframe_records' is a {type(row).__name__}, not an object.")
        columns.update(dict.fromkeys(row))
    return list(columns), [dict(r) for r in value]


def parse_csv(text: str) -> ScoringInput:
    """Parse CSV with a header row. Each column is read as pandas reads it: integers if every cell is one,
    else numbers if every cell is one, else booleans if every cell is ``True`` or ``False``, else text; empty
    cells are ``None``. The cells' text is kept too (``text``), for columns a signature declares as strings."""
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise _bad(f"Malformed CSV input: {exc} (a field holds at most {csv.field_size_limit()} characters).") from None
    rows = [r for r in rows if r]
    if not rows:
        raise _bad("The CSV input is empty: send a header row of column names, then one row per input.")
    header = rows[0]
    if len(set(header)) != len(header):
        raise _bad(f"The CSV header names a column twice: {header}.")
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise _bad(f"CSV row {line} has {len(row)} values but the header has {len(header)} columns.")
    cells = [[row[i] or None for row in rows[1:]] for i in range(len(header))]
    typed = [_column(column) for column in cells]
    records = [dict(zip(header, values, strict=True)) for values in zip(*typed, strict=True)] if typed else []
    texts = [dict(zip(header, values, strict=True)) for values in zip(*cells, strict=True)] if cells else []
    return ScoringInput("csv", columns=header, records=records, text=texts)


_TRUE = ("True", "TRUE", "true")
_FALSE = ("False", "FALSE", "false")


def _column(cells: list[str | None]) -> list[Any]:
    """One CSV column's cells as pandas' reader types them: one type for the whole column."""
    present = [c for c in cells if c is not None]
    if not present:
        return list(cells)
    # No number is written longer (converting one costs time); Python reads "1_000" as a number, pandas does not.
    if all(len(c) <= MAX_NUMBER_DIGITS and "_" not in c for c in present):
        for convert in (int, float):
            try:
                return [convert(c) if c is not None else None for c in cells]
            except ValueError:
                pass
    if all(c in _TRUE or c in _FALSE for c in present):
        return [c in _TRUE if c is not None else None for c in cells]
    return list(cells)


def model_input_schema(model: Any) -> Schema | None:
    """The input schema of a loaded model's signature, if it has one (a custom loader's model may not)."""
    return getattr(getattr(getattr(model, "metadata", None), "signature", None), "inputs", None)


def model_param_names(model: Any) -> list[str]:
    """The parameters a loaded model's signature declares (none for a model without a parameter schema)."""
    params = getattr(getattr(getattr(model, "metadata", None), "signature", None), "params", None)
    return [spec.name for spec in params] if params is not None else []


def _have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def to_model_input(parsed: ScoringInput, input_format: str = "auto", schema: Schema | None = None) -> Any:
    """The value to hand to ``model.predict``: a DataFrame or row dicts for tabular input, arrays or lists else.

    With the model's input ``schema`` (its signature's inputs), values are read as the declared column types
    (see `registry.serving.columns`), as MLflow's scoring server does; and ``instances`` or ``inputs``
    given by column name (a dict of columns, or rows naming the same columns) become tabular input where the
    signature names columns, as in MLflow: a DataFrame, or row dicts without pandas. A unified payload goes to
    the model as the dict it is.

    Raises:
        InvalidParameterValue: ``input_format`` is unknown, ``pandas`` is asked for and not installed, or a
            value cannot be read as its column's declared type.
    """
    if input_format not in INPUT_FORMATS:
        raise InvalidParameterValue(f"Unknown input format {input_format!r}; use one of {', '.join(INPUT_FORMATS)}.")
    if parsed.kind == "llm":
        return parsed.tensor
    use_pandas = input_format == "pandas" or (input_format == "auto" and _have("pandas"))
    column_names, rows = parsed.columns, parsed.records
    if parsed.text is not None:
        rows = columns.text_for_strings(rows, parsed.text, schema)
    tabular = parsed.tabular
    if not tabular and columns.declared_types(schema) and isinstance(parsed.tensor, dict):
        column_names, rows = _rows_of_columns(parsed.kind, parsed.tensor)
        tabular = True
    if tabular:
        records = columns.read_records(rows, schema)
        if not use_pandas:
            return records
        if not _have("pandas"):
            raise InvalidParameterValue("input_format='pandas' needs pandas; install it or use 'records'.")
        import pandas as pd

        try:
            frame = pd.DataFrame.from_records(records, columns=column_names)
        except (ValueError, TypeError) as exc:
            raise _bad(f"The input does not make a table: {exc}") from None
        return columns.read_frame_columns(frame, schema, from_csv=parsed.kind == "csv")
    if use_pandas and _have("numpy"):
        # MLflow's server turns tensor input into numpy arrays (a dict of them for named inputs).
        import numpy as np

        try:
            if isinstance(parsed.tensor, dict):
                return {k: np.asarray(v) for k, v in parsed.tensor.items()}
            return np.asarray(parsed.tensor)
        except (ValueError, TypeError, OverflowError) as exc:
            raise _bad(f"The '{parsed.kind}' input does not make an array: {exc}") from None
    return parsed.tensor


def _rows_of_columns(kind: str, tensor: dict[Any, Any]) -> tuple[list[Any], list[dict[Any, Any]]]:
    """``{"a": [1, 2], "b": [3, 4]}`` as rows ``[{"a": 1, "b": 3}, {"a": 2, "b": 4}]``; a dict of single values
    is one row."""
    names = list(tensor)
    values = list(tensor.values())
    if not any(isinstance(v, list) for v in values):
        return names, [dict(tensor)]
    if not all(isinstance(v, list) for v in values) or len({len(v) for v in values}) > 1:
        lengths = sorted({len(v) if isinstance(v, list) else 1 for v in values})
        raise _bad(
            f"The columns of '{kind}' have different lengths ({', '.join(map(str, lengths))}); each column needs "
            "one value per row."
        )
    return names, [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]


def jsonable(value: Any) -> Any:
    """``value`` as JSON types: DataFrames become row dicts, arrays and Series lists, NaN ``None``.

    Raises:
        TypeError: for a value with no JSON form (the message names its type).
    """
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    module = type(value).__module__.split(".", 1)[0]
    if module == "pandas" and hasattr(value, "to_dict") and hasattr(value, "columns"):
        return jsonable(value.to_dict(orient="records"))
    if module in ("numpy", "pandas") and hasattr(value, "tolist"):
        return jsonable(value.tolist())
    if module == "numpy" and hasattr(value, "item"):
        return jsonable(value.item())
    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    raise TypeError(f"The model returned a {kind}, which has no JSON form.")


def encode_predictions(predictions: Any, *, unwrapped: bool = False) -> bytes:
    """The response body MLflow's server sends: ``{"predictions": ...}`` as UTF-8 JSON, or the output itself
    for a unified payload (``unwrapped``)."""
    body = jsonable(predictions) if unwrapped else {"predictions": jsonable(predictions)}
    return json.dumps(body, allow_nan=False).encode()
