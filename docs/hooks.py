"""MkDocs hooks: pages that are generated from the code, so they cannot drift from it.

* ``reference/cli.md``: every command of ``registry``, read from the argparse definitions.
* ``changelog.md``: the repository's ``CHANGELOG.md``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CLI_MARKER = "<!-- cli-reference -->"
CHANGELOG_MARKER = "<!-- changelog -->"


def _commands(parser: argparse.ArgumentParser, prefix: str) -> list[tuple[str, argparse.ArgumentParser]]:
    found: list[tuple[str, argparse.ArgumentParser]] = []
    for action in parser._actions:  # argparse keeps its subcommands here; there is no public accessor
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append((f"{prefix} {name}", sub))
                found.extend(_commands(sub, f"{prefix} {name}"))
    return found


def cli_reference() -> str:
    """Markdown for every command: its usage line, what it does, its arguments and options."""
    from registry.cli import build_parser

    parser = build_parser()
    parts = [f"```text\n{parser.format_help().strip()}\n```\n"]
    for name, sub in _commands(parser, "registry"):
        has_children = any(isinstance(a, argparse._SubParsersAction) for a in sub._actions)
        parts.append(f"## `{name}`\n")
        if sub.description:
            parts.append(f"{sub.description}\n")
        if not has_children:
            parts.append(f"```text\n{sub.format_help().strip()}\n```\n")
    return "\n".join(parts)


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, cli_reference())
    if CHANGELOG_MARKER in markdown:
        markdown = markdown.replace(CHANGELOG_MARKER, (REPO / "CHANGELOG.md").read_text())
    return markdown
