"""Every command has help text and is listed in the README's "Command line" section, and vice versa."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from registry.cli import build_parser

README = Path(__file__).resolve().parents[2] / "README.md"


def _subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction[argparse.ArgumentParser] | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """(command path, help) for every group and leaf command."""
    sub = _subcommands(parser)
    if sub is None:
        return
    helps = {a.dest: a.help for a in sub._choices_actions}
    for name, child in sub.choices.items():
        path = (*prefix, name)
        yield path, helps.get(name) or ""
        yield from commands(child, path)


def leaves(parser: argparse.ArgumentParser) -> list[tuple[str, ...]]:
    paths = [p for p, _ in commands(parser)]
    return [p for p in paths if not any(q[: len(p)] == p and q != p for q in paths)]


def command_line_section() -> str:
    text = README.read_text()
    match = re.search(r"^## Command line\n(.*?)(?=^## )", text, re.S | re.M)
    assert match, "README.md has no '## Command line' section followed by another section"
    return match.group(1)


ALL = list(commands(build_parser()))


@pytest.mark.parametrize(("path", "help_text"), ALL, ids=[" ".join(p) for p, _ in ALL])
def test_every_command_has_help(path: tuple[str, ...], help_text: str) -> None:
    assert len(help_text.split()) >= 2, f"`registry {' '.join(path)}` needs a help text"


def test_every_command_is_in_the_readme() -> None:
    section = command_line_section()
    missing = [" ".join(p) for p in leaves(build_parser()) if f"`registry {' '.join(p)}" not in section]
    assert not missing, f"commands missing from README's Command line section: {missing}"


def test_the_readme_lists_no_command_that_does_not_exist() -> None:
    known = {" ".join(p) for p, _ in ALL}
    listed = re.findall(r"^\| `registry ([a-z\- ]+?)(?: [A-Z\[\-]|`)", command_line_section(), re.M)
    assert listed
    unknown = [c for c in listed if c.strip() not in known]
    assert not unknown, f"README lists commands the CLI does not have: {unknown}"


def test_the_scoring_server_is_documented() -> None:
    text = README.read_text()
    assert "## Scoring server" in text
    for endpoint in ("POST /invocations", "GET /ping", "GET /health", "GET /version", "GET /model"):
        assert endpoint in text
