"""The README's "Search" section: its Python example runs, its sample filters parse, its error text is real."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from registry.errors import InvalidParameterValue
from registry.search import parse_filter
from registry.search.parser import MODELS, VERSIONS

README = Path(__file__).resolve().parents[2] / "README.md"


def section() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"^## Search\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, "README.md has no '## Search' section"
    return match.group(1)


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", section(), re.S | re.M)


def test_python_example_runs():
    (example,) = blocks("python")
    exec(compile(example, "README.md#search", "exec"), {})


def test_sample_filters_parse():
    samples, _error = blocks("text")
    for line in samples.strip().splitlines():
        assert parse_filter(line, VERSIONS) is not None, line


def test_error_example_is_what_the_parser_says():
    _samples, error = blocks("text")
    shown = error.splitlines()
    bad = re.search(r'Invalid filter "(.*?)"', error).group(1)
    with pytest.raises(InvalidParameterValue) as info:
        parse_filter(bad, VERSIONS)
    message = str(info.value).splitlines()
    assert " ".join(shown[:2]) == f"registry.errors.InvalidParameterValue: {message[0]}"
    assert shown[2:] == message[1:]


def test_every_field_in_the_table_is_searchable_where_it_says():
    rows = [line.strip().strip("|").split("|") for line in section().splitlines() if line.startswith("| `")]
    assert len(rows) == 9
    for cells in rows:
        models, versions = cells[1].strip() == "yes", cells[2].strip() == "yes"
        for field in re.findall(r"`([^`]+)`", cells[0]):
            field = field.replace("<key>", "k")
            value = "1" if "timestamp" in field or field == "version_number" else "'None'"
            for kind, listed in ((MODELS, models), (VERSIONS, versions)):
                if listed:
                    parse_filter(f"{field} = {value}", kind)
                else:
                    with pytest.raises(InvalidParameterValue, match="unknown attribute"):
                        parse_filter(f"{field} = {value}", kind)
