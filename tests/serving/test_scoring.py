"""MLflow's scoring protocol as data: request parsing and response encoding (no sockets)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.errors import InvalidParameterValue
from registry.models.signature import ColSpec, DataType, Schema
from registry.serving.scoring import (
    ScoringInput,
    encode_predictions,
    jsonable,
    parse_csv,
    parse_json,
    parse_request,
    to_model_input,
)

names = st.text(st.characters(categories=("L", "N")), min_size=1, max_size=8)
values = st.one_of(st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.text(max_size=8))


@given(
    st.lists(names, min_size=1, max_size=5, unique=True).flatmap(
        lambda cols: st.tuples(
            st.just(cols), st.lists(st.lists(values, min_size=len(cols), max_size=len(cols)), max_size=6)
        )
    )
)
def test_split_and_records_describe_the_same_rows(table: tuple[list[str], list[list[Any]]]) -> None:
    columns, data = table
    split = parse_json(json.dumps({"dataframe_split": {"columns": columns, "data": data}}))
    records = [dict(zip(columns, row, strict=True)) for row in data]
    assert split == ScoringInput("dataframe_split", columns=columns, records=records)
    assert to_model_input(split, "records") == records
    if records:
        assert parse_json(json.dumps({"dataframe_records": records})).records == records


def test_split_without_columns_numbers_them() -> None:
    parsed = parse_json('{"dataframe_split": {"data": [[1, 2]]}}')
    assert parsed.columns == [0, 1] and parsed.records == [{0: 1, 1: 2}]


def test_params_and_tensors() -> None:
    parsed = parse_json('{"instances": [[1, 2]], "params": {"k": 3}}')
    assert (parsed.kind, parsed.tensor, parsed.params, parsed.tabular) == ("instances", [[1, 2]], {"k": 3}, False)
    assert to_model_input(parsed, "records") == [[1, 2]]


def test_csv_cells_are_typed() -> None:
    parsed = parse_csv('a,b,c\n1,2.5,x\n,"q,r",3\n')
    # a column is typed as a whole, as pandas reads CSV: "2.5" next to "q,r" stays text
    assert parsed.records == [{"a": 1, "b": "2.5", "c": "x"}, {"a": None, "b": "q,r", "c": "3"}]
    columns = parse_csv("i,f,b,t\n1,1,True,1_000\n2,2.5,false,x\n").records
    assert columns == [{"i": 1, "f": 1.0, "b": True, "t": "1_000"}, {"i": 2, "f": 2.5, "b": False, "t": "x"}]
    assert parse_request(b"a\n1\n", "text/csv; charset=utf-8").records == [{"a": 1}]
    assert parse_request(b'{"inputs": [1]}', None).tensor == [1]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('{"dataframe_split": {"columns": ["a", "a"], "data": []}}', "names a column twice"),
        ('{"dataframe_split": {"columns": "a", "data": []}}', "list of column names"),
        ('{"dataframe_split": {"columns": ["a"], "data": [1]}}', "Row 0"),
        ('{"dataframe_split": {"columns": ["a"], "data": [[1]], "extra": 1}}', "unexpected keys"),
        ('{"dataframe_split": {"columns": ["a"], "data": {}}}', "list of rows"),
        ('{"dataframe_records": {"a": 1}}', "list of objects"),
        ('{"instances": []}', "non-empty"),
        ('{"inputs": 3}', "non-empty"),
        ('{"inputs": [1], "extra": 2}', "it has: extra, inputs"),
    ],
)
def test_malformed_requests_say_what_is_wrong(text: str, fragment: str) -> None:
    with pytest.raises(InvalidParameterValue, match=fragment):
        parse_json(text)


def test_csv_header_twice() -> None:
    with pytest.raises(InvalidParameterValue, match="twice"):
        parse_csv("a,a\n1,2\n")


def test_unknown_input_format() -> None:
    with pytest.raises(InvalidParameterValue, match="Unknown input format"):
        to_model_input(ScoringInput("csv"), "arrow")


def test_jsonable_and_encoding() -> None:
    assert jsonable({1: (1.5, math.nan, math.inf), "s": [True, None]}) == {"1": [1.5, None, None], "s": [True, None]}
    assert json.loads(encode_predictions([1, 2])) == {"predictions": [1, 2]}
    with pytest.raises(TypeError, match="no JSON form"):
        jsonable(object())


def test_numpy_values_become_json() -> None:
    np = pytest.importorskip("numpy")
    assert jsonable(np.array([[1, 2]], dtype=np.int64)) == [[1, 2]]
    assert jsonable(np.float32(0.5)) == 0.5
    assert jsonable([np.nan]) == [None]


def test_pandas_frames_when_installed() -> None:
    pd = pytest.importorskip("pandas")
    parsed = parse_json('{"dataframe_split": {"columns": ["b", "a"], "data": [[1, 2]]}}')
    frame = to_model_input(parsed, "pandas")
    assert list(frame.columns) == ["b", "a"]
    assert jsonable(pd.DataFrame({"x": [1.0]})) == [{"x": 1.0}]
    assert jsonable(pd.Series([1, 2])) == [1, 2]


def test_pandas_format_needs_pandas() -> None:
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(InvalidParameterValue, match="needs pandas"):
            to_model_input(parse_csv("a\n1\n"), "pandas")
    else:
        pytest.skip("pandas is installed")


def test_auto_without_pandas_gives_row_dicts_and_plain_tensors() -> None:
    try:
        import pandas  # noqa: F401
    except ImportError:
        assert to_model_input(parse_csv("a\n1\n"), "auto") == [{"a": 1}]
        assert to_model_input(parse_json('{"instances": [1]}'), "auto") == [1]
    else:
        pytest.skip("pandas is installed")


TYPED = Schema(
    [
        ColSpec(DataType.double, "d"),
        ColSpec(DataType.integer, "i"),
        ColSpec(DataType.long, "n"),
        ColSpec(DataType.boolean, "b"),
        ColSpec(DataType.string, "s"),
    ]
)


def test_values_are_read_as_the_signatures_types_as_mlflows_server_reads_them() -> None:
    csv_rows = to_model_input(parse_csv("d,i,n,b,s\n2,7,3,True,5\n1,0,-4,false,x\n"), "records", TYPED)
    assert csv_rows == [
        {"d": 2.0, "i": 7, "n": 3, "b": True, "s": "5"},  # a string column keeps the text, as MLflow
        {"d": 1.0, "i": 0, "n": -4, "b": False, "s": "x"},
    ]
    assert isinstance(csv_rows[0]["d"], float) and csv_rows[0]["b"] is True
    body = '{"dataframe_split": {"columns": ["d", "i", "b"], "data": [[2, 3.0, true], [0, 1, false]]}}'
    assert to_model_input(parse_json(body), "records", TYPED) == [
        {"d": 2.0, "i": 3, "b": True},
        {"d": 0.0, "i": 1, "b": False},
    ]
    assert to_model_input(parse_csv("d\n2\n"), "records") == [{"d": 2}]  # no signature: as parsed


@pytest.mark.parametrize(
    ("csv_text", "column", "why"),
    [
        ("d\nabc\n", "d", "cannot be read as one"),
        ("i\n1.5\n", "i", "losing its fraction"),  # MLflow's cast would truncate it to 1
        ("b\nmaybe\n", "b", "true or false"),  # MLflow's cast makes any non-empty text True
        (f"i\n{2**31}\n", "i", "32 bits"),  # MLflow's cast wraps it around
    ],
)
def test_a_value_its_declared_type_cannot_hold_is_refused_naming_the_column(
    csv_text: str, column: str, why: str
) -> None:
    with pytest.raises(InvalidParameterValue, match=f"column '{column}'.*{why}"):
        to_model_input(parse_csv(csv_text), "records", TYPED)


def test_with_pandas_integer_columns_are_int32() -> None:
    pytest.importorskip("pandas", reason="pandas is not installed")
    frame = to_model_input(parse_csv("d,i\n2,7\n1,0\n"), "pandas", TYPED)
    assert (str(frame["d"].dtype), str(frame["i"].dtype)) == ("float64", "int32")


def test_instances_of_row_dicts_become_named_inputs_as_in_mlflow() -> None:
    rows = '{"instances": [{"a": [1, 2], "b": 3}, {"a": [3, 4], "b": 5}]}'
    assert to_model_input(parse_json(rows), "records") == {"a": [[1, 2], [3, 4]], "b": [3, 5]}
    assert to_model_input(parse_json('{"inputs": {"a": [1, 2], "b": [3, 4]}}'), "records") == {"a": [1, 2], "b": [3, 4]}
    assert parse_json('{"instances": [{"a": 1}, {"b": 2}]}').tensor == [{"a": 1}, {"b": 2}]  # not named inputs
    with pytest.raises(InvalidParameterValue, match="ragged"):
        parse_json('{"instances": [{"a": [1, 2]}, {"a": [3]}]}')


def test_jsonable_is_identity_on_json() -> None:
    doc = {"a": [1, "x", None, {"b": False}]}
    assert jsonable(doc) == doc


# -- hostile input: every malformed body is an InvalidParameterValue, never another exception (issue 11) ---------


@pytest.mark.parametrize(
    ("body", "content_type", "fragment"),
    [
        ('{"dataframe_records": [{"x": ' + "9" * 5000 + "}]}", "application/json", "digits"),
        ('{"dataframe_records": [{"x": -' + "9" * 101 + "}]}", "application/json", "digits"),
        ('{"inputs": ' + "[" * 100_000 + "]" * 100_000 + "}", "application/json", "nests deeper"),
        (
            '{"inputs": [1], "params": ' + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "}",
            "application/json",
            "nests deeper",
        ),
        ('{"inputs": [1], "params": ' + '{"a": ' * 70 + "1" + "}" * 70 + "}", "application/json", "nests deeper"),
        ('{"instances": [[1], [1, 2]]}', "application/json", "ragged"),
        ('{"inputs": {"a": [[1], [1, 2]]}}', "application/json", "ragged"),
        ('{"inputs": [[1], 2]}', "application/json", "ragged"),
        ('{"inputs": [[[1, 2]], [[1]]]}', "application/json", "ragged"),
        ('{"instances": ["a", 1]}', "application/json", "mixes numbers and text"),
        ('{"inputs": {"a": [[1, "x"]]}}', "application/json", "mixes numbers and text"),
        ("x\n" + "1" * 131_073 + "\n", "text/csv", "field"),
        ('x\n"unterminated\n', "text/csv", None),
    ],
    ids=[
        "long-int",
        "long-negative-int",
        "deep-inputs",
        "deep-params",
        "params-over-limit",
        "ragged-instances",
        "ragged-named",
        "list-and-scalar",
        "ragged-deeper",
        "mixed",
        "mixed-named",
        "csv-field",
        "csv-quote",
    ],
)
def test_hostile_bodies_are_invalid_parameters(body: str, content_type: str, fragment: str | None) -> None:
    try:
        parsed = parse_request(body.encode(), content_type)
        to_model_input(parsed, "auto")
    except InvalidParameterValue as exc:
        assert fragment is None or fragment in str(exc), str(exc)
    else:
        assert fragment is None, "accepted"


def test_bounded_inputs_still_parse() -> None:
    deep = '{"inputs": [1], "params": ' + '{"a": ' * 62 + "1" + "}" * 62 + "}"
    assert parse_json(deep).params is not None
    assert parse_json('{"dataframe_records": [{"x": ' + "9" * 100 + "}]}").records == [{"x": int("9" * 100)}]
    assert parse_json('{"instances": [[1, 2.5], [null, true]]}').tensor == [[1, 2.5], [None, True]]
    assert parse_json('{"instances": [{"a": 1}, {"b": "x"}]}').tensor == [{"a": 1}, {"b": "x"}]
    assert parse_json('{"inputs": {"a": [1, 2], "b": ["x"]}}').tensor == {"a": [1, 2], "b": ["x"]}
    assert parse_json('{"inputs": [[], []]}').tensor == [[], []]
    assert parse_csv("x\n" + "1" * 200 + "\n").records == [{"x": "1" * 200}]  # too long for a number: text


def test_hostile_tensors_with_numpy() -> None:
    pytest.importorskip("numpy")
    assert to_model_input(parse_json('{"instances": [' + str(10**30) + "]}"), "pandas").tolist() == [10**30]
